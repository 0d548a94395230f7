//! Estimates over repeated trials: median, mean, a 95 % bootstrap confidence interval of the
//! median, and the coefficient of variation; Welch's t-test for comparing two sets of trials. Deterministic (fixed-seed resampling), so the same
//! trials always give the same interval.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Resamples drawn for the bootstrap.
const RESAMPLES: usize = 2000;

/// One metric over the trials of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Estimate {
    /// Trials that measured the metric.
    pub n: usize,
    /// Median of the trials (the point estimate).
    pub median: f64,
    /// Mean of the trials.
    pub mean: f64,
    /// Lower end of the 95 % bootstrap confidence interval of the median.
    pub ci95_low: f64,
    /// Upper end of that interval.
    pub ci95_high: f64,
    /// Standard deviation / mean (0 when the mean is 0 or there is one trial).
    pub cv: f64,
}

/// The median of sorted values; NaN for none.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median of values in any order (sorts them in place); NaN for none.
pub fn median_of(values: &mut [f64]) -> f64 {
    sort(values);
    median(values)
}

fn sort(values: &mut [f64]) {
    values.sort_by(|a, b| a.total_cmp(b));
}

impl Estimate {
    /// Estimates a metric from its trial values; `None` for no (finite) values.
    pub fn of(values: &[f64]) -> Option<Estimate> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        sort(&mut v);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let (low, high) = bootstrap_median_ci(&v);
        Some(Estimate {
            n,
            median: median(&v),
            mean,
            ci95_low: low,
            ci95_high: high,
            cv: if mean != 0.0 { sd / mean.abs() } else { 0.0 },
        })
    }
}

/// 2.5 and 97.5 percentiles of the medians of resamples (with replacement) of `sorted`.
fn bootstrap_median_ci(sorted: &[f64]) -> (f64, f64) {
    if sorted.len() == 1 {
        return (sorted[0], sorted[0]);
    }
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sample = vec![0.0; sorted.len()];
    let mut medians = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for s in sample.iter_mut() {
            *s = sorted[(next() % sorted.len() as u64) as usize];
        }
        sort(&mut sample);
        medians.push(median(&sample));
    }
    sort(&mut medians);
    let at = |q: f64| medians[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    (at(0.025), at(0.975))
}

/// The difference of means `mean(b) - mean(a)` with its Welch confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WelchDiff {
    /// Difference of the means.
    pub diff: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Two-sided p-value of Welch's t-test that the means are equal.
    pub p: f64,
}

/// Welch's unequal-variances t interval of `mean(b) - mean(a)` at `confidence` (e.g. 0.95), and
/// the test's p-value; `None` when a side has fewer than two values. Two sides without spread
/// give a zero-width interval (p 1 when the means are equal, 0 when not).
pub fn welch(a: &[f64], b: &[f64], confidence: f64) -> Option<WelchDiff> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let moments = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var / n)
    };
    let ((na, ma, sa), (nb, mb, sb)) = (moments(a), moments(b));
    let diff = mb - ma;
    let se2 = sa + sb;
    if se2 == 0.0 {
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(WelchDiff {
            diff,
            low: diff,
            high: diff,
            p,
        });
    }
    let se = se2.sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let df = se2.powi(2) / (sa.powi(2) / (na - 1.0) + sb.powi(2) / (nb - 1.0));
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    let q = t.inverse_cdf(0.5 + confidence / 2.0);
    Some(WelchDiff {
        diff,
        low: diff - q * se,
        high: diff + q * se,
        p: student_t_two_sided(diff / se, df),
    })
}

/// Half-width of the 95 % t interval of the mean of `values` on a log scale, as a percentage of
/// the (geometric) mean: how precisely the trials pin the metric down. `None` with fewer than two
/// values or a value that is not positive.
pub fn relative_half_width_pct(values: &[f64]) -> Option<f64> {
    if values.len() < 2 || values.iter().any(|v| *v <= 0.0 || !v.is_finite()) {
        return None;
    }
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0).ok()?.inverse_cdf(0.975);
    Some(((t * sd / n.sqrt()).exp() - 1.0) * 100.0)
}

/// Two-sided p-value of Welch's t-test that `a` and `b` have the same mean; `None` when a side has
/// fewer than two values.
pub fn welch_p(a: &[f64], b: &[f64]) -> Option<f64> {
    welch(a, b, 0.95).map(|w| w.p)
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
fn student_t_two_sided(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.sf(t.abs())).clamp(0.0, 1.0),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_matches_tables() {
        // Two-sided 5 % critical values: df 1 -> 12.706, 4 -> 2.776, 30 -> 2.042; df 10, t 3.169 -> 1 %.
        for (t, df, p) in [
            (12.706, 1.0, 0.05),
            (2.776, 4.0, 0.05),
            (2.042, 30.0, 0.05),
            (3.169, 10.0, 0.01),
        ] {
            let got = student_t_two_sided(t, df);
            assert!((got - p).abs() < 2e-4, "t {t} df {df}: {got}");
        }
        assert!((student_t_two_sided(0.0, 5.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn welch_tells_separated_groups_from_an_outlier() {
        // Rates halved: clearly different.
        let p = welch_p(&[100.0, 101.0, 99.0], &[50.0, 50.5, 49.5]).unwrap();
        assert!(p < 1e-4, "{p}");
        // Seen between two identical runs: one trial of three in a slower mode. Not significant.
        let p = welch_p(&[34.431, 34.015, 34.207], &[41.727, 35.455, 35.295]).unwrap();
        assert!(p > 0.05, "{p}");
        assert_eq!(welch_p(&[1.0], &[2.0, 3.0]), None);
        assert_eq!(welch_p(&[2.0, 2.0], &[2.0, 2.0]), Some(1.0));
        assert_eq!(welch_p(&[2.0, 2.0], &[3.0, 3.0]), Some(0.0));
    }

    #[test]
    fn precision_narrows_with_agreement_and_trials() {
        assert_eq!(relative_half_width_pct(&[1.0]), None);
        assert_eq!(relative_half_width_pct(&[1.0, 0.0]), None);
        assert_eq!(relative_half_width_pct(&[5.0, 5.0, 5.0]), Some(0.0));
        let three = relative_half_width_pct(&[98.0, 100.0, 102.0]).unwrap();
        let six = relative_half_width_pct(&[98.0, 100.0, 102.0, 98.0, 100.0, 102.0]).unwrap();
        assert!(six < three && three < 6.0, "{three} {six}");
    }

    #[test]
    fn welch_interval_is_the_t_interval_of_the_difference() {
        // Equal variances and sizes: df = 2(n-1) = 4, t(0.975, 4) = 2.776, se = sqrt(2/3).
        let w = welch(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 0.95).unwrap();
        let half = 2.776 * (2.0f64 / 3.0).sqrt();
        assert!((w.diff - 3.0).abs() < 1e-12);
        assert!(
            (w.low - (3.0 - half)).abs() < 1e-3 && (w.high - (3.0 + half)).abs() < 1e-3,
            "{w:?}"
        );
        assert!(welch(&[1.0], &[1.0, 2.0], 0.95).is_none());
    }

    #[test]
    fn single_trial_is_its_own_interval() {
        let e = Estimate::of(&[5.0]).unwrap();
        assert_eq!(
            (e.n, e.median, e.mean, e.ci95_low, e.ci95_high, e.cv),
            (1, 5.0, 5.0, 5.0, 5.0, 0.0)
        );
        assert!(Estimate::of(&[]).is_none());
        assert!(Estimate::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn interval_brackets_the_median_and_tightens_with_agreement() {
        let noisy = Estimate::of(&[90.0, 100.0, 110.0, 95.0, 105.0]).unwrap();
        assert_eq!(noisy.median, 100.0);
        assert!(noisy.ci95_low <= 100.0 && noisy.ci95_high >= 100.0);
        assert!(noisy.ci95_low >= 90.0 && noisy.ci95_high <= 110.0);
        let tight = Estimate::of(&[100.0, 100.1, 99.9, 100.0, 100.05]).unwrap();
        assert!(tight.ci95_high - tight.ci95_low < noisy.ci95_high - noisy.ci95_low);
        assert!(
            tight.cv < 0.01 && noisy.cv > 0.05,
            "{} {}",
            tight.cv,
            noisy.cv
        );
    }

    #[test]
    fn deterministic() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert_eq!(Estimate::of(&v), Estimate::of(&v));
        assert_eq!(Estimate::of(&v).unwrap().median, 3.5);
    }
}
