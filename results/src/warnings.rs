//! A record's warnings for people: one line per kind, naming the scenarios it touches and the
//! fix once ([`summary`]), or every warning on a line of its own ([`all`], for `-v`).

use crate::record::{Record, Warning};

/// At most this many scenarios are named in a summary line; the rest are counted.
const NAMED: usize = 4;

/// `a, b, c, d and 3 more`.
fn some_of(items: &[String]) -> String {
    let mut unique: Vec<&String> = Vec::new();
    for i in items {
        if !unique.contains(&i) {
            unique.push(i);
        }
    }
    let shown: Vec<&str> = unique.iter().take(NAMED).map(|s| s.as_str()).collect();
    let rest = unique.len().saturating_sub(NAMED);
    if rest > 0 {
        format!("{} and {rest} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Every trial's disturbances: (scenario and trial, what was seen).
fn disturbances(record: &Record) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &record.scenarios {
        for (i, t) in s.trials.iter().enumerate() {
            for d in t.cpu.iter().flat_map(|c| &c.disturbed) {
                out.push((format!("{} trial {}", s.key, i + 1), d.to_string()));
            }
        }
    }
    out
}

/// Whether a trial's own warning is the text of one of its disturbances (said by kind instead).
fn is_disturbance(text: &str) -> bool {
    text.starts_with("core ") && text.contains(" was disturbed: ")
}

/// One line per kind of warning: the scenarios it touches, and one fix.
pub fn summary(record: &Record) -> Vec<String> {
    let mut lines = Vec::new();
    let mut variation: Vec<String> = Vec::new();
    let mut unexplained: Vec<String> = Vec::new();
    let mut overcounted: Vec<String> = Vec::new();
    for w in &record.warnings {
        match w {
            Warning::HighVariation {
                scenario,
                metric,
                cv,
            } => variation.push(format!("{scenario} {metric} {:.0} %", cv * 100.0)),
            Warning::UnexplainedLoss {
                scenario,
                trial,
                frames,
            } if *frames > 0 => unexplained.push(format!("{scenario} trial {trial}: {frames}")),
            Warning::UnexplainedLoss {
                scenario, trial, ..
            } => overcounted.push(format!("{scenario} trial {trial}")),
            // Each trial says so in its own words (with what it means for the figures).
            Warning::SharedCore { .. } => {}
            other => lines.push(other.to_string()),
        }
    }
    let disturbed = disturbances(record);
    if !disturbed.is_empty() {
        let seen: Vec<String> = disturbed.iter().map(|(_, w)| w.clone()).collect();
        let mut trials: Vec<&String> = disturbed.iter().map(|(t, _)| t).collect();
        trials.dedup();
        lines.push(format!(
            "{} trial(s) disturbed ({}): their rates and latencies include other work; CPU ns per frame is still comparable. Stop the other work, or pick idle cores with --cores",
            trials.len(),
            some_of(&seen)
        ));
    }
    if !variation.is_empty() {
        lines.push(format!(
            "{} metric(s) vary more than 5 % between trials ({}): quiet the machine, lengthen --duration or add --trials",
            variation.len(),
            some_of(&variation)
        ));
    }
    if !unexplained.is_empty() {
        lines.push(format!(
            "frames not explained by any kernel counter in {} trial(s) ({}): run on a quiet machine",
            unexplained.len(),
            some_of(&unexplained)
        ));
    }
    if !overcounted.is_empty() {
        lines.push(format!(
            "drop counters counted frames not ours in {} trial(s) ({}): keep other senders off the link",
            overcounted.len(),
            some_of(&overcounted)
        ));
    }
    let drifted: Vec<String> = record
        .scenarios
        .iter()
        .flat_map(|s| {
            s.trials.iter().enumerate().filter_map(move |(i, t)| {
                t.drift
                    .filter(|d| d.abs() > model::interval::MAX_DRIFT)
                    .map(|d| format!("{} trial {} {:+.0} %", s.key, i + 1, d * 100.0))
            })
        })
        .collect();
    if !drifted.is_empty() {
        lines.push(format!(
            "the rate drifted within {} trial(s) ({}): the machine's speed changed while they ran; quiet the machine, or add --trials so the drift averages out",
            drifted.len(),
            some_of(&drifted)
        ));
    }
    // What trials said in their own words, once each (shared cores, timeouts, paths).
    let mut own: Vec<String> = Vec::new();
    for t in record.all_trials() {
        for w in &t.warnings {
            if w.starts_with("the rate drifted") {
                continue;
            }
            let said_by_kind = is_disturbance(w)
                || w.contains("not explained by any kernel counter")
                || w.contains("more frames than were lost");
            if !said_by_kind && !own.contains(w) {
                own.push(w.clone());
            }
        }
    }
    lines.extend(own);
    if let Some(signal) = &record.interrupted {
        let cut = record.all_trials().iter().filter(|t| t.interrupted).count();
        lines.insert(
            0,
            format!("the run was interrupted by {signal}: {cut} trial(s) cut short are shown but left out of every estimate and comparison"),
        );
    }
    lines
}

/// Every warning on a line of its own: the record's, then each trial's with its scenario.
pub fn all(record: &Record) -> Vec<String> {
    let mut lines: Vec<String> = record.warnings.iter().map(|w| w.to_string()).collect();
    for s in &record.scenarios {
        for (i, t) in s.trials.iter().enumerate() {
            for w in &t.warnings {
                lines.push(format!("{} trial {}: {w}", s.key, i + 1));
            }
        }
    }
    lines
}

/// Trials of the record flagged disturbed.
pub fn disturbed_trials(record: &Record) -> usize {
    record
        .all_trials()
        .iter()
        .filter(|t| t.cpu.as_ref().is_some_and(|c| !c.disturbed.is_empty()))
        .count()
}
