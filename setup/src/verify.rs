//! Proof that a topology carries traffic: a UDP datagram from a socket inside namespace A to a socket
//! inside namespace B and back. The sockets are opened by threads that entered the namespaces and are
//! then used from the caller's thread (a socket stays in the namespace it was born in).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{netns, SetupError, Side, TopologyInfo};

/// A successful round trip.
#[derive(Clone, Debug, Serialize)]
pub struct RoundTrip {
    /// Source address on side A.
    pub from: SocketAddr,
    /// Echoing address on side B.
    pub to: SocketAddr,
    /// Payload bytes each way.
    pub bytes: usize,
    /// Round-trip time of this single exchange (kernel stack both ways, includes wake-ups).
    pub rtt: Duration,
}

fn bind_in(namespace: &str, addr: IpAddr) -> Result<UdpSocket, SetupError> {
    netns::run_in(namespace, || {
        let socket = UdpSocket::bind((addr, 0)).map_err(|e| SetupError::Traffic {
            from: addr.to_string(),
            to: String::new(),
            reason: format!("bind in {namespace}: {e}"),
        })?;
        Ok(socket)
    })
}

/// Sends `bytes` of payload from A to B over IPv4 (or IPv6 when `ipv6` and the topology has it),
/// echoes it back, and checks that both directions delivered the same bytes.
pub fn udp_round_trip(
    info: &TopologyInfo,
    ipv6: bool,
    bytes: usize,
) -> Result<RoundTrip, SetupError> {
    let addr = |side: Side| -> Result<IpAddr, SetupError> {
        let e = info.endpoint(side);
        match (ipv6, e.ipv6) {
            (false, _) => Ok(e.ipv4.into()),
            (true, Some(v6)) => Ok(v6.into()),
            (true, None) => Err(SetupError::Usage(model::UsageError {
                flag: "--mtu",
                value: e.mtu.to_string(),
                reason: "IPv6 needs MTU >= 1280; this topology is IPv4-only".into(),
            })),
        }
    };
    let a = bind_in(&info.endpoint(Side::A).namespace, addr(Side::A)?)?;
    let b = bind_in(&info.endpoint(Side::B).namespace, addr(Side::B)?)?;
    let (from, to) = (local(&a)?, local(&b)?);
    let fail = |reason: String| SetupError::Traffic {
        from: from.to_string(),
        to: to.to_string(),
        reason,
    };
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| fail(format!("set timeout: {e}")))?;
    }
    let payload: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let mut buf = vec![0u8; bytes + 1];
    let start = Instant::now();
    a.send_to(&payload, to)
        .map_err(|e| fail(format!("send A->B: {e}")))?;
    let (n, peer) = b
        .recv_from(&mut buf)
        .map_err(|e| fail(format!("receive in B: {e}")))?;
    if peer != from || buf[..n] != payload[..] {
        return Err(fail(format!(
            "B received {n} bytes from {peer}, expected {bytes} from {from}"
        )));
    }
    b.send_to(&buf[..n], peer)
        .map_err(|e| fail(format!("send B->A: {e}")))?;
    let (n, peer) = a
        .recv_from(&mut buf)
        .map_err(|e| fail(format!("receive in A: {e}")))?;
    let rtt = start.elapsed();
    if peer != to || buf[..n] != payload[..] {
        return Err(fail(format!(
            "A received {n} bytes from {peer}, expected {bytes} from {to}"
        )));
    }
    Ok(RoundTrip {
        from,
        to,
        bytes,
        rtt,
    })
}

fn local(s: &UdpSocket) -> Result<SocketAddr, SetupError> {
    s.local_addr().map_err(|e| SetupError::Traffic {
        from: String::new(),
        to: String::new(),
        reason: format!("local address: {e}"),
    })
}
