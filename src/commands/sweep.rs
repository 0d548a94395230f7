//! `vethbench sweep`: every point of a plan measured on its own topology group, stored as a record
//! the moment it is measured, then the best point per objective.

use model::Metric;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench::scenario::run_until;
use results::sweep::{best, Best};
use results::{load, text_table, Fingerprint, Record};
use setup::{RunId, Topology};

use crate::cli::SweepArgs;
use crate::sweep::{self, Point, SweepFile};
use crate::ui::progress;

pub fn run(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let interrupt = crate::signals::watch()?;
    let file = match &args.file {
        Some(path) => sweep::read(path).map_err(|e| model::UsageError {
            flag: "FILE",
            value: path.display().to_string(),
            reason: format!("{e:#}"),
        })?,
        None => SweepFile::default(),
    };
    let (flag_axes, flag_shared) = args.axes_and_shared();
    let flags_checked = flag_axes
        .check(&sweep::as_flag)
        .and_then(|()| flag_shared.check(&sweep::as_flag));
    if let Err(e) = flags_checked {
        return Err(model::UsageError {
            flag: "sweep",
            value: String::new(),
            reason: format!("{e:#}"),
        }
        .into());
    }
    let axes = file.axes.overridden_by(flag_axes);
    let shared = file.run.overridden_by(flag_shared);
    let points = sweep::points(&axes, &shared, args.max_points)?;
    crate::outdir::check(&args.out, "--out")?;
    let trials = shared.trials.unwrap_or(1);
    let name = args.name.clone().unwrap_or_else(|| {
        args.file
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into())
    });
    let dir = args.out.join(format!("sweep-{name}"));
    let mut stored: Vec<(String, Record)> = Vec::new();
    let mut todo: Vec<Point> = Vec::new();
    for p in points {
        let path = dir.join(format!("{}.json", p.key));
        if !path.exists() {
            todo.push(p);
            continue;
        }
        if !args.resume {
            return Err(model::UsageError {
                flag: "--name",
                value: name.clone(),
                reason: format!(
                    "sweep '{name}' already has results in {}: add --resume to continue it, or pick another --name",
                    dir.display()
                ),
            }
            .into());
        }
        stored.push((p.key, load(&path).context("--resume")?));
    }
    let first = todo.first().map(|p| &p.run);
    let (duration, warmup) = (
        first.map(|r| r.duration_ns as f64 / 1e9).unwrap_or(0.0),
        first.map(|r| r.warmup_ns as f64 / 1e9).unwrap_or(0.0),
    );
    // Each trial also pays for attaching programs and opening sockets (~0.3 s here), each
    // topology group for building and checking it (~0.5 s).
    let estimate =
        todo.len() as f64 * trials as f64 * (duration + warmup + 0.3) + groups(&todo) as f64 * 0.5;
    progress!(
        "sweep '{name}': {} points, {} stored already, {trials} trial(s) of {duration:.1} s after {warmup:.1} s warm-up each; about {} to go; records in {}",
        todo.len() + stored.len(),
        stored.len(),
        human_time(estimate),
        dir.display()
    );
    let mut progress = Progress::new(todo.len());
    let mut start = 0;
    'groups: while start < todo.len() {
        let group = todo[start].topology_group();
        let end = todo[start..]
            .iter()
            .position(|p| p.topology_group() != group)
            .map_or(todo.len(), |n| start + n);
        let mut spec = todo[start].topology.clone();
        spec.id = args.id.clone().unwrap_or_else(RunId::generate);
        let topology = Topology::create(&spec)
            .with_context(|| format!("building a {} topology for the sweep", spec.kind))?;
        crate::preflight::round_trip(topology.info(), false, 64)?;
        let load = results::load::sample(&todo[start].run.cores, Duration::from_millis(250));
        for p in &todo[start..end] {
            let Some(record) = measure(topology.info(), p, trials, &load, &interrupt)? else {
                break 'groups;
            };
            crate::outdir::Sink::new(dir.join(format!("{}.json", p.key))).save(&record)?;
            progress.done(&p.key, &record);
            stored.push((p.key.clone(), record));
        }
        topology.destroy().context("tearing down")?;
        start = end;
    }
    progress.finish();
    print_points(&stored);
    print_warnings(&stored);
    print_best(&best(&stored, args.noise));
    if interrupt.load(Ordering::SeqCst) {
        eprintln!(
            "interrupted: {} of {} points stored; run the same command with --resume to continue",
            stored.len(),
            todo.len() + stored.len() - progress.done_count
        );
    }
    Ok(crate::signals::exit_code().unwrap_or(ExitCode::SUCCESS))
}

/// How many topologies the points need (consecutive points with the same topology share one).
fn groups(points: &[Point]) -> usize {
    let mut n = 0;
    let mut last = None;
    for p in points {
        let g = Some(p.topology_group());
        if g != last {
            n += 1;
            last = g;
        }
    }
    n
}

/// Seconds as "42 s", "3.5 min" or "2.1 h".
fn human_time(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.1} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// A point's trials as a record; `None` if interrupted (a partial point is not stored, so
/// `--resume` measures it again).
fn measure(
    info: &setup::TopologyInfo,
    p: &Point,
    trials: usize,
    load: &[results::load::CoreLoad],
    interrupt: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Option<Record>> {
    let tool = super::tool();
    let mut record = Record::new(
        &info.spec.id.to_string(),
        tool,
        Fingerprint::take(info),
        trials,
    );
    record.note_core_load(load);
    for _ in 0..trials {
        let outcome =
            run_until(info, &p.run, interrupt).with_context(|| format!("sweep point {}", p.key))?;
        if interrupt.load(Ordering::Relaxed) {
            return Ok(None);
        }
        record.add_trial(&p.run, outcome);
    }
    Ok(Some(record))
}

/// A progress bar with ETA on a terminal; a plain line per point with an ETA in logs.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done_count: usize,
    started: Instant,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let shown = std::io::stderr().is_terminal() && crate::ui::progress_shown();
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} points, {elapsed} elapsed, ETA {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            done_count: 0,
            started: Instant::now(),
        }
    }

    fn done(&mut self, key: &str, record: &Record) {
        self.done_count += 1;
        let figure = headline(record);
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{key}: {figure}"));
                bar.inc(1);
            }
            None => {
                let per = self.started.elapsed().as_secs_f64() / self.done_count as f64;
                let eta = per * (self.total - self.done_count) as f64;
                progress!(
                    "[{}/{}] {key}: {figure} (ETA {eta:.0} s)",
                    self.done_count,
                    self.total
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// The point's main figure: RTT p50 where frames return, else the received rate.
fn headline(record: &Record) -> String {
    let e = |m: &str| {
        record
            .scenarios
            .first()
            .and_then(|s| s.estimates.get(m))
            .map(|e| e.median)
    };
    match (e(Metric::RttP50Us.name()), e(Metric::ReceivedPps.name())) {
        (Some(rtt), _) => format!("RTT p50 {rtt:.1} µs"),
        (None, Some(pps)) => format!("{:.3} Mpps", pps / 1e6),
        _ => "-".into(),
    }
}

fn print_points(stored: &[(String, Record)]) {
    let cell = |r: &Record, m: &str, scale: f64| {
        r.scenarios
            .first()
            .and_then(|s| s.estimates.get(m))
            .map(|e| format!("{:.3}", e.median * scale))
            .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<Vec<String>> = stored
        .iter()
        .map(|(k, r)| {
            vec![
                k.clone(),
                cell(r, Metric::ReceivedPps.name(), 1e-6),
                cell(r, Metric::LossPct.name(), 1.0),
                cell(r, Metric::RttP50Us.name(), 1.0),
                cell(r, Metric::RttP99Us.name(), 1.0),
            ]
        })
        .collect();
    print!(
        "{}",
        text_table(
            &[
                "point",
                "received Mpps",
                "loss %",
                "RTT p50 µs",
                "RTT p99 µs"
            ],
            &rows
        )
    );
}

/// The points' warnings, one line per kind and point (every warning with -v).
fn print_warnings(stored: &[(String, Record)]) {
    for (key, record) in stored {
        let lines = if crate::ui::verbose() {
            results::warnings::all(record)
        } else {
            results::warnings::summary(record)
        };
        for w in lines {
            println!("warning ({key}): {w}");
        }
    }
}

/// `+12.3 % [+10.1, +14.5]`, or without the interval when a side had one trial.
fn margin(m: f64, (lo, hi): (f64, f64)) -> String {
    if lo == hi {
        format!("{m:+.1} %")
    } else {
        format!("{m:+.1} % [{lo:+.1}, {hi:+.1}]")
    }
}

/// Per objective: the winner with its margin over the defaults, named only when it beat them
/// conclusively (`compare`'s verdict); otherwise what was found and why it is no winner.
fn print_best(best: &[Best]) {
    for b in best {
        let line = match (&b.default, b.margin_pct, b.verdict) {
            (Some((k, _)), _, _) if *k == b.point => format!(
                "the default settings are best: {} at {:.3} {}",
                b.point, b.value, b.unit
            ),
            (Some((k, v)), Some((m, ci)), Some(verdict)) if b.is_winner() => format!(
                "{} at {:.3} {}, {} over the defaults {k} ({v:.3} {}): {verdict}",
                b.point,
                b.value,
                b.unit,
                margin(m, ci),
                b.unit
            ),
            (Some((k, v)), Some((m, ci)), Some(verdict)) => format!(
                "no setting beat the defaults conclusively: the best, {} at {:.3} {}, is {} against {k} ({v:.3} {}): {verdict}{}",
                b.point,
                b.value,
                b.unit,
                margin(m, ci),
                b.unit,
                b.resolve
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            _ => format!(
                "no winner named: no point at the default settings to compare with (the best by median is {} at {:.3} {}); add the defaults to the axes",
                b.point, b.value, b.unit
            ),
        };
        println!("{}: {line}", b.objective);
    }
}
