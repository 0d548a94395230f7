//! Arguments of the subcommands that read records: noise, compare, export, report.

use clap::Args;
use results::Format;

use super::{parse_format, parse_noise, FailOn};

#[derive(Debug, Args)]
pub struct NoiseArgs {
    /// Records of identical runs (three or more), e.g. `run --mode throughput --trials 5` repeated.
    #[arg(required = true, value_name = "RECORD", num_args = 3..)]
    pub records: Vec<std::path::PathBuf>,
    /// Also store the profile as FILE, for `compare --noise-from FILE` and `run --noise-from FILE`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline record (a file written by `vethbench run`).
    pub baseline: std::path::PathBuf,
    /// The new record.
    pub new: std::path::PathBuf,
    /// Noise band: changes whose interval does not lie entirely beyond it count as no change.
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
    /// Per-metric noise bands measured on this machine by `vethbench noise --save FILE` (each
    /// metric's band is the wider of this and --noise).
    #[arg(long, value_name = "FILE")]
    pub noise_from: Option<std::path::PathBuf>,
    /// What fails: inconclusive (exit 1 on a regression, 3 on an inconclusive metric), regression
    /// (exit 1 on a regression only), or never.
    #[arg(long, value_enum, default_value = "inconclusive")]
    pub fail_on: FailOn,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Records written by `vethbench run`, printed one after the other.
    #[arg(required = true, value_name = "RECORD")]
    pub records: Vec<std::path::PathBuf>,
    /// table, json, csv, markdown or bmf (Bencher Metric Format).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = parse_format)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Record files or directories of records.
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<std::path::PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "report.html")]
    pub output: std::path::PathBuf,
    /// Also show a comparison of two records (baseline, new).
    #[arg(long, num_args = 2, value_names = ["BASELINE", "NEW"])]
    pub compare: Option<Vec<std::path::PathBuf>>,
    /// Noise band of the comparison.
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
}
