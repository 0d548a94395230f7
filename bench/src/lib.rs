//! vethbench traffic: the frame format, AF_XDP sockets, pinned workers and measurement.

pub mod frame;
pub mod seq;
pub mod xsk;
