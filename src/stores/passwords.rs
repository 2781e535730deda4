//! `PasswordVerifier`: resource-owner passwords for the password grant,
//! checked against the host's user database.

use async_trait::async_trait;

use crate::client::ClientId;
use crate::error::StoreError;
use crate::secret::Secret;
use crate::user::UserId;

/// Verifies resource-owner passwords for the password grant. The host
/// implements it against its user database.
#[async_trait]
pub trait PasswordVerifier: Send + Sync + 'static {
    /// The user these credentials belong to, or `Ok(None)` if they are wrong.
    /// Should take the same time for an unknown user as for a wrong password.
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Called after every failed attempt (including one the server's
    /// `Throttle` refused unchecked), keyed by client and username, so the
    /// host can count (RFC 6749 §4.3.2, §10.10). Does nothing by default.
    /// For throttling, prefer a [`Throttle`](crate::Throttle) on the server
    /// builder: it also sees the request's source, counts when it checks, and
    /// can refuse attempts before they are checked (RB-04).
    async fn failed_attempt(&self, client: &ClientId, username: &str) {
        let _ = (client, username);
    }
}
