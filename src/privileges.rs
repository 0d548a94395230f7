//! The capabilities vethbench needs, checked before anything is built: as root they are all
//! there; an ordinary user can run a copy of the binary that carries them as file capabilities
//! (`setcap`, see [`SETCAP`]).

/// Each capability needed, with its bit in `CapEff` and what it is for.
pub const NEEDED: [(u32, &str, &str); 6] = [
    (12, "CAP_NET_ADMIN", "veth pairs, addresses, XDP attach"),
    (13, "CAP_NET_RAW", "AF_XDP and ICMP sockets"),
    (
        21,
        "CAP_SYS_ADMIN",
        "network namespaces: unshare, setns, mounts",
    ),
    (39, "CAP_BPF", "loading the XDP programs"),
    (
        14,
        "CAP_IPC_LOCK",
        "pinning AF_XDP UMEM beyond the memlock limit",
    ),
    (
        1,
        "CAP_DAC_OVERRIDE",
        "state under /run/netns and /run/vethbench, owned by root",
    ),
];

/// The command that gives a copy of the binary every capability it needs.
pub const SETCAP: &str =
    "setcap cap_net_admin,cap_net_raw,cap_sys_admin,cap_bpf,cap_ipc_lock,cap_dac_override+ep";

/// The capabilities this process lacks, with what each is for; `None` if /proc/self/status
/// could not be read (unknown, not "all missing").
pub fn missing() -> Option<Vec<(&'static str, &'static str)>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())?;
    Some(
        NEEDED
            .iter()
            .filter(|(bit, _, _)| eff & (1 << bit) == 0)
            .map(|(_, name, what)| (*name, *what))
            .collect(),
    )
}

/// How to get the missing capabilities.
pub fn fix() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "vethbench".into());
    format!("run as root (sudo), or give a copy of the binary the capabilities: {SETCAP} {exe}")
}

/// Refuses to go on without every needed capability, naming the missing ones and what each is
/// for, before anything is created.
pub fn require(command: &str) -> anyhow::Result<()> {
    match missing() {
        Some(m) if !m.is_empty() => {
            let list: Vec<String> = m.iter().map(|(n, w)| format!("{n} ({w})")).collect();
            anyhow::bail!(
                "vethbench {command} needs capabilities this process lacks: {}; {}",
                list.join(", "),
                fix()
            )
        }
        // Unknown: let the kernel answer.
        _ => Ok(()),
    }
}
