//! `ClientStore`: where registered clients live.

use std::sync::Arc;

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::error::StoreError;

/// Registered clients. The core only ever calls [`ClientStore::find`]; the
/// other methods serve registration and administration and default to an
/// error for read-only stores.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, or `Ok(None)`.
    async fn find(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError>;

    /// Registers a new client. A duplicate id is an error.
    async fn insert(&self, client: Client) -> Result<(), StoreError> {
        let _ = client;
        Err(StoreError::msg("this client store is read-only"))
    }

    /// Replaces a registered client; `Ok(false)` if there was none.
    async fn update(&self, client: Client) -> Result<bool, StoreError> {
        let _ = client;
        Err(StoreError::msg("this client store is read-only"))
    }

    /// Removes a client; `Ok(false)` if there was none.
    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError> {
        let _ = id;
        Err(StoreError::msg("this client store is read-only"))
    }

    /// Every registered client, ordered by id.
    async fn list(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        Err(StoreError::msg("this client store cannot list"))
    }
}
