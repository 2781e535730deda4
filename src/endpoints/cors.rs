//! CORS (the Fetch standard's cross-origin protocol; CO-01): which browser
//! origins may call which endpoint, decided once here for every adapter.
//!
//! - **Documents** (metadata, OpenID configuration, JWKS) are public:
//!   every answer carries `Access-Control-Allow-Origin: *`, whatever the
//!   `Origin`, and a preflight from any origin is let through.
//! - **The client endpoints** (token, revocation, UserInfo, pushed
//!   authorization requests, device authorization) answer the origins
//!   clients registered (`allowed_cors_origins`):
//!   - a *preflight* carries no credentials, so the client is not known
//!     yet: it is let through when some enabled client registered the
//!     origin ([`ClientStore::cors_origin_registered`](crate::ClientStore::cors_origin_registered));
//!   - the *actual response* is readable only by the origins of the
//!     client it concerns: the client the endpoint authenticated (for
//!     UserInfo, the client the access token was issued to). A response
//!     that concerns no client (a request refused before a client was
//!     authenticated: `invalid_client`, a malformed form, an invalid
//!     bearer token) carries nothing but an error, and is readable by the
//!     origins of any client, as the preflight is, so that a browser
//!     client can tell an expired token from a network failure.
//!
//!   Their answers depend on `Origin`, so they always say `Vary: Origin`;
//!   the browser may send `Authorization`, `Content-Type` and `DPoP` and
//!   read `WWW-Authenticate` and `DPoP-Nonce`.
//! - **Introspection** answers no origin: it serves resource servers, which
//!   are not browsers (Hydra does not either).
//! - **Never `Access-Control-Allow-Credentials`**: no endpoint reads a
//!   cookie, and none may be read with the user's.
//! - The authorization, login, consent and logout pages are the host's and
//!   send no CORS headers: they are navigated to, never fetched.
//!
//! An `Origin` is allowed only in the exact form browsers send
//! ([`Origin`]): `null`, an origin with a path, or one written otherwise
//! (upper case, a default port) is nobody's.

use std::sync::Arc;

use crate::client::Client;
use crate::context::Context;
use crate::http::{Header, Method, Request, Response};
use crate::origin::Origin;
use crate::routes::Endpoint;

/// The request headers a browser client may send on a client endpoint.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, DPoP";
/// The same, lower-cased, as `Access-Control-Request-Headers` names them.
const ALLOWED_REQUEST_HEADERS: [&str; 3] = ["authorization", "content-type", "dpop"];
/// The response headers a browser client may read beyond the safelisted
/// ones: the bearer and DPoP challenges and the DPoP nonce.
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";
/// How long a browser may keep a preflight's answer, in seconds: ten
/// minutes, so an origin a client drops stops being let through soon (each
/// actual response is decided anew anyway).
const MAX_AGE: &str = "600";

/// Who may call an endpoint from a browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Any origin (`*`): the public documents.
    AnyOrigin,
    /// The origins registered by clients (`allowed_cors_origins`).
    ClientOrigins,
    /// No origin: no CORS headers at all.
    NoOrigin,
}

impl Policy {
    /// The policy of `endpoint`.
    pub(crate) const fn of(endpoint: Endpoint) -> Self {
        match endpoint {
            Endpoint::Metadata | Endpoint::OpenIdConfiguration | Endpoint::Jwks => Self::AnyOrigin,
            Endpoint::Token
            | Endpoint::Revocation
            | Endpoint::UserInfo
            | Endpoint::PushedAuthorizationRequest
            | Endpoint::DeviceAuthorization => Self::ClientOrigins,
            // Registration (RFC 7591/7592): the origin of a client that does
            // not exist yet is registered nowhere, and the configuration
            // endpoint is for the registrant's back end, not a browser.
            Endpoint::Introspection | Endpoint::Registration | Endpoint::ClientConfiguration => {
                Self::NoOrigin
            }
        }
    }
}

/// The methods `endpoint` answers, as `Allow` and
/// `Access-Control-Allow-Methods` list them (OPTIONS aside).
const fn methods(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Metadata | Endpoint::OpenIdConfiguration | Endpoint::Jwks => "GET, HEAD",
        Endpoint::UserInfo => "GET, POST",
        Endpoint::Token
        | Endpoint::Revocation
        | Endpoint::Introspection
        | Endpoint::PushedAuthorizationRequest
        | Endpoint::DeviceAuthorization
        | Endpoint::Registration => "POST",
        Endpoint::ClientConfiguration => "GET, PUT, DELETE",
    }
}

/// Whether `endpoint` answers `method` (what a preflight asks about).
fn answers(endpoint: Endpoint, method: Method) -> bool {
    methods(endpoint)
        .split(", ")
        .any(|m| Method::parse(m) == method)
}

/// The request's `Origin`, if it is a single origin in the exact form a
/// browser sends (so that echoing it back is echoing what was sent).
fn origin(req: &Request<'_>) -> Option<Origin> {
    let Header::One(bytes) = req.origin() else {
        return None;
    };
    let sent = std::str::from_utf8(bytes).ok()?;
    Origin::parse(sent).filter(|o| o.as_str() == sent)
}

/// Whether a preflight's `Access-Control-Request-Headers` names only
/// headers a client endpoint lets through (absent: none asked).
fn request_headers_allowed(req: &Request<'_>) -> bool {
    match req.access_control_request_headers() {
        Header::Absent => true,
        Header::Repeated => false,
        Header::One(bytes) => std::str::from_utf8(bytes).is_ok_and(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .all(|name| {
                    ALLOWED_REQUEST_HEADERS
                        .iter()
                        .any(|allowed| allowed.eq_ignore_ascii_case(name))
                })
        }),
    }
}

/// Whether some enabled client registered `origin`; a store failure is
/// logged and answered no (the browser then refuses to read the answer).
async fn registered(cx: &Context, origin: &Origin) -> bool {
    match cx.clients.cors_origin_registered(origin).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "portcullis: CORS origin look-up failed; origin refused");
            false
        }
    }
}

/// The answer to `OPTIONS` at `endpoint`: `204` with `Allow`, and, for a
/// CORS preflight the endpoint's policy lets through (its origin, the
/// method it asks for and the headers it names), the
/// `Access-Control-Allow-*` headers. A preflight that is refused gets the
/// same `204` without them, which the browser reads as a refusal.
pub(crate) async fn preflight(cx: &Context, endpoint: Endpoint, req: &Request<'_>) -> Response {
    let policy = Policy::of(endpoint);
    let allow = format!("{}, OPTIONS", methods(endpoint));
    let plain = Response::new(204, Vec::new()).with_header("Allow", allow);
    let plain = match policy {
        Policy::ClientOrigins => plain.with_header("Vary", "Origin"),
        Policy::AnyOrigin | Policy::NoOrigin => plain,
    };
    let asked = match req.access_control_request_method() {
        Header::One(m) => std::str::from_utf8(m).map(Method::parse).ok(),
        Header::Absent | Header::Repeated => None,
    };
    let Some(asked) = asked.filter(|m| answers(endpoint, *m)) else {
        return plain;
    };
    match policy {
        Policy::NoOrigin => plain,
        Policy::AnyOrigin => plain
            .with_header("Access-Control-Allow-Origin", "*")
            .with_header("Access-Control-Allow-Methods", methods(endpoint))
            .with_header("Access-Control-Max-Age", MAX_AGE),
        Policy::ClientOrigins => {
            let Some(origin) = origin(req) else {
                return plain;
            };
            if !request_headers_allowed(req) || !registered(cx, &origin).await {
                tracing::debug!(%origin, ?asked, "portcullis: CORS preflight refused");
                return plain;
            }
            plain
                .with_header("Access-Control-Allow-Origin", origin.as_str().to_owned())
                .with_header("Access-Control-Allow-Methods", methods(endpoint))
                .with_header("Access-Control-Allow-Headers", ALLOW_HEADERS)
                .with_header("Access-Control-Max-Age", MAX_AGE)
        }
    }
}

/// The CORS headers of a public document's answer: `*`, whatever the
/// request.
pub(crate) fn public(response: Response) -> Response {
    response.with_header("Access-Control-Allow-Origin", "*")
}

/// The CORS headers of a client endpoint's answer to `req` (see the module
/// documentation): `concerning` is the client the endpoint authenticated
/// (UserInfo: the access token's client), `None` if the request was
/// refused before one was.
pub(crate) async fn actual(
    cx: &Context,
    endpoint: Endpoint,
    req: &Request<'_>,
    concerning: Option<&Arc<Client>>,
    response: Response,
) -> Response {
    match Policy::of(endpoint) {
        Policy::NoOrigin => return response,
        Policy::AnyOrigin => return public(response),
        Policy::ClientOrigins => {}
    }
    let response = response.with_header("Vary", "Origin");
    let Some(origin) = origin(req) else {
        return response;
    };
    let allowed = match concerning {
        Some(client) => client.allowed_cors_origins().contains(&origin),
        None => registered(cx, &origin).await,
    };
    if !allowed {
        tracing::debug!(%origin, ?endpoint, "portcullis: CORS origin not allowed");
        return response;
    }
    response
        .with_header("Access-Control-Allow-Origin", origin.as_str().to_owned())
        .with_header("Access-Control-Expose-Headers", EXPOSE_HEADERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_policy_and_its_methods() {
        // covers: CO-01
        for e in Endpoint::ALL {
            let listed = methods(e);
            for m in [Method::Get, Method::Post, Method::Head] {
                let name = match m {
                    Method::Get => "GET",
                    Method::Post => "POST",
                    _ => "HEAD",
                };
                assert_eq!(answers(e, m), listed.contains(name), "{e:?} {name}");
            }
            assert!(!answers(e, Method::Options));
        }
        assert_eq!(Policy::of(Endpoint::Introspection), Policy::NoOrigin);
        assert_eq!(Policy::of(Endpoint::Jwks), Policy::AnyOrigin);
        assert_eq!(Policy::of(Endpoint::Token), Policy::ClientOrigins);
    }

    #[test]
    fn only_an_origin_as_browsers_send_it_is_read() {
        // covers: CO-01
        let of = |v: &'static [u8]| origin(&Request::new(Method::Post).header("Origin", v));
        assert!(of(b"https://app.example").is_some());
        assert!(of(b"http://localhost:3000").is_some());
        for bad in [
            &b"null"[..],
            b"https://APP.example",
            b"https://app.example:443",
            b"https://app.example/",
            b"http://app.example",
            b"",
            b"\xff",
        ] {
            assert!(of(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn requested_headers_are_checked_against_the_list() {
        // covers: CO-01
        let asks = |v: &'static [u8]| {
            request_headers_allowed(
                &Request::new(Method::Options).header("Access-Control-Request-Headers", v),
            )
        };
        assert!(asks(b"authorization,content-type,dpop"));
        assert!(asks(b"DPoP, Authorization"));
        assert!(asks(b""));
        assert!(!asks(b"authorization,x-requested-with"));
        assert!(!asks(b"cookie"));
        assert!(request_headers_allowed(&Request::new(Method::Options)));
    }
}
