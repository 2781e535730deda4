//! Fuzz target `client_metadata`: see `portcullis_fuzz::client_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::client_metadata(data);
});
