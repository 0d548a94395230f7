//! Arguments and validated options of `vethbench run`.

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use model::suite::SUITE_SIZES;
use model::{usage, Layout, Mode, RunId, RunSpec, TopologySpec, UsageError, XskConfig, MODES};
use results::Format;

use super::{
    noise_band, parse_baseline_name, parse_format, parse_id, parse_noise, parse_seconds, FailOn,
    Toggle, TopologyArgs, XdpModeArg,
};

/// A mode on the command line: its names and help come from the mode table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeArg(pub Mode);

/// Every mode, in the table's order.
const MODE_ARGS: [ModeArg; MODES.len()] = {
    let mut all = [ModeArg(Mode::Throughput); MODES.len()];
    let mut i = 0;
    while i < MODES.len() {
        all[i] = ModeArg(MODES[i].mode);
        i += 1;
    }
    all
};

impl ValueEnum for ModeArg {
    fn value_variants<'a>() -> &'a [Self] {
        &MODE_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let row = self.0.row();
        Some(PossibleValue::new(row.name).help(row.doc))
    }
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        m.0
    }
}

/// Worker layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// A's worker of each flow on one core, B's on another.
    Split,
    /// One thread per flow drives A's TX and B's RX on one core.
    Colocated,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Layout {
        match l {
            LayoutArg::Split => Layout::Split,
            LayoutArg::Colocated => Layout::Colocated,
        }
    }
}

pub(crate) fn parse_precision(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (e.g. 2%)"))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(format!("{v} % is outside (0, 100] %"));
    }
    Ok(v)
}

/// A list of cores as the command line gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreList(pub Vec<usize>);

/// A core list: `0,1`, `0-15`, `0-3,8-11` (in the order given).
pub(crate) fn parse_cores(s: &str) -> Result<CoreList, String> {
    let core = |c: &str| {
        c.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{c}' is not a core number (give a list like 0,1 or 0-15)"))
    };
    let mut cores = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (core(lo)?, core(hi)?);
                if lo > hi {
                    return Err(format!("'{part}' is an empty range"));
                }
                cores.extend(lo..=hi);
            }
            None => cores.push(core(part)?),
        }
    }
    if cores.len() > 4096 {
        return Err(format!("'{s}' names more than 4096 cores"));
    }
    Ok(CoreList(cores))
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
    /// Offered rate limit in frames per second (throughput, l2fwd, xdp-drop, udp-flood); icmp and
    /// udp-pingpong: requests per second, like `ping -i` (latency and xdp-tx pace by --inflight).
    #[arg(long, value_name = "PPS")]
    pub rate: Option<u64>,
    /// Frames in flight (latency, xdp-tx).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub inflight: u32,
    /// Flows: N AF_XDP socket pairs (kernel-stack modes: N socket pairs), flow i on queue i of
    /// both ends. Needs N queues (--queues defaults to N).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(model::MAX_QUEUES)))]
    pub flows: u32,
    /// Where each flow's workers run: split (A's worker on one core, B's on another) or
    /// colocated (one thread per flow drives A's TX and B's RX on one core; AF_XDP modes).
    #[arg(long, value_enum, default_value = "split")]
    pub layout: LayoutArg,
    /// Cores of the workers, as a list (0,1 or 0-15): split, A's and B's core of flow 0, then of
    /// flow 1, ...; colocated, one per flow. Default: the first cores this process may use.
    /// B's XDP program runs in softirq on A's core.
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    pub cores: Option<CoreList>,
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

/// The RFC 2544 frame sizes that fit a 1500-byte MTU.
pub const RFC2544_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 1280, 1500];

/// Expands `--size` values (numbers or `rfc2544`) into sizes, in order, without repeats.
fn parse_sizes(values: &[String]) -> Result<Vec<usize>, UsageError> {
    let bad = |reason: String| UsageError {
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

/// The named baseline, read now: a missing or broken one must stop the run before it starts.
fn read_baseline(
    out: &std::path::Path,
    name: Option<String>,
) -> anyhow::Result<Option<(String, results::Record)>> {
    let Some(name) = name else { return Ok(None) };
    let path = results::baseline_path(out, &name);
    let record = results::load(&path).map_err(|e| {
        usage(
            "--baseline",
            &name,
            format!("{e} (save one first with --save-baseline {name})"),
        )
    })?;
    Ok(Some((name, record)))
}

/// The workers' cores: `--cores` as given, or the first ones this process may use.
fn cores(
    given: Option<Vec<usize>>,
    layout: Layout,
    flows: u32,
    available: &[usize],
) -> Result<Vec<usize>, UsageError> {
    if let Some(cores) = given {
        return Ok(cores);
    }
    RunSpec::default_cores(layout, flows, available).ok_or_else(|| {
        let need = RunSpec {
            layout,
            flows,
            ..RunSpec::new(Mode::Throughput)
        }
        .cores_needed();
        usage(
            "--flows",
            flows,
            format!(
                "{flows} flow(s) with the {layout} layout need {need} cores, and this process may use {} (give --cores, fewer --flows, or --layout colocated)",
                available.len()
            ),
        )
    })
}

/// The spec every measurement starts from (size and mode are set per measurement).
fn template(a: &RunArgs, suite: bool, size: usize, cores: Vec<usize>) -> RunSpec {
    // The suite's default keeps the whole run well under two minutes with three trials.
    let duration = a.duration.unwrap_or(if suite { 1.0 } else { 5.0 });
    RunSpec {
        mode: a.mode.map(Mode::from).unwrap_or(Mode::Throughput),
        size,
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
        xdp_mode: a.xdp_mode.into(),
        cores,
        timestamps: !a.no_timestamps,
        flows: a.flows,
        layout: a.layout.into(),
    }
}

impl TryFrom<RunArgs> for RunOptions {
    type Error = anyhow::Error;
    fn try_from(a: RunArgs) -> anyhow::Result<Self> {
        RunOptions::checked(a, &bench::scenario::available_cores())
    }
}

impl RunOptions {
    /// Checks the arguments for a machine whose usable cores are `available` (this process's,
    /// or a guest's vCPUs for `matrix`).
    pub fn checked(a: RunArgs, available: &[usize]) -> anyhow::Result<Self> {
        if a.zero_copy {
            return Err(usage(
                "--zero-copy",
                "",
                "veth has no AF_XDP zero-copy mode (its driver does not implement XDP_ZEROCOPY); \
                 it binds in copy mode, which is the default",
            )
            .into());
        }
        crate::outdir::check(&a.out, "--out")?;
        let baseline = read_baseline(&a.out, a.baseline.clone())?;
        let mut topology = a
            .topology
            .spec(a.id.clone().unwrap_or_else(RunId::generate))?;
        let defaults = TopologySpec::new(topology.id.clone());
        if a.on.is_some() && topology != defaults {
            return Err(usage(
                "--on",
                a.on.as_ref().map(|i| i.to_string()).unwrap_or_default(),
                "measures an existing topology: leave out the topology flags (--mtu, --queues, --gro, ...)",
            )
            .into());
        }
        // Flow i runs on queue i: without --queues, a topology gets one queue per flow.
        if a.topology.queues.is_none() && a.on.is_none() {
            topology.queues = a.flows;
        }
        if a.flows > topology.queues && a.on.is_none() {
            return Err(usage(
                "--flows",
                a.flows,
                format!(
                    "1..={}: flow i runs on queue i, and --queues {} gives the veth ends {} queue(s)",
                    topology.queues, topology.queues, topology.queues
                ),
            )
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
        let layout = a.layout.into();
        let cores = cores(a.cores.clone().map(|c| c.0), layout, a.flows, available)?;
        let run = template(&a, suite, sizes[0], cores);
        if !suite {
            run.check_applies()?;
        }
        let phases = if suite {
            model::suite::phases(&run, &sizes)
        } else {
            sizes
                .iter()
                .map(|&size| RunSpec {
                    size,
                    ..run.clone()
                })
                .collect()
        };
        for phase in &phases {
            phase.validate(topology.mtu, available)?;
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
