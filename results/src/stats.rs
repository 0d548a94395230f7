//! Estimates over repeated trials: median, mean, a 95 % bootstrap confidence interval of the
//! median, and the coefficient of variation. Deterministic (fixed-seed resampling), so the same
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

#[cfg(test)]
mod tests {
    use super::*;

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
