//! Debian kernel packages: downloaded with `apt-get download` into the cache (once per version),
//! unpacked with `dpkg-deb -x` (nothing is installed on the host).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::VmError;

/// Runs a tool, returning its standard output, or its standard error as the failure.
fn output(tool: &str, cmd: &mut Command) -> Result<String, VmError> {
    let out = cmd.output().map_err(|e| VmError::Tool {
        tool: tool.into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let detail = err
            .lines()
            .filter(|l| !l.starts_with("W: "))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(VmError::Tool {
            tool: tool.into(),
            detail: if detail.is_empty() {
                out.status.to_string()
            } else {
                detail
            },
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The .deb of package `spec` (a name, or `name/suite` such as
/// `linux-image-cloud-amd64/bookworm-backports`) in `dir`, downloaded unless already there.
pub fn download(spec: &str, dir: &Path) -> Result<PathBuf, VmError> {
    let uris = output(
        "apt-get download --print-uris",
        Command::new("apt-get").args(["download", "--print-uris", spec]),
    )
    .map_err(|e| {
        VmError::Usage(model::usage(
            "--kernel",
            spec,
            format!(
                "not a kernel image file, a .deb, or a package apt knows ({e}); for \
                 bookworm-backports kernels, apt's sources need that suite (scripts/setup-host adds it)"
            ),
        ))
    })?;
    // 'URI' FILENAME SIZE HASH
    let file = uris
        .lines()
        .find_map(|l| l.split_whitespace().nth(1))
        .ok_or_else(|| VmError::Tool {
            tool: "apt-get download --print-uris".into(),
            detail: format!("no file named for {spec}"),
        })?
        .to_string();
    let path = dir.join(&file);
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).map_err(VmError::io(dir))?;
    output(
        "apt-get download",
        Command::new("apt-get")
            .args(["-q", "-o", "APT::Sandbox::User=root", "download", spec])
            .current_dir(dir),
    )?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(VmError::Tool {
            tool: "apt-get download".into(),
            detail: format!("{} did not appear", path.display()),
        })
    }
}

/// A field of a .deb's control data (`Package`, `Depends`).
pub fn field(deb: &Path, name: &str) -> Result<String, VmError> {
    output(
        "dpkg-deb -f",
        Command::new("dpkg-deb").arg("-f").arg(deb).arg(name),
    )
    .map(|s| s.trim().to_string())
}

/// The kernel image package a metapackage (`linux-image-cloud-amd64`) depends on.
pub fn kernel_dependency(depends: &str) -> Option<String> {
    depends
        .split(',')
        .flat_map(|alt| alt.split('|'))
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .find(|d| d.starts_with("linux-image-"))
        .map(str::to_string)
}

/// The .deb unpacked under `cache/unpacked/<file stem>` (once: a finished unpack is marked).
pub fn unpack(deb: &Path, cache: &Path) -> Result<PathBuf, VmError> {
    let stem = deb
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    let root = cache.join("unpacked");
    let dir = root.join(&stem);
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&root).map_err(VmError::io(&root))?;
    let tmp = root.join(format!(".{stem}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let unpacked = output(
        "dpkg-deb -x",
        Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tmp),
    )
    .and_then(|_| std::fs::write(tmp.join(".complete"), b"").map_err(VmError::io(&tmp)));
    if let Err(e) = unpacked {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(match e {
            VmError::Tool { detail, .. } => VmError::Usage(model::usage(
                "--kernel",
                deb.display(),
                format!("not a Debian package dpkg-deb can unpack: {detail}"),
            )),
            e => e,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(VmError::io(&dir))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_metapackage_to_its_kernel() {
        assert_eq!(
            kernel_dependency("linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)").as_deref(),
            Some("linux-image-6.1.0-57-cloud-amd64")
        );
        assert_eq!(
            kernel_dependency("kmod, linux-base (>= 4.3~), initramfs-tools | linux-initramfs-tool"),
            None
        );
    }
}
