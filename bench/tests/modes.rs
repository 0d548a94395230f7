//! Every mode on a real topology, as root: AF_XDP sockets in two namespaces, our XDP programs,
//! short runs that must deliver and account for every frame.

use bench::scenario::run;
use bench::BenchError;
use model::{Mode, RunSpec};
use setup::testing::{skip_without_root, test_id, HostLock};
use setup::{Topology, TopologySpec};

fn spec(mode: Mode) -> RunSpec {
    RunSpec {
        duration_ns: 0,
        warmup_ns: 0,
        count: Some(20_000),
        ..RunSpec::new(mode)
    }
}

fn topology(tag: &str) -> Topology {
    Topology::create(&TopologySpec::new(test_id(tag))).expect("topology")
}

#[test]
fn throughput_at_a_modest_rate_loses_nothing() {
    if skip_without_root("throughput_at_a_modest_rate_loses_nothing") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("thr");
    let mut s = spec(Mode::Throughput);
    s.rate = Some(50_000);
    s.warmup_ns = 20_000_000;
    let out = run(topo.info(), &s).expect("run");
    assert_eq!(out.sent, 20_000);
    assert_eq!(out.received, 20_000, "{:#?}", out.accounting);
    assert_eq!(out.accounting.unexplained, 0, "{:#?}", out.accounting);
    assert_eq!(out.accounting.sent, out.accounting.received);
    assert!(out.one_way_a2b.is_some_and(|l| l.samples == 20_000));
    let pps = out.offered_pps;
    assert!(
        pps > 40_000.0 && pps < 60_000.0,
        "rate limit holds roughly: {pps}"
    );
}

#[test]
fn latency_returns_a_sample_per_frame() {
    if skip_without_root("latency_returns_a_sample_per_frame") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("lat");
    let mut s = spec(Mode::Latency);
    s.count = Some(2_000);
    let out = run(topo.info(), &s).expect("run");
    assert_eq!(out.sent, 2_000);
    let rtt = out.rtt.expect("rtt");
    assert_eq!(rtt.samples, 2_000);
    assert_eq!(out.received, 2_000);
    let (a2b, b2a) = (out.one_way_a2b.unwrap(), out.one_way_b2a.unwrap());
    assert!(
        a2b.p50_ns < rtt.p50_ns && b2a.p50_ns < rtt.p50_ns,
        "one-way below round trip"
    );
    assert_eq!(out.accounting.unexplained, 0, "{:#?}", out.accounting);
}

#[test]
fn l2fwd_forwards_back() {
    if skip_without_root("l2fwd_forwards_back") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("l2f");
    let mut s = spec(Mode::L2fwd);
    s.rate = Some(20_000);
    s.count = Some(5_000);
    let out = run(topo.info(), &s).expect("run");
    // Frames only reach A's socket if B swapped the addresses and ports (A's program matches
    // UDP to port 9001, which only a swapped frame carries).
    assert_eq!(out.received, 5_000, "{:#?}", out.accounting);
    assert_eq!(out.counters["xdp_a.redirected"], out.accounting.received);
    assert_eq!(out.accounting.unexplained, 0, "{:#?}", out.accounting);
    assert!(out.rtt.is_some());
}

#[test]
fn in_kernel_sink_and_reflector() {
    if skip_without_root("in_kernel_sink_and_reflector") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("kern");
    let mut s = spec(Mode::XdpDrop);
    s.rate = Some(50_000);
    s.count = Some(10_000);
    let out = run(topo.info(), &s).expect("xdp-drop");
    assert_eq!(out.counters["xdp_b.dropped"], out.accounting.sent);
    assert_eq!(out.received, 10_000);
    assert_eq!(out.accounting.unexplained, 0);
    let mut s = spec(Mode::XdpTx);
    s.count = Some(2_000);
    let out = run(topo.info(), &s).expect("xdp-tx");
    assert_eq!(out.rtt.expect("rtt").samples, 2_000);
    assert_eq!(out.counters["xdp_b.tx"], out.accounting.sent);
    // The veth driver's own counters (ethtool -S) tell the same story.
    assert_eq!(
        out.counters["ethtool_b.rx_queue_0_xdp_tx"],
        out.accounting.sent
    );
    assert_eq!(
        out.counters["ethtool_a.rx_queue_0_xdp_redirect"],
        out.accounting.received
    );
    assert_eq!(out.accounting.unexplained, 0, "{:#?}", out.accounting);
}

#[test]
fn bad_core_is_refused_before_anything_is_attached() {
    if skip_without_root("bad_core_is_refused_before_anything_is_attached") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("core");
    let mut s = spec(Mode::Throughput);
    s.cores = vec![0, 999];
    let err = run(topo.info(), &s).expect_err("core 999 does not exist");
    assert!(
        matches!(
            err,
            BenchError::Usage(model::UsageError {
                flag: "--cores",
                ..
            })
        ),
        "{err}"
    );
    let mut s = spec(Mode::Throughput);
    s.cores = vec![1, 1];
    s.rate = Some(20_000);
    s.count = Some(1_000);
    let out = run(topo.info(), &s).expect("shared core still runs");
    assert!(
        out.warnings.iter().any(|w| w.contains("share core 1")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn kernel_stack_baselines_deliver_and_account() {
    if skip_without_root("kernel_stack_baselines_deliver_and_account") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = topology("base");
    for (mode, count, ipv6) in [
        (Mode::UdpPingpong, 500, false),
        (Mode::UdpPingpong, 500, true),
        (Mode::Icmp, 1000, false),
        (Mode::Icmp, 1000, true),
        (Mode::UdpFlood, 20_000, false),
    ] {
        let mut s = spec(mode);
        s.count = Some(count);
        s.ipv6 = ipv6;
        s.size = if ipv6 { 100 } else { 64 };
        if mode == Mode::UdpFlood {
            s.rate = Some(50_000);
        }
        let out = run(topo.info(), &s).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(out.sent, count, "{mode:?}");
        assert_eq!(
            out.received, count,
            "{mode:?} ipv6={ipv6}: {:#?}",
            out.accounting
        );
        assert_eq!(
            out.accounting.unexplained, 0,
            "{mode:?}: {:#?}",
            out.accounting
        );
        if mode.returns() {
            assert_eq!(out.rtt.expect("rtt").samples, count, "{mode:?}");
        }
        if mode == Mode::UdpPingpong {
            let (a2b, rtt) = (out.one_way_a2b.unwrap(), out.rtt.unwrap());
            assert!(a2b.p50_ns < rtt.p50_ns, "the server writes the A→B time");
        }
    }
}

#[test]
fn af_xdp_and_the_kernel_stack_cross_every_topology() {
    if skip_without_root("af_xdp_and_the_kernel_stack_cross_every_topology") {
        return;
    }
    let _lock = HostLock::shared();
    for kind in [
        setup::TopologyKind::Bridge,
        setup::TopologyKind::Routed,
        setup::TopologyKind::SameNs,
    ] {
        let mut t = TopologySpec::new(test_id(&format!("x{}", &kind.name()[..2])));
        t.kind = kind;
        t.sysctls.accept_local = kind == setup::TopologyKind::SameNs;
        let topo = Topology::create(&t).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut thr = spec(Mode::Throughput);
        thr.rate = Some(50_000);
        thr.count = Some(5_000);
        let mut lat = spec(Mode::Latency);
        lat.count = Some(1_000);
        let mut pp = spec(Mode::UdpPingpong);
        pp.count = Some(500);
        for s in [&thr, &lat, &pp] {
            let out =
                run(topo.info(), s).unwrap_or_else(|e| panic!("{kind} {}: {e}", s.mode.name()));
            let what = format!("{kind} {}: {:?}", s.mode.name(), out.accounting);
            assert_eq!(out.received, out.sent, "{what}");
            assert_eq!(out.accounting.unexplained, 0, "{what}");
            let expected_path = if kind == setup::TopologyKind::SameNs && s.mode.kernel_stack() {
                "lo"
            } else {
                "veth"
            };
            assert_eq!(out.path.as_deref(), Some(expected_path), "{what}");
        }
    }
}
