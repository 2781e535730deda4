//! `WebUrl`: an absolute `http` or `https` URL without a fragment, as the
//! URL-valued client metadata of OpenID Connect Registration 1.0 §2 is
//! (`logo_uri`, `policy_uri`, `tos_uri`, `client_uri`,
//! `sector_identifier_uri`, `backchannel_logout_uri`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// An absolute `http` or `https` URL with a host and no fragment, kept as
/// written (so it round-trips through every store unchanged). Cloning
/// shares the string.
///
/// ```
/// use portcullis::WebUrl;
/// let url: WebUrl = "https://rp.example/logout?x=1".parse().unwrap();
/// assert_eq!(url.host(), "rp.example");
/// assert!(url.is_https());
/// assert!(WebUrl::parse("https://rp.example/#top").is_none());
/// assert!(WebUrl::parse("ftp://rp.example/").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebUrl {
    url: Arc<str>,
    /// The host component, lower-cased by the URL parser.
    host: Arc<str>,
    https: bool,
    loopback: bool,
}

impl WebUrl {
    /// Parses a URL; `None` if it is not one. `str::parse` and `TryFrom`
    /// say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The host component (a domain name lower-cased, or an IP literal;
    /// an IPv6 literal in brackets), without the port.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is the loopback interface (`127.0.0.0/8`, `[::1]`
    /// or `localhost`), where plain `http` does not cross the network.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl FromStr for WebUrl {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("URL", reason));
        // `Url::parse` drops tabs and newlines, so the URL kept would not
        // be the one parsed; stores also keep some URL lists separated.
        if s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        let Ok(url) = url::Url::parse(s) else {
            return err("is not an absolute URL");
        };
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return err("is not an http or https URL"),
        };
        if url.fragment().is_some() {
            return err("has a fragment");
        }
        let (host, loopback) = match url.host() {
            Some(url::Host::Domain(d)) => (d.to_owned(), d.eq_ignore_ascii_case("localhost")),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(url::Host::Ipv6(ip)) => (format!("[{ip}]"), ip.is_loopback()),
            None => return err("has no host"),
        };
        if host.is_empty() {
            return err("has no host");
        }
        Ok(Self {
            url: s.into(),
            host: host.into(),
            https,
            loopback,
        })
    }
}

try_from_str!(WebUrl);
serde_as_str!(WebUrl);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_and_no_fragment() {
        let u = WebUrl::parse("HTTPS://RP.Example:8443/a?b=c").unwrap();
        assert_eq!(u.as_str(), "HTTPS://RP.Example:8443/a?b=c");
        assert_eq!(u.host(), "rp.example");
        assert!(u.is_https() && !u.is_loopback());
        let local = WebUrl::parse("http://127.0.0.1:8766/backchannel-logout").unwrap();
        assert_eq!(local.host(), "127.0.0.1");
        assert!(!local.is_https() && local.is_loopback());
        assert_eq!(WebUrl::parse("http://[::1]/x").unwrap().host(), "[::1]");
        for (bad, why) in [
            ("rp.example/x", "URL: is not an absolute URL"),
            ("https://rp.example/#f", "URL: has a fragment"),
            ("javascript:alert(1)", "URL: is not an http or https URL"),
            ("urn:example:x", "URL: is not an http or https URL"),
            (
                "https://rp.example/a b",
                "URL: contains whitespace or a control character",
            ),
        ] {
            assert_eq!(bad.parse::<WebUrl>().unwrap_err().to_string(), why, "{bad}");
        }
    }
}
