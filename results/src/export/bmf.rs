//! Bencher Metric Format: `{ benchmark: { measure: { value, lower_value, upper_value } } }`, one
//! benchmark per scenario. Rates use Bencher's built-in `throughput` measure (operations per second)
//! and RTT medians its built-in `latency` measure (nanoseconds); the RTT 99th percentile, the
//! A→B one-way median and the sender's CPU time per frame are measures of their own, also in
//! nanoseconds. The bounds are the 95 %
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
const MEASURES: [(&str, &str, f64); 5] = [
    (model::Metric::ReceivedPps.name(), "throughput", 1.0),
    (model::Metric::RttP50Us.name(), "latency", 1e3),
    (model::Metric::RttP99Us.name(), "latency-p99", 1e3),
    (model::Metric::A2bP50Us.name(), "one-way-a-to-b", 1e3),
    (
        model::Metric::ACpuNsPerFrame.name(),
        "sender-cpu-per-frame",
        1.0,
    ),
];

type Benchmarks = BTreeMap<String, BTreeMap<&'static str, Metric>>;

/// Adds a record's benchmarks, named `vethbench/<prefix><scenario>`.
fn add(record: &Record, prefix: &str, benchmarks: &mut Benchmarks) {
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
            benchmarks.insert(format!("vethbench/{prefix}{}", s.key), measures);
        }
    }
}

fn to_bytes(benchmarks: &Benchmarks) -> Result<Vec<u8>, ExportError> {
    let mut out = serde_json::to_vec_pretty(benchmarks).map_err(|e| ExportError {
        format: Format::Bmf,
        message: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

fn metric(e: &Estimate, scale: f64) -> Metric {
    Metric {
        value: e.median * scale,
        lower_value: e.ci95_low * scale,
        upper_value: e.ci95_high * scale,
    }
}

impl Exporter for Bmf {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let mut benchmarks = Benchmarks::new();
        add(record, "", &mut benchmarks);
        to_bytes(&benchmarks)
    }

    /// One BMF object; with several records each benchmark is named with its run id
    /// (`vethbench/<run id>/<scenario>`) so none replaces another.
    fn serialize_all(&self, records: &[Record]) -> Result<Vec<u8>, ExportError> {
        if let [one] = records {
            return self.serialize(one);
        }
        let mut benchmarks = Benchmarks::new();
        for r in records {
            add(r, &format!("{}/", r.run_id), &mut benchmarks);
        }
        to_bytes(&benchmarks)
    }
}
