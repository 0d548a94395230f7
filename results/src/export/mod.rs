//! Exports of a record behind one small trait: `table` (what `vethbench run` prints), `json` (the
//! record itself), `csv` and `markdown` (one line per scenario and metric / per scenario), and `bmf`
//! (Bencher Metric Format, for continuous benchmarking services).

mod bmf;
mod csv;
mod markdown;
mod table;
mod text;

use model::Metric;
use std::fmt;
use std::str::FromStr;

pub use text::render as text_table;

use crate::record::Record;
use crate::Estimate;

/// Why a record could not be exported.
#[derive(Debug, thiserror::Error)]
#[error("cannot export the record as {format}: {message}")]
pub struct ExportError {
    /// The format asked for.
    pub format: Format,
    /// What went wrong.
    pub message: String,
}

/// Turns records into bytes of one format.
pub trait Exporter {
    /// The record in this exporter's format.
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError>;

    /// Several records as one document of this format: JSON gives one array, BMF one object,
    /// CSV one header. By default (tables, Markdown) each record's text follows the last.
    fn serialize_all(&self, records: &[Record]) -> Result<Vec<u8>, ExportError> {
        let mut out = Vec::new();
        for r in records {
            out.extend(self.serialize(r)?);
        }
        Ok(out)
    }
}

/// The export formats (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human tables: every trial, the estimates, the AF_XDP vs kernel stack comparison, warnings.
    Table,
    /// The record as stored (schema-versioned JSON).
    Json,
    /// One line per scenario and metric with its estimate.
    Csv,
    /// A Markdown table per record, for pull requests and reports.
    Markdown,
    /// Bencher Metric Format JSON.
    Bmf,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Csv,
        Format::Markdown,
        Format::Bmf,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
            Format::Bmf => "bmf",
        }
    }

    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Table => Box::new(table::Table),
            Format::Json => Box::new(Json),
            Format::Csv => Box::new(csv::Csv),
            Format::Markdown => Box::new(markdown::Markdown),
            Format::Bmf => Box::new(bmf::Bmf),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("'{s}' is not a format; one of {}", names.join(", "))
            })
    }
}

/// The record itself, as stored.
struct Json;

impl Exporter for Json {
    fn serialize(&self, record: &Record) -> Result<Vec<u8>, ExportError> {
        let mut out = serde_json::to_vec_pretty(record).map_err(|e| ExportError {
            format: Format::Json,
            message: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// One record: the record itself; several: one JSON array of them.
    fn serialize_all(&self, records: &[Record]) -> Result<Vec<u8>, ExportError> {
        if let [one] = records {
            return self.serialize(one);
        }
        let mut out = serde_json::to_vec_pretty(records).map_err(|e| ExportError {
            format: Format::Json,
            message: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }
}

/// A metric as exports show it: its record name, a label, a unit and the factor from the record's
/// unit to the shown one.
pub(crate) struct Shown {
    /// Name in the record's estimates.
    pub metric: &'static str,
    /// Column label.
    pub label: &'static str,
    /// Unit shown.
    pub unit: &'static str,
    /// Unit in the record (and in CSV, which keeps the record's values).
    pub raw_unit: &'static str,
    /// Record value × scale = shown value.
    pub scale: f64,
}

/// The metrics exports show, in order.
pub(crate) const SHOWN: [Shown; 6] = [
    Shown {
        metric: Metric::ReceivedPps.name(),
        label: "received",
        unit: "Mpps",
        raw_unit: "pps",
        scale: 1e-6,
    },
    Shown {
        metric: Metric::LossPct.name(),
        label: "loss",
        unit: "%",
        raw_unit: "%",
        scale: 1.0,
    },
    Shown {
        metric: Metric::RttP50Us.name(),
        label: "RTT p50",
        unit: "µs",
        raw_unit: "us",
        scale: 1.0,
    },
    Shown {
        metric: Metric::RttP99Us.name(),
        label: "RTT p99",
        unit: "µs",
        raw_unit: "us",
        scale: 1.0,
    },
    Shown {
        metric: Metric::A2bP50Us.name(),
        label: "A→B p50",
        unit: "µs",
        raw_unit: "us",
        scale: 1.0,
    },
    Shown {
        metric: Metric::ACpuNsPerFrame.name(),
        label: "sender CPU/frame",
        unit: "ns",
        raw_unit: "ns",
        scale: 1.0,
    },
];

/// `median [low, high]` of an estimate, scaled, with three decimals.
pub(crate) fn with_interval(e: &Estimate, scale: f64) -> String {
    format!(
        "{:.3} [{:.3}, {:.3}]",
        e.median * scale,
        e.ci95_low * scale,
        e.ci95_high * scale
    )
}
