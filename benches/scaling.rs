//! Multi-core scaling: throughput of opaque issuance and of opaque bearer
//! validation on 1 and 2 threads sharing one server and one `ShardedMemoryStore`
//! (std threads, each polling portcullis in place as a runtime worker
//! would). Beside them, a reference without shared state (32 bytes from the
//! OS and a SHA-256, per operation) shows how far this machine itself
//! scales at the time of the run, and the issuance floor's single
//! `RwLock<HashMap>` shows what one global lock does.
//!
//! `cargo bench --bench scaling` (`SCALING_SECS` sets the seconds per
//! measurement, 2 by default; `SCALING_THREADS` the thread counts, "1,2").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ring::rand::SecureRandom as _;

use common::{Packed, Portcullis, run_now};
use portcullis::http::{Method, Request};
use portcullis::{AuthorizationServer, ScopeSet};

/// A per-thread operation, built on the thread that runs it.
type Make = Arc<dyn Fn(usize) -> Box<dyn FnMut()> + Send + Sync>;

/// Runs `make(i)`'s operation on `threads` threads for `secs`; ops/s.
fn throughput(threads: usize, secs: f64, make: &Make) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (stop, start, make) = (stop.clone(), start.clone(), make.clone());
            std::thread::spawn(move || {
                let mut op = make(i);
                // Warm-up.
                for _ in 0..1_000 {
                    op();
                }
                start.wait();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        op();
                    }
                    n += 64;
                }
                n
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / t.elapsed().as_secs_f64()
}

fn issuance() -> Make {
    let p = Arc::new(Portcullis::new());
    let (server, basic) = (p.server.clone(), p.basic.clone());
    Arc::new(move |_| {
        let (server, basic) = (server.clone(), basic.clone());
        let rt = common::runtime();
        Box::new(move || {
            let req = Request::new(Method::Post)
                .header("Content-Type", b"application/x-www-form-urlencoded")
                .header("Authorization", basic.as_bytes())
                .body(common::CC_BODY);
            black_box(run_now(&rt, server.token(black_box(&req))));
        })
    })
}

fn validation() -> Make {
    let p = Portcullis::new();
    let tokens = Arc::new(p.fill(common::LIVE_TOKENS));
    let server: Arc<AuthorizationServer> = p.server;
    Arc::new(move |i| {
        let server = server.clone();
        let rt = common::runtime();
        // Each thread starts at another place in the (shuffled) list.
        let n = tokens.len();
        let mut headers =
            Packed::new((0..n).map(|k| format!("Bearer {}", tokens[(k + i * n / 2) % n])));
        let required = ScopeSet::parse(common::SCOPE).unwrap();
        Box::new(move || {
            let h = headers.next_cyclic();
            let req = Request::new(Method::Get).header("Authorization", h.as_bytes());
            let ok = run_now(&rt, server.authenticate_bearer(black_box(&req), &required));
            assert!(ok.is_ok());
        })
    })
}

fn reference() -> Make {
    Arc::new(|_| {
        let rng = common::os_rng();
        Box::new(move || {
            let mut b = [0u8; 32];
            rng.fill(&mut b).unwrap();
            black_box(ring::digest::digest(&ring::digest::SHA256, &b));
        })
    })
}

fn floor_issuance() -> Make {
    let floor = Arc::new(common::Floor::new());
    Arc::new(move |_| {
        let floor = floor.clone();
        Box::new(move || floor.issue())
    })
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("SCALING_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let threads: Vec<usize> = std::env::var("SCALING_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let cases: [(&str, Make); 4] = [
        (
            "reference: getrandom + SHA-256, nothing shared",
            reference(),
        ),
        (
            "issuance floor (one RwLock<HashMap> for all threads)",
            floor_issuance(),
        ),
        ("opaque client_credentials issuance", issuance()),
        ("opaque bearer validation (100k live)", validation()),
    ];
    let mut out = String::from("| workload |");
    for t in &threads {
        out.push_str(&format!(
            " {t} thread{} ops/s |",
            if *t == 1 { "" } else { "s" }
        ));
    }
    if threads.len() > 1 {
        out.push_str(" ratio |");
    }
    out.push('\n');
    out.push_str("|---");
    out.push_str(&"|---:".repeat(threads.len() + usize::from(threads.len() > 1)));
    out.push_str("|\n");
    for (name, make) in &cases {
        let rates: Vec<f64> = threads.iter().map(|&t| throughput(t, secs, make)).collect();
        out.push_str(&format!("| {name} |"));
        for r in &rates {
            out.push_str(&format!(" {:.0} |", r));
        }
        if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
            if rates.len() > 1 {
                out.push_str(&format!(" {:.2}× |", last / first));
            }
        }
        out.push('\n');
        println!("{name}: {rates:?}");
    }
    println!("\n{out}");
}
