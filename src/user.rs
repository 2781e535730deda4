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
        identifier("user id", s).map(Self)
    }
}

/// The rule user ids and subject identifiers share (Core 1.0 §2 for `sub`):
/// not empty, at most 255 bytes, no control character. `what` names the
/// value in the error.
pub(crate) fn identifier(what: &'static str, s: &str) -> Result<Arc<str>, ParseError> {
    let reason = if s.is_empty() {
        "is empty"
    } else if s.len() > 255 {
        "is longer than 255 bytes"
    } else if s.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(s.into());
    };
    Err(ParseError::new(what, reason))
}

try_from_str!(UserId);
serde_as_str!(UserId);
