//! SIGINT and SIGTERM as a flag: a long command stops at its next check, tears down and keeps what
//! it measured, instead of dying with a topology up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};

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
            if set.wait().is_ok() {
                seen.store(true, Ordering::Relaxed);
            }
        })
        .context("start the signal thread")?;
    Ok(flag)
}
