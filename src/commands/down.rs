//! `vethbench down`: remove one topology.

use std::process::ExitCode;

use anyhow::Context;
use setup::SetupError;

use crate::cli::DownOptions;

pub fn run(opts: &DownOptions) -> anyhow::Result<ExitCode> {
    let id = &opts.id;
    let removed = match setup::down(id, opts.force) {
        Err(SetupError::Busy { pid, .. }) => anyhow::bail!(
            "vethbench down --id {id}: process {pid} is measuring on (or holding) this topology; \
             it was left alone. `vethbench down --id {id} --force` stops it first (it keeps what \
             it measured, marked interrupted)"
        ),
        other => other.context("vethbench down --id")?,
    };
    if let Some(pid) = removed.stopped_owner {
        println!("stopped process {pid} (SIGTERM); it ended its run and let go of the topology");
    }
    if removed.namespaces.is_empty() && removed.links.is_empty() {
        println!("run {id}: nothing left to remove");
    } else {
        println!(
            "removed run {id}: namespaces {}{}",
            removed.namespaces.join(", "),
            if removed.links.is_empty() {
                String::new()
            } else {
                format!("; links {}", removed.links.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
