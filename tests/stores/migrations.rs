//! The SQL stores' schema migrations beside a host's own sqlx migrations on
//! one database (issue 14): our versions live in
//! `portcullis_schema_migrations`, so a host numbering its migrations from 1
//! in `_sqlx_migrations` works in either order, and a database migrated by
//! an earlier release (our rows in `_sqlx_migrations`) is adopted.

use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// A host's own migrations, numbered from 1 as `sqlx migrate add` would, in
/// a temporary directory of `.sql` files.
struct HostMigrations {
    dir: PathBuf,
}

impl HostMigrations {
    fn new(tag: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-host-migrations-{}-{}",
            std::process::id(),
            tag.replace("::", "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, sql) in files {
            std::fs::write(dir.join(name), sql).unwrap();
        }
        Self { dir }
    }

    /// Versions 1 and 2, the numbers that collided with ours before.
    fn numbered_from_one(tag: &str) -> Self {
        Self::new(
            tag,
            &[
                (
                    "1_users.sql",
                    "CREATE TABLE host_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
                ),
                (
                    "2_orders.sql",
                    "CREATE TABLE host_orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES host_users (id));",
                ),
            ],
        )
    }

    /// The default sqlx migrator over these files: it refuses any applied
    /// version it does not know (`VersionMissing`), so its success shows
    /// that `_sqlx_migrations` holds the host's rows only.
    async fn migrator(&self) -> Migrator {
        Migrator::new(self.dir.as_path()).await.unwrap()
    }
}

impl Drop for HostMigrations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the previous release ran: our schema through sqlx's migrator,
/// versions 1.. described "portcullis schema", in `_sqlx_migrations`.
#[derive(Debug)]
struct PreviousRelease(&'static [&'static str]);

impl<'s> MigrationSource<'s> for PreviousRelease {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>>
    {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .zip(1..)
                .map(|(sql, version)| {
                    Migration::new(
                        version,
                        Cow::Borrowed("portcullis schema"),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

async fn previous_release_migrator(schema: &'static [&'static str]) -> Migrator {
    let mut m = Migrator::new(PreviousRelease(schema)).await.unwrap();
    m.set_ignore_missing(true);
    m
}

/// A statement as PostgreSQL and SQLite take it: as written.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn as_written(sql: &str) -> String {
    sql.to_owned()
}

/// The error chain of a failed `migrate()`, as an operator would read it.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

/// The same tests for each SQL store; `$fresh(tag)` gives a store on an
/// empty database (and whatever must outlive the test), `$schema` the SQL
/// of our first migrations as shipped, `$before_oidc` those before the
/// OpenID Connect client fields, `$before_openid` those before the OpenID
/// Connect columns of codes and tokens; attributes before them go on every
/// test. `$sql` gives a statement with placeholders `$1, $2` (each once, in
/// order) as the database takes it.
macro_rules! migration_tests {
    ($(#[$m:meta])* $store:ty, $fresh:path, $cleanup:path, $sql:path, $schema:expr, $before_oidc:expr, $before_openid:expr) => {
        async fn versions(store: &$store, table: &str) -> Vec<(i64, String)> {
            sqlx::query_as(&format!(
                "SELECT version, description FROM {table} ORDER BY version"
            ))
            .fetch_all(store.pool())
            .await
            .unwrap()
        }

        /// Our schema and the host's tables are usable.
        async fn both_schemas_work(store: &$store) {
            sqlx::query("INSERT INTO host_users (id, name) VALUES (1, 'ada')")
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO host_orders (id, user_id) VALUES (1, 1)")
                .execute(store.pool())
                .await
                .unwrap();
            let keys: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM portcullis_keys")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(keys.0, 0);
        }

        async fn assert_separate_ledgers(store: &$store) {
            assert_eq!(
                versions(store, "_sqlx_migrations").await,
                vec![(1, "users".to_owned()), (2, "orders".to_owned())],
                "the host's table holds the host's migrations only"
            );
            let ours: Vec<i64> = versions(store, "portcullis_schema_migrations")
                .await
                .into_iter()
                .map(|(v, _)| v)
                .collect();
            assert_eq!(ours, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        }

        #[tokio::test]

        $(#[$m])*
        async fn host_migrations_first_then_ours_rerunnable() {
            let Some((store, guard)) = $fresh("host-first").await else { return };
            let host = HostMigrations::numbered_from_one(concat!(module_path!(), "-host-first"));
            host.migrator().await.run(store.pool()).await.unwrap();
            store.migrate().await.unwrap();
            // Both again, in both orders: nothing to do, nothing refused.
            host.migrator().await.run(store.pool()).await.unwrap();
            store.migrate().await.unwrap();
            host.migrator().await.run(store.pool()).await.unwrap();
            assert_separate_ledgers(&store).await;
            both_schemas_work(&store).await;
            $cleanup(store, guard).await;
        }

        #[tokio::test]

        $(#[$m])*
        async fn ours_first_then_host_migrations_rerunnable() {
            let Some((store, guard)) = $fresh("ours-first").await else { return };
            let host = HostMigrations::numbered_from_one(concat!(module_path!(), "-ours-first"));
            store.migrate().await.unwrap();
            host.migrator().await.run(store.pool()).await.unwrap();
            store.migrate().await.unwrap();
            host.migrator().await.run(store.pool()).await.unwrap();
            store.migrate().await.unwrap();
            assert_separate_ledgers(&store).await;
            both_schemas_work(&store).await;
            $cleanup(store, guard).await;
        }

        #[tokio::test]

        $(#[$m])*
        async fn adopts_the_rows_of_the_previous_release() {
            let Some((store, guard)) = $fresh("adopt").await else { return };
            // The previous layout: our versions 1 and 2 and a host's
            // timestamped migration, all in `_sqlx_migrations`.
            let host = HostMigrations::new(
                concat!(module_path!(), "-adopt"),
                &[(
                    "20240101000000_users.sql",
                    "CREATE TABLE host_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
                )],
            );
            previous_release_migrator($schema).await.run(store.pool()).await.unwrap();
            let mut lenient = host.migrator().await;
            lenient.set_ignore_missing(true);
            lenient.run(store.pool()).await.unwrap();
            sqlx::query("INSERT INTO portcullis_assertion_jtis (client_id, jti, expires_at) VALUES ('c', 'j', 7)")
                .execute(store.pool())
                .await
                .unwrap();
            let before: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT version, checksum FROM _sqlx_migrations WHERE version < 3 ORDER BY version",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            assert_eq!(before.len(), 2);

            store.migrate().await.unwrap();

            let adopted: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT version, checksum FROM portcullis_schema_migrations ORDER BY version",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            // Versions 1 and 2 adopted as they were, the later versions applied anew.
            assert_eq!(adopted.get(..2), Some(&before[..]), "our versions and checksums moved over");
            assert_eq!(adopted.iter().map(|(v, _)| *v).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
            assert_eq!(
                versions(&store, "_sqlx_migrations").await,
                vec![(20240101000000, "users".to_owned())],
                "the host's row stays; ours are gone"
            );
            // Nothing was re-applied: the data is still there.
            let kept: (i64,) = sqlx::query_as("SELECT expires_at FROM portcullis_assertion_jtis WHERE jti = 'j'")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(kept.0, 7);
            // The host's strict migrator now passes, and both re-run cleanly.
            host.migrator().await.run(store.pool()).await.unwrap();
            store.migrate().await.unwrap();
            host.migrator().await.run(store.pool()).await.unwrap();
            $cleanup(store, guard).await;
        }

        #[tokio::test]

        $(#[$m])*
        async fn clients_stored_before_openid_connect_read_back_as_plain_oauth_clients() {
            // issue 16: the schema that adds the OpenID Connect client fields
            // keeps every client stored before it, as a public-subject
            // client without logout URIs.
            use portcullis::{ClientId, ClientStore as _, SubjectType};
            let Some((store, guard)) = $fresh("oidc-upgrade").await else { return };
            previous_release_migrator($before_oidc).await.run(store.pool()).await.unwrap();
            sqlx::query(
                "INSERT INTO portcullis_clients (client_id, client_name, token_endpoint_auth_method, scope, enabled, skip_consent, allow_plain_pkce, access_token_format) VALUES ('old', 'Old client', 'none', 'read', TRUE, FALSE, FALSE, 'opaque')",
            )
            .execute(store.pool())
            .await
            .unwrap();
            store.migrate().await.unwrap();
            let old = store
                .client(&ClientId::parse("old").unwrap())
                .await
                .unwrap()
                .expect("the client stored before the migration");
            assert_eq!(old.client_name(), "Old client");
            assert_eq!(old.subject_type(), SubjectType::Public);
            assert!(old.post_logout_redirect_uris().is_empty());
            assert!(old.backchannel_logout_uri().is_none() && !old.backchannel_logout_session_required());
            assert!(old.id_token_signed_response_alg().is_none() && old.default_max_age().is_none());
            assert!(!old.require_auth_time() && old.logo_uri().is_none());
            $cleanup(store, guard).await;
        }

        #[tokio::test]

        $(#[$m])*
        async fn a_changed_migration_is_a_clear_error() {
            let Some((store, guard)) = $fresh("checksum").await else { return };
            store.migrate().await.unwrap();
            sqlx::query(&$sql("UPDATE portcullis_schema_migrations SET checksum = $1 WHERE version = 2"))
                .bind(vec![0_u8; 48])
                .execute(store.pool())
                .await
                .unwrap();
            let err = store.migrate().await.unwrap_err();
            let text = chain(&err);
            assert!(
                text.contains("migration 2") && text.contains("checksum mismatch"),
                "{text}"
            );
            $cleanup(store, guard).await;
        }

        // covers: OI-02
        // issue 16: the codes and tokens of a database from before the
        // OpenID Connect columns read back without facts, and new ones keep
        // theirs.
        #[tokio::test]

        $(#[$m])*
        async fn rows_from_before_the_openid_columns_read_without_facts() {
            use portcullis::{OpenIdGrant, TokenHash, TokenStore as _, UnixTime};
            let Some((store, guard)) = $fresh("openid-columns").await else { return };
            previous_release_migrator($before_openid).await.run(store.pool()).await.unwrap();
            let (code, token) = (TokenHash::of("old code"), TokenHash::of("old token"));
            sqlx::query(&$sql("INSERT INTO portcullis_codes (hash, grant_id, client_id, subject, scope, redirect_uri, challenge, challenge_method, issued_at, expires_at, used) VALUES ($1, $2, 'c', 'alice', 'openid', NULL, NULL, NULL, 1, 4000000000, FALSE)"))
                .bind(code.as_bytes().to_vec())
                .bind(code.as_bytes()[..16].to_vec())
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query(&$sql("INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, used) VALUES ($1, 0, $2, 'c', 'alice', 'openid', 1, 4000000000, FALSE)"))
                .bind(token.as_bytes().to_vec())
                .bind(code.as_bytes()[..16].to_vec())
                .execute(store.pool())
                .await
                .unwrap();

            store.migrate().await.unwrap();

            let mut old = store.find_code(&code).await.unwrap().expect("the code is kept");
            assert_eq!(old.openid, None);
            let access = store.find_access(&token).await.unwrap().expect("the token is kept");
            assert_eq!(access.openid, None);
            old.hash = TokenHash::of("new code");
            old.openid = Some(OpenIdGrant::new(UnixTime::from_secs(5)).with_acr("urn:x"));
            store.insert_code(old.clone()).await.unwrap();
            assert_eq!(store.find_code(&old.hash).await.unwrap(), Some(old));
            $cleanup(store, guard).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]

        $(#[$m])*
        async fn concurrent_migrators_all_succeed() {
            let Some((store, guard)) = $fresh("concurrent").await else { return };
            let others = [store.clone(), store.clone(), store.clone(), store.clone()];
            let runs = others.map(|s| tokio::spawn(async move { s.migrate().await }));
            for run in runs {
                run.await.unwrap().unwrap();
            }
            let ours: Vec<i64> = versions(&store, "portcullis_schema_migrations")
                .await
                .into_iter()
                .map(|(v, _)| v)
                .collect();
            assert_eq!(ours, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
            $cleanup(store, guard).await;
        }
    };
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use portcullis::stores::SqliteStore;

    /// A store on a new SQLite file; the guard is its directory.
    async fn fresh(tag: &str) -> Option<(SqliteStore, PathBuf)> {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-migrations-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("app.db").display());
        Some((SqliteStore::connect(&url).await.unwrap(), dir))
    }

    async fn cleanup(store: SqliteStore, dir: PathBuf) {
        store.pool().close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    migration_tests!(
        SqliteStore,
        fresh,
        cleanup,
        as_written,
        &[
            include_str!("../../src/stores/sql/migrations/sqlite.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_2.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/sqlite.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_2.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_3.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_4.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_5.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/sqlite.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_2.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_3.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_4.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_5.sql"),
            include_str!("../../src/stores/sql/migrations/sqlite_6.sql"),
        ]
    );
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::str::FromStr as _;

    use super::*;
    use portcullis::stores::PostgresStore;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    /// A store whose connections see only a new, empty schema of the test
    /// database (through `search_path`): an empty database for each test,
    /// without needing CREATEDB. The guard is the schema's name.
    async fn fresh(tag: &str) -> Option<(PostgresStore, String)> {
        // The test database (a throwaway cluster when no URL is set), or a
        // loud skip when there is no PostgreSQL.
        let url = crate::postgres::url()?;
        let schema = format!(
            "migrations_{}_{}",
            std::process::id(),
            tag.replace('-', "_")
        );
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        Some((PostgresStore::from_pool(pool), schema))
    }

    async fn cleanup(store: PostgresStore, schema: String) {
        sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(store.pool())
            .await
            .unwrap();
        store.pool().close().await;
    }

    migration_tests!(
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        PostgresStore,
        fresh,
        cleanup,
        as_written,
        &[
            include_str!("../../src/stores/sql/migrations/postgres.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_2.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/postgres.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_2.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_3.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_4.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_5.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/postgres.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_2.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_3.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_4.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_5.sql"),
            include_str!("../../src/stores/sql/migrations/postgres_6.sql"),
        ]
    );
}

#[cfg(feature = "mysql")]
mod mysql {
    use std::str::FromStr as _;

    use super::*;
    use portcullis::stores::MySqlStore;
    use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};

    /// A store on a new, empty database of the test server; the guard is
    /// the database's name.
    async fn fresh(tag: &str) -> Option<(MySqlStore, String)> {
        let url = crate::mysql::url()?;
        let database = format!(
            "migrations_{}_{}",
            std::process::id(),
            tag.replace('-', "_")
        );
        let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"
        ))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let options = MySqlConnectOptions::from_str(&url)
            .unwrap()
            .database(&database);
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        Some((MySqlStore::from_pool(pool), database))
    }

    async fn cleanup(store: MySqlStore, database: String) {
        sqlx::raw_sql(&format!("DROP DATABASE {database}"))
            .execute(store.pool())
            .await
            .unwrap();
        store.pool().close().await;
    }

    /// MySQL's placeholders are `?`, bound by position.
    fn question_marks(sql: &str) -> String {
        sql.replace("$1", "?").replace("$2", "?")
    }

    // No release before the MySQL store recorded its schema in
    // `_sqlx_migrations`; the adoption test still checks that the MySQL
    // dialect reads and moves such rows.
    migration_tests!(
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        MySqlStore,
        fresh,
        cleanup,
        question_marks,
        &[
            include_str!("../../src/stores/sql/migrations/mysql.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_2.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/mysql.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_2.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_3.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_4.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_5.sql"),
        ],
        &[
            include_str!("../../src/stores/sql/migrations/mysql.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_2.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_3.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_4.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_5.sql"),
            include_str!("../../src/stores/sql/migrations/mysql_6.sql"),
        ]
    );
}
