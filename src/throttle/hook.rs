//! The `Throttle` hook: what the core puts to the host's throttle (an
//! [`Attempt`] on an [`Account`] from a [`Source`]) and how it settles it,
//! and the core's helpers to do so exactly once per attempt.

use std::fmt;

use async_trait::async_trait;

use crate::client::ClientId;
use crate::http::Source;
use crate::user::UserId;

/// The throttle's answer to "may this attempt be checked?".
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the credentials; the attempt is counted (reserved) already.
    Allow,
    /// Refuse without checking them. The client gets the same answer as for
    /// wrong credentials (`invalid_client` 401 or `invalid_grant` 400), so a
    /// correct guess made while throttled teaches an attacker nothing.
    Refuse,
}

/// The account an attempt guesses the credentials of. Its `Debug` shows a
/// client id but not a username: people sometimes type their password into
/// the username field, and a host may log attempts (RB-03).
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account<'a> {
    /// A client, by the id presented with a secret (whether or not a client
    /// has that id).
    Client(&'a ClientId),
    /// A resource owner of the password grant, by the username presented
    /// (whether or not such a user exists), whichever client sent it.
    User(&'a str),
    /// A signed-in user typing user codes at the device verification page
    /// (RFC 8628 §5.1), by their user id: each code that finds no pending
    /// device authorization is a guess counted against them (DV-03).
    DeviceVerifier(&'a UserId),
}

impl fmt::Debug for Account<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client(id) => f.debug_tuple("Client").field(id).finish(),
            Self::User(_) => f.write_str("User([redacted])"),
            Self::DeviceVerifier(user) => f.debug_tuple("DeviceVerifier").field(user).finish(),
        }
    }
}

/// One attempt at guessing credentials: the account it guesses, if the
/// request names one that may be counted against, and who sent it, if the
/// host said ([`Request::with_source`](crate::http::Request::with_source)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attempt<'a> {
    account: Option<Account<'a>>,
    source: Option<Source<'a>>,
}

impl<'a> Attempt<'a> {
    /// An attempt on `account` from `source` (e.g. for a host's own login
    /// form put to the same limiter).
    pub const fn new(account: Option<Account<'a>>, source: Option<Source<'a>>) -> Self {
        Self { account, source }
    }

    /// The account guessed; `None` when nothing proves the request is about
    /// one (a client assertion before its signature verified, an id that
    /// does not parse, malformed credentials).
    pub const fn account(&self) -> Option<Account<'a>> {
        self.account
    }

    /// Who sent it, if known.
    pub const fn source(&self) -> Option<Source<'a>> {
        self.source
    }
}

/// How an allowed attempt ended.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The credentials were right: the holder proved them from this source.
    Succeeded,
    /// Wrong credentials (or a refusal for which the credentials did not
    /// matter: disabled client, wrong method, replayed assertion).
    Failed,
    /// Nothing was judged: a store, the password verifier or the replay
    /// cache failed (`server_error`). An outage counts against no one.
    Unjudged,
}

/// Where the host throttles guessing of client secrets, client assertions
/// and resource-owner passwords. Set it with `ServerBuilder::throttle`;
/// [`MemoryThrottle`](super::MemoryThrottle) is the ready one.
///
/// **The protocol: a check is the count.** Before the core checks anything
/// guessable it calls [`Throttle::attempt`]. An implementation decides and
/// counts in one atomic step: [`Verdict::Allow`] *reserves* the attempt (it
/// already counts as a failure), so a thousand concurrent guesses cannot all
/// pass a check that none of them has counted yet. Every `Allow` is followed
/// by exactly one [`Throttle::settle`] with the [`Outcome`]: `Succeeded` and
/// `Unjudged` release the reservation, `Failed` keeps it. (If the request
/// is dropped in between, e.g. the connection closed, the reservation stays,
/// as a failure would.) A `Refuse` is not settled.
///
/// What the core calls, and when:
///
/// - **A client secret** (`client_secret_basic`, `client_secret_post`), at
///   the token, revocation and introspection endpoints: `attempt` with
///   [`Account::Client`] of the presented id (`None` if the id does not
///   parse) and the request's source, *before* the client store is asked and
///   whether or not the client exists, so a refusal looks the same for known
///   and unknown ids. Refused: `invalid_client` (401), as a wrong secret.
/// - **A client assertion** (`private_key_jwt`, `client_secret_jwt`):
///   `attempt` with no account, only the source, before the client is looked
///   up. Anyone can write a victim's id into `iss`; until the signature
///   verifies, nothing proves the attempt is about that client, so a forged
///   assertion counts against its source only, never against the client.
/// - **The password grant**, once the client is authenticated and the request
///   well formed: `attempt` with [`Account::User`] and the source, before the
///   `PasswordVerifier`. Refused: `invalid_grant` (400), as a wrong password.
///   A failure also reaches `PasswordVerifier::failed_attempt`. A verifier
///   that fails (`Err`: its directory is down) has judged nothing: the client
///   gets `server_error` (500) and the attempt is settled `Unjudged`.
/// - **A user code** at the device verification page
///   (`AuthorizationServer::device_user_code`, RFC 8628 §5.1): `attempt`
///   with [`Account::DeviceVerifier`] (the signed-in user) and the source,
///   before the code is looked up. Refused: the same answer as a code that
///   finds nothing. A code that finds no pending authorization settles
///   `Failed`, one that does `Succeeded`.
/// - **Failed client authentication that guessed nothing**: malformed
///   credentials (two methods at once, an undecodable `Basic` header, a
///   `client_id` disagreeing with the header, an assertion without its type)
///   and a public client's id-only request that fails. Such a request is
///   never refused (nothing would be checked, and its answer stays the
///   malformed-request one), but it is counted against its source: `attempt`
///   with no account, then `settle(Failed)` if allowed. A public client
///   presenting only its `client_id` is never put to the throttle when it
///   succeeds, so nobody can lock a public client out by failing on its
///   behalf.
///
/// Why refusals are not `temporarily_unavailable` (503) or HTTP 429: RFC 6749
/// §5.2 defines neither for the token endpoint, 503 claims the whole server
/// is unavailable, and a distinct answer would tell an attacker when to
/// resume. A legitimate client that is refused retries later, as after any
/// `invalid_client` or `invalid_grant`.
///
/// **Writing one** (e.g. over a shared store, so that every instance counts
/// together): keep three counters per window, per (account, source), per
/// account and per source, and a record of the sources that recently
/// `Succeeded` for an account ("known" sources). In `attempt`, in one atomic
/// step (a database transaction, a Redis script, one locked map): refuse if
/// the (account, source) count is at its limit; unless the source is known
/// for the account, refuse if the account's or the source's count is; else
/// increment all three and allow. In `settle`, decrement them again for
/// `Succeeded` and `Unjudged`, and remember the source as known for the
/// account on `Succeeded`. A right secret from a source an attacker is not
/// using is then served (RB-04: no targeted lockout), while guessing stays
/// bounded per account and per source. Never reset a count on success: a
/// source that succeeds for its own account would otherwise wipe its
/// guesses against others. The keys (ids, usernames, host keys) are chosen
/// by the attacker: bound the memory (hash long keys, evict the least
/// recently used, never clear everything at once, which resets every count)
/// and prefer windows to permanent lock-out. [`MemoryThrottle`](super::MemoryThrottle) does exactly
/// this in one process.
#[async_trait]
pub trait Throttle: Send + Sync + 'static {
    /// May `attempt` be checked? `Allow` counts it at once (see above).
    async fn attempt(&self, attempt: &Attempt<'_>) -> Verdict;

    /// An allowed attempt was judged: release its reservation for
    /// `Succeeded` and `Unjudged`, keep it for `Failed`.
    async fn settle(&self, attempt: &Attempt<'_>, outcome: Outcome);
}

/// Reserves `attempt` with the host's throttle, if any: whether it may be
/// checked. A refusal is logged with static text only (RB-03).
pub(crate) async fn reserve(throttle: Option<&dyn Throttle>, attempt: &Attempt<'_>) -> bool {
    let Some(throttle) = throttle else {
        return true;
    };
    match throttle.attempt(attempt).await {
        Verdict::Allow => true,
        Verdict::Refuse => {
            tracing::debug!("attempt refused by the throttle");
            false
        }
    }
}

/// Settles an attempt [`reserve`] allowed.
pub(crate) async fn settle(
    throttle: Option<&dyn Throttle>,
    attempt: &Attempt<'_>,
    outcome: Outcome,
) {
    if let Some(throttle) = throttle {
        throttle.settle(attempt, outcome).await;
    }
}

/// Counts a failure that checked nothing (malformed credentials): reserved
/// and settled `Failed` at once; the verdict changes no answer.
pub(crate) async fn count_failure(throttle: Option<&dyn Throttle>, attempt: &Attempt<'_>) {
    if let Some(throttle) = throttle {
        if throttle.attempt(attempt).await == Verdict::Allow {
            throttle.settle(attempt, Outcome::Failed).await;
        }
    }
}

/// What one authentication reserved, so that it is settled exactly once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Reserved {
    /// Nothing was put to the throttle (yet).
    #[default]
    Nothing,
    /// The throttle refused: nothing to settle.
    Refused,
    /// Allowed; `with_account` says whether the attempt named the presented
    /// account (a secret) or only the source (an assertion, an unparsable id).
    Allowed {
        /// The attempt named the account.
        with_account: bool,
    },
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn a_username_never_shows_in_debug_output() {
        // covers: RB-03
        // A password typed into the username field must not reach a log
        // line that formats an attempt.
        let attempt = Attempt::new(Some(Account::User("hunter2-typed-here")), None);
        let shown = format!("{attempt:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("User([redacted])"), "{shown}");
        let id = ClientId::parse("svc").unwrap();
        assert!(format!("{:?}", Account::Client(&id)).contains("svc"));
    }
}
