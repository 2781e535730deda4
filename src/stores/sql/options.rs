//! [`SqlPoolOptions`]: how the SQL stores size their connection pool and
//! their purges, with defaults for a small instance.

use std::num::NonZeroU32;
use std::time::Duration;

/// Rows `purge_expired` and `purge_replays` of the SQL stores delete per
/// statement (and transaction) unless told otherwise: small enough that a
/// batch holds its locks for milliseconds, large enough that a million
/// expired rows take a thousand round trips.
pub const DEFAULT_PURGE_BATCH: NonZeroU32 = NonZeroU32::MIN.saturating_add(999);

/// Pool sizes, timeouts and the purge batch of a SQL store, for
/// `PostgresStore::connect_with`, `SqliteStore::connect_with` and
/// `MySqlStore::connect_with` (`connect(url)` takes [`SqlPoolOptions::default()`]).
///
/// The defaults suit a small instance, one of a few application
/// processes on one database:
///
/// | option | default | why |
/// |---|---|---|
/// | `max_connections` | 10 | PostgreSQL's default `max_connections` of 100 leaves room for eight such instances and an operator; a token request holds one connection for one short transaction. On PostgreSQL and MySQL, half of it (rounded down) is the store's lane of connections for its hot statements, the rest its pool |
/// | `min_connections` | 0 | an idle instance holds no server process |
/// | `acquire_timeout` | 10 s | a request waiting longer for a connection is better failed (a 503, `Error::Overloaded` when the store reports busy) than queued |
/// | `idle_timeout` | 10 min | connections opened for a burst are closed after it |
/// | `max_lifetime` | 30 min | connections are renewed, so a failover or a pooler's rebalancing reaches every instance |
/// | `busy_timeout` (SQLite) | 10 s | a writer waits for the write lock this long before failing |
/// | `purge_batch` | 1000 | see [`DEFAULT_PURGE_BATCH`] |
///
/// ```
/// # #[cfg(feature = "postgres")]
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// use std::time::Duration;
/// use portcullis::stores::{PostgresStore, SqlPoolOptions};
///
/// let options = SqlPoolOptions::default()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(3))
///     .purge_batch(500);
/// let store = PostgresStore::connect_with("postgres://localhost/auth", &options).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlPoolOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    busy_timeout: Duration,
    purge_batch: u32,
}

impl Default for SqlPoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            busy_timeout: Duration::from_secs(10),
            purge_batch: DEFAULT_PURGE_BATCH.get(),
        }
    }
}

/// Why [`SqlPoolOptions`] were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlOptionsError {
    /// `max_connections` is 0: the store could never run a statement.
    #[error("max_connections must be at least 1")]
    NoConnections,
    /// `min_connections` is above `max_connections`.
    #[error("min_connections ({min}) is above max_connections ({max})")]
    MinAboveMax {
        /// The minimum asked for.
        min: u32,
        /// The maximum asked for.
        max: u32,
    },
    /// A timeout or lifetime of zero, which would fail or close every
    /// connection at once; `None` means no limit where one is optional.
    #[error("{0} must not be zero")]
    Zero(&'static str),
    /// `purge_batch` is 0: a purge could never remove a row.
    #[error("purge_batch must be at least 1")]
    NoPurgeBatch,
}

impl SqlPoolOptions {
    /// The most connections the pool opens.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// The connections the pool keeps open even when idle.
    #[must_use]
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long a caller waits for a free connection before failing.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long a connection may sit idle (above `min_connections`) before
    /// it is closed; `None`: never.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a connection lives before it is replaced; `None`: forever.
    #[must_use]
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// SQLite only: how long a statement waits for a lock held by another
    /// connection (or process) before failing with "database is locked".
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Rows a purge deletes per statement (see [`DEFAULT_PURGE_BATCH`]).
    #[must_use]
    pub fn purge_batch(mut self, rows: u32) -> Self {
        self.purge_batch = rows;
        self
    }

    /// The SQLite busy timeout.
    pub fn get_busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// Checks the options; what `connect_with` does first.
    ///
    /// # Errors
    /// No connections, a minimum above the maximum, a zero timeout or
    /// lifetime, a zero purge batch.
    pub fn validate(&self) -> Result<(), SqlOptionsError> {
        self.checked().map(drop)
    }

    /// The checked options: the purge batch, now known not to be zero.
    pub(super) fn checked(&self) -> Result<NonZeroU32, SqlOptionsError> {
        if self.max_connections == 0 {
            return Err(SqlOptionsError::NoConnections);
        }
        if self.min_connections > self.max_connections {
            return Err(SqlOptionsError::MinAboveMax {
                min: self.min_connections,
                max: self.max_connections,
            });
        }
        for (name, value) in [
            ("acquire_timeout", Some(self.acquire_timeout)),
            ("idle_timeout", self.idle_timeout),
            ("max_lifetime", self.max_lifetime),
            ("busy_timeout", Some(self.busy_timeout)),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(SqlOptionsError::Zero(name));
            }
        }
        NonZeroU32::new(self.purge_batch).ok_or(SqlOptionsError::NoPurgeBatch)
    }

    /// How many of `max_connections` a store with a lane (`lane`:
    /// PostgreSQL, MySQL) gives its lane: half, rounded down.
    #[allow(dead_code, reason = "used by the PostgreSQL and MySQL stores only")]
    pub(super) fn lane(&self) -> usize {
        usize::try_from(self.max_connections / 2).unwrap_or(0)
    }

    /// [`pool`](Self::pool) for a store whose lane takes [`lane`](Self::lane)
    /// of `max_connections`: the pool gets the rest.
    #[allow(dead_code, reason = "used by the PostgreSQL and MySQL stores only")]
    pub(super) fn pool_beside_lane<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        let lane = self.max_connections / 2;
        let rest = self.max_connections - lane;
        self.pool()
            .max_connections(rest)
            .min_connections(self.min_connections.min(rest))
    }

    /// sqlx pool options carrying these sizes and timeouts.
    pub(super) fn pool<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        sqlx::pool::PoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_purge_a_thousand_rows_at_a_time() {
        let options = SqlPoolOptions::default();
        assert_eq!(options.checked(), Ok(DEFAULT_PURGE_BATCH));
        assert_eq!(DEFAULT_PURGE_BATCH.get(), 1000);
        assert_eq!(options.max_connections, 10);
        assert_eq!(options.get_busy_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn a_zero_purge_batch_is_refused() {
        let options = SqlPoolOptions::default().purge_batch(0);
        assert_eq!(options.validate(), Err(SqlOptionsError::NoPurgeBatch));
        let one = SqlPoolOptions::default().purge_batch(1);
        assert_eq!(one.checked().map(NonZeroU32::get), Ok(1));
    }

    #[test]
    fn a_pool_without_connections_or_with_min_above_max_is_refused() {
        assert_eq!(
            SqlPoolOptions::default().max_connections(0).validate(),
            Err(SqlOptionsError::NoConnections)
        );
        assert_eq!(
            SqlPoolOptions::default()
                .max_connections(2)
                .min_connections(3)
                .validate(),
            Err(SqlOptionsError::MinAboveMax { min: 3, max: 2 })
        );
        assert_eq!(
            SqlPoolOptions::default()
                .max_connections(3)
                .min_connections(3)
                .validate(),
            Ok(())
        );
    }

    #[test]
    fn zero_timeouts_are_refused_and_no_limit_is_none() {
        let zero = Duration::ZERO;
        let d = SqlPoolOptions::default;
        assert_eq!(
            d().acquire_timeout(zero).validate(),
            Err(SqlOptionsError::Zero("acquire_timeout"))
        );
        assert_eq!(
            d().idle_timeout(Some(zero)).validate(),
            Err(SqlOptionsError::Zero("idle_timeout"))
        );
        assert_eq!(
            d().max_lifetime(Some(zero)).validate(),
            Err(SqlOptionsError::Zero("max_lifetime"))
        );
        assert_eq!(
            d().busy_timeout(zero).validate(),
            Err(SqlOptionsError::Zero("busy_timeout"))
        );
        assert_eq!(d().idle_timeout(None).max_lifetime(None).validate(), Ok(()));
    }

    #[test]
    fn the_pool_carries_the_sizes_and_timeouts() {
        let options = SqlPoolOptions::default()
            .max_connections(7)
            .min_connections(2)
            .acquire_timeout(Duration::from_secs(3))
            .idle_timeout(None)
            .max_lifetime(Some(Duration::from_secs(60)));
        #[cfg(feature = "sqlite")]
        let pool = options.pool::<sqlx::Sqlite>();
        #[cfg(all(feature = "postgres", not(feature = "sqlite")))]
        let pool = options.pool::<sqlx::Postgres>();
        assert_eq!(pool.get_max_connections(), 7);
        assert_eq!(pool.get_min_connections(), 2);
        assert_eq!(pool.get_acquire_timeout(), Duration::from_secs(3));
        assert_eq!(pool.get_idle_timeout(), None);
        assert_eq!(pool.get_max_lifetime(), Some(Duration::from_secs(60)));
    }
}
