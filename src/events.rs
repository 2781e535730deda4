//! Audit events: typed records of what the server did, for the host's audit
//! log or metrics. Install an [`EventSink`] with `ServerBuilder::events`;
//! without one, no event is built at all.
//!
//! Events carry identifiers, scopes and causes only: never a token, code,
//! secret, assertion or password (RB-03). They borrow what they describe, so
//! building one allocates nothing; a sink that keeps an event copies what it
//! needs.

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::grant_type::GrantType;
use crate::keys::{Algorithm, KeyId};
use crate::scope::ScopeSet;
use crate::tokens::{AccessTokenFormat, GrantId};
use crate::user::UserId;

/// Receives the server's audit events. Called inline on the request path,
/// after the step it reports has taken effect: keep it quick (hand the event
/// to a channel or a counter), and never block on I/O.
pub trait EventSink: Send + Sync + 'static {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// What was replayed when a grant was revoked for replay.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// An authorization code redeemed a second time (AC-02).
    Code,
    /// A refresh token that had already been rotated out (RT-02).
    RefreshToken,
}

/// One audit event.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The token endpoint issued tokens (every grant but `refresh_token`,
    /// which reports [`Event::RefreshRotated`]).
    TokenIssued {
        /// The client the tokens were issued to.
        client_id: &'a ClientId,
        /// The resource owner, if any.
        user: Option<&'a UserId>,
        /// The grant type used.
        grant_type: &'a GrantType,
        /// The grant the tokens belong to.
        grant: GrantId,
        /// The scope of the access token.
        scope: &'a ScopeSet,
        /// Opaque or JWT.
        format: AccessTokenFormat,
        /// A refresh token was issued too.
        refresh_token: bool,
    },
    /// A refresh token was rotated: the old one is used up, new tokens were
    /// issued in the same grant.
    RefreshRotated {
        /// The client.
        client_id: &'a ClientId,
        /// The resource owner, if any.
        user: Option<&'a UserId>,
        /// The grant.
        grant: GrantId,
        /// The scope of the new access token.
        scope: &'a ScopeSet,
    },
    /// A used code or rotated-out refresh token was presented again, and
    /// the grant it belongs to was revoked (AC-02, RT-02).
    ReplayDetected {
        /// The client that presented it.
        client_id: &'a ClientId,
        /// The revoked grant.
        grant: GrantId,
        /// What was replayed.
        replayed: Replayed,
    },
    /// Client authentication failed at the token, revocation or
    /// introspection endpoint.
    ClientAuthenticationFailed {
        /// The client id presented, if one was and it parses.
        client_id: Option<&'a ClientId>,
    },
    /// A user granted consent to a client.
    ConsentGranted {
        /// The user.
        user: &'a UserId,
        /// The client.
        client_id: &'a ClientId,
        /// The scope consented to: the scope asked for and the scope
        /// values of the standard claims an OpenID `claims` request named
        /// (`email` for `email_verified`), as remembered (issue 16).
        scope: &'a ScopeSet,
    },
    /// A user's consent to a client was revoked.
    ConsentRevoked {
        /// The user.
        user: &'a UserId,
        /// The client.
        client_id: &'a ClientId,
    },
    /// A signing key was added: generated, rotated or imported.
    KeyRotated {
        /// The new key.
        kid: &'a KeyId,
        /// Its algorithm.
        alg: Algorithm,
        /// When it starts signing.
        signs_from: UnixTime,
    },
    /// A client was registered.
    ClientRegistered {
        /// The new client.
        client_id: &'a ClientId,
    },
    /// A client's registration was changed.
    ClientChanged {
        /// The client.
        client_id: &'a ClientId,
    },
    /// A login session with a session id ended (RP-Initiated Logout, or
    /// the host's own through `backchannel_logout`) and its codes and
    /// tokens were revoked as `TokenStore::revoke_session` says (LO-02).
    SessionEnded {
        /// The session's user.
        user: &'a UserId,
        /// How many codes and tokens were revoked.
        tokens_revoked: u64,
    },
    /// A rotated-out refresh token was presented again within
    /// `Config::refresh_retry_window` and taken as a retry: the pair its
    /// rotation issued was revoked and a fresh one issued in the same grant
    /// (reported beside [`Event::RefreshRotated`]). Frequent retries of one
    /// client may be a thief racing it.
    RefreshRetried {
        /// The client.
        client_id: &'a ClientId,
        /// The grant.
        grant: GrantId,
    },
}

impl Event<'_> {
    /// A short, stable name for the event (`"token_issued"`, …), e.g. as a
    /// metric label.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::TokenIssued { .. } => "token_issued",
            Self::RefreshRotated { .. } => "refresh_rotated",
            Self::ReplayDetected { .. } => "replay_detected",
            Self::ClientAuthenticationFailed { .. } => "client_authentication_failed",
            Self::ConsentGranted { .. } => "consent_granted",
            Self::ConsentRevoked { .. } => "consent_revoked",
            Self::KeyRotated { .. } => "key_rotated",
            Self::ClientRegistered { .. } => "client_registered",
            Self::ClientChanged { .. } => "client_changed",
            Self::SessionEnded { .. } => "session_ended",
            Self::RefreshRetried { .. } => "refresh_retried",
        }
    }
}
