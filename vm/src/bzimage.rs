//! The kernel release a bzImage carries in its setup header (what `file vmlinuz` prints): a
//! vmlinuz is recognised, and named, without booting it.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Offset of the "HdrS" magic of the x86 boot protocol.
const MAGIC_AT: usize = 0x202;
/// Offset of `kernel_version`: a pointer (minus 0x200) to the version string.
const VERSION_PTR_AT: usize = 0x20e;

/// The release (`6.1.0-57-cloud-amd64`) in a bzImage's header, or why the file is not one.
pub fn release(path: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut head = vec![0u8; 0x400];
    let n = read_full(&mut f, &mut head).map_err(|e| e.to_string())?;
    head.truncate(n);
    let offset = version_offset(&head)?;
    let mut version = vec![0u8; 256];
    f.seek(SeekFrom::Start(offset as u64))
        .map_err(|e| e.to_string())?;
    let n = read_full(&mut f, &mut version).map_err(|e| e.to_string())?;
    version.truncate(n);
    release_of(&version)
}

/// Where the version string starts, from the first bytes of the image.
fn version_offset(head: &[u8]) -> Result<usize, String> {
    if head.get(MAGIC_AT..MAGIC_AT + 4) != Some(b"HdrS") {
        return Err("not a Linux x86 kernel image (no bzImage header)".into());
    }
    let ptr = head
        .get(VERSION_PTR_AT..VERSION_PTR_AT + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or("truncated bzImage header")?;
    if ptr == 0 {
        return Err("the kernel image carries no version string".into());
    }
    Ok(usize::from(ptr) + 0x200)
}

/// The first word of a NUL-terminated version string.
fn release_of(version: &[u8]) -> Result<String, String> {
    let end = version
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(version.len());
    let text = std::str::from_utf8(&version[..end]).map_err(|_| "unreadable version string")?;
    text.split_whitespace()
        .next()
        .filter(|r| r.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .ok_or_else(|| format!("unexpected version string {text:?}"))
}

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(version: &str) -> Vec<u8> {
        let mut b = vec![0u8; 0x600];
        b[MAGIC_AT..MAGIC_AT + 4].copy_from_slice(b"HdrS");
        b[VERSION_PTR_AT..VERSION_PTR_AT + 2].copy_from_slice(&0x300u16.to_le_bytes());
        b[0x500..0x500 + version.len()].copy_from_slice(version.as_bytes());
        b
    }

    #[test]
    fn reads_the_release_from_the_header() {
        let b = image("6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP");
        let off = version_offset(&b).unwrap();
        assert_eq!(release_of(&b[off..]).unwrap(), "6.1.0-57-cloud-amd64");
    }

    #[test]
    fn refuses_what_is_not_a_kernel() {
        assert!(version_offset(b"just some text, long enough?").is_err());
        let mut b = image("x");
        b[VERSION_PTR_AT] = 0;
        b[VERSION_PTR_AT + 1] = 0;
        assert!(version_offset(&b).is_err());
        assert!(release_of(b"garbage here\0").is_err());
    }
}
