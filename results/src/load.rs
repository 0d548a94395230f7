//! Load on the cores a run is pinned to, from /proc/stat, sampled before the run starts: another
//! process busy on those cores takes time from the workers (and the softirq work they cause), so
//! the figures would measure the contention too. Steal time shows a hypervisor doing the same.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Busy share of a core above which a record warns.
pub const BUSY_WARN: f64 = 0.10;

/// One core's load over a sampling window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoreLoad {
    /// The core.
    pub core: usize,
    /// Share of the window spent on anything but idle, iowait and steal (0..=1).
    pub busy: f64,
    /// Share of the window the hypervisor ran something else (0..=1).
    pub steal: f64,
}

/// The load of `core` between two readings of /proc/stat; None if the core is missing or no time
/// passed.
pub fn between(before: &str, after: &str, core: usize) -> Option<CoreLoad> {
    model::cpu::CoreShares::between(before, after, core).map(to_load)
}

fn to_load(s: model::cpu::CoreShares) -> CoreLoad {
    CoreLoad {
        core: s.core,
        busy: s.busy(),
        steal: s.steal,
    }
}

/// Samples the load of `cores` over `window` (the caller must not be busy on them meanwhile);
/// nothing if /proc/stat cannot be read.
pub fn sample(cores: &[usize], window: Duration) -> Vec<CoreLoad> {
    let before = model::cpu::proc_stat();
    std::thread::sleep(window);
    let after = model::cpu::proc_stat();
    match (before, after) {
        (Some(b), Some(a)) => model::cpu::core_shares(&b, &a, cores)
            .into_iter()
            .map(to_load)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "cpu  10 0 10 100 0 0 0 0 0 0\n\
                          cpu0 5 0 5 50 0 0 0 0 0 0\n\
                          cpu1 5 0 5 50 0 0 0 0 0 0\n";
    const AFTER: &str = "cpu  10 0 10 100 0 0 0 0 0 0\n\
                         cpu0 5 0 5 150 0 0 0 0 0 0\n\
                         cpu1 75 0 5 70 0 0 0 10 0 0\n";

    #[test]
    fn busy_and_steal_are_shares_of_the_window() {
        let idle = between(BEFORE, AFTER, 0).unwrap();
        assert_eq!((idle.busy, idle.steal), (0.0, 0.0));
        let loaded = between(BEFORE, AFTER, 1).unwrap();
        assert_eq!(loaded.busy, 0.7);
        assert_eq!(loaded.steal, 0.1);
    }

    #[test]
    fn a_missing_core_or_no_time_gives_nothing() {
        assert_eq!(between(BEFORE, AFTER, 7), None);
        assert_eq!(between(BEFORE, BEFORE, 0), None);
        assert_eq!(between("cpu0 x y", AFTER, 0), None);
    }

    #[test]
    fn a_spinning_thread_shows_on_its_core() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let Some(last) = cores.last().copied() else {
            return;
        };
        let stop = AtomicBool::new(false);
        let load = std::thread::scope(|s| {
            s.spawn(|| {
                core_affinity::set_for_current(last);
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            std::thread::sleep(Duration::from_millis(50));
            let l = sample(&[last.id, last.id], Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
            l
        });
        assert_eq!(load.len(), 1, "one reading per core: {load:?}");
        assert!(load[0].busy + load[0].steal > 0.5, "{load:?}");
    }
}
