//! One module per subcommand: each takes its validated options and prints its result.

pub mod check;
pub mod cleanup;
pub mod compare;
pub mod doctor;
pub mod down;
pub mod export;
pub mod report;
pub mod run;
pub mod sweep;
pub mod up;

/// This build of vethbench, as records name it.
pub fn tool() -> results::Tool {
    results::Tool {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("VETHBENCH_GIT_COMMIT").to_string(),
    }
}
