//! The guest's initramfs: busybox, this vethbench binary (stripped) and the shared libraries it
//! needs, the kernel's modules and config, and `/init`. Built once per kernel and binary, kept in
//! the cache; written to a temporary name and renamed, so an interrupted build leaves nothing.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kernel::GuestKernel;
use crate::{modules, VmError};

/// busybox-static's binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// The guest's first process: mounts, loads modules, hands over to `vethbench guest`, powers off.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
echo "vethbench-guest: init $(uname -r)"
while read -r m; do
  insmod "/lib/modules/$(uname -r)/$m.ko" || echo "vethbench-guest: insmod $m failed"
done < /etc/vethbench/modules
ip link set lo up
/bin/vethbench guest
echo "vethbench-guest: powering off"
poweroff -f
"#;

/// The initramfs for `kernel` with `binary` inside, from the cache or built into it.
pub fn build(kernel: &GuestKernel, binary: &Path, cache: &Path) -> Result<PathBuf, VmError> {
    let busybox = Path::new(BUSYBOX);
    if !busybox.is_file() {
        return Err(VmError::BusyboxMissing(busybox.into()));
    }
    let dir = cache.join("images");
    let path = dir.join(format!(
        "{}-{:016x}.cpio.gz",
        kernel.release,
        key(kernel, binary, busybox)
    ));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(VmError::io(&dir))?;
    let tmp = dir.join(format!(".build.{}", std::process::id()));
    let built = write(kernel, binary, busybox, &tmp);
    if let Err(e) = built {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path).map_err(VmError::io(&path))?;
    prune(&dir, &kernel.release, &path);
    Ok(path)
}

/// Removes this release's images built for an older binary: the cache keeps one per kernel.
fn prune(dir: &Path, release: &str, keep: &Path) {
    let prefix = format!("{release}-");
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let hash = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".cpio.gz"));
        // The release must end where the 16-digit key starts (6.1.0-5 is not 6.1.0-57).
        if p != keep
            && hash.is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// What the image depends on: the files' sizes and times, and the init script.
fn key(kernel: &GuestKernel, binary: &Path, busybox: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    INIT.hash(&mut h);
    kernel.release.hash(&mut h);
    let files = [Some(binary), Some(busybox), Some(kernel.vmlinuz.as_path())];
    for f in files.into_iter().flatten().chain(kernel.config.as_deref()) {
        f.hash(&mut h);
        if let Ok(m) = std::fs::metadata(f) {
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    }
    kernel.modules.hash(&mut h);
    h.finish()
}

/// One file of the archive.
struct Entry {
    path: String,
    mode: u32,
    data: Vec<u8>,
}

const DIR: u32 = 0o040755;
const EXEC: u32 = 0o100755;
const FILE: u32 = 0o100644;

fn write(kernel: &GuestKernel, binary: &Path, busybox: &Path, out: &Path) -> Result<(), VmError> {
    let mut entries = Vec::new();
    let dir = |p: &str| Entry {
        path: p.into(),
        mode: DIR,
        data: Vec::new(),
    };
    for d in [
        "bin",
        "sbin",
        "usr",
        "usr/bin",
        "usr/sbin",
        "lib",
        "lib64",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "out",
        "etc",
        "etc/vethbench",
        "boot",
        "root",
        "var",
        "lib/modules",
    ] {
        entries.push(dir(d));
    }
    entries.push(dir(&format!("lib/modules/{}", kernel.release)));
    entries.push(file("init", EXEC, INIT.as_bytes().to_vec()));
    entries.push(file("bin/busybox", EXEC, read(busybox)?));
    entries.push(file("bin/vethbench", EXEC, stripped(binary)?));
    for lib in libraries(binary)? {
        let rel = lib.to_string_lossy().trim_start_matches('/').to_string();
        add_parents(&rel, &mut entries);
        entries.push(file(&rel, EXEC, read(&lib)?));
    }
    let needed = kernel.needed_modules();
    let loaded = match &kernel.modules {
        Some(dir) if !needed.is_empty() => modules::needed(dir, &needed)?,
        _ => Vec::new(),
    };
    let mut list = String::new();
    for m in loaded {
        entries.push(file(
            &format!("lib/modules/{}/{}.ko", kernel.release, m.name),
            FILE,
            m.bytes,
        ));
        list += &format!("{}\n", m.name);
    }
    entries.push(file("etc/vethbench/modules", FILE, list.into_bytes()));
    if let Some(config) = &kernel.config {
        entries.push(file(
            &format!("boot/config-{}", kernel.release),
            FILE,
            read(config)?,
        ));
    }
    entries.push(file(
        "etc/passwd",
        FILE,
        b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
    ));
    archive(&entries, out)
}

fn file(path: &str, mode: u32, data: Vec<u8>) -> Entry {
    Entry {
        path: path.into(),
        mode,
        data,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, VmError> {
    std::fs::read(path).map_err(VmError::io(path))
}

/// The directories above `rel` not yet in the archive.
fn add_parents(rel: &str, entries: &mut Vec<Entry>) {
    let mut parents: Vec<&str> = Path::new(rel)
        .ancestors()
        .skip(1)
        .filter_map(|p| p.to_str())
        .filter(|p| !p.is_empty())
        .collect();
    parents.reverse();
    for p in parents {
        if !entries.iter().any(|e| e.path == p) {
            entries.push(Entry {
                path: p.into(),
                mode: DIR,
                data: Vec::new(),
            });
        }
    }
}

/// The binary without debug information (`strip --strip-debug`), or as it is when strip is
/// missing.
fn stripped(binary: &Path) -> Result<Vec<u8>, VmError> {
    let tmp = std::env::temp_dir().join(format!("vethbench-strip.{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&tmp)
        .arg(binary)
        .status()
        .is_ok_and(|s| s.success());
    let bytes = if ok { read(&tmp) } else { read(binary) };
    let _ = std::fs::remove_file(&tmp);
    bytes
}

/// The shared libraries `ldd` lists for `binary` (the dynamic loader included).
fn libraries(binary: &Path) -> Result<Vec<PathBuf>, VmError> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| VmError::Tool {
            tool: "ldd".into(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(VmError::Tool {
            tool: format!("ldd {}", binary.display()),
            detail: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(parse_ldd(&String::from_utf8_lossy(&out.stdout)))
}

/// `libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)` and `/lib64/ld-linux-x86-64.so.2
/// (0x...)` lines; the vDSO has no file.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Writes the entries as a gzip-compressed newc archive.
fn archive(entries: &[Entry], out: &Path) -> Result<(), VmError> {
    let f = std::fs::File::create(out).map_err(VmError::io(out))?;
    let mut gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::fast());
    let io = VmError::io(out);
    let result = (|| -> std::io::Result<()> {
        for (i, e) in entries.iter().enumerate() {
            let len = u32::try_from(e.data.len())
                .map_err(|_| std::io::Error::other(format!("{} is over 4 GiB", e.path)))?;
            let ino = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let mut w = cpio::NewcBuilder::new(&e.path)
                .ino(ino)
                .mode(e.mode)
                .write(&mut gz, len);
            w.write_all(&e.data)?;
            w.finish()?;
        }
        cpio::newc::trailer(&mut gz)?;
        gz.finish()?.flush()
    })();
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libelf.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn archives_read_back() {
        let out = std::env::temp_dir().join(format!("vb-image-{}.cpio.gz", std::process::id()));
        let mut entries = vec![file("etc/x", FILE, b"hello".to_vec())];
        add_parents("lib/x86_64-linux-gnu/libz.so.1", &mut entries);
        archive(&entries, &out).unwrap();
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&out).unwrap());
        let mut r = cpio::NewcReader::new(gz).unwrap();
        assert_eq!(r.entry().name(), "etc/x");
        let mut s = String::new();
        std::io::Read::read_to_string(&mut r, &mut s).unwrap();
        assert_eq!(s, "hello");
        let r = cpio::NewcReader::new(r.finish().unwrap()).unwrap();
        assert_eq!(r.entry().name(), "lib");
        std::fs::remove_file(out).unwrap();
    }
}
