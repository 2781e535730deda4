//! actix-web 4 integration: its own small bridge (actix-web is on `http`
//! 0.2, so the `http` 1.x conversions do not apply) between actix-web and
//! the core, and a service configuration mounting the server's endpoints
//! (token, revocation, introspection, metadata, JWKS, UserInfo). No OAuth logic and no HTTP
//! decision lives here: paths, methods, the body limit and every answer are
//! the core's ([`crate::routes`]).
//!
//! The server is shared as `web::Data<AuthorizationServer>`, which
//! [`configure`] registers. The authorization route stays the host's,
//! because it needs the host's login and consent pages: extract an
//! [`OwnedRequest`] and call [`AuthorizationServer::authorize`].

use std::{future::Future, pin::Pin, sync::Arc};

use actix_web::body::{BodyStream, BoxBody, to_bytes_limited};
use actix_web::http::{StatusCode, header::HeaderName, header::HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, ResponseError, dev, web};

use crate::error::InternalFault::InvalidResponse;
use crate::http::{Method, Request, Response, Source};
use crate::routes::{BodyLimit, Endpoint, Refusal};
use crate::{bearer::BearerToken, scope::ScopeSet, server::AuthorizationServer};

type Server = web::Data<AuthorizationServer>;
type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Rejection>>>>;

/// A core [`Response`] refusing a request in an extractor (a body over the
/// limit, a missing or bad bearer token). actix-web writes it as is.
#[derive(Debug, thiserror::Error)]
#[error("request refused with status {}", .0.status())]
pub struct Rejection(pub Response);

/// Writes the core's response: its status, headers and body.
impl ResponseError for Rejection {
    fn error_response(&self) -> HttpResponse {
        into_http_response(self.0.clone())
    }
}

/// Writes the core's status, headers (in order, repeats kept) and body. The
/// core checked every header where it was set, so none is refused here; if
/// one ever were, the answer is the core's 500 and an error in the log, never
/// a response with the header left out.
fn into_http_response(resp: Response) -> HttpResponse {
    let status = StatusCode::from_u16(resp.status());
    let mut out = HttpResponse::build(status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in resp.headers() {
        let header_name = HeaderName::from_bytes(name.as_bytes());
        match (header_name, HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => out.append_header((n, v)),
            _ => {
                tracing::error!(header = name, "portcullis: header refused: 500");
                // The core's 500 has constant headers (checked by its tests).
                return into_http_response(Response::server_error(InvalidResponse));
            }
        };
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

/// The server registered with [`configure`] (or `App::app_data`), or the
/// core's 500 for a host that forgot it.
fn server_of(req: &HttpRequest) -> Result<Arc<AuthorizationServer>, Rejection> {
    let Some(data) = req.app_data::<Server>() else {
        tracing::error!("portcullis: no web::Data<AuthorizationServer>; use configure(server)");
        return Err(Rejection(
            Refusal::NotWired("web::Data<AuthorizationServer>").into(),
        ));
    };
    Ok(data.clone().into_inner())
}

/// The core's view of an actix-web request's head: method, query, every
/// header line, and the connection's peer address as its [`Source`] (not
/// `connection_info().realip_remote_addr()`, which trusts headers any client
/// can write). Add the body with [`Request::body`].
fn core_request(head: &HttpRequest) -> Request<'_> {
    let mut req = Request::new(Method::parse(head.method().as_str()))
        .with_target(head.method().as_str(), head.uri().path());
    if let Some(q) = head.uri().query() {
        req = req.query(q);
    }
    if let Some(peer) = head.peer_addr() {
        req = req.with_source(Source::Ip(peer.ip()));
    }
    head.headers().iter().fold(req, |req, (name, value)| {
        req.header(name.as_str(), value.as_bytes())
    })
}

/// One actix-web request, owned so that a core [`Request`] can borrow from
/// it. The body is read within the core's [`BodyLimit`].
#[derive(Debug)]
pub struct OwnedRequest {
    head: HttpRequest,
    body: web::Bytes,
}

impl OwnedRequest {
    /// The core's view of this request.
    pub fn as_request(&self) -> Request<'_> {
        core_request(&self.head).body(&self.body)
    }

    /// The request's head (e.g. for the host's session cookie).
    pub fn http_request(&self) -> &HttpRequest {
        &self.head
    }
}

impl FromRequest for OwnedRequest {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let (head, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let limit = BodyLimit::of(server_of(&head)?.config());
            let refuse = |refusal: Refusal| Rejection(refusal.into());
            let declared = head.headers().get("content-length").map(|v| v.as_bytes());
            limit.admits_declared(declared).map_err(refuse)?;
            match to_bytes_limited(BodyStream::new(payload), limit.max()).await {
                Ok(Ok(body)) => Ok(Self { head, body }),
                _ => Err(refuse(Refusal::BodyTooLarge)),
            }
        })
    }
}

/// Extracting a [`BearerToken`] validates the request's bearer token
/// (RFC 6750) or answers 401 with the `WWW-Authenticate` challenge. Check
/// scopes in the handler with [`AuthorizationServer::require_scope`].
impl FromRequest for BearerToken {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _payload: &mut dev::Payload) -> Self::Future {
        let head = req.clone();
        Box::pin(async move {
            let (server, any) = (server_of(&head)?, ScopeSet::empty());
            let token = server.authenticate_bearer(&core_request(&head), &any).await;
            token.map_err(Rejection)
        })
    }
}

/// Registers the server as `web::Data<AuthorizationServer>` and serves its
/// endpoints ([`AuthorizationServer::endpoints`]: token, revocation,
/// introspection, metadata, JWKS, UserInfo when it has a `UserClaims`, and
/// the pushed authorization request endpoint when it has an
/// `AuthorizationRequestStore`)
/// at the paths of its [`crate::Config`]:
/// `App::new().configure(configure(server.clone()))`.
pub fn configure(server: Arc<AuthorizationServer>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::from(server.clone()));
        for endpoint in server.endpoints() {
            // The client configuration endpoint's route holds the client's
            // id (`Endpoint::route`): handed back as the path it matched.
            let route = if endpoint.reads_body() {
                web::route().to(move |server: Server, req: OwnedRequest| async move {
                    let id = req
                        .http_request()
                        .match_info()
                        .get(Endpoint::CLIENT_ID_SEGMENT);
                    let path = endpoint.request_path(&server.config().paths, id);
                    server.handle(&req.as_request(), &path).await
                })
            } else {
                web::route().to(move |server: Server, req: HttpRequest| async move {
                    let id = req.match_info().get(Endpoint::CLIENT_ID_SEGMENT);
                    let path = endpoint.request_path(&server.config().paths, id);
                    server.handle(&core_request(&req), &path).await
                })
            };
            cfg.route(&endpoint.route(&server.config().paths), route);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_written_with_every_header() {
        let core = Response::new(401, b"{}".to_vec())
            .with_header("WWW-Authenticate", "Basic realm=\"a\"")
            .with_header("WWW-Authenticate", "Bearer realm=\"b\"");
        let out = into_http_response(core);
        assert_eq!(out.status(), 401);
        let values: Vec<_> = out.headers().get_all("www-authenticate").collect();
        assert_eq!(values, ["Basic realm=\"a\"", "Bearer realm=\"b\""]);
    }

    #[test]
    fn the_peer_address_is_the_source() {
        // covers: RB-04
        let peer: std::net::SocketAddr = "192.0.2.8:4000".parse().unwrap();
        let req = actix_web::test::TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "203.0.113.1"))
            .to_http_request();
        assert_eq!(core_request(&req).source(), Some(Source::Ip(peer.ip())));
        let req = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(core_request(&req).source(), None);
    }

    #[test]
    fn a_request_without_the_server_gets_the_core_500() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let Rejection(resp) = server_of(&req).unwrap_err();
        assert_eq!(resp.status(), 500);
        assert_eq!(resp.error(), Some(crate::ErrorCode::ServerError));
    }
}
