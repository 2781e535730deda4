//! A complete small OAuth 2.1 authorization server on axum, built only from
//! portcullis's public API: login and consent pages, the token, revocation,
//! introspection and metadata endpoints.
//!
//! Run: `cargo run --example server` (listens on 127.0.0.1:9400 and prints
//! demo clients and a demo user), or
//! `cargo run --example server -- --addr 127.0.0.1:0 --seed seed.json`, and with
//! `--features sqlite` (or `postgres`) `--database sqlite://auth.db` keeps clients,
//! consent and tokens across restarts.
//!
//! The seed file: `{"issuer": "...", "clients": [{"client_id", "client_secret"
//! (absent for public clients), "client_name", "redirect_uris", "grant_types",
//! "response_types", "scope", "token_endpoint_auth_method"}], "users":
//! [{"username", "password"}]}`.

#![allow(clippy::expect_used)] // start-up only: a demo that cannot start should say why and stop

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use portcullis::adapters::axum::{OwnedRequest, routes};
use portcullis::http::{Method, Request};
use portcullis::{
    AccessTokenFormat, AuthMethod, AuthorizationServer, AuthorizeStep, BearerToken, Client,
    ClientId, ClientStore, Config, ConsentStore, GrantType, KeyProvider, MemoryKeys, MemoryStore,
    MemoryUsers, PasswordVerifier, RandomSource, RedirectUri, ScopeSet, Secret, SecretHash,
    SystemRandom, TokenStore, UserId, generate_secret,
};
use serde::Deserialize;

/// PBKDF2 rounds for the demo's people-chosen secrets and passwords.
const DEMO_ITERATIONS: u32 = 100_000;

#[derive(Deserialize)]
struct Seed {
    issuer: String,
    #[serde(default)]
    clients: Vec<SeedClient>,
    #[serde(default)]
    users: Vec<SeedUser>,
}

#[derive(Deserialize)]
struct SeedClient {
    client_id: String,
    client_secret: Option<String>,
    /// Set for the demo's generated 256-bit secrets: one SHA-256 is enough.
    #[serde(skip)]
    generated: bool,
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    scope: String,
    token_endpoint_auth_method: Option<String>,
    /// `opaque` (default) or `jwt`.
    access_token_format: Option<String>,
}

#[derive(Deserialize)]
struct SeedUser {
    username: String,
    password: String,
}

#[derive(Default)]
struct Session {
    user: Option<UserId>,
    csrf: String,
}

#[derive(Clone)]
struct App {
    server: Arc<AuthorizationServer>,
    users: Arc<MemoryUsers>,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

impl FromRef<App> for Arc<AuthorizationServer> {
    fn from_ref(app: &App) -> Self {
        app.server.clone()
    }
}

struct Args {
    addr: SocketAddr,
    seed: Option<String>,
    database: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:9400"
            .parse()
            .map_err(|_| "bad default address")?,
        seed: None,
        database: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--addr" => {
                let v = it.next().ok_or("--addr needs HOST:PORT")?;
                args.addr = v
                    .parse()
                    .map_err(|_| format!("--addr: not HOST:PORT: {v}"))?;
            }
            "--seed" => args.seed = Some(it.next().ok_or("--seed needs a file")?),
            "--database" => args.database = Some(it.next().ok_or("--database needs a URL")?),
            "-h" | "--help" => {
                println!(
                    "usage: server [--addr HOST:PORT] [--seed FILE] [--database sqlite://PATH|postgres://URL]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

fn iterations() -> NonZeroU32 {
    NonZeroU32::new(DEMO_ITERATIONS).unwrap_or(NonZeroU32::MIN)
}

fn seed_client(c: &SeedClient, random: &dyn RandomSource) -> Result<Client, String> {
    let id = ClientId::parse(&c.client_id).ok_or(format!("bad client_id {:?}", c.client_id))?;
    let mut b = match &c.client_secret {
        // Seed secrets are chosen by people: hash them slowly.
        Some(secret) if c.generated => Client::confidential(id, SecretHash::sha256(secret)),
        Some(secret) => Client::confidential(
            id,
            SecretHash::pbkdf2(secret, iterations(), random).map_err(|e| e.to_string())?,
        ),
        None => Client::public(id),
    };
    if let Some(name) = &c.client_name {
        b = b.client_name(name);
    }
    for uri in &c.redirect_uris {
        b = b.redirect_uri(RedirectUri::parse(uri).ok_or(format!("bad redirect URI {uri}"))?);
    }
    for g in &c.grant_types {
        b = b.grant_type(GrantType::parse(g).ok_or(format!("unsupported grant type {g}"))?);
    }
    b = b.scope(ScopeSet::parse(&c.scope).ok_or(format!("bad scope {:?}", c.scope))?);
    if let Some(f) = &c.access_token_format {
        b = b.access_token_format(
            AccessTokenFormat::parse(f).ok_or(format!("unknown access token format {f}"))?,
        );
    }
    if let Some(m) = &c.token_endpoint_auth_method {
        b = b.token_endpoint_auth_method(
            AuthMethod::parse(m).ok_or(format!("unsupported auth method {m}"))?,
        );
    }
    b.build()
        .map_err(|e| format!("client {}: {e}", c.client_id))
}

/// The demo configuration: three clients and one user, secrets printed once.
fn demo_seed(issuer: String, random: &dyn RandomSource) -> Result<(Seed, String), String> {
    let (web_secret, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let (svc_secret, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let (password, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let redirect = "http://127.0.0.1:8765/callback".to_owned();
    let banner = format!(
        "demo clients:\n  demo-web      confidential  secret {}  redirect {redirect}  grants authorization_code refresh_token  scope \"read write\"\n  demo-spa      public (PKCE) redirect {redirect}  grants authorization_code refresh_token  scope \"read write\"\n  demo-service  confidential  secret {}  grants client_credentials  scope \"read\"\ndemo user:\n  alice / {}\n(secrets are shown once and stored hashed)",
        web_secret.expose_secret(),
        svc_secret.expose_secret(),
        password.expose_secret()
    );
    let client =
        |id: &str, secret: Option<&Secret<String>>, grants: &[&str], scope: &str, uris: bool| {
            SeedClient {
                client_id: id.into(),
                client_secret: secret.map(|s| s.expose_secret().clone()),
                generated: true,
                client_name: Some(format!("Demo {id}")),
                redirect_uris: if uris { vec![redirect.clone()] } else { vec![] },
                grant_types: grants.iter().map(|g| g.to_string()).collect(),
                scope: scope.into(),
                token_endpoint_auth_method: None,
                access_token_format: None,
            }
        };
    let seed = Seed {
        issuer,
        clients: vec![
            client(
                "demo-web",
                Some(&web_secret),
                &["authorization_code", "refresh_token"],
                "read write",
                true,
            ),
            client(
                "demo-spa",
                None,
                &["authorization_code", "refresh_token"],
                "read write",
                true,
            ),
            client(
                "demo-service",
                Some(&svc_secret),
                &["client_credentials"],
                "read",
                false,
            ),
        ],
        users: vec![SeedUser {
            username: "alice".into(),
            password: password.into_inner(),
        }],
    };
    Ok((seed, banner))
}

/// Opens the store named by `--database`, or memory without it.
async fn open_and_build(seed: Seed, database: Option<&str>) -> Result<App, String> {
    match database {
        None => {
            build(
                seed,
                Arc::new(MemoryStore::new()),
                Arc::new(MemoryKeys::new()),
            )
            .await
        }
        #[cfg(feature = "sqlite")]
        Some(url) if url.starts_with("sqlite:") => {
            let store = portcullis::stores::SqliteStore::connect(url)
                .await
                .map_err(|e| format!("database {url}: {e}"))?;
            store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
            let store = Arc::new(store);
            build(seed, store.clone(), store).await
        }
        #[cfg(feature = "postgres")]
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
            let store = portcullis::stores::PostgresStore::connect(url)
                .await
                .map_err(|e| format!("database {url}: {e}"))?;
            store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
            let store = Arc::new(store);
            build(seed, store.clone(), store).await
        }
        Some(url) => Err(format!(
            "unsupported database URL {url}: use sqlite://PATH or postgres://… \
             (built with --features sqlite / --features postgres)"
        )),
    }
}

async fn build<S: ClientStore + TokenStore + ConsentStore>(
    seed: Seed,
    store: Arc<S>,
    keys: Arc<dyn KeyProvider>,
) -> Result<App, String> {
    let random = SystemRandom::new();
    let users = Arc::new(MemoryUsers::new(iterations()).map_err(|e| e.to_string())?);
    let mut config = Config::new(seed.issuer.clone());
    let mut password_grant = false;
    for c in &seed.clients {
        password_grant |= c.grant_types.iter().any(|g| g == "password");
        // A persistent store keeps clients across restarts: update them.
        let client = seed_client(c, &random)?;
        let known = ClientStore::find(&*store, client.client_id())
            .await
            .map_err(|e| e.to_string())?;
        let saved = match known {
            Some(_) => store.update(client).await.map(|_| ()),
            None => store.insert(client).await,
        };
        saved.map_err(|e| format!("client {}: {e}", c.client_id))?;
    }
    if password_grant {
        config.grant_types.push(GrantType::Password);
    }
    for u in &seed.users {
        users
            .insert(&u.username, &Secret::new(u.password.clone()))
            .map_err(|e| format!("user {}: {e}", u.username))?;
    }
    let verifier: Arc<dyn PasswordVerifier> = users.clone();
    let server = AuthorizationServer::builder(config)
        .store(store)
        .key_provider(keys)
        .password_verifier(verifier)
        .build()
        .map_err(|e| format!("configuration: {e}"))?;
    // Clients may ask for JWT access tokens: make sure a key signs.
    server
        .ensure_signing_key()
        .await
        .map_err(|e| format!("signing key: {e}"))?;
    Ok(App {
        server: Arc::new(server),
        users,
        sessions: Arc::default(),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn cookie_sid(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "sid")
        .map(|(_, v)| v.to_owned())
}

fn random_token(app: &App) -> String {
    generate_secret(app.server.random())
        .map(|(s, _)| s.into_inner())
        .unwrap_or_default()
}

/// The session for this request, created (with a Set-Cookie) if absent.
fn session(app: &App, headers: &HeaderMap) -> (String, Option<UserId>, String, Option<String>) {
    let mut sessions = app
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(sid) = cookie_sid(headers) {
        if let Some(s) = sessions.get(&sid) {
            return (sid, s.user.clone(), s.csrf.clone(), None);
        }
    }
    let sid = random_token(app);
    let csrf = random_token(app);
    sessions.insert(
        sid.clone(),
        Session {
            user: None,
            csrf: csrf.clone(),
        },
    );
    let cookie = format!("sid={sid}; Path=/; HttpOnly; SameSite=Lax");
    (sid, None, csrf, Some(cookie))
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
}

fn login_page(query: &str, csrf: &str, error: bool) -> String {
    let msg = if error {
        "<p role=\"alert\">Wrong username or password.</p>"
    } else {
        ""
    };
    page(
        "Sign in",
        &format!(
            "{msg}<form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"query\" value=\"{}\">\
             <label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\"></label>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\
             <button type=\"submit\">Sign in</button></form>",
            esc(csrf),
            esc(query)
        ),
    )
}

fn consent_page(client_name: &str, scopes: &ScopeSet, query: &str, csrf: &str) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", esc(s.as_str())))
        .collect();
    page(
        "Authorize access",
        &format!(
            "<p><strong>{}</strong> asks for access to:</p><ul>{items}</ul>\
             <form method=\"post\" action=\"/consent\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"query\" value=\"{}\">\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            esc(client_name),
            esc(csrf),
            esc(query)
        ),
    )
}

fn with_cookie(resp: axum::response::Response, cookie: Option<String>) -> axum::response::Response {
    let mut resp = resp;
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn authorize(State(app): State<App>, req: OwnedRequest) -> axum::response::Response {
    let (_, user, csrf, cookie) = session(&app, req.headers());
    let core = req.as_request();
    let query = core.query_str().unwrap_or_default().to_owned();
    let resp = match app.server.authorize(&core, user.as_ref()).await {
        AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => r.into_response(),
        AuthorizeStep::Login(_) => Html(login_page(&query, &csrf, false)).into_response(),
        AuthorizeStep::Consent(p) => Html(consent_page(
            p.client().client_name(),
            p.scope(),
            &query,
            &csrf,
        ))
        .into_response(),
    };
    with_cookie(resp, cookie)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    query: String,
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> axum::response::Response {
    let (sid, _, csrf, _) = session(&app, &headers);
    if csrf != f.csrf {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    match app
        .users
        .verify(&f.username, &Secret::new(f.password))
        .await
    {
        Ok(Some(user)) => {
            let mut sessions = app
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A fresh session id on login prevents session fixation.
            sessions.remove(&sid);
            let new_sid = random_token(&app);
            sessions.insert(
                new_sid.clone(),
                Session {
                    user: Some(user),
                    csrf: random_token(&app),
                },
            );
            drop(sessions);
            let cookie = format!("sid={new_sid}; Path=/; HttpOnly; SameSite=Lax");
            with_cookie(
                Redirect::to(&format!("/authorize?{}", f.query)).into_response(),
                Some(cookie),
            )
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            Html(login_page(&f.query, &csrf, true)),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    csrf: String,
    query: String,
    decision: String,
}

async fn consent(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<ConsentForm>,
) -> axum::response::Response {
    let (_, user, csrf, _) = session(&app, &headers);
    if csrf != f.csrf {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    let Some(user) = user else {
        return Redirect::to(&format!("/authorize?{}", f.query)).into_response();
    };
    let req = Request::new(Method::Get).query(&f.query);
    match app.server.authorize(&req, Some(&user)).await {
        AuthorizeStep::Consent(p) if f.decision == "allow" => {
            p.approve(&app.server).await.into_response()
        }
        AuthorizeStep::Consent(p) => p.deny(&app.server).into_response(),
        AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => r.into_response(),
        _ => Redirect::to(&format!("/authorize?{}", f.query)).into_response(),
    }
}

/// A protected resource: who is calling, for a token with scope `read`.
async fn me(State(app): State<App>, token: BearerToken) -> axum::response::Response {
    let read = ScopeSet::parse("read").unwrap_or_default();
    if let Err(challenge) = app.server.require_scope(&token, &read) {
        return challenge.into_response();
    }
    let body = serde_json::json!({
        "sub": token.subject(),
        "client_id": token.client_id().as_str(),
        "scope": token.scope().to_string(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Logs method, path and status: never the query or body, which carry
/// codes, secrets and passwords.
async fn log_requests(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    tracing::info!(%method, %path, status = resp.status().as_u16(), "request");
    resp
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("error: cannot listen on {}: {e}", args.addr);
            std::process::exit(1);
        });
    let local = listener.local_addr().expect("bound socket has an address");
    let (seed, banner) = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
                eprintln!("error: cannot read seed {path}: {e}");
                std::process::exit(2);
            });
            let seed: Seed = serde_json::from_str(&text).unwrap_or_else(|e| {
                eprintln!("error: seed {path}: {e}");
                std::process::exit(2);
            });
            (seed, format!("loaded seed {path}"))
        }
        None => demo_seed(format!("http://{local}"), &SystemRandom::new()).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1);
        }),
    };
    let app = open_and_build(seed, args.database.as_deref())
        .await
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2);
        });
    let server = app.server.clone();
    let router = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .route("/login", post(login))
        .route("/consent", post(consent))
        .route("/api/me", get(me))
        .with_state(app)
        .merge(routes(server.clone()))
        .layer(axum::middleware::from_fn(log_requests));
    println!("{banner}");
    println!("issuer {}", server.config().issuer);
    println!("listening on http://{local}");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await
        .expect("server error");
}
