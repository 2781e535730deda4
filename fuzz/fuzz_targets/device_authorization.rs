//! Fuzz target `device_authorization`: see `portcullis_fuzz::device_authorization`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::device_authorization(data);
});
