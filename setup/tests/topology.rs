//! Real topologies, as root: built, inspected with iproute2 (an independent reader), used for
//! traffic, torn down. Each test cleans up through the topology guard, also when it panics.

use std::process::Command;

use serde_json::Value;
use setup::testing::{namespaces_of, skip_without_root, snapshot, test_id, HostLock};
use setup::{udp_round_trip, SetupError, Side, Topology, TopologySpec};

/// `ip -n <ns> -j -d addr show dev <dev>` parsed.
fn ip_json(ns: &str, dev: &str) -> Value {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "-d", "addr", "show", "dev", dev])
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("ip -j output");
    v[0].clone()
}

fn addresses(link: &Value) -> Vec<String> {
    link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

#[test]
fn pair_has_requested_settings_and_carries_udp_both_ways() {
    if skip_without_root("pair_has_requested_settings_and_carries_udp_both_ways") {
        return;
    }
    let _lock = HostLock::shared();
    let mut spec = TopologySpec::new(test_id("pair"));
    spec.queues = 3;
    spec.mtu = 2000;
    spec.gro = Some(true);
    spec.tx_checksum = Some(false);
    spec.threaded_napi = Some(true);
    spec.napi_defer_hard_irqs = Some(2);
    spec.gro_flush_timeout_ns = Some(200_000);
    spec.sysctls.rp_filter = 2;
    spec.sysctls.accept_local = true;
    let topo = Topology::create(&spec).expect("create");
    for side in Side::BOTH {
        let e = topo.endpoint(side);
        assert_eq!(e.namespace, spec.id.namespace(side));
        let link = ip_json(&e.namespace, &e.interface);
        assert_eq!(link["mtu"], 2000);
        assert_eq!(link["num_rx_queues"], 3);
        assert_eq!(link["num_tx_queues"], 3);
        assert_eq!(link["address"], e.mac.to_string());
        assert_eq!(link["operstate"], "UP");
        assert_eq!(link["linkinfo"]["info_kind"], "veth");
        let addrs = addresses(&link);
        assert!(addrs.contains(&format!("{}/30", e.ipv4)), "{addrs:?}");
        assert!(
            addrs.contains(&format!("{}/64", e.ipv6.unwrap())),
            "{addrs:?}"
        );
        assert!(e.gro && !e.tx_checksum && e.threaded_napi, "{e:?}");
        assert_eq!(
            (e.napi_defer_hard_irqs, e.gro_flush_timeout_ns),
            (2, 200_000)
        );
        for (knob, want) in [
            ("napi_defer_hard_irqs", "2"),
            ("gro_flush_timeout", "200000"),
            ("threaded", "1"),
        ] {
            let path = format!("/sys/class/net/{}/{knob}", e.interface);
            let out = Command::new("ip")
                .args(["netns", "exec", &e.namespace, "cat", &path])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                want,
                "{knob} via ip netns exec"
            );
        }
        assert_eq!(
            e.sysctls[&format!("net.ipv4.conf.{}.rp_filter", e.interface)],
            "2"
        );
        assert_eq!(e.sysctls["net.ipv4.conf.all.accept_local"], "1");
        assert_eq!(e.sysctls["net.ipv4.ping_group_range"], "0 2147483647");
    }
    // Driver statistics read like `ethtool -S` does, checked against ethtool itself.
    let a = topo.endpoint(Side::A);
    let ours = setup::driver_stats(a).expect("driver stats");
    let out = Command::new("ip")
        .args(["netns", "exec", &a.namespace, "ethtool", "-S", &a.interface])
        .output()
        .expect("ethtool -S");
    let theirs: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect();
    assert!(
        theirs.len() > 5 && theirs.len() == ours.len(),
        "{theirs:?} vs {ours:?}"
    );
    for (name, _) in &theirs {
        assert!(ours.contains_key(name), "{name} missing from {ours:?}");
    }
    assert!(
        ours.contains_key("rx_queue_2_xdp_drops"),
        "three queues: {ours:?}"
    );
    for ipv6 in [false, true] {
        let rt = udp_round_trip(topo.info(), ipv6, 1000).expect("round trip");
        assert_eq!(rt.bytes, 1000);
        assert_eq!(rt.from.is_ipv6(), ipv6);
    }
    let id = spec.id.clone();
    let removed = topo.destroy().expect("destroy");
    assert_eq!(removed.namespaces.len(), 2, "{removed:?}");
    assert_eq!(
        removed.links.len(),
        1,
        "deleting one end deletes the pair: {removed:?}"
    );
    assert!(namespaces_of(&id).is_empty());
}

#[test]
fn small_mtu_gives_an_ipv4_only_pair() {
    if skip_without_root("small_mtu_gives_an_ipv4_only_pair") {
        return;
    }
    let _lock = HostLock::shared();
    let mut spec = TopologySpec::new(test_id("mtu"));
    spec.mtu = 576;
    let topo = Topology::create(&spec).expect("create");
    assert!(topo.endpoint(Side::A).ipv6.is_none());
    udp_round_trip(topo.info(), false, 500).expect("IPv4 round trip");
    let err = udp_round_trip(topo.info(), true, 100).unwrap_err();
    assert!(err.to_string().contains("IPv6 needs MTU >= 1280"), "{err}");
}

#[test]
fn host_is_identical_before_and_after() {
    if skip_without_root("host_is_identical_before_and_after") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let topo = Topology::create(&TopologySpec::new(test_id("host"))).expect("create");
    let during = snapshot();
    assert_eq!(
        during.links, before.links,
        "no link of ours appears in the host namespace"
    );
    assert_eq!(during.namespaces.len(), before.namespaces.len() + 2);
    drop(topo);
    assert_eq!(snapshot(), before);
}

#[test]
fn panic_inside_a_test_still_tears_down() {
    if skip_without_root("panic_inside_a_test_still_tears_down") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("panic");
    let spec = TopologySpec::new(id.clone());
    let result = std::panic::catch_unwind(|| {
        let _topo = Topology::create(&spec).expect("create");
        assert_eq!(namespaces_of(&spec.id).len(), 2);
        panic!("deliberate panic with the topology up");
    });
    assert!(result.is_err());
    assert!(
        namespaces_of(&id).is_empty(),
        "guard removed the namespaces while unwinding"
    );
}

#[test]
fn two_topologies_at_once_do_not_collide() {
    if skip_without_root("two_topologies_at_once_do_not_collide") {
        return;
    }
    let _lock = HostLock::shared();
    let ids = [test_id("twoa"), test_id("twob")];
    std::thread::scope(|s| {
        let workers = ids.clone().map(|id| {
            s.spawn(move || {
                let topo = Topology::create(&TopologySpec::new(id)).expect("create");
                // Hold both up at the same time while each carries traffic.
                std::thread::sleep(std::time::Duration::from_millis(50));
                udp_round_trip(topo.info(), false, 64).expect("round trip");
                topo
            })
        });
        let topos = workers.map(|w| w.join().expect("worker"));
        for (topo, id) in topos.iter().zip(&ids) {
            assert_eq!(namespaces_of(id).len(), 2);
            assert_eq!(topo.endpoint(Side::A).interface, id.link(Side::A));
        }
    });
    for id in &ids {
        assert!(namespaces_of(id).is_empty());
    }
}

#[test]
fn an_id_in_use_is_refused_and_the_first_topology_survives() {
    if skip_without_root("an_id_in_use_is_refused_and_the_first_topology_survives") {
        return;
    }
    let _lock = HostLock::shared();
    let spec = TopologySpec::new(test_id("dup"));
    let first = Topology::create(&spec).expect("create");
    let err = Topology::create(&spec)
        .err()
        .expect("second create must fail");
    assert!(
        matches!(err, SetupError::IdInUse { .. } | SetupError::Busy { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(spec.id.as_str()), "{err}");
    udp_round_trip(first.info(), false, 64).expect("first still works");
}

#[test]
fn racing_for_one_id_leaves_the_winner_intact() {
    if skip_without_root("racing_for_one_id_leaves_the_winner_intact") {
        return;
    }
    let _lock = HostLock::shared();
    let spec = TopologySpec::new(test_id("race"));
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Result<Topology, SetupError>> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    Topology::create(&spec)
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .collect()
    });
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one racer wins");
    let err = lost.into_iter().next().unwrap().err().unwrap();
    assert!(
        matches!(err, SetupError::IdInUse { .. } | SetupError::Busy { .. }),
        "{err}"
    );
    let winner = won.into_iter().next().unwrap().unwrap();
    assert_eq!(
        namespaces_of(&spec.id).len(),
        2,
        "the loser's rollback spared the winner"
    );
    assert!(setup::RunRecord::load(&spec.id).is_some_and(|r| r.topology.is_some()));
    udp_round_trip(winner.info(), false, 64).expect("winner still carries traffic");
}

#[test]
fn invalid_spec_creates_nothing() {
    if skip_without_root("invalid_spec_creates_nothing") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let mut spec = TopologySpec::new(test_id("bad"));
    spec.queues = 65;
    let err = Topology::create(&spec).err().expect("must fail");
    assert!(err.to_string().starts_with("--queues 65"), "{err}");
    assert_eq!(snapshot(), before);
}

#[test]
fn failure_halfway_rolls_back() {
    if skip_without_root("failure_halfway_rolls_back") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    for stage in ["namespaces", "veth", "configured"] {
        let id = test_id("roll");
        setup::testing::fail_next_create_at(stage);
        let err = Topology::create(&TopologySpec::new(id.clone()))
            .err()
            .expect("injected failure");
        assert!(err.to_string().contains(stage), "{err}");
        assert!(
            namespaces_of(&id).is_empty(),
            "stage {stage} left namespaces"
        );
        assert!(
            setup::RunRecord::load(&id).is_none(),
            "stage {stage} left its record"
        );
        assert_eq!(snapshot(), before, "stage {stage}");
    }
}

#[test]
fn edges_of_the_ranges_build() {
    if skip_without_root("edges_of_the_ranges_build") {
        return;
    }
    let _lock = HostLock::shared();
    let mut spec = TopologySpec::new(test_id("edge"));
    spec.mtu = 65535;
    spec.queues = 64;
    let topo = Topology::create(&spec).expect("largest MTU and queue count");
    assert_eq!(topo.endpoint(Side::B).rx_queues, 64);
    assert_eq!(topo.endpoint(Side::B).mtu, 65535);
    udp_round_trip(topo.info(), true, 8000).expect("jumbo IPv6 round trip");
}

/// Every ICMPv6 message A's stack has sent (neighbour/router solicitations, MLD reports).
fn icmp6_out(topo: &Topology) -> u64 {
    setup::netns::run_in(&topo.info().endpoint(Side::A).namespace, || {
        let text = std::fs::read_to_string("/proc/thread-self/net/snmp6").unwrap_or_default();
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("Icmp6OutMsgs"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0))
    })
    .expect("read snmp6 in A")
}

#[test]
fn a_new_pair_is_quiet_once_created() {
    if skip_without_root("a_new_pair_is_quiet_once_created") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = Topology::create(&TopologySpec::new(test_id("quiet"))).expect("create");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let settled = icmp6_out(&topo);
    // Left to its defaults, IPv6 sends a DAD probe, a router solicitation and MLD retransmissions
    // up to about a second after the link comes up: into the first measurement.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(
        icmp6_out(&topo),
        settled,
        "A's stack sent ICMPv6 after creation"
    );
}

#[test]
fn every_topology_carries_udp_both_ways_and_leaves_nothing() {
    if skip_without_root("every_topology_carries_udp_both_ways_and_leaves_nothing") {
        return;
    }
    // Exclusive: the host must look the same before and after.
    let _lock = HostLock::exclusive();
    let before = snapshot();
    for kind in [
        setup::TopologyKind::Bridge,
        setup::TopologyKind::Routed,
        setup::TopologyKind::SameNs,
    ] {
        let mut spec = TopologySpec::new(test_id(&format!("k{}", &kind.name()[..2])));
        spec.kind = kind;
        spec.sysctls.accept_local = kind == setup::TopologyKind::SameNs;
        let topo = Topology::create(&spec).unwrap_or_else(|e| panic!("{kind}: {e}"));
        for ipv6 in [false, true] {
            udp_round_trip(topo.info(), ipv6, 1000)
                .unwrap_or_else(|e| panic!("{kind} ipv6={ipv6}: {e}"));
        }
        let info = topo.info().clone();
        let (a, b) = (info.endpoint(Side::A), info.endpoint(Side::B));
        match kind {
            setup::TopologyKind::SameNs => {
                assert_eq!(a.namespace, b.namespace, "one namespace");
                assert!(info.middle.is_none());
            }
            _ => {
                let m = info.middle.as_ref().expect("a middle namespace");
                assert_eq!(namespaces_of(&spec.id).len(), 3, "A, B and {}", m.namespace);
                // The middle's ends exist in its namespace, as iproute2 sees them.
                for l in &m.links {
                    assert_eq!(ip_json(&m.namespace, l)["ifname"], l.as_str());
                }
            }
        }
        if kind == setup::TopologyKind::Routed {
            assert_ne!(a.ipv4, b.ipv4);
            assert_eq!(info.next_hop_mac(Side::A).to_string(), "02:76:62:00:00:0c");
            let m = info.middle.as_ref().unwrap();
            assert_eq!(
                m.sysctls
                    .get("net.ipv4.conf.all.forwarding")
                    .map(String::as_str),
                Some("1"),
                "the router forwards, and the record says so"
            );
        }
        topo.destroy()
            .unwrap_or_else(|e| panic!("{kind}: destroy: {e}"));
        assert_eq!(snapshot(), before, "{kind} left something behind");
    }
}

#[test]
fn same_ns_needs_accept_local() {
    let mut spec = TopologySpec::new(setup::RunId::new("sn").unwrap());
    spec.kind = setup::TopologyKind::SameNs;
    let err = Topology::create(&spec).err().expect("refused").to_string();
    assert!(err.contains("--accept-local"), "{err}");
}

#[test]
fn napi_threads_are_pinned_and_read_back() {
    if skip_without_root("napi_threads_are_pinned_and_read_back") {
        return;
    }
    let _lock = HostLock::shared();
    let mut spec = TopologySpec::new(test_id("napi"));
    spec.queues = 2;
    spec.gro = Some(true);
    spec.threaded_napi = Some(true);
    spec.napi_cores = Some(vec![1, 0]);
    let topo = Topology::create(&spec).expect("topology");
    for e in &topo.info().endpoints {
        assert_eq!(
            e.napi_threads.len(),
            2,
            "a thread per rx queue: {:?}",
            e.napi_threads
        );
        for (i, t) in e.napi_threads.iter().enumerate() {
            assert!(t.name.starts_with("napi/"), "{t:?}");
            assert_eq!(t.cores, vec![[1, 0][i]], "{t:?}");
            // An independent reader: the kernel's own view of the thread's affinity.
            let status = std::fs::read_to_string(format!("/proc/{}/status", t.pid)).unwrap();
            let allowed = status
                .lines()
                .find(|l| l.starts_with("Cpus_allowed_list:"))
                .unwrap();
            assert!(allowed.ends_with(&format!("\t{}", [1, 0][i])), "{allowed}");
        }
    }
}
