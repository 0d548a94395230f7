//! `vethbench cleanup`: remove every leftover of ours.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::CleanupArgs;

pub fn run(args: &CleanupArgs) -> anyhow::Result<ExitCode> {
    let report = setup::cleanup(args.force).context("vethbench cleanup")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialise report")?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for r in &report.removed {
        let id = r.id.as_ref().map(|i| i.to_string()).unwrap_or_default();
        println!("removed run {id}: namespaces {}", r.namespaces.join(", "));
    }
    for link in &report.stray_links {
        println!("removed stray link {link}");
    }
    for s in &report.skipped {
        println!(
            "left run {} alone: process {} is using it (--force removes it anyway)",
            s.id, s.pid
        );
    }
    if report.removed.is_empty() && report.stray_links.is_empty() && report.errors.is_empty() {
        println!("nothing of ours to remove");
    }
    for e in &report.errors {
        eprintln!("could not remove {e}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
