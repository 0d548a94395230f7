//! The closed loops of the kernel-stack baselines: a client keeping `--inflight` requests
//! outstanding (UDP or ICMP), and B's UDP echo server.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use model::frame;
use model::outcome::histogram;
use model::seq::{SeqCounts, SeqTracker};
use model::RunSpec;

use super::sockets::Requester;
use crate::engine::now_ns;
use crate::harness::Either;
use crate::progress::Progress;
use crate::workers::window;

/// A request not answered within this time counts as lost.
pub(crate) const TIMEOUT_NS: u64 = 200_000_000;

/// What a closed-loop client counted.
pub(crate) struct PingOutcome {
    pub(crate) sent_total: u64,
    pub(crate) sent_measured: u64,
    pub(crate) window_ns: u64,
    pub(crate) received_total: u64,
    pub(crate) received: SeqCounts,
    pub(crate) rtt: Histogram<u64>,
    pub(crate) a2b: Histogram<u64>,
    pub(crate) b2a: Histogram<u64>,
    pub(crate) timeouts: u64,
}

/// The closed loop: keep `inflight` requests outstanding; an unanswered request counts as lost
/// after [`TIMEOUT_NS`] and its slot is reused.
pub(crate) fn ping_loop(
    client: &mut dyn Requester,
    spec: &RunSpec,
    flow: u32,
    cancel: &Either<'_>,
    progress: &Progress,
) -> io::Result<PingOutcome> {
    let (mut rtt, mut a2b, mut b2a) = (histogram(), histogram(), histogram());
    let mut tracker = SeqTracker::default();
    let (mut seq, mut sent_total, mut sent_measured, mut received_total, mut timeouts) =
        (0u32, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last) = (0u64, 0u64);
    let start = now_ns();
    let (measure_from, end) = window(start, spec.warmup_ns, spec.duration_ns);
    let mut last_progress = start;
    loop {
        let now = now_ns();
        let done = now >= end || cancel.is_set() || spec.count.is_some_and(|c| sent_measured >= c);
        let outstanding = sent_total.saturating_sub(received_total + timeouts);
        if done && outstanding == 0 {
            break;
        }
        if outstanding > 0 && now.saturating_sub(last_progress) > TIMEOUT_NS {
            timeouts += outstanding;
            last_progress = now;
            continue;
        }
        let paced = spec.rate.is_none_or(|r| {
            u128::from(sent_total) * 1_000_000_000 < u128::from(now - start) * u128::from(r)
        });
        if !done && outstanding < u64::from(spec.inflight) && paced {
            let measured = now >= measure_from;
            client.send(frame::flow_field(flow, measured), seq, now)?;
            seq = seq.wrapping_add(u32::from(measured));
            sent_total += 1;
            progress.sent(sent_total);
            if measured {
                first = if sent_measured == 0 { now } else { first };
                sent_measured += 1;
                last = now;
            }
            last_progress = now;
            continue;
        }
        if !paced && outstanding == 0 {
            // Paced like `ping -i`: sleep until the next request is due (spinning would keep the
            // core hot and measure a different thing than an idle host answering pings).
            if let Some(rate) = spec.rate {
                let next = start
                    + ((u128::from(sent_total) * 1_000_000_000).div_ceil(u128::from(rate)) as u64);
                let wait = next.saturating_sub(now_ns());
                if wait > 20_000 {
                    std::thread::sleep(Duration::from_nanos(wait));
                }
            }
            continue;
        }
        if let Some((field, s, tx, a2b_ns)) = client.recv()? {
            let now = now_ns();
            received_total += 1;
            progress.received(received_total);
            last_progress = now;
            if frame::is_measured(field) {
                tracker.record(s);
                let round = now.saturating_sub(tx).max(1);
                rtt.saturating_record(round);
                if a2b_ns > 0 {
                    a2b.saturating_record(u64::from(a2b_ns));
                    b2a.saturating_record(round.saturating_sub(u64::from(a2b_ns)).max(1));
                }
            }
        }
    }
    Ok(PingOutcome {
        sent_total,
        sent_measured,
        window_ns: last.saturating_sub(first),
        received_total,
        received: tracker.counts(),
        rtt,
        a2b,
        b2a,
        timeouts,
    })
}

/// B's echo server: every datagram goes back with the A→B time written in; until `stop`.
pub(crate) fn echo_server(socket: &UdpSocket, stop: &AtomicBool) -> io::Result<u64> {
    let mut buf = vec![0u8; 65536];
    let mut echoed = 0;
    while !stop.load(Ordering::Acquire) {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                if let Some((_, _, tx, _)) = frame::parse_payload(&buf[..n]) {
                    let a2b = now_ns().saturating_sub(tx).min(u64::from(u32::MAX)) as u32;
                    frame::set_payload_a2b(&mut buf[..n], a2b.max(1));
                }
                socket.send_to(&buf[..n], peer)?;
                echoed += 1;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(echoed)
}

impl PingOutcome {
    /// Nothing counted yet.
    pub(crate) fn empty() -> PingOutcome {
        PingOutcome {
            sent_total: 0,
            sent_measured: 0,
            window_ns: 0,
            received_total: 0,
            received: SeqCounts::default(),
            rtt: histogram(),
            a2b: histogram(),
            b2a: histogram(),
            timeouts: 0,
        }
    }

    /// Adds another flow's counts (histograms merged, the longest window).
    pub(crate) fn add(&mut self, o: &PingOutcome) {
        self.sent_total += o.sent_total;
        self.sent_measured += o.sent_measured;
        self.window_ns = self.window_ns.max(o.window_ns);
        self.received_total += o.received_total;
        self.received.add(&o.received);
        // Same bounds everywhere ([`histogram`]): adding cannot fail.
        let _ = self.rtt.add(&o.rtt);
        let _ = self.a2b.add(&o.a2b);
        let _ = self.b2a.add(&o.b2a);
        self.timeouts += o.timeouts;
    }
}
