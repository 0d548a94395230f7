//! The frames vethbench sends: Ethernet / IPv4 or IPv6 / UDP / a 20-byte header / padding.
//!
//! Header after UDP (network byte order): magic u16 "vb", flow u16, sequence u32, send time u64
//! (CLOCK_MONOTONIC ns), A→B one-way time u32 (ns, written by a reflector; 0 until then).
//! All checksums are valid. Building writes a template once; the hot loop only [`stamp`]s the
//! sequence and time, patching the UDP checksum incrementally (RFC 1624). Nothing here allocates.
//! Sizes are the bytes handed to the NIC (no FCS): 64 leaves 22 bytes of UDP payload over IPv4.

use std::net::IpAddr;

/// Marks our frames: "vb".
pub const MAGIC: u16 = 0x7662;
/// Bytes of our header after UDP.
pub const HEADER_LEN: usize = 20;
const ETH_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const UDP_LEN: usize = 8;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_UDP: u8 = 17;
// Offsets inside our header.
const OFF_MAGIC: usize = 0;
const OFF_FLOW: usize = 2;
const OFF_SEQ: usize = 4;
const OFF_TX_TS: usize = 8;
const OFF_A2B: usize = 16;

/// What to put into a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source address; both addresses must be of one family.
    pub src_ip: IpAddr,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port (the XDP programs match on it).
    pub dst_port: u16,
    /// Flow id carried in the header.
    pub flow: u16,
    /// Frame length in bytes, Ethernet header included, FCS excluded.
    pub size: usize,
}

/// Where the parts of a built frame are; plain values for the hot loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the UDP header.
    pub udp: usize,
    /// Offset of our header.
    pub header: usize,
    /// Frame length.
    pub len: usize,
}

/// Why a frame cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The size is below the minimum for the address family or above the buffer.
    #[error("--size {size}: {family} frames carry {min}..={max} bytes here")]
    Size {
        /// Asked size.
        size: usize,
        /// IPv4 or IPv6.
        family: &'static str,
        /// Smallest frame that holds the headers.
        min: usize,
        /// Largest frame that fits.
        max: usize,
    },
    /// Source and destination of different families.
    #[error("source {0} and destination {1} are of different address families")]
    Family(IpAddr, IpAddr),
}

/// Smallest frame for a family: Ethernet + IP + UDP + our header.
pub fn min_size(ipv6: bool) -> usize {
    ETH_LEN + if ipv6 { IPV6_LEN } else { IPV4_LEN } + UDP_LEN + HEADER_LEN
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

fn get16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn get32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn get64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// One's-complement sum of 16-bit big-endian words (odd tail padded with zero), not folded.
fn sum16(data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u32 = 0;
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The UDP checksum field value for a frame (pseudo-header included); 0 maps to 0xffff.
fn udp_checksum(frame: &[u8], udp: usize, ipv6: bool) -> u16 {
    let udp_len = frame.len() - udp;
    let mut sum = if ipv6 {
        sum16(&frame[ETH_LEN + 8..ETH_LEN + 40]) + udp_len as u32 + u32::from(PROTO_UDP)
    } else {
        sum16(&frame[ETH_LEN + 12..ETH_LEN + 20]) + udp_len as u32 + u32::from(PROTO_UDP)
    };
    sum += sum16(&frame[udp..udp + 6]) + sum16(&frame[udp + 8..]);
    match !fold(sum) {
        0 => 0xffff,
        c => c,
    }
}

/// Writes a frame into `buf` (sequence 0, time 0) and returns its layout.
pub fn build(buf: &mut [u8], spec: &FrameSpec) -> Result<Layout, FrameError> {
    let ipv6 = match (spec.src_ip, spec.dst_ip) {
        (IpAddr::V4(_), IpAddr::V4(_)) => false,
        (IpAddr::V6(_), IpAddr::V6(_)) => true,
        (s, d) => return Err(FrameError::Family(s, d)),
    };
    let (min, max) = (min_size(ipv6), buf.len().min(usize::from(u16::MAX)));
    if spec.size < min || spec.size > max {
        return Err(FrameError::Size {
            size: spec.size,
            family: if ipv6 { "IPv6" } else { "IPv4" },
            min,
            max,
        });
    }
    let frame = &mut buf[..spec.size];
    frame.fill(0);
    frame[0..6].copy_from_slice(&spec.dst_mac);
    frame[6..12].copy_from_slice(&spec.src_mac);
    let udp = match (spec.src_ip, spec.dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            put16(frame, 12, ETHERTYPE_IPV4);
            let ip = &mut frame[ETH_LEN..ETH_LEN + IPV4_LEN];
            ip[0] = 0x45;
            put16(ip, 2, (spec.size - ETH_LEN) as u16);
            ip[6] = 0x40; // don't fragment
            ip[8] = 64;
            ip[9] = PROTO_UDP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let csum = !fold(sum16(ip));
            put16(ip, 10, csum);
            ETH_LEN + IPV4_LEN
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            put16(frame, 12, ETHERTYPE_IPV6);
            let ip = &mut frame[ETH_LEN..ETH_LEN + IPV6_LEN];
            ip[0] = 0x60;
            put16(ip, 4, (spec.size - ETH_LEN - IPV6_LEN) as u16);
            ip[6] = PROTO_UDP;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            ETH_LEN + IPV6_LEN
        }
        _ => unreachable!("families checked above"),
    };
    put16(frame, udp, spec.src_port);
    put16(frame, udp + 2, spec.dst_port);
    put16(frame, udp + 4, (spec.size - udp) as u16);
    let header = udp + UDP_LEN;
    put16(frame, header + OFF_MAGIC, MAGIC);
    put16(frame, header + OFF_FLOW, spec.flow);
    for (i, b) in frame[header + HEADER_LEN..].iter_mut().enumerate() {
        *b = (i % 251) as u8; // padding that is not all zeros, so corruption shows
    }
    let csum = udp_checksum(frame, udp, ipv6);
    put16(frame, udp + 6, csum);
    Ok(Layout {
        udp,
        header,
        len: spec.size,
    })
}

/// Replaces the bytes at `off` (even offset from the UDP header, even length) and patches the
/// UDP checksum incrementally: HC' = ~(~HC + ~m + m') per 16-bit word (RFC 1624).
#[inline]
fn patch(frame: &mut [u8], udp: usize, off: usize, new: &[u8]) {
    let mut sum = u32::from(!get16(frame, udp + 6).unwrap_or(0));
    for (i, pair) in new.chunks_exact(2).enumerate() {
        let old = u16::from_be_bytes([frame[off + 2 * i], frame[off + 2 * i + 1]]);
        sum += u32::from(!old) + u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    frame[off..off + new.len()].copy_from_slice(new);
    let csum = match !fold(sum) {
        0 => 0xffff,
        c => c,
    };
    put16(frame, udp + 6, csum);
}

/// Writes flow id, sequence number and send time into a built frame (hot loop).
#[inline]
pub fn stamp(frame: &mut [u8], layout: &Layout, flow: u16, seq: u32, tx_ns: u64) {
    let mut new = [0u8; 14];
    new[..2].copy_from_slice(&flow.to_be_bytes());
    new[2..6].copy_from_slice(&seq.to_be_bytes());
    new[6..].copy_from_slice(&tx_ns.to_be_bytes());
    patch(frame, layout.udp, layout.header + OFF_FLOW, &new);
}

/// Writes the A→B one-way time (reflector side) into a received frame.
#[inline]
pub fn set_a2b(frame: &mut [u8], layout: &Layout, a2b_ns: u32) {
    patch(
        frame,
        layout.udp,
        layout.header + OFF_A2B,
        &a2b_ns.to_be_bytes(),
    );
}

/// Turns a received frame into its reply in place: MACs, IP addresses and UDP ports swapped
/// (checksums stay valid: the sums do not change).
#[inline]
pub fn swap_in_place(frame: &mut [u8], layout: &Layout) {
    let (dst, src) = frame.split_at_mut(6);
    dst.swap_with_slice(&mut src[..6]);
    let (ip, alen) = if layout.udp == ETH_LEN + IPV6_LEN {
        (ETH_LEN + 8, 16)
    } else {
        (ETH_LEN + 12, 4)
    };
    let (a, b) = frame[ip..ip + 2 * alen].split_at_mut(alen);
    a.swap_with_slice(b);
    let (a, b) = frame[layout.udp..layout.udp + 4].split_at_mut(2);
    a.swap_with_slice(b);
}

/// What the parser found in one of our frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Where things are.
    pub layout: Layout,
    /// Flow id.
    pub flow: u16,
    /// Sequence number.
    pub seq: u32,
    /// Send time, CLOCK_MONOTONIC ns.
    pub tx_ns: u64,
    /// A→B one-way time written by a reflector (0 if none).
    pub a2b_ns: u32,
}

/// Why bytes are not one of our frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Too short for the headers it claims.
    #[error("truncated frame")]
    Truncated,
    /// Neither IPv4 nor IPv6 carrying UDP.
    #[error("not IP/UDP")]
    NotUdp,
    /// Lengths in the headers disagree with the frame.
    #[error("inconsistent lengths")]
    Length,
    /// UDP, but not carrying our header.
    #[error("not a vethbench frame")]
    NotOurs,
}

/// Parses one of our frames; never panics, whatever the bytes.
pub fn parse(frame: &[u8]) -> Result<Parsed, ParseError> {
    let ethertype = get16(frame, 12).ok_or(ParseError::Truncated)?;
    let (udp, ip_payload_len) = match ethertype {
        ETHERTYPE_IPV4 => {
            let vihl = *frame.get(ETH_LEN).ok_or(ParseError::Truncated)?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            if vihl >> 4 != 4 || ihl < IPV4_LEN {
                return Err(ParseError::NotUdp);
            }
            if *frame.get(ETH_LEN + 9).ok_or(ParseError::Truncated)? != PROTO_UDP {
                return Err(ParseError::NotUdp);
            }
            let total = usize::from(get16(frame, ETH_LEN + 2).ok_or(ParseError::Truncated)?);
            (
                ETH_LEN + ihl,
                total.checked_sub(ihl).ok_or(ParseError::Length)?,
            )
        }
        ETHERTYPE_IPV6 => {
            if *frame.get(ETH_LEN + 6).ok_or(ParseError::Truncated)? != PROTO_UDP {
                return Err(ParseError::NotUdp);
            }
            let payload = usize::from(get16(frame, ETH_LEN + 4).ok_or(ParseError::Truncated)?);
            (ETH_LEN + IPV6_LEN, payload)
        }
        _ => return Err(ParseError::NotUdp),
    };
    let udp_len = usize::from(get16(frame, udp + 4).ok_or(ParseError::Truncated)?);
    if udp_len != ip_payload_len || udp_len < UDP_LEN + HEADER_LEN {
        return Err(ParseError::Length);
    }
    if udp.checked_add(udp_len).is_none_or(|end| end > frame.len()) {
        return Err(ParseError::Truncated);
    }
    let header = udp + UDP_LEN;
    if get16(frame, header + OFF_MAGIC) != Some(MAGIC) {
        return Err(ParseError::NotOurs);
    }
    let truncated = ParseError::Truncated;
    Ok(Parsed {
        layout: Layout {
            udp,
            header,
            len: udp + udp_len,
        },
        flow: get16(frame, header + OFF_FLOW).ok_or(truncated)?,
        seq: get32(frame, header + OFF_SEQ).ok_or(truncated)?,
        tx_ns: get64(frame, header + OFF_TX_TS).ok_or(truncated)?,
        a2b_ns: get32(frame, header + OFF_A2B).ok_or(truncated)?,
    })
}

/// Whether the IPv4 header checksum (if any) and the UDP checksum of a parsed frame are valid.
pub fn checksums_valid(frame: &[u8], layout: &Layout) -> bool {
    let frame = &frame[..layout.len];
    let ipv6 = layout.udp == ETH_LEN + IPV6_LEN && get16(frame, 12) == Some(ETHERTYPE_IPV6);
    if !ipv6 && fold(sum16(&frame[ETH_LEN..layout.udp])) != 0xffff {
        return false;
    }
    get16(frame, layout.udp + 6) == Some(udp_checksum(frame, layout.udp, ipv6))
}

#[cfg(test)]
mod tests;

/// Bytes of headers the kernel adds to a UDP payload (Ethernet + IP + UDP), so a socket baseline can
/// send frames of the same size as the AF_XDP modes.
pub fn udp_overhead(ipv6: bool) -> usize {
    ETH_LEN + if ipv6 { IPV6_LEN } else { IPV4_LEN } + UDP_LEN
}

/// Writes our header (magic, flow, sequence, send time, A→B time 0) at the start of a socket
/// payload; the rest of `buf` is left as it is.
#[inline]
pub fn write_payload(buf: &mut [u8], flow: u16, seq: u32, tx_ns: u64) {
    buf[OFF_MAGIC..OFF_MAGIC + 2].copy_from_slice(&MAGIC.to_be_bytes());
    buf[OFF_FLOW..OFF_FLOW + 2].copy_from_slice(&flow.to_be_bytes());
    buf[OFF_SEQ..OFF_SEQ + 4].copy_from_slice(&seq.to_be_bytes());
    buf[OFF_TX_TS..OFF_TX_TS + 8].copy_from_slice(&tx_ns.to_be_bytes());
    buf[OFF_A2B..OFF_A2B + 4].copy_from_slice(&0u32.to_be_bytes());
}

/// Writes the A→B time into a socket payload (the echoing side).
#[inline]
pub fn set_payload_a2b(buf: &mut [u8], a2b_ns: u32) {
    buf[OFF_A2B..OFF_A2B + 4].copy_from_slice(&a2b_ns.to_be_bytes());
}

/// Reads our header from a socket payload: (flow, sequence, send time, A→B time).
#[inline]
pub fn parse_payload(buf: &[u8]) -> Option<(u16, u32, u64, u32)> {
    if get16(buf, OFF_MAGIC)? != MAGIC {
        return None;
    }
    Some((
        get16(buf, OFF_FLOW)?,
        get32(buf, OFF_SEQ)?,
        get64(buf, OFF_TX_TS)?,
        get32(buf, OFF_A2B)?,
    ))
}

#[cfg(test)]
mod payload_tests;

/// The header's flow field: the flow (and queue) index in the upper bits, and in the lowest bit
/// whether the frame is measured (1) or warm-up (0). Flow 0 writes 0 and 1.
#[inline]
pub fn flow_field(flow: u32, measured: bool) -> u16 {
    ((flow as u16) << 1) | u16::from(measured)
}

/// Whether a flow field says "measured".
#[inline]
pub fn is_measured(field: u16) -> bool {
    field & 1 == 1
}

/// The flow index of a flow field.
#[inline]
pub fn flow_of(field: u16) -> u32 {
    u32::from(field >> 1)
}

#[cfg(test)]
mod flow_field_tests;
