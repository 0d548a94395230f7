//! Threaded NAPI. The only knob is /sys/class/net/<dev>/threaded, and sysfs shows the devices of the
//! namespace it was mounted in — so a disposable thread takes a private mount namespace and mounts a
//! fresh sysfs there (what `ip netns exec` does), without touching the host's mounts.

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::netns::on_thread;
use crate::SetupError;

/// Runs `f` with a sysfs of the calling thread's network namespace mounted at /sys.
fn with_own_sysfs<T: Send>(
    f: impl FnOnce() -> Result<T, SetupError> + Send,
) -> Result<T, SetupError> {
    // A new thread inherits the caller's network namespace; its mount namespace dies with it.
    on_thread(|| {
        unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| SetupError::sys("unshare a mount namespace", e))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(|e| SetupError::sys("make / a slave mount in a private mount namespace", e))?;
        mount(
            Some("sysfs"),
            "/sys",
            Some("sysfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| SetupError::sys("mount sysfs for the namespace", e))?;
        f()
    })
}

fn knob(dev: &str) -> String {
    format!("/sys/class/net/{dev}/threaded")
}

/// Per-device NAPI settings for busy polling: `napi_defer_hard_irqs` (how many empty polls to
/// defer interrupts for) and `gro_flush_timeout` (ns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NapiTuning {
    /// /sys/class/net/<dev>/napi_defer_hard_irqs, if to be set.
    pub defer_hard_irqs: Option<u32>,
    /// /sys/class/net/<dev>/gro_flush_timeout in ns, if to be set.
    pub gro_flush_timeout_ns: Option<u64>,
}

/// Applies the given settings and reads all of them back: (defer_hard_irqs, gro_flush_timeout_ns).
pub fn tune(dev: &str, t: NapiTuning) -> Result<(u32, u64), SetupError> {
    with_own_sysfs(|| {
        let path = |name: &str| format!("/sys/class/net/{dev}/{name}");
        if let Some(v) = t.defer_hard_irqs {
            let p = path("napi_defer_hard_irqs");
            std::fs::write(&p, v.to_string()).map_err(|e| SetupError::io(&p, e))?;
        }
        if let Some(v) = t.gro_flush_timeout_ns {
            let p = path("gro_flush_timeout");
            std::fs::write(&p, v.to_string()).map_err(|e| SetupError::io(&p, e))?;
        }
        let read = |name: &str| -> Result<u64, SetupError> {
            let p = path(name);
            let v = std::fs::read_to_string(&p).map_err(|e| SetupError::io(&p, e))?;
            v.trim().parse().map_err(|_| SetupError::NotApplied {
                what: "NAPI setting",
                interface: dev.to_string(),
                wanted: name.to_string(),
                actual: v.trim().to_string(),
            })
        };
        Ok((
            read("napi_defer_hard_irqs")? as u32,
            read("gro_flush_timeout")?,
        ))
    })
}

/// Whether `dev` (in the calling thread's namespace) runs its NAPI in a kernel thread.
pub fn threaded(dev: &str) -> Result<bool, SetupError> {
    with_own_sysfs(|| read_knob(dev))
}

fn read_knob(dev: &str) -> Result<bool, SetupError> {
    let p = knob(dev);
    let v = std::fs::read_to_string(&p).map_err(|e| SetupError::io(&p, e))?;
    Ok(v.trim() != "0")
}

/// Turns threaded NAPI of `dev` on or off. The kernel refuses (EIO) while the device has no NAPI
/// instance: veth has one only when up with GRO on or an XDP program attached.
pub fn set_threaded(dev: &str, on: bool) -> Result<(), SetupError> {
    with_own_sysfs(|| {
        if read_knob(dev)? == on {
            return Ok(());
        }
        let p = knob(dev);
        std::fs::write(&p, if on { "1" } else { "0" }).map_err(|e| match e.raw_os_error() {
            Some(libc::EIO) | Some(libc::EOPNOTSUPP) => SetupError::NotApplied {
                what: "threaded NAPI",
                interface: dev.to_string(),
                wanted: if on { "on" } else { "off" }.into(),
                actual: "refused: the device has no NAPI (needs GRO on or XDP attached)".into(),
            },
            _ => SetupError::io(&p, e),
        })
    })
}

/// The kernel threads whose name starts with `napi/`: (pid, name).
fn napi_kthreads() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let comm = comm.trim();
        comm.starts_with("napi/").then(|| (pid, comm.to_string()))
    })
    .collect()
}

/// Turns threaded NAPI of `dev` on and returns the NAPI threads the kernel created for it (the
/// `napi/<dev>-<id>` kernel threads that were not there before; their 15-byte names may cut the
/// device name short, so the new ones are told apart by appearing, and checked by prefix).
pub fn set_threaded_and_find(dev: &str) -> Result<Vec<(u32, String)>, SetupError> {
    let before = napi_kthreads();
    set_threaded(dev, true)?;
    // Kernels since 6.4 show kernel threads' full names; older ones cut them to 15 bytes.
    let full = format!("napi/{dev}-");
    let cut: String = full.chars().take(15).collect();
    let ours = |name: &str| name.starts_with(&full) || (name.len() == 15 && name.starts_with(&cut));
    let mut new: Vec<(u32, String)> = napi_kthreads()
        .into_iter()
        .filter(|(pid, name)| !before.iter().any(|(p, _)| p == pid) && ours(name))
        .collect();
    // In rx queue order: NAPI ids grow with the queue. Where the kernel cut a name short of its
    // id, by pid, newest first (the kernel walks the device's NAPI list, last added first).
    let id = |name: &str| -> Option<u64> { name.strip_prefix(&full)?.parse().ok() };
    if new.iter().all(|(_, n)| id(n).is_some()) {
        new.sort_by_key(|(_, n)| id(n));
    } else {
        new.sort_by_key(|(pid, _)| std::cmp::Reverse(*pid));
    }
    Ok(new)
}

/// Pins thread `pid` to `core` and reads its affinity back.
pub fn pin_thread(pid: u32, core: usize) -> Result<Vec<usize>, SetupError> {
    let mut set = nix::sched::CpuSet::new();
    let what = || format!("pin NAPI thread {pid} to core {core}");
    set.set(core).map_err(|e| SetupError::sys(what(), e))?;
    let p = nix::unistd::Pid::from_raw(pid as i32);
    nix::sched::sched_setaffinity(p, &set).map_err(|e| SetupError::sys(what(), e))?;
    let got = nix::sched::sched_getaffinity(p).map_err(|e| SetupError::sys(what(), e))?;
    Ok((0..nix::sched::CpuSet::count())
        .filter(|&c| got.is_set(c).unwrap_or(false))
        .collect())
}
