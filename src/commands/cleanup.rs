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
    } else {
        print(&report);
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print(report: &setup::Cleanup) {
    for r in &report.removed {
        let id = r.id.as_ref().map(|i| i.to_string()).unwrap_or_default();
        if let Some(pid) = r.stopped_owner {
            println!("stopped process {pid} (SIGTERM), which was using run {id}");
        }
        let mut parts = Vec::new();
        if !r.namespaces.is_empty() {
            parts.push(format!("namespaces {}", r.namespaces.join(", ")));
        }
        if !r.links.is_empty() {
            parts.push(format!("links {}", r.links.join(", ")));
        }
        if !r.state_files.is_empty() {
            parts.push(format!("state records {}", r.state_files.join(", ")));
        }
        if parts.is_empty() {
            parts.push("its owner removed what it had built".into());
        }
        println!("removed run {id}: {}", parts.join("; "));
    }
    for link in &report.stray_links {
        println!("removed stray link {link}");
    }
    for s in &report.skipped {
        println!(
            "left run {} alone: process {} is using it (--force stops it and removes the run)",
            s.id, s.pid
        );
    }
    if report.removed.is_empty() && report.stray_links.is_empty() && report.errors.is_empty() {
        println!("nothing of ours to remove");
    }
    for e in &report.errors {
        eprintln!("could not remove {e}");
    }
}
