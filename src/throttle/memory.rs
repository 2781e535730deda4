//! `MemoryThrottle`: the ready [`Throttle`] for one process (RB-04). Counts
//! per (account, source), per account and per source in fixed windows;
//! serves sources that recently succeeded for an account even while the
//! account is over its limit; checks and counts in one locked step; keeps
//! at most a fixed number of keys, evicting the least recently used.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::hook::{Account, Attempt, Outcome, Throttle, Verdict};
use super::lru::{Key, Lru};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::http::Source;

/// The limits of a [`MemoryThrottle`]. Start from `ThrottleLimits::default()`
/// and change the fields you need.
///
/// With limits *P* (`per_account_and_source`), *A* (`per_account`), *S*
/// (`per_source`) and window *W*, in each window of a key:
/// - an account takes at most *A* guesses from all the sources not known
///   for it together, plus at most *P* from each source known for it (one
///   that proved the account's credentials in the last `known_source_for`);
/// - a source makes at most *S* guesses over all the accounts it is not
///   known for, and at most *P* against any one account.
///
/// A key's window starts at its first counted attempt and the count starts
/// again after *W*, so any interval of length *W* holds at most twice the
/// limit. An attempt in flight counts as a guess until it is settled.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Guesses per (account, source) per window (default 5). Applies to
    /// every source, known or not: the holder who mistypes this often is
    /// refused for the rest of the window, as an attacker is.
    pub per_account_and_source: u32,
    /// Guesses per account per window from sources not known for it
    /// (default 20). Over it, only known sources are served: someone
    /// guessing from many addresses locks out no source that has succeeded
    /// before, but a holder on a source never seen before waits the window
    /// out.
    pub per_account: u32,
    /// First tries per account per window (default 200): over
    /// `per_account`, a source that has not tried the account in this
    /// window (no failure, nothing in flight) still gets one try until the
    /// account's count reaches this. An attack from a handful of addresses
    /// therefore does not lock out a holder arriving from a new one; to do
    /// that it needs more than this many addresses in one window, and every
    /// one of them gets a single guess.
    pub per_account_first_tries: u32,
    /// Guesses per source per window over the accounts it is not known for
    /// (default 100). Behind a proxy that the host does not see through,
    /// every request has the proxy's address: set the real one with
    /// `Request::with_source`.
    pub per_source: u32,
    /// The window (default 15 minutes; whole seconds, at least one).
    pub window: Duration,
    /// How long a source stays known for an account after it succeeded
    /// (default 30 days).
    pub known_source_for: Duration,
    /// Counters kept at most (default 100 000, about 10 MB); the least
    /// recently used is forgotten first.
    pub max_keys: usize,
    /// Known (account, source) pairs kept at most (default 100 000); kept
    /// apart from the counters, so a flood of guesses cannot push them out.
    pub max_known_sources: usize,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            per_account_and_source: 5,
            per_account: 20,
            per_account_first_tries: 200,
            per_source: 100,
            window: Duration::from_secs(15 * 60),
            known_source_for: Duration::from_secs(30 * 24 * 3600),
            max_keys: 100_000,
            max_known_sources: 100_000,
        }
    }
}

/// A [`Throttle`] in this process's memory (RB-04): the policy the
/// `Throttle` documentation describes, with the bounds of
/// [`ThrottleLimits`].
///
/// - **The holder is served.** A wrong secret counts against the account,
///   the source, and the pair of the two. The pair's limit stops one source;
///   the account's limit, once several sources have used it up, still lets
///   through every source that succeeded for the account before. A third
///   party's failures therefore never lock out the holder's usual source,
///   and lock out a new one only when they come from more sources than the
///   pair limit allows one (more than *A*/*P*).
/// - **Check and count are one step** under one lock: concurrent attempts
///   cannot all pass a check none of them has counted yet. A source known
///   for the account is held to its failures only, so the holder's own
///   concurrent requests are not refused for being in flight.
/// - **Bounded memory.** Keys are SHA-256 hashes (16 bytes), whatever the
///   length of the id, username or host key; at most `max_keys` counters and
///   `max_known_sources` known pairs are kept, and a full table forgets its
///   least recently used entry, never everything. An attacker's own keys
///   are the most recently used, so a flood pushes out idle counters, not
///   the ones it is running into.
/// - **Sources.** IPv4 addresses count one by one; IPv6 addresses by their
///   /64 prefix (one subscriber's usual allocation, which an attacker could
///   otherwise walk through), IPv4-mapped IPv6 as IPv4. A host
///   [`Source::Key`] counts as given. A request without a source is counted
///   per account only: then anyone can lock the account out for a window,
///   so give requests a source.
/// - **Per process.** Each instance of a deployment counts on its own: with
///   *N* instances behind a load balancer an attacker gets up to *N* times
///   the bounds above, and a source known to one instance is unknown to the
///   others. For shared counts, implement [`Throttle`] over a shared store as
///   its documentation describes.
///
/// Time comes from the [`Clock`] given to [`MemoryThrottle::with_clock`]
/// (the system's by default), so the rules can be tested without waiting.
pub struct MemoryThrottle {
    limits: ThrottleLimits,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

struct State {
    counts: Lru<Count>,
    /// (account, source) → when the source last succeeded for the account.
    known: Lru<UnixTime>,
}

/// One key's count in its current window.
#[derive(Clone, Copy)]
struct Count {
    start: u64,
    /// Attempts counted in the window: failures, and attempts in flight.
    n: u32,
    /// Of those, attempts in flight (allowed, not yet settled).
    pending: u32,
}

impl fmt::Debug for MemoryThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryThrottle")
            .field("limits", &self.limits)
            .field("counters", &state.counts.len())
            .field("known_sources", &state.known.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new(ThrottleLimits::default())
    }
}

/// The keys one attempt counts under.
pub(super) struct Keys {
    pub(super) source: Option<Key>,
    pub(super) account: Option<Key>,
    pub(super) pair: Option<Key>,
}

impl Keys {
    /// The keys of `attempt`.
    pub(super) fn of(attempt: &Attempt<'_>) -> Self {
        let source = attempt.source().map(source_bytes);
        let account = attempt.account().map(account_bytes);
        let pair = match (&account, &source) {
            (Some(a), Some(s)) => Some(key(b'P', &[a.as_slice(), s.as_slice()])),
            _ => None,
        };
        Self {
            source: source.map(|s| key(b'S', &[s.as_slice()])),
            account: account.map(|a| key(b'A', &[a.as_slice()])),
            pair,
        }
    }
}

/// Which limit refuses an attempt, judged on the counts before it: the
/// (account, source) pair's (attempts, in flight), the account's attempts
/// and the source's, each `None` when the attempt has no such key, and
/// whether the source is known for the account. The one policy of
/// [`MemoryThrottle`] and [`StoreThrottle`](super::StoreThrottle).
pub(super) fn refusal(
    limits: &ThrottleLimits,
    known: bool,
    pair: Option<(u32, u32)>,
    account: Option<u32>,
    source: Option<u32>,
) -> Option<&'static str> {
    // A source known for the account is refused on its failures only,
    // not on attempts still in flight: a holder's concurrent requests
    // (a service with many workers behind one address) are not its
    // guesses. Its guesses stay bounded: each one in flight becomes a
    // failure when settled, and a slow hash has to queue for the
    // bounded hash pool (RB-06). Any other source counts in-flight
    // attempts too, so concurrent guesses cannot all pass one check.
    // (Its attempts in flight are still capped, at `per_account`.)
    let pair_over = pair.is_some_and(|(n, pending)| {
        if known {
            n.saturating_sub(pending) >= limits.per_account_and_source
                || pending >= limits.per_account
        } else {
            n >= limits.per_account_and_source
        }
    });
    // A source with nothing counted for this account in the window.
    let first_try = pair.is_some_and(|(n, _)| n == 0);
    if pair_over {
        Some("account and source")
    } else if known {
        None
    } else if account.is_some_and(|account| {
        account >= limits.per_account && !(first_try && account < limits.per_account_first_tries)
    }) {
        Some("account")
    } else if source.is_some_and(|source| source >= limits.per_source) {
        Some("source")
    } else {
        None
    }
}

impl MemoryThrottle {
    /// A throttle with these limits, on the system clock.
    pub fn new(limits: ThrottleLimits) -> Self {
        let state = State {
            counts: Lru::new(limits.max_keys),
            known: Lru::new(limits.max_known_sources),
        };
        Self {
            limits,
            clock: Arc::new(SystemClock),
            state: Mutex::new(state),
        }
    }

    /// The same throttle reading time from `clock` (e.g. the server's, or a
    /// `FixedClock` in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Its limits.
    pub fn limits(&self) -> &ThrottleLimits {
        &self.limits
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update is a few integer writes that cannot panic midway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn window(&self) -> u64 {
        self.limits.window.as_secs().max(1)
    }

    /// The count of `key` in its window at `now` (0 if unknown or over),
    /// marking it used: a key an attacker keeps running into, refused or
    /// not, is never the one a flood of new keys evicts.
    fn count(&self, state: &mut State, key: Option<&Key>, now: u64) -> Count {
        let window = self.window();
        key.and_then(|k| state.counts.get_mut(k))
            .filter(|c| now.saturating_sub(c.start) < window)
            .map_or(
                Count {
                    start: now,
                    n: 0,
                    pending: 0,
                },
                |c| *c,
            )
    }

    fn keys(attempt: &Attempt<'_>) -> Keys {
        Keys::of(attempt)
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn attempt(&self, attempt: &Attempt<'_>) -> Verdict {
        let keys = Self::keys(attempt);
        let now = self.clock.now();
        let limits = &self.limits;
        let mut state = self.state();
        let known = keys.pair.as_ref().is_some_and(|p| {
            state
                .known
                .peek(p)
                .is_some_and(|&t| now < t.plus(limits.known_source_for))
        });
        let now = now.as_secs();
        let pair = self.count(&mut state, keys.pair.as_ref(), now);
        let account = self.count(&mut state, keys.account.as_ref(), now);
        let source = self.count(&mut state, keys.source.as_ref(), now);
        let over = refusal(
            limits,
            known,
            keys.pair.map(|_| (pair.n, pair.pending)),
            keys.account.map(|_| account.n),
            keys.source.map(|_| source.n),
        );
        if let Some(limit) = over {
            drop(state);
            // `debug`: a flood of refusals must not be a flood of log lines.
            tracing::debug!(
                limit,
                "too many failed attempts: refused until the window ends"
            );
            return Verdict::Refuse;
        }
        let window = self.window();
        for k in [keys.source, keys.account, keys.pair].into_iter().flatten() {
            let fresh = Count {
                start: now,
                n: 0,
                pending: 0,
            };
            if let Some(c) = state.counts.entry(k, || fresh) {
                if now.saturating_sub(c.start) >= window {
                    *c = fresh;
                }
                c.n = c.n.saturating_add(1);
                c.pending = c.pending.saturating_add(1);
            }
        }
        drop(state);
        Verdict::Allow
    }

    async fn settle(&self, attempt: &Attempt<'_>, outcome: Outcome) {
        let keys = Self::keys(attempt);
        let now = self.clock.now();
        let mut state = self.state();
        // No longer in flight; a failure keeps its count, anything else
        // releases it. (Had its window ended meanwhile, this takes one off
        // the new window: at most one per attempt in flight.)
        for k in [&keys.source, &keys.account, &keys.pair]
            .into_iter()
            .flatten()
        {
            if let Some(c) = state.counts.get_mut(k) {
                c.pending = c.pending.saturating_sub(1);
                if outcome != Outcome::Failed {
                    c.n = c.n.saturating_sub(1);
                }
            }
        }
        if outcome == Outcome::Succeeded {
            if let Some(pair) = keys.pair {
                if let Some(t) = state.known.entry(pair, || now) {
                    *t = now;
                }
            }
        }
        drop(state);
    }
}

/// A 16-byte key for `parts` under `tag`: SHA-256 over the tag and each
/// part with its length, so no two different inputs share a preimage.
fn key(tag: u8, parts: &[&[u8]]) -> Key {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&[tag]);
    for part in parts {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part);
    }
    let digest = ctx.finish();
    let mut out = [0u8; 16];
    for (o, d) in out.iter_mut().zip(digest.as_ref()) {
        *o = *d;
    }
    out
}

fn account_bytes(account: Account<'_>) -> Vec<u8> {
    let (tag, name) = match account {
        Account::Client(id) => (b'c', id.as_str()),
        Account::User(username) => (b'u', username),
        Account::DeviceVerifier(user) => (b'd', user.as_str()),
    };
    let mut out = Vec::with_capacity(1 + name.len());
    out.push(tag);
    out.extend_from_slice(name.as_bytes());
    out
}

/// IPv4 by address, IPv6 by /64 (IPv4-mapped as IPv4), a host key as is.
fn source_bytes(source: Source<'_>) -> Vec<u8> {
    match source {
        Source::Ip(ip) => match ip.to_canonical() {
            IpAddr::V4(v4) => [&[b'4'][..], &v4.octets()].concat(),
            IpAddr::V6(v6) => {
                let octets = v6.octets();
                let prefix = octets.get(..8).unwrap_or(&octets);
                [&[b'6'][..], prefix].concat()
            }
        },
        Source::Key(k) => [&[b'k'][..], k.as_bytes()].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientId;
    use crate::clock::FixedClock;

    const T0: u64 = 1_700_000_000;

    fn throttle(limits: ThrottleLimits) -> (MemoryThrottle, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        (MemoryThrottle::new(limits).with_clock(clock.clone()), clock)
    }

    fn limits(pair: u32, account: u32, source: u32) -> ThrottleLimits {
        ThrottleLimits {
            per_account_and_source: pair,
            per_account: account,
            // No first tries beyond the account's limit unless a test asks.
            per_account_first_tries: account,
            per_source: source,
            window: Duration::from_secs(60),
            ..ThrottleLimits::default()
        }
    }

    #[tokio::test]
    async fn over_the_account_limit_a_new_source_still_gets_a_first_try() {
        // covers: RB-04
        // A holder arriving from an address never seen before is not locked
        // out by an attack from a handful of addresses; an attack from more
        // addresses than `per_account_first_tries` allows is bounded by it.
        let (t, _) = throttle(ThrottleLimits {
            per_account_first_tries: 30,
            ..limits(5, 20, 1_000)
        });
        let alice = Some(Account::User("alice"));
        // Four attacking addresses use up the account's 20.
        for i in 0..4 {
            let a = Attempt::new(alice, Some(ip(&format!("192.0.2.{i}"))));
            for _ in 0..5 {
                assert_eq!(t.attempt(&a).await, Verdict::Allow);
                t.settle(&a, Outcome::Failed).await;
            }
            assert_eq!(t.attempt(&a).await, Verdict::Refuse);
        }
        // The holder, from a new address: one try, and it succeeds.
        let holder = Attempt::new(alice, Some(ip("198.51.100.7")));
        assert_eq!(t.attempt(&holder).await, Verdict::Allow);
        t.settle(&holder, Outcome::Succeeded).await;
        // An attacker's new address also gets exactly one try...
        let fresh = Attempt::new(alice, Some(ip("192.0.2.50")));
        assert_eq!(t.attempt(&fresh).await, Verdict::Allow);
        t.settle(&fresh, Outcome::Failed).await;
        assert_eq!(t.attempt(&fresh).await, Verdict::Refuse, "one try only");
        // ...and first tries stop at the cap: 21 counted, 9 more.
        let mut allowed = 0;
        for i in 100..120 {
            let a = Attempt::new(alice, Some(ip(&format!("192.0.2.{i}"))));
            if t.attempt(&a).await == Verdict::Allow {
                allowed += 1;
                t.settle(&a, Outcome::Failed).await;
            }
        }
        assert_eq!(allowed, 9, "the bound per account with first tries");
        // The holder's address is known now: still served.
        assert_eq!(t.attempt(&holder).await, Verdict::Allow);
    }

    fn ip(s: &str) -> Source<'static> {
        Source::Ip(s.parse().unwrap())
    }

    /// Attempts and fails `n` times; the verdicts.
    async fn fail(t: &MemoryThrottle, a: &Attempt<'_>, n: usize) -> Vec<Verdict> {
        let mut out = Vec::new();
        for _ in 0..n {
            let v = t.attempt(a).await;
            if v == Verdict::Allow {
                t.settle(a, Outcome::Failed).await;
            }
            out.push(v);
        }
        out
    }

    async fn succeeds(t: &MemoryThrottle, a: &Attempt<'_>) -> bool {
        let v = t.attempt(a).await;
        if v == Verdict::Allow {
            t.settle(a, Outcome::Succeeded).await;
        }
        v == Verdict::Allow
    }

    #[tokio::test]
    async fn brute_force_from_one_source_is_refused_and_the_holder_elsewhere_served() {
        // covers: RB-04
        // issue 15 finding 2
        let (t, clock) = throttle(limits(3, 10, 100));
        let id = ClientId::parse("svc").unwrap();
        let attacker = Attempt::new(Some(Account::Client(&id)), Some(ip("192.0.2.66")));
        let holder = Attempt::new(Some(Account::Client(&id)), Some(ip("198.51.100.7")));
        let v = fail(&t, &attacker, 5).await;
        assert_eq!(v.iter().filter(|v| **v == Verdict::Allow).count(), 3);
        assert_eq!(v.last(), Some(&Verdict::Refuse));
        // The holder, from its own source, is served...
        assert!(succeeds(&t, &holder).await);
        // ...the attacker stays refused, its guesses never checked.
        assert_eq!(t.attempt(&attacker).await, Verdict::Refuse);
        // The window ends: the attacker gets its next three.
        clock.advance(Duration::from_secs(60));
        assert_eq!(fail(&t, &attacker, 4).await.last(), Some(&Verdict::Refuse));
    }

    #[tokio::test]
    async fn over_the_account_limit_only_known_sources_are_served() {
        // covers: RB-04
        let (t, _) = throttle(limits(2, 6, 100));
        let id = ClientId::parse("svc").unwrap();
        let on = |s| Attempt::new(Some(Account::Client(&id)), Some(s));
        assert!(succeeds(&t, &on(ip("198.51.100.7"))).await);
        // Many sources, two guesses each, use the account's limit up.
        let mut allowed = 0;
        for n in 1..=10 {
            let addr = format!("192.0.2.{n}");
            allowed += fail(&t, &on(ip(&addr)), 2)
                .await
                .iter()
                .filter(|v| **v == Verdict::Allow)
                .count();
        }
        assert_eq!(allowed, 6, "the bound per account");
        // The holder's known source is served; a source never seen is not.
        assert!(succeeds(&t, &on(ip("198.51.100.7"))).await);
        assert!(!succeeds(&t, &on(ip("203.0.113.5"))).await);
        // Another account is untouched.
        let other = ClientId::parse("other").unwrap();
        let a = Attempt::new(Some(Account::Client(&other)), Some(ip("192.0.2.1")));
        assert!(succeeds(&t, &a).await);
    }

    #[tokio::test]
    async fn a_known_source_is_still_bound_per_account_and_source() {
        // covers: RB-04
        let (t, _) = throttle(limits(3, 5, 100));
        let holder = Attempt::new(Some(Account::User("alice")), Some(ip("198.51.100.7")));
        assert!(succeeds(&t, &holder).await);
        assert_eq!(fail(&t, &holder, 4).await.last(), Some(&Verdict::Refuse));
        // A success elsewhere resets nothing here.
        let other = Attempt::new(Some(Account::User("alice")), Some(ip("192.0.2.9")));
        assert!(succeeds(&t, &other).await);
        assert_eq!(t.attempt(&holder).await, Verdict::Refuse);
    }

    #[tokio::test]
    async fn a_source_is_bound_over_all_accounts_and_its_own_success_resets_nothing() {
        // covers: RB-04
        let (t, _) = throttle(limits(5, 50, 10));
        let src = ip("192.0.2.66");
        let own = Attempt::new(Some(Account::User("mallory")), Some(src));
        let mut allowed = 0;
        for n in 0..30 {
            let name = format!("user{n}");
            let a = Attempt::new(Some(Account::User(&name)), Some(src));
            allowed += fail(&t, &a, 1)
                .await
                .iter()
                .filter(|v| **v == Verdict::Allow)
                .count();
            // Logging into its own account between guesses does not help:
            // the first success makes it known for mallory only.
            succeeds(&t, &own).await;
        }
        assert_eq!(allowed, 10, "the bound per source");
        // Source-only attempts (forged assertions) count there too.
        let forged = Attempt::new(None, Some(src));
        assert_eq!(t.attempt(&forged).await, Verdict::Refuse);
        // IPv6 counts per /64.
        let v6 = |s| Attempt::new(None, Some(ip(s)));
        assert_eq!(
            fail(&t, &v6("2001:db8:1:2::1"), 10).await.last(),
            Some(&Verdict::Allow)
        );
        assert_eq!(
            t.attempt(&v6("2001:db8:1:2:ffff::9")).await,
            Verdict::Refuse
        );
        assert_eq!(t.attempt(&v6("2001:db8:1:3::1")).await, Verdict::Allow);
    }

    #[tokio::test]
    async fn success_and_unjudged_attempts_release_their_reservation() {
        // covers: RB-04
        let (t, _) = throttle(limits(2, 2, 2));
        let a = Attempt::new(Some(Account::User("bob")), Some(ip("192.0.2.1")));
        for _ in 0..10 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
            t.settle(&a, Outcome::Unjudged).await;
        }
        assert_eq!(
            fail(&t, &a, 3).await,
            [Verdict::Allow, Verdict::Allow, Verdict::Refuse]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_attempts_are_counted_when_checked() {
        // covers: RB-04
        // issue 15 finding 2: checking and counting were separate steps
        let (t, _) = throttle(limits(5, 100, 100));
        let t = Arc::new(t);
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (t, barrier) = (t.clone(), barrier.clone());
                tokio::spawn(async move {
                    let id = ClientId::parse("svc").unwrap();
                    let a = Attempt::new(Some(Account::Client(&id)), Some(ip("192.0.2.1")));
                    barrier.wait().await;
                    // Nothing is settled yet: every allowed one is in flight.
                    t.attempt(&a).await
                })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            if task.await.unwrap() == Verdict::Allow {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5);
    }

    #[tokio::test]
    async fn a_known_sources_requests_in_flight_are_not_its_guesses() {
        // covers: RB-04
        // A service with many workers behind one address: once its source
        // has succeeded, its concurrent requests are not refused for being
        // in flight; its failures still are counted and bounded.
        let (t, _) = throttle(limits(5, 100, 100));
        let id = ClientId::parse("svc").unwrap();
        let a = Attempt::new(Some(Account::Client(&id)), Some(ip("192.0.2.1")));
        assert_eq!(t.attempt(&a).await, Verdict::Allow);
        t.settle(&a, Outcome::Succeeded).await;
        for _ in 0..64 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow, "in flight, not failed");
        }
        for _ in 0..64 {
            t.settle(&a, Outcome::Succeeded).await;
        }
        // Five failures from the known source, then it is refused.
        for _ in 0..5 {
            assert_eq!(t.attempt(&a).await, Verdict::Allow);
            t.settle(&a, Outcome::Failed).await;
        }
        assert_eq!(t.attempt(&a).await, Verdict::Refuse);
    }

    #[tokio::test]
    async fn a_full_table_forgets_the_least_recently_used_counter_not_all() {
        // covers: RB-04
        // issue 15 finding 2: the demo's limiter cleared all 10 000 keys
        let (t, _) = throttle(ThrottleLimits {
            max_keys: 50,
            ..limits(3, 100, 1_000_000)
        });
        let attacker = Attempt::new(Some(Account::User("alice")), Some(ip("192.0.2.66")));
        assert_eq!(fail(&t, &attacker, 3).await.last(), Some(&Verdict::Allow));
        // A flood of fresh keys from other sources, the attacker retrying
        // in between: its counters are in use and stay.
        for n in 0..200u32 {
            let name = format!("junk{n}");
            let a = Attempt::new(Some(Account::User(&name)), Some(Source::Key("flood")));
            fail(&t, &a, 1).await;
            assert_eq!(t.attempt(&attacker).await, Verdict::Refuse);
        }
    }

    #[tokio::test]
    async fn known_sources_expire_and_sourceless_attempts_count_per_account() {
        // covers: RB-04
        let (t, clock) = throttle(ThrottleLimits {
            known_source_for: Duration::from_secs(3600),
            ..limits(10, 2, 100)
        });
        let holder = Attempt::new(Some(Account::User("carol")), Some(ip("198.51.100.7")));
        assert!(succeeds(&t, &holder).await);
        clock.advance(Duration::from_secs(3600));
        fail(
            &t,
            &Attempt::new(Some(Account::User("carol")), Some(ip("192.0.2.1"))),
            2,
        )
        .await;
        assert_eq!(t.attempt(&holder).await, Verdict::Refuse, "no longer known");
        // Without a source only the account counts.
        let (t, _) = throttle(limits(10, 2, 100));
        let blind = Attempt::new(Some(Account::User("dave")), None);
        assert_eq!(fail(&t, &blind, 3).await.last(), Some(&Verdict::Refuse));
    }

    #[test]
    fn keys_do_not_collide_across_kinds_or_boundaries() {
        let c = ClientId::parse("ab").unwrap();
        let a = key(b'A', &[&account_bytes(Account::Client(&c))]);
        let u = key(b'A', &[&account_bytes(Account::User("ab"))]);
        assert_ne!(a, u);
        assert_ne!(key(b'P', &[b"a", b"bc"]), key(b'P', &[b"ab", b"c"]));
        assert_eq!(
            source_bytes(ip("::ffff:192.0.2.1")),
            source_bytes(ip("192.0.2.1"))
        );
        assert_ne!(source_bytes(Source::Key("4")), source_bytes(ip("0.0.0.0")));
    }
}
