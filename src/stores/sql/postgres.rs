//! `PostgresStore`: every store trait on PostgreSQL, so several instances of
//! a host application share clients, tokens and consent.

use std::sync::Arc;

use async_trait::async_trait;

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
    /// Every store trait on PostgreSQL (sqlx). Atomic steps are single
    /// transactions decided by a conditional `UPDATE`, and take the row lock
    /// of their grant that a revocation takes too, so any number of
    /// application instances can share one database, and a revocation wins
    /// against every step in flight at the default READ COMMITTED isolation.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), portcullis::StoreError> {
    /// let store = portcullis::stores::PostgresStore::connect("postgres://localhost/auth").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    PostgresStore, db = sqlx::Postgres, pool = sqlx::PgPool, conn = sqlx::PgConnection,
    agg = "string_agg", agg_sep = ", ", begin = "BEGIN", skip_locked = " FOR UPDATE SKIP LOCKED", mysql = false, single_writer = false,
    schema = &[
        Migration { description: "clients, codes, tokens and consent", sql: include_str!("migrations/postgres.sql") },
        Migration { description: "JWT access tokens, signing keys, client assertion replay cache", sql: include_str!("migrations/postgres_2.sql") },
        Migration { description: "authorization requests carried across login and consent", sql: include_str!("migrations/postgres_3.sql") },
        Migration { description: "grants, locked by the steps that add tokens and marked by revocation", sql: include_str!("migrations/postgres_4.sql") },
        Migration { description: "resource-server audiences of clients", sql: include_str!("migrations/postgres_5.sql") },
        Migration { description: "OpenID Connect registration of clients", sql: include_str!("migrations/postgres_6.sql") },
        Migration { description: "OpenID Connect facts of codes and tokens", sql: include_str!("migrations/postgres_7.sql") },
        Migration { description: "login session of codes and tokens, for revocation at logout", sql: include_str!("migrations/postgres_8.sql") },
        Migration { description: "DPoP, pushed and signed requests, resource indicators", sql: include_str!("migrations/postgres_9.sql") },
        Migration { description: "successor of a rotated-out refresh token, for the retry window", sql: include_str!("migrations/postgres_10.sql") },
        Migration { description: "device authorizations of the device grant", sql: include_str!("migrations/postgres_11.sql") },
        Migration { description: "the act claim of exchanged access tokens", sql: include_str!("migrations/postgres_12.sql") },
        Migration { description: "the full client model: RFC 7591 and OpenID Connect registration fields, CORS origins, owner, metadata", sql: include_str!("migrations/postgres_13.sql") },
        Migration { description: "registration access tokens of clients registered over HTTP (RFC 7592)", sql: include_str!("migrations/postgres_14.sql") },
        Migration { description: "an index of the clients' CORS origins", sql: include_str!("migrations/postgres_15.sql") },
        Migration { description: "the counts of the store-backed throttle", sql: include_str!("migrations/postgres_16.sql") },
    ]
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user:pass@host/db`), with the
    /// default [`SqlPoolOptions`](crate::stores::SqlPoolOptions).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &crate::stores::SqlPoolOptions::default()).await
    }

    /// Connects a pool to `url` sized and timed by `options`, purging in
    /// their batch.
    ///
    /// # Errors
    /// Invalid `options` ([`SqlOptionsError`](crate::stores::SqlOptionsError)
    /// as the source); a database failure.
    pub async fn connect_with(
        url: &str,
        options: &crate::stores::SqlPoolOptions,
    ) -> Result<Self, StoreError> {
        let batch = options.checked().map_err(StoreError::new)?;
        let pool = options
            .pool_beside_lane::<sqlx::Postgres>()
            .connect(url)
            .await?;
        Ok(Self::from_pool(pool)
            .with_lane(options.lane())
            .with_purge_batch(batch))
    }
}
