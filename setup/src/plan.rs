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

/// The address plan of the routed topology: A keeps the pair's 198.18.0.1/30 and 2001:2::1/64,
/// B moves to a subnet of its own behind the router (198.18.0.6/30, 2001:2:0:1::2/64).
pub const ROUTED_ADDRESSING: Addressing = Addressing {
    ipv4: [Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 6)],
    ipv6: [
        Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0x2001, 0x2, 0, 1, 0, 0, 0, 2),
    ],
    ..ADDRESSING
};

/// MACs of the middle namespace's veth ends: the one facing A, the one facing B.
pub const MIDDLE_MAC: [[u8; 6]; 2] = [
    [0x02, 0x76, 0x62, 0x00, 0x00, 0x0c],
    [0x02, 0x76, 0x62, 0x00, 0x00, 0x0d],
];

/// The router's IPv4 addresses: facing A (A's gateway), facing B (B's gateway).
pub const ROUTER_IPV4: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 18, 0, 5)];

/// The router's IPv6 addresses: facing A, facing B.
pub const ROUTER_IPV6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 2),
    Ipv6Addr::new(0x2001, 0x2, 0, 1, 0, 0, 0, 1),
];

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

/// The network of an address with a prefix length (host bits cleared).
pub fn network(addr: std::net::IpAddr, prefix: u8) -> std::net::IpAddr {
    match addr {
        std::net::IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            std::net::IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        std::net::IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            std::net::IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::format_mac;

    #[test]
    fn routed_plan_puts_each_end_in_the_router_s_subnet() {
        let (a, b) = (
            ROUTED_ADDRESSING.ipv4(Side::A),
            ROUTED_ADDRESSING.ipv4(Side::B),
        );
        let p = ROUTED_ADDRESSING.ipv4_prefix;
        assert_eq!(network(a.into(), p), network(ROUTER_IPV4[0].into(), p));
        assert_eq!(network(b.into(), p), network(ROUTER_IPV4[1].into(), p));
        assert_ne!(network(a.into(), p), network(b.into(), p));
        let p6 = ROUTED_ADDRESSING.ipv6_prefix;
        assert_eq!(
            network(ROUTED_ADDRESSING.ipv6(Side::B).into(), p6),
            network(ROUTER_IPV6[1].into(), p6)
        );
        assert_eq!(
            network("198.18.0.6".parse().unwrap(), 30),
            "198.18.0.4".parse::<std::net::IpAddr>().unwrap()
        );
    }

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
