//! Errors of the setup crate. Messages name the flag, path or interface involved.

use std::path::PathBuf;

/// Everything that can go wrong while building, inspecting or tearing down a topology.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A value given by the user is outside what the tool accepts; checked before anything is created.
    #[error(transparent)]
    Usage(#[from] model::UsageError),
    /// A topology with this run id (or a leftover of one) already exists.
    #[error("run id '{id}' is already in use: {what} (remove it with `vethbench down --id {id}` or `vethbench cleanup`)")]
    IdInUse {
        /// The run id.
        id: String,
        /// What was found (a namespace, a live owner process, ...).
        what: String,
    },
    /// A live process measures on (or holds) the topology of this run id.
    #[error("run id '{id}' is in use by process {pid}, which measures on or holds its topology: wait for it to end, or pick another id")]
    Busy {
        /// The run id.
        id: String,
        /// The live owner (0 if it could not be read).
        pid: u32,
    },
    /// A namespace or interface of a topology disappeared while it was being used.
    #[error("{0} is gone: the topology was removed while in use")]
    Gone(String),
    /// No topology with this run id exists.
    #[error(
        "no topology with run id '{0}' (see `ip netns list`; ours are named vb-<id>-a / vb-<id>-b)"
    )]
    NotFound(String),
    /// Not running with the privileges the kernel asks for.
    #[error("{op}: permission denied — run as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN); `vethbench doctor` checks this")]
    NotPermitted {
        /// What was being attempted.
        op: String,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being attempted, naming the path or interface.
        op: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// File I/O failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A netlink request failed.
    #[error("netlink: {op}: {message}")]
    Netlink {
        /// The request, naming the interface or namespace.
        op: String,
        /// The kernel's (or the netlink library's) answer.
        message: String,
    },
    /// The kernel accepted a setting but reads back something else.
    #[error("{what} on {interface}: asked for {wanted}, the kernel reports {actual}")]
    NotApplied {
        /// The setting, e.g. `GRO`.
        what: &'static str,
        /// The interface.
        interface: String,
        /// What was asked.
        wanted: String,
        /// What the kernel reports.
        actual: String,
    },
    /// A traffic check across the topology failed.
    #[error("round trip {from} -> {to} failed: {reason}")]
    Traffic {
        /// Sending address.
        from: String,
        /// Receiving address.
        to: String,
        /// What went wrong.
        reason: String,
    },
    /// A worker thread panicked or could not be started.
    #[error("{0}")]
    Thread(String),
}

impl SetupError {
    /// A failed system call; EPERM/EACCES become [`SetupError::NotPermitted`].
    pub(crate) fn sys(op: impl Into<String>, source: nix::Error) -> Self {
        match source {
            nix::Error::EPERM | nix::Error::EACCES => SetupError::NotPermitted { op: op.into() },
            _ => SetupError::Sys {
                op: op.into(),
                source,
            },
        }
    }

    /// A failed file operation; permission errors become [`SetupError::NotPermitted`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            return SetupError::NotPermitted {
                op: format!("{}", path.display()),
            };
        }
        SetupError::Io { path, source }
    }
}
