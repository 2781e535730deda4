//! axum 0.8 integration, a thin layer over the [`super::tower`] boundary:
//! extractors, `IntoResponse` for the core's [`Response`], and a `Router`
//! mounting the [`Endpoints`] service at the paths of the server's
//! [`crate::Config`]. No OAuth logic and no HTTP decision lives here.
//!
//! The authorization route stays the host's, because it needs the host's
//! login and consent pages: extract an [`OwnedRequest`] and call
//! [`AuthorizationServer::authorize`].

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::response::IntoResponse;

pub use super::tower::{BearerLayer, Endpoints, OwnedRequest};
use crate::bearer::BearerToken;
use crate::http::{Request, Response};
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// Reads the request, its body within `Config::max_body_size`; a larger one
/// is refused with the core's 413 (TOK-08).
impl<S> FromRequest<S> for OwnedRequest
where
    S: Send + Sync,
    Arc<AuthorizationServer>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        Self::read(req, &Arc::<AuthorizationServer>::from_ref(state)).await
    }
}

/// Writes the core's status, headers and body, nothing else.
impl IntoResponse for Response {
    fn into_response(self) -> axum::response::Response {
        axum::http::Response::<Body>::from(self)
    }
}

/// A router serving the endpoints of the server
/// ([`AuthorizationServer::endpoints`]: token, revocation, introspection,
/// metadata, JWKS, and UserInfo when it has a `UserClaims`) at the paths of
/// its [`crate::Config`] (one [`Endpoints`] service at each); merge it into
/// the host's router.
pub fn routes<S>(server: Arc<AuthorizationServer>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let endpoints = Endpoints::new(server);
    let paths = &endpoints.server().config().paths;
    endpoints
        .server()
        .endpoints()
        .fold(Router::new(), |router, endpoint| {
            router.route_service(&endpoint.route(paths), endpoints.clone())
        })
}

/// Extracting a [`BearerToken`] takes the one a [`BearerLayer`] validated,
/// or validates the request's bearer token (RFC 6750) and answers 401 with
/// the `WWW-Authenticate` challenge. Check scopes in the handler with
/// [`AuthorizationServer::require_scope`], or put a [`BearerLayer`] with
/// the required scopes on the route.
impl<S> FromRequestParts<S> for BearerToken
where
    S: Send + Sync,
    Arc<AuthorizationServer>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        if let Some(token) = parts.extensions.get::<Self>() {
            return Ok(token.clone());
        }
        let server = Arc::<AuthorizationServer>::from_ref(state);
        let req = Request::from_http_parts(parts);
        server.authenticate_bearer(&req, &ScopeSet::empty()).await
    }
}
