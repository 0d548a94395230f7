//! End-to-end tests of the `vethbench` binary's topology commands (up, check, down, cleanup,
//! doctor, bad input), as root, with real namespaces. Every test leaves
//! the host as it found it; tests that compare the whole host hold the host lock exclusively.

use setup::testing::{namespaces_of, skip_without_root, snapshot, test_id, HostLock};

mod common;
use common::{hold, text, vethbench, Reap};

#[test]
fn up_check_down_leaves_the_host_as_it_was() {
    if skip_without_root("up_check_down_leaves_the_host_as_it_was") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let id = test_id("cli");
    let up = vethbench(&["up", "--id", id.as_str(), "--mtu", "9000", "--queues", "2"]);
    let (out, err) = text(&up);
    assert!(up.status.success(), "{err}");
    for needle in [
        id.namespace(setup::Side::A),
        id.link(setup::Side::B),
        "198.18.0.1/30".into(),
        "2001:2::2/64".into(),
        "9000".into(),
        "2/2".into(),
    ] {
        assert!(out.contains(&needle), "missing {needle} in:\n{out}");
    }
    let check = vethbench(&["check", "--id", id.as_str(), "--size", "8000"]);
    let (out, err) = text(&check);
    assert!(check.status.success(), "{err}");
    assert_eq!(
        out.matches(" ok").count(),
        2,
        "IPv4 and IPv6 round trips:\n{out}"
    );
    let down = vethbench(&["down", "--id", id.as_str()]);
    assert!(down.status.success(), "{}", text(&down).1);
    assert_eq!(snapshot(), before);
}

#[test]
fn cleanup_removes_what_a_killed_run_left() {
    if skip_without_root("cleanup_removes_what_a_killed_run_left") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let id = test_id("kill");
    let mut child = Reap(hold(&id), id.clone());
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
    assert_eq!(
        namespaces_of(&id).len(),
        2,
        "SIGKILL gives the guard no chance"
    );
    let cleanup = vethbench(&["cleanup"]);
    let (out, err) = text(&cleanup);
    assert!(cleanup.status.success(), "{err}");
    assert!(out.contains(&format!("removed run {id}")), "{out}");
    assert!(namespaces_of(&id).is_empty());
    assert_eq!(snapshot(), before);
}

#[test]
fn sigterm_tears_a_held_topology_down() {
    if skip_without_root("sigterm_tears_a_held_topology_down") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("term");
    let mut child = Reap(hold(&id), id.clone());
    assert_eq!(namespaces_of(&id).len(), 2);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .expect("SIGTERM");
    let status = child.0.wait().expect("wait");
    assert!(status.success(), "{status}");
    assert!(namespaces_of(&id).is_empty());
}

#[test]
fn cleanup_leaves_a_live_run_alone_unless_forced() {
    if skip_without_root("cleanup_leaves_a_live_run_alone_unless_forced") {
        return;
    }
    // Exclusive: a plain `cleanup` from another test would see this live run too (and skip it),
    // but `--force` here must not remove other tests' topologies.
    let _lock = HostLock::exclusive();
    let id = test_id("live");
    let _child = Reap(hold(&id), id.clone());
    let out = text(&vethbench(&["cleanup"])).0;
    assert!(out.contains(&format!("left run {id} alone")), "{out}");
    assert_eq!(namespaces_of(&id).len(), 2);
    let out = text(&vethbench(&["cleanup", "--force"])).0;
    assert!(out.contains(&format!("removed run {id}")), "{out}");
    assert!(namespaces_of(&id).is_empty());
}

#[test]
fn rejected_input_names_the_flag_and_leaves_nothing() {
    if skip_without_root("rejected_input_names_the_flag_and_leaves_nothing") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let cases: &[(&[&str], &str)] = &[
        (&["up", "--queues", "0"], "--queues"),
        (&["up", "--queues", "65"], "1..=64"),
        (&["up", "--mtu", "67"], "68..=65535"),
        (&["up", "--mtu", "70000"], "--mtu"),
        (&["up", "--id", "UPPER"], "--id"),
        (&["up", "--id", "abcdefghijklm"], "15-byte"),
        (&["up", "--rp-filter", "3"], "--rp-filter"),
        (&["up", "--gro", "maybe"], "--gro"),
        (&["up", "--threaded", "on"], "--gro on"),
        (
            &["check", "--id", "nosuchrun"],
            "no topology with run id 'nosuchrun'",
        ),
        (
            &["down", "--id", "nosuchrun"],
            "no topology with run id 'nosuchrun'",
        ),
        (&["run", "--format", "xml"], "one of table, json, csv"),
        (&["run", "--save-baseline", "../up"], "not a baseline name"),
        (
            &[
                "run",
                "--baseline",
                "nosuchbaseline",
                "--out",
                "/nonexistent",
            ],
            "--baseline",
        ),
        (
            &[
                "run",
                "--baseline",
                "nosuchbaseline",
                "--out",
                "/nonexistent",
            ],
            "/nonexistent/baselines/nosuchbaseline.json",
        ),
        (&["export", "/nonexistent/r.json"], "/nonexistent/r.json"),
    ];
    for (args, needle) in cases {
        let o = vethbench(args);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(
            err.contains(needle),
            "{args:?}: expected '{needle}' in:\n{err}"
        );
        assert_eq!(snapshot(), before, "{args:?} left something behind");
    }
}

#[test]
fn a_second_up_with_the_same_id_is_refused() {
    if skip_without_root("a_second_up_with_the_same_id_is_refused") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("twice");
    assert!(vethbench(&["up", "--id", id.as_str()]).status.success());
    let second = vethbench(&["up", "--id", id.as_str()]);
    let err = text(&second).1;
    assert!(!second.status.success());
    assert!(
        err.contains(&format!("run id '{id}' is already in use")),
        "{err}"
    );
    assert!(
        vethbench(&["check", "--id", id.as_str()]).status.success(),
        "first one still works"
    );
    assert!(vethbench(&["down", "--id", id.as_str()]).status.success());
    assert!(namespaces_of(&id).is_empty());
}

#[test]
fn doctor_reports_every_check_and_its_probe_passes() {
    if skip_without_root("doctor_reports_every_check_and_its_probe_passes") {
        return;
    }
    let _lock = HostLock::shared();
    let o = vethbench(&["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_slice(&o.stdout).expect("doctor --json");
    let status = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}"))["status"]
            .clone()
    };
    for name in [
        "privileges",
        "kernel version",
        "known-bad kernels",
        "kernel config",
        "BTF",
        "bpffs",
        "memlock",
        "CPUs",
    ] {
        status(name);
    }
    assert_eq!(status("privileges"), "pass");
    assert_eq!(status("AF_XDP socket"), "pass");
    assert_eq!(status("netns + veth probe"), "pass");
    let any_fail = checks
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["status"] == "fail");
    assert_eq!(
        o.status.success(),
        !any_fail,
        "exit status follows the failures"
    );
}
