//! The store conformance suite (`portcullis::stores::conformance`) run
//! against every store we ship: memory, SQLite and PostgreSQL.
//!
//! PostgreSQL: `PORTCULLIS_TEST_POSTGRES_URL` when set, else a throwaway
//! cluster where PostgreSQL's server binaries are installed, else the test
//! is skipped loudly (a failure under `PORTCULLIS_REQUIRE_POSTGRES=1`, as in
//! `.ci/run`): see `tests/common/postgres.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis::MemoryStore;
use portcullis::stores::conformance;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migrations;
#[cfg(feature = "postgres")]
#[path = "../common/postgres.rs"]
mod postgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    // covers: AC-04, RT-04, RB-02, TK-02, JW-01, CA-08
    conformance::run(Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    conformance::run_keys(Arc::new(portcullis::MemoryKeys::new()))
        .await
        .unwrap();
    conformance::run_requests(Arc::new(MemoryStore::new()))
        .await
        .unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_conforms() {
    // covers: AC-04, RT-04, RB-02, TK-02, JW-01, CA-08
    use portcullis::stores::SqliteStore;
    let dir = std::env::temp_dir().join(format!("portcullis-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    // Migrating twice is harmless.
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    conformance::run(store.clone()).await.unwrap();
    conformance::run_keys(store.clone()).await.unwrap();
    conformance::run_requests(store.clone()).await.unwrap();
    // A second process (here: a second pool) sees the same state.
    let again = SqliteStore::connect(&url).await.unwrap();
    again.migrate().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_conforms() {
    // covers: AC-04, RT-04, RB-02, TK-02, JW-01, CA-08
    use portcullis::stores::PostgresStore;
    let Some(url) = postgres::url() else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    conformance::run(store.clone()).await.unwrap();
    conformance::run_keys(store.clone()).await.unwrap();
    conformance::run_requests(store.clone()).await.unwrap();
}
