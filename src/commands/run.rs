//! `vethbench run`: one measurement on a topology of its own.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use bench::report::{LatencySummary, RunOutcome};
use bench::scenario::run_until;
use nix::sys::signal::{SigSet, Signal};
use setup::Topology;

use crate::cli::RunOptions;
use crate::table;

pub fn run(opts: &RunOptions) -> anyhow::Result<ExitCode> {
    let interrupt = watch_signals()?;
    let r = &opts.run;
    eprintln!(
        "vethbench run: {} mode, {} B {}, cores A={} B={}, XDP {} mode, {:.1} s after {:.1} s warm-up{}",
        r.mode.name(),
        r.size,
        if r.ipv6 { "IPv6" } else { "IPv4" },
        r.cores[0],
        r.cores[1],
        r.xdp_mode,
        r.duration_ns as f64 / 1e9,
        r.warmup_ns as f64 / 1e9,
        r.count.map(|c| format!(", at most {c} frames")).unwrap_or_default(),
    );
    let outcome = match &opts.existing {
        Some(id) => {
            let info = Topology::lookup(id).context("vethbench run --on")?;
            r.validate(info.endpoints[0].mtu)
                .context("vethbench run --on")?;
            run_until(&info, r, &interrupt).context("running the benchmark")?
        }
        None => {
            let topology = Topology::create(&opts.topology)
                .with_context(|| format!("building topology '{}'", opts.topology.id))?;
            let outcome =
                run_until(topology.info(), r, &interrupt).context("running the benchmark")?;
            topology.destroy().context("tearing down")?;
            outcome
        }
    };
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome).context("serialise results")?
        );
    } else {
        print_outcome(&outcome);
    }
    if interrupt.load(Ordering::Relaxed) {
        eprintln!("interrupted: the figures cover the time until the signal");
    }
    Ok(ExitCode::SUCCESS)
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

fn print_outcome(o: &RunOutcome) {
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
    let row = [
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
    .collect();
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
            &[row]
        )
    );
    let mut lines: Vec<String> = Vec::new();
    for (name, l) in [
        ("A→B one-way", &o.one_way_a2b),
        ("B→A one-way", &o.one_way_b2a),
    ] {
        if let (Some(l), true) = (l, o.rtt.is_some()) {
            lines.push(format!(
                "{name}: p50 {} µs, p99 {} µs",
                us(l.p50_ns),
                us(l.p99_ns)
            ));
        }
    }
    let a = &o.accounting;
    let attributed = a
        .attributed
        .iter()
        .map(|x| format!("{} {}", x.place, x.frames))
        .collect::<Vec<_>>()
        .join(", ");
    lines.push(format!(
        "frames: sent {} = received {} + attributed {}{} + unexplained {}  (warm-up included)",
        a.sent,
        a.received,
        a.attributed_total(),
        if attributed.is_empty() {
            String::new()
        } else {
            format!(" ({attributed})")
        },
        a.unexplained
    ));
    for line in lines {
        println!("{line}");
    }
    for w in &o.warnings {
        println!("warning: {w}");
    }
}
