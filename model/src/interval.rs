//! Per-second figures of a trial (like iperf3 `-i`) and whether its rate drifted.

use serde::{Deserialize, Serialize};

use crate::cpu::CoreShares;

/// A trial whose per-second rate moved more than this between its first and second half drifts.
pub const MAX_DRIFT: f64 = 0.10;

/// One second of a trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    /// End of the interval, seconds since the start of sending (warm-up included).
    pub at_s: f64,
    /// Frames sent per second.
    pub sent_pps: f64,
    /// Frames arrived per second (where the mode counts arrivals).
    pub received_pps: Option<f64>,
    /// How each pinned core spent the interval.
    pub cores: Vec<CoreShares>,
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:5.1} s: sent {:.3} Mpps",
            self.at_s,
            self.sent_pps / 1e6
        )?;
        if let Some(r) = self.received_pps {
            write!(f, ", received {:.3} Mpps", r / 1e6)?;
        }
        for c in &self.cores {
            write!(
                f,
                "; core {} busy {:.0} %, steal {:.0} %",
                c.core,
                c.busy() * 100.0,
                c.steal * 100.0
            )?;
        }
        Ok(())
    }
}

/// How much the per-second rate (arrivals where counted, else sends) moved from the first to the
/// second half of the measured seconds: (median of the second half / median of the first) - 1.
/// `None` with fewer than four measured seconds.
pub fn drift(intervals: &[Interval], warmup_s: f64) -> Option<f64> {
    let mut rates: Vec<f64> = intervals
        .iter()
        .filter(|i| i.at_s - 1.0 >= warmup_s)
        .map(|i| i.received_pps.unwrap_or(i.sent_pps))
        .collect();
    if rates.len() < 4 {
        return None;
    }
    let half = rates.len() / 2;
    let (first, second) = rates.split_at_mut(half);
    let (a, b) = (
        crate::stats::median_of(first),
        crate::stats::median_of(second),
    );
    (a > 0.0).then(|| b / a - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: f64, pps: f64) -> Interval {
        Interval {
            at_s: t,
            sent_pps: pps,
            received_pps: Some(pps),
            cores: vec![],
        }
    }

    #[test]
    fn a_steady_trial_does_not_drift_and_a_slowing_one_does() {
        let steady: Vec<Interval> = (1..=6).map(|t| at(t as f64, 1e6)).collect();
        assert_eq!(drift(&steady, 0.0), Some(0.0));
        let slowing: Vec<Interval> = (1..=6)
            .map(|t| at(t as f64, if t <= 3 { 1e6 } else { 0.7e6 }))
            .collect();
        let d = drift(&slowing, 0.0).unwrap();
        assert!((d + 0.3).abs() < 1e-9, "{d}");
        assert_eq!(drift(&steady[..3], 0.0), None, "too few seconds");
        // Seconds inside the warm-up are left out.
        assert_eq!(drift(&slowing, 3.0), None);
    }
}
