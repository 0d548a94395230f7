//! What a run measured, as plain serde values: rates, latency summaries, and the accounting that
//! says where every frame went.

use std::collections::BTreeMap;

use hdrhistogram::serialization::{Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Percentiles of one latency histogram, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencySummary {
    /// Samples recorded.
    pub samples: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// Mean.
    pub mean_ns: f64,
}

impl LatencySummary {
    /// Summarises a histogram; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<LatencySummary> {
        (!h.is_empty()).then(|| LatencySummary {
            samples: h.len(),
            min_ns: h.min(),
            p50_ns: h.value_at_quantile(0.5),
            p90_ns: h.value_at_quantile(0.9),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            mean_ns: h.mean(),
        })
    }
}

/// An empty latency histogram: 1 ns to 60 s, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant bounds are valid")
}

/// Serialises a histogram as HdrHistogram V2, base64, so it can be merged and re-analysed later.
pub fn histogram_v2_base64(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2Serializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64_encode(&bytes),
        Err(_) => String::new(),
    }
}

/// Reads back a histogram written by [`histogram_v2_base64`]; `None` if it is not one.
pub fn histogram_from_v2_base64(text: &str) -> Option<Histogram<u64>> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Frames lost at one counted place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attribution {
    /// Where (the counter that saw them).
    pub place: String,
    /// How many.
    pub frames: u64,
}

/// "sent N = received R + attributed D + unexplained U".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accounting {
    /// Frames the sender's kernel took (warm-up included).
    pub sent: u64,
    /// Frames that arrived where the mode ends (warm-up included).
    pub received: u64,
    /// Losses some kernel counter explains, place by place (only non-zero places).
    pub attributed: Vec<Attribution>,
    /// What no counter explains; 0 on a quiet machine.
    pub unexplained: i64,
}

impl Accounting {
    /// Builds the accounting; places with zero frames are left out.
    pub fn new(sent: u64, received: u64, places: &[(&str, u64)]) -> Accounting {
        let attributed: Vec<Attribution> = places
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| Attribution {
                place: (*p).to_string(),
                frames: *n,
            })
            .collect();
        let explained: u64 = attributed.iter().map(|a| a.frames).sum();
        Accounting {
            sent,
            received,
            unexplained: sent as i64 - received as i64 - explained as i64,
            attributed,
        }
    }

    /// Frames attributed in total.
    pub fn attributed_total(&self) -> u64 {
        self.attributed.iter().map(|a| a.frames).sum()
    }
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunOutcome {
    /// The mode.
    pub mode: crate::Mode,
    /// Frame size in bytes (no FCS).
    pub size: usize,
    /// IPv6 instead of IPv4.
    pub ipv6: bool,
    /// Cores of the workers, as in the spec (split: A's and B's core of each flow).
    pub cores: Vec<usize>,
    /// Flows (socket pairs, flow i on queue i); older records have one.
    #[serde(default = "one_flow")]
    pub flows: u32,
    /// Where each flow's workers ran; older records ran split.
    #[serde(default)]
    pub layout: crate::Layout,
    /// XDP attach mode.
    pub xdp_mode: crate::XdpMode,
    /// Measured window, seconds (first to last measured send).
    pub window_s: f64,
    /// Measured frames sent.
    pub sent: u64,
    /// Measured frames that arrived.
    pub received: u64,
    /// Offered rate, frames per second.
    pub offered_pps: f64,
    /// Delivered rate, frames per second.
    pub received_pps: f64,
    /// Delivered rate in Gbit/s of frame bytes (no FCS, preamble or gap).
    pub received_gbps: f64,
    /// Lost share of measured frames, percent.
    pub loss_pct: f64,
    /// Round-trip times (modes where frames return).
    pub rtt: Option<LatencySummary>,
    /// A→B one-way times.
    pub one_way_a2b: Option<LatencySummary>,
    /// B→A one-way times.
    pub one_way_b2a: Option<LatencySummary>,
    /// Where every frame went.
    pub accounting: Accounting,
    /// Raw kernel counters used for the accounting (deltas over the run).
    pub counters: BTreeMap<String, u64>,
    /// Histograms, HdrHistogram V2 base64, by name.
    pub histograms: BTreeMap<String, String>,
    /// Things the reader must know to trust the figures.
    pub warnings: Vec<String>,
    /// The path A's frames took to B: `veth`, or `lo` where the kernel stack delivered them
    /// locally (both ends in one namespace). Older records have none.
    #[serde(default)]
    pub path: Option<String>,
    /// Cut short by SIGINT/SIGTERM: kept for inspection, left out of every estimate, comparison
    /// and headline figure. Older records have none (complete).
    #[serde(default)]
    pub interrupted: bool,
    /// What the workers cost and how the pinned cores spent the trial; absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::cpu::CpuAccounting>,
    /// Each flow's own figures (runs with more than one flow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_flow: Vec<FlowOutcome>,
    /// What each veth queue's XDP counters saw (`ethtool -S`, native XDP), side by side with
    /// the flows meant for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueCount>,
    /// Per-second figures of the trial (warm-up included); empty in older records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<crate::interval::Interval>,
    /// How much the per-second rate moved from the first to the second half of the measured
    /// seconds (a fraction; see [`crate::interval::drift`]); absent with fewer than 4 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
}

fn one_flow() -> u32 {
    1
}

/// One flow's figures in a run with several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlowOutcome {
    /// The flow, and the queue it was bound to on both ends.
    pub flow: u32,
    /// Measured frames sent.
    pub sent: u64,
    /// Measured frames that arrived.
    pub received: u64,
    /// Delivered rate, frames per second (over the run's window).
    pub received_pps: f64,
    /// Lost share of measured frames, percent.
    pub loss_pct: f64,
    /// Round-trip times (modes where frames return).
    pub rtt: Option<LatencySummary>,
    /// A→B one-way times.
    pub one_way_a2b: Option<LatencySummary>,
    /// Where this flow's frames went (counters of its own sockets; link-wide drops are in the
    /// run's accounting).
    pub accounting: Accounting,
    /// Our frames of another flow that arrived on this flow's socket (travelled the wrong queue).
    pub other_flow: u64,
    /// This flow's latency histograms, HdrHistogram V2 base64, by name (as the run's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub histograms: BTreeMap<String, String>,
}

impl FlowOutcome {
    /// Flow `flow`'s figures: its counts over the run's window `window_s`, its latencies and
    /// accounting, and the frames of other flows its socket saw.
    pub fn new(
        flow: u32,
        m: Measured,
        l: &Latencies,
        accounting: Accounting,
        other_flow: u64,
        window_s: f64,
    ) -> FlowOutcome {
        FlowOutcome {
            flow,
            sent: m.sent,
            received: m.received,
            received_pps: per_second(m.received, window_s),
            loss_pct: loss_pct(m),
            rtt: l.rtt,
            one_way_a2b: l.a2b,
            accounting,
            other_flow,
            histograms: BTreeMap::new(),
        }
    }
}

/// `n` frames over `window_s` seconds, per second; 0 over no time.
fn per_second(n: u64, window_s: f64) -> f64 {
    if window_s > 0.0 {
        n as f64 / window_s
    } else {
        0.0
    }
}

/// The lost share of the measured frames, percent; 0 with none sent.
fn loss_pct(m: Measured) -> f64 {
    if m.sent > 0 {
        100.0 * m.sent.saturating_sub(m.received) as f64 / m.sent as f64
    } else {
        0.0
    }
}

/// What one veth queue's XDP counters saw over a run (`ethtool -S`: `rx_queue_<q>_xdp_*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueueCount {
    /// Which end: `a` or `b`.
    pub side: String,
    /// The rx queue.
    pub queue: u32,
    /// Frames its XDP program saw.
    pub xdp_packets: u64,
    /// Frames redirected (into an AF_XDP socket).
    pub xdp_redirect: u64,
    /// Frames dropped by XDP (or a failed redirect).
    pub xdp_drops: u64,
    /// Frames sent back with XDP_TX.
    pub xdp_tx: u64,
}

/// The per-queue XDP counters in a run's counter deltas (`ethtool_<side>.rx_queue_<q>_xdp_*`),
/// queues that saw nothing left out.
pub fn queue_counts(counters: &BTreeMap<String, u64>) -> Vec<QueueCount> {
    let mut out: Vec<QueueCount> = Vec::new();
    for (name, value) in counters {
        let Some((side, rest)) = name
            .strip_prefix("ethtool_")
            .and_then(|n| n.split_once(".rx_queue_"))
        else {
            continue;
        };
        let Some((queue, field)) = rest.split_once('_') else {
            continue;
        };
        let Ok(queue) = queue.parse::<u32>() else {
            continue;
        };
        let i = match out.iter().position(|q| q.side == side && q.queue == queue) {
            Some(i) => i,
            None => {
                out.push(QueueCount {
                    side: side.to_string(),
                    queue,
                    xdp_packets: 0,
                    xdp_redirect: 0,
                    xdp_drops: 0,
                    xdp_tx: 0,
                });
                out.len() - 1
            }
        };
        let q = &mut out[i];
        match field {
            "xdp_packets" => q.xdp_packets = *value,
            "xdp_redirect" => q.xdp_redirect = *value,
            "xdp_drops" => q.xdp_drops = *value,
            "xdp_tx" => q.xdp_tx = *value,
            _ => {}
        }
    }
    out.retain(|q| q.xdp_packets + q.xdp_redirect + q.xdp_drops + q.xdp_tx > 0);
    out.sort_by(|a, b| (&a.side, a.queue).cmp(&(&b.side, b.queue)));
    out
}

/// Measured counts of one run: frames sent and arrived in the measuring window.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Measured frames sent.
    pub sent: u64,
    /// Measured frames that arrived.
    pub received: u64,
    /// First to last measured send, ns.
    pub window_ns: u64,
}

/// Latency summaries of one run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latencies {
    /// Round trip.
    pub rtt: Option<LatencySummary>,
    /// A→B one way.
    pub a2b: Option<LatencySummary>,
    /// B→A one way.
    pub b2a: Option<LatencySummary>,
}

impl RunOutcome {
    /// Builds the outcome of `spec`: rates over the measuring window, loss, and a warning when the
    /// accounting leaves frames unexplained.
    pub fn new(
        spec: &crate::RunSpec,
        m: Measured,
        latencies: Latencies,
        accounting: Accounting,
        counters: BTreeMap<String, u64>,
        histograms: BTreeMap<String, String>,
        mut warnings: Vec<String>,
    ) -> RunOutcome {
        if accounting.unexplained > 0 {
            warnings.push(format!(
                "{} frames are not explained by any kernel counter (a busy machine, or frames still in flight at the end)",
                accounting.unexplained
            ));
        } else if accounting.unexplained < 0 {
            warnings.push(format!(
                "the drop counters account for {} more frames than were lost: they also counted frames that were not ours (another sender on the link)",
                -accounting.unexplained
            ));
        }
        let window_s = m.window_ns as f64 / 1e9;
        let rate = |n: u64| per_second(n, window_s);
        RunOutcome {
            mode: spec.mode,
            size: spec.size,
            ipv6: spec.ipv6,
            cores: spec.cores.clone(),
            flows: spec.flows,
            layout: spec.layout,
            xdp_mode: spec.xdp_mode,
            window_s,
            sent: m.sent,
            received: m.received,
            offered_pps: rate(m.sent),
            received_pps: rate(m.received),
            received_gbps: rate(m.received) * spec.size as f64 * 8.0 / 1e9,
            loss_pct: loss_pct(m),
            rtt: latencies.rtt,
            one_way_a2b: latencies.a2b,
            one_way_b2a: latencies.b2a,
            accounting,
            counters,
            histograms,
            warnings,
            path: Some("veth".into()),
            interrupted: false,
            cpu: None,
            per_flow: Vec::new(),
            queues: Vec::new(),
            intervals: Vec::new(),
            drift: None,
        }
    }

    /// Adds the per-second figures, and a warning when the rate drifted during the trial.
    pub fn set_intervals(&mut self, intervals: Vec<crate::interval::Interval>, warmup_s: f64) {
        self.drift = crate::interval::drift(&intervals, warmup_s);
        if let Some(d) = self.drift.filter(|d| d.abs() > crate::interval::MAX_DRIFT) {
            self.warnings.push(format!(
                "the rate drifted {:+.0} % from the first to the second half of the trial (per-second figures in the record): the machine's speed changed while it ran",
                d * 100.0
            ));
        }
        self.intervals = intervals;
    }

    /// Adds the CPU accounting, and a warning for each disturbed core.
    pub fn set_cpu(&mut self, cpu: crate::cpu::CpuAccounting) {
        self.warnings
            .extend(cpu.disturbed.iter().map(|d| d.to_string()));
        self.cpu = Some(cpu);
    }

    /// CPU ns per frame of the sender (per round trip in ping-pong modes), if known.
    pub fn sender_ns_per_frame(&self) -> Option<f64> {
        self.cpu.as_ref()?.a?.ns_per_frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_balances() {
        let a = Accounting::new(100, 90, &[("ring full", 7), ("nowhere", 0)]);
        assert_eq!(a.unexplained, 3);
        assert_eq!(a.attributed.len(), 1);
        assert_eq!(a.attributed_total(), 7);
        assert_eq!(Accounting::new(10, 10, &[]).unexplained, 0);
    }

    #[test]
    fn summaries_and_serialisation() {
        let mut h = histogram();
        assert!(LatencySummary::of(&h).is_none());
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::of(&h).unwrap();
        assert_eq!(s.samples, 1000);
        assert!((499_000..=501_000).contains(&s.p50_ns), "{s:?}");
        let text = histogram_v2_base64(&h);
        let back = histogram_from_v2_base64(&text).expect("reads back");
        assert_eq!(back.len(), 1000);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        assert!(histogram_from_v2_base64("not base64!").is_none());
        assert!(histogram_from_v2_base64("AAAA").is_none());
    }
}
