//! Fuzz target `client_assertion`: see `portcullis_fuzz::client_assertion`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::client_assertion(data);
});
