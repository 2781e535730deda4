//! Schema 15 (CORS, CO-01; issue 19 part 3): the index of the clients'
//! CORS origins is filled from the clients stored before it, so an
//! upgraded database answers `cors_origin_registered` for them at once.

/// The state before schema 15: clients with origins in their column, and
/// no index.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
const BEFORE: &str = "DROP TABLE portcullis_client_cors_origins;
     INSERT INTO portcullis_clients (client_id, client_name, token_endpoint_auth_method, scope, enabled, skip_consent, allow_plain_pkce, access_token_format, allowed_cors_origins)
     VALUES ('spa', 'SPA', 'none', 'read', TRUE, FALSE, FALSE, 'opaque', 'https://a.example http://localhost:3000 https://b.example:8443'),
            ('off', 'Off', 'none', 'read', FALSE, FALSE, FALSE, 'opaque', 'https://off.example'),
            ('none', 'None', 'none', 'read', TRUE, FALSE, FALSE, 'opaque', NULL);";

/// Runs `migration` over [`BEFORE`] on `store`, then checks the index.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
macro_rules! check_backfill {
    ($store:expr, $migration:expr) => {{
        use portcullis::{ClientStore as _, Origin};
        let store = $store;
        sqlx::raw_sql(BEFORE).execute(store.pool()).await.unwrap();
        sqlx::raw_sql($migration)
            .execute(store.pool())
            .await
            .unwrap();
        for (o, expected) in [
            ("https://a.example", true),
            ("http://localhost:3000", true),
            ("https://b.example:8443", true),
            // A disabled client's, another port, nobody's.
            ("https://off.example", false),
            ("https://b.example", false),
            ("https://c.example", false),
        ] {
            let origin = Origin::parse(o).unwrap();
            assert_eq!(
                store.cors_origin_registered(&origin).await.unwrap(),
                expected,
                "{o}"
            );
        }
        let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM portcullis_client_cors_origins")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows.0, 4, "one row per origin and client");
    }};
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_schema_15_indexes_the_origins_of_clients_stored_before_it() {
    // covers: CO-01
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-cors-index");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let store = portcullis::stores::SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    check_backfill!(
        &store,
        include_str!("../../src/stores/sql/migrations/sqlite_15.sql")
    );
    store.pool().close().await;
    let _ = std::fs::remove_file(&file);
}

#[cfg(feature = "postgres")]
#[cfg_attr(
    portcullis_no_postgres,
    ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
)]
#[tokio::test]
async fn postgres_schema_15_indexes_the_origins_of_clients_stored_before_it() {
    // covers: CO-01
    use std::str::FromStr as _;
    let Some(url) = crate::postgres::url() else {
        return;
    };
    // An empty schema of its own (through `search_path`), as the migration
    // tests do.
    let schema = format!("cors_index_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .execute(&admin)
    .await
    .unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let store = portcullis::stores::PostgresStore::from_pool(pool);
    store.migrate().await.unwrap();
    check_backfill!(
        &store,
        include_str!("../../src/stores/sql/migrations/postgres_15.sql")
    );
    store.pool().close().await;
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

#[cfg(feature = "mysql")]
#[cfg_attr(
    portcullis_no_mysql,
    ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
)]
#[tokio::test]
async fn mysql_schema_15_indexes_the_origins_of_clients_stored_before_it() {
    // covers: CO-01
    use std::str::FromStr as _;
    let Some(url) = crate::mysql::url() else {
        return;
    };
    // An empty database of its own, as the migration tests use.
    let database = format!("cors_index_{}", std::process::id());
    let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"
    ))
    .execute(&admin)
    .await
    .unwrap();
    let options = sqlx::mysql::MySqlConnectOptions::from_str(&url)
        .unwrap()
        .database(&database);
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let store = portcullis::stores::MySqlStore::from_pool(pool);
    store.migrate().await.unwrap();
    check_backfill!(
        &store,
        include_str!("../../src/stores/sql/migrations/mysql_15.sql")
    );
    store.pool().close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {database}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}
