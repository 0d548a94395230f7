//! The outcome of a sweep: per objective, the best point and its margin over the default settings
//! (the point whose knobs are all `vethbench run`'s defaults, at the same mode and size).

use bench::scenario::RunSpec;
use bench::xsk::XskConfig;
use serde::Serialize;
use setup::{TopologyKind, TopologySpec};

use crate::Record;

/// Loss at or below which a rate counts as lossless, percent.
pub const LOSSLESS_PCT: f64 = 0.1;

/// The best point for one objective.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Best {
    /// What was optimised, e.g. "highest lossless rate".
    pub objective: String,
    /// The best point's key.
    pub point: String,
    /// Its median, in `unit`.
    pub value: f64,
    /// Unit of `value`.
    pub unit: String,
    /// The default point at the same mode and size, and its median.
    pub default: Option<(String, f64)>,
    /// How much better the best is than the default, percent (positive = better).
    pub margin_pct: Option<f64>,
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

/// (point, spec, topology, median of `metric`) of every stored point that has the metric.
fn medians<'a>(
    points: &'a [(String, Record)],
    metric: &str,
) -> Vec<(&'a str, &'a RunSpec, &'a TopologySpec, f64, f64)> {
    points
        .iter()
        .filter_map(|(key, r)| {
            let s = r.scenarios.first()?;
            let v = s.estimates.get(metric)?.median;
            let loss = s.estimates.get("loss_pct").map(|e| e.median).unwrap_or(0.0);
            Some((key.as_str(), &s.spec, &r.fingerprint.topology.spec, v, loss))
        })
        .collect()
}

/// The best point per objective and per mode and frame size (rates of different sizes do not
/// compare): highest lossless rate (open-loop modes, median loss <= [`LOSSLESS_PCT`]) and lowest
/// RTT p99 (modes with round trips).
pub fn best(points: &[(String, Record)]) -> Vec<Best> {
    let mut out = Vec::new();
    let objectives: [(&str, &str, &str, bool, f64); 2] = [
        ("highest lossless rate", "received_pps", "Mpps", true, 1e-6),
        ("lowest RTT p99", "rtt_p99_us", "µs", false, 1.0),
    ];
    for (objective, metric, unit, higher, scale) in objectives {
        let all: Vec<_> = medians(points, metric)
            .into_iter()
            .filter(|(_, spec, _, _, loss)| {
                !higher || (!spec.mode.closed_loop() && *loss <= LOSSLESS_PCT)
            })
            .collect();
        let mut groups: Vec<(bench::scenario::Mode, usize, bool)> = Vec::new();
        for (_, s, _, _, _) in &all {
            if !groups.contains(&(s.mode, s.size, s.ipv6)) {
                groups.push((s.mode, s.size, s.ipv6));
            }
        }
        for group in groups {
            let candidates: Vec<_> = all
                .iter()
                .filter(|(_, s, _, _, _)| (s.mode, s.size, s.ipv6) == group)
                .copied()
                .collect();
            let pick = candidates.iter().max_by(|a, b| {
                let o = a.3.total_cmp(&b.3);
                if higher {
                    o
                } else {
                    o.reverse()
                }
            });
            let Some(&(key, spec, _, value, _)) = pick else {
                continue;
            };
            let default = candidates
                .iter()
                .find(|(_, s, t, _, _)| {
                    s.mode == spec.mode
                        && s.size == spec.size
                        && s.ipv6 == spec.ipv6
                        && is_default(s, t)
                })
                .map(|&(k, _, _, v, _)| (k.to_string(), v));
            let margin_pct = default.as_ref().filter(|(_, d)| *d != 0.0).map(|(_, d)| {
                let change = (value - d) / d.abs() * 100.0;
                if higher {
                    change
                } else {
                    -change
                }
            });
            out.push(Best {
                objective: format!(
                    "{objective} ({} {} B{})",
                    group.0.name(),
                    group.1,
                    if group.2 { " IPv6" } else { "" }
                ),
                point: key.to_string(),
                value: value * scale,
                unit: unit.to_string(),
                default: default.map(|(k, v)| (k, v * scale)),
                margin_pct,
            });
        }
    }
    out
}
