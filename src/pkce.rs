//! PKCE (RFC 7636): code challenges, verifiers and their verification,
//! with the downgrade rules of RFC 9700 §2.1.1 (PK-01..04).

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::conversions::{ParseError, deserialize_from_str, serde_as_str, try_from_str};

use crate::secret::constant_time_eq;

/// How the challenge was derived from the verifier.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeMethod {
    /// `S256`: `BASE64URL(SHA256(verifier))`. The default and the only one
    /// offered unless a client is registered to allow `plain` (PK-01).
    S256,
    /// `plain`: the challenge is the verifier.
    Plain,
}

impl ChallengeMethod {
    /// Parses the wire value; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

impl FromStr for ChallengeMethod {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "S256" => Ok(Self::S256),
            "plain" => Ok(Self::Plain),
            _ => Err(ParseError::new(
                "code challenge method",
                "is not S256 or plain",
            )),
        }
    }
}

impl std::fmt::Display for ChallengeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

try_from_str!(ChallengeMethod, CodeVerifier);
serde_as_str!(ChallengeMethod);
deserialize_from_str!(CodeVerifier);

/// Checks the syntax of a verifier or challenge (RFC 7636 §4.1, §4.2),
/// without naming its characters.
fn check_pkce_string(what: &'static str, s: &str) -> Result<(), ParseError> {
    if s.len() < 43 {
        return Err(ParseError::new(what, "is shorter than 43 characters"));
    }
    if s.len() > 128 {
        return Err(ParseError::new(what, "is longer than 128 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(ParseError::new(
            what,
            "contains a character other than A-Z, a-z, 0-9, '-', '.', '_' and '~'",
        ));
    }
    Ok(())
}

/// A code challenge with its method, as stored with an authorization code.
/// `Debug` shows only the method: with `plain`, the challenge is the
/// verifier (RB-03).
#[derive(Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    method: ChallengeMethod,
    value: Box<str>,
}

impl CodeChallenge {
    /// Parses a challenge: 43–128 characters of the unreserved set; `None`
    /// if it is not one.
    pub fn parse(method: ChallengeMethod, value: &str) -> Option<Self> {
        Self::new(method, value).ok()
    }

    /// Parses a challenge, saying what is wrong. A challenge has no text
    /// form of its own (it is two request parameters, the method and the
    /// value), so this, not `FromStr`, is its parser;
    /// `TryFrom<(ChallengeMethod, &str)>` is the same.
    pub fn new(method: ChallengeMethod, value: &str) -> Result<Self, ParseError> {
        check_pkce_string("code challenge", value)?;
        Ok(Self {
            method,
            value: value.into(),
        })
    }

    /// The method.
    pub const fn method(&self) -> ChallengeMethod {
        self.method
    }

    /// The challenge string.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Whether `verifier` answers this challenge (constant-time compare).
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        match self.method {
            ChallengeMethod::S256 => {
                let digest = ring::digest::digest(&ring::digest::SHA256, verifier.0.as_bytes());
                let mut buf = [0u8; 43];
                let Ok(n) = URL_SAFE_NO_PAD.encode_slice(digest.as_ref(), &mut buf) else {
                    return false;
                };
                constant_time_eq(buf.get(..n).unwrap_or_default(), self.value.as_bytes())
            }
            ChallengeMethod::Plain => {
                constant_time_eq(verifier.0.as_bytes(), self.value.as_bytes())
            }
        }
    }
}

impl TryFrom<(ChallengeMethod, &str)> for CodeChallenge {
    type Error = ParseError;

    fn try_from((method, value): (ChallengeMethod, &str)) -> Result<Self, ParseError> {
        Self::new(method, value)
    }
}

impl std::fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeChallenge({}, [redacted])", self.method.as_str())
    }
}

/// A `code_verifier`: 43–128 characters of `[A-Za-z0-9-._~]` (PK-03).
///
/// A secret until the code is redeemed: it has `FromStr` (and, with the
/// `serde` feature, `Deserialize`) but no `Display` or `Serialize`, and
/// `Debug` is redacted.
pub struct CodeVerifier(Box<str>);

impl CodeVerifier {
    /// Parses a verifier; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl FromStr for CodeVerifier {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        check_pkce_string("code verifier", s)?;
        Ok(Self(s.into()))
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_rfc_7636_example() {
        // covers: PK-01
        let c = CodeChallenge::parse(ChallengeMethod::S256, CHALLENGE).unwrap();
        assert!(c.verify(&CodeVerifier::parse(VERIFIER).unwrap()));
        let wrong = CodeVerifier::parse(&"a".repeat(43)).unwrap();
        assert!(!c.verify(&wrong));
    }

    #[test]
    fn debug_never_shows_the_challenge() {
        // covers: RB-03
        let c = CodeChallenge::parse(ChallengeMethod::Plain, VERIFIER).unwrap();
        assert!(!format!("{c:?}").contains(VERIFIER));
        let v = CodeVerifier::parse(VERIFIER).unwrap();
        assert!(!format!("{v:?}").contains(VERIFIER));
    }

    #[test]
    fn verifier_syntax() {
        // covers: PK-03
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_none());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_some());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_some());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_none());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_none());
    }
}
