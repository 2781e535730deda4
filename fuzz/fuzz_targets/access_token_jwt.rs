//! Fuzz target `access_token_jwt`: see `portcullis_fuzz::access_token_jwt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::access_token_jwt(data);
});
