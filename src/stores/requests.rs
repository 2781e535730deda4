//! `AuthorizationRequestStore`: authorization requests suspended while the
//! host shows its login or consent page, and pushed authorization requests
//! (RFC 9126) waiting for the browser, each kept under the hash of a random
//! handle and taken back exactly once.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::tokens::TokenHash;

/// A suspended authorization request, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SuspendedRequest {
    /// Hash of the handle the host carries (the handle itself is never
    /// stored).
    pub hash: TokenHash,
    /// The validated request, serialised by the core. Opaque to the store:
    /// keep it as given. It names the client, redirect URI, scope, `state`,
    /// PKCE challenge and, once the user has logged in, the user (for a
    /// suspended logout: its parameters and the verified `id_token_hint`'s
    /// facts, never the token; for a pushed request: the client that pushed
    /// it and its parameters); it holds no secret.
    pub payload: String,
    /// When the handle stops working. The core refuses an expired request;
    /// the store may delete it any time after this.
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for SuspendedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload carries the client's `state`: not for logs.
        f.debug_struct("SuspendedRequest")
            .field("hash", &self.hash)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Suspended authorization requests (see
/// [`AuthorizationServer::resume`](crate::AuthorizationServer::resume)) and
/// pushed ones (see
/// [`AuthorizationServer::pushed_authorization_request`](crate::AuthorizationServer::pushed_authorization_request)):
/// one store for both, the core keeping their handles in separate hash
/// domains.
///
/// The contract is single use across every instance sharing the store: of
/// any number of concurrent `take_request` calls for one hash, at most one
/// gets the record, and it is gone afterwards.
///
/// Records nobody resumes stay until deleted, and any visitor can create
/// one by opening an authorization URL: a store of your own must delete
/// records past `expires_at` periodically (the shipped stores do it in
/// `TokenAdmin::purge_expired`, which `portcullis tokens purge` runs).
#[async_trait]
pub trait AuthorizationRequestStore: Send + Sync + 'static {
    /// Stores a suspended request. A duplicate hash is an error.
    async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError>;

    /// Atomically removes and returns the request with this hash, expired
    /// or not (the core checks expiry), or `Ok(None)`.
    async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError>;
}
