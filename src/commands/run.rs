//! `vethbench run`: one measurement on a topology of its own.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use bench::report::{LatencySummary, RunOutcome};
use bench::scenario::{run_until, RunSpec};
use nix::sys::signal::{SigSet, Signal};
use setup::{Topology, TopologyInfo};

use crate::cli::RunOptions;
use crate::table;

pub fn run(opts: &RunOptions) -> anyhow::Result<ExitCode> {
    let interrupt = watch_signals()?;
    let r = &opts.run;
    eprintln!(
        "vethbench run: {} mode, {} B {}, cores A={} B={}, XDP {} mode, {:.1} s after {:.1} s warm-up{} each",
        r.mode.name(),
        opts.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if r.ipv6 { "IPv6" } else { "IPv4" },
        r.cores[0],
        r.cores[1],
        r.xdp_mode,
        r.duration_ns as f64 / 1e9,
        r.warmup_ns as f64 / 1e9,
        r.count.map(|c| format!(", at most {c} frames")).unwrap_or_default(),
    );
    let outcomes = match &opts.existing {
        Some(id) => {
            let info = Topology::lookup(id).context("vethbench run --on")?;
            run_sizes(&info, opts, &interrupt)?
        }
        None => {
            let topology = Topology::create(&opts.topology)
                .with_context(|| format!("building topology '{}'", opts.topology.id))?;
            let outcomes = run_sizes(topology.info(), opts, &interrupt)?;
            topology.destroy().context("tearing down")?;
            outcomes
        }
    };
    if opts.json {
        // One size: the result itself; several: an array of them.
        let json = match outcomes.as_slice() {
            [one] => serde_json::to_string_pretty(one),
            many => serde_json::to_string_pretty(many),
        };
        println!("{}", json.context("serialise results")?);
    } else {
        print_outcomes(&outcomes);
    }
    if interrupt.load(Ordering::Relaxed) {
        eprintln!("interrupted: the figures cover the time until the signal");
    }
    Ok(ExitCode::SUCCESS)
}

/// One measurement per size on one topology; an interrupt ends the series.
fn run_sizes(
    info: &TopologyInfo,
    opts: &RunOptions,
    interrupt: &AtomicBool,
) -> anyhow::Result<Vec<RunOutcome>> {
    let mut outcomes = Vec::new();
    for &size in &opts.sizes {
        let spec = RunSpec {
            size,
            ..opts.run.clone()
        };
        spec.validate(info.endpoints[0].mtu)
            .context("vethbench run")?;
        outcomes.push(
            run_until(info, &spec, interrupt)
                .with_context(|| format!("running the benchmark at {size} B"))?,
        );
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(outcomes)
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
            format!("{} B: ", o.size)
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
