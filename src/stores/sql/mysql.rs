//! `MySqlStore`: every store trait on MySQL/MariaDB, so several instances of
//! a host application share clients, tokens and consent.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::mysql::MySqlConnectOptions;

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
    /// Every store trait on MySQL/MariaDB (sqlx), for MariaDB 10.6 or later
    /// (see docs/sql-stores.md for MySQL 8). Atomic steps are single
    /// transactions at READ COMMITTED decided by a conditional `UPDATE`, and
    /// take the row lock of their grant that a revocation takes too (an
    /// upsert, then a locking read of its `revoked` mark), so any number of
    /// application instances can share one database, and a revocation wins
    /// against every step in flight.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), portcullis::StoreError> {
    /// let store = portcullis::stores::MySqlStore::connect("mysql://user:pass@localhost/auth").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    MySqlStore, db = sqlx::MySql, pool = sqlx::MySqlPool, conn = sqlx::MySqlConnection,
    agg = "GROUP_CONCAT", agg_sep = " SEPARATOR ",
    // Each step's transaction at READ COMMITTED (set for the session by
    // `SESSION_SETTINGS`), whatever the server's default (REPEATABLE
    // READ): no gap locks, so concurrent steps and revocations wait only
    // for the rows they share (see `store`). Not `SET TRANSACTION …` here:
    // a step cancelled between it and `START TRANSACTION` left the next
    // one's `SET TRANSACTION` failing inside a transaction (error 1568,
    // found under load by benches/store_load.sh).
    begin = "START TRANSACTION",
    skip_locked = " FOR UPDATE SKIP LOCKED", mysql = true, single_writer = false,
    schema = &[
        Migration { description: "clients, codes, tokens and consent", sql: include_str!("migrations/mysql.sql") },
        Migration { description: "JWT access tokens, signing keys, client assertion replay cache", sql: include_str!("migrations/mysql_2.sql") },
        Migration { description: "authorization requests carried across login and consent", sql: include_str!("migrations/mysql_3.sql") },
        Migration { description: "grants, locked by the steps that add tokens and marked by revocation", sql: include_str!("migrations/mysql_4.sql") },
        Migration { description: "resource-server audiences of clients", sql: include_str!("migrations/mysql_5.sql") },
        Migration { description: "OpenID Connect registration of clients", sql: include_str!("migrations/mysql_6.sql") },
        Migration { description: "OpenID Connect facts of codes and tokens", sql: include_str!("migrations/mysql_7.sql") },
        Migration { description: "login session of codes and tokens, for revocation at logout", sql: include_str!("migrations/mysql_8.sql") },
        Migration { description: "DPoP, pushed and signed requests, resource indicators", sql: include_str!("migrations/mysql_9.sql") },
        Migration { description: "successor of a rotated-out refresh token, for the retry window", sql: include_str!("migrations/mysql_10.sql") },
        Migration { description: "device authorizations of the device grant", sql: include_str!("migrations/mysql_11.sql") },
        Migration { description: "the act claim of exchanged access tokens", sql: include_str!("migrations/mysql_12.sql") },
        Migration { description: "the full client model: RFC 7591 and OpenID Connect registration fields, CORS origins, owner, metadata", sql: include_str!("migrations/mysql_13.sql") },
        Migration { description: "registration access tokens of clients registered over HTTP (RFC 7592)", sql: include_str!("migrations/mysql_14.sql") },
        Migration { description: "an index of the clients' CORS origins", sql: include_str!("migrations/mysql_15.sql") },
        Migration { description: "the counts of the store-backed throttle, shared by every instance", sql: include_str!("migrations/mysql_16.sql") },
    ]
}

/// Set on every connection [`MySqlStore::connect`] opens: transactions at
/// READ COMMITTED (the atomic steps rely on it), and a `GROUP_CONCAT` long
/// enough for a client's redirect URIs, which MySQL cuts at
/// `group_concat_max_len` (1024 bytes by default on MySQL 8; MariaDB's is
/// 1 MiB). A pool passed to `from_pool` needs the same (`after_connect`).
pub const SESSION_SETTINGS: &str = "SET SESSION group_concat_max_len = 16777216; SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

impl MySqlStore {
    /// Connects a pool to `url` (`mysql://user:pass@host/db`), each
    /// connection with [`SESSION_SETTINGS`], with the default
    /// [`SqlPoolOptions`](crate::stores::SqlPoolOptions).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &crate::stores::SqlPoolOptions::default()).await
    }

    /// Connects a pool to `url` sized and timed by `options`, each
    /// connection with [`SESSION_SETTINGS`], purging in their batch.
    ///
    /// # Errors
    /// Invalid `options` ([`SqlOptionsError`](crate::stores::SqlOptionsError)
    /// as the source); a database failure.
    pub async fn connect_with(
        url: &str,
        options: &crate::stores::SqlPoolOptions,
    ) -> Result<Self, StoreError> {
        let batch = options.checked().map_err(StoreError::new)?;
        let connect: MySqlConnectOptions = url.parse()?;
        let pool = options
            .pool_beside_lane::<sqlx::MySql>()
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(conn, SESSION_SETTINGS).await?;
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Self::from_pool(pool)
            .with_lane(options.lane())
            .with_purge_batch(batch))
    }
}
