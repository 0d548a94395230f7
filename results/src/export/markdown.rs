//! Markdown: where it was measured, one table row per scenario with median [95 % interval] per
//! metric, and the warnings — ready to paste into a pull request.

use std::fmt::Write;

use super::{with_interval, ExportError, Exporter, SHOWN};
use crate::record::Record;

/// The Markdown exporter.
pub struct Markdown;

/// Escapes the characters that would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

impl Exporter for Markdown {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let f = &record.fingerprint;
        let mut out = format!(
            "### vethbench {} ({})\n\nKernel {}, {} × {}, run `{}` started {}, {} trial(s) per scenario; \
             each cell: median [95 % confidence interval].\n\n",
            cell(&record.tool.version),
            cell(&record.tool.git_commit),
            cell(&f.kernel_release),
            f.cpus,
            cell(&f.cpu_model),
            cell(&record.run_id),
            record.started,
            record.trials_per_scenario
        );
        out += "| scenario | trials |";
        for s in &SHOWN {
            let _ = write!(out, " {} {} |", s.label, s.unit);
        }
        out += "\n|---|---:|";
        out += &"---:|".repeat(SHOWN.len());
        out.push('\n');
        for s in &record.scenarios {
            let _ = write!(
                out,
                "| {} | {} |",
                cell(&s.key),
                s.complete_trials().count()
            );
            for shown in &SHOWN {
                let v = s
                    .estimates
                    .get(shown.metric)
                    .map(|e| with_interval(e, shown.scale))
                    .unwrap_or_else(|| "–".into());
                let _ = write!(out, " {v} |");
            }
            out.push('\n');
        }
        if !record.warnings.is_empty() {
            out += "\n**Warnings**\n\n";
            for w in &record.warnings {
                let _ = writeln!(out, "- {}", w);
            }
        }
        Ok(out.into_bytes())
    }
}
