//! actix-web 4 integration: translation between actix-web and the core, and
//! a service configuration mounting the token, revocation, introspection,
//! metadata and JWKS endpoints. No OAuth logic lives here.
//!
//! The server is shared as `web::Data<AuthorizationServer>`, which
//! [`configure`] registers. The authorization route stays the host's,
//! because it needs the host's login and consent pages: extract an
//! [`OwnedRequest`] and call [`AuthorizationServer::authorize`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::body::{BodyStream, BoxBody, to_bytes_limited};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, ResponseError, dev, web};

use super::endpoint::{Endpoint, declared_too_large};
use crate::bearer::BearerToken;
use crate::http::{Method, Request, Response};
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// A core [`Response`] refusing a request in an extractor (a body over the
/// limit, a missing or bad bearer token). actix-web writes it as is.
#[derive(Debug)]
pub struct Rejection(pub Response);

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request refused with status {}", self.0.status())
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        status(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        into_http_response(self.0.clone())
    }
}

fn status(resp: &Response) -> StatusCode {
    StatusCode::from_u16(resp.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn into_http_response(resp: Response) -> HttpResponse {
    let mut out = HttpResponse::build(status(&resp));
    for (name, value) in resp.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.append_header((name, value));
        }
    }
    out.body(resp.into_body())
}

/// Writes the core's status, headers and body, nothing else.
impl Responder for Response {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        into_http_response(self)
    }
}

/// The server registered with [`configure`] (or `App::app_data`), or a
/// 500 that says what is missing.
fn server_of(req: &HttpRequest) -> Result<Arc<AuthorizationServer>, Rejection> {
    req.app_data::<web::Data<AuthorizationServer>>()
        .map(|data| data.clone().into_inner())
        .ok_or_else(|| {
            tracing::error!(
                "portcullis: no web::Data<AuthorizationServer>; use App::configure(configure(server))"
            );
            Rejection(Response::new(500, Vec::new()))
        })
}

/// One actix-web request, owned so that a core [`Request`] can borrow from
/// it. The body is read up to `Config::max_body_size`.
#[derive(Debug)]
pub struct OwnedRequest {
    head: HttpRequest,
    body: web::Bytes,
}

impl OwnedRequest {
    /// The core's view of this request.
    pub fn as_request(&self) -> Request<'_> {
        let mut req = Request::new(Method::parse(self.head.method().as_str())).body(&self.body);
        if let Some(q) = self.head.uri().query() {
            req = req.query(q);
        }
        for (name, value) in self.head.headers() {
            req = req.header(name.as_str(), value.as_bytes());
        }
        req
    }

    /// The request's head (e.g. for the host's session cookie).
    pub fn http_request(&self) -> &HttpRequest {
        &self.head
    }
}

impl FromRequest for OwnedRequest {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let head = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limit = server_of(&head)?.config().max_body_size;
            // TOK-08: refuse a declared oversize body without reading it,
            // and stop reading an undeclared one at the limit.
            let declared = head.headers().get(header::CONTENT_LENGTH);
            if declared_too_large(declared.map(HeaderValue::as_bytes), limit) {
                return Err(Rejection(Response::payload_too_large()));
            }
            let body = match to_bytes_limited(BodyStream::new(payload), limit).await {
                Ok(Ok(body)) => body,
                _ => return Err(Rejection(Response::payload_too_large())),
            };
            Ok(Self { head, body })
        })
    }
}

/// Extracting a [`BearerToken`] validates the request's bearer token
/// (RFC 6750) or answers 401 with the `WWW-Authenticate` challenge. Check
/// scopes in the handler with [`AuthorizationServer::require_scope`].
impl FromRequest for BearerToken {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut dev::Payload) -> Self::Future {
        let head = req.clone();
        Box::pin(async move {
            let server = server_of(&head)?;
            let mut core = Request::new(Method::parse(head.method().as_str()));
            for value in head.headers().get_all(header::AUTHORIZATION) {
                core = core.header("authorization", value.as_bytes());
            }
            server
                .authenticate_bearer(&core, &ScopeSet::empty())
                .await
                .map_err(Rejection)
        })
    }
}

/// Registers the server as `web::Data<AuthorizationServer>` and serves the
/// token, revocation, introspection, metadata and JWKS endpoints at the
/// paths of its [`crate::Config`]:
/// `App::new().configure(configure(server.clone()))`.
pub fn configure(server: Arc<AuthorizationServer>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::from(server.clone()));
        for endpoint in Endpoint::ALL {
            let route = if endpoint.reads_body() {
                web::route().to(
                    move |server: web::Data<AuthorizationServer>, req: OwnedRequest| async move {
                        endpoint.call(&server, &req.as_request()).await
                    },
                )
            } else {
                web::route().to(
                    move |server: web::Data<AuthorizationServer>, req: HttpRequest| async move {
                        let core = Request::new(Method::parse(req.method().as_str()));
                        endpoint.call(&server, &core).await
                    },
                )
            };
            cfg.route(endpoint.path(server.config()), route);
        }
    }
}
