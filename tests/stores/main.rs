//! The store conformance suite (`portcullis::store_conformance!`) run
//! against every store we ship, the way a host runs it against its own:
//! one test per clause, `<store>::<trait>::<clause>`.
//!
//! SQLite: every clause gets a fresh database file. PostgreSQL:
//! `PORTCULLIS_TEST_POSTGRES_URL` when set, else a throwaway cluster where
//! PostgreSQL's server binaries are installed, else each clause is skipped
//! loudly (a failure under `PORTCULLIS_REQUIRE_POSTGRES=1`, as in
//! `.ci/run`): see `tests/common/postgres.rs`. The clauses share that
//! database, isolated by their random ids, and run in parallel, except the
//! clauses of the sections that purge (`TokenAdmin`, `ReplayCache`,
//! `DevicePurge`): each gets an empty schema of its own
//! (`fresh_database_url`), since a purge removes what has expired in the
//! whole database. The SQL stores purge in batches of 16 rows here, so the
//! batch-purge clauses cross batches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[macro_use]
mod grants;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod migrations;
#[cfg(feature = "mysql")]
#[path = "../common/mysql.rs"]
mod mysql;
#[cfg(feature = "postgres")]
#[path = "../common/postgres.rs"]
mod postgres;
// What postgres.rs and mysql.rs share.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[path = "../common/server.rs"]
mod server;
#[cfg(all(feature = "sqlite", unix))]
mod sqlite_file;
// CORS (issue 19 part 3): schema 15's index of origins.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod cors_index;
// Purge in bounded batches, query plans (issue 20 part 4).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod explain;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod purge_batches;

/// The purge batch of the SQL stores the conformance clauses run on: below
/// `conformance::PURGE_ROWS`, so the batch-purge clauses cross batches.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const PURGE_BATCH: std::num::NonZeroU32 = std::num::NonZeroU32::MIN.saturating_add(15);

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, JW-01, CA-08, AZ-08
mod memory {
    use portcullis::MemoryStore;

    async fn store() -> MemoryStore {
        MemoryStore::new()
    }

    async fn keys() -> portcullis::MemoryKeys {
        portcullis::MemoryKeys::new()
    }

    portcullis::store_conformance!(store =>
        ClientStore, ClientAdmin, TokenStore, TokenAdmin, ConsentStore, ConsentAdmin, ReplayCache,
        AuthorizationRequestStore);
    portcullis::store_conformance!(keys => KeyProvider);
    // covers: DV-01, DV-02, DV-03
    portcullis::store_conformance!(store => DeviceStore, DevicePurge);
    // The store-backed throttle's counts (issue 20).
    // covers: RB-04
    portcullis::store_conformance!(store => ThrottleStore);
}

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, CA-08, AZ-08
mod sharded_memory {
    use portcullis::stores::ShardedMemoryStore;

    async fn store() -> ShardedMemoryStore {
        ShardedMemoryStore::new()
    }

    portcullis::store_conformance!(store =>
        ClientStore, ClientAdmin, TokenStore, TokenAdmin, ConsentStore, ConsentAdmin, ReplayCache,
        AuthorizationRequestStore);
    // covers: DV-01, DV-02, DV-03
    portcullis::store_conformance!(store => DeviceStore, DevicePurge);
}

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, LO-02
// issue 16: `FaultyStore` with no fault set passes every call through, so
// a store wrapped for a failure test keeps the contract (session_clients
// and revoke_session included).
mod faulty {
    use portcullis::MemoryStore;
    use portcullis::stores::FaultyStore;

    async fn store() -> FaultyStore<MemoryStore> {
        FaultyStore::new(MemoryStore::new())
    }

    portcullis::store_conformance!(store => TokenStore, TokenAdmin);
    // CORS (issue 19 part 3): the wrapper forwards `cors_origin_registered`.
    portcullis::store_conformance!(store => ClientStore, ClientAdmin);
    // covers: DV-03
    portcullis::store_conformance!(store => DeviceStore, DevicePurge);
}

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, JW-01, CA-08, AZ-08
#[cfg(feature = "sqlite")]
mod sqlite {
    use std::sync::atomic::{AtomicU32, Ordering};

    use portcullis::stores::SqliteStore;

    /// A fresh database file per clause, under cargo's scratch directory
    /// for tests (`target/tmp`). The first call removes files of runs more
    /// than an hour old.
    async fn store() -> SqliteStore {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        static SWEEP: std::sync::Once = std::sync::Once::new();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-conformance");
        std::fs::create_dir_all(&dir).unwrap();
        SWEEP.call_once(|| {
            let hour = std::time::Duration::from_secs(3600);
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
                if old {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        });
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let file = dir.join(format!("{}-{n}.db", std::process::id()));
        let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap()
            .with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        store
    }

    portcullis::store_conformance!(store =>
        ClientStore, ClientAdmin, TokenStore, TokenAdmin, ConsentStore, ConsentAdmin, ReplayCache,
        AuthorizationRequestStore, KeyProvider);
    // covers: DV-01, DV-02, DV-03
    portcullis::store_conformance!(store => DeviceStore, DevicePurge);
    // The store-backed throttle's counts (issue 20).
    // covers: RB-04
    portcullis::store_conformance!(store => ThrottleStore);

    async fn some_store() -> Option<SqliteStore> {
        Some(store().await)
    }

    // Every SQLite store is a fresh file: isolated already.
    grant_row_tests!(super::some_store, isolated = super::some_store);

    #[tokio::test]
    async fn a_stored_redirect_uri_with_whitespace_fails_to_decode() {
        // covers: AZ-02
        // issue 15 finding 7: such a row came back as two URIs. A release
        // before the fix could store one (`RedirectUri` then accepted
        // inner whitespace); now the client no longer decodes, so every
        // lookup of it is a store error (a 500) naming the fault, never a
        // silently different set of redirect URIs.
        use portcullis::{Client, ClientAdmin, ClientId, ClientStore, GrantType, RedirectUri};
        let store = store().await;
        let id = ClientId::parse("spa").unwrap();
        let client = Client::public(id.clone())
            .redirect_uri(RedirectUri::parse("https://a.example/cb").unwrap())
            .redirect_uri(RedirectUri::parse("https://a.example/other").unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .build()
            .unwrap();
        store.insert_client(client).await.unwrap();
        assert_eq!(
            store
                .client(&id)
                .await
                .unwrap()
                .unwrap()
                .redirect_uris()
                .len(),
            2
        );
        sqlx::query("UPDATE portcullis_client_redirect_uris SET redirect_uri = 'https://a.example/cb https://evil.example/cb' WHERE redirect_uri = 'https://a.example/cb'")
            .execute(store.pool())
            .await
            .unwrap();
        let e = store.client(&id).await.unwrap_err();
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            chain = format!("{chain}: {s}");
            source = s.source();
        }
        assert!(
            chain.contains("redirect URI: contains whitespace or a control character"),
            "{chain}"
        );
    }

    #[tokio::test]
    async fn migrating_twice_is_harmless_and_a_second_pool_sees_the_schema() {
        let store = store().await;
        store.migrate().await.unwrap();
        let url = store
            .pool()
            .connect_options()
            .get_filename()
            .display()
            .to_string();
        let again = SqliteStore::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        again.migrate().await.unwrap();
    }
}

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, JW-01, CA-08, AZ-08
#[cfg(feature = "postgres")]
mod postgresql {
    use portcullis::stores::PostgresStore;

    /// A pool on the test database (`None`: no PostgreSQL here, and the
    /// helper has said so); the clauses isolate themselves by random ids.
    /// Concurrent `migrate()` calls are serialised by the migrator.
    async fn store() -> Option<PostgresStore> {
        let url = crate::postgres::url()?;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap()
            .with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        Some(store)
    }

    /// A pool on a database of its own (an empty schema of the test
    /// database, see `fresh_database_url`), migrated: for the tests that
    /// assert on what `purge_expired` removes, which a concurrent test's
    /// purge on the shared database would disturb.
    pub(crate) async fn isolated_store() -> Option<PostgresStore> {
        let url = crate::postgres::fresh_database_url().await?;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap()
            .with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        Some(store)
    }

    // Without PostgreSQL (and without PORTCULLIS_REQUIRE_POSTGRES) build.rs
    // sets `portcullis_no_postgres`: the harness reports these as ignored.
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        optional store =>
        ClientStore, ClientAdmin, TokenStore, ConsentStore, ConsentAdmin,
        AuthorizationRequestStore, KeyProvider);
    // The sections that purge, each clause alone in its database: a purge
    // removes whatever has expired in the whole database, codes of other
    // clauses included, and its counts include theirs.
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        optional isolated_store => TokenAdmin, ReplayCache);
    // covers: DV-01, DV-02, DV-03
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        optional store => DeviceStore);
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        optional isolated_store => DevicePurge);
    // The store-backed throttle's counts (issue 20).
    // covers: RB-04
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        optional store => ThrottleStore);

    grant_row_tests!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        super::store,
        isolated = super::isolated_store
    );

    #[tokio::test]
    #[cfg_attr(
        portcullis_no_postgres,
        ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
    )]
    async fn migrating_twice_is_harmless() {
        let Some(store) = store().await else { return };
        store.migrate().await.unwrap();
    }
}

// covers: AC-04, RT-04, RB-02, RB-05, TK-02, JW-01, CA-08, AZ-08
#[cfg(feature = "mysql")]
mod mysql_store {
    use portcullis::stores::MySqlStore;

    /// A pool on the test database (`None`: no MySQL here, and the helper
    /// has said so); the clauses isolate themselves by random ids.
    /// Concurrent `migrate()` calls are serialised by the migrator.
    async fn store() -> Option<MySqlStore> {
        let url = crate::mysql::url()?;
        let store = MySqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Some(store)
    }

    /// A store on a database of its own, for the sections whose clauses
    /// assert on what `purge_expired` removes (see the PostgreSQL module).
    async fn isolated_store() -> Option<MySqlStore> {
        let url = crate::mysql::fresh_database_url().await?;
        let store = MySqlStore::connect(&url)
            .await
            .unwrap()
            .with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        Some(store)
    }

    // Without MariaDB (and without PORTCULLIS_REQUIRE_MYSQL) build.rs sets
    // `portcullis_no_mysql`: the harness reports these as ignored.
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        optional store =>
        ClientStore, ClientAdmin, TokenStore, ConsentStore, ConsentAdmin,
        AuthorizationRequestStore, KeyProvider);
    // The sections that purge, each clause alone in its database.
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        optional isolated_store => TokenAdmin, ReplayCache);
    // covers: DV-01, DV-02, DV-03
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        optional store => DeviceStore);
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        optional isolated_store => DevicePurge);
    // The store-backed throttle's counts (issue 20).
    // covers: RB-04
    portcullis::store_conformance!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        optional store => ThrottleStore);

    /// `connect_with` takes the pool options and still sets the session:
    /// READ COMMITTED (MariaDB's `tx_isolation`), which the atomic steps
    /// rely on.
    #[tokio::test]
    #[cfg_attr(
        portcullis_no_mysql,
        ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
    )]
    async fn connect_with_takes_the_options_and_sets_read_committed() {
        let Some(url) = crate::mysql::url() else {
            return;
        };
        let options = portcullis::stores::SqlPoolOptions::default()
            .max_connections(2)
            .purge_batch(7);
        let store = MySqlStore::connect_with(&url, &options).await.unwrap();
        assert_eq!(store.purge_batch().get(), 7);
        let (isolation,): (String,) = sqlx::query_as("SELECT CAST(@@SESSION.tx_isolation AS CHAR)")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(isolation, "READ-COMMITTED");
        let zero = options.purge_batch(0);
        assert!(MySqlStore::connect_with(&url, &zero).await.is_err());
    }

    #[tokio::test]
    #[cfg_attr(
        portcullis_no_mysql,
        ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
    )]
    async fn migrating_twice_is_harmless() {
        let Some(store) = store().await else { return };
        store.migrate().await.unwrap();
        // One row per version, none twice, the 15 of every SQL store at least.
        let (n, max): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), MAX(version) FROM portcullis_schema_migrations")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(n, max);
        assert!(n >= 15, "{n} migrations recorded");
    }
}
