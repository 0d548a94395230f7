//! One benchmark run on a topology that is up: attach the mode's XDP programs, start a pinned
//! worker per side inside its namespace, open the sockets, start them together, stop them, and
//! account for every frame with the kernel's counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use bpf::{Attached, Counters, Program, XdpMode, XdpProgram};
use serde::{Deserialize, Serialize};
use setup::{driver_stats, link_counters, Endpoint, LinkCounters, Side, TopologyInfo};

use crate::cpu::{CpuAccounting, ThreadUsage, WorkerCpu};
use crate::engine::{self, GenOutcome, GenPlan, Pace, ReflectOutcome, SinkOutcome};
use crate::frame::{self, FrameSpec};
use crate::progress::{sample_until, Interval, Progress};
use crate::report::{
    histogram_v2_base64, Accounting, Latencies, LatencySummary, Measured, RunOutcome,
};
use crate::workers::{enter_and_pin, spawn_named, wait_ready};
use crate::xsk::{Xsk, XskConfig, XskError};

/// UDP destination port of frames A → B (what B's program matches).
pub const PORT_A_TO_B: u16 = 9000;
/// UDP destination port of frames B → A (what A's program matches).
pub const PORT_B_TO_A: u16 = 9001;
/// Room the kernel keeps in front of each UMEM frame (XDP_PACKET_HEADROOM).
const XDP_HEADROOM: usize = 256;

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

impl Mode {
    /// Whether frames come back to A.
    pub fn returns(self) -> bool {
        matches!(
            self,
            Mode::L2fwd | Mode::Latency | Mode::XdpTx | Mode::Icmp | Mode::UdpPingpong
        )
    }

    /// Whether the generator keeps a fixed number in flight.
    pub fn closed_loop(self) -> bool {
        matches!(
            self,
            Mode::Latency | Mode::XdpTx | Mode::Icmp | Mode::UdpPingpong
        )
    }

    /// Whether the mode measures the kernel stack with plain sockets (no AF_XDP, no XDP).
    pub fn kernel_stack(self) -> bool {
        matches!(self, Mode::Icmp | Mode::UdpPingpong | Mode::UdpFlood)
    }

    /// Whether XDP programs and AF_XDP sockets are involved, so that `--xdp-mode`, `--frames`,
    /// `--frame-size`, `--ring` and `--need-wakeup` mean something.
    pub fn uses_xdp(self) -> bool {
        !self.kernel_stack()
    }

    /// Whether `--batch` means something: AF_XDP ring batches, or UDP flood's sendmmsg batches.
    pub fn uses_batch(self) -> bool {
        self.uses_xdp() || self == Mode::UdpFlood
    }

    /// Whether `--inflight` means something (closed-loop modes).
    pub fn uses_inflight(self) -> bool {
        self.closed_loop()
    }

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

    /// The mode of a command-line name.
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Throughput => "throughput",
            Mode::L2fwd => "l2fwd",
            Mode::Latency => "latency",
            Mode::XdpDrop => "xdp-drop",
            Mode::XdpTx => "xdp-tx",
            Mode::Icmp => "icmp",
            Mode::UdpPingpong => "udp-pingpong",
            Mode::UdpFlood => "udp-flood",
        }
    }
}

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
    /// Cores of side A and side B (`--cores A,B`).
    pub cores: [usize; 2],
    /// Stamp and record latencies (`--no-timestamps` turns it off).
    pub timestamps: bool,
}

/// Errors of a run; messages name the flag, interface or worker.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An option out of range or in conflict with another.
    #[error("{flag} {value}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// Socket settings.
    #[error(transparent)]
    Xsk(#[from] XskError),
    /// Topology access.
    #[error(transparent)]
    Setup(#[from] setup::SetupError),
    /// XDP programs.
    #[error(transparent)]
    Bpf(#[from] bpf::BpfError),
    /// A worker failed.
    #[error("worker {side}: {message}")]
    Worker {
        /// Which side.
        side: Side,
        /// What went wrong.
        message: String,
    },
}

fn invalid(flag: &'static str, value: impl ToString, reason: impl Into<String>) -> BenchError {
    BenchError::Invalid {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Cores this process may run on.
pub fn available_cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .unwrap_or_default()
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
            cores: [0, 1],
            timestamps: true,
        }
    }

    /// Checks the spec against itself, the machine and a topology MTU.
    pub fn validate(&self, mtu: u32) -> Result<(), BenchError> {
        self.xsk.validate()?;
        if self.ipv6 && mtu < 1280 {
            return Err(invalid(
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
            return Err(invalid(
                "--size",
                self.size,
                format!(
                    "{} frames here are {min}..={max} bytes (MTU {mtu} + 14, and UMEM frame {} - {XDP_HEADROOM} headroom)",
                    if self.ipv6 { "IPv6" } else { "IPv4" },
                    self.xsk.frame_size
                ),
            ));
        }
        let cores = available_cores();
        for core in self.cores {
            if !cores.contains(&core) {
                return Err(invalid(
                    "--cores",
                    core,
                    format!("this process may run on cores {cores:?}"),
                ));
            }
        }
        if self.duration_ns == 0 && self.count.is_none() {
            return Err(invalid("--duration", 0, "give a duration > 0 or a --count"));
        }
        if self.count == Some(0) {
            return Err(invalid("--count", 0, "at least 1 frame"));
        }
        if self.rate == Some(0) {
            return Err(invalid("--rate", 0, "at least 1 frame per second"));
        }
        if self.rate.is_some() && matches!(self.mode, Mode::Latency | Mode::XdpTx) {
            return Err(invalid(
                "--rate",
                self.rate.unwrap_or(0),
                format!("{} mode paces itself with --inflight", self.mode.name()),
            ));
        }
        if self.mode.closed_loop() && !(1..=self.xsk.ring / 2).contains(&self.inflight) {
            return Err(invalid(
                "--inflight",
                self.inflight,
                format!("1..={} (half the ring)", self.xsk.ring / 2),
            ));
        }
        Ok(())
    }

    /// The settings this mode does not use, each with its flag: given anything but its default,
    /// such a setting is refused (see [`RunSpec::check_applies`]).
    fn unused(&self) -> Vec<(&'static str, bool)> {
        let d = RunSpec::new(self.mode);
        let mut out = Vec::new();
        if !self.mode.uses_xdp() {
            out.push(("--xdp-mode", self.xdp_mode != d.xdp_mode));
            out.push(("--frames", self.xsk.frames != d.xsk.frames));
            out.push(("--frame-size", self.xsk.frame_size != d.xsk.frame_size));
            out.push(("--ring", self.xsk.ring != d.xsk.ring));
            out.push(("--need-wakeup", self.xsk.need_wakeup != d.xsk.need_wakeup));
        }
        if !self.mode.uses_batch() {
            out.push(("--batch", self.xsk.batch != d.xsk.batch));
        }
        if !self.mode.uses_inflight() {
            out.push(("--inflight", self.inflight != d.inflight));
        }
        out
    }

    /// Refuses a setting this mode does not use (e.g. `--xdp-mode skb` with a kernel-stack mode,
    /// `--batch` with icmp), naming the flag.
    pub fn check_applies(&self) -> Result<(), BenchError> {
        match self.unused().into_iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(invalid(
                flag,
                "",
                format!("does not apply to {} mode: leave it out", self.mode.name()),
            )),
            None => Ok(()),
        }
    }

    /// The spec with every setting its mode does not use at its default, so records, keys,
    /// setting differences and plots show only what the mode uses.
    pub fn normalized(&self) -> RunSpec {
        let d = RunSpec::new(self.mode);
        let mut s = self.clone();
        if !s.mode.uses_xdp() {
            s.xdp_mode = d.xdp_mode;
            let batch = s.xsk.batch;
            s.xsk = d.xsk.clone();
            s.xsk.batch = batch;
            s.xsk.busy_poll = self.xsk.busy_poll;
        }
        if !s.mode.uses_batch() {
            s.xsk.batch = d.xsk.batch;
        }
        if !s.mode.uses_inflight() {
            s.inflight = d.inflight;
        }
        s
    }

    /// Warnings about the spec itself (printed with the results).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.cores[0] == self.cores[1] {
            w.push(format!(
                "sender and receiver share core {}: the figures include their contention (use --cores 0,1 on a machine with two free cores)",
                self.cores[0]
            ));
        }
        w
    }
}

/// Two flags read as one: set if either is.
pub struct Either<'a>(pub &'a AtomicBool, pub &'a AtomicBool);

impl Either<'_> {
    /// Whether either flag is set.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed) || self.1.load(Ordering::Relaxed)
    }
}

/// The programs a mode attaches, and on which side.
fn programs(mode: Mode) -> [Option<Program>; 2] {
    match mode {
        Mode::Throughput => [None, Some(Program::XskRedirect)],
        Mode::L2fwd | Mode::Latency => [Some(Program::XskRedirect), Some(Program::XskRedirect)],
        Mode::XdpDrop => [None, Some(Program::Sink { pass: false })],
        Mode::XdpTx => [Some(Program::XskRedirect), Some(Program::Reflect)],
        Mode::Icmp | Mode::UdpPingpong | Mode::UdpFlood => [None, None],
    }
}

fn attach(
    program: Option<Program>,
    e: &Endpoint,
    port: u16,
    mode: XdpMode,
) -> Result<Option<Attached>, BenchError> {
    program
        .map(|p| {
            Ok(XdpProgram::load(p, port)?.attach(&e.namespace, &e.interface, e.ifindex, mode)?)
        })
        .transpose()
}

/// Enters the endpoint's namespace, pins the core and opens the socket (on the worker thread).
fn open_socket(
    e: &Endpoint,
    core: usize,
    cfg: &XskConfig,
    program: Option<&Attached>,
) -> Result<Xsk, String> {
    enter_and_pin(e, core)?;
    let xsk = Xsk::open(&e.interface, 0, cfg).map_err(|err| err.to_string())?;
    if let Some(p) = program {
        p.program()
            .register_xsk(0, xsk.fd())
            .map_err(|err| err.to_string())?;
    }
    Ok(xsk)
}

/// [`open_socket`], primes `prime` frames into the fill ring (a receiver must have buffers before
/// the sender may start), then tells the orchestrator whether this worker is ready.
fn open_and_report(
    side: Side,
    e: &Endpoint,
    core: usize,
    cfg: &XskConfig,
    program: Option<&Attached>,
    prime: usize,
    ready: &mpsc::Sender<(Side, Result<(), String>)>,
) -> Result<Xsk, String> {
    let opened = open_socket(e, core, cfg, program).map(|mut xsk| {
        engine::prime_fill(&mut xsk, prime);
        xsk
    });
    // The orchestrator may have given up waiting already; then nobody listens, which is fine.
    let _ = ready.send((side, opened.as_ref().map(|_| ()).map_err(Clone::clone)));
    opened
}

enum BOutcome {
    Sink(SinkOutcome),
    Reflect(ReflectOutcome),
    Kernel,
}

/// Counters of both ends and both programs at one moment.
struct Snapshot {
    veth: [LinkCounters; 2],
    prog: [Counters; 2],
    /// `ethtool -S` of both ends.
    driver: [BTreeMap<String, u64>; 2],
}

fn snapshot(topo: &TopologyInfo, progs: &[Option<Attached>; 2]) -> Result<Snapshot, BenchError> {
    let prog = |i: usize| -> Result<Counters, BenchError> {
        Ok(match &progs[i] {
            Some(p) => p.program().counters()?,
            None => Counters::default(),
        })
    };
    Ok(Snapshot {
        veth: [
            link_counters(topo.endpoint(Side::A))?,
            link_counters(topo.endpoint(Side::B))?,
        ],
        prog: [prog(0)?, prog(1)?],
        driver: [
            driver_stats(topo.endpoint(Side::A))?,
            driver_stats(topo.endpoint(Side::B))?,
        ],
    })
}

/// Non-zero changes of the ends' driver statistics (`ethtool -S`), as `ethtool_a.<name>`.
fn driver_deltas(before: &Snapshot, after: &Snapshot) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (side, (b, a)) in ["a", "b"]
        .iter()
        .zip(before.driver.iter().zip(&after.driver))
    {
        for (name, value) in a {
            let delta = value.saturating_sub(b.get(name).copied().unwrap_or(0));
            if delta > 0 && name != "peer_ifindex" {
                out.insert(format!("ethtool_{side}.{name}"), delta);
            }
        }
    }
    out
}

/// Runs one measurement on a topology that is up.
pub fn run(topo: &TopologyInfo, spec: &RunSpec) -> Result<RunOutcome, BenchError> {
    run_until(topo, spec, &AtomicBool::new(false))
}

/// Like [`run`], ending early (with what was measured so far) once `interrupt` is set.
pub fn run_until(
    topo: &TopologyInfo,
    spec: &RunSpec,
    interrupt: &AtomicBool,
) -> Result<RunOutcome, BenchError> {
    run_observed(topo, spec, interrupt, &mut |_| {})
}

/// Like [`run_until`], handing each second's figures to `on_interval` as they are taken.
pub fn run_observed(
    topo: &TopologyInfo,
    spec: &RunSpec,
    interrupt: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunOutcome, BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    spec.validate(a.mtu)?;
    if spec.mode.kernel_stack() {
        return crate::baseline::run(topo, spec, interrupt, on_interval);
    }
    let mut template = vec![0u8; spec.size];
    let (src_ip, dst_ip) = if spec.ipv6 {
        match (a.ipv6, b.ipv6) {
            (Some(s), Some(d)) => (s.into(), d.into()),
            _ => {
                return Err(invalid(
                    "--ipv6",
                    "",
                    "the topology has no IPv6 (MTU below 1280)",
                ))
            }
        }
    } else {
        (a.ipv4.into(), b.ipv4.into())
    };
    let layout = frame::build(
        &mut template,
        &FrameSpec {
            src_mac: a.mac.0,
            dst_mac: topo.next_hop_mac(Side::A).0,
            src_ip,
            dst_ip,
            src_port: PORT_B_TO_A,
            dst_port: PORT_A_TO_B,
            flow: engine::FLOW_WARMUP,
            size: spec.size,
        },
    )
    .map_err(|e| invalid("--size", spec.size, e.to_string()))?;
    let [prog_a, prog_b] = programs(spec.mode);
    let progs = [
        attach(prog_a, a, PORT_B_TO_A, spec.xdp_mode)?,
        attach(prog_b, b, PORT_A_TO_B, spec.xdp_mode)?,
    ];
    let plan = GenPlan {
        template,
        layout,
        pace: if spec.mode.closed_loop() {
            Pace::Closed {
                inflight: spec.inflight,
                timeout_ns: 200_000_000,
            }
        } else {
            Pace::Open { rate: spec.rate }
        },
        returns: spec.mode.returns(),
        warmup_ns: spec.warmup_ns,
        duration_ns: spec.duration_ns,
        count: spec.count,
        batch: spec.xsk.batch as usize,
        need_wakeup: spec.xsk.need_wakeup,
        timestamps: spec.timestamps,
        drain_ns: 200_000_000,
    };
    let progress = Progress::default();
    let (go, stop, abort) = (
        AtomicBool::new(false),
        AtomicBool::new(false),
        AtomicBool::new(false),
    );
    let b_has_socket = matches!(spec.mode, Mode::Throughput | Mode::L2fwd | Mode::Latency);
    let workers = 1 + usize::from(b_has_socket);
    let ring = spec.xsk.ring as usize;
    let (gen, b_outcome, before, after) = std::thread::scope(|s| -> Result<_, BenchError> {
        let (ready_tx, ready_rx) = mpsc::channel::<(Side, Result<(), String>)>();
        let (progs, plan, go, stop, abort) = (&progs, &plan, &go, &stop, &abort);
        let progress = &progress;
        let ready_a = ready_tx.clone();
        let worker_a = spawn_named(s, "vb-a", move || -> Result<GenOutcome, String> {
            let mut xsk = open_and_report(
                Side::A,
                a,
                spec.cores[0],
                &spec.xsk,
                progs[0].as_ref(),
                0,
                &ready_a,
            )?;
            Ok(engine::generate(
                &mut xsk,
                plan,
                go,
                &Either(abort, interrupt),
                progress,
            ))
        });
        let worker_b = b_has_socket.then(|| {
            let ready_b = ready_tx.clone();
            spawn_named(
                s,
                "vb-b",
                move || -> Result<(BOutcome, Option<ThreadUsage>), String> {
                    let mut xsk = open_and_report(
                        Side::B,
                        b,
                        spec.cores[1],
                        &spec.xsk,
                        progs[1].as_ref(),
                        ring,
                        &ready_b,
                    )?;
                    let batch = spec.xsk.batch as usize;
                    Ok(crate::cpu::measure(|| {
                        if spec.mode == Mode::Throughput {
                            BOutcome::Sink(engine::sink(
                                &mut xsk,
                                batch,
                                spec.timestamps,
                                stop,
                                progress,
                            ))
                        } else {
                            BOutcome::Reflect(engine::reflect(
                                &mut xsk,
                                batch,
                                spec.xsk.need_wakeup,
                                spec.timestamps,
                                stop,
                            ))
                        }
                    }))
                },
            )
        });
        let (worker_a, worker_b) = match (worker_a, worker_b.transpose()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                // Release whichever worker did start, or the scope would wait for it forever.
                abort.store(true, Ordering::Release);
                stop.store(true, Ordering::Release);
                return Err(e);
            }
        };
        drop(ready_tx);
        let failure = wait_ready(&ready_rx, workers);
        let before = match failure {
            None => snapshot(topo, progs),
            Some(e) => Err(e),
        };
        match &before {
            Ok(_) => go.store(true, Ordering::Release),
            Err(_) => abort.store(true, Ordering::Release),
        }
        let stat_before = crate::cpu::proc_stat();
        let intervals = sample_until(
            || worker_a.is_finished(),
            progress,
            &spec.cores,
            spec.mode.returns() || b_has_socket,
            on_interval,
        );
        let gen = worker_a.join();
        // B keeps receiving until A is done and its frames have drained.
        stop.store(true, Ordering::Release);
        let b_out = worker_b.map(|w| w.join());
        let stat_after = crate::cpu::proc_stat();
        let before = before?;
        let worker_err = |side, message: String| BenchError::Worker { side, message };
        let gen = gen
            .map_err(|_| worker_err(Side::A, "panicked".into()))?
            .map_err(|m| worker_err(Side::A, m))?;
        let (b_outcome, b_cpu) = match b_out {
            None => (BOutcome::Kernel, None),
            Some(r) => r
                .map_err(|_| worker_err(Side::B, "panicked".into()))?
                .map_err(|m| worker_err(Side::B, m))?,
        };
        let after = snapshot(topo, progs)?;
        let cores = match (stat_before, stat_after) {
            (Some(b), Some(a)) => crate::cpu::core_shares(&b, &a, &spec.cores),
            _ => Vec::new(),
        };
        Ok((gen, (b_outcome, b_cpu, cores, intervals), before, after))
    })?;
    drop(progs);
    let (b_outcome, b_cpu, cores, intervals) = b_outcome;
    let a_cpu = gen
        .cpu
        .map(|u| WorkerCpu::new(spec.cores[0], u, gen.sent_total, true));
    let b_frames = match &b_outcome {
        BOutcome::Sink(sink) => sink.received_total,
        BOutcome::Reflect(r) => r.reflected,
        BOutcome::Kernel => 0,
    };
    let b_cpu = b_cpu.map(|u| WorkerCpu::new(spec.cores[1], u, b_frames, true));
    let mut out = outcome(spec, gen, b_outcome, &before, &after);
    out.set_cpu(CpuAccounting::new(a_cpu, b_cpu, cores));
    out.set_intervals(intervals, spec.warmup_ns as f64 / 1e9);
    Ok(out)
}

/// Turns what the workers and the kernel counted into a [`RunOutcome`].
fn outcome(
    spec: &RunSpec,
    gen: GenOutcome,
    b: BOutcome,
    before: &Snapshot,
    after: &Snapshot,
) -> RunOutcome {
    let veth = [
        after.veth[0].since(&before.veth[0]),
        after.veth[1].since(&before.veth[1]),
    ];
    let prog = [
        after.prog[0].since(&before.prog[0]),
        after.prog[1].since(&before.prog[1]),
    ];
    let passed = |p: &Counters| p.matched.saturating_sub(p.redirected + p.dropped + p.tx);
    let mut counters = driver_deltas(before, after);
    counters.insert("veth_a.tx_dropped".to_string(), veth[0].tx_dropped);
    counters.insert("veth_a.rx_dropped".to_string(), veth[0].rx_dropped);
    counters.insert("veth_b.tx_dropped".to_string(), veth[1].tx_dropped);
    counters.insert("veth_b.rx_dropped".to_string(), veth[1].rx_dropped);
    for (side, p) in ["a", "b"].iter().zip(&prog) {
        counters.insert(format!("xdp_{side}.matched"), p.matched);
        counters.insert(format!("xdp_{side}.redirected"), p.redirected);
        counters.insert(format!("xdp_{side}.dropped"), p.dropped);
        counters.insert(format!("xdp_{side}.tx"), p.tx);
    }
    counters.insert("xsk_a.rx_dropped".into(), gen.xsk.rx_dropped);
    counters.insert("xsk_a.rx_ring_full".into(), gen.xsk.rx_ring_full);
    counters.insert("xsk_a.tx_invalid_descs".into(), gen.xsk.tx_invalid_descs);
    let a_rx_losses = [
        ("A: XDP passed to the stack (no socket)", passed(&prog[0])),
        ("A: socket rx_dropped (fill ring empty)", gen.xsk.rx_dropped),
        ("A: socket rx ring full", gen.xsk.rx_ring_full),
    ];
    let mut histograms = BTreeMap::new();
    let mut one_way_a2b = None;
    let (received_total, accounting) = match &b {
        BOutcome::Sink(sink) => {
            counters.insert("xsk_b.rx_dropped".into(), sink.xsk.rx_dropped);
            counters.insert("xsk_b.rx_ring_full".into(), sink.xsk.rx_ring_full);
            counters.insert(
                "xsk_b.rx_fill_ring_empty_descs".into(),
                sink.xsk.rx_fill_ring_empty_descs,
            );
            one_way_a2b = LatencySummary::of(&sink.one_way);
            histograms.insert("one_way_a2b".into(), histogram_v2_base64(&sink.one_way));
            let places = [
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack (no socket)", passed(&prog[1])),
                (
                    "B: socket rx_dropped (fill ring empty)",
                    sink.xsk.rx_dropped,
                ),
                ("B: socket rx ring full", sink.xsk.rx_ring_full),
            ];
            (
                sink.received_total,
                Accounting::new(gen.sent_total, sink.received_total, &places),
            )
        }
        BOutcome::Reflect(r) => {
            counters.insert("xsk_b.rx_dropped".into(), r.xsk.rx_dropped);
            counters.insert("xsk_b.rx_ring_full".into(), r.xsk.rx_ring_full);
            counters.insert("reflector_b.reflected".into(), r.reflected);
            let mut places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack (no socket)", passed(&prog[1])),
                ("B: socket rx_dropped (fill ring empty)", r.xsk.rx_dropped),
                ("B: socket rx ring full", r.xsk.rx_ring_full),
                ("B: not a vethbench frame", r.foreign),
                ("veth B: tx_dropped", veth[1].tx_dropped),
            ];
            places.extend(a_rx_losses);
            (
                gen.returned_total,
                Accounting::new(gen.sent_total, gen.returned_total, &places),
            )
        }
        BOutcome::Kernel if spec.mode == Mode::XdpDrop => {
            let places = [
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack", passed(&prog[1])),
            ];
            (
                prog[1].dropped,
                Accounting::new(gen.sent_total, prog[1].dropped, &places),
            )
        }
        BOutcome::Kernel => {
            let mut places = vec![
                ("veth A: tx_dropped", veth[0].tx_dropped),
                ("B: XDP passed to the stack", passed(&prog[1])),
                ("veth B: rx_dropped (XDP_TX failed)", veth[1].rx_dropped),
                ("veth B: tx_dropped", veth[1].tx_dropped),
            ];
            places.extend(a_rx_losses);
            (
                gen.returned_total,
                Accounting::new(gen.sent_total, gen.returned_total, &places),
            )
        }
    };
    // Measured frames that arrived: exact from sequence numbers where a socket received them;
    // for the in-kernel sink, all losses are charged to the measured window (conservative).
    let received = match &b {
        BOutcome::Sink(sink) => sink.received.received,
        BOutcome::Reflect(_) => gen.returned.received,
        BOutcome::Kernel if spec.mode == Mode::XdpDrop => gen
            .sent_measured
            .saturating_sub(gen.sent_total.saturating_sub(received_total)),
        BOutcome::Kernel => gen.returned.received,
    };
    let rtt = LatencySummary::of(&gen.rtt);
    if spec.mode.returns() {
        histograms.insert("rtt".into(), histogram_v2_base64(&gen.rtt));
        histograms.insert("one_way_a2b".into(), histogram_v2_base64(&gen.a2b));
        histograms.insert("one_way_b2a".into(), histogram_v2_base64(&gen.b2a));
        if spec.mode != Mode::XdpTx {
            one_way_a2b = LatencySummary::of(&gen.a2b);
        }
    }
    let one_way_b2a = if spec.mode.returns() && spec.mode != Mode::XdpTx {
        LatencySummary::of(&gen.b2a)
    } else {
        None
    };
    let mut warnings = spec.warnings();
    if gen.timeouts > 0 {
        warnings.push(format!(
            "{} frames did not come back within 200 ms and were given up on",
            gen.timeouts
        ));
    }
    if spec.mode == Mode::XdpTx {
        warnings
            .push("xdp-tx: B reflects in the kernel, so the A→B/B→A split is not measured".into());
    }
    RunOutcome::new(
        spec,
        Measured {
            sent: gen.sent_measured,
            received,
            window_ns: gen.window_ns,
        },
        Latencies {
            rtt,
            a2b: one_way_a2b,
            b2a: one_way_b2a,
        },
        accounting,
        counters,
        histograms,
        warnings,
    )
}
