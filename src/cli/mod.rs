//! Command-line interface, one file per group of subcommands. Each subcommand has one args struct (what clap parses) and, where the
//! values need checking against each other, one validated options struct built from it before
//! anything touches the kernel.

mod matrix;
mod records;
mod run;
mod sweep;
mod topology;

pub use matrix::{AccelArg, MatrixArgs, MatrixOptions};
pub use records::{CompareArgs, ExportArgs, NoiseArgs, ReportArgs};
pub use run::{ModeArg, RunArgs, RunOptions};
pub use sweep::SweepArgs;
pub use topology::{
    CheckArgs, CheckOptions, CleanupArgs, DoctorArgs, DownArgs, DownOptions, TopologyArgs, UpArgs,
    UpOptions,
};

use clap::{Args, Parser, Subcommand, ValueEnum};
use model::{RunId, TopologyKind, UsageError, XdpMode};
use results::Format;

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
    /// Compare kernels: boot each in a QEMU VM (KVM when it can run it, else TCG emulation), run
    /// the doctor and then `vethbench run` inside, bring every record back, and print a matrix:
    /// per scenario and metric, each kernel's median and 95 % interval and its verdict against
    /// the first kernel.
    ///
    /// Records go to <out>/matrix-<name>/<kernel>/ as they come back (a guest's console to
    /// console.log beside them). Under TCG the figures mean nothing for performance and every
    /// verdict is "not comparable: TCG emulation"; a VM column is never judged against `host`.
    /// A guest that does not reach its init within --boot-timeout, or runs past --timeout, is
    /// killed and reported; Ctrl-C asks a running guest to stop (its run keeps what it measured,
    /// marked interrupted) and keeps every record that comes back. Exit status
    /// 2 for bad input (a kernel that is missing, not a kernel, or lacks what vethbench needs,
    /// named from its config or from the guest's doctor), 1 if a guest failed, 130/143 when
    /// interrupted.
    Matrix(MatrixArgs),
    /// Runs inside a `matrix` guest (started by its init): doctor, the runs from the kernel
    /// command line, records back over the second serial port.
    #[command(hide = true)]
    Guest,
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
            Command::Matrix(_) => Some("matrix"),
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

pub(crate) fn parse_topology(s: &str) -> Result<TopologyKind, String> {
    TopologyKind::ALL
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or_else(|| format!("'{s}' is not a topology; one of pair, bridge, routed, same-ns"))
}

fn parse_id(s: &str) -> Result<RunId, String> {
    RunId::new(s).map_err(|e| e.reason)
}

pub(crate) fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&v) {
        return Err(format!("{v} is outside 0..=3600 seconds"));
    }
    Ok(v)
}

pub(crate) fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Baseline names become file names: 1-64 characters of A-Z a-z 0-9 . _ -, not starting with '.'.
pub(crate) fn parse_baseline_name(s: &str) -> Result<String, String> {
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

pub(crate) fn parse_noise(s: &str) -> Result<f64, String> {
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
) -> Result<results::noise::NoiseBand, UsageError> {
    let mut band = results::noise::NoiseBand::flat(pct);
    if let Some(path) = from {
        let profile = results::noise::load_profile(path).map_err(|e| UsageError {
            flag: "--noise-from",
            value: path.display().to_string(),
            reason: e.to_string(),
        })?;
        band.per_metric_pct = profile.bands_pct;
    }
    Ok(band)
}

/// XDP attach modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum XdpModeArg {
    /// Native XDP in the veth driver.
    Drv,
    /// Generic XDP after the skb is built.
    Skb,
}

impl From<XdpModeArg> for XdpMode {
    fn from(m: XdpModeArg) -> XdpMode {
        match m {
            XdpModeArg::Drv => XdpMode::Drv,
            XdpModeArg::Skb => XdpMode::Skb,
        }
    }
}
