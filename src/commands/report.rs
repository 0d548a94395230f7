//! `vethbench report`: records in, one HTML file out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use results::load;
use results::report::{html, Labelled};

use crate::cli::ReportArgs;
use crate::commands::compare::UNUSABLE;

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut records: Vec<Labelled> = Vec::new();
    for path in &args.results {
        if path.is_dir() {
            for file in json_files(path)? {
                // Directories may hold other JSON; what is not a record is skipped, and said so.
                match load(&file) {
                    Ok(r) => records.push((file.display().to_string(), r)),
                    Err(e) => eprintln!("skipped: {e}"),
                }
            }
        } else {
            match load(path) {
                Ok(r) => records.push((path.display().to_string(), r)),
                Err(e) => {
                    eprintln!("error: vethbench report: {e}");
                    return Ok(ExitCode::from(UNUSABLE));
                }
            }
        }
    }
    if records.is_empty() {
        eprintln!("error: vethbench report: no records found in the given RESULTS");
        return Ok(ExitCode::from(UNUSABLE));
    }
    let pair: Option<(Labelled, Labelled)> = match args.compare.as_deref() {
        Some([b, n]) => {
            let read = |p: &PathBuf| -> Result<Labelled, results::RecordError> {
                Ok((p.display().to_string(), load(p)?))
            };
            match (read(b), read(n)) {
                (Ok(b), Ok(n)) => Some((b, n)),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("error: vethbench report --compare: {e}");
                    return Ok(ExitCode::from(UNUSABLE));
                }
            }
        }
        _ => None,
    };
    let page = html(&records, pair.as_ref().map(|(b, n)| (b, n, args.noise)))?;
    std::fs::write(&args.output, page)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "report: {} ({} record(s))",
        args.output.display(),
        records.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every `.json` file under `dir`, in name order.
fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(json_files(&p)?);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(out)
}
