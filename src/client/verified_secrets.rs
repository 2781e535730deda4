//! `VerifiedSecrets`: checking a client secret or password against its
//! stored [`SecretHash`] without ever running a slow hash on the caller's
//! thread, and without paying it twice for the same secret (RB-06).
//!
//! - A SHA-256 hash (a generated secret) is checked inline: it costs less
//!   than handing it to another thread.
//! - A PBKDF2 hash is checked on the server's [`HashPool`], unless the same
//!   account presented the same secret against the same stored hash
//!   recently and it matched: then one HMAC finds it in a bounded cache.
//!
//! The cache holds, for successes only, `HMAC-SHA256(k, account ‖ stored
//! hash ‖ presented secret)` under a key `k` drawn at start from the
//! server's `RandomSource` and kept in memory only. So it holds no secret
//! (nor anything that can be checked offline without `k`), a wrong secret
//! can never hit, and a changed stored hash (a new secret, or the same one
//! rehashed with a new salt) can never hit either: the old entries just
//! age out. It keeps about `capacity` entries in two generations: a new
//! entry goes into the young one; when that is half full the old one is
//! dropped and the young one becomes old; a hit in the old one moves the
//! entry back to the young one. Recently used entries therefore stay, as in
//! an LRU, at O(1) cost and a few lines of code.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::client::SecretHash;
use crate::hash_pool::{HashPool, HashPoolError};
use crate::random::{RandomError, RandomSource};
use crate::secret::Secret;

type Tag = [u8; 32];

/// A bounded cache of recently verified secrets, and the checks that use
/// it and a [`HashPool`]. The server keeps one for client secrets
/// (`Config::verified_secret_cache` entries); `MemoryUsers` keeps one for
/// passwords; a host's `PasswordVerifier` can keep its own.
pub struct VerifiedSecrets {
    key: Option<ring::hmac::Key>,
    half: usize,
    generations: Mutex<Generations>,
    hits: AtomicU64,
}

#[derive(Default)]
struct Generations {
    young: HashSet<Tag>,
    old: HashSet<Tag>,
}

impl std::fmt::Debug for VerifiedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedSecrets")
            .field("capacity", &(self.half * 2))
            .finish_non_exhaustive()
    }
}

impl VerifiedSecrets {
    /// A cache of about `capacity` entries (rounded up to an even number),
    /// keyed under a fresh key from `random`. A `capacity` of 0 caches
    /// nothing: every slow check runs on the pool.
    pub fn new(capacity: usize, random: &dyn RandomSource) -> Result<Self, RandomError> {
        let key = if capacity == 0 {
            None
        } else {
            let mut k = [0u8; 32];
            random.fill(&mut k)?;
            Some(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k))
        };
        Ok(Self {
            key,
            half: capacity.div_ceil(2),
            generations: Mutex::default(),
            hits: AtomicU64::new(0),
        })
    }

    /// A cache that caches nothing.
    pub fn disabled() -> Self {
        Self {
            key: None,
            half: 0,
            generations: Mutex::default(),
            hits: AtomicU64::new(0),
        }
    }

    /// Whether `presented` is the secret `stored` is the hash of, for the
    /// account `account` (a client id or a username). A slow hash runs on
    /// `pool` (a success is then remembered), unless a recent success is
    /// remembered; a fast one runs here. `Err` only if the pool is busy or
    /// lost the job: then nothing was checked.
    pub async fn verify(
        &self,
        pool: &HashPool,
        account: &str,
        stored: &SecretHash,
        presented: &str,
    ) -> Result<bool, HashPoolError> {
        if !stored.is_slow() {
            return Ok(stored.verify(presented));
        }
        let tag = self.tag(account, stored, presented);
        if let Some(tag) = &tag {
            if self.remembered(tag) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(true);
            }
        }
        let hash = stored.clone();
        let secret = Secret::new(presented.to_owned());
        let ok = pool
            .run(move || hash.verify(secret.expose_secret()))
            .await?;
        if let (true, Some(tag)) = (ok, tag) {
            self.remember(tag);
        }
        Ok(ok)
    }

    /// Spends on `pool` what checking `presented` against a PBKDF2 hash of
    /// `iterations` rounds costs, for an account that does not exist, so
    /// that it costs what a known one costs. Always `Ok(false)` unless the
    /// pool is busy.
    pub async fn verify_unknown(
        pool: &HashPool,
        iterations: NonZeroU32,
        presented: &str,
    ) -> Result<bool, HashPoolError> {
        let decoy = SecretHash::decoy(iterations);
        let secret = Secret::new(presented.to_owned());
        let _ = pool
            .run(move || decoy.verify(secret.expose_secret()))
            .await?;
        Ok(false)
    }

    /// How many checks the cache answered without a slow hash.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many successes are remembered now.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn tag(&self, account: &str, stored: &SecretHash, presented: &str) -> Option<Tag> {
        let key = self.key.as_ref()?;
        let encoded = stored.encode();
        let mut ctx = ring::hmac::Context::with_key(key);
        // Length prefixes: no two inputs run together into the same bytes.
        for part in [account, encoded.as_str()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.update(presented.as_bytes());
        ctx.sign().as_ref().try_into().ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn remembered(&self, tag: &Tag) -> bool {
        let mut g = self.lock();
        if g.young.contains(tag) {
            return true;
        }
        if g.old.remove(tag) {
            self.insert(&mut g, *tag);
            return true;
        }
        false
    }

    fn remember(&self, tag: Tag) {
        let mut g = self.lock();
        self.insert(&mut g, tag);
    }

    fn insert(&self, g: &mut Generations, tag: Tag) {
        if g.young.len() >= self.half {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dangerous::DeterministicRandom;
    use crate::hash_pool::HashPoolConfig;

    fn hash(secret: &str) -> SecretHash {
        SecretHash::pbkdf2(secret, NonZeroU32::MIN, &DeterministicRandom::new(1)).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_success_is_remembered_and_nothing_else() {
        // covers: RB-06
        // issue 15 finding 3
        let pool = HashPool::new(HashPoolConfig::default());
        let cache = VerifiedSecrets::new(16, &DeterministicRandom::new(2)).unwrap();
        let stored = hash("pw");
        // A wrong secret is checked on the pool every time, never remembered.
        for _ in 0..2 {
            assert!(!cache.verify(&pool, "a", &stored, "nope").await.unwrap());
        }
        assert_eq!((pool.stats().completed, cache.len()), (2, 0));
        // The right one: once on the pool, then from the cache.
        assert!(cache.verify(&pool, "a", &stored, "pw").await.unwrap());
        assert!(cache.verify(&pool, "a", &stored, "pw").await.unwrap());
        assert_eq!((pool.stats().completed, cache.hits()), (3, 1));
        // Another account with the same hash and secret is not that entry.
        assert!(cache.verify(&pool, "b", &stored, "pw").await.unwrap());
        assert_eq!(pool.stats().completed, 4);
        // A changed stored hash of the same secret misses.
        let rehashed =
            SecretHash::pbkdf2("pw", NonZeroU32::MIN, &DeterministicRandom::new(9)).unwrap();
        assert_ne!(rehashed, stored);
        assert!(cache.verify(&pool, "a", &rehashed, "pw").await.unwrap());
        assert_eq!((pool.stats().completed, cache.hits()), (5, 1));
        // The old hash no longer matches "pw2" just because "pw" was cached.
        assert!(!cache.verify(&pool, "a", &stored, "pw2").await.unwrap());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn fast_hashes_stay_inline_and_uncached() {
        let pool = HashPool::new(HashPoolConfig::default());
        let cache = VerifiedSecrets::new(16, &DeterministicRandom::new(2)).unwrap();
        let stored = SecretHash::sha256("generated");
        assert!(
            cache
                .verify(&pool, "a", &stored, "generated")
                .await
                .unwrap()
        );
        assert!(!cache.verify(&pool, "a", &stored, "x").await.unwrap());
        assert_eq!((pool.stats().completed, pool.stats().started), (0, 0));
        assert!(cache.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_cache_is_bounded_and_keeps_recent_entries() {
        let pool = HashPool::new(HashPoolConfig::default());
        let cache = VerifiedSecrets::new(4, &DeterministicRandom::new(2)).unwrap();
        let stored = hash("pw");
        for account in ["a", "b", "c", "d", "e", "f", "g"] {
            assert!(cache.verify(&pool, account, &stored, "pw").await.unwrap());
            // "a" is used again each time: it stays.
            assert!(cache.verify(&pool, "a", &stored, "pw").await.unwrap());
            assert!(cache.len() <= 4);
        }
        let ran = pool.stats().completed;
        assert!(cache.verify(&pool, "a", &stored, "pw").await.unwrap());
        assert_eq!(pool.stats().completed, ran, "a recent entry stays cached");
        assert!(cache.verify(&pool, "b", &stored, "pw").await.unwrap());
        assert_eq!(pool.stats().completed, ran + 1, "an old entry was dropped");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unknown_account_goes_through_the_pool() {
        // covers: RB-06
        let pool = HashPool::new(HashPoolConfig::default());
        let iterations = NonZeroU32::new(10).unwrap();
        assert!(
            !VerifiedSecrets::verify_unknown(&pool, iterations, "pw")
                .await
                .unwrap()
        );
        assert_eq!(pool.stats().completed, 1);
        // The decoy matches nothing, not even an empty secret.
        assert!(!SecretHash::decoy(iterations).verify(""));
    }
}
