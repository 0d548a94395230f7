//! Arguments of the subcommands that build, check and remove topologies.

use clap::Args;
use model::{
    RunId, SysctlSpec, TopologyKind, TopologySpec, UsageError, MAX_MTU, MAX_QUEUES, MIN_MTU,
};

use super::{parse_id, parse_topology, Toggle};

/// The run id shared by `up`, `check` and `down`.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Run id carried by every name of the topology: 1-12 characters a-z 0-9.
    #[arg(long, default_value = "0", value_parser = parse_id)]
    pub id: RunId,
}

/// Topology flags shared by `up` and `run`.
#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// How A and B connect: pair (A <-> veth <-> B), bridge (A and B on a Linux bridge in a
    /// middle namespace), routed (A and B in subnets of their own behind a router namespace), or
    /// same-ns (both veth ends in one namespace, accept_local on: the kernel stack then delivers
    /// A -> B over lo, which the report says).
    #[arg(long, value_name = "KIND", default_value = "pair", value_parser = parse_topology)]
    pub topology: TopologyKind,
    /// rx and tx queues of each veth end (default 1; for `run`, one per --flows).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_QUEUES)))]
    pub queues: Option<u32>,
    /// MTU of both ends (below 1280 the pair is IPv4-only).
    #[arg(long, value_name = "BYTES", default_value_t = 1500,
          value_parser = clap::value_parser!(u32).range(i64::from(MIN_MTU)..=i64::from(MAX_MTU)))]
    pub mtu: u32,
    /// Generic receive offload on both ends (default: the kernel's, off for veth).
    #[arg(long)]
    pub gro: Option<Toggle>,
    /// Transmit checksum offload on both ends (default: the kernel's, on for veth). Off makes the
    /// sender finish L4 checksums, so XDP programs on the peer see valid ones.
    #[arg(long)]
    pub tx_checksum: Option<Toggle>,
    /// Threaded NAPI on both ends (needs --gro on: veth has NAPI only with GRO or XDP).
    #[arg(long)]
    pub threaded: Option<Toggle>,
    /// Pin each end's NAPI threads (with --threaded on): the thread of rx queue i to the i-th
    /// core of the list (round robin); read back and recorded.
    #[arg(long, value_name = "LIST", value_parser = super::run::parse_cores)]
    pub napi_cores: Option<super::run::CoreList>,
    /// napi_defer_hard_irqs of both ends (busy polling: empty polls before interrupts return).
    #[arg(long, value_name = "N")]
    pub napi_defer_hard_irqs: Option<u32>,
    /// gro_flush_timeout of both ends in ns (busy polling: how long GRO may hold packets).
    #[arg(long, value_name = "NS")]
    pub gro_flush_timeout: Option<u64>,
    /// Reverse-path filter in both namespaces: 0 off, 1 strict, 2 loose.
    #[arg(long, value_name = "MODE", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub rp_filter: u8,
    /// Accept packets with a local source address (net.ipv4.conf.*.accept_local); default off,
    /// on for --topology same-ns.
    #[arg(long)]
    pub accept_local: Option<Toggle>,
    /// IP forwarding in both namespaces.
    #[arg(long, default_value = "off")]
    pub forwarding: Toggle,
    /// Proxy ARP on both veth ends.
    #[arg(long, default_value = "off")]
    pub proxy_arp: Toggle,
}

impl TopologyArgs {
    /// The validated topology spec for run id `id`.
    pub fn spec(&self, id: RunId) -> Result<TopologySpec, UsageError> {
        let spec = TopologySpec {
            id,
            kind: self.topology,
            queues: self.queues.unwrap_or(1),
            mtu: self.mtu,
            gro: self.gro.map(bool::from),
            tx_checksum: self.tx_checksum.map(bool::from),
            threaded_napi: self.threaded.map(bool::from),
            napi_cores: self.napi_cores.clone().map(|c| c.0),
            napi_defer_hard_irqs: self.napi_defer_hard_irqs,
            gro_flush_timeout_ns: self.gro_flush_timeout,
            sysctls: SysctlSpec {
                rp_filter: self.rp_filter,
                accept_local: self
                    .accept_local
                    .map(bool::from)
                    .unwrap_or(self.topology == TopologyKind::SameNs),
                forwarding: self.forwarding.into(),
                proxy_arp: self.proxy_arp.into(),
            },
        };
        spec.validate()?;
        let available = bench::scenario::available_cores();
        if let Some(core) = spec
            .napi_cores
            .iter()
            .flatten()
            .find(|c| !available.contains(c))
        {
            return Err(model::usage(
                "--napi-cores",
                core,
                "not a core this process may run on",
            ));
        }
        Ok(spec)
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub id: IdArg,
    #[command(flatten)]
    pub topology: TopologyArgs,
    /// Keep running until Ctrl-C (SIGINT) or SIGTERM, then tear the topology down.
    #[arg(long)]
    pub hold: bool,
    /// Print what was built as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Validated options of `vethbench up`.
#[derive(Debug)]
pub struct UpOptions {
    /// The topology to build.
    pub spec: TopologySpec,
    /// Hold it until a signal instead of leaving it up.
    pub hold: bool,
    /// JSON output.
    pub json: bool,
}

impl TryFrom<UpArgs> for UpOptions {
    type Error = UsageError;
    fn try_from(a: UpArgs) -> Result<Self, UsageError> {
        Ok(UpOptions {
            spec: a.topology.spec(a.id.id)?,
            hold: a.hold,
            json: a.json,
        })
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub id: IdArg,
    /// UDP payload bytes (1..=MTU-48 of the topology).
    #[arg(long, value_name = "BYTES", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65507))]
    pub size: u32,
    /// Print the round trips as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Validated options of `vethbench check`.
#[derive(Debug)]
pub struct CheckOptions {
    /// Which topology.
    pub id: RunId,
    /// UDP payload bytes.
    pub size: usize,
    /// JSON output.
    pub json: bool,
}

impl TryFrom<CheckArgs> for CheckOptions {
    type Error = UsageError;
    fn try_from(a: CheckArgs) -> Result<Self, UsageError> {
        Ok(CheckOptions {
            id: a.id.id,
            size: a.size as usize,
            json: a.json,
        })
    }
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub id: IdArg,
    /// Also when a live process measures on the topology (or holds it with `up --hold`): stop
    /// that process first (SIGTERM; it keeps what it measured, marked interrupted), then remove.
    #[arg(long)]
    pub force: bool,
}

/// Validated options of `vethbench down`.
#[derive(Debug)]
pub struct DownOptions {
    /// Which topology.
    pub id: RunId,
    /// Stop a live owner first instead of refusing.
    pub force: bool,
}

impl TryFrom<DownArgs> for DownOptions {
    type Error = UsageError;
    fn try_from(a: DownArgs) -> Result<Self, UsageError> {
        Ok(DownOptions {
            id: a.id.id,
            force: a.force,
        })
    }
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Also remove topologies a live process uses: stop it first (SIGTERM), then remove.
    #[arg(long)]
    pub force: bool,
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}
