//! The HTTP boundary as tower services (feature `tower`): [`Endpoints`], a
//! `tower::Service` serving the token, revocation, introspection, metadata,
//! JWKS and (with a `UserClaims`) UserInfo endpoints, and [`BearerLayer`], a `tower::Layer` guarding a
//! resource route with required scopes. axum (`Router::route_service`,
//! `nest_service`), hyper (through `hyper_util::service::TowerToHyperService`)
//! and other tower hosts mount them as they are; the axum and hyper adapters
//! are thin layers over this module.
//!
//! Only translation happens here: which path is which endpoint, which
//! methods it answers and the body limit are the core's
//! ([`crate::routes`]); every answer is a core [`Response`].

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

use crate::http::{Request, Response};
use crate::routes::{BodyLimit, Endpoint, Refusal};
use crate::server::AuthorizationServer;

/// The error a request body must convert to (as `http_body_util` reports it).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body of the services here.
pub type ResponseBody = Full<Bytes>;

/// The future of the services here.
mod bearer;
use bearer::BoxFuture;
pub use bearer::{BearerLayer, RequireBearer};

/// One `http` request with its body read, owned so that a core [`Request`]
/// can borrow from it.
#[derive(Debug)]
pub struct OwnedRequest {
    parts: Parts,
    body: Bytes,
}

impl OwnedRequest {
    /// Reads a request, its body within the server's [`BodyLimit`]. A
    /// larger body is refused with the core's 413: before any of it is read
    /// when its `Content-Length` says so, else when the limit is passed
    /// (TOK-08).
    pub async fn read<B>(
        req: http::Request<B>,
        server: &AuthorizationServer,
    ) -> Result<Self, Response>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let limit = BodyLimit::of(server.config());
        let (parts, body) = req.into_parts();
        limit.admits_declared(parts.headers.get(CONTENT_LENGTH).map(|v| v.as_bytes()))?;
        let body = match Limited::new(body, limit.max()).collect().await {
            Ok(collected) => collected.to_bytes(),
            // Over the limit (or cut short): the core answers.
            Err(_) => return Err(Refusal::BodyTooLarge.into()),
        };
        Ok(Self { parts, body })
    }

    /// The core's view of this request.
    pub fn as_request(&self) -> Request<'_> {
        Request::from_http_parts(&self.parts).body(&self.body)
    }

    /// The request's head (e.g. its headers, for the host's session cookie).
    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The request's headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.parts.headers
    }

    /// The request's URI.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }
}

/// A `tower::Service` serving the endpoints of the server
/// ([`AuthorizationServer::endpoints`]: token, revocation, introspection,
/// metadata, JWKS, and UserInfo when it has a `UserClaims`) at the paths of
/// its [`crate::Config`], matched against the request's path as the service
/// sees it; any other path is the core's 404. Cheap to clone.
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

    /// Whether `path` is one of the endpoints (so a host router can send
    /// the request on to [`Endpoints::handle`]).
    pub fn serves(&self, path: &str) -> bool {
        self.server.endpoint_at(path).is_some()
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let server = &*self.server;
        let endpoint = server.endpoint_at(req.uri().path());
        let resp = if endpoint.is_some_and(Endpoint::reads_body) {
            match OwnedRequest::read(req, server).await {
                Ok(req) => server.handle(&req.as_request(), req.uri().path()).await,
                Err(refused) => refused,
            }
        } else {
            let (parts, _) = req.into_parts();
            server
                .handle(&Request::from_http_parts(&parts), parts.uri.path())
                .await
        };
        resp.into()
    }
}

impl<B> tower::Service<http::Request<B>> for Endpoints
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
