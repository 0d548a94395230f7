//! This machine's run-to-run variation, measured: trials inside one run share the machine's state
//! of the moment, so their interval misses the drift between runs minutes apart (seen here: the
//! sender's CPU time per frame of identical runs 9 % apart). A profile from several identical
//! records gives, per metric, the band within which two runs' means differ by run-to-run variation
//! alone (95 %), to use as the noise band of comparisons (`--noise-from`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compare::values;
use crate::record::{scenario_key, Record};
use crate::RecordError;

/// The run-to-run variation of this machine, per metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NoiseProfile {
    /// Records it was measured from.
    pub records: usize,
    /// When it was measured, RFC 3339 UTC.
    pub created: String,
    /// Kernel release of the records.
    pub kernel_release: String,
    /// Per metric, percent: the 95 % range of the difference between two runs' means from
    /// run-to-run variation alone (the widest over the scenarios that have the metric).
    pub bands_pct: BTreeMap<String, f64>,
}

/// The noise band of a comparison: one value, raised per metric by a measured profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoiseBand {
    /// The band of every metric, percent (`--noise`).
    pub default_pct: f64,
    /// Wider bands of some metrics (`--noise-from`).
    pub per_metric_pct: BTreeMap<String, f64>,
}

impl NoiseBand {
    /// One band for every metric.
    pub fn flat(pct: f64) -> NoiseBand {
        NoiseBand {
            default_pct: pct,
            per_metric_pct: BTreeMap::new(),
        }
    }

    /// The band of `metric`: the wider of the default and the measured one.
    pub fn of(&self, metric: &str) -> f64 {
        self.per_metric_pct
            .get(metric)
            .map_or(self.default_pct, |m| m.max(self.default_pct))
    }
}

/// Measures the run-to-run variation from records of identical runs: per scenario and metric,
/// the standard deviation `s` of the runs' mean logarithms; the band is `exp(1.96 √2 s) − 1`.
/// `None` with fewer than three records.
pub fn profile(records: &[Record]) -> Option<NoiseProfile> {
    if records.len() < 3 {
        return None;
    }
    let mut means: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in records {
        for s in &r.scenarios {
            for metric in crate::compare::COMPARED {
                let v = values(s, metric);
                if v.is_empty() || v.iter().any(|x| *x <= 0.0) {
                    continue;
                }
                let mean = v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64;
                means
                    .entry((scenario_key(&s.spec), metric.to_string()))
                    .or_default()
                    .push(mean);
            }
        }
    }
    let mut bands_pct: BTreeMap<String, f64> = BTreeMap::new();
    for ((_, metric), m) in means {
        if m.len() < 3 {
            continue;
        }
        let n = m.len() as f64;
        let mean = m.iter().sum::<f64>() / n;
        let sd = (m.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let band = ((1.96 * 2f64.sqrt() * sd).exp() - 1.0) * 100.0;
        let e = bands_pct.entry(metric).or_insert(0.0);
        *e = e.max(band);
    }
    Some(NoiseProfile {
        records: records.len(),
        created: crate::now_rfc3339(),
        kernel_release: records[0].fingerprint.kernel_release.clone(),
        bands_pct,
    })
}

/// Reads a noise profile written by `vethbench noise --save`.
pub fn load_profile(path: &Path) -> Result<NoiseProfile, RecordError> {
    let bytes = std::fs::read(path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| RecordError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
