//! Fuzz target: `baton::fuzz::slot_header` (see crates/baton/src/fuzz.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton::fuzz::slot_header(data));
