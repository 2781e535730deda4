//! `MemoryKeys`: an in-memory [`KeyProvider`], for one process.

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::keys::{KeyId, KeyProvider, KeyRecord};

/// Signing keys in process memory. Keys vanish with the process; use a SQL
/// store's key provider to share keys between instances and restarts.
#[derive(Debug, Default)]
pub struct MemoryKeys(RwLock<BTreeMap<KeyId, KeyRecord>>);

impl MemoryKeys {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl KeyProvider for MemoryKeys {
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        Ok(self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect())
    }

    async fn insert_key(&self, key: KeyRecord) -> Result<(), StoreError> {
        let mut keys = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.contains_key(&key.kid) {
            return Err(StoreError::msg("duplicate key id"));
        }
        keys.insert(key.kid.clone(), key);
        Ok(())
    }

    async fn retire_key(
        &self,
        kid: &KeyId,
        not_after: UnixTime,
        drop_after: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut keys = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(match keys.get_mut(kid) {
            Some(k) => {
                k.not_after = Some(not_after);
                k.drop_after = Some(drop_after);
                true
            }
            None => false,
        })
    }

    async fn delete_key(&self, kid: &KeyId) -> Result<bool, StoreError> {
        Ok(self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(kid)
            .is_some())
    }
}
