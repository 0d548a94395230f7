//! UDP flood: `sendmmsg` batches from A, `recvmmsg` batches in B.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use hdrhistogram::Histogram;
use model::frame;
use model::outcome::histogram;
use model::seq::{SeqCounts, SeqTracker};
use model::RunSpec;

use crate::engine::now_ns;
use crate::harness::Either;
use crate::progress::Progress;
use crate::workers::window;

/// What the flood receiver counted.
pub(crate) struct FloodRx {
    pub(crate) received_total: u64,
    pub(crate) received: SeqCounts,
    pub(crate) one_way: Histogram<u64>,
}

const MMSG: usize = 64;

/// One `mmsghdr` per buffer, each with its own iovec, built once outside the hot loop. The iovecs
/// live in the returned value (boxed, so their addresses stay put).
struct Mmsg {
    _iov: Box<[libc::iovec]>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Mmsg {
    fn as_mut_ptr(&mut self) -> *mut libc::mmsghdr {
        self.hdrs.as_mut_ptr()
    }
}

impl std::ops::Deref for Mmsg {
    type Target = [libc::mmsghdr];
    fn deref(&self) -> &[libc::mmsghdr] {
        &self.hdrs
    }
}

fn mmsg_headers(bufs: &mut [Vec<u8>]) -> Mmsg {
    let mut iov: Box<[libc::iovec]> = bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    let hdrs = iov
        .iter_mut()
        .map(|v| {
            // SAFETY: an all-zero mmsghdr is valid.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    Mmsg { _iov: iov, hdrs }
}

/// What the flood's sender counted.
#[derive(Default)]
pub(crate) struct FloodTx {
    pub(crate) sent_total: u64,
    pub(crate) sent_measured: u64,
    pub(crate) window_ns: u64,
}

/// A's flood: `sendmmsg` batches of up to 64 datagrams, open loop with optional rate.
pub(crate) fn flood_send(
    socket: &UdpSocket,
    spec: &RunSpec,
    payload: usize,
    flow: u32,
    cancel: &Either<'_>,
    progress: &Progress,
) -> io::Result<FloodTx> {
    let mut bufs = vec![vec![0u8; payload]; MMSG];
    let mut msgs = mmsg_headers(&mut bufs);
    let batch = (spec.xsk.batch as usize).clamp(1, MMSG);
    let (mut seq, mut sent_total, mut sent_measured) = (0u32, 0u64, 0u64);
    let (mut first, mut last) = (0u64, 0u64);
    let start = now_ns();
    let (measure_from, end) = window(start, spec.warmup_ns, spec.duration_ns);
    loop {
        let now = now_ns();
        if now >= end || cancel.is_set() || spec.count.is_some_and(|c| sent_measured >= c) {
            break;
        }
        let mut k = batch;
        if let Some(rate) = spec.rate {
            let due = (u128::from(now - start) * u128::from(rate) / 1_000_000_000) as u64;
            k = k.min(due.saturating_sub(sent_total) as usize);
        }
        let measured = now >= measure_from;
        if let (Some(c), true) = (spec.count, measured) {
            k = k.min(c.saturating_sub(sent_measured) as usize);
        }
        if k == 0 {
            std::hint::spin_loop();
            continue;
        }
        let field = frame::flow_field(flow, measured);
        for (i, b) in bufs.iter_mut().take(k).enumerate() {
            frame::write_payload(
                b,
                field,
                seq.wrapping_add(if measured { i as u32 } else { 0 }),
                now,
            );
        }
        // SAFETY: sendmmsg on a connected socket with k live messages.
        let n =
            unsafe { libc::sendmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), k as libc::c_uint, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) || e.raw_os_error() == Some(libc::ENOBUFS)
            {
                continue;
            }
            return Err(e);
        }
        let n = n as u64;
        sent_total += n;
        progress.sent(sent_total);
        if measured {
            first = if sent_measured == 0 { now } else { first };
            seq = seq.wrapping_add(n as u32);
            sent_measured += n;
            last = now;
        }
    }
    Ok(FloodTx {
        sent_total,
        sent_measured,
        window_ns: last.saturating_sub(first),
    })
}

/// B's flood receiver: `recvmmsg` batches until `stop` and the socket has been quiet a while.
pub(crate) fn flood_recv(
    socket: &UdpSocket,
    timestamps: bool,
    stop: &AtomicBool,
    progress: &Progress,
) -> io::Result<FloodRx> {
    let mut bufs = vec![vec![0u8; 65536]; MMSG];
    let mut msgs = mmsg_headers(&mut bufs);
    let mut tracker = SeqTracker::default();
    let mut one_way = histogram();
    let mut received_total = 0u64;
    loop {
        let mut timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };
        // SAFETY: recvmmsg into live buffers; the socket has a receive timeout as well.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                MMSG as libc::c_uint,
                libc::MSG_WAITFORONE,
                &mut timeout,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                continue;
            }
            return Err(e);
        }
        let now = if timestamps { now_ns() } else { 0 };
        for (m, b) in msgs.iter().zip(&bufs).take(n as usize) {
            if let Some((flow, seq, tx, _)) = frame::parse_payload(&b[..m.msg_len as usize]) {
                received_total += 1;
                if frame::is_measured(flow) {
                    tracker.record(seq);
                    if timestamps {
                        one_way.saturating_record(now.saturating_sub(tx).max(1));
                    }
                }
            }
        }
        progress.received(received_total);
    }
    Ok(FloodRx {
        received_total,
        received: tracker.counts(),
        one_way,
    })
}
