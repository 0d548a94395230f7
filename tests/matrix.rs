//! `vethbench matrix` with real kernels in real QEMU guests: two Debian cloud kernels (bookworm's
//! 6.1 and bookworm-backports' 6.12) under TCG, records back with each kernel's release; Ctrl-C
//! mid-boot leaves no QEMU; bad input is refused before anything boots. The guest tests skip,
//! saying why, where QEMU, busybox-static or the kernels cannot be had.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use setup::testing::{skip_without_root, snapshot, HostLock};

mod common;
use common::{fresh_dir, refused_within, text, vethbench};

const OLD: &str = "linux-image-cloud-amd64";
const NEW: &str = "linux-image-cloud-amd64/bookworm-backports";

/// Why the guest tests cannot run here, if they cannot.
fn guests_unavailable() -> Option<String> {
    let has = |tool: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .any(|d| d.join(tool).is_file())
    };
    if !has("qemu-system-x86_64") {
        return Some("qemu-system-x86_64 is not installed (scripts/setup-host installs it)".into());
    }
    if !Path::new("/bin/busybox").is_file() {
        return Some("busybox-static is not installed (scripts/setup-host installs it)".into());
    }
    for k in [OLD, NEW] {
        let known = Command::new("apt-get")
            .args(["download", "--print-uris", k])
            .output()
            .is_ok_and(|o| o.status.success());
        if !known {
            return Some(format!(
                "apt cannot fetch {k} (is bookworm-backports in apt's sources?)"
            ));
        }
    }
    None
}

fn skip_without_guests(test: &str) -> bool {
    if skip_without_root(test) {
        return true;
    }
    match guests_unavailable() {
        Some(why) => {
            eprintln!("skipped {test}: {why}");
            true
        }
        None => false,
    }
}

/// QEMU processes on the host.
fn qemus() -> String {
    let out = Command::new("pgrep")
        .args(["-a", "qemu-system"])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn matrix_compares_two_debian_kernels_under_tcg() {
    if skip_without_guests("matrix_compares_two_debian_kernels_under_tcg") {
        return;
    }
    // Alone: two emulated guests take both cores.
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let out_dir = fresh_dir("matrix");
    let started = Instant::now();
    let out = vethbench(&[
        "matrix",
        "--kernel",
        OLD,
        "--kernel",
        NEW,
        "--accel",
        "tcg",
        "--vm-cores",
        "1,0",
        "--out",
        out_dir.to_str().expect("UTF-8"),
        "--name",
        "two",
        "--",
        "--mode",
        "throughput",
        "--mode",
        "latency",
        "--duration",
        "0.5",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "matrix failed:\n{stdout}\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "two kernels under 5 minutes, took {:?}",
        started.elapsed()
    );
    // The guests' output was streamed, doctor first.
    assert!(stderr.contains("vethbench-guest: doctor"), "{stderr}");
    assert!(stderr.contains("vethbench-guest: run 2/2"), "{stderr}");
    // The table: both kernels, the second judged against the first, and not comparable.
    for needle in [
        "throughput/64B/ipv4/drv",
        "latency/64B/ipv4/drv",
        "rtt_p50_us",
        "not comparable: TCG emulation",
    ] {
        assert!(stdout.contains(needle), "'{needle}' missing in:\n{stdout}");
    }
    let dir = out_dir.join("matrix-two");
    let summary = json(&dir.join("matrix.json"));
    let kernels = summary["kernels"].as_array().expect("kernels");
    assert_eq!(kernels.len(), 2, "{summary}");
    let releases: Vec<&str> = kernels
        .iter()
        .map(|k| k["release"].as_str().unwrap_or(""))
        .collect();
    assert!(releases[0].starts_with("6.1."), "{releases:?}");
    assert!(releases[1].starts_with("6.12."), "{releases:?}");
    for k in kernels {
        assert_eq!(k["status"], "ok", "{k}");
        assert_eq!(k["accelerator"], "tcg", "{k}");
        let records = k["records"].as_array().expect("records");
        assert_eq!(records.len(), 2, "one record per mode: {k}");
        for r in records {
            let record = json(&dir.join(r.as_str().unwrap_or("")));
            let fp = &record["fingerprint"];
            assert_eq!(
                fp["kernel_release"], k["release"],
                "the guest's kernel measured"
            );
            assert_eq!(fp["vm"]["accelerator"], "tcg", "TCG recorded");
            assert_eq!(fp["vm"]["vcpus"], 2);
            // vCPU 0 on core 1 and vCPU 1 on core 0, read back by the matrix before recording.
            assert_eq!(fp["vm"]["vcpu_pinning"], serde_json::json!([1, 0]));
            for s in record["scenarios"].as_array().expect("scenarios") {
                let trials = s["trials"].as_array().expect("trials");
                assert!(!trials.is_empty(), "{s}");
                for t in trials {
                    let acc = &t["accounting"];
                    assert_eq!(acc["unexplained"], 0, "every frame accounted: {acc}");
                    assert!(acc["sent"].as_u64().unwrap_or(0) > 0, "{acc}");
                }
            }
        }
        assert!(dir
            .join(k["label"].as_str().unwrap_or(""))
            .join("console.log")
            .is_file());
    }
    let rows = summary["matrix"]["rows"].as_array().expect("matrix rows");
    assert!(
        rows.iter()
            .all(|r| r["against_first"][1]["verdict"] == "not-comparable"),
        "{rows:?}"
    );
    // The report has a matrix view of the same directory.
    let html = out_dir.join("matrix.html");
    let rep = vethbench(&[
        "report",
        dir.to_str().expect("UTF-8"),
        "-o",
        html.to_str().expect("UTF-8"),
    ]);
    assert!(rep.status.success(), "{}", text(&rep).1);
    let page = std::fs::read_to_string(&html).expect("report");
    assert!(page.contains("Kernel matrix"), "matrix view in the report");
    assert!(page.contains(releases[1]), "kernel column in the report");
    assert_eq!(qemus(), "", "no QEMU left");
    assert_eq!(snapshot(), before, "nothing of ours left on the host");
}

/// A `vethbench matrix` running in the background, its stderr read line by line.
struct Background {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
    /// Every stderr line read so far.
    seen: String,
}

impl Background {
    fn start(args: &[&str], out: &Path) -> Background {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vethbench"))
            .arg("matrix")
            .args(["--kernel", OLD, "--accel", "tcg", "--out"])
            .arg(out)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vethbench matrix");
        let stderr = child.stderr.take().expect("stderr");
        Background {
            child,
            lines: BufReader::new(stderr).lines(),
            seen: String::new(),
        }
    }

    /// Reads stderr until a line holds `needle` (fails the test if it never comes).
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(240);
        for line in self.lines.by_ref() {
            let line = line.expect("read stderr");
            self.seen += &line;
            self.seen.push('\n');
            if line.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no '{needle}' in 240 s:\n{}",
                self.seen
            );
        }
        panic!("'{needle}' never came:\n{}", self.seen);
    }

    /// Sends SIGINT, then reads the rest and waits: the exit code and everything printed.
    fn interrupt(mut self) -> (Option<i32>, String, u32) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("SIGINT");
        for line in self.lines.by_ref().map_while(Result::ok) {
            self.seen += &line;
            self.seen.push('\n');
        }
        let status = self.child.wait().expect("wait");
        (status.code(), self.seen, self.child.id())
    }
}

#[test]
fn matrix_interrupted_mid_boot_leaves_no_qemu() {
    if skip_without_guests("matrix_interrupted_mid_boot_leaves_no_qemu") {
        return;
    }
    let _lock = HostLock::exclusive();
    let out_dir = fresh_dir("matrix-int");
    let args = [
        "--name",
        "cut",
        "--",
        "--mode",
        "throughput",
        "--duration",
        "0.5",
    ];
    let mut bg = Background::start(&args, &out_dir);
    bg.wait_for("booting");
    // QEMU is up and the kernel is booting (TCG boots in seconds, not less than one).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!qemus().is_empty(), "QEMU runs while the guest boots");
    let (code, seen, pid) = bg.interrupt();
    assert_eq!(code, Some(130), "{seen}");
    assert_eq!(qemus(), "", "no QEMU left after Ctrl-C");
    let summary = json(&out_dir.join("matrix-cut/matrix.json"));
    let st = summary["kernels"][0]["status"].as_str().unwrap_or("");
    assert!(st.starts_with("interrupted"), "{summary}");
    let work = std::env::temp_dir().join(format!("vethbench-matrix.{pid}"));
    assert!(!work.exists(), "{} removed", work.display());
}

/// A file that looks like a bzImage of `release` (header and version string only).
fn fake_kernel(dir: &Path, release: &str) -> std::path::PathBuf {
    let mut b = vec![0u8; 0x800];
    b[0x202..0x206].copy_from_slice(b"HdrS");
    b[0x20e..0x210].copy_from_slice(&0x400u16.to_le_bytes());
    let v = format!("{release} (test) #1 SMP");
    b[0x600..0x600 + v.len()].copy_from_slice(v.as_bytes());
    let path = dir.join(format!("vmlinuz-{release}"));
    std::fs::write(&path, b).expect("write fake kernel");
    path
}

/// Exit 2 before booting, stderr naming every needle, nothing left running.
fn refused(args: &[&str], needles: &[&str]) {
    refused_within(args, needles, Duration::from_secs(30));
    assert_eq!(qemus(), "", "{args:?}: no QEMU");
}

#[test]
fn matrix_refuses_bad_input_before_booting() {
    if skip_without_root("matrix_refuses_bad_input_before_booting") {
        return;
    }
    // Not while a guest test runs: "no QEMU" is checked host-wide.
    let _lock = HostLock::shared();
    let dir = fresh_dir("matrix-bad");
    let out = dir.join("out");
    let o = out.to_str().expect("UTF-8");
    refused(
        &[
            "matrix",
            "--kernel",
            "/nonexistent/vmlinuz",
            "--accel",
            "tcg",
            "--out",
            o,
        ],
        &["--kernel", "/nonexistent/vmlinuz"],
    );
    let junk = dir.join("junk");
    std::fs::write(&junk, "not a kernel").expect("write");
    let j = junk.to_str().expect("UTF-8");
    refused(
        &["matrix", "--kernel", j, "--out", o],
        &["--kernel", "not a Linux x86 kernel image"],
    );
    // A kernel whose configuration lacks AF_XDP sockets, named from its config before booting.
    let release = "6.99.0-vbtest";
    let k = fake_kernel(&dir, release);
    let config = "CONFIG_BPF_SYSCALL=y\nCONFIG_VETH=y\nCONFIG_NET_NS=y\nCONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\nCONFIG_DEVTMPFS=y\nCONFIG_SERIAL_8250_CONSOLE=y\n# CONFIG_XDP_SOCKETS is not set\n";
    std::fs::write(dir.join(format!("config-{release}")), config).expect("write config");
    let k = k.to_str().expect("UTF-8");
    refused(
        &["matrix", "--kernel", k, "--out", o],
        &["--kernel", "CONFIG_XDP_SOCKETS"],
    );
    // A .deb without a kernel image.
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(pkg.join("DEBIAN")).expect("mkdir");
    std::fs::write(
        pkg.join("DEBIAN/control"),
        "Package: vb-no-kernel\nVersion: 1\nArchitecture: all\nMaintainer: test <t@example.org>\nDescription: no kernel here\n",
    )
    .expect("control");
    let deb = dir.join("vb-no-kernel.deb");
    let built = Command::new("dpkg-deb")
        .arg("-b")
        .arg(&pkg)
        .arg(&deb)
        .output()
        .expect("dpkg-deb");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cache = dir.join("cache");
    refused(
        &[
            "matrix",
            "--kernel",
            deb.to_str().expect("UTF-8"),
            "--cache",
            cache.to_str().expect("UTF-8"),
            "--out",
            o,
        ],
        &["--kernel", "no kernel image"],
    );
    refused(
        &["matrix", "--kernel", j, "--memory", "99999999", "--out", o],
        &["--memory", "available"],
    );
    refused(
        &["matrix", "--kernel", j, "--memory", "64", "--out", o],
        &["--memory", "512"],
    );
    refused(
        &["matrix", "--kernel", j, "--out", o, "--", "--out", "/tmp/x"],
        &["--out", "matrix sets"],
    );
    refused(
        &[
            "matrix", "--kernel", j, "--out", o, "--", "--mode", "nosuch",
        ],
        &["nosuch"],
    );
    refused(
        &["matrix", "--kernel", j, "--kernel", j, "--out", o],
        &["--kernel", "given twice"],
    );
    refused(
        &[
            "matrix",
            "--kernel",
            j,
            "--vcpus",
            "2",
            "--vm-cores",
            "0",
            "--out",
            o,
        ],
        &["--vm-cores", "one core per vCPU"],
    );
    refused(
        &["matrix", "--kernel", j, "--name", "../up", "--out", o],
        &["--name"],
    );
    // No QEMU: the message says how to install it (exit 1: the host, not the input).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vethbench"));
    let no_qemu = cmd
        .args(["matrix", "--kernel", OLD, "--out", o])
        .env("PATH", "/nonexistent")
        .output()
        .expect("run");
    let (_, err) = text(&no_qemu);
    assert_eq!(no_qemu.status.code(), Some(1), "{err}");
    assert!(
        err.contains("apt-get install -t bookworm-backports qemu-system-x86"),
        "{err}"
    );
    // Nothing was created for the refused runs but the results directory itself.
    let made: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        made.is_empty(),
        "no matrix directory for refused input: {made:?}"
    );
}

#[test]
fn matrix_names_what_a_guest_lacks_and_kills_a_guest_that_does_not_boot() {
    if skip_without_guests("matrix_names_what_a_guest_lacks_and_kills_a_guest_that_does_not_boot") {
        return;
    }
    let _lock = HostLock::exclusive();
    let dir = fresh_dir("matrix-lacks");
    let o = dir.to_str().expect("UTF-8");
    // One second is too short for any kernel to reach its init under TCG: killed, reported.
    let out = vethbench(&[
        "matrix",
        "--kernel",
        OLD,
        "--accel",
        "tcg",
        "--boot-timeout",
        "1",
        "--timeout",
        "5",
        "--out",
        o,
        "--name",
        "slow",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not boot within 1 s"), "{stderr}");
    assert_eq!(qemus(), "", "the guest was killed");
    // The same kernel without its configuration beside it and without its modules: nothing to
    // refuse before booting, so the guest's doctor finds that veth is missing, and says so.
    let cache = Path::new("/var/cache/vethbench/unpacked");
    let vmlinuz = std::fs::read_dir(cache)
        .expect("the kernel unpacked into the cache")
        .flatten()
        .filter_map(|e| std::fs::read_dir(e.path().join("boot")).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("vmlinuz-6.1."))
        })
        .expect("a 6.1 vmlinuz in the cache");
    let bare = dir.join("bare");
    std::fs::create_dir_all(&bare).expect("mkdir");
    let copy = bare.join(vmlinuz.file_name().expect("file name"));
    std::fs::copy(&vmlinuz, &copy).expect("copy the kernel");
    let out = vethbench(&[
        "matrix",
        "--kernel",
        copy.to_str().expect("UTF-8"),
        "--accel",
        "tcg",
        "--out",
        o,
        "--name",
        "noveth",
        "--",
        "--mode",
        "throughput",
        "--duration",
        "0.5",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("doctor failed"), "{stderr}");
    assert!(stderr.contains("the kernel lacks veth"), "{stderr}");
    assert_eq!(qemus(), "", "no QEMU left");
}

#[test]
fn matrix_interrupted_mid_run_keeps_what_the_guest_measured() {
    if skip_without_guests("matrix_interrupted_mid_run_keeps_what_the_guest_measured") {
        return;
    }
    let _lock = HostLock::exclusive();
    let out_dir = fresh_dir("matrix-midrun");
    let args = [
        "--name",
        "mid",
        "--",
        "--mode",
        "throughput",
        "--mode",
        "latency",
        "--duration",
        "30",
    ];
    let mut bg = Background::start(&args, &out_dir);
    // The guest's first run has started (its trial's progress line ends only with it).
    bg.wait_for("vethbench run: throughput mode");
    // Topology, warm-up, then a few seconds into the 30 s trial.
    std::thread::sleep(Duration::from_secs(8));
    let asked = Instant::now();
    let (code, rest, _) = bg.interrupt();
    assert_eq!(code, Some(130), "{rest}");
    assert!(
        asked.elapsed() < Duration::from_secs(60),
        "stopped well before the 30 s trial and the second run would have ended: {:?}",
        asked.elapsed()
    );
    assert!(rest.contains("asking the guest to stop"), "{rest}");
    assert_eq!(qemus(), "", "no QEMU left");
    let dir = out_dir.join("matrix-mid");
    let summary = json(&dir.join("matrix.json"));
    let k = &summary["kernels"][0];
    assert!(
        k["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("interrupted"),
        "{k}"
    );
    let records = k["records"].as_array().expect("records");
    assert_eq!(
        records.len(),
        1,
        "the interrupted run's record came back, no second run: {k}"
    );
    let record = json(&dir.join(records[0].as_str().unwrap_or("")));
    assert_eq!(record["interrupted"], "SIGINT", "marked as cut short");
    let trial = &record["scenarios"][0]["trials"][0];
    assert_eq!(trial["interrupted"], true);
    assert!(
        trial["accounting"]["sent"].as_u64().unwrap_or(0) > 0,
        "it measured: {}",
        trial["accounting"]
    );
}

#[test]
fn matrix_runs_the_host_natively_after_its_doctor() {
    if skip_without_root("matrix_runs_the_host_natively_after_its_doctor") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = fresh_dir("matrix-host");
    let out = vethbench(&[
        "matrix",
        "--kernel",
        "host",
        "--out",
        dir.to_str().expect("UTF-8"),
        "--name",
        "h",
        "--",
        "--mode",
        "throughput",
        "--duration",
        "0.5",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let release = nix::sys::utsname::uname()
        .expect("uname")
        .release()
        .to_string_lossy()
        .into_owned();
    let label = format!("host-{release}");
    assert!(
        stderr.contains(&format!("[{label}] vethbench doctor")),
        "{stderr}"
    );
    assert!(
        stderr.contains("netns + veth probe"),
        "the doctor's table is streamed: {stderr}"
    );
    assert!(
        stdout.contains(&label) && stdout.contains("received_pps"),
        "{stdout}"
    );
    let summary = json(&dir.join("matrix-h/matrix.json"));
    let k = &summary["kernels"][0];
    assert_eq!(k["status"], "ok", "{k}");
    assert!(k.get("accelerator").is_none(), "no VM: {k}");
    let record = json(
        &dir.join("matrix-h")
            .join(k["records"][0].as_str().unwrap_or("")),
    );
    assert!(
        record["fingerprint"].get("vm").is_none(),
        "measured natively"
    );
    assert_eq!(record["fingerprint"]["kernel_release"], release.as_str());
}
