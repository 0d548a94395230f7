//! `cargo fuzz run load` (from results/): the record loader must never panic on any bytes, and an
//! error must name the file it was given.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzzed.json");
    if let Err(e) = results::parse(path, data) {
        assert!(e.to_string().contains("fuzzed.json"), "{e}");
    }
});
