//! Running without root: a missing capability is named (with what it is for and the `setcap`
//! line) before anything is built, and a copy of the binary carrying the documented file
//! capabilities works for an ordinary user.

use std::path::PathBuf;
use std::process::{Command, Output};

use setup::testing::{skip_without_root, snapshot, HostLock};

mod common;
use common::text;

/// The binary run with `caps` removed from its bounding set (root then lacks them).
fn without(caps: &str, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--bounding-set", caps, "--"])
        .arg(env!("CARGO_BIN_EXE_vethbench"))
        .args(args)
        .output()
        .expect("run setpriv (util-linux)")
}

#[test]
fn a_missing_capability_is_named_before_anything_is_built() {
    if skip_without_root("a_missing_capability_is_named_before_anything_is_built") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("caps-records");
    let out = without(
        "-net_raw,-ipc_lock",
        &[
            "run",
            "--mode",
            "latency",
            "--count",
            "100",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for needle in ["CAP_NET_RAW", "AF_XDP", "CAP_IPC_LOCK", "setcap"] {
        assert!(err.contains(needle), "'{needle}' missing: {err}");
    }
    assert!(
        !err.contains("non-zero error code"),
        "the cause, not a symptom: {err}"
    );
    // Without CAP_SYS_ADMIN, `check` leads with the cause, not with "no traffic passes".
    let out = without("-sys_admin", &["check", "--id", "0"]);
    let (_, err) = text(&out);
    assert!(err.starts_with("error: vethbench check needs"), "{err}");
    assert!(err.contains("CAP_SYS_ADMIN"), "{err}");
    assert_eq!(snapshot(), before, "nothing built");
}

#[test]
fn a_setcap_copy_runs_for_an_ordinary_user() {
    if skip_without_root("a_setcap_copy_runs_for_an_ordinary_user") {
        return;
    }
    let setcap = ["/usr/sbin/setcap", "/sbin/setcap"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(setcap) = setcap else {
        eprintln!("skipped a_setcap_copy_runs_for_an_ordinary_user: setcap not installed (apt-get install libcap2-bin)");
        return;
    };
    let _lock = HostLock::shared();
    // A directory an ordinary user can enter (the build tree may not be).
    let dir = std::env::temp_dir().join(format!("vethbench-caps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _remove = RemoveDir(dir.clone());
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let bin = dir.join("vethbench");
    std::fs::copy(env!("CARGO_BIN_EXE_vethbench"), &bin).unwrap();
    // The README's line.
    let caps = "cap_net_admin,cap_net_raw,cap_sys_admin,cap_bpf,cap_ipc_lock,cap_dac_override+ep";
    let set = Command::new(setcap).arg(caps).arg(&bin).output().unwrap();
    assert!(set.status.success(), "{}", text(&set).1);
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ])
            .arg(&bin)
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("setpriv")
    };
    let doctor = as_nobody(&["doctor"]);
    let (out, err) = text(&doctor);
    assert!(doctor.status.success(), "doctor as nobody:\n{out}{err}");
    let records = dir.join("records");
    let run = as_nobody(&[
        "run",
        "--mode",
        "latency",
        "--count",
        "300",
        "--out",
        records.to_str().unwrap(),
    ]);
    let (out, err) = text(&run);
    assert!(run.status.success(), "run as nobody:\n{out}{err}");
    assert!(out.contains("unexplained 0"), "{out}");
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
