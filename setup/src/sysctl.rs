//! Network sysctls. /proc/sys/net shows the namespace of the thread that opens the file, so these
//! run on a thread that entered the target namespace.

use std::path::PathBuf;

use crate::SetupError;

fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// Writes `net.ipv4.conf.<if>.rp_filter`-style keys (dots separate path components; interface
/// names of ours never contain dots).
pub fn write(key: &str, value: &str) -> Result<(), SetupError> {
    let p = path(key);
    std::fs::write(&p, value).map_err(|e| SetupError::io(p, e))
}

/// Reads a sysctl, with runs of white space folded to one space.
pub fn read(key: &str) -> Result<String, SetupError> {
    let p = path(key);
    let raw = std::fs::read_to_string(&p).map_err(|e| SetupError::io(p, e))?;
    Ok(raw.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Sysctls that keep IPv6 autoconfiguration on `dev` from sending during measurements: no DAD
/// probe, no router solicitations, and the MLD reports' retransmissions within 20 ms (a whole
/// number of jiffies at HZ 100, 250 and 1000) instead of up to a second later. Otherwise a few
/// frames of a namespace's own stack cross the veth in the first trial, where the drop counters
/// (which count every frame) may charge them to ours.
pub fn quiet_ipv6(dev: &str) -> Vec<(String, String)> {
    [
        ("accept_dad", "0"),
        ("router_solicitations", "0"),
        ("mldv1_unsolicited_report_interval", "20"),
        ("mldv2_unsolicited_report_interval", "20"),
    ]
    .into_iter()
    .map(|(knob, value)| (format!("net.ipv6.conf.{dev}.{knob}"), value.to_string()))
    .collect()
}
