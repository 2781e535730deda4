//! The workloads every benchmark binary measures: each hot path of
//! portcullis through its public API, the path's floor (the raw work it cannot
//! skip, built from the same crates) and oxide-auth 0.6's equivalent, all
//! behind one interface, [`Op`], so that the criterion suite
//! (`token_endpoint.rs`), the instruction counter (`instructions.rs`) and the
//! scaling run (`scaling.rs`) measure the very same code.
//!
//! See `docs/performance.md` for what each floor includes and the fairness
//! rules (same secret-hashing cost on both sides, same request bytes).

// A benchmark has no caller to hand an error to: a failed setup step must stop
// the run loudly, which is what `unwrap`/`expect`/`assert` do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::digest::{SHA256, digest};
use ring::rand::SecureRandom as _;
use ring::signature::{self as sig, KeyPair as _};

use portcullis::http::{Method, Request};
use portcullis::stores::ShardedMemoryStore;
use portcullis::{
    AccessTokenFormat, Algorithm, AuthorizationServer, ChallengeMethod, Client, ClientAdmin,
    ClientId, CodeChallenge, CodeRecord, Config, GrantId, GrantType, MemoryKeys, RedirectUri,
    ScopeSet, SecretHash, TokenHash, TokenStore, UnixTime, UserId,
};

use oxide_auth::endpoint::{
    AccessTokenFlow, ClientCredentialsFlow, OwnerConsent, RefreshFlow, ResourceFlow, Solicitation,
};
use oxide_auth::frontends::simple::endpoint::{FnSolicitor, Generic, Vacant};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{
    Body as OxBody, Request as OxRequest, Response as OxResponse, Status as OxStatus,
};
use oxide_auth::primitives::authorizer::{AuthMap, Authorizer};
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth::primitives::issuer::{Issuer, TokenMap};
use oxide_auth::primitives::registrar::{
    Client as OxClient, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope as OxScope;

pub const ISSUER: &str = "https://auth.example.com";
/// The confidential client (client_credentials, refresh, introspection,
/// revocation): `client_secret_basic` with a 43-character secret stored as
/// one SHA-256 on every side.
pub const CLIENT_ID: &str = "billing";
/// The public client of the authorization-code path (PKCE, no secret).
pub const APP_ID: &str = "app";
pub const REDIRECT: &str = "https://app.example.com/cb";
pub const SCOPE: &str = "invoices:read";
pub const USER: &str = "alice";
/// The client secret (43 characters, like a generated one).
pub const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The client_credentials body (`scope` percent-encoded as form encoders do).
pub const CC_BODY: &[u8] = b"grant_type=client_credentials&scope=invoices%3Aread";
/// Live tokens in the store behind validation, introspection and revocation.
pub const LIVE_TOKENS: usize = 100_000;
/// A fixed "now" for records inserted directly (the system clock is far
/// past it, so their expiry is set from the real time instead).
pub const HOUR: u64 = 3600;

// ---------------------------------------------------------------------------
// The interface

/// One measurable operation.
pub trait Op {
    /// Makes sure `n` more runs can follow (inserts codes or tokens to
    /// consume). Not timed.
    fn prepare(&mut self, _n: u64) {}
    /// Runs the operation once.
    fn run(&mut self);
}

/// Polls a future that never waits (the memory store's never do) with a
/// no-op waker; a future that does wait is finished on the runtime. This is
/// how a request handler awaits portcullis inside a task that already runs:
/// no executor cost per call. `tokio_block_on_empty` in the suite shows what a
/// `block_on` per call would add.
pub fn run_now<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => rt.block_on(f),
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[allow(clippy::disallowed_methods)] // the benches measure ring's OS RNG directly
pub fn os_rng() -> ring::rand::SystemRandom {
    ring::rand::SystemRandom::new()
}

/// A fresh 43-character opaque value (32 random bytes, base64url).
pub fn random_token(rng: &ring::rand::SystemRandom) -> String {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of `"name":"…"` in a JSON body, found by a byte search (cheap
/// enough not to blur a chained benchmark; every side uses it).
pub fn json_str<'a>(body: &'a [u8], name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let at = body
        .windows(key.len())
        .position(|w| w == key.as_bytes())
        .unwrap_or_else(|| panic!("no {name} in {}", String::from_utf8_lossy(body)))
        + key.len();
    let len = body[at..].iter().position(|&b| b == b'"').unwrap();
    std::str::from_utf8(&body[at..at + len]).unwrap()
}

/// A deterministic shuffle (the visiting order of stored tokens, so that
/// neither the cache nor the prefetcher knows the next one).
pub fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Request inputs (headers, bodies) packed end to end and read in order, so
/// that the next one streams into the cache as a freshly received request
/// would be there, while the tokens they carry are in a random order with
/// respect to the store.
#[derive(Default)]
pub struct Packed {
    text: String,
    ends: Vec<usize>,
    next: usize,
}

impl Packed {
    pub fn new<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Self {
        let mut p = Self::default();
        for s in items {
            p.push(s.as_ref());
        }
        p
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.next = 0;
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The next input, cycling.
    pub fn next_cyclic(&mut self) -> &str {
        let i = self.next;
        self.next = if i + 1 == self.ends.len() { 0 } else { i + 1 };
        self.get(i)
    }

    /// The next input, each used once.
    pub fn next_once(&mut self) -> &str {
        let i = self.next;
        self.next += 1;
        self.get(i)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The clock read a floor does where its path must know the time (to set
/// or check an expiry): the same `SystemTime::now` as `SystemClock`.
#[inline]
fn now_secs() -> u64 {
    #[allow(clippy::disallowed_methods)] // the floors' clock, as SystemClock's
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn form_request(body: &[u8]) -> Request<'_> {
    Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body)
}

fn basic_form_request<'a>(body: &'a [u8], basic: &'a str) -> Request<'a> {
    form_request(body).header("Authorization", basic.as_bytes())
}

// ---------------------------------------------------------------------------
// portcullis

/// A server on a `ShardedMemoryStore` (the fastest store we ship on several
/// cores; `MemoryStore` is the simple reference) with the confidential client (client
/// credentials and refresh) and the public client (authorization code with
/// PKCE, refresh), `SystemClock` and `SystemRandom`.
pub struct Portcullis {
    pub rt: tokio::runtime::Runtime,
    pub server: Arc<AuthorizationServer>,
    pub store: Arc<ShardedMemoryStore>,
    pub basic: String,
}

impl Portcullis {
    pub fn new() -> Self {
        Self::with(Config::new(ISSUER), AccessTokenFormat::Opaque, None)
    }

    pub fn with(config: Config, format: AccessTokenFormat, keys: Option<Arc<MemoryKeys>>) -> Self {
        Self::built(config, format, keys, None)
    }

    /// The default server with an audit sink installed that does nothing:
    /// what the event hook itself costs.
    pub fn with_noop_events() -> Self {
        Self::built(
            Config::new(ISSUER),
            AccessTokenFormat::Opaque,
            None,
            Some(Arc::new(NoopSink)),
        )
    }

    fn built(
        config: Config,
        format: AccessTokenFormat,
        keys: Option<Arc<MemoryKeys>>,
        events: Option<Arc<dyn portcullis::EventSink>>,
    ) -> Self {
        let rt = runtime();
        let store = Arc::new(ShardedMemoryStore::new());
        let mut builder = AuthorizationServer::builder(config).store(store.clone());
        if let Some(keys) = keys {
            builder = builder.key_provider(keys);
        }
        if let Some(events) = events {
            builder = builder.events(events);
        }
        let server = Arc::new(builder.build().expect("server"));
        let scope = ScopeSet::parse(SCOPE).unwrap();
        let service = Client::confidential(
            ClientId::parse(CLIENT_ID).unwrap(),
            SecretHash::sha256(SECRET),
        )
        .grant_type(GrantType::ClientCredentials)
        .grant_type(GrantType::RefreshToken)
        .scope(scope.clone())
        .access_token_format(format)
        .build()
        .expect("client");
        let app = Client::public(ClientId::parse(APP_ID).unwrap())
            .redirect_uri(RedirectUri::parse(REDIRECT).unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .scope(scope)
            .build()
            .expect("client");
        rt.block_on(async {
            store.insert_client(service).await.unwrap();
            store.insert_client(app).await.unwrap();
        });
        if format == AccessTokenFormat::Jwt {
            rt.block_on(server.ensure_signing_key())
                .expect("signing key");
        }
        let basic = basic_header(CLIENT_ID, SECRET);
        Self {
            rt,
            server,
            store,
            basic,
        }
    }

    /// Issues a client_credentials token and returns the token response body.
    pub fn issue(&self) -> Vec<u8> {
        let resp = run_now(
            &self.rt,
            self.server.token(&basic_form_request(CC_BODY, &self.basic)),
        );
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        resp.into_body()
    }

    pub fn issue_token(&self) -> String {
        json_str(&self.issue(), "access_token").to_owned()
    }

    /// `n` live client_credentials tokens, in a shuffled order.
    pub fn fill(&self, n: usize) -> Vec<String> {
        let mut tokens: Vec<String> = (0..n).map(|_| self.issue_token()).collect();
        shuffle(&mut tokens, 0x9E37_79B9_7F4A_7C15);
        tokens
    }
}

impl Default for Portcullis {
    fn default() -> Self {
        Self::new()
    }
}

/// `AuthorizationServer::token`, client_credentials, opaque or JWT by the
/// client's format.
pub struct PcIssue(pub Portcullis);

/// An audit sink that looks at each event and keeps nothing.
pub struct NoopSink;

impl portcullis::EventSink for NoopSink {
    fn event(&self, event: &portcullis::Event<'_>) {
        black_box(event);
    }
}

impl Op for PcIssue {
    fn run(&mut self) {
        let p = &self.0;
        let resp = run_now(
            &p.rt,
            p.server
                .token(black_box(&basic_form_request(CC_BODY, &p.basic))),
        );
        debug_assert_eq!(resp.status(), 200);
        black_box(resp);
    }
}

/// Authorization-code redemption by the public client with PKCE (S256):
/// codes are inserted with `TokenStore::insert_code` ahead of time, one is
/// redeemed per run; the client may refresh, so a refresh token comes too.
pub struct PcCode {
    p: Portcullis,
    rng: ring::rand::SystemRandom,
    bodies: Packed,
}

impl PcCode {
    pub fn new() -> Self {
        Self {
            p: Portcullis::new(),
            rng: os_rng(),
            bodies: Packed::default(),
        }
    }
}

impl Default for PcCode {
    fn default() -> Self {
        Self::new()
    }
}

pub fn code_body(code: &str) -> String {
    code_body_of(APP_ID, code)
}

/// A code redemption's form body for `client_id` (a public client: PKCE).
fn code_body_of(client_id: &str, code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&code_verifier={VERIFIER}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    )
}

impl Op for PcCode {
    fn prepare(&mut self, n: u64) {
        self.bodies.clear();
        let now = UnixTime::from_secs(now_secs());
        let client = ClientId::parse(APP_ID).unwrap();
        let scope = ScopeSet::parse(SCOPE).unwrap();
        let redirect = RedirectUri::parse(REDIRECT).unwrap();
        let challenge = CodeChallenge::parse(ChallengeMethod::S256, CHALLENGE).unwrap();
        for _ in 0..n {
            let code = random_token(&self.rng);
            let hash = TokenHash::of(&code);
            let record = CodeRecord {
                hash,
                grant: GrantId::derive(&hash),
                client_id: client.clone(),
                subject: UserId::parse(USER).unwrap(),
                scope: scope.clone(),
                redirect_uri: Some(redirect.clone()),
                challenge: Some(challenge.clone()),
                issued_at: now,
                expires_at: now.plus(Duration::from_secs(HOUR)),
                used: false,
                openid: None,
                resources: Vec::new(),
                dpop_jkt: None,
            };
            run_now(&self.p.rt, self.p.store.insert_code(record)).unwrap();
            self.bodies.push(&code_body(&code));
        }
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let resp = run_now(
            &self.p.rt,
            self.p
                .server
                .token(black_box(&form_request(body.as_bytes()))),
        );
        debug_assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        black_box(resp);
    }
}

/// Refresh rotation, chained: each run presents the refresh token the
/// previous one returned (confidential client, Basic).
pub struct PcRefresh {
    p: Portcullis,
    body: String,
}

pub fn refresh_body(out: &mut String, token: &str) {
    out.clear();
    out.push_str("grant_type=refresh_token&refresh_token=");
    out.push_str(token);
}

impl PcRefresh {
    pub fn new() -> Self {
        let p = Portcullis::new();
        // The chain starts from a grant of the confidential client for a
        // user, stored directly.
        let rng = os_rng();
        let now = UnixTime::from_secs(now_secs());
        let (access, refresh) = (random_token(&rng), random_token(&rng));
        let (ah, rh) = (TokenHash::of(&access), TokenHash::of(&refresh));
        let grant = GrantId::derive(&ah);
        let client = ClientId::parse(CLIENT_ID).unwrap();
        let scope = ScopeSet::parse(SCOPE).unwrap();
        run_now(
            &p.rt,
            p.store.issue(portcullis::NewTokens {
                access: portcullis::AccessRecord {
                    hash: ah,
                    grant,
                    client_id: client.clone(),
                    subject: UserId::parse(USER),
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: now.plus(Duration::from_secs(HOUR)),
                    openid: None,
                    dpop_jkt: None,
                    resources: Vec::new(),
                    act: None,
                },
                refresh: Some(portcullis::RefreshRecord {
                    hash: rh,
                    grant,
                    client_id: client,
                    subject: UserId::parse(USER),
                    scope,
                    issued_at: now,
                    expires_at: now.plus(Duration::from_secs(30 * 24 * HOUR)),
                    used: false,
                    openid: None,
                    dpop_jkt: None,
                    resources: Vec::new(),
                    successor: None,
                }),
            }),
        )
        .unwrap();
        let mut body = String::with_capacity(128);
        refresh_body(&mut body, &refresh);
        Self { p, body }
    }
}

impl Default for PcRefresh {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for PcRefresh {
    fn run(&mut self) {
        let resp = run_now(
            &self.p.rt,
            self.p.server.token(black_box(&basic_form_request(
                self.body.as_bytes(),
                &self.p.basic,
            ))),
        );
        debug_assert_eq!(resp.status(), 200);
        let next = json_str(resp.body(), "refresh_token");
        let mut body = std::mem::take(&mut self.body);
        refresh_body(&mut body, next);
        self.body = body;
    }
}

/// The shared 100,000-token store behind introspection, revocation and
/// bearer validation.
pub struct Live {
    pub p: Portcullis,
    pub tokens: Vec<String>,
}

impl Live {
    pub fn new() -> Self {
        let p = Portcullis::new();
        let tokens = p.fill(LIVE_TOKENS);
        Self { p, tokens }
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

/// Introspection (RFC 7662) of the live tokens in turn, the confidential
/// client authenticating with Basic.
pub struct PcIntrospect {
    live: Rc<Live>,
    bodies: Packed,
}

impl PcIntrospect {
    pub fn new(live: Rc<Live>) -> Self {
        let bodies = Packed::new(
            live.tokens
                .iter()
                .map(|t| format!("token={t}&token_type_hint=access_token")),
        );
        Self { live, bodies }
    }
}

impl Op for PcIntrospect {
    fn run(&mut self) {
        let body = self.bodies.next_cyclic();
        let p = &self.live.p;
        let resp = run_now(
            &p.rt,
            p.server
                .introspect(black_box(&basic_form_request(body.as_bytes(), &p.basic))),
        );
        debug_assert!(resp.body().starts_with(br#"{"active":true"#));
        black_box(resp);
    }
}

/// Revocation (RFC 7009) of an access token per run: tokens issued ahead of
/// time into the live store.
pub struct PcRevoke {
    live: Rc<Live>,
    bodies: Packed,
}

impl PcRevoke {
    pub fn new(live: Rc<Live>) -> Self {
        Self {
            live,
            bodies: Packed::default(),
        }
    }
}

impl Op for PcRevoke {
    fn prepare(&mut self, n: u64) {
        let mut tokens: Vec<String> = (0..n).map(|_| self.live.p.issue_token()).collect();
        shuffle(&mut tokens, n ^ 0x5DEE_CE66);
        self.bodies = Packed::new(
            tokens
                .iter()
                .map(|t| format!("token={t}&token_type_hint=access_token")),
        );
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let p = &self.live.p;
        let resp = run_now(
            &p.rt,
            p.server
                .revoke(black_box(&basic_form_request(body.as_bytes(), &p.basic))),
        );
        debug_assert_eq!(resp.status(), 200);
        black_box(resp);
    }
}

/// `AuthorizationServer::authenticate_bearer` over the live tokens in turn.
pub struct PcBearer {
    live: Rc<Live>,
    headers: Packed,
    required: ScopeSet,
}

impl PcBearer {
    pub fn new(live: Rc<Live>) -> Self {
        let headers = Packed::new(live.tokens.iter().map(|t| format!("Bearer {t}")));
        Self {
            live,
            headers,
            required: ScopeSet::parse(SCOPE).unwrap(),
        }
    }
}

impl Op for PcBearer {
    fn run(&mut self) {
        let h = self.headers.next_cyclic();
        let p = &self.live.p;
        let req = Request::new(Method::Get).header("Authorization", h.as_bytes());
        let ok = run_now(
            &p.rt,
            p.server
                .authenticate_bearer(black_box(&req), black_box(&self.required)),
        );
        debug_assert!(ok.is_ok());
        black_box(ok.is_ok());
    }
}

/// A JWT server: `MemoryKeys`, a signing key of `alg`, the confidential
/// client issuing JWT access tokens.
pub fn jwt_server(alg: Algorithm, revocation_check: bool, keys: Arc<MemoryKeys>) -> Portcullis {
    let mut config = Config::new(ISSUER);
    config.signing_algorithm = alg;
    config.jwt_revocation_check = revocation_check;
    Portcullis::with(config, AccessTokenFormat::Jwt, Some(keys))
}

/// Validation of one JWT access token (`authenticate_bearer`).
pub struct PcBearerJwt {
    p: Portcullis,
    header: String,
    required: ScopeSet,
}

impl PcBearerJwt {
    /// The token is issued by a server with the revocation check on (so it
    /// is in the store); `revocation_check` decides whether validation
    /// looks it up.
    pub fn new(alg: Algorithm, revocation_check: bool) -> Self {
        let keys = Arc::new(MemoryKeys::new());
        let p = jwt_server(alg, revocation_check, keys);
        let token = p.issue_token();
        assert_eq!(token.split('.').count(), 3);
        Self {
            p,
            header: format!("Bearer {token}"),
            required: ScopeSet::parse(SCOPE).unwrap(),
        }
    }

    pub fn token(&self) -> &str {
        self.header.strip_prefix("Bearer ").unwrap()
    }
}

impl Op for PcBearerJwt {
    fn run(&mut self) {
        let req = Request::new(Method::Get).header("Authorization", self.header.as_bytes());
        let ok = run_now(
            &self.p.rt,
            self.p
                .server
                .authenticate_bearer(black_box(&req), black_box(&self.required)),
        );
        debug_assert!(ok.is_ok());
        black_box(ok.is_ok());
    }
}

// ---------------------------------------------------------------------------
// Floors: the raw work each path cannot skip, with the same crates.

/// Keys are SHA-256 digests: hashing them again is waste, so the floor's map
/// takes eight of their bytes, as a careful store would.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut w = [0u8; 8];
        let n = bytes.len().min(8);
        w[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(w);
    }
}

type FloorMap<V> = RwLock<HashMap<[u8; 32], V, BuildHasherDefault<DigestHasher>>>;

/// What the floor keeps per token: client, subject and scope shared with
/// their owners, times inline, the grant id (revocation needs it).
#[derive(Clone)]
pub struct FloorRecord {
    client_id: Arc<str>,
    subject: Option<Arc<str>>,
    scope: Arc<str>,
    grant: [u8; 16],
    issued_at: u64,
    expires_at: u64,
    used: bool,
}

pub struct FloorCode {
    client_id: Arc<str>,
    subject: Arc<str>,
    scope: Arc<str>,
    redirect_uri: Arc<str>,
    challenge: Arc<str>,
    grant: [u8; 16],
    expires_at: u64,
    used: bool,
}

#[derive(serde::Serialize)]
struct FloorTokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: &'a str,
}

#[derive(serde::Serialize)]
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

/// Constant-time compare, four words at a time.
fn ct_eq_32(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        diff |=
            u64::from_ne_bytes(x.try_into().unwrap()) ^ u64::from_ne_bytes(y.try_into().unwrap());
    }
    black_box(diff) == 0
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    black_box(diff) == 0
}

/// `Basic base64(id:secret)`: decode, split, SHA-256 of the secret and a
/// constant-time compare with the stored digest.
fn floor_client_auth(header: &str, stored: &[u8; 32]) -> bool {
    let Some(b64) = header.strip_prefix("Basic ") else {
        return false;
    };
    let mut buf = [0u8; 96];
    let Ok(n) = STANDARD.decode_slice(b64, &mut buf) else {
        return false;
    };
    let raw = &buf[..n];
    let Some(colon) = raw.iter().position(|&b| b == b':') else {
        return false;
    };
    black_box(&raw[..colon]);
    ct_eq_32(&sha256(&raw[colon + 1..]), stored)
}

/// `form_urlencoded` parse keeping the names asked for.
fn floor_form<'a, const N: usize>(
    body: &'a [u8],
    names: [&str; N],
) -> [Option<std::borrow::Cow<'a, str>>; N] {
    let mut out = std::array::from_fn(|_| None);
    for (k, v) in form_urlencoded::parse(body) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            out[i] = Some(v);
        }
    }
    out
}

/// 32·n random bytes in one call, as base64url tokens and their hashes.
fn floor_mint<const N: usize>(rng: &ring::rand::SystemRandom) -> [(String, [u8; 32]); N] {
    let mut bytes = [[0u8; 32]; N];
    rng.fill(bytes.as_flattened_mut()).unwrap();
    bytes.map(|b| {
        let t = URL_SAFE_NO_PAD.encode(b);
        let h = sha256(t.as_bytes());
        (t, h)
    })
}

fn floor_grant(hash: &[u8; 32]) -> [u8; 16] {
    hash[..16].try_into().unwrap()
}

/// Shared state of the floors.
pub struct Floor {
    rng: ring::rand::SystemRandom,
    stored_secret: [u8; 32],
    basic: String,
    client: Arc<str>,
    app: Arc<str>,
    user: Arc<str>,
    scope: Arc<str>,
    redirect: Arc<str>,
    challenge: Arc<str>,
    tokens: FloorMap<FloorRecord>,
    refresh: FloorMap<FloorRecord>,
    codes: FloorMap<FloorCode>,
}

impl Floor {
    pub fn new() -> Self {
        Self {
            rng: os_rng(),
            stored_secret: sha256(SECRET.as_bytes()),
            basic: basic_header(CLIENT_ID, SECRET),
            client: Arc::from(CLIENT_ID),
            app: Arc::from(APP_ID),
            user: Arc::from(USER),
            scope: Arc::from(SCOPE),
            redirect: Arc::from(REDIRECT),
            challenge: Arc::from(CHALLENGE),
            tokens: RwLock::default(),
            refresh: RwLock::default(),
            codes: RwLock::default(),
        }
    }

    fn record(
        &self,
        client: &Arc<str>,
        subject: Option<&Arc<str>>,
        grant: [u8; 16],
    ) -> FloorRecord {
        let now = now_secs();
        FloorRecord {
            client_id: client.clone(),
            subject: subject.cloned(),
            scope: self.scope.clone(),
            grant,
            issued_at: now,
            expires_at: now + HOUR,
            used: false,
        }
    }

    /// `n` live tokens of the confidential client, shuffled.
    fn fill(&self, n: usize) -> Vec<String> {
        let mut tokens = Vec::with_capacity(n);
        let mut map = self.tokens.write().unwrap();
        for _ in 0..n {
            let t = random_token(&self.rng);
            let h = sha256(t.as_bytes());
            map.insert(h, self.record(&self.client, None, floor_grant(&h)));
            tokens.push(t);
        }
        shuffle(&mut tokens, 0x9E37_79B9_7F4A_7C15);
        tokens
    }
}

impl Default for Floor {
    fn default() -> Self {
        Self::new()
    }
}

/// client_credentials floor: form parse, Basic decode + SHA-256 of the
/// secret + compare, 32 random bytes, base64url, SHA-256 of the token, one
/// insert, the JSON response.
pub struct FloorIssue(pub Floor);

impl Op for FloorIssue {
    fn run(&mut self) {
        self.0.issue();
    }
}

impl Floor {
    /// The end of an issuance without a refresh token: the token kept under
    /// its hash (one insert) and the JSON response.
    fn keep_and_answer(&self, token: &str, hash: [u8; 32], scope: &str) {
        self.tokens
            .write()
            .unwrap()
            .insert(hash, self.record(&self.client, None, floor_grant(&hash)));
        black_box(
            serde_json::to_vec(&FloorTokenResponse {
                access_token: token,
                token_type: "Bearer",
                expires_in: HOUR,
                refresh_token: None,
                scope,
            })
            .unwrap(),
        );
    }

    /// One client_credentials issuance (shared by the scaling run's threads).
    pub fn issue(&self) {
        let [grant_type, scope] = floor_form(black_box(CC_BODY), ["grant_type", "scope"]);
        assert!(grant_type.is_some());
        let scope = scope.unwrap_or_default();
        assert!(floor_client_auth(
            black_box(&self.basic),
            &self.stored_secret
        ));
        let [(token, hash)] = floor_mint::<1>(&self.rng);
        self.keep_and_answer(&token, hash, &scope);
    }
}

/// Code redemption floor (public client, PKCE S256): form parse, SHA-256 of
/// the code, one lookup-and-mark of the code (client, redirect URI, expiry
/// checks), SHA-256 of the verifier + base64url + constant-time compare, 64
/// random bytes in one call, 2 × (base64url + SHA-256), 2 inserts, JSON.
pub struct FloorCodeOp {
    f: Floor,
    bodies: Packed,
}

impl FloorCodeOp {
    pub fn new() -> Self {
        Self {
            f: Floor::new(),
            bodies: Packed::default(),
        }
    }
}

impl Default for FloorCodeOp {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for FloorCodeOp {
    fn prepare(&mut self, n: u64) {
        self.bodies.clear();
        let f = &self.f;
        let mut codes = f.codes.write().unwrap();
        for _ in 0..n {
            let code = random_token(&f.rng);
            let h = sha256(code.as_bytes());
            codes.insert(
                h,
                FloorCode {
                    client_id: f.app.clone(),
                    subject: f.user.clone(),
                    scope: f.scope.clone(),
                    redirect_uri: f.redirect.clone(),
                    challenge: f.challenge.clone(),
                    grant: floor_grant(&h),
                    expires_at: u64::MAX,
                    used: false,
                },
            );
            self.bodies.push(&code_body(&code));
        }
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let f = &self.f;
        let [grant_type, code, redirect_uri, client_id, verifier] = floor_form(
            black_box(body.as_bytes()),
            [
                "grant_type",
                "code",
                "redirect_uri",
                "client_id",
                "code_verifier",
            ],
        );
        assert!(grant_type.is_some());
        let hash = sha256(code.unwrap_or_default().as_bytes());
        let (client_id, redirect_uri, verifier) = (
            client_id.unwrap_or_default(),
            redirect_uri.unwrap_or_default(),
            verifier.unwrap_or_default(),
        );
        let (subject, grant, challenge) = {
            let mut codes = f.codes.write().unwrap();
            let c = codes.get_mut(&hash).unwrap();
            assert!(
                !c.used
                    && *c.client_id == *client_id
                    && *c.redirect_uri == *redirect_uri
                    && c.expires_at > now_secs()
            );
            c.used = true;
            (c.subject.clone(), c.grant, c.challenge.clone())
        };
        let mut b64 = [0u8; 43];
        URL_SAFE_NO_PAD
            .encode_slice(sha256(verifier.as_bytes()), &mut b64)
            .unwrap();
        assert!(ct_eq(&b64, challenge.as_bytes()));
        let [(access, ah), (refresh, rh)] = floor_mint::<2>(&f.rng);
        f.tokens
            .write()
            .unwrap()
            .insert(ah, f.record(&f.app, Some(&subject), grant));
        f.refresh
            .write()
            .unwrap()
            .insert(rh, f.record(&f.app, Some(&subject), grant));
        black_box(
            serde_json::to_vec(&FloorTokenResponse {
                access_token: &access,
                token_type: "Bearer",
                expires_in: HOUR,
                refresh_token: Some(&refresh),
                scope: &f.scope,
            })
            .unwrap(),
        );
    }
}

/// Refresh floor (confidential client, chained): form parse, Basic + SHA-256
/// of the secret, SHA-256 of the refresh token, one lookup-and-mark, 64
/// random bytes, 2 × (base64url + SHA-256), 2 inserts, JSON.
pub struct FloorRefresh {
    f: Floor,
    body: String,
}

impl FloorRefresh {
    pub fn new() -> Self {
        let f = Floor::new();
        let t = random_token(&f.rng);
        let h = sha256(t.as_bytes());
        let rec = f.record(&f.client, Some(&f.user), floor_grant(&h));
        f.refresh.write().unwrap().insert(h, rec);
        let mut body = String::with_capacity(128);
        refresh_body(&mut body, &t);
        Self { f, body }
    }
}

impl Default for FloorRefresh {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for FloorRefresh {
    fn run(&mut self) {
        let f = &self.f;
        let out = {
            let [grant_type, token] = floor_form(
                black_box(self.body.as_bytes()),
                ["grant_type", "refresh_token"],
            );
            assert!(grant_type.is_some());
            assert!(floor_client_auth(black_box(&f.basic), &f.stored_secret));
            let hash = sha256(token.unwrap_or_default().as_bytes());
            let (subject, grant) = {
                let mut map = f.refresh.write().unwrap();
                let r = map.get_mut(&hash).unwrap();
                assert!(!r.used && *r.client_id == *CLIENT_ID && r.expires_at > now_secs());
                r.used = true;
                (r.subject.clone(), r.grant)
            };
            let [(access, ah), (refresh, rh)] = floor_mint::<2>(&f.rng);
            f.tokens
                .write()
                .unwrap()
                .insert(ah, f.record(&f.client, subject.as_ref(), grant));
            f.refresh
                .write()
                .unwrap()
                .insert(rh, f.record(&f.client, subject.as_ref(), grant));
            serde_json::to_vec(&FloorTokenResponse {
                access_token: &access,
                token_type: "Bearer",
                expires_in: HOUR,
                refresh_token: Some(&refresh),
                scope: &f.scope,
            })
            .unwrap()
        };
        let next = json_str(&out, "refresh_token");
        let mut body = std::mem::take(&mut self.body);
        refresh_body(&mut body, next);
        self.body = body;
    }
}

/// Introspection floor: form parse, Basic + SHA-256 of the caller's secret,
/// SHA-256 of the token, one lookup, the JSON description.
pub struct FloorIntrospect {
    f: Floor,
    bodies: Packed,
}

impl FloorIntrospect {
    pub fn new() -> Self {
        let f = Floor::new();
        let bodies = Packed::new(
            f.fill(LIVE_TOKENS)
                .iter()
                .map(|t| format!("token={t}&token_type_hint=access_token")),
        );
        Self { f, bodies }
    }
}

impl Default for FloorIntrospect {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for FloorIntrospect {
    fn run(&mut self) {
        let body = self.bodies.next_cyclic();
        let f = &self.f;
        let [token, hint] = floor_form(black_box(body.as_bytes()), ["token", "token_type_hint"]);
        black_box(hint);
        assert!(floor_client_auth(black_box(&f.basic), &f.stored_secret));
        let hash = sha256(token.unwrap_or_default().as_bytes());
        let map = f.tokens.read().unwrap();
        let rec = map.get(&hash).unwrap();
        black_box(
            serde_json::to_vec(&FloorIntrospection {
                active: rec.expires_at > now_secs(),
                scope: &rec.scope,
                client_id: &rec.client_id,
                sub: rec.subject.as_deref().unwrap_or(&rec.client_id),
                exp: rec.expires_at,
                iat: rec.issued_at,
                iss: ISSUER,
                token_type: "Bearer",
            })
            .unwrap(),
        );
    }
}

/// Revocation floor: form parse, Basic + SHA-256 of the secret, SHA-256 of
/// the token, one remove (the owner checked on the removed record).
pub struct FloorRevoke {
    f: Floor,
    bodies: Packed,
}

impl FloorRevoke {
    pub fn new() -> Self {
        let f = Floor::new();
        f.fill(LIVE_TOKENS);
        Self {
            f,
            bodies: Packed::default(),
        }
    }
}

impl Default for FloorRevoke {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for FloorRevoke {
    fn prepare(&mut self, n: u64) {
        self.bodies = Packed::new(
            self.f
                .fill(n as usize)
                .iter()
                .map(|t| format!("token={t}&token_type_hint=access_token")),
        );
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let f = &self.f;
        let [token, hint] = floor_form(black_box(body.as_bytes()), ["token", "token_type_hint"]);
        black_box(hint);
        assert!(floor_client_auth(black_box(&f.basic), &f.stored_secret));
        let hash = sha256(token.unwrap_or_default().as_bytes());
        let removed = f.tokens.write().unwrap().remove(&hash);
        assert!(removed.is_some_and(|r| *r.client_id == *CLIENT_ID));
    }
}

/// Opaque bearer validation floor: strip `Bearer `, SHA-256 of the token,
/// one lookup under a read lock, the expiry and scope checks, the client and
/// scope handed out (two reference counts).
pub struct FloorBearer {
    f: Floor,
    headers: Packed,
}

impl FloorBearer {
    pub fn new() -> Self {
        let f = Floor::new();
        let headers = Packed::new(f.fill(LIVE_TOKENS).iter().map(|t| format!("Bearer {t}")));
        Self { f, headers }
    }
}

impl Default for FloorBearer {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for FloorBearer {
    fn run(&mut self) {
        let h = self.headers.next_cyclic();
        let token = black_box(h).strip_prefix("Bearer ").unwrap();
        let hash = sha256(token.as_bytes());
        let (client, scope) = {
            let map = self.f.tokens.read().unwrap();
            let rec = map.get(&hash).unwrap();
            assert!(rec.expires_at > now_secs());
            (rec.client_id.clone(), rec.scope.clone())
        };
        assert!(*scope == *SCOPE);
        black_box((client, scope));
    }
}

/// A key of one algorithm and a real token's signing input, for the JWT
/// floors: the same header layout and claims portcullis produces.
pub struct FloorJwt {
    alg: Algorithm,
    /// `base64url(header)`, computed once per key (as portcullis does).
    header: String,
    signing_input: String,
    signature: Vec<u8>,
    public: Vec<u8>,
    ecdsa: Option<sig::EcdsaKeyPair>,
    ed25519: Option<sig::Ed25519KeyPair>,
    f: Floor,
    /// The whole token, as a bearer header (validation floors).
    bearer: String,
}

#[derive(serde::Serialize)]
struct FloorClaims<'a> {
    aud: &'a str,
    client_id: &'a str,
    exp: u64,
    iat: u64,
    iss: &'a str,
    jti: &'a str,
    scope: &'a str,
    sub: &'a str,
}

#[derive(serde::Deserialize)]
struct FloorHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(serde::Deserialize)]
struct FloorReadClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    exp: u64,
    #[allow(dead_code)]
    iat: u64,
    #[serde(borrow)]
    sub: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    client_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    scope: std::borrow::Cow<'a, str>,
}

impl FloorJwt {
    /// Takes a real token of this algorithm for the lengths of what is
    /// signed and verified.
    pub fn new(alg: Algorithm, token: &str) -> Self {
        let rng = os_rng();
        let (ecdsa, ed25519, public) = match alg {
            Algorithm::Es256 => {
                let pkcs8 =
                    sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .unwrap();
                let k = sig::EcdsaKeyPair::from_pkcs8(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .unwrap();
                let public = k.public_key().as_ref().to_vec();
                (Some(k), None, public)
            }
            Algorithm::EdDsa => {
                let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                let k = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
                let public = k.public_key().as_ref().to_vec();
                (None, Some(k), public)
            }
            _ => panic!("no floor for {alg}"),
        };
        let (header, _) = token.split_once('.').unwrap();
        let mut f = Self {
            alg,
            header: header.to_owned(),
            signing_input: token.rsplit_once('.').unwrap().0.to_owned(),
            signature: Vec::new(),
            public,
            ecdsa,
            ed25519,
            f: Floor::new(),
            bearer: String::new(),
        };
        f.signature = f.sign(f.signing_input.as_bytes());
        f.bearer = format!(
            "Bearer {}.{}",
            f.signing_input,
            URL_SAFE_NO_PAD.encode(&f.signature)
        );
        // The token is live in the floor's map (for the revocation check).
        let h = sha256(&f.bearer.as_bytes()["Bearer ".len()..]);
        let rec = f.f.record(&f.f.client, None, floor_grant(&h));
        f.f.tokens.write().unwrap().insert(h, rec);
        f
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match (&self.ecdsa, &self.ed25519) {
            (Some(k), _) => k.sign(&self.f.rng, msg).unwrap().as_ref().to_vec(),
            (_, Some(k)) => k.sign(msg).as_ref().to_vec(),
            _ => unreachable!(),
        }
    }

    fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        let alg: &dyn sig::VerificationAlgorithm = match self.alg {
            Algorithm::Es256 => &sig::ECDSA_P256_SHA256_FIXED,
            _ => &sig::ED25519,
        };
        sig::UnparsedPublicKey::new(alg, &self.public)
            .verify(msg, signature)
            .is_ok()
    }

    /// The issuance floor: the opaque issuance floor's request handling
    /// (form, Basic, SHA-256 of the secret) and store insert, with a `jti`
    /// (32 random bytes, base64url) in place of the token, the claims as
    /// JSON, base64url, the signature, SHA-256 of the token (its store key)
    /// and the JSON response.
    fn issue(&self) {
        let f = &self.f;
        let [grant_type, scope] = floor_form(black_box(CC_BODY), ["grant_type", "scope"]);
        assert!(grant_type.is_some());
        let scope = scope.unwrap_or_default();
        assert!(floor_client_auth(black_box(&f.basic), &f.stored_secret));
        let mut jti = [0u8; 32];
        f.rng.fill(&mut jti).unwrap();
        let mut jti_b64 = [0u8; 43];
        URL_SAFE_NO_PAD.encode_slice(jti, &mut jti_b64).unwrap();
        let now = now_secs();
        let claims = serde_json::to_vec(&FloorClaims {
            aud: ISSUER,
            client_id: CLIENT_ID,
            exp: now + HOUR,
            iat: now,
            iss: ISSUER,
            jti: std::str::from_utf8(&jti_b64).unwrap(),
            scope: &scope,
            sub: CLIENT_ID,
        })
        .unwrap();
        let mut token = String::with_capacity(512);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        f.keep_and_answer(&token, sha256(token.as_bytes()), &scope);
    }

    /// The validation floor: strip `Bearer `, split, base64url-decode and
    /// parse header and claims, verify the signature, check `alg`, `typ`,
    /// `kid`, `iss`, `aud`, `exp`; with `lookup`, SHA-256 of the token and a
    /// lookup (the revocation check).
    fn validate(&self, lookup: bool) {
        let token = black_box(self.bearer.as_str())
            .strip_prefix("Bearer ")
            .unwrap();
        let mut parts = token.split('.');
        let (h, c, s) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let (mut hb, mut cb, mut sb) = ([0u8; 128], [0u8; 512], [0u8; 96]);
        let hn = URL_SAFE_NO_PAD.decode_slice(h, &mut hb).unwrap();
        let cn = URL_SAFE_NO_PAD.decode_slice(c, &mut cb).unwrap();
        let sn = URL_SAFE_NO_PAD.decode_slice(s, &mut sb).unwrap();
        let header: FloorHeader = serde_json::from_slice(&hb[..hn]).unwrap();
        assert!(header.typ == "at+jwt" && !header.kid.is_empty() && !header.alg.is_empty());
        let claims: FloorReadClaims = serde_json::from_slice(&cb[..cn]).unwrap();
        assert!(self.verify(&token.as_bytes()[..h.len() + 1 + c.len()], &sb[..sn]));
        assert!(claims.iss == ISSUER && claims.aud == ISSUER && claims.exp > now_secs());
        if lookup {
            let hash = sha256(token.as_bytes());
            let map = self.f.tokens.read().unwrap();
            let rec = map.get(&hash).unwrap();
            black_box((rec.client_id.clone(), rec.scope.clone()));
        } else {
            black_box((claims.client_id, claims.sub, claims.scope));
        }
    }
}

/// The JWT issuance floor.
pub struct FloorJwtIssue(pub FloorJwt);

impl Op for FloorJwtIssue {
    fn run(&mut self) {
        self.0.issue();
    }
}

/// The JWT validation floor, with or without the revocation lookup.
pub struct FloorJwtValidate(pub FloorJwt, pub bool);

impl Op for FloorJwtValidate {
    fn run(&mut self) {
        self.0.validate(self.1);
    }
}

/// The signature alone: ring's `sign` of a real token's signing input.
pub struct FloorSign(pub FloorJwt);

impl Op for FloorSign {
    fn run(&mut self) {
        black_box(self.0.sign(black_box(self.0.signing_input.as_bytes())));
    }
}

/// The parts every floor is built from, each alone, so that a floor (and a
/// missed target) can be explained by its costs: 32 bytes from the OS
/// (`getrandom`, one syscall), SHA-256 of a 43-byte token, one clock read.
pub enum Part {
    OsRandom(ring::rand::SystemRandom),
    Sha256([u8; 43]),
    Clock,
}

impl Op for Part {
    fn run(&mut self) {
        match self {
            Self::OsRandom(rng) => {
                let mut b = [0u8; 32];
                rng.fill(&mut b).unwrap();
                black_box(b);
            }
            Self::Sha256(token) => {
                black_box(sha256(black_box(&token[..])));
            }
            Self::Clock => {
                black_box(now_secs());
            }
        }
    }
}

/// The verification alone: ring's `verify` of a real token's signature.
pub struct FloorVerify(pub FloorJwt);

impl Op for FloorVerify {
    fn run(&mut self) {
        let f = &self.0;
        assert!(f.verify(
            black_box(f.signing_input.as_bytes()),
            black_box(&f.signature)
        ));
    }
}

// ---------------------------------------------------------------------------
// oxide-auth 0.6: a SHA-256 password policy so both sides pay the same for
// the secret (its default Argon2 policy would make the comparison measure
// Argon2).

pub struct Sha256Policy;

impl PasswordPolicy for Sha256Policy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        sha256(passphrase).to_vec()
    }

    fn check(
        &self,
        _client_id: &str,
        passphrase: &[u8],
        stored: &[u8],
    ) -> Result<(), RegistrarError> {
        match <&[u8; 32]>::try_from(stored) {
            Ok(stored) if ct_eq_32(&sha256(passphrase), stored) => Ok(()),
            _ => Err(RegistrarError::Unspecified),
        }
    }
}

fn ox_url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}

/// oxide-auth's registrar with both clients, leaked so that its flows can
/// borrow it for the rest of the run.
pub fn oxide_registrar() -> &'static ClientMap {
    let mut registrar = ClientMap::new();
    registrar.set_password_policy(Sha256Policy);
    registrar.register_client(OxClient::confidential(
        CLIENT_ID,
        RegisteredUrl::from(ox_url("https://billing.example.com/cb")),
        SCOPE.parse::<OxScope>().unwrap(),
        SECRET.as_bytes(),
    ));
    registrar.register_client(OxClient::public(
        APP_ID,
        RegisteredUrl::from(ox_url(REDIRECT)),
        SCOPE.parse::<OxScope>().unwrap(),
    ));
    Box::leak(Box::new(registrar))
}

/// What an adapter hands oxide-auth's simple frontend: the form parsed into
/// its map and the header copied into a `String`. Timed on the oxide side,
/// as portcullis parses its body inside its timed call.
pub fn oxide_request(body: &[u8], auth: Option<&str>) -> OxRequest {
    OxRequest {
        query: HashMap::new(),
        urlbody: form_urlencoded::parse(body).into_owned().collect(),
        auth: auth.map(str::to_owned),
    }
}

pub fn oxide_body(resp: &OxResponse) -> &str {
    assert_eq!(resp.status, OxStatus::Ok, "{:?}", resp.body);
    match &resp.body {
        Some(OxBody::Json(json)) => json,
        other => panic!("unexpected oxide body {other:?}"),
    }
}

type Solicitor = FnSolicitor<fn(&mut OxRequest, Solicitation) -> OwnerConsent<OxResponse>>;

fn oxide_solicitor() -> Solicitor {
    fn owner(_: &mut OxRequest, _: Solicitation) -> OwnerConsent<OxResponse> {
        OwnerConsent::Authorized(CLIENT_ID.to_owned())
    }
    FnSolicitor(owner)
}

type OxIssuer = &'static mut TokenMap<RandomGenerator>;
type OxCcEndpoint = Generic<&'static ClientMap, Vacant, OxIssuer, Solicitor, Vacant, Vacant>;
type OxRefreshEndpoint = Generic<&'static ClientMap, Vacant, OxIssuer, Vacant, Vacant, Vacant>;
type OxResourceEndpoint = Generic<Vacant, Vacant, OxIssuer, Vacant, &'static [OxScope], Vacant>;

fn ox_issuer() -> &'static mut TokenMap<RandomGenerator> {
    // 16 random bytes, the size oxide-auth's own documentation uses.
    Box::leak(Box::new(TokenMap::new(RandomGenerator::new(16))))
}

/// A grant for `client` and `owner`, valid for an hour. Its expiry comes from
/// a token oxide-auth issued itself (its time type is chrono's, which this
/// crate does not depend on).
fn ox_grant(client: &str, owner: &str, redirect: &str) -> Grant {
    static TEMPLATE: std::sync::OnceLock<Grant> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let mut issuer = TokenMap::new(RandomGenerator::new(16));
        let token = {
            let mut flow = ClientCredentialsFlow::prepare(Generic {
                registrar: oxide_registrar(),
                authorizer: Vacant,
                issuer: &mut issuer,
                solicitor: oxide_solicitor(),
                scopes: Vacant,
                response: Vacant,
            })
            .unwrap_or_else(|_| panic!("oxide client credentials flow"));
            let resp = flow
                .execute(oxide_request(
                    CC_BODY,
                    Some(&basic_header(CLIENT_ID, SECRET)),
                ))
                .unwrap();
            json_str(oxide_body(&resp).as_bytes(), "access_token").to_owned()
        };
        issuer.recover_token(&token).unwrap().expect("oxide grant")
    });
    Grant {
        owner_id: owner.to_owned(),
        client_id: client.to_owned(),
        scope: SCOPE.parse().unwrap(),
        redirect_uri: ox_url(redirect),
        until: template.until,
        extensions: Extensions::new(),
    }
}

/// oxide-auth's client_credentials flow.
pub struct OxIssue {
    flow: ClientCredentialsFlow<OxCcEndpoint, OxRequest>,
    basic: String,
}

impl OxIssue {
    pub fn new() -> Self {
        let flow = ClientCredentialsFlow::prepare(Generic {
            registrar: oxide_registrar(),
            authorizer: Vacant,
            issuer: ox_issuer(),
            solicitor: oxide_solicitor(),
            scopes: Vacant,
            response: Vacant,
        })
        .unwrap_or_else(|_| panic!("oxide client credentials flow"));
        Self {
            flow,
            basic: basic_header(CLIENT_ID, SECRET),
        }
    }
}

impl Default for OxIssue {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for OxIssue {
    fn run(&mut self) {
        let resp = self
            .flow
            .execute(oxide_request(
                black_box(CC_BODY),
                Some(black_box(&self.basic)),
            ))
            .unwrap();
        debug_assert_eq!(resp.status, OxStatus::Ok);
        black_box(resp);
    }
}

/// oxide-auth's `AuthMap`, shared between the flow (which extracts codes)
/// and `prepare` (which authorizes new ones).
#[derive(Clone)]
pub struct SharedAuth(Rc<RefCell<AuthMap<RandomGenerator>>>);

impl Authorizer for SharedAuth {
    fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        self.0.borrow_mut().authorize(grant)
    }

    fn extract(&mut self, code: &str) -> Result<Option<Grant>, ()> {
        self.0.borrow_mut().extract(code)
    }
}

type OxCodeEndpoint =
    Extended<Generic<&'static ClientMap, SharedAuth, OxIssuer, Vacant, Vacant, Vacant>, AddonList>;

/// oxide-auth's access-token flow with its PKCE extension (required), for
/// the public client: codes authorized ahead of time with the S256
/// challenge, one redeemed per run.
pub struct OxCode {
    flow: AccessTokenFlow<OxCodeEndpoint, OxRequest>,
    auth: SharedAuth,
    bodies: Packed,
}

impl OxCode {
    pub fn new() -> Self {
        let auth = SharedAuth(Rc::new(RefCell::new(AuthMap::new(RandomGenerator::new(
            16,
        )))));
        let mut addons = AddonList::new();
        addons.push_access_token(Pkce::required());
        let endpoint = Extended::extend_with(
            Generic {
                registrar: oxide_registrar(),
                authorizer: auth.clone(),
                issuer: ox_issuer(),
                solicitor: Vacant,
                scopes: Vacant,
                response: Vacant,
            },
            addons,
        );
        let flow = AccessTokenFlow::prepare(endpoint)
            .unwrap_or_else(|_| panic!("oxide access token flow"));
        Self {
            flow,
            auth,
            bodies: Packed::default(),
        }
    }
}

impl Default for OxCode {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for OxCode {
    fn prepare(&mut self, n: u64) {
        self.bodies.clear();
        let pkce = Pkce::required();
        for _ in 0..n {
            let mut grant = ox_grant(APP_ID, USER, REDIRECT);
            let value = pkce
                .challenge(Some("S256".into()), Some(CHALLENGE.into()))
                .unwrap()
                .unwrap();
            grant.extensions.set(&pkce, value);
            let code = self.auth.0.borrow_mut().authorize(grant).unwrap();
            // The form-encoded body a client sends (its codes are standard
            // base64, so they need escaping).
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("client_id", APP_ID)
                .append_pair("code_verifier", VERIFIER)
                .finish();
            self.bodies.push(&body);
        }
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let resp = self
            .flow
            .execute(oxide_request(black_box(body.as_bytes()), None))
            .unwrap();
        debug_assert_eq!(resp.status, OxStatus::Ok, "{:?}", resp.body);
        black_box(resp);
    }
}

/// oxide-auth's refresh flow, chained, confidential client with Basic.
pub struct OxRefresh {
    flow: RefreshFlow<OxRefreshEndpoint, OxRequest>,
    basic: String,
    body: String,
}

impl OxRefresh {
    pub fn new() -> Self {
        let issuer = ox_issuer();
        let first = issuer
            .issue(ox_grant(CLIENT_ID, USER, "https://billing.example.com/cb"))
            .unwrap();
        let refresh = first.refresh.expect("oxide refresh token");
        let flow = RefreshFlow::prepare(Generic {
            registrar: oxide_registrar(),
            authorizer: Vacant,
            issuer,
            solicitor: Vacant,
            scopes: Vacant,
            response: Vacant,
        })
        .unwrap_or_else(|_| panic!("oxide refresh flow"));
        let mut body = String::new();
        ox_refresh_body(&mut body, &refresh);
        Self {
            flow,
            basic: basic_header(CLIENT_ID, SECRET),
            body,
        }
    }
}

impl Default for OxRefresh {
    fn default() -> Self {
        Self::new()
    }
}

/// oxide-auth's tokens are standard base64 (`+`, `/`, `=`), so the body
/// escapes them, as a client's form encoder would.
fn ox_refresh_body(out: &mut String, token: &str) {
    out.clear();
    out.push_str("grant_type=refresh_token&refresh_token=");
    out.extend(form_urlencoded::byte_serialize(token.as_bytes()));
}

impl Op for OxRefresh {
    fn run(&mut self) {
        let resp = self
            .flow
            .execute(oxide_request(
                black_box(self.body.as_bytes()),
                Some(black_box(&self.basic)),
            ))
            .unwrap();
        let body = oxide_body(&resp);
        let next = json_str(body.as_bytes(), "refresh_token");
        let mut out = std::mem::take(&mut self.body);
        ox_refresh_body(&mut out, next);
        self.body = out;
    }
}

/// oxide-auth's bearer validation (`resource_flow`) over 100,000 live tokens
/// in turn.
pub struct OxBearer {
    flow: ResourceFlow<OxResourceEndpoint, OxRequest>,
    headers: Packed,
}

impl OxBearer {
    pub fn new() -> Self {
        let issuer = ox_issuer();
        let mut headers: Vec<String> = (0..LIVE_TOKENS)
            .map(|_| {
                let t = issuer
                    .issue(ox_grant(
                        CLIENT_ID,
                        CLIENT_ID,
                        "https://billing.example.com/cb",
                    ))
                    .unwrap();
                format!("Bearer {}", t.token)
            })
            .collect();
        shuffle(&mut headers, 0x9E37_79B9_7F4A_7C15);
        let scopes: &'static [OxScope] = Box::leak(Box::new([SCOPE.parse::<OxScope>().unwrap()]));
        let flow = ResourceFlow::prepare(Generic {
            registrar: Vacant,
            authorizer: Vacant,
            issuer,
            solicitor: Vacant,
            scopes,
            response: Vacant,
        })
        .unwrap_or_else(|_| panic!("oxide resource flow"));
        Self {
            flow,
            headers: Packed::new(headers),
        }
    }
}

impl Default for OxBearer {
    fn default() -> Self {
        Self::new()
    }
}

impl Op for OxBearer {
    fn run(&mut self) {
        let h = self.headers.next_cyclic();
        let ok = self
            .flow
            .execute(oxide_request(b"", Some(black_box(h))))
            .is_ok();
        debug_assert!(ok);
        black_box(ok);
    }
}

// ---------------------------------------------------------------------------
// Code redemption with an ID Token (OpenID Connect, issue 16)

/// The RSA key of the RS256 ID Tokens (the test fixture: generating one
/// takes a moment and is not what a request costs).
const RSA_PKCS8: &[u8] = include_bytes!("../../tests/fixtures/rsa2048.pk8");
/// The relying party of the ID Token paths: public, PKCE.
pub const RP_ID: &str = "rp";
pub const OPENID_SCOPE: &str = "openid invoices:read";
const NONCE: &str = "n-0S6_WzA2Mj";

/// The code path of an `openid` grant: the opaque code redemption of
/// `portcullis_code`, and an ID Token signed with `alg` in the response.
pub struct PcCodeIdToken {
    p: Portcullis,
    rng: ring::rand::SystemRandom,
    bodies: Packed,
}

impl PcCodeIdToken {
    pub fn new(alg: Algorithm) -> Self {
        let keys = Arc::new(MemoryKeys::new());
        let mut config = Config::new(ISSUER);
        config.access_token_signing_alg = Some(Algorithm::Es256);
        let p = Portcullis::with(config, AccessTokenFormat::Opaque, Some(keys));
        let now = UnixTime::from_secs(now_secs());
        let rsa = portcullis::KeyRecord::from_pkcs8(
            Algorithm::Rs256,
            portcullis::KeyId::parse("rsa-1").unwrap(),
            RSA_PKCS8.to_vec(),
            now,
            now,
        )
        .unwrap();
        let rp = Client::public(ClientId::parse(RP_ID).unwrap())
            .redirect_uri(RedirectUri::parse(REDIRECT).unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .scope(ScopeSet::parse(OPENID_SCOPE).unwrap())
            .id_token_signed_response_alg(alg)
            .build()
            .expect("client");
        p.rt.block_on(async {
            p.server.rotate_in_key(rsa).await.unwrap();
            p.server
                .ensure_signing_keys(&[Algorithm::Es256])
                .await
                .unwrap();
            p.store.insert_client(rp).await.unwrap();
        });
        Self {
            p,
            rng: os_rng(),
            bodies: Packed::default(),
        }
    }
}

pub fn rp_code_body(code: &str) -> String {
    code_body_of(RP_ID, code)
}

impl Op for PcCodeIdToken {
    fn prepare(&mut self, n: u64) {
        self.bodies.clear();
        let now = UnixTime::from_secs(now_secs());
        let client = ClientId::parse(RP_ID).unwrap();
        let scope = ScopeSet::parse(OPENID_SCOPE).unwrap();
        let redirect = RedirectUri::parse(REDIRECT).unwrap();
        let challenge = CodeChallenge::parse(ChallengeMethod::S256, CHALLENGE).unwrap();
        let openid = portcullis::OpenIdGrant::new(now).with_nonce(Some(NONCE.parse().unwrap()));
        for _ in 0..n {
            let code = random_token(&self.rng);
            let hash = TokenHash::of(&code);
            let record = CodeRecord {
                hash,
                grant: GrantId::derive(&hash),
                client_id: client.clone(),
                subject: UserId::parse(USER).unwrap(),
                scope: scope.clone(),
                redirect_uri: Some(redirect.clone()),
                challenge: Some(challenge.clone()),
                issued_at: now,
                expires_at: now.plus(Duration::from_secs(HOUR)),
                used: false,
                openid: Some(openid.clone()),
                resources: Vec::new(),
                dpop_jkt: None,
            };
            run_now(&self.p.rt, self.p.store.insert_code(record)).unwrap();
            self.bodies.push(&rp_code_body(&code));
        }
    }

    fn run(&mut self) {
        let body = self.bodies.next_once();
        let resp = run_now(
            &self.p.rt,
            self.p
                .server
                .token(black_box(&form_request(body.as_bytes()))),
        );
        debug_assert!(
            resp.status() == 200 && resp.body().windows(10).any(|w| w == b"\"id_token\""),
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        black_box(resp);
    }
}

/// An ID Token signer of `alg` with ring alone: the one signature the
/// floor adds to the opaque code path.
enum IdSigner {
    Rsa(sig::RsaKeyPair),
    Ecdsa(sig::EcdsaKeyPair),
}

#[derive(serde::Serialize)]
struct FloorIdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    auth_time: u64,
    nonce: &'a str,
    at_hash: &'a str,
}

/// The floor of code redemption with an ID Token: `floor_code`, plus the ID
/// Token's claims (with `at_hash`), encoded and signed once with `alg`.
pub struct FloorCodeIdToken {
    code: FloorCodeOp,
    signer: IdSigner,
    header: String,
    rng: ring::rand::SystemRandom,
}

impl FloorCodeIdToken {
    pub fn new(alg: Algorithm) -> Self {
        let rng = os_rng();
        let (signer, name) = match alg {
            Algorithm::Rs256 => (
                IdSigner::Rsa(sig::RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap()),
                "RS256",
            ),
            _ => {
                let doc =
                    sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .unwrap();
                (
                    IdSigner::Ecdsa(
                        sig::EcdsaKeyPair::from_pkcs8(
                            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                            doc.as_ref(),
                            &rng,
                        )
                        .unwrap(),
                    ),
                    "ES256",
                )
            }
        };
        let header = URL_SAFE_NO_PAD.encode(format!(
            "{{\"alg\":\"{name}\",\"kid\":\"k1\",\"typ\":\"JWT\"}}"
        ));
        Self {
            code: FloorCodeOp::new(),
            signer,
            header,
            rng,
        }
    }
}

impl Op for FloorCodeIdToken {
    fn prepare(&mut self, n: u64) {
        self.code.prepare(n);
    }

    fn run(&mut self) {
        self.code.run();
        let now = now_secs();
        // at_hash of a 43-character access token.
        let access = [b'A'; 43];
        let h = sha256(&access);
        let at_hash = URL_SAFE_NO_PAD.encode(&h[..16]);
        let claims = serde_json::to_vec(&FloorIdClaims {
            iss: ISSUER,
            sub: USER,
            aud: RP_ID,
            exp: now + HOUR,
            iat: now,
            auth_time: now,
            nonce: NONCE,
            at_hash: &at_hash,
        })
        .unwrap();
        let input = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(&claims));
        let signature = match &self.signer {
            IdSigner::Rsa(key) => {
                let mut out = vec![0u8; key.public().modulus_len()];
                key.sign(
                    &sig::RSA_PKCS1_SHA256,
                    &self.rng,
                    input.as_bytes(),
                    &mut out,
                )
                .unwrap();
                out
            }
            IdSigner::Ecdsa(key) => key
                .sign(&self.rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
        };
        black_box(format!("{input}.{}", URL_SAFE_NO_PAD.encode(&signature)));
    }
}

// ---------------------------------------------------------------------------
// The catalogue

/// Every measured function, by name: `<side>_<path>`. `sign_*` and
/// `verify_*` are the signature alone, the yardstick of the JWT targets.
pub const FUNCTIONS: &[&str] = &[
    "portcullis_cc",
    "portcullis_cc_events",
    "floor_cc",
    "oxide_cc",
    "portcullis_code",
    "floor_code",
    "oxide_code",
    "portcullis_code_id_token_rs256",
    "floor_code_id_token_rs256",
    "portcullis_code_id_token_es256",
    "floor_code_id_token_es256",
    "portcullis_refresh",
    "floor_refresh",
    "oxide_refresh",
    "portcullis_introspect",
    "floor_introspect",
    "portcullis_revoke",
    "floor_revoke",
    "portcullis_bearer",
    "floor_bearer",
    "oxide_bearer",
    "portcullis_jwt_es256",
    "floor_jwt_es256",
    "sign_es256",
    "portcullis_jwt_eddsa",
    "floor_jwt_eddsa",
    "sign_eddsa",
    "portcullis_bearer_es256",
    "floor_bearer_es256",
    "portcullis_bearer_es256_nocheck",
    "floor_bearer_es256_nocheck",
    "verify_es256",
    "portcullis_bearer_eddsa",
    "floor_bearer_eddsa",
    "portcullis_bearer_eddsa_nocheck",
    "floor_bearer_eddsa_nocheck",
    "verify_eddsa",
    "part_os_random_32",
    "part_sha256_43",
    "part_clock",
];

/// Lazily built shared fixtures (the 100,000-token store is built once).
#[derive(Default)]
pub struct Fixtures {
    live: Option<Rc<Live>>,
}

impl Fixtures {
    fn live(&mut self) -> Rc<Live> {
        self.live
            .get_or_insert_with(|| Rc::new(Live::new()))
            .clone()
    }

    /// Builds the operation `name` (one of [`FUNCTIONS`]).
    /// `build`, then a warm-up (lazy initialisation such as the key ring and
    /// first allocations is not what a request costs), then `prepare(n)`:
    /// ready for `n` measured runs.
    pub fn warmed(&mut self, name: &str, n: u64) -> Box<dyn Op> {
        let mut op = self.build(name);
        let warm = 20;
        op.prepare(warm);
        for _ in 0..warm {
            op.run();
        }
        op.prepare(n);
        op
    }

    pub fn build(&mut self, name: &str) -> Box<dyn Op> {
        let floor_jwt = |alg| {
            let token = jwt_server(alg, true, Arc::new(MemoryKeys::new())).issue_token();
            FloorJwt::new(alg, &token)
        };
        match name {
            "portcullis_cc" => Box::new(PcIssue(Portcullis::new())),
            "portcullis_cc_events" => Box::new(PcIssue(Portcullis::with_noop_events())),
            "floor_cc" => Box::new(FloorIssue(Floor::new())),
            "oxide_cc" => Box::new(OxIssue::new()),
            "portcullis_code" => Box::new(PcCode::new()),
            "floor_code" => Box::new(FloorCodeOp::new()),
            "oxide_code" => Box::new(OxCode::new()),
            "portcullis_code_id_token_rs256" => Box::new(PcCodeIdToken::new(Algorithm::Rs256)),
            "floor_code_id_token_rs256" => Box::new(FloorCodeIdToken::new(Algorithm::Rs256)),
            "portcullis_code_id_token_es256" => Box::new(PcCodeIdToken::new(Algorithm::Es256)),
            "floor_code_id_token_es256" => Box::new(FloorCodeIdToken::new(Algorithm::Es256)),
            "portcullis_refresh" => Box::new(PcRefresh::new()),
            "floor_refresh" => Box::new(FloorRefresh::new()),
            "oxide_refresh" => Box::new(OxRefresh::new()),
            "portcullis_introspect" => Box::new(PcIntrospect::new(self.live())),
            "floor_introspect" => Box::new(FloorIntrospect::new()),
            "portcullis_revoke" => Box::new(PcRevoke::new(self.live())),
            "floor_revoke" => Box::new(FloorRevoke::new()),
            "portcullis_bearer" => Box::new(PcBearer::new(self.live())),
            "floor_bearer" => Box::new(FloorBearer::new()),
            "oxide_bearer" => Box::new(OxBearer::new()),
            "portcullis_jwt_es256" => Box::new(PcIssue(jwt_server(
                Algorithm::Es256,
                true,
                Arc::new(MemoryKeys::new()),
            ))),
            "portcullis_jwt_eddsa" => Box::new(PcIssue(jwt_server(
                Algorithm::EdDsa,
                true,
                Arc::new(MemoryKeys::new()),
            ))),
            "floor_jwt_es256" => Box::new(FloorJwtIssue(floor_jwt(Algorithm::Es256))),
            "floor_jwt_eddsa" => Box::new(FloorJwtIssue(floor_jwt(Algorithm::EdDsa))),
            "sign_es256" => Box::new(FloorSign(floor_jwt(Algorithm::Es256))),
            "sign_eddsa" => Box::new(FloorSign(floor_jwt(Algorithm::EdDsa))),
            "portcullis_bearer_es256" => Box::new(PcBearerJwt::new(Algorithm::Es256, true)),
            "portcullis_bearer_es256_nocheck" => {
                Box::new(PcBearerJwt::new(Algorithm::Es256, false))
            }
            "portcullis_bearer_eddsa" => Box::new(PcBearerJwt::new(Algorithm::EdDsa, true)),
            "portcullis_bearer_eddsa_nocheck" => {
                Box::new(PcBearerJwt::new(Algorithm::EdDsa, false))
            }
            "floor_bearer_es256" => Box::new(FloorJwtValidate(floor_jwt(Algorithm::Es256), true)),
            "floor_bearer_es256_nocheck" => {
                Box::new(FloorJwtValidate(floor_jwt(Algorithm::Es256), false))
            }
            "floor_bearer_eddsa" => Box::new(FloorJwtValidate(floor_jwt(Algorithm::EdDsa), true)),
            "floor_bearer_eddsa_nocheck" => {
                Box::new(FloorJwtValidate(floor_jwt(Algorithm::EdDsa), false))
            }
            "verify_es256" => Box::new(FloorVerify(floor_jwt(Algorithm::Es256))),
            "verify_eddsa" => Box::new(FloorVerify(floor_jwt(Algorithm::EdDsa))),
            "part_os_random_32" => Box::new(Part::OsRandom(os_rng())),
            "part_sha256_43" => Box::new(Part::Sha256([b'A'; 43])),
            "part_clock" => Box::new(Part::Clock),
            other => panic!("unknown function {other}; one of {FUNCTIONS:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Summaries: medians from criterion's estimates.json, and their ratios, for
// the tables the criterion benches print after a run.

/// Where criterion writes its results (`CRITERION_HOME`, else the target
/// directory's `criterion`).
pub fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return std::path::PathBuf::from(home);
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("criterion"),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"),
    }
}

/// The median (ns) of one function, if criterion wrote it during this run.
pub fn median_ns(
    dir: &std::path::Path,
    function: &str,
    since: std::time::SystemTime,
) -> Option<f64> {
    let file = dir.join(function).join("new/estimates.json");
    let fresh = std::fs::metadata(&file).and_then(|m| m.modified()).ok()? >= since;
    if !fresh {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

/// Nanoseconds with thousands separators, `–` when unmeasured.
pub fn fmt_ns(v: Option<f64>) -> String {
    v.map_or_else(
        || "–".to_owned(),
        |ns| {
            let s = (ns.round() as i64).to_string();
            let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
            let mut out = sign.to_owned();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        },
    )
}

/// `a / b` when both were measured.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A ratio as `1.23×`, `–` when unmeasured.
pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}×"))
}
