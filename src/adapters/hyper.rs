//! hyper 1 integration: translation between hyper and the core, and a
//! [`Service`] serving the token, revocation, introspection, metadata and
//! JWKS endpoints. No OAuth logic lives here.
//!
//! hyper has no router: put your own routes (the authorization route, with
//! your login and consent pages, and your resources) in front of
//! [`Endpoints`], read requests for them with [`OwnedRequest::read`], and
//! guard resources with [`bearer`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::Service;
use hyper::{HeaderMap, StatusCode};

use super::endpoint::{Endpoint, declared_too_large};
use crate::bearer::BearerToken;
use crate::http::{Method, Request, Response};
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// The boxed error [`Limited`] reports; what request bodies must convert to.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One hyper request, owned so that a core [`Request`] can borrow from it.
#[derive(Debug)]
pub struct OwnedRequest {
    parts: Parts,
    body: Bytes,
}

impl OwnedRequest {
    /// Reads a request, its body up to `limit` bytes (use
    /// `server.config().max_body_size`). A larger body is refused with
    /// [`Response::payload_too_large`]: before reading any of it when its
    /// `Content-Length` says so, else as soon as the limit is passed (TOK-08).
    pub async fn read<B>(req: hyper::Request<B>, limit: usize) -> Result<Self, Response>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let declared = parts.headers.get(CONTENT_LENGTH).map(HeaderValue::as_bytes);
        if declared_too_large(declared, limit) {
            return Err(Response::payload_too_large());
        }
        let body = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|_| Response::payload_too_large())?
            .to_bytes();
        Ok(Self { parts, body })
    }

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
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The request's URI.
    pub fn uri(&self) -> &hyper::Uri {
        &self.parts.uri
    }
}

/// Copies the core's status, headers and body into a hyper response.
impl From<Response> for hyper::Response<Full<Bytes>> {
    fn from(resp: Response) -> Self {
        let status =
            StatusCode::from_u16(resp.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        for (name, value) in resp.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        let mut out = Self::new(Full::new(Bytes::from(resp.into_body())));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }
}

/// Validates the bearer token of a resource request (RFC 6750): the token,
/// or the 401 challenge to send. Check scopes with
/// [`AuthorizationServer::require_scope`]. Only the headers are read, so the
/// body is still yours.
pub async fn bearer<B>(
    server: &AuthorizationServer,
    req: &hyper::Request<B>,
) -> Result<BearerToken, Response> {
    let mut core = Request::new(Method::parse(req.method().as_str()));
    for value in req.headers().get_all(hyper::header::AUTHORIZATION) {
        core = core.header("authorization", value.as_bytes());
    }
    server.authenticate_bearer(&core, &ScopeSet::empty()).await
}

/// A hyper [`Service`] serving the token, revocation, introspection,
/// metadata and JWKS endpoints at the paths of the server's
/// [`crate::Config`]; any other path is a 404. Cheap to clone: one per
/// connection.
#[derive(Clone, Debug)]
pub struct Endpoints {
    server: Arc<AuthorizationServer>,
}

impl Endpoints {
    /// The endpoints of this server.
    pub fn new(server: Arc<AuthorizationServer>) -> Self {
        Self { server }
    }

    /// The server these endpoints call.
    pub fn server(&self) -> &Arc<AuthorizationServer> {
        &self.server
    }

    /// Whether `path` is one of the endpoints (so a host router can fall
    /// through to [`Endpoints::handle`]).
    pub fn serves(&self, path: &str) -> bool {
        Endpoint::find(self.server.config(), path).is_some()
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: hyper::Request<B>) -> hyper::Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let server = &*self.server;
        let Some(endpoint) = Endpoint::find(server.config(), req.uri().path()) else {
            return Response::new(404, Vec::new()).into();
        };
        let resp = if endpoint.reads_body() {
            match OwnedRequest::read(req, server.config().max_body_size).await {
                Ok(owned) => endpoint.call(server, &owned.as_request()).await,
                Err(refused) => refused,
            }
        } else {
            let core = Request::new(Method::parse(req.method().as_str()));
            endpoint.call(server, &core).await
        };
        resp.into()
    }
}

impl<B> Service<hyper::Request<B>> for Endpoints
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = hyper::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
