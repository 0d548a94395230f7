//! `vethbench doctor`: what this host can and cannot do for the benchmark.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::DoctorArgs;
use crate::doctor::{run_all, Status};

pub fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let checks = run_all();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).context("serialise checks")?
        );
    } else {
        print_table(&checks);
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        eprintln!("{failed} check(s) failed: fix them before benchmarking");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The checks as a table: check, status, what was found, the fix.
pub fn print_table(checks: &[crate::doctor::Check]) {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            let status = match c.status {
                Status::Pass => "pass",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            vec![
                c.name.to_string(),
                status.into(),
                c.detail.clone(),
                c.fix.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        results::text_table(&["check", "status", "found", "fix"], &rows)
    );
}
