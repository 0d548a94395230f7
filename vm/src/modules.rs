//! Kernel modules a guest loads before vethbench runs (veth, when the kernel has it as a module),
//! with the modules they depend on, decompressed on the host: busybox's insmod reads plain ELF.

use std::path::{Path, PathBuf};

use crate::VmError;

/// A module ready to be put into the initramfs.
#[derive(Clone, Debug)]
pub struct Module {
    /// Its name (`veth`).
    pub name: String,
    /// The plain ELF object.
    pub bytes: Vec<u8>,
}

/// The modules a kernel with `CONFIG_VETH=m` needs, dependencies first, from `dir`
/// (`lib/modules/<release>`).
pub fn needed(dir: &Path, names: &[&str]) -> Result<Vec<Module>, VmError> {
    let mut out: Vec<Module> = Vec::new();
    for name in names {
        add(dir, name, &mut out, 0)?;
    }
    Ok(out)
}

fn add(dir: &Path, name: &str, out: &mut Vec<Module>, depth: usize) -> Result<(), VmError> {
    if out.iter().any(|m| same_name(&m.name, name)) {
        return Ok(());
    }
    if depth > 16 {
        return Err(VmError::Guest(format!(
            "{}: module dependencies nest deeper than 16 (a loop?) at {name}",
            dir.display()
        )));
    }
    let path = find(dir, name)?.ok_or_else(|| {
        VmError::Usage(model::usage(
            "--kernel",
            dir.display(),
            format!("the kernel needs module {name}, and it is not under this modules directory"),
        ))
    })?;
    let bytes = decompress(&path)?;
    for dep in depends(&bytes) {
        add(dir, &dep, out, depth + 1)?;
    }
    out.push(Module {
        name: name.to_string(),
        bytes,
    });
    Ok(())
}

/// Module names treat `-` and `_` alike.
fn same_name(a: &str, b: &str) -> bool {
    a.replace('-', "_") == b.replace('-', "_")
}

/// The file of module `name` under `dir` (`name.ko`, `.ko.xz` or `.ko.gz`).
fn find(dir: &Path, name: &str) -> Result<Option<PathBuf>, VmError> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(VmError::io(&d))?;
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if let Some(file) = p.file_name().and_then(|f| f.to_str()) {
                let stem = ["ko", "ko.xz", "ko.gz", "ko.zst"]
                    .iter()
                    .find_map(|x| file.strip_suffix(&format!(".{x}")));
                if stem.is_some_and(|s| same_name(s, name)) {
                    return Ok(Some(p));
                }
            }
        }
    }
    Ok(None)
}

/// The plain object of a module file, whatever its compression.
fn decompress(path: &Path) -> Result<Vec<u8>, VmError> {
    let raw = std::fs::read(path).map_err(VmError::io(path))?;
    let name = path.to_string_lossy();
    let unpack = |what: &str, e: String| VmError::Guest(format!("{name}: {what}: {e}"));
    if name.ends_with(".xz") {
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut raw.as_slice(), &mut out)
            .map_err(|e| unpack("xz", format!("{e:?}")))?;
        Ok(out)
    } else if name.ends_with(".gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(raw.as_slice()), &mut out)
            .map_err(|e| unpack("gzip", e.to_string()))?;
        Ok(out)
    } else if name.ends_with(".zst") {
        Err(unpack(
            "zstd",
            "zstd-compressed modules are not supported; use a kernel with xz, gzip or plain modules"
                .into(),
        ))
    } else {
        Ok(raw)
    }
}

/// The `depends=` entry of a module's `.modinfo` strings.
fn depends(object: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\0depends=";
    object
        .windows(KEY.len())
        .position(|w| w == KEY)
        .map(|at| {
            let rest = &object[at + KEY.len()..];
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end])
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dependencies_from_modinfo() {
        let obj = b"\x7fELF...\0license=GPL\0depends=libcrc32c,nf_conntrack\0name=x\0";
        assert_eq!(depends(obj), vec!["libcrc32c", "nf_conntrack"]);
        assert!(depends(b"\0depends=\0name=veth\0").is_empty());
        assert!(depends(b"no modinfo").is_empty());
    }

    #[test]
    fn finds_modules_by_name_and_orders_dependencies_first() {
        let dir = std::env::temp_dir().join(format!("vb-modules-{}", std::process::id()));
        let sub = dir.join("kernel/drivers/net");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("veth.ko"), b"\0depends=dep-one\0").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"\0depends=\0name=dep_one\0").unwrap();
        std::fs::write(dir.join("kernel/dep_one.ko.gz"), gz.finish().unwrap()).unwrap();
        let found = needed(&dir, &["veth"]).unwrap();
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["dep-one", "veth"]);
        assert_eq!(found[0].bytes, b"\0depends=\0name=dep_one\0");
        let missing = needed(&dir, &["nope"]).unwrap_err();
        assert!(matches!(missing, VmError::Usage(_)), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
