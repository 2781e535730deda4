//! The lane (issue 20): connections kept at hand for the statements
//! every token request runs, without sqlx's round trip on release.
//!
//! sqlx's pool tests every connection given back to it with a ping (a
//! round trip, and a wake-up of the database server) before another caller
//! may have it. For the one or two statements of a token request that ping
//! costs the database nearly as much as the statement. A lane of *n* holds
//! up to *n* connections of its own: a statement takes one
//! ([`Lane::take`]; a pool connection while all *n* are in use) and, when it has
//! **completed**, gives it back to the lane untested ([`Lane::put`]): a
//! connection that has just answered a statement is known to be in a clean
//! state.
//!
//! A lane's connections are opened by the pool (with its connect options
//! and session settings) and then detached from it, so that closing the
//! pool never waits for them; `connect_with` gives the lane half of
//! `max_connections` and the pool the rest, so the store never holds more
//! than `max_connections`. A connection whose statement failed or was
//! cancelled mid-way (its request dropped) is closed, not kept, as is one
//! older than [`HELD_FOR`] (so that a failover or a pooler's rebalancing
//! reaches the lane too). Once the pool is closed, the lane closes what it
//! holds and serves nothing.
//!
//! A lane of zero (a store made `from_pool`, and SQLite, whose in-memory
//! databases live only as long as a connection to them) keeps nothing and
//! hands out the pool's connections as they are.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::StoreError;

/// How long a lane keeps a connection before it closes it.
pub(crate) const HELD_FOR: Duration = Duration::from_secs(60);

/// A store's lane: its idle connections, and the turns of its size.
pub(crate) struct Lane<DB: Database> {
    idle: Mutex<Vec<Held<DB>>>,
    /// One per connection it may hold; `None`: a lane of zero.
    turns: Option<Arc<Semaphore>>,
}

impl<DB: Database> std::fmt::Debug for Lane<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
    }
}

impl<DB: Database> Lane<DB> {
    /// A lane of at most `size` connections (zero: one that hands out the
    /// pool's).
    pub(crate) fn new(size: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            turns: (size > 0).then(|| Arc::new(Semaphore::new(size))),
        }
    }

    /// A connection for one statement: an idle one of the lane, or one from
    /// `pool`. Give it back with [`Lane::put`] once its statement has
    /// completed; dropped instead (an error, a cancellation), it is closed
    /// (or, from a lane that keeps nothing, goes back to the pool).
    pub(crate) async fn take(&self, pool: &Pool<DB>) -> Result<Held<DB>, StoreError> {
        let Some(turns) = &self.turns else {
            return Ok(Held {
                conn: Conn::Pool(pool.acquire().await?),
                since: Instant::now(),
                turn: None,
            });
        };
        if pool.is_closed() {
            self.lock().clear();
            // The pool's answer: closed.
            pool.acquire().await?;
        }
        // All its connections in use: the pool's, rather than a wait (a
        // lane's wait would add to the pool's `acquire_timeout` while the
        // database is down).
        let Ok(turn) = turns.clone().try_acquire_owned() else {
            return Ok(Held {
                conn: Conn::Pool(pool.acquire().await?),
                since: Instant::now(),
                turn: None,
            });
        };
        if let Some(mut held) = self.lock().pop() {
            held.turn = Some(turn);
            return Ok(held);
        }
        // None idle, and fewer than its size in use: one more.
        Ok(Held {
            conn: Conn::Own(pool.acquire().await?.detach()),
            since: Instant::now(),
            turn: Some(turn),
        })
    }

    /// Gives back a connection whose statement has completed: kept for the
    /// next without a test, unless it is older than [`HELD_FOR`] (then it
    /// is closed).
    pub(crate) fn put(&self, mut held: Held<DB>) {
        if matches!(held.conn, Conn::Own(_)) && held.since.elapsed() < HELD_FOR {
            // Idle, it holds no turn: the next taker brings its own.
            held.turn = None;
            self.lock().push(held);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Held<DB>>> {
        // A push, a pop or a clear: nothing panics midway.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many connections are idle in the lane.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }
}

/// A connection taken from a [`Lane`], and when it was opened: `&mut
/// *held.conn` runs a statement.
pub(crate) struct Held<DB: Database> {
    /// The connection.
    pub(crate) conn: Conn<DB>,
    since: Instant,
    /// Its lane's turn, while in use.
    turn: Option<OwnedSemaphorePermit>,
}

/// A lane's own connection, or the pool's (a lane that keeps nothing).
pub(crate) enum Conn<DB: Database> {
    /// Detached from the pool: closed when dropped.
    Own(DB::Connection),
    /// The pool's: back to it when dropped.
    Pool(PoolConnection<DB>),
}

impl<DB: Database> std::ops::Deref for Conn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Self::Own(c) => c,
            Self::Pool(c) => c,
        }
    }
}

impl<DB: Database> std::ops::DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Self::Own(c) => c,
            Self::Pool(c) => c,
        }
    }
}

#[cfg(feature = "sqlite")]
#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    #[allow(clippy::expect_used, reason = "a test's set-up")]
    async fn pool(max: u32) -> Pool<sqlx::Sqlite> {
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            .connect("sqlite::memory:")
            .await
            .expect("an in-memory database")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_completed_statement_keeps_its_connection_in_the_lane_and_a_failed_one_does_not() {
        let pool = pool(4).await;
        let lane = Lane::new(2);
        let mut held = lane.take(&pool).await.expect("a connection");
        sqlx::query("SELECT 1")
            .execute(&mut *held.conn)
            .await
            .expect("ran");
        lane.put(held);
        assert_eq!(lane.idle(), 1);
        // The next statement takes it from the lane, not the pool.
        let held = lane.take(&pool).await.expect("a connection");
        assert_eq!(lane.idle(), 0);
        // Dropped without `put` (its statement failed): closed.
        drop(held);
        assert_eq!(lane.idle(), 0);
        // The lane holds at most its size: a third taker, while two are in
        // use, gets the pool's connection, which goes back to the pool.
        let (a, b) = (
            lane.take(&pool).await.expect("one"),
            lane.take(&pool).await.expect("two"),
        );
        let c = lane.take(&pool).await.expect("the pool's");
        assert!(matches!(c.conn, Conn::Pool(_)));
        for held in [a, b, c] {
            lane.put(held);
        }
        assert_eq!(lane.idle(), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn closing_the_pool_never_waits_for_the_lane_and_the_lane_then_serves_nothing() {
        let pool = pool(2).await;
        let lane = Lane::new(1);
        let held = lane.take(&pool).await.expect("a connection");
        lane.put(held);
        assert_eq!(lane.idle(), 1);
        tokio::time::timeout(Duration::from_secs(5), pool.close())
            .await
            .expect("the pool closed without waiting for the lane");
        assert!(lane.take(&pool).await.is_err(), "the pool is closed");
        assert_eq!(lane.idle(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lane_that_keeps_nothing_hands_out_the_pools_connections() {
        let pool = pool(1).await;
        let lane = Lane::new(0);
        let held = lane.take(&pool).await.expect("a connection");
        lane.put(held);
        assert_eq!(lane.idle(), 0);
        // The pool's one connection is free for a transaction.
        let tx = pool.begin().await.expect("the pool's connection");
        tx.rollback().await.expect("rolled back");
    }
}
