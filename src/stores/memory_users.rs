//! `MemoryUsers`: an in-memory [`PasswordVerifier`], for demos and tests.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::client::SecretHash;
use crate::error::StoreError;
use crate::random::{RandomSource, SystemRandom};
use crate::secret::Secret;
use crate::stores::passwords::PasswordVerifier;
use crate::user::UserId;

/// Resource owners with PBKDF2-hashed passwords, in memory: a
/// [`PasswordVerifier`] for demos and tests.
pub struct MemoryUsers {
    users: RwLock<HashMap<String, (UserId, SecretHash)>>,
    iterations: NonZeroU32,
    random: Box<dyn RandomSource>,
    dummy: SecretHash,
}

impl std::fmt::Debug for MemoryUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryUsers")
    }
}

impl MemoryUsers {
    /// An empty user list hashing passwords with `iterations` rounds of
    /// PBKDF2 ([`crate::client::PBKDF2_DEFAULT_ITERATIONS`] in production).
    pub fn new(iterations: NonZeroU32) -> Result<Self, StoreError> {
        let random = SystemRandom::new();
        let dummy = SecretHash::pbkdf2("portcullis-no-such-user", iterations, &random)
            .map_err(StoreError::new)?;
        Ok(Self {
            users: RwLock::new(HashMap::new()),
            iterations,
            random: Box::new(random),
            dummy,
        })
    }

    /// Adds or replaces a user; the username is also the user id.
    pub fn insert(&self, username: &str, password: &Secret<String>) -> Result<(), StoreError> {
        let id = UserId::parse(username).ok_or(StoreError::msg("invalid username"))?;
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
        Ok(match entry {
            Some((id, hash)) => hash.verify(password.expose_secret()).then_some(id),
            None => {
                // Same cost as a real check: no user enumeration by timing.
                let _ = self.dummy.verify(password.expose_secret());
                None
            }
        })
    }
}
