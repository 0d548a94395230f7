//! Bencher Metric Format: `{ benchmark: { measure: { value, lower_value, upper_value } } }`, one
//! benchmark per scenario. Rates use Bencher's built-in `throughput` measure (operations per second)
//! and RTT medians its built-in `latency` measure (nanoseconds); the RTT 99th percentile and the
//! A→B one-way median are measures of their own, also in nanoseconds. The bounds are the 95 %
//! confidence interval of the median. See <https://bencher.dev/docs/reference/bencher-metric-format>.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ExportError, Exporter, Format};
use crate::record::Record;
use crate::Estimate;

/// The BMF exporter.
pub struct Bmf;

/// One metric value with its interval.
#[derive(Serialize)]
struct Metric {
    value: f64,
    lower_value: f64,
    upper_value: f64,
}

/// (record metric, BMF measure, factor to the measure's unit).
const MEASURES: [(&str, &str, f64); 4] = [
    ("received_pps", "throughput", 1.0),
    ("rtt_p50_us", "latency", 1e3),
    ("rtt_p99_us", "latency-p99", 1e3),
    ("a2b_p50_us", "one-way-a-to-b", 1e3),
];

fn metric(e: &Estimate, scale: f64) -> Metric {
    Metric {
        value: e.median * scale,
        lower_value: e.ci95_low * scale,
        upper_value: e.ci95_high * scale,
    }
}

impl Exporter for Bmf {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let mut benchmarks: BTreeMap<String, BTreeMap<&str, Metric>> = BTreeMap::new();
        for s in &record.scenarios {
            let measures: BTreeMap<&str, Metric> = MEASURES
                .iter()
                .filter_map(|(name, measure, scale)| {
                    s.estimates
                        .get(*name)
                        .map(|e| (*measure, metric(e, *scale)))
                })
                .collect();
            if !measures.is_empty() {
                benchmarks.insert(format!("vethbench/{}", s.key), measures);
            }
        }
        let mut out = serde_json::to_vec_pretty(&benchmarks).map_err(|e| ExportError {
            format: Format::Bmf,
            message: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }
}
