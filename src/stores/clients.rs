//! `ClientStore`: where registered clients live; `ClientAdmin`: how they
//! get there.

use std::sync::Arc;

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::error::StoreError;

/// Registered clients, as the server reads them: one lookup by id.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, or `Ok(None)`.
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError>;
}

/// Registering and administering clients: what the `portcullis` command or
/// the host's admin code uses. The server never calls it; a store whose
/// clients come from configuration does not implement it.
#[async_trait]
pub trait ClientAdmin: Send + Sync + 'static {
    /// Registers a new client. A duplicate id is an error.
    async fn insert_client(&self, client: Client) -> Result<(), StoreError>;

    /// Replaces a registered client; `Ok(false)` if there was none.
    async fn update_client(&self, client: Client) -> Result<bool, StoreError>;

    /// Removes a client; `Ok(false)` if there was none.
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;

    /// Every registered client, ordered by id.
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError>;
}
