//! The XDP programs of vethbench and their Rust API.
//!
//! - `xsk_redirect` hands our frames to the AF_XDP socket of the receiving queue (XSKMAP), and
//!   everything else to the kernel stack;
//! - `reflect` sends our frames straight back (XDP_TX) with addresses and ports swapped;
//! - `sink` counts our frames and drops (or passes) them.
//!
//! "Ours" means UDP to the configured port. Options reach the programs through rodata, set between
//! open and load. Every program counts into a per-CPU [`Counters`] block whose layout is shared with
//! the C side (`src/bpf/vethbench.h`, read here through the skeleton's generated type).

mod counters;
mod program;

pub use counters::Counters;
pub use program::{Attached, BpfError, Program, XdpMode, XdpProgram};

mod skel {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unsafe_op_in_unsafe_fn)]
    pub mod xsk_redirect {
        include!(concat!(env!("OUT_DIR"), "/xsk_redirect.skel.rs"));
    }
    pub mod reflect {
        include!(concat!(env!("OUT_DIR"), "/reflect.skel.rs"));
    }
    pub mod sink {
        include!(concat!(env!("OUT_DIR"), "/sink.skel.rs"));
    }
}
