//! Arguments of `vethbench sweep`.

use clap::Args;
use model::{Layout, Mode, RunId, TopologyKind, XdpMode};

use super::run::{parse_cores, CoreList, LayoutArg};
use super::{
    parse_baseline_name, parse_id, parse_noise, parse_seconds, parse_topology, ModeArg, XdpModeArg,
};

pub(crate) fn parse_toggle_list(s: &str) -> Result<bool, String> {
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
    /// Flows (axis): socket pairs, flow i on queue i (without --queues, one queue per flow).
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    pub flows: Option<Vec<u32>>,
    /// Worker layouts (axis): split, colocated.
    #[arg(long, value_enum, value_name = "LAYOUT,...", value_delimiter = ',')]
    pub layout: Option<Vec<LayoutArg>>,
    /// Threaded NAPI (axis): on, off (on turns GRO on unless --gro is an axis too).
    #[arg(long, value_name = "on|off,...", value_delimiter = ',', value_parser = parse_toggle_list)]
    pub threaded: Option<Vec<bool>>,
    /// Cores the NAPI threads are pinned to (axis): core lists separated by '/', e.g. 0/1 or
    /// 0,1/1,0 (turns threaded NAPI and GRO on).
    #[arg(long, value_name = "LIST/LIST...", value_delimiter = '/', value_parser = parse_cores)]
    pub napi_cores: Option<Vec<CoreList>>,
    /// Cores of the workers (0,1 or 0-15; default: the first ones this process may use); each
    /// point takes as many from the front as its flows and layout need.
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    pub cores: Option<CoreList>,
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
            xdp_mode: self
                .xdp_mode
                .as_ref()
                .map(|m| m.iter().map(|&m| XdpMode::from(m)).collect()),
            batch: self.batch.clone(),
            ring: self.ring.clone(),
            need_wakeup: self.need_wakeup.clone(),
            busy_poll: self.busy_poll.clone(),
            queues: self.queues.clone(),
            gro: self.gro.clone(),
            topology: self.topology.clone(),
            flows: self.flows.clone(),
            threaded: self.threaded.clone(),
            napi_cores: self
                .napi_cores
                .as_ref()
                .map(|n| n.iter().map(|c| c.0.clone()).collect()),
            layout: self
                .layout
                .as_ref()
                .map(|l| l.iter().map(|&l| Layout::from(l)).collect()),
        };
        let shared = crate::sweep::Shared {
            duration: self.duration,
            warmup: self.warmup,
            trials: self.trials.map(|t| t as usize),
            cores: self.cores.clone().map(|c| c.0),
            rate: self.rate,
        };
        (axes, shared)
    }
}
