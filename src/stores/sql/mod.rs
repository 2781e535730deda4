//! SQL stores on sqlx: [`PostgresStore`], [`SqliteStore`] and `MySqlStore`
//! (MySQL/MariaDB) implement every store trait, with the schema shipped in the crate and applied by
//! `migrate()` (recorded in `portcullis_schema_migrations`, see `migrate`).
//!
//! The atomic steps are single transactions decided by the conditional
//! `UPDATE … WHERE used = false`: the database, not a Rust lock, lets
//! exactly one of many concurrent callers (in any number of processes) win,
//! and a failure rolls everything back (AC-04, RT-04, RB-02). Before it, a
//! step locks its grant's row in `portcullis_grants`, which a revocation
//! marks before it deletes, so a revocation wins against every step in
//! flight (RB-05; see `store`). The three stores share one implementation,
//! generated for each database by `sql_store!`, so their behaviour cannot
//! drift apart.

#[macro_use]
mod store;

mod coalesce;
mod error;
mod group_commit;
mod lane;
mod migrate;
#[cfg(feature = "mysql")]
mod mysql;
mod options;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
pub use mysql::{MySqlStore, SESSION_SETTINGS as MYSQL_SESSION_SETTINGS};
pub use options::{DEFAULT_PURGE_BATCH, SqlOptionsError, SqlPoolOptions};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
