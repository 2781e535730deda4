//! `UserId`: the resource owner's identifier, chosen by the host.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// The identifier of a resource owner (the `sub` of tokens issued for them).
/// The host decides its form; it must be non-empty, at most 255 bytes, and
/// free of control characters. Cloning shares the string (no allocation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(Arc<str>);

impl UserId {
    /// Parses a user id; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("user id", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 255 {
            return err("is longer than 255 bytes");
        }
        if s.chars().any(char::is_control) {
            return err("contains a control character");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(UserId);
serde_as_str!(UserId);
