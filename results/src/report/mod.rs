//! `vethbench report`: one self-contained HTML file (inline SVG plots, no scripts, no network) from
//! result records — throughput against frame size per mode (AF_XDP next to the kernel stack), the
//! latency percentile spectrum, per-knob effects of a sweep, an optional comparison of two
//! records, and every record's environment fingerprint.

mod chart;

use std::collections::BTreeMap;
use std::fmt::Write;

use model::outcome::histogram_from_v2_base64;
use model::{Metric, Mode};

use crate::sweep::{is_default, knobs};
use crate::{compare, Record, ScenarioRecord};
use chart::{interval_chart, line_chart, Axis, LineChart, Series, SeriesLabelPosition};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[error("report: {0}")]
pub struct ReportError(String);

/// The records a report shows: a label (usually the file name) and the record.
pub type Labelled = (String, Record);

/// Builds the report. `comparison` adds a view of a baseline against a new record, with the
/// noise band in percent.
pub fn html(
    records: &[Labelled],
    comparison: Option<(&Labelled, &Labelled, f64)>,
) -> Result<String, ReportError> {
    let mut body = String::new();
    let section = |body: &mut String, title: &str, note: &str, svgs: Vec<String>| {
        let _ = write!(body, "<section><h2>{}</h2><p>{}</p>", esc(title), esc(note));
        if svgs.is_empty() {
            body.push_str("<p class=\"empty\">No record here has what this plot needs.</p>");
        }
        for svg in svgs {
            let _ = write!(body, "<figure>{svg}</figure>");
        }
        body.push_str("</section>");
    };
    let err = |e: String| ReportError(e);
    section(
        &mut body,
        "Throughput against frame size",
        "Median received rate per mode over every record at default settings; AF_XDP modes next to the kernel stack.",
        throughput_by_size(records).map_err(err)?,
    );
    section(
        &mut body,
        "Latency percentile spectrum",
        "Round-trip time against percentile (HdrHistogram of the trial nearest each scenario's median).",
        latency_spectrum(records).map_err(err)?,
    );
    section(
        &mut body,
        "Scaling with flows",
        "Median received rate against the number of flows (socket pairs, one queue each), per mode, size and layout, with the ideal line: the one-flow rate times the flows.",
        scaling(records).map_err(err)?,
    );
    section(
        &mut body,
        "Per-knob effects (sweeps)",
        "For each setting a sweep varied: the median over the other settings, per mode and size.",
        knob_effects(records).map_err(err)?,
    );
    if let Some((base, new, noise)) = comparison {
        let c = compare(&base.1, &new.1, noise);
        let rows: Vec<(String, f64, (f64, f64))> = c
            .changes
            .iter()
            .map(|m| {
                (
                    format!("{} {} [{}]", m.scenario, m.metric, m.verdict),
                    m.change_pct,
                    m.ci95_pct,
                )
            })
            .collect();
        let name = |label: &str| {
            std::path::Path::new(label)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| label.to_string())
        };
        let svg = interval_chart(
            &format!("{} against {}", name(&new.0), name(&base.0)),
            "change of the median, % (95 % interval; grey: noise band)",
            &rows,
            noise,
        )
        .map_err(err)?;
        let mut note = format!(
            "Change of each metric, new against baseline, with its 95 % interval (Welch, on logarithms) and verdict; ±{noise} % noise band."
        );
        let differs: Vec<&String> = c
            .fingerprint_differences
            .iter()
            .chain(&c.setting_differences)
            .collect();
        for d in differs.iter().take(5) {
            let _ = write!(note, " Differs: {d}.");
        }
        if differs.len() > 5 {
            let _ = write!(note, " … and {} more differences.", differs.len() - 5);
        }
        section(&mut body, "Comparison", &note, vec![svg]);
    }
    body.push_str(&kernel_matrix(records));
    body.push_str("<section><h2>Where each record was measured</h2>");
    for (label, r) in records {
        body.push_str(&fingerprint_table(label, r));
    }
    body.push_str("</section>");
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vethbench report</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}}\
         figure{{display:inline-block;margin:0.5em}}table{{border-collapse:collapse;margin:0.5em 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}}\
         .empty{{color:#888}}</style></head><body><h1>vethbench report</h1>\
         <p>{} record(s). Every figure comes from the records listed at the end.</p>{body}</body></html>\n",
        records.len()
    ))
}

/// The records' kernels side by side (`vethbench matrix`), when they come from two or more: per
/// scenario and metric each kernel's median with its 95 % interval, and each kernel's verdict
/// against the first (in record order). Empty for records of one kernel.
fn kernel_matrix(records: &[Labelled]) -> String {
    let mut columns: Vec<(String, Vec<Record>)> = Vec::new();
    for (_, r) in records {
        let label = crate::matrix::column_label(r);
        match columns.iter_mut().find(|(l, _)| *l == label) {
            Some((_, rs)) => rs.push(r.clone()),
            None => columns.push((label, vec![r.clone()])),
        }
    }
    if columns.len() < 2 {
        return String::new();
    }
    let merged: Vec<(String, Option<Record>)> = columns
        .into_iter()
        .map(|(l, rs)| (l, crate::matrix::merge(rs)))
        .collect();
    let view: Vec<(String, Option<&Record>)> = merged
        .iter()
        .map(|(l, r)| (l.clone(), r.as_ref()))
        .collect();
    let m = crate::matrix::build(&view, &crate::noise::NoiseBand::flat(2.0));
    let mut html = String::from(
        "<section><h2>Kernel matrix</h2><p>Per scenario and metric, each kernel's median with its \
         95 % interval; after the first kernel, its change and verdict against the first (2 % \
         noise band). Records measured under emulation (TCG), or under different accelerators, \
         are shown and not judged.</p><table><tr><th>scenario</th><th>metric</th>",
    );
    for (i, k) in m.kernels.iter().enumerate() {
        let _ = write!(html, "<th>{}</th>", esc(k));
        if i > 0 {
            let _ = write!(html, "<th>vs {}</th>", esc(&m.kernels[0]));
        }
    }
    html.push_str("</tr>");
    for r in &m.rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td>",
            esc(&r.scenario),
            esc(&r.metric)
        );
        for (i, c) in r.cells.iter().enumerate() {
            let _ = write!(html, "<td>{}</td>", esc(&crate::matrix::cell(c.as_ref())));
            if i > 0 {
                let verdict = crate::matrix::verdict_cell(r.against_first[i].as_ref(), true);
                let _ = write!(html, "<td>{}</td>", esc(&verdict));
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></section>");
    html
}

/// HTML-escapes text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every scenario of every record, with its record (whose fingerprint holds the topology settings).
fn scenarios(records: &[Labelled]) -> impl Iterator<Item = (&Record, &ScenarioRecord)> {
    records
        .iter()
        .flat_map(|(_, r)| r.scenarios.iter().map(move |s| (r, s)))
}

fn median(mut v: Vec<f64>) -> f64 {
    model::stats::median_of(&mut v)
}

/// Received rate (Mpps) against a whole-number quantity on linear axes; no chart for no series.
fn rate_chart(
    title: &str,
    x_desc: &str,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> Result<Vec<String>, String> {
    if series.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![line_chart(&LineChart {
        title,
        x_desc,
        y_desc: "Mpps",
        x_axis: Axis::Linear,
        y_axis: Axis::Linear,
        x_label: &|x| format!("{x:.0}"),
        series,
        x_range: None,
        legend,
    })?])
}

/// Aggregate received rate against flows, per mode, size and layout, each with its ideal line
/// (the one-flow rate times the flows); only groups measured at two flow counts or more.
fn scaling(records: &[Labelled]) -> Result<Vec<String>, String> {
    type Group = (String, usize, String);
    let mut groups: BTreeMap<Group, BTreeMap<u32, Vec<f64>>> = BTreeMap::new();
    for (_, s) in scenarios(records) {
        if s.spec.mode.closed_loop() {
            continue;
        }
        if let Some(e) = s.estimates.get(Metric::ReceivedPps.name()) {
            let group = (
                s.spec.mode.name().to_string(),
                s.spec.size,
                s.spec.layout.to_string(),
            );
            groups
                .entry(group)
                .or_default()
                .entry(s.spec.flows)
                .or_default()
                .push(e.median / 1e6);
        }
    }
    let mut series = Vec::new();
    for ((mode, size, layout), by_flows) in groups.into_iter().filter(|(_, f)| f.len() > 1) {
        let points: Vec<(f64, f64)> = by_flows
            .into_iter()
            .map(|(f, v)| (f64::from(f), median(v)))
            .collect();
        let one = points.iter().find(|(f, _)| *f == 1.0).map(|(_, r)| *r);
        if let Some(one) = one {
            series.push(Series {
                label: format!("ideal: {mode} {size} B {layout}"),
                points: points.iter().map(|(f, _)| (*f, one * f)).collect(),
            });
        }
        series.push(Series {
            label: format!("{mode} {size} B {layout}"),
            points,
        });
    }
    rate_chart(
        "Received rate by flows",
        "flows",
        &series,
        SeriesLabelPosition::UpperLeft,
    )
}

fn kind(mode: Mode) -> &'static str {
    if mode.kernel_stack() {
        "kernel stack"
    } else {
        "AF_XDP"
    }
}

fn throughput_by_size(records: &[Labelled]) -> Result<Vec<String>, String> {
    let mut by_mode: BTreeMap<&str, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for (r, s) in scenarios(records) {
        if s.spec.mode.closed_loop() || !is_default(&s.spec, &r.fingerprint.topology.spec) {
            continue;
        }
        if let Some(e) = s.estimates.get(Metric::ReceivedPps.name()) {
            by_mode
                .entry(s.spec.mode.name())
                .or_default()
                .entry(s.spec.size)
                .or_default()
                .push(e.median / 1e6);
        }
    }
    let series: Vec<Series> = by_mode
        .into_iter()
        .map(|(mode, sizes)| Series {
            label: match Mode::from_name(mode) {
                Some(m) => format!("{mode} ({})", kind(m)),
                None => mode.to_string(),
            },
            points: sizes
                .into_iter()
                .map(|(size, v)| (size as f64, median(v)))
                .collect(),
        })
        .collect();
    rate_chart(
        "Received rate by frame size",
        "frame size, bytes",
        &series,
        SeriesLabelPosition::MiddleRight,
    )
}

/// Percentiles drawn, as `1 / (1 - q)` on a log axis (HdrHistogram's percentile plot).
const PERCENTILES: [f64; 9] = [0.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 99.9999];

fn latency_spectrum(records: &[Labelled]) -> Result<Vec<String>, String> {
    let mut series = Vec::new();
    for (r, s) in scenarios(records) {
        if !is_default(&s.spec, &r.fingerprint.topology.spec) || series.len() >= 10 {
            continue;
        }
        let Some(median_p50) = s.estimates.get(Metric::RttP50Us.name()).map(|e| e.median) else {
            continue;
        };
        let trial = s.complete_trials().min_by(|a, b| {
            let d = |t: &model::outcome::RunOutcome| {
                t.rtt
                    .map(|l| (l.p50_ns as f64 / 1e3 - median_p50).abs())
                    .unwrap_or(f64::MAX)
            };
            d(a).total_cmp(&d(b))
        });
        let Some(h) = trial
            .and_then(|t| t.histograms.get("rtt"))
            .and_then(|text| histogram_from_v2_base64(text))
        else {
            continue;
        };
        let n = h.len() as f64;
        let points: Vec<(f64, f64)> = PERCENTILES
            .iter()
            .filter(|&&p| p == 0.0 || (1.0 - p / 100.0) * n >= 1.0)
            .map(|&p| {
                let q = p / 100.0;
                (1.0 / (1.0 - q), h.value_at_quantile(q) as f64 / 1e3)
            })
            .collect();
        series.push(Series {
            label: format!(
                "{} {} B ({})",
                s.spec.mode.name(),
                s.spec.size,
                kind(s.spec.mode)
            ),
            points,
        });
    }
    if series.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![line_chart(&LineChart {
        title: "RTT by percentile",
        x_desc: "percentile",
        y_desc: "RTT, µs",
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        x_label: &|x| {
            // x = 1 / (1 - q): 10 -> 90 %, 100 -> 99 %, 1000 -> 99.9 %, ...
            let p = 100.0 * (1.0 - 1.0 / x);
            let decimals = (x.log10() - 2.0).ceil().max(0.0) as usize;
            format!("{p:.decimals$}%")
        },
        series: &series,
        x_range: None,
        legend: SeriesLabelPosition::LowerRight,
    })?])
}

fn knob_effects(records: &[Labelled]) -> Result<Vec<String>, String> {
    // knob -> value -> (mode, size) -> medians
    type Cells = BTreeMap<String, BTreeMap<(String, usize), Vec<f64>>>;
    let mut by_knob: BTreeMap<&'static str, Cells> = BTreeMap::new();
    for (r, s) in scenarios(records) {
        let metric = if s.spec.mode.closed_loop() {
            Metric::RttP99Us.name()
        } else {
            Metric::ReceivedPps.name()
        };
        let Some(e) = s.estimates.get(metric) else {
            continue;
        };
        for (knob, value) in knobs(&s.spec, &r.fingerprint.topology.spec) {
            by_knob
                .entry(knob)
                .or_default()
                .entry(value)
                .or_default()
                .entry((s.spec.mode.name().to_string(), s.spec.size))
                .or_default()
                .push(e.median);
        }
    }
    let mut svgs = Vec::new();
    for (knob, values) in by_knob {
        if values.len() < 2 {
            continue;
        }
        let labels: Vec<String> = values.keys().cloned().collect();
        let mut lines: BTreeMap<(String, usize), Vec<(f64, f64)>> = BTreeMap::new();
        for (i, cells) in values.values().enumerate() {
            for (key, v) in cells {
                lines
                    .entry(key.clone())
                    .or_default()
                    .push((i as f64, median(v.clone())));
            }
        }
        for closed in [false, true] {
            let series: Vec<Series> = lines
                .iter()
                .filter(|((mode, _), _)| {
                    Mode::from_name(mode).is_some_and(|m| m.closed_loop() == closed)
                })
                // A line needs two values of the knob; lone points (e.g. a suite record at the
                // defaults) say nothing about the knob.
                .filter(|(_, points)| points.len() >= 2)
                .map(|((mode, size), points)| Series {
                    label: format!("{mode} {size} B"),
                    points: points
                        .iter()
                        .map(|&(x, y)| (x, if closed { y } else { y / 1e6 }))
                        .collect(),
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let title = format!("Effect of {knob}");
            svgs.push(line_chart(&LineChart {
                title: &title,
                x_desc: knob,
                y_desc: if closed {
                    "RTT p99, µs"
                } else {
                    "received Mpps"
                },
                x_axis: Axis::Linear,
                y_axis: Axis::Linear,
                x_label: &|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        labels.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                },
                series: &series,
                x_range: Some((-0.5, labels.len() as f64 - 0.5)),
                legend: SeriesLabelPosition::UpperLeft,
            })?);
        }
    }
    Ok(svgs)
}

fn fingerprint_table(label: &str, r: &Record) -> String {
    let f = &r.fingerprint;
    let t = &f.topology;
    let e = &t.endpoints[0];
    let rows = [
        ("record", label.to_string()),
        ("run", format!("{} started {}", r.run_id, r.started)),
        (
            "tool",
            format!("vethbench {} ({})", r.tool.version, r.tool.git_commit),
        ),
        (
            "kernel",
            format!("{} {}", f.kernel_release, f.kernel_version),
        ),
        ("command line", f.cmdline.clone()),
        ("CPU", format!("{} × {}", f.cpus, f.cpu_model)),
        ("topology", t.spec.kind.to_string()),
        (
            "veth",
            format!(
                "queues {}/{}, MTU {}, GRO {}, tx checksum {}, threaded NAPI {}",
                e.rx_queues, e.tx_queues, e.mtu, e.gro, e.tx_checksum, e.threaded_napi
            ),
        ),
        (
            "scenarios",
            r.scenarios
                .iter()
                .map(|s| s.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let mut out = String::from("<table>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    out.push_str("</table>");
    out
}
