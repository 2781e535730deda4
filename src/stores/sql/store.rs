//! `sql_store!`: the one implementation of every store trait over sqlx,
//! instantiated for PostgreSQL and SQLite. The SQL is portable between the
//! two except for what the parameters carry: the string aggregate, how a
//! write transaction begins, and row locking in `purge_expired`.
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

macro_rules! sql_store {
    (
        $(#[$doc:meta])*
        $name:ident, db = $db:ty, pool = $pool:ty, conn = $conn:ty,
        agg = $agg:literal, begin = $begin:literal, skip_locked = $skip_locked:literal,
        schema = $schema:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            pool: $pool,
            /// Rows a purge deletes per statement (and transaction).
            purge_batch: std::num::NonZeroU32,
        }

        impl $name {
            /// Wraps an existing connection pool; purges in batches of
            /// [`DEFAULT_PURGE_BATCH`](crate::stores::DEFAULT_PURGE_BATCH)
            /// rows.
            pub fn from_pool(pool: $pool) -> Self {
                Self { pool, purge_batch: super::options::DEFAULT_PURGE_BATCH }
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
                    let mut tx = self.pool.begin_with($begin).await?;
                    let n = sqlx::query(sql)
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
                    let window = sqlx::query(super::store::PURGE_GRANT_WINDOW)
                        .bind(after.as_slice())
                        .bind(batch)
                        .fetch_all(&self.pool)
                        .await?;
                    let rows = i64::try_from(window.len()).unwrap_or(i64::MAX);
                    let Some(last) = window.last() else {
                        return Ok(());
                    };
                    let last: Vec<u8> = last.try_get("grant_id")?;
                    let mut tx = self.pool.begin_with($begin).await?;
                    sqlx::query(concat!(
                        "DELETE FROM portcullis_grants WHERE grant_id IN (SELECT g.grant_id FROM portcullis_grants g ",
                        "WHERE g.grant_id > $1 AND g.grant_id <= $2 ",
                        "AND NOT EXISTS (SELECT 1 FROM portcullis_tokens t WHERE t.grant_id = g.grant_id) ",
                        "AND NOT EXISTS (SELECT 1 FROM portcullis_codes c WHERE c.grant_id = g.grant_id)",
                        $skip_locked, ")"
                    ))
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
                let changed = sqlx::query(update).bind(key).execute(&mut *conn).await?.rows_affected();
                if changed == 1 {
                    return Ok(Decision::Won);
                }
                Self::lost(conn, select, hash).await
            }

            /// Why a deciding `UPDATE` changed no row: `select` (by hash)
            /// finds the row already used, or nothing.
            async fn lost(conn: &mut $conn, select: &str, hash: &TokenHash) -> Result<Decision, StoreError> {
                let row = sqlx::query(select).bind(hash.as_bytes().as_slice()).fetch_optional(&mut *conn).await?;
                match row {
                    Some(r) => Ok(Decision::Used(grant_from(&r.try_get::<Vec<u8>, _>("grant_id")?)?)),
                    None => Ok(Decision::Unknown),
                }
            }

            /// Takes the lock of `grant`'s row, creating it if missing, unless
            /// the grant is revoked: `false` then, and the caller stores
            /// nothing (RB-05; see the module docs).
            async fn lock_grant(conn: &mut $conn, grant: &GrantId) -> Result<bool, StoreError> {
                let n = sqlx::query(super::store::LOCK_GRANT)
                    .bind(grant.as_bytes().as_slice())
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            /// Binds every column of a client row after `$1`, in the order
            /// of the INSERT and UPDATE statements.
            fn bind_client<'q>(
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                client: &'q Client,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                let reg = RegistrationColumns::of(client);
                q.bind(client.client_id().as_str())
                    .bind(client.client_name())
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
                    // Pushed and signed authorization requests ($29, $30).
                    .bind(client.requires_pushed_authorization_requests())
                    .bind(client.requires_signed_request_object())
                    // DPoP (schema 9).
                    .bind(client.dpop_bound_access_tokens())
                    // Resource indicators (issue 17): $32.
                    .bind(crate::resource::to_json(client.resources()))
                    // The full client model (issue 19, schema 13): $33 to $43.
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
                    // Dynamic client registration (RFC 7592, schema 14): $44.
                    .bind(client.registration_access_token_hash().map(SecretHash::encode))
            }

            /// Records `next` as the successor of refresh token `old`
            /// (schema 10, the refresh retry window).
            async fn set_successor(conn: &mut $conn, old: &TokenHash, next: &crate::stores::Successor) -> Result<(), StoreError> {
                sqlx::query("UPDATE portcullis_tokens SET successor_hash = $2, successor_access_hash = $3, rotated_at = $4 WHERE hash = $1 AND kind = 1")
                    .bind(old.as_bytes().as_slice())
                    .bind(next.refresh.as_bytes().as_slice())
                    .bind(next.access.as_bytes().as_slice())
                    .bind(secs(next.rotated_at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn insert_tokens(conn: &mut $conn, tokens: &NewTokens) -> Result<(), StoreError> {
                let a = &tokens.access;
                Self::insert_token(conn, false, &a.hash, &a.grant, &a.client_id, a.subject.as_ref(), &a.scope, a.issued_at, a.expires_at, a.openid.as_ref(), a.dpop_jkt.as_ref(), &a.resources, a.act.as_ref()).await?;
                if let Some(r) = &tokens.refresh {
                    Self::insert_token(conn, true, &r.hash, &r.grant, &r.client_id, r.subject.as_ref(), &r.scope, r.issued_at, r.expires_at, r.openid.as_ref(), r.dpop_jkt.as_ref(), &r.resources, None).await?;
                }
                Ok(())
            }

            #[allow(clippy::too_many_arguments)]
            async fn insert_token(
                conn: &mut $conn,
                refresh: bool,
                hash: &TokenHash,
                grant: &GrantId,
                client: &ClientId,
                subject: Option<&UserId>,
                scope: &ScopeSet,
                issued_at: UnixTime,
                expires_at: UnixTime,
                openid: Option<&OpenIdGrant>,
                dpop_jkt: Option<&crate::dpop::thumbprint::JwkThumbprint>,
                resources: &[crate::resource::Resource],
                act: Option<&crate::tokens::actor::Actor>,
            ) -> Result<(), StoreError> {
                let sql = if refresh {
                    "INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, used, openid, session_id, dpop_jkt, resources, act) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, FALSE, $8, $9, $10, $11, $12)"
                } else {
                    "INSERT INTO portcullis_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, used, openid, session_id, dpop_jkt, resources, act) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, FALSE, $8, $9, $10, $11, $12)"
                };
                sqlx::query(sql)
                    .bind(hash.as_bytes().as_slice())
                    .bind(grant.as_bytes().as_slice())
                    .bind(client.as_str())
                    .bind(subject.map(UserId::as_str))
                    .bind(scope.to_string())
                    .bind(secs(issued_at))
                    .bind(secs(expires_at))
                    .bind(openid.map(OpenIdGrant::to_json))
                    .bind(openid.and_then(OpenIdGrant::session_id).map(SessionId::as_str))
                    .bind(dpop_jkt.map(crate::dpop::thumbprint::JwkThumbprint::as_str))
                    .bind(crate::resource::to_json(resources))
                    // Token exchange (issue 18, schema 12): the `act` claim.
                    .bind(act.map(ToString::to_string))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn write_client_children(conn: &mut $conn, client: &Client) -> Result<(), StoreError> {
                let id = client.client_id().as_str();
                for uri in client.redirect_uris() {
                    sqlx::query("INSERT INTO portcullis_client_redirect_uris (client_id, redirect_uri) VALUES ($1, $2)")
                        .bind(id)
                        .bind(uri.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                for grant in client.grant_types() {
                    sqlx::query("INSERT INTO portcullis_client_grants (client_id, grant_type) VALUES ($1, $2)")
                        .bind(id)
                        .bind(grant.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                // CORS (CO-01): the index `cors_origin_registered` reads.
                for origin in client.allowed_cors_origins() {
                    sqlx::query("INSERT INTO portcullis_client_cors_origins (origin, client_id) VALUES ($1, $2)")
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
                let row = sqlx::query(sql)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| -> Result<TokenRow, StoreError> {
                    let subject: Option<String> = r.try_get("subject")?;
                    Ok(TokenRow {
                        grant: grant_from(&r.try_get::<Vec<u8>, _>("grant_id")?)?,
                        client_id: parsed(&r.try_get::<String, _>("client_id")?)?,
                        subject: subject.as_deref().map(parsed).transpose()?,
                        scope: parsed(&r.try_get::<String, _>("scope")?)?,
                        issued_at: time(r.try_get("issued_at")?),
                        expires_at: time(r.try_get("expires_at")?),
                        used: r.try_get("used")?,
                        openid: openid(r.try_get("openid")?)?,
                        dpop_jkt: r.try_get::<Option<String>, _>("dpop_jkt")?.as_deref().map(parsed).transpose()?,
                        resources: super::store::resources(r.try_get("resources")?)?,
                        // Schema 11 (the refresh retry window).
                        successor: super::store::successor(
                            r.try_get("successor_hash")?,
                            r.try_get("successor_access_hash")?,
                            r.try_get("rotated_at")?,
                        )?,
                        act: super::store::actor(r.try_get("act")?)?,
                    })
                })
                .transpose()
            }

            fn consent_from(r: &<$db as sqlx::Database>::Row) -> Result<Consent, StoreError> {
                let scopes: Option<String> = r.try_get("scopes")?;
                Ok(Consent {
                    user: parsed(&r.try_get::<String, _>("user_id")?)?,
                    client_id: parsed(&r.try_get::<String, _>("client_id")?)?,
                    scope: parsed(scopes.as_deref().unwrap_or_default())?,
                    granted_at: time(r.try_get("granted_at")?),
                })
            }

            fn client_from(r: &<$db as sqlx::Database>::Row) -> Result<Client, StoreError> {
                ClientRow {
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("client_name")?,
                    secret_hash: r.try_get("secret_hash")?,
                    auth_method: r.try_get("token_endpoint_auth_method")?,
                    scope: r.try_get("scope")?,
                    default_scope: r.try_get("default_scope")?,
                    enabled: r.try_get("enabled")?,
                    skip_consent: r.try_get("skip_consent")?,
                    allow_plain_pkce: r.try_get("allow_plain_pkce")?,
                    access_token_lifetime: r.try_get("access_token_lifetime")?,
                    refresh_token_lifetime: r.try_get("refresh_token_lifetime")?,
                    redirect_uris: r.try_get("redirect_uris")?,
                    grant_types: r.try_get("grant_types")?,
                    access_token_format: r.try_get("access_token_format")?,
                    jwks: r.try_get("jwks")?,
                    jwt_secret: r.try_get("jwt_secret")?,
                    resource_server_audiences: r.try_get("resource_server_audiences")?,
                    openid: OpenIdColumns {
                        id_token_signed_response_alg: r.try_get("id_token_signed_response_alg")?,
                        userinfo_signed_response_alg: r.try_get("userinfo_signed_response_alg")?,
                        subject_type: r.try_get("subject_type")?,
                        sector_identifier_uri: r.try_get("sector_identifier_uri")?,
                        post_logout_redirect_uris: r.try_get("post_logout_redirect_uris")?,
                        backchannel_logout_uri: r.try_get("backchannel_logout_uri")?,
                        backchannel_logout_session_required: r.try_get("backchannel_logout_session_required")?,
                        require_auth_time: r.try_get("require_auth_time")?,
                        default_max_age: r.try_get("default_max_age")?,
                        logo_uri: r.try_get("logo_uri")?,
                        policy_uri: r.try_get("policy_uri")?,
                        tos_uri: r.try_get("tos_uri")?,
                        client_uri: r.try_get("client_uri")?,
                    },
                    require_pushed_authorization_requests: r.try_get("require_pushed_authorization_requests")?,
                    require_signed_request_object: r.try_get("require_signed_request_object")?,
                    dpop_bound_access_tokens: r.try_get("dpop_bound_access_tokens")?,
                    resources: r.try_get("resources")?,
                    registration: RegistrationColumns {
                        application_type: r.try_get("application_type")?,
                        contacts: r.try_get("contacts")?,
                        jwks_uri: r.try_get("jwks_uri")?,
                        software_id: r.try_get("software_id")?,
                        software_version: r.try_get("software_version")?,
                        client_secret_expires_at: r.try_get("client_secret_expires_at")?,
                        token_endpoint_auth_signing_alg: r.try_get("token_endpoint_auth_signing_alg")?,
                        request_object_signing_alg: r.try_get("request_object_signing_alg")?,
                        allowed_cors_origins: r.try_get("allowed_cors_origins")?,
                        owner: r.try_get("owner")?,
                        metadata: r.try_get("metadata")?,
                    },
                    registration_access_token_hash: r.try_get("registration_access_token_hash")?,
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
            "(SELECT ", $agg, "(r.redirect_uri, '\n') FROM portcullis_client_redirect_uris r WHERE r.client_id = c.client_id) AS redirect_uris, ",
            "(SELECT ", $agg, "(g.grant_type, ' ') FROM portcullis_client_grants g WHERE g.client_id = c.client_id) AS grant_types ",
            "FROM portcullis_clients c"
        );

        const CONSENT_SELECT: &str = concat!(
            "SELECT c.user_id, c.client_id, c.granted_at, ",
            "(SELECT ", $agg, "(s.scope, ' ') FROM portcullis_consent_scopes s WHERE s.user_id = c.user_id AND s.client_id = c.client_id) AS scopes ",
            "FROM portcullis_consents c"
        );

        #[async_trait]
        impl ClientStore for $name {
            async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
                let sql = const_format_where(CLIENT_SELECT, " WHERE c.client_id = $1");
                let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
                row.map(|r| Self::client_from(&r).map(Arc::new)).transpose()
            }

            async fn cors_origin_registered(&self, origin: &crate::origin::Origin) -> Result<bool, StoreError> {
                let row = sqlx::query("SELECT 1 FROM portcullis_client_cors_origins o JOIN portcullis_clients c ON c.client_id = o.client_id WHERE o.origin = $1 AND c.enabled = TRUE LIMIT 1")
                    .bind(origin.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }
        }

        #[async_trait]
        impl ClientAdmin for $name {

            async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                Self::bind_client(sqlx::query("INSERT INTO portcullis_clients (client_id, client_name, secret_hash, token_endpoint_auth_method, scope, default_scope, enabled, skip_consent, allow_plain_pkce, access_token_lifetime, refresh_token_lifetime, access_token_format, jwks, jwt_secret, resource_server_audiences, id_token_signed_response_alg, userinfo_signed_response_alg, subject_type, sector_identifier_uri, post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required, require_auth_time, default_max_age, logo_uri, policy_uri, tos_uri, client_uri, require_pushed_authorization_requests, require_signed_request_object, dpop_bound_access_tokens, resources, application_type, contacts, jwks_uri, software_id, software_version, client_secret_expires_at, token_endpoint_auth_signing_alg, request_object_signing_alg, allowed_cors_origins, owner, metadata, registration_access_token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44)"), &client)
                    .execute(&mut *tx)
                    .await?;
                Self::write_client_children(&mut tx, &client).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_client(&self, client: Client) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let n = Self::bind_client(sqlx::query("UPDATE portcullis_clients SET client_name = $2, secret_hash = $3, token_endpoint_auth_method = $4, scope = $5, default_scope = $6, enabled = $7, skip_consent = $8, allow_plain_pkce = $9, access_token_lifetime = $10, refresh_token_lifetime = $11, access_token_format = $12, jwks = $13, jwt_secret = $14, resource_server_audiences = $15, id_token_signed_response_alg = $16, userinfo_signed_response_alg = $17, subject_type = $18, sector_identifier_uri = $19, post_logout_redirect_uris = $20, backchannel_logout_uri = $21, backchannel_logout_session_required = $22, require_auth_time = $23, default_max_age = $24, logo_uri = $25, policy_uri = $26, tos_uri = $27, client_uri = $28, require_pushed_authorization_requests = $29, require_signed_request_object = $30, dpop_bound_access_tokens = $31, resources = $32, application_type = $33, contacts = $34, jwks_uri = $35, software_id = $36, software_version = $37, client_secret_expires_at = $38, token_endpoint_auth_signing_alg = $39, request_object_signing_alg = $40, allowed_cors_origins = $41, owner = $42, metadata = $43, registration_access_token_hash = $44 WHERE client_id = $1"), &client)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Ok(false);
                }
                for table in ["DELETE FROM portcullis_client_redirect_uris WHERE client_id = $1", "DELETE FROM portcullis_client_grants WHERE client_id = $1", "DELETE FROM portcullis_client_cors_origins WHERE client_id = $1"] {
                    sqlx::query(table).bind(client.client_id().as_str()).execute(&mut *tx).await?;
                }
                Self::write_client_children(&mut tx, &client).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                for table in ["DELETE FROM portcullis_client_redirect_uris WHERE client_id = $1", "DELETE FROM portcullis_client_grants WHERE client_id = $1", "DELETE FROM portcullis_client_cors_origins WHERE client_id = $1"] {
                    sqlx::query(table).bind(id.as_str()).execute(&mut *tx).await?;
                }
                let n = sqlx::query("DELETE FROM portcullis_clients WHERE client_id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
                let sql = const_format_where(CLIENT_SELECT, " ORDER BY c.client_id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Self::client_from(r).map(Arc::new)).collect()
            }
        }

        #[async_trait]
        impl TokenStore for $name {
            async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO portcullis_codes (hash, grant_id, client_id, subject, scope, redirect_uri, challenge, challenge_method, issued_at, expires_at, used, openid, session_id, resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
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
                let row = sqlx::query("SELECT grant_id, client_id, subject, scope, redirect_uri, challenge, challenge_method, issued_at, expires_at, used, openid, resources, dpop_jkt FROM portcullis_codes WHERE hash = $1")
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(r) = row else { return Ok(None) };
                let redirect: Option<String> = r.try_get("redirect_uri")?;
                Ok(Some(CodeRecord {
                    hash: *hash,
                    grant: grant_from(&r.try_get::<Vec<u8>, _>("grant_id")?)?,
                    client_id: parsed(&r.try_get::<String, _>("client_id")?)?,
                    subject: parsed(&r.try_get::<String, _>("subject")?)?,
                    scope: parsed(&r.try_get::<String, _>("scope")?)?,
                    redirect_uri: redirect
                        .map(|u| RedirectUri::parse(&u).ok_or(StoreError::msg("stored redirect URI is invalid")))
                        .transpose()?,
                    challenge: challenge(r.try_get("challenge")?, r.try_get("challenge_method")?)?,
                    issued_at: time(r.try_get("issued_at")?),
                    expires_at: time(r.try_get("expires_at")?),
                    used: r.try_get("used")?,
                    openid: openid(r.try_get("openid")?)?,
                    resources: super::store::resources(r.try_get("resources")?)?,
                    dpop_jkt: r.try_get::<Option<String>, _>("dpop_jkt")?.as_deref().map(parsed).transpose()?,
                }))
            }

            async fn exchange_code(&self, hash: &TokenHash, tokens: NewTokens) -> Result<Exchange, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // The grant's lock first (RB-05): a revoked grant's code was
                // deleted with it, so it is unknown now.
                if !Self::lock_grant(&mut tx, &tokens.access.grant).await? {
                    tx.rollback().await?;
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
                        return Ok(Exchange::Issued);
                    }
                    Decision::Used(grant) => Exchange::AlreadyUsed(grant),
                    Decision::Unknown => Exchange::Unknown,
                };
                tx.rollback().await?;
                Ok(outcome)
            }

            async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // A grant whose id derives from its new access token (every
                // grant the server starts with `issue`) is unknown to anyone
                // else, so nothing can revoke it yet: no lock, no row. Tokens
                // joining an existing grant take its lock, as a rotation does.
                let grant = &tokens.access.grant;
                if *grant != GrantId::derive(&tokens.access.hash) && !Self::lock_grant(&mut tx, grant).await? {
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
                let mut tx = self.pool.begin_with($begin).await?;
                // The grant's lock first (RB-05): a revoked grant's tokens
                // were deleted with it, so the old one is unknown now.
                if !Self::lock_grant(&mut tx, &new.access.grant).await? {
                    tx.rollback().await?;
                    return Ok(Rotation::Unknown);
                }
                // The deciding UPDATE also records what replaced the token,
                // for the retry window (schema 10): one statement, one round
                // trip.
                let next = crate::stores::Successor::of(&new);
                let changed = sqlx::query("UPDATE portcullis_tokens SET used = TRUE, successor_hash = $2, successor_access_hash = $3, rotated_at = $4 WHERE hash = $1 AND kind = 1 AND used = FALSE")
                    .bind(old.as_bytes().as_slice())
                    .bind(next.as_ref().map(|n| n.refresh.as_bytes().as_slice()))
                    .bind(next.as_ref().map(|n| n.access.as_bytes().as_slice()))
                    .bind(next.as_ref().map(|n| secs(n.rotated_at)))
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
                        return Ok(Rotation::Rotated);
                    }
                    Decision::Used(grant) => Rotation::Replayed(grant),
                    Decision::Unknown => Rotation::Unknown,
                };
                tx.rollback().await?;
                Ok(outcome)
            }

            async fn replace_successor(&self, old: &TokenHash, successor: &TokenHash, new: NewTokens) -> Result<crate::stores::Replacement, StoreError> {
                use crate::stores::Replacement;
                let mut tx = self.pool.begin_with($begin).await?;
                // The grant's lock first (RB-05), as in a rotation: every
                // step of the grant (rotations, other retries) now waits for
                // this transaction, so what it reads below stays true until
                // it commits. A revoked grant's tokens are gone: unknown.
                if !Self::lock_grant(&mut tx, &new.access.grant).await? {
                    tx.rollback().await?;
                    return Ok(Replacement::Unknown);
                }
                let row = sqlx::query("SELECT grant_id, successor_hash, successor_access_hash, rotated_at FROM portcullis_tokens WHERE hash = $1 AND kind = 1")
                    .bind(old.as_bytes().as_slice())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(Replacement::Unknown);
                };
                let grant = grant_from(&row.try_get::<Vec<u8>, _>("grant_id")?)?;
                let current = super::store::successor(
                    row.try_get("successor_hash")?,
                    row.try_get("successor_access_hash")?,
                    row.try_get("rotated_at")?,
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
                let n = sqlx::query("UPDATE portcullis_tokens SET used = TRUE WHERE hash = $1 AND kind = 1 AND used = FALSE")
                    .bind(successor.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(Replacement::Replayed(grant));
                }
                sqlx::query("DELETE FROM portcullis_tokens WHERE hash = $1 AND kind = 0")
                    .bind(current.access.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
                Self::set_successor(&mut tx, old, &replaced).await?;
                Self::insert_tokens(&mut tx, &new).await?;
                tx.commit().await?;
                Ok(Replacement::Replaced)
            }

            async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM portcullis_tokens WHERE hash = $1 AND kind = 0")
                    .bind(hash.as_bytes().as_slice())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // Mark first: this waits for the steps in flight in the grant,
                // and the DELETEs after it see what they stored (RB-05).
                for sql in [
                    "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, TRUE) ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE",
                    "DELETE FROM portcullis_tokens WHERE grant_id = $1",
                    "DELETE FROM portcullis_codes WHERE grant_id = $1",
                ] {
                    sqlx::query(sql).bind(grant.as_bytes().as_slice()).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }


            async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // The grants that end with the session, decided in Rust from
                // each record's scope and `used` (as the memory stores do),
                // then revoked one by one as `revoke_grant` does: mark first,
                // in `grant_id` order, then delete (RB-05). A grant is taken
                // as this first read saw it: one whose code an exchange in
                // flight consumes goes whole all the same.
                let sid = session.as_str();
                let mut grants: Vec<Vec<u8>> = Vec::new();
                for r in sqlx::query("SELECT grant_id, scope, used FROM portcullis_codes WHERE session_id = $1")
                    .bind(sid)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    let scope: ScopeSet = parsed(&r.try_get::<String, _>("scope")?)?;
                    let used: bool = r.try_get("used")?;
                    if !(used && scope.contains(OFFLINE_ACCESS)) {
                        grants.push(r.try_get("grant_id")?);
                    }
                }
                for r in sqlx::query("SELECT grant_id, scope FROM portcullis_tokens WHERE session_id = $1 AND kind = 1")
                    .bind(sid)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    let scope: ScopeSet = parsed(&r.try_get::<String, _>("scope")?)?;
                    if !scope.contains(OFFLINE_ACCESS) {
                        grants.push(r.try_get("grant_id")?);
                    }
                }
                grants.sort_unstable();
                grants.dedup();
                let mut n = 0;
                for grant in &grants {
                    sqlx::query("INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, TRUE) ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE")
                        .bind(grant.as_slice())
                        .execute(&mut *tx)
                        .await?;
                    for sql in ["DELETE FROM portcullis_tokens WHERE grant_id = $1", "DELETE FROM portcullis_codes WHERE grant_id = $1"] {
                        n += sqlx::query(sql).bind(grant.as_slice()).execute(&mut *tx).await?.rows_affected();
                    }
                }
                // The session's access tokens in the grants that outlive it.
                n += sqlx::query("DELETE FROM portcullis_tokens WHERE session_id = $1 AND kind = 0")
                    .bind(sid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
                let rows = sqlx::query(super::store::SESSION_CLIENTS)
                    .bind(session.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| parsed(&r.try_get::<String, _>("client_id")?))
                    .collect()
            }
        }

        #[async_trait]
        impl TokenAdmin for $name {
            async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // Every member of a grant shares its client, so this removes
                // whole grants; their marks first, as in `revoke_grant`.
                sqlx::query(super::store::MARK_CLIENT_GRANTS).bind(client.as_str()).execute(&mut *tx).await?;
                let mut n = 0;
                for sql in ["DELETE FROM portcullis_tokens WHERE client_id = $1", "DELETE FROM portcullis_codes WHERE client_id = $1"] {
                    n += sqlx::query(sql).bind(client.as_str()).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // Every member of a grant shares its subject: whole grants,
                // marked first, as in `revoke_grant`.
                sqlx::query(super::store::MARK_USER_GRANTS).bind(user.as_str()).execute(&mut *tx).await?;
                let mut n = 0;
                for sql in ["DELETE FROM portcullis_tokens WHERE subject = $1", "DELETE FROM portcullis_codes WHERE subject = $1"] {
                    n += sqlx::query(sql).bind(user.as_str()).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
                // In batches (see the module docs). Suspended authorization
                // requests nobody resumed, and device authorizations (schema
                // 11), redeemed or not.
                self.purge_batches(concat!(
                    "DELETE FROM portcullis_authorization_requests WHERE hash IN (SELECT hash FROM portcullis_authorization_requests ",
                    "WHERE expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await?;
                self.purge_batches(concat!(
                    "DELETE FROM portcullis_devices WHERE hash IN (SELECT hash FROM portcullis_devices ",
                    "WHERE expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await?;
                let codes = self.purge_batches(concat!(
                    "DELETE FROM portcullis_codes WHERE hash IN (SELECT hash FROM portcullis_codes ",
                    "WHERE expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await?;
                let access_tokens = self.purge_batches(concat!(
                    "DELETE FROM portcullis_tokens WHERE hash IN (SELECT hash FROM portcullis_tokens ",
                    "WHERE kind = 0 AND expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await?;
                let refresh_tokens = self.purge_batches(concat!(
                    "DELETE FROM portcullis_tokens WHERE hash IN (SELECT hash FROM portcullis_tokens ",
                    "WHERE kind = 1 AND expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await?;
                // Grant rows last, holding no other lock.
                self.purge_grant_rows().await?;
                Ok(PurgeCounts { codes, access_tokens, refresh_tokens })
            }
        }

        #[async_trait]
        impl AuthorizationRequestStore for $name {
            async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO portcullis_authorization_requests (hash, payload, expires_at) VALUES ($1, $2, $3)")
                    .bind(request.hash.as_bytes().as_slice())
                    .bind(request.payload.as_str())
                    .bind(secs(request.expires_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
                // One statement: of concurrent takers, only the one whose
                // DELETE removed the row gets it back.
                let row = sqlx::query("DELETE FROM portcullis_authorization_requests WHERE hash = $1 RETURNING payload, expires_at")
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => Ok(Some(SuspendedRequest {
                        hash: *hash,
                        payload: r.try_get("payload")?,
                        expires_at: time(r.try_get("expires_at")?),
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
                let (subject, openid) = super::store::device_state_columns(&d.state);
                let n = sqlx::query("INSERT INTO portcullis_devices (hash, user_code, client_id, scope, issued_at, expires_at, interval_secs, last_poll, state, subject, openid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING")
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
                let row = sqlx::query(const_format_where(super::store::DEVICE_SELECT, " WHERE hash = $1").as_str())
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::device_from(&r)).transpose()
            }

            async fn find_user_code(&self, user_code: &TokenHash) -> Result<Option<crate::stores::DeviceRecord>, StoreError> {
                let row = sqlx::query(const_format_where(super::store::DEVICE_SELECT, " WHERE user_code = $1").as_str())
                    .bind(user_code.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::device_from(&r)).transpose()
            }

            async fn decide_device(&self, user_code: &TokenHash, decision: crate::stores::DeviceDecision, now: UnixTime) -> Result<bool, StoreError> {
                let state = match decision {
                    crate::stores::DeviceDecision::Approve { subject, openid } => crate::stores::DeviceState::Approved { subject, openid },
                    _ => crate::stores::DeviceState::Denied,
                };
                let (subject, openid) = super::store::device_state_columns(&state);
                let n = sqlx::query("UPDATE portcullis_devices SET state = $2, subject = $3, openid = $4 WHERE user_code = $1 AND state = 0 AND expires_at > $5")
                    .bind(user_code.as_bytes().as_slice())
                    .bind(i16::from(state.code()))
                    .bind(subject)
                    .bind(openid)
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
                let row = sqlx::query(sql)
                    .bind(hash.as_bytes().as_slice())
                    .bind(secs(now))
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    None => Ok(crate::stores::DevicePoll::Unknown),
                    Some(r) => Ok(crate::stores::DevicePoll::Polled {
                        record: Self::device_from(&r)?,
                        too_soon: r.try_get("last_too_soon")?,
                    }),
                }
            }

            async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError> {
                // One transaction (#18): the conditional UPDATE decides (it
                // takes the row's lock; a concurrent redemption waits, then
                // finds the state changed), and the tokens are inserted
                // before the commit. Any error drops the transaction, which
                // rolls back: the record stays approved, nothing is stored.
                let mut tx = self.pool.begin_with($begin).await?;
                let n = sqlx::query("UPDATE portcullis_devices SET state = 3 WHERE hash = $1 AND state = 1")
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
                let hash: Vec<u8> = r.try_get("hash")?;
                let user_code: Vec<u8> = r.try_get("user_code")?;
                let interval: i64 = r.try_get("interval_secs")?;
                let last_poll: Option<i64> = r.try_get("last_poll")?;
                let state: i16 = r.try_get("state")?;
                let subject: Option<String> = r.try_get("subject")?;
                Ok(crate::stores::DeviceRecord {
                    hash: TokenHash::try_from(hash.as_slice()).map_err(StoreError::new)?,
                    user_code: TokenHash::try_from(user_code.as_slice()).map_err(StoreError::new)?,
                    client_id: parsed(&r.try_get::<String, _>("client_id")?)?,
                    scope: parsed(&r.try_get::<String, _>("scope")?)?,
                    issued_at: time(r.try_get("issued_at")?),
                    expires_at: time(r.try_get("expires_at")?),
                    interval: std::time::Duration::from_secs(u64::try_from(interval).unwrap_or(0)),
                    last_poll: last_poll.map(time),
                    state: super::store::device_state(state, subject.as_deref().map(parsed).transpose()?, openid(r.try_get("openid")?)?)?,
                })
            }
        }

        #[async_trait]
        impl ReplayCache for $name {
            async fn first_use(&self, scope: &ReplayScope, id: &str, expires_at: UnixTime) -> Result<bool, StoreError> {
                // One table per kind; the primary key makes this atomic:
                // of concurrent inserts, one wins.
                // DPoP proofs share the table (schema 9 adds none): their
                // key starts with a character no client id has (client ids
                // are ASCII), so the two kinds never collide.
                let key: std::borrow::Cow<'_, str> = match scope {
                    ReplayScope::ClientAssertion(client) => client.as_str().into(),
                    ReplayScope::DpopProof(jkt) => format!("\u{b7}dpop:{jkt}").into(),
                };
                let n = sqlx::query("INSERT INTO portcullis_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
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
                self.purge_batches(concat!(
                    "DELETE FROM portcullis_assertion_jtis WHERE (client_id, jti) IN (SELECT client_id, jti FROM portcullis_assertion_jtis ",
                    "WHERE expires_at <= $1 LIMIT $2", $skip_locked, ")"
                ), now).await
            }
        }

        #[async_trait]
        impl KeyProvider for $name {
            async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
                let rows = sqlx::query("SELECT kid, alg, private_pkcs8, created_at, not_before, not_after, drop_after FROM portcullis_keys")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| -> Result<KeyRecord, StoreError> {
                        let kid: String = r.try_get("kid")?;
                        let alg: String = r.try_get("alg")?;
                        let not_after: Option<i64> = r.try_get("not_after")?;
                        let drop_after: Option<i64> = r.try_get("drop_after")?;
                        Ok(KeyRecord {
                            kid: parsed(&kid)?,
                            alg: parsed(&alg)?,
                            private_pkcs8: crate::secret::Secret::new(r.try_get("private_pkcs8")?),
                            created_at: time(r.try_get("created_at")?),
                            not_before: time(r.try_get("not_before")?),
                            not_after: not_after.map(time),
                            drop_after: drop_after.map(time),
                        })
                    })
                    .collect()
            }

            async fn insert_key(&self, key: KeyRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO portcullis_keys (kid, alg, private_pkcs8, created_at, not_before, not_after, drop_after) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
                let n = sqlx::query("UPDATE portcullis_keys SET not_after = $2, drop_after = $3 WHERE kid = $1")
                    .bind(kid.as_str())
                    .bind(secs(not_after))
                    .bind(secs(drop_after))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn delete_key(&self, kid: &KeyId) -> Result<bool, StoreError> {
                let n = sqlx::query("DELETE FROM portcullis_keys WHERE kid = $1")
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
                let row = sqlx::query(&sql)
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::consent_from(&r)).transpose()
            }

            async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query("INSERT INTO portcullis_consents (user_id, client_id, granted_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = excluded.granted_at")
                    .bind(consent.user.as_str())
                    .bind(consent.client_id.as_str())
                    .bind(secs(consent.granted_at))
                    .execute(&mut *tx)
                    .await?;
                for s in consent.scope.iter() {
                    sqlx::query("INSERT INTO portcullis_consent_scopes (user_id, client_id, scope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
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
                let rows = sqlx::query(&sql).bind(user.as_str()).fetch_all(&self.pool).await?;
                rows.iter().map(Self::consent_from).collect()
            }

            async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query("DELETE FROM portcullis_consent_scopes WHERE user_id = $1 AND client_id = $2")
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM portcullis_consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }
        }
    };
}

/// Upserts a grant's row unless it is marked revoked: one row changed means
/// the grant is live and its row locked until the transaction ends; none,
/// that it is revoked. On PostgreSQL an upsert that waits for the row's lock
/// re-checks the `WHERE` against the newest version, so a step that waited
/// for a revocation sees its mark. (`SET revoked = FALSE` only takes the
/// lock.)
pub(super) const LOCK_GRANT: &str = "INSERT INTO portcullis_grants (grant_id, revoked) VALUES ($1, FALSE) ON CONFLICT (grant_id) DO UPDATE SET revoked = FALSE WHERE portcullis_grants.revoked = FALSE";

/// Marks revoked every grant with a code or token of client `$1`, in
/// `grant_id` order, so that two revocations covering the same grants lock
/// them in the same order and cannot deadlock. (`WHERE TRUE` keeps SQLite
/// from reading `ON CONFLICT` as a join's `ON`.)
pub(super) const MARK_CLIENT_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE client_id = $1 UNION SELECT grant_id FROM portcullis_codes WHERE client_id = $1",
    ") AS m WHERE TRUE ORDER BY m.grant_id ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
);

/// [`MARK_CLIENT_GRANTS`] for the grants of user `$1`.
pub(super) const MARK_USER_GRANTS: &str = concat!(
    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
    "SELECT grant_id FROM portcullis_tokens WHERE subject = $1 UNION SELECT grant_id FROM portcullis_codes WHERE subject = $1",
    ") AS m WHERE TRUE ORDER BY m.grant_id ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
);

/// The clients of the codes and tokens of login session `$1`
/// (`TokenStore::session_clients`), each once: each side reads the partial
/// index on `session_id` (schema 8), which `session_id = $1` implies.
pub(super) const SESSION_CLIENTS: &str = "SELECT client_id FROM portcullis_codes WHERE session_id = $1 UNION SELECT client_id FROM portcullis_tokens WHERE session_id = $1";

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
