//! Kernel-stack baselines, measured like the AF_XDP modes (same harness, same pinned workers in
//! the same namespaces, same frame sizes, same header, same histograms and accounting):
//!
//! - `udp-pingpong`: a client in A, an echo server in B, blocking receive (busy polling with
//!   `--busy-poll`); RTT and one-way times; `--inflight` requests outstanding.
//! - `icmp`: ICMP echo from A to B's kernel through an ICMP datagram ("ping") socket, like
//!   `ping -I <veth>`; RTT; `--inflight` requests outstanding.
//! - `udp-flood`: `sendmmsg` batches from A, `recvmmsg` batches in B; offered and received rate,
//!   losses attributed to the namespaces' SNMP counters and the veth counters.
//!
//! With `--flows N`, N independent pairs: flow i's server listens on port 9100 + i.

mod accounting;
mod flood;
mod ping;
mod snmp;
mod sockets;

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use model::cpu::CpuAccounting;
use model::frame;
use model::interval::Interval;
use model::outcome::RunOutcome;
use model::{Mode, RunSpec, Side};
use setup::{link_counters, TopologyInfo};

use accounting::{outcome, AOut, BOut, Deltas, FlowWork};
pub use snmp::{parse as parse_snmp, Snmp};

use crate::error::{io_err, BenchError, WorkerId};
use crate::harness::{self, Body, Finished, Job, Plan};
use crate::scenario::{addresses, Addresses};
use crate::workers::enter;
use sockets::{tune, IcmpClient, UdpClient};

/// UDP port of flow 0's server in B (flow i: this + i).
pub const BASELINE_PORT: u16 = 9100;

/// Counters at one moment: both veth ends, both namespaces' SNMP counters.
struct Counters {
    veth: [setup::LinkCounters; 2],
    snmp: [Snmp; 2],
}

fn counters(topo: &TopologyInfo) -> Result<Counters, BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    Ok(Counters {
        veth: [link_counters(a)?, link_counters(b)?],
        snmp: [snmp::read(a)?, snmp::read(b)?],
    })
}

/// What one worker counted.
enum Work {
    A(AOut),
    B(BOut),
}

/// B's server (udp-pingpong) or receiver (udp-flood) of `flow`.
fn server<'a>(
    topo: &'a TopologyInfo,
    spec: &'a RunSpec,
    at: SocketAddr,
    flow: u32,
) -> Job<'a, Work> {
    Job {
        id: WorkerId::of(Side::B, flow),
        core: spec.core_of(Side::B, flow),
        leads: false,
        open: Box::new(move || {
            enter(topo.endpoint(Side::B))?;
            let socket = UdpSocket::bind(at).map_err(io_err("bind the server in B"))?;
            tune(socket.as_raw_fd(), spec.xsk.busy_poll)
                .map_err(io_err("tune the server socket"))?;
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .map_err(io_err("set timeout"))?;
            let body: Body<'a, Work> = Box::new(move |ctl| {
                Ok(Work::B(match spec.mode {
                    Mode::UdpFlood => BOut::Flood(
                        flood::flood_recv(&socket, spec.timestamps, ctl.stop, ctl.progress)
                            .map_err(io_err("receive"))?,
                    ),
                    _ => BOut::Echo(ping::echo_server(&socket, ctl.stop).map_err(io_err("echo"))?),
                }))
            });
            Ok(body)
        }),
    }
}

/// A's client (udp-pingpong, icmp) or sender (udp-flood) of `flow`.
fn client<'a>(
    topo: &'a TopologyInfo,
    spec: &'a RunSpec,
    ends: &'a Addresses,
    to: SocketAddr,
    flow: u32,
) -> Job<'a, Work> {
    let payload = spec.size - frame::udp_overhead(spec.ipv6);
    Job {
        id: WorkerId::of(Side::A, flow),
        core: spec.core_of(Side::A, flow),
        leads: true,
        open: Box::new(move || {
            enter(topo.endpoint(Side::A))?;
            if spec.mode == Mode::Icmp {
                let mut c = IcmpClient::open(ends.dst, payload, spec.xsk.busy_poll)
                    .map_err(io_err("open an ICMP socket in A"))?;
                let body: Body<'a, Work> = Box::new(move |ctl| {
                    let p = ping::ping_loop(&mut c, spec, flow, &ctl.cancel, ctl.progress)
                        .map_err(io_err("ping"))?;
                    Ok(Work::A(AOut::Ping(Box::new(p))))
                });
                return Ok(body);
            }
            let sock = UdpSocket::bind(SocketAddr::new(ends.src, 0))
                .and_then(|sock| {
                    tune(sock.as_raw_fd(), spec.xsk.busy_poll)?;
                    sock.connect(to)?;
                    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
                    Ok(sock)
                })
                .map_err(io_err("open the UDP client in A"))?;
            let body: Body<'a, Work> = if spec.mode == Mode::UdpFlood {
                Box::new(move |ctl| {
                    let t =
                        flood::flood_send(&sock, spec, payload, flow, &ctl.cancel, ctl.progress)
                            .map_err(io_err("flood"))?;
                    Ok(Work::A(AOut::Flood(t)))
                })
            } else {
                let mut c = UdpClient {
                    socket: sock,
                    buf: vec![0u8; payload.max(65536)],
                    payload,
                };
                Box::new(move |ctl| {
                    let p = ping::ping_loop(&mut c, spec, flow, &ctl.cancel, ctl.progress)
                        .map_err(io_err("ping"))?;
                    Ok(Work::A(AOut::Ping(Box::new(p))))
                })
            };
            Ok(body)
        }),
    }
}

/// Gathers the workers' counts flow by flow.
fn by_flow(spec: &RunSpec, workers: Vec<Finished<Work>>) -> Vec<FlowWork> {
    let mut a: Vec<Option<AOut>> = (0..spec.flows).map(|_| None).collect();
    let mut b: Vec<Option<BOut>> = (0..spec.flows).map(|_| None).collect();
    for w in workers {
        let f = w.id.flow as usize;
        match w.out {
            Work::A(x) => a[f] = Some(x),
            Work::B(x) => b[f] = Some(x),
        }
    }
    a.into_iter()
        .zip(b)
        .filter_map(|(a, b)| a.map(|a| FlowWork { a, b }))
        .collect()
}

/// Runs one kernel-stack baseline on a topology that is up.
pub fn run(
    topo: &TopologyInfo,
    spec: &RunSpec,
    interrupt: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunOutcome, BenchError> {
    let ends = addresses(topo, spec)?;
    let mut jobs = Vec::new();
    for flow in 0..spec.flows {
        let at = SocketAddr::new(ends.dst, BASELINE_PORT + flow as u16);
        if spec.mode.row().workers[1] {
            jobs.push(server(topo, spec, at, flow));
        }
        jobs.push(client(topo, spec, &ends, at, flow));
    }
    let plan = Plan {
        flows: spec.flows as usize,
        cores: &spec.cores,
        counts_arrivals: true,
        // Let the last datagrams land before the receivers stop.
        settle: Duration::from_millis(100),
        interrupt,
    };
    let h = harness::run(jobs, || counters(topo), &plan, on_interval)?;
    let d = Deltas {
        veth: [
            h.after.veth[0].since(&h.before.veth[0]),
            h.after.veth[1].since(&h.before.veth[1]),
        ],
        snmp: [
            h.after.snmp[0].since(&h.before.snmp[0]),
            h.after.snmp[1].since(&h.before.snmp[1]),
        ],
    };
    let [a_cpu, b_cpu] = harness::worker_cpu(
        &h.workers,
        |w: &Work| match w {
            Work::A(a) => Some((0, a.sent_total())),
            Work::B(b) => Some((1, b.handled())),
        },
        false,
    );
    let flows = by_flow(spec, h.workers);
    let mut out = outcome(spec, &flows, &d).ok_or_else(|| BenchError::Counter {
        what: "the workers' counts".into(),
        reason: "no sender finished".into(),
    })?;
    out.set_cpu(CpuAccounting::new(a_cpu, b_cpu, h.cores));
    out.set_intervals(h.intervals, spec.warmup_ns as f64 / 1e9);
    Ok(out)
}
