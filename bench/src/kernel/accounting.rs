//! Accounting of a kernel-stack run as a pure function of the mode, the counters' changes and
//! what the workers counted: datagrams sent = received + attributed (veth and SNMP drop counters)
//! + unexplained; per flow from its own sockets, in aggregate with the counters.

use std::collections::BTreeMap;

use model::outcome::{
    histogram, histogram_v2_base64, Accounting, FlowOutcome, Latencies, LatencySummary, Measured,
    RunOutcome,
};
use model::seq::SeqCounts;
use model::RunSpec;
use setup::LinkCounters;

use super::flood::{FloodRx, FloodTx};
use super::ping::PingOutcome;
use super::snmp::Snmp;

/// The counters' changes over a run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deltas {
    /// The veth ends' link counters, A then B.
    pub veth: [LinkCounters; 2],
    /// The namespaces' UDP/ICMP counters, A then B.
    pub snmp: [Snmp; 2],
}

/// What A's worker of a flow counted.
pub(crate) enum AOut {
    /// A closed-loop client (udp-pingpong, icmp).
    Ping(Box<PingOutcome>),
    /// The flood's sender.
    Flood(FloodTx),
}

/// What B's worker of a flow counted.
pub(crate) enum BOut {
    /// The echo server: datagrams echoed.
    Echo(u64),
    /// The flood's receiver.
    Flood(FloodRx),
}

/// What the workers of one flow counted.
pub(crate) struct FlowWork {
    /// A's client or sender.
    pub a: AOut,
    /// B's server or receiver (none for icmp: B's kernel answers).
    pub b: Option<BOut>,
}

impl AOut {
    /// Datagrams (or requests) A's worker sent, warm-up included.
    pub fn sent_total(&self) -> u64 {
        match self {
            AOut::Ping(p) => p.sent_total,
            AOut::Flood(f) => f.sent_total,
        }
    }
}

impl BOut {
    /// Datagrams B's worker handled.
    pub fn handled(&self) -> u64 {
        match self {
            BOut::Echo(n) => *n,
            BOut::Flood(f) => f.received_total,
        }
    }
}

/// Counts, latencies, accounting and histograms of one flow (or of the merged flows).
struct Figures {
    measured: Measured,
    latencies: Latencies,
    accounting: Accounting,
    histograms: BTreeMap<String, String>,
    timeouts: u64,
}

/// Figures of `w`, with the counters' places where `d` is given (the aggregate).
fn figures(w: &FlowWork, d: Option<&Deltas>) -> Figures {
    let zero = Deltas::default();
    let d = d.unwrap_or(&zero);
    let (veth, sa, sb) = (&d.veth, &d.snmp[0], &d.snmp[1]);
    let forward = [
        ("veth A: tx_dropped", veth[0].tx_dropped),
        ("veth B: rx_dropped", veth[1].rx_dropped),
        (
            "B: UDP InErrors (receive buffer full, checksum)",
            sb.udp_in_errors,
        ),
        ("B: UDP NoPorts", sb.udp_no_ports),
    ];
    let back = [
        ("veth B: tx_dropped", veth[1].tx_dropped),
        ("veth A: rx_dropped", veth[0].rx_dropped),
        ("A: UDP InErrors", sa.udp_in_errors),
        ("A: ICMP InErrors", sa.icmp_in_errors),
    ];
    let mut histograms = BTreeMap::new();
    match (&w.a, &w.b) {
        (AOut::Flood(tx), rx) => {
            let rx = match rx {
                Some(BOut::Flood(rx)) => Some(rx),
                _ => None,
            };
            let (received_total, measured) =
                rx.map_or((0, 0), |rx| (rx.received_total, rx.received.received));
            if let Some(rx) = rx {
                histograms.insert("one_way_a2b".into(), histogram_v2_base64(&rx.one_way));
            }
            Figures {
                measured: Measured {
                    sent: tx.sent_measured,
                    received: measured,
                    window_ns: tx.window_ns,
                },
                latencies: Latencies {
                    a2b: rx.and_then(|rx| LatencySummary::of(&rx.one_way)),
                    ..Latencies::default()
                },
                accounting: Accounting::new(tx.sent_total, received_total, &forward),
                histograms,
                timeouts: 0,
            }
        }
        (AOut::Ping(p), _) => {
            for (name, h) in [
                ("rtt", &p.rtt),
                ("one_way_a2b", &p.a2b),
                ("one_way_b2a", &p.b2a),
            ] {
                if !h.is_empty() {
                    histograms.insert(name.to_string(), histogram_v2_base64(h));
                }
            }
            let places: Vec<(&str, u64)> = forward.iter().chain(back.iter()).copied().collect();
            Figures {
                measured: Measured {
                    sent: p.sent_measured,
                    received: p.received.received,
                    window_ns: p.window_ns,
                },
                latencies: Latencies {
                    rtt: LatencySummary::of(&p.rtt),
                    a2b: LatencySummary::of(&p.a2b),
                    b2a: LatencySummary::of(&p.b2a),
                },
                accounting: Accounting::new(p.sent_total, p.received_total, &places),
                histograms,
                timeouts: p.timeouts,
            }
        }
    }
}

/// The flows taken together.
fn merge(flows: &[FlowWork]) -> Option<FlowWork> {
    let first = flows.first()?;
    let a = match &first.a {
        AOut::Ping(_) => {
            let mut m = PingOutcome::empty();
            for f in flows {
                if let AOut::Ping(p) = &f.a {
                    m.add(p);
                }
            }
            AOut::Ping(Box::new(m))
        }
        AOut::Flood(_) => {
            let mut m = FloodTx::default();
            for f in flows {
                if let AOut::Flood(t) = &f.a {
                    m.sent_total += t.sent_total;
                    m.sent_measured += t.sent_measured;
                    m.window_ns = m.window_ns.max(t.window_ns);
                }
            }
            AOut::Flood(m)
        }
    };
    let b = match &first.b {
        None => None,
        Some(BOut::Echo(_)) => Some(BOut::Echo(
            flows
                .iter()
                .filter_map(|f| f.b.as_ref())
                .map(BOut::handled)
                .sum(),
        )),
        Some(BOut::Flood(_)) => {
            let mut m = FloodRx {
                received_total: 0,
                received: SeqCounts::default(),
                one_way: histogram(),
            };
            for f in flows {
                if let Some(BOut::Flood(r)) = &f.b {
                    m.received_total += r.received_total;
                    m.received.add(&r.received);
                    let _ = m.one_way.add(&r.one_way);
                }
            }
            Some(BOut::Flood(m))
        }
    };
    Some(FlowWork { a, b })
}

/// One flow's own figures over the run's window `window_s`.
fn flow_outcome(flow: u32, w: &FlowWork, window_s: f64) -> FlowOutcome {
    let f = figures(w, None);
    let mut out = FlowOutcome::new(flow, f.measured, &f.latencies, f.accounting, 0, window_s);
    out.histograms = f.histograms;
    out
}

/// The outcome of a kernel-stack run: in aggregate, and per flow with more than one.
pub(crate) fn outcome(spec: &RunSpec, flows: &[FlowWork], d: &Deltas) -> Option<RunOutcome> {
    let all = merge(flows)?;
    let f = figures(&all, Some(d));
    let (veth, sa, sb) = (&d.veth, &d.snmp[0], &d.snmp[1]);
    let mut counters = BTreeMap::new();
    counters.insert("veth_a.tx_dropped".to_string(), veth[0].tx_dropped);
    counters.insert("veth_b.rx_dropped".to_string(), veth[1].rx_dropped);
    counters.insert("veth_b.tx_dropped".to_string(), veth[1].tx_dropped);
    counters.insert("veth_a.rx_dropped".to_string(), veth[0].rx_dropped);
    counters.insert("snmp_b.udp_in_errors".to_string(), sb.udp_in_errors);
    counters.insert("snmp_b.udp_no_ports".to_string(), sb.udp_no_ports);
    counters.insert("snmp_a.udp_sndbuf_errors".to_string(), sa.udp_sndbuf_errors);
    counters.insert("snmp_a.udp_in_errors".to_string(), sa.udp_in_errors);
    counters.insert("snmp_a.icmp_in_errors".to_string(), sa.icmp_in_errors);
    counters.insert("veth_a.tx_packets".to_string(), veth[0].tx_packets);
    if let Some(BOut::Echo(n)) = &all.b {
        counters.insert("server_b.echoed".to_string(), *n);
    }
    let mut warnings = spec.warnings();
    if f.timeouts > 0 {
        warnings.push(format!(
            "{} requests got no reply within 200 ms",
            f.timeouts
        ));
    }
    // Which way did A's datagrams go? With both ends in one namespace the kernel delivers them
    // over lo and the veth carries (almost) nothing.
    let sent_total = f.accounting.sent;
    let local = veth[0].tx_packets.saturating_mul(2) < sent_total;
    if local {
        warnings.push(format!(
            "the kernel stack delivered A's traffic locally over lo (the veth carried {} of {} frames): this baseline does not cross the veth",
            veth[0].tx_packets, sent_total
        ));
    }
    let mut out = RunOutcome::new(
        spec,
        f.measured,
        f.latencies,
        f.accounting,
        counters,
        f.histograms,
        warnings,
    );
    out.path = Some(if local { "lo" } else { "veth" }.to_string());
    if flows.len() > 1 {
        out.per_flow = flows
            .iter()
            .enumerate()
            .map(|(i, w)| flow_outcome(i as u32, w, out.window_s))
            .collect();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Mode;

    fn flood(sent: u64, received: u64) -> FlowWork {
        FlowWork {
            a: AOut::Flood(FloodTx {
                sent_total: sent,
                sent_measured: sent,
                window_ns: 1_000_000_000,
            }),
            b: Some(BOut::Flood(FloodRx {
                received_total: received,
                received: SeqCounts {
                    received,
                    ..SeqCounts::default()
                },
                one_way: histogram(),
            })),
        }
    }

    #[test]
    fn flood_losses_are_charged_to_the_counters_that_saw_them() {
        let mut d = Deltas::default();
        d.snmp[1].udp_in_errors = 30;
        d.veth[0].tx_packets = 3000;
        let spec = RunSpec {
            flows: 2,
            cores: vec![0, 1, 0, 1],
            ..RunSpec::new(Mode::UdpFlood)
        };
        let out = outcome(&spec, &[flood(1000, 970), flood(2000, 2000)], &d).unwrap();
        assert_eq!(out.accounting.sent, 3000);
        assert_eq!(out.accounting.received, 2970);
        assert_eq!(out.accounting.unexplained, 0);
        assert_eq!(out.per_flow.len(), 2);
        assert_eq!(out.per_flow[0].accounting.unexplained, 30);
        assert_eq!(out.path.as_deref(), Some("veth"));
    }

    #[test]
    fn traffic_that_skipped_the_veth_is_warned() {
        let out = outcome(
            &RunSpec::new(Mode::UdpFlood),
            &[flood(1000, 1000)],
            &Deltas::default(),
        )
        .unwrap();
        assert_eq!(out.path.as_deref(), Some("lo"));
        assert!(out.warnings.iter().any(|w| w.contains("locally over lo")));
    }
}
