//! Fuzz target `end_session`: see `portcullis_fuzz::end_session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::end_session(data);
});
