//! Fuzz target `basic_header`: see `portcullis_fuzz::basic_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::basic_header(data);
});
