//! What to build: the validated description of a topology. Validation happens here, before anything
//! touches the kernel, and every error names the command-line flag it comes from.

use serde::{Deserialize, Serialize};

use crate::{RunId, UsageError};

/// Most rx/tx queues a veth end may get here.
pub const MAX_QUEUES: u32 = 64;
/// Smallest MTU the kernel accepts on an Ethernet device (IPv4 minimum).
pub const MIN_MTU: u32 = 68;
/// Largest veth MTU.
pub const MAX_MTU: u32 = 65535;

/// Per-namespace sysctls set on both sides (the knobs of the classic veth experiments).
/// The default is the kernel's own for a fresh namespace: everything off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SysctlSpec {
    /// `net.ipv4.conf.{all,<veth>}.rp_filter`: 0 off, 1 strict, 2 loose (`--rp-filter`).
    pub rp_filter: u8,
    /// `net.ipv4.conf.{all,<veth>}.accept_local`: accept packets with a local source address.
    pub accept_local: bool,
    /// `net.ipv4.conf.{all,<veth>}.forwarding` and `net.ipv6.conf.all.forwarding`.
    pub forwarding: bool,
    /// `net.ipv4.conf.<veth>.proxy_arp`.
    pub proxy_arp: bool,
}

/// How the two measured ends are connected (`--topology`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyKind {
    /// Namespace A ↔ veth ↔ namespace B.
    #[default]
    Pair,
    /// A and B each connect by a veth pair to a Linux bridge in a middle namespace (`vb-<id>-m`).
    Bridge,
    /// A and B each connect by a veth pair to a router namespace (`vb-<id>-m`, forwarding on),
    /// each in a subnet of its own, with routes through the router.
    Routed,
    /// Both veth ends in one namespace (`vb-<id>-a`) with accept_local: the kernel stack delivers
    /// A→B locally over `lo`, AF_XDP still crosses the veth.
    SameNs,
}

impl TopologyKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [TopologyKind; 4] = [
        TopologyKind::Pair,
        TopologyKind::Bridge,
        TopologyKind::Routed,
        TopologyKind::SameNs,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TopologyKind::Pair => "pair",
            TopologyKind::Bridge => "bridge",
            TopologyKind::Routed => "routed",
            TopologyKind::SameNs => "same-ns",
        }
    }

    /// Whether a middle namespace (bridge or router) sits between A and B.
    pub fn has_middle(self) -> bool {
        matches!(self, TopologyKind::Bridge | TopologyKind::Routed)
    }
}

impl std::fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A topology: how A and B connect, and the settings of their veth ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopologySpec {
    /// The run id every name carries (`--id`).
    pub id: RunId,
    /// How A and B connect (`--topology`); records without it are pairs.
    #[serde(default)]
    pub kind: TopologyKind,
    /// rx and tx queues of each veth end (`--queues`, 1..=64).
    pub queues: u32,
    /// MTU of both ends (`--mtu`, 68..=65535; below 1280 the pair is IPv4-only).
    pub mtu: u32,
    /// Generic receive offload on both ends (`--gro`); `None` keeps the kernel default.
    pub gro: Option<bool>,
    /// Transmit checksum offload on both ends (`--tx-checksum`); `None` keeps the kernel default.
    /// Off makes the kernel finish L4 checksums before frames cross the veth.
    pub tx_checksum: Option<bool>,
    /// Threaded NAPI on both ends (`--threaded`); needs NAPI, i.e. `--gro on` (or XDP attached).
    pub threaded_napi: Option<bool>,
    /// Cores the NAPI threads of each end are pinned to (`--napi-cores`, with `--threaded on`):
    /// the thread of rx queue i on the i-th core of the list (round robin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub napi_cores: Option<Vec<usize>>,
    /// `napi_defer_hard_irqs` of both ends (`--napi-defer-hard-irqs`), for busy polling.
    pub napi_defer_hard_irqs: Option<u32>,
    /// `gro_flush_timeout` of both ends in ns (`--gro-flush-timeout`), for busy polling.
    pub gro_flush_timeout_ns: Option<u64>,
    /// Sysctls set in both namespaces.
    pub sysctls: SysctlSpec,
}

impl TopologySpec {
    /// The defaults: one queue, MTU 1500, kernel defaults for offloads, sysctls as in [`SysctlSpec`].
    pub fn new(id: RunId) -> Self {
        TopologySpec {
            id,
            kind: TopologyKind::Pair,
            queues: 1,
            mtu: 1500,
            gro: None,
            tx_checksum: None,
            threaded_napi: None,
            napi_cores: None,
            napi_defer_hard_irqs: None,
            gro_flush_timeout_ns: None,
            sysctls: SysctlSpec::default(),
        }
    }

    /// The namespace side `side` lives in: `vb-<id>-a` / `vb-<id>-b`, both `vb-<id>-a` for same-ns.
    pub fn namespace_of(&self, side: crate::Side) -> String {
        match self.kind {
            TopologyKind::SameNs => self.id.namespace(crate::Side::A),
            _ => self.id.namespace(side),
        }
    }

    /// Every namespace of the topology, the middle one (`vb-<id>-m`) last.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all: Vec<String> = crate::Side::BOTH
            .iter()
            .map(|&s| self.namespace_of(s))
            .collect();
        all.dedup();
        if self.kind.has_middle() {
            all.push(self.id.namespace_for_role(crate::topology::MIDDLE_ROLE));
        }
        all
    }

    /// Checks every field; the error names the flag and the allowed range.
    pub fn validate(&self) -> Result<(), UsageError> {
        let bad = |flag, value: &dyn std::fmt::Display, reason: String| UsageError {
            flag,
            value: value.to_string(),
            reason,
        };
        if !(1..=MAX_QUEUES).contains(&self.queues) {
            return Err(bad(
                "--queues",
                &self.queues,
                format!("out of range, allowed 1..={MAX_QUEUES}"),
            ));
        }
        if !(MIN_MTU..=MAX_MTU).contains(&self.mtu) {
            return Err(bad(
                "--mtu",
                &self.mtu,
                format!("out of range, allowed {MIN_MTU}..={MAX_MTU}"),
            ));
        }
        if self.sysctls.rp_filter > 2 {
            return Err(bad(
                "--rp-filter",
                &self.sysctls.rp_filter,
                "allowed 0 (off), 1 (strict), 2 (loose)".into(),
            ));
        }
        if self.kind == TopologyKind::SameNs && !self.sysctls.accept_local {
            return Err(bad(
                "--accept-local",
                &"off",
                "same-ns needs accept_local on (frames arriving with a local source address would be dropped); leave it at its default".into(),
            ));
        }
        if let Some(cores) = &self.napi_cores {
            if self.threaded_napi != Some(true) || cores.is_empty() {
                return Err(bad(
                    "--napi-cores",
                    &cores
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    "pins NAPI threads, which exist only with `--threaded on --gro on`; give at least one core".into(),
                ));
            }
        }
        if self.threaded_napi == Some(true) && self.gro != Some(true) {
            return Err(bad(
                "--threaded",
                &"on",
                "veth has NAPI only with GRO on or XDP attached: add `--gro on`".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TopologySpec {
        TopologySpec::new(RunId::new("t").unwrap())
    }

    #[test]
    fn defaults_are_valid() {
        spec().validate().unwrap();
    }

    #[test]
    fn out_of_range_values_name_flag_and_range() {
        type Case = (fn(&mut TopologySpec), &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (|s| s.queues = 0, "--queues 0", "1..=64"),
            (|s| s.queues = 65, "--queues 65", "1..=64"),
            (|s| s.mtu = 67, "--mtu 67", "68..=65535"),
            (|s| s.mtu = 65536, "--mtu 65536", "68..=65535"),
            (|s| s.sysctls.rp_filter = 3, "--rp-filter 3", "2 (loose)"),
            (
                |s| s.threaded_napi = Some(true),
                "--threaded on",
                "--gro on",
            ),
        ];
        for (mutate, flag, range) in cases {
            let mut s = spec();
            mutate(&mut s);
            let msg = s.validate().unwrap_err().to_string();
            assert!(msg.starts_with(flag), "{msg}");
            assert!(msg.contains(range), "{msg}");
        }
    }

    #[test]
    fn edges_of_ranges_are_accepted() {
        for (q, mtu) in [(1, 68), (64, 65535)] {
            let mut s = spec();
            s.queues = q;
            s.mtu = mtu;
            s.validate().unwrap();
        }
        let mut s = spec();
        s.gro = Some(true);
        s.threaded_napi = Some(true);
        s.validate().unwrap();
    }
}
