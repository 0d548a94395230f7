//! Driver statistics as `ethtool -S` shows them (veth: per-queue XDP packets, drops, redirects,
//! XDP_TX and xmit errors). Ethtool netlink has no request for driver-specific statistics, so this
//! uses the ETHTOOL_GSTRINGS / ETHTOOL_GSTATS ioctls on a socket inside the interface's namespace.

use std::collections::BTreeMap;
use std::io;

use crate::{netns, Endpoint, SetupError};

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;

/// `struct ifreq` with the `ifr_data` member.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

fn ethtool_ioctl(fd: libc::c_int, dev: &str, buf: &mut [u64]) -> io::Result<()> {
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: buf.as_mut_ptr().cast(),
        _pad: [0; 16],
    };
    let n = dev.len().min(libc::IFNAMSIZ - 1);
    req.name[..n].copy_from_slice(&dev.as_bytes()[..n]);
    // SAFETY: SIOCETHTOOL with an ifreq whose data points at a live, large enough buffer.
    if unsafe { libc::ioctl(fd, SIOCETHTOOL, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Names and values of `dev`'s driver statistics (the calling thread's namespace).
fn read(dev: &str) -> io::Result<Vec<(String, u64)>> {
    // SAFETY: plain socket(2); closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let result = (|| {
        // struct ethtool_sset_info { cmd, reserved; u64 sset_mask; u32 data[] }
        let mut info = [0u64; 3];
        info[0] = u64::from(ETHTOOL_GSSET_INFO);
        info[1] = 1 << ETH_SS_STATS;
        ethtool_ioctl(fd, dev, &mut info)?;
        let count = (info[2] & 0xffff_ffff) as usize;
        // struct ethtool_gstrings { cmd, string_set, len; u8 data[] } (12-byte header)
        let mut strings = vec![0u64; (12 + count * ETH_GSTRING_LEN).div_ceil(8)];
        // SAFETY: viewing the u64 buffer as bytes to fill in the header fields.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(strings.as_mut_ptr().cast::<u8>(), strings.len() * 8)
        };
        bytes[0..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
        bytes[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
        bytes[8..12].copy_from_slice(&(count as u32).to_ne_bytes());
        ethtool_ioctl(fd, dev, &mut strings)?;
        // SAFETY: as above, read back.
        let bytes =
            unsafe { std::slice::from_raw_parts(strings.as_ptr().cast::<u8>(), strings.len() * 8) };
        let names: Vec<String> = (0..count)
            .map(|i| {
                let raw = &bytes[12 + i * ETH_GSTRING_LEN..12 + (i + 1) * ETH_GSTRING_LEN];
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                String::from_utf8_lossy(&raw[..end]).into_owned()
            })
            .collect();
        // struct ethtool_stats { cmd, n_stats; u64 data[] }
        let mut stats = vec![0u64; 1 + count];
        stats[0] = u64::from(ETHTOOL_GSTATS) | ((count as u64) << 32);
        ethtool_ioctl(fd, dev, &mut stats)?;
        Ok(names.into_iter().zip(stats[1..].iter().copied()).collect())
    })();
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    result
}

/// The driver statistics of a topology end (`ethtool -S` in its namespace), name → value.
pub fn driver_stats(endpoint: &Endpoint) -> Result<BTreeMap<String, u64>, SetupError> {
    netns::run_in(&endpoint.namespace, || {
        read(&endpoint.interface)
            .map(|v| v.into_iter().collect())
            .map_err(|e| SetupError::Netlink {
                op: format!(
                    "ethtool -S {} in {}",
                    endpoint.interface, endpoint.namespace
                ),
                message: e.to_string(),
            })
    })
}
