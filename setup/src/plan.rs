//! The fixed address plan. Side A and side B get the same addresses in every topology: each topology
//! lives in its own namespaces, so equal addresses never meet.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::Side;

/// Addresses and MACs of the two ends of a pair.
#[derive(Clone, Copy, Debug)]
pub struct Addressing {
    /// Locally administered MACs (02:...) so frames can be built before links exist; A then B.
    pub mac: [[u8; 6]; 2],
    /// IPv4 from the RFC 2544 benchmarking range 198.18.0.0/15; A then B.
    pub ipv4: [Ipv4Addr; 2],
    /// Prefix length of the IPv4 addresses (a /30 holds exactly the two ends).
    pub ipv4_prefix: u8,
    /// IPv6 from the RFC 5180 benchmarking range 2001:2::/48; A then B.
    pub ipv6: [Ipv6Addr; 2],
    /// Prefix length of the IPv6 addresses.
    pub ipv6_prefix: u8,
}

/// The address plan of the pair topology.
pub const ADDRESSING: Addressing = Addressing {
    mac: [
        [0x02, 0x76, 0x62, 0x00, 0x00, 0x0a],
        [0x02, 0x76, 0x62, 0x00, 0x00, 0x0b],
    ],
    ipv4: [Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)],
    ipv4_prefix: 30,
    ipv6: [
        Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 2),
    ],
    ipv6_prefix: 64,
};

/// IPv6 needs links of at least this MTU (RFC 8200); below it the topology is IPv4-only.
pub const IPV6_MIN_MTU: u32 = 1280;

impl Addressing {
    /// MAC of one side.
    pub fn mac(&self, side: Side) -> [u8; 6] {
        self.mac[side.index()]
    }
    /// IPv4 address of one side.
    pub fn ipv4(&self, side: Side) -> Ipv4Addr {
        self.ipv4[side.index()]
    }
    /// IPv6 address of one side.
    pub fn ipv6(&self, side: Side) -> Ipv6Addr {
        self.ipv6[side.index()]
    }
}

/// `02:76:62:00:00:0a` style.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_stays_in_benchmarking_ranges() {
        for side in Side::BOTH {
            let v4 = ADDRESSING.ipv4(side).octets();
            assert_eq!(v4[0], 198);
            assert!(v4[1] == 18 || v4[1] == 19, "198.18.0.0/15");
            let v6 = ADDRESSING.ipv6(side).segments();
            assert_eq!(&v6[..3], &[0x2001, 0x2, 0], "2001:2::/48");
            let mac = ADDRESSING.mac(side);
            assert_eq!(mac[0] & 0x03, 0x02, "locally administered unicast");
        }
        assert_eq!(format_mac(&ADDRESSING.mac(Side::A)), "02:76:62:00:00:0a");
    }
}
