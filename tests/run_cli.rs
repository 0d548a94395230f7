//! End-to-end tests of `vethbench run`, as root, with real namespaces: every mode, a shared core,
//! Ctrl-C, an existing topology, several sizes, the suite and trials. Every test leaves the host
//! as it found it.

use std::process::{Command, Stdio};

use setup::testing::{namespaces_of, skip_without_root, test_id, HostLock};

mod common;
use common::{records_dir, run_json, text, vethbench, Down, Reap};

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
