//! Side B's reflector as steps: rx → swap addresses → tx, completions → fill.

use model::frame;
use xsk_rs::FrameDesc;

use super::now_ns;
use crate::xsk::{Xsk, XskStats};

/// What the reflector counted.
pub struct ReflectOutcome {
    /// Frames sent back.
    pub reflected: u64,
    /// Frames received that were not ours (dropped back into the fill ring).
    pub foreign: u64,
    /// The socket's counters at the end.
    pub xsk: XskStats,
}

/// Side B's reflector of one flow; the fill ring must be primed ([`super::prime_fill`]).
pub struct Reflector {
    xsk: Xsk,
    need_wakeup: bool,
    timestamps: bool,
    descs: Vec<FrameDesc>,
    done: Vec<FrameDesc>,
    reflected: u64,
    foreign: u64,
    in_tx: u64,
}

impl Reflector {
    /// Reflects `batch` descriptors at a time on `xsk`.
    pub fn new(xsk: Xsk, batch: usize, need_wakeup: bool, timestamps: bool) -> Reflector {
        Reflector {
            xsk,
            need_wakeup,
            timestamps,
            descs: vec![FrameDesc::default(); batch],
            done: vec![FrameDesc::default(); batch],
            reflected: 0,
            foreign: 0,
            in_tx: 0,
        }
    }

    /// Frames sent back that the kernel has not completed yet.
    #[inline]
    pub fn in_flight(&self) -> bool {
        self.in_tx > 0
    }

    /// One pass; the frames received.
    #[inline]
    pub fn step(&mut self) -> usize {
        self.recycle();
        let room = self.xsk.tx.nb_free(self.descs.len() as u32) as usize;
        let n = if room > 0 {
            let batch = room.min(self.descs.len());
            // SAFETY: rx frames belong to this UMEM.
            unsafe { self.xsk.rx.consume(&mut self.descs[..batch]) }
        } else {
            0
        };
        if n > 0 {
            self.bounce(n);
        }
        if self.in_tx > 0 && (!self.need_wakeup || self.xsk.tx.needs_wakeup()) {
            let _ = self.xsk.tx.wakeup();
        }
        if self.xsk.fill.needs_wakeup() {
            let _ = self.xsk.fill.wakeup(self.xsk.rx.fd_mut(), 0);
        }
        n
    }

    /// Completed transmissions refill the fill ring.
    #[inline]
    fn recycle(&mut self) {
        // SAFETY: completed frames belong to this UMEM.
        let c = unsafe { self.xsk.comp.consume(&mut self.done) };
        if c > 0 {
            self.in_tx -= c as u64;
            // SAFETY: back to the fill ring.
            unsafe { self.xsk.fill.produce(&self.done[..c]) };
        }
    }

    /// Swaps and stamps the `n` frames received, and sends ours back.
    #[inline]
    fn bounce(&mut self, n: usize) {
        let now = if self.timestamps { now_ns() } else { 0 };
        let mut k = 0;
        for i in 0..n {
            let mut d = self.descs[i];
            // SAFETY: received frame, ours until produced again.
            let mut data = unsafe { self.xsk.umem.data_mut(&mut d) };
            let bytes = data.contents_mut();
            match frame::parse(bytes) {
                Ok(p) => {
                    frame::swap_in_place(bytes, &p.layout);
                    if self.timestamps {
                        let a2b = now.saturating_sub(p.tx_ns).min(u64::from(u32::MAX)) as u32;
                        frame::set_a2b(bytes, &p.layout, a2b);
                    }
                    self.descs[k] = d;
                    k += 1;
                }
                Err(_) => {
                    self.foreign += 1;
                    // SAFETY: back to the fill ring.
                    unsafe { self.xsk.fill.produce(&[d]) };
                }
            }
        }
        // SAFETY: the frames are ours; the ring had room for n >= k.
        unsafe { self.xsk.tx.produce(&self.descs[..k]) };
        self.reflected += k as u64;
        self.in_tx += k as u64;
    }

    /// What it counted.
    pub fn finish(self) -> ReflectOutcome {
        ReflectOutcome {
            reflected: self.reflected,
            foreign: self.foreign,
            xsk: self.xsk.stats(),
        }
    }
}
