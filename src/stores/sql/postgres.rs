//! `PostgresStore`: every store trait on PostgreSQL, so several instances of
//! a host application share clients, tokens and consent.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row as _;

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
    /// Every store trait on PostgreSQL (sqlx). Atomic steps are single
    /// transactions decided by a conditional `UPDATE`, so any number of
    /// application instances can share one database.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), portcullis::StoreError> {
    /// let store = portcullis::stores::PostgresStore::connect("postgres://localhost/auth").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    PostgresStore, db = sqlx::Postgres, pool = sqlx::PgPool, conn = sqlx::PgConnection,
    agg = "string_agg", schema = &[
        Migration { description: "clients, codes, tokens and consent", sql: include_str!("migrations/postgres.sql") },
        Migration { description: "JWT access tokens, signing keys, client assertion replay cache", sql: include_str!("migrations/postgres_2.sql") },
        Migration { description: "authorization requests carried across login and consent", sql: include_str!("migrations/postgres_3.sql") },
        // Version 4 is reserved for the grants table of issue 15 (another
        // branch); this stand-in changes nothing and is replaced by it.
        Migration { description: "reserved", sql: "SELECT 1;" },
        Migration { description: "resource-server audiences of clients", sql: include_str!("migrations/postgres_5.sql") },
    ]
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user:pass@host/db`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_pool(sqlx::PgPool::connect(url).await?))
    }
}
