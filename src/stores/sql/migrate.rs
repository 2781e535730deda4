//! The SQL stores' own schema migrations, recorded in a table of their own
//! (`portcullis_schema_migrations`), so a host's `sqlx::migrate!` keeps
//! `_sqlx_migrations` to itself and may number its migrations from 1.
//!
//! sqlx 0.8's `Migrator` always writes `_sqlx_migrations`, so this is a
//! small runner of our own. Each run applies the pending migrations one
//! transaction each; every transaction first takes a lock that serialises
//! concurrent migrators (PostgreSQL: a transaction-scoped advisory lock;
//! SQLite: `BEGIN IMMEDIATE`, the database's write lock), then reads what is
//! applied, so running it again, or from many processes at once, is harmless.
//! An applied migration whose checksum (SHA-384 of its SQL, as sqlx computes
//! it) differs from this build's is an error, as is a version newer than
//! this build knows.
//!
//! Releases before this runner recorded versions 1 and 2 in the host's
//! `_sqlx_migrations` under the description `portcullis schema`. Every run
//! adopts such rows: copies them into our table and deletes them from
//! `_sqlx_migrations`, leaving the host's rows alone, in the same
//! transaction as the first step.

use crate::error::StoreError;

/// The description earlier releases gave their rows in `_sqlx_migrations`.
const LEGACY_DESCRIPTION: &str = "portcullis schema";

/// One schema migration shipped with the crate; its version is its
/// 1-based position in the backend's list.
#[derive(Debug)]
pub(super) struct Migration {
    /// What it changes, recorded beside its version.
    pub(super) description: &'static str,
    /// The statements, applied in one transaction.
    pub(super) sql: &'static str,
}

impl Migration {
    /// SHA-384 of the SQL text: the checksum sqlx recorded for the same
    /// migration, so adopted rows compare equal.
    fn checksum(&self) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA384, self.sql.as_bytes())
            .as_ref()
            .to_vec()
    }
}

/// Why the schema cannot be brought up to date; the source of the
/// [`StoreError`] that `migrate()` returns.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum SchemaError {
    /// An applied migration's SQL differs from this build's.
    #[error(
        "portcullis schema migration {version} was applied with different SQL than this build ships (checksum mismatch in portcullis_schema_migrations)"
    )]
    ChecksumMismatch { version: i64 },
    /// The database was migrated by a newer release.
    #[error(
        "the database has portcullis schema migration {version}, but this build knows only up to {known}: run a newer portcullis"
    )]
    Newer { version: i64, known: i64 },
    /// An earlier release's row in `_sqlx_migrations` says it failed.
    #[error(
        "_sqlx_migrations records portcullis schema migration {version} as failed (success = false); repair the schema and that row by hand before migrating"
    )]
    LegacyFailed { version: i64 },
}

/// Our migration numbered `version` (from 1), if this build ships it.
fn shipped(schema: &[Migration], version: i64) -> Option<&Migration> {
    let index = usize::try_from(version.checked_sub(1)?).ok()?;
    schema.get(index)
}

/// The next migration to apply (its version and itself), after checking
/// every applied `(version, checksum)` against `schema`.
fn next<'s>(
    applied: &[(i64, Vec<u8>)],
    schema: &'s [Migration],
) -> Result<Option<(i64, &'s Migration)>, SchemaError> {
    let known = i64::try_from(schema.len()).unwrap_or(i64::MAX);
    for (version, checksum) in applied {
        let ours = shipped(schema, *version).ok_or(SchemaError::Newer {
            version: *version,
            known,
        })?;
        if ours.checksum() != *checksum {
            return Err(SchemaError::ChecksumMismatch { version: *version });
        }
    }
    Ok((1..)
        .zip(schema)
        .find(|(version, _)| !applied.iter().any(|(v, _)| v == version)))
}

/// What differs between the databases: how a step's transaction starts and
/// locks, the table's column types, and how to read `_sqlx_migrations`.
pub(super) trait Dialect: sqlx::Database {
    /// Starts a step's transaction.
    const BEGIN: &'static str;
    /// Run first in the transaction, to serialise concurrent migrators.
    const LOCK: Option<&'static str>;
    /// A lock of the session instead, for a database whose DDL commits the
    /// transaction (MySQL): taken before the first step and released after
    /// the last, on the one connection every step runs on.
    const SESSION_LOCK: Option<(&'static str, &'static str)> = None;
    /// Records one applied migration (`$4`, or the fourth `?`, is its time
    /// in Unix seconds), unless its version is recorded already.
    const INSERT: &'static str = INSERT;
    /// Deletes our rows from `_sqlx_migrations`, bound to the description.
    const LEGACY_DELETE: &'static str = "DELETE FROM _sqlx_migrations WHERE description = $1";
    /// Creates our table if missing.
    const CREATE_TABLE: &'static str;
    /// One row, one boolean: whether `_sqlx_migrations` exists.
    const LEGACY_EXISTS: &'static str;
    /// Our rows in `_sqlx_migrations`: version, success, checksum and
    /// installation time in Unix seconds, bound to the description as `$1`.
    const LEGACY_ROWS: &'static str;
    /// The database's current time in Unix seconds (the database's clock
    /// dates its own schema changes).
    const NOW: &'static str;
}

#[cfg(feature = "postgres")]
impl Dialect for sqlx::Postgres {
    const BEGIN: &'static str = "BEGIN";
    // A fixed key ("portcull" in ASCII); released at commit or rollback.
    const LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(8101820098873224300)");
    const CREATE_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS portcullis_schema_migrations (
        version     BIGINT PRIMARY KEY,
        description TEXT NOT NULL,
        checksum    BYTEA NOT NULL,
        applied_at  BIGINT NOT NULL
    )";
    const LEGACY_EXISTS: &'static str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
    const LEGACY_ROWS: &'static str = "SELECT version, success, checksum, CAST(EXTRACT(EPOCH FROM installed_on) AS BIGINT) FROM _sqlx_migrations WHERE description = $1 ORDER BY version";
    const NOW: &'static str = "SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)";
}

#[cfg(feature = "sqlite")]
impl Dialect for sqlx::Sqlite {
    // Takes the write lock at once, so two migrators cannot both read
    // "not applied" and then race to apply.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const LOCK: Option<&'static str> = None;
    const CREATE_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS portcullis_schema_migrations (
        version     BIGINT PRIMARY KEY,
        description TEXT NOT NULL,
        checksum    BLOB NOT NULL,
        applied_at  BIGINT NOT NULL
    )";
    const LEGACY_EXISTS: &'static str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
    const LEGACY_ROWS: &'static str = "SELECT version, success, checksum, CAST(strftime('%s', installed_on) AS INTEGER) FROM _sqlx_migrations WHERE description = $1 ORDER BY version";
    const NOW: &'static str = "SELECT CAST(strftime('%s', 'now') AS INTEGER)";
}

/// Records one applied migration; `$4` is its time in Unix seconds.
const INSERT: &str = "INSERT INTO portcullis_schema_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING";

#[cfg(feature = "mysql")]
impl Dialect for sqlx::MySql {
    const BEGIN: &'static str = "START TRANSACTION";
    const LOCK: Option<&'static str> = None;
    // MySQL commits before and after each DDL statement, so a transaction
    // cannot hold the lock: a named lock of the session does, waiting as
    // long as it takes (-1).
    const SESSION_LOCK: Option<(&'static str, &'static str)> = Some((
        "SELECT GET_LOCK('portcullis_schema_migrations', -1)",
        "SELECT RELEASE_LOCK('portcullis_schema_migrations')",
    ));
    const INSERT: &'static str = "INSERT IGNORE INTO portcullis_schema_migrations (version, description, checksum, applied_at) VALUES (?, ?, ?, ?)";
    const LEGACY_DELETE: &'static str = "DELETE FROM _sqlx_migrations WHERE description = ?";
    const CREATE_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS portcullis_schema_migrations (
        version     BIGINT PRIMARY KEY,
        description TEXT NOT NULL,
        checksum    VARBINARY(48) NOT NULL,
        applied_at  BIGINT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    // No release before the MySQL store recorded anything in
    // `_sqlx_migrations`; read all the same, as for the other databases.
    const LEGACY_EXISTS: &'static str = "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations')";
    const LEGACY_ROWS: &'static str = "SELECT version, success, checksum, CAST(UNIX_TIMESTAMP(installed_on) AS SIGNED) FROM _sqlx_migrations WHERE description = ? ORDER BY version";
    const NOW: &'static str = "SELECT CAST(UNIX_TIMESTAMP() AS SIGNED)";
}

/// Brings the schema of `pool`'s database up to `schema`, one locked
/// transaction per migration (see the module docs), all on one connection.
pub(super) async fn run<DB: Dialect>(
    pool: &sqlx::Pool<DB>,
    schema: &[Migration],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Decode<'q, DB>,
    for<'q> bool: sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Vec<u8>: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> &'q str: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut conn = pool.acquire().await?;
    let Some((lock, unlock)) = DB::SESSION_LOCK else {
        return steps::<DB>(&mut conn, schema).await;
    };
    sqlx::query(lock).execute(&mut *conn).await?;
    let result = steps::<DB>(&mut conn, schema).await;
    if sqlx::query(unlock).execute(&mut *conn).await.is_err() {
        // Closing the connection releases its locks.
        conn.close_on_drop();
    }
    result
}

/// The steps of [`run`], on `conn`.
async fn steps<DB: Dialect>(
    conn: &mut sqlx::pool::PoolConnection<DB>,
    schema: &[Migration],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Decode<'q, DB>,
    for<'q> bool: sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Vec<u8>: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> &'q str: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    loop {
        let mut tx = sqlx::Connection::begin_with(&mut **conn, DB::BEGIN).await?;
        if let Some(lock) = DB::LOCK {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        sqlx::query(DB::CREATE_TABLE).execute(&mut *tx).await?;
        adopt_legacy::<DB>(&mut tx, schema).await?;
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM portcullis_schema_migrations")
                .fetch_all(&mut *tx)
                .await?;
        let Some((version, migration)) = next(&applied, schema).map_err(StoreError::new)? else {
            return Ok(tx.commit().await?);
        };
        // Unprepared (no arguments), so one string may hold several
        // statements. (Not `sqlx::raw_sql`: its future is not provably
        // `Send` here, and hosts spawn `migrate()`.)
        sqlx::Executor::execute(&mut *tx, migration.sql).await?;
        let (now,): (i64,) = sqlx::query_as(DB::NOW).fetch_one(&mut *tx).await?;
        sqlx::query(DB::INSERT)
            .bind(version)
            .bind(migration.description)
            .bind(migration.checksum())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
}

/// Moves the rows an earlier release left in `_sqlx_migrations` into our
/// table (they are checked against `schema` with every other applied row).
async fn adopt_legacy<DB: Dialect>(
    tx: &mut sqlx::Transaction<'_, DB>,
    schema: &[Migration],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Decode<'q, DB>,
    for<'q> bool: sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Vec<u8>: sqlx::Type<DB> + sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB>,
    for<'q> &'q str: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let (exists,): (bool,) = sqlx::query_as(DB::LEGACY_EXISTS)
        .fetch_one(&mut **tx)
        .await?;
    if !exists {
        return Ok(());
    }
    let rows: Vec<(i64, bool, Vec<u8>, Option<i64>)> = sqlx::query_as(DB::LEGACY_ROWS)
        .bind(LEGACY_DESCRIPTION)
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let (now,): (i64,) = sqlx::query_as(DB::NOW).fetch_one(&mut **tx).await?;
    for (version, success, checksum, installed_at) in rows {
        if !success {
            return Err(StoreError::new(SchemaError::LegacyFailed { version }));
        }
        let description = shipped(schema, version).map_or(LEGACY_DESCRIPTION, |m| m.description);
        sqlx::query(DB::INSERT)
            .bind(version)
            .bind(description)
            .bind(checksum)
            .bind(installed_at.unwrap_or(now))
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(DB::LEGACY_DELETE)
        .bind(LEGACY_DESCRIPTION)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[Migration] = &[
        Migration {
            description: "one",
            sql: "CREATE TABLE a (x INT);",
        },
        Migration {
            description: "two",
            sql: "CREATE TABLE b (x INT);",
        },
    ];

    fn applied(versions: &[i64]) -> Vec<(i64, Vec<u8>)> {
        versions
            .iter()
            .map(|v| (*v, SCHEMA[usize::try_from(*v - 1).unwrap()].checksum()))
            .collect()
    }

    #[test]
    fn applies_in_version_order_and_stops_when_current() {
        assert_eq!(next(&[], SCHEMA).unwrap().map(|(v, _)| v), Some(1));
        assert_eq!(
            next(&applied(&[1]), SCHEMA).unwrap().map(|(v, _)| v),
            Some(2)
        );
        assert_eq!(
            next(&applied(&[1, 2]), SCHEMA).unwrap().map(|(v, _)| v),
            None
        );
    }

    #[test]
    fn a_changed_migration_is_refused() {
        let mut rows = applied(&[1, 2]);
        rows[1].1[0] ^= 1;
        assert_eq!(
            next(&rows, SCHEMA).unwrap_err(),
            SchemaError::ChecksumMismatch { version: 2 }
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut rows = applied(&[1, 2]);
        rows.push((3, vec![0; 48]));
        assert_eq!(
            next(&rows, SCHEMA).unwrap_err(),
            SchemaError::Newer {
                version: 3,
                known: 2
            }
        );
    }

    #[test]
    fn the_checksum_is_the_one_sqlx_recorded() {
        // Adoption copies sqlx's checksums; they must compare equal to ours.
        let sqlx = sqlx::migrate::Migration::new(
            1,
            LEGACY_DESCRIPTION.into(),
            sqlx::migrate::MigrationType::Simple,
            SCHEMA[0].sql.into(),
            false,
        );
        assert_eq!(SCHEMA[0].checksum(), sqlx.checksum.to_vec());
    }
}
