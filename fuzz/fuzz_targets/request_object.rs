//! Fuzz target `request_object`: see `portcullis_fuzz::request_object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::request_object(data);
});
