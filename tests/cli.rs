//! End-to-end tests of the `vethbench` binary, as root, with real namespaces. Every test leaves
//! the host as it found it; tests that compare the whole host hold the host lock exclusively.

use std::process::{Command, Stdio};

use setup::testing::{namespaces_of, skip_without_root, snapshot, test_id, HostLock};

mod common;
use common::{core_affinity_pin, hold, records_dir, text, vethbench, Down, Reap};

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

fn run_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run", "--json", "--duration", "0", "--warmup", "0"];
    all.extend_from_slice(args);
    let o = vethbench(&all);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{all:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}: {out}"))
}

#[test]
fn run_reports_every_mode_with_complete_accounting() {
    if skip_without_root("run_reports_every_mode_with_complete_accounting") {
        return;
    }
    let _lock = HostLock::shared();
    let cases: &[(&str, &[&str], u64)] = &[
        ("throughput", &["--rate", "50000", "--count", "5000"], 5000),
        ("l2fwd", &["--rate", "20000", "--count", "2000"], 2000),
        ("latency", &["--count", "1000"], 1000),
        ("xdp-drop", &["--rate", "50000", "--count", "5000"], 5000),
        ("xdp-tx", &["--count", "1000"], 1000),
    ];
    for (mode, extra, frames) in cases {
        let mut args = vec!["--mode", mode];
        args.extend_from_slice(extra);
        let v = run_json(&args);
        assert_eq!(v["mode"], *mode);
        assert_eq!(v["sent"], *frames, "{mode}");
        assert_eq!(v["received"], *frames, "{mode}: {}", v["accounting"]);
        assert_eq!(
            v["accounting"]["unexplained"], 0,
            "{mode}: {}",
            v["accounting"]
        );
        if *mode != "xdp-drop" {
            assert!(
                !v["histograms"].as_object().unwrap().is_empty(),
                "{mode}: histograms kept"
            );
        }
        if ["latency", "xdp-tx", "l2fwd"].contains(mode) {
            assert_eq!(v["rtt"]["samples"], *frames, "{mode}");
        }
    }
}

#[test]
fn run_on_one_core_warns_and_prints_a_table() {
    if skip_without_root("run_on_one_core_warns_and_prints_a_table") {
        return;
    }
    let _lock = HostLock::shared();
    let o = vethbench(&[
        "run",
        "--mode",
        "throughput",
        "--cores",
        "1,1",
        "--count",
        "2000",
        "--rate",
        "20000",
        "--duration",
        "0",
        "--warmup",
        "0",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("warning: sender and receiver share core 1"),
        "{out}"
    );
    for column in ["offered Mpps", "received Mpps", "loss %", "p99.9 µs"] {
        assert!(out.contains(column), "{column} missing:\n{out}");
    }
    assert!(
        out.contains("frames: sent 2000 = received 2000 + attributed 0 + unexplained 0"),
        "{out}"
    );
}

#[test]
fn sigint_stops_a_run_and_tears_down() {
    if skip_without_root("sigint_stops_a_run_and_tears_down") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("int");
    let child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .args([
            "run",
            "--mode",
            "throughput",
            "--id",
            id.as_str(),
            "--duration",
            "60",
            "--rate",
            "20000",
        ])
        .arg("--out")
        .arg(records_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let mut child = Reap(child, id.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while namespaces_of(&id).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "topology never came up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .expect("SIGINT");
    let started = std::time::Instant::now();
    let status = child.0.wait().expect("wait");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "stops promptly"
    );
    assert_eq!(status.code(), Some(130), "exit 130 after SIGINT: {status}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(
        out.contains("unexplained 0"),
        "measured up to the signal and accounted:\n{out}"
    );
    assert!(namespaces_of(&id).is_empty(), "torn down");
}

#[test]
fn run_on_an_existing_topology_leaves_it_up_and_clean() {
    if skip_without_root("run_on_an_existing_topology_leaves_it_up_and_clean") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("on");
    assert!(vethbench(&["up", "--id", id.as_str()]).status.success());
    let _down = Down(id.clone());
    let v = run_json(&["--on", id.as_str(), "--mode", "latency", "--count", "500"]);
    assert_eq!(v["rtt"]["samples"], 500);
    assert_eq!(namespaces_of(&id).len(), 2, "left up");
    for side in [setup::Side::A, setup::Side::B] {
        let out = Command::new("ip")
            .args([
                "-n",
                &id.namespace(side),
                "-j",
                "link",
                "show",
                "dev",
                &id.link(side),
            ])
            .output()
            .unwrap();
        let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            link[0]["xdp"].is_null(),
            "{side}: XDP program detached: {}",
            link[0]
        );
    }
    let refused = vethbench(&["run", "--on", id.as_str(), "--mtu", "9000"]);
    assert!(text(&refused).1.contains("leave out the topology flags"));
    assert!(vethbench(&["down", "--id", id.as_str()]).status.success());
}

#[test]
fn run_measures_each_size_on_one_topology() {
    if skip_without_root("run_measures_each_size_on_one_topology") {
        return;
    }
    let _lock = HostLock::shared();
    let v = run_json(&[
        "--mode",
        "throughput",
        "--size",
        "64,1500,64",
        "--count",
        "1000",
        "--rate",
        "20000",
    ]);
    let runs = v.as_array().expect("several sizes give an array");
    assert_eq!(runs.len(), 2, "repeated sizes run once");
    for (run, size) in runs.iter().zip([64, 1500]) {
        assert_eq!(run["size"], size);
        assert_eq!(run["received"], 1000);
        assert_eq!(run["accounting"]["unexplained"], 0);
    }
    let o = vethbench(&["run", "--size", "62"]);
    assert!(
        text(&o)
            .1
            .contains("--size 62: IPv4 frames here are 64..=1514"),
        "{}",
        text(&o).1
    );
}

#[test]
fn run_without_a_mode_compares_af_xdp_with_the_kernel_stack() {
    if skip_without_root("run_without_a_mode_compares_af_xdp_with_the_kernel_stack") {
        return;
    }
    let _lock = HostLock::shared();
    let o = vethbench(&[
        "run",
        "--json",
        "--size",
        "64,256",
        "--trials",
        "1",
        "--duration",
        "0.2",
        "--warmup",
        "0",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for phase in [
        "[1/10] throughput 64 B",
        "[5/10] icmp 64 B",
        "[10/10] icmp 256 B",
    ] {
        assert!(err.contains(phase), "progress line {phase} missing:\n{err}");
    }
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let modes: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        ["throughput", "udp-flood", "latency", "udp-pingpong", "icmp"].repeat(2)
    );
    for run in v["runs"].as_array().unwrap() {
        assert_eq!(run["accounting"]["unexplained"], 0, "{}", run["mode"]);
    }
    let rows = v["comparison"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        for field in ["pps_ratio", "p50_ratio", "p99_ratio", "icmp_rtt_p50_ns"] {
            assert!(
                row[field].as_f64().is_some_and(|x| x > 0.0),
                "{field} in {row}"
            );
        }
    }
    let table = vethbench(&[
        "run",
        "--trials",
        "1",
        "--size",
        "64",
        "--duration",
        "0.2",
        "--warmup",
        "0",
    ]);
    let (out, _) = text(&table);
    assert!(out.contains("AF_XDP vs kernel stack"), "{out}");
    assert!(out.contains("p50 ratio"), "{out}");
}

#[test]
fn trials_go_into_a_record_with_estimates() {
    if skip_without_root("trials_go_into_a_record_with_estimates") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = records_dir().join("trials");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().unwrap();
    let o = vethbench(&[
        "run",
        "--mode",
        "latency",
        "--count",
        "300",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--trials",
        "3",
        "--out",
        dir_arg,
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("[3/3] latency 64 B trial 3"), "{err}");
    assert!(
        out.contains("Over the trials: median [95 % confidence interval]"),
        "{out}"
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        err.contains(&format!("record: {}", files[0].display())),
        "{err}"
    );
    let record = results::load(&files[0]).expect("the record loads");
    assert_eq!(record.schema_version, results::SCHEMA_VERSION);
    assert_eq!(record.scenarios.len(), 1);
    let s = &record.scenarios[0];
    assert_eq!(
        (s.key.as_str(), s.trials.len()),
        ("latency/64B/ipv4/drv", 3)
    );
    let rtt = s.estimates["rtt_p50_us"];
    assert_eq!(rtt.n, 3);
    assert!(
        rtt.ci95_low <= rtt.median && rtt.median <= rtt.ci95_high,
        "{rtt:?}"
    );
    assert!(
        s.trials.iter().all(|t| !t.histograms["rtt"].is_empty()),
        "raw histograms kept per trial"
    );
    assert!(!record.fingerprint.kernel_release.is_empty());
    assert_eq!(record.fingerprint.topology.endpoints[0].mtu, 1500);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_exit_status_says_no_change_regression_or_unusable() {
    if skip_without_root("compare_exit_status_says_no_change_regression_or_unusable") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = records_dir().join("compare");
    let _ = std::fs::remove_dir_all(&dir);
    let o = vethbench(&[
        "run",
        "--mode",
        "throughput",
        "--rate",
        "20000",
        "--count",
        "2000",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--trials",
        "2",
        "--out",
        dir.to_str().unwrap(),
        "--save-baseline",
        "first",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let base = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("the record");
    assert_eq!(
        std::fs::read(&base).unwrap(),
        std::fs::read(dir.join("baselines/first.json")).unwrap(),
        "--save-baseline stores the record under its name"
    );
    let b = base.to_str().unwrap();
    let same = vethbench(&["compare", b, b]);
    let (out, err) = text(&same);
    assert!(
        out.contains("no change")
            && !out.contains("REGRESSED")
            && !out.lines().any(|l| l.ends_with("improved")),
        "{out}"
    );
    assert!(out.contains("environment: identical fingerprints"), "{out}");
    // Exit 0 only if every judged metric is shown unchanged, 3 if one is inconclusive (with two
    // trials a side, a noisy one-way time may not be pinned inside the band).
    let json = vethbench(&["compare", b, b, "--json"]);
    let c: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let inconclusive = c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["verdict"] == "inconclusive");
    assert_eq!(
        same.status.code(),
        Some(if inconclusive { 3 } else { 0 }),
        "{out}{err}"
    );
    assert!(err.contains("0 regressed, 0 improved"), "{err}");
    assert_eq!(
        vethbench(&["compare", b, b, "--fail-on", "regression"])
            .status
            .code(),
        Some(0)
    );
    // The same record with every trial's rate halved: a regression.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    for trial in v["scenarios"][0]["trials"].as_array_mut().unwrap() {
        let pps = trial["received_pps"].as_f64().unwrap();
        trial["received_pps"] = serde_json::json!(pps / 2.0);
    }
    let worse = dir.join("worse.json");
    std::fs::write(&worse, serde_json::to_vec(&v).unwrap()).unwrap();
    let w = worse.to_str().unwrap();
    let regressed = vethbench(&["compare", b, w]);
    let (out, _) = text(&regressed);
    assert_eq!(regressed.status.code(), Some(1), "{out}");
    assert!(
        out.contains("received_pps") && out.contains("REGRESSED") && out.contains("-50.0 %"),
        "{out}"
    );
    assert_eq!(
        vethbench(&["compare", b, w, "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    let broken = dir.join("broken.json");
    std::fs::write(&broken, &std::fs::read(&base).unwrap()[..100]).unwrap();
    for args in [
        vec!["compare", b, broken.to_str().unwrap()],
        vec!["export", broken.to_str().unwrap()],
    ] {
        let unusable = vethbench(&args);
        assert_eq!(unusable.status.code(), Some(2), "{args:?}");
        assert!(
            text(&unusable).1.contains("broken.json"),
            "{args:?}: {}",
            text(&unusable).1
        );
    }
    // A baseline twice as fast as this machine: a run compared with it regresses and exits 1.
    let mut fast: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    for trial in fast["scenarios"][0]["trials"].as_array_mut().unwrap() {
        let pps = trial["received_pps"].as_f64().unwrap();
        trial["received_pps"] = serde_json::json!(pps * 2.0);
    }
    std::fs::write(
        dir.join("baselines/fast.json"),
        serde_json::to_vec(&fast).unwrap(),
    )
    .unwrap();
    // This machine against the fast baseline, adaptive trials bounded to a few seconds.
    let against_fast = || {
        vethbench(&[
            "run",
            "--mode",
            "throughput",
            "--rate",
            "20000",
            "--count",
            "2000",
            "--duration",
            "0",
            "--warmup",
            "0",
            "--trials",
            "2",
            "--max-time",
            "3",
            "--out",
            dir.to_str().unwrap(),
            "--baseline",
            "fast",
        ])
    };
    let o = against_fast();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("baseline 'fast'") && out.contains("REGRESSED"),
        "{out}"
    );
    // A noise profile in the results directory widens the bands of every --baseline run: a
    // machine this noisy cannot call a halved rate a regression.
    let profile = serde_json::json!({
        "records": 5, "created": "2026-12-03T00:00:00Z", "kernel_release": "test",
        "bands_pct": { "received_pps": 500.0, "a_cpu_ns_per_frame": 500.0 }
    });
    std::fs::write(dir.join("noise.json"), profile.to_string()).unwrap();
    let o = against_fast();
    let (out, err) = text(&o);
    assert_ne!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("measured on this machine: ") && !out.contains("REGRESSED"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_prints_a_stored_record_in_every_format() {
    if skip_without_root("export_prints_a_stored_record_in_every_format") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = records_dir().join("export");
    let _ = std::fs::remove_dir_all(&dir);
    let o = vethbench(&[
        "run",
        "--mode",
        "latency",
        "--count",
        "300",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--out",
        dir.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    let (csv, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        csv.starts_with("run_id,scenario,"),
        "run --format csv: {csv}"
    );
    let record = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let r = record.to_str().unwrap();
    let export = |format: &str| {
        let o = vethbench(&["export", r, "--format", format]);
        assert!(o.status.success(), "{format}: {}", text(&o).1);
        text(&o).0
    };
    assert_eq!(export("csv"), csv, "run --format and export agree");
    assert!(export("table").contains("frames: sent 300 = received 300"));
    assert!(export("markdown").starts_with("### vethbench"));
    let json: serde_json::Value = serde_json::from_str(&export("json")).expect("json");
    assert_eq!(json["scenarios"][0]["trials"][0]["rtt"]["samples"], 300);
    let bmf: serde_json::Value = serde_json::from_str(&export("bmf")).expect("bmf");
    let latency = bmf["vethbench/latency/64B/ipv4/drv"]["latency"]["value"]
        .as_f64()
        .expect("RTT median in ns");
    assert!(latency > 100.0, "{bmf}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_on_a_pinned_core_is_a_warning_with_a_fix() {
    if skip_without_root("load_on_a_pinned_core_is_a_warning_with_a_fix") {
        return;
    }
    // Exclusive: the spinning thread must not disturb other tests' measurements.
    let _lock = HostLock::exclusive();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let o = std::thread::scope(|s| {
        s.spawn(|| {
            core_affinity_pin(1);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let o = vethbench(&[
            "run",
            "--mode",
            "latency",
            "--count",
            "200",
            "--duration",
            "0",
            "--warmup",
            "0",
            "--cores",
            "0,1",
            "--out",
            records_dir().join("load").to_str().unwrap(),
        ]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        o
    });
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("warning: core 1 was") && out.contains("pick idle cores with --cores"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(records_dir().join("load"));
}

/// Pins the calling thread to `core` (sched_setaffinity).
#[test]
fn a_router_that_does_not_forward_is_named_instead_of_measured() {
    if skip_without_root("a_router_that_does_not_forward_is_named_instead_of_measured") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("rtoff");
    let up = vethbench(&["up", "--id", id.as_str(), "--topology", "routed"]);
    assert!(up.status.success(), "{}", text(&up).1);
    let _down = Down(id.clone());
    assert!(text(&up).0.contains("router vb-"), "{}", text(&up).0);
    let router = format!("vb-{}-m", id.as_str());
    let off = Command::new("ip")
        .args([
            "netns",
            "exec",
            &router,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.forwarding=0",
        ])
        .status()
        .expect("ip netns exec");
    assert!(off.success());
    let o = vethbench(&[
        "run",
        "--on",
        id.as_str(),
        "--mode",
        "udp-pingpong",
        "--count",
        "100",
        "--duration",
        "0",
        "--out",
        records_dir().join("rtoff").to_str().unwrap(),
    ]);
    let err = text(&o).1;
    assert!(
        !o.status.success(),
        "measured through a router that does not forward"
    );
    assert!(
        err.contains("no traffic passes") && err.contains("forwarding is off"),
        "{err}"
    );
}

#[test]
fn a_sweep_with_a_mistake_is_refused_before_anything_runs() {
    if skip_without_root("a_sweep_with_a_mistake_is_refused_before_anything_runs") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let dir = records_dir().join("sweep-bad");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[axes]\nsize = [64]\nbatchsize = [1]\n").unwrap();
    let o = vethbench(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o).1;
    assert!(
        err.contains("bad.toml:3:1") && err.contains("batchsize"),
        "{err}"
    );
    std::fs::write(&file, "[axes]\nbatch = [64, 0]\n").unwrap();
    let o = vethbench(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--batch 0"), "{}", text(&o).1);
    assert_eq!(snapshot(), before, "nothing was created");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Record files of a sweep.
fn sweep_points(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_sweep_stores_every_point_survives_ctrl_c_and_resumes() {
    if skip_without_root("a_sweep_stores_every_point_survives_ctrl_c_and_resumes") {
        return;
    }
    let _lock = HostLock::shared();
    let out = records_dir().join("sweep");
    let _ = std::fs::remove_dir_all(&out);
    let dir = out.join("sweep-t");
    let args = |duration: &'static str| -> Vec<String> {
        [
            "sweep",
            "--name",
            "t",
            "--size",
            "64,1500",
            "--xdp-mode",
            "drv,skb",
            "--batch",
            "16,64",
            "--duration",
            duration,
            "--warmup",
            "0",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.to_str().unwrap().to_string()])
        .collect()
    };
    // Interrupted part way: what was measured stays, the topology goes.
    let child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .args(args("0.5"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sweep");
    let start = std::time::Instant::now();
    while sweep_points(&dir) < 2 && start.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .expect("SIGINT");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(130), "{}", text(&o).1);
    let kept = sweep_points(&dir);
    assert!((2..8).contains(&kept), "{kept} points stored");
    assert!(text(&o).1.contains("--resume"), "{}", text(&o).1);
    // The same sweep again is refused; with --resume it measures only what is missing.
    let again: Vec<String> = args("0.1");
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    assert_eq!(vethbench(&again).status.code(), Some(2));
    let mut resumed = again.clone();
    resumed.push("--resume");
    let o = vethbench(&resumed);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{kept} stored already")),
        "{stderr}"
    );
    assert_eq!(sweep_points(&dir), 8);
    assert!(
        stdout.contains("highest lossless rate (throughput 64 B): ")
            && stdout.contains("highest lossless rate (throughput 1500 B): "),
        "{stdout}"
    );
    // One trial per point: no winner can be named against the defaults.
    assert!(
        stdout.contains("no setting beat the defaults conclusively")
            || stdout.contains("the default settings are best"),
        "{stdout}"
    );
    assert!(!stdout.contains(": improved"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn report_writes_one_self_contained_html_file() {
    if skip_without_root("report_writes_one_self_contained_html_file") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = records_dir().join("report");
    let _ = std::fs::remove_dir_all(&dir);
    let o = vethbench(&[
        "run",
        "--mode",
        "latency",
        "--size",
        "64,512",
        "--count",
        "300",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let page = dir.join("report.html");
    let o = vethbench(&[
        "report",
        dir.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let html = std::fs::read_to_string(&page).expect("report written");
    assert!(
        html.contains("RTT by percentile"),
        "spectrum from the stored histograms"
    );
    assert!(html.contains("<svg") && !html.contains("<script"));
    let missing = vethbench(&[
        "report",
        "/nonexistent/r.json",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).1.contains("/nonexistent/r.json"));
    let _ = std::fs::remove_dir_all(&dir);
}
