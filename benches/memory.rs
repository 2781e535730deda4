//! Bytes per stored opaque access token in `ShardedMemoryStore`, counted by a
//! counting global allocator (`cap`), at 1,000,000 tokens and at the sizes
//! around it (a hash table's load factor, hence its bytes per entry, moves
//! between its doublings).
//!
//! `cargo bench --bench memory`. The tokens are client_credentials tokens
//! issued through `AuthorizationServer::token`, so the records are exactly
//! what that grant stores. The reference is `size_of::<AccessRecord>()`, the
//! record a `TokenStore` is handed and must give back: the fields a stored
//! token must keep.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::alloc::System;

use cap::Cap;

use portcullis::AccessRecord;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const TARGET: usize = 1_000_000;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let p = common::Portcullis::new();
    let fields = std::mem::size_of::<AccessRecord>();
    // Issue one token first so that lazily built state (the client's
    // allocations, the maps' first tables) is not counted as per-token.
    p.issue();
    let base = ALLOCATOR.allocated();
    let base_count = p.store.access_token_count();
    let checkpoints = [
        250_000, 500_000, 750_000, 917_504, 950_000, TARGET, 1_250_000, 1_500_000, 1_835_008,
        2_000_000,
    ];
    let mut rows = String::new();
    rows.push_str("| tokens stored | bytes allocated | bytes / token | × fields |\n");
    rows.push_str("|---:|---:|---:|---:|\n");
    let mut at_target = 0.0;
    let mut issued = 0;
    for n in checkpoints {
        while issued < n {
            black_box_issue(&p);
            issued += 1;
        }
        let count = p.store.access_token_count() - base_count;
        assert_eq!(count, n);
        let bytes = ALLOCATOR.allocated() - base;
        let per = bytes as f64 / n as f64;
        if n == TARGET {
            at_target = per;
        }
        rows.push_str(&format!(
            "| {n} | {bytes} | {per:.1} | {:.2}× |\n",
            per / fields as f64
        ));
    }
    println!(
        "ShardedMemoryStore, client_credentials access tokens (fields: size_of::<AccessRecord>() = {fields} bytes)\n"
    );
    println!("{rows}");
    println!(
        "At {TARGET} tokens: {at_target:.1} bytes per token, {:.2}× the {fields} bytes of its fields (target ≤ 2×).",
        at_target / fields as f64
    );
}

fn black_box_issue(p: &common::Portcullis) {
    std::hint::black_box(p.issue());
}
