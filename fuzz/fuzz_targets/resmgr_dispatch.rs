//! Fuzz target: `baton_resmgr::fuzz::dispatch` (see crates/baton-resmgr/src/fuzz.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_resmgr::fuzz::dispatch(data));
