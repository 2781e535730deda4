//! Performance benchmark of the opaque-token hot paths, in one criterion
//! group so that every ratio comes from a single run on a single machine:
//!
//! * `portcullis_client_credentials`: `AuthorizationServer::token` for a
//!   `client_credentials` request from a confidential client (SHA-256 secret
//!   hash, `client_secret_basic`), `MemoryStore`, `SystemClock`,
//!   `SystemRandom`. The store grows by one token per iteration.
//! * `floor_client_credentials`: the raw operations that path cannot skip,
//!   built from the same crates, in one closure.
//! * `oxide_client_credentials`: oxide-auth 0.6's `client_credentials_flow`
//!   with `ClientMap` (SHA-256 password policy), `TokenMap` and its simple
//!   request type, the form parsed from the same body bytes inside the loop.
//! * `portcullis_introspect`, `floor_introspect`, `oxide_bearer_validation`:
//!   the same three for RFC 7662 introspection against a store holding 10,000
//!   tokens (oxide-auth has no introspection endpoint; its counterpart is
//!   `resource_flow` bearer validation).
//! * `tokio_block_on_empty`: the executor's own cost per call, which both
//!   portcullis figures include.
//!
//! After the group, `main` reads criterion's `estimates.json` files and prints
//! a summary table (medians and ratios), also written to
//! `<criterion dir>/token_endpoint/summary.md`. See `docs/performance.md`.

// A benchmark has no caller to hand an error to: a failed setup step must stop
// the run loudly, which is what `unwrap`/`expect` do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::Criterion;
use ring::digest::{SHA256, digest};
use ring::rand::SecureRandom as _;
use serde::Serialize;

use portcullis::http::{Method, Request};
use portcullis::{
    AuthorizationServer, Client, ClientId, ClientStore, Config, GrantType, MemoryStore, ScopeSet,
    SecretHash, generate_secret,
};

use oxide_auth::endpoint::{OwnerConsent, Solicitation};
use oxide_auth::frontends::simple::endpoint::{
    FnSolicitor, client_credentials_flow, resource_flow,
};
use oxide_auth::frontends::simple::request::{
    Body as OxBody, Request as OxRequest, Response as OxResponse, Status as OxStatus,
};
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{
    Client as OxClient, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope as OxScope;

const GROUP: &str = "token_endpoint";
const ISSUER: &str = "https://auth.example.com";
const CLIENT_ID: &str = "billing";
const SCOPE: &str = "invoices:read";
/// The token request body (`scope` percent-encoded as form encoders do).
const CC_BODY: &[u8] = b"grant_type=client_credentials&scope=invoices%3Aread";
/// Tokens in the store before introspection is measured.
const PREFILL: usize = 10_000;

/// The floors' and oxide-auth's client secret: 43 characters, like a
/// generated one.
const FIXED_SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// `Authorization: Basic` for the client. RFC 6749 §2.3.1 form-encodes id and
/// secret first; both are unreserved characters here.
fn basic_header(secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{secret}")))
}

/// A minimal executor: one current-thread tokio runtime, built once.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// A 256-bit generated client secret (base64url, 43 chars) and the
/// `Authorization: Basic` header carrying it.
fn credentials(server: &AuthorizationServer) -> (String, String) {
    let (secret, _) = generate_secret(server.random()).expect("secret");
    let secret = secret.expose_secret().clone();
    let basic = basic_header(&secret);
    (secret, basic)
}

/// A server with a `MemoryStore` holding one confidential client whose secret
/// is stored as `SecretHash::sha256`; `SystemClock`/`SystemRandom` defaults.
fn portcullis_server(
    rt: &tokio::runtime::Runtime,
) -> (AuthorizationServer, Arc<MemoryStore>, String, String) {
    let store = Arc::new(MemoryStore::new());
    let server = AuthorizationServer::builder(Config::new(ISSUER))
        .store(store.clone())
        .build()
        .expect("server");
    let (secret, basic) = credentials(&server);
    let client = Client::confidential(
        ClientId::parse(CLIENT_ID).unwrap(),
        SecretHash::sha256(&secret),
    )
    .grant_type(GrantType::ClientCredentials)
    .scope(ScopeSet::parse(SCOPE).unwrap())
    .build()
    .expect("client");
    rt.block_on(store.insert(client)).expect("insert client");
    (server, store, secret, basic)
}

fn token_request(basic: &str) -> Request<'_> {
    Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header("Authorization", basic.as_bytes())
        .body(CC_BODY)
}

fn access_token_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("json token response");
    v.get("access_token")
        .and_then(|t| t.as_str())
        .expect("access_token")
        .to_owned()
}

// ---------------------------------------------------------------------------
// The raw floor: the same crates the paths use, nothing else.

/// What the floor keeps per token: a record a store cannot do without
/// (client and scope shared, times inline).
struct FloorRecord {
    client_id: Arc<str>,
    scope: Arc<str>,
    issued_at: u64,
    expires_at: u64,
}

#[derive(Serialize)]
struct FloorTokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    scope: &'a str,
}

#[derive(Serialize)]
struct FloorIntrospection<'a> {
    active: bool,
    scope: &'a str,
    client_id: &'a str,
    sub: &'a str,
    exp: u64,
    iat: u64,
    iss: &'a str,
    token_type: &'static str,
}

/// Decodes `Basic base64(id:secret)` and checks the secret's SHA-256 against
/// the stored one (the compare is the word-wise fold the path uses).
fn floor_client_auth(header: &str, stored: &[u8; 32]) -> bool {
    let Some(b64) = header.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = STANDARD.decode(b64) else {
        return false;
    };
    let Some(colon) = raw.iter().position(|&b| b == b':') else {
        return false;
    };
    let (id, secret) = raw.split_at(colon);
    let secret = secret.get(1..).unwrap_or_default();
    let d = digest(&SHA256, secret);
    let mut diff = 0u8;
    for (a, b) in d.as_ref().iter().zip(stored) {
        diff |= a ^ b;
    }
    black_box(id);
    black_box(diff) == 0
}

fn sha256_array(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

// ---------------------------------------------------------------------------
// oxide-auth: a SHA-256 password policy so both sides pay the same for the
// secret (its default Argon2 policy would make the comparison measure Argon2).

struct Sha256Policy;

impl PasswordPolicy for Sha256Policy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        sha256_array(passphrase).to_vec()
    }

    fn check(
        &self,
        _client_id: &str,
        passphrase: &[u8],
        stored: &[u8],
    ) -> Result<(), RegistrarError> {
        let d = sha256_array(passphrase);
        let mut diff = u8::from(stored.len() != d.len());
        for (a, b) in d.iter().zip(stored) {
            diff |= a ^ b;
        }
        if black_box(diff) == 0 {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

fn oxide_registrar(secret: &str) -> ClientMap {
    let mut registrar = ClientMap::new();
    registrar.set_password_policy(Sha256Policy);
    registrar.register_client(OxClient::confidential(
        CLIENT_ID,
        RegisteredUrl::from(url::Url::parse("https://billing.example.com/cb").unwrap()),
        SCOPE.parse::<OxScope>().unwrap(),
        secret.as_bytes(),
    ));
    registrar
}

/// What an adapter hands oxide-auth's simple frontend: the form parsed into
/// its map and the header copied into a `String`.
fn oxide_request(body: &[u8], auth: &str) -> OxRequest {
    OxRequest {
        query: HashMap::new(),
        urlbody: form_urlencoded::parse(body).into_owned().collect(),
        auth: Some(auth.to_owned()),
    }
}

type Solicitor = FnSolicitor<fn(&mut OxRequest, Solicitation) -> OwnerConsent<OxResponse>>;

fn oxide_solicitor() -> Solicitor {
    fn owner(_: &mut OxRequest, _: Solicitation) -> OwnerConsent<OxResponse> {
        OwnerConsent::Authorized(CLIENT_ID.to_owned())
    }
    FnSolicitor(owner)
}

fn oxide_token_of(resp: &OxResponse) -> String {
    assert_eq!(resp.status, OxStatus::Ok);
    match &resp.body {
        Some(OxBody::Json(json)) => access_token_of(json.as_bytes()),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group(GROUP);
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50);

    // The executor's own cost per call, to read the path figures against.
    g.bench_function("tokio_block_on_empty", |b| {
        b.iter(|| rt.block_on(black_box(async { 1u8 })));
    });

    // ---- client_credentials issuance ------------------------------------
    {
        let (server, store, _, basic) = portcullis_server(&rt);
        let req = token_request(&basic);
        let first = rt.block_on(server.token(&req));
        assert_eq!(
            first.status(),
            200,
            "{}",
            String::from_utf8_lossy(first.body())
        );
        g.bench_function("portcullis_client_credentials", |b| {
            b.iter(|| rt.block_on(server.token(black_box(&req))));
        });
        println!(
            "(store size after the run: {} access tokens)",
            store.access_token_count()
        );
    }
    {
        #[allow(clippy::disallowed_methods)] // the floor measures ring's OS RNG directly
        let rng = ring::rand::SystemRandom::new();
        let secret = FIXED_SECRET;
        let stored = sha256_array(secret.as_bytes());
        let basic = basic_header(secret);
        let client: Arc<str> = Arc::from(CLIENT_ID);
        // The registered client's scope, shared by its tokens (no allocation
        // per stored token when the request asks for exactly that scope).
        let client_scope: Arc<str> = Arc::from(SCOPE);
        let map: RwLock<HashMap<[u8; 32], FloorRecord>> = RwLock::new(HashMap::new());
        g.bench_function("floor_client_credentials", |b| {
            b.iter(|| {
                // Form parse of the same body.
                let (mut grant_type, mut scope) = (None, None);
                for (k, v) in form_urlencoded::parse(black_box(CC_BODY)) {
                    match &*k {
                        "grant_type" => grant_type = Some(v),
                        "scope" => scope = Some(v),
                        _ => {}
                    }
                }
                black_box(grant_type);
                let scope = scope.unwrap_or_default();
                // Basic decode + SHA-256 of the client secret.
                assert!(floor_client_auth(black_box(&basic), &stored));
                // 32 random bytes, base64url, SHA-256 of the token.
                let mut bytes = [0u8; 32];
                rng.fill(&mut bytes).unwrap();
                let token = URL_SAFE_NO_PAD.encode(bytes);
                let hash = sha256_array(token.as_bytes());
                // One insert.
                map.write().unwrap().insert(
                    hash,
                    FloorRecord {
                        client_id: client.clone(),
                        scope: if *scope == *client_scope {
                            client_scope.clone()
                        } else {
                            Arc::from(&*scope)
                        },
                        issued_at: 1_700_000_000,
                        expires_at: 1_700_003_600,
                    },
                );
                // The JSON response.
                serde_json::to_vec(&FloorTokenResponse {
                    access_token: &token,
                    token_type: "Bearer",
                    expires_in: 3600,
                    scope: &scope,
                })
                .unwrap()
            });
        });
        println!(
            "(map size after the run: {} tokens)",
            map.read().unwrap().len()
        );
    }
    {
        let secret = FIXED_SECRET;
        let basic = basic_header(secret);
        let registrar = oxide_registrar(secret);
        let mut issuer = TokenMap::new(RandomGenerator::new(16));
        let mut solicitor = oxide_solicitor();
        let mut flow = client_credentials_flow(&registrar, &mut issuer, &mut solicitor);
        let first = flow.execute(oxide_request(CC_BODY, &basic)).unwrap();
        assert!(!oxide_token_of(&first).is_empty());
        g.bench_function("oxide_client_credentials", |b| {
            b.iter(|| {
                flow.execute(oxide_request(black_box(CC_BODY), black_box(&basic)))
                    .unwrap()
            });
        });
    }

    // ---- introspection / bearer validation over 10,000 tokens ------------
    {
        let (server, _, _, basic) = portcullis_server(&rt);
        let req = token_request(&basic);
        let tokens: Vec<String> = (0..PREFILL)
            .map(|_| access_token_of(rt.block_on(server.token(&req)).body()))
            .collect();
        let token = tokens.get(PREFILL / 2).unwrap();
        let body = format!("token={token}&token_type_hint=access_token");
        let req = Request::new(Method::Post)
            .header("Content-Type", b"application/x-www-form-urlencoded")
            .header("Authorization", basic.as_bytes())
            .body(body.as_bytes());
        let first = rt.block_on(server.introspect(&req));
        assert_eq!(first.status(), 200);
        assert!(
            first.body().starts_with(br#"{"active":true"#),
            "{}",
            String::from_utf8_lossy(first.body())
        );
        g.bench_function("portcullis_introspect", |b| {
            b.iter(|| rt.block_on(server.introspect(black_box(&req))));
        });
    }
    {
        #[allow(clippy::disallowed_methods)] // the floor measures ring's OS RNG directly
        let rng = ring::rand::SystemRandom::new();
        let secret = FIXED_SECRET;
        let stored = sha256_array(secret.as_bytes());
        let basic = basic_header(secret);
        let client: Arc<str> = Arc::from(CLIENT_ID);
        let scope: Arc<str> = Arc::from(SCOPE);
        let mut map = HashMap::new();
        let mut tokens = Vec::with_capacity(PREFILL);
        for _ in 0..PREFILL {
            let mut bytes = [0u8; 32];
            rng.fill(&mut bytes).unwrap();
            let token = URL_SAFE_NO_PAD.encode(bytes);
            map.insert(
                sha256_array(token.as_bytes()),
                FloorRecord {
                    client_id: client.clone(),
                    scope: scope.clone(),
                    issued_at: 1_700_000_000,
                    expires_at: 1_700_003_600,
                },
            );
            tokens.push(token);
        }
        let map = RwLock::new(map);
        let body = format!(
            "token={}&token_type_hint=access_token",
            tokens.get(PREFILL / 2).unwrap()
        );
        g.bench_function("floor_introspect", |b| {
            b.iter(|| {
                // Form parse.
                let (mut token, mut hint) = (None, None);
                for (k, v) in form_urlencoded::parse(black_box(body.as_bytes())) {
                    match &*k {
                        "token" => token = Some(v),
                        "token_type_hint" => hint = Some(v),
                        _ => {}
                    }
                }
                black_box(hint);
                // The caller authenticates: Basic decode + SHA-256 of its secret.
                assert!(floor_client_auth(black_box(&basic), &stored));
                // SHA-256 of the token, lookup, JSON.
                let hash = sha256_array(token.unwrap_or_default().as_bytes());
                let guard = map.read().unwrap();
                let rec = guard.get(&hash).unwrap();
                serde_json::to_vec(&FloorIntrospection {
                    active: true,
                    scope: &rec.scope,
                    client_id: &rec.client_id,
                    sub: &rec.client_id,
                    exp: rec.expires_at,
                    iat: rec.issued_at,
                    iss: ISSUER,
                    token_type: "Bearer",
                })
                .unwrap()
            });
        });
    }
    {
        let secret = FIXED_SECRET;
        let basic = basic_header(secret);
        let registrar = oxide_registrar(secret);
        let mut issuer = TokenMap::new(RandomGenerator::new(16));
        let mut solicitor = oxide_solicitor();
        let tokens: Vec<String> = {
            let mut flow = client_credentials_flow(&registrar, &mut issuer, &mut solicitor);
            (0..PREFILL)
                .map(|_| oxide_token_of(&flow.execute(oxide_request(CC_BODY, &basic)).unwrap()))
                .collect()
        };
        let bearer = format!("Bearer {}", tokens.get(PREFILL / 2).unwrap());
        let scopes = [SCOPE.parse::<OxScope>().unwrap()];
        let mut flow = resource_flow(&mut issuer, &scopes);
        let grant = flow.execute(oxide_request(b"", &bearer));
        assert!(grant.is_ok(), "oxide bearer validation failed");
        g.bench_function("oxide_bearer_validation", |b| {
            b.iter(|| flow.execute(oxide_request(b"", black_box(&bearer))).is_ok());
        });
    }

    g.finish();
}

// ---------------------------------------------------------------------------
// Summary: medians from criterion's estimates.json, and the ratios.

fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("criterion"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"),
    }
}

/// The median (ns) of one function, if criterion wrote it during this run.
fn median_ns(dir: &Path, function: &str, since: std::time::SystemTime) -> Option<f64> {
    let file = dir.join(function).join("new/estimates.json");
    let fresh = std::fs::metadata(&file).and_then(|m| m.modified()).ok()? >= since;
    if !fresh {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

fn fmt_ns(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |ns| format!("{ns:.0}"))
}

fn fmt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".to_owned(),
    }
}

fn summary(since: std::time::SystemTime) {
    let dir = criterion_home().join(GROUP);
    let m = |f: &str| median_ns(&dir, f, since);
    let rows = [
        (
            "client_credentials issuance",
            m("portcullis_client_credentials"),
            m("floor_client_credentials"),
            m("oxide_client_credentials"),
        ),
        (
            "introspection (oxide: bearer validation)",
            m("portcullis_introspect"),
            m("floor_introspect"),
            m("oxide_bearer_validation"),
        ),
    ];
    let exec = m("tokio_block_on_empty");
    let mut out = String::new();
    out.push_str(
        "| path | portcullis ns | floor ns | path/floor | (path − block_on)/floor \
         | oxide-auth ns | oxide/path |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, path, floor, oxide) in rows {
        let net = path.zip(exec).map(|(p, e)| p - e);
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            fmt_ns(path),
            fmt_ns(floor),
            fmt_ratio(path, floor),
            fmt_ratio(net, floor),
            fmt_ns(oxide),
            fmt_ratio(oxide, path),
        ));
    }
    out.push_str(&format!(
        "\nExecutor: tokio current-thread `block_on` of a ready future: {} ns \
         (included in both portcullis figures).\n",
        fmt_ns(exec),
    ));
    println!("\n{GROUP} summary (medians, this run):\n\n{out}");
    let file = dir.join("summary.md");
    match std::fs::write(&file, &out) {
        Ok(()) => println!("written to {}", file.display()),
        Err(e) => println!("could not write {}: {e}", file.display()),
    }
}

fn main() {
    // Only a real `cargo bench` run writes estimates; `--test`, `--list` and
    // `--profile-time` runs get no summary.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a.starts_with("--profile-time"));
    // Estimates older than this were not written by this run.
    #[allow(clippy::disallowed_methods)] // wall-clock mtime check, not protocol time
    let since = std::time::SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if measuring {
        summary(since);
    }
}
