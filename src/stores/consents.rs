//! `ConsentStore`: consent remembered per user and client (AZ-08);
//! `ConsentAdmin`: listing and withdrawing it.

use async_trait::async_trait;

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::scope::ScopeSet;
use crate::user::UserId;

/// What a user granted a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The resource owner.
    pub user: UserId,
    /// The client.
    pub client_id: ClientId,
    /// Every scope granted so far, with the scope values consented to for
    /// the standard claims of OpenID `claims` requests (`email` for
    /// `email_verified`; issue 16).
    pub scope: ScopeSet,
    /// When consent was last given.
    pub granted_at: UnixTime,
}

/// Remembered consent, as the authorization endpoint uses it. Optional:
/// without one, every authorization asks the user again.
#[async_trait]
pub trait ConsentStore: Send + Sync + 'static {
    /// The consent of `user` for `client`, or `Ok(None)`.
    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError>;

    /// Records a grant: the stored scope becomes the union of the old and
    /// the new scopes, and `granted_at` the new time.
    async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError>;
}

/// Listing and withdrawing consent: a "connected apps" page, the
/// `portcullis consent` command. The server never calls it.
#[async_trait]
pub trait ConsentAdmin: Send + Sync + 'static {
    /// Every consent `user` has given, ordered by client id.
    async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError>;

    /// Withdraws the consent of `user` for `client`; `Ok(false)` if none.
    async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError>;
}
