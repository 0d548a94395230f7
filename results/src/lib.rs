//! Records of vethbench runs: a schema-versioned JSON record per run with the environment
//! fingerprint, each trial's raw figures and histograms, estimates with confidence intervals, and
//! warnings that say how to fix their cause; written atomically and read back with clear errors;
//! exported as tables, JSON, CSV, Markdown or Bencher Metric Format.

mod compare;
mod export;
mod fingerprint;
pub mod load;
pub mod noise;
mod record;
pub mod report;

pub mod matrix;
mod store;
pub mod sweep;
pub mod vm;
pub mod warnings;

pub use compare::{
    compare, compare_with, judge, least_precise, values, Comparison, Judgement, MetricChange,
    Verdict, CONFIDENCE,
};
pub use export::{text_table, ExportError, Exporter, Format};
pub use fingerprint::Fingerprint;
pub use model::stats::{relative_half_width_pct, welch, welch_p, Estimate, WelchDiff};
pub use record::{
    metrics, now_rfc3339, scenario_key, Adaptive, Record, ScenarioRecord, Tool, Warning,
    SCHEMA_VERSION,
};
pub use store::{
    baseline_path, json_files_under, load, parse, record_path, save, save_baseline, RecordError,
    MAX_RECORD_BYTES,
};
