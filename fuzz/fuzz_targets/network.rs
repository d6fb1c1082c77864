//! Fuzz target `network`: see `test-support/src/checks.rs` for the invariants
//! it checks.
#![no_main]

use impp_test_support::checks;

#[global_allocator]
static ALLOCATOR: checks::CappedAllocator = checks::CappedAllocator;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::network(data));
