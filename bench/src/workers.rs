//! What every worker thread does the same way, AF_XDP or kernel stack: enter its side's namespace,
//! pin its core, report whether it is ready; and the small system helpers they share.

use std::io;
use std::os::fd::RawFd;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use setup::netns::NetnsFile;
use setup::{Endpoint, Side};

use crate::scenario::BenchError;

/// A worker's report: which side, and whether it got ready.
pub(crate) type Ready = (Side, Result<(), String>);

/// Spawns a scoped worker thread named `name` (`vb-a`, `vb-b`: the names `top -H` and
/// /proc/<pid>/task/*/comm show).
pub(crate) fn spawn_named<'scope, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, T>, BenchError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(s, f)
        .map_err(|e| BenchError::Worker {
            side: if name.ends_with('a') {
                Side::A
            } else {
                Side::B
            },
            message: format!("cannot start thread {name}: {e}"),
        })
}

/// Enters the endpoint's namespace and pins the calling thread to `core`.
pub(crate) fn enter_and_pin(e: &Endpoint, core: usize) -> Result<(), String> {
    NetnsFile::open(&e.namespace)
        .and_then(|ns| ns.enter())
        .map_err(|err| err.to_string())?;
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(format!("cannot pin to core {core}"));
    }
    Ok(())
}

/// Waits for `workers` ready reports (10 s at most); the first failure, if any.
pub(crate) fn wait_ready(reports: &Receiver<Ready>, workers: usize) -> Option<BenchError> {
    let mut failure = None;
    for _ in 0..workers {
        match reports.recv_timeout(Duration::from_secs(10)) {
            Ok((_, Ok(()))) => {}
            Ok((side, Err(message))) => {
                failure.get_or_insert(BenchError::Worker { side, message });
            }
            Err(_) => {
                failure.get_or_insert(BenchError::Worker {
                    side: Side::A,
                    message: "workers did not get ready within 10 s".into(),
                });
            }
        }
    }
    failure
}

/// The measuring window of a run started at `start`: (measure from, end). A zero duration means
/// "until the count is reached".
pub(crate) fn window(start: u64, warmup_ns: u64, duration_ns: u64) -> (u64, u64) {
    let measure_from = start + warmup_ns;
    let duration = if duration_ns == 0 {
        u64::MAX / 4
    } else {
        duration_ns
    };
    (measure_from, measure_from.saturating_add(duration))
}

/// setsockopt(2) with an int value.
pub(crate) fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    opt: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
