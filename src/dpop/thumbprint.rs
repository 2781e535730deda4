//! RFC 7638 JWK thumbprints (SHA-256, base64url): the name of the key a
//! DPoP-bound token is bound to (`cnf.jkt`, RFC 9449 §6).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without
/// padding (43 characters): what a DPoP-bound token is bound to (`cnf.jkt`
/// in JWT access tokens and introspection, `dpop_jkt` in the stores).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JwkThumbprint(Box<str>);

/// The length of a base64url SHA-256 digest without padding.
const LEN: usize = 43;

impl JwkThumbprint {
    /// Parses a thumbprint; `None` if it is not 43 base64url characters.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The base64url text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The thumbprint of a public JWK (RFC 7638 §3): the SHA-256 of its
    /// required members, in lexicographic order, without whitespace. `None`
    /// for a key type we do not use (only `EC`, `OKP` and `RSA`) or a
    /// required member that is missing or not a string.
    pub(crate) fn of_jwk(jwk: &Map<String, Value>) -> Option<Self> {
        let members: &[&str] = match jwk.get("kty").and_then(Value::as_str)? {
            "EC" => &["crv", "kty", "x", "y"],
            "OKP" => &["crv", "kty", "x"],
            "RSA" => &["e", "kty", "n"],
            _ => return None,
        };
        let mut canonical = Vec::with_capacity(256);
        canonical.push(b'{');
        for (i, name) in members.iter().enumerate() {
            if i > 0 {
                canonical.push(b',');
            }
            let value = jwk.get(*name).and_then(Value::as_str)?;
            serde_json::to_writer(&mut canonical, name).ok()?;
            canonical.push(b':');
            serde_json::to_writer(&mut canonical, value).ok()?;
        }
        canonical.push(b'}');
        let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);
        Some(Self(URL_SAFE_NO_PAD.encode(digest.as_ref()).into()))
    }
}

impl fmt::Display for JwkThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A thumbprint names a public key: nothing secret, shown as is.
impl fmt::Debug for JwkThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwkThumbprint({})", self.0)
    }
}

impl FromStr for JwkThumbprint {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s.len() != LEN {
            return Err(ParseError::new(
                "JWK thumbprint",
                "is not 43 characters (a base64url SHA-256 digest)",
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ParseError::new(
                "JWK thumbprint",
                "contains a character outside base64url",
            ));
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(JwkThumbprint);
serde_as_str!(JwkThumbprint);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let t = JwkThumbprint::of_jwk(jwk.as_object().unwrap()).unwrap();
        assert_eq!(t.as_str(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(JwkThumbprint::parse(t.as_str()), Some(t));
    }

    #[test]
    fn only_required_members_count() {
        let a = json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"});
        let b = json!({"x": "abc", "kid": "k", "crv": "Ed25519", "kty": "OKP", "use": "sig"});
        assert_eq!(
            JwkThumbprint::of_jwk(a.as_object().unwrap()),
            JwkThumbprint::of_jwk(b.as_object().unwrap())
        );
        let missing = json!({"kty": "EC", "crv": "P-256", "x": "a"});
        assert!(JwkThumbprint::of_jwk(missing.as_object().unwrap()).is_none());
        let oct = json!({"kty": "oct", "k": "a"});
        assert!(JwkThumbprint::of_jwk(oct.as_object().unwrap()).is_none());
    }

    #[test]
    fn parsing() {
        assert!(JwkThumbprint::parse("short").is_none());
        assert!(JwkThumbprint::parse(&"a".repeat(43)).is_some());
        assert!(JwkThumbprint::parse(&format!("{}=", "a".repeat(42))).is_none());
    }
}
