//! Helpers shared by the end-to-end tests: running the binary, and guards that remove what a test
//! built even while a failed assertion unwinds.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use setup::RunId;

/// Where `run` writes its records in tests (not the repository).
pub fn records_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("records-{}", std::process::id()))
}

pub fn vethbench(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vethbench"));
    cmd.args(args);
    if args.first() == Some(&"run") && !args.contains(&"--out") {
        cmd.arg("--out").arg(records_dir());
    }
    cmd.output().expect("run vethbench")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Starts `vethbench up --hold` and returns once the topology is up.
/// Takes a topology left up by `vethbench up` down when dropped, also while a failed assertion
/// unwinds.
pub struct Down(pub RunId);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = vethbench(&["down", "--id", self.0.as_str()]);
    }
}

pub fn hold(id: &RunId) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
        .args(["up", "--hold", "--id", id.as_str()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vethbench up --hold");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("holding") => break,
            Some(Ok(_)) => continue,
            _ => {
                let _ = child.kill();
                panic!("up --hold ended before the topology was up");
            }
        }
    }
    child
}

/// Kills a child on drop, then removes what it may have left (the guard of these tests).
pub struct Reap(pub Child, pub RunId);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = setup::down(&self.1, true);
    }
}

impl Reap {
    /// Waits for the child and returns its exit code, stdout and stderr (the guard still removes
    /// what it left when dropped).
    pub fn finish(&mut self) -> (Option<i32>, String, String) {
        use std::io::Read;
        let mut stderr = self.0.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        let mut out = String::new();
        if let Some(o) = self.0.stdout.as_mut() {
            let _ = o.read_to_string(&mut out);
        }
        let status = self.0.wait().expect("wait for vethbench");
        (status.code(), out, reader.join().unwrap_or_default())
    }
}

/// A fresh directory of this test under cargo's target tmp dir: `<tag>-<pid>-<random>`.
pub fn fresh_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        RunId::generate()
    ));
    std::fs::create_dir_all(&dir).expect("create a test directory");
    dir
}

/// The `.json` files directly in `dir` (records; baselines live in a subdirectory), sorted.
pub fn json_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .expect("read the records directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// One real record in `dir` (a short latency run on a topology of its own), and its path.
pub fn latency_record(dir: &std::path::Path) -> std::path::PathBuf {
    let out = vethbench(&[
        "run",
        "--mode",
        "latency",
        "--count",
        "300",
        "--out",
        dir.to_str().expect("UTF-8 path"),
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
    json_files(dir).remove(0)
}

/// Pins the calling thread to `core`.
pub fn core_affinity_pin(core: usize) {
    let mut set = nix::sched::CpuSet::new();
    set.set(core).expect("core number");
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).expect("pin");
}

/// `vethbench run --json` with no warm-up and `args`: its outcome, the run having succeeded.
pub fn run_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run", "--json", "--duration", "0", "--warmup", "0"];
    all.extend_from_slice(args);
    let o = vethbench(&all);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{all:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}: {out}"))
}

/// Asserts that `vethbench args` exits 2 within `limit` (refused, not after measuring or booting),
/// naming every needle on stderr.
#[allow(dead_code)] // not every test file refuses input
pub fn refused_within(args: &[&str], needles: &[&str], limit: std::time::Duration) {
    let started = std::time::Instant::now();
    let out = vethbench(args);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: exit 2\n{stdout}{stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: '{n}' missing in: {stderr}");
    }
    assert!(
        started.elapsed() < limit,
        "{args:?}: refused within {limit:?}, not after measuring"
    );
}
