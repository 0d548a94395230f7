//! CSV: a header, then one line per scenario and metric with its estimate over the trials, in the
//! record's own units (pps, %, us).

use std::fmt::Write;

use model::Setting;

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

/// The header: the record and scenario, the settings that tell sweep points apart, then the
/// estimate.
const HEADER: &str = "run_id,scenario,mode,size_bytes,ip,xdp_mode,batch,ring,frames,frame_size,need_wakeup,busy_poll,inflight,rate_pps,flows,layout,topology,queues,gro,metric,unit,trials,median,mean,ci95_low,ci95_high,cv\n";

/// The rows of one record (no header).
fn rows(record: &Record, out: &mut String) {
    let topo = &record.fingerprint.topology.spec;
    for s in &record.scenarios {
        let (x, spec) = (&s.spec.xsk, &s.spec);
        // A setting the mode does not use is left empty.
        let shown = |setting: Setting, v: String| {
            if spec.mode.uses(setting) {
                v
            } else {
                String::new()
            }
        };
        let settings = [
            shown(Setting::XdpMode, spec.xdp_mode.to_string()),
            shown(Setting::Batch, x.batch.to_string()),
            shown(Setting::Ring, x.ring.to_string()),
            shown(Setting::Frames, x.frames.to_string()),
            shown(Setting::FrameSize, x.frame_size.to_string()),
            shown(Setting::NeedWakeup, x.need_wakeup.to_string()),
            x.busy_poll.to_string(),
            shown(Setting::Inflight, spec.inflight.to_string()),
            spec.rate.map(|r| r.to_string()).unwrap_or_default(),
            spec.flows.to_string(),
            shown(Setting::Layout, spec.layout.to_string()),
            topo.kind.name().to_string(),
            topo.queues.to_string(),
            topo.gro.map(|g| g.to_string()).unwrap_or_default(),
        ]
        .join(",");
        for shown in &SHOWN {
            let Some(e) = s.estimates.get(shown.metric) else {
                continue;
            };
            let _ = writeln!(
                out,
                "{},{},{},{},{},{settings},{},{},{},{},{},{},{},{:.4}",
                field(&record.run_id),
                field(&s.key),
                s.spec.mode.name(),
                s.spec.size,
                if s.spec.ipv6 { "ipv6" } else { "ipv4" },
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
}

impl Exporter for Csv {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        self.serialize_all(std::slice::from_ref(record))
    }

    /// One header, then every record's rows.
    fn serialize_all(&self, records: &[Record]) -> Result<Vec<u8>, ExportError> {
        let mut out = String::from(HEADER);
        for r in records {
            rows(r, &mut out);
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
