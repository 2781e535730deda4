//! The `htu` of a DPoP proof (RFC 9449 §4.3): compared with the request's
//! URL after RFC 3986 §6.2.2/§6.2.3 normalisation (scheme and host in lower
//! case, default port dropped, dot segments removed, empty path `/`), with
//! the query and fragment ignored.

/// The normalised form of an absolute `http` or `https` URL, without its
/// query and fragment; `None` if it is not such a URL (or has user
/// information).
pub(crate) fn normalise(u: &str) -> Option<String> {
    let mut url = url::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || url.cannot_be_a_base()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.host().is_none()
    {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// Whether a proof's `htu` names `url`.
pub(crate) fn matches(htu: &str, url: &str) -> bool {
    match (normalise(htu), normalise(url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        // covers: DP-01
        let t = "https://as.example/token";
        assert!(matches("HTTPS://AS.Example:443/token", t));
        assert!(matches("https://as.example/token?x=1#f", t));
        assert!(matches("https://as.example/a/../token", t));
        assert!(matches("http://as.example:80/", "http://as.example"));
        assert!(!matches("https://as.example:8443/token", t));
        assert!(!matches("http://as.example/token", t));
        assert!(!matches("https://as.example/Token", t));
        assert!(!matches("https://as.example/token/", t));
        assert!(!matches("https://u@as.example/token", t));
        assert!(!matches("/token", t));
        assert!(!matches("urn:x:y", "urn:x:y"));
    }
}
