//! An AF_XDP socket on xsk-rs: one UMEM, its fill and completion rings, and the rx/tx rings of one
//! queue. veth has no zero-copy mode, so sockets always bind with XDP_COPY; our own XDP program
//! is attached separately, so libxdp is told not to load one.

use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};

pub use model::settings::{XskConfig, XskStats};
use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use crate::workers::setsockopt_int;

/// What can go wrong with a socket; messages name the flag or interface.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    /// A setting outside what AF_XDP accepts.
    #[error(transparent)]
    Usage(#[from] model::UsageError),
    /// Creating the UMEM or binding the socket failed.
    #[error("AF_XDP socket on {interface} queue {queue}: {what}")]
    Open {
        /// Interface.
        interface: String,
        /// Queue.
        queue: u32,
        /// What failed.
        what: String,
    },
}

/// One AF_XDP socket with its UMEM. Create it on a thread inside the interface's namespace.
pub struct Xsk {
    /// The UMEM.
    pub umem: Umem,
    /// Frames of the UMEM, in order.
    pub frames: Vec<FrameDesc>,
    /// TX ring.
    pub tx: TxQueue,
    /// RX ring.
    pub rx: RxQueue,
    /// Fill ring.
    pub fill: FillQueue,
    /// Completion ring.
    pub comp: CompQueue,
}

impl Xsk {
    /// Opens a copy-mode socket on `interface` queue `queue` (in the calling thread's namespace).
    pub fn open(interface: &str, queue: u32, cfg: &XskConfig) -> Result<Xsk, XskError> {
        cfg.validate()?;
        let fail = |what: String| XskError::Open {
            interface: interface.to_string(),
            queue,
            what,
        };
        let ring = QueueSize::new(cfg.ring).map_err(|e| fail(e.to_string()))?;
        let umem_config = UmemConfig::builder()
            .frame_size(FrameSize::new(cfg.frame_size).map_err(|e| fail(e.to_string()))?)
            .fill_queue_size(ring)
            .comp_queue_size(ring)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let count = NonZeroU32::new(cfg.frames).ok_or_else(|| fail("no frames".into()))?;
        let (umem, frames) =
            Umem::new(umem_config, count, false).map_err(|e| fail(format!("UMEM: {e}")))?;
        let mut bind = BindFlags::XDP_COPY;
        if cfg.need_wakeup {
            bind |= BindFlags::XDP_USE_NEED_WAKEUP;
        }
        let socket_config = SocketConfig::builder()
            .rx_queue_size(ring)
            .tx_queue_size(ring)
            .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
            .bind_flags(bind)
            .build();
        let name = std::ffi::CString::new(interface)
            .map_err(|_| fail("interface name has a NUL".into()))?;
        let ifname = Interface::new(name);
        // Right after another socket on this queue closed, bind can fail with EBUSY for a moment.
        let mut attempt = 0;
        let (tx, rx, fq_cq) = loop {
            // SAFETY: the UMEM is not shared with another socket.
            match unsafe { Socket::new(socket_config, &umem, &ifname, queue) } {
                Ok(s) => break s,
                Err(e) => {
                    let errno = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<std::io::Error>())
                        .and_then(std::io::Error::raw_os_error);
                    if errno == Some(libc::EBUSY) && attempt < 50 {
                        attempt += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    let why = match errno {
                        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
                        None => e.to_string(),
                    };
                    return Err(fail(format!("bind: {why}")));
                }
            }
        };
        let (fill, comp) = fq_cq.ok_or_else(|| fail("no fill/completion rings returned".into()))?;
        let xsk = Xsk {
            umem,
            frames,
            tx,
            rx,
            fill,
            comp,
        };
        if cfg.busy_poll {
            let fd = xsk.fd();
            for (opt, value) in [
                (libc::SO_PREFER_BUSY_POLL, 1),
                (libc::SO_BUSY_POLL, 20),
                (libc::SO_BUSY_POLL_BUDGET, cfg.batch as libc::c_int),
            ] {
                setsockopt_int(fd, libc::SOL_SOCKET, opt, value)
                    .map_err(|e| fail(format!("busy-poll socket option {opt}: {e}")))?;
            }
        }
        Ok(xsk)
    }

    /// The socket's descriptor (for the XSKMAP).
    pub fn fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
    }

    /// Reads XDP_STATISTICS.
    pub fn stats(&self) -> XskStats {
        match self.rx.fd().xdp_statistics() {
            Ok(s) => XskStats {
                rx_dropped: s.rx_dropped(),
                rx_invalid_descs: s.rx_invalid_descs(),
                tx_invalid_descs: s.tx_invalid_descs(),
                rx_ring_full: s.rx_ring_full(),
                rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs(),
                tx_ring_empty_descs: s.tx_ring_empty_descs(),
            },
            Err(_) => XskStats::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_flag() {
        XskConfig::default().validate().unwrap();
        type Case = (fn(&mut XskConfig), &'static str);
        let cases: [Case; 5] = [
            (|c| c.frame_size = 3000, "--frame-size 3000"),
            (|c| c.ring = 1000, "--ring 1000"),
            (|c| c.frames = 10, "--frames 10"),
            (|c| c.batch = 0, "--batch 0"),
            (|c| c.batch = 4096, "--batch 4096"),
        ];
        for (mutate, prefix) in cases {
            let mut c = XskConfig::default();
            mutate(&mut c);
            let msg = c.validate().unwrap_err().to_string();
            assert!(msg.starts_with(prefix), "{msg}");
        }
    }
}
