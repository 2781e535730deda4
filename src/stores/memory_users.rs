//! `MemoryUsers`: an in-memory [`PasswordVerifier`], for demos and tests.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::client::{SecretHash, VerifiedSecrets};
use crate::error::StoreError;
use crate::hash_pool::HashPool;
use crate::random::{RandomSource, SystemRandom};
use crate::secret::Secret;
use crate::stores::passwords::PasswordVerifier;
use crate::user::UserId;

/// Resource owners with PBKDF2-hashed passwords, in memory: a
/// [`PasswordVerifier`] for demos and tests.
///
/// Passwords are checked on a [`HashPool`], never on the caller's thread,
/// and an unknown username costs the same PBKDF2 as a known one (RB-06). A
/// correct password is remembered (see [`VerifiedSecrets`], 1024 entries),
/// so a user who signs in again soon costs one HMAC. Give the server the
/// same pool (`ServerBuilder::hash_pool(users.hash_pool().clone())`) so one
/// bound covers passwords and client secrets. When the pool is busy,
/// `verify` fails with [`StoreError::is_busy`], which the server answers
/// `temporarily_unavailable` (503).
pub struct MemoryUsers {
    users: RwLock<HashMap<String, (UserId, SecretHash)>>,
    iterations: NonZeroU32,
    random: Box<dyn RandomSource>,
    pool: Arc<HashPool>,
    verified: VerifiedSecrets,
}

/// Successful sign-ins `MemoryUsers` remembers.
const VERIFIED_CACHE: usize = 1024;

impl std::fmt::Debug for MemoryUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryUsers")
    }
}

impl MemoryUsers {
    /// An empty user list hashing passwords with `iterations` rounds of
    /// PBKDF2 ([`crate::client::PBKDF2_DEFAULT_ITERATIONS`] in production),
    /// checking them on a [`HashPool`] of its own (default sizes; its
    /// threads start with the first check).
    pub fn new(iterations: NonZeroU32) -> Result<Self, StoreError> {
        Self::with_hash_pool(iterations, Arc::new(HashPool::default()))
    }

    /// Like [`MemoryUsers::new`], checking passwords on `pool` (the
    /// server's, say: [`AuthorizationServer::hash_pool`](crate::AuthorizationServer::hash_pool)).
    pub fn with_hash_pool(iterations: NonZeroU32, pool: Arc<HashPool>) -> Result<Self, StoreError> {
        let random = SystemRandom::new();
        let verified = VerifiedSecrets::new(VERIFIED_CACHE, &random).map_err(StoreError::new)?;
        Ok(Self {
            users: RwLock::new(HashMap::new()),
            iterations,
            random: Box::new(random),
            pool,
            verified,
        })
    }

    /// The pool passwords are checked on.
    pub fn hash_pool(&self) -> &Arc<HashPool> {
        &self.pool
    }

    /// The cache of recent successful sign-ins, for its statistics.
    pub fn verified_secrets(&self) -> &VerifiedSecrets {
        &self.verified
    }

    /// Adds or replaces a user; the username is also the user id.
    pub fn insert(&self, username: &str, password: &Secret<String>) -> Result<(), StoreError> {
        let id = UserId::parse(username).ok_or(StoreError::msg("invalid username"))?;
        self.insert_with_id(username, id, password)
    }

    /// Adds or replaces the user who signs in as `username`, with `id` as
    /// their user id (the `sub` of their tokens): a stable identifier
    /// distinct from the login name, as most user databases have, so that
    /// renaming a login never changes a subject. Two usernames given the
    /// same id are one user to the server; keeping ids unique is the
    /// caller's part.
    ///
    /// ```
    /// use portcullis::{MemoryUsers, PasswordVerifier, Secret, UserId};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let users = MemoryUsers::new(std::num::NonZeroU32::MIN)?;
    /// let sub = UserId::parse("248289761001").unwrap();
    /// users.insert_with_id("alice", sub.clone(), &Secret::new("pw".into()))?;
    /// let found = users.verify("alice", &Secret::new("pw".into())).await?;
    /// assert_eq!(found, Some(sub));
    /// # Ok::<(), portcullis::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub fn insert_with_id(
        &self,
        username: &str,
        id: UserId,
        password: &Secret<String>,
    ) -> Result<(), StoreError> {
        let hash = SecretHash::pbkdf2(password.expose_secret(), self.iterations, &*self.random)
            .map_err(StoreError::new)?;
        self.users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(username.to_owned(), (id, hash));
        Ok(())
    }
}

#[async_trait]
impl PasswordVerifier for MemoryUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        let entry = self
            .users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(username)
            .cloned();
        let password = password.expose_secret();
        Ok(match entry {
            Some((id, hash)) => self
                .verified
                .verify(&self.pool, username, &hash, password)
                .await
                .map_err(StoreError::new)?
                .then_some(id),
            None => {
                // Same cost as a real check, on the same pool: no user
                // enumeration by timing.
                VerifiedSecrets::verify_unknown(&self.pool, self.iterations, password)
                    .await
                    .map_err(StoreError::new)?;
                None
            }
        })
    }
}
