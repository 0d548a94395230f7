//! CPU accounting against independent readers: the sender thread's CPU time as
//! /proc/<pid>/task/<tid>/stat counts it, and a trial disturbed by a busy loop on the sender's core.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use setup::testing::{skip_without_root, test_id, HostLock};

mod common;
use common::{core_affinity_pin, fresh_dir, json_files, text, vethbench, Reap};

/// utime + stime of the thread named `comm` of process `pid`, in clock ticks, if it runs.
fn thread_ticks(pid: u32, comm: &str) -> Option<u64> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if name.trim() != comm {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the comm.
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        return Some(utime + stime);
    }
    None
}

#[test]
fn sender_cpu_time_agrees_with_proc_within_5_percent() {
    if skip_without_root("sender_cpu_time_agrees_with_proc_within_5_percent") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = fresh_dir("cpu-proc");
    let id = test_id("cpu");
    let child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .args([
            "run",
            "--mode",
            "throughput",
            "--duration",
            "3",
            "--warmup",
            "0",
        ])
        .args(["--id", id.as_str(), "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vethbench run");
    let mut child = Reap(child, id);
    let pid = child.0.id();
    // Sample the sender thread until it is gone; the last sample is its total.
    let (mut last, mut seen) = (0u64, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match thread_ticks(pid, "vb-a") {
            Some(t) => {
                last = t;
                seen = true;
            }
            None if seen => break,
            None => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut err = String::new();
    let _ = child
        .0
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut err));
    assert_eq!(child.0.wait().unwrap().code(), Some(0), "{err}");
    assert!(seen, "the sender thread vb-a was never seen");
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let proc_ns = last as f64 / hz * 1e9;
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_files(&dir)[0]).unwrap()).unwrap();
    let a = &record["scenarios"][0]["trials"][0]["cpu"]["a"];
    let recorded = a["cpu_ns"].as_f64().expect("A's CPU time recorded");
    // /proc also counts what the thread did before the window (opening its socket, waiting for
    // the start), about 1 % of 3 s; ticks are 10 ms.
    let ratio = recorded / proc_ns;
    assert!(
        (0.95..=1.0 + 1e-9 + 20e6 / proc_ns).contains(&ratio),
        "recorded {recorded:.0} ns vs /proc {proc_ns:.0} ns: ratio {ratio:.3}"
    );
    assert!(a["ns_per_frame"].as_f64().unwrap() > 0.0);
    let intervals = record["scenarios"][0]["trials"][0]["intervals"]
        .as_array()
        .expect("per-second figures recorded");
    assert!(intervals.len() >= 2, "{intervals:?}");
    assert!(intervals[0]["sent_pps"].as_f64().unwrap() > 0.0);
    assert!(a["share"].as_f64().unwrap() > 0.5, "{a}");
}

#[test]
fn a_busy_loop_on_the_sender_core_flags_the_trial_disturbed() {
    if skip_without_root("a_busy_loop_on_the_sender_core_flags_the_trial_disturbed") {
        return;
    }
    let _lock = HostLock::exclusive();
    let dir = fresh_dir("cpu-busy");
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            core_affinity_pin(0);
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let out = vethbench(&[
            "run",
            "--mode",
            "throughput",
            "--duration",
            "1.5",
            "--cores",
            "0,1",
            "--out",
            dir.to_str().unwrap(),
        ]);
        stop.store(true, Ordering::Relaxed);
        out
    });
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("core 0 was disturbed: our workers got"),
        "{stdout}"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_files(&dir)[0]).unwrap()).unwrap();
    let cpu = &record["scenarios"][0]["trials"][0]["cpu"];
    let d = &cpu["disturbed"][0];
    assert_eq!(d["core"], 0, "{cpu}");
    assert!(d["share"].as_f64().unwrap() < 0.9, "{d}");
    assert!(d["cause"].as_str().unwrap().contains("other tasks"), "{d}");
}
