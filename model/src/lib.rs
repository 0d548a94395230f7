//! vethbench's data model: everything that crosses crates, with no system dependencies — run
//! specs and the mode table, topology descriptions, outcomes and frame accounting, CPU accounting,
//! latency summaries and the histogram codec, the frame layout, statistics. Reading, comparing,
//! exporting and reporting records needs this crate and nothing that touches the kernel.

pub mod cpu;
pub mod frame;
pub mod interval;
pub mod metric;
pub mod mode;
mod names;
pub mod outcome;
pub mod seq;
pub mod settings;
pub mod spec;
pub mod stats;
pub mod suite;
mod topology;
mod topology_spec;
mod usage;

pub use metric::Metric;
pub use mode::{Loop, Mode, ModeRow, Path, Program, Setting, MODES};
pub use names::{RunId, Side, MAX_ID_LEN};
pub use settings::{XdpMode, XskConfig};
pub use spec::{Layout, RunSpec};
pub use topology::{
    format_mac, Endpoint, Mac, Middle, NapiThread, TopologyInfo, MIDDLE_LINK_ROLES, MIDDLE_ROLE,
};
pub use topology_spec::{SysctlSpec, TopologyKind, TopologySpec, MAX_MTU, MAX_QUEUES, MIN_MTU};
pub use usage::{usage, UsageError};
