//! `ClientStore`: where registered clients live; `ClientAdmin`: how they
//! get there.

use std::sync::Arc;

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::error::StoreError;
use crate::origin::Origin;

/// Registered clients, as the server reads them: one lookup by id.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, or `Ok(None)`.
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError>;

    /// Whether some enabled client lists `origin` in its
    /// `allowed_cors_origins` (CORS, CO-01): what a CORS preflight to the
    /// token endpoints is answered by, before any client is known (see
    /// `docs/cors.md`). Called on every preflight and on every
    /// cross-origin request refused before a client was authenticated, so
    /// a store should answer it from an index (the SQL stores keep one
    /// row per origin and client). The default answers `false`: a store
    /// that does not implement it lets no browser origin through a
    /// preflight, which fails closed.
    async fn cors_origin_registered(&self, origin: &Origin) -> Result<bool, StoreError> {
        let _ = origin;
        Ok(false)
    }
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
