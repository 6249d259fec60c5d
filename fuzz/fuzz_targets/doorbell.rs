//! Fuzz target: `baton::fuzz::doorbell` (see crates/baton/src/fuzz.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton::fuzz::doorbell(data));
