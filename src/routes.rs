//! The HTTP boundary's decisions, made once for every adapter: which path
//! is which endpoint ([`Endpoint`], from `Config::paths`), which methods an
//! endpoint answers, how large a body may be ([`BodyLimit`]), and the
//! answers to a request refused before any endpoint runs ([`Refusal`]: 404,
//! 405, 413, 500). Adapters only report what they saw and write the
//! [`Response`] they get back.

use std::borrow::Cow;

use crate::config::{Config, EndpointPaths};
use crate::error::InternalFault;
use crate::http::{Method, Response};

/// One of the endpoints the core serves by path (the authorization
/// endpoint is the host's: it needs the host's login and consent pages).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The token endpoint (RFC 6749 §3.2).
    Token,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// The introspection endpoint (RFC 7662).
    Introspection,
    /// The authorization server metadata document (RFC 8414).
    Metadata,
    /// The OpenID Provider configuration document (OpenID Connect
    /// Discovery 1.0 §4, `/.well-known/openid-configuration`).
    OpenIdConfiguration,
    /// The JWKS document.
    Jwks,
    /// The OpenID Connect UserInfo endpoint (Core §5.3), served only by a
    /// server with a [`UserClaims`](crate::oidc::UserClaims) (see
    /// `AuthorizationServer::serves`).
    UserInfo,
    /// The pushed authorization request endpoint (RFC 9126), served only
    /// by a server with an
    /// [`AuthorizationRequestStore`](crate::AuthorizationRequestStore) that
    /// offers the code flow (see `AuthorizationServer::serves`).
    PushedAuthorizationRequest,
    /// The device authorization endpoint (RFC 8628 §3.1), served only by a
    /// server that offers the device grant (see `AuthorizationServer::serves`).
    DeviceAuthorization,
    /// The client registration endpoint (RFC 7591 §3), served only once
    /// the host turns registration on (see `AuthorizationServer::serves`).
    Registration,
    /// A registered client's configuration endpoint (RFC 7592), at the
    /// registration path, `/`, and the client's id: served with
    /// [`Endpoint::Registration`]. Its [`path`](Endpoint::path) is the
    /// registration path; adapters mount its [`route`](Endpoint::route).
    ClientConfiguration,
}

impl Endpoint {
    /// Every endpoint the core can serve by path. A server serves some of
    /// them only when configured to: adapters mount
    /// `AuthorizationServer::endpoints`.
    pub const ALL: [Self; 11] = [
        Self::Token,
        Self::Revocation,
        Self::Introspection,
        Self::Metadata,
        Self::OpenIdConfiguration,
        Self::Jwks,
        Self::UserInfo,
        Self::PushedAuthorizationRequest,
        Self::DeviceAuthorization,
        Self::Registration,
        Self::ClientConfiguration,
    ];

    /// The name of the path segment holding the client's id in
    /// [`Endpoint::ClientConfiguration`]'s [`route`](Endpoint::route).
    pub const CLIENT_ID_SEGMENT: &'static str = "client_id";

    /// The path this endpoint is served at.
    pub fn path(self, paths: &EndpointPaths) -> &str {
        match self {
            Self::Token => &paths.token,
            Self::Revocation => &paths.revocation,
            Self::Introspection => &paths.introspection,
            Self::Metadata => &paths.metadata,
            Self::OpenIdConfiguration => &paths.openid_configuration,
            Self::Jwks => &paths.jwks,
            Self::UserInfo => &paths.userinfo,
            Self::PushedAuthorizationRequest => &paths.pushed_authorization_request,
            Self::DeviceAuthorization => &paths.device_authorization,
            Self::Registration | Self::ClientConfiguration => &paths.registration,
        }
    }

    /// The route pattern an adapter mounts the endpoint at: its
    /// [`path`](Endpoint::path), but for
    /// [`Endpoint::ClientConfiguration`], the registration path followed by
    /// `/{client_id}` (axum's and actix-web's syntax; the segment is
    /// named [`Endpoint::CLIENT_ID_SEGMENT`]).
    pub fn route(self, paths: &EndpointPaths) -> Cow<'_, str> {
        match self {
            Self::ClientConfiguration => Cow::Owned(format!(
                "{}/{{{}}}",
                paths.registration,
                Self::CLIENT_ID_SEGMENT
            )),
            other => Cow::Borrowed(other.path(paths)),
        }
    }

    /// The path of a request to this endpoint, for an adapter that matched
    /// its [`route`](Endpoint::route) and took the `client_id` segment out
    /// of it (actix-web): what [`AuthorizationServer::handle`](crate::AuthorizationServer::handle)
    /// takes.
    pub fn request_path<'p>(
        self,
        paths: &'p EndpointPaths,
        client_id: Option<&str>,
    ) -> Cow<'p, str> {
        match (self, client_id) {
            (Self::ClientConfiguration, Some(id)) => {
                Cow::Owned(format!("{}/{}", paths.registration, id))
            }
            (other, _) => Cow::Borrowed(other.path(paths)),
        }
    }

    /// The client id in the path of a request to the client configuration
    /// endpoint: one non-empty segment after the registration path.
    pub fn client_id_in<'p>(paths: &EndpointPaths, path: &'p str) -> Option<&'p str> {
        let id = path
            .strip_prefix(paths.registration.as_str())?
            .strip_prefix('/')?;
        (!id.is_empty() && !id.contains('/')).then_some(id)
    }

    /// The endpoint served at `path`, if any (exact match).
    pub fn find(paths: &EndpointPaths, path: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .filter(|e| *e != Self::ClientConfiguration)
            .find(|e| e.path(paths) == path)
            .or_else(|| Self::client_id_in(paths, path).map(|_| Self::ClientConfiguration))
    }

    /// Whether the endpoint reads a form body; the documents read none, so
    /// an adapter need not read it. UserInfo does: a POST may carry the
    /// access token in its form body (RFC 6750 §2.2).
    pub const fn reads_body(self) -> bool {
        matches!(
            self,
            Self::Token
                | Self::Revocation
                | Self::Introspection
                | Self::UserInfo
                | Self::PushedAuthorizationRequest
                | Self::DeviceAuthorization
                | Self::Registration
                | Self::ClientConfiguration
        )
    }

    /// Whether the endpoint answers `method`. The form endpoints take every
    /// method here and refuse all but POST themselves, with an OAuth error
    /// and `Allow: POST`; the documents answer GET and HEAD only; UserInfo
    /// GET and POST (Core §5.3.1).
    pub fn admits(self, method: Method) -> Result<(), Refusal> {
        match self {
            Self::Metadata | Self::OpenIdConfiguration | Self::Jwks
                if !matches!(method, Method::Get | Method::Head) =>
            {
                Err(Refusal::MethodNotAllowed { allow: "GET, HEAD" })
            }
            Self::UserInfo if !matches!(method, Method::Get | Method::Post) => {
                Err(USERINFO_METHODS)
            }
            Self::Registration if method != Method::Post => {
                Err(Refusal::MethodNotAllowed { allow: "POST" })
            }
            Self::ClientConfiguration
                if !matches!(method, Method::Get | Method::Put | Method::Delete) =>
            {
                Err(Refusal::MethodNotAllowed {
                    allow: "GET, PUT, DELETE",
                })
            }
            _ => Ok(()),
        }
    }
}

/// What UserInfo answers a method other than GET and POST.
const USERINFO_METHODS: Refusal = Refusal::MethodNotAllowed { allow: "GET, POST" };

/// The largest request body the core reads (`Config::max_body_size`),
/// and the check an adapter makes with it (TOK-08).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit(usize);

impl BodyLimit {
    /// The limit of this configuration.
    pub const fn of(config: &Config) -> Self {
        Self(config.max_body_size)
    }

    /// The most bytes to read; one more is [`Refusal::BodyTooLarge`].
    pub const fn max(self) -> usize {
        self.0
    }

    /// Checks the `Content-Length` the request declares, before any of the
    /// body is read: over the limit, refuse it unread. An unparsable length
    /// is left to the HTTP server, which refuses it before the adapter runs;
    /// the read itself stops at [`BodyLimit::max`].
    pub fn admits_declared(self, content_length: Option<&[u8]>) -> Result<(), Refusal> {
        let declared =
            content_length.and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
        match declared {
            Some(n) if n > self.0 as u64 => Err(Refusal::BodyTooLarge),
            _ => Ok(()),
        }
    }
}

/// A request the boundary refuses before any endpoint runs. Adapters report
/// it; `Response::from` renders the answer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No endpoint at this path: `404`, no body.
    #[error("no endpoint at this path")]
    NotFound,
    /// The endpoint does not answer this method: `405` with `Allow`.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed {
        /// The methods it answers, as the `Allow` header lists them.
        allow: &'static str,
    },
    /// The body is over the limit, declared or read: `413 invalid_request`
    /// (TOK-08).
    #[error("request body over the configured limit")]
    BodyTooLarge,
    /// The adapter was not given the server it needs (a wiring fault of the
    /// host, logged by the adapter): `500 server_error`.
    #[error("the adapter is not wired to a server: {0}")]
    NotWired(&'static str),
}

impl From<Refusal> for Response {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::new(404, Vec::new()),
            Refusal::MethodNotAllowed { allow } => {
                Self::new(405, Vec::new()).with_header("Allow", allow)
            }
            Refusal::BodyTooLarge => Self::payload_too_large(),
            Refusal::NotWired(_) => Self::server_error(InternalFault::NotWired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_endpoints() {
        let config = Config::new("https://auth.example.com");
        for e in Endpoint::ALL {
            let path = e.request_path(&config.paths, Some("c1"));
            assert_eq!(Endpoint::find(&config.paths, &path), Some(e));
        }
        assert_eq!(
            Endpoint::ClientConfiguration.route(&config.paths),
            "/register/{client_id}"
        );
        assert_eq!(
            Endpoint::find(&config.paths, "/register/a/b"),
            None,
            "one segment only"
        );
        assert_eq!(Endpoint::find(&config.paths, "/register/"), None);
        assert_eq!(Endpoint::find(&config.paths, "/nope"), None);
        assert_eq!(Endpoint::find(&config.paths, "/token/"), None);
    }

    #[test]
    fn documents_answer_get_and_head_only() {
        for e in [
            Endpoint::Metadata,
            Endpoint::OpenIdConfiguration,
            Endpoint::Jwks,
        ] {
            assert_eq!(e.admits(Method::Get), Ok(()));
            assert_eq!(e.admits(Method::Head), Ok(()));
            let refused = Response::from(e.admits(Method::Post).unwrap_err());
            assert_eq!(refused.status(), 405);
            assert_eq!(refused.header("allow"), Some("GET, HEAD"));
        }
        // The form endpoints refuse other methods themselves (with Allow: POST).
        assert_eq!(Endpoint::Token.admits(Method::Get), Ok(()));
    }

    #[test]
    fn userinfo_answers_get_and_post_and_reads_the_body() {
        // covers: OI-05
        // issue 16
        let e = Endpoint::UserInfo;
        assert_eq!(e.admits(Method::Get), Ok(()));
        assert_eq!(e.admits(Method::Post), Ok(()));
        for method in [Method::Head, Method::Other] {
            let refused = Response::from(e.admits(method).unwrap_err());
            assert_eq!(refused.status(), 405);
            assert_eq!(refused.header("allow"), Some("GET, POST"));
        }
        assert!(e.reads_body());
        let config = Config::new("https://auth.example.com");
        assert_eq!(e.path(&config.paths), "/userinfo");
    }

    #[test]
    fn declared_length_over_the_limit_is_refused() {
        // covers: TOK-08
        let limit = BodyLimit(65_536);
        assert_eq!(
            limit.admits_declared(Some(b"1048576")),
            Err(Refusal::BodyTooLarge)
        );
        assert_eq!(
            limit.admits_declared(Some(b"65537")),
            Err(Refusal::BodyTooLarge)
        );
        assert_eq!(limit.admits_declared(Some(b"65536")), Ok(()));
        assert_eq!(limit.admits_declared(None), Ok(()));
        assert_eq!(limit.admits_declared(Some(b"nope")), Ok(()));
        let r = Response::from(Refusal::BodyTooLarge);
        assert_eq!(r.status(), 413);
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }

    #[test]
    fn refusals_render_as_the_core_decides() {
        let r = Response::from(Refusal::NotFound);
        assert_eq!((r.status(), r.body()), (404, &b""[..]));
        let r = Response::from(Refusal::NotWired("no server"));
        assert_eq!(r.status(), 500);
        assert_eq!(r.error(), Some(crate::ErrorCode::ServerError));
    }
}
