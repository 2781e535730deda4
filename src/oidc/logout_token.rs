//! Logout Tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): built and
//! signed by the core for the host to POST to a client's
//! `backchannel_logout_uri` (the core does no network I/O). Header `typ`
//! `logout+jwt`; claims `iss`, `aud`, `iat`, `exp`, `jti`, `events` with the
//! back-channel logout member, and `sub` and/or `sid`; never `nonce`, so a
//! Logout Token can never pass for an ID Token (LO-02).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::SigningFault;
use crate::keys::{Algorithm, KeyRing};
use crate::random::{RandomError, RandomSource};
use crate::tokens::jwt;
use crate::tokens::jwt::JwsType;
use crate::tokens::opaque::random_value;

/// The member of `events` that makes a JWT a Logout Token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a Logout Token is valid: long enough for the host to deliver it
/// (with a retry), short enough that a copy is soon worthless.
pub const LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// Whom a Logout Token logs out: a user, one login session, or both. There
/// is no way to name neither (Back-Channel Logout 1.0 §2.4 requires one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutSubject {
    /// Every session of the user with this `sub` (as the client knows it).
    Subject(String),
    /// The login session with this `sid`.
    Session(String),
    /// The user's session `sid`.
    SubjectAndSession {
        /// `sub`.
        sub: String,
        /// `sid`.
        sid: String,
    },
}

impl LogoutSubject {
    /// `sub`, if named.
    pub fn sub(&self) -> Option<&str> {
        match self {
            Self::Subject(s) | Self::SubjectAndSession { sub: s, .. } => Some(s),
            Self::Session(_) => None,
        }
    }

    /// `sid`, if named.
    pub fn sid(&self) -> Option<&str> {
        match self {
            Self::Session(s) | Self::SubjectAndSession { sid: s, .. } => Some(s),
            Self::Subject(_) => None,
        }
    }
}

/// The claims of one Logout Token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogoutTokenClaims {
    pub(crate) iss: String,
    pub(crate) aud: ClientId,
    pub(crate) iat: UnixTime,
    pub(crate) exp: UnixTime,
    pub(crate) jti: String,
    pub(crate) subject: LogoutSubject,
}

impl LogoutTokenClaims {
    /// Claims issued at `now` by `issuer` to `aud`, valid
    /// [`LOGOUT_TOKEN_LIFETIME`], with a `jti` of 256 random bits.
    pub(crate) fn new(
        issuer: &str,
        aud: ClientId,
        subject: LogoutSubject,
        now: UnixTime,
        random: &dyn RandomSource,
    ) -> Result<Self, RandomError> {
        Ok(Self {
            iss: issuer.to_owned(),
            aud,
            iat: now,
            exp: now.plus(LOGOUT_TOKEN_LIFETIME),
            jti: random_value(random)?.as_str().to_owned(),
            subject,
        })
    }

    /// The JSON object that is signed.
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("iss".into(), Value::from(self.iss.as_str()));
        m.insert("aud".into(), Value::from(self.aud.as_str()));
        m.insert("iat".into(), Value::from(self.iat.as_secs()));
        m.insert("exp".into(), Value::from(self.exp.as_secs()));
        m.insert("jti".into(), Value::from(self.jti.as_str()));
        m.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
        if let Some(sub) = self.subject.sub() {
            m.insert("sub".into(), Value::from(sub));
        }
        if let Some(sid) = self.subject.sid() {
            m.insert("sid".into(), Value::from(sid));
        }
        m
    }
}

/// Signs `claims` with the ring's current key of `alg` (the client's ID
/// Token algorithm) under the header `{"alg","kid","typ":"logout+jwt"}`.
pub(crate) fn sign(
    ring: &KeyRing,
    claims: &LogoutTokenClaims,
    alg: Algorithm,
    now: UnixTime,
) -> Result<String, SigningFault> {
    jwt::sign_current(
        ring,
        alg,
        now,
        JwsType::Typ("logout+jwt"),
        &claims.to_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dangerous::DeterministicRandom;
    use crate::keys::{KeyId, KeyRecord};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn logout_token_has_the_required_claims_and_no_nonce() {
        // covers: LO-02
        let now = UnixTime::from_secs(1000);
        let rec =
            KeyRecord::generate(Algorithm::EdDsa, KeyId::parse("k").unwrap(), now, now).unwrap();
        let ring = KeyRing::load(vec![rec], now);
        let random = DeterministicRandom::new(1);
        let app = ClientId::parse("app").unwrap();
        for (subject, sub, sid) in [
            (LogoutSubject::Subject("alice".into()), Some("alice"), None),
            (LogoutSubject::Session("s1".into()), None, Some("s1")),
            (
                LogoutSubject::SubjectAndSession {
                    sub: "alice".into(),
                    sid: "s1".into(),
                },
                Some("alice"),
                Some("s1"),
            ),
        ] {
            let claims =
                LogoutTokenClaims::new("https://op.example", app.clone(), subject, now, &random)
                    .unwrap();
            let t = sign(&ring, &claims, Algorithm::EdDsa, now).unwrap();
            let parts: Vec<&str> = t.split('.').collect();
            assert_eq!(
                decode(parts[0]),
                json!({"alg": "EdDSA", "kid": "k", "typ": "logout+jwt"})
            );
            let c = decode(parts[1]);
            assert_eq!(c["iss"], "https://op.example");
            assert_eq!(c["aud"], "app");
            assert_eq!(c["iat"], 1000);
            assert_eq!(c["exp"], 1120);
            assert_eq!(c["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
            assert_eq!(c["jti"].as_str().unwrap().len(), 43);
            assert_eq!(c.get("sub").and_then(Value::as_str), sub);
            assert_eq!(c.get("sid").and_then(Value::as_str), sid);
            assert!(c.get("nonce").is_none());
        }
        // Two tokens never share a jti.
        let a = LogoutTokenClaims::new(
            "https://op.example",
            app.clone(),
            LogoutSubject::Session("s".into()),
            now,
            &random,
        )
        .unwrap();
        let b = LogoutTokenClaims::new("https://op.example", app, a.subject.clone(), now, &random)
            .unwrap();
        assert_ne!(a.jti, b.jti);
        assert_eq!(
            sign(&ring, &a, Algorithm::Rs256, now),
            Err(SigningFault::NoKeyForAlgorithm("RS256"))
        );
    }
}
