//! The kernel-stack baselines' sockets: a UDP client, an ICMP datagram ("ping") socket, and the
//! tuning they share.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use model::frame;

use crate::workers::setsockopt_int;

/// Socket tuning shared by all baselines: bigger buffers, optional busy polling.
pub(crate) fn tune(fd: RawFd, busy_poll: bool) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20)?;
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20)?;
    if busy_poll {
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_BUSY_POLL, 50)?;
    }
    Ok(())
}

/// One side of a request/response exchange.
pub(crate) trait Requester {
    /// Sends request `seq` stamped with `tx_ns` (flow says warm-up or measured).
    fn send(&mut self, flow: u16, seq: u32, tx_ns: u64) -> io::Result<()>;
    /// Waits up to the socket's timeout for a reply; its payload header, or `None` on time-out.
    fn recv(&mut self) -> io::Result<Option<(u16, u32, u64, u32)>>;
}

pub(crate) struct UdpClient {
    pub(crate) socket: UdpSocket,
    pub(crate) buf: Vec<u8>,
    pub(crate) payload: usize,
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
pub(crate) struct IcmpClient {
    fd: OwnedFd,
    dest: SocketAddr,
    ipv6: bool,
    buf: Vec<u8>,
    len: usize,
}

impl IcmpClient {
    pub(crate) fn open(dest: IpAddr, payload: usize, busy_poll: bool) -> io::Result<IcmpClient> {
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
