//! The one error type of the crate; input errors carry a [`model::UsageError`] (exit status 2).

use std::path::PathBuf;

/// Why a guest could not be prepared, booted or heard from.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// Bad input: a flag or file that cannot be used (exit status 2).
    #[error(transparent)]
    Usage(#[from] model::UsageError),
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A system tool failed (apt-get, dpkg-deb, strip, ldd).
    #[error("{tool}: {detail}")]
    Tool {
        /// The command that failed.
        tool: String,
        /// Its message or exit status.
        detail: String,
    },
    /// QEMU is not installed.
    #[error(
        "qemu-system-x86_64 not found: install it with `scripts/setup-host`, or by hand: add \
         bookworm-backports to apt's sources, then `apt-get install -t bookworm-backports \
         qemu-system-x86 busybox-static`"
    )]
    QemuMissing,
    /// busybox-static is not installed.
    #[error(
        "{}: not found (the guest's userland): install it with `apt-get install busybox-static` \
         (or `scripts/setup-host`)",
        .0.display()
    )]
    BusyboxMissing(PathBuf),
    /// QEMU or the guest failed.
    #[error("{0}")]
    Guest(String),
}

impl VmError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VmError {
        let path = path.into();
        move |source| VmError::Io { path, source }
    }
}
