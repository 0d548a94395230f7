//! The record of one `vethbench run`: what was measured, where, each trial's raw figures, and the
//! estimates over the trials. Schema-versioned JSON; readers refuse versions they do not know.

use std::collections::BTreeMap;
use std::fmt;

use model::outcome::RunOutcome;
use model::Metric;
use model::RunSpec;
use serde::{Deserialize, Serialize};

use crate::{Estimate, Fingerprint};

/// Version of the record format written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// The tool that wrote a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// vethbench version.
    pub version: String,
    /// Git commit it was built from ("unknown" outside a checkout).
    pub git_commit: String,
}

/// Something the reader must know to trust the figures; its Display says how to fix the cause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Warning {
    /// Trials disagree more than 5 % (coefficient of variation).
    HighVariation {
        /// Scenario key.
        scenario: String,
        /// Metric.
        metric: String,
        /// Its coefficient of variation.
        cv: f64,
    },
    /// Sender and receiver ran on one core.
    SharedCore {
        /// The core.
        core: usize,
    },
    /// CPU frequency scaling may change speed during the run.
    FrequencyScaling {
        /// Governors in use.
        governors: Vec<String>,
    },
    /// A pinned core was busy with other work (or stolen by the hypervisor) before the run.
    LoadOnCore {
        /// The core.
        core: usize,
        /// Busy share, percent.
        busy_pct: f64,
        /// Steal share, percent.
        steal_pct: f64,
    },
    /// Frames that no kernel counter explains.
    UnexplainedLoss {
        /// Scenario key.
        scenario: String,
        /// Trial number (from 1).
        trial: usize,
        /// Frames.
        frames: i64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::HighVariation { scenario, metric, cv } => write!(
                f,
                "{scenario}: {metric} varies {:.1} % between trials (> 5 %): quiet the machine, lengthen --duration or add --trials",
                cv * 100.0
            ),
            Warning::SharedCore { core } => write!(
                f,
                "sender and receiver shared core {core}: give them a core each (--cores 0,1)"
            ),
            Warning::FrequencyScaling { governors } => write!(
                f,
                "CPU frequency scaling is active ({}): set the governor to performance for steady figures",
                governors.join(", ")
            ),
            Warning::LoadOnCore { core, busy_pct, steal_pct } => write!(
                f,
                "core {core} was {busy_pct:.0} % busy (hypervisor steal {steal_pct:.0} %) just before the run: \
                 other work competes with the pinned workers; stop it or pick idle cores with --cores"
            ),
            Warning::UnexplainedLoss { scenario, trial, frames } if *frames < 0 => write!(
                f,
                "{scenario} trial {trial}: the drop counters account for {} more frames than were lost: they also counted frames not ours; keep other senders off the link",
                -frames
            ),
            Warning::UnexplainedLoss { scenario, trial, frames } => write!(
                f,
                "{scenario} trial {trial}: {frames} frames not explained by any kernel counter: run on a quiet machine"
            ),
        }
    }
}

/// One scenario (mode, size, settings) over its trials.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioRecord {
    /// Stable key used to match scenarios across records, e.g. `throughput/64B/ipv4/drv`.
    pub key: String,
    /// The full scenario as run.
    pub spec: RunSpec,
    /// Each trial's raw figures, counters and histograms (HdrHistogram V2, base64); interrupted
    /// trials included, marked as such.
    pub trials: Vec<RunOutcome>,
    /// Estimates per metric over the complete trials (interrupted ones are left out).
    pub estimates: BTreeMap<String, Estimate>,
}

/// The key of a scenario: what must be equal for two measurements to be comparable. Kernel-stack
/// modes use no XDP, so their keys carry no XDP mode (`icmp/64B/ipv4`); several flows and the
/// colocated layout are part of the key (`throughput/64B/ipv4/drv/2flows/colocated`).
pub fn scenario_key(spec: &RunSpec) -> String {
    let ip = if spec.ipv6 { "ipv6" } else { "ipv4" };
    let mut key = if spec.mode.uses_xdp() {
        format!("{}/{}B/{ip}/{}", spec.mode.name(), spec.size, spec.xdp_mode)
    } else {
        format!("{}/{}B/{ip}", spec.mode.name(), spec.size)
    };
    // One flow, split: the keys of older records.
    if spec.flows > 1 {
        key += &format!("/{}flows", spec.flows);
    }
    if spec.layout != model::Layout::Split {
        key += &format!("/{}", spec.layout);
    }
    key
}

/// The metrics estimated from each trial. `a_cpu_ns_per_frame` is the CPU time of the sender's
/// thread per frame it sent (per round trip in ping-pong modes), warm-up included.
pub fn metrics(o: &RunOutcome) -> Vec<(&'static str, f64)> {
    Metric::ALL
        .into_iter()
        .filter_map(|m| m.of(o).map(|v| (m.name(), v)))
        .collect()
}

impl ScenarioRecord {
    /// A scenario with no trials yet; the settings its mode does not use are stored at their
    /// defaults.
    pub fn new(spec: &RunSpec) -> ScenarioRecord {
        ScenarioRecord {
            key: scenario_key(spec),
            spec: spec.normalized(),
            trials: Vec::new(),
            estimates: BTreeMap::new(),
        }
    }

    /// The trials that ran to their end: the only ones estimates, comparisons and headline
    /// figures use.
    pub fn complete_trials(&self) -> impl Iterator<Item = &RunOutcome> {
        self.trials.iter().filter(|t| !t.interrupted)
    }

    /// Adds a trial and recomputes the estimates from the complete trials.
    pub fn push(&mut self, trial: RunOutcome) {
        self.trials.push(trial);
        let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for t in self.complete_trials() {
            for (name, v) in metrics(t) {
                values.entry(name).or_default().push(v);
            }
        }
        self.estimates = values
            .into_iter()
            .filter_map(|(k, v)| Estimate::of(&v).map(|e| (k.to_string(), e)))
            .collect();
    }
}

/// Everything one `vethbench run` measured.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// Format version; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run id (the topology's names carry it).
    pub run_id: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// Last update (after the latest trial), RFC 3339 UTC.
    pub updated: String,
    /// The tool.
    pub tool: Tool,
    /// Where it was measured.
    pub fingerprint: Fingerprint,
    /// Trials per scenario asked for.
    pub trials_per_scenario: usize,
    /// The scenarios, in the order they ran.
    pub scenarios: Vec<ScenarioRecord>,
    /// Warnings, each with its fix.
    pub warnings: Vec<Warning>,
    /// Adaptive trials (`--precision`, or `--baseline`): whether the run stopped because it
    /// could decide, and after how many rounds; absent for a fixed number of trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<Adaptive>,
    /// The signal that cut the run short (`SIGINT` or `SIGTERM`); absent when it ran to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

/// How an adaptive run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Adaptive {
    /// `--precision` asked for: every judged metric's 95 % interval within ± this percent.
    pub precision_pct: Option<f64>,
    /// Whether the goal was reached: the precision, or (with `--baseline`) every verdict
    /// conclusive.
    pub reached: bool,
    /// Trials each scenario got (rounds run).
    pub trials: usize,
    /// Why it stopped, e.g. "precision reached", "every verdict conclusive", "--max-time".
    pub stopped_because: String,
    /// The least precise judged metric at the end: scenario, metric, half-width of its 95 %
    /// interval in percent (absent with one trial).
    pub least_precise: Option<(String, String, Option<f64>)>,
}

/// RFC 3339 UTC time of now.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Record {
    /// An empty record for a run.
    pub fn new(
        run_id: &str,
        tool: Tool,
        fingerprint: Fingerprint,
        trials_per_scenario: usize,
    ) -> Record {
        let now = now_rfc3339();
        let mut warnings = Vec::new();
        let scaling: Vec<String> = fingerprint
            .cpufreq_governors
            .iter()
            .filter(|g| g.as_str() != "performance")
            .cloned()
            .collect();
        if !scaling.is_empty() {
            warnings.push(Warning::FrequencyScaling { governors: scaling });
        }
        Record {
            schema_version: SCHEMA_VERSION,
            run_id: run_id.to_string(),
            started: now.clone(),
            updated: now,
            tool,
            fingerprint,
            trials_per_scenario,
            scenarios: Vec::new(),
            warnings,
            adaptive: None,
            interrupted: None,
        }
    }

    /// Adds a [`Warning::LoadOnCore`] for each core whose busy or steal share exceeds
    /// [`BUSY_WARN`](crate::load::BUSY_WARN).
    pub fn note_core_load(&mut self, loads: &[crate::load::CoreLoad]) {
        for l in loads {
            if l.busy > crate::load::BUSY_WARN || l.steal > crate::load::BUSY_WARN {
                self.warnings.push(Warning::LoadOnCore {
                    core: l.core,
                    busy_pct: l.busy * 100.0,
                    steal_pct: l.steal * 100.0,
                });
            }
        }
    }

    /// Scenarios with at least one complete trial.
    pub fn complete_scenarios(&self) -> usize {
        self.scenarios
            .iter()
            .filter(|s| s.complete_trials().next().is_some())
            .count()
    }

    /// Every trial, scenario by scenario, each scenario's in the order they ran.
    pub fn all_trials(&self) -> Vec<&RunOutcome> {
        self.scenarios.iter().flat_map(|s| &s.trials).collect()
    }

    /// For each scenario, the trial nearest the median of its main figure (RTT p50 where frames
    /// return, else the received rate): one trial that stands for the scenario.
    pub fn representative_trials(&self) -> Vec<RunOutcome> {
        self.scenarios
            .iter()
            .filter_map(|s| {
                let (metric, pick): (&str, fn(&RunOutcome) -> f64) =
                    if s.estimates.contains_key(Metric::RttP50Us.name()) {
                        (Metric::RttP50Us.name(), |o| {
                            o.rtt.map(|l| l.p50_ns as f64 / 1e3).unwrap_or(f64::MAX)
                        })
                    } else {
                        (Metric::ReceivedPps.name(), |o| o.received_pps)
                    };
                let median = s.estimates.get(metric)?.median;
                s.complete_trials()
                    .min_by(|a, b| {
                        (pick(a) - median)
                            .abs()
                            .total_cmp(&(pick(b) - median).abs())
                    })
                    .cloned()
            })
            .collect()
    }

    /// Adds one trial of `spec`, recomputes its estimates and the warnings derived from trials.
    pub fn add_trial(&mut self, spec: &RunSpec, outcome: RunOutcome) {
        let key = scenario_key(spec);
        let trial = match self.scenarios.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                self.scenarios.push(ScenarioRecord::new(spec));
                self.scenarios.len() - 1
            }
        };
        if outcome.accounting.unexplained != 0 {
            self.warnings.push(Warning::UnexplainedLoss {
                scenario: key.clone(),
                trial: self.scenarios[trial].trials.len() + 1,
                frames: outcome.accounting.unexplained,
            });
        }
        for (i, &core) in spec.cores.iter().enumerate() {
            let shared = spec.cores[..i].contains(&core);
            if shared && !self.warnings.contains(&Warning::SharedCore { core }) {
                self.warnings.push(Warning::SharedCore { core });
            }
        }
        self.scenarios[trial].push(outcome);
        self.warnings
            .retain(|w| !matches!(w, Warning::HighVariation { scenario, .. } if *scenario == key));
        for (metric, e) in &self.scenarios[trial].estimates {
            // Loss near zero makes its CV meaningless; judge rates and latencies.
            if e.n > 1 && e.cv > 0.05 && metric != Metric::LossPct.name() {
                self.warnings.push(Warning::HighVariation {
                    scenario: key.clone(),
                    metric: metric.clone(),
                    cv: e.cv,
                });
            }
        }
        self.updated = now_rfc3339();
    }
}
