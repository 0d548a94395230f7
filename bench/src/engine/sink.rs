//! Side B's receiver as steps: our frames counted (sequence, one-way time), buffers recycled.

use hdrhistogram::Histogram;
use model::frame;
use model::outcome::histogram;
use model::seq::{SeqCounts, SeqTracker};
use xsk_rs::FrameDesc;

use super::now_ns;
use crate::progress::Progress;
use crate::xsk::{Xsk, XskStats};

/// What the sink counted.
pub struct SinkOutcome {
    /// Our frames received, warm-up included.
    pub received_total: u64,
    /// Sequence accounting of measured frames.
    pub received: SeqCounts,
    /// A→B one-way times of measured frames.
    pub one_way: Histogram<u64>,
    /// Our frames of another flow than this socket's (they travelled the wrong queue).
    pub other_flow: u64,
    /// The socket's counters at the end.
    pub xsk: XskStats,
}

/// Puts up to `ring` of the socket's frames into its fill ring. A receiving side does this before
/// it reports ready: frames that arrive before the fill ring has buffers are dropped.
pub fn prime_fill(xsk: &mut Xsk, ring: usize) {
    let n = xsk.frames.len().min(ring);
    // SAFETY: the frames are ours and in no other ring.
    unsafe { xsk.fill.produce(&xsk.frames[..n]) };
}

/// Side B's receiver of one flow; the fill ring must be primed ([`prime_fill`]).
pub struct Sink {
    xsk: Xsk,
    flow: u32,
    timestamps: bool,
    descs: Vec<FrameDesc>,
    tracker: SeqTracker,
    one_way: Histogram<u64>,
    received_total: u64,
    other_flow: u64,
}

impl Sink {
    /// Receives `batch` descriptors at a time on `xsk`, expecting frames of `flow`.
    pub fn new(xsk: Xsk, flow: u32, batch: usize, timestamps: bool) -> Sink {
        Sink {
            xsk,
            flow,
            timestamps,
            descs: vec![FrameDesc::default(); batch],
            tracker: SeqTracker::default(),
            one_way: histogram(),
            received_total: 0,
            other_flow: 0,
        }
    }

    /// One poll of the rx ring; the frames found.
    #[inline]
    pub fn step(&mut self, progress: &Progress) -> usize {
        // SAFETY: rx frames belong to this UMEM.
        let n = unsafe { self.xsk.rx.consume(&mut self.descs) };
        if n == 0 {
            return 0;
        }
        let now = if self.timestamps { now_ns() } else { 0 };
        for d in &self.descs[..n] {
            // SAFETY: received frame, ours until it returns to the fill ring.
            let data = unsafe { self.xsk.umem.data(d) };
            let Ok(p) = frame::parse(data.contents()) else {
                continue;
            };
            self.received_total += 1;
            if frame::flow_of(p.flow) != self.flow {
                self.other_flow += 1;
            }
            if frame::is_measured(p.flow) {
                self.tracker.record(p.seq);
                if self.timestamps {
                    self.one_way
                        .saturating_record(now.saturating_sub(p.tx_ns).max(1));
                }
            }
        }
        progress.received(self.received_total);
        // SAFETY: back to the fill ring they came from.
        unsafe { self.xsk.fill.produce(&self.descs[..n]) };
        if self.xsk.fill.needs_wakeup() {
            let _ = self.xsk.fill.wakeup(self.xsk.rx.fd_mut(), 0);
        }
        n
    }

    /// What it counted.
    pub fn finish(self) -> SinkOutcome {
        SinkOutcome {
            received_total: self.received_total,
            received: self.tracker.counts(),
            one_way: self.one_way,
            other_flow: self.other_flow,
            xsk: self.xsk.stats(),
        }
    }
}
