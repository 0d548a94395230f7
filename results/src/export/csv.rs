//! CSV: a header, then one line per scenario and metric with its estimate over the trials, in the
//! record's own units (pps, %, us).

use std::fmt::Write;

use super::{ExportError, Exporter, SHOWN};
use crate::record::Record;

/// The CSV exporter.
pub struct Csv;

/// Quotes a field when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter for Csv {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let mut out = String::from(
            "run_id,scenario,mode,size_bytes,ip,xdp_mode,metric,unit,trials,median,mean,ci95_low,ci95_high,cv\n",
        );
        for s in &record.scenarios {
            for shown in &SHOWN {
                let Some(e) = s.estimates.get(shown.metric) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.4}",
                    field(&record.run_id),
                    field(&s.key),
                    s.spec.mode.name(),
                    s.spec.size,
                    if s.spec.ipv6 { "ipv6" } else { "ipv4" },
                    s.spec.xdp_mode,
                    shown.metric,
                    field(shown.raw_unit),
                    e.n,
                    e.median,
                    e.mean,
                    e.ci95_low,
                    e.ci95_high,
                    e.cv
                );
            }
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(super::field("a"), "a");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
