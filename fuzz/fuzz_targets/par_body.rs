//! Fuzz target `par_body`: see `portcullis_fuzz::par_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::par_body(data);
});
