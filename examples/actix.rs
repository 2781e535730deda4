//! The demo authorization server of `server.rs`, on actix-web 4: the same
//! endpoints, login, consent and logout pages, protected `/api/me` route and
//! command line (`--addr`, `--seed`, `--database`, `--static-token-json`, `--profile fapi2`;
//! see `demo/mod.rs`).
//!
//! Run: `cargo run --example actix --features actix-web,rsa-keygen`.
//!
//! This file is only the actix-web wiring; everything else is in
//! `demo/mod.rs`.

#[path = "demo/mod.rs"]
mod demo;

use actix_web::dev::Service;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpServer, web};
use demo::Demo;
use portcullis::BearerToken;
use portcullis::adapters::actix::{OwnedRequest, configure};
use portcullis::http::Response;

fn cookie(req: &HttpRequest) -> Option<&[u8]> {
    req.headers().get(header::COOKIE).map(|v| v.as_bytes())
}

async fn authorize(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    demo.authorize(&req.as_request(), cookie(req.http_request()))
        .await
}

async fn login(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    let core = req.as_request();
    demo.login(cookie(req.http_request()), core.body_bytes(), core.source())
        .await
}

async fn consent(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.consent(cookie(req.http_request()), body).await
}

async fn device(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    demo.device(&req.as_request(), cookie(req.http_request()))
        .await
}

async fn device_login(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    let core = req.as_request();
    demo.device_login(cookie(req.http_request()), core.body_bytes(), core.source())
        .await
}

async fn device_consent(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.device_consent(cookie(req.http_request()), body).await
}

async fn end_session(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    demo.end_session(&req.as_request(), cookie(req.http_request()))
        .await
}

async fn logout_form(demo: web::Data<Demo>, req: OwnedRequest) -> Response {
    let body = req.as_request().body_bytes();
    demo.logout_form(cookie(req.http_request()), body).await
}

/// A protected resource: the `BearerToken` extractor answers 401 for a
/// missing or invalid token; `me` checks the scope.
async fn me(demo: web::Data<Demo>, token: BearerToken) -> Response {
    demo.me(&token)
}

/// For the load benchmark: the body is read like the token endpoint's.
async fn static_token(_req: OwnedRequest) -> Response {
    demo::static_token()
}

fn main() -> std::io::Result<()> {
    demo::init_logging();
    actix_web::rt::System::new().block_on(async {
        let started = demo::start("actix").await;
        let demo = web::Data::from(started.demo.clone());
        let static_json = started.args.static_token_json;
        let end_session_path = demo.server.config().paths.end_session.clone();
        let device_path = demo.server.config().paths.device_verification.clone();
        let listener = started.listener.try_clone()?;
        let http = HttpServer::new(move || {
            let mut app = App::new()
                .app_data(demo.clone())
                .configure(configure(demo.server.clone()))
                .route("/authorize", web::get().to(authorize))
                .route("/authorize", web::post().to(authorize))
                .route("/login", web::post().to(login))
                .route("/consent", web::post().to(consent))
                .route(&end_session_path, web::get().to(end_session))
                .route(&end_session_path, web::post().to(end_session))
                .route(demo::LOGOUT_FORM_PATH, web::post().to(logout_form))
                .route(&device_path, web::get().to(device))
                .route(&device_path, web::post().to(device))
                .route(demo::DEVICE_LOGIN_PATH, web::post().to(device_login))
                .route(demo::DEVICE_CONSENT_PATH, web::post().to(device_consent))
                .route("/api/me", web::get().to(me));
            if static_json {
                app = app.route(demo::STATIC_TOKEN_PATH, web::post().to(static_token));
            }
            // Logs method, path and status, never the query or body.
            app.wrap_fn(|req, srv| {
                let (method, path) = (req.method().clone(), req.path().to_owned());
                let resp = srv.call(req);
                async move {
                    let resp = resp.await?;
                    demo::log_request(method.as_str(), &path, resp.status().as_u16());
                    Ok(resp)
                }
            })
        })
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = http.handle();
        started.announce();
        actix_web::rt::spawn(async move {
            demo::shutdown_signal().await;
            handle.stop(true).await;
        });
        http.await
    })
}
