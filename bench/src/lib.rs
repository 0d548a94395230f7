//! vethbench traffic: the frame format, AF_XDP sockets, pinned workers and measurement.

pub mod baseline;
pub mod cpu;
pub mod engine;
pub mod frame;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod seq;
pub mod suite;
mod workers;
pub mod xsk;
