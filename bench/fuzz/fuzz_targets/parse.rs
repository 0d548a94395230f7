//! `cargo fuzz run parse` (from bench/): the frame parser must never panic, and what it accepts must
//! lie inside the input. Only the frame module is compiled in, so the fuzzer needs none of the
//! AF_XDP/BPF build.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/frame.rs"]
mod frame;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = frame::parse(data) {
        assert!(p.layout.len <= data.len());
        assert!(p.layout.header + frame::HEADER_LEN <= p.layout.len);
        let _ = frame::checksums_valid(data, &p.layout);
    }
});
