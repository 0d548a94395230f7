//! The points of a sweep plan: the product of its axes, each point a topology and a run spec,
//! checked before anything runs.

use model::{Layout, Mode, RunId, RunSpec, TopologyKind, TopologySpec, UsageError, XdpMode};

use super::{Axes, Point, Shared};

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// The values of an axis, or its one default.
fn values<T: Clone>(axis: &Option<Vec<T>>, default: T) -> Vec<T> {
    axis.clone().unwrap_or_else(|| vec![default])
}

/// How many axes a plan has.
const AXES: usize = 14;

/// Every axis's values, defaults filled in.
struct Grid {
    topology: Vec<TopologyKind>,
    queues: Vec<Option<u32>>,
    gro: Vec<Option<bool>>,
    threaded: Vec<Option<bool>>,
    napi_cores: Vec<Option<Vec<usize>>>,
    flows: Vec<u32>,
    layout: Vec<Layout>,
    mode: Vec<Mode>,
    size: Vec<usize>,
    xdp_mode: Vec<XdpMode>,
    batch: Vec<u32>,
    ring: Vec<u32>,
    need_wakeup: Vec<bool>,
    busy_poll: Vec<bool>,
}

impl Grid {
    fn of(axes: &Axes, base: &RunSpec) -> Grid {
        let d = &base.xsk;
        let some = |v: &Option<Vec<u32>>| v.as_ref().map(|v| v.iter().map(|&q| Some(q)).collect());
        Grid {
            topology: values(&axes.topology, TopologyKind::Pair),
            queues: some(&axes.queues).unwrap_or(vec![None]),
            gro: axes
                .gro
                .as_ref()
                .map(|g| g.iter().map(|&b| Some(b)).collect())
                .unwrap_or(vec![None]),
            threaded: axes
                .threaded
                .as_ref()
                .map(|t| t.iter().map(|&b| Some(b)).collect())
                .unwrap_or(vec![None]),
            napi_cores: axes
                .napi_cores
                .as_ref()
                .map(|n| n.iter().map(|c| Some(c.clone())).collect())
                .unwrap_or(vec![None]),
            flows: values(&axes.flows, 1),
            layout: values(&axes.layout, Layout::Split),
            mode: values(&axes.mode, Mode::Throughput),
            size: values(&axes.size, 64),
            xdp_mode: values(&axes.xdp_mode, XdpMode::Drv),
            batch: values(&axes.batch, d.batch),
            ring: values(&axes.ring, d.ring),
            need_wakeup: values(&axes.need_wakeup, d.need_wakeup),
            busy_poll: values(&axes.busy_poll, d.busy_poll),
        }
    }

    fn lens(&self) -> [usize; AXES] {
        [
            self.topology.len(),
            self.queues.len(),
            self.gro.len(),
            self.threaded.len(),
            self.napi_cores.len(),
            self.flows.len(),
            self.layout.len(),
            self.mode.len(),
            self.size.len(),
            self.xdp_mode.len(),
            self.batch.len(),
            self.ring.len(),
            self.need_wakeup.len(),
            self.busy_poll.len(),
        ]
    }
}

/// The stable name of a point (its record's file name).
fn key(run: &RunSpec, t: &TopologySpec) -> String {
    let napi = match (t.threaded_napi, &t.napi_cores) {
        (_, Some(c)) => format!(
            "-napi{}",
            c.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("_")
        ),
        (Some(on), None) => format!("-threaded{}", on_off(on)),
        (None, None) => String::new(),
    };
    format!(
        "{}-{}B-{}-batch{}-ring{}-wakeup{}-busypoll{}-q{}-gro{}-{}{}{napi}",
        run.mode.name(),
        run.size,
        run.xdp_mode,
        run.xsk.batch,
        run.xsk.ring,
        on_off(run.xsk.need_wakeup),
        on_off(run.xsk.busy_poll),
        t.queues,
        t.gro.map(on_off).unwrap_or("default"),
        t.kind.name(),
        // Older sweeps had one flow, split: their keys stay as they were.
        match (run.flows, run.layout) {
            (1, Layout::Split) => String::new(),
            (f, l) => format!("-flows{f}-{l}"),
        }
    )
}

/// The cores of a point: the front of `--cores`, or the first ones this process may use.
fn cores(run: &RunSpec, shared: &Shared, available: &[usize]) -> Result<Vec<usize>, String> {
    let need = run.cores_needed();
    match &shared.cores {
        Some(c) if c.len() >= need => Ok(c[..need].to_vec()),
        Some(c) => Err(format!(
            "needs {need} cores ({} flow(s), {}), and cores lists {}",
            run.flows,
            run.layout,
            c.len()
        )),
        None => RunSpec::default_cores(run.layout, run.flows, available).ok_or_else(|| {
            format!(
                "needs {need} cores ({} flow(s), {}), and this process may use {}",
                run.flows,
                run.layout,
                available.len()
            )
        }),
    }
}

/// Every point of the plan, in a stable order (topology settings outermost, so points that share
/// a topology run one after another); checked before anything runs. Plans of more than
/// `max_points` points are refused before any point is made.
pub fn points(axes: &Axes, shared: &Shared, max_points: usize) -> Result<Vec<Point>, UsageError> {
    let count = axes.point_count();
    if count > max_points {
        return Err(model::usage(
            "--max-points",
            max_points,
            format!(
                "the plan has {} points (the product of its axes' lengths): shorten an axis, or raise --max-points",
                if count == usize::MAX { "more than 2^64".to_string() } else { count.to_string() }
            ),
        ));
    }
    let base = RunSpec {
        duration_ns: (shared.duration.unwrap_or(1.0) * 1e9) as u64,
        warmup_ns: (shared.warmup.unwrap_or(0.5) * 1e9) as u64,
        ..RunSpec::new(Mode::Throughput)
    };
    let g = Grid::of(axes, &base);
    let lens = g.lens();
    let id = RunId::new("sweep")?;
    let available = bench::scenario::available_cores();
    let mut out: Vec<Point> = Vec::new();
    for n in 0..lens.iter().product::<usize>() {
        // Mixed-radix digits of n, the first axis the slowest.
        let mut i = [0usize; AXES];
        let mut rest = n;
        for (k, len) in lens.iter().enumerate().rev() {
            i[k] = rest % len;
            rest /= len;
        }
        let mut run = base.clone();
        run.flows = g.flows[i[5]];
        run.layout = g.layout[i[6]];
        run.mode = g.mode[i[7]];
        run.size = g.size[i[8]];
        run.xdp_mode = g.xdp_mode[i[9]];
        run.xsk.batch = g.batch[i[10]];
        run.xsk.ring = g.ring[i[11]];
        run.xsk.need_wakeup = g.need_wakeup[i[12]];
        run.xsk.busy_poll = g.busy_poll[i[13]];
        run.rate = shared.rate.filter(|_| !run.mode.closed_loop());
        // A setting the mode does not use (XDP mode for the kernel stack, ...) makes no point of
        // its own: the same measurement would be made again.
        let mut run = run.normalized();
        let mut t = TopologySpec::new(id.clone());
        t.kind = g.topology[i[0]];
        // Flow i runs on queue i: without a queues axis, one queue per flow.
        t.queues = g.queues[i[1]].unwrap_or(run.flows);
        t.gro = g.gro[i[2]];
        t.threaded_napi = g.threaded[i[3]];
        t.napi_cores = g.napi_cores[i[4]].clone();
        if t.napi_cores.is_some() {
            t.threaded_napi = Some(true);
        }
        // Threaded NAPI needs NAPI, which veth has with GRO: on unless a gro axis says otherwise.
        if t.threaded_napi == Some(true) && axes.gro.is_none() {
            t.gro = Some(true);
        }
        t.sysctls.accept_local = t.kind == TopologyKind::SameNs;
        t.validate()?;
        let key = key(&run, &t);
        let at_point = |reason: String| model::usage("sweep point", &key, reason);
        run.cores = cores(&run, shared, &available).map_err(at_point)?;
        if let Some(c) = t
            .napi_cores
            .iter()
            .flatten()
            .find(|c| !available.contains(c))
        {
            return Err(at_point(format!(
                "NAPI core {c} is not a core this process may run on"
            )));
        }
        if run.flows > t.queues {
            return Err(at_point(format!(
                "{} flows need as many queues; the point has {}",
                run.flows, t.queues
            )));
        }
        run.validate(t.mtu, &available)
            .map_err(|e| at_point(e.to_string()))?;
        if out.iter().any(|p| p.key == key) {
            continue;
        }
        out.push(Point {
            key,
            topology: t,
            run,
        });
    }
    Ok(out)
}
