//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): the public JWKS we
//! publish (public parts only, each with `kid`, `alg`, `use`; JW-01), and the
//! public keys clients register for `private_key_jwt`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value, json};

use crate::clock::UnixTime;
use crate::keys::{Algorithm, KeyRing, LoadedKey, Signer};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The public JWK of one of our keys.
pub(crate) fn public_jwk(key: &LoadedKey) -> Value {
    let (kid, alg) = (key.record.kid.as_str(), key.record.alg.as_str());
    match &key.signer {
        Signer::Es256(_) => {
            // SEC1 uncompressed point: 0x04 || x || y.
            let (x, y) = key
                .public
                .get(1..33)
                .zip(key.public.get(33..65))
                .unwrap_or_default();
            json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": kid, "alg": alg, "use": "sig"})
        }
        Signer::EdDsa(_) => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&key.public), "kid": kid, "alg": alg, "use": "sig"})
        }
        Signer::Rs256(k) | Signer::Ps256(k) => {
            let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
            json!({"kty": "RSA", "n": b64(&c.n), "e": b64(&c.e), "kid": kid, "alg": alg, "use": "sig"})
        }
    }
}

/// The JWKS document: every key published at `now`, including keys that
/// will only start signing later (published before they sign).
pub(crate) fn jwks(ring: &KeyRing, now: UnixTime) -> Vec<u8> {
    let keys: Vec<Value> = ring
        .keys
        .iter()
        .filter(|k| k.record.published_at(now))
        .map(|k| public_jwk(k))
        .collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap_or_default()
}

/// A client's public key, parsed from its registered JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicJwk {
    pub(crate) kid: Option<String>,
    /// The key's algorithm: the one its `alg` names, else its key type's
    /// (RS256 for an RSA key without `alg`, which also verifies PS256:
    /// see [`PublicJwk::allows`]).
    pub(crate) alg: Algorithm,
    /// An RSA key without `alg`: RS256 and PS256 both verify with it.
    rsa_any: bool,
    key: PublicKey,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    /// SEC1 point or raw Ed25519 key, for `UnparsedPublicKey`.
    Raw(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl PublicJwk {
    /// Parses one JWK. The algorithm comes from the key type (and `alg`
    /// must agree if present), so a key can never be used with another
    /// algorithm than its own (no algorithm confusion).
    pub(crate) fn parse(v: &Map<String, Value>) -> Option<Self> {
        let s = |name: &str| v.get(name).and_then(Value::as_str);
        let bytes = |name: &str| s(name).and_then(|x| URL_SAFE_NO_PAD.decode(x).ok());
        let (alg, key) = match (s("kty")?, s("crv")) {
            ("EC", Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Algorithm::Es256, PublicKey::Raw(point))
            }
            ("OKP", Some("Ed25519")) => {
                let x = bytes("x")?;
                (x.len() == 32).then_some(())?;
                (Algorithm::EdDsa, PublicKey::Raw(x))
            }
            // An RSA key signs RS256 or PS256: its `alg`, when present,
            // says which one (else both, see `allows`).
            ("RSA", _) => (
                match s("alg") {
                    Some("PS256") => Algorithm::Ps256,
                    _ => Algorithm::Rs256,
                },
                PublicKey::Rsa {
                    n: bytes("n")?,
                    e: bytes("e")?,
                },
            ),
            _ => return None,
        };
        if s("alg").is_some_and(|a| a != alg.as_str()) || s("use").is_some_and(|u| u != "sig") {
            return None;
        }
        Some(Self {
            kid: s("kid").map(str::to_owned),
            alg,
            rsa_any: matches!(key, PublicKey::Rsa { .. }) && s("alg").is_none(),
            key,
        })
    }

    /// Whether a signature of `alg` may be checked with this key: its own
    /// algorithm, or, for an RSA key registered without `alg`, either RSA
    /// algorithm (RS256 or PS256: RFC 7517 §4.4 makes `alg` optional, and
    /// FAPI 2.0 clients sign PS256 with keys registered without it). A key
    /// of one family never verifies another's (no algorithm confusion).
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        self.alg == alg || (self.rsa_any && matches!(alg, Algorithm::Rs256 | Algorithm::Ps256))
    }

    /// Checks a signature made with this key's own algorithm.
    #[allow(dead_code)] // kept for callers that know only the key's algorithm
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        self.verify_as(self.alg, message, sig)
    }

    /// Checks a signature of `alg`, which the key must [allow](Self::allows).
    pub(crate) fn verify_as(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        if !self.allows(alg) {
            return false;
        }
        match &self.key {
            PublicKey::Raw(k) => UnparsedPublicKey::new(alg.verification(), k)
                .verify(message, sig)
                .is_ok(),
            PublicKey::Rsa { n, e } => {
                let params = match alg {
                    Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
        }
    }
}

/// Parses a JWKS document (`{"keys": [...]}`); keys we cannot use are skipped.
pub(crate) fn parse_jwks(doc: &Value) -> Vec<PublicJwk> {
    doc.get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_object)
                .filter_map(PublicJwk::parse)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyId, KeyRecord};

    #[test]
    fn published_jwks_round_trip_into_verifying_keys() {
        // covers: JW-01
        let now = UnixTime::from_secs(10);
        let records = [Algorithm::Es256, Algorithm::EdDsa]
            .iter()
            .enumerate()
            .map(|(i, alg)| {
                KeyRecord::generate(*alg, KeyId::parse(&format!("k{i}")).unwrap(), now, now)
                    .unwrap()
            })
            .collect();
        let ring = KeyRing::load(records, now);
        let doc: Value = serde_json::from_slice(&jwks(&ring, now)).unwrap();
        let text = doc.to_string();
        assert!(!text.contains("\"d\""), "no private parts: {text}");
        let parsed = parse_jwks(&doc);
        assert_eq!(parsed.len(), 2);
        for (key, jwk) in ring.keys.iter().zip(&parsed) {
            assert_eq!(jwk.kid.as_deref(), Some(key.record.kid.as_str()));
            let sig = key.signer.sign(b"hello").unwrap();
            assert!(jwk.verify(b"hello", &sig));
            assert!(!jwk.verify(b"hellO", &sig));
        }
        for k in doc["keys"].as_array().unwrap() {
            assert!(k["kid"].is_string() && k["alg"].is_string() && k["use"] == "sig");
        }
    }

    #[test]
    fn mismatched_alg_or_use_is_refused() {
        let ok = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1u8; 32])});
        assert!(PublicJwk::parse(ok.as_object().unwrap()).is_some());
        let bad = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1u8; 32]), "alg": "HS256"});
        assert!(PublicJwk::parse(bad.as_object().unwrap()).is_none());
        let enc = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1u8; 32]), "use": "enc"});
        assert!(PublicJwk::parse(enc.as_object().unwrap()).is_none());
        let short =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&[1u8; 31]), "y": b64(&[1u8; 32])});
        assert!(PublicJwk::parse(short.as_object().unwrap()).is_none());
    }
}
