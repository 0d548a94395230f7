//! Side A's generator as steps: completions back to the pool, returns received, a batch sent as
//! pacing allows, the kernel kicked.

use std::io::Write;

use hdrhistogram::Histogram;
use model::frame::{self, Layout};
use model::outcome::histogram;
use model::seq::{SeqCounts, SeqTracker};
use xsk_rs::FrameDesc;

use crate::progress::Progress;
use crate::workers::window;
use crate::xsk::{Xsk, XskStats};

/// How the generator paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As fast as possible, or at most `rate` frames per second.
    Open {
        /// Frames per second, `None` for unconstrained.
        rate: Option<u64>,
    },
    /// Keep `inflight` frames outstanding; a frame not back after `timeout_ns` counts as lost.
    Closed {
        /// Frames in flight.
        inflight: u32,
        /// Give-up time per frame.
        timeout_ns: u64,
    },
}

/// What the generator does, in plain values.
#[derive(Clone, Debug)]
pub struct GenPlan {
    /// The frame to send (flow, sequence and time are stamped per frame).
    pub template: Vec<u8>,
    /// Its layout.
    pub layout: Layout,
    /// The flow (and queue) this generator sends on.
    pub flow: u32,
    /// Flows in the run (frames of the others may come back on this socket).
    pub flows: u32,
    /// Pacing (a rate is this flow's share).
    pub pace: Pace,
    /// Whether frames come back (l2fwd, latency, xdp-tx).
    pub returns: bool,
    /// Warm-up before measuring, ns.
    pub warmup_ns: u64,
    /// Measuring time, ns.
    pub duration_ns: u64,
    /// Stop after this many measured frames.
    pub count: Option<u64>,
    /// Descriptors per ring operation.
    pub batch: usize,
    /// Kick the kernel only when the ring asks (need_wakeup) rather than after every batch.
    pub need_wakeup: bool,
    /// Stamp send times and record latencies (off measures the cost of measuring).
    pub timestamps: bool,
    /// After the last send, wait this long for returns and completions, ns.
    pub drain_ns: u64,
}

/// What the generator counted.
pub struct GenOutcome {
    /// Frames the kernel took from the TX ring, warm-up included.
    pub sent_total: u64,
    /// Measured frames sent.
    pub sent_measured: u64,
    /// First to last measured send, ns.
    pub window_ns: u64,
    /// Our frames that came back on this socket, warm-up included, other flows' included.
    pub returned_total: u64,
    /// Of those, frames of flow g (index g) that came back here instead of on flow g's socket;
    /// this flow's own entry stays 0.
    pub others: Vec<u64>,
    /// Sequence accounting of measured returns.
    pub returned: SeqCounts,
    /// Round-trip times of measured returns.
    pub rtt: Histogram<u64>,
    /// A→B one-way times reported by the reflector.
    pub a2b: Histogram<u64>,
    /// B→A one-way times.
    pub b2a: Histogram<u64>,
    /// Closed loop: frames given up on.
    pub timeouts: u64,
    /// The socket's counters at the end.
    pub xsk: XskStats,
}

/// Side A's generator: its socket, its frames, its counters.
pub struct Generator<'p> {
    xsk: Xsk,
    plan: &'p GenPlan,
    pool: Vec<FrameDesc>,
    tx_batch: Vec<FrameDesc>,
    scratch: Vec<FrameDesc>,
    rtt: Histogram<u64>,
    a2b: Histogram<u64>,
    b2a: Histogram<u64>,
    returned: SeqTracker,
    others: Vec<u64>,
    submitted: u64,
    completed: u64,
    returned_total: u64,
    timeouts: u64,
    seq: u32,
    sent_measured: u64,
    first_measured: u64,
    last_measured: u64,
    start: u64,
    measure_from: u64,
    end: u64,
    last_progress: u64,
}

/// Writes `template` into every frame.
fn fill_frames(xsk: &mut Xsk, frames: &mut [FrameDesc], template: &[u8]) {
    for d in frames.iter_mut() {
        // SAFETY: the frame belongs to this UMEM and is in no ring.
        let mut data = unsafe { xsk.umem.data_mut(d) };
        let mut cursor = data.cursor();
        cursor.set_pos(0);
        // A UMEM frame holds at least 2048 - headroom bytes; sizes are checked against it.
        let _ = cursor.write_all(template);
    }
}

impl<'p> Generator<'p> {
    /// Takes the socket: the template goes into the send pool; where frames return, half the
    /// frames go to the fill ring.
    pub fn new(mut xsk: Xsk, plan: &'p GenPlan) -> Generator<'p> {
        let mut frames = std::mem::take(&mut xsk.frames);
        let rx_share = if plan.returns { frames.len() / 2 } else { 0 };
        let rx_frames = frames.split_off(frames.len() - rx_share);
        let mut pool = frames;
        fill_frames(&mut xsk, &mut pool, &plan.template);
        if !rx_frames.is_empty() {
            // SAFETY: the frames are ours and in no other ring.
            unsafe { xsk.fill.produce(&rx_frames) };
        }
        Generator {
            xsk,
            plan,
            pool,
            tx_batch: vec![FrameDesc::default(); plan.batch],
            scratch: vec![FrameDesc::default(); plan.batch],
            rtt: histogram(),
            a2b: histogram(),
            b2a: histogram(),
            returned: SeqTracker::default(),
            others: vec![0; plan.flows.max(1) as usize],
            submitted: 0,
            completed: 0,
            returned_total: 0,
            timeouts: 0,
            seq: 0,
            sent_measured: 0,
            first_measured: 0,
            last_measured: 0,
            start: 0,
            measure_from: 0,
            end: 0,
            last_progress: 0,
        }
    }

    /// Starts the clock: warm-up, then the measuring window.
    pub fn start(&mut self, now: u64) {
        self.start = now;
        self.last_progress = now;
        (self.measure_from, self.end) = window(now, self.plan.warmup_ns, self.plan.duration_ns);
    }

    /// One pass; `false` once sending is over (time, count or `cancel`) and everything in flight
    /// has completed, come back or been given up on.
    #[inline]
    pub fn step(&mut self, now: u64, cancel: bool, progress: &Progress) -> bool {
        self.complete(now, progress);
        if self.plan.returns {
            self.receive(now, progress);
        }
        let count_done = self.plan.count.is_some_and(|c| self.sent_measured >= c);
        // An interrupt ends sending; what is in flight still drains, so the accounting stays whole.
        let sending = now < self.end && !count_done && !cancel;
        if !sending && self.drained(now) {
            return false;
        }
        let k = if sending { self.budget(now) } else { 0 };
        if k > 0 {
            self.send(now, k);
        }
        self.kick();
        true
    }

    /// Frames sent that have neither come back nor been given up on (late returns after a
    /// time-out can make the difference negative: saturate).
    #[inline]
    fn outstanding(&self) -> u64 {
        self.submitted
            .saturating_sub(self.returned_total + self.timeouts)
    }

    /// Whether nothing is left to wait for, or the drain time has passed.
    #[inline]
    fn drained(&self, now: u64) -> bool {
        let waiting =
            self.submitted > self.completed || (self.plan.returns && self.outstanding() > 0);
        !waiting || now.saturating_sub(self.last_progress) > self.plan.drain_ns
    }

    /// Completions: frames the kernel has sent go back to the pool (with their length, which the
    /// completion ring resets).
    #[inline]
    fn complete(&mut self, now: u64, progress: &Progress) {
        // SAFETY: completed frames belong to this UMEM.
        let n = unsafe { self.xsk.comp.consume(&mut self.scratch) };
        for d in &mut self.scratch[..n] {
            // SAFETY: the frame is back in our hands.
            unsafe { self.xsk.umem.data_mut(d) }
                .cursor()
                .set_pos(self.plan.layout.len);
            self.pool.push(*d);
        }
        if n > 0 {
            self.completed += n as u64;
            self.last_progress = now;
            progress.sent(self.completed);
        }
    }

    /// Returns: sequence and latencies of measured frames; buffers back to the fill ring.
    #[inline]
    fn receive(&mut self, now: u64, progress: &Progress) {
        // SAFETY: rx frames belong to this UMEM.
        let n = unsafe { self.xsk.rx.consume(&mut self.scratch) };
        if n == 0 {
            return;
        }
        self.last_progress = now;
        for d in &self.scratch[..n] {
            // SAFETY: received frame, ours until we put it back into the fill ring.
            let data = unsafe { self.xsk.umem.data(d) };
            let Ok(p) = frame::parse(data.contents()) else {
                continue;
            };
            self.returned_total += 1;
            let flow = frame::flow_of(p.flow);
            if flow != self.plan.flow {
                // Another flow's frame (the kernel chose the queue): counted for that flow.
                if let Some(n) = self.others.get_mut(flow as usize) {
                    *n += 1;
                }
                continue;
            }
            if !frame::is_measured(p.flow) {
                continue;
            }
            self.returned.record(p.seq);
            if self.plan.timestamps {
                let round = now.saturating_sub(p.tx_ns);
                let a2b = u64::from(p.a2b_ns);
                self.rtt.saturating_record(round.max(1));
                self.a2b.saturating_record(a2b.max(1));
                self.b2a.saturating_record(round.saturating_sub(a2b).max(1));
            }
        }
        progress.received(self.returned_total);
        // SAFETY: the frames go back to the fill ring they came from; it has room for all.
        unsafe { self.xsk.fill.produce(&self.scratch[..n]) };
        if self.xsk.fill.needs_wakeup() {
            let _ = self.xsk.fill.wakeup(self.xsk.rx.fd_mut(), 0);
        }
    }

    /// How many frames to send now: a batch, within pool, pace, count and ring room.
    #[inline]
    fn budget(&mut self, now: u64) -> usize {
        let mut k = self.plan.batch.min(self.pool.len());
        match self.plan.pace {
            Pace::Open { rate: Some(rate) } => {
                let due = (u128::from(now - self.start) * u128::from(rate) / 1_000_000_000) as u64;
                k = k.min(due.saturating_sub(self.submitted) as usize);
            }
            Pace::Closed {
                inflight,
                timeout_ns,
            } => {
                let mut outstanding = self.outstanding();
                if outstanding > 0 && now.saturating_sub(self.last_progress) > timeout_ns {
                    self.timeouts += outstanding;
                    outstanding = 0;
                    self.last_progress = now;
                }
                k = k.min(u64::from(inflight).saturating_sub(outstanding) as usize);
            }
            Pace::Open { rate: None } => {}
        }
        if let (Some(c), true) = (self.plan.count, now >= self.measure_from) {
            k = k.min(c.saturating_sub(self.sent_measured) as usize);
        }
        if k > 0 {
            k = k.min(self.xsk.tx.nb_free(k as u32) as usize);
        }
        k
    }

    /// Stamps `k` pool frames and puts them on the TX ring.
    #[inline]
    fn send(&mut self, now: u64, k: usize) {
        let measured = now >= self.measure_from;
        let flow = frame::flow_field(self.plan.flow, measured);
        let stamp_ns = if self.plan.timestamps { now } else { 0 };
        for slot in self.tx_batch.iter_mut().take(k) {
            let Some(mut d) = self.pool.pop() else { break };
            // SAFETY: pool frames are ours.
            let mut data = unsafe { self.xsk.umem.data_mut(&mut d) };
            frame::stamp(
                data.contents_mut(),
                &self.plan.layout,
                flow,
                self.seq,
                stamp_ns,
            );
            self.seq = self.seq.wrapping_add(u32::from(measured));
            *slot = d;
        }
        // SAFETY: the frames are ours and the ring has room for k (nb_free).
        let produced = unsafe { self.xsk.tx.produce(&self.tx_batch[..k]) };
        debug_assert_eq!(produced, k);
        self.submitted += k as u64;
        if measured {
            if self.sent_measured == 0 {
                self.first_measured = now;
            }
            self.sent_measured += k as u64;
            self.last_measured = now;
        }
        self.last_progress = now;
    }

    /// Copy mode transmits only inside sendto(): kick while anything waits in the TX ring.
    #[inline]
    fn kick(&mut self) {
        if self.submitted > self.completed && (!self.plan.need_wakeup || self.xsk.tx.needs_wakeup())
        {
            let _ = self.xsk.tx.wakeup();
        }
    }

    /// What it counted.
    pub fn finish(self) -> GenOutcome {
        GenOutcome {
            sent_total: self.completed,
            sent_measured: self.sent_measured,
            window_ns: self.last_measured.saturating_sub(self.first_measured),
            returned_total: self.returned_total,
            others: self.others,
            returned: self.returned.counts(),
            rtt: self.rtt,
            a2b: self.a2b,
            b2a: self.b2a,
            timeouts: self.timeouts,
            xsk: self.xsk.stats(),
        }
    }
}
