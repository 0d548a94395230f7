//! `vethbench compare`: two records, scenario by scenario, with verdicts and an exit status CI can use.

use std::process::ExitCode;

use anyhow::Context;
use results::{compare, load, Verdict};

use crate::cli::{CompareArgs, FailOn};
use crate::table;

/// Exit status for unusable input.
const UNUSABLE: u8 = 2;

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let (baseline, new) = match (load(&args.baseline), load(&args.new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: vethbench compare: {e}");
            return Ok(ExitCode::from(UNUSABLE));
        }
    };
    let c = compare(&baseline, &new, args.noise);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&c).context("serialise comparison")?
        );
    } else {
        let rows: Vec<Vec<String>> = c
            .changes
            .iter()
            .map(|m| {
                vec![
                    m.scenario.clone(),
                    m.metric.clone(),
                    format!("{:.3}", m.baseline),
                    format!("{:.3}", m.new),
                    format!(
                        "{:+.1} % [{:+.1}, {:+.1}]",
                        m.change_pct, m.ci95_pct.0, m.ci95_pct.1
                    ),
                    m.verdict.to_string(),
                ]
            })
            .collect();
        println!(
            "baseline {} ({}), new {} ({}); noise band ±{} %",
            args.baseline.display(),
            baseline.started,
            args.new.display(),
            new.started,
            args.noise
        );
        print!(
            "{}",
            table::render(
                &[
                    "scenario",
                    "metric",
                    "baseline",
                    "new",
                    "change [95 % CI]",
                    "verdict"
                ],
                &rows
            )
        );
        for k in &c.only_in_baseline {
            println!("only in the baseline: {k}");
        }
        for k in &c.only_in_new {
            println!("only in the new record: {k}");
        }
        for d in &c.setting_differences {
            println!("settings differ: {d}");
        }
        if c.fingerprint_differences.is_empty() {
            println!("environment: identical fingerprints");
        } else {
            println!("environment differences (baseline -> new):");
            for d in &c.fingerprint_differences {
                println!("  {d}");
            }
        }
    }
    if c.changes.is_empty() {
        eprintln!("error: vethbench compare: the two records have no scenario in common");
        return Ok(ExitCode::from(UNUSABLE));
    }
    let regressed = c
        .changes
        .iter()
        .filter(|m| m.verdict == Verdict::Regressed)
        .count();
    if regressed > 0 {
        eprintln!("{regressed} metric(s) regressed");
        if args.fail_on == FailOn::Regression {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
