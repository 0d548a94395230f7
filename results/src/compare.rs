//! Comparing two records: per scenario and metric, the change of the median with a bootstrap
//! confidence interval and a verdict. A change counts only if it is statistically significant
//! (Welch's t-test over the two sets of trials, p < 0.05) AND its whole interval lies outside the
//! noise band: improved, regressed, or no change. The t-test matters with few trials: a bootstrap
//! interval of a median of three trials lies outside the band whenever the two sets do not overlap,
//! which one trial in a slower mode is enough for (seen between two identical runs here).

use serde::{Deserialize, Serialize};

use crate::fingerprint::diff;
use crate::record::{metrics, Record, ScenarioRecord};
use crate::stats::welch_p;

/// Resamples for the interval of a change.
const RESAMPLES: usize = 2000;

/// Significance level of the t-test.
pub const ALPHA: f64 = 0.05;

/// Metrics compared, and whether higher is better. (Loss is reported in the records but not
/// judged here: a ratio of near-zero percentages means nothing.)
const JUDGED: [(&str, bool); 4] = [
    ("received_pps", true),
    ("rtt_p50_us", false),
    ("rtt_p99_us", false),
    ("a2b_p50_us", false),
];

/// The verdict on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Better beyond the noise band.
    Improved,
    /// Worse beyond the noise band.
    Regressed,
    /// Within the noise band, or not significant.
    NoChange,
    /// Shown, not judged: the one-way split of a kernel-stack round trip (see [`judged`]).
    NotJudged,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::NoChange => "no change",
            Verdict::NotJudged => "not judged",
        })
    }
}

/// One metric of one scenario, baseline against new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// Scenario key.
    pub scenario: String,
    /// Metric name.
    pub metric: String,
    /// Baseline median.
    pub baseline: f64,
    /// New median.
    pub new: f64,
    /// Change of the median, percent of the baseline.
    pub change_pct: f64,
    /// 95 % bootstrap interval of the change, percent.
    pub ci95_pct: (f64, f64),
    /// Two-sided p-value of Welch's t-test on the trials; `None` when a side has one trial (then
    /// the verdict rests on the interval alone).
    pub p_value: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The comparison of two records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Every judged metric of every scenario in both records.
    pub changes: Vec<MetricChange>,
    /// Scenarios only the baseline has.
    pub only_in_baseline: Vec<String>,
    /// Scenarios only the new record has.
    pub only_in_new: Vec<String>,
    /// What differs between the two environments ("field: a -> b").
    pub fingerprint_differences: Vec<String>,
    /// What differs between the settings of matched scenarios ("scenario: field: a -> b").
    pub setting_differences: Vec<String>,
}

impl Comparison {
    /// Whether any metric regressed.
    pub fn regressed(&self) -> bool {
        self.changes.iter().any(|c| c.verdict == Verdict::Regressed)
    }
}

fn values(s: &ScenarioRecord, metric: &str) -> Vec<f64> {
    s.complete_trials()
        .filter_map(|t| {
            metrics(t)
                .into_iter()
                .find(|(m, _)| *m == metric)
                .map(|(_, v)| v)
        })
        .filter(|v| v.is_finite())
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Change of the median in percent, and its 95 % bootstrap interval (deterministic).
fn change(base: &[f64], new: &[f64]) -> (f64, (f64, f64)) {
    let (mut b, mut n) = (base.to_vec(), new.to_vec());
    let (mb, mn) = (median(&mut b), median(&mut n));
    let pct = |b: f64, n: f64| {
        if b != 0.0 {
            (n - b) / b.abs() * 100.0
        } else {
            0.0
        }
    };
    let point = pct(mb, mn);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut rb = vec![0.0; base.len()];
    let mut rn = vec![0.0; new.len()];
    let mut changes = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for x in rb.iter_mut() {
            *x = base[(next() % base.len() as u64) as usize];
        }
        for x in rn.iter_mut() {
            *x = new[(next() % new.len() as u64) as usize];
        }
        changes.push(pct(median(&mut rb), median(&mut rn)));
    }
    changes.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| changes[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    (point, (at(0.025), at(0.975)))
}

/// The verdict for a change interval, its p-value and a noise band (percent), given the metric's
/// direction.
fn verdict(ci: (f64, f64), p: Option<f64>, noise_pct: f64, higher_is_better: bool) -> Verdict {
    if p.is_some_and(|p| p >= ALPHA) {
        return Verdict::NoChange;
    }
    let (up, down) = (ci.0 > noise_pct, ci.1 < -noise_pct);
    match (up, down, higher_is_better) {
        (true, _, true) | (_, true, false) => Verdict::Improved,
        (true, _, false) | (_, true, true) => Verdict::Regressed,
        _ => Verdict::NoChange,
    }
}

/// Whether `metric` of a scenario in `mode` gets a verdict. The one-way A→B time of a kernel-stack
/// mode does not: it is the split of a round trip between two threads that sleep in `recv()`, and
/// which direction gets the slow cross-core wake-up is a property of the run, not of the kernel's
/// path. Seen here, two identical suite runs: udp-pingpong 1500 B A→B/B→A p50 42/35 µs in every
/// trial of one run, 35/42 µs in every trial of the other, RTT p50 76.9 against 76.6 µs. The
/// round trip, which is judged, is the figure to compare; AF_XDP modes poll and keep theirs.
pub fn judged(mode: bench::scenario::Mode, metric: &str) -> bool {
    !(metric == "a2b_p50_us" && mode.kernel_stack())
}

/// Compares `new` against `baseline` with a noise band of `noise_pct` percent.
pub fn compare(baseline: &Record, new: &Record, noise_pct: f64) -> Comparison {
    let mut changes = Vec::new();
    let mut setting_differences = Vec::new();
    for b in &baseline.scenarios {
        let Some(n) = new.scenarios.iter().find(|n| n.key == b.key) else {
            continue;
        };
        let mut d = Vec::new();
        let spec = |s: &ScenarioRecord| serde_json::to_value(&s.spec).unwrap_or_default();
        diff("", &spec(b), &spec(n), &mut d);
        setting_differences.extend(d.into_iter().map(|d| format!("{}: {d}", b.key)));
        for (metric, higher_is_better) in JUDGED {
            let (bv, nv) = (values(b, metric), values(n, metric));
            if bv.is_empty() || nv.is_empty() {
                continue;
            }
            let (change_pct, ci95_pct) = change(&bv, &nv);
            let p_value = welch_p(&bv, &nv);
            changes.push(MetricChange {
                scenario: b.key.clone(),
                metric: metric.to_string(),
                baseline: median(&mut bv.clone()),
                new: median(&mut nv.clone()),
                change_pct,
                ci95_pct,
                p_value,
                verdict: if judged(b.spec.mode, metric) {
                    verdict(ci95_pct, p_value, noise_pct, higher_is_better)
                } else {
                    Verdict::NotJudged
                },
            });
        }
    }
    let keys = |r: &Record| {
        r.scenarios
            .iter()
            .map(|s| s.key.clone())
            .collect::<Vec<_>>()
    };
    let (bk, nk) = (keys(baseline), keys(new));
    Comparison {
        changes,
        only_in_baseline: bk.iter().filter(|k| !nk.contains(k)).cloned().collect(),
        only_in_new: nk.iter().filter(|k| !bk.contains(k)).cloned().collect(),
        fingerprint_differences: baseline.fingerprint.differences(&new.fingerprint),
        setting_differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_direction_and_noise_band() {
        let sig = Some(0.01);
        assert_eq!(verdict((5.0, 9.0), sig, 2.0, true), Verdict::Improved);
        assert_eq!(verdict((5.0, 9.0), sig, 2.0, false), Verdict::Regressed);
        assert_eq!(verdict((-9.0, -5.0), sig, 2.0, true), Verdict::Regressed);
        assert_eq!(verdict((-9.0, -5.0), None, 2.0, false), Verdict::Improved);
        assert_eq!(
            verdict((1.0, 3.0), sig, 2.0, true),
            Verdict::NoChange,
            "not all outside the band"
        );
        assert_eq!(
            verdict((-4.0, 6.0), sig, 2.0, true),
            Verdict::NoChange,
            "interval across zero"
        );
        assert_eq!(
            verdict((2.5, 22.7), Some(0.3), 2.0, false),
            Verdict::NoChange,
            "outside the band but not significant"
        );
    }

    #[test]
    fn change_interval_brackets_the_point() {
        let (p, (lo, hi)) = change(&[100.0, 101.0, 99.0], &[90.0, 91.0, 89.0]);
        assert!((p + 10.0).abs() < 1e-9, "{p}");
        assert!(lo <= p && p <= hi && hi < 0.0, "{lo} {hi}");
        assert_eq!(change(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).0, 0.0);
    }
}
