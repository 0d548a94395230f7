//! Accounting of an AF_XDP run as a pure function of the mode, the counters' changes and what
//! the workers counted: every frame sent is received, attributed to the counter that saw it
//! drop, or unexplained. Per flow from its own sockets; in aggregate with the links' and
//! programs' counters too.

use std::collections::BTreeMap;

use bpf::Counters;
use hdrhistogram::Histogram;
use model::outcome::{
    histogram, histogram_v2_base64, queue_counts, Accounting, FlowOutcome, Latencies,
    LatencySummary, Measured, QueueCount, RunOutcome,
};
use model::seq::SeqCounts;
use model::{Mode, RunSpec};

use super::counters::Deltas;
use crate::engine::{GenOutcome, ReflectOutcome, SinkOutcome};
use crate::xsk::XskStats;

/// What side B's socket of a flow counted.
pub enum BOut {
    /// The sink (throughput).
    Sink(SinkOutcome),
    /// The reflector (l2fwd, latency).
    Reflect(ReflectOutcome),
}

/// What the workers of one flow counted.
pub struct FlowWork {
    /// A's generator.
    pub gen: GenOutcome,
    /// B's socket, in modes that have one.
    pub b: Option<BOut>,
}

/// Frames the program handed to the stack: ours, but neither redirected, dropped nor sent back.
fn passed(p: &Counters) -> u64 {
    p.matched.saturating_sub(p.redirected + p.dropped + p.tx)
}

fn add_xsk(a: &mut XskStats, b: &XskStats) {
    a.rx_dropped += b.rx_dropped;
    a.rx_invalid_descs += b.rx_invalid_descs;
    a.tx_invalid_descs += b.tx_invalid_descs;
    a.rx_ring_full += b.rx_ring_full;
    a.rx_fill_ring_empty_descs += b.rx_fill_ring_empty_descs;
    a.tx_ring_empty_descs += b.tx_ring_empty_descs;
}

fn add_hist(a: &mut Histogram<u64>, b: &Histogram<u64>) {
    // Same bounds on both sides ([`histogram`]): adding cannot fail.
    let _ = a.add(b);
}

/// The flows taken together: counts summed, histograms merged, the longest window.
fn merge(flows: &[FlowWork]) -> FlowWork {
    let mut gen = GenOutcome {
        sent_total: 0,
        sent_measured: 0,
        window_ns: 0,
        returned_total: 0,
        others: Vec::new(),
        returned: SeqCounts::default(),
        rtt: histogram(),
        a2b: histogram(),
        b2a: histogram(),
        timeouts: 0,
        xsk: XskStats::default(),
    };
    let mut b: Option<BOut> = None;
    for f in flows {
        let g = &f.gen;
        gen.sent_total += g.sent_total;
        gen.sent_measured += g.sent_measured;
        gen.window_ns = gen.window_ns.max(g.window_ns);
        gen.returned_total += g.returned_total;
        gen.returned.add(&g.returned);
        add_hist(&mut gen.rtt, &g.rtt);
        add_hist(&mut gen.a2b, &g.a2b);
        add_hist(&mut gen.b2a, &g.b2a);
        gen.timeouts += g.timeouts;
        add_xsk(&mut gen.xsk, &g.xsk);
        match (&mut b, &f.b) {
            (None, Some(BOut::Sink(s))) => {
                b = Some(BOut::Sink(SinkOutcome {
                    received_total: s.received_total,
                    received: s.received,
                    one_way: s.one_way.clone(),
                    other_flow: s.other_flow,
                    xsk: s.xsk,
                }))
            }
            (None, Some(BOut::Reflect(r))) => {
                b = Some(BOut::Reflect(ReflectOutcome {
                    reflected: r.reflected,
                    foreign: r.foreign,
                    xsk: r.xsk,
                }))
            }
            (Some(BOut::Sink(t)), Some(BOut::Sink(s))) => {
                t.received_total += s.received_total;
                t.received.add(&s.received);
                add_hist(&mut t.one_way, &s.one_way);
                t.other_flow += s.other_flow;
                add_xsk(&mut t.xsk, &s.xsk);
            }
            (Some(BOut::Reflect(t)), Some(BOut::Reflect(r))) => {
                t.reflected += r.reflected;
                t.foreign += r.foreign;
                add_xsk(&mut t.xsk, &r.xsk);
            }
            _ => {}
        }
    }
    FlowWork { gen, b }
}

/// Frames that came back on another flow's socket (the kernel picked the queue).
#[derive(Clone, Copy, Debug, Default)]
struct Crossed {
    /// Frames of other flows that came back on this flow's socket.
    here: u64,
    /// Frames of this flow that came back on other flows' sockets.
    elsewhere: u64,
}

/// The figures of one flow, or of all flows merged.
struct Figures {
    measured: Measured,
    latencies: Latencies,
    accounting: Accounting,
    histograms: BTreeMap<String, String>,
    counters: BTreeMap<String, u64>,
}

/// Counts, latencies and accounting of `w`. With `link`, the links' and programs' counters are
/// places too (the aggregate); without, only the flow's own sockets are. `sunk` is what B's
/// in-kernel sink dropped (xdp-drop): its program's count in aggregate, its queue's per flow.
///
/// `crossed` says how many frames of other flows came back on this flow's socket (left out of
/// its arrivals) and how many of its own came back on other flows' sockets (a place of its own).
fn figures(
    spec: &RunSpec,
    w: &FlowWork,
    link: Option<&Deltas>,
    sunk: u64,
    crossed: Crossed,
) -> Figures {
    let gen = &w.gen;
    let zero = Deltas::default();
    let d = link.unwrap_or(&zero);
    let (veth, prog) = (&d.veth, &d.prog);
    let mut counters = BTreeMap::new();
    counters.insert("xsk_a.rx_dropped".to_string(), gen.xsk.rx_dropped);
    counters.insert("xsk_a.rx_ring_full".into(), gen.xsk.rx_ring_full);
    counters.insert("xsk_a.tx_invalid_descs".into(), gen.xsk.tx_invalid_descs);
    let a_rx_losses = [
        ("A: XDP passed to the stack (no socket)", passed(&prog[0])),
        ("A: socket rx_dropped (fill ring empty)", gen.xsk.rx_dropped),
        ("A: socket rx ring full", gen.xsk.rx_ring_full),
    ];
    let mut histograms = BTreeMap::new();
    let mut a2b = None;
    let (received_total, places): (u64, Vec<(&str, u64)>) = match &w.b {
        Some(BOut::Sink(sink)) => {
            counters.insert("xsk_b.rx_dropped".into(), sink.xsk.rx_dropped);
            counters.insert("xsk_b.rx_ring_full".into(), sink.xsk.rx_ring_full);
            counters.insert(
                "xsk_b.rx_fill_ring_empty_descs".into(),
                sink.xsk.rx_fill_ring_empty_descs,
            );
            a2b = LatencySummary::of(&sink.one_way);
            histograms.insert("one_way_a2b".into(), histogram_v2_base64(&sink.one_way));
            let places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack (no socket)", passed(&prog[1])),
                (
                    "B: socket rx_dropped (fill ring empty)",
                    sink.xsk.rx_dropped,
                ),
                ("B: socket rx ring full", sink.xsk.rx_ring_full),
            ];
            (sink.received_total, places)
        }
        Some(BOut::Reflect(r)) => {
            counters.insert("xsk_b.rx_dropped".into(), r.xsk.rx_dropped);
            counters.insert("xsk_b.rx_ring_full".into(), r.xsk.rx_ring_full);
            counters.insert("reflector_b.reflected".into(), r.reflected);
            let mut places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack (no socket)", passed(&prog[1])),
                ("B: socket rx_dropped (fill ring empty)", r.xsk.rx_dropped),
                ("B: socket rx ring full", r.xsk.rx_ring_full),
                ("B: not a vethbench frame", r.foreign),
                ("veth B: tx_dropped", veth[1].tx_dropped),
            ];
            places.extend(a_rx_losses);
            places.push(("A: came back on another flow's socket", crossed.elsewhere));
            (gen.returned_total - crossed.here, places)
        }
        None if spec.mode == Mode::XdpDrop => {
            let places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack", passed(&prog[1])),
            ];
            (sunk, places)
        }
        None => {
            let mut places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack", passed(&prog[1])),
                ("veth B: rx_dropped (XDP_TX failed)", veth[1].rx_dropped),
                ("veth B: tx_dropped", veth[1].tx_dropped),
            ];
            places.extend(a_rx_losses);
            places.push(("A: came back on another flow's socket", crossed.elsewhere));
            (gen.returned_total - crossed.here, places)
        }
    };
    let accounting = Accounting::new(gen.sent_total, received_total, &places);
    // Measured frames that arrived: exact from sequence numbers where a socket received them;
    // for the in-kernel sink, all losses are charged to the measured window (conservative).
    let received = match &w.b {
        Some(BOut::Sink(sink)) => sink.received.received,
        None if spec.mode == Mode::XdpDrop => gen
            .sent_measured
            .saturating_sub(gen.sent_total.saturating_sub(received_total)),
        _ => gen.returned.received,
    };
    let row = spec.mode.row();
    if row.returns {
        histograms.insert("rtt".into(), histogram_v2_base64(&gen.rtt));
        histograms.insert("one_way_a2b".into(), histogram_v2_base64(&gen.a2b));
        histograms.insert("one_way_b2a".into(), histogram_v2_base64(&gen.b2a));
        if row.one_way {
            a2b = LatencySummary::of(&gen.a2b);
        }
    }
    Figures {
        measured: Measured {
            sent: gen.sent_measured,
            received,
            window_ns: gen.window_ns,
        },
        latencies: Latencies {
            rtt: LatencySummary::of(&gen.rtt),
            a2b,
            b2a: (row.returns && row.one_way)
                .then(|| LatencySummary::of(&gen.b2a))
                .flatten(),
        },
        accounting,
        histograms,
        counters,
    }
}

/// One flow's own figures over the run's window `window_s`; `None` where they cannot be known
/// (xdp-drop without per-queue driver counters, i.e. generic XDP).
fn flow_outcome(
    spec: &RunSpec,
    flow: u32,
    all: &[FlowWork],
    window_s: f64,
    queues: &[QueueCount],
) -> Option<FlowOutcome> {
    let w = &all[flow as usize];
    let sunk = match queues.iter().find(|q| q.side == "b" && q.queue == flow) {
        Some(q) => q.xdp_drops,
        None if spec.mode == Mode::XdpDrop => return None,
        None => 0,
    };
    let crossed = Crossed {
        here: w.gen.others.iter().sum(),
        elsewhere: all
            .iter()
            .map(|g| g.gen.others.get(flow as usize).copied().unwrap_or(0))
            .sum(),
    };
    let f = figures(spec, w, None, sunk, crossed);
    let other_flow = match &w.b {
        Some(BOut::Sink(s)) => s.other_flow,
        _ => crossed.here,
    };
    let mut out = FlowOutcome::new(
        flow,
        f.measured,
        &f.latencies,
        f.accounting,
        other_flow,
        window_s,
    );
    out.histograms = f.histograms;
    Some(out)
}

/// Warnings about the flows and the queues they travelled.
fn flow_warnings(spec: &RunSpec, out: &RunOutcome) -> Vec<String> {
    let mut w = Vec::new();
    // xdp-tx's returns take the A queue of the core B's program ran on: crossings there are the
    // kernel's choice, accounted per flow, not a flow leaving its queue.
    for f in out.per_flow.iter().filter(|_| spec.mode != Mode::XdpTx) {
        if f.other_flow > 0 {
            w.push(format!(
                "flow {}: {} frames of other flows arrived on its socket (queue {}): flows did not keep to their own queues",
                f.flow, f.other_flow, f.flow
            ));
        }
    }
    // B's rx queues beyond the flows should carry nothing of ours.
    let b_total: u64 = out
        .queues
        .iter()
        .filter(|q| q.side == "b")
        .map(|q| q.xdp_packets)
        .sum();
    for q in out
        .queues
        .iter()
        .filter(|q| q.side == "b" && q.queue >= spec.flows)
    {
        if q.xdp_packets * 100 > b_total {
            w.push(format!(
                "B's rx queue {} carried {} frames but no flow was bound to it: a flow travelled another queue",
                q.queue, q.xdp_packets
            ));
        }
    }
    w
}

/// The outcome of a run: per flow, in aggregate, and the queues the flows travelled.
pub fn outcome(spec: &RunSpec, flows: &[FlowWork], d: &Deltas) -> RunOutcome {
    let all = merge(flows);
    let f = figures(spec, &all, Some(d), d.prog[1].dropped, Crossed::default());
    let mut counters = d.driver.clone();
    counters.extend(f.counters);
    counters.insert("veth_a.tx_dropped".to_string(), d.veth[0].tx_dropped);
    counters.insert("veth_a.rx_dropped".to_string(), d.veth[0].rx_dropped);
    counters.insert("veth_b.tx_dropped".to_string(), d.veth[1].tx_dropped);
    counters.insert("veth_b.rx_dropped".to_string(), d.veth[1].rx_dropped);
    for (side, p) in ["a", "b"].iter().zip(&d.prog) {
        counters.insert(format!("xdp_{side}.matched"), p.matched);
        counters.insert(format!("xdp_{side}.redirected"), p.redirected);
        counters.insert(format!("xdp_{side}.dropped"), p.dropped);
        counters.insert(format!("xdp_{side}.tx"), p.tx);
    }
    let mut warnings = spec.warnings();
    if all.gen.timeouts > 0 {
        warnings.push(format!(
            "{} frames did not come back within 200 ms and were given up on",
            all.gen.timeouts
        ));
    }
    if spec.mode == Mode::XdpTx {
        warnings
            .push("xdp-tx: B reflects in the kernel, so the A→B/B→A split is not measured".into());
    }
    let queues = queue_counts(&counters);
    let mut out = RunOutcome::new(
        spec,
        f.measured,
        f.latencies,
        f.accounting,
        counters,
        f.histograms,
        warnings,
    );
    out.queues = queues;
    if flows.len() > 1 {
        out.per_flow = (0..flows.len() as u32)
            .filter_map(|i| flow_outcome(spec, i, flows, out.window_s, &out.queues))
            .collect();
    }
    let more = flow_warnings(spec, &out);
    out.warnings.extend(more);
    out
}

#[cfg(test)]
mod tests;
