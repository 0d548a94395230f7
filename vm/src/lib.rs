//! Guests for `vethbench matrix`: a kernel named on the command line (a vmlinuz, a Debian
//! linux-image package or .deb) becomes a bootable QEMU guest whose initramfs holds busybox, this
//! very vethbench binary, the shared libraries it needs and the kernel's veth module. The guest
//! runs `vethbench guest`, which measures and sends every record back over a second serial port.
//!
//! Nothing here measures: the binary runs the guest and turns what comes back into a matrix.

pub mod bzimage;
pub mod channel;
pub mod cmdline;
pub mod config;
pub mod deb;
mod error;
pub mod image;
pub mod kernel;
pub mod modules;
pub mod qemu;
mod qmp;
pub mod session;
pub mod stale;

pub use error::VmError;
