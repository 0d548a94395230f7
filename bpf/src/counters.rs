//! The programs' per-CPU counters, summed over CPUs.

use serde::{Deserialize, Serialize};

use crate::skel::sink::types::vb_counters;

/// What an XDP program counted (all CPUs together).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counters {
    /// Frames the program saw.
    pub rx_packets: u64,
    /// Their bytes.
    pub rx_bytes: u64,
    /// Frames of ours (UDP to the configured port).
    pub matched: u64,
    /// Frames handed to an AF_XDP socket (XDP_REDIRECT).
    pub redirected: u64,
    /// Frames given to the kernel stack (XDP_PASS).
    pub passed: u64,
    /// Frames dropped on purpose (XDP_DROP).
    pub dropped: u64,
    /// Frames sent back out (XDP_TX).
    pub tx: u64,
}

impl Counters {
    /// Sums the raw per-CPU values of one map entry.
    pub(crate) fn sum(per_cpu: &[Vec<u8>]) -> Counters {
        let mut total = Counters::default();
        for raw in per_cpu {
            if raw.len() < std::mem::size_of::<vb_counters>() {
                continue;
            }
            // SAFETY: the buffer holds at least one vb_counters (plain u64 fields, any bit pattern
            // is valid); read_unaligned copes with the Vec's alignment.
            let c: vb_counters = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
            total.rx_packets += c.rx_packets;
            total.rx_bytes += c.rx_bytes;
            total.matched += c.matched;
            total.redirected += c.redirected;
            total.passed += c.passed;
            total.dropped += c.dropped;
            total.tx += c.tx;
        }
        total
    }

    /// Counts since `earlier` (counters only grow while a program is attached).
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            rx_packets: self.rx_packets.saturating_sub(earlier.rx_packets),
            rx_bytes: self.rx_bytes.saturating_sub(earlier.rx_bytes),
            matched: self.matched.saturating_sub(earlier.matched),
            redirected: self.redirected.saturating_sub(earlier.redirected),
            passed: self.passed.saturating_sub(earlier.passed),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            tx: self.tx.saturating_sub(earlier.tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<vb_counters>(), 64);
    }

    #[test]
    fn sums_over_cpus() {
        let cpu = |n: u64| {
            let c = vb_counters {
                rx_packets: n,
                tx: 2 * n,
                ..Default::default()
            };
            // SAFETY: viewing a repr(C) struct of u64s as bytes.
            unsafe { std::slice::from_raw_parts((&c as *const vb_counters).cast::<u8>(), 64) }
                .to_vec()
        };
        let total = Counters::sum(&[cpu(1), cpu(5)]);
        assert_eq!((total.rx_packets, total.tx), (6, 12));
    }
}
