//! Socket, ring and attach settings of a run: what the user tunes, checked here before anything
//! is opened.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::usage::{usage, UsageError};

/// Socket and ring settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct XskConfig {
    /// UMEM frames (`--frames`).
    pub frames: u32,
    /// Bytes per UMEM frame: 2048 or 4096 (`--frame-size`).
    pub frame_size: u32,
    /// Entries of each ring: fill, completion, rx, tx (`--ring`); a power of two.
    pub ring: u32,
    /// Descriptors moved per ring operation (`--batch`).
    pub batch: u32,
    /// XDP_USE_NEED_WAKEUP (`--need-wakeup`); off makes the kernel poll on its own where it can.
    pub need_wakeup: bool,
    /// Busy polling (`--busy-poll`): SO_PREFER_BUSY_POLL, SO_BUSY_POLL=20 µs and
    /// SO_BUSY_POLL_BUDGET=batch on the socket.
    pub busy_poll: bool,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frames: 8192,
            frame_size: 2048,
            ring: 4096,
            batch: 64,
            need_wakeup: true,
            busy_poll: false,
        }
    }
}

impl XskConfig {
    /// Checks every field; errors name the flag.
    pub fn validate(&self) -> Result<(), UsageError> {
        let bad = |flag, value: u32, reason: &str| Err(usage(flag, value, reason));
        if self.frame_size != 2048 && self.frame_size != 4096 {
            return bad(
                "--frame-size",
                self.frame_size,
                "UMEM frames are 2048 or 4096 bytes",
            );
        }
        if !self.ring.is_power_of_two() || !(64..=32768).contains(&self.ring) {
            return bad("--ring", self.ring, "a power of two in 64..=32768");
        }
        if !(256..=1 << 20).contains(&self.frames) {
            return bad("--frames", self.frames, "256..=1048576 UMEM frames");
        }
        if self.batch == 0 || self.batch > self.ring / 2 {
            return bad(
                "--batch",
                self.batch,
                &format!("1..={} (half the ring)", self.ring / 2),
            );
        }
        Ok(())
    }
}

/// Per-socket counters from XDP_STATISTICS.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct XskStats {
    /// Frames dropped for lack of a fill-ring buffer or being too large (`rx_dropped`).
    pub rx_dropped: u64,
    /// Invalid rx descriptors.
    pub rx_invalid_descs: u64,
    /// Invalid tx descriptors.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the fill ring was found empty (these drops are inside `rx_dropped`).
    pub rx_fill_ring_empty_descs: u64,
    /// Times the tx ring was found empty.
    pub tx_ring_empty_descs: u64,
}

/// Where in the driver the program runs.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// Generic XDP, after the skb is built (works everywhere, slower).
    Skb,
    /// Native XDP in the veth driver's NAPI poll.
    #[default]
    Drv,
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XdpMode::Skb => "skb",
            XdpMode::Drv => "drv",
        })
    }
}
