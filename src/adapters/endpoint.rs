//! The endpoint table shared by the adapters that route by path themselves
//! (actix-web, hyper): which path is which endpoint, and the body limit check
//! on a declared length. Routing only: every OAuth rule stays in the core.

use crate::config::Config;
use crate::http::{Method, Request, Response};
use crate::server::AuthorizationServer;

/// One of the endpoints an adapter mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Revocation,
    Introspection,
    Metadata,
    Jwks,
}

impl Endpoint {
    pub(crate) const ALL: [Self; 5] = [
        Self::Token,
        Self::Revocation,
        Self::Introspection,
        Self::Metadata,
        Self::Jwks,
    ];

    /// The path this endpoint is served at.
    pub(crate) fn path(self, config: &Config) -> &str {
        let paths = &config.paths;
        match self {
            Self::Token => &paths.token,
            Self::Revocation => &paths.revocation,
            Self::Introspection => &paths.introspection,
            Self::Metadata => &paths.metadata,
            Self::Jwks => &paths.jwks,
        }
    }

    /// The endpoint served at `path`, if any.
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn find(config: &Config, path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.path(config) == path)
    }

    /// Whether the endpoint reads a form body (the others are GET documents).
    pub(crate) const fn reads_body(self) -> bool {
        matches!(self, Self::Token | Self::Revocation | Self::Introspection)
    }

    /// Calls the core. The form endpoints check the method themselves (405
    /// with `Allow: POST`); the documents answer GET and HEAD, and 405 with
    /// `Allow: GET, HEAD` otherwise, as axum's `get` routing does.
    pub(crate) async fn call(self, server: &AuthorizationServer, req: &Request<'_>) -> Response {
        let document = matches!(req.method(), Method::Get | Method::Head);
        match self {
            Self::Token => server.token(req).await,
            Self::Revocation => server.revoke(req).await,
            Self::Introspection => server.introspect(req).await,
            Self::Metadata | Self::Jwks if !document => {
                Response::new(405, Vec::new()).with_header("Allow", "GET, HEAD")
            }
            Self::Metadata => server.metadata(),
            Self::Jwks => server.jwks().await,
        }
    }
}

/// TOK-08: whether a declared `Content-Length` is over the limit, so the
/// body must be refused without reading it. An unparsable length is left to
/// the HTTP server, which refuses it before the adapter runs.
pub(crate) fn declared_too_large(content_length: Option<&[u8]>, limit: usize) -> bool {
    content_length
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_length_over_the_limit_is_refused() {
        assert!(declared_too_large(Some(b"1048576"), 65_536));
        assert!(!declared_too_large(Some(b"65536"), 65_536));
        assert!(!declared_too_large(None, 65_536));
        assert!(!declared_too_large(Some(b"nope"), 65_536));
    }

    #[test]
    fn paths_map_to_endpoints() {
        let config = Config::new("https://auth.example.com");
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::find(&config, e.path(&config)), Some(e));
        }
        assert_eq!(Endpoint::find(&config, "/nope"), None);
    }
}
