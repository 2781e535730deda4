//! Heap allocations per operation on the hot paths, counted by a counting
//! global allocator (`stats_alloc`), and what installing an audit sink adds
//! to the token path (it must add none: events borrow what they describe).
//!
//! `cargo bench --bench allocations`. Each workload is the one the criterion
//! suite times (`common`), so the counts include the benchmark's own request
//! building; compare rows with each other, not with zero.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

use common::Fixtures;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: u64 = 2_000;

const PATHS: &[&str] = &[
    "portcullis_cc",
    "portcullis_cc_events",
    "portcullis_code",
    "portcullis_refresh",
    "portcullis_introspect",
    "portcullis_revoke",
    "portcullis_bearer",
    "portcullis_jwt_es256",
    "portcullis_bearer_es256",
];

/// Allocations (and bytes) per operation of one workload.
fn count(fixtures: &mut Fixtures, name: &str) -> (f64, f64) {
    let mut op = fixtures.warmed(name, N);
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        op.run();
    }
    let stats = region.change();
    (
        stats.allocations as f64 / N as f64,
        stats.bytes_allocated as f64 / N as f64,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let mut fixtures = Fixtures::default();
    println!("| workload | allocations / op | bytes allocated / op |");
    println!("|---|---:|---:|");
    let mut counts = Vec::new();
    for name in PATHS {
        let (allocs, bytes) = count(&mut fixtures, name);
        println!("| {name} | {allocs:.2} | {bytes:.0} |");
        counts.push((*name, allocs));
    }
    let of = |n: &str| counts.iter().find(|(k, _)| *k == n).map(|(_, a)| *a);
    let (plain, with_sink) = (
        of("portcullis_cc").unwrap(),
        of("portcullis_cc_events").unwrap(),
    );
    println!(
        "\naudit sink installed: {:+.2} allocations per client_credentials issuance",
        with_sink - plain
    );
    assert!(
        (with_sink - plain).abs() < 0.01,
        "the audit sink must not allocate on the token path"
    );
}
