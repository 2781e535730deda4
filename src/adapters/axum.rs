//! axum 0.8 integration: translation between axum and the core, and a
//! `Router` mounting the form endpoints. No OAuth logic lives here.
//!
//! The authorization route stays the host's, because it needs the host's
//! login and consent pages: extract an [`OwnedRequest`] and call
//! [`AuthorizationServer::authorize`].

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest};
use axum::http::{HeaderName, HeaderValue, StatusCode, request::Parts};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::bearer::BearerToken;
use crate::http::{Method, Request, Response};
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// One axum request, owned so that a core [`Request`] can borrow from it.
#[derive(Debug)]
pub struct OwnedRequest {
    parts: Parts,
    body: Bytes,
}

impl OwnedRequest {
    /// The core's view of this request.
    pub fn as_request(&self) -> Request<'_> {
        let mut req = Request::new(Method::parse(self.parts.method.as_str())).body(&self.body);
        if let Some(q) = self.parts.uri.query() {
            req = req.query(q);
        }
        for (name, value) in &self.parts.headers {
            req = req.header(name.as_str(), value.as_bytes());
        }
        req
    }

    /// The request's headers (e.g. for the host's session cookie).
    pub fn headers(&self) -> &axum::http::HeaderMap {
        &self.parts.headers
    }
}

impl<S> FromRequest<S> for OwnedRequest
where
    S: Send + Sync,
    Arc<AuthorizationServer>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let limit = Arc::<AuthorizationServer>::from_ref(state)
            .config()
            .max_body_size;
        let (parts, body) = req.into_parts();
        // TOK-08: refuse a declared oversize body without reading it, and stop
        // reading an undeclared one at the limit.
        let declared = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Response::payload_too_large());
        }
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| Response::payload_too_large())?;
        Ok(Self { parts, body })
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> axum::response::Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut out = axum::response::Response::new(Body::empty());
        *out.status_mut() = status;
        for (name, value) in self.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                out.headers_mut().append(name, value);
            }
        }
        *out.body_mut() = Body::from(self.into_body());
        out
    }
}

/// A router serving the token, revocation, introspection and metadata
/// endpoints at the paths of the server's [`crate::Config`].
pub fn routes<S>(server: Arc<AuthorizationServer>) -> Router<S> {
    let paths = server.config().paths.clone();
    Router::new()
        .route(&paths.token, post(token).fallback(token))
        .route(&paths.revocation, post(revoke).fallback(revoke))
        .route(&paths.introspection, post(introspect).fallback(introspect))
        .route(&paths.metadata, get(metadata))
        .route(&paths.jwks, get(jwks))
        .with_state(server)
}

async fn token(
    axum::extract::State(server): axum::extract::State<Arc<AuthorizationServer>>,
    req: OwnedRequest,
) -> Response {
    server.token(&req.as_request()).await
}

async fn revoke(
    axum::extract::State(server): axum::extract::State<Arc<AuthorizationServer>>,
    req: OwnedRequest,
) -> Response {
    server.revoke(&req.as_request()).await
}

async fn introspect(
    axum::extract::State(server): axum::extract::State<Arc<AuthorizationServer>>,
    req: OwnedRequest,
) -> Response {
    server.introspect(&req.as_request()).await
}

async fn metadata(
    axum::extract::State(server): axum::extract::State<Arc<AuthorizationServer>>,
) -> Response {
    server.metadata()
}

async fn jwks(
    axum::extract::State(server): axum::extract::State<Arc<AuthorizationServer>>,
) -> Response {
    server.jwks().await
}

/// Extracting a [`BearerToken`] validates the request's bearer token
/// (RFC 6750) or answers 401 with the `WWW-Authenticate` challenge. Check
/// scopes in the handler with [`AuthorizationServer::require_scope`].
impl<S> axum::extract::FromRequestParts<S> for BearerToken
where
    S: Send + Sync,
    Arc<AuthorizationServer>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let server = Arc::<AuthorizationServer>::from_ref(state);
        let mut req = Request::new(Method::parse(parts.method.as_str()));
        for value in parts.headers.get_all(axum::http::header::AUTHORIZATION) {
            req = req.header("authorization", value.as_bytes());
        }
        server.authenticate_bearer(&req, &ScopeSet::empty()).await
    }
}
