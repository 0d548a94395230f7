//! One run on a topology that is up: the spec checked against the machine and the topology, then
//! handed to the AF_XDP engine or the kernel-stack baselines, which both run on the same harness.

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use model::interval::Interval;
use model::outcome::RunOutcome;
use model::RunSpec;
use setup::{Side, TopologyInfo};

use crate::error::BenchError;

/// Cores this process may run on (online and in its affinity mask).
pub fn available_cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .unwrap_or_default()
}

/// A's and B's addresses for `spec`'s IP version.
pub struct Addresses {
    /// Side A's address (the sender's source).
    pub src: IpAddr,
    /// Side B's address (the destination).
    pub dst: IpAddr,
}

/// The addresses frames from A to B carry; refused (naming `--ipv6`) on an IPv4-only topology.
pub fn addresses(topo: &TopologyInfo, spec: &RunSpec) -> Result<Addresses, BenchError> {
    let (a, b) = (topo.endpoint(Side::A), topo.endpoint(Side::B));
    if !spec.ipv6 {
        return Ok(Addresses {
            src: a.ipv4.into(),
            dst: b.ipv4.into(),
        });
    }
    match (a.ipv6, b.ipv6) {
        (Some(s), Some(d)) => Ok(Addresses {
            src: s.into(),
            dst: d.into(),
        }),
        _ => Err(model::usage("--ipv6", "", "the topology has no IPv6 (MTU below 1280)").into()),
    }
}

/// Checks `spec` against this machine's cores and the topology (MTU, queues); the error names
/// the flag.
pub fn check(topo: &TopologyInfo, spec: &RunSpec) -> Result<(), BenchError> {
    spec.validate(topo.endpoint(Side::A).mtu, &available_cores())?;
    crate::afxdp::check_queues(topo, spec)
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
    check(topo, spec)?;
    if spec.mode.kernel_stack() {
        crate::kernel::run(topo, spec, interrupt, on_interval)
    } else {
        crate::afxdp::run(topo, spec, interrupt, on_interval)
    }
}
