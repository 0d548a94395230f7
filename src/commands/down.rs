//! `vethbench down`: remove one topology.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::DownOptions;

pub fn run(opts: &DownOptions) -> anyhow::Result<ExitCode> {
    let removed = setup::down(&opts.id).context("vethbench down --id")?;
    println!(
        "removed run {}: namespaces {}{}",
        opts.id,
        removed.namespaces.join(", "),
        if removed.links.is_empty() {
            String::new()
        } else {
            format!("; links {}", removed.links.join(", "))
        }
    );
    Ok(ExitCode::SUCCESS)
}
