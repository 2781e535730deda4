//! The performance suite: every hot path of portcullis through its public
//! API, each beside its floor (the raw work the path cannot skip, with the
//! same crates) and oxide-auth 0.6's equivalent where it has one, all in one
//! criterion group so that every ratio comes from a single run on a single
//! machine. The workloads live in `common/mod.rs` (shared with
//! `instructions.rs` and `scaling.rs`); their names are `<side>_<path>`.
//!
//! After the group, `main` reads criterion's `estimates.json` files and
//! prints a summary table (medians and ratios), also written to
//! `<criterion dir>/token_endpoint/summary.md`. See `docs/performance.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;

use common::{FUNCTIONS, Fixtures, Op, criterion_home, fmt_ns, fmt_ratio, median_ns, ratio};

const GROUP: &str = "token_endpoint";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group(GROUP);
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(700))
        .sample_size(30);

    // What a tokio `block_on` per call would add (the paths are polled in
    // place; see `common::run_now`).
    let rt = common::runtime();
    g.bench_function("tokio_block_on_empty", |b| {
        b.iter(|| rt.block_on(black_box(async { 1u8 })));
    });

    let mut fixtures = Fixtures::default();
    for &name in FUNCTIONS {
        // Built on first use, so a filtered run builds only what it measures.
        let mut op: Option<Box<dyn Op>> = None;
        g.bench_function(name, |b| {
            let op = op.get_or_insert_with(|| fixtures.build(name));
            b.iter_custom(|iters| {
                op.prepare(iters);
                let start = Instant::now();
                for _ in 0..iters {
                    op.run();
                }
                start.elapsed()
            });
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Summary: medians from criterion's estimates.json, and the ratios.

/// One row: label, portcullis function, floor function, oxide function,
/// signature-alone function, and the targets (max path/floor, min
/// oxide/path, max path/signature).
struct Row {
    label: &'static str,
    path: &'static str,
    floor: &'static str,
    oxide: Option<&'static str>,
    signature: Option<&'static str>,
    max_floor: Option<f64>,
    min_oxide: Option<f64>,
    max_signature: Option<f64>,
}

const fn opaque(
    label: &'static str,
    path: &'static str,
    floor: &'static str,
    oxide: Option<&'static str>,
    max_floor: Option<f64>,
) -> Row {
    Row {
        label,
        path,
        floor,
        oxide,
        signature: None,
        max_floor,
        min_oxide: match oxide {
            Some(_) => Some(3.0),
            None => None,
        },
        max_signature: None,
    }
}

const fn jwt(
    label: &'static str,
    path: &'static str,
    floor: &'static str,
    signature: &'static str,
) -> Row {
    Row {
        label,
        path,
        floor,
        oxide: None,
        signature: Some(signature),
        max_floor: None,
        min_oxide: None,
        max_signature: Some(1.1),
    }
}

const ROWS: &[Row] = &[
    opaque(
        "client_credentials issuance (opaque)",
        "portcullis_cc",
        "floor_cc",
        Some("oxide_cc"),
        Some(1.5),
    ),
    opaque(
        "client_credentials issuance, no-op audit sink installed",
        "portcullis_cc_events",
        "floor_cc",
        None,
        None,
    ),
    opaque(
        "authorization code + PKCE redemption",
        "portcullis_code",
        "floor_code",
        Some("oxide_code"),
        None,
    ),
    opaque(
        "code redemption with an RS256 ID Token",
        "portcullis_code_id_token_rs256",
        "floor_code_id_token_rs256",
        None,
        None,
    ),
    opaque(
        "code redemption with an ES256 ID Token",
        "portcullis_code_id_token_es256",
        "floor_code_id_token_es256",
        None,
        None,
    ),
    opaque(
        "refresh rotation (chained)",
        "portcullis_refresh",
        "floor_refresh",
        Some("oxide_refresh"),
        None,
    ),
    opaque(
        "introspection",
        "portcullis_introspect",
        "floor_introspect",
        None,
        None,
    ),
    opaque(
        "revocation (access token)",
        "portcullis_revoke",
        "floor_revoke",
        None,
        None,
    ),
    opaque(
        "bearer validation, opaque (100k live)",
        "portcullis_bearer",
        "floor_bearer",
        Some("oxide_bearer"),
        Some(1.5),
    ),
    jwt(
        "JWT issuance, ES256",
        "portcullis_jwt_es256",
        "floor_jwt_es256",
        "sign_es256",
    ),
    jwt(
        "JWT issuance, EdDSA",
        "portcullis_jwt_eddsa",
        "floor_jwt_eddsa",
        "sign_eddsa",
    ),
    jwt(
        "bearer JWT ES256, revocation check",
        "portcullis_bearer_es256",
        "floor_bearer_es256",
        "verify_es256",
    ),
    jwt(
        "bearer JWT ES256, no revocation check",
        "portcullis_bearer_es256_nocheck",
        "floor_bearer_es256_nocheck",
        "verify_es256",
    ),
    jwt(
        "bearer JWT EdDSA, revocation check",
        "portcullis_bearer_eddsa",
        "floor_bearer_eddsa",
        "verify_eddsa",
    ),
    jwt(
        "bearer JWT EdDSA, no revocation check",
        "portcullis_bearer_eddsa_nocheck",
        "floor_bearer_eddsa_nocheck",
        "verify_eddsa",
    ),
];

fn verdict(r: Option<f64>, ok: impl Fn(f64) -> bool) -> &'static str {
    match r {
        Some(r) if ok(r) => " ✓",
        Some(_) => " ✗",
        None => "",
    }
}

fn target(r: Option<f64>, bound: Option<f64>, max: bool) -> String {
    match bound {
        Some(t) if max => format!(" (≤{t}){}", verdict(r, |x| x <= t)),
        Some(t) => format!(" (≥{t}){}", verdict(r, |x| x >= t)),
        None => String::new(),
    }
}

fn summary(since: std::time::SystemTime) {
    let dir = criterion_home().join(GROUP);
    let m = |f: &str| median_ns(&dir, f, since);
    let mut out = String::new();
    out.push_str(
        "| path | portcullis ns | floor ns | path/floor | oxide-auth ns | oxide/path \
         | signature alone ns | path/signature |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let na = || "n/a".to_owned();
    for r in ROWS {
        let (path, floor) = (m(r.path), m(r.floor));
        let oxide = r.oxide.and_then(m);
        let signature = r.signature.and_then(m);
        let (pf, op, ps) = (
            ratio(path, floor),
            ratio(oxide, path),
            ratio(path, signature),
        );
        out.push_str(&format!(
            "| {} | {} | {} | {}{} | {} | {} | {} | {} |\n",
            r.label,
            fmt_ns(path),
            fmt_ns(floor),
            fmt_ratio(pf),
            target(pf, r.max_floor, true),
            r.oxide.map_or_else(na, |_| fmt_ns(oxide)),
            r.oxide.map_or_else(na, |_| format!(
                "{}{}",
                fmt_ratio(op),
                target(op, r.min_oxide, false)
            )),
            r.signature.map_or_else(na, |_| fmt_ns(signature)),
            r.signature.map_or_else(na, |_| format!(
                "{}{}",
                fmt_ratio(ps),
                target(ps, r.max_signature, true)
            )),
        ));
    }
    out.push_str(&format!(
        "\nWhat the floors are built from, each alone: 32 bytes from the OS (`getrandom`) {} ns; \
         SHA-256 of a 43-byte token {} ns; one clock read {} ns.\n",
        fmt_ns(m("part_os_random_32")),
        fmt_ns(m("part_sha256_43")),
        fmt_ns(m("part_clock")),
    ));
    out.push_str(&format!(
        "\nFor reference: a tokio current-thread `block_on` of a ready future costs {} ns \
         (not in the figures above: the paths are polled in place).\n",
        fmt_ns(m("tokio_block_on_empty")),
    ));
    println!("\n{GROUP} summary (medians, this run):\n\n{out}");
    let file = dir.join("summary.md");
    match std::fs::write(&file, &out) {
        Ok(()) => println!("written to {}", file.display()),
        Err(e) => println!("could not write {}: {e}", file.display()),
    }
    // A full run (every function measured) also replaces the marked block
    // in docs/performance.md; a filtered run leaves the docs alone.
    let complete = FUNCTIONS
        .iter()
        .chain(&["tokio_block_on_empty"])
        .all(|f| m(f).is_some());
    if complete {
        write_docs(&out);
    } else {
        println!("a filtered run: docs/performance.md left as it is");
    }
}

const DOCS_START: &str = "<!-- token_endpoint summary: start -->";
const DOCS_END: &str = "<!-- token_endpoint summary: end -->";

/// Replaces the text between the markers in docs/performance.md.
fn write_docs(summary: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md");
    let Ok(doc) = std::fs::read_to_string(&path) else {
        println!("could not read {}", path.display());
        return;
    };
    let (Some(start), Some(end)) = (doc.find(DOCS_START), doc.find(DOCS_END)) else {
        println!("no summary markers in {}", path.display());
        return;
    };
    let head = &doc[..start + DOCS_START.len()];
    let tail = &doc[end..];
    let updated = format!("{head}\n{summary}{tail}");
    match std::fs::write(&path, updated) {
        Ok(()) => println!("written to {}", path.display()),
        Err(e) => println!("could not write {}: {e}", path.display()),
    }
}

fn main() {
    // Only a real `cargo bench` run writes estimates; `--test`, `--list` and
    // `--profile-time` runs get no summary.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a.starts_with("--profile-time"));
    // Estimates older than this were not written by this run.
    #[allow(clippy::disallowed_methods)] // wall-clock mtime check, not protocol time
    let since = std::time::SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if measuring {
        summary(since);
    }
}
