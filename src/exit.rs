//! Exit statuses, in one place (the README has the same table).
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success; `compare`/`--baseline`: no regression |
//! | 1 | failure; `compare`/`--baseline`: a metric regressed |
//! | 2 | bad input: a flag, file or record the command cannot use (checked before anything is built) |
//! | 3 | `compare`/`--baseline`: no regression, but a metric is inconclusive |
//! | 130 | interrupted by SIGINT (Ctrl-C), after printing and storing what was measured |
//! | 141 | the reader of standard output went away (`vethbench export ... \| head`) |
//! | 143 | stopped by SIGTERM (`down --force` sends it), after printing and storing what was measured |

use std::process::ExitCode;

/// Success.
pub const SUCCESS: u8 = 0;
/// A failure, or a regression found by `compare` / `run --baseline`.
pub const FAILURE: u8 = 1;
/// Bad input: the command line, a file or a record cannot be used.
pub const USAGE: u8 = 2;
/// `compare` / `run --baseline`: no regression, but something inconclusive.
pub const INCONCLUSIVE: u8 = 3;
/// Standard output's reader went away (128 + SIGPIPE, as a shell reports a tool killed by it).
pub const BROKEN_PIPE: u8 = 141;

/// The status after signal `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM).
pub fn after_signal(signal: i32) -> ExitCode {
    ExitCode::from(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)))
}

/// The status for an error that ended a command: 2 for bad input, 141 for a closed stdout, else 1.
pub fn for_error(e: &anyhow::Error) -> u8 {
    if broken_pipe(e) {
        return BROKEN_PIPE;
    }
    let usage = e.chain().any(|cause| {
        cause.is::<model::UsageError>()
            || matches!(
                cause.downcast_ref::<setup::SetupError>(),
                Some(setup::SetupError::Usage(_))
            )
            || matches!(
                cause.downcast_ref::<bench::BenchError>(),
                Some(bench::BenchError::Usage(_))
            )
            || matches!(
                cause.downcast_ref::<bench::xsk::XskError>(),
                Some(bench::xsk::XskError::Usage(_))
            )
            || matches!(
                cause.downcast_ref::<vm::VmError>(),
                Some(vm::VmError::Usage(_))
            )
            || cause
                .downcast_ref::<results::RecordError>()
                .is_some_and(results::RecordError::is_input)
    });
    if usage {
        USAGE
    } else {
        FAILURE
    }
}

/// Whether an error comes from writing to a standard output nobody reads any more.
pub fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
