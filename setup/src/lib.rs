//! Topologies for vethbench: network namespaces, veth pairs, addresses, link knobs and sysctls,
//! built through netlink and torn down by a guard — also after a crash, through [`cleanup`].
//!
//! Every name carries a [`RunId`] (`vb-<id>-a` for namespaces, `vb<id>a` for links), so leftovers
//! of a killed run can be found, and nothing that is not ours is ever touched.

mod counters;
mod diagnose;
mod driver_stats;
mod error;
mod ethtool;
mod lease;
mod middle;
mod napi;
mod netlink;
pub mod netns;
mod plan;
mod state;
mod sysctl;
mod teardown;
mod topology;
mod verify;

#[cfg(feature = "testing")]
pub mod testing;

pub use counters::{link_counters, LinkCounters};
pub use diagnose::explain;
pub use driver_stats::driver_stats;
pub use error::SetupError;
pub use lease::Lease;
pub use model::{
    Endpoint, Mac, Middle, RunId, Side, SysctlSpec, TopologyInfo, TopologyKind, TopologySpec,
    MAX_ID_LEN, MAX_MTU, MAX_QUEUES, MIN_MTU,
};
pub use plan::{Addressing, ADDRESSING, MIDDLE_MAC, ROUTED_ADDRESSING, ROUTER_IPV4, ROUTER_IPV6};
pub use state::RunRecord;
pub use teardown::{cleanup, down, Cleanup, Removed, Skipped};
pub use topology::Topology;
pub use verify::{udp_round_trip, RoundTrip};
