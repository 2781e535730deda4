//! Fuzz target `claims_parameter`: see `portcullis_fuzz::claims_parameter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::claims_parameter(data);
});
