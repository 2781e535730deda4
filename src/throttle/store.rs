//! `StoreThrottle`: the policy of [`MemoryThrottle`](super::MemoryThrottle)
//! (RB-04) with its counts in a shared [`ThrottleStore`], so that every
//! instance of a deployment on one database counts together: *N* instances
//! give an attacker the limits once, not *N* times.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::hook::{Attempt, Outcome, Throttle, Verdict};
use super::memory::{Keys, ThrottleLimits, refusal};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::error::StoreError;

/// A throttle counter's key: 16 bytes of SHA-256 over what it counts (an
/// account, a source, or the pair), so ids, usernames and host keys of any
/// length take the same room and never reach the database in clear.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThrottleKey([u8; 16]);

impl ThrottleKey {
    /// The key with these bytes (as read back from a store).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Its bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThrottleKey(")?;
        for b in self.0.get(..4).unwrap_or(&[]) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// One counter's state in its window, as [`ThrottleStore::throttle_reserve`]
/// returns it: the attempt just reserved included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleCount {
    /// Attempts counted in the window: failures and attempts in flight.
    pub attempts: u32,
    /// Of those, attempts in flight (reserved, not yet settled).
    pub in_flight: u32,
}

/// Where a [`StoreThrottle`] keeps its counts: shared by every instance
/// that uses the same store. `PostgresStore` and `SqliteStore` (features
/// `postgres`, `sqlite`) keep them in tables of their own (schema 16); [`MemoryStore`](crate::MemoryStore) in its maps
/// (one process only: for tests, or use [`MemoryThrottle`](super::MemoryThrottle)).
///
/// Each method is one atomic step of the store (one statement on the SQL
/// stores): concurrent callers, in any number of processes, see each
/// other's counts. The conformance suite's `ThrottleStore` section checks
/// the contract.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts one more attempt in flight under each of `keys` (distinct):
    /// adds one to its `attempts` and `in_flight`, after starting a new
    /// window (both back to zero, ending at `window_end`) if its window has
    /// ended at `now` or it has none. Returns each key's count including
    /// this attempt, in any order. Atomic per key: of concurrent callers,
    /// each sees a different `attempts`.
    async fn throttle_reserve(
        &self,
        keys: &[ThrottleKey],
        now: UnixTime,
        window_end: UnixTime,
    ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError>;

    /// The counts of `keys` in their windows at `now`, in any order; a key
    /// without a counter, or whose window has ended at `now`, is left out
    /// (it counts zero). A read: the check before an attempt is counted.
    async fn throttle_counts(
        &self,
        keys: &[ThrottleKey],
        now: UnixTime,
    ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError>;

    /// Settles one attempt in flight under each of `keys`: takes one off
    /// `in_flight`, and unless `failed` one off `attempts` too (never below
    /// zero). A key without a counter is left alone.
    async fn throttle_release(&self, keys: &[ThrottleKey], failed: bool) -> Result<(), StoreError>;

    /// Until when `pair` (an account with a source) is known, if it is
    /// known at `now` (it was remembered until a later time); `None` if not.
    async fn throttle_known(
        &self,
        pair: &ThrottleKey,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError>;

    /// Remembers `pair` as known until `until` (replacing what was there).
    async fn throttle_remember(
        &self,
        pair: &ThrottleKey,
        until: UnixTime,
    ) -> Result<(), StoreError>;

    /// Forgets counters whose window has ended at `now` and pairs no longer
    /// known at `now`; returns how many entries went. Forgetting changes no
    /// answer: an ended window counts from zero anyway. Run it now and then
    /// (`portcullis tokens purge` does), or the tables only grow.
    async fn purge_throttle(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// [`MemoryThrottle`](super::MemoryThrottle)'s policy, with the same
/// [`ThrottleLimits`], over a shared [`ThrottleStore`]: the [`Throttle`]
/// for several instances on one database (RB-04). It gives the answers of
/// one `MemoryThrottle` serving every instance, except that the attempts a
/// source known for the account has in flight count when they fail, not
/// while in flight (below).
///
/// ```
/// use std::sync::Arc;
/// use portcullis::{StoreThrottle, Throttle, ThrottleLimits, ThrottleStore};
///
/// /// The throttle of every instance on `store` (an `Arc<PostgresStore>`,
/// /// the store the server is built with).
/// fn throttle<S: ThrottleStore>(store: Arc<S>) -> Arc<dyn Throttle> {
///     Arc::new(StoreThrottle::new(store, ThrottleLimits::default()))
/// }
/// // AuthorizationServer::builder(config).store(store.clone()).throttle(throttle(store))…
/// # let _ = throttle(Arc::new(portcullis::MemoryStore::new()));
/// ```
///
/// - **A read for the check.** An attempt reads whether its source is
///   known for the account and the counts of its counters, and is judged
///   on them as `MemoryThrottle` judges. A refusal writes nothing: a flood
///   of refused guesses costs the database reads only.
/// - **A source not known for the account** (every guesser): an allowed
///   attempt is counted at once by one atomic upsert over its counters that
///   returns the new counts, and judged again on them. Of concurrent
///   attempts that passed the read together, in whichever instances, each
///   sees a different count; those past the limits are taken off again and
///   refused. (While they are being taken off, a concurrent attempt may see
///   them and be refused too: only at the limit, only ever stricter.) Its
///   settle releases the reservation unless it failed.
/// - **A known source** (one that proved the account's credentials in the
///   last `known_source_for`: the holder's service) is judged on the
///   pair's failures only, as in `MemoryThrottle`, and its allowed attempts
///   write nothing while in flight: they are counted in this process (at
///   most `per_account` in flight per instance) and written only if they
///   fail (one upsert). Its success refreshes the known pair only when half
///   of `known_source_for` has passed. The holder's token requests thus
///   cost two reads and no write (one read while another of its attempts
///   is in flight in this process: the pair is known to be known), and
///   never contend for a counter's row.
/// - **Keys** are SHA-256 hashes (16 bytes): no id, username or address is
///   stored. No eviction: counters of ended windows and pairs no longer
///   known are removed by [`ThrottleStore::purge_throttle`].
/// - **A store that fails** (its database is down) judges nothing: the
///   attempt is allowed and the failure logged. With the throttle on the
///   same database as the clients, the credentials cannot be checked
///   either, and the client gets `server_error` (500), settled `Unjudged`.
///   A throttle on a database of its own that fails lets guesses through
///   unthrottled while it is down: keep it on the clients' database.
pub struct StoreThrottle<S: ?Sized> {
    store: Arc<S>,
    limits: ThrottleLimits,
    clock: Arc<dyn Clock>,
    /// Attempts of known sources in flight in this process, by pair key:
    /// how many, and until when the pair was known when the last began.
    known_in_flight: Mutex<HashMap<[u8; 16], (u32, UnixTime)>>,
}

impl<S: ?Sized> fmt::Debug for StoreThrottle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreThrottle")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S: ThrottleStore + ?Sized> StoreThrottle<S> {
    /// A throttle with these limits over `store`, on the system clock.
    /// (`max_keys` and `max_known_sources` do not apply: the store keeps
    /// what it is given until purged.)
    pub fn new(store: Arc<S>, limits: ThrottleLimits) -> Self {
        Self {
            store,
            limits,
            clock: Arc::new(SystemClock),
            known_in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The same throttle reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Its limits.
    pub fn limits(&self) -> &ThrottleLimits {
        &self.limits
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<[u8; 16], (u32, UnixTime)>> {
        // Every update is an integer write that cannot panic midway.
        self.known_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.limits.window.as_secs().max(1))
    }

    /// The keys of an attempt, sorted (so that concurrent statements lock
    /// counters in one order), and its pair key.
    fn keys(attempt: &Attempt<'_>) -> (Vec<ThrottleKey>, Keys) {
        let keys = Keys::of(attempt);
        let mut list: Vec<ThrottleKey> = [keys.source, keys.account, keys.pair]
            .into_iter()
            .flatten()
            .map(ThrottleKey)
            .collect();
        list.sort_unstable();
        (list, keys)
    }

    /// Which limit refuses, judged on `counts` less `counted` (the
    /// attempt itself, when the counts include it).
    fn over(
        &self,
        keys: &Keys,
        known: bool,
        counts: &[(ThrottleKey, ThrottleCount)],
        counted: u32,
    ) -> Option<&'static str> {
        let before = |key: Option<[u8; 16]>| {
            key.map(|k| {
                counts
                    .iter()
                    .find(|(c, _)| c.0 == k)
                    .map_or((0, 0), |(_, c)| {
                        (
                            c.attempts.saturating_sub(counted),
                            c.in_flight.saturating_sub(counted),
                        )
                    })
            })
        };
        refusal(
            &self.limits,
            known,
            before(keys.pair),
            before(keys.account).map(|(n, _)| n),
            before(keys.source).map(|(n, _)| n),
        )
    }

    async fn try_attempt(&self, attempt: &Attempt<'_>) -> Result<Verdict, StoreError> {
        let (list, keys) = Self::keys(attempt);
        if list.is_empty() {
            return Ok(Verdict::Allow);
        }
        let now = self.clock.now();
        // A pair with attempts in flight here is known until the time read
        // when the last of them began: a pair stays known at least that
        // long (remembering only extends it), so the read is skipped. The
        // holder's concurrent requests thus cost one read each, not two.
        let cached = keys.pair.and_then(|pair| {
            self.in_flight()
                .get(&pair)
                .map(|(_, until)| *until)
                .filter(|until| now < *until)
        });
        let known_until = match (cached, keys.pair) {
            (Some(until), _) => Some(until),
            (None, Some(pair)) => self.store.throttle_known(&ThrottleKey(pair), now).await?,
            (None, None) => None,
        };
        // The check: a read. A refusal writes nothing, so a flood of
        // refused guesses costs the database reads only.
        let counts = self.store.throttle_counts(&list, now).await?;
        if let (Some(until), Some(pair)) = (known_until, keys.pair) {
            // A known source: judged on the pair's failures (the stored
            // count less what is in flight there) and on its attempts in
            // flight here, which the store does not hold.
            let mut in_flight = self.in_flight();
            let here = in_flight.get(&pair).map_or(0, |(n, _)| *n);
            let stored = counts
                .iter()
                .find(|(k, _)| k.0 == pair)
                .map_or((0, 0), |(_, c)| (c.attempts, c.in_flight));
            let pair_count = (stored.0.saturating_add(here), stored.1.saturating_add(here));
            if let Some(limit) = refusal(&self.limits, true, Some(pair_count), None, None) {
                drop(in_flight);
                tracing::debug!(
                    limit,
                    "too many failed attempts: refused until the window ends"
                );
                return Ok(Verdict::Refuse);
            }
            let entry = in_flight.entry(pair).or_insert((0, until));
            entry.0 = entry.0.saturating_add(1);
            entry.1 = until;
            return Ok(Verdict::Allow);
        }
        if let Some(limit) = self.over(&keys, false, &counts, 0) {
            tracing::debug!(
                limit,
                "too many failed attempts: refused until the window ends"
            );
            return Ok(Verdict::Refuse);
        }
        // The count: one atomic upsert, judged again on what it returns
        // (the counts just before this attempt), so that of concurrent
        // attempts that all passed the read, in any instance, only those
        // within the limits stay counted.
        let counts = self
            .store
            .throttle_reserve(&list, now, now.plus(self.window()))
            .await?;
        let Some(limit) = self.over(&keys, false, &counts, 1) else {
            return Ok(Verdict::Allow);
        };
        // `debug`: a flood of refusals must not be a flood of log lines.
        tracing::debug!(
            limit,
            "too many failed attempts: refused until the window ends"
        );
        if let Err(e) = self.store.throttle_release(&list, false).await {
            tracing::warn!(error = %e, "throttle store: a refused attempt stays counted");
        }
        Ok(Verdict::Refuse)
    }

    /// Takes one of the known source's attempts in flight off this
    /// process's count: until when the pair was known, if it had one.
    fn take_known(&self, pair: Option<[u8; 16]>) -> Option<UnixTime> {
        let pair = pair?;
        let mut in_flight = self.in_flight();
        let (n, until) = in_flight.get_mut(&pair)?;
        let until = *until;
        *n = n.saturating_sub(1);
        if *n == 0 {
            in_flight.remove(&pair);
        }
        Some(until)
    }

    async fn try_settle(&self, attempt: &Attempt<'_>, outcome: Outcome) -> Result<(), StoreError> {
        let (list, keys) = Self::keys(attempt);
        if list.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let pair = keys.pair.map(ThrottleKey);
        match (self.take_known(keys.pair), outcome) {
            // A known source's failure: counted now, as a failure.
            (Some(_), Outcome::Failed) => {
                self.store
                    .throttle_reserve(&list, now, now.plus(self.window()))
                    .await?;
                self.store.throttle_release(&list, true).await?;
            }
            (Some(until), Outcome::Succeeded) => {
                // Refreshed once half its time has passed.
                let half = self.limits.known_source_for / 2;
                if let Some(pair) = pair.filter(|_| until < now.plus(half)) {
                    self.store
                        .throttle_remember(&pair, now.plus(self.limits.known_source_for))
                        .await?;
                }
            }
            (Some(_), _) => {}
            (None, outcome) => {
                self.store
                    .throttle_release(&list, outcome == Outcome::Failed)
                    .await?;
                if let Some(pair) = pair.filter(|_| outcome == Outcome::Succeeded) {
                    self.store
                        .throttle_remember(&pair, now.plus(self.limits.known_source_for))
                        .await?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<S: ThrottleStore + ?Sized> Throttle for StoreThrottle<S> {
    async fn attempt(&self, attempt: &Attempt<'_>) -> Verdict {
        match self.try_attempt(attempt).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "throttle store failed: attempt allowed unthrottled");
                Verdict::Allow
            }
        }
    }

    async fn settle(&self, attempt: &Attempt<'_>, outcome: Outcome) {
        if let Err(e) = self.try_settle(attempt, outcome).await {
            tracing::warn!(error = %e, "throttle store failed: attempt not settled");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use super::*;
    use crate::client::ClientId;
    use crate::clock::FixedClock;
    use crate::http::Source;
    use crate::stores::MemoryStore;
    use crate::throttle::{Account, MemoryThrottle};

    const T0: u64 = 1_700_000_000;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            per_account_and_source: 3,
            per_account: 6,
            per_account_first_tries: 8,
            per_source: 10,
            window: Duration::from_secs(60),
            known_source_for: Duration::from_secs(600),
            ..ThrottleLimits::default()
        }
    }

    fn ip(n: u8) -> Source<'static> {
        Source::Ip(IpAddr::from([192, 0, 2, n]))
    }

    /// Runs one script of attempts and outcomes, over accounts, sources,
    /// windows and attempts in flight, on a `MemoryThrottle` and a
    /// `StoreThrottle` with `limits`, asserting that they answer alike at
    /// every step; the number of refusals. `settle_at_once`: each allowed
    /// attempt is settled before the next begins. `succeed`: outcomes
    /// include successes (which make sources known).
    async fn script(limits: ThrottleLimits, settle_at_once: bool, succeed: bool) -> usize {
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let memory = MemoryThrottle::new(limits.clone()).with_clock(clock.clone());
        let store =
            StoreThrottle::new(Arc::new(MemoryStore::new()), limits).with_clock(clock.clone());
        let ids: Vec<ClientId> = ["svc", "app", "cli"]
            .iter()
            .filter_map(|s| ClientId::parse(s))
            .collect();
        let users = ["alice", "bob"];
        // A small deterministic generator: the script is the same each run.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut in_flight: Vec<(Option<usize>, Option<usize>, Option<u8>)> = Vec::new();
        let mut refusals = 0;
        for step in 0..3_000 {
            let r = next(100);
            if r < 3 {
                clock.advance(Duration::from_secs(next(40) + 1));
                continue;
            }
            if (settle_at_once || r < 40) && !in_flight.is_empty() {
                let i = usize::try_from(next(in_flight.len() as u64)).unwrap_or(0);
                let (c, u, s) = in_flight.swap_remove(i);
                let outcome = match next(10) {
                    0..=5 => Outcome::Failed,
                    6..=8 if succeed => Outcome::Succeeded,
                    _ => Outcome::Unjudged,
                };
                let account = match (c, u) {
                    (Some(c), _) => ids.get(c).map(Account::Client),
                    (None, Some(u)) => users.get(u).map(|u| Account::User(u)),
                    _ => None,
                };
                let a = Attempt::new(account, s.map(ip));
                memory.settle(&a, outcome).await;
                store.settle(&a, outcome).await;
                continue;
            }
            let (c, u) = match next(6) {
                0..=2 => (Some(usize::try_from(next(3)).unwrap_or(0)), None),
                3 | 4 => (None, Some(usize::try_from(next(2)).unwrap_or(0))),
                _ => (None, None),
            };
            let s = (next(8) != 0).then(|| u8::try_from(next(5)).unwrap_or(0));
            let account = match (c, u) {
                (Some(c), _) => ids.get(c).map(Account::Client),
                (None, Some(u)) => users.get(u).map(|u| Account::User(u)),
                _ => None,
            };
            let a = Attempt::new(account, s.map(ip));
            let (m, st) = (memory.attempt(&a).await, store.attempt(&a).await);
            assert_eq!(m, st, "step {step}: {a:?}");
            if m == Verdict::Allow {
                in_flight.push((c, u, s));
            } else {
                refusals += 1;
            }
        }
        refusals
    }

    #[tokio::test]
    async fn gives_the_answers_of_the_memory_throttle() {
        // covers: RB-04
        // Attempts settled one at a time, sources becoming known. In one
        // window, known for longer than the script runs: a known source's
        // successes write nothing, so unlike MemoryThrottle's they start
        // no window, and a known pair is refreshed at half its time, not
        // at every success (both tested on their own below).
        let known_long = ThrottleLimits {
            per_account_and_source: 20,
            per_account: 60,
            per_account_first_tries: 80,
            per_source: 100,
            window: Duration::from_secs(86_400),
            known_source_for: Duration::from_secs(86_400),
            ..limits()
        };
        let refusals = script(known_long, true, true).await;
        assert!(
            refusals > 100,
            "the script must reach the limits: {refusals}"
        );
        // Attempts in flight, interleaved, windows ending, no source
        // known: every attempt in flight counts, in the store as in memory.
        let refusals = script(limits(), false, false).await;
        assert!(
            refusals > 100,
            "the script must reach the limits: {refusals}"
        );
    }

    #[tokio::test]
    async fn a_known_source_writes_nothing_until_it_fails_and_is_refreshed_at_half_time() {
        // covers: RB-04
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let store = Arc::new(MemoryStore::new());
        let t = StoreThrottle::new(store.clone(), limits()).with_clock(clock.clone());
        let id = ClientId::parse("svc").unwrap();
        let a = Attempt::new(Some(Account::Client(&id)), Some(ip(7)));
        let pair = ThrottleKey(Keys::of(&a).pair.unwrap());
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        t.settle(&a, Outcome::Succeeded).await;
        let until = UnixTime::from_secs(T0 + 600);
        let known = |at| {
            let store = store.clone();
            async move { store.throttle_known(&pair, at).await.unwrap() }
        };
        assert_eq!(known(clock.now()).await, Some(until));
        // Its requests in flight are counted here, not in the store:
        // per_account (6) of them at once, and no more.
        for _ in 0..6 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
        }
        assert_eq!(
            t.attempt(&a).await,
            Verdict::Refuse,
            "per_account in flight"
        );
        let counts = store.throttle_counts(&[pair], clock.now()).await.unwrap();
        assert!(counts.iter().all(|(_, c)| c.attempts == 0), "{counts:?}");
        for _ in 0..6 {
            t.settle(&a, Outcome::Succeeded).await;
        }
        // A success before half time changes nothing; after, it refreshes.
        clock.advance(Duration::from_secs(200));
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        t.settle(&a, Outcome::Succeeded).await;
        assert_eq!(known(clock.now()).await, Some(until));
        clock.advance(Duration::from_secs(200));
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        t.settle(&a, Outcome::Succeeded).await;
        assert_eq!(
            known(clock.now()).await,
            Some(UnixTime::from_secs(T0 + 1_000))
        );
        // Its failures are written, and bound it: three, then refused.
        for _ in 0..3 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
            t.settle(&a, Outcome::Failed).await;
        }
        assert_eq!(
            t.attempt(&a).await,
            Verdict::Refuse,
            "per_account_and_source"
        );
        // Another instance on the store sees them.
        let other = StoreThrottle::new(store.clone(), limits()).with_clock(clock.clone());
        assert_eq!(other.attempt(&a).await, Verdict::Refuse);
    }

    /// A store that counts `throttle_known` reads.
    struct CountingKnown {
        inner: MemoryStore,
        known_reads: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl ThrottleStore for CountingKnown {
        async fn throttle_reserve(
            &self,
            keys: &[ThrottleKey],
            now: UnixTime,
            end: UnixTime,
        ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
            self.inner.throttle_reserve(keys, now, end).await
        }
        async fn throttle_counts(
            &self,
            keys: &[ThrottleKey],
            now: UnixTime,
        ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
            self.inner.throttle_counts(keys, now).await
        }
        async fn throttle_release(
            &self,
            keys: &[ThrottleKey],
            failed: bool,
        ) -> Result<(), StoreError> {
            self.inner.throttle_release(keys, failed).await
        }
        async fn throttle_known(
            &self,
            pair: &ThrottleKey,
            now: UnixTime,
        ) -> Result<Option<UnixTime>, StoreError> {
            self.known_reads
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.throttle_known(pair, now).await
        }
        async fn throttle_remember(
            &self,
            pair: &ThrottleKey,
            until: UnixTime,
        ) -> Result<(), StoreError> {
            self.inner.throttle_remember(pair, until).await
        }
        async fn purge_throttle(&self, now: UnixTime) -> Result<u64, StoreError> {
            self.inner.purge_throttle(now).await
        }
    }

    #[tokio::test]
    async fn a_known_source_with_an_attempt_in_flight_here_is_not_read_again_until_it_expires() {
        // covers: RB-04 (issue 20: one read fewer per concurrent request)
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let store = Arc::new(CountingKnown {
            inner: MemoryStore::new(),
            known_reads: std::sync::atomic::AtomicUsize::new(0),
        });
        let reads = || store.known_reads.load(std::sync::atomic::Ordering::SeqCst);
        let t = StoreThrottle::new(store.clone(), limits()).with_clock(clock.clone());
        let id = ClientId::parse("svc").unwrap();
        let a = Attempt::new(Some(Account::Client(&id)), Some(ip(7)));
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        t.settle(&a, Outcome::Succeeded).await;
        // Known now: the first attempt reads it, those beside it do not.
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        let after_first = reads();
        for _ in 0..4 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
        }
        assert_eq!(reads(), after_first, "read again while one was in flight");
        // Past the time it was known until, it is read again.
        clock.advance(Duration::from_secs(601));
        let _ = t.attempt(&a).await;
        assert_eq!(reads(), after_first + 1);
    }

    #[tokio::test]
    async fn instances_on_one_store_share_the_limits() {
        // covers: RB-04
        // Three throttles on one store, as three instances on one
        // database: failures through all of them together reach the
        // per-(account, source) limit once, not three times.
        let shared = Arc::new(MemoryStore::new());
        let instances: Vec<_> = (0..3)
            .map(|_| StoreThrottle::new(shared.clone(), limits()))
            .collect();
        let id = ClientId::parse("svc").unwrap();
        let a = Attempt::new(Some(Account::Client(&id)), Some(ip(66)));
        let mut allowed = 0;
        for round in 0..4 {
            for t in &instances {
                if t.attempt(&a).await == Verdict::Allow {
                    allowed += 1;
                    t.settle(&a, Outcome::Failed).await;
                }
                let _ = round;
            }
        }
        assert_eq!(allowed, 3, "per_account_and_source over all instances");
        // A success through one instance makes the source known on all.
        let holder = Attempt::new(Some(Account::Client(&id)), Some(ip(7)));
        let (first, second, third) = (&instances[0], &instances[1], &instances[2]);
        assert_eq!(first.attempt(&holder).await, Verdict::Allow);
        first.settle(&holder, Outcome::Succeeded).await;
        // Guesses from many sources, spread over the instances, are bounded
        // per account over all of them: 3 counted so far, the first tries
        // stop the account at 8.
        let mut sprayed = 0;
        for n in 10..40 {
            for t in &instances {
                let a = Attempt::new(Some(Account::Client(&id)), Some(ip(n)));
                if t.attempt(&a).await == Verdict::Allow {
                    sprayed += 1;
                    t.settle(&a, Outcome::Failed).await;
                }
            }
        }
        assert_eq!(sprayed, 5, "per_account_first_tries over all instances");
        // The holder's source, known through the first, is served by the
        // third; a source never seen is refused by the second.
        assert_eq!(third.attempt(&holder).await, Verdict::Allow);
        third.settle(&holder, Outcome::Succeeded).await;
        let fresh = Attempt::new(Some(Account::Client(&id)), Some(ip(99)));
        assert_eq!(second.attempt(&fresh).await, Verdict::Refuse);
    }

    /// A store whose every call fails (its database is down).
    struct Down;

    #[async_trait]
    impl ThrottleStore for Down {
        async fn throttle_reserve(
            &self,
            _: &[ThrottleKey],
            _: UnixTime,
            _: UnixTime,
        ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
            Err(StoreError::msg("down"))
        }
        async fn throttle_counts(
            &self,
            _: &[ThrottleKey],
            _: UnixTime,
        ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
            Err(StoreError::msg("down"))
        }
        async fn throttle_release(&self, _: &[ThrottleKey], _: bool) -> Result<(), StoreError> {
            Err(StoreError::msg("down"))
        }
        async fn throttle_known(
            &self,
            _: &ThrottleKey,
            _: UnixTime,
        ) -> Result<Option<UnixTime>, StoreError> {
            Err(StoreError::msg("down"))
        }
        async fn throttle_remember(&self, _: &ThrottleKey, _: UnixTime) -> Result<(), StoreError> {
            Err(StoreError::msg("down"))
        }
        async fn purge_throttle(&self, _: UnixTime) -> Result<u64, StoreError> {
            Err(StoreError::msg("down"))
        }
    }

    #[tokio::test]
    async fn a_store_that_fails_judges_nothing() {
        // covers: RB-04
        // The credentials are checked (and with the clients on the same
        // database, fail as `server_error`): an outage is no lock-out.
        let t = StoreThrottle::new(Arc::new(Down), limits());
        let id = ClientId::parse("svc").unwrap();
        let a = Attempt::new(Some(Account::Client(&id)), Some(ip(1)));
        for _ in 0..10 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
            t.settle(&a, Outcome::Unjudged).await;
        }
    }
}
