//! One module per subcommand: each takes its validated options and prints its result.

pub mod check;
pub mod cleanup;
pub mod compare;
pub mod docs;
pub mod doctor;
pub mod down;
pub mod export;
pub mod guest;
pub mod matrix;
pub mod noise;
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

/// Takes the existing topology `id` for this process alone (see [`setup::Topology::borrow`]); a
/// missing one is bad input of `flag` (exit 2), one in use by a live process is refused naming it.
pub fn borrow(
    id: &setup::RunId,
    flag: &'static str,
) -> anyhow::Result<(setup::TopologyInfo, setup::Lease)> {
    match setup::Topology::borrow(id) {
        Err(e @ setup::SetupError::NotFound(_)) => Err(model::UsageError {
            flag,
            value: id.to_string(),
            reason: e.to_string(),
        }
        .into()),
        other => Ok(other?),
    }
}
