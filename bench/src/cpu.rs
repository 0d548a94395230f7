//! Reading a worker thread's own CPU counters (CLOCK_THREAD_CPUTIME_ID, getrusage) at the edges
//! of its loop; what they mean and how a trial's CPU is accounted lives in [`model::cpu`].

pub use model::cpu::*;

/// A thread's CPU counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadCpu {
    /// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), ns.
    pub cpu_ns: u64,
    /// Wall clock (CLOCK_MONOTONIC), ns.
    pub wall_ns: u64,
    /// Voluntary context switches (getrusage RUSAGE_THREAD).
    pub voluntary: u64,
    /// Involuntary context switches.
    pub involuntary: u64,
}

fn clock(id: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a live timespec.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

impl ThreadCpu {
    /// The calling thread's counters now; `None` if the kernel refused (then the figures are
    /// unknown, never zero).
    pub fn now() -> Option<ThreadCpu> {
        // SAFETY: getrusage writes into a zeroed, live rusage.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
            return None;
        }
        Some(ThreadCpu {
            cpu_ns: clock(libc::CLOCK_THREAD_CPUTIME_ID)?,
            wall_ns: clock(libc::CLOCK_MONOTONIC)?,
            voluntary: ru.ru_nvcsw as u64,
            involuntary: ru.ru_nivcsw as u64,
        })
    }

    /// What the thread used from `start` to `self`.
    pub fn since(&self, start: &ThreadCpu) -> ThreadUsage {
        ThreadUsage {
            cpu_ns: self.cpu_ns.saturating_sub(start.cpu_ns),
            wall_ns: self.wall_ns.saturating_sub(start.wall_ns),
            voluntary: self.voluntary.saturating_sub(start.voluntary),
            involuntary: self.involuntary.saturating_sub(start.involuntary),
        }
    }
}

/// Reads the calling thread's counters around `f`: its result and what it used.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Option<ThreadUsage>) {
    let start = ThreadCpu::now();
    let out = f();
    let usage = start.and_then(|s| ThreadCpu::now().map(|e| e.since(&s)));
    (out, usage)
}
