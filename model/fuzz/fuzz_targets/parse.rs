//! `cargo fuzz run parse` (from model/): the frame parser must never panic, and what it accepts
//! must lie inside the input. The model crate has no system dependencies, so the fuzzer needs none
//! of the AF_XDP/BPF build.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = frame::parse(data) {
        assert!(p.layout.len <= data.len());
        assert!(p.layout.header + frame::HEADER_LEN <= p.layout.len);
        let _ = frame::checksums_valid(data, &p.layout);
    }
});
