//! Fuzz target `ordering`: see `fuzz/checks.rs` for the invariants it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::ordering(data));
