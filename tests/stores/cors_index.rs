//! Schema 15 (CORS, CO-01; issue 19 part 3): the index of the clients'
//! CORS origins is filled from the clients stored before it, so an
//! upgraded database answers `cors_origin_registered` for them at once.

use portcullis::stores::SqliteStore;
use portcullis::{ClientStore as _, Origin};

#[tokio::test]
async fn schema_15_indexes_the_origins_of_clients_stored_before_it() {
    // covers: CO-01
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-cors-index");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // The state before schema 15: clients with origins in their column,
    // and no index.
    sqlx::raw_sql(
        "DROP TABLE portcullis_client_cors_origins;
         INSERT INTO portcullis_clients (client_id, client_name, token_endpoint_auth_method, scope, enabled, skip_consent, allow_plain_pkce, access_token_format, allowed_cors_origins)
         VALUES ('spa', 'SPA', 'none', 'read', TRUE, FALSE, FALSE, 'opaque', 'https://a.example http://localhost:3000 https://b.example:8443'),
                ('off', 'Off', 'none', 'read', FALSE, FALSE, FALSE, 'opaque', 'https://off.example'),
                ('none', 'None', 'none', 'read', TRUE, FALSE, FALSE, 'opaque', NULL);",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::raw_sql(include_str!(
        "../../src/stores/sql/migrations/sqlite_15.sql"
    ))
    .execute(store.pool())
    .await
    .unwrap();
    let registered = |o: &str| {
        let origin = Origin::parse(o).unwrap();
        let store = store.clone();
        async move { store.cors_origin_registered(&origin).await.unwrap() }
    };
    for o in [
        "https://a.example",
        "http://localhost:3000",
        "https://b.example:8443",
    ] {
        assert!(registered(o).await, "{o}");
    }
    for o in [
        "https://off.example",
        "https://b.example",
        "https://c.example",
    ] {
        assert!(!registered(o).await, "{o}");
    }
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM portcullis_client_cors_origins")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.0, 4, "one row per origin and client");
    store.pool().close().await;
    let _ = std::fs::remove_file(&file);
}
