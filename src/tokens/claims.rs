//! `ClaimsHook`: the host's own claims in JWT access tokens.

use crate::client::Client;
use crate::scope::ScopeSet;
use crate::user::UserId;

/// Adds claims of the host's own to JWT access tokens. Reserved claims
/// (`iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, `scope`, `nbf`,
/// `auth_time`) are dropped: the host cannot override them.
pub trait ClaimsHook: Send + Sync + 'static {
    /// Extra claims for a token issued to `client` for `user` with `scope`.
    fn claims(
        &self,
        client: &Client,
        user: Option<&UserId>,
        scope: &ScopeSet,
    ) -> serde_json::Map<String, serde_json::Value>;
}
