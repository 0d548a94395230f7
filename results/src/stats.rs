//! Estimates over repeated trials: median, mean, a 95 % bootstrap confidence interval of the
//! median, and the coefficient of variation; Welch's t-test for comparing two sets of trials. Deterministic (fixed-seed resampling), so the same
//! trials always give the same interval.

use serde::{Deserialize, Serialize};

/// Resamples drawn for the bootstrap.
const RESAMPLES: usize = 2000;

/// One metric over the trials of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
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

/// Two-sided p-value of Welch's t-test that `a` and `b` have the same mean; `None` when a side has
/// fewer than two values. Two sides without spread give 0 when their means differ, 1 when not.
pub fn welch_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let moments = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var / n)
    };
    let ((_, ma, sa), (_, mb, sb)) = (moments(a), moments(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let se2 = sa + sb;
    if se2 == 0.0 {
        return Some(if ma == mb { 1.0 } else { 0.0 });
    }
    let t = (ma - mb) / se2.sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let df = se2.powi(2) / (sa.powi(2) / (na - 1.0) + sb.powi(2) / (nb - 1.0));
    Some(student_t_two_sided(t, df))
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
fn student_t_two_sided(t: f64, df: f64) -> f64 {
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp() / a;
    const TINY: f64 = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < TINY { TINY } else { d };
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            d = if d.abs() < TINY { TINY } else { d };
            c = 1.0 + numerator / c;
            c = if c.abs() < TINY { TINY } else { c };
            d = 1.0 / d;
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-14 {
            break;
        }
    }
    front * f
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
