//! `ReplayCache`: one-time values the server must see at most once, until
//! they expire: today the `jti` of an RFC 7523 client assertion (CA-08),
//! and the `jti` of a DPoP proof (DP-01).

use async_trait::async_trait;

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::StoreError;

/// Whose one-time ids a [`ReplayCache`] entry belongs to: an id is unique
/// only within its scope (two clients may both use `jti` "1").
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplayScope {
    /// The `jti` of a client assertion (`private_key_jwt`,
    /// `client_secret_jwt`; RFC 7523 §3), unique per client.
    ClientAssertion(ClientId),
    /// The `jti` of a DPoP proof (RFC 9449 §11.1), unique per key (its
    /// RFC 7638 thumbprint).
    DpopProof(JwkThumbprint),
}

impl ReplayScope {
    /// The kind of one-time value, as a short stable name
    /// (`"client_assertion"`), for a store that keys entries by kind.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::ClientAssertion(_) => "client_assertion",
            Self::DpopProof(_) => "dpop_proof",
        }
    }

    /// Who issued the value within its kind (for client assertions, the
    /// client id; for DPoP proofs, the key's thumbprint).
    pub fn issuer(&self) -> &str {
        match self {
            Self::ClientAssertion(client) => client.as_str(),
            Self::DpopProof(jkt) => jkt.as_str(),
        }
    }
}

/// Remembers one-time ids until they expire, so a replay is refused.
///
/// Needed only when a configured feature uses one-time values:
/// [`Config::jwt_client_authentication`](crate::Config::jwt_client_authentication)
/// and [`DpopConfig::enabled`](crate::DpopConfig::enabled) (both on by
/// default); the builder says so if it is missing.
#[async_trait]
pub trait ReplayCache: Send + Sync + 'static {
    /// Records the first use of `id` in `scope`, kept at least until
    /// `expires_at`; `Ok(false)` if it was already used (a replay).
    /// Atomic: of concurrent callers with one `(scope, id)`, exactly one
    /// gets `true`.
    async fn first_use(
        &self,
        scope: &ReplayScope,
        id: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Forgets entries expired at `now` (`expires_at <= now`); returns how
    /// many. Run it now and then (the `portcullis tokens purge` command
    /// does), or the cache only grows.
    async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError>;
}
