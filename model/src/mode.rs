//! The mode table: one row per mode saying everything the CLI, the suite, the sweep, the report,
//! validation and the engines need to know about it — which XDP program each side attaches, which
//! sides hold sockets, open or closed loop, which settings apply, which metrics are judged. One
//! place per fact, like xdp-bench's `cmds[]`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metric::Metric;

/// Which XDP program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Program {
    /// Our frames into the AF_XDP socket of their queue.
    XskRedirect,
    /// Our frames back out with addresses swapped (XDP_TX).
    Reflect,
    /// Our frames counted and dropped (or passed to the stack with `pass`).
    Sink {
        /// XDP_PASS instead of XDP_DROP.
        pass: bool,
    },
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Program::XskRedirect => "xsk_redirect",
            Program::Reflect => "reflect",
            Program::Sink { .. } => "sink",
        })
    }
}

/// What a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A transmits (AF_XDP), B receives (AF_XDP) and drops: offered vs received rate, loss.
    Throughput,
    /// A transmits, B forwards back through its own AF_XDP TX, A receives: rate + RTT under load.
    L2fwd,
    /// Ping-pong with N frames in flight: RTT and one-way times.
    Latency,
    /// A's AF_XDP TX into B's in-kernel sink: the receive ceiling of this path.
    XdpDrop,
    /// A's AF_XDP ping-pong against B's in-kernel reflector: the latency floor.
    XdpTx,
    /// Kernel stack: ICMP echo from A to B's kernel (ping socket).
    Icmp,
    /// Kernel stack: UDP request/response between a client in A and a server in B.
    UdpPingpong,
    /// Kernel stack: sendmmsg/recvmmsg batches from A to B.
    UdpFlood,
}

/// What carries the frames: AF_XDP sockets and our XDP programs, or the kernel's own stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// AF_XDP sockets (copy mode) and XDP programs.
    AfXdp,
    /// Plain sockets through the kernel stack; no XDP.
    KernelStack,
}

/// How the sender paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    /// As fast as possible or at `--rate`: offered vs received rate.
    Open,
    /// A fixed number of frames in flight (`--inflight`): round trips.
    Closed,
}

/// A setting a mode may or may not use; one that does not apply is refused and never appears in
/// a key or a settings difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `--xdp-mode`.
    XdpMode,
    /// `--frames`.
    Frames,
    /// `--frame-size`.
    FrameSize,
    /// `--ring`.
    Ring,
    /// `--need-wakeup`.
    NeedWakeup,
    /// `--batch`.
    Batch,
    /// `--inflight`.
    Inflight,
    /// `--rate`.
    Rate,
    /// `--flows` above 1.
    Flows,
    /// `--layout`.
    Layout,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 10] = [
        Setting::XdpMode,
        Setting::Frames,
        Setting::FrameSize,
        Setting::Ring,
        Setting::NeedWakeup,
        Setting::Batch,
        Setting::Inflight,
        Setting::Rate,
        Setting::Flows,
        Setting::Layout,
    ];

    /// The command-line flag.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::XdpMode => "--xdp-mode",
            Setting::Frames => "--frames",
            Setting::FrameSize => "--frame-size",
            Setting::Ring => "--ring",
            Setting::NeedWakeup => "--need-wakeup",
            Setting::Batch => "--batch",
            Setting::Inflight => "--inflight",
            Setting::Rate => "--rate",
            Setting::Flows => "--flows",
            Setting::Layout => "--layout",
        }
    }
}

/// One row of the mode table.
#[derive(Clone, Copy, Debug)]
pub struct ModeRow {
    /// The mode.
    pub mode: Mode,
    /// The name on the command line and in keys.
    pub name: &'static str,
    /// One line for `--help` and the README.
    pub doc: &'static str,
    /// What carries the frames.
    pub path: Path,
    /// The XDP program attached on side A and side B.
    pub programs: [Option<Program>; 2],
    /// Whether side A and side B run a worker with a socket (AF_XDP or kernel socket).
    pub workers: [bool; 2],
    /// Open or closed loop.
    pub pace: Loop,
    /// Whether frames come back to A.
    pub returns: bool,
    /// Whether one-way times are measured (a worker on each side stamps or reads the stamp).
    pub one_way: bool,
    /// The settings that apply.
    pub settings: &'static [Setting],
    /// The metrics `compare` judges for this mode.
    pub judged: &'static [Metric],
}

const AF_XDP_OPEN: &[Setting] = &[
    Setting::XdpMode,
    Setting::Frames,
    Setting::FrameSize,
    Setting::Ring,
    Setting::NeedWakeup,
    Setting::Batch,
    Setting::Rate,
    Setting::Flows,
    Setting::Layout,
];
const AF_XDP_CLOSED: &[Setting] = &[
    Setting::XdpMode,
    Setting::Frames,
    Setting::FrameSize,
    Setting::Ring,
    Setting::NeedWakeup,
    Setting::Batch,
    Setting::Inflight,
    Setting::Flows,
    Setting::Layout,
];

/// The kernel-stack ping-pong modes: a rate paces them like `ping -i`.
const KERNEL_CLOSED: &[Setting] = &[Setting::Inflight, Setting::Rate, Setting::Flows];

const RATE: &[Metric] = &[Metric::ReceivedPps, Metric::ACpuNsPerFrame];
const RATE_AND_ONE_WAY: &[Metric] = &[
    Metric::ReceivedPps,
    Metric::A2bP50Us,
    Metric::ACpuNsPerFrame,
];
const RATE_AND_RTT: &[Metric] = &[
    Metric::ReceivedPps,
    Metric::RttP50Us,
    Metric::RttP99Us,
    Metric::ACpuNsPerFrame,
];
const ROUND_TRIP: &[Metric] = &[
    Metric::ReceivedPps,
    Metric::RttP50Us,
    Metric::RttP99Us,
    Metric::A2bP50Us,
    Metric::ACpuNsPerFrame,
];

/// The mode table, in the order `--help` lists the modes.
pub const MODES: [ModeRow; 8] = [
    ModeRow {
        mode: Mode::Throughput,
        name: "throughput",
        doc: "A transmits (AF_XDP), B receives (AF_XDP) and drops: offered vs received rate, loss",
        path: Path::AfXdp,
        programs: [None, Some(Program::XskRedirect)],
        workers: [true, true],
        pace: Loop::Open,
        returns: false,
        one_way: true,
        settings: AF_XDP_OPEN,
        judged: RATE_AND_ONE_WAY,
    },
    ModeRow {
        mode: Mode::L2fwd,
        name: "l2fwd",
        doc: "A transmits, B forwards back through its own AF_XDP TX, A receives: rate and RTT under load",
        path: Path::AfXdp,
        programs: [Some(Program::XskRedirect), Some(Program::XskRedirect)],
        workers: [true, true],
        pace: Loop::Open,
        returns: true,
        one_way: true,
        settings: AF_XDP_OPEN,
        judged: ROUND_TRIP,
    },
    ModeRow {
        mode: Mode::Latency,
        name: "latency",
        doc: "AF_XDP ping-pong with --inflight frames in flight: RTT and one-way times",
        path: Path::AfXdp,
        programs: [Some(Program::XskRedirect), Some(Program::XskRedirect)],
        workers: [true, true],
        pace: Loop::Closed,
        returns: true,
        one_way: true,
        settings: AF_XDP_CLOSED,
        judged: ROUND_TRIP,
    },
    ModeRow {
        mode: Mode::XdpDrop,
        name: "xdp-drop",
        doc: "A's AF_XDP TX into B's in-kernel sink: the receive ceiling of this path",
        path: Path::AfXdp,
        programs: [None, Some(Program::Sink { pass: false })],
        workers: [true, false],
        pace: Loop::Open,
        returns: false,
        one_way: false,
        settings: AF_XDP_OPEN,
        judged: RATE,
    },
    ModeRow {
        mode: Mode::XdpTx,
        name: "xdp-tx",
        doc: "A's AF_XDP ping-pong against B's in-kernel reflector: the latency floor",
        path: Path::AfXdp,
        programs: [Some(Program::XskRedirect), Some(Program::Reflect)],
        workers: [true, false],
        pace: Loop::Closed,
        returns: true,
        one_way: false,
        settings: AF_XDP_CLOSED,
        judged: RATE_AND_RTT,
    },
    ModeRow {
        mode: Mode::Icmp,
        name: "icmp",
        doc: "kernel stack: ICMP echo from A to B's kernel (ping socket)",
        path: Path::KernelStack,
        programs: [None, None],
        workers: [true, false],
        pace: Loop::Closed,
        returns: true,
        one_way: false,
        settings: KERNEL_CLOSED,
        judged: RATE_AND_RTT,
    },
    ModeRow {
        mode: Mode::UdpPingpong,
        name: "udp-pingpong",
        doc: "kernel stack: UDP request/response between a client in A and a server in B",
        path: Path::KernelStack,
        programs: [None, None],
        workers: [true, true],
        pace: Loop::Closed,
        returns: true,
        one_way: true,
        settings: KERNEL_CLOSED,
        judged: RATE_AND_RTT,
    },
    ModeRow {
        mode: Mode::UdpFlood,
        name: "udp-flood",
        doc: "kernel stack: sendmmsg/recvmmsg batches from A to B",
        path: Path::KernelStack,
        programs: [None, None],
        workers: [true, true],
        pace: Loop::Open,
        returns: false,
        one_way: true,
        settings: &[Setting::Batch, Setting::Rate, Setting::Flows],
        judged: RATE,
    },
];

impl Mode {
    /// Every mode, in the order `--help` lists them.
    pub const ALL: [Mode; 8] = [
        Mode::Throughput,
        Mode::L2fwd,
        Mode::Latency,
        Mode::XdpDrop,
        Mode::XdpTx,
        Mode::Icmp,
        Mode::UdpPingpong,
        Mode::UdpFlood,
    ];

    /// This mode's row of the table.
    pub fn row(self) -> &'static ModeRow {
        // The table lists the modes in declaration order (checked by a test).
        &MODES[self as usize]
    }

    /// The mode of a command-line name.
    pub fn from_name(name: &str) -> Option<Mode> {
        MODES.iter().find(|r| r.name == name).map(|r| r.mode)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Whether frames come back to A.
    pub fn returns(self) -> bool {
        self.row().returns
    }

    /// Whether the generator keeps a fixed number in flight.
    pub fn closed_loop(self) -> bool {
        self.row().pace == Loop::Closed
    }

    /// Whether the mode measures the kernel stack with plain sockets (no AF_XDP, no XDP).
    pub fn kernel_stack(self) -> bool {
        self.row().path == Path::KernelStack
    }

    /// Whether XDP programs and AF_XDP sockets are involved.
    pub fn uses_xdp(self) -> bool {
        self.row().path == Path::AfXdp
    }

    /// Whether `setting` applies to this mode.
    pub fn uses(self, setting: Setting) -> bool {
        self.row().settings.contains(&setting)
    }

    /// Whether `metric` is judged for this mode.
    pub fn judges(self, metric: Metric) -> bool {
        self.row().judged.contains(&metric)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_mode_in_declaration_order() {
        for (i, m) in Mode::ALL.into_iter().enumerate() {
            assert_eq!(MODES[i].mode, m);
            assert_eq!(m as usize, i);
            assert_eq!(Mode::from_name(m.name()), Some(m));
        }
    }

    #[test]
    fn rate_paces_open_loop_and_kernel_ping_modes_and_inflight_only_closed_loop() {
        for r in MODES {
            // The kernel stack's ping modes take a rate like `ping -i`.
            let paced = r.pace == Loop::Open || r.path == Path::KernelStack;
            assert_eq!(r.settings.contains(&Setting::Rate), paced, "{}", r.name);
            assert_eq!(
                r.settings.contains(&Setting::Inflight),
                r.pace == Loop::Closed,
                "{}",
                r.name
            );
            assert_eq!(r.path == Path::KernelStack, r.programs == [None, None]);
        }
    }
}
