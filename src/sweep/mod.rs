//! A sweep plan: axes (lists of settings) whose cartesian product are the points to measure, and
//! settings shared by every point. Read from a TOML file and/or the command line, and checked as a
//! whole before anything runs.
//!
//! ```toml
//! [axes]                      # every combination is one point
//! size = [64, 1500]
//! mode = ["throughput", "latency"]
//! xdp_mode = ["drv", "skb"]
//! batch = [16, 64]
//! ring = [2048, 4096]
//! need_wakeup = [true, false]
//! busy_poll = [false, true]
//! queues = [1, 2]
//! gro = [false, true]
//! topology = ["pair", "bridge"]
//! [run]                       # the same for every point
//! duration = 1.0
//! warmup = 0.5
//! trials = 1
//! cores = [0, 1]
//! rate = 100000
//! ```

use std::path::Path;

mod points;

pub use points::points;

use model::{Layout, Mode, RunSpec, TopologyKind, TopologySpec, XdpMode};
use serde::Deserialize;

/// The axes: each a list of values; a missing axis keeps the default of `vethbench run`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axes {
    /// Frame sizes, bytes.
    pub size: Option<Vec<usize>>,
    /// Modes.
    pub mode: Option<Vec<Mode>>,
    /// XDP attach modes.
    pub xdp_mode: Option<Vec<XdpMode>>,
    /// Descriptors per ring operation.
    pub batch: Option<Vec<u32>>,
    /// Ring sizes.
    pub ring: Option<Vec<u32>>,
    /// need_wakeup on the AF_XDP rings.
    pub need_wakeup: Option<Vec<bool>>,
    /// Busy polling of the sockets.
    pub busy_poll: Option<Vec<bool>>,
    /// rx/tx queues of the veth ends.
    pub queues: Option<Vec<u32>>,
    /// GRO on the veth ends.
    pub gro: Option<Vec<bool>>,
    /// Topologies.
    pub topology: Option<Vec<TopologyKind>>,
    /// Flows (socket pairs, flow i on queue i; without a queues axis each point gets one queue
    /// per flow).
    pub flows: Option<Vec<u32>>,
    /// Worker layouts: split, colocated.
    pub layout: Option<Vec<Layout>>,
    /// Threaded NAPI on the veth ends (on needs GRO: without a gro axis, GRO is turned on).
    pub threaded: Option<Vec<bool>>,
    /// Cores the NAPI threads are pinned to, a list per point (turns threaded NAPI and GRO on).
    pub napi_cores: Option<Vec<Vec<usize>>>,
}

impl Axes {
    /// `self`, with every axis `other` sets replacing ours (command-line flags over the file).
    pub fn overridden_by(self, other: Axes) -> Axes {
        Axes {
            size: other.size.or(self.size),
            mode: other.mode.or(self.mode),
            xdp_mode: other.xdp_mode.or(self.xdp_mode),
            batch: other.batch.or(self.batch),
            ring: other.ring.or(self.ring),
            need_wakeup: other.need_wakeup.or(self.need_wakeup),
            busy_poll: other.busy_poll.or(self.busy_poll),
            queues: other.queues.or(self.queues),
            gro: other.gro.or(self.gro),
            topology: other.topology.or(self.topology),
            flows: other.flows.or(self.flows),
            layout: other.layout.or(self.layout),
            threaded: other.threaded.or(self.threaded),
            napi_cores: other.napi_cores.or(self.napi_cores),
        }
    }
}

/// Settings shared by every point.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shared {
    /// Measuring time per trial, seconds (default 1).
    pub duration: Option<f64>,
    /// Warm-up per trial, seconds (default 0.5).
    pub warmup: Option<f64>,
    /// Trials per point (default 1).
    pub trials: Option<usize>,
    /// Cores of the workers (default: the first ones this process may use); a point uses as many
    /// from the front of the list as its flows and layout need.
    pub cores: Option<Vec<usize>>,
    /// Offered rate for open-loop modes, frames per second (default: as fast as possible).
    pub rate: Option<u64>,
}

impl Shared {
    /// `self`, with every setting `other` has replacing ours.
    pub fn overridden_by(self, other: Shared) -> Shared {
        Shared {
            duration: other.duration.or(self.duration),
            warmup: other.warmup.or(self.warmup),
            trials: other.trials.or(self.trials),
            cores: other.cores.or(self.cores),
            rate: other.rate.or(self.rate),
        }
    }
}

/// A sweep file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The axes.
    #[serde(default)]
    pub axes: Axes,
    /// The shared settings.
    #[serde(default)]
    pub run: Shared,
}

/// Points a plan may have unless `--max-points` allows more.
pub const MAX_POINTS: usize = 10_000;

/// Longest measuring or warm-up time per trial, seconds (as for `vethbench run`).
const MAX_SECONDS: f64 = 3600.0;

/// Largest number of trials per point (as for `vethbench run`).
const MAX_TRIALS: usize = 100;

/// Where a value of the plan came from, for error messages: a flag, or a key of the file.
pub type Place<'a> = &'a dyn Fn(&'static str, &'static str) -> String;

/// The place of a key in a sweep file: `FILE: [table] key`.
pub fn in_file(path: &Path) -> impl Fn(&'static str, &'static str) -> String + '_ {
    move |table, key| format!("{}: [{table}] {key}", path.display())
}

/// The place of a value given as a flag: `--key` (underscores as dashes).
pub fn as_flag(_table: &'static str, key: &'static str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// An error naming the place of a bad value.
fn bad(place: String, reason: String) -> anyhow::Error {
    anyhow::anyhow!("{place}: {reason}")
}

/// Refuses an axis with no values or with a value twice.
fn check_axis<T: PartialEq + std::fmt::Debug>(
    values: &Option<Vec<T>>,
    key: &'static str,
    place: Place<'_>,
) -> anyhow::Result<()> {
    let Some(values) = values else {
        return Ok(());
    };
    if values.is_empty() {
        return Err(bad(
            place("axes", key),
            "an axis needs at least one value (leave the key out for the default)".into(),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if let Some(j) = values[..i].iter().position(|w| w == v) {
            return Err(bad(
                place("axes", key),
                format!(
                    "{v:?} is given twice (values {} and {}): each point would be measured twice",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

impl Axes {
    /// Refuses empty axes and repeated values, naming the axis at `place`.
    pub fn check(&self, place: Place<'_>) -> anyhow::Result<()> {
        check_axis(&self.size, "size", place)?;
        check_axis(&self.mode, "mode", place)?;
        check_axis(&self.xdp_mode, "xdp_mode", place)?;
        check_axis(&self.batch, "batch", place)?;
        check_axis(&self.ring, "ring", place)?;
        check_axis(&self.need_wakeup, "need_wakeup", place)?;
        check_axis(&self.busy_poll, "busy_poll", place)?;
        check_axis(&self.queues, "queues", place)?;
        check_axis(&self.gro, "gro", place)?;
        check_axis(&self.topology, "topology", place)?;
        check_axis(&self.flows, "flows", place)?;
        check_axis(&self.layout, "layout", place)?;
        check_axis(&self.threaded, "threaded", place)?;
        check_axis(&self.napi_cores, "napi_cores", place)
    }

    /// How many points the plan has (saturating: a product that overflows is far too many).
    pub fn point_count(&self) -> usize {
        fn len<T>(axis: &Option<Vec<T>>) -> usize {
            axis.as_ref().map_or(1, Vec::len)
        }
        [
            len(&self.size),
            len(&self.mode),
            len(&self.xdp_mode),
            len(&self.batch),
            len(&self.ring),
            len(&self.need_wakeup),
            len(&self.busy_poll),
            len(&self.queues),
            len(&self.gro),
            len(&self.topology),
            len(&self.flows),
            len(&self.layout),
            len(&self.threaded),
            len(&self.napi_cores),
        ]
        .into_iter()
        .fold(1usize, usize::saturating_mul)
    }
}

impl Shared {
    /// Refuses times that are not finite or outside 0..=3600 s, and trial counts outside
    /// 1..=100, naming the setting at `place`.
    pub fn check(&self, place: Place<'_>) -> anyhow::Result<()> {
        for (key, value) in [("duration", self.duration), ("warmup", self.warmup)] {
            if let Some(v) = value {
                if !v.is_finite() || !(0.0..=MAX_SECONDS).contains(&v) {
                    return Err(bad(
                        place("run", key),
                        format!("{v:?} is not a number of seconds in 0..={MAX_SECONDS}"),
                    ));
                }
            }
        }
        if let Some(t) = self.trials {
            if !(1..=MAX_TRIALS).contains(&t) {
                return Err(bad(
                    place("run", "trials"),
                    format!("{t} is outside 1..={MAX_TRIALS}"),
                ));
            }
        }
        if self.rate == Some(0) {
            return Err(bad(
                place("run", "rate"),
                "0 frames per second sends nothing: leave it out for as fast as possible".into(),
            ));
        }
        Ok(())
    }
}

/// Reads a sweep file; errors name the file and, for TOML mistakes (an unknown key, a wrong type),
/// the line and column; values out of range name the table and key.
pub fn read(path: &Path) -> anyhow::Result<SweepFile> {
    let file = parse_file(path)?;
    file.axes.check(&in_file(path))?;
    file.run.check(&in_file(path))?;
    Ok(file)
}

fn parse_file(path: &Path) -> anyhow::Result<SweepFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
        anyhow::anyhow!(
            "{}:{line}:{col}: {}",
            path.display(),
            e.message().trim_end()
        )
    })
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// One point of the sweep.
#[derive(Clone, Debug)]
pub struct Point {
    /// Stable name of the point (also its record's file name).
    pub key: String,
    /// The topology it needs (id filled in when it is built).
    pub topology: TopologySpec,
    /// The measurement.
    pub run: RunSpec,
}

impl Point {
    /// What must be equal for two points to share a topology: its whole spec.
    pub fn topology_group(&self) -> &TopologySpec {
        &self.topology
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SweepFile, String> {
        // One directory per call: the tests run in parallel.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vethbench-sweep-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, text).unwrap();
        let parsed = read(&path).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        parsed
    }

    #[test]
    fn the_product_of_the_axes_is_the_plan() {
        let f = parse(
            "[axes]\nsize = [64, 1500]\nxdp_mode = [\"drv\", \"skb\"]\nbatch = [16, 64]\n[run]\nduration = 0.5\n",
        )
        .unwrap();
        let p = points(&f.axes, &f.run, MAX_POINTS).unwrap();
        assert_eq!(p.len(), 8);
        assert_eq!(
            p[0].key,
            "throughput-64B-drv-batch16-ring4096-wakeupon-busypolloff-q1-grodefault-pair"
        );
        assert!(p.iter().all(|x| x.run.duration_ns == 500_000_000));
        let mut keys: Vec<&str> = p.iter().map(|x| x.key.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), 8, "keys are unique");
    }

    #[test]
    fn flows_layouts_and_napi_threads_are_axes() {
        let f = parse(
            "[axes]\nflows = [1, 2]\nlayout = [\"split\", \"colocated\"]\nnapi_cores = [[0], [1]]\n[run]\ncores = [0, 1, 1, 0]\n",
        )
        .unwrap();
        let p = points(&f.axes, &f.run, MAX_POINTS).unwrap();
        assert_eq!(p.len(), 8);
        for x in &p {
            // One queue per flow, the cores the flows and layout need, NAPI threaded with GRO.
            assert_eq!(x.topology.queues, x.run.flows);
            assert_eq!(x.run.cores.len(), x.run.cores_needed());
            assert_eq!(x.topology.threaded_napi, Some(true));
            assert_eq!(x.topology.gro, Some(true));
        }
        assert!(
            p.iter().any(|x| x.key.ends_with("-flows2-colocated-napi1")),
            "{:?}",
            p.iter().map(|x| &x.key).collect::<Vec<_>>()
        );
        // Two split flows need four cores: two are too few, named with the point.
        let f = parse("[axes]\nflows = [2]\n[run]\ncores = [0, 1]\n").unwrap();
        let err = points(&f.axes, &f.run, MAX_POINTS).unwrap_err().to_string();
        assert!(err.contains("needs 4 cores"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let err = parse("[axes]\nsize = [64]\nbatchsize = [1]\n").unwrap_err();
        assert!(err.contains("s.toml:3:1"), "{err}");
        assert!(err.contains("batchsize"), "{err}");
        let err = parse("[axes]\nmode = [\"fast\"]\n").unwrap_err();
        assert!(err.contains(":2:") && err.contains("fast"), "{err}");
    }

    #[test]
    fn a_bad_value_is_refused_before_anything_runs() {
        let f = parse("[axes]\nbatch = [0]\n").unwrap();
        let err = points(&f.axes, &f.run, MAX_POINTS).unwrap_err().to_string();
        assert!(err.contains("--batch"), "{err}");
        let f = parse("[axes]\nqueues = [65]\n").unwrap();
        assert!(points(&f.axes, &f.run, MAX_POINTS)
            .unwrap_err()
            .to_string()
            .contains("--queues"));
    }

    #[test]
    fn numbers_out_of_range_empty_and_repeated_axes_are_refused_naming_the_key() {
        for (text, needles) in [
            (
                "[run]\nduration = 1e308\n",
                &["[run] duration", "1e308"][..],
            ),
            ("[run]\nduration = inf\n", &["[run] duration", "inf"]),
            ("[run]\nwarmup = -3\n", &["[run] warmup", "-3"]),
            ("[run]\ntrials = 1000000\n", &["[run] trials", "1000000"]),
            (
                "[axes]\nsize = []\n",
                &["[axes] size", "at least one value"],
            ),
            ("[axes]\nsize = [64, 64]\n", &["[axes] size", "64", "twice"]),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("s.toml"), "{text}: {err}");
            for n in needles {
                assert!(err.contains(n), "{text}: {n} missing in {err}");
            }
        }
    }

    #[test]
    fn a_plan_above_the_point_limit_is_refused_before_a_point_is_made() {
        let big: Vec<u32> = (1..=100).collect();
        let axes = Axes {
            batch: Some(big.clone()),
            ring: Some(big),
            size: Some(vec![64, 128]),
            ..Axes::default()
        };
        assert_eq!(axes.point_count(), 20_000);
        let err = points(&axes, &Shared::default(), MAX_POINTS)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--max-points") && err.contains("20000"),
            "{err}"
        );
    }

    #[test]
    fn flags_replace_the_file_s_axes() {
        let file = Axes {
            size: Some(vec![64, 128]),
            batch: Some(vec![1]),
            ..Axes::default()
        };
        let flags = Axes {
            size: Some(vec![1500]),
            ..Axes::default()
        };
        let a = file.overridden_by(flags);
        assert_eq!(a.size, Some(vec![1500]));
        assert_eq!(a.batch, Some(vec![1]));
    }
}
