//! Fuzz target: `baton::fuzz::queue` (see crates/baton/src/fuzz.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton::fuzz::queue(data));
