//! Command-line interface. Each subcommand has one args struct (what clap parses) and, where the
//! values need checking against each other, one validated options struct built from it before
//! anything touches the kernel.

use clap::{Args, Parser, Subcommand, ValueEnum};
use setup::{RunId, SetupError, SysctlSpec, TopologySpec, MAX_MTU, MAX_QUEUES, MIN_MTU};

/// Measures the Linux veth data plane — AF_XDP kernel bypass next to the kernel stack — between
/// network namespaces it creates and removes itself (RFC 2544 ranges 198.18.0.0/15, 2001:2::/48).
#[derive(Debug, Parser)]
#[command(name = "vethbench", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a pair topology (namespace A <-> veth <-> namespace B) and leave it up.
    ///
    /// Creates namespaces vb-<id>-a and vb-<id>-b with veth ends vb<id>a / vb<id>b,
    /// 198.18.0.1/30 <-> 198.18.0.2/30 and 2001:2::1/64 <-> 2001:2::2/64, permanent neighbour
    /// entries (no ARP/ND needed), and prints what the kernel reports back.
    Up(UpArgs),
    /// Send a UDP datagram across a topology and back (IPv4 and, if MTU >= 1280, IPv6).
    Check(CheckArgs),
    /// Remove the topology of one run id.
    Down(DownArgs),
    /// Remove every leftover of ours (namespaces vb-<id>-<x>, links vb<id><x>) and say what went.
    ///
    /// Topologies whose owning process is still running (a benchmark, `up --hold`) are left alone
    /// unless --force is given.
    Cleanup(CleanupArgs),
    /// Check that this host can run the benchmark; prints a pass/fail table with a fix for each
    /// failure. Exit status 1 if any check fails.
    Doctor(DoctorArgs),
}

/// On or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Toggle {
    On,
    Off,
}

impl From<Toggle> for bool {
    fn from(t: Toggle) -> bool {
        t == Toggle::On
    }
}

fn parse_id(s: &str) -> Result<RunId, String> {
    RunId::new(s).map_err(|e| match e {
        SetupError::InvalidInput { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// The run id shared by `up`, `check` and `down`.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Run id carried by every name of the topology: 1-12 characters a-z 0-9.
    #[arg(long, default_value = "0", value_parser = parse_id)]
    pub id: RunId,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub id: IdArg,
    /// rx and tx queues of each veth end.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_QUEUES)))]
    pub queues: u32,
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
    /// Reverse-path filter in both namespaces: 0 off, 1 strict, 2 loose.
    #[arg(long, value_name = "MODE", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub rp_filter: u8,
    /// Accept packets with a local source address (net.ipv4.conf.*.accept_local).
    #[arg(long, default_value = "off")]
    pub accept_local: Toggle,
    /// IP forwarding in both namespaces.
    #[arg(long, default_value = "off")]
    pub forwarding: Toggle,
    /// Proxy ARP on both veth ends.
    #[arg(long, default_value = "off")]
    pub proxy_arp: Toggle,
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
    type Error = SetupError;
    fn try_from(a: UpArgs) -> Result<Self, SetupError> {
        let spec = TopologySpec {
            id: a.id.id,
            queues: a.queues,
            mtu: a.mtu,
            gro: a.gro.map(bool::from),
            tx_checksum: a.tx_checksum.map(bool::from),
            threaded_napi: a.threaded.map(bool::from),
            sysctls: SysctlSpec {
                rp_filter: a.rp_filter,
                accept_local: a.accept_local.into(),
                forwarding: a.forwarding.into(),
                proxy_arp: a.proxy_arp.into(),
            },
        };
        spec.validate()?;
        Ok(UpOptions {
            spec,
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
    type Error = SetupError;
    fn try_from(a: CheckArgs) -> Result<Self, SetupError> {
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
}

/// Validated options of `vethbench down`.
#[derive(Debug)]
pub struct DownOptions {
    /// Which topology.
    pub id: RunId,
}

impl TryFrom<DownArgs> for DownOptions {
    type Error = SetupError;
    fn try_from(a: DownArgs) -> Result<Self, SetupError> {
        Ok(DownOptions { id: a.id.id })
    }
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Also remove topologies whose owning process is still running.
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
