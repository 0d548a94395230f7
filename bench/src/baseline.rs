//! Kernel-stack baselines, measured like the AF_XDP modes (same pinned workers in the same
//! namespaces, same frame sizes, same header, same histograms and accounting):
//!
//! - `udp-pingpong`: a client in A, an echo server in B, blocking receive (busy polling with
//!   `--busy-poll`); RTT and one-way times; `--inflight` requests outstanding.
//! - `icmp`: ICMP echo from A to B's kernel through an ICMP datagram ("ping") socket, like
//!   `ping -I <veth>`; RTT; `--inflight` requests outstanding.
//! - `udp-flood`: `sendmmsg` batches from A, `recvmmsg` batches in B; offered and received rate,
//!   losses attributed to the namespaces' SNMP counters and the veth counters.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use setup::{link_counters, Endpoint, LinkCounters, Side, TopologyInfo};

use crate::cpu::{CpuAccounting, ThreadCpu, ThreadUsage, WorkerCpu};
use crate::engine::{histogram, now_ns, FLOW_MEASURED, FLOW_WARMUP};
use crate::frame;
use crate::progress::{sample_until, Interval, Progress};
use crate::report::{
    histogram_v2_base64, Accounting, Latencies, LatencySummary, Measured, RunOutcome,
};
use crate::scenario::{BenchError, Mode, RunSpec};
use crate::seq::{SeqCounts, SeqTracker};
use crate::workers::{enter_and_pin, setsockopt_int, spawn_named, wait_ready, window};

/// UDP port of the baseline server in B.
pub const BASELINE_PORT: u16 = 9100;
/// A request not answered within this time counts as lost.
const TIMEOUT_NS: u64 = 200_000_000;

fn io_err(what: &str) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Socket tuning shared by all baselines: bigger buffers, optional busy polling.
fn tune(fd: RawFd, busy_poll: bool) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20)?;
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20)?;
    if busy_poll {
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_BUSY_POLL, 50)?;
    }
    Ok(())
}

/// One side of a request/response exchange.
trait Requester {
    /// Sends request `seq` stamped with `tx_ns` (flow says warm-up or measured).
    fn send(&mut self, flow: u16, seq: u32, tx_ns: u64) -> io::Result<()>;
    /// Waits up to the socket's timeout for a reply; its payload header, or `None` on time-out.
    fn recv(&mut self) -> io::Result<Option<(u16, u32, u64, u32)>>;
}

struct UdpClient {
    socket: UdpSocket,
    buf: Vec<u8>,
    payload: usize,
}

impl Requester for UdpClient {
    fn send(&mut self, flow: u16, seq: u32, tx_ns: u64) -> io::Result<()> {
        frame::write_payload(&mut self.buf, flow, seq, tx_ns);
        self.socket.send(&self.buf[..self.payload]).map(|_| ())
    }
    fn recv(&mut self) -> io::Result<Option<(u16, u32, u64, u32)>> {
        match self.socket.recv(&mut self.buf) {
            Ok(n) => Ok(frame::parse_payload(&self.buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// ICMP echo through a datagram ICMP socket: the kernel fills in the identifier and checksum.
struct IcmpClient {
    fd: OwnedFd,
    dest: SocketAddr,
    ipv6: bool,
    buf: Vec<u8>,
    len: usize,
}

impl IcmpClient {
    fn open(dest: IpAddr, payload: usize, busy_poll: bool) -> io::Result<IcmpClient> {
        let (domain, proto) = match dest {
            IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP),
            IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6),
        };
        // SAFETY: plain socket(2); the descriptor is owned right away.
        let fd = unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, proto) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        tune(fd.as_raw_fd(), busy_poll)?;
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 50_000,
        };
        // SAFETY: setsockopt with a live timeval.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(IcmpClient {
            fd,
            dest: SocketAddr::new(dest, 0),
            ipv6: dest.is_ipv6(),
            buf: vec![0u8; 8 + payload.max(frame::HEADER_LEN) + 64],
            len: 8 + payload,
        })
    }
}

/// Converts a socket address for sendto(2).
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

impl Requester for IcmpClient {
    fn send(&mut self, flow: u16, seq: u32, tx_ns: u64) -> io::Result<()> {
        self.buf[0] = if self.ipv6 { 128 } else { 8 }; // echo request
        self.buf[1] = 0;
        self.buf[2..8].fill(0); // checksum and identifier: the kernel's
        self.buf[6..8].copy_from_slice(&(seq as u16).to_be_bytes());
        frame::write_payload(&mut self.buf[8..], flow, seq, tx_ns);
        let (addr, len) = sockaddr(&self.dest);
        // SAFETY: sendto with a live buffer and address.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                self.buf.as_ptr().cast(),
                self.len,
                0,
                (&addr as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    fn recv(&mut self) -> io::Result<Option<(u16, u32, u64, u32)>> {
        // SAFETY: recv into a live buffer.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let n = n as usize;
        let reply = if self.ipv6 { 129 } else { 0 };
        if n < 8 || self.buf[0] != reply {
            return Ok(None);
        }
        Ok(frame::parse_payload(&self.buf[8..n]))
    }
}

/// What a closed-loop client counted.
struct PingOutcome {
    /// What its thread used from the start to the end of its loop.
    cpu: Option<ThreadUsage>,
    sent_total: u64,
    sent_measured: u64,
    window_ns: u64,
    received_total: u64,
    received: SeqCounts,
    rtt: Histogram<u64>,
    a2b: Histogram<u64>,
    b2a: Histogram<u64>,
    timeouts: u64,
}

/// The closed loop: keep `inflight` requests outstanding; an unanswered request counts as lost
/// after [`TIMEOUT_NS`] and its slot is reused.
fn ping_loop(
    client: &mut dyn Requester,
    spec: &RunSpec,
    go: &AtomicBool,
    interrupt: &AtomicBool,
    progress: &Progress,
) -> io::Result<PingOutcome> {
    let (mut rtt, mut a2b, mut b2a) = (histogram(), histogram(), histogram());
    let mut tracker = SeqTracker::default();
    let (mut seq, mut sent_total, mut sent_measured, mut received_total, mut timeouts) =
        (0u32, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last) = (0u64, 0u64);
    while !go.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
    let start = now_ns();
    let cpu_start = ThreadCpu::now();
    let (measure_from, end) = window(start, spec.warmup_ns, spec.duration_ns);
    let mut last_progress = start;
    loop {
        let now = now_ns();
        let done = now >= end
            || interrupt.load(Ordering::Relaxed)
            || spec.count.is_some_and(|c| sent_measured >= c);
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
            client.send(if measured { FLOW_MEASURED } else { FLOW_WARMUP }, seq, now)?;
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
        if let Some((flow, s, tx, a2b_ns)) = client.recv()? {
            let now = now_ns();
            received_total += 1;
            progress.received(received_total);
            last_progress = now;
            if flow == FLOW_MEASURED {
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
        cpu: cpu_start.and_then(|s| ThreadCpu::now().map(|e| e.since(&s))),
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
fn echo_server(socket: &UdpSocket, stop: &AtomicBool) -> io::Result<u64> {
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

/// What the flood receiver counted.
struct FloodRx {
    received_total: u64,
    received: SeqCounts,
    one_way: Histogram<u64>,
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

/// A's flood: `sendmmsg` batches of up to 64 datagrams, open loop with optional rate.
/// What the flood's sender counted.
struct FloodTx {
    sent_total: u64,
    sent_measured: u64,
    window_ns: u64,
    /// What its thread used from the start to the end of sending.
    cpu: Option<ThreadUsage>,
}

fn flood_send(
    socket: &UdpSocket,
    spec: &RunSpec,
    payload: usize,
    go: &AtomicBool,
    interrupt: &AtomicBool,
    progress: &Progress,
) -> io::Result<FloodTx> {
    let mut bufs = vec![vec![0u8; payload]; MMSG];
    let mut msgs = mmsg_headers(&mut bufs);
    let batch = (spec.xsk.batch as usize).clamp(1, MMSG);
    let (mut seq, mut sent_total, mut sent_measured) = (0u32, 0u64, 0u64);
    let (mut first, mut last) = (0u64, 0u64);
    while !go.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
    let start = now_ns();
    let cpu_start = ThreadCpu::now();
    let (measure_from, end) = window(start, spec.warmup_ns, spec.duration_ns);
    loop {
        let now = now_ns();
        if now >= end
            || interrupt.load(Ordering::Relaxed)
            || spec.count.is_some_and(|c| sent_measured >= c)
        {
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
        let flow = if measured { FLOW_MEASURED } else { FLOW_WARMUP };
        for (i, b) in bufs.iter_mut().take(k).enumerate() {
            frame::write_payload(
                b,
                flow,
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
        cpu: cpu_start.and_then(|s| ThreadCpu::now().map(|e| e.since(&s))),
    })
}

/// B's flood receiver: `recvmmsg` batches until `stop` and the socket has been quiet a while.
fn flood_recv(
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
                if flow == FLOW_MEASURED {
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

/// UDP and ICMP counters of one namespace (/proc/thread-self/net/snmp and snmp6).
#[derive(Clone, Copy, Debug, Default)]
struct Snmp {
    udp_in_errors: u64,
    udp_no_ports: u64,
    udp_sndbuf_errors: u64,
    icmp_in_errors: u64,
}

fn read_snmp() -> Snmp {
    let mut s = Snmp::default();
    let text = std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Vec<&str> = values.split_whitespace().collect();
        for (n, v) in names.iter().zip(&values) {
            let v: u64 = v.parse().unwrap_or(0);
            match (names[0], *n) {
                ("Udp:", "InErrors") => s.udp_in_errors += v,
                ("Udp:", "NoPorts") => s.udp_no_ports += v,
                ("Udp:", "SndbufErrors") => s.udp_sndbuf_errors += v,
                ("Icmp:", "InErrors") => s.icmp_in_errors += v,
                _ => {}
            }
        }
    }
    let text6 = std::fs::read_to_string("/proc/thread-self/net/snmp6").unwrap_or_default();
    for line in text6.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match k {
            "Udp6InErrors" => s.udp_in_errors += v,
            "Udp6NoPorts" => s.udp_no_ports += v,
            "Udp6SndbufErrors" => s.udp_sndbuf_errors += v,
            "Icmp6InErrors" => s.icmp_in_errors += v,
            _ => {}
        }
    }
    s
}

fn snmp_of(e: &Endpoint) -> Result<Snmp, BenchError> {
    Ok(setup::netns::run_in(&e.namespace, || Ok(read_snmp()))?)
}

struct Counters {
    veth: [LinkCounters; 2],
    snmp: [Snmp; 2],
}

fn counters(topo: &TopologyInfo) -> Result<Counters, BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    Ok(Counters {
        veth: [link_counters(a)?, link_counters(b)?],
        snmp: [snmp_of(a)?, snmp_of(b)?],
    })
}

enum AOutcome {
    Ping(Box<PingOutcome>),
    Flood(FloodTx),
}

impl AOutcome {
    /// What A's thread used, and the frames (or round trips) it handled.
    fn cpu(&self) -> (Option<ThreadUsage>, u64) {
        match self {
            AOutcome::Ping(p) => (p.cpu, p.sent_total),
            AOutcome::Flood(f) => (f.cpu, f.sent_total),
        }
    }
}

enum BResult {
    Echo(u64),
    Flood(FloodRx),
    Kernel,
}

/// Runs one kernel-stack baseline on a topology that is up.
pub fn run(
    topo: &TopologyInfo,
    spec: &RunSpec,
    interrupt: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunOutcome, BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    let (src, dst): (IpAddr, IpAddr) = if spec.ipv6 {
        match (a.ipv6, b.ipv6) {
            (Some(s), Some(d)) => (s.into(), d.into()),
            _ => {
                return Err(BenchError::Invalid {
                    flag: "--ipv6",
                    value: String::new(),
                    reason: "the topology has no IPv6 (MTU below 1280)".into(),
                })
            }
        }
    } else {
        (a.ipv4.into(), b.ipv4.into())
    };
    let payload = spec.size - frame::udp_overhead(spec.ipv6);
    let server_addr = SocketAddr::new(dst, BASELINE_PORT);
    let (go, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    let progress = Progress::default();
    let before_after = std::thread::scope(|s| -> Result<_, BenchError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<(Side, Result<(), String>)>();
        let (go, stop, progress) = (&go, &stop, &progress);
        let b_worker = (spec.mode != Mode::Icmp).then(|| {
            let ready = ready_tx.clone();
            spawn_named(
                s,
                "vb-b",
                move || -> Result<(BResult, Option<ThreadUsage>), String> {
                    let socket = enter_and_pin(b, spec.cores[1]).and_then(|()| {
                        let socket =
                            UdpSocket::bind(server_addr).map_err(io_err("bind the server in B"))?;
                        tune(socket.as_raw_fd(), spec.xsk.busy_poll)
                            .map_err(io_err("tune the server socket"))?;
                        socket
                            .set_read_timeout(Some(Duration::from_millis(50)))
                            .map_err(io_err("set timeout"))?;
                        Ok(socket)
                    });
                    let _ =
                        ready.send((Side::B, socket.as_ref().map(|_| ()).map_err(Clone::clone)));
                    let socket = socket?;
                    let (result, cpu) = crate::cpu::measure(|| match spec.mode {
                        Mode::UdpFlood => flood_recv(&socket, spec.timestamps, stop, progress)
                            .map(BResult::Flood)
                            .map_err(io_err("receive")),
                        _ => echo_server(&socket, stop)
                            .map(BResult::Echo)
                            .map_err(io_err("echo")),
                    });
                    Ok((result?, cpu))
                },
            )
        });
        let ready = ready_tx.clone();
        let a_worker = spawn_named(s, "vb-a", move || -> Result<AOutcome, String> {
            enter_and_pin(a, spec.cores[0]).inspect_err(|e| {
                let _ = ready.send((Side::A, Err(e.clone())));
            })?;
            let opened: Result<Box<dyn FnOnce() -> Result<AOutcome, String> + '_>, String> =
                match spec.mode {
                    Mode::Icmp => IcmpClient::open(dst, payload, spec.xsk.busy_poll)
                        .map_err(io_err("open an ICMP socket in A"))
                        .map(|mut c| -> Box<dyn FnOnce() -> Result<AOutcome, String>> {
                            Box::new(move || {
                                Ok(AOutcome::Ping(Box::new(
                                    ping_loop(&mut c, spec, go, interrupt, progress)
                                        .map_err(io_err("ping"))?,
                                )))
                            })
                        }),
                    _ => UdpSocket::bind(SocketAddr::new(src, 0))
                        .and_then(|sock| {
                            tune(sock.as_raw_fd(), spec.xsk.busy_poll)?;
                            sock.connect(server_addr)?;
                            sock.set_read_timeout(Some(Duration::from_millis(50)))?;
                            Ok(sock)
                        })
                        .map_err(io_err("open the UDP client in A"))
                        .map(|sock| -> Box<dyn FnOnce() -> Result<AOutcome, String>> {
                            if spec.mode == Mode::UdpFlood {
                                Box::new(move || {
                                    Ok(AOutcome::Flood(
                                        flood_send(&sock, spec, payload, go, interrupt, progress)
                                            .map_err(io_err("flood"))?,
                                    ))
                                })
                            } else {
                                let mut c = UdpClient {
                                    socket: sock,
                                    buf: vec![0u8; payload.max(65536)],
                                    payload,
                                };
                                Box::new(move || {
                                    Ok(AOutcome::Ping(Box::new(
                                        ping_loop(&mut c, spec, go, interrupt, progress)
                                            .map_err(io_err("ping"))?,
                                    )))
                                })
                            }
                        }),
                };
            let _ = ready.send((Side::A, opened.as_ref().map(|_| ()).map_err(Clone::clone)));
            opened?()
        });
        let (a_worker, b_worker) = match (a_worker, b_worker.transpose()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                // Release whichever worker did start, or the scope would wait for it forever.
                interrupt.store(true, Ordering::Relaxed);
                go.store(true, Ordering::Release);
                stop.store(true, Ordering::Release);
                return Err(e);
            }
        };
        drop(ready_tx);
        let workers = 1 + usize::from(b_worker.is_some());
        let failure = wait_ready(&ready_rx, workers);
        let before = match failure {
            None => counters(topo),
            Some(e) => Err(e),
        };
        if before.is_err() {
            // Release the waiting client at once: with the interrupt set it sends nothing.
            interrupt.store(true, Ordering::Relaxed);
        }
        go.store(true, Ordering::Release);
        let stat_before = crate::cpu::proc_stat();
        let intervals = sample_until(
            || a_worker.is_finished(),
            progress,
            &spec.cores,
            true,
            on_interval,
        );
        let a_out = a_worker.join();
        // Let the last datagrams land before the receiver stops.
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Release);
        let b_out = b_worker.map(|w| w.join());
        let stat_after = crate::cpu::proc_stat();
        let before = before?;
        let a_out = a_out
            .map_err(|_| BenchError::Worker {
                side: Side::A,
                message: "panicked".into(),
            })?
            .map_err(|message| BenchError::Worker {
                side: Side::A,
                message,
            })?;
        let b_out = match b_out {
            None => (BResult::Kernel, None),
            Some(r) => r
                .map_err(|_| BenchError::Worker {
                    side: Side::B,
                    message: "panicked".into(),
                })?
                .map_err(|message| BenchError::Worker {
                    side: Side::B,
                    message,
                })?,
        };
        let after = counters(topo)?;
        let cores = match (stat_before, stat_after) {
            (Some(b), Some(a)) => crate::cpu::core_shares(&b, &a, &spec.cores),
            _ => Vec::new(),
        };
        Ok((a_out, b_out, before, after, (cores, intervals)))
    })?;
    let (a_out, (b_out, b_usage), before, after, (cores, intervals)) = before_after;
    let (a_usage, a_frames) = a_out.cpu();
    let a_cpu = a_usage.map(|u| WorkerCpu::new(spec.cores[0], u, a_frames, false));
    let b_frames = match &b_out {
        BResult::Echo(n) => *n,
        BResult::Flood(f) => f.received_total,
        BResult::Kernel => 0,
    };
    let b_cpu = b_usage.map(|u| WorkerCpu::new(spec.cores[1], u, b_frames, false));
    let mut out = outcome(spec, a_out, b_out, &before, &after);
    out.set_cpu(CpuAccounting::new(a_cpu, b_cpu, cores));
    out.set_intervals(intervals, spec.warmup_ns as f64 / 1e9);
    Ok(out)
}

fn outcome(
    spec: &RunSpec,
    a: AOutcome,
    b: BResult,
    before: &Counters,
    after: &Counters,
) -> RunOutcome {
    let veth = [
        after.veth[0].since(&before.veth[0]),
        after.veth[1].since(&before.veth[1]),
    ];
    let d = |f: fn(&Snmp) -> u64, i: usize| f(&after.snmp[i]).saturating_sub(f(&before.snmp[i]));
    let mut counters = BTreeMap::new();
    counters.insert("veth_a.tx_dropped".to_string(), veth[0].tx_dropped);
    counters.insert("veth_b.rx_dropped".to_string(), veth[1].rx_dropped);
    counters.insert("veth_b.tx_dropped".to_string(), veth[1].tx_dropped);
    counters.insert("veth_a.rx_dropped".to_string(), veth[0].rx_dropped);
    counters.insert(
        "snmp_b.udp_in_errors".to_string(),
        d(|s| s.udp_in_errors, 1),
    );
    counters.insert("snmp_b.udp_no_ports".to_string(), d(|s| s.udp_no_ports, 1));
    counters.insert(
        "snmp_a.udp_sndbuf_errors".to_string(),
        d(|s| s.udp_sndbuf_errors, 0),
    );
    counters.insert(
        "snmp_a.udp_in_errors".to_string(),
        d(|s| s.udp_in_errors, 0),
    );
    counters.insert(
        "snmp_a.icmp_in_errors".to_string(),
        d(|s| s.icmp_in_errors, 0),
    );
    let forward = [
        ("veth A: tx_dropped", veth[0].tx_dropped),
        ("veth B: rx_dropped", veth[1].rx_dropped),
        (
            "B: UDP InErrors (receive buffer full, checksum)",
            d(|s| s.udp_in_errors, 1),
        ),
        ("B: UDP NoPorts", d(|s| s.udp_no_ports, 1)),
    ];
    let back = [
        ("veth B: tx_dropped", veth[1].tx_dropped),
        ("veth A: rx_dropped", veth[0].rx_dropped),
        ("A: UDP InErrors", d(|s| s.udp_in_errors, 0)),
        ("A: ICMP InErrors", d(|s| s.icmp_in_errors, 0)),
    ];
    if let BResult::Echo(n) = &b {
        counters.insert("server_b.echoed".to_string(), *n);
    }
    let mut histograms = BTreeMap::new();
    let mut warnings = spec.warnings();
    let flood =
        |sent_total: u64, sent_measured: u64, window_ns: u64, received: Option<&FloodRx>| {
            let (received_total, measured) =
                received.map_or((0, 0), |rx| (rx.received_total, rx.received.received));
            let m = Measured {
                sent: sent_measured,
                received: measured,
                window_ns,
            };
            (m, Accounting::new(sent_total, received_total, &forward))
        };
    let (measured, accounting, latencies) = match (a, &b) {
        (AOutcome::Flood(tx), BResult::Flood(rx)) => {
            histograms.insert("one_way_a2b".into(), histogram_v2_base64(&rx.one_way));
            let (m, acc) = flood(tx.sent_total, tx.sent_measured, tx.window_ns, Some(rx));
            let latencies = Latencies {
                a2b: LatencySummary::of(&rx.one_way),
                ..Latencies::default()
            };
            (m, acc, latencies)
        }
        (AOutcome::Flood(tx), _) => {
            let (m, acc) = flood(tx.sent_total, tx.sent_measured, tx.window_ns, None);
            (m, acc, Latencies::default())
        }
        (AOutcome::Ping(p), _) => {
            for (name, h) in [
                ("rtt", &p.rtt),
                ("one_way_a2b", &p.a2b),
                ("one_way_b2a", &p.b2a),
            ] {
                if !h.is_empty() {
                    histograms.insert(name.to_string(), histogram_v2_base64(h));
                }
            }
            let places: Vec<(&str, u64)> = forward.iter().chain(back.iter()).copied().collect();
            if p.timeouts > 0 {
                warnings.push(format!(
                    "{} requests got no reply within 200 ms",
                    p.timeouts
                ));
            }
            let m = Measured {
                sent: p.sent_measured,
                received: p.received.received,
                window_ns: p.window_ns,
            };
            let latencies = Latencies {
                rtt: LatencySummary::of(&p.rtt),
                a2b: LatencySummary::of(&p.a2b),
                b2a: LatencySummary::of(&p.b2a),
            };
            (
                m,
                Accounting::new(p.sent_total, p.received_total, &places),
                latencies,
            )
        }
    };
    // Which way did A's datagrams go? With both ends in one namespace the kernel delivers them
    // over lo and the veth carries (almost) nothing.
    let sent_total = accounting.sent;
    let local = veth[0].tx_packets.saturating_mul(2) < sent_total;
    if local {
        warnings.push(format!(
            "the kernel stack delivered A's traffic locally over lo (the veth carried {} of {} frames): this baseline does not cross the veth",
            veth[0].tx_packets, sent_total
        ));
    }
    counters.insert("veth_a.tx_packets".to_string(), veth[0].tx_packets);
    let mut outcome = RunOutcome::new(
        spec, measured, latencies, accounting, counters, histograms, warnings,
    );
    outcome.path = Some(if local { "lo" } else { "veth" }.to_string());
    outcome
}
