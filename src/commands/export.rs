//! `vethbench export`: stored records printed in another format.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use results::load;

use crate::cli::ExportArgs;

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let exporter = args.format.exporter();
    // Every record is read and checked before anything is printed.
    let mut records = Vec::new();
    for path in &args.records {
        records.push((path, load(path).context("vethbench export")?));
    }
    let (paths, records): (Vec<_>, Vec<_>) = records.into_iter().unzip();
    // One document for all of them: a JSON array, one BMF object, one CSV header.
    let bytes = exporter.serialize_all(&records).with_context(|| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    for record in &records {
        crate::ui::warnings(record, args.format == results::Format::Table);
    }
    Ok(ExitCode::SUCCESS)
}
