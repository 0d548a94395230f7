//! Errors of a run. Input problems are [`model::UsageError`]s (exit code 2 in the binary); a
//! worker's failure keeps its type and says which worker it was.

use std::fmt;
use std::io;

use setup::Side;

use crate::xsk::XskError;

/// Which worker: its side (or both, for a colocated worker) and its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerId {
    /// The side whose socket it drives; `None` for a colocated worker that drives both.
    pub side: Option<Side>,
    /// The flow (and queue) it carries.
    pub flow: u32,
}

impl WorkerId {
    /// The worker of `side` for `flow`.
    pub fn of(side: Side, flow: u32) -> WorkerId {
        WorkerId {
            side: Some(side),
            flow,
        }
    }

    /// The colocated worker of `flow`.
    pub fn colocated(flow: u32) -> WorkerId {
        WorkerId { side: None, flow }
    }

    /// The thread name `top -H` and /proc/<pid>/task/*/comm show: `vb-a`, `vb-b`, `vb-ab`, with
    /// the flow appended from flow 1 on (`vb-a1`).
    pub fn thread_name(&self) -> String {
        let side = match self.side {
            Some(Side::A) => "a",
            Some(Side::B) => "b",
            None => "ab",
        };
        match self.flow {
            0 => format!("vb-{side}"),
            f => format!("vb-{side}{f}"),
        }
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.side {
            Some(side) => write!(f, "{side}")?,
            None => f.write_str("A+B")?,
        }
        write!(f, " (flow {})", self.flow)
    }
}

/// What went wrong in a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The thread could not be started.
    #[error("cannot start its thread: {0}")]
    Spawn(#[source] io::Error),
    /// Entering the endpoint's namespace failed.
    #[error(transparent)]
    Namespace(#[from] setup::SetupError),
    /// Pinning failed.
    #[error("cannot pin to core {0}")]
    Pin(usize),
    /// Opening or using the AF_XDP socket failed.
    #[error(transparent)]
    Xsk(#[from] XskError),
    /// Registering the socket with the XDP program failed.
    #[error(transparent)]
    Bpf(#[from] bpf::BpfError),
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// It did not report ready in time.
    #[error("did not get ready within {0} s")]
    NotReady(u64),
    /// It panicked.
    #[error("panicked")]
    Panicked,
    /// Its opening failed, and that error was reported as the run's.
    #[error("did not open (reported above)")]
    Reported,
}

/// An [`io::Error`] while doing `what`.
pub(crate) fn io_err(what: &'static str) -> impl Fn(io::Error) -> WorkerError {
    move |source| WorkerError::Io { what, source }
}

/// Errors of a run; messages name the flag, interface or worker.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An option out of range or in conflict with another.
    #[error(transparent)]
    Usage(#[from] model::UsageError),
    /// Topology access.
    #[error(transparent)]
    Setup(#[from] setup::SetupError),
    /// XDP programs.
    #[error(transparent)]
    Bpf(#[from] bpf::BpfError),
    /// A worker failed.
    #[error("worker {worker}: {source}")]
    Worker {
        /// Which worker.
        worker: WorkerId,
        /// What went wrong.
        #[source]
        source: WorkerError,
    },
    /// A kernel counter the accounting needs could not be read.
    #[error("reading {what}: {reason}")]
    Counter {
        /// Which counters.
        what: String,
        /// Why.
        reason: String,
    },
}
