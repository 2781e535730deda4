//! The demo authorization server of `server.rs` on the `tower` boundary
//! alone (no framework adapter): the endpoints are portcullis's `Endpoints`
//! tower service, `/api/me` is guarded by its `BearerLayer`, and hyper
//! serves the host's tower service through hyper-util's
//! `TowerToHyperService`. Same endpoints, pages and command line
//! (`--addr`, `--seed`, `--database`, `--static-token-json`, `--profile fapi2`;
//! see `demo/mod.rs`).
//!
//! Run: `cargo run --example tower --features tower,rsa-keygen`.
//!
//! This file is only the tower wiring (a router by path in front of the
//! `Endpoints` service, and an accept loop); everything else is in
//! `demo/mod.rs`.

#![allow(clippy::expect_used)] // start-up only: a demo that cannot start should say why and stop

#[path = "demo/mod.rs"]
mod demo;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use demo::Demo;
use http::{Method, Request, header::COOKIE};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use portcullis::adapters::tower::{BearerLayer, Endpoints, OwnedRequest, ResponseBody};
use portcullis::http::Response;
use portcullis::routes::Refusal;
use portcullis::{BearerToken, ScopeSet};
use tower::{Service, ServiceBuilder, ServiceExt};

type HttpResponse = http::Response<ResponseBody>;

fn cookie(req: &OwnedRequest) -> Option<&[u8]> {
    req.headers().get(COOKIE).map(|v| v.as_bytes())
}

/// The host's routes first, then the `Endpoints` service.
async fn route<M>(
    demo: Arc<Demo>,
    endpoints: Endpoints,
    me: M,
    static_json: bool,
    req: Request<Incoming>,
) -> HttpResponse
where
    M: Service<Request<Incoming>, Response = HttpResponse, Error = Infallible>,
{
    let server = &*demo.server;
    let method = req.method().clone();
    let resp: Response = match (method, req.uri().path()) {
        (Method::GET | Method::POST, "/authorize") => match OwnedRequest::read(req, server).await {
            Ok(r) => demo.authorize(&r.as_request(), cookie(&r)).await,
            Err(refused) => refused,
        },
        (Method::POST, "/login") => match OwnedRequest::read(req, server).await {
            Ok(r) => {
                let core = r.as_request();
                demo.login(cookie(&r), core.body_bytes(), core.source())
                    .await
            }
            Err(refused) => refused,
        },
        (Method::POST, "/consent") => match OwnedRequest::read(req, server).await {
            Ok(r) => demo.consent(cookie(&r), r.as_request().body_bytes()).await,
            Err(refused) => refused,
        },
        // RP-Initiated Logout, at the configured path, and its
        // confirmation form.
        (Method::GET | Method::POST, path) if path == server.config().paths.end_session => {
            match OwnedRequest::read(req, server).await {
                Ok(r) => demo.end_session(&r.as_request(), cookie(&r)).await,
                Err(refused) => refused,
            }
        }
        // The device flow's verification page (RFC 8628), its login and
        // consent forms.
        (Method::GET | Method::POST, path) if path == server.config().paths.device_verification => {
            match OwnedRequest::read(req, server).await {
                Ok(r) => demo.device(&r.as_request(), cookie(&r)).await,
                Err(refused) => refused,
            }
        }
        (Method::POST, demo::DEVICE_LOGIN_PATH) => match OwnedRequest::read(req, server).await {
            Ok(r) => {
                let core = r.as_request();
                demo.device_login(cookie(&r), core.body_bytes(), core.source())
                    .await
            }
            Err(refused) => refused,
        },
        (Method::POST, demo::DEVICE_CONSENT_PATH) => match OwnedRequest::read(req, server).await {
            Ok(r) => {
                demo.device_consent(cookie(&r), r.as_request().body_bytes())
                    .await
            }
            Err(refused) => refused,
        },
        (Method::POST, demo::LOGOUT_FORM_PATH) => match OwnedRequest::read(req, server).await {
            Ok(r) => {
                demo.logout_form(cookie(&r), r.as_request().body_bytes())
                    .await
            }
            Err(refused) => refused,
        },
        // A protected resource behind the `BearerLayer`.
        (Method::GET, "/api/me") => {
            let Ok(resp) = me.oneshot(req).await;
            return resp;
        }
        // For the load benchmark: the body is read like the token endpoint's.
        (Method::POST, demo::STATIC_TOKEN_PATH) if static_json => {
            match OwnedRequest::read(req, server).await {
                Ok(_) => demo::static_token(),
                Err(refused) => refused,
            }
        }
        _ => return endpoints.handle(req).await,
    };
    resp.into()
}

#[tokio::main]
async fn main() {
    demo::init_logging();
    let started = demo::start("tower").await;
    let demo = started.demo.clone();
    let endpoints = Endpoints::new(demo.server.clone());
    let static_json = started.args.static_token_json;
    // `/api/me` needs a valid token with scope `read`: the layer answers
    // 401 or 403 itself, else hands the validated token to the route.
    let read = ScopeSet::parse("read").expect("a scope");
    let me = ServiceBuilder::new()
        .layer(BearerLayer::new(demo.server.clone(), read))
        .service_fn({
            let demo = demo.clone();
            move |req: Request<Incoming>| {
                let resp = match req.extensions().get::<BearerToken>() {
                    Some(token) => demo.me(token),
                    None => Refusal::NotWired("BearerLayer").into(),
                };
                async move { Ok::<HttpResponse, Infallible>(resp.into()) }
            }
        });
    // The host's whole application, one tower service; logs method, path
    // and status, never the query or body.
    let app = tower::service_fn(move |req: Request<Incoming>| {
        let (demo, endpoints, me) = (demo.clone(), endpoints.clone(), me.clone());
        async move {
            let (method, path) = (req.method().clone(), req.uri().path().to_owned());
            let resp = route(demo, endpoints, me, static_json, req).await;
            demo::log_request(method.as_str(), &path, resp.status().as_u16());
            Ok::<_, Infallible>(resp)
        }
    });
    let listener = started
        .listener
        .try_clone()
        .and_then(tokio::net::TcpListener::from_std)
        .expect("listening socket");
    started.announce();
    let graceful = GracefulShutdown::new();
    let shutdown = demo::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors, say: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // The peer's address, for portcullis's throttle: the
                // adapter reads it from the request's extensions.
                let service = TowerToHyperService::new(app.clone().map_request(
                    move |mut req: Request<Incoming>| {
                        req.extensions_mut().insert(peer);
                        req
                    },
                ));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    // Let requests in flight finish, but not forever.
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}
