//! Several flows over several veth queues, as root: flow i's sockets on queue i of both ends, in
//! both worker layouts and every AF_XDP mode. Every frame of every flow is accounted, and the
//! driver's per-queue counters show flow i only on queue i.

use bench::scenario::run;
use model::outcome::RunOutcome;
use model::{Layout, Mode, RunSpec};
use setup::testing::{skip_without_root, test_id, HostLock};
use setup::{Topology, TopologySpec};

const AF_XDP: [Mode; 5] = [
    Mode::Throughput,
    Mode::L2fwd,
    Mode::Latency,
    Mode::XdpDrop,
    Mode::XdpTx,
];

fn spec(mode: Mode, layout: Layout) -> RunSpec {
    let mut s = RunSpec {
        duration_ns: 0,
        warmup_ns: 10_000_000,
        count: Some(4_000),
        flows: 2,
        layout,
        // Split needs four cores; on a smaller machine the flows share two (warned). Flow i's
        // A core is i modulo the queues, as xdp-tx's returns need.
        cores: match layout {
            Layout::Split => vec![0, 1, 1, 0],
            Layout::Colocated => vec![0, 1],
        },
        ..RunSpec::new(mode)
    };
    if !mode.closed_loop() {
        s.rate = Some(40_000);
    }
    s
}

/// What B's rx queue `q` saw (XDP frames), 0 if it saw nothing.
fn b_queue(out: &RunOutcome, q: u32) -> u64 {
    out.queues
        .iter()
        .find(|c| c.side == "b" && c.queue == q)
        .map_or(0, |c| c.xdp_packets)
}

fn check(mode: Mode, layout: Layout, out: &RunOutcome) {
    let what = format!("{} {layout}", mode.name());
    assert_eq!(out.flows, 2, "{what}");
    assert_eq!(out.per_flow.len(), 2, "{what}: {:#?}", out.per_flow);
    assert_eq!(
        out.accounting.unexplained, 0,
        "{what}: {:#?}",
        out.accounting
    );
    for f in &out.per_flow {
        assert!(f.sent > 0, "{what}: flow {} sent nothing", f.flow);
        // Each flow keeps its own latency histograms (where the mode measures latency).
        if mode.returns() {
            assert!(f.histograms.contains_key("rtt"), "{what}: flow {}", f.flow);
        }
        assert_eq!(
            f.accounting.unexplained, 0,
            "{what}: flow {}: {:#?}",
            f.flow, f.accounting
        );
        if mode != Mode::XdpTx {
            assert_eq!(f.other_flow, 0, "{what}: flow {}", f.flow);
        }
        // Every frame flow i sent went through B's rx queue i.
        assert!(
            b_queue(out, f.flow) >= f.accounting.sent,
            "{what}: flow {} sent {} but B's queue {} saw {}: {:?}",
            f.flow,
            f.accounting.sent,
            f.flow,
            b_queue(out, f.flow),
            out.queues
        );
    }
    // ... and nothing much else did (IPv6 is kept quiet on our links).
    let sent: u64 = out.per_flow.iter().map(|f| f.accounting.sent).sum();
    let seen: u64 = out
        .queues
        .iter()
        .filter(|q| q.side == "b")
        .map(|q| q.xdp_packets)
        .sum();
    assert!(
        seen - sent <= 10,
        "{what}: B's queues saw {seen}, flows sent {sent}"
    );
    assert!(
        !out.warnings.iter().any(|w| w.contains("another queue")),
        "{what}: {:?}",
        out.warnings
    );
}

#[test]
fn two_flows_keep_to_their_queues_in_every_mode_and_layout() {
    if skip_without_root("two_flows_keep_to_their_queues_in_every_mode_and_layout") {
        return;
    }
    let _lock = HostLock::shared();
    let mut t = TopologySpec::new(test_id("flows"));
    t.queues = 2;
    let topo = Topology::create(&t).expect("topology");
    for layout in [Layout::Split, Layout::Colocated] {
        for mode in AF_XDP {
            let out = run(topo.info(), &spec(mode, layout))
                .unwrap_or_else(|e| panic!("{} {layout}: {e}", mode.name()));
            check(mode, layout, &out);
        }
    }
}

#[test]
fn more_flows_than_queues_are_refused_naming_the_flag() {
    if skip_without_root("more_flows_than_queues_are_refused_naming_the_flag") {
        return;
    }
    let _lock = HostLock::shared();
    let mut t = TopologySpec::new(test_id("flows3"));
    t.queues = 2;
    let topo = Topology::create(&t).expect("topology");
    let mut s = spec(Mode::Throughput, Layout::Colocated);
    s.flows = 3;
    s.cores = vec![0, 1, 0];
    let err = run(topo.info(), &s).expect_err("3 flows on 2 queues");
    assert!(err.to_string().contains("--flows 3"), "{err}");
    // Nothing was attached: a run with the right flow count works at once.
    let out = run(topo.info(), &spec(Mode::Throughput, Layout::Colocated)).expect("2 flows");
    assert_eq!(out.accounting.unexplained, 0);
}

#[test]
fn a_colocated_flow_runs_on_one_core() {
    if skip_without_root("a_colocated_flow_runs_on_one_core") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = Topology::create(&TopologySpec::new(test_id("coloc"))).expect("topology");
    let s = RunSpec {
        flows: 1,
        cores: vec![1],
        ..spec(Mode::Throughput, Layout::Colocated)
    };
    let out = run(topo.info(), &s).expect("run");
    assert!(
        out.per_flow.is_empty(),
        "one flow: the aggregate is the flow"
    );
    assert_eq!(out.received, out.sent);
    let cpu = out.cpu.expect("cpu");
    assert_eq!(cpu.a.map(|w| w.core), Some(1));
    assert!(cpu.b.is_none(), "one thread drives both sides");
    assert!(
        !out.warnings.iter().any(|w| w.contains("share")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn kernel_stack_baselines_run_a_socket_pair_per_flow() {
    if skip_without_root("kernel_stack_baselines_run_a_socket_pair_per_flow") {
        return;
    }
    let _lock = HostLock::shared();
    let mut t = TopologySpec::new(test_id("kflows"));
    t.queues = 2;
    let topo = Topology::create(&t).expect("topology");
    for mode in [Mode::UdpFlood, Mode::UdpPingpong, Mode::Icmp] {
        let mut s = spec(mode, Layout::Split);
        s.count = Some(2_000);
        if mode.closed_loop() {
            s.rate = None;
        }
        let out = run(topo.info(), &s).unwrap_or_else(|e| panic!("{}: {e}", mode.name()));
        assert_eq!(out.per_flow.len(), 2, "{}", mode.name());
        for f in &out.per_flow {
            assert!(f.received > 0, "{} flow {}: {f:?}", mode.name(), f.flow);
        }
        let received: u64 = out.per_flow.iter().map(|f| f.accounting.received).sum();
        assert_eq!(received, out.accounting.received, "{}", mode.name());
        assert_eq!(
            out.accounting.unexplained,
            0,
            "{}: {:?}",
            mode.name(),
            out.accounting
        );
        let cpu = out.cpu.expect("cpu");
        assert_eq!(cpu.workers.len(), if mode == Mode::Icmp { 2 } else { 4 });
    }
}
