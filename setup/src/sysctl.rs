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
