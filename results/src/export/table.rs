//! The human tables `vethbench run` prints: every trial with its frame accounting, the estimates
//! over the trials, the AF_XDP vs kernel stack comparison where the record has both, and warnings.

use model::Metric;
use std::fmt::Write;

use model::outcome::{LatencySummary, RunOutcome};
use model::suite::{compare, Comparison};

use super::text::render;
use super::{with_interval, ExportError, Exporter};
use crate::record::Record;

/// The table exporter.
pub struct Table;

impl Exporter for Table {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let trials: Vec<&RunOutcome> = record.all_trials();
        let labels: Vec<String> = record
            .scenarios
            .iter()
            .flat_map(|s| {
                s.trials.iter().enumerate().map(move |(i, o)| {
                    let trial = if record.trials_per_scenario > 1 {
                        format!(" trial {}", i + 1)
                    } else {
                        String::new()
                    };
                    let cut = if o.interrupted { " (interrupted)" } else { "" };
                    format!("{} {} B{trial}{cut}: ", s.spec.mode.name(), s.spec.size)
                })
            })
            .collect();
        let mut out = trials_table(&trials, &labels);
        if record.trials_per_scenario > 1 {
            out.push('\n');
            out += &estimates_table(record);
        }
        for w in crate::warnings::summary(record) {
            let _ = writeln!(out, "warning: {w}");
        }
        let comparison = compare(&record.representative_trials());
        if comparison
            .iter()
            .any(|c| c.pps_ratio.is_some() || c.p50_ratio.is_some())
        {
            out.push('\n');
            out += &comparison_table(&comparison);
        }
        Ok(out.into_bytes())
    }
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

fn opt_us(ns: Option<u64>) -> String {
    ns.map(us).unwrap_or_else(|| "-".into())
}

fn opt_mpps(pps: Option<f64>) -> String {
    pps.map(|p| format!("{:.3}", p / 1e6))
        .unwrap_or_else(|| "-".into())
}

fn ratio(r: Option<f64>) -> String {
    r.map(|v| format!("{v:.1}x")).unwrap_or_else(|| "-".into())
}

/// One row per trial, then each trial's one-way times and frame accounting, each line after the
/// trial's label when there are several.
fn trials_table(trials: &[&RunOutcome], labels: &[String]) -> String {
    let rows: Vec<Vec<String>> = trials.iter().map(|o| row(o)).collect();
    let mut out = render(
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
            "max µs",
        ],
        &rows,
    );
    let several = trials.len() > 1;
    for (o, label) in trials.iter().zip(labels) {
        let prefix = if several { label.as_str() } else { "" };
        for (name, l) in [
            ("A→B one-way", &o.one_way_a2b),
            ("B→A one-way", &o.one_way_b2a),
        ] {
            if let (Some(l), true) = (l, o.rtt.is_some()) {
                let _ = writeln!(
                    out,
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
        let _ = writeln!(
            out,
            "{prefix}frames: sent {} = received {} + attributed {}{} + unexplained {}  (warm-up included){}",
            a.sent,
            a.received,
            a.attributed_total(),
            if attributed.is_empty() { String::new() } else { format!(" ({attributed})") },
            a.unexplained,
            match o.path.as_deref() {
                Some(p) if p != "veth" => format!("; path A→B: {p}"),
                _ => String::new(),
            }
        );
        if let Some(cpu) = &o.cpu {
            let _ = writeln!(out, "{prefix}CPU: {}", cpu_line(o.mode.closed_loop(), cpu));
        }
        flow_lines(&mut out, prefix, o);
    }
    out
}

/// Each flow's rate, loss and accounting, and what each queue's XDP counters saw.
fn flow_lines(out: &mut String, prefix: &str, o: &RunOutcome) {
    for f in &o.per_flow {
        let a = &f.accounting;
        let _ = writeln!(
            out,
            "{prefix}flow {}: received {:.3} Mpps, loss {:.3} %{}; frames: sent {} = received {} + attributed {} + unexplained {}{}",
            f.flow,
            f.received_pps / 1e6,
            f.loss_pct,
            f.rtt
                .map(|l| format!(", RTT p50 {} µs p99 {} µs", us(l.p50_ns), us(l.p99_ns)))
                .unwrap_or_default(),
            a.sent,
            a.received,
            a.attributed_total(),
            a.unexplained,
            if f.other_flow > 0 {
                format!("; {} frames of other flows", f.other_flow)
            } else {
                String::new()
            }
        );
    }
    if o.flows > 1 && !o.queues.is_empty() {
        let queues: Vec<String> = o
            .queues
            .iter()
            .map(|q| format!("{} rx{} {}", q.side.to_uppercase(), q.queue, q.xdp_packets))
            .collect();
        let _ = writeln!(
            out,
            "{prefix}XDP frames per queue (ethtool -S): {}",
            queues.join(", ")
        );
    }
}

/// What each worker cost and how its core spent the trial, in one line.
fn cpu_line(per_round_trip: bool, cpu: &model::cpu::CpuAccounting) -> String {
    let unit = if per_round_trip {
        "round trip"
    } else {
        "frame"
    };
    let several = !cpu.workers.is_empty();
    let worker = |side: &str, w: &Option<model::cpu::WorkerCpu>, unit: &str| match w {
        Some(w) => format!(
            "{side} {} ns/{unit} ({:.0} % of {}, {} preempted)",
            w.ns_per_frame
                .map(|n| format!("{n:.0}"))
                .unwrap_or_else(|| "-".into()),
            w.share * 100.0,
            if several {
                "their cores, all flows".to_string()
            } else {
                format!("core {}", w.core)
            },
            w.involuntary_switches
        ),
        None => format!("{side} unknown"),
    };
    let mut parts = vec![worker("A", &cpu.a, unit)];
    if cpu.b.is_some() {
        parts.push(worker("B", &cpu.b, "frame"));
    }
    for c in &cpu.cores {
        parts.push(format!(
            "core {}: user {:.0} %, sys {:.0} %, softirq {:.0} %, steal {:.0} %, idle {:.0} %",
            c.core,
            c.user * 100.0,
            c.system * 100.0,
            c.softirq * 100.0,
            c.steal * 100.0,
            c.idle * 100.0
        ));
    }
    parts.join("; ")
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
        o.cores
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(","),
        if o.mode.uses_xdp() {
            o.xdp_mode.to_string()
        } else {
            "-".into()
        },
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

/// Per scenario: trials, and median [95 % interval] with the coefficient of variation.
fn estimates_table(record: &Record) -> String {
    let cell = |s: &crate::ScenarioRecord, metric: &str, scale: f64| match s.estimates.get(metric) {
        Some(e) => format!("{} cv {:.1}%", with_interval(e, scale), e.cv * 100.0),
        None => "-".into(),
    };
    let rows: Vec<Vec<String>> = record
        .scenarios
        .iter()
        .map(|s| {
            vec![
                s.key.clone(),
                s.trials.len().to_string(),
                cell(s, Metric::ReceivedPps.name(), 1e-6),
                cell(s, Metric::RttP50Us.name(), 1.0),
                cell(s, Metric::RttP99Us.name(), 1.0),
                cell(s, Metric::ACpuNsPerFrame.name(), 1.0),
            ]
        })
        .collect();
    "Over the trials: median [95 % confidence interval] and coefficient of variation\n".to_string()
        + &render(
            &[
                "scenario",
                "trials",
                "received Mpps",
                "RTT p50 µs",
                "RTT p99 µs",
                "sender CPU ns/frame",
            ],
            &rows,
        )
}

fn comparison_table(rows: &[Comparison]) -> String {
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
                c.xdp_cpu_ns
                    .map(|n| format!("{n:.0}"))
                    .unwrap_or_else(|| "-".into()),
                c.udp_cpu_ns
                    .map(|n| format!("{n:.0}"))
                    .unwrap_or_else(|| "-".into()),
                ratio(c.cpu_ratio),
            ]
        })
        .collect();
    "AF_XDP vs kernel stack (same namespaces, cores and sizes; ratio = how many times better AF_XDP is; per scenario the trial nearest its median)\n"
        .to_string()
        + &render(
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
                "AF_XDP CPU ns/frame",
                "UDP flood CPU ns/datagram",
                "CPU ratio",
            ],
            &rows,
        )
}
