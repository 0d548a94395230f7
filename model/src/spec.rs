//! A run's specification: everything it needs, validated before anything is created.

use serde::{Deserialize, Serialize};

use crate::frame;
use crate::metric::Metric;
use crate::mode::{Mode, Setting};
use crate::settings::{XdpMode, XskConfig};
use crate::usage::{usage, UsageError};
use crate::Side;

/// `0,1,2` from cores.
fn list(cores: &[usize]) -> String {
    cores
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Room the kernel keeps in front of each UMEM frame (XDP_PACKET_HEADROOM).
pub const XDP_HEADROOM: usize = 256;

/// Everything a run needs, validated before anything is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSpec {
    /// The mode (`--mode`).
    pub mode: Mode,
    /// Frame size in bytes, Ethernet header included, FCS excluded (`--size`).
    pub size: usize,
    /// IPv6 frames instead of IPv4 (`--ipv6`).
    pub ipv6: bool,
    /// Measuring time (`--duration`), ns.
    pub duration_ns: u64,
    /// Warm-up before measuring (`--warmup`), ns.
    pub warmup_ns: u64,
    /// Stop after this many measured frames (`--count`).
    pub count: Option<u64>,
    /// Offered rate limit, frames per second (`--rate`); open-loop modes only.
    pub rate: Option<u64>,
    /// Frames in flight (`--inflight`); closed-loop modes only.
    pub inflight: u32,
    /// Socket and ring settings.
    pub xsk: XskConfig,
    /// XDP attach mode (`--xdp-mode`).
    pub xdp_mode: XdpMode,
    /// Cores of the workers (`--cores`): with the split layout, side A's and side B's core of
    /// flow 0, then of flow 1, ...; colocated, one core per flow.
    pub cores: Vec<usize>,
    /// Stamp and record latencies (`--no-timestamps` turns it off).
    pub timestamps: bool,
    /// Flows (`--flows`): socket pairs, flow i on queue i of both ends.
    #[serde(default = "one_flow")]
    pub flows: u32,
    /// Where the workers of a flow run (`--layout`).
    #[serde(default)]
    pub layout: Layout,
}

/// Where the workers of a flow run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// A's worker of flow i on one core, B's on another.
    #[default]
    Split,
    /// One thread per flow drives A's TX and B's RX on one core.
    Colocated,
}

impl Layout {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Split => "split",
            Layout::Colocated => "colocated",
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn one_flow() -> u32 {
    1
}

impl RunSpec {
    /// A spec with the command line's defaults: 64-byte IPv4 frames, 5 s after 0.5 s of warm-up,
    /// one frame in flight, default sockets, native XDP, sender on core 0 and receiver on core 1.
    pub fn new(mode: Mode) -> RunSpec {
        RunSpec {
            mode,
            size: 64,
            ipv6: false,
            duration_ns: 5_000_000_000,
            warmup_ns: 500_000_000,
            count: None,
            rate: None,
            inflight: 1,
            xsk: XskConfig::default(),
            xdp_mode: XdpMode::Drv,
            cores: vec![0, 1],
            timestamps: true,
            flows: 1,
            layout: Layout::Split,
        }
    }

    /// Checks the spec against itself, the machine and a topology MTU.
    pub fn validate(&self, mtu: u32, available_cores: &[usize]) -> Result<(), UsageError> {
        self.xsk.validate()?;
        if self.ipv6 && mtu < 1280 {
            return Err(usage(
                "--ipv6",
                "",
                format!("IPv6 needs an MTU of at least 1280; this topology's is {mtu} (raise --mtu or leave out --ipv6)"),
            ));
        }
        // RFC 2544 starts at 64 bytes; IPv6 headers need more.
        let min = frame::min_size(self.ipv6).max(64);
        let mut max = mtu as usize + 14;
        if !self.mode.kernel_stack() {
            max = max.min(self.xsk.frame_size as usize - XDP_HEADROOM);
        }
        if self.size < min || self.size > max {
            return Err(usage(
                "--size",
                self.size,
                format!(
                    "{} frames here are {min}..={max} bytes (MTU {mtu} + 14, and UMEM frame {} - {XDP_HEADROOM} headroom)",
                    if self.ipv6 { "IPv6" } else { "IPv4" },
                    self.xsk.frame_size
                ),
            ));
        }
        self.check_cores(available_cores)?;
        if self.duration_ns == 0 && self.count.is_none() {
            return Err(usage("--duration", 0, "give a duration > 0 or a --count"));
        }
        if self.count == Some(0) {
            return Err(usage("--count", 0, "at least 1 frame"));
        }
        if self.rate == Some(0) {
            return Err(usage("--rate", 0, "at least 1 frame per second"));
        }
        if let Some(rate) = self.rate.filter(|_| !self.mode.uses(Setting::Rate)) {
            return Err(usage(
                "--rate",
                rate,
                format!("{} mode paces itself with --inflight", self.mode.name()),
            ));
        }
        if self.mode.closed_loop() && !(1..=self.xsk.ring / 2).contains(&self.inflight) {
            return Err(usage(
                "--inflight",
                self.inflight,
                format!("1..={} (half the ring)", self.xsk.ring / 2),
            ));
        }
        Ok(())
    }

    /// Whether `setting` differs from the default of this spec's mode.
    fn is_set(&self, setting: Setting) -> bool {
        let d = RunSpec::new(self.mode);
        match setting {
            Setting::XdpMode => self.xdp_mode != d.xdp_mode,
            Setting::Frames => self.xsk.frames != d.xsk.frames,
            Setting::FrameSize => self.xsk.frame_size != d.xsk.frame_size,
            Setting::Ring => self.xsk.ring != d.xsk.ring,
            Setting::NeedWakeup => self.xsk.need_wakeup != d.xsk.need_wakeup,
            Setting::Batch => self.xsk.batch != d.xsk.batch,
            Setting::Inflight => self.inflight != d.inflight,
            Setting::Rate => self.rate.is_some(),
            Setting::Flows => self.flows != d.flows,
            Setting::Layout => self.layout != d.layout,
        }
    }

    /// Sets `setting` back to the default of this spec's mode.
    fn reset(&mut self, setting: Setting) {
        let d = RunSpec::new(self.mode);
        match setting {
            Setting::XdpMode => self.xdp_mode = d.xdp_mode,
            Setting::Frames => self.xsk.frames = d.xsk.frames,
            Setting::FrameSize => self.xsk.frame_size = d.xsk.frame_size,
            Setting::Ring => self.xsk.ring = d.xsk.ring,
            Setting::NeedWakeup => self.xsk.need_wakeup = d.xsk.need_wakeup,
            Setting::Batch => self.xsk.batch = d.xsk.batch,
            Setting::Inflight => self.inflight = d.inflight,
            Setting::Rate => self.rate = None,
            Setting::Flows => self.flows = d.flows,
            Setting::Layout => self.layout = d.layout,
        }
    }

    /// Refuses a setting this mode does not use (e.g. `--xdp-mode skb` with a kernel-stack mode,
    /// `--batch` with icmp), naming the flag.
    pub fn check_applies(&self) -> Result<(), UsageError> {
        match Setting::ALL
            .into_iter()
            .find(|s| !self.mode.uses(*s) && self.is_set(*s))
        {
            Some(s) => Err(usage(
                s.flag(),
                "",
                format!("does not apply to {} mode: leave it out", self.mode.name()),
            )),
            None => Ok(()),
        }
    }

    /// The spec with every setting its mode does not use at its default, so records, keys,
    /// setting differences and plots show only what the mode uses.
    pub fn normalized(&self) -> RunSpec {
        let mut s = self.clone();
        for setting in Setting::ALL {
            if !s.mode.uses(setting) {
                s.reset(setting);
            }
        }
        // A mode that runs one flow split keeps flow 0's cores.
        let need = s.cores_needed();
        if s.cores.len() > need {
            s.cores.truncate(need);
        }
        s
    }

    /// Whether `compare` judges `metric` for this spec: the mode table's judged metrics (see
    /// [`crate::ModeRow::judged`]), but one-way times of an open-loop mode only with `--rate`.
    ///
    /// The one-way A→B time of a kernel-stack mode is not judged: it is the split of a round trip between two threads that sleep in `recv()`, and
    /// which direction gets the slow cross-core wake-up is a property of the run, not of the kernel's
    /// path. Seen here, two identical suite runs: udp-pingpong 1500 B A→B/B→A p50 42/35 µs in every
    /// trial of one run, 35/42 µs in every trial of the other, RTT p50 76.9 against 76.6 µs. The
    /// round trip, which is judged, is the figure to compare; AF_XDP modes poll and keep theirs.
    ///
    /// Nor does the one-way time of an open-loop mode sending as fast as it can (no `--rate`): it is
    /// the wait in a full receive ring (ring size / rate, milliseconds), which follows every small
    /// change of the rate. Seen here: two identical `throughput --trials 5` runs judged it regressed.
    pub fn judges(&self, metric: Metric) -> bool {
        let standing_queue = !self.mode.closed_loop() && self.rate.is_none();
        self.mode.judges(metric) && !(metric == Metric::A2bP50Us && standing_queue)
    }

    /// Cores the layout needs: two per flow split, one per flow colocated.
    pub fn cores_needed(&self) -> usize {
        let per_flow = match self.layout {
            Layout::Split => 2,
            Layout::Colocated => 1,
        };
        per_flow * self.flows.max(1) as usize
    }

    /// The core of `side`'s worker of `flow` (colocated: the flow's one worker).
    pub fn core_of(&self, side: Side, flow: u32) -> usize {
        let i = match self.layout {
            Layout::Split => 2 * flow as usize + side.index(),
            Layout::Colocated => flow as usize,
        };
        self.cores.get(i).copied().unwrap_or(0)
    }

    /// The default cores of a layout and flow count on a machine: the first ones this process
    /// may run on, in order; `None` if there are too few.
    pub fn default_cores(layout: Layout, flows: u32, available: &[usize]) -> Option<Vec<usize>> {
        let spec = RunSpec {
            layout,
            flows,
            ..RunSpec::new(Mode::Throughput)
        };
        let need = spec.cores_needed();
        (available.len() >= need).then(|| available[..need].to_vec())
    }

    /// The cores: as many as the layout needs, each one this process may run on.
    fn check_cores(&self, available: &[usize]) -> Result<(), UsageError> {
        let need = self.cores_needed();
        if self.cores.len() != need {
            let per = match self.layout {
                Layout::Split => "two per flow (A's, then B's core of each flow)",
                Layout::Colocated => "one per flow",
            };
            return Err(usage(
                "--cores",
                list(&self.cores),
                format!(
                    "{} flow(s) with the {} layout need {need} cores, {per}; {} given",
                    self.flows,
                    self.layout,
                    self.cores.len()
                ),
            ));
        }
        if let Some(core) = self.cores.iter().find(|c| !available.contains(c)) {
            return Err(usage(
                "--cores",
                core,
                format!(
                    "not a core this process may run on (online and allowed: {})",
                    list(available)
                ),
            ));
        }
        Ok(())
    }

    /// Warnings about the spec itself (printed with the results).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        let mut shared: Vec<usize> = Vec::new();
        for c in &self.cores {
            if seen.contains(c) && !shared.contains(c) {
                shared.push(*c);
            }
            seen.push(*c);
        }
        if let ([a, b], [core]) = (self.cores.as_slice(), shared.as_slice()) {
            if a == b {
                w.push(format!(
                    "sender and receiver share core {core}: the figures include their contention (use --cores 0,1 on a machine with two free cores, or --layout colocated)"
                ));
                return w;
            }
        }
        if !shared.is_empty() {
            w.push(format!(
                "workers share core(s) {}: the figures include their contention (give each worker its own core with --cores, or use --layout colocated)",
                list(&shared)
            ));
        }
        w
    }
}
