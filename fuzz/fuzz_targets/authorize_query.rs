//! Fuzz target `authorize_query`: see `portcullis_fuzz::authorize_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::authorize_query(data);
});
