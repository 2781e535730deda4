//! `OpenIdGrant`: what the stores keep with the code and the tokens of a
//! grant whose scope holds `openid`, so that the token endpoint can state
//! the login's facts in the ID Token (OI-02) and a refresh can repeat them
//! (Core 1.0 §12.2, OI-10: the original `auth_time`).
//!
//! The code carries the `nonce`; the access and refresh tokens do not (a
//! refreshed ID Token has none, Core §12.2). One shared allocation: cloning
//! an `OpenIdGrant` (code → tokens → rotated tokens) copies a pointer.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::conversions::ParseError;
use crate::oidc::{Authentication, ClaimsRequest, Nonce, SessionId};
use crate::scope::ScopeSet;

/// The facts of an OpenID Connect grant: when and how the user
/// authenticated, the `nonce` (on the code only), the `claims` request and
/// the consent given for it, and whether `max_age` was sent (then the ID Token must carry `auth_time`,
/// Core §3.1.2.1). Stored as [`CodeRecord::openid`](crate::CodeRecord::openid),
/// [`AccessRecord::openid`](crate::AccessRecord::openid) and
/// [`RefreshRecord::openid`](crate::RefreshRecord::openid); SQL stores keep
/// [`to_json`](Self::to_json) in a nullable text column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenIdGrant(Arc<Facts>);

#[derive(Clone, Debug, PartialEq)]
struct Facts {
    auth_time: UnixTime,
    acr: Option<String>,
    amr: Vec<String>,
    sid: Option<SessionId>,
    nonce: Option<Nonce>,
    claims: Option<ClaimsRequest>,
    claims_consent: ScopeSet,
    max_age_sent: bool,
}

// `ClaimsRequest` holds JSON values, which compare as an equivalence.
impl Eq for Facts {}

impl OpenIdGrant {
    /// A grant of a user who authenticated at `auth_time`, with no other
    /// fact yet.
    pub fn new(auth_time: UnixTime) -> Self {
        Self(Arc::new(Facts {
            auth_time,
            acr: None,
            amr: Vec::new(),
            sid: None,
            nonce: None,
            claims: None,
            claims_consent: ScopeSet::empty(),
            max_age_sent: false,
        }))
    }

    /// The facts of the host's [`Authentication`]: `auth_time`, `acr`,
    /// `amr` and `sid`.
    pub fn from_authentication(auth: &Authentication) -> Self {
        Self(Arc::new(Facts {
            auth_time: auth.auth_time(),
            acr: auth.acr().map(str::to_owned),
            amr: auth.amr().to_vec(),
            sid: auth.session_id().cloned(),
            nonce: None,
            claims: None,
            claims_consent: ScopeSet::empty(),
            max_age_sent: false,
        }))
    }

    fn edit(mut self, f: impl FnOnce(&mut Facts)) -> Self {
        f(Arc::make_mut(&mut self.0));
        self
    }

    /// With this `acr`.
    #[must_use]
    pub fn with_acr(self, acr: impl Into<String>) -> Self {
        let acr = acr.into();
        self.edit(|f| f.acr = Some(acr))
    }

    /// With these `amr` values.
    #[must_use]
    pub fn with_amr<S: Into<String>>(self, amr: impl IntoIterator<Item = S>) -> Self {
        let amr = amr.into_iter().map(Into::into).collect();
        self.edit(|f| f.amr = amr)
    }

    /// With this session id (`sid`).
    #[must_use]
    pub fn with_session_id(self, sid: SessionId) -> Self {
        self.edit(|f| f.sid = Some(sid))
    }

    /// With the authorization request's `nonce`, or none.
    #[must_use]
    pub fn with_nonce(self, nonce: Option<Nonce>) -> Self {
        self.edit(|f| f.nonce = nonce)
    }

    /// With the authorization request's `claims` parameter, or none.
    #[must_use]
    pub fn with_claims(self, claims: Option<ClaimsRequest>) -> Self {
        self.edit(|f| f.claims = claims)
    }

    /// With the scope values the user consented to for the `claims`
    /// request (see [`claims_consent`](Self::claims_consent)).
    #[must_use]
    pub fn with_claims_consent(self, consented: ScopeSet) -> Self {
        self.edit(|f| f.claims_consent = consented)
    }

    /// Whether the authorization request carried `max_age`.
    #[must_use]
    pub fn with_max_age_sent(self, sent: bool) -> Self {
        self.edit(|f| f.max_age_sent = sent)
    }

    /// The same facts without the `nonce`: what the access and refresh
    /// tokens keep. Shares the allocation when there was no nonce.
    #[must_use]
    pub fn without_nonce(&self) -> Self {
        if self.0.nonce.is_none() {
            return self.clone();
        }
        self.clone().edit(|f| f.nonce = None)
    }

    /// When the user authenticated (`auth_time`), the original one after
    /// any number of refreshes.
    pub fn auth_time(&self) -> UnixTime {
        self.0.auth_time
    }

    /// The `acr` the host's login gave, if any.
    pub fn acr(&self) -> Option<&str> {
        self.0.acr.as_deref()
    }

    /// The `amr` values the host's login gave (empty if none).
    pub fn amr(&self) -> &[String] {
        &self.0.amr
    }

    /// The host's session id (`sid`), if any.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.0.sid.as_ref()
    }

    /// The authorization request's `nonce` (on codes only).
    pub fn nonce(&self) -> Option<&Nonce> {
        self.0.nonce.as_ref()
    }

    /// The authorization request's `claims` parameter, if any.
    pub fn claims(&self) -> Option<&ClaimsRequest> {
        self.0.claims.as_ref()
    }

    /// The scope values (Core §5.4) the user consented to, at the
    /// authorization, for the standard claims the `claims` request names:
    /// `email` for a request naming `email_verified`. A standard claim the
    /// request names is released only when its scope value is here or in
    /// the token's scope; empty for a grant of an earlier release, whose
    /// `claims` request then releases only what its scope allows.
    ///
    /// It is the grant's, never narrowed by a refresh: a refresh that
    /// narrows the scope stops the claims the dropped scope values
    /// released, but a claim the request named and the user consented to
    /// stays released for the grant's life. (The operator's withdrawal of a
    /// scope from the client reaches it: only the values the client may
    /// still be granted count.)
    pub fn claims_consent(&self) -> &ScopeSet {
        &self.0.claims_consent
    }

    /// Whether the authorization request carried `max_age` (then the ID
    /// Token carries `auth_time`).
    pub fn max_age_sent(&self) -> bool {
        self.0.max_age_sent
    }

    /// The JSON form a store keeps (e.g. in a text column), read back by
    /// [`from_json`](Self::from_json).
    pub fn to_json(&self) -> String {
        let f = &*self.0;
        let stored = Stored {
            auth_time: f.auth_time.as_secs(),
            acr: f.acr.as_deref(),
            amr: &f.amr,
            sid: f.sid.as_ref().map(SessionId::as_str),
            nonce: f.nonce.as_ref().map(Nonce::as_str),
            claims: f.claims.clone(),
            claims_consent: (!f.claims_consent.is_empty()).then(|| f.claims_consent.to_string()),
            max_age_sent: f.max_age_sent,
        };
        // Strings, numbers and a `ClaimsRequest` always encode.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads the form [`to_json`](Self::to_json) wrote; every value is
    /// checked as at the edge.
    pub fn from_json(s: &str) -> Result<Self, ParseError> {
        let bad = |_| ParseError::new("OpenID grant", "is not its stored JSON form");
        let stored: StoredOwned = serde_json::from_str(s).map_err(bad)?;
        Ok(Self(Arc::new(Facts {
            auth_time: UnixTime::from_secs(stored.auth_time),
            acr: stored.acr,
            amr: stored.amr,
            sid: stored.sid.as_deref().map(str::parse).transpose()?,
            nonce: stored.nonce.as_deref().map(str::parse).transpose()?,
            claims: stored.claims,
            claims_consent: match stored.claims_consent.as_deref() {
                None => ScopeSet::empty(),
                Some(s) => s.parse()?,
            },
            max_age_sent: stored.max_age_sent,
        })))
    }
}

#[derive(Serialize)]
struct Stored<'a> {
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<ClaimsRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims_consent: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    max_age_sent: bool,
}

#[derive(Deserialize)]
struct StoredOwned {
    auth_time: u64,
    #[serde(default)]
    acr: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    claims: Option<ClaimsRequest>,
    #[serde(default)]
    claims_consent: Option<String>,
    #[serde(default)]
    max_age_sent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::UserId;

    fn full() -> OpenIdGrant {
        let auth = Authentication::new(UserId::parse("alice").unwrap(), UnixTime::from_secs(7))
            .with_acr("urn:loa:2")
            .with_amr(["pwd", "otp"])
            .with_session_id(SessionId::parse("sid-1").unwrap());
        OpenIdGrant::from_authentication(&auth)
            .with_nonce(Some("n-1".parse().unwrap()))
            .with_claims(Some(
                ClaimsRequest::parse(r#"{"userinfo":{"email":null}}"#).unwrap(),
            ))
            .with_claims_consent(ScopeSet::parse("email").unwrap())
            .with_max_age_sent(true)
    }

    #[test]
    fn round_trips_through_its_json_form() {
        for g in [OpenIdGrant::new(UnixTime::from_secs(1)), full()] {
            assert_eq!(OpenIdGrant::from_json(&g.to_json()).unwrap(), g);
        }
        let g = full();
        assert_eq!(g.auth_time(), UnixTime::from_secs(7));
        assert_eq!(g.acr(), Some("urn:loa:2"));
        assert_eq!(g.amr(), ["pwd", "otp"]);
        assert_eq!(g.session_id().unwrap().as_str(), "sid-1");
        assert_eq!(g.nonce().unwrap().as_str(), "n-1");
        assert!(g.max_age_sent());
        assert_eq!(g.claims().unwrap().userinfo()[0].name(), "email");
        assert_eq!(g.claims_consent().to_string(), "email");
        // A grant of an earlier release: no consent for its claims request.
        let old = OpenIdGrant::from_json(r#"{"auth_time":7,"claims":{"userinfo":{"email":null}}}"#)
            .unwrap();
        assert!(old.claims_consent().is_empty());
    }

    #[test]
    fn tokens_keep_everything_but_the_nonce() {
        let g = full();
        let t = g.without_nonce();
        assert!(t.nonce().is_none());
        assert_eq!(t.auth_time(), g.auth_time());
        assert_eq!(t.session_id(), g.session_id());
        assert_eq!(t.claims(), g.claims());
        assert!(g.nonce().is_some(), "the code's copy is unchanged");
    }

    #[test]
    fn corrupt_stored_values_are_errors() {
        for bad in [
            "",
            "{}",
            r#"{"auth_time":-1}"#,
            r#"{"auth_time":1,"sid":""}"#,
            r#"{"auth_time":1,"claims_consent":"a\"b"}"#,
        ] {
            assert!(OpenIdGrant::from_json(bad).is_err(), "{bad}");
        }
    }
}
