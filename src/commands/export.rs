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
    let mut out = std::io::stdout().lock();
    for (path, record) in &records {
        let bytes = exporter
            .serialize(record)
            .with_context(|| path.display().to_string())?;
        out.write_all(&bytes).context("writing to stdout")?;
        crate::ui::warnings(record, args.format == results::Format::Table);
    }
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}
