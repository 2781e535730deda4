//! PKCE (RFC 7636): code challenges, verifiers and their verification,
//! with the downgrade rules of RFC 9700 §2.1.1 (PK-01..04).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    /// Parses the wire value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S256" => Some(Self::S256),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
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
    /// Parses a challenge: 43–128 characters of the unreserved set.
    pub fn parse(method: ChallengeMethod, value: &str) -> Option<Self> {
        is_pkce_string(value).then(|| Self {
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

impl std::fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeChallenge({}, [redacted])", self.method.as_str())
    }
}

/// A `code_verifier`: 43–128 characters of `[A-Za-z0-9-._~]` (PK-03).
pub struct CodeVerifier(Box<str>);

impl CodeVerifier {
    /// Parses a verifier.
    pub fn parse(s: &str) -> Option<Self> {
        is_pkce_string(s).then(|| Self(s.into()))
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
