//! SIGINT and SIGTERM as a flag: a long command stops at its next check, tears down and keeps what
//! it measured, instead of dying with a topology up. Which signal came decides the exit status.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};

/// The signal that stopped this process (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// SIGINT/SIGTERM set the returned flag (the run then stops sending, drains, and tears down)
/// instead of killing the process with the topology up.
pub fn watch() -> anyhow::Result<Arc<AtomicBool>> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    // Blocked here, before any worker starts, so every thread inherits the mask.
    set.thread_block().context("block SIGINT/SIGTERM")?;
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Ok(signal) = set.wait() {
                // The first signal decides; the flag is set after it so readers of the flag
                // always find the signal.
                let _ =
                    RECEIVED.compare_exchange(0, signal as i32, Ordering::SeqCst, Ordering::SeqCst);
                seen.store(true, Ordering::SeqCst);
            }
        })
        .context("start the signal thread")?;
    Ok(flag)
}

/// The name of the signal that interrupted this process (`SIGINT`, `SIGTERM`), if one did.
pub fn received() -> Option<&'static str> {
    Signal::try_from(RECEIVED.load(Ordering::SeqCst))
        .ok()
        .map(Signal::as_str)
}

/// The exit status after the signal that interrupted this process (128 + its number, as shells
/// report a process killed by it: 130 after SIGINT, 143 after SIGTERM), if one did.
pub fn exit_code() -> Option<ExitCode> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(crate::exit::after_signal(n)),
    }
}
