//! `sql_store!`: the one implementation of every store trait over sqlx,
//! instantiated for PostgreSQL, SQLite and MySQL/MariaDB. The SQL is portable
//! between them except for what the parameters carry: the string aggregate,
//! how a write transaction begins, row locking in `purge_expired`, and on
//! MySQL (`mysql = true`) `?` placeholders (each statement binds its `$N`
//! once each, in order, so they are rewritten: `question_marks`) and the
//! statements chosen by `if Self::MYSQL` where MySQL has no `ON CONFLICT` or
//! `RETURNING`.
//!
//! On MySQL the grant lock is an upsert that takes the row's exclusive lock
//! followed by a locking read of its mark (`MYSQL_LOCK_GRANT`), and every
//! step runs at READ COMMITTED, where locking reads, `UPDATE`s and
//! `DELETE`s read the newest committed rows, so the argument below holds as
//! it does for PostgreSQL.
//!
//! # How a revocation wins (RB-05)
//!
//! Every transaction that adds tokens to an existing grant (`exchange_code`,
//! `rotate_refresh`, and `issue` into a grant it does not start) first
//! upserts the grant's row in `portcullis_grants` unless it is marked
//! revoked (`LOCK_GRANT`), which takes that row's lock until it commits; a
//! revoked grant stores nothing. Rows are created on first use, so a
//! `client_credentials` token (a grant of its own) costs none.
//!
//! Every revocation (`revoke_grant`, `revoke_client`, `revoke_user`) first
//! marks the rows of the grants it covers revoked, taking the same locks (in
//! `grant_id` order when there are several, so two revocations cannot
//! deadlock), and only then deletes the grant's codes and tokens.
//!
//! On PostgreSQL at READ COMMITTED that ordering is the whole argument: the
//! marking statement waits for every step in flight that holds the lock,
//! and re-reads the row once it commits; a step that comes later waits for
//! the revocation and then finds the mark (an upsert re-checks its `WHERE`
//! against the newest row version), so it stores nothing. The `DELETE`s run
//! as later statements, each with a fresh snapshot that holds everything
//! the waited-for steps committed. A `DELETE` alone waits only for rows its
//! snapshot already had, and missed what a rotation inserted meanwhile:
//! that was issue 15's finding. Locks are taken grant row first, then code
//! or token rows, by steps and revocations alike, so they cannot deadlock;
//! `purge_expired` takes grant rows last, in statements of their own that
//! skip locked rows.
//!
//! # Purging in bounded batches
//!
//! `purge_expired` and `purge_replays` delete at most the store's purge
//! batch of rows (`with_purge_batch`, default
//! [`DEFAULT_PURGE_BATCH`](super::options::DEFAULT_PURGE_BATCH)) per
//! statement, each statement its own short transaction, and repeat until a
//! batch removes fewer: a purge of a million expired rows never holds the
//! token path for longer than one batch. On PostgreSQL a batch locks its
//! rows `FOR UPDATE SKIP LOCKED`, so it never waits for a row a step holds
//! (a skipped row goes in a later purge) and holds no grant row while it
//! deletes codes and tokens. Grant rows go last, a window of at most a
//! batch of them (in `grant_id` order) per statement, skipping locked ones.
//!
//! On SQLite a write transaction begins `IMMEDIATE`, taking the database's
//! write lock at once: writers run one at a time (waiting, under the busy
//! timeout, rather than failing on a stale read snapshot), and the same
//! statements give the same answers.

/// A purge batch's `DELETE` (`$1`: now, `$2`: the batch size) of the rows
/// of `$table` that meet `$cond`, by `$key`: through a `LIMIT`ed subquery
/// that skips locked rows (PostgreSQL; SQLite ignores the empty
/// `$skip_locked`), or on MySQL, which refuses a subquery on the table it
/// deletes from (error 1093), with `DELETE … LIMIT`.
macro_rules! batch_delete {
    ($mysql:expr, $skip_locked:literal, $table:literal, $key:literal, $cond:literal) => {
        if $mysql {
            concat!("DELETE FROM ", $table, " WHERE ", $cond, " LIMIT $2")
        } else {
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " IN (SELECT ",
                $key,
                " FROM ",
                $table,
                " WHERE ",
                $cond,
                " LIMIT $2",
                $skip_locked,
                ")"
            )
        }
    };
}

macro_rules! sql_store {
    (
        $(#[$doc:meta])*
        $name:ident, db = $db:ty, pool = $pool:ty, conn = $conn:ty,
        agg = $agg:literal, agg_sep = $agg_sep:literal, begin = $begin:literal,
        skip_locked = $skip_locked:literal, mysql = $mysql:literal, single_writer = $single_writer:literal,
        schema = $schema:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            pool: $pool,
            /// The group commit of issuances that start a grant (issue 20;
            /// `group_commit`).
            group: std::sync::Arc<super::group_commit::GroupCommit>,
            /// Concurrent identical reads sharing one statement (`coalesce`).
            reads: std::sync::Arc<super::coalesce::Reads>,
            /// Connections kept at hand for the hot statements (`lane`).
            lane: std::sync::Arc<super::lane::Lane<$db>>,
            /// SQLite: the one turn of this process's writers (`turn`).
            writers: std::sync::Arc<tokio::sync::Semaphore>,
            /// Rows a purge deletes per statement (and transaction).
            purge_batch: std::num::NonZeroU32,
        }

        /// The group commit's writer: the pool, the store's lane and its
        /// writers' turn.
        impl super::group_commit::Writer for ($pool, std::sync::Arc<super::lane::Lane<$db>>, std::sync::Arc<tokio::sync::Semaphore>) {
            async fn many(&self, batch: &[NewTokens]) -> Result<(), StoreError> {
                let mut q = $name::insert_query(batch.iter().flat_map(super::store::TokenColumns::of));
                let _turn = $name::turn_of(&self.2).await?;
                let mut held = self.1.take(&self.0).await?;
                // One statement per batch size: not worth a prepared
                // statement in every connection's cache.
                q.build().persistent(false).execute(&mut *held.conn).await?;
                self.1.put(held);
                Ok(())
            }
        }

        impl $name {
            /// Whether this is the MySQL dialect: `?` placeholders, no
            /// `ON CONFLICT` and no `RETURNING` (see the module docs).
            const MYSQL: bool = $mysql;

            /// Whether this process's writers take turns (`turn`): SQLite,
            /// whose database has one write lock.
            const SINGLE_WRITER: bool = $single_writer;

            /// SQLite: waits for this process's write turn, held until the
            /// permit is dropped. SQLite lets one writer at a time hold its
            /// lock, and a writer that finds it taken sleeps in its busy
            /// handler (up to 100 ms a try) however soon the lock is free:
            /// under load, writers that queue here instead, in arrival
            /// order, each start the moment the last is done (issue 20).
            /// Other processes on the same file still meet the busy handler.
            /// `None` at once on the other databases, whose writers lock
            /// rows, not the database.
            async fn turn(&self) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, StoreError> {
                Self::turn_of(&self.writers).await
            }

            /// [`turn`](Self::turn) on `writers` (the group commit's writer
            /// holds the store's semaphore, not the store).
            async fn turn_of(writers: &tokio::sync::Semaphore) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, StoreError> {
                if !Self::SINGLE_WRITER {
                    return Ok(None);
                }
                writers.acquire().await.map(Some).map_err(|_| StoreError::msg("the store's write turn is closed"))
            }

            /// `sql` as this database takes it: as written (`$1, $2…`) on
            /// PostgreSQL and SQLite, with `?` placeholders on MySQL.
            fn sql(sql: &str) -> Result<&str, StoreError> {
                if Self::MYSQL { super::store::question_marks(sql) } else { Ok(sql) }
            }

            /// Wraps an existing connection pool; purges in batches of
            /// [`DEFAULT_PURGE_BATCH`](crate::stores::DEFAULT_PURGE_BATCH)
            /// rows.
            pub fn from_pool(pool: $pool) -> Self {
                let lane = std::sync::Arc::new(super::lane::Lane::new(0));
                Self { pool, group: std::sync::Arc::default(), reads: std::sync::Arc::default(), lane, writers: std::sync::Arc::new(tokio::sync::Semaphore::new(1)), purge_batch: super::options::DEFAULT_PURGE_BATCH }
            }

            /// Sets how many rows `purge_expired` and `purge_replays` delete
            /// per statement, each its own short transaction: they repeat
            /// until a batch removes fewer, so a large purge never holds
            /// the token path for long. Smaller batches hold locks for
            /// less time and cost more round trips.
            #[must_use]
            pub fn with_purge_batch(mut self, rows: std::num::NonZeroU32) -> Self {
                self.purge_batch = rows;
                self
            }

            /// Gives the store a lane of `size` connections (`lane`) beside
            /// its pool.
            #[allow(dead_code, reason = "SQLite's store has no lane")]
            fn with_lane(mut self, size: usize) -> Self {
                self.lane = std::sync::Arc::new(super::lane::Lane::new(size));
                self
            }

            /// The rows of `q`, a write that returns rows (`… RETURNING`).
            /// SQLite: under the write turn and in a transaction, because
            /// such a write holds SQLite's write lock until its statement is
            /// done, and a request dropped midway would leave it holding
            /// it; in a transaction, the transaction's drop rolls it back.
            async fn returning<'q>(
                &self,
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            ) -> Result<Vec<<$db as sqlx::Database>::Row>, StoreError> {
                if !Self::SINGLE_WRITER {
                    return Ok(q.fetch_all(&self.pool).await?);
                }
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                let rows = q.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows)
            }

            /// How many rows a purge deletes per statement.
            pub fn purge_batch(&self) -> std::num::NonZeroU32 {
                self.purge_batch
            }

            /// Runs the batch `DELETE` `sql` (`$1`: now, `$2`: the batch
            /// size) until a batch removes fewer rows than a batch, each
            /// batch in a transaction of its own; returns how many it
            /// removed in all.
            async fn purge_batches(&self, sql: &str, now: UnixTime) -> Result<u64, StoreError> {
                let batch = u64::from(self.purge_batch.get());
                let mut total = 0;
                loop {
                    let started = std::time::Instant::now();
                    let _turn = self.turn().await?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    let n = sqlx::query(Self::sql(sql)?)
                        .bind(secs(now))
                        .bind(i64::from(self.purge_batch.get()))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    total += n;
                    if n < batch {
                        return Ok(total);
                    }
                    Self::between_batches(started.elapsed()).await;
                }
            }

            /// SQLite: writers take turns on one lock, and a writer waiting
            /// for it only retries now and then (its busy handler sleeps up
            /// to 100 ms between tries), so a purge that began its next batch
            /// at once would starve them. It rests as long as its batch took:
            /// it holds the write lock at most half the time. PostgreSQL
            /// locks rows, and a batch skips those a step holds: no pause.
            async fn between_batches(took: std::time::Duration) {
                super::store::rest_between_batches(<$db as sqlx::Database>::NAME, took).await;
            }

            /// Removes the grant rows with no code or token left, a window
            /// of at most a batch of rows (in `grant_id` order) per
            /// statement, skipping rows a step holds (PostgreSQL), so it
            /// never waits. Nothing of such a grant can come back (every
            /// step that adds to a grant needs one of its codes or tokens),
            /// so neither can its revoked mark matter.
            async fn purge_grant_rows(&self) -> Result<(), StoreError> {
                let batch = i64::from(self.purge_batch.get());
                let mut after: Vec<u8> = Vec::new();
                loop {
                    let started = std::time::Instant::now();
                    let window = sqlx::query(Self::sql(super::store::PURGE_GRANT_WINDOW)?)
                        .bind(after.as_slice())
                        .bind(batch)
                        .fetch_all(&self.pool)
                        .await?;
                    let rows = i64::try_from(window.len()).unwrap_or(i64::MAX);
                    let Some(last) = window.last() else {
                        return Ok(());
                    };
                    let last: Vec<u8> = last.col("grant_id")?;
                    let _turn = self.turn().await?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    // MySQL refuses a subquery on the table a `DELETE`
                    // deletes from (error 1093), and has no `SKIP LOCKED`
                    // in a `DELETE`: the window's condition directly.
                    sqlx::query(Self::sql(if Self::MYSQL {
                        concat!(
                            "DELETE FROM portcullis_grants WHERE grant_id > $1 AND grant_id <= $2 ",
                            "AND NOT EXISTS (SELECT 1 FROM portcullis_tokens t WHERE t.grant_id = portcullis_grants.grant_id) ",
                            "AND NOT EXISTS (SELECT 1 FROM portcullis_codes c WHERE c.grant_id = portcullis_grants.grant_id)"
                        )
                    } else {
                        concat!(
                            "DELETE FROM portcullis_grants WHERE grant_id IN (SELECT g.grant_id FROM portcullis_grants g ",
                            "WHERE g.grant_id > $1 AND g.grant_id <= $2 ",
                            "AND NOT EXISTS (SELECT 1 FROM portcullis_tokens t WHERE t.grant_id = g.grant_id) ",
                            "AND NOT EXISTS (SELECT 1 FROM portcullis_codes c WHERE c.grant_id = g.grant_id)",
                            $skip_locked, ")"
                        )
                    })?)
                    .bind(after.as_slice())
                    .bind(last.as_slice())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    if rows < batch {
                        return Ok(());
                    }
                    after = last;
                    Self::between_batches(started.elapsed()).await;
                }
            }

            /// The connection pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Applies the schema shipped with this crate, recording its
            /// versions in its own `portcullis_schema_migrations` table (never
            /// in the host's `_sqlx_migrations`). Idempotent and safe to run
            /// from several processes at once; run it at every start. Rows an
            /// earlier release left in `_sqlx_migrations` are adopted.
            ///
            /// # Errors
            /// A database failure; an applied migration whose SQL differs
            /// from this build's (checksum mismatch); a schema version newer
            /// than this build knows.
            pub async fn migrate(&self) -> Result<(), StoreError> {
                super::migrate::run(&self.pool, $schema).await
            }

            /// The deciding step of `exchange_code` and `rotate_refresh`: the
            /// conditional `UPDATE … WHERE used = FALSE` is the lock, so of
            /// concurrent callers exactly one sees a row change (AC-04,
            /// RT-04). A loser reads the grant, to tell a replay from an
            /// unknown hash.
            async fn decide(conn: &mut $conn, update: &str, select: &str, hash: &TokenHash) -> Result<Decision, StoreError> {
                let key = hash.as_bytes().as_slice();
                let changed = sqlx::query(Self::sql(update)?).bind(key).execute(&mut *conn).await?.rows_affected();
                if changed == 1 {
                    return Ok(Decision::Won);
                }
                Self::lost(conn, select, hash).await
            }

            /// Why a deciding `UPDATE` changed no row: `select` (by hash)
            /// finds the row already used, or nothing.
            async fn lost(conn: &mut $conn, select: &str, hash: &TokenHash) -> Result<Decision, StoreError> {
                let row = sqlx::query(Self::sql(select)?).bind(hash.as_bytes().as_slice()).fetch_optional(&mut *conn).await?;
                match row {
                    Some(r) => Ok(Decision::Used(grant_from(&r.col::<Vec<u8>, _>("grant_id")?)?)),
                    None => Ok(Decision::Unknown),
                }
            }

            /// Takes the lock of `grant`'s row, creating it if missing, unless
            /// the grant is revoked: `false` then, and the caller stores
            /// nothing (RB-05; see the module docs).
            async fn lock_grant(conn: &mut $conn, grant: &GrantId) -> Result<bool, StoreError> {
                if Self::MYSQL {
                    // The upsert takes the row's exclusive lock (waiting for
                    // a revocation that holds it); the locking read after it
                    // reads the newest committed row, so it sees the mark.
                    sqlx::query(Self::sql(super::store::MYSQL_LOCK_GRANT)?)
                        .bind(grant.as_bytes().as_slice())
                        .execute(&mut *conn)
                        .await?;
                    let row = sqlx::query(Self::sql("SELECT revoked FROM portcullis_grants WHERE grant_id = $1 FOR UPDATE")?)
                        .bind(grant.as_bytes().as_slice())
                        .fetch_optional(&mut *conn)
                        .await?;
                    return match row {
                        Some(r) => Ok(!r.col::<bool, _>("revoked")?),
                        None => Err(StoreError::msg("the grant's row is missing after its upsert")),
                    };
                }
                let n = sqlx::query(Self::sql(super::store::LOCK_GRANT)?)
                    .bind(grant.as_bytes().as_slice())
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            /// Binds every column of a client row but its id, in the order
            /// of the INSERT (after the id, `$2` to `$44`) and UPDATE (`$1`
            /// to `$43`, the id last) statements.
            fn bind_client<'q>(
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                client: &'q Client,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                let reg = RegistrationColumns::of(client);
                q.bind(client.client_name())
                    .bind(client.secret_hash().map(SecretHash::encode))
                    .bind(client.token_endpoint_auth_method().as_str())
                    .bind(client.scope().to_string())
                    .bind(client.default_scope().map(ToString::to_string))
                    .bind(client.is_enabled())
                    .bind(client.skips_consent())
                    .bind(client.allows_plain_pkce())
                    .bind(client.access_token_lifetime().and_then(|l| i64::try_from(l.as_secs()).ok()))
                    .bind(client.refresh_token_lifetime().and_then(|l| i64::try_from(l.as_secs()).ok()))
                    .bind(client.access_token_format().as_str())
                    .bind(client.jwks())
                    .bind(client.jwt_secret().map(|s| s.expose_secret().as_str()))
                    .bind(audiences_column(client))
                    .bind(client.id_token_signed_response_alg().map(Algorithm::as_str))
                    .bind(client.userinfo_signed_response_alg().map(Algorithm::as_str))
                    .bind(client.subject_type().as_str())
                    .bind(client.sector_identifier_uri().map(WebUrl::as_str))
                    .bind(post_logout_column(client))
                    .bind(client.backchannel_logout_uri().map(WebUrl::as_str))
                    .bind(client.backchannel_logout_session_required())
                    .bind(client.require_auth_time())
                    .bind(client.default_max_age().and_then(|a| i64::try_from(a.as_secs()).ok()))
                    .bind(client.logo_uri().map(WebUrl::as_str))
                    .bind(client.policy_uri().map(WebUrl::as_str))
                    .bind(client.tos_uri().map(WebUrl::as_str))
                    .bind(client.client_uri().map(WebUrl::as_str))
                    // Pushed and signed authorization requests (INSERT $29, $30).
                    .bind(client.requires_pushed_authorization_requests())
                    .bind(client.requires_signed_request_object())
                    // DPoP (schema 9).
                    .bind(client.dpop_bound_access_tokens())
                    // Resource indicators (issue 17): INSERT $32.
                    .bind(crate::resource::to_json(client.resources()))
                    // The full client model (issue 19, schema 13): INSERT $33 to $43.
                    .bind(reg.application_type)
                    .bind(reg.contacts)
                    .bind(reg.jwks_uri)
                    .bind(reg.software_id)
                    .bind(reg.software_version)
                    .bind(reg.client_secret_expires_at)
                    .bind(reg.token_endpoint_auth_signing_alg)
                    .bind(reg.request_object_signing_alg)
                    .bind(reg.allowed_cors_origins)
                    .bind(reg.owner)
                    .bind(reg.metadata)
                    // Dynamic client registration (RFC 7592, schema 14): INSERT $44.
                    .bind(client.registration_access_token_hash().map(SecretHash::encode))
            }

            /// Records `next` as the successor of refresh token `old`
            /// (schema 10, the refresh retry window).
            async fn set_successor(conn: &mut $conn, old: &TokenHash, next: &crate::stores::Successor) -> Result<(), StoreError> {
                sqlx::query(Self::sql("UPDATE portcullis_tokens SET successor_hash = $1, successor_access_hash = $2, rotated_at = $3 WHERE hash = $4 AND kind = 1")?)
                    .bind(next.refresh.as_bytes().as_slice())
                    .bind(next.access.as_bytes().as_slice())
                    .bind(secs(next.rotated_at))
                    .bind(old.as_bytes().as_slice())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Stores an access token and its refresh token, if any, in one
            /// multi-row `INSERT` (one round trip).
            async fn insert_tokens(conn: &mut $conn, tokens: &NewTokens) -> Result<(), StoreError> {
                Self::insert_query(super::store::TokenColumns::of(tokens)).build().execute(&mut *conn).await?;
                Ok(())
            }

            /// The multi-row `INSERT` of `rows` into `portcullis_tokens`,
            /// placeholders as this database writes them.
            fn insert_query<'a>(
                rows: impl Iterator<Item = super::store::TokenColumns<'a>>,
            ) -> sqlx::QueryBuilder<'a, $db> {
                let mut q = sqlx::QueryBuilder::<$db>::new(super::store::INSERT_TOKENS);
                q.push_values(rows, |mut b, c| {
                    b.push_bind(c.hash.as_bytes().as_slice())
                        .push(if c.refresh { "1" } else { "0" })
                        .push_bind(c.grant.as_bytes().as_slice())
                        .push_bind(c.client.as_str())
                        .push_bind(c.subject.map(UserId::as_str))
                        .push_bind(c.scope.to_string())
                        .push_bind(secs(c.issued_at))
                        .push_bind(secs(c.expires_at))
                        .push("FALSE")
                        .push_bind(c.openid.map(OpenIdGrant::to_json))
                        .push_bind(c.openid.and_then(OpenIdGrant::session_id).map(SessionId::as_str))
                        .push_bind(c.dpop_jkt.map(crate::dpop::thumbprint::JwkThumbprint::as_str))
                        .push_bind(crate::resource::to_json(c.resources))
                        // Token exchange (issue 18, schema 12): the `act` claim.
                        .push_bind(c.act.map(ToString::to_string));
                });
                q
            }

            async fn write_client_children(conn: &mut $conn, client: &Client) -> Result<(), StoreError> {
                let id = client.client_id().as_str();
                for uri in client.redirect_uris() {
                    sqlx::query(Self::sql("INSERT INTO portcullis_client_redirect_uris (client_id, redirect_uri) VALUES ($1, $2)")?)
                        .bind(id)
                        .bind(uri.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                for grant in client.grant_types() {
                    sqlx::query(Self::sql("INSERT INTO portcullis_client_grants (client_id, grant_type) VALUES ($1, $2)")?)
                        .bind(id)
                        .bind(grant.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                // CORS (CO-01): the index `cors_origin_registered` reads.
                for origin in client.allowed_cors_origins() {
                    sqlx::query(Self::sql("INSERT INTO portcullis_client_cors_origins (origin, client_id) VALUES ($1, $2)")?)
                        .bind(origin.as_str())
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            async fn token_row(&self, hash: &TokenHash, refresh: bool) -> Result<Option<TokenRow>, StoreError> {
                let sql = if refresh {
                    "SELECT grant_id, client_id, subject, scope, issued_at, expires_at, used, openid, dpop_jkt, resources, successor_hash, successor_access_hash, rotated_at, act FROM portcullis_tokens WHERE hash = $1 AND kind = 1"
                } else {
                    "SELECT grant_id, client_id, subject, scope, issued_at, expires_at, used, openid, dpop_jkt, resources, successor_hash, successor_access_hash, rotated_at, act FROM portcullis_tokens WHERE hash = $1 AND kind = 0"
                };
                let mut held = self.lane.take(&self.pool).await?;
                let row = sqlx::query(Self::sql(sql)?)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&mut *held.conn)
                    .await?;
                self.lane.put(held);
                row.map(|r| -> Result<TokenRow, StoreError> {
                    let subject: Option<String> = r.col("subject")?;
                    Ok(TokenRow {
                        grant: grant_from(&r.col::<Vec<u8>, _>("grant_id")?)?,
                        client_id: parsed(&r.col::<String, _>("client_id")?)?,
                        subject: subject.as_deref().map(parsed).transpose()?,
                        scope: parsed(&r.col::<String, _>("scope")?)?,
                        issued_at: time(r.col("issued_at")?),
                        expires_at: time(r.col("expires_at")?),
                        used: r.col("used")?,
                        openid: openid(r.col("openid")?)?,
                        dpop_jkt: r.col::<Option<String>, _>("dpop_jkt")?.as_deref().map(parsed).transpose()?,
                        resources: super::store::resources(r.col("resources")?)?,
                        // Schema 11 (the refresh retry window).
                        successor: super::store::successor(
                            r.col("successor_hash")?,
                            r.col("successor_access_hash")?,
                            r.col("rotated_at")?,
                        )?,
                        act: super::store::actor(r.col("act")?)?,
                    })
                })
                .transpose()
            }

            fn consent_from(r: &<$db as sqlx::Database>::Row) -> Result<Consent, StoreError> {
                let scopes: Option<String> = r.col("scopes")?;
                Ok(Consent {
                    user: parsed(&r.col::<String, _>("user_id")?)?,
                    client_id: parsed(&r.col::<String, _>("client_id")?)?,
                    scope: parsed(scopes.as_deref().unwrap_or_default())?,
                    granted_at: time(r.col("granted_at")?),
                })
            }

            fn client_from(r: &<$db as sqlx::Database>::Row) -> Result<Client, StoreError> {
                ClientRow {
                    client_id: r.col("client_id")?,
                    client_name: r.col("client_name")?,
                    secret_hash: r.col("secret_hash")?,
                    auth_method: r.col("token_endpoint_auth_method")?,
                    scope: r.col("scope")?,
                    default_scope: r.col("default_scope")?,
                    enabled: r.col("enabled")?,
                    skip_consent: r.col("skip_consent")?,
                    allow_plain_pkce: r.col("allow_plain_pkce")?,
                    access_token_lifetime: r.col("access_token_lifetime")?,
                    refresh_token_lifetime: r.col("refresh_token_lifetime")?,
                    redirect_uris: r.col("redirect_uris")?,
                    grant_types: r.col("grant_types")?,
                    access_token_format: r.col("access_token_format")?,
                    jwks: r.col("jwks")?,
                    jwt_secret: r.col("jwt_secret")?,
                    resource_server_audiences: r.col("resource_server_audiences")?,
                    openid: OpenIdColumns {
                        id_token_signed_response_alg: r.col("id_token_signed_response_alg")?,
                        userinfo_signed_response_alg: r.col("userinfo_signed_response_alg")?,
                        subject_type: r.col("subject_type")?,
                        sector_identifier_uri: r.col("sector_identifier_uri")?,
                        post_logout_redirect_uris: r.col("post_logout_redirect_uris")?,
                        backchannel_logout_uri: r.col("backchannel_logout_uri")?,
                        backchannel_logout_session_required: r.col("backchannel_logout_session_required")?,
                        require_auth_time: r.col("require_auth_time")?,
                        default_max_age: r.col("default_max_age")?,
                        logo_uri: r.col("logo_uri")?,
                        policy_uri: r.col("policy_uri")?,
                        tos_uri: r.col("tos_uri")?,
                        client_uri: r.col("client_uri")?,
                    },
                    require_pushed_authorization_requests: r.col("require_pushed_authorization_requests")?,
                    require_signed_request_object: r.col("require_signed_request_object")?,
                    dpop_bound_access_tokens: r.col("dpop_bound_access_tokens")?,
                    resources: r.col("resources")?,
                    registration: RegistrationColumns {
                        application_type: r.col("application_type")?,
                        contacts: r.col("contacts")?,
                        jwks_uri: r.col("jwks_uri")?,
                        software_id: r.col("software_id")?,
                        software_version: r.col("software_version")?,
                        client_secret_expires_at: r.col("client_secret_expires_at")?,
                        token_endpoint_auth_signing_alg: r.col("token_endpoint_auth_signing_alg")?,
                        request_object_signing_alg: r.col("request_object_signing_alg")?,
                        allowed_cors_origins: r.col("allowed_cors_origins")?,
                        owner: r.col("owner")?,
                        metadata: r.col("metadata")?,
                    },
                    registration_access_token_hash: r.col("registration_access_token_hash")?,
                }
                .into_client()
            }
        }

        const CLIENT_SELECT: &str = concat!(
            "SELECT c.client_id, c.client_name, c.secret_hash, c.token_endpoint_auth_method, c.scope, c.default_scope, ",
            "c.enabled, c.skip_consent, c.allow_plain_pkce, c.access_token_lifetime, c.refresh_token_lifetime, ",
            "c.access_token_format, c.jwks, c.jwt_secret, c.resource_server_audiences, ",
            "c.id_token_signed_response_alg, c.userinfo_signed_response_alg, c.subject_type, c.sector_identifier_uri, ",
            "c.post_logout_redirect_uris, c.backchannel_logout_uri, c.backchannel_logout_session_required, ",
            "c.require_auth_time, c.default_max_age, c.logo_uri, c.policy_uri, c.tos_uri, c.client_uri, ",
            "c.require_pushed_authorization_requests, c.require_signed_request_object, ",
            "c.dpop_bound_access_tokens, ",
            "c.resources, ",
            "c.application_type, c.contacts, c.jwks_uri, c.software_id, c.software_version, c.client_secret_expires_at, ",
            "c.token_endpoint_auth_signing_alg, c.request_object_signing_alg, c.allowed_cors_origins, c.owner, c.metadata, ",
            "c.registration_access_token_hash, ",
            // Joined by a newline, which no `RedirectUri` holds: a stored URI
            // with whitespace fails to decode instead of coming back as two.
            "(SELECT ", $agg, "(r.redirect_uri", $agg_sep, "'\n') FROM portcullis_client_redirect_uris r WHERE r.client_id = c.client_id) AS redirect_uris, ",
            "(SELECT ", $agg, "(g.grant_type", $agg_sep, "' ') FROM portcullis_client_grants g WHERE g.client_id = c.client_id) AS grant_types ",
            "FROM portcullis_clients c"
        );

        const CONSENT_SELECT: &str = concat!(
            "SELECT c.user_id, c.client_id, c.granted_at, ",
            "(SELECT ", $agg, "(s.scope", $agg_sep, "' ') FROM portcullis_consent_scopes s WHERE s.user_id = c.user_id AND s.client_id = c.client_id) AS scopes ",
            "FROM portcullis_consents c"
        );

        #[async_trait]
        impl ClientStore for $name {
            async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
                // Every token request reads its client: concurrent requests
                // of one client share the statement (`coalesce`).
                self.reads.clients.read(id.clone(), || async {
                    let sql = const_format_where(CLIENT_SELECT, " WHERE c.client_id = $1");
                    let mut held = self.lane.take(&self.pool).await?;
                    let row = sqlx::query(Self::sql(&sql)?).bind(id.as_str()).fetch_optional(&mut *held.conn).await?;
                    self.lane.put(held);
                    row.map(|r| Self::client_from(&r).map(Arc::new)).transpose()
                }).await
            }

            async fn cors_origin_registered(&self, origin: &crate::origin::Origin) -> Result<bool, StoreError> {
                let row = sqlx::query(Self::sql("SELECT 1 FROM portcullis_client_cors_origins o JOIN portcullis_clients c ON c.client_id = o.client_id WHERE o.origin = $1 AND c.enabled = TRUE LIMIT 1")?)
                    .bind(origin.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }
        }

        #[async_trait]
        impl ClientAdmin for $name {

            async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                Self::bind_client(sqlx::query(Self::sql("INSERT INTO portcullis_clients (client_id, client_name, secret_hash, token_endpoint_auth_method, scope, default_scope, enabled, skip_consent, allow_plain_pkce, access_token_lifetime, refresh_token_lifetime, access_token_format, jwks, jwt_secret, resource_server_audiences, id_token_signed_response_alg, userinfo_signed_response_alg, subject_type, sector_identifier_uri, post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required, require_auth_time, default_max_age, logo_uri, policy_uri, tos_uri, client_uri, require_pushed_authorization_requests, require_signed_request_object, dpop_bound_access_tokens, resources, application_type, contacts, jwks_uri, software_id, software_version, client_secret_expires_at, token_endpoint_auth_signing_alg, request_object_signing_alg, allowed_cors_origins, owner, metadata, registration_access_token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44)")?).bind(client.client_id().as_str()), &client)
                    .execute(&mut *tx)
                    .await?;
                Self::write_client_children(&mut tx, &client).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_client(&self, client: Client) -> Result<bool, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                let n = Self::bind_client(sqlx::query(Self::sql("UPDATE portcullis_clients SET client_name = $1, secret_hash = $2, token_endpoint_auth_method = $3, scope = $4, default_scope = $5, enabled = $6, skip_consent = $7, allow_plain_pkce = $8, access_token_lifetime = $9, refresh_token_lifetime = $10, access_token_format = $11, jwks = $12, jwt_secret = $13, resource_server_audiences = $14, id_token_signed_response_alg = $15, userinfo_signed_response_alg = $16, subject_type = $17, sector_identifier_uri = $18, post_logout_redirect_uris = $19, backchannel_logout_uri = $20, backchannel_logout_session_required = $21, require_auth_time = $22, default_max_age = $23, logo_uri = $24, policy_uri = $25, tos_uri = $26, client_uri = $27, require_pushed_authorization_requests = $28, require_signed_request_object = $29, dpop_bound_access_tokens = $30, resources = $31, application_type = $32, contacts = $33, jwks_uri = $34, software_id = $35, software_version = $36, client_secret_expires_at = $37, token_endpoint_auth_signing_alg = $38, request_object_signing_alg = $39, allowed_cors_origins = $40, owner = $41, metadata = $42, registration_access_token_hash = $43 WHERE client_id = $44")?), &client).bind(client.client_id().as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Ok(false);
                }
                for table in ["DELETE FROM portcullis_client_redirect_uris WHERE client_id = $1", "DELETE FROM portcullis_client_grants WHERE client_id = $1", "DELETE FROM portcullis_client_cors_origins WHERE client_id = $1"] {
                    sqlx::query(Self::sql(table)?).bind(client.client_id().as_str()).execute(&mut *tx).await?;
                }
                Self::write_client_children(&mut tx, &client).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                for table in ["DELETE FROM portcullis_client_redirect_uris WHERE client_id = $1", "DELETE FROM portcullis_client_grants WHERE client_id = $1", "DELETE FROM portcullis_client_cors_origins WHERE client_id = $1"] {
                    sqlx::query(Self::sql(table)?).bind(id.as_str()).execute(&mut *tx).await?;
                }
                let n = sqlx::query(Self::sql("DELETE FROM portcullis_clients WHERE client_id = $1")?)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
                let sql = const_format_where(CLIENT_SELECT, " ORDER BY c.client_id");
                let rows = sqlx::query(Self::sql(&sql)?).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Self::client_from(r).map(Arc::new)).collect()
            }
        }

        #[async_trait]
        impl TokenStore for $name {
            async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
                let _turn = self.turn().await?;
                sqlx::query(Self::sql("INSERT INTO portcullis_codes (hash, grant_id, client_id, subject, scope, redirect_uri, challenge, challenge_method, issued_at, expires_at, used, openid, session_id, resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")?)
                    .bind(code.hash.as_bytes().as_slice())
                    .bind(code.grant.as_bytes().as_slice())
                    .bind(code.client_id.as_str())
                    .bind(code.subject.as_str())
                    .bind(code.scope.to_string())
                    .bind(code.redirect_uri.as_ref().map(RedirectUri::as_str))
                    .bind(code.challenge.as_ref().map(CodeChallenge::as_str))
                    .bind(code.challenge.as_ref().map(|c| c.method().as_str()))
                    .bind(secs(code.issued_at))
                    .bind(secs(code.expires_at))
                    .bind(code.used)
                    .bind(code.openid.as_ref().map(OpenIdGrant::to_json))
                    .bind(code.session_id().map(SessionId::as_str))
                    .bind(crate::resource::to_json(&code.resources))
                    .bind(code.dpop_jkt.as_ref().map(crate::dpop::thumbprint::JwkThumbprint::as_str))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
                let row = sqlx::query(Self::sql("SELECT grant_id, client_id, subject, scope, redirect_uri, challenge, challenge_method, issued_at, expires_at, used, openid, resources, dpop_jkt FROM portcullis_codes WHERE hash = $1")?)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(r) = row else { return Ok(None) };
                let redirect: Option<String> = r.col("redirect_uri")?;
                Ok(Some(CodeRecord {
                    hash: *hash,
                    grant: grant_from(&r.col::<Vec<u8>, _>("grant_id")?)?,
                    client_id: parsed(&r.col::<String, _>("client_id")?)?,
                    subject: parsed(&r.col::<String, _>("subject")?)?,
                    scope: parsed(&r.col::<String, _>("scope")?)?,
                    redirect_uri: redirect
                        .map(|u| RedirectUri::parse(&u).ok_or(StoreError::msg("stored redirect URI is invalid")))
                        .transpose()?,
                    challenge: challenge(r.col("challenge")?, r.col("challenge_method")?)?,
                    issued_at: time(r.col("issued_at")?),
                    expires_at: time(r.col("expires_at")?),
                    used: r.col("used")?,
                    openid: openid(r.col("openid")?)?,
                    resources: super::store::resources(r.col("resources")?)?,
                    dpop_jkt: r.col::<Option<String>, _>("dpop_jkt")?.as_deref().map(parsed).transpose()?,
                }))
            }

            async fn exchange_code(&self, hash: &TokenHash, tokens: NewTokens) -> Result<Exchange, StoreError> {
                // On a lane connection: given back untested once committed.
                let _turn = self.turn().await?;
                let mut held = self.lane.take(&self.pool).await?;
                let mut tx = sqlx::Connection::begin_with(&mut *held.conn, $begin).await?;
                // The grant's lock first (RB-05): a revoked grant's code was
                // deleted with it, so it is unknown now.
                if !Self::lock_grant(&mut tx, &tokens.access.grant).await? {
                    tx.rollback().await?;
                    self.lane.put(held);
                    return Ok(Exchange::Unknown);
                }
                let decision = Self::decide(
                    &mut tx,
                    "UPDATE portcullis_codes SET used = TRUE WHERE hash = $1 AND used = FALSE",
                    "SELECT grant_id FROM portcullis_codes WHERE hash = $1",
                    hash,
                )
                .await?;
                let outcome = match decision {
                    Decision::Won => {
                        Self::insert_tokens(&mut tx, &tokens).await?;
                        tx.commit().await?;
                        self.lane.put(held);
                        return Ok(Exchange::Issued);
                    }
                    Decision::Used(grant) => Exchange::AlreadyUsed(grant),
                    Decision::Unknown => Exchange::Unknown,
                };
                tx.rollback().await?;
                self.lane.put(held);
                Ok(outcome)
            }

            async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
                // A grant whose id derives from its new access token (every
                // grant the server starts with `issue`) is unknown to anyone
                // else, so nothing can revoke it yet: no lock, no row, one
                // insert, grouped with the others in flight into one
                // statement and one commit (`group_commit`). Tokens joining
                // an existing grant take its lock, as a rotation does.
                let grant = &tokens.access.grant;
                if *grant == GrantId::derive(&tokens.access.hash) {
                    return self.group.issue(tokens, || (self.pool.clone(), self.lane.clone(), self.writers.clone())).await;
                }
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                if !Self::lock_grant(&mut tx, grant).await? {
                    tx.rollback().await?;
                    return Err(StoreError::msg("the grant is revoked"));
                }
                Self::insert_tokens(&mut tx, &tokens).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
                Ok(self.token_row(hash, false).await?.map(|t| AccessRecord {
                    hash: *hash,
                    grant: t.grant,
                    client_id: t.client_id,
                    subject: t.subject,
                    scope: t.scope,
                    issued_at: t.issued_at,
                    expires_at: t.expires_at,
                    openid: t.openid,
                    dpop_jkt: t.dpop_jkt,
                    resources: t.resources,
                    act: t.act,
                }))
            }

            async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
                Ok(self.token_row(hash, true).await?.map(|t| RefreshRecord {
                    hash: *hash,
                    grant: t.grant,
                    client_id: t.client_id,
                    subject: t.subject,
                    scope: t.scope,
                    issued_at: t.issued_at,
                    expires_at: t.expires_at,
                    used: t.used,
                    openid: t.openid,
                    dpop_jkt: t.dpop_jkt,
                    resources: t.resources,
                    successor: t.successor,
                }))
            }

            async fn rotate_refresh(&self, old: &TokenHash, new: NewTokens) -> Result<Rotation, StoreError> {
                // On a lane connection: given back untested once committed.
                let _turn = self.turn().await?;
                let mut held = self.lane.take(&self.pool).await?;
                let mut tx = sqlx::Connection::begin_with(&mut *held.conn, $begin).await?;
                // The grant's lock first (RB-05): a revoked grant's tokens
                // were deleted with it, so the old one is unknown now.
                if !Self::lock_grant(&mut tx, &new.access.grant).await? {
                    tx.rollback().await?;
                    self.lane.put(held);
                    return Ok(Rotation::Unknown);
                }
                // The deciding UPDATE also records what replaced the token,
                // for the retry window (schema 10): one statement, one round
                // trip.
                let next = crate::stores::Successor::of(&new);
                let changed = sqlx::query(Self::sql("UPDATE portcullis_tokens SET used = TRUE, successor_hash = $1, successor_access_hash = $2, rotated_at = $3 WHERE hash = $4 AND kind = 1 AND used = FALSE")?)
                    .bind(next.as_ref().map(|n| n.refresh.as_bytes().as_slice()))
                    .bind(next.as_ref().map(|n| n.access.as_bytes().as_slice()))
                    .bind(next.as_ref().map(|n| secs(n.rotated_at)))
                    .bind(old.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let decision = if changed == 1 {
                    Decision::Won
                } else {
                    Self::lost(&mut tx, "SELECT grant_id FROM portcullis_tokens WHERE hash = $1 AND kind = 1", old).await?
                };
                let outcome = match decision {
                    Decision::Won => {
                        Self::insert_tokens(&mut tx, &new).await?;
                        tx.commit().await?;
                        self.lane.put(held);
                        return Ok(Rotation::Rotated);
                    }
                    Decision::Used(grant) => Rotation::Replayed(grant),
                    Decision::Unknown => Rotation::Unknown,
                };
                tx.rollback().await?;
                self.lane.put(held);
                Ok(outcome)
            }

            async fn replace_successor(&self, old: &TokenHash, successor: &TokenHash, new: NewTokens) -> Result<crate::stores::Replacement, StoreError> {
                use crate::stores::Replacement;
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                // The grant's lock first (RB-05), as in a rotation: every
                // step of the grant (rotations, other retries) now waits for
                // this transaction, so what it reads below stays true until
                // it commits. A revoked grant's tokens are gone: unknown.
                if !Self::lock_grant(&mut tx, &new.access.grant).await? {
                    tx.rollback().await?;
                    return Ok(Replacement::Unknown);
                }
                let row = sqlx::query(Self::sql("SELECT grant_id, successor_hash, successor_access_hash, rotated_at FROM portcullis_tokens WHERE hash = $1 AND kind = 1")?)
                    .bind(old.as_bytes().as_slice())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(Replacement::Unknown);
                };
                let grant = grant_from(&row.col::<Vec<u8>, _>("grant_id")?)?;
                let current = super::store::successor(
                    row.col("successor_hash")?,
                    row.col("successor_access_hash")?,
                    row.col("rotated_at")?,
                )?;
                let Some(current) = current.filter(|c| c.refresh == *successor) else {
                    tx.rollback().await?;
                    return Ok(Replacement::Superseded);
                };
                let Some(replaced) = current.replaced_by(&new) else {
                    tx.rollback().await?;
                    return Err(StoreError::msg("a retry must issue a refresh token"));
                };
                // The deciding UPDATE: the successor must still be unused.
                let n = sqlx::query(Self::sql("UPDATE portcullis_tokens SET used = TRUE WHERE hash = $1 AND kind = 1 AND used = FALSE")?)
                    .bind(successor.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(Replacement::Replayed(grant));
                }
                sqlx::query(Self::sql("DELETE FROM portcullis_tokens WHERE hash = $1 AND kind = 0")?)
                    .bind(current.access.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
                Self::set_successor(&mut tx, old, &replaced).await?;
                Self::insert_tokens(&mut tx, &new).await?;
                tx.commit().await?;
                Ok(Replacement::Replaced)
            }

            async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {

                let _turn = self.turn().await?;
                sqlx::query(Self::sql("DELETE FROM portcullis_tokens WHERE hash = $1 AND kind = 0")?)
                    .bind(hash.as_bytes().as_slice())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                // Mark first: this waits for the steps in flight in the grant,
                // and the DELETEs after it see what they stored (RB-05).
                for sql in [
                    super::store::mark_grant(Self::MYSQL),
                    "DELETE FROM portcullis_tokens WHERE grant_id = $1",
                    "DELETE FROM portcullis_codes WHERE grant_id = $1",
                ] {
                    sqlx::query(Self::sql(sql)?).bind(grant.as_bytes().as_slice()).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }


            async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                // The grants that end with the session, decided in Rust from
                // each record's scope and `used` (as the memory stores do),
                // then revoked one by one as `revoke_grant` does: mark first,
                // in `grant_id` order, then delete (RB-05). A grant is taken
                // as this first read saw it: one whose code an exchange in
                // flight consumes goes whole all the same.
                let sid = session.as_str();
                let mut grants: Vec<Vec<u8>> = Vec::new();
                for r in sqlx::query(Self::sql("SELECT grant_id, scope, used FROM portcullis_codes WHERE session_id = $1")?)
                    .bind(sid)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    let scope: ScopeSet = parsed(&r.col::<String, _>("scope")?)?;
                    let used: bool = r.col("used")?;
                    if !(used && scope.contains(OFFLINE_ACCESS)) {
                        grants.push(r.col("grant_id")?);
                    }
                }
                for r in sqlx::query(Self::sql("SELECT grant_id, scope FROM portcullis_tokens WHERE session_id = $1 AND kind = 1")?)
                    .bind(sid)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    let scope: ScopeSet = parsed(&r.col::<String, _>("scope")?)?;
                    if !scope.contains(OFFLINE_ACCESS) {
                        grants.push(r.col("grant_id")?);
                    }
                }
                grants.sort_unstable();
                grants.dedup();
                let mut n = 0;
                for grant in &grants {
                    sqlx::query(Self::sql(super::store::mark_grant(Self::MYSQL))?)
                        .bind(grant.as_slice())
                        .execute(&mut *tx)
                        .await?;
                    for sql in ["DELETE FROM portcullis_tokens WHERE grant_id = $1", "DELETE FROM portcullis_codes WHERE grant_id = $1"] {
                        n += sqlx::query(Self::sql(sql)?).bind(grant.as_slice()).execute(&mut *tx).await?.rows_affected();
                    }
                }
                // The session's access tokens in the grants that outlive it.
                n += sqlx::query(Self::sql("DELETE FROM portcullis_tokens WHERE session_id = $1 AND kind = 0")?)
                    .bind(sid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
                let rows = sqlx::query(Self::sql(super::store::SESSION_CLIENTS)?)
                    .bind(session.as_str())
                    .bind(session.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| parsed(&r.col::<String, _>("client_id")?))
                    .collect()
            }
        }

        #[async_trait]
        impl TokenAdmin for $name {
            async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                // Every member of a grant shares its client, so this removes
                // whole grants; their marks first, as in `revoke_grant`.
                let mark = if Self::MYSQL { super::store::MYSQL_MARK_CLIENT_GRANTS } else { super::store::MARK_CLIENT_GRANTS };
                sqlx::query(Self::sql(mark)?).bind(client.as_str()).bind(client.as_str()).execute(&mut *tx).await?;
                let mut n = 0;
                for sql in ["DELETE FROM portcullis_tokens WHERE client_id = $1", "DELETE FROM portcullis_codes WHERE client_id = $1"] {
                    n += sqlx::query(Self::sql(sql)?).bind(client.as_str()).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                // Every member of a grant shares its subject: whole grants,
                // marked first, as in `revoke_grant`.
                let mark = if Self::MYSQL { super::store::MYSQL_MARK_USER_GRANTS } else { super::store::MARK_USER_GRANTS };
                sqlx::query(Self::sql(mark)?).bind(user.as_str()).bind(user.as_str()).execute(&mut *tx).await?;
                let mut n = 0;
                for sql in ["DELETE FROM portcullis_tokens WHERE subject = $1", "DELETE FROM portcullis_codes WHERE subject = $1"] {
                    n += sqlx::query(Self::sql(sql)?).bind(user.as_str()).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
                // In batches (see the module docs). Suspended authorization
                // requests nobody resumed, and device authorizations (schema
                // 11), redeemed or not.
                self.purge_batches(batch_delete!(Self::MYSQL, $skip_locked, "portcullis_authorization_requests", "hash", "expires_at <= $1"), now).await?;
                self.purge_batches(batch_delete!(Self::MYSQL, $skip_locked, "portcullis_devices", "hash", "expires_at <= $1"), now).await?;
                let codes = self.purge_batches(batch_delete!(Self::MYSQL, $skip_locked, "portcullis_codes", "hash", "expires_at <= $1"), now).await?;
                let access_tokens = self.purge_batches(batch_delete!(Self::MYSQL, $skip_locked, "portcullis_tokens", "hash", "kind = 0 AND expires_at <= $1"), now).await?;
                let refresh_tokens = self.purge_batches(batch_delete!(Self::MYSQL, $skip_locked, "portcullis_tokens", "hash", "kind = 1 AND expires_at <= $1"), now).await?;
                // Grant rows last, holding no other lock.
                self.purge_grant_rows().await?;
                Ok(PurgeCounts { codes, access_tokens, refresh_tokens })
            }
        }

        #[async_trait]
        impl AuthorizationRequestStore for $name {
            async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
                let _turn = self.turn().await?;
                sqlx::query(Self::sql("INSERT INTO portcullis_authorization_requests (hash, payload, expires_at) VALUES ($1, $2, $3)")?)
                    .bind(request.hash.as_bytes().as_slice())
                    .bind(request.payload.as_str())
                    .bind(secs(request.expires_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
                // One statement: of concurrent takers, only the one whose
                // DELETE removed the row gets it back. MySQL has no
                // `DELETE … RETURNING`: there a locking read and the DELETE
                // in one transaction, so concurrent takers wait for the
                // first, then find nothing.
                let row = if Self::MYSQL {
                    let _turn = self.turn().await?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    let row = sqlx::query(Self::sql("SELECT payload, expires_at FROM portcullis_authorization_requests WHERE hash = $1 FOR UPDATE")?)
                        .bind(hash.as_bytes().as_slice())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if row.is_some() {
                        sqlx::query(Self::sql("DELETE FROM portcullis_authorization_requests WHERE hash = $1")?)
                            .bind(hash.as_bytes().as_slice())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    row
                } else {
                    let q = sqlx::query(Self::sql("DELETE FROM portcullis_authorization_requests WHERE hash = $1 RETURNING payload, expires_at")?)
                        .bind(hash.as_bytes().as_slice());
                    // At most one row (by its key).
                    self.returning(q).await?.into_iter().next()
                };
                match row {
                    Some(r) => Ok(Some(SuspendedRequest {
                        hash: *hash,
                        payload: r.col("payload")?,
                        expires_at: time(r.col("expires_at")?),
                    })),
                    None => Ok(None),
                }
            }
        }

        /// Device authorizations (schema 11): each step is one statement,
        /// whose `WHERE` decides, so of concurrent callers exactly one
        /// changes a row (DV-03); the redemption is that statement and the
        /// token inserts in one transaction.
        #[async_trait]
        impl crate::stores::DeviceStore for $name {
            async fn insert_device(&self, d: crate::stores::DeviceRecord) -> Result<bool, StoreError> {
                let _turn = self.turn().await?;
                let (subject, openid) = super::store::device_state_columns(&d.state);
                let n = sqlx::query(Self::sql(if Self::MYSQL {
                    "INSERT IGNORE INTO portcullis_devices (hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                } else {
                    "INSERT INTO portcullis_devices (hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
                })?)
                    .bind(d.hash.as_bytes().as_slice())
                    .bind(d.user_code.as_bytes().as_slice())
                    .bind(d.client_id.as_str())
                    .bind(d.scope.to_string())
                    .bind(secs(d.issued_at))
                    .bind(secs(d.expires_at))
                    .bind(i64::try_from(d.interval.as_secs()).unwrap_or(i64::MAX))
                    .bind(d.last_poll.map(secs))
                    .bind(i16::from(d.state.code()))
                    .bind(subject)
                    .bind(openid)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn find_device(&self, hash: &TokenHash) -> Result<Option<crate::stores::DeviceRecord>, StoreError> {
                let row = sqlx::query(Self::sql(const_format_where(super::store::DEVICE_SELECT, " WHERE hash = $1").as_str())?)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::device_from(&r)).transpose()
            }

            async fn find_user_code(&self, user_code: &TokenHash) -> Result<Option<crate::stores::DeviceRecord>, StoreError> {
                let row = sqlx::query(Self::sql(const_format_where(super::store::DEVICE_SELECT, " WHERE user_code = $1").as_str())?)
                    .bind(user_code.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::device_from(&r)).transpose()
            }

            async fn decide_device(&self, user_code: &TokenHash, decision: crate::stores::DeviceDecision, now: UnixTime) -> Result<bool, StoreError> {

                let _turn = self.turn().await?;
                let state = match decision {
                    crate::stores::DeviceDecision::Approve { subject, openid } => crate::stores::DeviceState::Approved { subject, openid },
                    _ => crate::stores::DeviceState::Denied,
                };
                let (subject, openid) = super::store::device_state_columns(&state);
                let n = sqlx::query(Self::sql("UPDATE portcullis_devices SET state = $1, subject = $2, openid = $3 WHERE user_code = $4 AND state = 0 AND expires_at > $5")?)
                    .bind(i16::from(state.code()))
                    .bind(subject)
                    .bind(openid)
                    .bind(user_code.as_bytes().as_slice())
                    .bind(secs(now))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn poll_device(&self, hash: &TokenHash, now: UnixTime) -> Result<crate::stores::DevicePoll, StoreError> {
                // One statement: the SET expressions read the row as it was,
                // under the row's write lock, so concurrent polls see each
                // other's `last_poll`.
                let sql = concat!(
                    "UPDATE portcullis_devices SET ",
                    "interval_secs = CASE WHEN last_poll IS NOT NULL AND $2 < last_poll + interval_secs THEN interval_secs + 5 ELSE interval_secs END, ",
                    "last_too_soon = CASE WHEN last_poll IS NOT NULL AND $2 < last_poll + interval_secs THEN TRUE ELSE FALSE END, ",
                    "last_poll = $2 WHERE hash = $1 RETURNING ",
                    "hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid, last_too_soon"
                );
                let row = if Self::MYSQL {
                    // No `UPDATE … RETURNING`: the UPDATE, then a read of the
                    // row it changed (and still locks) in one transaction.
                    // MySQL assigns left to right, each expression seeing
                    // the columns assigned before it, so these read only
                    // columns assigned after them (and MariaDB's
                    // SIMULTANEOUS_ASSIGNMENT gives the same answer).
                    let _turn = self.turn().await?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    let n = sqlx::query(Self::sql(concat!(
                        "UPDATE portcullis_devices SET ",
                        "last_too_soon = CASE WHEN last_poll IS NOT NULL AND $1 < last_poll + interval_secs THEN TRUE ELSE FALSE END, ",
                        "interval_secs = CASE WHEN last_poll IS NOT NULL AND $2 < last_poll + interval_secs THEN interval_secs + 5 ELSE interval_secs END, ",
                        "last_poll = $3 WHERE hash = $4"
                    ))?)
                    .bind(secs(now))
                    .bind(secs(now))
                    .bind(secs(now))
                    .bind(hash.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let row = if n == 1 {
                        sqlx::query(Self::sql("SELECT hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid, last_too_soon FROM portcullis_devices WHERE hash = $1")?)
                            .bind(hash.as_bytes().as_slice())
                            .fetch_optional(&mut *tx)
                            .await?
                    } else {
                        None
                    };
                    tx.commit().await?;
                    row
                } else {
                    let q = sqlx::query(Self::sql(sql)?).bind(hash.as_bytes().as_slice()).bind(secs(now));
                    // At most one row (by its key).
                    self.returning(q).await?.into_iter().next()
                };
                match row {
                    None => Ok(crate::stores::DevicePoll::Unknown),
                    Some(r) => Ok(crate::stores::DevicePoll::Polled {
                        record: Self::device_from(&r)?,
                        too_soon: r.col("last_too_soon")?,
                    }),
                }
            }

            async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError> {
                // One transaction (#18): the conditional UPDATE decides (it
                // takes the row's lock; a concurrent redemption waits, then
                // finds the state changed), and the tokens are inserted
                // before the commit. Any error drops the transaction, which
                // rolls back: the record stays approved, nothing is stored.
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                let n = sqlx::query(Self::sql("UPDATE portcullis_devices SET state = 3 WHERE hash = $1 AND state = 1")?)
                    .bind(hash.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                // As in `issue`: tokens joining an existing grant take its
                // lock (RB-05); a new grant's id is known to nobody yet.
                let grant = &tokens.access.grant;
                if *grant != GrantId::derive(&tokens.access.hash) && !Self::lock_grant(&mut tx, grant).await? {
                    tx.rollback().await?;
                    return Err(StoreError::msg("the grant is revoked"));
                }
                Self::insert_tokens(&mut tx, &tokens).await?;
                tx.commit().await?;
                Ok(true)
            }
        }

        impl $name {
            fn device_from(r: &<$db as sqlx::Database>::Row) -> Result<crate::stores::DeviceRecord, StoreError> {
                let hash: Vec<u8> = r.col("hash")?;
                let user_code: Vec<u8> = r.col("user_code")?;
                let interval: i64 = r.col("interval_secs")?;
                let last_poll: Option<i64> = r.col("last_poll")?;
                let state: i16 = r.col("state")?;
                let subject: Option<String> = r.col("subject")?;
                Ok(crate::stores::DeviceRecord {
                    hash: TokenHash::try_from(hash.as_slice()).map_err(StoreError::new)?,
                    user_code: TokenHash::try_from(user_code.as_slice()).map_err(StoreError::new)?,
                    client_id: parsed(&r.col::<String, _>("client_id")?)?,
                    scope: parsed(&r.col::<String, _>("scope")?)?,
                    issued_at: time(r.col("issued_at")?),
                    expires_at: time(r.col("expires_at")?),
                    interval: std::time::Duration::from_secs(u64::try_from(interval).unwrap_or(0)),
                    last_poll: last_poll.map(time),
                    state: super::store::device_state(state, subject.as_deref().map(parsed).transpose()?, openid(r.col("openid")?)?)?,
                })
            }
        }

        #[async_trait]
        impl ReplayCache for $name {
            async fn first_use(&self, scope: &ReplayScope, id: &str, expires_at: UnixTime) -> Result<bool, StoreError> {
                let _turn = self.turn().await?;
                // One table per kind; the primary key makes this atomic:
                // of concurrent inserts, one wins.
                // DPoP proofs share the table (schema 9 adds none): their
                // key starts with a character no client id has (client ids
                // are ASCII), so the two kinds never collide.
                let key: std::borrow::Cow<'_, str> = match scope {
                    ReplayScope::ClientAssertion(client) => client.as_str().into(),
                    ReplayScope::DpopProof(jkt) => format!("\u{b7}dpop:{jkt}").into(),
                };
                let n = sqlx::query(Self::sql(if Self::MYSQL {
                    "INSERT IGNORE INTO portcullis_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)"
                } else {
                    "INSERT INTO portcullis_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                })?)
                    .bind(key.as_ref())
                    .bind(id)
                    .bind(secs(expires_at))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError> {
                // In batches, as `purge_expired` (see the module docs).
                let sql = if Self::MYSQL {
                    "DELETE FROM portcullis_assertion_jtis WHERE expires_at <= $1 LIMIT $2"
                } else {
                    concat!(
                        "DELETE FROM portcullis_assertion_jtis WHERE (client_id, jti) IN (SELECT client_id, jti FROM portcullis_assertion_jtis ",
                        "WHERE expires_at <= $1 LIMIT $2", $skip_locked, ")"
                    )
                };
                self.purge_batches(sql, now).await
            }
        }

        #[async_trait]
        impl KeyProvider for $name {
            async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
                let rows = sqlx::query(Self::sql("SELECT kid, alg, private_pkcs8, created_at, not_before, not_after, drop_after FROM portcullis_keys")?)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| -> Result<KeyRecord, StoreError> {
                        let kid: String = r.col("kid")?;
                        let alg: String = r.col("alg")?;
                        let not_after: Option<i64> = r.col("not_after")?;
                        let drop_after: Option<i64> = r.col("drop_after")?;
                        Ok(KeyRecord {
                            kid: parsed(&kid)?,
                            alg: parsed(&alg)?,
                            private_pkcs8: crate::secret::Secret::new(r.col("private_pkcs8")?),
                            created_at: time(r.col("created_at")?),
                            not_before: time(r.col("not_before")?),
                            not_after: not_after.map(time),
                            drop_after: drop_after.map(time),
                        })
                    })
                    .collect()
            }

            async fn insert_key(&self, key: KeyRecord) -> Result<(), StoreError> {

                let _turn = self.turn().await?;
                sqlx::query(Self::sql("INSERT INTO portcullis_keys (kid, alg, private_pkcs8, created_at, not_before, not_after, drop_after) VALUES ($1, $2, $3, $4, $5, $6, $7)")?)
                    .bind(key.kid.as_str())
                    .bind(key.alg.as_str())
                    .bind(key.private_pkcs8.expose_secret().as_slice())
                    .bind(secs(key.created_at))
                    .bind(secs(key.not_before))
                    .bind(key.not_after.map(secs))
                    .bind(key.drop_after.map(secs))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn retire_key(&self, kid: &KeyId, not_after: UnixTime, drop_after: UnixTime) -> Result<bool, StoreError> {

                let _turn = self.turn().await?;
                let n = sqlx::query(Self::sql("UPDATE portcullis_keys SET not_after = $1, drop_after = $2 WHERE kid = $3")?)
                    .bind(secs(not_after))
                    .bind(secs(drop_after))
                    .bind(kid.as_str())
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn delete_key(&self, kid: &KeyId) -> Result<bool, StoreError> {

                let _turn = self.turn().await?;
                let n = sqlx::query(Self::sql("DELETE FROM portcullis_keys WHERE kid = $1")?)
                    .bind(kid.as_str())
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }
        }

        #[async_trait]
        impl ConsentStore for $name {
            async fn consent(&self, user: &UserId, client: &ClientId) -> Result<Option<Consent>, StoreError> {
                let sql = const_format_where(CONSENT_SELECT, " WHERE c.user_id = $1 AND c.client_id = $2");
                let row = sqlx::query(Self::sql(&sql)?)
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::consent_from(&r)).transpose()
            }

            async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query(Self::sql(if Self::MYSQL {
                    "INSERT INTO portcullis_consents (user_id, client_id, granted_at) VALUES ($1, $2, $3) ON DUPLICATE KEY UPDATE granted_at = VALUES(granted_at)"
                } else {
                    "INSERT INTO portcullis_consents (user_id, client_id, granted_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = excluded.granted_at"
                })?)
                    .bind(consent.user.as_str())
                    .bind(consent.client_id.as_str())
                    .bind(secs(consent.granted_at))
                    .execute(&mut *tx)
                    .await?;
                for s in consent.scope.iter() {
                    sqlx::query(Self::sql(if Self::MYSQL {
                        "INSERT IGNORE INTO portcullis_consent_scopes (user_id, client_id, scope) VALUES ($1, $2, $3)"
                    } else {
                        "INSERT INTO portcullis_consent_scopes (user_id, client_id, scope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                    })?)
                        .bind(consent.user.as_str())
                        .bind(consent.client_id.as_str())
                        .bind(s.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

        }

        #[async_trait]
        impl ConsentAdmin for $name {
            async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
                let sql = const_format_where(CONSENT_SELECT, " WHERE c.user_id = $1 ORDER BY c.client_id");
                let rows = sqlx::query(Self::sql(&sql)?).bind(user.as_str()).fetch_all(&self.pool).await?;
                rows.iter().map(Self::consent_from).collect()
            }

            async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
                let _turn = self.turn().await?;
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query(Self::sql("DELETE FROM portcullis_consent_scopes WHERE user_id = $1 AND client_id = $2")?)
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query(Self::sql("DELETE FROM portcullis_consents WHERE user_id = $1 AND client_id = $2")?)
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }
        }

        // The store-backed throttle (issue 20, schema 16): one statement
        // per step, so each is atomic across processes.
        impl $name {
            /// A row of `THROTTLE_RESERVE` or `THROTTLE_COUNTS`.
            fn throttle_row(
                r: &<$db as sqlx::Database>::Row,
            ) -> Result<(crate::throttle::ThrottleKey, crate::throttle::ThrottleCount), StoreError> {
                let key: Vec<u8> = r.col("counter_key")?;
                let key = <[u8; 16]>::try_from(key.as_slice())
                    .map_err(|_| StoreError::msg("stored throttle key is invalid"))?;
                let count = |c: &str| -> Result<u32, StoreError> {
                    Ok(u32::try_from(r.col::<i64, _>(c)?).unwrap_or(u32::MAX))
                };
                Ok((
                    crate::throttle::ThrottleKey::from_bytes(key),
                    crate::throttle::ThrottleCount { attempts: count("attempts")?, in_flight: count("in_flight")? },
                ))
            }
        }

        #[async_trait]
        impl crate::throttle::ThrottleStore for $name {
            async fn throttle_reserve(
                &self,
                keys: &[crate::throttle::ThrottleKey],
                now: UnixTime,
                window_end: UnixTime,
            ) -> Result<Vec<(crate::throttle::ThrottleKey, crate::throttle::ThrottleCount)>, StoreError> {
                let Some(sql) = keys.len().checked_sub(1).and_then(|i| super::store::THROTTLE_RESERVE.get(i)) else {
                    return if keys.is_empty() { Ok(Vec::new()) } else { Err(StoreError::msg("at most three throttle keys per attempt")) };
                };
                if Self::MYSQL {
                    // No `RETURNING` on MySQL: the upsert, then a read of
                    // the rows it holds locked, in one transaction.
                    let upsert = super::store::MYSQL_THROTTLE_RESERVE.get(keys.len() - 1).copied().unwrap_or_default();
                    let _turn = self.turn().await?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    let mut q = sqlx::query(Self::sql(upsert)?);
                    for key in keys {
                        q = q.bind(key.as_bytes().as_slice()).bind(secs(now)).bind(secs(window_end));
                    }
                    q.execute(&mut *tx).await?;
                    let mut q = sqlx::query(Self::sql(super::store::MYSQL_THROTTLE_RESERVED)?);
                    for i in 0..3 {
                        if let Some(key) = keys.get(i).or(keys.first()) {
                            q = q.bind(key.as_bytes().as_slice());
                        }
                    }
                    let rows = q.fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    return rows.iter().map(Self::throttle_row).collect();
                }
                let mut q = sqlx::query(Self::sql(sql)?);
                for key in keys {
                    q = q.bind(key.as_bytes().as_slice()).bind(secs(now)).bind(secs(window_end));
                }
                let rows = self.returning(q).await?;
                rows.iter().map(Self::throttle_row).collect()
            }

            async fn throttle_counts(
                &self,
                keys: &[crate::throttle::ThrottleKey],
                now: UnixTime,
            ) -> Result<Vec<(crate::throttle::ThrottleKey, crate::throttle::ThrottleCount)>, StoreError> {
                let (Some(first), true) = (keys.first(), keys.len() <= 3) else {
                    return if keys.is_empty() { Ok(Vec::new()) } else { Err(StoreError::msg("at most three throttle keys per attempt")) };
                };
                // The check of every attempt: concurrent attempts on the
                // same counters share the statement (`coalesce`).
                self.reads.throttle_counts.read((keys.to_vec(), now), || async {
                    let mut q = sqlx::query(Self::sql(super::store::THROTTLE_COUNTS)?);
                    // Three keys always: a shorter list repeats its first.
                    for i in 0..3 {
                        q = q.bind(keys.get(i).unwrap_or(first).as_bytes().as_slice());
                    }
                    let mut held = self.lane.take(&self.pool).await?;
                    let rows = q.bind(secs(now)).fetch_all(&mut *held.conn).await?;
                    self.lane.put(held);
                    rows.iter().map(Self::throttle_row).collect()
                }).await
            }

            async fn throttle_release(&self, keys: &[crate::throttle::ThrottleKey], failed: bool) -> Result<(), StoreError> {

                let _turn = self.turn().await?;
                let (Some(first), true) = (keys.first(), keys.len() <= 3) else {
                    return if keys.is_empty() { Ok(()) } else { Err(StoreError::msg("at most three throttle keys per attempt")) };
                };
                let sql = if failed { super::store::THROTTLE_RELEASE_FAILED } else { super::store::THROTTLE_RELEASE };
                let mut q = sqlx::query(Self::sql(sql)?);
                // Three parameters always: a shorter list repeats its first key.
                for i in 0..3 {
                    q = q.bind(keys.get(i).unwrap_or(first).as_bytes().as_slice());
                }
                q.execute(&self.pool).await?;
                Ok(())
            }

            async fn throttle_known(&self, pair: &crate::throttle::ThrottleKey, now: UnixTime) -> Result<Option<UnixTime>, StoreError> {
                self.reads.throttle_known.read((*pair, now), || async {
                    let mut held = self.lane.take(&self.pool).await?;
                    let row = sqlx::query(Self::sql(super::store::THROTTLE_KNOWN)?)
                        .bind(pair.as_bytes().as_slice())
                        .bind(secs(now))
                        .fetch_optional(&mut *held.conn)
                        .await?;
                    self.lane.put(held);
                    row.map(|r| r.col::<i64, _>("known_until").map(time)).transpose().map_err(StoreError::from)
                }).await
            }

            async fn throttle_remember(&self, pair: &crate::throttle::ThrottleKey, until: UnixTime) -> Result<(), StoreError> {

                let _turn = self.turn().await?;
                sqlx::query(Self::sql(if Self::MYSQL { super::store::MYSQL_THROTTLE_REMEMBER } else { super::store::THROTTLE_REMEMBER })?)
                    .bind(pair.as_bytes().as_slice())
                    .bind(secs(until))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn purge_throttle(&self, now: UnixTime) -> Result<u64, StoreError> {

                let _turn = self.turn().await?;
                let mut n = 0;
                for sql in super::store::THROTTLE_PURGE {
                    n += sqlx::query(Self::sql(sql)?).bind(secs(now)).execute(&self.pool).await?.rows_affected();
                }
                Ok(n)
            }
        }
    };
}

// The store-backed throttle's statements (issue 20, schema 16). Each
// parameter `$n` appears once, in increasing order.

/// The `ON CONFLICT` tail of [`THROTTLE_RESERVE`]: a counter whose window
/// ended at `seen_at` starts a new one. Every `SET` reads the old row; the
/// window columns come last.
macro_rules! throttle_upsert {
    ($values:literal) => {
        concat!(
            "INSERT INTO portcullis_throttle_counts (counter_key, seen_at, window_end, attempts, in_flight) VALUES ",
            $values,
            " ON CONFLICT (counter_key) DO UPDATE SET ",
            "attempts = CASE WHEN portcullis_throttle_counts.window_end <= excluded.seen_at THEN 1 ELSE portcullis_throttle_counts.attempts + 1 END, ",
            "in_flight = CASE WHEN portcullis_throttle_counts.window_end <= excluded.seen_at THEN 1 ELSE portcullis_throttle_counts.in_flight + 1 END, ",
            "window_end = CASE WHEN portcullis_throttle_counts.window_end <= excluded.seen_at THEN excluded.window_end ELSE portcullis_throttle_counts.window_end END, ",
            "seen_at = excluded.seen_at ",
            "RETURNING counter_key, attempts, in_flight"
        )
    };
}

/// Counts one attempt in flight under one, two or three counters
/// (`ThrottleStore::throttle_reserve`), each row `(key, now, window_end)`,
/// and returns their counts: one upsert, atomic per row. Callers pass the
/// keys sorted, so concurrent statements lock rows in one order.
pub(super) const THROTTLE_RESERVE: [&str; 3] = [
    throttle_upsert!("($1, $2, $3, 1, 1)"),
    throttle_upsert!("($1, $2, $3, 1, 1), ($4, $5, $6, 1, 1)"),
    throttle_upsert!("($1, $2, $3, 1, 1), ($4, $5, $6, 1, 1), ($7, $8, $9, 1, 1)"),
];

/// [`THROTTLE_RESERVE`] on MySQL, which has no `RETURNING`: `SET`
/// assignments run left to right, each seeing the ones before, so the
/// window columns come last; `MYSQL_THROTTLE_RESERVED` reads the counts.
macro_rules! mysql_throttle_upsert {
    ($values:literal) => {
        concat!(
            "INSERT INTO portcullis_throttle_counts (counter_key, seen_at, window_end, attempts, in_flight) VALUES ",
            $values,
            " ON DUPLICATE KEY UPDATE ",
            "attempts = CASE WHEN window_end <= VALUES(seen_at) THEN 1 ELSE attempts + 1 END, ",
            "in_flight = CASE WHEN window_end <= VALUES(seen_at) THEN 1 ELSE in_flight + 1 END, ",
            "window_end = CASE WHEN window_end <= VALUES(seen_at) THEN VALUES(window_end) ELSE window_end END, ",
            "seen_at = VALUES(seen_at)"
        )
    };
}

/// [`THROTTLE_RESERVE`] on MySQL (the upsert only).
pub(super) const MYSQL_THROTTLE_RESERVE: [&str; 3] = [
    mysql_throttle_upsert!("($1, $2, $3, 1, 1)"),
    mysql_throttle_upsert!("($1, $2, $3, 1, 1), ($4, $5, $6, 1, 1)"),
    mysql_throttle_upsert!("($1, $2, $3, 1, 1), ($4, $5, $6, 1, 1), ($7, $8, $9, 1, 1)"),
];

/// The counts [`MYSQL_THROTTLE_RESERVE`] left in its transaction, for up to
/// three counters (`$1` to `$3`, repeated to fill).
pub(super) const MYSQL_THROTTLE_RESERVED: &str = "SELECT counter_key, attempts, in_flight FROM portcullis_throttle_counts WHERE counter_key IN ($1, $2, $3)";

/// [`THROTTLE_REMEMBER`] on MySQL.
pub(super) const MYSQL_THROTTLE_REMEMBER: &str = "INSERT INTO portcullis_throttle_known (pair_key, known_until) VALUES ($1, $2) ON DUPLICATE KEY UPDATE known_until = VALUES(known_until)";

/// The counts of up to three counters (`$1` to `$3`, repeated to fill) in
/// their windows at `$4`.
pub(super) const THROTTLE_COUNTS: &str = "SELECT counter_key, attempts, in_flight FROM portcullis_throttle_counts WHERE counter_key IN ($1, $2, $3) AND window_end > $4";

/// Settles a failed attempt: no longer in flight, still counted.
pub(super) const THROTTLE_RELEASE_FAILED: &str = "UPDATE portcullis_throttle_counts SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE counter_key IN ($1, $2, $3)";

/// Settles an attempt that succeeded or judged nothing: no longer counted.
pub(super) const THROTTLE_RELEASE: &str = "UPDATE portcullis_throttle_counts SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE counter_key IN ($1, $2, $3)";

/// Until when pair `$1` is known, if it is at `$2`.
pub(super) const THROTTLE_KNOWN: &str =
    "SELECT known_until FROM portcullis_throttle_known WHERE pair_key = $1 AND known_until > $2";

/// Remembers pair `$1` as known until `$2`.
pub(super) const THROTTLE_REMEMBER: &str = "INSERT INTO portcullis_throttle_known (pair_key, known_until) VALUES ($1, $2) ON CONFLICT (pair_key) DO UPDATE SET known_until = excluded.known_until";

/// Forgets ended windows and pairs no longer known at `$1`.
pub(super) const THROTTLE_PURGE: [&str; 2] = [
    "DELETE FROM portcullis_throttle_counts WHERE window_end <= $1",
    "DELETE FROM portcullis_throttle_known WHERE known_until <= $1",
];

/// Upserts a grant's row unless it is marked revoked: one row changed means
/// the grant is live and its row locked until the transaction ends; none,
/// that it is revoked. On PostgreSQL an upsert that waits for the row's lock
/// re-checks the `WHERE` against the newest version, so a step that waited
/// for a revocation sees its mark. (`SET revoked = FALSE` only takes the
/// lock.)
pub(super) const LOCK_GRANT: &str = "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, FALSE) ON CONFLICT (grant_id) DO UPDATE SET revoked = FALSE WHERE portcullis_grants.revoked = FALSE";

/// Marks revoked every grant with a code or token of client `$1` (bound
/// twice, as `$1` and `$2`), in
/// `grant_id` order, so that two revocations covering the same grants lock
/// them in the same order and cannot deadlock. (`WHERE TRUE` keeps SQLite
/// from reading `ON CONFLICT` as a join's `ON`.)
pub(super) const MARK_CLIENT_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE client_id = $1 UNION SELECT grant_id FROM portcullis_codes WHERE client_id = $2",
    ") AS m WHERE TRUE ORDER BY m.grant_id ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
);

/// [`MARK_CLIENT_GRANTS`] for the grants of user `$1` (and `$2`).
pub(super) const MARK_USER_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE subject = $1 UNION SELECT grant_id FROM portcullis_codes WHERE subject = $2",
    ") AS m WHERE TRUE ORDER BY m.grant_id ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
);

/// The clients of the codes and tokens of login session `$1` (bound twice,
/// as `$1` and `$2`)
/// (`TokenStore::session_clients`), each once: each side reads the partial
/// index on `session_id` (schema 8), which `session_id = $1` implies.
pub(super) const SESSION_CLIENTS: &str = "SELECT client_id FROM portcullis_codes WHERE session_id = $1 UNION SELECT client_id FROM portcullis_tokens WHERE session_id = $2";

/// [`LOCK_GRANT`] on MySQL, which has no conditional upsert: the upsert
/// only takes the row's exclusive lock (creating the row if missing), and a
/// locking read (`SELECT revoked … FOR UPDATE`, which reads the newest
/// committed version, not the transaction's snapshot) tells a revoked grant.
pub(super) const MYSQL_LOCK_GRANT: &str = "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, FALSE) ON DUPLICATE KEY UPDATE grant_id = grant_id";

/// [`MARK_CLIENT_GRANTS`] on MySQL.
pub(super) const MYSQL_MARK_CLIENT_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE client_id = $1 UNION SELECT grant_id FROM portcullis_codes WHERE client_id = $2",
    ") AS m ORDER BY m.grant_id ON DUPLICATE KEY UPDATE revoked = TRUE"
);

/// [`MARK_USER_GRANTS`] on MySQL.
pub(super) const MYSQL_MARK_USER_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE subject = $1 UNION SELECT grant_id FROM portcullis_codes WHERE subject = $2",
    ") AS m ORDER BY m.grant_id ON DUPLICATE KEY UPDATE revoked = TRUE"
);

/// Marks grant `$1` revoked, creating its row if missing.
pub(super) const fn mark_grant(mysql: bool) -> &'static str {
    if mysql {
        "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, TRUE) ON DUPLICATE KEY UPDATE revoked = TRUE"
    } else {
        "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, TRUE) ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
    }
}

/// `sql` with its placeholders `$1, $2, …` replaced by `?` (MySQL's), which
/// bind by position: so each must appear once, in increasing order from
/// `$1`, and the statements of `sql_store!` are written so. Anything else
/// is refused rather than bound to the wrong column.
///
/// Each statement is rewritten once and cached for the process's life: the
/// statements are the crate's own constants, a bounded set, so the cache
/// (and the strings it leaks to give them a `'static` lifetime) stays small.
pub(super) fn question_marks(sql: &str) -> Result<&'static str, crate::error::StoreError> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, PoisonError, RwLock};
    static CACHE: LazyLock<RwLock<HashMap<String, &'static str>>> = LazyLock::new(RwLock::default);
    if let Some(done) = CACHE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(sql)
    {
        return Ok(done);
    }
    let rewritten: &'static str = Box::leak(rewrite_placeholders(sql)?.into_boxed_str());
    Ok(*CACHE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(sql.to_owned())
        .or_insert(rewritten))
}

/// The rewriting of [`question_marks`], uncached. `$` inside a quoted
/// literal is left alone.
fn rewrite_placeholders(sql: &str) -> Result<String, crate::error::StoreError> {
    let mut out = String::with_capacity(sql.len());
    let mut next = 1u32;
    let mut quoted = false;
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        let digits = sql[i + c.len_utf8()..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if c != '$' || quoted || digits == 0 {
            out.push(c);
            continue;
        }
        let n: u32 = sql[i + 1..i + 1 + digits]
            .parse()
            .map_err(|_| crate::error::StoreError::msg("a placeholder number is out of range"))?;
        if n != next {
            return Err(crate::error::StoreError::msg(
                "a statement's placeholders are not $1, $2, … each once in order, as MySQL needs",
            ));
        }
        next += 1;
        out.push('?');
        for _ in 0..digits {
            chars.next();
        }
    }
    Ok(out)
}

/// Reads a column of a row of any of the SQL stores. On PostgreSQL and
/// SQLite this is `try_get`. MariaDB flags text of a binary collation
/// (`utf8mb4_bin`, which the MySQL schema gives every text column so that
/// comparisons are exact) as `BINARY`, which sqlx's `String` refuses: there
/// the value is decoded without that check (`try_get_unchecked`), and a
/// value that is not what the column should hold still fails to decode.
pub(super) trait Column: sqlx::Row {
    /// The column `index` decoded as `T`.
    fn col<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        I: sqlx::ColumnIndex<Self>,
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>;
}

#[cfg(feature = "postgres")]
impl Column for sqlx::postgres::PgRow {
    fn col<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        I: sqlx::ColumnIndex<Self>,
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        sqlx::Row::try_get(self, index)
    }
}

#[cfg(feature = "sqlite")]
impl Column for sqlx::sqlite::SqliteRow {
    fn col<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        I: sqlx::ColumnIndex<Self>,
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        sqlx::Row::try_get(self, index)
    }
}

#[cfg(feature = "mysql")]
impl Column for sqlx::mysql::MySqlRow {
    fn col<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        I: sqlx::ColumnIndex<Self>,
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        sqlx::Row::try_get_unchecked(self, index)
    }
}

/// Rests `took` after a purge batch on SQLite (database `name`), so that
/// writers waiting for its lock get in (see `between_batches`).
#[cfg(feature = "sqlite")]
pub(super) async fn rest_between_batches(name: &str, took: std::time::Duration) {
    if name == <sqlx::Sqlite as sqlx::Database>::NAME {
        tokio::time::sleep(took).await;
    }
}

/// Without SQLite there is no database-wide write lock: no rest.
#[cfg(not(feature = "sqlite"))]
pub(super) async fn rest_between_batches(_name: &str, _took: std::time::Duration) {}

/// The next window of grant rows a purge examines: the ids of at most `$2`
/// of them after `grant_id` `$1` (an empty id: from the first), read along
/// the primary key.
pub(super) const PURGE_GRANT_WINDOW: &str =
    "SELECT grant_id FROM portcullis_grants WHERE grant_id > $1 ORDER BY grant_id LIMIT $2";

/// What the deciding `UPDATE` of an atomic step found.
pub(super) enum Decision {
    /// This caller changed the row: it won.
    Won,
    /// The row was already used: a replay of this grant.
    Used(crate::tokens::GrantId),
    /// No such row.
    Unknown,
}

/// The head of the multi-row insert of a group commit (`group_commit`):
/// the columns `TokenColumns` fills, in the order of `Writer::many`.
pub(super) const INSERT_TOKENS: &str = "INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, used, openid, session_id, dpop_jkt, resources, act) ";

/// One token's columns, borrowed from an access or refresh record.
pub(super) struct TokenColumns<'a> {
    pub(super) refresh: bool,
    pub(super) hash: &'a crate::tokens::TokenHash,
    pub(super) grant: &'a crate::tokens::GrantId,
    pub(super) client: &'a crate::client::ClientId,
    pub(super) subject: Option<&'a crate::user::UserId>,
    pub(super) scope: &'a crate::scope::ScopeSet,
    pub(super) issued_at: crate::clock::UnixTime,
    pub(super) expires_at: crate::clock::UnixTime,
    pub(super) openid: Option<&'a crate::oidc::OpenIdGrant>,
    pub(super) dpop_jkt: Option<&'a crate::dpop::thumbprint::JwkThumbprint>,
    pub(super) resources: &'a [crate::resource::Resource],
    pub(super) act: Option<&'a crate::tokens::actor::Actor>,
}

impl<'a> TokenColumns<'a> {
    /// The rows of one issuance: its access token, then its refresh token.
    pub(super) fn of(tokens: &'a crate::stores::NewTokens) -> impl Iterator<Item = Self> + 'a {
        let a = &tokens.access;
        let access = Self {
            refresh: false,
            hash: &a.hash,
            grant: &a.grant,
            client: &a.client_id,
            subject: a.subject.as_ref(),
            scope: &a.scope,
            issued_at: a.issued_at,
            expires_at: a.expires_at,
            openid: a.openid.as_ref(),
            dpop_jkt: a.dpop_jkt.as_ref(),
            resources: &a.resources,
            act: a.act.as_ref(),
        };
        let refresh = tokens.refresh.as_ref().map(|r| Self {
            refresh: true,
            hash: &r.hash,
            grant: &r.grant,
            client: &r.client_id,
            subject: r.subject.as_ref(),
            scope: &r.scope,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            openid: r.openid.as_ref(),
            dpop_jkt: r.dpop_jkt.as_ref(),
            resources: &r.resources,
            act: None,
        });
        std::iter::once(access).chain(refresh)
    }
}

/// A decoded `portcullis_tokens` row.
pub(super) struct TokenRow {
    pub(super) grant: crate::tokens::GrantId,
    pub(super) client_id: crate::client::ClientId,
    pub(super) subject: Option<crate::user::UserId>,
    pub(super) scope: crate::scope::ScopeSet,
    pub(super) issued_at: crate::clock::UnixTime,
    pub(super) expires_at: crate::clock::UnixTime,
    pub(super) used: bool,
    pub(super) openid: Option<crate::oidc::OpenIdGrant>,
    /// The DPoP key the token is bound to (schema 9).
    pub(super) dpop_jkt: Option<crate::dpop::thumbprint::JwkThumbprint>,
    pub(super) resources: Vec<crate::resource::Resource>,
    /// What replaced a rotated-out refresh token (schema 10).
    pub(super) successor: Option<crate::stores::Successor>,
    /// The `act` claim of an exchanged access token (schema 12).
    pub(super) act: Option<crate::tokens::actor::Actor>,
}

/// The successor columns of a `portcullis_tokens` row (schema 10): all
/// three set, or none.
pub(super) fn successor(
    refresh: Option<Vec<u8>>,
    access: Option<Vec<u8>>,
    rotated_at: Option<i64>,
) -> Result<Option<crate::stores::Successor>, crate::error::StoreError> {
    let hash = |b: &[u8]| {
        crate::tokens::TokenHash::try_from(b)
            .map_err(|_| crate::error::StoreError::msg("stored successor hash is invalid"))
    };
    match (refresh, access, rotated_at) {
        (Some(r), Some(a), Some(t)) => Ok(Some(crate::stores::Successor {
            refresh: hash(&r)?,
            access: hash(&a)?,
            rotated_at: super::rows::time(t),
        })),
        (None, None, None) => Ok(None),
        _ => Err(crate::error::StoreError::msg(
            "stored successor is incomplete",
        )),
    }
}

/// An `act` column (schema 12, token exchange): the claim's JSON object,
/// NULL for none.
pub(super) fn actor(
    column: Option<String>,
) -> Result<Option<crate::tokens::actor::Actor>, crate::error::StoreError> {
    column
        .map(|c| {
            serde_json::from_str(&c)
                .ok()
                .and_then(|v| crate::tokens::actor::Actor::from_json(&v))
                .ok_or(crate::error::StoreError::msg("stored act claim is invalid"))
        })
        .transpose()
}

/// A `resources` column (schema 9): a JSON array of resource indicators,
/// NULL for none.
pub(super) fn resources(
    column: Option<String>,
) -> Result<Vec<crate::resource::Resource>, crate::error::StoreError> {
    crate::resource::from_json(column.as_deref()).ok_or(crate::error::StoreError::msg(
        "stored resources are invalid",
    ))
}

/// The columns of a `portcullis_devices` row (schema 11).
pub(super) const DEVICE_SELECT: &str = "SELECT hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid FROM portcullis_devices";

/// The `subject` and `openid` columns of a device state.
pub(super) fn device_state_columns(
    state: &crate::stores::DeviceState,
) -> (Option<&str>, Option<String>) {
    match state {
        crate::stores::DeviceState::Approved { subject, openid } => (
            Some(subject.as_str()),
            openid.as_ref().map(crate::oidc::OpenIdGrant::to_json),
        ),
        _ => (None, None),
    }
}

/// A device state from its columns.
pub(super) fn device_state(
    state: i16,
    subject: Option<crate::user::UserId>,
    openid: Option<crate::oidc::OpenIdGrant>,
) -> Result<crate::stores::DeviceState, crate::error::StoreError> {
    use crate::stores::DeviceState;
    Ok(match (state, subject) {
        (0, _) => DeviceState::Pending,
        (1, Some(subject)) => DeviceState::Approved { subject, openid },
        (2, _) => DeviceState::Denied,
        (3, _) => DeviceState::Redeemed,
        _ => {
            return Err(crate::error::StoreError::msg(
                "stored device state is invalid",
            ));
        }
    })
}

/// Appends a clause to one of the shared SELECTs.
pub(super) fn const_format_where(select: &str, clause: &str) -> String {
    let mut s = String::with_capacity(select.len() + clause.len());
    s.push_str(select);
    s.push_str(clause);
    s
}

#[cfg(test)]
mod tests {
    use super::rewrite_placeholders;

    #[test]
    fn placeholders_become_question_marks_in_order() {
        assert_eq!(
            rewrite_placeholders("UPDATE t SET a = $1, b = $2 WHERE c = $3 AND d = $10x").ok(),
            None,
            "$10 after $3 is out of order"
        );
        assert_eq!(
            rewrite_placeholders("UPDATE t SET a = $1, b = $2 WHERE c = $3").unwrap(),
            "UPDATE t SET a = ?, b = ? WHERE c = ?"
        );
        // `$` in a quoted literal, or not followed by a digit, stays.
        assert_eq!(
            rewrite_placeholders("SELECT '$1', x$ FROM t WHERE a = $1").unwrap(),
            "SELECT '$1', x$ FROM t WHERE a = ?"
        );
    }

    #[test]
    fn a_placeholder_used_twice_or_out_of_order_is_refused() {
        // Bound by position, `?` would bind the wrong value: an error, not
        // a wrong statement.
        assert!(rewrite_placeholders("SELECT 1 FROM t WHERE a = $1 OR b = $1").is_err());
        assert!(rewrite_placeholders("UPDATE t SET a = $2 WHERE b = $1").is_err());
        assert!(rewrite_placeholders("SELECT 1 FROM t WHERE a = $2").is_err());
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn rewritten_statements_are_cached() {
        let sql = "SELECT a FROM t WHERE b = $1 AND c = $2";
        let first = super::question_marks(sql).unwrap();
        assert_eq!(first, "SELECT a FROM t WHERE b = ? AND c = ?");
        assert!(std::ptr::eq(first, super::question_marks(sql).unwrap()));
    }
}
