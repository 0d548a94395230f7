//! Per-second figures during a trial (like iperf3 `-i`): the hot loops publish plain counters once
//! per batch, and the harness thread, which would otherwise only wait for them, samples those
//! counters and the pinned cores' /proc/stat once a second. A trial whose rate drifts is flagged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cpu::{core_shares, proc_stat, CoreShares};

/// A trial whose per-second rate moved more than this between its first and second half drifts.
pub const MAX_DRIFT: f64 = 0.10;

/// What the hot loops publish for the sampler: stored (Relaxed) once per batch; the loops keep
/// their own counts in locals.
#[derive(Debug, Default)]
pub struct Progress {
    /// Frames sent so far (warm-up included).
    pub sent: AtomicU64,
    /// Frames that arrived where the mode ends so far (received by B, or back at A).
    pub received: AtomicU64,
}

impl Progress {
    /// Publishes the sender's count.
    #[inline]
    pub fn sent(&self, n: u64) {
        self.sent.store(n, Ordering::Relaxed);
    }

    /// Publishes the receiver's count.
    #[inline]
    pub fn received(&self, n: u64) {
        self.received.store(n, Ordering::Relaxed);
    }
}

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

/// Samples `progress` and the `cores` once a second until `done()`, handing each interval to
/// `on_interval` as it is taken; returns them all. A last part-second is not kept.
pub fn sample_until(
    done: impl Fn() -> bool,
    progress: &Progress,
    cores: &[usize],
    counts_arrivals: bool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Vec<Interval> {
    let start = Instant::now();
    let mut intervals = Vec::new();
    let mut prev = (0u64, 0u64, proc_stat(), start);
    while !done() {
        std::thread::sleep(Duration::from_millis(20));
        if prev.3.elapsed() < Duration::from_secs(1) {
            continue;
        }
        let now = Instant::now();
        let (sent, received) = (
            progress.sent.load(Ordering::Relaxed),
            progress.received.load(Ordering::Relaxed),
        );
        let stat = proc_stat();
        let secs = now.duration_since(prev.3).as_secs_f64();
        let interval = Interval {
            at_s: now.duration_since(start).as_secs_f64(),
            sent_pps: sent.saturating_sub(prev.0) as f64 / secs,
            received_pps: counts_arrivals.then(|| received.saturating_sub(prev.1) as f64 / secs),
            cores: match (&prev.2, &stat) {
                (Some(b), Some(a)) => core_shares(b, a, cores),
                _ => Vec::new(),
            },
        };
        on_interval(&interval);
        intervals.push(interval);
        prev = (sent, received, stat, now);
    }
    intervals
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
    let (a, b) = (median(first), median(second));
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

    #[test]
    fn the_sampler_takes_whole_seconds_of_published_counts() {
        let progress = Progress::default();
        let start = Instant::now();
        let mut seen = 0;
        let intervals = std::thread::scope(|s| {
            s.spawn(|| {
                let mut n = 0;
                while start.elapsed() < Duration::from_millis(2300) {
                    n += 1000;
                    progress.sent(n);
                    progress.received(n);
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            sample_until(
                || start.elapsed() > Duration::from_millis(2300),
                &progress,
                &[0],
                true,
                &mut |_| seen += 1,
            )
        });
        assert_eq!(intervals.len(), 2, "{intervals:?}");
        assert_eq!(seen, 2);
        assert!(intervals
            .iter()
            .all(|i| i.sent_pps > 10_000.0 && i.received_pps.is_some()));
    }
}
