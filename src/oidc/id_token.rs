//! ID Tokens (OpenID Connect Core 1.0 §2): the claims, `at_hash`
//! (§3.1.3.6), signing with the key ring's current key of the client's
//! algorithm (header `{"alg","kid","typ":"JWT"}`, never `none`; OI-02), and
//! the verification of our own ID Tokens when a client sends one back as
//! `id_token_hint` (Core §3.1.2.1, RP-Initiated Logout 1.0 §2), where an
//! expired token is still a good hint (OI-08, LO-01). A verified hint is
//! kept with a suspended request as its facts and the key that signed it
//! ([`KeptHint`]), never as the token, which may carry the user's claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::signature::UnparsedPublicKey;
use serde_json::{Map, Value};

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::SigningFault;
use crate::keys::{Algorithm, KeyRing, LoadedKey};
use crate::tokens::jwt::JwsType;
use crate::tokens::{TokenHash, jwt};

/// The claims an ID Token's own fields set, besides `sub` (Core 1.0 §2):
/// what discovery's `claims_supported` adds to the standard claims.
pub(crate) const ID_TOKEN_CLAIMS: [&str; 11] = [
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "sid",
];

/// Whether extra claims named `name` are dropped, never sent: the names an
/// ID Token's own fields set, and JWT claims with a meaning of their own
/// (`nbf`, `jti`, the other hashes, a Logout Token's `events`).
fn registered(name: &str) -> bool {
    ID_TOKEN_CLAIMS.contains(&name)
        || ["sub", "c_hash", "s_hash", "nbf", "jti", "events"].contains(&name)
}

/// The claims of an ID Token (OpenID Connect Core 1.0 §2). Build it with
/// [`IdTokenClaims::new`] and set the optional fields; an empty `amr` is
/// left out. `extra` claims never override the registered ones: an extra
/// claim named like one of them is dropped.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct IdTokenClaims {
    /// `iss`: this server's issuer identifier, exactly as in its metadata.
    pub iss: String,
    /// `sub`: the user's subject identifier for this client (public or
    /// pairwise), stable and never reused (OI-04).
    pub sub: String,
    /// `aud`: the client the token is issued to.
    pub aud: ClientId,
    /// `exp`: when the token expires.
    pub exp: UnixTime,
    /// `iat`: when the token was issued.
    pub iat: UnixTime,
    /// `auth_time`: when the user authenticated (required when `max_age`
    /// was sent or the client requires it).
    pub auth_time: Option<UnixTime>,
    /// `nonce`: exactly as the authorization request sent it.
    pub nonce: Option<String>,
    /// `acr`: the authentication context class the login satisfied.
    pub acr: Option<String>,
    /// `amr`: the authentication methods used; left out when empty.
    pub amr: Vec<String>,
    /// `azp`: the authorized party, when it is needed.
    pub azp: Option<ClientId>,
    /// `at_hash`: see [`at_hash`] and [`IdTokenClaims::bind_access_token`].
    pub at_hash: Option<String>,
    /// `sid`: the login session (Back-Channel and Front-Channel Logout).
    pub sid: Option<String>,
    /// Further claims (from the UserInfo claims released into the ID
    /// Token, say). Names of registered claims are dropped.
    pub extra: Map<String, Value>,
}

impl IdTokenClaims {
    /// The required claims; every optional one is unset.
    pub fn new(
        iss: impl Into<String>,
        sub: impl Into<String>,
        aud: ClientId,
        iat: UnixTime,
        exp: UnixTime,
    ) -> Self {
        Self {
            iss: iss.into(),
            sub: sub.into(),
            aud,
            exp,
            iat,
            auth_time: None,
            nonce: None,
            acr: None,
            amr: Vec::new(),
            azp: None,
            at_hash: None,
            sid: None,
            extra: Map::new(),
        }
    }

    /// Sets `at_hash` for `access_token`, issued beside this ID Token that
    /// will be signed with `alg` (the hash depends on the algorithm).
    pub fn bind_access_token(&mut self, access_token: &str, alg: Algorithm) {
        self.at_hash = Some(at_hash(access_token, alg));
    }

    /// The claims as the JSON object that is signed: the extra claims
    /// without the registered names, then the registered claims.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m: Map<String, Value> = self
            .extra
            .iter()
            .filter(|(k, _)| !registered(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        m.insert("iss".into(), Value::from(self.iss.as_str()));
        m.insert("sub".into(), Value::from(self.sub.as_str()));
        m.insert("aud".into(), Value::from(self.aud.as_str()));
        m.insert("exp".into(), Value::from(self.exp.as_secs()));
        m.insert("iat".into(), Value::from(self.iat.as_secs()));
        if let Some(t) = self.auth_time {
            m.insert("auth_time".into(), Value::from(t.as_secs()));
        }
        let mut opt = |name: &str, v: Option<&str>| {
            if let Some(v) = v {
                m.insert(name.into(), Value::from(v));
            }
        };
        opt("nonce", self.nonce.as_deref());
        opt("acr", self.acr.as_deref());
        opt("azp", self.azp.as_ref().map(ClientId::as_str));
        opt("at_hash", self.at_hash.as_deref());
        opt("sid", self.sid.as_deref());
        if !self.amr.is_empty() {
            m.insert("amr".into(), Value::from(self.amr.clone()));
        }
        m
    }
}

/// `at_hash` (Core §3.1.3.6): the left half of the hash of the ASCII access
/// token, base64url without padding. The hash is the one of the JWS
/// algorithm: SHA-256 for `RS256`, `PS256` and `ES256`. For `EdDSA` with Ed25519 the
/// specifications name no hash; we use SHA-512, the hash Ed25519 itself
/// uses, as the OpenID Foundation's certification suite and panva's
/// `oidc-provider` do, so relying parties built against either agree.
pub fn at_hash(access_token: &str, alg: Algorithm) -> String {
    let hash = match alg {
        Algorithm::Es256 | Algorithm::Rs256 | Algorithm::Ps256 => &digest::SHA256,
        Algorithm::EdDsa => &digest::SHA512,
    };
    let d = digest::digest(hash, access_token.as_bytes());
    let bytes = d.as_ref();
    let left = bytes.get(..bytes.len() / 2).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(left)
}

/// Signs `claims` with the ring's current key of `alg` at `now` (OI-02).
/// No key of `alg` signing now is [`SigningFault::NoKeyForAlgorithm`].
pub(crate) fn sign(
    ring: &KeyRing,
    claims: &IdTokenClaims,
    alg: Algorithm,
    now: UnixTime,
) -> Result<String, SigningFault> {
    jwt::sign_current(ring, alg, now, JwsType::IdToken, &claims.to_json())
}

/// The longest `id_token_hint` we look at; longer ones are refused before
/// any decoding, so the work on any input is bounded.
pub const MAX_ID_TOKEN_HINT_LEN: usize = jwt::MAX_JWS_LEN;

/// Why an `id_token_hint` is not an ID Token of ours. Expiry is never a
/// reason: an expired ID Token is a good hint (OI-08, LO-01).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    /// Longer than [`MAX_ID_TOKEN_HINT_LEN`].
    #[error("id_token_hint is too long")]
    TooLong,
    /// Not a compact JWS with JSON header and claims.
    #[error("id_token_hint is not a compact JWS")]
    Malformed,
    /// `alg` is `none`, unknown, or not the algorithm of the key `kid` names.
    #[error("id_token_hint has an unacceptable alg")]
    Algorithm,
    /// No `kid`, or not one of our published keys.
    #[error("id_token_hint is not signed by a published key of this server")]
    UnknownKey,
    /// The signature does not verify.
    #[error("id_token_hint signature does not verify")]
    Signature,
    /// Signed by us but not an ID Token (`typ` is not `JWT`: an access
    /// token, a Logout Token, or a signed UserInfo response, which has no
    /// `typ` and no `exp`; issue 16).
    #[error("id_token_hint is not an ID Token")]
    Type,
    /// `iss` is not this server's issuer.
    #[error("id_token_hint is issued by another issuer")]
    Issuer,
    /// `sub`, `aud` or `exp` is missing or of the wrong type.
    #[error("id_token_hint lacks sub, aud or exp")]
    Claims,
    /// The signing keys could not be loaded (a key provider failure).
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

/// What an `id_token_hint` of ours says: who it was issued about and to.
/// `Debug` shows the audiences and expiry, not the subject or session.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedHint {
    sub: String,
    aud: Vec<String>,
    sid: Option<String>,
    exp: UnixTime,
    signed_by: SignedBy,
}

/// The key whose signature over the hint verified: its `kid`, its
/// algorithm, and the SHA-256 of its public key (so that another key
/// given the same `kid` later is not taken for it).
#[derive(Clone, PartialEq, Eq)]
struct SignedBy {
    kid: String,
    alg: Algorithm,
    public: TokenHash,
}

impl SignedBy {
    fn of(key: &LoadedKey) -> Self {
        Self {
            kid: key.record.kid.as_str().to_owned(),
            alg: key.record.alg,
            public: public_key_hash(key),
        }
    }

    /// Whether this key is still among the ring's published keys at `now`.
    fn is_published(&self, ring: &KeyRing, now: UnixTime) -> Result<(), HintError> {
        let key = ring.find(&self.kid, now).ok_or(HintError::UnknownKey)?;
        if key.record.alg != self.alg || public_key_hash(key) != self.public {
            return Err(HintError::UnknownKey);
        }
        Ok(())
    }
}

fn public_key_hash(key: &LoadedKey) -> TokenHash {
    let d = digest::digest(&digest::SHA256, &key.public);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    TokenHash::from_bytes(out)
}

/// A verified hint as a suspended request keeps it (issue 16): the facts
/// the request needs (`sub`, `aud`, `sid`, `exp`) and the key that signed
/// it, never the token itself, whose other claims (those of a `claims`
/// request, say) are the user's and have no business in the request store.
/// [`restore`](Self::restore) checks that the key is still published:
/// the signature verified when the hint was kept, so this stands for
/// verifying it again. `Debug` shows none of it (RB-03).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeptHint {
    sub: String,
    aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    exp: u64,
    kid: String,
    alg: String,
    /// The SHA-256 of the signing key's public key, in hex.
    key_sha256: String,
}

impl std::fmt::Debug for KeptHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptHint(<verified>)")
    }
}

/// A [`KeptHint`] that was not written by [`VerifiedHint::kept`].
#[derive(Debug)]
pub(crate) struct CorruptHint;

impl KeptHint {
    /// The hint again, if the key that signed it is still published at
    /// `now` (the outer `Err`: a kept hint that does not parse; the inner
    /// one: the key is gone, the hint must not be used).
    pub(crate) fn restore(
        &self,
        ring: &KeyRing,
        now: UnixTime,
    ) -> Result<Result<VerifiedHint, HintError>, CorruptHint> {
        let signed_by = SignedBy {
            kid: self.kid.clone(),
            alg: Algorithm::parse(&self.alg).ok_or(CorruptHint)?,
            public: TokenHash::from_hex(&self.key_sha256).ok_or(CorruptHint)?,
        };
        if self.aud.is_empty() {
            return Err(CorruptHint);
        }
        if let Err(e) = signed_by.is_published(ring, now) {
            return Ok(Err(e));
        }
        Ok(Ok(VerifiedHint {
            sub: self.sub.clone(),
            aud: self.aud.clone(),
            sid: self.sid.clone(),
            exp: UnixTime::from_secs(self.exp),
            signed_by,
        }))
    }
}

impl std::fmt::Debug for VerifiedHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedHint")
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl VerifiedHint {
    /// A hint's facts, for tests, as if signed by an ES256 key `test-kid`.
    #[cfg(test)]
    pub(crate) fn from_parts(
        sub: String,
        aud: Vec<String>,
        sid: Option<String>,
        exp: UnixTime,
    ) -> Self {
        let signed_by = SignedBy {
            kid: "test-kid".into(),
            alg: Algorithm::Es256,
            public: TokenHash::from_bytes([7; 32]),
        };
        Self {
            sub,
            aud,
            sid,
            exp,
            signed_by,
        }
    }

    /// What a suspended request keeps of the hint (see [`KeptHint`]).
    pub(crate) fn kept(&self) -> KeptHint {
        KeptHint {
            sub: self.sub.clone(),
            aud: self.aud.clone(),
            sid: self.sid.clone(),
            exp: self.exp.as_secs(),
            kid: self.signed_by.kid.clone(),
            alg: self.signed_by.alg.as_str().to_owned(),
            key_sha256: self.signed_by.public.to_hex(),
        }
    }

    /// `sub`: the subject the ID Token was issued about.
    pub fn subject(&self) -> &str {
        &self.sub
    }

    /// `aud`: the audiences (a single string becomes one).
    pub fn audiences(&self) -> &[String] {
        &self.aud
    }

    /// Whether `client` is among the audiences.
    pub fn is_for(&self, client: &ClientId) -> bool {
        self.aud.iter().any(|a| a == client.as_str())
    }

    /// `sid`, if the ID Token had one.
    pub fn session_id(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// `exp`: when the ID Token expired or expires (not enforced).
    pub fn expires_at(&self) -> UnixTime {
        self.exp
    }
}

/// Verifies that `token` is an ID Token this server signed: the compact JWS
/// shape, a key of ours published at `now` named by `kid` and used with its
/// own algorithm only (never `none`), the signature, `typ` `JWT`, and `iss`
/// equal to `issuer`. Expiry is deliberately not checked (OI-08, LO-01).
/// Bounded work on any input; never panics.
pub(crate) fn verify_id_token_hint(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    now: UnixTime,
) -> Result<VerifiedHint, HintError> {
    if token.len() > MAX_ID_TOKEN_HINT_LEN {
        return Err(HintError::TooLong);
    }
    let jws = jwt::parse(token).ok_or(HintError::Malformed)?;
    let alg = Algorithm::parse(&jws.header.alg).ok_or(HintError::Algorithm)?;
    let kid = jws.header.kid.as_deref().ok_or(HintError::UnknownKey)?;
    let key = ring.find(kid, now).ok_or(HintError::UnknownKey)?;
    if key.record.alg != alg {
        return Err(HintError::Algorithm);
    }
    UnparsedPublicKey::new(alg.verification(), &key.public)
        .verify(jws.signing_input, &jws.signature)
        .map_err(|_| HintError::Signature)?;
    if !jws
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(HintError::Type);
    }
    let claims = jws.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(HintError::Issuer);
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(HintError::Claims)?;
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(HintError::Claims)?,
        _ => return Err(HintError::Claims),
    };
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(HintError::Claims)?;
    let sid = match claims.get("sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(HintError::Claims),
    };
    Ok(VerifiedHint {
        sub: sub.to_owned(),
        aud,
        sid,
        exp: UnixTime::from_secs(exp),
        signed_by: SignedBy::of(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: RB-03
    // issue 16 review: a verified hint's subject and session stay out of logs.
    #[test]
    fn verified_hint_debug_shows_no_subject_or_session() {
        let hint = VerifiedHint::from_parts(
            "alice-subject".into(),
            vec!["rp".into()],
            Some("session-42".into()),
            UnixTime::from_secs(1),
        );
        let shown = format!("{hint:?}");
        assert!(shown.contains("rp"), "{shown}");
        assert!(
            !shown.contains("alice-subject") && !shown.contains("session-42"),
            "{shown}"
        );
    }
    use crate::keys::{KeyId, KeyRecord};
    use serde_json::json;

    const ISS: &str = "https://op.example";

    fn ring(algs: &[Algorithm]) -> KeyRing {
        let now = UnixTime::from_secs(1000);
        let records = algs
            .iter()
            .enumerate()
            .map(|(i, alg)| {
                KeyRecord::generate(*alg, KeyId::parse(&format!("k{i}")).unwrap(), now, now)
                    .unwrap()
            })
            .collect();
        KeyRing::load(records, now)
    }

    fn claims() -> IdTokenClaims {
        let mut c = IdTokenClaims::new(
            ISS,
            "alice",
            ClientId::parse("app").unwrap(),
            UnixTime::from_secs(1000),
            UnixTime::from_secs(1300),
        );
        c.nonce = Some("n-0S6".into());
        c.sid = Some("s1".into());
        c
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn at_hash_matches_core_example_and_uses_sha512_for_eddsa() {
        // covers: OI-02
        // OpenID Connect Core A.3/A.4: this access token's at_hash (RS256).
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(token, Algorithm::Rs256), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(token, Algorithm::Es256), "77QmUPtjPfzWtF2AnpK9RQ");
        let sha512 = digest::digest(&digest::SHA512, token.as_bytes());
        let eddsa = at_hash(token, Algorithm::EdDsa);
        assert_eq!(eddsa, URL_SAFE_NO_PAD.encode(&sha512.as_ref()[..32]));
        assert_eq!(eddsa.len(), 43);
    }

    #[test]
    fn extra_claims_never_override_registered_ones() {
        // covers: OI-02
        let mut c = claims();
        c.extra = json!({"sub": "mallory", "iss": "https://evil", "nonce": "x", "events": {},
                         "email": "alice@example.com"})
        .as_object()
        .unwrap()
        .clone();
        let m = c.to_json();
        assert_eq!(m["sub"], "alice");
        assert_eq!(m["iss"], ISS);
        assert_eq!(m["nonce"], "n-0S6");
        assert_eq!(m["email"], "alice@example.com");
        assert!(m.get("events").is_none());
        assert!(m.get("amr").is_none() && m.get("auth_time").is_none());
    }

    #[test]
    fn signs_with_the_key_of_the_requested_algorithm_only() {
        // covers: OI-02
        let r = ring(&[Algorithm::Es256, Algorithm::EdDsa]);
        let now = UnixTime::from_secs(1000);
        for (alg, kid) in [(Algorithm::Es256, "k0"), (Algorithm::EdDsa, "k1")] {
            let t = sign(&r, &claims(), alg, now).unwrap();
            let header = decode(t.split('.').next().unwrap());
            assert_eq!(
                header,
                json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"})
            );
            let hint = verify_id_token_hint(&r, &t, ISS, now).unwrap();
            assert_eq!(hint.subject(), "alice");
            assert!(hint.is_for(&ClientId::parse("app").unwrap()));
            assert_eq!(hint.session_id(), Some("s1"));
            assert_eq!(hint.expires_at(), UnixTime::from_secs(1300));
        }
        assert_eq!(
            sign(&r, &claims(), Algorithm::Rs256, now),
            Err(SigningFault::NoKeyForAlgorithm("RS256"))
        );
    }

    // covers: LO-01, RB-03
    // issue 16 review finding 2: a suspended request keeps a hint's facts
    // and its signing key, never the token with the user's other claims;
    // restored only while that very key is published.
    #[test]
    fn a_kept_hint_holds_no_personal_claims_and_restores_while_its_key_is_published() {
        let r = ring(&[Algorithm::Es256]);
        let now = UnixTime::from_secs(1000);
        let mut c = claims();
        c.extra = json!({"email": "alice@example.com", "name": "Alice Liddell"})
            .as_object()
            .unwrap()
            .clone();
        let t = sign(&r, &c, Algorithm::Es256, now).unwrap();
        let hint = verify_id_token_hint(&r, &t, ISS, now).unwrap();
        let kept = hint.kept();
        let stored = serde_json::to_string(&kept).unwrap();
        for personal in ["alice@example.com", "Alice Liddell", &t] {
            assert!(!stored.contains(personal), "{personal} in {stored}");
        }
        let shown = format!("{kept:?}");
        assert!(!shown.contains("alice") && !shown.contains("s1"), "{shown}");
        let kept: KeptHint = serde_json::from_str(&stored).unwrap();
        // The same key, even much later: the same hint.
        let later = UnixTime::from_secs(50_000);
        assert_eq!(kept.restore(&r, later).unwrap(), Ok(hint));
        // The key gone, or another key under the same kid: not restored.
        assert_eq!(
            kept.restore(&KeyRing::default(), now).unwrap(),
            Err(HintError::UnknownKey)
        );
        let other = ring(&[Algorithm::Es256]);
        assert_eq!(
            kept.restore(&other, now).unwrap(),
            Err(HintError::UnknownKey)
        );
        // A kept hint that was altered in the store does not parse.
        let bad = stored.replace("ES256", "none");
        let bad: KeptHint = serde_json::from_str(&bad).unwrap();
        assert!(bad.restore(&r, now).is_err());
    }

    #[test]
    fn hint_expired_is_accepted_foreign_or_altered_is_not() {
        // covers: OI-08, LO-01
        let r = ring(&[Algorithm::Es256]);
        let now = UnixTime::from_secs(1000);
        let t = sign(&r, &claims(), Algorithm::Es256, now).unwrap();
        let later = UnixTime::from_secs(50_000);
        assert!(
            verify_id_token_hint(&r, &t, ISS, later).is_ok(),
            "expired is fine"
        );
        assert_eq!(
            verify_id_token_hint(&r, &t, "https://other.example", now),
            Err(HintError::Issuer)
        );
        let other = ring(&[Algorithm::Es256]);
        assert_eq!(
            verify_id_token_hint(&other, &t, ISS, now),
            Err(HintError::Signature),
            "same kid, another server's key"
        );
        let parts: Vec<&str> = t.split('.').collect();
        let mut forged = claims().to_json();
        forged.insert("sub".into(), json!("mallory"));
        let altered = format!("{}.{}.{}", parts[0], b64(&Value::Object(forged)), parts[2]);
        assert_eq!(
            verify_id_token_hint(&r, &altered, ISS, now),
            Err(HintError::Signature)
        );
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "k0", "typ": "JWT"})),
            parts[1]
        );
        assert_eq!(
            verify_id_token_hint(&r, &none, ISS, now),
            Err(HintError::Algorithm)
        );
        let confused = format!(
            "{}.{}.{}",
            b64(&json!({"alg": "EdDSA", "kid": "k0", "typ": "JWT"})),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify_id_token_hint(&r, &confused, ISS, now),
            Err(HintError::Algorithm)
        );
        let long = "a".repeat(MAX_ID_TOKEN_HINT_LEN + 1);
        assert_eq!(
            verify_id_token_hint(&r, &long, ISS, now),
            Err(HintError::TooLong)
        );
        for bad in ["", ".", "..", "a.b.c", "a.b.c.d", &t[..t.len() - 1]] {
            assert!(verify_id_token_hint(&r, bad, ISS, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn our_access_tokens_are_no_hints() {
        // An access token of ours is signed by the same keys with the same
        // issuer: its `typ` tells it apart.
        let r = ring(&[Algorithm::Es256]);
        let now = UnixTime::from_secs(1000);
        let key = r.signing_key(now).unwrap();
        let at = jwt::sign_payload(key, &serde_json::to_vec(&claims().to_json()).unwrap()).unwrap();
        assert_eq!(
            verify_id_token_hint(&r, &at, ISS, now),
            Err(HintError::Type)
        );
    }

    #[test]
    fn hint_claims_must_have_the_right_types() {
        let r = ring(&[Algorithm::EdDsa]);
        let now = UnixTime::from_secs(1000);
        let key = r.signing_key(now).unwrap();
        let signed = |claims: Value| {
            jwt::sign_with_header(key, &key.id_token_header, claims.to_string().as_bytes()).unwrap()
        };
        let ok = signed(json!({"iss": ISS, "sub": "u", "aud": ["a", "b"], "exp": 5}));
        let hint = verify_id_token_hint(&r, &ok, ISS, now).unwrap();
        assert_eq!(hint.audiences(), ["a", "b"]);
        assert_eq!(hint.session_id(), None);
        for bad in [
            json!({"iss": ISS, "aud": "a", "exp": 5}),
            json!({"iss": ISS, "sub": 7, "aud": "a", "exp": 5}),
            json!({"iss": ISS, "sub": "u", "aud": [], "exp": 5}),
            json!({"iss": ISS, "sub": "u", "aud": ["a", 1], "exp": 5}),
            json!({"iss": ISS, "sub": "u", "aud": "a"}),
            json!({"iss": ISS, "sub": "u", "aud": "a", "exp": -1}),
            json!({"iss": ISS, "sub": "u", "aud": "a", "exp": 5, "sid": 3}),
        ] {
            assert_eq!(
                verify_id_token_hint(&r, &signed(bad.clone()), ISS, now),
                Err(HintError::Claims),
                "{bad}"
            );
        }
    }
}
