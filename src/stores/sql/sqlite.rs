//! `SqliteStore`: every store trait on SQLite, the embedded default for a
//! single process.

use std::str::FromStr as _;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use super::migrate::Migration;
use super::rows::{ClientRow, audiences_column, challenge, grant_from, parsed, secs, time};
use super::store::{Decision, TokenRow, const_format_where};
use crate::client::{Client, ClientId, SecretHash};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::keys::{KeyId, KeyProvider, KeyRecord};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientAdmin, ClientStore, CodeRecord, Consent,
    ConsentAdmin, ConsentStore, Exchange, NewTokens, PurgeCounts, RefreshRecord, ReplayCache,
    ReplayScope, Rotation, SuspendedRequest, TokenAdmin, TokenStore,
};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

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
    agg = "group_concat", begin = "BEGIN IMMEDIATE", skip_locked = "",
    schema = &[
        Migration { description: "clients, codes, tokens and consent", sql: include_str!("migrations/sqlite.sql") },
        Migration { description: "JWT access tokens, signing keys, client assertion replay cache", sql: include_str!("migrations/sqlite_2.sql") },
        Migration { description: "authorization requests carried across login and consent", sql: include_str!("migrations/sqlite_3.sql") },
        Migration { description: "grants, locked by the steps that add tokens and marked by revocation", sql: include_str!("migrations/sqlite_4.sql") },
        Migration { description: "resource-server audiences of clients", sql: include_str!("migrations/sqlite_5.sql") },
    ]
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`),
    /// in WAL mode with foreign keys on and a busy timeout, so concurrent
    /// writers wait instead of failing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().connect_with(options).await?;
        Ok(Self::from_pool(pool))
    }
}
