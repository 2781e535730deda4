//! DPoP proof JWTs (RFC 9449 §4): parsing and signature verification
//! ([`parse`], bounded work on any input), then the checks against the
//! request ([`Proof::check`]). The single use of `jti` and the server nonce
//! are the caller's (they need the replay cache and the configuration).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::dpop::htu;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::DpopFault;
use crate::keys::Algorithm;
use crate::keys::jwk::PublicJwk;

/// The longest proof parsed: larger input is refused before any decoding.
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;

/// The longest `jti` accepted (RFC 9449 asks for at least 96 bits of
/// randomness; 256 characters leaves room for any encoding of that).
const MAX_JTI_LEN: usize = 256;

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof whose signature verified with the key in its own header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: JwkThumbprint,
    pub(crate) jti: String,
    pub(crate) htm: String,
    pub(crate) htu: String,
    pub(crate) iat: u64,
    pub(crate) ath: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// What the request a proof came with is.
pub(crate) struct Expect<'a> {
    /// The request's method (`POST` at the token endpoint).
    pub(crate) method: &'a str,
    /// The request's absolute URL (the query and fragment are ignored).
    pub(crate) url: &'a str,
    pub(crate) now: UnixTime,
    /// How far `iat` may be from `now`, either way.
    pub(crate) window: Duration,
    /// The access token presented with the proof, at a resource: the proof
    /// must carry its hash in `ath`.
    pub(crate) access_token: Option<&'a str>,
}

/// `base64url(SHA-256(token))`: the `ath` of a proof presented with
/// `token` (RFC 9449 §4.2).
pub(crate) fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

fn object(part: &str) -> Result<Map<String, Value>, DpopFault> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| DpopFault::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| DpopFault::Malformed)
}

/// Parses a proof and verifies its signature with the key of its header:
/// `typ` `dpop+jwt`, `alg` one of `algs` (asymmetric only: `none` and HMAC
/// are never parsed as algorithms), `jwk` a public key of `alg`, and the
/// claims `jti`, `htm`, `htu`, `iat` present with their types.
pub(crate) fn parse(compact: &str, algs: &[Algorithm]) -> Result<Proof, DpopFault> {
    if compact.len() > MAX_PROOF_LEN {
        return Err(DpopFault::Malformed);
    }
    let mut parts = compact.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopFault::Malformed);
    };
    let header = object(h)?;
    let text = |name: &str| header.get(name).and_then(Value::as_str);
    if !text("typ").is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(DpopFault::Type);
    }
    let alg = text("alg")
        .and_then(Algorithm::parse)
        .filter(|a| algs.contains(a))
        .ok_or(DpopFault::Algorithm)?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(DpopFault::Key)?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopFault::PrivateKey);
    }
    let key = PublicJwk::parse(jwk).ok_or(DpopFault::Key)?;
    // An RSA key without `alg` serves RS256 and PS256 alike.
    if !key.allows(alg) {
        return Err(DpopFault::Key);
    }
    let jkt = JwkThumbprint::of_jwk(jwk).ok_or(DpopFault::Key)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| DpopFault::Malformed)?;
    let signing_input = compact
        .get(..h.len() + 1 + c.len())
        .ok_or(DpopFault::Malformed)?;
    if !key.verify_as(alg, signing_input.as_bytes(), &signature) {
        return Err(DpopFault::Signature);
    }
    let claims = object(c)?;
    let claim = |name: &str| -> Result<String, DpopFault> {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or(DpopFault::Malformed)
    };
    let optional = |name: &str| -> Result<Option<String>, DpopFault> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.clone())),
            Some(_) => Err(DpopFault::Malformed),
        }
    };
    let jti = claim("jti")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(DpopFault::Malformed);
    }
    Ok(Proof {
        jkt,
        jti,
        htm: claim("htm")?,
        htu: claim("htu")?,
        iat: claims
            .get("iat")
            .and_then(Value::as_u64)
            .ok_or(DpopFault::Malformed)?,
        ath: optional("ath")?,
        nonce: optional("nonce")?,
    })
}

impl Proof {
    /// Checks the proof against the request it came with: `htm`, `htu`
    /// (RFC 3986-normalised), `iat` within the window, and `ath` when an
    /// access token is presented.
    pub(crate) fn check(&self, expect: &Expect<'_>) -> Result<(), DpopFault> {
        if self.htm != expect.method {
            return Err(DpopFault::Method);
        }
        if !htu::matches(&self.htu, expect.url) {
            return Err(DpopFault::Url);
        }
        let (now, window) = (expect.now.as_secs(), expect.window.as_secs());
        if self.iat.saturating_add(window) < now || self.iat > now.saturating_add(window) {
            return Err(DpopFault::IssuedAt);
        }
        if let Some(token) = expect.access_token {
            if self.ath.as_deref() != Some(ath(token).as_str()) {
                return Err(DpopFault::AccessTokenHash);
            }
        }
        Ok(())
    }

    /// Until when the proof's `jti` must be remembered: after that, its
    /// `iat` is out of the window anyway.
    pub(crate) fn replay_until(&self, window: Duration) -> UnixTime {
        UnixTime::from_secs(self.iat.saturating_add(window.as_secs()).saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
    use serde_json::json;

    const ALGS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    struct Key(Ed25519KeyPair);

    impl Key {
        fn new() -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(crate::random::ring_rng()).unwrap();
            Self(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
        }
        fn jwk(&self) -> Value {
            json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(self.0.public_key().as_ref())})
        }
        fn sign(&self, header: &Value, claims: &Value) -> String {
            let input = format!("{}.{}", b64(header), b64(claims));
            let sig = self.0.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
        fn proof(&self, claims: &Value) -> String {
            self.sign(
                &json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.jwk()}),
                claims,
            )
        }
    }

    fn claims() -> Value {
        json!({"jti": "j1", "htm": "POST", "htu": "https://as.example/token", "iat": 1000})
    }

    fn expect(now: u64) -> Expect<'static> {
        Expect {
            method: "POST",
            url: "https://as.example/token",
            now: UnixTime::from_secs(now),
            window: Duration::from_secs(60),
            access_token: None,
        }
    }

    #[test]
    fn a_good_proof_verifies_and_names_its_key() {
        // covers: DP-01
        let key = Key::new();
        let proof = parse(&key.proof(&claims()), &ALGS).unwrap();
        assert_eq!(
            proof.jkt,
            JwkThumbprint::of_jwk(key.jwk().as_object().unwrap()).unwrap()
        );
        assert_eq!(proof.check(&expect(1000)), Ok(()));
        assert_eq!(proof.check(&expect(1060)), Ok(()));
        assert_eq!(proof.check(&expect(940)), Ok(()));
        assert_eq!(proof.check(&expect(1061)), Err(DpopFault::IssuedAt));
        assert_eq!(proof.check(&expect(939)), Err(DpopFault::IssuedAt));
    }

    #[test]
    fn header_rules() {
        // covers: DP-01
        let key = Key::new();
        let c = claims();
        let with = |h: Value| parse(&key.sign(&h, &c), &ALGS);
        assert_eq!(
            with(json!({"typ": "JWT", "alg": "EdDSA", "jwk": key.jwk()})),
            Err(DpopFault::Type)
        );
        assert_eq!(
            with(json!({"alg": "EdDSA", "jwk": key.jwk()})),
            Err(DpopFault::Type)
        );
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk()})),
            Err(DpopFault::Algorithm)
        );
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()})),
            Err(DpopFault::Algorithm)
        );
        assert_eq!(
            parse(&key.proof(&c), &[Algorithm::Es256]),
            Err(DpopFault::Algorithm)
        );
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk()})),
            Err(DpopFault::Key)
        );
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "EdDSA"})),
            Err(DpopFault::Key)
        );
        let mut private = key.jwk();
        private["d"] = json!("AAAA");
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": private})),
            Err(DpopFault::PrivateKey)
        );
        // Another key's header: the signature does not verify.
        let other = Key::new();
        assert_eq!(
            with(json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": other.jwk()})),
            Err(DpopFault::Signature)
        );
    }

    #[test]
    fn es256_proofs_verify() {
        let rng = crate::random::ring_rng();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), rng).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        let input = format!(
            "{}.{}",
            b64(&json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})),
            b64(&claims())
        );
        let sig = pair.sign(rng, input.as_bytes()).unwrap();
        let compact = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        assert!(parse(&compact, &ALGS).is_ok());
    }

    #[test]
    fn claim_rules() {
        // covers: DP-01
        let key = Key::new();
        for missing in ["jti", "htm", "htu", "iat"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                parse(&key.proof(&c), &ALGS),
                Err(DpopFault::Malformed),
                "{missing}"
            );
        }
        let mut c = claims();
        c["htm"] = json!("GET");
        let p = parse(&key.proof(&c), &ALGS).unwrap();
        assert_eq!(p.check(&expect(1000)), Err(DpopFault::Method));
        let mut c = claims();
        c["htu"] = json!("https://other.example/token");
        let p = parse(&key.proof(&c), &ALGS).unwrap();
        assert_eq!(p.check(&expect(1000)), Err(DpopFault::Url));
        let mut c = claims();
        c["htu"] = json!("https://AS.example:443/token?q=1");
        let p = parse(&key.proof(&c), &ALGS).unwrap();
        assert_eq!(p.check(&expect(1000)), Ok(()));
        let mut c = claims();
        c["ath"] = json!(ath("tok"));
        let p = parse(&key.proof(&c), &ALGS).unwrap();
        let mut e = expect(1000);
        e.access_token = Some("tok");
        assert_eq!(p.check(&e), Ok(()));
        e.access_token = Some("other");
        assert_eq!(p.check(&e), Err(DpopFault::AccessTokenHash));
        let p = parse(&key.proof(&claims()), &ALGS).unwrap();
        assert_eq!(p.check(&e), Err(DpopFault::AccessTokenHash));
    }

    #[test]
    fn garbage_is_malformed() {
        for s in [
            "",
            "a",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            &"x".repeat(MAX_PROOF_LEN + 1),
        ] {
            assert!(parse(s, &ALGS).is_err(), "{s}");
        }
    }
}
