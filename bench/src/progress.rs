//! Per-second figures during a trial (like iperf3 `-i`): the hot loops publish plain counters once
//! per batch, and the harness thread, which would otherwise only wait for them, samples those
//! counters and the pinned cores' /proc/stat once a second. A trial whose rate drifts is flagged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cpu::{core_shares, proc_stat};
pub use model::interval::{drift, Interval, MAX_DRIFT};

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

/// Samples `progress` (one per flow, summed) and the `cores` once a second until `done()`, handing each interval to
/// `on_interval` as it is taken; returns them all. A last part-second is not kept.
pub fn sample_until(
    done: impl Fn() -> bool,
    progress: &[Progress],
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
        let sum = |f: fn(&Progress) -> &AtomicU64| -> u64 {
            progress.iter().map(|p| f(p).load(Ordering::Relaxed)).sum()
        };
        let (sent, received) = (sum(|p| &p.sent), sum(|p| &p.received));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sampler_takes_whole_seconds_of_published_counts() {
        let flows = [Progress::default()];
        let progress = &flows[0];
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
                &flows,
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
