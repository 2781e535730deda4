//! Fuzz target `registration_json`: see `portcullis_fuzz::registration_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::registration_json(data);
});
