//! An AF_XDP run on a topology that is up: attach the mode's XDP programs, start the workers of
//! every flow on the harness, and account for every frame with the kernel's counters.

mod accounting;
mod counters;
mod jobs;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bpf::{Attached, Program, XdpMode, XdpProgram};
use model::cpu::CpuAccounting;
use model::frame::{self, FrameSpec};
use model::interval::Interval;
use model::outcome::RunOutcome;
use model::{usage, Layout, RunSpec, Side};
use setup::{Endpoint, TopologyInfo};

pub use accounting::{outcome, BOut, FlowWork};
pub use counters::{snapshot, Deltas, Snapshot};

use crate::engine::{GenPlan, Pace};
use crate::error::BenchError;
use crate::harness::{self, Finished, Plan};
use jobs::{Shared, Work};

/// UDP destination port of frames A → B (what B's program matches).
pub const PORT_A_TO_B: u16 = 9000;
/// UDP destination port of frames B → A (what A's program matches).
pub const PORT_B_TO_A: u16 = 9001;

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

/// `total` split over `n` parts, the remainder to the first ones.
fn share(total: u64, n: u32, i: u32) -> u64 {
    let n = u64::from(n.max(1));
    total / n + u64::from(u64::from(i) < total % n)
}

/// Each flow's generator plan: the frame from A to B, the flow's share of `--rate` and `--count`.
fn plans(topo: &TopologyInfo, spec: &RunSpec) -> Result<Vec<GenPlan>, BenchError> {
    let a = topo.endpoint(Side::A);
    let ends = crate::scenario::addresses(topo, spec)?;
    let mut template = vec![0u8; spec.size];
    let layout = frame::build(
        &mut template,
        &FrameSpec {
            src_mac: a.mac.0,
            dst_mac: topo.next_hop_mac(Side::A).0,
            src_ip: ends.src,
            dst_ip: ends.dst,
            src_port: PORT_B_TO_A,
            dst_port: PORT_A_TO_B,
            flow: 0,
            size: spec.size,
        },
    )
    .map_err(|e| usage("--size", spec.size, e.to_string()))?;
    Ok((0..spec.flows)
        .map(|flow| GenPlan {
            template: template.clone(),
            layout,
            flow,
            flows: spec.flows,
            pace: if spec.mode.closed_loop() {
                Pace::Closed {
                    inflight: spec.inflight,
                    timeout_ns: 200_000_000,
                }
            } else {
                Pace::Open {
                    rate: spec.rate.map(|r| share(r, spec.flows, flow).max(1)),
                }
            },
            returns: spec.mode.returns(),
            warmup_ns: spec.warmup_ns,
            duration_ns: spec.duration_ns,
            count: spec.count.map(|c| share(c, spec.flows, flow).max(1)),
            batch: spec.xsk.batch as usize,
            need_wakeup: spec.xsk.need_wakeup,
            timestamps: spec.timestamps,
            drain_ns: 200_000_000,
        })
        .collect())
}

/// `--flows` against the topology's queues: flow i needs queue i on both ends.
pub fn check_queues(topo: &TopologyInfo, spec: &RunSpec) -> Result<(), BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    let queues = a
        .tx_queues
        .min(b.rx_queues)
        .min(a.rx_queues)
        .min(b.tx_queues);
    if spec.flows == 0 || spec.flows > queues {
        return Err(usage(
            "--flows",
            spec.flows,
            format!("1..={queues}: flow i runs on queue i, and this topology's veth ends have {queues} queue(s) (raise --queues)"),
        )
        .into());
    }
    Ok(())
}

/// Gathers the workers' counts flow by flow.
fn by_flow(spec: &RunSpec, workers: Vec<Finished<Work>>) -> Vec<FlowWork> {
    let mut gens: Vec<Option<crate::engine::GenOutcome>> = (0..spec.flows).map(|_| None).collect();
    let mut bs: Vec<Option<BOut>> = (0..spec.flows).map(|_| None).collect();
    for w in workers {
        let f = w.id.flow as usize;
        if let Some(g) = w.out.gen {
            gens[f] = Some(g);
        }
        if let Some(b) = w.out.b {
            bs[f] = Some(b);
        }
    }
    gens.into_iter()
        .zip(bs)
        .filter_map(|(g, b)| g.map(|gen| FlowWork { gen, b }))
        .collect()
}

/// Runs one AF_XDP measurement on a topology that is up.
pub fn run(
    topo: &TopologyInfo,
    spec: &RunSpec,
    interrupt: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunOutcome, BenchError> {
    check_queues(topo, spec)?;
    let plans = plans(topo, spec)?;
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    let [prog_a, prog_b] = spec.mode.row().programs;
    let progs = [
        attach(prog_a, a, PORT_B_TO_A, spec.xdp_mode)?,
        attach(prog_b, b, PORT_A_TO_B, spec.xdp_mode)?,
    ];
    let shared = Shared {
        spec,
        ends: [a, b],
        progs: &progs,
        plans: &plans,
    };
    let row = spec.mode.row();
    let plan = Plan {
        flows: spec.flows as usize,
        cores: &spec.cores,
        counts_arrivals: row.returns || row.workers[1],
        settle: Duration::ZERO,
        interrupt,
    };
    let h = harness::run(
        jobs::jobs(&shared),
        || snapshot(topo, &progs),
        &plan,
        on_interval,
    )?;
    drop(progs);
    let [a_cpu, b_cpu] = harness::worker_cpu(
        &h.workers,
        |w: &Work| match (&w.gen, &w.b) {
            (Some(g), _) => Some((0, g.sent_total)),
            (None, Some(BOut::Sink(s))) => Some((1, s.received_total)),
            (None, Some(BOut::Reflect(r))) => Some((1, r.reflected)),
            (None, None) => None,
        },
        true,
    );
    let flows = by_flow(spec, h.workers);
    let mut out = outcome(spec, &flows, &Deltas::between(&h.before, &h.after));
    out.set_cpu(CpuAccounting::new(a_cpu, b_cpu, h.cores));
    out.set_intervals(h.intervals, spec.warmup_ns as f64 / 1e9);
    if spec.layout == Layout::Colocated && row.workers[1] {
        out.warnings
            .retain(|w| !w.starts_with("workers share core"));
    }
    Ok(out)
}
