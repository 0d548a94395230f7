//! `vethbench run`: one measurement on a topology of its own.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use bench::report::{LatencySummary, RunOutcome};
use bench::scenario::{run_until, RunSpec};
use bench::suite::{compare, phases, Comparison};
use nix::sys::signal::{SigSet, Signal};
use results::{record_path, save, Estimate, Fingerprint, Record, Tool, Warning};
use setup::{Topology, TopologyInfo};

use crate::cli::RunOptions;
use crate::table;

pub fn run(opts: &RunOptions) -> anyhow::Result<ExitCode> {
    let interrupt = watch_signals()?;
    let r = &opts.run;
    eprintln!(
        "vethbench run: {}, {} B {}, cores A={} B={}, XDP {} mode, {:.1} s after {:.1} s warm-up{} each",
        if opts.suite {
            "suite (AF_XDP vs kernel stack)".to_string()
        } else {
            format!("{} mode", r.mode.name())
        },
        opts.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if r.ipv6 { "IPv6" } else { "IPv4" },
        r.cores[0],
        r.cores[1],
        r.xdp_mode,
        r.duration_ns as f64 / 1e9,
        r.warmup_ns as f64 / 1e9,
        r.count.map(|c| format!(", at most {c} frames")).unwrap_or_default(),
    );
    let (outcomes, record, path) = match &opts.existing {
        Some(id) => {
            let info = Topology::lookup(id).context("vethbench run --on")?;
            measure(&info, opts, &interrupt)?
        }
        None => {
            let topology = Topology::create(&opts.topology)
                .with_context(|| format!("building topology '{}'", opts.topology.id))?;
            let measured = measure(topology.info(), opts, &interrupt)?;
            topology.destroy().context("tearing down")?;
            measured
        }
    };
    let comparison = opts.suite.then(|| compare(&median_trials(&record)));
    if opts.json {
        // Suite: runs and comparison; one run: the result itself; several: an array of them.
        let json = match (&comparison, outcomes.as_slice()) {
            (Some(c), _) => serde_json::to_string_pretty(
                &serde_json::json!({ "runs": outcomes, "comparison": c }),
            ),
            (None, [one]) => serde_json::to_string_pretty(one),
            (None, many) => serde_json::to_string_pretty(many),
        };
        println!("{}", json.context("serialise results")?);
    } else {
        print_outcomes(&outcomes);
        if opts.trials > 1 {
            println!();
            print_estimates(&record);
        }
        for w in &record.warnings {
            // Per-run warnings are printed with the runs; the record adds the ones across trials.
            if matches!(
                w,
                Warning::HighVariation { .. } | Warning::FrequencyScaling { .. }
            ) {
                println!("warning: {w}");
            }
        }
        if let Some(c) = &comparison {
            println!();
            print_comparison(c);
        }
    }
    eprintln!("record: {}", path.display());
    if interrupt.load(Ordering::Relaxed) {
        eprintln!("interrupted: the figures cover the time until the signal");
    }
    Ok(ExitCode::SUCCESS)
}

/// Every phase (a size, or size x mode for the suite) `trials` times on one topology, with a
/// progress line per measurement on stderr. The record is saved after every trial, so an
/// interrupted run keeps what it measured; an interrupt ends the series.
fn measure(
    info: &TopologyInfo,
    opts: &RunOptions,
    interrupt: &AtomicBool,
) -> anyhow::Result<(Vec<RunOutcome>, Record, PathBuf)> {
    let phases: Vec<RunSpec> = if opts.suite {
        phases(&opts.run, &opts.sizes)
    } else {
        opts.sizes
            .iter()
            .map(|&size| RunSpec {
                size,
                ..opts.run.clone()
            })
            .collect()
    };
    let tool = Tool {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("VETHBENCH_GIT_COMMIT").to_string(),
    };
    let run_id = info.spec.id.to_string();
    let mut record = Record::new(&run_id, tool, Fingerprint::take(info), opts.trials);
    let path = record_path(&opts.out, &record);
    let tty = std::io::stderr().is_terminal();
    let total = phases.len() * opts.trials;
    let mut outcomes = Vec::new();
    'phases: for spec in &phases {
        spec.validate(info.endpoints[0].mtu)
            .context("vethbench run")?;
        for trial in 1..=opts.trials {
            let label = format!(
                "[{}/{total}] {} {} B{}",
                outcomes.len() + 1,
                spec.mode.name(),
                spec.size,
                if opts.trials > 1 {
                    format!(" trial {trial}")
                } else {
                    String::new()
                }
            );
            if tty {
                eprint!("{label} ...");
            }
            let started = std::time::Instant::now();
            let outcome = run_until(info, spec, interrupt)
                .with_context(|| format!("running {} at {} B", spec.mode.name(), spec.size))?;
            let summary = match &outcome.rtt {
                Some(l) => format!("RTT p50 {} µs", us(l.p50_ns)),
                None => format!("{:.3} Mpps", outcome.received_pps / 1e6),
            };
            // On a terminal the line is completed in place; in a log each phase gets one plain line.
            eprintln!(
                "{}{label}: {summary} ({:.1} s)",
                if tty { "\r" } else { "" },
                started.elapsed().as_secs_f64()
            );
            record.add_trial(spec, outcome.clone());
            save(&path, &record).context("saving the result record")?;
            outcomes.push(outcome);
            if interrupt.load(Ordering::Relaxed) {
                break 'phases;
            }
        }
    }
    Ok((outcomes, record, path))
}

/// For each scenario, the trial nearest the median of its main figure (RTT p50 where frames
/// return, else the received rate): what the suite's comparison table shows.
fn median_trials(record: &Record) -> Vec<RunOutcome> {
    record
        .scenarios
        .iter()
        .filter_map(|s| {
            let (metric, pick): (&str, fn(&RunOutcome) -> f64) =
                if s.estimates.contains_key("rtt_p50_us") {
                    ("rtt_p50_us", |o| {
                        o.rtt.map(|l| l.p50_ns as f64 / 1e3).unwrap_or(f64::MAX)
                    })
                } else {
                    ("received_pps", |o| o.received_pps)
                };
            let median = s.estimates.get(metric)?.median;
            s.trials
                .iter()
                .min_by(|a, b| {
                    (pick(a) - median)
                        .abs()
                        .total_cmp(&(pick(b) - median).abs())
                })
                .cloned()
        })
        .collect()
}

fn print_estimates(record: &Record) {
    let ci = |e: Option<&Estimate>, scale: f64| match e {
        Some(e) => format!(
            "{:.3} [{:.3}, {:.3}] cv {:.1}%",
            e.median / scale,
            e.ci95_low / scale,
            e.ci95_high / scale,
            e.cv * 100.0
        ),
        None => "-".into(),
    };
    let rows: Vec<Vec<String>> = record
        .scenarios
        .iter()
        .map(|s| {
            vec![
                s.key.clone(),
                s.trials.len().to_string(),
                ci(s.estimates.get("received_pps"), 1e6),
                ci(s.estimates.get("rtt_p50_us"), 1.0),
                ci(s.estimates.get("rtt_p99_us"), 1.0),
            ]
        })
        .collect();
    println!("Over the trials: median [95 % confidence interval] and coefficient of variation");
    print!(
        "{}",
        table::render(
            &[
                "scenario",
                "trials",
                "received Mpps",
                "RTT p50 µs",
                "RTT p99 µs"
            ],
            &rows
        )
    );
}

fn ratio(r: Option<f64>) -> String {
    r.map(|v| format!("{v:.1}x")).unwrap_or_else(|| "-".into())
}

fn opt_us(ns: Option<u64>) -> String {
    ns.map(us).unwrap_or_else(|| "-".into())
}

fn opt_mpps(pps: Option<f64>) -> String {
    pps.map(|p| format!("{:.3}", p / 1e6))
        .unwrap_or_else(|| "-".into())
}

fn print_comparison(rows: &[Comparison]) {
    println!("AF_XDP vs kernel stack (same namespaces, cores and sizes; ratio = how many times better AF_XDP is)");
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            vec![
                c.size.to_string(),
                opt_mpps(c.xdp_pps),
                opt_mpps(c.udp_pps),
                ratio(c.pps_ratio),
                opt_us(c.xdp_rtt_p50_ns),
                opt_us(c.udp_rtt_p50_ns),
                ratio(c.p50_ratio),
                opt_us(c.xdp_rtt_p99_ns),
                opt_us(c.udp_rtt_p99_ns),
                ratio(c.p99_ratio),
                opt_us(c.icmp_rtt_p50_ns),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "size",
                "AF_XDP Mpps",
                "UDP flood Mpps",
                "rate ratio",
                "AF_XDP RTT p50 µs",
                "UDP RTT p50 µs",
                "p50 ratio",
                "AF_XDP RTT p99 µs",
                "UDP RTT p99 µs",
                "p99 ratio",
                "ICMP RTT p50 µs",
            ],
            &rows
        )
    );
}

/// SIGINT/SIGTERM set the returned flag (the run then stops sending, drains, and tears down)
/// instead of killing the process with the topology up.
fn watch_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    // Blocked here, before any worker starts, so every thread inherits the mask.
    set.thread_block().context("block SIGINT/SIGTERM")?;
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if set.wait().is_ok() {
                seen.store(true, Ordering::Relaxed);
            }
        })
        .context("start the signal thread")?;
    Ok(flag)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

fn print_outcomes(outcomes: &[RunOutcome]) {
    let rows: Vec<Vec<String>> = outcomes.iter().map(row).collect();
    print!(
        "{}",
        table::render(
            &[
                "mode",
                "size",
                "cores",
                "XDP",
                "offered Mpps",
                "received Mpps",
                "Gbps",
                "loss %",
                "latency",
                "p50 µs",
                "p90 µs",
                "p99 µs",
                "p99.9 µs",
                "max µs"
            ],
            &rows
        )
    );
    let several = outcomes.len() > 1;
    let mut warnings: Vec<&String> = Vec::new();
    for o in outcomes {
        let prefix = if several {
            format!("{} {} B: ", o.mode.name(), o.size)
        } else {
            String::new()
        };
        for (name, l) in [
            ("A→B one-way", &o.one_way_a2b),
            ("B→A one-way", &o.one_way_b2a),
        ] {
            if let (Some(l), true) = (l, o.rtt.is_some()) {
                println!(
                    "{prefix}{name}: p50 {} µs, p99 {} µs",
                    us(l.p50_ns),
                    us(l.p99_ns)
                );
            }
        }
        let a = &o.accounting;
        let attributed = a
            .attributed
            .iter()
            .map(|x| format!("{} {}", x.place, x.frames))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{prefix}frames: sent {} = received {} + attributed {}{} + unexplained {}  (warm-up included)",
            a.sent,
            a.received,
            a.attributed_total(),
            if attributed.is_empty() { String::new() } else { format!(" ({attributed})") },
            a.unexplained
        );
        warnings.extend(
            o.warnings
                .iter()
                .filter(|w| !warnings.contains(w))
                .collect::<Vec<_>>(),
        );
    }
    for w in warnings {
        println!("warning: {w}");
    }
}

fn row(o: &RunOutcome) -> Vec<String> {
    let latency: Option<(&str, &LatencySummary)> = o
        .rtt
        .as_ref()
        .map(|l| ("RTT", l))
        .or(o.one_way_a2b.as_ref().map(|l| ("A→B", l)));
    let (kind, lat) = match latency {
        Some((k, l)) => (
            k,
            vec![
                us(l.p50_ns),
                us(l.p90_ns),
                us(l.p99_ns),
                us(l.p999_ns),
                us(l.max_ns),
            ],
        ),
        None => ("-", vec!["-".to_string(); 5]),
    };
    [
        o.mode.name().to_string(),
        o.size.to_string(),
        format!("{},{}", o.cores[0], o.cores[1]),
        o.xdp_mode.to_string(),
        format!("{:.3}", o.offered_pps / 1e6),
        format!("{:.3}", o.received_pps / 1e6),
        format!("{:.3}", o.received_gbps),
        format!("{:.3}", o.loss_pct),
        kind.to_string(),
    ]
    .into_iter()
    .chain(lat)
    .collect()
}
