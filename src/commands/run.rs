//! `vethbench run`: one measurement on a topology of its own.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use bench::scenario::run_observed;
use model::outcome::RunOutcome;
use model::suite::{compare, phases};
use model::RunSpec;
use results::{record_path, save_baseline, Fingerprint, Record};
use setup::{Topology, TopologyInfo};

use crate::cli::RunOptions;
use crate::commands::compare::{report, Sides};
use crate::ui::progress;

pub fn run(opts: &RunOptions) -> anyhow::Result<ExitCode> {
    let interrupt = crate::signals::watch()?;
    let r = &opts.run;
    progress!(
        "vethbench run: {}, {} B {}, {} flow(s) {} on cores {}, XDP {} mode, {:.1} s after {:.1} s warm-up{} each",
        if opts.suite {
            "suite (AF_XDP vs kernel stack)".to_string()
        } else {
            format!("{} mode", r.mode.name())
        },
        opts.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if r.ipv6 { "IPv6" } else { "IPv4" },
        r.flows,
        r.layout,
        r.cores.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        r.xdp_mode,
        r.duration_ns as f64 / 1e9,
        r.warmup_ns as f64 / 1e9,
        r.count.map(|c| format!(", at most {c} frames")).unwrap_or_default(),
    );
    let (outcomes, record, path) = match &opts.existing {
        Some(id) => {
            let (info, _lease) = super::borrow(id, "--on")?;
            tracing::debug!(id = %id, "measuring on an existing topology");
            measure(&info, opts, &interrupt)?
        }
        None => {
            let topology = Topology::create(&opts.topology)
                .with_context(|| format!("building topology '{}'", opts.topology.id))?;
            tracing::debug!(id = %opts.topology.id, kind = %opts.topology.kind, "topology built");
            let measured = measure(topology.info(), opts, &interrupt)?;
            let removed = topology.destroy().context("tearing down")?;
            tracing::debug!(namespaces = ?removed.namespaces, "topology removed");
            measured
        }
    };
    if opts.json {
        // Suite: runs and comparison; one run: the result itself; several: an array of them.
        let json = if opts.suite {
            let c = compare(&record.representative_trials());
            serde_json::to_string_pretty(&serde_json::json!({ "runs": outcomes, "comparison": c }))
        } else if let [one] = outcomes.as_slice() {
            serde_json::to_string_pretty(one)
        } else {
            serde_json::to_string_pretty(&outcomes)
        };
        println!("{}", json.context("serialise results")?);
    } else {
        let bytes = opts.format.exporter().serialize(&record)?;
        std::io::stdout()
            .write_all(&bytes)
            .context("writing to stdout")?;
    }
    crate::ui::warnings(&record, opts.format == results::Format::Table && !opts.json);
    progress!("record: {}", path.display());
    if let Some(signal) = &record.interrupted {
        eprintln!(
            "interrupted by {signal}: trials cut short are kept in the record, marked interrupted, and left out of its estimates"
        );
    }
    if let Some(name) = &opts.save_baseline {
        match &record.interrupted {
            // A baseline is the reference every later run is judged against: never a partial one.
            Some(signal) => eprintln!(
                "baseline '{name}' not saved: the run was interrupted by {signal} ({} of {} scenarios have a complete trial); the previous baseline '{name}' stays",
                record.complete_scenarios(),
                record.scenarios.len()
            ),
            None => {
                let saved = save_baseline(&opts.out, name, &record).context("--save-baseline")?;
                eprintln!("baseline '{name}': {}", saved.display());
            }
        }
    }
    if let Some(code) = crate::signals::exit_code() {
        if opts.baseline.is_some() {
            eprintln!("not compared with the baseline: the run was interrupted");
        }
        return Ok(code);
    }
    if let Some((name, baseline)) = &opts.baseline {
        println!();
        let sides = Sides {
            baseline: (&format!("baseline '{name}'"), baseline),
            new: ("this run", &record),
        };
        return report(&sides, &opts.noise, false, opts.fail_on);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every phase (a size, or size x mode for the suite) `trials` times on one topology, with a
/// progress line per measurement on stderr — or, adaptively (`--precision`, `--baseline`), at
/// least `trials` times and then round after round until the record can decide. Trials go
/// round-robin (every phase once, then every phase again), so each scenario's trials spread over
/// the whole run and their interval also covers the machine's slow drift, which is what differs
/// between two runs. The record is saved after every trial, so an interrupted run keeps what it
/// measured; an interrupt ends the series.
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
    // An existing topology's MTU and queues are known only now: still before any traffic, and
    // bad input.
    for spec in &phases {
        bench::scenario::check(info, spec)?;
    }
    let tool = super::tool();
    let run_id = info.spec.id.to_string();
    let mut record = Record::new(&run_id, tool, Fingerprint::take(info), opts.trials);
    // Nothing of ours runs yet: whatever keeps the pinned cores busy now is someone else.
    record.note_core_load(&results::load::sample(
        &opts.run.cores,
        std::time::Duration::from_millis(250),
    ));
    let mut sink = crate::outdir::Sink::new(record_path(&opts.out, &record));
    let adaptive = opts.precision.is_some() || opts.baseline.is_some();
    let rounds = if adaptive { MAX_ROUNDS } else { opts.trials };
    let mut outcomes = Vec::new();
    crate::preflight::round_trip(info, false, 64)?;
    let started = std::time::Instant::now();
    'rounds: for round in 1..=rounds {
        for spec in &phases {
            let label = if adaptive {
                format!("[round {round}] {} {} B", spec.mode.name(), spec.size)
            } else {
                let total = phases.len() * opts.trials;
                let trial = if opts.trials > 1 {
                    format!(" trial {round}")
                } else {
                    String::new()
                };
                format!(
                    "[{}/{total}] {} {} B{trial}",
                    outcomes.len() + 1,
                    spec.mode.name(),
                    spec.size
                )
            };
            let outcome = one_trial(info, spec, opts, interrupt, &label, &mut record)?;
            record.add_trial(spec, outcome.clone());
            sink.save(&record)?;
            tracing::debug!(path = %sink.path().display(), "record saved");
            outcomes.push(outcome);
            if interrupt.load(Ordering::SeqCst) {
                break 'rounds;
            }
        }
        if adaptive && round >= opts.trials {
            let elapsed = started.elapsed();
            let next_round = elapsed / round as u32;
            if let Some(ended) = adaptive_end(&record, opts, round, elapsed + next_round) {
                progress!(
                    "adaptive trials: {} after {round} trial(s) per scenario{}",
                    ended.stopped_because,
                    ended
                        .least_precise
                        .as_ref()
                        .map(|(s, m, hw)| match hw {
                            Some(hw) => format!("; least precise: {s} {m} ±{hw:.1} %"),
                            None => format!("; least precise: {s} {m}"),
                        })
                        .unwrap_or_default()
                );
                record.adaptive = Some(ended);
                record.trials_per_scenario = round;
                sink.save(&record)?;
                break;
            }
        }
    }
    Ok((outcomes, record, sink.path().to_path_buf()))
}

/// Rounds an adaptive run makes at most (as `--trials` allows).
const MAX_ROUNDS: usize = 100;

/// Whether an adaptive run ends after `round`: its goal reached (every judged metric within
/// `--precision`; with `--baseline`, every verdict conclusive), or the next round would pass
/// `--max-time` (`by_next_round` is the elapsed time plus one more round), or the last round.
fn adaptive_end(
    record: &Record,
    opts: &RunOptions,
    round: usize,
    by_next_round: std::time::Duration,
) -> Option<results::Adaptive> {
    let least_precise = results::least_precise(record);
    let precise = match (opts.precision, &least_precise) {
        (None, _) | (Some(_), None) => true,
        (Some(p), Some((_, _, hw))) => hw.is_some_and(|hw| hw <= p),
    };
    let conclusive = opts.baseline.as_ref().is_none_or(|(_, baseline)| {
        let c = results::compare_with(baseline, record, &opts.noise);
        !c.changes.is_empty() && c.count(results::Verdict::Inconclusive) == 0
    });
    let stopped_because = if precise && conclusive {
        match (opts.precision, &opts.baseline) {
            (Some(_), Some(_)) => "precision reached and every verdict conclusive",
            (Some(_), None) => "precision reached",
            _ => "every verdict conclusive",
        }
    } else if by_next_round > opts.max_time {
        "not reached within --max-time"
    } else if round >= MAX_ROUNDS {
        "not reached within 100 trials"
    } else {
        return None;
    };
    Some(results::Adaptive {
        precision_pct: opts.precision,
        reached: precise && conclusive,
        trials: round,
        stopped_because: stopped_because.into(),
        least_precise,
    })
}

/// One trial of one phase, with its progress line (and per-second lines with --interval or -v);
/// a signal during it marks the trial, and the record, interrupted.
fn one_trial(
    info: &TopologyInfo,
    spec: &RunSpec,
    opts: &RunOptions,
    interrupt: &AtomicBool,
    label: &str,
    record: &mut Record,
) -> anyhow::Result<RunOutcome> {
    let tty = std::io::stderr().is_terminal();
    let live = opts.interval || crate::ui::verbose();
    if tty && crate::ui::progress_shown() && !live {
        eprint!("{label} ...");
    }
    let started = std::time::Instant::now();
    let mut show = |i: &bench::progress::Interval| {
        if live {
            eprintln!("{label} {i}");
        }
    };
    let mut outcome = run_observed(info, spec, interrupt, &mut show)
        .with_context(|| format!("running {} at {} B", spec.mode.name(), spec.size))?;
    // A signal during the trial cut it short: kept, marked, and left out of estimates.
    if interrupt.load(Ordering::SeqCst) {
        outcome.interrupted = true;
        record.interrupted = crate::signals::received().map(String::from);
    }
    let summary = match (&outcome.rtt, outcome.interrupted) {
        (_, true) => "interrupted, not counted".to_string(),
        (Some(l), false) => format!("RTT p50 {} µs", us(l.p50_ns)),
        (None, false) => format!("{:.3} Mpps", outcome.received_pps / 1e6),
    };
    // On a terminal the line is completed in place; in a log each phase gets one plain line.
    progress!(
        "{}{label}: {summary} ({:.1} s)",
        if tty && !live { "\r" } else { "" },
        started.elapsed().as_secs_f64()
    );
    tracing::debug!(
        scenario = %results::scenario_key(spec),
        sent = outcome.sent,
        received = outcome.received,
        unexplained = outcome.accounting.unexplained,
        interrupted = outcome.interrupted,
        "trial done"
    );
    Ok(outcome)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}
