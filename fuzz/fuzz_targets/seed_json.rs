//! Fuzz target `seed_json`: see `portcullis_fuzz::seed_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::seed_json(data);
});
