//! `Audience`: an access token's intended recipient (the JWT `aud`, RFC
//! 7519 §4.1.3), as registered for a resource server that may introspect
//! the tokens meant for it (IN-01).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// An audience value: 1 to 2048 bytes with no whitespace or control
/// character. Every access token's audience is `Config::audience()` (the
/// issuer unless `Config::jwt_audience` says otherwise). Cloning shares the
/// string.
///
/// ```
/// use portcullis::Audience;
/// let aud: Audience = "https://api.example.com".parse().unwrap();
/// assert_eq!(aud.as_str(), "https://api.example.com");
/// assert!(Audience::parse("two words").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Audience(Arc<str>);

impl Audience {
    /// Parses an audience; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The audience.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Audience {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("audience", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 2048 {
            return err("is longer than 2048 bytes");
        }
        // Stores keep a client's audiences space-separated, so whitespace
        // could never come back as it went in.
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(Audience);
serde_as_str!(Audience);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_syntax() {
        assert!(Audience::parse("https://auth.example.com").is_some());
        assert!(Audience::parse("urn:example:api").is_some());
        for bad in ["", "a b", "a\tb", "a\nb", "a\u{0}b", "a\u{a0}b", "a\u{7f}"] {
            assert!(Audience::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Audience::parse(&"a".repeat(2048)).is_some());
        assert!(Audience::parse(&"a".repeat(2049)).is_none());
    }
}
