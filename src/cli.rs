//! Command-line interface. Each subcommand has one args struct (what clap parses) and, where the
//! values need checking against each other, one validated options struct built from it before
//! anything touches the kernel.

use bench::scenario::{BenchError, Mode, RunSpec};
use bench::suite::{SUITE_MODES, SUITE_SIZES};
use bench::xsk::XskConfig;
use bpf::XdpMode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use results::Format;
use setup::{
    RunId, SetupError, SysctlSpec, TopologyKind, TopologySpec, MAX_MTU, MAX_QUEUES, MIN_MTU,
};

/// Measures the Linux veth data plane — AF_XDP kernel bypass next to the kernel stack — between
/// network namespaces it creates and removes itself (RFC 2544 ranges 198.18.0.0/15, 2001:2::/48).
#[derive(Debug, Parser)]
#[command(name = "vethbench", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    /// Print only results (and errors): no progress lines.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also log the detail of every stage on stderr (RUST_LOG, e.g. RUST_LOG=debug, selects
    /// finer).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The version with the git commit built from ("unknown" outside a git checkout, e.g. for
/// `cargo install` from a registry).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("VETHBENCH_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a topology and leave it up (or hold it until a signal with --hold).
    ///
    /// Four kinds (--topology): pair (namespaces vb-<id>-a and vb-<id>-b joined by the veth
    /// vb<id>a / vb<id>b, 198.18.0.1/30 <-> 198.18.0.2/30 and 2001:2::1/64 <-> 2001:2::2/64),
    /// bridge and routed (A and B each joined by a veth to a middle namespace vb-<id>-m with a
    /// Linux bridge, or a router), and same-ns (both ends in one namespace). Permanent neighbour
    /// entries (no ARP/ND needed); prints what the kernel reports back.
    Up(UpArgs),
    /// Measure: build a topology (or use one left up, --on), run, tear down what was built.
    ///
    /// Without --mode: the suite — for 64, 512 and 1500-byte frames, AF_XDP throughput and
    /// latency next to the kernel stack's UDP flood, UDP ping-pong and ICMP echo, three trials
    /// each, ending in an AF_XDP vs kernel-stack table. With --mode: that one mode (five AF_XDP
    /// modes, three kernel-stack modes). Prints rates, loss and latency percentiles, and accounts
    /// for every frame: sent = received + attributed (to a kernel counter) + unexplained. The
    /// record goes to --out after every trial. Ctrl-C or SIGTERM ends the current trial (kept in
    /// the record, marked interrupted, left out of estimates), prints what was measured and exits
    /// 130 or 143; an interrupted run never becomes a baseline.
    Run(Box<RunArgs>),
    /// Compare two result records: per scenario and metric the baseline and new medians, the change
    /// with its 95 % confidence interval, and a verdict; then what differs between the two
    /// environments (kernel, settings).
    ///
    /// Statistics: the change is the ratio of the geometric means of the two records' complete
    /// trials; its 95 % interval is Welch's t interval of the difference of the mean logarithms.
    /// Verdicts: improved or REGRESSED if the whole interval lies beyond the noise band (--noise),
    /// no change if it lies wholly inside it, inconclusive otherwise (also with one trial on a
    /// side). Exit status: 0 no regression and all conclusive, 1 a metric regressed, 2 unusable
    /// input (a file missing, malformed, or of another record format version), 3 no regression
    /// but something inconclusive (--fail-on chooses which of these fail).
    Compare(CompareArgs),
    /// Measure every combination of settings (a sweep) and say which is best.
    ///
    /// The axes come from a TOML file (`[axes]` lists, `[run]` shared settings; see README) and/or
    /// the flags below (a flag replaces the file's axis). The whole plan is checked before
    /// anything runs. Each point is stored as a record under <out>/sweep-<name>/ as soon as it is
    /// measured; --resume skips points already stored; Ctrl-C stops after tearing down and keeps
    /// what was measured. Ends with the best point per objective (highest lossless rate, lowest
    /// RTT p99), named a winner only if it beat the point at default settings conclusively
    /// (`compare`'s statistics over the points' trials).
    Sweep(Box<SweepArgs>),
    /// Write one self-contained HTML report (SVG plots, no network) from result records:
    /// throughput by frame size, latency percentiles, per-knob effects of sweeps, an optional
    /// comparison, and where each record was measured.
    ///
    /// RESULTS are record files or directories (searched recursively for records). Exit status
    /// 2 if a named file is missing or not a record.
    Report(ReportArgs),
    /// Measure this machine's run-to-run variation from records of identical runs: per metric, the
    /// band within which two runs differ by that variation alone (95 %), to use as noise bands
    /// (`--noise-from`).
    Noise(NoiseArgs),
    /// Print stored result records in another format: table, json, csv, markdown or bmf.
    ///
    /// Exit status 2 if a file is missing, malformed, or of another record format version.
    Export(ExportArgs),
    /// Send a UDP datagram across a topology and back (IPv4 and, if MTU >= 1280, IPv6).
    Check(CheckArgs),
    /// Remove the topology of one run id.
    ///
    /// A topology a live process measures on (or holds with `up --hold`) is left alone, naming
    /// that process, unless --force is given.
    Down(DownArgs),
    /// Remove every leftover of ours (namespaces vb-<id>-<x>, links vb<id><x>, state records
    /// under /run/vethbench) and say what went.
    ///
    /// Topologies a live process measures on or holds (a benchmark, `up --hold`) are left alone
    /// unless --force is given, which stops that process first (SIGTERM).
    Cleanup(CleanupArgs),
    /// Check that this host can run the benchmark; prints a pass/fail table with a fix for each
    /// failure. Exit status 1 if any check fails.
    Doctor(DoctorArgs),
    /// Print a shell completion script: `vethbench completions bash > /etc/bash_completion.d/vethbench`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `vethbench man > /usr/local/share/man/man1/vethbench.1`.
    Man,
}

impl Command {
    /// The subcommand's name if it builds, uses or removes topologies (and so needs the
    /// capabilities in [`crate::privileges::NEEDED`]).
    pub fn needs_privileges(&self) -> Option<&'static str> {
        match self {
            Command::Up(_) => Some("up"),
            Command::Run(_) => Some("run"),
            Command::Sweep(_) => Some("sweep"),
            Command::Check(_) => Some("check"),
            Command::Down(_) => Some("down"),
            Command::Cleanup(_) => Some("cleanup"),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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

fn parse_topology(s: &str) -> Result<TopologyKind, String> {
    TopologyKind::ALL
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or_else(|| format!("'{s}' is not a topology; one of pair, bridge, routed, same-ns"))
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

/// Topology flags shared by `up` and `run`.
#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// How A and B connect: pair (A <-> veth <-> B), bridge (A and B on a Linux bridge in a
    /// middle namespace), routed (A and B in subnets of their own behind a router namespace), or
    /// same-ns (both veth ends in one namespace, accept_local on: the kernel stack then delivers
    /// A -> B over lo, which the report says).
    #[arg(long, value_name = "KIND", default_value = "pair", value_parser = parse_topology)]
    pub topology: TopologyKind,
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
    pub fn spec(&self, id: RunId) -> Result<TopologySpec, SetupError> {
        let spec = TopologySpec {
            id,
            kind: self.topology,
            queues: self.queues,
            mtu: self.mtu,
            gro: self.gro.map(bool::from),
            tx_checksum: self.tx_checksum.map(bool::from),
            threaded_napi: self.threaded.map(bool::from),
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
    type Error = SetupError;
    fn try_from(a: UpArgs) -> Result<Self, SetupError> {
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
    type Error = SetupError;
    fn try_from(a: DownArgs) -> Result<Self, SetupError> {
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

/// Benchmark modes (see `vethbench run --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// A transmits (AF_XDP), B receives (AF_XDP) and drops: offered vs received rate, loss.
    Throughput,
    /// A transmits, B sends every frame back through its AF_XDP TX: rate and RTT under load.
    L2fwd,
    /// Ping-pong with --inflight frames outstanding: RTT and one-way times.
    Latency,
    /// A's AF_XDP TX into an in-kernel XDP sink on B: the receive ceiling of this path.
    XdpDrop,
    /// A's AF_XDP ping-pong against an in-kernel XDP_TX reflector on B: the latency floor.
    XdpTx,
    /// Kernel stack: ICMP echo from A to B's kernel, like `ping -I <veth>` (ping socket).
    Icmp,
    /// Kernel stack: UDP request/response, client in A, echo server in B (--busy-poll: SO_BUSY_POLL).
    UdpPingpong,
    /// Kernel stack: sendmmsg batches from A, recvmmsg batches in B.
    UdpFlood,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Throughput => Mode::Throughput,
            ModeArg::L2fwd => Mode::L2fwd,
            ModeArg::Latency => Mode::Latency,
            ModeArg::XdpDrop => Mode::XdpDrop,
            ModeArg::XdpTx => Mode::XdpTx,
            ModeArg::Icmp => Mode::Icmp,
            ModeArg::UdpPingpong => Mode::UdpPingpong,
            ModeArg::UdpFlood => Mode::UdpFlood,
        }
    }
}

/// XDP attach modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum XdpModeArg {
    /// Native XDP in the veth driver.
    Drv,
    /// Generic XDP after the skb is built.
    Skb,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&v) {
        return Err(format!("{v} is outside 0..=3600 seconds"));
    }
    Ok(v)
}

fn parse_precision(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (e.g. 2%)"))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(format!("{v} % is outside (0, 100] %"));
    }
    Ok(v)
}

fn parse_cores(s: &str) -> Result<[usize; 2], String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [a, b] = parts.as_slice() else {
        return Err(format!(
            "'{s}': give two cores as A,B (sender, receiver), e.g. 0,1"
        ));
    };
    let core = |c: &str| {
        c.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{c}' is not a core number"))
    };
    Ok([core(a)?, core(b)?])
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to measure. Without --mode: the suite (for each size: throughput next to udp-flood,
    /// latency next to udp-pingpong and icmp), ending in an AF_XDP vs kernel-stack table.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Frame sizes in bytes, comma-separated: Ethernet header included, FCS excluded
    /// (64..=MTU+14; IPv6 >= 82). `rfc2544` is 64,128,256,512,1024,1280,1500. One row per size.
    /// Default: 64 with --mode, 64,512,1500 for the suite.
    #[arg(
        long,
        value_name = "BYTES[,BYTES...]",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub size: Vec<String>,
    /// Send IPv6 frames instead of IPv4.
    #[arg(long)]
    pub ipv6: bool,
    /// Measuring time in seconds per measurement, after the warm-up (default: 5 with --mode,
    /// 1 per phase for the suite).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Warm-up before measuring, in seconds (sent and accounted, not measured).
    #[arg(long, value_name = "SECONDS", default_value = "0.5", value_parser = parse_seconds)]
    pub warmup: f64,
    /// Stop after this many measured frames (with --duration 0: only this).
    #[arg(long, value_name = "FRAMES")]
    pub count: Option<u64>,
    /// Offered rate limit in frames per second (throughput, l2fwd, xdp-drop).
    #[arg(long, value_name = "PPS")]
    pub rate: Option<u64>,
    /// Frames in flight (latency, xdp-tx).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub inflight: u32,
    /// Cores of the sender (A) and the receiver (B). B's XDP program runs in softirq on A's core.
    #[arg(long, value_name = "A,B", default_value = "0,1", value_parser = parse_cores)]
    pub cores: [usize; 2],
    /// Where the XDP programs run.
    #[arg(long, value_enum, default_value = "drv")]
    pub xdp_mode: XdpModeArg,
    /// UMEM frames per socket.
    #[arg(long, value_name = "N", default_value_t = XskConfig::default().frames)]
    pub frames: u32,
    /// UMEM frame size: 2048 or 4096 (frames above 1792 bytes need 4096).
    #[arg(long, value_name = "BYTES", default_value_t = XskConfig::default().frame_size)]
    pub frame_size: u32,
    /// Entries of each AF_XDP ring (fill, completion, rx, tx); a power of two.
    #[arg(long, value_name = "N", default_value_t = XskConfig::default().ring)]
    pub ring: u32,
    /// Descriptors per ring operation.
    #[arg(long, value_name = "N", default_value_t = XskConfig::default().batch)]
    pub batch: u32,
    /// XDP_USE_NEED_WAKEUP on the sockets.
    #[arg(long, default_value = "on")]
    pub need_wakeup: Toggle,
    /// Busy polling on the sockets (SO_PREFER_BUSY_POLL, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET).
    #[arg(long)]
    pub busy_poll: bool,
    /// Ask for AF_XDP zero-copy (veth has none: refused with an explanation).
    #[arg(long)]
    pub zero_copy: bool,
    /// Do not stamp or record latencies (to measure what measuring costs).
    #[arg(long)]
    pub no_timestamps: bool,
    /// Run id of the topology (default: a fresh one).
    #[arg(long, value_parser = parse_id)]
    pub id: Option<RunId>,
    /// Measure on a topology left up by `vethbench up --id ID` instead of building one (it is
    /// left up afterwards; the topology flags do not apply).
    #[arg(long, value_name = "ID", value_parser = parse_id, conflicts_with = "id")]
    pub on: Option<RunId>,
    #[command(flatten)]
    pub topology: TopologyArgs,
    /// Repeat every measurement this many times (default: 1 with --mode, 3 for the suite);
    /// the record gets median, mean, 95 % confidence interval and CV per metric.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trials: Option<u32>,
    /// Directory for the result record (written after every trial, never overwriting; checked
    /// before anything is built). Named baselines go to DIR/baselines/.
    #[arg(long, value_name = "DIR", default_value = crate::outdir::DEFAULT_OUT)]
    pub out: std::path::PathBuf,
    /// Print this run's raw figures as JSON (every counter and histogram) instead of a table.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Show each trial's per-second figures (rates, busy and steal of the pinned cores) live on
    /// stderr, as -v does; they are recorded either way.
    #[arg(long)]
    pub interval: bool,
    /// Adaptive trials: after --trials (default 3), keep running rounds of trials until every
    /// judged metric's 95 % interval is within ±PERCENT (or --max-time passes); the record says
    /// whether the precision was reached and with how many trials. --baseline runs adaptively
    /// too, until every verdict is conclusive.
    #[arg(long, value_name = "PERCENT", value_parser = parse_precision)]
    pub precision: Option<f64>,
    /// Time limit of an adaptive run (--precision, --baseline), seconds: no round starts that
    /// would end after it.
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = parse_seconds)]
    pub max_time: f64,
    /// What to print when the run ends: table (default), json (the whole record as stored), csv,
    /// markdown, or bmf (Bencher Metric Format, for continuous benchmarking services).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// Also store the record as the named baseline NAME (<out>/baselines/NAME.json), replacing the
    /// previous baseline of that name.
    #[arg(long, value_name = "NAME", value_parser = parse_baseline_name)]
    pub save_baseline: Option<String>,
    /// Compare this run with the named baseline NAME (saved earlier with --save-baseline) and exit
    /// as `compare` does: 1 if a metric regressed, 2 if the baseline is missing or unusable
    /// (checked before anything runs).
    #[arg(long, value_name = "NAME", value_parser = parse_baseline_name)]
    pub baseline: Option<String>,
    /// Noise band for --baseline (as for `compare`).
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
    /// Per-metric noise bands measured on this machine by `vethbench noise --save FILE` (each
    /// metric's band is the wider of this and --noise). Default: <out>/noise.json when it
    /// exists, so a profile saved in the results directory serves every --baseline run.
    #[arg(long, value_name = "FILE", requires = "baseline")]
    pub noise_from: Option<std::path::PathBuf>,
    /// What fails with --baseline (as for `compare`): inconclusive (exit 1 on a regression, 3 on
    /// an inconclusive metric), regression, or never.
    #[arg(
        long,
        value_enum,
        default_value = "inconclusive",
        requires = "baseline"
    )]
    pub fail_on: FailOn,
}

pub(crate) fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Baseline names become file names: 1-64 characters of A-Z a-z 0-9 . _ -, not starting with '.'.
fn parse_baseline_name(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not a baseline name: 1-64 characters of A-Z a-z 0-9 . _ -, not starting with '.'"
        ))
    }
}

/// The RFC 2544 frame sizes that fit a 1500-byte MTU.
pub const RFC2544_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 1280, 1500];

/// Expands `--size` values (numbers or `rfc2544`) into sizes, in order, without repeats.
fn parse_sizes(values: &[String]) -> Result<Vec<usize>, SetupError> {
    let bad = |reason: String| SetupError::InvalidInput {
        flag: "--size",
        value: values.join(","),
        reason,
    };
    let mut sizes = Vec::new();
    for v in values {
        let more: Vec<usize> = match v.trim() {
            "rfc2544" => RFC2544_SIZES.to_vec(),
            "" => return Err(bad("an empty value between commas: give frame sizes in bytes (e.g. 64,1500) or rfc2544".into())),
            n => vec![n.parse().map_err(|_| {
                bad(format!(
                    "'{n}' is not a frame size: give sizes as positive numbers of bytes (e.g. 64,1500) or rfc2544"
                ))
            })?],
        };
        for size in more {
            if !sizes.contains(&size) {
                sizes.push(size);
            }
        }
    }
    Ok(sizes)
}

/// Validated options of `vethbench run`.
#[derive(Debug)]
pub struct RunOptions {
    /// The topology to build.
    pub topology: TopologySpec,
    /// Run on this existing topology instead (`--on`).
    pub existing: Option<RunId>,
    /// Frame sizes, one measurement each (`run.size` is the first).
    pub sizes: Vec<usize>,
    /// Run the suite (no `--mode` given) instead of one mode.
    pub suite: bool,
    /// Trials per measurement.
    pub trials: usize,
    /// Where the record goes.
    pub out: std::path::PathBuf,
    /// The measurement.
    pub run: RunSpec,
    /// Raw JSON output of the run (`--json`).
    pub json: bool,
    /// Export format of the record.
    pub format: Format,
    /// Store the record as this named baseline.
    pub save_baseline: Option<String>,
    /// Compare with this named baseline: its name and the record read before the run.
    pub baseline: Option<(String, results::Record)>,
    /// Noise band for the comparison, per metric.
    pub noise: results::noise::NoiseBand,
    /// What makes the comparison with the baseline fail.
    pub fail_on: FailOn,
    /// Show per-second figures live.
    pub interval: bool,
    /// Adaptive trials until every judged metric is within ± this percent.
    pub precision: Option<f64>,
    /// Time limit of an adaptive run.
    pub max_time: std::time::Duration,
}

impl TryFrom<RunArgs> for RunOptions {
    type Error = anyhow::Error;
    fn try_from(a: RunArgs) -> anyhow::Result<Self> {
        if a.zero_copy {
            return Err(SetupError::InvalidInput {
                flag: "--zero-copy",
                value: String::new(),
                reason: "veth has no AF_XDP zero-copy mode (its driver does not implement XDP_ZEROCOPY); \
                         it binds in copy mode, which is the default"
                    .into(),
            }
            .into());
        }
        crate::outdir::check(&a.out, "--out")?;
        // The baseline is read first: a missing or broken one must stop the run before it starts.
        let baseline = match a.baseline {
            Some(name) => {
                let path = results::baseline_path(&a.out, &name);
                let record = results::load(&path).map_err(|e| SetupError::InvalidInput {
                    flag: "--baseline",
                    value: name.clone(),
                    reason: format!("{e} (save one first with --save-baseline {name})"),
                })?;
                Some((name, record))
            }
            None => None,
        };
        let topology = a.topology.spec(a.id.unwrap_or_else(RunId::generate))?;
        let defaults = TopologySpec::new(topology.id.clone());
        if a.on.is_some() && topology != defaults {
            return Err(SetupError::InvalidInput {
                flag: "--on",
                value: a.on.map(|i| i.to_string()).unwrap_or_default(),
                reason: "measures an existing topology: leave out the topology flags (--mtu, --queues, --gro, ...)".into(),
            }
            .into());
        }
        let suite = a.mode.is_none();
        let sizes = match (a.size.is_empty(), suite) {
            (false, _) => parse_sizes(&a.size)?,
            (true, true) => SUITE_SIZES.to_vec(),
            (true, false) => vec![64],
        };
        // Adaptive runs start from three trials: fewer have no spread to judge from.
        let adaptive = a.precision.is_some() || baseline.is_some();
        let trials = a.trials.unwrap_or(if suite || adaptive { 3 } else { 1 }) as usize;
        // The suite's default keeps the whole run well under two minutes with three trials.
        let duration = a.duration.unwrap_or(if suite { 1.0 } else { 5.0 });
        let run = RunSpec {
            mode: a.mode.map(Mode::from).unwrap_or(Mode::Throughput),
            size: sizes[0],
            ipv6: a.ipv6,
            duration_ns: (duration * 1e9) as u64,
            warmup_ns: (a.warmup * 1e9) as u64,
            count: a.count,
            rate: a.rate,
            inflight: a.inflight,
            xsk: XskConfig {
                frames: a.frames,
                frame_size: a.frame_size,
                ring: a.ring,
                batch: a.batch,
                need_wakeup: a.need_wakeup.into(),
                busy_poll: a.busy_poll,
            },
            xdp_mode: match a.xdp_mode {
                XdpModeArg::Drv => XdpMode::Drv,
                XdpModeArg::Skb => XdpMode::Skb,
            },
            cores: a.cores,
            timestamps: !a.no_timestamps,
        };
        if !suite {
            run.check_applies().map_err(usage)?;
        }
        let modes: Vec<Mode> = if suite {
            SUITE_MODES.to_vec()
        } else {
            vec![run.mode]
        };
        for &size in &sizes {
            for &mode in &modes {
                // The suite passes --rate only to its open-loop phases (see bench::suite::phases).
                let rate = if suite && mode.closed_loop() {
                    None
                } else {
                    run.rate
                };
                RunSpec {
                    size,
                    mode,
                    rate,
                    ..run.clone()
                }
                .validate(topology.mtu)
                .map_err(usage)?;
            }
        }
        // A noise profile saved in the results directory applies to every --baseline run.
        let noise_from = a.noise_from.clone().or_else(|| {
            let beside = a.out.join("noise.json");
            (baseline.is_some() && beside.is_file()).then_some(beside)
        });
        let noise = noise_band(a.noise, noise_from.as_deref())?;
        Ok(RunOptions {
            topology,
            existing: a.on,
            sizes,
            suite,
            trials,
            out: a.out,
            run,
            json: a.json,
            format: a.format.unwrap_or(Format::Table),
            save_baseline: a.save_baseline,
            baseline,
            noise,
            fail_on: a.fail_on,
            interval: a.interval,
            precision: a.precision,
            max_time: std::time::Duration::from_secs_f64(a.max_time),
        })
    }
}

/// Bench validation errors are usage errors too: carry them as `InvalidInput` (exit 2).
pub(crate) fn usage(e: BenchError) -> anyhow::Error {
    match e {
        BenchError::Invalid {
            flag,
            value,
            reason,
        } => SetupError::InvalidInput {
            flag,
            value,
            reason,
        }
        .into(),
        BenchError::Xsk(bench::xsk::XskError::Invalid {
            flag,
            value,
            reason,
        }) => SetupError::InvalidInput {
            flag,
            value,
            reason,
        }
        .into(),
        other => other.into(),
    }
}

/// When `compare` and `run --baseline` fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when a metric regressed, 3 when none did but one is inconclusive.
    Inconclusive,
    /// Exit 1 when a metric regressed; inconclusive ones are only reported.
    Regression,
    /// Always exit 0 on usable input (report only).
    Never,
}

fn parse_noise(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (e.g. 2%)"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{v} % is outside 0..=100 %"));
    }
    Ok(v)
}

/// The noise band of `--noise`, widened per metric by a profile from `--noise-from` (read now:
/// a missing or broken one is bad input).
pub fn noise_band(
    pct: f64,
    from: Option<&std::path::Path>,
) -> Result<results::noise::NoiseBand, SetupError> {
    let mut band = results::noise::NoiseBand::flat(pct);
    if let Some(path) = from {
        let profile = results::noise::load_profile(path).map_err(|e| SetupError::InvalidInput {
            flag: "--noise-from",
            value: path.display().to_string(),
            reason: e.to_string(),
        })?;
        band.per_metric_pct = profile.bands_pct;
    }
    Ok(band)
}

#[derive(Debug, Args)]
pub struct NoiseArgs {
    /// Records of identical runs (three or more), e.g. `run --mode throughput --trials 5` repeated.
    #[arg(required = true, value_name = "RECORD", num_args = 3..)]
    pub records: Vec<std::path::PathBuf>,
    /// Also store the profile as FILE, for `compare --noise-from FILE` and `run --noise-from FILE`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline record (a file written by `vethbench run`).
    pub baseline: std::path::PathBuf,
    /// The new record.
    pub new: std::path::PathBuf,
    /// Noise band: changes whose interval does not lie entirely beyond it count as no change.
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
    /// Per-metric noise bands measured on this machine by `vethbench noise --save FILE` (each
    /// metric's band is the wider of this and --noise).
    #[arg(long, value_name = "FILE")]
    pub noise_from: Option<std::path::PathBuf>,
    /// What fails: inconclusive (exit 1 on a regression, 3 on an inconclusive metric), regression
    /// (exit 1 on a regression only), or never.
    #[arg(long, value_enum, default_value = "inconclusive")]
    pub fail_on: FailOn,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Records written by `vethbench run`, printed one after the other.
    #[arg(required = true, value_name = "RECORD")]
    pub records: Vec<std::path::PathBuf>,
    /// table, json, csv, markdown or bmf (Bencher Metric Format).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = parse_format)]
    pub format: Format,
}

fn parse_toggle_list(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("'{s}': on or off")),
    }
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Sweep file (TOML) with [axes] and [run] tables.
    #[arg(value_name = "FILE.toml")]
    pub file: Option<std::path::PathBuf>,
    /// Frame sizes (axis), comma-separated.
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub size: Option<Vec<usize>>,
    /// Modes (axis).
    #[arg(long, value_enum, value_name = "MODE,...", value_delimiter = ',')]
    pub mode: Option<Vec<ModeArg>>,
    /// XDP attach modes (axis): drv, skb.
    #[arg(long, value_enum, value_name = "MODE,...", value_delimiter = ',')]
    pub xdp_mode: Option<Vec<XdpModeArg>>,
    /// Descriptors per ring operation (axis).
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub batch: Option<Vec<u32>>,
    /// Ring sizes (axis).
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub ring: Option<Vec<u32>>,
    /// need_wakeup (axis): on, off.
    #[arg(long, value_name = "on|off,...", value_delimiter = ',', value_parser = parse_toggle_list)]
    pub need_wakeup: Option<Vec<bool>>,
    /// Busy polling (axis): on, off.
    #[arg(long, value_name = "on|off,...", value_delimiter = ',', value_parser = parse_toggle_list)]
    pub busy_poll: Option<Vec<bool>>,
    /// Queues of the veth ends (axis).
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub queues: Option<Vec<u32>>,
    /// GRO on the veth ends (axis): on, off.
    #[arg(long, value_name = "on|off,...", value_delimiter = ',', value_parser = parse_toggle_list)]
    pub gro: Option<Vec<bool>>,
    /// Topologies (axis): pair, bridge, routed, same-ns.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',', value_parser = parse_topology)]
    pub topology: Option<Vec<TopologyKind>>,
    /// Measuring time per trial, seconds (default 1).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Warm-up per trial, seconds (default 0.5).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub warmup: Option<f64>,
    /// Trials per point (default 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trials: Option<u32>,
    /// Cores of A and B (default 0,1).
    #[arg(long, value_name = "A,B", value_parser = parse_cores)]
    pub cores: Option<[usize; 2]>,
    /// Offered rate of open-loop modes, frames per second (default: as fast as possible).
    #[arg(long, value_name = "PPS")]
    pub rate: Option<u64>,
    /// Results directory; the sweep's records go to <out>/sweep-<name>/ (checked before anything
    /// is built).
    #[arg(long, value_name = "DIR", default_value = crate::outdir::DEFAULT_OUT)]
    pub out: std::path::PathBuf,
    /// Name of the sweep (default: the file's name without .toml, or "sweep").
    #[arg(long, value_name = "NAME", value_parser = parse_baseline_name)]
    pub name: Option<String>,
    /// Continue a sweep: skip the points already stored under its name.
    #[arg(long)]
    pub resume: bool,
    /// Noise band for judging the best point against the defaults (as for `compare`).
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
    /// Refuse plans with more points than this (the product of the axes' lengths).
    #[arg(long, value_name = "N", default_value_t = crate::sweep::MAX_POINTS)]
    pub max_points: usize,
    /// Run id carried by the names of the sweep's topologies (default: a fresh one per
    /// topology), so they can be found on a shared host.
    #[arg(long, value_parser = parse_id)]
    pub id: Option<RunId>,
}

impl SweepArgs {
    /// The axes and shared settings given as flags.
    pub fn axes_and_shared(&self) -> (crate::sweep::Axes, crate::sweep::Shared) {
        let axes = crate::sweep::Axes {
            size: self.size.clone(),
            mode: self
                .mode
                .as_ref()
                .map(|m| m.iter().map(|&m| Mode::from(m)).collect()),
            xdp_mode: self.xdp_mode.as_ref().map(|m| {
                m.iter()
                    .map(|m| match m {
                        XdpModeArg::Drv => XdpMode::Drv,
                        XdpModeArg::Skb => XdpMode::Skb,
                    })
                    .collect()
            }),
            batch: self.batch.clone(),
            ring: self.ring.clone(),
            need_wakeup: self.need_wakeup.clone(),
            busy_poll: self.busy_poll.clone(),
            queues: self.queues.clone(),
            gro: self.gro.clone(),
            topology: self.topology.clone(),
        };
        let shared = crate::sweep::Shared {
            duration: self.duration,
            warmup: self.warmup,
            trials: self.trials.map(|t| t as usize),
            cores: self.cores,
            rate: self.rate,
        };
        (axes, shared)
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Record files or directories of records.
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<std::path::PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "report.html")]
    pub output: std::path::PathBuf,
    /// Also show a comparison of two records (baseline, new).
    #[arg(long, num_args = 2, value_names = ["BASELINE", "NEW"])]
    pub compare: Option<Vec<std::path::PathBuf>>,
    /// Noise band of the comparison.
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
}
