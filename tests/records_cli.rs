//! End-to-end tests of the `vethbench` binary's record commands and sweeps, as root, with real
//! namespaces: compare, export, the load warning, a router that does not forward, sweeps and the
//! report. Every test leaves the host as it found it.

use std::process::{Command, Stdio};

use setup::testing::{skip_without_root, snapshot, test_id, HostLock};

mod common;
use common::{core_affinity_pin, records_dir, text, vethbench, Down};

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
