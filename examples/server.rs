//! A complete small OAuth 2.1 authorization server on axum, built only from
//! portcullis's public API: login, consent and logout pages, the token, revocation,
//! introspection, metadata and JWKS endpoints, and a protected `/api/me`.
//!
//! Run: `cargo run --example server --features axum,rsa-keygen` (listens on
//! 127.0.0.1:9400 and prints demo clients and a demo user), or
//! `cargo run --example server --features axum,rsa-keygen -- --addr 127.0.0.1:0 --seed seed.json`,
//! and with `--features axum,rsa-keygen,sqlite` (or `axum,rsa-keygen,postgres`)
//! `-- --database sqlite://auth.db` keeps clients, consent and tokens across
//! restarts. `-- --profile fapi2` starts it in the FAPI 2.0 Security Profile
//! (every option: `demo/mod.rs`).
//!
//! This file is only the axum wiring. The pages, sessions, seed file format
//! and handlers are in `demo/mod.rs`, shared with `actix.rs` and `hyper.rs`.

#![allow(clippy::expect_used)] // start-up only: a demo that cannot start should say why and stop

#[path = "demo/mod.rs"]
mod demo;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use demo::Demo;
use portcullis::adapters::axum::{OwnedRequest, routes};
use portcullis::{AuthorizationServer, BearerToken};

#[derive(Clone)]
struct App(Arc<Demo>);

impl FromRef<App> for Arc<AuthorizationServer> {
    fn from_ref(app: &App) -> Self {
        app.0.server.clone()
    }
}

fn cookie(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(header::COOKIE).map(|v| v.as_bytes())
}

async fn authorize(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    demo.authorize(&req.as_request(), cookie(req.headers()))
        .await
        .into_response()
}

async fn login(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    let core = req.as_request();
    demo.login(cookie(req.headers()), core.body_bytes(), core.source())
        .await
        .into_response()
}

async fn end_session(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    demo.end_session(&req.as_request(), cookie(req.headers()))
        .await
        .into_response()
}

async fn logout_form(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.logout_form(cookie(req.headers()), body)
        .await
        .into_response()
}

async fn device(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    demo.device(&req.as_request(), cookie(req.headers()))
        .await
        .into_response()
}

async fn device_login(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    let core = req.as_request();
    demo.device_login(cookie(req.headers()), core.body_bytes(), core.source())
        .await
        .into_response()
}

async fn device_consent(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.device_consent(cookie(req.headers()), body)
        .await
        .into_response()
}

async fn consent(State(App(demo)): State<App>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.consent(cookie(req.headers()), body)
        .await
        .into_response()
}

/// A protected resource: the `BearerToken` extractor answers 401 for a
/// missing or invalid token; `me` checks the scope.
async fn me(State(App(demo)): State<App>, token: BearerToken) -> Response {
    demo.me(&token).into_response()
}

/// For the load benchmark: the body is read like the token endpoint's.
async fn static_token(_req: OwnedRequest) -> Response {
    demo::static_token().into_response()
}

async fn log_requests(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    demo::log_request(method.as_str(), &path, resp.status().as_u16());
    resp
}

#[tokio::main]
async fn main() {
    demo::init_logging();
    let started = demo::start("server").await;
    let server = started.demo.server.clone();
    let mut app = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .route("/login", post(login))
        .route("/consent", post(consent))
        .route(
            &server.config().paths.end_session,
            get(end_session).post(end_session),
        )
        .route(demo::LOGOUT_FORM_PATH, post(logout_form))
        .route(
            &server.config().paths.device_verification,
            get(device).post(device),
        )
        .route(demo::DEVICE_LOGIN_PATH, post(device_login))
        .route(demo::DEVICE_CONSENT_PATH, post(device_consent))
        .route("/api/me", get(me));
    if started.args.static_token_json {
        app = app.route(demo::STATIC_TOKEN_PATH, post(static_token));
    }
    let router = app
        .with_state(App(started.demo.clone()))
        .merge(routes(server))
        .layer(axum::middleware::from_fn(log_requests));
    let listener = started
        .listener
        .try_clone()
        .and_then(tokio::net::TcpListener::from_std)
        .expect("listening socket");
    started.announce();
    // With the peer's address in each request (`ConnectInfo`), which
    // portcullis takes as the request's source for its throttle.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(demo::shutdown_signal())
    .await
    .expect("server error");
}
