//! What a topology is once built, as the kernel reported it: its ends, the middle namespace (if
//! any), addresses and link settings. Records carry it in their fingerprint.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::{Side, TopologyKind, TopologySpec};

/// `02:76:62:00:00:0a` from six bytes.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A MAC address, written `02:76:62:00:00:0a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(into = "String", try_from = "String")]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_mac(&self.0))
    }
}

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Mac {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<u8> = s
            .split(':')
            .map(|p| u8::from_str_radix(p, 16))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("not a MAC address: {s}"))?;
        <[u8; 6]>::try_from(parts)
            .map(Mac)
            .map_err(|_| format!("not a MAC address: {s}"))
    }
}

/// A NAPI kernel thread of a veth end, pinned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NapiThread {
    /// Its pid.
    pub pid: u32,
    /// Its name (`napi/<dev>-<napi id>`, cut to 15 bytes by the kernel).
    pub name: String,
    /// The cores it may run on, as read back.
    pub cores: Vec<usize>,
}

/// One end of the pair as the kernel reports it after setup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Endpoint {
    /// Which end.
    pub side: Side,
    /// Namespace the end lives in (`vb-<id>-a`).
    pub namespace: String,
    /// Interface name (`vb<id>a`).
    pub interface: String,
    /// Interface index inside its namespace.
    pub ifindex: u32,
    /// MAC address.
    pub mac: Mac,
    /// IPv4 address.
    pub ipv4: Ipv4Addr,
    /// IPv4 prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 address; `None` when the MTU is below 1280.
    pub ipv6: Option<Ipv6Addr>,
    /// IPv6 prefix length.
    pub ipv6_prefix: u8,
    /// MTU.
    pub mtu: u32,
    /// Number of rx queues.
    pub rx_queues: u32,
    /// Number of tx queues.
    pub tx_queues: u32,
    /// Generic receive offload (`ethtool -k`: rx-gro).
    pub gro: bool,
    /// Transmit checksum offload (`ethtool -k`: tx-checksum-ip-generic).
    pub tx_checksum: bool,
    /// Threaded NAPI (/sys/class/net/<dev>/threaded).
    pub threaded_napi: bool,
    /// Its NAPI threads as pinned with `--napi-cores` (affinity read back); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub napi_threads: Vec<NapiThread>,
    /// /sys/class/net/<dev>/napi_defer_hard_irqs.
    pub napi_defer_hard_irqs: u32,
    /// /sys/class/net/<dev>/gro_flush_timeout, ns.
    pub gro_flush_timeout_ns: u64,
    /// The sysctls of this namespace as read back, key → value.
    pub sysctls: BTreeMap<String, String>,
    /// The MAC frames from this end must carry to reach the other end: the router's in the
    /// routed topology; `None` (older records) means the peer's.
    #[serde(default)]
    pub next_hop_mac: Option<Mac>,
    /// The gateway toward the other end (routed topology only).
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
}

/// What was built, read back from the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopologyInfo {
    /// The spec it was built from.
    pub spec: TopologySpec,
    /// Side A, then side B.
    pub endpoints: [Endpoint; 2],
    /// The bridge or router between them, if any.
    #[serde(default)]
    pub middle: Option<Middle>,
}

impl TopologyInfo {
    /// One end.
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        &self.endpoints[side.index()]
    }

    /// The destination MAC of frames sent from `side` toward the other end.
    pub fn next_hop_mac(&self, side: Side) -> Mac {
        let e = self.endpoint(side);
        e.next_hop_mac.unwrap_or(self.endpoint(side.peer()).mac)
    }
}

/// The middle namespace as built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Middle {
    /// Bridge or routed.
    pub kind: TopologyKind,
    /// Its namespace (`vb-<id>-m`).
    pub namespace: String,
    /// Its veth ends: facing A, facing B.
    pub links: [String; 2],
    /// The bridge (bridge topology only).
    pub bridge: Option<String>,
    /// The router's IPv4 addresses, facing A and facing B (routed topology only).
    pub router_ipv4: Option<[Ipv4Addr; 2]>,
    /// The sysctls set in the namespace, as read back.
    pub sysctls: BTreeMap<String, String>,
}

/// The role letter of the middle namespace and its bridge.
pub const MIDDLE_ROLE: char = 'm';
/// Role letters of the middle's veth ends: facing A, facing B.
pub const MIDDLE_LINK_ROLES: [char; 2] = ['c', 'd'];
