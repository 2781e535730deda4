//! Opening the database, and the few questions the store traits cannot
//! answer, asked in SQL on the store's own pool:
//!
//! - how many codes and tokens a purge *would* delete (`tokens purge
//!   --dry-run`): `TokenAdmin::purge_expired` deletes as it counts;
//! - which users consented to a client (`client delete`): `ConsentAdmin`
//!   lists by user only; each consent found is then withdrawn through
//!   `ConsentAdmin::revoke_consent`;
//! - revoking what one client holds for one user (`consent revoke`):
//!   `TokenAdmin` revokes by client or by user, not by both.
//!
//! The statements use the schema this crate ships (`portcullis_codes`,
//! `portcullis_tokens`, `portcullis_consents`) and its indexes.

use std::sync::Arc;
use std::time::Duration;

use portcullis::stores::{MySqlStore, PostgresStore, SqliteStore};
use portcullis::{
    AuthorizationServer, ClientAdmin, ClientId, ClientStore, Config, ConsentAdmin, KeyProvider,
    PurgeCounts, ReplayCache, TokenAdmin, UnixTime, UserId,
};
use serde::Serialize;

use crate::Failure;
use crate::output::Output;

enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
    MySql(Arc<MySqlStore>),
}

/// An open database: every store trait, and the server built on them.
pub(crate) struct Db {
    backend: Backend,
}

/// Runs `$body` with `$pool` bound to the pool of whichever database is open.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.backend {
            Backend::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            Backend::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
            Backend::MySql(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}

/// The URL with its password (and any `password=` parameter) masked, for
/// messages.
pub(crate) fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "the database URL".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some_and(|q| q.contains("password")) {
        parsed.set_query(None);
    }
    if parsed.as_str() == url {
        url.to_owned()
    } else {
        parsed.to_string()
    }
}

/// Whether `url` carries a password (in its userinfo or a `password=`
/// parameter).
pub(crate) fn has_password(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| u.password().is_some() || u.query_pairs().any(|(k, _)| k == "password"))
}

impl Db {
    /// Connects to `url` (`sqlite:`, `postgres:`/`postgresql:` or
    /// `mysql:`/`mariadb:`). Without
    /// `create`, a missing SQLite file is an error rather than created.
    pub(crate) async fn open(url: &str, timeout: Duration, create: bool) -> Result<Self, Failure> {
        let shown = redact(url);
        let backend = if url.starts_with("sqlite:") {
            if !create {
                check_sqlite_file(url, &shown)?;
            }
            let store = within(timeout, &shown, SqliteStore::connect(url)).await?;
            Backend::Sqlite(Arc::new(store))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // One plain connection first: the pool retries a refused
            // connection until its own timeout, and hides the cause.
            within(timeout, &shown, async {
                use sqlx::Connection as _;
                let conn = sqlx::PgConnection::connect(url).await?;
                conn.close().await?;
                Ok::<(), sqlx::Error>(())
            })
            .await?;
            let store = within(timeout, &shown, PostgresStore::connect(url)).await?;
            Backend::Postgres(Arc::new(store))
        } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            within(timeout, &shown, async {
                use sqlx::Connection as _;
                let conn = sqlx::MySqlConnection::connect(url).await?;
                conn.close().await?;
                Ok::<(), sqlx::Error>(())
            })
            .await?;
            let store = within(timeout, &shown, MySqlStore::connect(url)).await?;
            Backend::MySql(Arc::new(store))
        } else {
            return Err(Failure::Input(format!(
                "unsupported database URL {shown}: use sqlite://PATH, postgres://USER:PASSWORD@HOST/NAME \
                 or mysql://USER:PASSWORD@HOST/NAME"
            )));
        };
        Ok(Self { backend })
    }

    /// Closes the pool, so SQLite checkpoints and PostgreSQL sees a clean exit.
    pub(crate) async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }

    /// `migrate`: applies the schema shipped with the crate.
    pub(crate) async fn migrate(&self) -> Result<Output, Failure> {
        #[derive(Serialize)]
        struct Migrated {
            backend: &'static str,
            migrated: bool,
        }
        let (backend, result) = match &self.backend {
            Backend::Sqlite(s) => ("sqlite", s.migrate().await),
            Backend::Postgres(s) => ("postgresql", s.migrate().await),
            Backend::MySql(s) => ("mysql", s.migrate().await),
        };
        result.map_err(|e| Failure::store("migrate", &e))?;
        Output::new(
            &Migrated {
                backend,
                migrated: true,
            },
            format!("schema up to date ({backend})"),
        )
    }

    pub(crate) fn clients(&self) -> &dyn ClientStore {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    pub(crate) fn client_admin(&self) -> &dyn ClientAdmin {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    pub(crate) fn tokens(&self) -> &dyn TokenAdmin {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    pub(crate) fn replays(&self) -> &dyn ReplayCache {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    /// The store-backed throttle's counts (schema 16), for `tokens purge`.
    pub(crate) fn throttle(&self) -> &dyn portcullis::ThrottleStore {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    pub(crate) fn consents(&self) -> &dyn ConsentAdmin {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    pub(crate) fn keys(&self) -> &dyn KeyProvider {
        match &self.backend {
            Backend::Sqlite(s) => &**s,
            Backend::Postgres(s) => &**s,
            Backend::MySql(s) => &**s,
        }
    }

    /// A server on this database, as the host's would be, for key rotation
    /// and key purging.
    pub(crate) fn server(&self, config: Config) -> Result<AuthorizationServer, Failure> {
        let builder = AuthorizationServer::builder(config);
        let builder = match &self.backend {
            Backend::Sqlite(s) => builder.store(s.clone()).key_provider(s.clone()),
            Backend::Postgres(s) => builder.store(s.clone()).key_provider(s.clone()),
            Backend::MySql(s) => builder.store(s.clone()).key_provider(s.clone()),
        };
        builder
            .build()
            .map_err(|e| Failure::Input(format!("server configuration: {e}")))
    }

    /// What `TokenAdmin::purge_expired(now)` would delete, counted without
    /// deleting anything.
    pub(crate) async fn count_expired(&self, now: UnixTime) -> Result<PurgeCounts, Failure> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let statements = [
            "SELECT COUNT(*) FROM portcullis_codes WHERE expires_at <= $1",
            "SELECT COUNT(*) FROM portcullis_tokens WHERE kind = 0 AND expires_at <= $1",
            "SELECT COUNT(*) FROM portcullis_tokens WHERE kind = 1 AND expires_at <= $1",
        ];
        let mut counts = [0u64; 3];
        for (count, sql) in counts.iter_mut().zip(statements) {
            let n: i64 =
                on_pool!(self, pool => sqlx::query_scalar(&self.sql(sql)).bind(now).fetch_one(pool).await)
                    .map_err(|e| Failure::store("count expired tokens", &e))?;
            *count = u64::try_from(n).unwrap_or(0);
        }
        let [codes, access_tokens, refresh_tokens] = counts;
        Ok(PurgeCounts {
            codes,
            access_tokens,
            refresh_tokens,
        })
    }

    /// The users who have consent stored for `client`.
    pub(crate) async fn consenting_users(&self, client: &ClientId) -> Result<Vec<UserId>, Failure> {
        let sql = "SELECT user_id FROM portcullis_consents WHERE client_id = $1 ORDER BY user_id";
        let sql = self.sql(sql);
        // MariaDB flags text of a binary collation (the MySQL schema's) as
        // BINARY, which sqlx's checked `String` refuses: read it unchecked
        // there (as the store does).
        let mysql = matches!(self.backend, Backend::MySql(_));
        let ids: Vec<String> = on_pool!(self, pool => async {
            let rows = sqlx::query(&sql).bind(client.as_str()).fetch_all(pool).await?;
            rows.iter()
                .map(|r| if mysql { sqlx::Row::try_get_unchecked(r, 0) } else { sqlx::Row::try_get(r, 0) })
                .collect::<Result<Vec<String>, sqlx::Error>>()
        }.await)
            .map_err(|e| Failure::store("list consent", &e))?;
        ids.iter()
            .map(|id| {
                UserId::parse(id)
                    .ok_or_else(|| Failure::Store(format!("stored user id is invalid: {id:?}")))
            })
            .collect()
    }

    /// Revokes every code and token `client` holds for `user` (whole
    /// grants: a grant's members share client and user); returns how many.
    pub(crate) async fn revoke_user_client(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<u64, Failure> {
        // The grants of this user and client are marked revoked first (the
        // store's grant rows, schema 4), so a refresh or code exchange in
        // flight cannot add a token after the DELETEs (RB-05).
        let mysql = matches!(self.backend, Backend::MySql(_));
        let statements = [
            if mysql {
                // MySQL: `?` binds by position (the pair twice), and an
                // upsert is `ON DUPLICATE KEY UPDATE`.
                concat!(
                    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
                    "SELECT grant_id FROM portcullis_tokens WHERE client_id = ? AND subject = ? ",
                    "UNION SELECT grant_id FROM portcullis_codes WHERE client_id = ? AND subject = ?",
                    ") AS m ORDER BY m.grant_id ON DUPLICATE KEY UPDATE revoked = TRUE"
                )
            } else {
                concat!(
                    "INSERT INTO portcullis_grants (grant_id, revoked) SELECT m.grant_id, TRUE FROM (",
                    "SELECT grant_id FROM portcullis_tokens WHERE client_id = $1 AND subject = $2 ",
                    "UNION SELECT grant_id FROM portcullis_codes WHERE client_id = $1 AND subject = $2",
                    ") AS m WHERE TRUE ORDER BY m.grant_id ON CONFLICT (grant_id) DO UPDATE SET revoked = TRUE"
                )
            },
            "DELETE FROM portcullis_tokens WHERE client_id = $1 AND subject = $2",
            "DELETE FROM portcullis_codes WHERE client_id = $1 AND subject = $2",
        ];
        // The store's own steps run at READ COMMITTED on MySQL (no gap
        // locks, and the marking reads its source rows without locking
        // them), so this does too.
        let begin = if mysql {
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION"
        } else {
            "BEGIN"
        };
        let result: Result<u64, sqlx::Error> = on_pool!(self, pool => async {
            let mut tx = pool.begin_with(begin).await?;
            let mut n = 0;
            for (i, sql) in statements.into_iter().enumerate() {
                let sql = self.sql(sql);
                let mut query = sqlx::query(&sql)
                    .bind(client.as_str())
                    .bind(user.as_str());
                if mysql && i == 0 {
                    query = query.bind(client.as_str()).bind(user.as_str());
                }
                let affected = query
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // The marks are not revoked tokens: count only the DELETEs.
                if i > 0 {
                    n += affected;
                }
            }
            tx.commit().await?;
            Ok(n)
        }.await);
        result.map_err(|e| Failure::store("revoke tokens", &e))
    }
}

impl Db {
    /// `sql` for the open database: MySQL's placeholders are `?`, bound by
    /// position. The statements here use each of `$1`, `$2` once, in order,
    /// so the same binds follow.
    fn sql(&self, sql: &str) -> String {
        match self.backend {
            Backend::MySql(_) => sql.replace("$1", "?").replace("$2", "?"),
            _ => sql.to_owned(),
        }
    }
}

/// Runs a connection step under the connect timeout.
async fn within<T, E>(
    timeout: Duration,
    shown: &str,
    step: impl Future<Output = Result<T, E>>,
) -> Result<T, Failure>
where
    E: std::error::Error + 'static,
{
    match tokio::time::timeout(timeout, step).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::store(&format!("cannot open database {shown}"), &e)),
        Err(_) => Err(Failure::Store(format!(
            "cannot open database {shown}: no answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// A command other than `migrate` must not create an empty SQLite file
/// (a mistyped path would otherwise look like an empty server).
fn check_sqlite_file(url: &str, shown: &str) -> Result<(), Failure> {
    use std::str::FromStr as _;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| Failure::Input(format!("database URL {shown}: {e}")))?;
    let path = options.get_filename();
    if path.exists() {
        Ok(())
    } else {
        Err(Failure::Store(format!(
            "database file {} does not exist (run `portcullis migrate` to create it)",
            path.display()
        )))
    }
}
