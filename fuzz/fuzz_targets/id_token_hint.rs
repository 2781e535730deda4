//! Fuzz target `id_token_hint`: see `portcullis_fuzz::id_token_hint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portcullis_fuzz::id_token_hint(data);
});
