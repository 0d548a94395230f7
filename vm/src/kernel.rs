//! What `--kernel` names, resolved to files: the running kernel (`host`), a vmlinuz, a Debian
//! linux-image .deb, or a package name `apt-get download` can fetch (a metapackage such as
//! `linux-image-cloud-amd64/bookworm-backports` is followed to its kernel).

use std::path::{Path, PathBuf};

use crate::config::KernelConfig;
use crate::{bzimage, deb, VmError};

/// The value of one `--kernel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelArg {
    /// `host`: a native run on the running kernel.
    Host,
    /// A vmlinuz file.
    Image(PathBuf),
    /// A linux-image .deb file.
    Deb(PathBuf),
    /// A package name, optionally `name/suite`.
    Package(String),
}

impl KernelArg {
    /// Reads a `--kernel` value: `host`; a path ending in `.deb`; an existing file or anything
    /// with a `/` that does not look like `package/suite`; otherwise a package name.
    pub fn parse(value: &str) -> KernelArg {
        let path = Path::new(value);
        if value == "host" {
            KernelArg::Host
        } else if value.ends_with(".deb") {
            KernelArg::Deb(path.into())
        } else if path.exists() || value.starts_with('/') || value.starts_with('.') {
            KernelArg::Image(path.into())
        } else {
            KernelArg::Package(value.into())
        }
    }
}

/// A guest kernel, ready to be packed and booted.
#[derive(Clone, Debug)]
pub struct GuestKernel {
    /// What `--kernel` said.
    pub named: String,
    /// Its release (`uname -r` in the guest).
    pub release: String,
    /// The bzImage.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>`, when known.
    pub modules: Option<PathBuf>,
    /// `/boot/config-<release>`, when known: shipped into the guest for its doctor.
    pub config: Option<PathBuf>,
}

impl GuestKernel {
    /// The modules the guest must load: veth when it is a module.
    pub fn needed_modules(&self) -> Vec<&'static str> {
        match self.read_config() {
            Some(c) if c.is_module("CONFIG_VETH") => vec!["veth"],
            Some(_) => vec![],
            // Unknown configuration: load veth if the modules have it.
            None => vec!["veth"],
        }
    }

    fn read_config(&self) -> Option<KernelConfig> {
        let text = std::fs::read_to_string(self.config.as_ref()?).ok()?;
        Some(KernelConfig::parse(&text))
    }
}

/// Resolves a `--kernel` value (not `host`) to a checked guest kernel; `modules` is `--modules`
/// (a `lib/modules` directory, or one release's directory), for vmlinuz files; `cache` holds
/// downloads and unpacked packages.
pub fn resolve(
    named: &str,
    arg: &KernelArg,
    modules: Option<&Path>,
    cache: &Path,
) -> Result<GuestKernel, VmError> {
    let kernel = match arg {
        KernelArg::Host => {
            return Err(VmError::Guest("the host kernel is not booted".into()));
        }
        KernelArg::Image(path) => from_image(named, path, modules)?,
        KernelArg::Deb(path) => {
            std::fs::File::open(path).map_err(|e| {
                VmError::Usage(model::usage("--kernel", path.display(), e.to_string()))
            })?;
            from_deb(named, path, cache, true)?
        }
        KernelArg::Package(spec) => {
            let deb = deb::download(spec, &cache.join("debs"))?;
            from_deb(named, &deb, cache, true)?
        }
    };
    check(&kernel)?;
    Ok(kernel)
}

/// A vmlinuz file, its modules under `--modules` (or `/lib/modules/<release>` when the host has
/// them), its config beside it (`config-<release>`).
fn from_image(named: &str, path: &Path, modules: Option<&Path>) -> Result<GuestKernel, VmError> {
    let bad = |reason: String| VmError::Usage(model::usage("--kernel", path.display(), reason));
    std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let release = bzimage::release(path).map_err(bad)?;
    let modules = match modules {
        Some(m) => Some(modules_dir(m, &release)?),
        // A kernel installed on this host has its modules where the host keeps them.
        None => Some(Path::new("/lib/modules").join(&release)).filter(|d| d.is_dir()),
    };
    let config = path
        .parent()
        .map(|d| d.join(format!("config-{release}")))
        .filter(|c| c.is_file());
    Ok(GuestKernel {
        named: named.into(),
        release,
        vmlinuz: path.into(),
        modules,
        config,
    })
}

/// `--modules DIR`: DIR/<release> when it exists (DIR is a `lib/modules`), else DIR itself.
fn modules_dir(dir: &Path, release: &str) -> Result<PathBuf, VmError> {
    let bad = |reason: &str| VmError::Usage(model::usage("--modules", dir.display(), reason));
    if !dir.is_dir() {
        return Err(bad("not a directory"));
    }
    let inner = dir.join(release);
    Ok(if inner.is_dir() { inner } else { dir.into() })
}

/// An unpacked linux-image package: `boot/vmlinuz-*`, `boot/config-*`, `lib/modules/*`. A
/// metapackage is followed (once) to the kernel package it depends on.
fn from_deb(named: &str, deb: &Path, cache: &Path, follow: bool) -> Result<GuestKernel, VmError> {
    let root = deb::unpack(deb, cache)?;
    let Some(vmlinuz) = find_vmlinuz(&root.join("boot"))? else {
        let depends = deb::field(deb, "Depends").unwrap_or_default();
        return match deb::kernel_dependency(&depends) {
            Some(dep) if follow => {
                let inner = deb::download(&dep, &cache.join("debs"))?;
                from_deb(named, &inner, cache, false)
            }
            _ => Err(VmError::Usage(model::usage(
                "--kernel",
                named,
                format!(
                    "{}: the package holds no kernel image (boot/vmlinuz-*) and depends on none",
                    deb.display()
                ),
            ))),
        };
    };
    let release = bzimage::release(&vmlinuz)
        .map_err(|e| VmError::Usage(model::usage("--kernel", vmlinuz.display(), e)))?;
    let modules = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|m| root.join(m).join(&release))
        .find(|m| m.is_dir());
    let config = Some(root.join(format!("boot/config-{release}"))).filter(|c| c.is_file());
    Ok(GuestKernel {
        named: named.into(),
        release,
        vmlinuz,
        modules,
        config,
    })
}

fn find_vmlinuz(boot: &Path) -> Result<Option<PathBuf>, VmError> {
    if !boot.is_dir() {
        return Ok(None);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(boot)
        .map_err(VmError::io(boot))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("vmlinuz-"))
        })
        .collect();
    found.sort();
    Ok(found.pop())
}

/// Refuses a kernel whose configuration lacks what vethbench needs, or whose veth module is
/// nowhere, before anything boots.
fn check(k: &GuestKernel) -> Result<(), VmError> {
    if let Some(config) = k.read_config() {
        let missing = config.missing();
        if !missing.is_empty() {
            return Err(VmError::Usage(model::usage(
                "--kernel",
                &k.named,
                format!(
                    "kernel {} lacks {} (from {})",
                    k.release,
                    missing.join(", "),
                    k.config.as_deref().unwrap_or(Path::new("?")).display()
                ),
            )));
        }
        if config.is_module("CONFIG_VETH") && k.modules.is_none() {
            return Err(VmError::Usage(model::usage(
                "--modules",
                "",
                format!(
                    "kernel {} has veth as a module: name its modules directory (lib/modules or lib/modules/{})",
                    k.release, k.release
                ),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_files_from_packages() {
        assert_eq!(KernelArg::parse("host"), KernelArg::Host);
        assert_eq!(
            KernelArg::parse("k.deb"),
            KernelArg::Deb(PathBuf::from("k.deb"))
        );
        assert_eq!(
            KernelArg::parse("/boot/vmlinuz-x"),
            KernelArg::Image(PathBuf::from("/boot/vmlinuz-x"))
        );
        assert_eq!(
            KernelArg::parse("linux-image-cloud-amd64/bookworm-backports"),
            KernelArg::Package("linux-image-cloud-amd64/bookworm-backports".into())
        );
    }
}
