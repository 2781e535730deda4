//! `Authentication`: the host's login result, what the authorization
//! endpoint is told about the user who is signed in (OpenID Connect Core 1.0
//! §2, the facts an ID Token states: `auth_time`, `acr`, `amr`, `sid`).
//!
//! The host owns the login: it checks passwords, second factors and its own
//! session, and hands the core one [`Authentication`] per request. The core
//! keeps the facts with the grant ([`OpenIdGrant`](crate::oidc::OpenIdGrant))
//! and enforces `prompt` and `max_age` against `auth_time` (OI-06, OI-07).

use std::fmt;
use std::str::FromStr;

use crate::clock::UnixTime;
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::user::UserId;

/// Longest accepted session id, in bytes.
pub const MAX_SESSION_ID_LEN: usize = 255;

/// The host's login session id, sent to clients as the `sid` claim (OpenID
/// Connect Front- and Back-Channel Logout). It names a session and grants
/// nothing, so `Debug` shows it. Non-empty, at most
/// [`MAX_SESSION_ID_LEN`] bytes, printable ASCII without spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Parses a session id; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("session id", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > MAX_SESSION_ID_LEN {
            return err("is longer than 255 bytes");
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return err("is not printable ASCII without spaces");
        }
        Ok(Self(s.to_owned()))
    }
}

try_from_str!(SessionId);
serde_as_str!(SessionId);

/// Longest accepted login id, in bytes.
pub const MAX_LOGIN_ID_LEN: usize = 255;

/// The host's id of one login (one time the user authenticated), distinct
/// from the [`SessionId`] when a host keeps its session across re-logins.
/// The core only compares it: `prompt=login` and `max_age=0` accept at
/// [`resume`](crate::AuthorizationServer::resume) a login that is not the
/// session the request met, and a new login id tells a new login apart
/// from that session even within the same second of `auth_time`. A random
/// value or a per-session counter serves. The core keeps only its SHA-256
/// with a suspended request, and `Debug` redacts it, in case a host uses a
/// value of its own session that must not be seen. Non-empty, at most
/// [`MAX_LOGIN_ID_LEN`] bytes, printable ASCII without spaces.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LoginId(String);

impl LoginId {
    /// Parses a login id; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The id, for the host to keep with its session.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginId(<redacted>)")
    }
}

impl FromStr for LoginId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("login id", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > MAX_LOGIN_ID_LEN {
            return err("is longer than 255 bytes");
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return err("is not printable ASCII without spaces");
        }
        Ok(Self(s.to_owned()))
    }
}

try_from_str!(LoginId);

/// Who is signed in, and how: what the host passes to
/// [`AuthorizationServer::authorize`](crate::AuthorizationServer::authorize)
/// and [`resume`](crate::AuthorizationServer::resume).
///
/// `auth_time` is the time the user **actually authenticated** (entered a
/// password, used a passkey…), kept in the host's session since then: not
/// the time of the current request. The core compares it with the request
/// for `prompt=login` and `max_age` (OI-06, OI-07), and it reaches the ID
/// Token as `auth_time`. A host that passes "now" on every request makes
/// every session look fresh, and `prompt=login` and `max_age` lose their
/// meaning.
///
/// `prompt=login` and `max_age=0` accept at
/// [`resume`](crate::AuthorizationServer::resume) only a login that is not
/// the session the request met, told apart by user, `auth_time` (whole
/// seconds), session id and login id. A host that gives each login a new
/// session id needs nothing more. A host that keeps its session id when
/// the same user signs in again (so that a later logout still finds the
/// earlier tokens by `sid`) must set a fresh [`LoginId`] on every login
/// ([`with_login_id`](Self::with_login_id)): without one, a new login in
/// the same second as the one before is taken for that session, and the
/// user is sent back to the login step.
///
/// A plain OAuth host needs only the two required facts:
///
/// ```
/// # use portcullis::{UnixTime, UserId, oidc::Authentication};
/// let alice = UserId::parse("alice").unwrap();
/// // When Alice signed in (kept in the host's session).
/// let signed_in_at = UnixTime::from_secs(1_700_000_000);
/// let auth = Authentication::new(alice, signed_in_at)
///     .with_acr("urn:example:loa:2")
///     .with_amr(["pwd", "otp"]);
/// assert_eq!(auth.amr(), ["pwd", "otp"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    user: UserId,
    auth_time: UnixTime,
    acr: Option<String>,
    amr: Vec<String>,
    session_id: Option<SessionId>,
    login_id: Option<LoginId>,
}

impl Authentication {
    /// `user` authenticated at `auth_time` (the real time of the login).
    pub fn new(user: UserId, auth_time: UnixTime) -> Self {
        Self {
            user,
            auth_time,
            acr: None,
            amr: Vec::new(),
            session_id: None,
            login_id: None,
        }
    }

    /// The Authentication Context Class Reference the login satisfied
    /// (`acr`), e.g. `urn:mace:incommon:iap:silver` or a host's own level.
    #[must_use]
    pub fn with_acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// The Authentication Method References used (`amr`, RFC 8176 names
    /// such as `pwd`, `otp`, `hwk`, `mfa`).
    #[must_use]
    pub fn with_amr<S: Into<String>>(mut self, amr: impl IntoIterator<Item = S>) -> Self {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// The host's session id (`sid`).
    #[must_use]
    pub fn with_session_id(mut self, sid: SessionId) -> Self {
        self.session_id = Some(sid);
        self
    }

    /// The id of this login, fresh each time the user authenticates
    /// (see [`LoginId`]): needed by a host that keeps its session id
    /// across re-logins.
    #[must_use]
    pub fn with_login_id(mut self, id: LoginId) -> Self {
        self.login_id = Some(id);
        self
    }

    /// The user who is signed in.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// When the user authenticated.
    pub fn auth_time(&self) -> UnixTime {
        self.auth_time
    }

    /// The `acr` the login satisfied, if the host gave one.
    pub fn acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }

    /// The `amr` values, empty if the host gave none.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }

    /// The host's session id, if it gave one.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.session_id.as_ref()
    }

    /// The host's id of this login, if it gave one.
    pub fn login_id(&self) -> Option<&LoginId> {
        self.login_id.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_bounded_printable_ascii() {
        assert!(SessionId::parse("08a5019c-17e1-4977-8f42-65a12843ea02").is_some());
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse("a b").is_none());
        assert!(SessionId::parse("a\nb").is_none());
        assert!(SessionId::parse("é").is_none());
        assert!(SessionId::parse(&"s".repeat(MAX_SESSION_ID_LEN)).is_some());
        assert!(SessionId::parse(&"s".repeat(MAX_SESSION_ID_LEN + 1)).is_none());
        // Not a secret: clients see it as `sid`, logs may show it.
        let sid = SessionId::parse("s1").unwrap();
        assert!(format!("{sid:?}").contains("s1"));
    }

    #[test]
    fn the_builder_keeps_every_fact() {
        let user = UserId::parse("alice").unwrap();
        let a = Authentication::new(user.clone(), UnixTime::from_secs(5))
            .with_acr("urn:x")
            .with_amr(["pwd"])
            .with_session_id(SessionId::parse("s").unwrap());
        assert_eq!(a.user(), &user);
        assert_eq!(a.auth_time(), UnixTime::from_secs(5));
        assert_eq!(a.acr(), Some("urn:x"));
        assert_eq!(a.amr(), ["pwd"]);
        assert_eq!(a.session_id().map(SessionId::as_str), Some("s"));
        let plain = Authentication::new(user, UnixTime::from_secs(5));
        assert_eq!((plain.acr(), plain.amr().len()), (None, 0));
        assert!(plain.session_id().is_none());
        assert!(plain.login_id().is_none());
    }

    // covers: RB-03
    // issue 16: a login id may be a value of the host's session; logs
    // never show it.
    #[test]
    fn login_ids_are_bounded_and_redacted_in_debug() {
        assert!(LoginId::parse("").is_none());
        assert!(LoginId::parse("a b").is_none());
        assert!(LoginId::parse(&"l".repeat(MAX_LOGIN_ID_LEN + 1)).is_none());
        let id = LoginId::parse("login-secret-7").unwrap();
        assert_eq!(id.as_str(), "login-secret-7");
        let auth = Authentication::new(UserId::parse("alice").unwrap(), UnixTime::from_secs(5))
            .with_login_id(id.clone());
        assert_eq!(auth.login_id(), Some(&id));
        let shown = format!("{auth:?}");
        assert!(!shown.contains("login-secret-7"), "{shown}");
    }
}
