//! The hot loops. Each takes plain values, allocates nothing once running, keeps its counters in
//! locals, and returns them when it stops.
//!
//! - [`generate`]: side A. Transmits stamped frames open-loop (optionally rate-limited) or
//!   closed-loop (N in flight), and receives the returns when there are any (RTT, one-way times).
//! - [`sink`]: side B. Receives, accounts sequence numbers and one-way times, recycles frames.
//! - [`reflect`]: side B. Sends every frame back with addresses swapped and the A→B time written in.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use hdrhistogram::Histogram;
use xsk_rs::FrameDesc;

use crate::frame::{self, Layout};
use crate::progress::Progress;
use crate::scenario::Either;
use crate::seq::{SeqCounts, SeqTracker};
use crate::workers::window;
use crate::xsk::{Xsk, XskStats};

/// Flow id of warm-up frames (counted for accounting, not measured).
pub const FLOW_WARMUP: u16 = 0;
/// Flow id of measured frames.
pub const FLOW_MEASURED: u16 = 1;

/// CLOCK_MONOTONIC in nanoseconds (the clock both namespaces share).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A latency histogram: 1 ns .. 60 s at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant bounds are valid")
}

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
    /// Pacing.
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
    /// What its thread used from the start to the end of sending (unknown if unreadable).
    pub cpu: Option<crate::cpu::ThreadUsage>,
    /// Frames the kernel took from the TX ring, warm-up included.
    pub sent_total: u64,
    /// Measured frames sent.
    pub sent_measured: u64,
    /// First to last measured send, ns.
    pub window_ns: u64,
    /// Frames that came back, warm-up included.
    pub returned_total: u64,
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

/// Writes `template` into every frame and sets each frame's length.
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

/// Side A's loop. `go` starts it (all workers are ready); `abort` ends it early.
pub fn generate(
    xsk: &mut Xsk,
    plan: &GenPlan,
    go: &AtomicBool,
    abort: &Either<'_>,
    progress: &Progress,
) -> GenOutcome {
    let batch = plan.batch;
    let len = plan.layout.len;
    let mut frames = std::mem::take(&mut xsk.frames);
    let rx_share = if plan.returns { frames.len() / 2 } else { 0 };
    let rx_frames = frames.split_off(frames.len() - rx_share);
    let mut pool = frames;
    fill_frames(xsk, &mut pool, &plan.template);
    if !rx_frames.is_empty() {
        // SAFETY: the frames are ours and in no other ring.
        unsafe { xsk.fill.produce(&rx_frames) };
    }
    let mut tx_batch = vec![FrameDesc::default(); batch];
    let mut scratch = vec![FrameDesc::default(); batch];
    let mut rtt = histogram();
    let mut a2b = histogram();
    let mut b2a = histogram();
    let mut returned = SeqTracker::default();
    let (mut submitted, mut completed, mut returned_total, mut timeouts) = (0u64, 0u64, 0u64, 0u64);
    let (mut seq, mut sent_measured) = (0u32, 0u64);
    let (mut first_measured, mut last_measured) = (0u64, 0u64);

    while !go.load(Ordering::Acquire) {
        if abort.is_set() {
            break;
        }
        std::hint::spin_loop();
    }
    if !go.load(Ordering::Acquire) {
        // Aborted before the start: nothing was sent.
        return GenOutcome {
            cpu: None,
            sent_total: 0,
            sent_measured: 0,
            window_ns: 0,
            returned_total: 0,
            returned: returned.counts(),
            rtt,
            a2b,
            b2a,
            timeouts: 0,
            xsk: xsk.stats(),
        };
    }
    let start = now_ns();
    let cpu_start = crate::cpu::ThreadCpu::now();
    let mut last_progress = start;
    let (measure_from, end) = window(start, plan.warmup_ns, plan.duration_ns);
    loop {
        let now = now_ns();
        // Completions: frames the kernel has sent go back to the pool (with their length, which
        // the completion ring resets).
        // SAFETY: completed frames belong to this UMEM.
        let n = unsafe { xsk.comp.consume(&mut scratch) };
        for d in &mut scratch[..n] {
            // SAFETY: the frame is back in our hands.
            unsafe { xsk.umem.data_mut(d) }.cursor().set_pos(len);
            pool.push(*d);
        }
        completed += n as u64;
        if n > 0 {
            last_progress = now;
            progress.sent(completed);
        }
        // Returns.
        if plan.returns {
            // SAFETY: rx frames belong to this UMEM.
            let n = unsafe { xsk.rx.consume(&mut scratch) };
            if n > 0 {
                last_progress = now;
                for d in &scratch[..n] {
                    // SAFETY: received frame, ours until we put it back into the fill ring.
                    let data = unsafe { xsk.umem.data(d) };
                    if let Ok(p) = frame::parse(data.contents()) {
                        returned_total += 1;
                        if p.flow == FLOW_MEASURED {
                            returned.record(p.seq);
                            if plan.timestamps {
                                let round = now.saturating_sub(p.tx_ns);
                                rtt.saturating_record(round.max(1));
                                a2b.saturating_record(u64::from(p.a2b_ns).max(1));
                                b2a.saturating_record(
                                    round.saturating_sub(u64::from(p.a2b_ns)).max(1),
                                );
                            }
                        }
                    }
                }
                progress.received(returned_total);
                // SAFETY: the frames go back to the fill ring they came from; it has room for all.
                unsafe { xsk.fill.produce(&scratch[..n]) };
                if xsk.fill.needs_wakeup() {
                    let _ = xsk.fill.wakeup(xsk.rx.fd_mut(), 0);
                }
            }
        }
        let count_done = plan.count.is_some_and(|c| sent_measured >= c);
        // An interrupt ends sending; what is in flight still drains, so the accounting stays whole.
        let sending = now < end && !count_done && !abort.is_set();
        // Frames sent that have neither come back nor been given up on (late returns after a
        // time-out can make the difference negative: saturate).
        let outstanding = submitted.saturating_sub(returned_total + timeouts);
        if !sending {
            let waiting = submitted > completed || (plan.returns && outstanding > 0);
            if !waiting || now.saturating_sub(last_progress) > plan.drain_ns {
                break;
            }
        }
        // How many to send now.
        let mut k = if sending { batch.min(pool.len()) } else { 0 };
        match plan.pace {
            Pace::Open { rate: Some(rate) } if k > 0 => {
                let due = (u128::from(now - start) * u128::from(rate) / 1_000_000_000) as u64;
                k = k.min(due.saturating_sub(submitted) as usize);
            }
            Pace::Closed {
                inflight,
                timeout_ns,
            } => {
                let mut outstanding = outstanding;
                if outstanding > 0 && now.saturating_sub(last_progress) > timeout_ns {
                    timeouts += outstanding;
                    outstanding = 0;
                    last_progress = now;
                }
                k = k.min(u64::from(inflight).saturating_sub(outstanding) as usize);
            }
            Pace::Open { .. } => {}
        }
        if let (Some(c), true) = (plan.count, now >= measure_from) {
            k = k.min(c.saturating_sub(sent_measured) as usize);
        }
        if k > 0 {
            k = k.min(xsk.tx.nb_free(k as u32) as usize);
        }
        if k > 0 {
            let measured = now >= measure_from;
            let flow = if measured { FLOW_MEASURED } else { FLOW_WARMUP };
            let stamp_ns = if plan.timestamps { now } else { 0 };
            for slot in tx_batch.iter_mut().take(k) {
                let mut d = pool.pop().expect("k <= pool.len()");
                // SAFETY: pool frames are ours.
                let mut data = unsafe { xsk.umem.data_mut(&mut d) };
                frame::stamp(data.contents_mut(), &plan.layout, flow, seq, stamp_ns);
                seq = seq.wrapping_add(u32::from(measured));
                *slot = d;
            }
            // SAFETY: the frames are ours and the ring has room for k (nb_free).
            let produced = unsafe { xsk.tx.produce(&tx_batch[..k]) };
            debug_assert_eq!(produced, k);
            submitted += k as u64;
            if measured {
                if sent_measured == 0 {
                    first_measured = now;
                }
                sent_measured += k as u64;
                last_measured = now;
            }
            last_progress = now;
        }
        // Copy mode transmits only inside sendto(): kick while anything waits in the TX ring.
        if submitted > completed && (!plan.need_wakeup || xsk.tx.needs_wakeup()) {
            let _ = xsk.tx.wakeup();
        }
    }
    GenOutcome {
        cpu: cpu_start.and_then(|s| crate::cpu::ThreadCpu::now().map(|e| e.since(&s))),
        sent_total: completed,
        sent_measured,
        window_ns: last_measured.saturating_sub(first_measured),
        returned_total,
        returned: returned.counts(),
        rtt,
        a2b,
        b2a,
        timeouts,
        xsk: xsk.stats(),
    }
}

/// What the sink counted.
pub struct SinkOutcome {
    /// Our frames received, warm-up included.
    pub received_total: u64,
    /// Sequence accounting of measured frames.
    pub received: SeqCounts,
    /// A→B one-way times of measured frames.
    pub one_way: Histogram<u64>,
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

/// Side B's receiving loop, until `stop`; the fill ring must be primed ([`prime_fill`]).
pub fn sink(
    xsk: &mut Xsk,
    batch: usize,
    timestamps: bool,
    stop: &AtomicBool,
    progress: &Progress,
) -> SinkOutcome {
    let mut descs = vec![FrameDesc::default(); batch];
    let mut tracker = SeqTracker::default();
    let mut one_way = histogram();
    let mut received_total = 0u64;
    let mut idle_after_stop = 0u32;
    loop {
        // SAFETY: rx frames belong to this UMEM.
        let n = unsafe { xsk.rx.consume(&mut descs) };
        if n == 0 {
            if stop.load(Ordering::Acquire) {
                // Drain: stop only after the ring has stayed empty for a while.
                idle_after_stop += 1;
                if idle_after_stop > 1000 {
                    break;
                }
                std::thread::yield_now();
            }
            std::hint::spin_loop();
            continue;
        }
        idle_after_stop = 0;
        let now = if timestamps { now_ns() } else { 0 };
        for d in &descs[..n] {
            // SAFETY: received frame, ours until it returns to the fill ring.
            let data = unsafe { xsk.umem.data(d) };
            if let Ok(p) = frame::parse(data.contents()) {
                received_total += 1;
                if p.flow == FLOW_MEASURED {
                    tracker.record(p.seq);
                    if timestamps {
                        one_way.saturating_record(now.saturating_sub(p.tx_ns).max(1));
                    }
                }
            }
        }
        progress.received(received_total);
        // SAFETY: back to the fill ring they came from.
        unsafe { xsk.fill.produce(&descs[..n]) };
        if xsk.fill.needs_wakeup() {
            let _ = xsk.fill.wakeup(xsk.rx.fd_mut(), 0);
        }
    }
    SinkOutcome {
        received_total,
        received: tracker.counts(),
        one_way,
        xsk: xsk.stats(),
    }
}

/// What the reflector counted.
pub struct ReflectOutcome {
    /// Frames sent back.
    pub reflected: u64,
    /// Frames received that were not ours (dropped back into the fill ring).
    pub foreign: u64,
    /// The socket's counters at the end.
    pub xsk: XskStats,
}

/// Side B's reflecting loop, until `stop`: rx → swap → tx, completions → fill; the fill ring must
/// be primed ([`prime_fill`]).
pub fn reflect(
    xsk: &mut Xsk,
    batch: usize,
    need_wakeup: bool,
    timestamps: bool,
    stop: &AtomicBool,
) -> ReflectOutcome {
    let mut descs = vec![FrameDesc::default(); batch];
    let mut done = vec![FrameDesc::default(); batch];
    let (mut reflected, mut foreign, mut in_tx) = (0u64, 0u64, 0u64);
    let mut idle_after_stop = 0u32;
    loop {
        // Completed transmissions refill the fill ring.
        // SAFETY: completed frames belong to this UMEM.
        let c = unsafe { xsk.comp.consume(&mut done) };
        if c > 0 {
            in_tx -= c as u64;
            // SAFETY: back to the fill ring.
            unsafe { xsk.fill.produce(&done[..c]) };
        }
        let room = xsk.tx.nb_free(batch as u32) as usize;
        // SAFETY: rx frames belong to this UMEM.
        let n = if room > 0 {
            unsafe { xsk.rx.consume(&mut descs[..room.min(batch)]) }
        } else {
            0
        };
        if n > 0 {
            idle_after_stop = 0;
            let now = if timestamps { now_ns() } else { 0 };
            let mut k = 0;
            for i in 0..n {
                let mut d = descs[i];
                // SAFETY: received frame, ours until produced again.
                let mut data = unsafe { xsk.umem.data_mut(&mut d) };
                let bytes = data.contents_mut();
                match frame::parse(bytes) {
                    Ok(p) => {
                        frame::swap_in_place(bytes, &p.layout);
                        if timestamps {
                            let a2b = now.saturating_sub(p.tx_ns).min(u64::from(u32::MAX)) as u32;
                            frame::set_a2b(bytes, &p.layout, a2b);
                        }
                        descs[k] = d;
                        k += 1;
                    }
                    Err(_) => {
                        foreign += 1;
                        // SAFETY: back to the fill ring.
                        unsafe { xsk.fill.produce(&[d]) };
                    }
                }
            }
            // SAFETY: the frames are ours; the ring had room for n >= k.
            unsafe { xsk.tx.produce(&descs[..k]) };
            reflected += k as u64;
            in_tx += k as u64;
        } else if stop.load(Ordering::Acquire) && in_tx == 0 {
            idle_after_stop += 1;
            if idle_after_stop > 1000 {
                break;
            }
            std::thread::yield_now();
        }
        if in_tx > 0 && (!need_wakeup || xsk.tx.needs_wakeup()) {
            let _ = xsk.tx.wakeup();
        }
        if xsk.fill.needs_wakeup() {
            let _ = xsk.fill.wakeup(xsk.rx.fd_mut(), 0);
        }
    }
    ReflectOutcome {
        reflected,
        foreign,
        xsk: xsk.stats(),
    }
}
