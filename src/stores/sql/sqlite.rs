//! `SqliteStore`: every store trait on SQLite, the embedded default for a
//! single process.

use std::str::FromStr as _;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

use super::migrate::Migration;
use super::rows::{
    ClientRow, OpenIdColumns, audiences_column, challenge, grant_from, openid, parsed,
    post_logout_column, secs, time,
};
use super::store::{Column as _, Decision, TokenRow, const_format_where};
// The full client model (issue 19).
use super::rows::RegistrationColumns;
use crate::client::{Client, ClientId, SecretHash};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::keys::{Algorithm, KeyId, KeyProvider, KeyRecord};
use crate::oidc::{OpenIdGrant, SessionId};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientAdmin, ClientStore, CodeRecord, Consent,
    ConsentAdmin, ConsentStore, Exchange, NewTokens, OFFLINE_ACCESS, PurgeCounts, RefreshRecord,
    ReplayCache, ReplayScope, Rotation, SuspendedRequest, TokenAdmin, TokenStore,
};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;
use crate::web_url::WebUrl;

sql_store! {
    /// Every store trait on SQLite (sqlx). SQLite serialises writers, and
    /// each atomic step is one transaction begun `IMMEDIATE` (it takes the
    /// write lock at once), so exactly one concurrent caller wins and a
    /// revocation falls wholly between two steps.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), portcullis::StoreError> {
    /// let store = portcullis::stores::SqliteStore::connect("sqlite://auth.db").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    SqliteStore, db = sqlx::Sqlite, pool = sqlx::SqlitePool, conn = sqlx::SqliteConnection,
    agg = "group_concat", agg_sep = ", ", begin = "BEGIN IMMEDIATE", skip_locked = "", mysql = false, single_writer = true,
    schema = &[
        Migration { description: "clients, codes, tokens and consent", sql: include_str!("migrations/sqlite.sql") },
        Migration { description: "JWT access tokens, signing keys, client assertion replay cache", sql: include_str!("migrations/sqlite_2.sql") },
        Migration { description: "authorization requests carried across login and consent", sql: include_str!("migrations/sqlite_3.sql") },
        Migration { description: "grants, locked by the steps that add tokens and marked by revocation", sql: include_str!("migrations/sqlite_4.sql") },
        Migration { description: "resource-server audiences of clients", sql: include_str!("migrations/sqlite_5.sql") },
        Migration { description: "OpenID Connect registration of clients", sql: include_str!("migrations/sqlite_6.sql") },
        Migration { description: "OpenID Connect facts of codes and tokens", sql: include_str!("migrations/sqlite_7.sql") },
        Migration { description: "login session of codes and tokens, for revocation at logout", sql: include_str!("migrations/sqlite_8.sql") },
        Migration { description: "DPoP, pushed and signed requests, resource indicators", sql: include_str!("migrations/sqlite_9.sql") },
        Migration { description: "successor of a rotated-out refresh token, for the retry window", sql: include_str!("migrations/sqlite_10.sql") },
        Migration { description: "device authorizations of the device grant", sql: include_str!("migrations/sqlite_11.sql") },
        Migration { description: "the act claim of exchanged access tokens", sql: include_str!("migrations/sqlite_12.sql") },
        Migration { description: "the full client model: RFC 7591 and OpenID Connect registration fields, CORS origins, owner, metadata", sql: include_str!("migrations/sqlite_13.sql") },
        Migration { description: "registration access tokens of clients registered over HTTP (RFC 7592)", sql: include_str!("migrations/sqlite_14.sql") },
        Migration { description: "an index of the clients' CORS origins", sql: include_str!("migrations/sqlite_15.sql") },
        Migration { description: "the counts of the store-backed throttle", sql: include_str!("migrations/sqlite_16.sql") },
    ]
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`),
    /// in WAL mode with foreign keys on and a busy timeout, so concurrent
    /// writers wait instead of failing.
    ///
    /// A database file this creates is readable and writable by its owner
    /// only (mode 0600 on Unix, whatever the process umask): it holds
    /// signing keys, secret hashes and token hashes. SQLite gives its `-wal`
    /// and `-shm` files the database file's mode. An existing file keeps
    /// its mode.
    ///
    /// The pool and busy timeout are the default
    /// [`SqlPoolOptions`](crate::stores::SqlPoolOptions).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &crate::stores::SqlPoolOptions::default()).await
    }

    /// [`connect`](Self::connect), the pool sized and timed by `options`,
    /// waiting `busy_timeout` for another writer, purging in their batch.
    ///
    /// # Errors
    /// Invalid `options` ([`SqlOptionsError`](crate::stores::SqlOptionsError)
    /// as the source); a database failure.
    pub async fn connect_with(
        url: &str,
        pool_options: &crate::stores::SqlPoolOptions,
    ) -> Result<Self, StoreError> {
        let batch = pool_options.checked().map_err(StoreError::new)?;
        let options = SqliteConnectOptions::from_str(url)?;
        if on_disk_read_write(url) {
            create_private(options.get_filename())?;
        }
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(pool_options.get_busy_timeout());
        let pool = pool_options
            .pool::<sqlx::Sqlite>()
            .after_release(|conn, _| {
                Box::pin(async move {
                    // A connection must come back outside any transaction.
                    // sqlx cannot promise it: a `BEGIN IMMEDIATE` whose
                    // request is dropped just after the database began it
                    // leaves it open, holding SQLite's one write lock until
                    // the connection is used again, and every other writer
                    // waits out its busy timeout (seen under load, issue
                    // 20). A `ROLLBACK` that succeeds found such a
                    // transaction (and ended it): the connection is closed,
                    // as sqlx still counts it in a transaction. One that
                    // fails ("no transaction is active") found it clean.
                    Ok(sqlx::Executor::execute(&mut *conn, "ROLLBACK")
                        .await
                        .is_err())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self::from_pool(pool).with_purge_batch(batch))
    }
}

/// Whether `url` names a database file opened for writing (not an
/// in-memory database, not `mode=ro`).
fn on_disk_read_write(url: &str) -> bool {
    !(url.contains(":memory:") || url.contains("mode=memory") || url.contains("mode=ro"))
}

/// Creates `path` empty with mode 0600 if it does not exist, so SQLite
/// never creates it with the umask's (usually world-readable) mode.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        // Already there (perhaps created a moment ago by another process).
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::new(e)),
    }
}
