//! The outcome of a sweep: per objective, the best point and its margin over the default settings
//! (the point whose knobs are all `vethbench run`'s defaults, at the same mode and size).

use model::XskConfig;
use model::{Metric, RunSpec};
use model::{TopologyKind, TopologySpec};
use serde::Serialize;

use crate::{judge, Record, Verdict};

/// Loss at or below which a rate counts as lossless, percent.
pub const LOSSLESS_PCT: f64 = 0.1;

/// The best point for one objective, judged against the point at default settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Best {
    /// What was optimised, e.g. "highest lossless rate (throughput 64 B)".
    pub objective: String,
    /// The best point's key (by median).
    pub point: String,
    /// Its median, in `unit`.
    pub value: f64,
    /// Unit of `value`.
    pub unit: String,
    /// The default point at the same mode and size, and its median.
    pub default: Option<(String, f64)>,
    /// How much better the best is than the default, percent (positive = better), with its 95 %
    /// interval, by `compare`'s statistics over both points' trials.
    pub margin_pct: Option<(f64, (f64, f64))>,
    /// The verdict of the best point against the default (improved, no change, inconclusive);
    /// a winner is named only when it is improved.
    pub verdict: Option<Verdict>,
    /// What would make an inconclusive verdict conclusive.
    pub resolve: Option<String>,
}

impl Best {
    /// Whether the best point beat the defaults conclusively.
    pub fn is_winner(&self) -> bool {
        self.verdict == Some(Verdict::Improved)
    }
}

/// The knobs a sweep varies, as (name, value) of one point.
pub fn knobs(spec: &RunSpec, topology: &TopologySpec) -> [(&'static str, String); 8] {
    let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
    [
        ("XDP mode", spec.xdp_mode.to_string()),
        ("batch", spec.xsk.batch.to_string()),
        ("ring", spec.xsk.ring.to_string()),
        ("need_wakeup", on_off(spec.xsk.need_wakeup)),
        ("busy poll", on_off(spec.xsk.busy_poll)),
        ("queues", topology.queues.to_string()),
        (
            "GRO",
            topology.gro.map(on_off).unwrap_or_else(|| "default".into()),
        ),
        ("topology", topology.kind.to_string()),
    ]
}

/// Whether a point ran with every knob at its default.
pub fn is_default(spec: &RunSpec, topology: &TopologySpec) -> bool {
    let d = XskConfig::default();
    spec.xsk.batch == d.batch
        && spec.xsk.ring == d.ring
        && spec.xsk.need_wakeup == d.need_wakeup
        && spec.xsk.busy_poll == d.busy_poll
        && spec.xdp_mode == RunSpec::new(spec.mode).xdp_mode
        && topology.kind == TopologyKind::Pair
        && topology.queues == 1
        && topology.gro.is_none()
}

/// A stored point with the metric: its key, spec, topology, median, median loss, and its record.
struct Candidate<'a> {
    key: &'a str,
    spec: &'a RunSpec,
    topology: &'a TopologySpec,
    median: f64,
    loss: f64,
    record: &'a Record,
}

/// Every stored point that has `metric`.
fn candidates<'a>(points: &'a [(String, Record)], metric: &str) -> Vec<Candidate<'a>> {
    points
        .iter()
        .filter_map(|(key, r)| {
            let s = r.scenarios.first()?;
            Some(Candidate {
                key,
                spec: &s.spec,
                topology: &r.fingerprint.topology.spec,
                median: s.estimates.get(metric)?.median,
                loss: s
                    .estimates
                    .get(Metric::LossPct.name())
                    .map(|e| e.median)
                    .unwrap_or(0.0),
                record: r,
            })
        })
        .collect()
}

/// The best point per objective and per mode and frame size (rates of different sizes do not
/// compare): highest lossless rate (open-loop modes, median loss <= [`LOSSLESS_PCT`]) and lowest
/// RTT p99 (modes with round trips), each judged against the point at default settings (found
/// among all points, lossy or not) with `compare`'s statistics and a noise band of `noise_pct`.
pub fn best(points: &[(String, Record)], noise_pct: f64) -> Vec<Best> {
    let mut out = Vec::new();
    let objectives: [(&str, Metric, &str, f64); 2] = [
        ("highest lossless rate", Metric::ReceivedPps, "Mpps", 1e-6),
        ("lowest RTT p99", Metric::RttP99Us, "µs", 1.0),
    ];
    for (objective, metric, unit, scale) in objectives {
        let higher = metric.higher_is_better();
        let all = candidates(points, metric.name());
        let group_of = |c: &Candidate| (c.spec.mode, c.spec.size, c.spec.ipv6);
        let mut groups: Vec<(model::Mode, usize, bool)> = Vec::new();
        for c in &all {
            if (!higher || !c.spec.mode.closed_loop()) && !groups.contains(&group_of(c)) {
                groups.push(group_of(c));
            }
        }
        for group in groups {
            let in_group = || all.iter().filter(|c| group_of(c) == group);
            let pick = in_group()
                .filter(|c| !higher || c.loss <= LOSSLESS_PCT)
                .max_by(|a, b| {
                    let o = a.median.total_cmp(&b.median);
                    if higher {
                        o
                    } else {
                        o.reverse()
                    }
                });
            let Some(best) = pick else {
                continue;
            };
            let default = in_group().find(|c| is_default(c.spec, c.topology));
            let judged = default.filter(|d| d.key != best.key).map(|d| {
                let values = |c: &Candidate| {
                    c.record
                        .scenarios
                        .first()
                        .map(|s| crate::compare::values(s, metric))
                        .unwrap_or_default()
                };
                judge(&values(d), &values(best), noise_pct, higher)
            });
            let margin_pct = judged.as_ref().map(|j| {
                if higher {
                    (j.change_pct, j.ci95_pct)
                } else {
                    (-j.change_pct, (-j.ci95_pct.1, -j.ci95_pct.0))
                }
            });
            out.push(Best {
                objective: format!(
                    "{objective} ({} {} B{})",
                    group.0.name(),
                    group.1,
                    if group.2 { " IPv6" } else { "" }
                ),
                point: best.key.to_string(),
                value: best.median * scale,
                unit: unit.to_string(),
                default: default.map(|d| (d.key.to_string(), d.median * scale)),
                margin_pct,
                verdict: judged.as_ref().map(|j| j.verdict),
                resolve: judged.and_then(|j| j.resolve),
            });
        }
    }
    out
}
