//! Small system helpers every worker uses, AF_XDP or kernel stack: pin the calling thread, enter
//! an endpoint's namespace, the measuring window, setsockopt.

use std::io;
use std::os::fd::RawFd;

use setup::netns::NetnsFile;
use setup::Endpoint;

use crate::error::WorkerError;

/// Pins the calling thread to `core` and reads the affinity back: exactly that core, or an error.
pub(crate) fn pin(core: usize) -> Result<(), WorkerError> {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(WorkerError::Pin(core));
    }
    match pinned_cores() {
        Some(cores) if cores == [core] => Ok(()),
        _ => Err(WorkerError::Pin(core)),
    }
}

/// The cores the calling thread may run on (sched_getaffinity); `None` if unreadable.
pub fn pinned_cores() -> Option<Vec<usize>> {
    // SAFETY: sched_getaffinity writes into a zeroed, live cpu_set_t of the size given.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; pid 0 is the calling thread.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return None;
    }
    // SAFETY: CPU_ISSET reads the set filled in above.
    Some(
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect(),
    )
}

/// Moves the calling thread into the endpoint's namespace (sockets opened afterwards live there,
/// also after the thread moves on).
pub(crate) fn enter(e: &Endpoint) -> Result<(), WorkerError> {
    Ok(NetnsFile::open(&e.namespace).and_then(|ns| ns.enter())?)
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
