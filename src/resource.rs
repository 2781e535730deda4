//! `Resource`: a resource indicator (RFC 8707): the absolute URI of a
//! protected resource a client asks a token for, which becomes the token's
//! audience (RI-01). Parsed at the edge; comparisons are exact string
//! comparisons of the URI as registered (no normalisation).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::error::Error;

/// A resource indicator: an absolute URI (RFC 3986 §4.3) without fragment,
/// at most 2048 bytes, with no whitespace or control character (RFC 8707
/// §2). A query is allowed (the RFC discourages it but does not forbid it).
/// Cloning shares the string.
///
/// ```
/// use portcullis::Resource;
/// let api: Resource = "https://api.example.com/".parse().unwrap();
/// assert_eq!(api.as_str(), "https://api.example.com/");
/// assert!(Resource::parse("/relative").is_none());
/// assert!(Resource::parse("https://api.example.com/#frag").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(Arc<str>);

impl Resource {
    /// Parses a resource indicator; `None` if it is not one. `str::parse`
    /// and `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The URI, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Resource {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("resource", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 2048 {
            return err("is longer than 2048 bytes");
        }
        // Stores and the audience of a token keep it as it is; whitespace
        // would not survive a space-separated list.
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        if s.contains('#') {
            return err("has a fragment (RFC 8707 §2)");
        }
        // `url` parses only absolute URIs: a relative reference fails.
        if url::Url::parse(s).is_err() {
            return err("is not an absolute URI");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(Resource);
serde_as_str!(Resource);

/// The `resource` parameters of a request, parsed: each must be a
/// [`Resource`] (else `invalid_target`, RFC 8707 §2); duplicates collapse,
/// and the list comes back sorted.
pub(crate) fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Resource>, Error> {
    let mut out = Vec::new();
    for v in values {
        out.push(Resource::parse(v).ok_or(Error::InvalidTarget)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The resources a token request is granted: `requested` when every one is
/// within `ceiling`, else `invalid_target`; without any requested, the
/// `default` (what the grant had, or none).
pub(crate) fn within(
    requested: Vec<Resource>,
    ceiling: impl Fn(&Resource) -> bool,
    default: &[Resource],
) -> Result<Vec<Resource>, Error> {
    if requested.is_empty() {
        return Ok(default.to_vec());
    }
    if requested.iter().all(ceiling) {
        Ok(requested)
    } else {
        Err(Error::InvalidTarget)
    }
}

#[cfg(any(test, feature = "postgres", feature = "sqlite", feature = "mysql"))]
/// The `resources` column of a code or token: a JSON array, NULL for none.
pub(crate) fn to_json(resources: &[Resource]) -> Option<String> {
    (!resources.is_empty()).then(|| {
        serde_json::to_string(&resources.iter().map(Resource::as_str).collect::<Vec<_>>())
            .unwrap_or_default()
    })
}

#[cfg(any(test, feature = "postgres", feature = "sqlite", feature = "mysql"))]
/// Reads a `resources` column written by [`to_json`]; `None` if it is not
/// such a list.
pub(crate) fn from_json(column: Option<&str>) -> Option<Vec<Resource>> {
    let Some(text) = column else {
        return Some(Vec::new());
    };
    let list: Vec<String> = serde_json::from_str(text).ok()?;
    list.iter().map(|s| Resource::parse(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_syntax() {
        // covers: RI-01
        for ok in [
            "https://api.example.com",
            "https://api.example.com/v1?x=1",
            "urn:example:reports",
            "http://localhost:8080/api",
        ] {
            assert!(Resource::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "api.example.com",
            "https://api.example.com/#f",
            "https://api.example.com/#",
            "https://a b",
            "https://a\u{0}",
        ] {
            assert!(Resource::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Resource::parse(&format!("https://a/{}", "x".repeat(2048))).is_none());
    }

    #[test]
    fn requested_resources_within_a_ceiling() {
        let r = |s| Resource::parse(s).unwrap();
        let all = parse_all(["https://b", "https://a", "https://b"]).unwrap();
        assert_eq!(all, [r("https://a"), r("https://b")]);
        assert!(matches!(parse_all(["/x"]), Err(Error::InvalidTarget)));
        let granted = [r("https://a"), r("https://b")];
        let ceiling = |x: &Resource| granted.contains(x);
        assert_eq!(
            within(vec![r("https://a")], ceiling, &granted).unwrap(),
            [r("https://a")]
        );
        assert_eq!(within(vec![], ceiling, &granted).unwrap(), granted);
        assert!(within(vec![r("https://c")], ceiling, &granted).is_err());
        let json = to_json(&granted).unwrap();
        assert_eq!(json, r#"["https://a","https://b"]"#);
        assert_eq!(from_json(Some(&json)).unwrap(), granted);
        assert_eq!(from_json(None).unwrap(), []);
        assert!(from_json(Some("[\"/x\"]")).is_none());
        assert_eq!(to_json(&[]), None);
    }
}
