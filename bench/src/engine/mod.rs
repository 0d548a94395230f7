//! The AF_XDP hot loops, as steps a worker's loop calls: each step takes plain values, allocates
//! nothing, keeps its counters in the step's own struct, and the struct gives them back when the
//! loop ends. A split worker calls one kind of step; a colocated worker calls a generator's and a
//! receiver's step in turn on one core.
//!
//! - [`Generator`]: side A. Transmits stamped frames open-loop (optionally rate-limited) or
//!   closed-loop (N in flight), and receives the returns when there are any (RTT, one-way times).
//! - [`Sink`]: side B. Receives, accounts sequence numbers and one-way times, recycles frames.
//! - [`Reflector`]: side B. Sends every frame back with addresses swapped and the A→B time in.

mod generator;
mod reflect;
mod sink;

pub use generator::{GenOutcome, GenPlan, Generator, Pace};
pub use reflect::{ReflectOutcome, Reflector};
pub use sink::{prime_fill, Sink, SinkOutcome};

/// Polls of an empty ring after the stop before a receiver ends (its drain).
pub(crate) const IDLE_POLLS_AFTER_STOP: u32 = 1000;

/// CLOCK_MONOTONIC in nanoseconds (the clock both namespaces share).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Counts empty polls after the stop; says when a receiver has drained.
#[derive(Default)]
pub(crate) struct Drain {
    idle: u32,
}

impl Drain {
    /// After a poll that found `n` frames (and, for a reflector, `busy` frames still in its TX):
    /// whether the receiver may end now.
    #[inline]
    pub(crate) fn done(&mut self, n: usize, busy: bool, stop: bool) -> bool {
        if n > 0 || busy {
            self.idle = 0;
            return false;
        }
        if !stop {
            std::hint::spin_loop();
            return false;
        }
        self.idle += 1;
        std::thread::yield_now();
        self.idle > IDLE_POLLS_AFTER_STOP
    }
}
