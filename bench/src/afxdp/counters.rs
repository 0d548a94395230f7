//! The kernel's counters an AF_XDP run is accounted with: both veth ends, both XDP programs, and
//! the veth driver's statistics (`ethtool -S`, per queue). A counter that cannot be read fails
//! the run; it is never taken as zero.

use std::collections::BTreeMap;

use bpf::{Attached, Counters};
use setup::{driver_stats, link_counters, LinkCounters, Side, TopologyInfo};

use crate::error::BenchError;

/// Counters of both ends and both programs at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The veth ends' link counters, A then B.
    pub veth: [LinkCounters; 2],
    /// The XDP programs' counters, A then B (zero where no program is attached).
    pub prog: [Counters; 2],
    /// `ethtool -S` of both ends.
    pub driver: [BTreeMap<String, u64>; 2],
}

/// Reads every counter now.
pub fn snapshot(
    topo: &TopologyInfo,
    progs: &[Option<Attached>; 2],
) -> Result<Snapshot, BenchError> {
    let prog = |i: usize| -> Result<Counters, BenchError> {
        Ok(match &progs[i] {
            Some(p) => p.program().counters()?,
            None => Counters::default(),
        })
    };
    Ok(Snapshot {
        veth: [
            link_counters(topo.endpoint(Side::A))?,
            link_counters(topo.endpoint(Side::B))?,
        ],
        prog: [prog(0)?, prog(1)?],
        driver: [
            driver_stats(topo.endpoint(Side::A))?,
            driver_stats(topo.endpoint(Side::B))?,
        ],
    })
}

/// The changes between two snapshots.
#[derive(Clone, Debug, Default)]
pub struct Deltas {
    /// Link counters, A then B.
    pub veth: [LinkCounters; 2],
    /// Program counters, A then B.
    pub prog: [Counters; 2],
    /// Non-zero changes of the ends' driver statistics, as `ethtool_a.<name>`.
    pub driver: BTreeMap<String, u64>,
}

impl Deltas {
    /// What changed from `before` to `after`.
    pub fn between(before: &Snapshot, after: &Snapshot) -> Deltas {
        let mut driver = BTreeMap::new();
        for (side, (b, a)) in ["a", "b"]
            .iter()
            .zip(before.driver.iter().zip(&after.driver))
        {
            for (name, value) in a {
                let delta = value.saturating_sub(b.get(name).copied().unwrap_or(0));
                if delta > 0 && name != "peer_ifindex" {
                    driver.insert(format!("ethtool_{side}.{name}"), delta);
                }
            }
        }
        Deltas {
            veth: [
                after.veth[0].since(&before.veth[0]),
                after.veth[1].since(&before.veth[1]),
            ],
            prog: [
                after.prog[0].since(&before.prog[0]),
                after.prog[1].since(&before.prog[1]),
            ],
            driver,
        }
    }
}
