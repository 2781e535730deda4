//! Token exchange (RFC 8693, issue 18) against its floor, in one criterion
//! run, so that every ratio comes from one run on one machine:
//!
//! - **portcullis**: `AuthorizationServer::token` with
//!   `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, a
//!   confidential client (Basic, SHA-256 secret) exchanging a user's opaque
//!   access token (`ShardedMemoryStore`, `SystemClock`), with a policy that
//!   allows everything: `exchange_{opaque,jwt}` (impersonation, the new
//!   token opaque or an ES256 JWT) and `exchange_{opaque,jwt}_actor`
//!   (delegation: an actor token, the exchanging client's own opaque token,
//!   looked up too; the new token carries `act`).
//! - **the floor**: the same exchange written plainly with the same crates:
//!   the form parsed (`form_urlencoded`), the Basic header decoded, the
//!   client secret's SHA-256 compared, the subject (and actor) token's
//!   SHA-256 looked up in a `HashMap` behind an `RwLock`, expiry and scope
//!   checked, a new 256-bit token drawn from ring's `SystemRandom` and
//!   stored by its SHA-256, or for a JWT the claims written with
//!   `serde_json`, base64url and signed ES256 by ring (the `jti` drawn),
//!   and the JSON response written: `floor_{opaque,jwt}[_actor]`.
//! - **the signature alone** (`sign_es256`): ring's ES256 signing of a
//!   claims set of the same size, what no JWT issuer can skip.
//! - **oauth-as 1.0's** `TokenExchange::exchange_token` on its
//!   `MemoryStorage` (`oauth_as_opaque[_actor]`): the same exchange, opaque
//!   tokens (it signs only with a host-installed signer), from a request it
//!   is handed already parsed (no form, no Basic header, no JSON response).
//!
//! ```sh
//! cargo bench --bench token_exchange -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `main` then prints the medians and ratios, also written to
//! `<criterion dir>/token_exchange/summary.md`. See `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::Criterion;
use ring::digest::{SHA256, digest};
use ring::rand::SecureRandom as _;
use ring::signature::{self as sig, EcdsaKeyPair};

use portcullis::http::{Method, Request};
use portcullis::stores::ShardedMemoryStore;
use portcullis::{
    AccessRecord, AccessTokenFormat, AuthorizationServer, Client, ClientAdmin, ClientId, Config,
    ExchangeGrant, ExchangeRequest, GrantId, GrantRefusal, GrantType, MemoryKeys, NewTokens,
    ScopeSet, SecretHash, TokenExchangePolicy, TokenHash, TokenStore, UnixTime, UserId,
    async_trait,
};

use common::{
    Op, Packed, criterion_home, fmt_ns, fmt_ratio, json_str, median_ns, os_rng, random_token,
    ratio, run_now,
};

const GROUP: &str = "token_exchange";
const ISSUER: &str = "https://auth.example.com";
const SCOPE: &str = "invoices:read";
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Subject tokens stored per server, visited in order.
const SUBJECTS: usize = 1_000;
const LIFETIME: u64 = 3600;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The request body of one exchange: the subject token, and the actor
/// token when given.
fn body(subject: &str, actor: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::with_capacity(256));
    s.append_pair(
        "grant_type",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    )
    .append_pair("subject_token", subject)
    .append_pair("subject_token_type", AT)
    .append_pair("scope", SCOPE);
    if let Some(actor) = actor {
        s.append_pair("actor_token", actor)
            .append_pair("actor_token_type", AT);
    }
    s.finish()
}

// ---------------------------------------------------------------------------
// portcullis

/// Allows every exchange the core validated.
struct Allow;

#[async_trait]
impl TokenExchangePolicy for Allow {
    async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
        Ok(r.allow())
    }
}

/// A server with token exchange on, the exchanging client `gateway` (its
/// access tokens opaque or ES256 JWTs), [`SUBJECTS`] opaque access tokens
/// of users (client `app`) and one of `gateway`'s own (the actor: oauth-as
/// takes only the exchanging client's own token as the actor token).
struct Exchange {
    rt: tokio::runtime::Runtime,
    server: Arc<AuthorizationServer>,
    basic: String,
    bodies: Packed,
}

impl Exchange {
    fn new(format: AccessTokenFormat, actor: bool) -> Self {
        let rt = common::runtime();
        let store = Arc::new(ShardedMemoryStore::new());
        let server = AuthorizationServer::builder(Config::new(ISSUER))
            .store(store.clone())
            .key_provider(Arc::new(MemoryKeys::new()))
            .token_exchange(Arc::new(Allow))
            .build()
            .expect("server");
        let scope = ScopeSet::parse(SCOPE).unwrap();
        let gateway = Client::confidential(
            ClientId::parse("gateway").unwrap(),
            SecretHash::sha256(SECRET),
        )
        .grant_type(GrantType::TokenExchange)
        .scope(scope.clone())
        .access_token_format(format)
        .build()
        .unwrap();
        let now = UnixTime::from_secs(now_secs());
        let record = |token: &str, client: &str, user: Option<&str>| {
            let hash = TokenHash::of(token);
            NewTokens {
                access: AccessRecord {
                    hash,
                    grant: GrantId::derive(&hash),
                    client_id: ClientId::parse(client).unwrap(),
                    subject: user.and_then(UserId::parse),
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: now.plus(Duration::from_secs(LIFETIME)),
                    openid: None,
                    dpop_jkt: None,
                    resources: Vec::new(),
                    act: None,
                },
                refresh: None,
            }
        };
        let rng = os_rng();
        let actor_token = random_token(&rng);
        let mut bodies = Packed::default();
        // The subject and actor tokens' clients: a token of a client that
        // is gone (or disabled) exchanges nothing.
        let owner = |id: &str| {
            Client::confidential(ClientId::parse(id).unwrap(), SecretHash::sha256(SECRET))
                .grant_type(GrantType::ClientCredentials)
                .scope(scope.clone())
                .build()
                .unwrap()
        };
        rt.block_on(async {
            store.insert_client(gateway).await.unwrap();
            store.insert_client(owner("app")).await.unwrap();
            store
                .issue(record(&actor_token, "gateway", None))
                .await
                .unwrap();
            for i in 0..SUBJECTS {
                let token = random_token(&rng);
                let user = format!("user-{i}");
                store
                    .issue(record(&token, "app", Some(&user)))
                    .await
                    .unwrap();
                bodies.push(&body(&token, actor.then_some(actor_token.as_str())));
            }
            if format == AccessTokenFormat::Jwt {
                server.ensure_signing_key().await.unwrap();
            }
        });
        let mut op = Self {
            rt,
            server: Arc::new(server),
            basic: common::basic_header("gateway", SECRET),
            bodies,
        };
        // Exchanged as meant: `act` for delegation, a JWT when asked.
        let resp = op.exchange();
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        assert_eq!(json_str(resp.body(), "issued_token_type"), AT);
        if format == AccessTokenFormat::Jwt {
            let token = json_str(resp.body(), "access_token");
            let claims = token.split('.').nth(1).unwrap();
            let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
            assert_eq!(claims.contains("\"act\""), actor, "{claims}");
        }
        op
    }

    fn exchange(&mut self) -> portcullis::http::Response {
        let body = self.bodies.next_cyclic();
        let req = Request::new(Method::Post)
            .header("Content-Type", b"application/x-www-form-urlencoded")
            .header("Authorization", self.basic.as_bytes())
            .body(body.as_bytes());
        run_now(&self.rt, self.server.token(black_box(&req)))
    }
}

impl Op for Exchange {
    fn run(&mut self) {
        let resp = self.exchange();
        debug_assert_eq!(resp.status(), 200);
        black_box(resp);
    }
}

// ---------------------------------------------------------------------------
// The floor and the signature alone

/// What the floor keeps per token.
struct FloorRecord {
    client_id: Arc<str>,
    subject: Option<Arc<str>>,
    scope: Arc<str>,
    expires_at: u64,
}

type FloorMap = RwLock<HashMap<[u8; 32], FloorRecord>>;

/// The exchange written plainly (see the module's doc).
struct Floor {
    jwt: bool,
    key: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    client_hash: [u8; 32],
    tokens: FloorMap,
    basic: String,
    bodies: Packed,
}

impl Floor {
    fn new(jwt: bool, actor: bool) -> Self {
        let rng = os_rng();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        let expires_at = now_secs() + LIFETIME;
        let mut map = HashMap::new();
        let actor_token = random_token(&rng);
        map.insert(
            sha256(actor_token.as_bytes()),
            FloorRecord {
                client_id: "gateway".into(),
                subject: None,
                scope: SCOPE.into(),
                expires_at,
            },
        );
        let mut bodies = Packed::default();
        for i in 0..SUBJECTS {
            let token = random_token(&rng);
            map.insert(
                sha256(token.as_bytes()),
                FloorRecord {
                    client_id: "app".into(),
                    subject: Some(format!("user-{i}").into()),
                    scope: SCOPE.into(),
                    expires_at,
                },
            );
            bodies.push(&body(&token, actor.then_some(actor_token.as_str())));
        }
        Self {
            jwt,
            key,
            rng,
            client_hash: sha256(SECRET.as_bytes()),
            tokens: RwLock::new(map),
            basic: common::basic_header("gateway", SECRET),
            bodies,
        }
    }

    /// One exchange: the response body.
    fn exchange(&mut self) -> String {
        // Client authentication: Basic, the secret's SHA-256.
        let decoded = STANDARD
            .decode(self.basic.strip_prefix("Basic ").unwrap())
            .unwrap();
        let colon = decoded.iter().position(|&b| b == b':').unwrap();
        let client = std::str::from_utf8(&decoded[..colon]).unwrap();
        assert_eq!(sha256(&decoded[colon + 1..]), self.client_hash);
        // The form.
        let body = self.bodies.next_cyclic();
        let (mut subject, mut actor, mut scope) = (None, None, None);
        for (k, v) in form_urlencoded::parse(body.as_bytes()) {
            match &*k {
                "subject_token" => subject = Some(v),
                "actor_token" => actor = Some(v),
                "scope" => scope = Some(v),
                "grant_type" | "subject_token_type" | "actor_token_type" => {
                    assert!(v.starts_with("urn:ietf:params:oauth:"));
                }
                _ => {}
            }
        }
        let now = now_secs();
        let tokens = self.tokens.read().unwrap();
        let found = tokens
            .get(&sha256(subject.unwrap().as_bytes()))
            .filter(|r| r.expires_at > now)
            .unwrap();
        let scope = scope.unwrap();
        assert!(found.scope.split(' ').any(|s| s == scope));
        let user = found.subject.clone().unwrap();
        let act = actor.map(|a| {
            let r = tokens
                .get(&sha256(a.as_bytes()))
                .filter(|r| r.expires_at > now)
                .unwrap();
            r.client_id.clone()
        });
        drop(tokens);
        let mut id = [0u8; 32];
        self.rng.fill(&mut id).unwrap();
        let token = if self.jwt {
            let claims = serde_json::json!({
                "iss": ISSUER, "sub": &*user, "aud": ISSUER, "client_id": client,
                "scope": &*scope, "iat": now, "exp": now + LIFETIME,
                "jti": URL_SAFE_NO_PAD.encode(id),
                "act": act.as_ref().map(|a| serde_json::json!({"sub": &**a, "client_id": &**a})),
            });
            let mut out = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#);
            out.push('.');
            URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&claims).unwrap(), &mut out);
            let signature = self.key.sign(&self.rng, out.as_bytes()).unwrap();
            out.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut out);
            out
        } else {
            URL_SAFE_NO_PAD.encode(id)
        };
        self.tokens.write().unwrap().insert(
            sha256(token.as_bytes()),
            FloorRecord {
                client_id: client.into(),
                subject: Some(user),
                scope: (*scope).into(),
                expires_at: now + LIFETIME,
            },
        );
        format!(
            r#"{{"access_token":"{token}","issued_token_type":"{AT}","token_type":"Bearer","expires_in":{LIFETIME},"scope":"{scope}"}}"#
        )
    }
}

impl Op for Floor {
    fn run(&mut self) {
        let body = self.exchange();
        black_box(body);
    }
}

/// ring's ES256 signing of a signing input the size of an exchanged JWT.
struct SignOnly {
    key: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    input: Vec<u8>,
}

impl SignOnly {
    fn new() -> Self {
        let mut floor = Floor::new(true, true);
        let token = floor.exchange();
        let jwt = json_str(token.as_bytes(), "access_token");
        let input = jwt.rsplit_once('.').unwrap().0.as_bytes().to_vec();
        Self {
            key: floor.key,
            rng: floor.rng,
            input,
        }
    }
}

impl Op for SignOnly {
    fn run(&mut self) {
        let s = self.key.sign(&self.rng, black_box(&self.input)).unwrap();
        black_box(s);
    }
}

// ---------------------------------------------------------------------------
// oauth-as 1.0

/// oauth-as's exchange on its `MemoryStorage`, the request already parsed.
struct OauthAs {
    rt: tokio::runtime::Runtime,
    server: oauth_as::AuthorizationServer<oauth_as::MemoryStorage>,
    client_id: oauth_as::ClientId,
    scope: oauth_as::ScopeSet,
    subjects: Packed,
    actor: Option<String>,
}

impl OauthAs {
    fn new(actor: bool) -> Self {
        use oauth_as::{
            AuthorizationServer, Client as OaClient, ClientAuth, ClientId as OaClientId,
            GrantType as OaGrant, IssuedToken, MemoryStorage, ScopeSet as OaScope, SecretHash,
            ServerConfig, Storage as _,
        };
        let rt = common::runtime();
        let server = AuthorizationServer::new(
            ServerConfig::new(ISSUER, format!("{ISSUER}/device")),
            MemoryStorage::new(),
        );
        let scope = OaScope::parse(SCOPE).unwrap();
        let client = |id: &str, grant: OaGrant| OaClient {
            client_id: OaClientId::new(id),
            auth: ClientAuth::ConfidentialSecretHash {
                hash: SecretHash::sha256(SECRET),
            },
            grant_types: vec![grant],
            redirect_uris: vec![],
            allowed_scopes: scope.clone(),
            default_scopes: scope.clone(),
            name: None,
            registration: None,
        };
        let now = std::time::SystemTime::now();
        let until = now + Duration::from_secs(LIFETIME);
        let rng = os_rng();
        let mut subjects = Packed::default();
        let actor_token = random_token(&rng);
        rt.block_on(async {
            server
                .register_client(client("gateway", OaGrant::TokenExchange))
                .await
                .unwrap();
            server
                .register_client(client("app", OaGrant::ClientCredentials))
                .await
                .unwrap();
            let issued = IssuedToken::new(
                actor_token.clone(),
                OaClientId::new("gateway"),
                None,
                scope.clone(),
                now,
                until,
            );
            let _ = server.store().put_token(issued).await.unwrap();
            for i in 0..SUBJECTS {
                let token = random_token(&rng);
                let issued = IssuedToken::new(
                    token.clone(),
                    OaClientId::new("app"),
                    Some(format!("user-{i}")),
                    scope.clone(),
                    now,
                    until,
                );
                let _ = server.store().put_token(issued).await.unwrap();
                subjects.push(&token);
            }
        });
        let mut op = Self {
            rt,
            server,
            client_id: OaClientId::new("gateway"),
            scope,
            subjects,
            actor: actor.then_some(actor_token),
        };
        let exchanged = op.exchange().expect("oauth-as exchanges");
        assert_eq!(exchanged.act.is_some(), actor);
        op
    }

    fn exchange(
        &mut self,
    ) -> Result<oauth_as::token_exchange::ExchangedToken, oauth_as::ErrorResponse> {
        use oauth_as::{TokenExchange as _, TokenExchangeRequest, TokenTypeIdentifier};
        let subject = self.subjects.next_cyclic();
        let mut request =
            TokenExchangeRequest::new(&self.client_id, subject, TokenTypeIdentifier::AccessToken);
        request.client_secret = Some(SECRET);
        request.scope = Some(&self.scope);
        if let Some(actor) = &self.actor {
            request.actor_token = Some(actor);
            request.actor_token_type = Some(TokenTypeIdentifier::AccessToken);
        }
        run_now(&self.rt, self.server.exchange_token(black_box(&request)))
    }
}

impl Op for OauthAs {
    fn run(&mut self) {
        let out = self.exchange();
        debug_assert!(out.is_ok());
        black_box(out.is_ok());
    }
}

// ---------------------------------------------------------------------------
// The catalogue

const FUNCTIONS: &[&str] = &[
    "exchange_opaque",
    "exchange_opaque_actor",
    "exchange_jwt",
    "exchange_jwt_actor",
    "floor_opaque",
    "floor_opaque_actor",
    "floor_jwt",
    "floor_jwt_actor",
    "sign_es256",
    "oauth_as_opaque",
    "oauth_as_opaque_actor",
];

fn build(name: &str) -> Box<dyn Op> {
    let actor = name.ends_with("_actor");
    match name.trim_end_matches("_actor") {
        "exchange_opaque" => Box::new(Exchange::new(AccessTokenFormat::Opaque, actor)),
        "exchange_jwt" => Box::new(Exchange::new(AccessTokenFormat::Jwt, actor)),
        "floor_opaque" => Box::new(Floor::new(false, actor)),
        "floor_jwt" => Box::new(Floor::new(true, actor)),
        "sign_es256" => Box::new(SignOnly::new()),
        "oauth_as_opaque" => Box::new(OauthAs::new(actor)),
        other => panic!("unknown function {other}; one of {FUNCTIONS:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group(GROUP);
    for &name in FUNCTIONS {
        // Built on first use, so a filtered run builds only what it measures.
        let mut op: Option<Box<dyn Op>> = None;
        g.bench_function(name, |b| {
            let op = op.get_or_insert_with(|| build(name));
            b.iter_custom(|iters| {
                op.prepare(iters);
                let start = Instant::now();
                for _ in 0..iters {
                    op.run();
                }
                start.elapsed()
            });
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Summary: medians from criterion's estimates.json, and the ratios.

fn summary(since: std::time::SystemTime) -> String {
    let dir = criterion_home().join(GROUP);
    let m = |f: &str| median_ns(&dir, f, since);
    let sign = m("sign_es256");
    let mut out = String::from(
        "| exchange | portcullis ns | floor ns | oauth-as ns | portcullis / floor \
         | oauth-as / floor | portcullis / oauth-as | portcullis / ES256 signature |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (label, ours, floor, theirs) in [
        (
            "opaque",
            "exchange_opaque",
            "floor_opaque",
            Some("oauth_as_opaque"),
        ),
        (
            "opaque, actor token",
            "exchange_opaque_actor",
            "floor_opaque_actor",
            Some("oauth_as_opaque_actor"),
        ),
        ("JWT (ES256)", "exchange_jwt", "floor_jwt", None),
        (
            "JWT (ES256), actor token",
            "exchange_jwt_actor",
            "floor_jwt_actor",
            None,
        ),
    ] {
        let (o, f) = (m(ours), m(floor));
        let t = theirs.and_then(m);
        let na = |s: String| {
            if theirs.is_some() {
                s
            } else {
                "n/a".to_owned()
            }
        };
        let by_sign = if ours.contains("jwt") {
            fmt_ratio(ratio(o, sign))
        } else {
            "n/a".to_owned()
        };
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {by_sign} |\n",
            fmt_ns(o),
            fmt_ns(f),
            na(fmt_ns(t)),
            fmt_ratio(ratio(o, f)),
            na(fmt_ratio(ratio(t, f))),
            na(fmt_ratio(ratio(o, t))),
        ));
    }
    out.push_str(&format!(
        "\nES256 signature alone (ring): {} ns\n",
        fmt_ns(sign)
    ));
    out
}

fn main() {
    // Only a real `cargo bench` run writes estimates; `--test`, `--list` and
    // `--profile-time` runs get no summary.
    let args: Vec<String> = std::env::args().collect();
    let listing = args.iter().any(|a| a == "--list");
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || listing || a.starts_with("--profile-time"));
    let since = std::time::SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
    if measuring {
        let out = summary(since);
        println!("\n{GROUP} summary (medians, this run):\n\n{out}");
        let file = criterion_home().join(GROUP).join("summary.md");
        match std::fs::write(&file, &out) {
            Ok(()) => println!("written to {}", file.display()),
            Err(e) => println!("could not write {}: {e}", file.display()),
        }
    }
}
