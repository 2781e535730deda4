//! Coalesced reads (issue 20): concurrent identical reads share one
//! statement.
//!
//! Under load, one holder's concurrent token requests each read the same
//! client row and the same throttle counters. Each read is a round trip
//! and a statement for the database, which on a small machine costs more
//! than the rest of the request. Here at most [`FLIGHTS`] reads of one key
//! run at once; a caller that finds them running does not start another,
//! but queues for the **next** read of that key, which starts when a
//! running one ends and answers every caller queued for it.
//!
//! # Why the answers stay exact
//! A caller is only ever answered by a read that **began after the caller
//! arrived**: joining the running read would hand it a row read before it
//! asked (say, a client a concurrent `portcullis clients disable` has just
//! disabled). So coalescing changes how many statements run, never what a
//! caller may see: each answer is the database's state at some instant
//! between the call and its return, as an uncoalesced read's is.
//!
//! # Cancellation
//! The caller that runs a read leads it; when it is dropped mid-read (its
//! request cancelled), or once it has answered, the next queued caller
//! leads the next read. A lead handed to a caller that has gone away
//! passes on to the next: no caller is left waiting for a read nobody
//! runs.
//!
//! # Failure
//! A read that fails answers its callers with the failure, and the callers
//! queued behind it too: while the database is down, a request waits for
//! one read's timeout, not for one per caller ahead of it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::throttle::{ThrottleCount, ThrottleKey};

/// How many reads of one key may run at once. One: measured on two cores
/// with PostgreSQL (issue 20), a second read in flight made more
/// statements and no more requests per second.
const FLIGHTS: usize = 1;

/// Keys with a read running: how many, and the callers queued for the
/// next read of each.
type Slots<K, V> = Arc<Mutex<HashMap<K, Slot<K, V>>>>;

/// One key's reads.
struct Slot<K: Eq + Hash, V> {
    /// Reads running (at most [`FLIGHTS`]).
    running: usize,
    /// Callers that arrived while [`FLIGHTS`] were running.
    queue: Vec<Waiter<K, V>>,
}

/// Where a queued caller's turn goes.
type Waiter<K, V> = oneshot::Sender<Turn<K, V>>;

/// What a queued caller is given: the answer of the read that began after
/// it queued, or the lead of the next read.
enum Turn<K: Eq + Hash, V> {
    Answer(Result<V, Arc<StoreError>>),
    Lead(Lead<K, V>),
}

/// Concurrent reads of one kind, by key.
pub(crate) struct Coalesce<K: Eq + Hash, V> {
    slots: Slots<K, V>,
}

impl<K: Eq + Hash, V> Default for Coalesce<K, V> {
    fn default() -> Self {
        Self {
            slots: Arc::default(),
        }
    }
}

fn lock<K: Eq + Hash, V>(slots: &Slots<K, V>) -> MutexGuard<'_, HashMap<K, Slot<K, V>>> {
    // Every update is a push or a removal that cannot panic midway.
    slots.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K: Eq + Hash + Clone, V: Clone> Coalesce<K, V> {
    /// The answer of a `fetch` of `key` that begins after this call: the
    /// caller's own, or one shared with concurrent callers of the same key.
    pub(crate) async fn read<F, Fut>(&self, key: K, fetch: F) -> Result<V, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, StoreError>>,
    {
        let queued = {
            let mut slots = lock(&self.slots);
            match slots.get_mut(&key) {
                Some(slot) if slot.running >= FLIGHTS => {
                    let (waiter, turn) = oneshot::channel();
                    slot.queue.push(waiter);
                    Some(turn)
                }
                Some(slot) => {
                    slot.running += 1;
                    None
                }
                None => {
                    let slot = Slot {
                        running: 1,
                        queue: Vec::new(),
                    };
                    slots.insert(key.clone(), slot);
                    None
                }
            }
        };
        let lead = match queued {
            None => Lead {
                slots: self.slots.clone(),
                key: Some(key),
                followers: Vec::new(),
            },
            Some(turn) => match turn.await {
                Ok(Turn::Answer(answer)) => return answer.map_err(shared),
                Ok(Turn::Lead(lead)) => lead,
                // Every waiter is answered or handed the lead (`hand_over`);
                // should one be dropped anyway, read without coalescing.
                Err(_) => return fetch().await,
            },
        };
        lead.finish(fetch().await)
    }
}

/// The lead of one read of `key`: the callers it answers (they queued
/// before it began). Dropped, it hands the next read's lead on.
struct Lead<K: Eq + Hash, V> {
    slots: Slots<K, V>,
    /// `None` once its duty has passed elsewhere (see `hand_over`).
    key: Option<K>,
    followers: Vec<Waiter<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Lead<K, V> {
    /// Answers the followers with `result` and returns it for the leader.
    fn finish(mut self, result: Result<V, StoreError>) -> Result<V, StoreError> {
        let mut followers = std::mem::take(&mut self.followers);
        if result.is_err() {
            // The store is failing (its database down, say): the callers
            // queued for the next read get this failure now rather than
            // wait out another read's timeout (a failure is no stale row).
            if let Some(slot) = self.key.as_ref().and_then(|k| {
                lock(&self.slots)
                    .get_mut(k)
                    .map(|s| std::mem::take(&mut s.queue))
            }) {
                followers.extend(slot);
            }
        }
        if followers.is_empty() {
            return result;
        }
        let result = result.map_err(Arc::new);
        for follower in followers {
            // A follower that has gone away needs no answer.
            let _ = follower.send(Turn::Answer(result.clone()));
        }
        result.map_err(shared)
    }
}

impl<K: Eq + Hash, V> Drop for Lead<K, V> {
    fn drop(&mut self) {
        let Some(mut key) = self.key.take() else {
            return;
        };
        // Unanswered followers (a cancelled read) go first: they waited
        // longest; then the callers queued while this read ran.
        let mut next = std::mem::take(&mut self.followers);
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get_mut(&key) {
            next.append(&mut slot.queue);
        }
        // The first of them leads the next read, for the rest: this read's
        // place passes to it, and the queue is empty again.
        while !next.is_empty() {
            let leader = next.remove(0);
            let lead = Self {
                slots: self.slots.clone(),
                key: Some(key),
                followers: std::mem::take(&mut next),
            };
            match leader.send(Turn::Lead(lead)) {
                Ok(()) => return,
                // That caller has gone away: the lead comes back, disarmed
                // here (its drop would lock `slots` again), for the next.
                Err(Turn::Lead(mut lead)) => {
                    let Some(k) = lead.key.take() else { return };
                    key = k;
                    next = std::mem::take(&mut lead.followers);
                }
                // Only a lead is sent here.
                Err(Turn::Answer(_)) => return,
            }
        }
        // Nobody waits: one read fewer runs.
        if let Some(slot) = slots.get_mut(&key) {
            slot.running = slot.running.saturating_sub(1);
            if slot.running == 0 {
                slots.remove(&key);
            }
        }
    }
}

fn shared(e: Arc<StoreError>) -> StoreError {
    StoreError::new(Shared(e))
}

/// A store failure shared by the callers of one coalesced read.
#[derive(Debug)]
struct Shared(Arc<StoreError>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a read shared by concurrent callers failed")
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Throttle counts as `ThrottleStore::throttle_counts` returns them.
type Counts = Vec<(ThrottleKey, ThrottleCount)>;

/// The coalesced reads of a SQL store: those every token request makes.
#[derive(Default)]
pub(crate) struct Reads {
    /// `ClientStore::client`.
    pub(crate) clients: Coalesce<ClientId, Option<Arc<Client>>>,
    /// `ThrottleStore::throttle_counts`, by keys and time.
    pub(crate) throttle_counts: Coalesce<(Vec<ThrottleKey>, UnixTime), Counts>,
    /// `ThrottleStore::throttle_known`, by pair and time.
    pub(crate) throttle_known: Coalesce<(ThrottleKey, UnixTime), Option<UnixTime>>,
}

impl fmt::Debug for Reads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reads").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;
    use tokio::task::JoinHandle;

    use super::*;

    /// A "database" of one value, whose reads take the value when they
    /// begin and return it when `gate` lets them.
    #[derive(Default)]
    struct Db {
        value: AtomicUsize,
        reads: AtomicUsize,
        gate: Notify,
    }

    impl Db {
        async fn fetch(&self, fail: bool) -> Result<usize, StoreError> {
            let value = self.value.load(Ordering::SeqCst);
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.gate.notified().await;
            if fail {
                return Err(StoreError::msg("down"));
            }
            Ok(value)
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    type Reads = Arc<Coalesce<u8, usize>>;

    fn read(
        reads: &Reads,
        db: &Arc<Db>,
        key: u8,
        fail: bool,
    ) -> JoinHandle<Result<usize, StoreError>> {
        let (reads, db) = (reads.clone(), db.clone());
        tokio::spawn(async move { reads.read(key, || db.fetch(fail)).await })
    }

    /// Lets every task run until it waits.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    async fn answer(call: JoinHandle<Result<usize, StoreError>>) -> usize {
        call.await.expect("no panic").expect("a read")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_reads_of_one_key_share_statements_and_all_are_answered() {
        let (reads, db) = (Reads::default(), Arc::new(Db::default()));
        db.value.store(7, Ordering::SeqCst);
        let calls: Vec<_> = (0..50).map(|_| read(&reads, &db, 1, false)).collect();
        // Each read ends when let through; those queued meanwhile share
        // the next.
        while calls.iter().any(|c| !c.is_finished()) {
            settle().await;
            db.gate.notify_waiters();
        }
        for call in calls {
            assert_eq!(answer(call).await, 7);
        }
        let n = db.reads();
        assert!(
            n <= 2 * FLIGHTS,
            "{n} statements for 50 concurrent reads of one key"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_is_never_answered_by_a_read_that_began_before_it_arrived() {
        let (reads, db) = (Reads::default(), Arc::new(Db::default()));
        let running: Vec<_> = (0..FLIGHTS).map(|_| read(&reads, &db, 1, false)).collect();
        settle().await;
        assert_eq!(db.reads(), FLIGHTS);
        // A write lands while those reads run; then a caller asks, and
        // queues.
        db.value.store(1, Ordering::SeqCst);
        let late = read(&reads, &db, 1, false);
        settle().await;
        assert_eq!(db.reads(), FLIGHTS, "the late caller queued");
        db.gate.notify_waiters();
        for call in running {
            assert_eq!(answer(call).await, 0);
        }
        settle().await;
        db.gate.notify_waiters();
        assert_eq!(
            answer(late).await,
            1,
            "the late caller saw the write that preceded its call"
        );
        assert_eq!(db.reads(), FLIGHTS + 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_leader_hands_the_read_to_the_callers_queued_behind_it() {
        let (reads, db) = (Reads::default(), Arc::new(Db::default()));
        let leaders: Vec<_> = (0..FLIGHTS).map(|_| read(&reads, &db, 1, false)).collect();
        settle().await;
        let queued: Vec<_> = (0..3).map(|_| read(&reads, &db, 1, false)).collect();
        settle().await;
        assert_eq!(db.reads(), FLIGHTS);
        // A leader's request is cancelled mid-read: the queued callers'
        // read begins at once, without waiting for the other leader.
        for leader in &leaders {
            leader.abort();
        }
        for leader in leaders {
            assert!(leader.await.is_err_and(|e| e.is_cancelled()));
        }
        settle().await;
        assert_eq!(db.reads(), FLIGHTS + 1, "one read for the three queued");
        db.gate.notify_waiters();
        for call in queued {
            assert_eq!(answer(call).await, 0);
        }
        // Nothing is left running: later reads start at once.
        let later: Vec<_> = (0..FLIGHTS).map(|_| read(&reads, &db, 1, false)).collect();
        settle().await;
        assert_eq!(db.reads(), 2 * FLIGHTS + 1);
        db.gate.notify_waiters();
        for call in later {
            assert_eq!(answer(call).await, 0);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failure_reaches_the_callers_queued_behind_it_at_once_and_other_keys_run_alongside() {
        let (reads, db) = (Reads::default(), Arc::new(Db::default()));
        let running: Vec<_> = (0..FLIGHTS).map(|_| read(&reads, &db, 1, true)).collect();
        // Another key does not wait for key 1's reads.
        let other = read(&reads, &db, 2, false);
        settle().await;
        assert_eq!(db.reads(), FLIGHTS + 1);
        let queued: Vec<_> = (0..3).map(|_| read(&reads, &db, 1, false)).collect();
        settle().await;
        db.gate.notify_waiters();
        for call in running {
            let e = call.await.expect("no panic").expect_err("the read failed");
            assert_eq!(e.to_string(), "storage failure");
        }
        assert_eq!(answer(other).await, 0);
        // The callers queued behind the failed read get its failure, with
        // no read of their own (the database is failing: no second wait).
        for call in queued {
            assert!(call.await.expect("no panic").is_err());
        }
        assert_eq!(db.reads(), FLIGHTS + 1);
        // And the key is free again: the next read runs.
        let later = read(&reads, &db, 1, false);
        settle().await;
        db.gate.notify_waiters();
        assert_eq!(answer(later).await, 0);
    }
}
