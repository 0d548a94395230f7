//! `vethbench export`: stored records printed in another format.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use results::load;

use crate::cli::ExportArgs;
use crate::commands::compare::UNUSABLE;

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let exporter = args.format.exporter();
    let mut out = std::io::stdout().lock();
    for path in &args.records {
        let record = match load(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: vethbench export: {e}");
                return Ok(ExitCode::from(UNUSABLE));
            }
        };
        let bytes = exporter
            .serialize(&record)
            .with_context(|| path.display().to_string())?;
        out.write_all(&bytes).context("writing to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}
