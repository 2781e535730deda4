//! Fuzz target `form_body`: see `portcullis_fuzz::form_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::form_body(data);
});
