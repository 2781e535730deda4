//! Issuance latency while a purge removes a million expired rows (issue 20
//! part 4), on PostgreSQL and SQLite: the purge in batches of 1000 rows (the
//! default) against the same purge as one statement per kind (a batch
//! larger than the table, as purges were before batching).
//!
//! For each store and batch: a fresh database is filled with `PURGE_ROWS`
//! expired tokens (1,000,000 by default; half access, half refresh) by one
//! `INSERT … SELECT`, then `ISSUERS` tasks (4) call `TokenStore::issue`
//! (an access and a refresh token, each pair a new grant) in a loop: first
//! for `BASELINE_SECS` (3) with no purge, then while `purge_expired` runs.
//! Printed: issuance p50, p99 and max in each phase, failed issues, how long
//! the purge took.
//!
//! `cargo bench --features postgres,sqlite --bench purge_p99`
//! (`PURGE_STORES=sqlite` or `postgres`: one store only)
//!
//! PostgreSQL: `PORTCULLIS_TEST_POSTGRES_URL`, else a throwaway cluster as
//! the tests start one (`tests/common/postgres.rs`); each run gets empty
//! schemas of its own. No timing is asserted anywhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;
#[path = "../tests/common/server.rs"]
#[allow(dead_code)]
mod server;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use portcullis::RandomSource as _;
use portcullis::stores::{PostgresStore, SqliteStore};
use portcullis::{
    AccessRecord, ClientId, GrantId, NewTokens, RefreshRecord, ScopeSet, SystemRandom, TokenAdmin,
    TokenHash, TokenStore, UnixTime,
};

/// The purge's `now`; the filler's rows expired long before it, the
/// issued ones expire long after.
const NOW: u64 = 2_000_000_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fresh_tokens(random: &SystemRandom, client: &ClientId) -> NewTokens {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes).unwrap();
    let hash = TokenHash::of(&format!("{bytes:?}a"));
    let refresh = TokenHash::of(&format!("{bytes:?}r"));
    let grant = GrantId::derive(&hash);
    let now = UnixTime::from_secs(NOW);
    let later = UnixTime::from_secs(NOW + 3600);
    let scope = ScopeSet::parse("read").unwrap();
    NewTokens {
        access: AccessRecord {
            hash,
            grant,
            client_id: client.clone(),
            subject: None,
            scope: scope.clone(),
            issued_at: now,
            expires_at: later,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        },
        refresh: Some(RefreshRecord {
            hash: refresh,
            grant,
            client_id: client.clone(),
            subject: None,
            scope,
            issued_at: now,
            expires_at: later,
            used: false,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            successor: None,
        }),
    }
}

/// Latencies of one phase.
#[derive(Default)]
struct Phase {
    ok: Vec<Duration>,
    failed: usize,
}

impl Phase {
    fn summary(mut self) -> String {
        self.ok.sort_unstable();
        let at = |q: f64| {
            if self.ok.is_empty() {
                return "-".to_owned();
            }
            let i = ((self.ok.len() as f64 * q).ceil() as usize).clamp(1, self.ok.len()) - 1;
            format!("{:.1} ms", self.ok[i].as_secs_f64() * 1000.0)
        };
        format!(
            "{} | {} | {} | {} | {}",
            self.ok.len(),
            at(0.5),
            at(0.99),
            at(1.0),
            self.failed
        )
    }
}

/// Runs `issuers` tasks issuing until `stop`; their latencies.
async fn issue_until<S: TokenStore>(store: &Arc<S>, issuers: u64, stop: Arc<AtomicBool>) -> Phase {
    let client = ClientId::parse("bench-client").unwrap();
    let tasks: Vec<_> = (0..issuers)
        .map(|_| {
            let (store, stop, client) = (store.clone(), stop.clone(), client.clone());
            tokio::spawn(async move {
                let random = SystemRandom::new();
                let mut phase = Phase::default();
                while !stop.load(Ordering::Relaxed) {
                    let tokens = fresh_tokens(&random, &client);
                    let start = Instant::now();
                    match store.issue(tokens).await {
                        Ok(()) => phase.ok.push(start.elapsed()),
                        Err(_) => phase.failed += 1,
                    }
                }
                phase
            })
        })
        .collect();
    let mut all = Phase::default();
    for t in tasks {
        let p = t.await.unwrap();
        all.ok.extend(p.ok);
        all.failed += p.failed;
    }
    all
}

/// Baseline, then issuance during `purge_expired`; one table row.
async fn measure<S: TokenStore + TokenAdmin>(name: &str, batch: &str, store: S) {
    let issuers = env("ISSUERS", 4);
    let store = Arc::new(store);
    let stop = Arc::new(AtomicBool::new(false));
    let baseline = {
        let stop2 = stop.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(env("BASELINE_SECS", 3))).await;
            stop2.store(true, Ordering::Relaxed);
        });
        let phase = issue_until(&store, issuers, stop.clone()).await;
        timer.await.unwrap();
        phase
    };
    let stop = Arc::new(AtomicBool::new(false));
    let purger = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let counts = store.purge_expired(UnixTime::from_secs(NOW)).await;
            stop.store(true, Ordering::Relaxed);
            (counts, start.elapsed())
        })
    };
    let during = issue_until(&store, issuers, stop).await;
    let (counts, took) = purger.await.unwrap();
    let counts = counts.unwrap();
    println!(
        "| {name} | {batch} | {} | {} | {} rows in {:.1} s |",
        baseline.summary(),
        during.summary(),
        counts.access_tokens + counts.refresh_tokens,
        took.as_secs_f64()
    );
}

/// `rows` expired tokens, half access, half refresh, by one statement.
fn fill_sql(rows: u64, postgres: bool) -> String {
    let expired = NOW - 10;
    if postgres {
        format!(
            "INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, scope, issued_at, expires_at, used) \
             SELECT decode(md5(i::text), 'hex'), (i % 2)::smallint, decode(md5((i / 2)::text), 'hex'), 'filler', 'read', {}, {expired}, FALSE \
             FROM generate_series(1, {rows}) AS i; ANALYZE portcullis_tokens",
            expired - 3600
        )
    } else {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) \
             INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, scope, issued_at, expires_at, used) \
             SELECT randomblob(16), i % 2, randomblob(16), 'filler', 'read', {}, {expired}, FALSE FROM s; ANALYZE",
            expired - 3600
        )
    }
}

fn main() {
    let rows = env("PURGE_ROWS", 1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let unbatched = NonZeroU32::new(u32::MAX).unwrap();
    let batches = [
        ("1000 (default)", portcullis::stores::DEFAULT_PURGE_BATCH),
        ("one statement", unbatched),
    ];
    println!(
        "\n{rows} expired tokens, {} issuers\n\n\
         | store | purge batch | issued (no purge) | p50 | p99 | max | failed | issued (during purge) | p50 | p99 | max | failed | purge |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|",
        env("ISSUERS", 4)
    );
    runtime.block_on(async {
        let only = std::env::var("PURGE_STORES").unwrap_or_default();
        for (label, batch) in batches {
            if only.contains("sqlite") && !only.contains("postgres") {
                break;
            }
            let Some(url) = postgres::fresh_database_url().await else {
                break;
            };
            let store = PostgresStore::connect(&url)
                .await
                .unwrap()
                .with_purge_batch(batch);
            store.migrate().await.unwrap();
            sqlx::raw_sql(&fill_sql(rows, true))
                .execute(store.pool())
                .await
                .unwrap();
            measure("PostgreSQL", label, store.clone()).await;
        }
        for (label, batch) in batches {
            if only.contains("postgres") && !only.contains("sqlite") {
                break;
            }
            let file = std::env::temp_dir().join(format!(
                "portcullis-purge-p99-{}-{}.db",
                std::process::id(),
                batch.get()
            ));
            let _ = std::fs::remove_file(&file);
            let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap()
                .with_purge_batch(batch);
            store.migrate().await.unwrap();
            sqlx::raw_sql(&fill_sql(rows, false))
                .execute(store.pool())
                .await
                .unwrap();
            measure("SQLite", label, store.clone()).await;
            store.pool().close().await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    });
}
