//! `vethbench report`: records in, one HTML file out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use results::report::{html, Labelled};
use results::{load, RecordError};

use crate::cli::ReportArgs;
use crate::ui::progress;

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let files = record_files(&args.results)?;
    check_output(&args.output, &files, args.compare.as_deref().unwrap_or(&[]))?;
    let mut records: Vec<Labelled> = Vec::new();
    let mut kernel_order: Vec<String> = Vec::new();
    for (path, named) in &files {
        match load(path) {
            Ok(r) => records.push((path.display().to_string(), r)),
            // A matrix's summary orders its kernels (the first is the reference).
            Err(RecordError::Malformed { .. }) if matrix_kernels(path, &mut kernel_order) => {}
            // Directories may hold other JSON: what is not a record at all is skipped, and said so.
            Err(e @ RecordError::Malformed { .. }) if !named => eprintln!("skipped: {e}"),
            Err(e) => return Err(e).context("vethbench report"),
        }
    }
    if !kernel_order.is_empty() {
        let rank = |r: &results::Record| {
            let label = results::matrix::column_label(r);
            kernel_order
                .iter()
                .position(|k| *k == label)
                .unwrap_or(usize::MAX)
        };
        records.sort_by_key(|(_, r)| rank(r));
    }
    if records.is_empty() {
        return Err(model::UsageError {
            flag: "RESULTS",
            value: args
                .results
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            reason: "no records found there".into(),
        }
        .into());
    }
    let pair: Option<(Labelled, Labelled)> = match args.compare.as_deref() {
        Some([b, n]) => {
            let read = |p: &PathBuf| -> anyhow::Result<Labelled> {
                Ok((
                    p.display().to_string(),
                    load(p).context("vethbench report --compare")?,
                ))
            };
            let (b, n) = (read(b)?, read(n)?);
            if results::compare(&b.1, &n.1, args.noise).changes.is_empty() {
                return Err(model::UsageError {
                    flag: "--compare",
                    value: format!("{} {}", b.0, n.0),
                    reason: "the two records have no scenario in common".into(),
                }
                .into());
            }
            Some((b, n))
        }
        _ => None,
    };
    let page = html(&records, pair.as_ref().map(|(b, n)| (b, n, args.noise)))?;
    std::fs::write(&args.output, page)
        .with_context(|| format!("writing {}", args.output.display()))?;
    progress!(
        "report: {} ({} record(s))",
        args.output.display(),
        records.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Adds the kernels of a `vethbench matrix` summary at `path` to `order`; false when `path` is
/// not one.
fn matrix_kernels(path: &Path, order: &mut Vec<String>) -> bool {
    let summary = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<results::matrix::MatrixSummary>(&b).ok())
        .filter(|s| s.kind == results::matrix::SUMMARY_KIND);
    let Some(summary) = summary else {
        return false;
    };
    for k in summary.kernels {
        if !order.contains(&k.label) {
            order.push(k.label);
        }
    }
    true
}

/// Refuses an output that is a directory or one of the inputs (it would be overwritten with HTML).
fn check_output(
    output: &Path,
    inputs: &[(PathBuf, bool)],
    compared: &[PathBuf],
) -> Result<(), model::UsageError> {
    let bad = |reason: &str| model::UsageError {
        flag: "-o",
        value: output.display().to_string(),
        reason: reason.into(),
    };
    if output.is_dir() {
        return Err(bad("is a directory: name the HTML file to write"));
    }
    if let Ok(out) = output.canonicalize() {
        let same = |p: &Path| p.canonicalize().is_ok_and(|c| c == out);
        if inputs.iter().any(|(p, _)| same(p)) || compared.iter().any(|p| same(p)) {
            return Err(bad(
                "is one of the records read: writing the report there would destroy it",
            ));
        }
    }
    Ok(())
}

/// The files named, and every `.json` file under the directories named (in name order), each
/// once however it is reached; `true` marks a file named on the command line.
fn record_files(results: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, bool)>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for path in results {
        if path.is_dir() {
            walk(path, &mut seen, &mut out)?;
        } else if seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
            out.push((path.clone(), true));
        }
    }
    Ok(out)
}

/// Adds the `.json` files under `dir`; symbolic links to directories are not followed (a link to
/// an ancestor would loop), and a file reached twice is read once.
fn walk(
    dir: &Path,
    seen: &mut BTreeSet<PathBuf>,
    out: &mut Vec<(PathBuf, bool)>,
) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, seen, out)?;
        } else if p.extension().is_some_and(|x| x == "json")
            && p.is_file()
            && seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone()))
        {
            out.push((p, false));
        }
    }
    Ok(())
}
