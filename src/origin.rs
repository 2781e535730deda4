//! `Origin`: a web origin (RFC 6454: scheme, host and port), as a client's
//! `allowed_cors_origins` lists them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// An `http` or `https` web origin (RFC 6454 §4) with a host and nothing
/// after it (no path but `/`, no query, fragment or user info), kept in the
/// form browsers send in the `Origin` header (RFC 6454 §6.2: host lower-cased,
/// default port left out, no trailing slash), so that comparing it with that
/// header is comparing strings. Plain `http` only on the loopback interface:
/// an `http` page can be altered on the way and would then read the tokens
/// this origin is allowed to fetch. Cloning shares the string.
///
/// ```
/// use portcullis::Origin;
/// let o: Origin = "https://App.Example:443/".parse().unwrap();
/// assert_eq!(o.as_str(), "https://app.example");
/// assert!(Origin::parse("https://app.example/path").is_none());
/// assert!(Origin::parse("http://app.example").is_none());
/// assert!(Origin::parse("http://localhost:3000").is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(Arc<str>);

impl Origin {
    /// Parses an origin; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The origin, serialised as in an `Origin` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Origin {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("origin", reason));
        if s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        let Ok(url) = url::Url::parse(s) else {
            return err("is not an absolute URL");
        };
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return err("is not an http or https origin"),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return err("has user information");
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return err("has a path, query or fragment");
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return err("has no host"),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return err("has no host");
        }
        if !https && !loopback {
            return err("must use https (plain http only on loopback)");
        }
        Ok(Self(url.origin().ascii_serialization().into()))
    }
}

try_from_str!(Origin);
serde_as_str!(Origin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        for (given, kept) in [
            ("https://app.example", "https://app.example"),
            ("https://APP.example/", "https://app.example"),
            ("https://app.example:443", "https://app.example"),
            ("https://app.example:8443", "https://app.example:8443"),
            ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("http://localhost", "http://localhost"),
        ] {
            assert_eq!(Origin::parse(given).unwrap().as_str(), kept, "{given}");
        }
        for (bad, why) in [
            ("app.example", "origin: is not an absolute URL"),
            (
                "https://app.example/cb",
                "origin: has a path, query or fragment",
            ),
            (
                "https://app.example?x",
                "origin: has a path, query or fragment",
            ),
            ("https://u@app.example", "origin: has user information"),
            (
                "ftp://app.example",
                "origin: is not an http or https origin",
            ),
            (
                "http://app.example",
                "origin: must use https (plain http only on loopback)",
            ),
            (
                "https://app .example",
                "origin: contains whitespace or a control character",
            ),
        ] {
            assert_eq!(bad.parse::<Origin>().unwrap_err().to_string(), why, "{bad}");
        }
    }
}
