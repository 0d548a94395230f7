//! Host checks for `vethbench doctor`: each returns a [`Check`] with a fix when it does not pass.
//! Real probes (an AF_XDP socket, a topology with a round trip) outrank reading the kernel config.

use std::io::Read;
use std::time::Instant;

use serde::Serialize;
use setup::{udp_round_trip, RunId, Topology, TopologySpec};

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, with a caveat the user should know.
    Warn,
    /// The benchmark cannot run (or would mislead) until fixed.
    Fail,
}

/// One row of the doctor's table.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (empty when it passes).
    pub fix: String,
}

fn check(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// A kernel release as (major, minor, patch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion(pub u32, pub u32, pub u32);

impl KernelVersion {
    /// Parses `6.18.44-fc-v657`, `6.1.0-13-amd64`, `6.17`.
    pub fn parse(release: &str) -> Option<Self> {
        let numeric = release
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(KernelVersion(major, minor, patch))
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs every check, in table order.
pub fn run_all() -> Vec<Check> {
    let release = kernel_release();
    let version = KernelVersion::parse(&release);
    vec![
        privileges(),
        kernel_version(&release, version),
        known_bad(version),
        kernel_config(),
        af_xdp_socket(),
        topology_round_trip(),
        btf(),
        bpffs(),
        memlock(version),
        cpus(),
    ]
}

fn privileges() -> Check {
    let name = "privileges";
    let root = nix::unistd::geteuid().is_root();
    let all = crate::privileges::NEEDED
        .iter()
        .map(|(_, n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    match crate::privileges::missing() {
        Some(m) if m.is_empty() => check(
            name,
            Status::Pass,
            format!("{}all of {all}", if root { "root, " } else { "" }),
            "",
        ),
        Some(m) => check(
            name,
            Status::Fail,
            format!(
                "missing {}",
                m.iter()
                    .map(|(n, w)| format!("{n} ({w})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            crate::privileges::fix(),
        ),
        None => check(
            name,
            Status::Warn,
            "could not read CapEff from /proc/self/status",
            "the probes below show what works",
        ),
    }
}

fn kernel_version(release: &str, version: Option<KernelVersion>) -> Check {
    let name = "kernel version";
    match version {
        None => check(
            name,
            Status::Warn,
            format!("cannot parse release '{release}'"),
            "none needed if the probes pass",
        ),
        Some(v) if v < KernelVersion(5, 4, 0) => check(
            name,
            Status::Fail,
            format!("{release}: AF_XDP need_wakeup needs >= 5.4"),
            "boot a kernel >= 5.13 (>= 6.6 recommended)",
        ),
        Some(v) if v < KernelVersion(5, 13, 0) => check(
            name,
            Status::Warn,
            format!("{release}: no veth GRO NAPI without XDP (5.13)"),
            "boot a kernel >= 5.13 for --gro on without XDP",
        ),
        Some(_) => check(name, Status::Pass, release, ""),
    }
}

fn known_bad(version: Option<KernelVersion>) -> Check {
    let name = "known-bad kernels";
    match version {
        Some(v) if (KernelVersion(6, 16, 0)..KernelVersion(6, 17, 10)).contains(&v) => check(
            name,
            Status::Fail,
            format!("{v}: veth qdisc backpressure can stall a queue for good (CVE-2025-68232)"),
            "boot 6.17.10 or later (or a kernel before 6.16)",
        ),
        Some(v) => check(name, Status::Pass, format!("{v}: none known"), ""),
        None => check(
            name,
            Status::Warn,
            "unknown version",
            "check the kernel release by hand",
        ),
    }
}

const CONFIG: [&str; 5] = [
    "CONFIG_NET_NS",
    "CONFIG_VETH",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_XDP_SOCKETS",
    "CONFIG_DEBUG_INFO_BTF",
];

fn kernel_config() -> Check {
    let name = "kernel config";
    // The running kernel's own (CONFIG_IKCONFIG_PROC), else the one installed beside it (a
    // Debian kernel's /boot/config-<release>; `matrix` ships it into its guests).
    let mut text = String::new();
    let read = std::fs::File::open("/proc/config.gz")
        .and_then(|f| flate2::read::GzDecoder::new(f).read_to_string(&mut text));
    if let Err(e) = read {
        let boot = format!("/boot/config-{}", kernel_release());
        match std::fs::read_to_string(&boot) {
            Ok(t) => text = t,
            Err(_) => {
                return check(
                    name,
                    Status::Warn,
                    format!("/proc/config.gz: {e}; no {boot}"),
                    "modprobe configs, or rely on the probes below",
                )
            }
        }
    }
    let state = |opt: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(opt).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("n")
            .to_string()
    };
    let missing: Vec<&str> = CONFIG.iter().copied().filter(|o| state(o) == "n").collect();
    let found: Vec<String> = CONFIG
        .iter()
        .map(|o| format!("{}={}", o.trim_start_matches("CONFIG_"), state(o)))
        .collect();
    if missing.is_empty() {
        check(name, Status::Pass, found.join(" "), "")
    } else {
        check(
            name,
            Status::Fail,
            format!("not set: {}", missing.join(", ")),
            "use a kernel built with these options",
        )
    }
}

fn af_xdp_socket() -> Check {
    let name = "AF_XDP socket";
    // SAFETY: plain socket(2) call; the descriptor is closed right away.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd >= 0 {
        // SAFETY: fd is a descriptor we own.
        unsafe { libc::close(fd) };
        return check(name, Status::Pass, "socket(AF_XDP) works", "");
    }
    let err = std::io::Error::last_os_error();
    check(
        name,
        Status::Fail,
        format!("socket(AF_XDP): {err}"),
        match err.raw_os_error() {
            Some(libc::EAFNOSUPPORT) => "kernel lacks CONFIG_XDP_SOCKETS",
            Some(libc::EPERM) => "needs CAP_NET_RAW: see the privileges check",
            _ => "see the error",
        }
        .to_string(),
    )
}

fn topology_round_trip() -> Check {
    let name = "netns + veth probe";
    let id = RunId::new(&format!("dr{}", &RunId::generate().as_str()[..6]))
        .expect("generated id is valid");
    let start = Instant::now();
    let outcome = Topology::create(&TopologySpec::new(id)).and_then(|topo| {
        let built = start.elapsed();
        let rt = udp_round_trip(topo.info(), false, 64)?;
        topo.destroy()?;
        Ok((built, rt))
    });
    match outcome {
        Ok((built, rt)) => check(
            name,
            Status::Pass,
            format!(
                "pair built in {:.1} ms, UDP round trip {:.0} µs, removed",
                built.as_secs_f64() * 1e3,
                rt.rtt.as_secs_f64() * 1e6
            ),
            "",
        ),
        Err(e) => {
            let text = e.to_string();
            // Creating the pair is refused when the kernel has no veth driver at all.
            let fix = if text.contains("create veth pair") && text.contains("os error 95") {
                "the kernel lacks veth: build it with CONFIG_VETH, or load its module (modprobe veth)"
            } else {
                "see the error; `vethbench cleanup` removes leftovers"
            };
            check(name, Status::Fail, text, fix)
        }
    }
}

fn btf() -> Check {
    let path = "/sys/kernel/btf/vmlinux";
    if std::path::Path::new(path).exists() {
        check("BTF", Status::Pass, path, "")
    } else {
        check(
            "BTF",
            Status::Warn,
            format!("{path} missing"),
            "use a kernel with CONFIG_DEBUG_INFO_BTF (CO-RE programs need it)",
        )
    }
}

fn bpffs() -> Check {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mounted = mounts.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 2 && f[2] == "bpf"
    });
    if mounted {
        check("bpffs", Status::Pass, "mounted", "")
    } else {
        check(
            "bpffs",
            Status::Warn,
            "no bpf filesystem mounted (needed only for pinning maps and programs)",
            "mount -t bpf bpf /sys/fs/bpf",
        )
    }
}

fn memlock(version: Option<KernelVersion>) -> Check {
    let name = "memlock";
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
        .unwrap_or((0, 0));
    let limit = if soft == libc::RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        format!("{} KiB", soft / 1024)
    };
    match version {
        Some(v) if v >= KernelVersion(5, 11, 0) => check(
            name,
            Status::Pass,
            format!("limit {limit}; not used since 5.11 (BPF memory is charged to the cgroup)"),
            "",
        ),
        _ if soft == libc::RLIM_INFINITY || soft >= 64 << 20 => {
            check(name, Status::Pass, format!("limit {limit}"), "")
        }
        _ => check(
            name,
            Status::Fail,
            format!("limit {limit}; kernels before 5.11 charge BPF maps and UMEM to it"),
            "ulimit -l unlimited (or LimitMEMLOCK=infinity)",
        ),
    }
}

fn cpus() -> Check {
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if n >= 2 {
        check(
            "CPUs",
            Status::Pass,
            format!("{n} usable: sender and receiver can have a core each"),
            "",
        )
    } else {
        check(
            "CPUs",
            Status::Warn,
            "1 usable: sender and receiver must share it",
            "use a machine (or cpuset) with 2+ cores",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v657"),
            Some(KernelVersion(6, 18, 44))
        );
        assert_eq!(
            KernelVersion::parse("6.1.0-13-amd64"),
            Some(KernelVersion(6, 1, 0))
        );
        assert_eq!(KernelVersion::parse("6.17"), Some(KernelVersion(6, 17, 0)));
        assert_eq!(KernelVersion::parse("garbage"), None);
    }

    #[test]
    fn flags_the_veth_stall_kernels_only() {
        let status = |v| known_bad(Some(v)).status;
        assert_eq!(status(KernelVersion(6, 15, 9)), Status::Pass);
        assert_eq!(status(KernelVersion(6, 16, 0)), Status::Fail);
        assert_eq!(status(KernelVersion(6, 17, 9)), Status::Fail);
        assert_eq!(status(KernelVersion(6, 17, 10)), Status::Pass);
        assert_eq!(status(KernelVersion(6, 18, 0)), Status::Pass);
    }

    #[test]
    fn old_kernels_fail_or_warn() {
        assert_eq!(
            kernel_version("5.3", Some(KernelVersion(5, 3, 0))).status,
            Status::Fail
        );
        assert_eq!(
            kernel_version("5.10", Some(KernelVersion(5, 10, 0))).status,
            Status::Warn
        );
        assert_eq!(memlock(Some(KernelVersion(6, 1, 0))).status, Status::Pass);
    }
}
