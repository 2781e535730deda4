//! Brute-force protection hooks (RFC 6749 §2.3.1, §4.3.2, §10.10): the
//! core reports every failed client authentication and every failed
//! password-grant attempt to a host-provided [`Throttle`], and asks it
//! before checking a client secret, an assertion or a password.
//!
//! The core cannot key a limit by IP address (it never sees one; it is
//! sans-IO), so per-address limits belong in the host's HTTP layer. Only the
//! core can key by client and by user, because only it parses credentials:
//! that is what this hook is for.

use async_trait::async_trait;

use crate::client::ClientId;

/// The host's answer to "may this attempt be checked?".
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the credentials as usual.
    Allow,
    /// Refuse without checking them. The client gets the same answer as for
    /// wrong credentials (`invalid_client` 401 or `invalid_grant` 400), so a
    /// correct guess made while throttled teaches an attacker nothing.
    Refuse,
}

/// Where the host throttles guessing of client secrets and resource-owner
/// passwords. Set it with `ServerBuilder::throttle`; every method has a
/// default that allows everything and records nothing.
///
/// What the core does, in order:
///
/// - **Client authentication** (token, revocation and introspection
///   endpoints, every method): when the request presents something that
///   could be guessed (a secret in a `Basic` header or in the body, or a JWT
///   assertion) under a syntactically valid client id,
///   [`Throttle::check_client`] runs first, *before* the client store is
///   asked and whether or not the client exists, so a refusal looks the same
///   for known and unknown ids. A refused attempt is answered `invalid_client`
///   (401), exactly as a wrong secret. A public client sending only its
///   `client_id` presents nothing to guess and is never pre-checked, so an
///   attacker cannot lock a public client out by failing on its behalf.
///   Every failure then reaches [`Throttle::client_authentication_failed`],
///   with the presented id if it parses (also when no client has it), and
///   every success [`Throttle::client_authenticated`].
/// - **Password grant**: once the client is authenticated and the request
///   is well formed, [`Throttle::check_password`] runs before the
///   `PasswordVerifier`; a refusal is answered `invalid_grant` (400), exactly
///   as a wrong password. A failure reaches [`Throttle::password_failed`]
///   (and the older `PasswordVerifier::failed_attempt`), a success
///   [`Throttle::password_accepted`]. A `PasswordVerifier` that fails
///   (returns `Err`: its directory is down or timed out) has judged nothing:
///   the client gets `server_error` (500) and neither failure hook runs, so
///   an outage counts against no one.
///
/// Why refusals are not `temporarily_unavailable` (503) or HTTP 429: RFC 6749
/// §5.2 defines neither for the token endpoint, 503 claims the whole server
/// is unavailable, and a distinct answer would tell an attacker when to
/// resume. A legitimate client that is refused retries later, as after any
/// `invalid_client` or `invalid_grant`.
///
/// The keys (`client_id`, `username`) come from the request, so an attacker
/// chooses them: a limiter must bound its memory (e.g. expire idle keys), and
/// should prefer delays or short windows to permanent lock-out, which would
/// let anyone lock any account out.
#[async_trait]
pub trait Throttle: Send + Sync + 'static {
    /// Before a client secret or assertion presented for `client_id` is
    /// checked (and before the client is looked up).
    async fn check_client(&self, client_id: &ClientId) -> Verdict {
        let _ = client_id;
        Verdict::Allow
    }

    /// After a client authentication failed: unknown client, wrong secret,
    /// wrong method, disabled client, bad or replayed assertion, malformed
    /// credentials, or a refusal by [`Throttle::check_client`]. `client_id`
    /// is the presented id when one was sent and is syntactically valid.
    async fn client_authentication_failed(&self, client_id: Option<&ClientId>) {
        let _ = client_id;
    }

    /// After a client authenticated (e.g. to reset a failure counter).
    async fn client_authenticated(&self, client_id: &ClientId) {
        let _ = client_id;
    }

    /// Before the password of `username` is checked for a password-grant
    /// request of the (authenticated) client `client_id`.
    async fn check_password(&self, client_id: &ClientId, username: &str) -> Verdict {
        let _ = (client_id, username);
        Verdict::Allow
    }

    /// After a password-grant attempt failed: wrong password, unknown user,
    /// or a refusal by [`Throttle::check_password`]. Not after the
    /// `PasswordVerifier` itself failed (that is a `server_error`).
    async fn password_failed(&self, client_id: &ClientId, username: &str) {
        let _ = (client_id, username);
    }

    /// After a password-grant attempt succeeded.
    async fn password_accepted(&self, client_id: &ClientId, username: &str) {
        let _ = (client_id, username);
    }
}

/// Asks the host's throttle, if any, whether an attempt for `client_id`
/// may be checked. A refusal is logged with static text only (RB-03).
pub(crate) async fn throttle_allows(throttle: Option<&dyn Throttle>, client_id: &ClientId) -> bool {
    let Some(throttle) = throttle else {
        return true;
    };
    match throttle.check_client(client_id).await {
        Verdict::Allow => true,
        Verdict::Refuse => {
            tracing::debug!("client authentication attempt refused by the throttle");
            false
        }
    }
}
