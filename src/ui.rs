//! How much the binary says besides its results: `-q` only results (and errors, and warnings
//! that change what a result means), the default adds progress on stderr, `-v` adds the detail of
//! each stage through `tracing` (also selectable with `RUST_LOG`, e.g. `RUST_LOG=setup=debug`).

use std::sync::atomic::{AtomicU8, Ordering};

/// How talkative the binary is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Results only.
    Quiet = 0,
    /// Results and progress.
    Normal = 1,
    /// Results, progress and the detail of every stage.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets the verbosity from `-q` / `-v` and starts logging (`RUST_LOG` wins over `-v`).
pub fn init(quiet: bool, verbose: bool) {
    let level = match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
    let default = if level == Verbosity::Verbose {
        "debug"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .without_time()
        .try_init();
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    LEVEL.load(Ordering::Relaxed) >= Verbosity::Verbose as u8
}

/// Prints a record's warnings on stderr: every one with `-v`; else, for formats that do not
/// carry them (machine formats), one line per kind.
pub fn warnings(record: &results::Record, format_has_them: bool) {
    if verbose() {
        for w in results::warnings::all(record) {
            eprintln!("warning: {w}");
        }
    } else if !format_has_them {
        for w in results::warnings::summary(record) {
            eprintln!("warning: {w}");
        }
    }
}

/// Whether progress lines are shown.
pub fn progress_shown() -> bool {
    LEVEL.load(Ordering::Relaxed) >= Verbosity::Normal as u8
}

/// A progress line on stderr, unless `-q`.
macro_rules! progress {
    ($($arg:tt)*) => {
        if $crate::ui::progress_shown() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use progress;
