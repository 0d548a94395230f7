//! The kernel matrix: one column per kernel, one row per scenario and judged metric, each cell
//! the median with its 95 % interval, and each kernel after the first judged against the first
//! with `compare`'s statistics (so a VM column against the host, or any TCG column, says "not
//! comparable" instead of a verdict).

use serde::{Deserialize, Serialize};

use crate::compare::COMPARED;
use crate::noise::NoiseBand;
use crate::record::{scenario_key, Record};
use crate::{compare_with, Estimate, MetricChange};

/// The matrix over the kernels' records.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Matrix {
    /// Column labels (kernel releases, `host-<release>` for a native run), in order; the first
    /// is the reference.
    pub kernels: Vec<String>,
    /// One row per scenario and judged metric.
    pub rows: Vec<MatrixRow>,
}

/// One scenario's metric across the kernels.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixRow {
    /// Scenario key.
    pub scenario: String,
    /// Metric name.
    pub metric: String,
    /// The estimate per kernel (`None`: that kernel has no complete trial of the scenario).
    pub cells: Vec<Option<Estimate>>,
    /// Per kernel, the judgement against the first kernel (`None` for the first, and where
    /// either side lacks the scenario).
    pub against_first: Vec<Option<MetricChange>>,
}

/// The column a record belongs to: its kernel release, `host-<release>` when measured natively.
pub fn column_label(r: &Record) -> String {
    match r.fingerprint.vm {
        Some(_) => r.fingerprint.kernel_release.clone(),
        None => format!("host-{}", r.fingerprint.kernel_release),
    }
}

/// One record holding every scenario of `records` (a kernel's runs, one per mode), with the
/// first record's fingerprint; `None` for none.
pub fn merge(mut records: Vec<Record>) -> Option<Record> {
    if records.is_empty() {
        return None;
    }
    let mut merged = records.remove(0);
    for r in records {
        merged.scenarios.extend(r.scenarios);
        merged.warnings.extend(r.warnings);
        merged.interrupted = merged.interrupted.or(r.interrupted);
    }
    Some(merged)
}

/// The matrix of `columns` (label, merged record or `None` when the kernel gave none).
pub fn build(columns: &[(String, Option<&Record>)], noise: &NoiseBand) -> Matrix {
    let mut keys: Vec<(String, &model::RunSpec)> = Vec::new();
    for (_, record) in columns {
        for s in record.iter().flat_map(|r| r.scenarios.iter()) {
            let key = scenario_key(&s.spec);
            if !keys.iter().any(|(k, _)| *k == key) {
                keys.push((key, &s.spec));
            }
        }
    }
    let comparisons: Vec<Option<crate::Comparison>> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, r))| match (i, columns[0].1, r) {
            (1.., Some(first), Some(r)) => Some(compare_with(first, r, noise)),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    for (key, spec) in &keys {
        for metric in COMPARED.into_iter().filter(|m| spec.judges(*m)) {
            let cells: Vec<Option<Estimate>> = columns
                .iter()
                .map(|(_, r)| {
                    r.and_then(|r| r.scenarios.iter().find(|s| scenario_key(&s.spec) == *key))
                        .and_then(|s| s.estimates.get(metric.name()).cloned())
                })
                .collect();
            if cells.iter().all(Option::is_none) {
                continue;
            }
            let against_first = comparisons
                .iter()
                .map(|c| {
                    c.as_ref()?
                        .changes
                        .iter()
                        .find(|m| m.scenario == *key && m.metric == metric.name())
                        .cloned()
                })
                .collect();
            rows.push(MatrixRow {
                scenario: key.clone(),
                metric: metric.name().into(),
                cells,
                against_first,
            });
        }
    }
    Matrix {
        kernels: columns.iter().map(|(l, _)| l.clone()).collect(),
        rows,
    }
}

/// A cell: `median [low, high]` (three significant digits), or `-`.
pub fn cell(e: Option<&Estimate>) -> String {
    match e {
        Some(e) => format!(
            "{} [{}, {}]",
            sig3(e.median),
            sig3(e.ci95_low),
            sig3(e.ci95_high)
        ),
        None => "-".into(),
    }
}

/// A verdict against the first kernel: `+3.1 % improved`, `not comparable` (with its reason when
/// `reason`), or `-` when there is none.
pub fn verdict_cell(change: Option<&MetricChange>, reason: bool) -> String {
    match change {
        Some(c) if c.verdict == crate::Verdict::NotComparable => match (&c.resolve, reason) {
            (Some(why), true) => why.clone(),
            _ => c.verdict.to_string(),
        },
        Some(c) => format!("{:+.1} % {}", c.change_pct, c.verdict),
        None => "-".into(),
    }
}

fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

/// The matrix as a text table: scenario, metric, then per kernel its cell and (after the first)
/// its verdict against the first; reasons a verdict could not be given follow the table.
pub fn render(m: &Matrix) -> String {
    let mut header = vec!["scenario".to_string(), "metric".to_string()];
    for (i, k) in m.kernels.iter().enumerate() {
        header.push(k.clone());
        if i > 0 {
            header.push(format!("vs {}", m.kernels[0]));
        }
    }
    let mut reasons: Vec<String> = Vec::new();
    let rows: Vec<Vec<String>> = m
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.scenario.clone(), r.metric.clone()];
            for (i, c) in r.cells.iter().enumerate() {
                row.push(cell(c.as_ref()));
                if i > 0 {
                    let change = r.against_first[i].as_ref();
                    if let Some(why) = change.and_then(|c| c.resolve.as_ref()) {
                        if !reasons.contains(why) {
                            reasons.push(why.clone());
                        }
                    }
                    row.push(verdict_cell(change, false));
                }
            }
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = crate::text_table(&header, &rows);
    for r in reasons {
        out += &format!("  {r}\n");
    }
    out
}

/// What `vethbench matrix` leaves in `<out>/matrix-<name>/matrix.json`: what ran, how each
/// kernel ended, and the matrix.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixSummary {
    /// Always `"vethbench-matrix"`: tells this file from a record.
    pub kind: String,
    /// The matrix's name.
    pub name: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// The `vethbench run` flags of each run in every kernel.
    pub runs: Vec<Vec<String>>,
    /// Each kernel, in order (the first is the reference).
    pub kernels: Vec<KernelOutcome>,
    /// The matrix (absent until every kernel has ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Matrix>,
}

/// The value of [`MatrixSummary::kind`].
pub const SUMMARY_KIND: &str = "vethbench-matrix";

/// How one kernel of a matrix ended.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KernelOutcome {
    /// The column label: the kernel release, `host-<release>` for the native run.
    pub label: String,
    /// What `--kernel` said.
    pub named: String,
    /// The kernel release.
    pub release: String,
    /// The accelerator the guest ran under (`kvm`, `tcg`); absent for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
    /// Why KVM was not used, when it was tried and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvm_fallback: Option<String>,
    /// `ok`, or what went wrong (did not boot, timed out, doctor failed, interrupted, ...).
    pub status: String,
    /// The records that came back, relative to the matrix directory.
    pub records: Vec<String>,
    /// Wall-clock seconds this kernel took (image, boot, runs).
    pub seconds: f64,
}
