//! Fuzz target `token_exchange`: see `portcullis_fuzz::token_exchange`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::token_exchange(data);
});
