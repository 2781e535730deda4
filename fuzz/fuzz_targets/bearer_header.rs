//! Fuzz target `bearer_header`: see `portcullis_fuzz::bearer_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::bearer_header(data);
});
