//! What a vethbench killed mid-way (SIGKILL, a crash) left in the temporary directory or the
//! cache: half-built images, half-unpacked packages, a guest's channel and QMP socket. Each such
//! name ends in the pid that made it; those whose process is gone are removed before a matrix
//! starts.

use std::path::Path;

/// Removes leftovers of dead vethbench processes under the temporary directory and `cache`.
pub fn sweep(cache: &Path) {
    let tmp = std::env::temp_dir();
    let places = [
        (tmp.clone(), "vethbench-matrix."),
        (tmp, "vethbench-strip."),
        (cache.join("images"), ".build."),
        (cache.join("unpacked"), "."),
    ];
    for (dir, prefix) in places {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(prefix) && owner_gone(&name) {
                let p = e.path();
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }
}

/// Whether the pid a name ends with (`.<pid>`) is no longer a live process.
fn owner_gone(name: &str) -> bool {
    name.rsplit_once('.')
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
        .is_some_and(|pid| {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_dead_processes_go() {
        assert!(!owner_gone(&format!(
            "vethbench-matrix.{}",
            std::process::id()
        )));
        assert!(!owner_gone("vethbench-matrix.notapid"));
        assert!(!owner_gone(
            ".linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64"
        ));
        // Pid 1 always exists; a pid above the kernel's maximum never does.
        assert!(!owner_gone(".build.1"));
        assert!(owner_gone(".build.4294967295"));
    }
}
