//! Records and baselines never lie, and a topology has one live owner: interrupted runs, a second
//! run or a `down` on a topology in use, a kill during creation, an unusable results directory, a
//! reader that goes away. As root, with real namespaces; each test removes what it built through a
//! guard, also when an assertion fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use setup::testing::{namespaces_of, skip_without_root, snapshot, test_id, HostLock};
use setup::{Lease, RunId};

mod common;
use common::{fresh_dir, hold, json_files, latency_record, text, vethbench, Down, Reap};

/// A fresh records directory of this test.
/// `vethbench run ARGS --out DIR` in the background, output captured.
fn spawn_run(args: &[&str], out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vethbench run")
}

/// Waits until a live process holds topology `id` and returns its pid.
fn wait_for_owner(id: &RunId) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = Lease::holder(id) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no process took topology {id}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, s: Signal) {
    kill(Pid::from_raw(child.id() as i32), s).expect("send signal");
}

/// The one run record in `dir` (baselines aside).
fn the_record(dir: &Path) -> serde_json::Value {
    let files = json_files(dir);
    assert_eq!(files.len(), 1, "one record in {}: {files:?}", dir.display());
    serde_json::from_slice(&std::fs::read(&files[0]).expect("read record")).expect("JSON")
}

#[test]
fn an_interrupted_run_is_marked_keeps_the_baseline_and_exits_130_or_143() {
    if skip_without_root("an_interrupted_run_is_marked_keeps_the_baseline_and_exits_130_or_143") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = fresh_dir("owners-int");
    let good = vethbench(&[
        "run",
        "--mode",
        "throughput",
        "--duration",
        "0.3",
        "--warmup",
        "0.1",
        "--rate",
        "20000",
        "--save-baseline",
        "main",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(good.status.success(), "{}", text(&good).1);
    let baseline = dir.join("baselines/main.json");
    let before = std::fs::read(&baseline).expect("baseline saved");

    for (sig, code, into_trial, tag) in [
        (Signal::SIGINT, 130, Duration::ZERO, "sint"),
        (Signal::SIGTERM, 143, Duration::from_millis(1200), "sterm"),
    ] {
        let id = test_id(tag);
        let out = fresh_dir(tag);
        std::fs::create_dir_all(out.join("baselines")).unwrap();
        std::fs::copy(&baseline, out.join("baselines/main.json")).unwrap();
        let child = spawn_run(
            &[
                "--mode",
                "throughput",
                "--duration",
                "20",
                "--warmup",
                "0.2",
                "--rate",
                "20000",
                "--id",
                id.as_str(),
                "--save-baseline",
                "main",
            ],
            &out,
        );
        let mut child = Reap(child, id.clone());
        wait_for_owner(&id);
        std::thread::sleep(into_trial);
        signal(&child.0, sig);
        let (status, stdout, stderr) = child.finish();
        assert_eq!(status, Some(code), "{sig}: exit {code}\n{stderr}");
        assert!(
            stderr.contains("not saved"),
            "{sig}: says the baseline stays:\n{stderr}"
        );
        assert_eq!(
            std::fs::read(out.join("baselines/main.json")).unwrap(),
            before,
            "{sig}: the good baseline is untouched"
        );
        assert!(
            stdout.contains("interrupted"),
            "{sig}: the table says so:\n{stdout}"
        );
        let record = the_record(&out);
        assert_eq!(record["interrupted"], sig.as_str(), "{record:#}");
        let scenario = &record["scenarios"][0];
        assert_eq!(scenario["trials"][0]["interrupted"], true, "{scenario:#}");
        assert_eq!(
            scenario["estimates"],
            serde_json::json!({}),
            "{sig}: a cut-short trial is no estimate"
        );
        assert!(namespaces_of(&id).is_empty(), "{sig}: torn down");
        // Nothing to judge: comparing it with the baseline is not a "no change".
        let record_file = json_files(&out).remove(0);
        let c = vethbench(&[
            "compare",
            baseline.to_str().unwrap(),
            record_file.to_str().unwrap(),
        ]);
        let (out, err) = text(&c);
        assert_eq!(c.status.code(), Some(2), "{out}{err}");
        assert!(
            out.contains("not compared") && err.contains("nothing to compare"),
            "{out}{err}"
        );
        assert!(!out.lines().any(|l| l.ends_with("no change")), "{out}");
    }
}

#[test]
fn a_topology_in_use_has_one_owner_and_down_force_stops_it() {
    if skip_without_root("a_topology_in_use_has_one_owner_and_down_force_stops_it") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("own");
    assert!(vethbench(&["up", "--id", id.as_str()]).status.success());
    let _down = Down(id.clone());
    let dir = fresh_dir("owners-own");
    let first = spawn_run(
        &[
            "--on",
            id.as_str(),
            "--mode",
            "throughput",
            "--duration",
            "3",
            "--rate",
            "50000",
        ],
        &dir,
    );
    let mut first = Reap(first, RunId::new("unused").unwrap());
    let owner = wait_for_owner(&id);
    assert_eq!(owner, first.0.id());

    let second = vethbench(&[
        "run",
        "--on",
        id.as_str(),
        "--mode",
        "throughput",
        "--duration",
        "0.3",
    ]);
    let (_, err) = text(&second);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("process {owner}")),
        "names the owner: {err}"
    );
    assert!(
        !err.contains("vethbench down"),
        "never tells to down a live run: {err}"
    );
    let check = vethbench(&["check", "--id", id.as_str()]);
    assert!(!check.status.success() && text(&check).1.contains(&format!("process {owner}")));
    let down = vethbench(&["down", "--id", id.as_str()]);
    let (_, err) = text(&down);
    assert_eq!(down.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("process {owner}")) && err.contains("--force"),
        "{err}"
    );
    assert_eq!(namespaces_of(&id).len(), 2, "left alone");

    let (status, _, stderr) = first.finish();
    assert_eq!(status, Some(0), "the first run was not disturbed: {stderr}");
    let record = the_record(&dir);
    let trial = &record["scenarios"][0]["trials"][0];
    assert_eq!(trial["accounting"]["unexplained"], 0, "{trial:#}");
    assert_eq!(trial["interrupted"], false);

    // --force: the owner stops cleanly (its record marked interrupted), then the topology goes.
    let dir = fresh_dir("owners-force");
    let long = spawn_run(
        &[
            "--on",
            id.as_str(),
            "--mode",
            "throughput",
            "--duration",
            "30",
            "--rate",
            "20000",
        ],
        &dir,
    );
    let mut long = Reap(long, RunId::new("unused").unwrap());
    let owner = wait_for_owner(&id);
    std::thread::sleep(Duration::from_millis(800));
    let forced = vethbench(&["down", "--id", id.as_str(), "--force"]);
    let (out, err) = text(&forced);
    assert!(forced.status.success(), "{err}");
    assert!(out.contains(&format!("stopped process {owner}")), "{out}");
    assert_eq!(long.finish().0, Some(143));
    assert!(namespaces_of(&id).is_empty(), "removed");
    assert_eq!(the_record(&dir)["interrupted"], "SIGTERM");
}

#[test]
fn a_kill_during_creation_is_cleaned_in_one_pass() {
    if skip_without_root("a_kill_during_creation_is_cleaned_in_one_pass") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let run_dir_before = listing("/run/vethbench");
    for command in [&["cleanup"][..], &["down", "--id"]] {
        let id = test_id("plh");
        // What SIGKILL between creating the file and mounting the namespace leaves behind, and a
        // state record whose owner is gone.
        std::fs::create_dir_all("/run/netns").unwrap();
        let placeholder = Path::new("/run/netns").join(id.namespace(setup::Side::B));
        std::fs::write(&placeholder, b"").unwrap();
        let mut record =
            setup::RunRecord::for_this_process(&id, vec![id.namespace(setup::Side::B)]);
        record.pid = u32::MAX - 1;
        record.save().unwrap();
        let mut args: Vec<&str> = command.to_vec();
        if args[0] == "down" {
            args.push(id.as_str());
        }
        let out = vethbench(&args);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{args:?}: one pass, exit 0:\n{stdout}{stderr}"
        );
        assert!(!placeholder.exists(), "{args:?}: placeholder removed");
        assert!(
            stdout.contains(&id.namespace(setup::Side::B)),
            "{args:?}: says what went: {stdout}"
        );
        if args[0] == "cleanup" {
            assert!(
                stdout.contains(&format!("/run/vethbench/{id}.json")),
                "{stdout}"
            );
        }
    }
    assert_eq!(snapshot(), before);
    assert_eq!(listing("/run/vethbench"), run_dir_before);
}

/// Sorted names in a directory (empty if it does not exist).
fn listing(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn an_unusable_out_is_refused_first_and_a_late_failure_keeps_the_record() {
    if skip_without_root("an_unusable_out_is_refused_first_and_a_late_failure_keeps_the_record") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let dir = fresh_dir("owners-out");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let started = Instant::now();
    let out = vethbench(&[
        "run",
        "--mode",
        "throughput",
        "--out",
        file.to_str().unwrap(),
    ]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--out") && err.contains("a-file"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused before measuring"
    );
    assert_eq!(snapshot(), before, "nothing built");
    drop(_lock);

    // The directory turns into a file while the run measures: the record goes to a temporary
    // file, whose path is printed.
    let _lock = HostLock::shared();
    let target = dir.join("vanishes");
    std::fs::create_dir_all(&target).unwrap();
    let id = test_id("late");
    let child = spawn_run(
        &[
            "--mode",
            "throughput",
            "--duration",
            "1.5",
            "--rate",
            "20000",
            "--id",
            id.as_str(),
        ],
        &target,
    );
    let mut child = Reap(child, id.clone());
    wait_for_owner(&id);
    std::fs::remove_dir_all(&target).unwrap();
    std::fs::write(&target, b"not a directory").unwrap();
    let (status, _, stderr) = child.finish();
    assert_eq!(status, Some(0), "{stderr}");
    let saved = stderr
        .lines()
        .find_map(|l| l.strip_prefix("record: "))
        .unwrap_or_else(|| panic!("record path printed:\n{stderr}"));
    assert!(stderr.contains("instead"), "{stderr}");
    let record = std::fs::read(saved).expect("the record is in the temporary file");
    let v: serde_json::Value = serde_json::from_slice(&record).unwrap();
    assert!(v["scenarios"][0]["trials"][0]["sent"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_file(saved);
}

#[test]
fn export_into_a_closed_pipe_exits_quietly() {
    if skip_without_root("export_into_a_closed_pipe_exits_quietly") {
        return;
    }
    let _lock = HostLock::shared();
    let record = latency_record(&fresh_dir("owners-pipe"));
    // Enough output to fill the pipe, to a reader that reads one line and leaves (`| head -1`).
    let many: Vec<&str> = std::iter::repeat_n(record.to_str().unwrap(), 300).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .arg("export")
        .args(&many)
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", text(&out).1);
    assert_eq!(text(&out).1, "", "quiet");
}

#[test]
fn a_held_topology_can_be_measured_on_but_not_removed_under_its_holder() {
    if skip_without_root("a_held_topology_can_be_measured_on_but_not_removed_under_its_holder") {
        return;
    }
    let _lock = HostLock::shared();
    let id = test_id("held");
    let mut holder = Reap(hold(&id), id.clone());
    let holder_pid = holder.0.id();
    // `up --hold` keeps it up for others to measure on, one at a time.
    let dir = fresh_dir("owners-held");
    let on = vethbench(&[
        "run",
        "--on",
        id.as_str(),
        "--mode",
        "latency",
        "--count",
        "200",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(on.status.success(), "{}", text(&on).1);
    // Removing it under its live holder is refused, naming the holder ...
    let down = vethbench(&["down", "--id", id.as_str()]);
    let (_, err) = text(&down);
    assert_eq!(down.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("process {holder_pid}")), "{err}");
    assert_eq!(namespaces_of(&id).len(), 2, "left alone");
    // ... unless forced: the holder is stopped and tears down.
    let forced = vethbench(&["down", "--id", id.as_str(), "--force"]);
    let (out, err) = text(&forced);
    assert!(forced.status.success(), "{err}");
    assert!(
        out.contains(&format!("stopped process {holder_pid}")),
        "{out}"
    );
    assert!(holder.0.try_wait().unwrap().is_some(), "the holder exited");
    assert!(namespaces_of(&id).is_empty());
    assert!(Lease::holder(&id).is_none());
}
