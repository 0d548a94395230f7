//! `vethbench compare`: two records, scenario by scenario, with verdicts and an exit status CI can use.

use std::process::ExitCode;

use anyhow::Context;
use results::{load, text_table, Comparison, Record, Verdict};

use crate::cli::{CompareArgs, FailOn};

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let baseline = load(&args.baseline).context("vethbench compare")?;
    let new = load(&args.new).context("vethbench compare")?;
    let sides = Sides {
        baseline: (&args.baseline.display().to_string(), &baseline),
        new: (&args.new.display().to_string(), &new),
    };
    let noise = crate::cli::noise_band(args.noise, args.noise_from.as_deref())?;
    report(&sides, &noise, args.json, args.fail_on)
}

/// The two records compared, each with the label it is shown under.
pub struct Sides<'a> {
    /// The baseline: label and record.
    pub baseline: (&'a str, &'a Record),
    /// The new record: label and record.
    pub new: (&'a str, &'a Record),
}

/// Compares, prints the comparison (table or JSON) and returns the exit status: 0 no regression,
/// 1 a regression, 3 something inconclusive (as `fail_on` chooses), 2 nothing in common.
pub fn report(
    sides: &Sides<'_>,
    noise: &results::noise::NoiseBand,
    json: bool,
    fail_on: FailOn,
) -> anyhow::Result<ExitCode> {
    let c = results::compare_with(sides.baseline.1, sides.new.1, noise);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&c).context("serialise comparison")?
        );
    } else {
        println!(
            "baseline {} ({}), new {} ({}); per metric the change of the new trials against the baseline's with its {:.0} % interval: improved or regressed if the whole interval lies beyond ±{} %{}, no change if it lies inside, inconclusive otherwise",
            sides.baseline.0,
            sides.baseline.1.started,
            sides.new.0,
            sides.new.1.started,
            results::CONFIDENCE * 100.0,
            noise.default_pct,
            if noise.per_metric_pct.is_empty() {
                String::new()
            } else {
                format!(
                    " (measured on this machine: {})",
                    noise
                        .per_metric_pct
                        .iter()
                        .map(|(m, b)| format!("{m} ±{:.1} %", b.max(noise.default_pct)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        print!("{}", render(&c));
        print!("{}", judged_warnings(sides));
    }
    if c.changes.is_empty() {
        if c.without_complete_trials.is_empty() {
            eprintln!("error: vethbench compare: the two records have no scenario in common");
        } else {
            eprintln!(
                "error: vethbench compare: nothing to compare: no scenario in common has a complete trial on both sides (interrupted runs)"
            );
        }
        return Ok(ExitCode::from(crate::exit::USAGE));
    }
    let (regressed, inconclusive) = (c.count(Verdict::Regressed), c.count(Verdict::Inconclusive));
    eprintln!("{}", summary(&c));
    Ok(ExitCode::from(match fail_on {
        FailOn::Never => crate::exit::SUCCESS,
        _ if regressed > 0 => crate::exit::FAILURE,
        FailOn::Inconclusive if inconclusive > 0 => crate::exit::INCONCLUSIVE,
        _ => crate::exit::SUCCESS,
    }))
}

/// The warnings of both records (one line per kind), and a note when the environments are
/// identical but one run was disturbed more than the other.
fn judged_warnings(sides: &Sides<'_>) -> String {
    let mut out = String::new();
    for (label, record) in [sides.baseline, sides.new] {
        for w in results::warnings::summary(record) {
            out += &format!("warning ({label}): {w}\n");
        }
    }
    let (b, n) = (sides.baseline.1, sides.new.1);
    let (db, dn) = (
        results::warnings::disturbed_trials(b),
        results::warnings::disturbed_trials(n),
    );
    if db != dn && b.fingerprint.differences(&n.fingerprint).is_empty() {
        out += &format!(
            "the fingerprints are identical, but the runs were disturbed differently ({db} disturbed trial(s) in the baseline, {dn} in the new record): other work on the machine, not the settings, may explain rate and latency changes; CPU ns per frame is the figure that survives it\n"
        );
    }
    out
}

/// One line: how many metrics got each verdict, and what would resolve the inconclusive ones.
fn summary(c: &Comparison) -> String {
    let mut line = format!(
        "{} regressed, {} improved, {} no change, {} inconclusive",
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::NoChange),
        c.count(Verdict::Inconclusive)
    );
    if let Some(m) = c
        .changes
        .iter()
        .find(|m| m.verdict == Verdict::NotComparable)
    {
        line += &format!(
            ", {} {}",
            c.count(Verdict::NotComparable),
            m.resolve.as_deref().unwrap_or("not comparable")
        );
    }
    // What would resolve them, by kind (the per-metric reasons are in the table and the JSON).
    let inconclusive: Vec<&results::MetricChange> = c
        .changes
        .iter()
        .filter(|m| m.verdict == Verdict::Inconclusive)
        .collect();
    let one_trial = inconclusive
        .iter()
        .filter(|m| m.trials.0 < 2 || m.trials.1 < 2)
        .count();
    let wide: Vec<f64> = inconclusive
        .iter()
        .filter(|m| {
            m.resolve
                .as_deref()
                .is_some_and(|r| r.starts_with("the interval"))
        })
        .map(|m| (m.ci95_pct.1 - m.ci95_pct.0) / 2.0)
        .collect();
    let edge = inconclusive.len() - one_trial - wide.len();
    let mut kinds = Vec::new();
    if !wide.is_empty() {
        kinds.push(format!(
            "{} with an interval wider than the band (up to ±{:.1} %): more trials (--trials, --precision) or a quieter machine",
            wide.len(),
            wide.iter().copied().fold(0.0, f64::max)
        ));
    }
    if edge > 0 {
        kinds.push(format!(
            "{edge} at the edge of the band: more trials, or a wider band (--noise, --noise-from) if such changes do not matter"
        ));
    }
    if one_trial > 0 {
        kinds.push(format!(
            "{one_trial} with one trial on a side: --trials 3 or more"
        ));
    }
    if !kinds.is_empty() {
        line += "; to resolve the inconclusive: ";
        line += &kinds.join("; ");
    }
    line
}

/// The comparison as a table, then unmatched scenarios and setting and environment differences.
fn render(c: &Comparison) -> String {
    let rows: Vec<Vec<String>> = c
        .changes
        .iter()
        .map(|m| {
            vec![
                m.scenario.clone(),
                m.metric.clone(),
                format!("{:.3}", m.baseline),
                format!("{:.3}", m.new),
                format!(
                    "{:+.1} % [{:+.1}, {:+.1}]",
                    m.change_pct, m.ci95_pct.0, m.ci95_pct.1
                ),
                m.p_value
                    .map(|p| format!("{p:.3}"))
                    .unwrap_or_else(|| "-".into()),
                format!("{}/{}", m.trials.0, m.trials.1),
                match (m.verdict, &m.resolve) {
                    (Verdict::NotComparable, Some(why)) => why.clone(),
                    (v, _) => v.to_string(),
                },
            ]
        })
        .collect();
    let mut out = text_table(
        &[
            "scenario",
            "metric",
            "baseline",
            "new",
            "change [95 % CI]",
            "p",
            "trials",
            "verdict",
        ],
        &rows,
    );
    let mut line = |s: String| {
        out += &s;
        out.push('\n');
    };
    if c.changes.iter().any(|m| m.p_value.is_none()) {
        line("p '-': a side has one trial, so there is no spread to judge from: inconclusive (use --trials 3 or more)".into());
    }
    for k in &c.only_in_baseline {
        line(format!("only in the baseline: {k}"));
    }
    for k in &c.only_in_new {
        line(format!("only in the new record: {k}"));
    }
    for k in &c.without_complete_trials {
        line(format!(
            "not compared: {k} has no complete trial on one side (its trials were interrupted)"
        ));
    }
    for d in &c.setting_differences {
        line(format!("settings differ: {d}"));
    }
    if c.fingerprint_differences.is_empty() {
        line("environment: identical fingerprints".into());
    } else {
        line("environment differences (baseline -> new):".into());
        for d in &c.fingerprint_differences {
            line(format!("  {d}"));
        }
    }
    out
}
