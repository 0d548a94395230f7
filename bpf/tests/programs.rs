//! The XDP programs, as root: run on hand-built frames through BPF_PROG_RUN, and attached to a
//! real veth in a fresh topology.

use std::process::Command;

use bpf::{Attached, BpfError, Program, XdpMode, XdpProgram};
use setup::testing::{skip_without_root, test_id, HostLock};
use setup::{Side, Topology, TopologySpec};

const PORT: u16 = 9000;
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

/// Ethernet + IPv4 or IPv6 + UDP to `dport`, with a 16-byte payload (checksums do not matter here).
fn frame(ipv6: bool, dport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa];
    if ipv6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 24, 17, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    } else {
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 44, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    }
    f.extend_from_slice(&1234u16.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 24, 0, 0]);
    f.extend_from_slice(&[0x5a; 16]);
    f
}

#[test]
fn sink_drops_ours_and_passes_the_rest() {
    if skip_without_root("sink_drops_ours_and_passes_the_rest") {
        return;
    }
    let sink = XdpProgram::load(Program::Sink { pass: false }, PORT).expect("load");
    assert_eq!(sink.test_run(&frame(false, PORT)).unwrap().0, XDP_DROP);
    assert_eq!(sink.test_run(&frame(true, PORT)).unwrap().0, XDP_DROP);
    assert_eq!(
        sink.test_run(&frame(false, PORT + 1)).unwrap().0,
        XDP_PASS,
        "not ours"
    );
    assert_eq!(sink.test_run(&[0u8; 20]).unwrap().0, XDP_PASS, "runt frame");
    let c = sink.counters().unwrap();
    assert_eq!((c.rx_packets, c.matched, c.dropped, c.passed), (4, 2, 2, 2));
    let pass = XdpProgram::load(Program::Sink { pass: true }, PORT).expect("load");
    assert_eq!(
        pass.test_run(&frame(false, PORT)).unwrap().0,
        XDP_PASS,
        "rodata cfg_pass"
    );
    assert_eq!(pass.counters().unwrap().passed, 1);
}

#[test]
fn reflect_swaps_addresses_and_ports() {
    if skip_without_root("reflect_swaps_addresses_and_ports") {
        return;
    }
    let reflect = XdpProgram::load(Program::Reflect, PORT).expect("load");
    for ipv6 in [false, true] {
        let input = frame(ipv6, PORT);
        let (action, out) = reflect.test_run(&input).unwrap();
        assert_eq!(action, XDP_TX);
        assert_eq!(out.len(), input.len());
        assert_eq!(
            (&out[0..6], &out[6..12]),
            (&input[6..12], &input[0..6]),
            "MACs swapped"
        );
        let (ip, alen) = if ipv6 { (22, 16) } else { (26, 4) };
        assert_eq!(
            &out[ip..ip + alen],
            &input[ip + alen..ip + 2 * alen],
            "source is the old destination"
        );
        assert_eq!(&out[ip + alen..ip + 2 * alen], &input[ip..ip + alen]);
        let udp = ip + 2 * alen;
        assert_eq!(
            &out[udp..udp + 2],
            &PORT.to_be_bytes(),
            "source port is the old destination port"
        );
        assert_eq!(&out[udp + 2..udp + 4], &1234u16.to_be_bytes());
        assert_eq!(&out[udp + 4..], &input[udp + 4..], "rest untouched");
    }
    assert_eq!(reflect.test_run(&frame(false, 1)).unwrap().0, XDP_PASS);
    assert_eq!(reflect.counters().unwrap().tx, 2);
}

#[test]
fn redirect_without_a_socket_passes_to_the_stack() {
    if skip_without_root("redirect_without_a_socket_passes_to_the_stack") {
        return;
    }
    let redirect = XdpProgram::load(Program::XskRedirect, 0).expect("load");
    assert_eq!(
        redirect.test_run(&frame(false, 7)).unwrap().0,
        XDP_PASS,
        "port 0 matches any UDP"
    );
    let c = redirect.counters().unwrap();
    assert_eq!((c.matched, c.redirected, c.passed), (1, 0, 1));
    let sink = XdpProgram::load(Program::Sink { pass: false }, PORT).unwrap();
    assert!(matches!(
        sink.register_xsk(0, 0),
        Err(BpfError::Unsupported { .. })
    ));
}

fn xdp_prog_id(ns: &str, dev: &str) -> Option<u64> {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "link", "show", "dev", dev])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0]["xdp"]["prog"]["id"].as_u64()
}

#[test]
fn attach_and_detach_on_a_real_veth_in_both_modes() {
    if skip_without_root("attach_and_detach_on_a_real_veth_in_both_modes") {
        return;
    }
    let _lock = HostLock::shared();
    let topo = Topology::create(&TopologySpec::new(test_id("xdp"))).expect("topology");
    let b = topo.endpoint(Side::B).clone();
    for mode in [XdpMode::Drv, XdpMode::Skb] {
        let prog = XdpProgram::load(Program::Sink { pass: false }, PORT).unwrap();
        let attached: Attached = prog
            .attach(&b.namespace, &b.interface, b.ifindex, mode)
            .expect("attach");
        assert!(
            xdp_prog_id(&b.namespace, &b.interface).is_some(),
            "{mode}: attached"
        );
        assert_eq!(attached.mode(), mode);
        drop(attached);
        assert_eq!(
            xdp_prog_id(&b.namespace, &b.interface),
            None,
            "{mode}: detached on drop"
        );
    }
    // A guard that outlives its topology detaches quietly.
    let prog = XdpProgram::load(Program::Reflect, PORT).unwrap();
    let attached = prog
        .attach(&b.namespace, &b.interface, b.ifindex, XdpMode::Drv)
        .unwrap();
    drop(topo);
    attached
        .detach()
        .expect("detaching after teardown is not an error");
}
