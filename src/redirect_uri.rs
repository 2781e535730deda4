//! `RedirectUri`: absolute, fragment-free redirection URIs (RFC 6749 §3.1.2),
//! matched by exact string comparison, except that a loopback IP URI may
//! differ in its port (RFC 8252 §7.3).

use std::fmt;
use std::str::FromStr;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// A registered or requested redirection URI.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedirectUri(Box<str>);

impl RedirectUri {
    /// Parses an absolute URI without a fragment; `None` if it is not one.
    /// `str::parse` and `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The URI as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a requested URI matches this registered one: exact string
    /// equality, or, for an `http` loopback IP literal, equality except for
    /// the port (RFC 8252 §7.3).
    pub fn matches(&self, requested: &str) -> bool {
        if *self.0 == *requested {
            return true;
        }
        match (
            loopback_without_port(&self.0),
            loopback_without_port(requested),
        ) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// For `http://127.0.0.1[:port]/…` or `http://[::1][:port]/…`, the URI with
/// the port removed; `None` otherwise. `localhost` is deliberately not a
/// loopback literal here (RFC 8252 §8.3).
fn loopback_without_port(s: &str) -> Option<String> {
    let rest = s.strip_prefix("http://")?;
    let (host_port, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        let end = v6.find(']')?;
        let host = v6.get(..end)?;
        let after = v6.get(end + 1..)?;
        if !(after.is_empty() || port_ok(after.strip_prefix(':')?)) {
            return None;
        }
        (host == "::1").then_some("[::1]")?
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        };
        if let Some(p) = port {
            if !port_ok(p) {
                return None;
            }
        }
        let ip: std::net::Ipv4Addr = host.parse().ok()?;
        if !ip.is_loopback() {
            return None;
        }
        host
    };
    Some(format!("http://{host}{path}"))
}

fn port_ok(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RedirectUri {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("redirect URI", reason));
        // `Url::parse` drops tabs and newlines and tolerates spaces, so the
        // URI compared and stored would not be the one parsed; stores also
        // keep a client's URIs in one separated list (issue 15 finding 7).
        if s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        let Ok(url) = url::Url::parse(s) else {
            return err("is not an absolute URI");
        };
        if url.fragment().is_some() {
            return err("has a fragment");
        }
        // Refuse script-bearing schemes outright (RFC 9700 §4.1.2).
        if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") {
            return err("uses a javascript:, data:, vbscript: or file: scheme");
        }
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return err("has no authority or path (only urn: URIs may)");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(RedirectUri);
serde_as_str!(RedirectUri);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let r = RedirectUri::parse("https://app.example/cb").unwrap();
        assert!(r.matches("https://app.example/cb"));
        assert!(!r.matches("https://app.example/cb/"));
        assert!(!r.matches("https://APP.example/cb"));
        assert!(!r.matches("https://app.example/cb?x=1"));
    }

    #[test]
    fn loopback_ports_may_vary() {
        let r = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(r.matches("http://127.0.0.1:51234/callback"));
        assert!(!r.matches("http://127.0.0.1:51234/other"));
        let r6 = RedirectUri::parse("http://[::1]:80/cb").unwrap();
        assert!(r6.matches("http://[::1]:9999/cb"));
        let l = RedirectUri::parse("http://localhost:80/cb").unwrap();
        assert!(!l.matches("http://localhost:81/cb"));
    }

    #[test]
    fn whitespace_and_control_characters_are_refused() {
        // covers: AZ-02
        // issue 15 finding 7: a URI with a space came back from the SQL
        // stores as two URIs.
        for bad in [
            "https://a.example/cb https://evil.example/cb",
            "https://a.example/c b",
            " https://a.example/cb",
            "https://a.example/cb ",
            "https://a.example/c\tb",
            "https://a.example/c\nb",
            "https://a.example/c\rb",
            "https://a.example/c\u{c}b",
            "https://a.example/c\u{0}b",
            "https://a.example/c\u{7f}b",
            "https://a.example/c\u{85}b",
        ] {
            let e = bad.parse::<RedirectUri>().unwrap_err();
            assert_eq!(
                e.reason(),
                "contains whitespace or a control character",
                "{bad:?}"
            );
        }
        assert!(RedirectUri::parse("https://a.example/c%20b").is_some());
    }

    #[test]
    fn fragments_and_script_schemes_are_refused() {
        assert!(RedirectUri::parse("https://a.example/cb#x").is_none());
        assert!(RedirectUri::parse("javascript:alert(1)").is_none());
        assert!(RedirectUri::parse("/relative").is_none());
        assert!(RedirectUri::parse("com.example.app:/cb").is_some());
    }
}
