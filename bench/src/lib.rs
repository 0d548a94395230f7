//! vethbench traffic: AF_XDP sockets and the hot loops, the kernel-stack baselines, and the
//! harness that runs N pinned workers for either. The data it produces (specs, outcomes,
//! accounting) lives in the `model` crate.

pub mod afxdp;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod harness;
pub mod kernel;
pub mod progress;
pub mod scenario;
mod workers;
pub mod xsk;

pub use error::{BenchError, WorkerError, WorkerId};
pub use workers::pinned_cores;
