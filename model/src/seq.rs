//! Sequence accounting: received, lost, reordered and duplicated frames from 32-bit sequence
//! numbers, with a fixed window (no allocation after construction).

use serde::{Deserialize, Serialize};

/// Frames remembered behind the highest sequence seen, for duplicate detection.
const WINDOW: u64 = 1 << 16;

/// Counts over one flow.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct SeqCounts {
    /// Distinct frames received.
    pub received: u64,
    /// Frames that arrived after a higher sequence number.
    pub reordered: u64,
    /// Frames received more than once.
    pub duplicated: u64,
    /// Frames too old to classify (behind the window).
    pub too_old: u64,
}

impl SeqCounts {
    /// Adds another flow's counts.
    pub fn add(&mut self, o: &SeqCounts) {
        self.received += o.received;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.too_old += o.too_old;
    }
}

/// Tracks one flow's sequence numbers.
pub struct SeqTracker {
    /// Next expected sequence, extended to 64 bits.
    next: u64,
    seen: Box<[u64]>,
    counts: SeqCounts,
}

impl Default for SeqTracker {
    fn default() -> Self {
        SeqTracker {
            next: 0,
            seen: vec![0u64; (WINDOW / 64) as usize].into_boxed_slice(),
            counts: SeqCounts::default(),
        }
    }
}

impl SeqTracker {
    /// Extends a 32-bit sequence number to the 64-bit value closest to what is expected.
    fn extend(&self, seq: u32) -> u64 {
        let base = self.next & !0xffff_ffff;
        let candidates = [base.wrapping_sub(1 << 32), base, base + (1 << 32)];
        candidates
            .into_iter()
            .map(|b| b | u64::from(seq))
            .min_by_key(|v| v.abs_diff(self.next))
            .unwrap_or(u64::from(seq))
    }

    fn bit(&mut self, s: u64) -> (&mut u64, u64) {
        let i = ((s % WINDOW) / 64) as usize;
        (&mut self.seen[i], 1 << (s % 64))
    }

    /// Records one received sequence number (hot path: no allocation).
    #[inline]
    pub fn record(&mut self, seq: u32) {
        let s = self.extend(seq);
        if s >= self.next {
            // Clear the window bits of sequence numbers skipped over (they are now "expected").
            let from = self.next.max(s.saturating_sub(WINDOW - 1));
            for k in from..s {
                let (word, mask) = self.bit(k);
                *word &= !mask;
            }
            let (word, mask) = self.bit(s);
            *word |= mask;
            self.next = s + 1;
            self.counts.received += 1;
        } else if self.next - s >= WINDOW {
            self.counts.too_old += 1;
        } else {
            let (word, mask) = self.bit(s);
            if *word & mask != 0 {
                self.counts.duplicated += 1;
            } else {
                *word |= mask;
                self.counts.received += 1;
                self.counts.reordered += 1;
            }
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> SeqCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_lossless() {
        let mut t = SeqTracker::default();
        (0..100_000u32).for_each(|s| t.record(s));
        assert_eq!(
            t.counts(),
            SeqCounts {
                received: 100_000,
                ..Default::default()
            }
        );
    }

    #[test]
    fn loss_reorder_duplicate() {
        let mut t = SeqTracker::default();
        for s in [0, 1, 3, 2, 2, 5, 5, 4] {
            t.record(s);
        }
        let c = t.counts();
        assert_eq!((c.received, c.reordered, c.duplicated), (6, 2, 2));
    }

    #[test]
    fn wraps_around_u32() {
        let mut t = SeqTracker {
            next: u64::from(u32::MAX) - 5,
            ..SeqTracker::default()
        };
        for s in (u32::MAX - 5..=u32::MAX).chain(0..10) {
            t.record(s);
        }
        assert_eq!(t.counts().received, 16);
        assert_eq!(t.counts().reordered, 0);
        assert_eq!(t.next, (1 << 32) + 10);
    }

    #[test]
    fn a_gap_larger_than_the_window_forgets_nothing_it_should_not() {
        let mut t = SeqTracker::default();
        t.record(0);
        t.record(200_000);
        t.record(200_000);
        t.record(5);
        let c = t.counts();
        assert_eq!((c.received, c.duplicated, c.too_old), (2, 1, 1));
    }
}
