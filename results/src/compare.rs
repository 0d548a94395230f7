//! Comparing two records: per scenario and metric, the change between the two sets of complete
//! trials with a 95 % confidence interval, and one of four verdicts.
//!
//! The statistics: each metric is compared on a log scale (rates, times and costs are positive and
//! change by factors), so the change is the ratio of the geometric means of the trials, and its
//! interval is Welch's t interval of the difference of the mean logarithms (unequal variances,
//! Welch–Satterthwaite degrees of freedom), turned back into percent. With a noise band of ±B %:
//! - *improved* / *regressed*: the whole interval lies beyond +B % or −B % (so the change is also
//!   significant at 5 %, two-sided);
//! - *no change*: the whole interval lies inside ±B % — equivalence shown (two one-sided tests at
//!   2.5 %), not merely a change not proven;
//! - *inconclusive*: anything else — the interval straddles an edge of the band, or a side has a
//!   single trial (no spread to judge from).

use serde::{Deserialize, Serialize};

use crate::fingerprint::diff;
use crate::record::{scenario_key, Record, ScenarioRecord};
use model::stats::welch;
use model::Metric;

/// Confidence of the interval of a change.
pub const CONFIDENCE: f64 = 0.95;

/// Metrics compared. (Loss is reported in the records but not compared here: a ratio of
/// near-zero percentages means nothing.) Which of them get a verdict is the mode table's call
/// ([`model::RunSpec::judges`]).
pub(crate) const COMPARED: [Metric; 5] = [
    Metric::ReceivedPps,
    Metric::RttP50Us,
    Metric::RttP99Us,
    Metric::A2bP50Us,
    Metric::ACpuNsPerFrame,
];

/// The verdict on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Better: the whole interval lies beyond the noise band.
    Improved,
    /// Worse: the whole interval lies beyond the noise band.
    Regressed,
    /// The whole interval lies inside the noise band.
    NoChange,
    /// Neither: the interval straddles an edge of the band, or a side has one trial.
    Inconclusive,
    /// Shown, not judged: the one-way split of a kernel-stack round trip (see
    /// [`model::RunSpec::judges`]).
    NotJudged,
    /// Shown, not judged: the records' figures do not compare (emulation, or different
    /// accelerators); the reason is in `resolve`.
    NotComparable,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotJudged => "not judged",
            Verdict::NotComparable => "not comparable",
        })
    }
}

/// One metric of one scenario, baseline against new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricChange {
    /// Scenario key.
    pub scenario: String,
    /// Metric name.
    pub metric: String,
    /// Baseline median.
    pub baseline: f64,
    /// New median.
    pub new: f64,
    /// Change, percent: the ratio of the geometric means of the trials, minus one.
    pub change_pct: f64,
    /// 95 % interval of the change, percent (Welch's t interval on the logarithms); the point
    /// itself when a side has one trial.
    pub ci95_pct: (f64, f64),
    /// Two-sided p-value of Welch's t-test on the logarithms; `None` when a side has one trial.
    pub p_value: Option<f64>,
    /// Complete trials on each side (baseline, new).
    #[serde(default)]
    pub trials: (usize, usize),
    /// The verdict.
    pub verdict: Verdict,
    /// What would make an inconclusive verdict conclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<String>,
}

/// The comparison of two records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    /// Every judged metric of every scenario in both records.
    pub changes: Vec<MetricChange>,
    /// Scenarios only the baseline has.
    pub only_in_baseline: Vec<String>,
    /// Scenarios only the new record has.
    pub only_in_new: Vec<String>,
    /// Scenarios both records have, not compared because a side has no complete trial (an
    /// interrupted run).
    #[serde(default)]
    pub without_complete_trials: Vec<String>,
    /// What differs between the two environments ("field: a -> b").
    pub fingerprint_differences: Vec<String>,
    /// What differs between the settings of matched scenarios ("scenario: field: a -> b").
    pub setting_differences: Vec<String>,
}

impl Comparison {
    /// Whether any metric regressed.
    pub fn regressed(&self) -> bool {
        self.count(Verdict::Regressed) > 0
    }

    /// How many judged metrics got `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.changes.iter().filter(|c| c.verdict == verdict).count()
    }
}

/// The values of `metric` in the complete trials of a scenario.
pub fn values(s: &ScenarioRecord, metric: Metric) -> Vec<f64> {
    s.complete_trials()
        .filter_map(|t| metric.of(t))
        .filter(|v| v.is_finite())
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    model::stats::median_of(v)
}

/// The change of `new` against `base` in percent, its 95 % interval, and the p-value; on a log
/// scale where every value is positive, on the plain difference of means otherwise.
fn change(base: &[f64], new: &[f64]) -> (f64, (f64, f64), Option<f64>) {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    if base.iter().chain(new).all(|v| *v > 0.0) {
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<f64>>();
        let (lb, ln_new) = (ln(base), ln(new));
        let pct = |d: f64| (d.exp() - 1.0) * 100.0;
        let point = pct(mean(&ln_new) - mean(&lb));
        return match welch(&lb, &ln_new, CONFIDENCE) {
            Some(w) => (point, (pct(w.low), pct(w.high)), Some(w.p)),
            None => (point, (point, point), None),
        };
    }
    let mb = mean(base);
    let pct = |d: f64| if mb != 0.0 { d / mb.abs() * 100.0 } else { 0.0 };
    let point = pct(mean(new) - mb);
    match welch(base, new, CONFIDENCE) {
        Some(w) => (point, (pct(w.low), pct(w.high)), Some(w.p)),
        None => (point, (point, point), None),
    }
}

/// The verdict for a change interval (percent) with `trials` on each side and a noise band of
/// ±`noise_pct`, given the metric's direction; for an inconclusive one, what would resolve it.
fn verdict(
    ci: (f64, f64),
    trials: (usize, usize),
    noise_pct: f64,
    higher_is_better: bool,
) -> (Verdict, Option<String>) {
    if trials.0 < 2 || trials.1 < 2 {
        return (
            Verdict::Inconclusive,
            Some(
                "one trial on a side has no spread to judge from: run with --trials 3 or more"
                    .into(),
            ),
        );
    }
    let (low, high) = ci;
    let (up, down) = (low > noise_pct, high < -noise_pct);
    match (up, down, higher_is_better) {
        (true, _, true) | (_, true, false) => return (Verdict::Improved, None),
        (true, _, false) | (_, true, true) => return (Verdict::Regressed, None),
        _ => {}
    }
    if low >= -noise_pct && high <= noise_pct {
        return (Verdict::NoChange, None);
    }
    let half = (high - low) / 2.0;
    let resolve = if half > noise_pct {
        format!(
            "the interval (±{half:.1} %) is wider than the band (±{noise_pct} %): more trials (--trials) or a quieter machine"
        )
    } else {
        format!(
            "the change sits at the edge of the band (±{noise_pct} %): more trials narrow the interval, or a wider --noise if such changes do not matter"
        )
    };
    (Verdict::Inconclusive, Some(resolve))
}

/// One metric judged: the new trial values against the baseline's.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// Change, percent (ratio of the geometric means, minus one).
    pub change_pct: f64,
    /// Its 95 % interval, percent.
    pub ci95_pct: (f64, f64),
    /// Welch's p-value; `None` with one trial on a side.
    pub p_value: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// What would make an inconclusive verdict conclusive.
    pub resolve: Option<String>,
}

/// Judges `new` against `base` (trial values of one metric) with a noise band of ±`noise_pct`,
/// by the statistics of this module.
pub fn judge(base: &[f64], new: &[f64], noise_pct: f64, higher_is_better: bool) -> Judgement {
    let (change_pct, ci95_pct, p_value) = change(base, new);
    let (verdict, resolve) = verdict(
        ci95_pct,
        (base.len(), new.len()),
        noise_pct,
        higher_is_better,
    );
    Judgement {
        change_pct,
        ci95_pct,
        p_value,
        verdict,
        resolve,
    }
}

/// The least precise judged metric of a record: (scenario, metric, half-width of its 95 %
/// interval in percent; `None`, the widest, with fewer than two complete trials). `None` for a
/// record with nothing judged.
pub fn least_precise(record: &Record) -> Option<(String, String, Option<f64>)> {
    let mut widest: Option<(String, String, Option<f64>)> = None;
    let wider = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, Some(_)) => true,
        (Some(x), Some(y)) => x > y,
        _ => false,
    };
    for s in &record.scenarios {
        for metric in COMPARED {
            if !s.spec.judges(metric) {
                continue;
            }
            let v = values(s, metric);
            if v.is_empty() && s.complete_trials().next().is_some() {
                continue; // The mode does not measure it.
            }
            let hw = model::stats::relative_half_width_pct(&v);
            if widest.as_ref().is_none_or(|w| wider(hw, w.2)) {
                widest = Some((s.key.clone(), metric.to_string(), hw));
            }
        }
    }
    widest
}

/// Compares `new` against `baseline` with a noise band of `noise_pct` percent for every metric.
pub fn compare(baseline: &Record, new: &Record, noise_pct: f64) -> Comparison {
    compare_with(baseline, new, &crate::noise::NoiseBand::flat(noise_pct))
}

/// Compares `new` against `baseline` with a noise band per metric.
pub fn compare_with(
    baseline: &Record,
    new: &Record,
    noise: &crate::noise::NoiseBand,
) -> Comparison {
    let mut changes = Vec::new();
    let mut setting_differences = Vec::new();
    let not_comparable = crate::vm::not_comparable(
        baseline.fingerprint.vm.as_ref(),
        new.fingerprint.vm.as_ref(),
    );
    let mut without_complete_trials = Vec::new();
    for b in &baseline.scenarios {
        // Keys are recomputed from the specs (normalised, as today's records store them), so
        // records written before a key format change still match.
        let key = scenario_key(&b.spec);
        let Some(n) = new.scenarios.iter().find(|n| scenario_key(&n.spec) == key) else {
            continue;
        };
        if b.complete_trials().next().is_none() || n.complete_trials().next().is_none() {
            without_complete_trials.push(key.clone());
            continue;
        }
        let mut d = Vec::new();
        let spec =
            |s: &ScenarioRecord| serde_json::to_value(s.spec.normalized()).unwrap_or_default();
        diff("", &spec(b), &spec(n), &mut d);
        setting_differences.extend(d.into_iter().map(|d| format!("{key}: {d}")));
        for metric in COMPARED {
            let (bv, nv) = (values(b, metric), values(n, metric));
            if bv.is_empty() || nv.is_empty() {
                continue;
            }
            let j = judge(&bv, &nv, noise.of(metric.name()), metric.higher_is_better());
            let (change_pct, ci95_pct, p_value) = (j.change_pct, j.ci95_pct, j.p_value);
            let trials = (bv.len(), nv.len());
            let (verdict, resolve) = match &not_comparable {
                Some(why) => (Verdict::NotComparable, Some(why.clone())),
                None if b.spec.judges(metric) => (j.verdict, j.resolve),
                None => (Verdict::NotJudged, None),
            };
            changes.push(MetricChange {
                scenario: key.clone(),
                metric: metric.to_string(),
                baseline: median(&mut bv.clone()),
                new: median(&mut nv.clone()),
                change_pct,
                ci95_pct,
                p_value,
                trials,
                verdict,
                resolve,
            });
        }
    }
    let keys = |r: &Record| {
        r.scenarios
            .iter()
            .map(|s| scenario_key(&s.spec))
            .collect::<Vec<_>>()
    };
    let (bk, nk) = (keys(baseline), keys(new));
    Comparison {
        changes,
        only_in_baseline: bk.iter().filter(|k| !nk.contains(k)).cloned().collect(),
        only_in_new: nk.iter().filter(|k| !bk.contains(k)).cloned().collect(),
        without_complete_trials,
        fingerprint_differences: baseline.fingerprint.differences(&new.fingerprint),
        setting_differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ci: (f64, f64), higher_is_better: bool) -> Verdict {
        verdict(ci, (5, 5), 2.0, higher_is_better).0
    }

    #[test]
    fn verdicts_follow_direction_and_noise_band() {
        assert_eq!(v((5.0, 9.0), true), Verdict::Improved);
        assert_eq!(v((5.0, 9.0), false), Verdict::Regressed);
        assert_eq!(v((-9.0, -5.0), true), Verdict::Regressed);
        assert_eq!(v((-9.0, -5.0), false), Verdict::Improved);
        assert_eq!(v((-1.5, 1.9), true), Verdict::NoChange, "inside the band");
        assert_eq!(
            v((1.0, 3.0), true),
            Verdict::Inconclusive,
            "across the band's edge"
        );
        assert_eq!(
            v((-4.0, 6.0), true),
            Verdict::Inconclusive,
            "wider than the band"
        );
        let (one, why) = verdict((-0.1, -0.1), (1, 5), 2.0, true);
        assert_eq!(one, Verdict::Inconclusive, "one trial a side");
        assert!(why.unwrap().contains("--trials"));
    }

    #[test]
    fn change_interval_brackets_the_point() {
        let (p, (lo, hi), pv) = change(&[100.0, 101.0, 99.0], &[90.0, 91.0, 89.0]);
        assert!((p + 10.0).abs() < 0.1, "{p}");
        assert!(lo <= p && p <= hi && hi < 0.0, "{lo} {hi}");
        assert!(pv.unwrap() < 0.001);
        assert_eq!(change(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).0, 0.0);
    }

    /// A seeded normal sample: `n` values with mean `mean` and standard deviation `sd`.
    fn sample(rng: &mut u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let mut uniform = || {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            (*rng >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                // Box–Muller.
                let (u1, u2) = (uniform().max(f64::MIN_POSITIVE), uniform());
                mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    fn judge(base: &[f64], new: &[f64]) -> Verdict {
        let (_, ci, _) = change(base, new);
        verdict(ci, (base.len(), new.len()), 2.0, true).0
    }

    #[test]
    fn identical_distributions_are_rarely_called_changed() {
        let mut rng = 0x2545_f491_4f6c_dd1d;
        for (n, sd) in [(3, 2.0), (5, 2.0), (5, 5.0), (10, 1.0)] {
            let changed = (0..1000)
                .filter(|_| {
                    let (a, b) = (
                        sample(&mut rng, n, 100.0, sd),
                        sample(&mut rng, n, 100.0, sd),
                    );
                    matches!(judge(&a, &b), Verdict::Improved | Verdict::Regressed)
                })
                .count();
            assert!(
                changed <= 50,
                "n {n}, sd {sd} %: {changed} of 1000 judged changed"
            );
        }
    }

    #[test]
    fn a_ten_percent_shift_is_found() {
        let mut rng = 0x9e37_79b9_7f4a_7c15;
        let right = (0..1000)
            .filter(|_| {
                let (a, b) = (
                    sample(&mut rng, 5, 100.0, 2.0),
                    sample(&mut rng, 5, 90.0, 1.8),
                );
                judge(&a, &b) == Verdict::Regressed
            })
            .count();
        assert!(right >= 950, "{right} of 1000 judged regressed");
    }

    #[test]
    fn tight_identical_trials_are_no_change() {
        let mut rng = 0x1234_5678_9abc_def1;
        let same = (0..1000)
            .filter(|_| {
                let (a, b) = (
                    sample(&mut rng, 5, 100.0, 0.5),
                    sample(&mut rng, 5, 100.0, 0.5),
                );
                judge(&a, &b) == Verdict::NoChange
            })
            .count();
        assert!(same >= 950, "{same} of 1000 judged no change");
    }
}
