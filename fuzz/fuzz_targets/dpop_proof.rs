//! Fuzz target `dpop_proof`: see `portcullis_fuzz::dpop_proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::dpop_proof(data);
});
