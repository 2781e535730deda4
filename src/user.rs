//! `UserId`: the resource owner's identifier, chosen by the host.

use std::fmt;
use std::sync::Arc;

/// The identifier of a resource owner (the `sub` of tokens issued for them).
/// The host decides its form; it must be non-empty, at most 255 bytes, and
/// free of control characters. Cloning shares the string (no allocation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(Arc<str>);

impl UserId {
    /// Parses a user id.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control);
        ok.then(|| Self(s.into()))
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
