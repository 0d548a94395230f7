//! CPU accounting of a trial: what each worker thread cost (its own CPU time, read inside the
//! thread at the edges of its loop — on veth the sender's thread also pays, in softirq within
//! `sendto()`, for the peer's XDP program and the copy into its UMEM), how much of its core it got,
//! and how each pinned core spent the trial (/proc/stat). CPU time per frame survives co-located
//! load that halves the rate; a core that other work or the hypervisor took is flagged.

use serde::{Deserialize, Serialize};

/// A worker got less than this share of its core while it should have spun: disturbed.
pub const MIN_SHARE: f64 = 0.90;
/// Other work and steal together on a pinned core above this share of the trial: disturbed.
pub const MAX_FOREIGN: f64 = 0.10;

/// What a thread used over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadUsage {
    /// CPU time, ns.
    pub cpu_ns: u64,
    /// Wall time, ns.
    pub wall_ns: u64,
    /// Voluntary context switches (it blocked).
    pub voluntary: u64,
    /// Involuntary context switches (it was preempted).
    pub involuntary: u64,
}

/// One worker's cost over its loop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkerCpu {
    /// The core it was pinned to.
    pub core: usize,
    /// CPU time of its thread over its loop (softirq work done in its context included), ns.
    pub cpu_ns: u64,
    /// Wall time of its loop, ns.
    pub wall_ns: u64,
    /// Share of its core it got (CPU / wall time, 0..=1).
    pub share: f64,
    /// Frames it handled over the loop (sent for A, received for B; warm-up included); for A in
    /// ping-pong modes, round trips.
    pub frames: u64,
    /// CPU ns per frame (per round trip for A in ping-pong modes); absent with no frames.
    pub ns_per_frame: Option<f64>,
    /// Voluntary context switches (it blocked).
    pub voluntary_switches: u64,
    /// Involuntary context switches (it was preempted).
    pub involuntary_switches: u64,
    /// Whether the worker polls (and so should own its core), rather than blocking.
    pub spins: bool,
}

impl WorkerCpu {
    /// The cost of a worker on `core` that used `u` for `frames` frames.
    pub fn new(core: usize, u: ThreadUsage, frames: u64, spins: bool) -> WorkerCpu {
        WorkerCpu {
            core,
            cpu_ns: u.cpu_ns,
            wall_ns: u.wall_ns,
            share: if u.wall_ns > 0 {
                u.cpu_ns as f64 / u.wall_ns as f64
            } else {
                0.0
            },
            frames,
            ns_per_frame: (frames > 0).then(|| u.cpu_ns as f64 / frames as f64),
            voluntary_switches: u.voluntary,
            involuntary_switches: u.involuntary,
            spins,
        }
    }
}

impl WorkerCpu {
    /// Workers taken together: CPU and wall time, frames and switches summed, the share of a
    /// core they got on average; `core` is the first one's. `None` for no workers.
    pub fn sum(workers: &[WorkerCpu]) -> Option<WorkerCpu> {
        let first = workers.first()?;
        let total = |f: fn(&WorkerCpu) -> u64| workers.iter().map(f).sum::<u64>();
        let usage = ThreadUsage {
            cpu_ns: total(|w| w.cpu_ns),
            wall_ns: total(|w| w.wall_ns),
            voluntary: total(|w| w.voluntary_switches),
            involuntary: total(|w| w.involuntary_switches),
        };
        let spins = workers.iter().any(|w| w.spins);
        Some(WorkerCpu::new(
            first.core,
            usage,
            total(|w| w.frames),
            spins,
        ))
    }
}

/// Jiffies of one core from a /proc/stat line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreTimes {
    /// user + nice.
    pub user: u64,
    /// system.
    pub system: u64,
    /// idle + iowait.
    pub idle: u64,
    /// irq.
    pub irq: u64,
    /// softirq.
    pub softirq: u64,
    /// steal.
    pub steal: u64,
}

impl CoreTimes {
    /// The `cpuN` line of a /proc/stat text; `None` if it is missing or malformed.
    pub fn parse(stat: &str, core: usize) -> Option<CoreTimes> {
        let name = format!("cpu{core}");
        let line = stat
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal [guest guest_nice, inside user/nice]
        let f = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(CoreTimes {
            user: f(0) + f(1),
            system: f(2),
            idle: f(3) + f(4),
            irq: f(5),
            softirq: f(6),
            steal: f(7),
        })
    }

    fn total(&self) -> u64 {
        self.user + self.system + self.idle + self.irq + self.softirq + self.steal
    }
}

/// How a core spent an interval, as shares (0..=1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoreShares {
    /// The core.
    pub core: usize,
    /// User space (user + nice).
    pub user: f64,
    /// Kernel, outside interrupts.
    pub system: f64,
    /// Soft interrupts (on veth: the peer's NAPI and XDP program, in the sender's context).
    pub softirq: f64,
    /// Hard interrupts.
    pub irq: f64,
    /// Taken by the hypervisor.
    pub steal: f64,
    /// Idle (iowait included).
    pub idle: f64,
}

impl CoreShares {
    /// Shares of `core` between two /proc/stat texts; `None` if the core is missing or no time
    /// passed.
    pub fn between(before: &str, after: &str, core: usize) -> Option<CoreShares> {
        let (b, a) = (
            CoreTimes::parse(before, core)?,
            CoreTimes::parse(after, core)?,
        );
        let dt = a.total().checked_sub(b.total()).filter(|d| *d > 0)? as f64;
        let share = |x: u64, y: u64| x.saturating_sub(y) as f64 / dt;
        Some(CoreShares {
            core,
            user: share(a.user, b.user),
            system: share(a.system, b.system),
            softirq: share(a.softirq, b.softirq),
            irq: share(a.irq, b.irq),
            steal: share(a.steal, b.steal),
            idle: share(a.idle, b.idle),
        })
    }

    /// Busy share: everything but idle and steal.
    pub fn busy(&self) -> f64 {
        self.user + self.system + self.softirq + self.irq
    }
}

/// A trial in which a worker did not have its core to itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Disturbance {
    /// The core.
    pub core: usize,
    /// Share of the core our workers got.
    pub share: f64,
    /// What took the rest, as seen: hypervisor steal, other tasks.
    pub cause: String,
}

impl std::fmt::Display for Disturbance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "core {} was disturbed: our workers got {:.0} % of it ({})",
            self.core,
            self.share * 100.0,
            self.cause
        )
    }
}

/// CPU accounting of one trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuAccounting {
    /// Side A's workers (the senders; colocated workers too), summed over flows (`core` is the
    /// first flow's); absent if their counters could not be read.
    pub a: Option<WorkerCpu>,
    /// Side B's workers (modes with B workers, split layout), summed over flows; absent
    /// otherwise or if unreadable.
    pub b: Option<WorkerCpu>,
    /// Every worker on its own, A's then B's (runs with more than one flow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerCpu>,
    /// How each pinned core spent the trial (from /proc/stat).
    pub cores: Vec<CoreShares>,
    /// Cores our workers did not have to themselves.
    pub disturbed: Vec<Disturbance>,
}

impl CpuAccounting {
    /// Puts the figures together and finds disturbances: a spinning worker that got less than
    /// [`MIN_SHARE`] of its core, or a core where steal and work that is not our workers' took
    /// more than [`MAX_FOREIGN`] together.
    /// `a` and `b` are each side's workers whose counters could be read; a side with a worker
    /// whose counters could not be read is given as `None` (unknown, never zero).
    pub fn new(
        a: Option<Vec<WorkerCpu>>,
        b: Option<Vec<WorkerCpu>>,
        cores: Vec<CoreShares>,
    ) -> Self {
        let workers: Vec<WorkerCpu> = a.iter().chain(b.iter()).flatten().copied().collect();
        let mut disturbed = Vec::new();
        for c in &cores {
            let ours: f64 = workers
                .iter()
                .filter(|w| w.core == c.core)
                .map(|w| w.share)
                .sum::<f64>()
                .min(1.0);
            let others = (c.busy() - ours).max(0.0);
            // Our spinning workers (two of them when they share a core) should fill it.
            let starved = workers.iter().any(|w| w.core == c.core && w.spins) && ours < MIN_SHARE;
            if !starved && c.steal + others <= MAX_FOREIGN {
                continue;
            }
            let mut causes = Vec::new();
            if c.steal >= 0.01 {
                causes.push(format!("hypervisor steal {:.0} %", c.steal * 100.0));
            }
            if others >= 0.01 {
                causes.push(format!("other tasks {:.0} %", others * 100.0));
            }
            if causes.is_empty() {
                causes.push("preempted (involuntary context switches)".into());
            }
            disturbed.push(Disturbance {
                core: c.core,
                share: ours,
                cause: causes.join(", "),
            });
        }
        let several =
            a.as_ref().is_some_and(|v| v.len() > 1) || b.as_ref().is_some_and(|v| v.len() > 1);
        CpuAccounting {
            a: a.as_deref().and_then(WorkerCpu::sum),
            b: b.as_deref().and_then(WorkerCpu::sum),
            workers: if several { workers } else { Vec::new() },
            cores,
            disturbed,
        }
    }
}

/// Reads /proc/stat; `None` if it cannot be read.
pub fn proc_stat() -> Option<String> {
    std::fs::read_to_string("/proc/stat").ok()
}

/// The shares of `cores` (each once) between two /proc/stat texts.
pub fn core_shares(before: &str, after: &str, cores: &[usize]) -> Vec<CoreShares> {
    let mut seen = Vec::new();
    cores
        .iter()
        .filter(|c| {
            let new = !seen.contains(*c);
            seen.push(**c);
            new
        })
        .filter_map(|&c| CoreShares::between(before, after, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "cpu  0 0 0 0 0 0 0 0 0 0\n\
                          cpu0 100 0 100 100 0 0 100 0 0 0\n\
                          cpu1 100 0 100 100 0 0 0 0 0 0\n";
    const AFTER: &str = "cpu  0 0 0 0 0 0 0 0 0 0\n\
                         cpu0 110 0 140 100 0 0 150 0 0 0\n\
                         cpu1 150 0 100 140 0 0 0 10 0 0\n";

    fn worker(core: usize, share: f64, spins: bool) -> WorkerCpu {
        WorkerCpu::new(
            core,
            ThreadUsage {
                cpu_ns: (share * 1e9) as u64,
                wall_ns: 1_000_000_000,
                voluntary: 0,
                involuntary: 0,
            },
            1000,
            spins,
        )
    }

    #[test]
    fn shares_are_parts_of_the_interval() {
        let c0 = CoreShares::between(BEFORE, AFTER, 0).unwrap();
        assert_eq!(
            (c0.user, c0.system, c0.softirq, c0.idle),
            (0.1, 0.4, 0.5, 0.0)
        );
        let c1 = CoreShares::between(BEFORE, AFTER, 1).unwrap();
        assert_eq!((c1.user, c1.steal, c1.idle), (0.5, 0.1, 0.4));
        assert!(CoreShares::between(BEFORE, BEFORE, 0).is_none());
        assert!(CoreShares::between(BEFORE, AFTER, 9).is_none());
    }

    #[test]
    fn cost_per_frame_and_share() {
        let w = worker(0, 0.5, true);
        assert_eq!(w.share, 0.5);
        assert_eq!(w.ns_per_frame, Some(500_000.0));
        let none = WorkerCpu::new(0, ThreadUsage::default(), 0, true);
        assert_eq!(none.ns_per_frame, None);
    }

    #[test]
    fn a_core_shared_with_other_work_is_disturbed() {
        let busy = |user: f64| CoreShares {
            core: 0,
            user,
            system: 0.0,
            softirq: 0.0,
            irq: 0.0,
            steal: 0.0,
            idle: 1.0 - user,
        };
        // Our spinning sender had the whole core.
        let quiet = CpuAccounting::new(Some(vec![worker(0, 0.99, true)]), None, vec![busy(1.0)]);
        assert!(quiet.disturbed.is_empty(), "{:?}", quiet.disturbed);
        // Another task took half of it.
        let shared = CpuAccounting::new(Some(vec![worker(0, 0.5, true)]), None, vec![busy(1.0)]);
        assert_eq!(shared.disturbed.len(), 1);
        assert!(shared.disturbed[0].to_string().contains("core 0"));
        assert!(shared.disturbed[0].cause.contains("other tasks 50 %"));
        // A blocking worker may idle; that is no disturbance.
        let blocking = CpuAccounting::new(Some(vec![worker(0, 0.3, false)]), None, vec![busy(0.3)]);
        assert!(blocking.disturbed.is_empty());
        // Steal is named.
        let mut stolen = busy(0.8);
        stolen.steal = 0.2;
        stolen.idle = 0.0;
        let s = CpuAccounting::new(Some(vec![worker(0, 0.8, true)]), None, vec![stolen]);
        assert!(
            s.disturbed[0].cause.contains("steal 20 %"),
            "{:?}",
            s.disturbed
        );
    }
}
