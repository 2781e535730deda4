//! Shared fixtures: a server on a `MemoryStore` with a `FixedClock`, client
//! registration, request helpers, hand-made authorization codes, stores
//! that fail on demand (the library's `FaultyStore`, plus a race gate), and
//! a log capture.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis::http::{Method, Request, Response, Source};
use portcullis::stores::{Fault, FaultyStore};
use portcullis::{
    AccessRecord, Authentication, AuthorizationServer, ChallengeMethod, Client, ClientAdmin,
    ClientBuilder, ClientId, ClientStore, CodeChallenge, CodeRecord, Config, Consent, ConsentStore,
    Exchange, FixedClock, GrantId, GrantType, MemoryStore, NewTokens, RedirectUri, RefreshRecord,
    ReplayCache, ReplayScope, Rotation, ScopeSet, SecretHash, ServerBuilder, SessionId, StoreError,
    TokenHash, TokenStore, UnixTime, UserId,
};
use serde_json::Value;

/// The issuer every test server uses.
pub(crate) const ISSUER: &str = "https://auth.example.com";
/// The time every test starts at.
pub(crate) const T0: u64 = 1_700_000_000;
/// The redirect URI registered for code-flow clients.
pub(crate) const REDIRECT: &str = "https://app.example/cb";
/// The confidential client most tests use (`client_secret_basic`).
pub(crate) const SVC: &str = "svc";
pub(crate) const SVC_SECRET: &str = "svc-secret-4b1d0c7e";
/// A confidential client registered by every harness, to introspect with.
pub(crate) const RS: &str = "resource-server";
pub(crate) const RS_SECRET: &str = "rs-secret-9f8e7d6c";

/// `user`, logged in a minute before [`T0`]: what a host passes to
/// `authorize` and `resume`.
pub(crate) fn signed_in(user: &UserId) -> Authentication {
    Authentication::new(user.clone(), UnixTime::from_secs(T0 - 60))
}

/// The default configuration of the test server.
pub(crate) fn config() -> Config {
    Config::new(ISSUER)
}

/// Credentials of a registered client, as the client knows them.
#[derive(Clone, Debug)]
pub(crate) struct Creds {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

impl Creds {
    /// The `Authorization: Basic` value for these credentials (RFC 6749 §2.3.1).
    pub(crate) fn basic(&self) -> String {
        basic(&self.id, self.secret.as_deref().unwrap_or(""))
    }
}

/// How a request authenticates the client.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Auth<'a> {
    /// No client authentication at all.
    Nothing,
    /// `client_secret_basic`.
    Basic(&'a Creds),
    /// `client_secret_post`.
    Post(&'a Creds),
    /// `none`: `client_id` in the body only.
    IdOnly(&'a Creds),
    /// This exact `Authorization` header value.
    Header(&'a str),
}

/// Which form-posting endpoint to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Revoke,
    Introspect,
}

pub(crate) const ENDPOINTS: [Endpoint; 3] =
    [Endpoint::Token, Endpoint::Revoke, Endpoint::Introspect];

/// `application/x-www-form-urlencoded` serialisation of `pairs`.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Form-urlencodes one value (space as `+`), as RFC 6749 §2.3.1 asks before
/// building the Basic credentials.
pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic base64(urlenc(id) ":" urlenc(secret))`.
pub(crate) fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", urlencode(id), urlencode(secret));
    format!("Basic {}", STANDARD.encode(raw))
}

/// A form POST with these bytes.
pub(crate) fn form_request<'a>(body: &'a [u8], authorization: Option<&'a [u8]>) -> Request<'a> {
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body);
    match authorization {
        Some(a) => req.header("Authorization", a),
        None => req,
    }
}

/// Sends `req` to `endpoint`.
pub(crate) async fn send(
    server: &AuthorizationServer,
    endpoint: Endpoint,
    req: &Request<'_>,
) -> Response {
    match endpoint {
        Endpoint::Token => server.token(req).await,
        Endpoint::Revoke => server.revoke(req).await,
        Endpoint::Introspect => server.introspect(req).await,
    }
}

/// Posts `params` to `endpoint`, authenticating as `auth` says.
pub(crate) async fn call(
    server: &AuthorizationServer,
    endpoint: Endpoint,
    auth: Auth<'_>,
    params: &[(&str, &str)],
) -> Response {
    call_from(server, endpoint, auth, params, None).await
}

/// [`call`], sent from `source` (see `Request::with_source`).
pub(crate) async fn call_from(
    server: &AuthorizationServer,
    endpoint: Endpoint,
    auth: Auth<'_>,
    params: &[(&str, &str)],
    source: Option<Source<'_>>,
) -> Response {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    let mut header: Option<String> = None;
    match auth {
        Auth::Nothing => {}
        Auth::Basic(c) => header = Some(c.basic()),
        Auth::Post(c) => {
            pairs.push(("client_id", &c.id));
            pairs.push(("client_secret", c.secret.as_deref().unwrap_or("")));
        }
        Auth::IdOnly(c) => pairs.push(("client_id", &c.id)),
        Auth::Header(h) => header = Some(h.to_owned()),
    }
    let body = form(&pairs);
    let req = form_request(body.as_bytes(), header.as_deref().map(str::as_bytes));
    let req = match source {
        Some(source) => req.with_source(source),
        None => req,
    };
    send(server, endpoint, &req).await
}

/// The body as JSON.
pub(crate) fn json(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(resp.body())
        )
    })
}

/// Asserts an RFC 6749 §5.2 error response: status, JSON `error`, string
/// `error_description`, never cached.
#[track_caller]
pub(crate) fn assert_error(resp: &Response, status: u16, code: &str) {
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    assert_eq!(resp.status(), status, "status; body: {body}");
    assert_eq!(
        resp.header("Content-Type"),
        Some("application/json"),
        "{body}"
    );
    assert_eq!(resp.header("Cache-Control"), Some("no-store"), "{body}");
    assert_eq!(resp.header("Pragma"), Some("no-cache"), "{body}");
    let v = json(resp);
    assert_eq!(v["error"], code, "error code; body: {body}");
    if let Some(d) = v.get("error_description") {
        assert!(d.is_string(), "error_description must be a string: {body}");
    }
    assert_eq!(resp.error().map(|c| c.as_str()), Some(code));
}

/// The access token and refresh token of a successful token response.
#[track_caller]
pub(crate) fn tokens(resp: &Response) -> (String, Option<String>) {
    assert_eq!(
        resp.status(),
        200,
        "expected success, got {}",
        String::from_utf8_lossy(resp.body())
    );
    let v = json(resp);
    let access = v["access_token"].as_str().expect("access_token").to_owned();
    let refresh = v
        .get("refresh_token")
        .map(|r| r.as_str().expect("string").to_owned());
    (access, refresh)
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// How a hand-made code carries PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pkce {
    S256,
    Plain,
    Absent,
}

/// What a hand-made authorization code records.
#[derive(Clone, Debug)]
pub(crate) struct CodeSpec<'a> {
    pub(crate) client: &'a str,
    pub(crate) pkce: Pkce,
    pub(crate) redirect_uri: Option<&'a str>,
    pub(crate) scope: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) lifetime: u64,
    /// The verifier to derive the challenge from (a fresh one if `None`).
    pub(crate) verifier: Option<&'a str>,
}

impl<'a> CodeSpec<'a> {
    /// An S256 code for `client`, bound to [`REDIRECT`], scope `read write`,
    /// for `alice`, living 60 s.
    pub(crate) fn new(client: &'a str) -> Self {
        Self {
            client,
            pkce: Pkce::S256,
            redirect_uri: Some(REDIRECT),
            scope: "read write",
            subject: "alice",
            lifetime: 60,
            verifier: None,
        }
    }

    pub(crate) fn pkce(mut self, pkce: Pkce) -> Self {
        self.pkce = pkce;
        self
    }

    pub(crate) fn redirect_uri(mut self, uri: Option<&'a str>) -> Self {
        self.redirect_uri = uri;
        self
    }

    pub(crate) fn verifier(mut self, verifier: &'a str) -> Self {
        self.verifier = Some(verifier);
        self
    }

    pub(crate) fn scope(mut self, scope: &'a str) -> Self {
        self.scope = scope;
        self
    }
}

/// A code in clear, and its verifier when it has a challenge.
#[derive(Clone, Debug)]
pub(crate) struct IssuedCode {
    pub(crate) code: String,
    pub(crate) verifier: Option<String>,
    pub(crate) redirect_uri: Option<String>,
}

/// A test server, its `MemoryStore` and its clock.
pub(crate) struct Harness {
    pub(crate) server: Arc<AuthorizationServer>,
    pub(crate) store: MemoryStore,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) rs: Creds,
    next: AtomicU64,
    /// The secrets of the confidential clients registered through
    /// [`Harness::confidential`], so a refresh token can be introspected by
    /// its own client (IN-01).
    secrets: Mutex<std::collections::HashMap<String, String>>,
}

impl Harness {
    /// The default server.
    pub(crate) async fn new() -> Self {
        Self::with(config(), |b| b).await
    }

    /// A server with this configuration.
    pub(crate) async fn with_config(config: Config) -> Self {
        Self::with(config, |b| b).await
    }

    /// A server with this configuration and whatever `extra` adds to the
    /// builder (a password verifier, another token store, ...).
    pub(crate) async fn with(
        config: Config,
        extra: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> Self {
        let store = MemoryStore::new();
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let builder = AuthorizationServer::builder(config)
            .store(Arc::new(store.clone()))
            .clock(clock.clone());
        let server = extra(builder).build().expect("test server builds");
        Self::finish(server, store, clock).await
    }

    /// A server offering the device grant (RFC 8628) with the harness's
    /// `MemoryStore` as its `DeviceStore` too, and whatever `extra` adds.
    pub(crate) async fn with_devices(
        mut config: Config,
        extra: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> Self {
        if !config.grant_types.contains(&GrantType::DeviceCode) {
            config.grant_types.push(GrantType::DeviceCode);
        }
        let store = MemoryStore::new();
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let builder = AuthorizationServer::builder(config)
            .store(Arc::new(store.clone()))
            .device_store(Arc::new(store.clone()))
            .clock(clock.clone());
        let server = extra(builder).build().expect("test server builds");
        Self::finish(server, store, clock).await
    }

    /// [`Harness::with_devices`] whose `DeviceStore` is the library's
    /// `FaultyStore` over the harness's `MemoryStore` (#18: failures of the
    /// atomic redemption).
    pub(crate) async fn with_faulty_devices(
        mut config: Config,
    ) -> (Self, Arc<FaultyStore<MemoryStore>>) {
        if !config.grant_types.contains(&GrantType::DeviceCode) {
            config.grant_types.push(GrantType::DeviceCode);
        }
        let store = MemoryStore::new();
        let faulty = Arc::new(FaultyStore::new(store.clone()));
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let server = AuthorizationServer::builder(config)
            .store(Arc::new(store.clone()))
            .device_store(faulty.clone())
            .clock(clock.clone())
            .build()
            .expect("test server builds");
        (Self::finish(server, store, clock).await, faulty)
    }

    /// A server with dynamic client registration (RFC 7591/7592) on under
    /// `policy`, writing to the harness's `MemoryStore` (issue 19 part 2).
    pub(crate) async fn with_registration(
        config: Config,
        policy: Arc<dyn portcullis::RegistrationPolicy>,
    ) -> Self {
        let store = MemoryStore::new();
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let server = AuthorizationServer::builder(config)
            .store(Arc::new(store.clone()))
            .client_registration(Arc::new(store.clone()), policy)
            .clock(clock.clone())
            .build()
            .expect("test server builds");
        Self::finish(server, store, clock).await
    }

    /// A server whose client, token and consent stores are a [`FlakyStore`]
    /// over the harness's `MemoryStore` (`MemoryStore` clones share state).
    pub(crate) async fn flaky(config: Config) -> (Self, Arc<FlakyStore>) {
        Self::flaky_with(config, |b| b).await
    }

    /// [`Harness::flaky`], with whatever `extra` adds to the builder.
    pub(crate) async fn flaky_with(
        config: Config,
        extra: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> (Self, Arc<FlakyStore>) {
        let store = MemoryStore::new();
        let flaky = Arc::new(FlakyStore::new(store.clone()));
        let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
        let builder = AuthorizationServer::builder(config)
            .store(flaky.clone())
            .clock(clock.clone());
        let server = extra(builder).build().expect("test server builds");
        (Self::finish(server, store, clock).await, flaky)
    }

    async fn finish(
        server: AuthorizationServer,
        store: MemoryStore,
        clock: Arc<FixedClock>,
    ) -> Self {
        let h = Self {
            server: Arc::new(server),
            store,
            clock,
            rs: Creds {
                id: RS.to_owned(),
                secret: Some(RS_SECRET.to_owned()),
            },
            next: AtomicU64::new(0),
            secrets: Mutex::default(),
        };
        // A resource server for the tokens' audience (the issuer), so it
        // may introspect every client's access tokens (IN-01).
        let rs = Client::confidential(id(RS), SecretHash::sha256(RS_SECRET))
            .resource_server_for(portcullis::Audience::parse(ISSUER).unwrap())
            .build()
            .expect("resource server client");
        h.register(rs).await;
        h
    }

    /// Registers `client`.
    pub(crate) async fn register(&self, client: Client) {
        self.store
            .insert_client(client)
            .await
            .expect("client registers");
    }

    /// Replaces a registered client.
    pub(crate) async fn update(&self, client: Client) {
        assert!(self.store.update_client(client).await.expect("update"));
    }

    /// The registered client `id`.
    pub(crate) async fn client(&self, client_id: &str) -> Client {
        let found = self
            .store
            .client(&id(client_id))
            .await
            .expect("find")
            .expect("registered");
        (*found).clone()
    }

    /// Registers a confidential client (`client_secret_basic`) allowed
    /// `authorization_code`, `refresh_token` and `client_credentials`, scope
    /// `read write`, default scope `read`, redirect URI [`REDIRECT`];
    /// `configure` changes any of that.
    pub(crate) async fn confidential(
        &self,
        client_id: &str,
        secret: &str,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Creds {
        let builder = Client::confidential(id(client_id), SecretHash::sha256(secret))
            .redirect_uri(redirect(REDIRECT))
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .grant_type(GrantType::ClientCredentials)
            .scope(scope("read write"))
            .default_scope(scope("read"));
        self.register(configure(builder).build().expect("client builds"))
            .await;
        self.secrets
            .lock()
            .unwrap()
            .insert(client_id.to_owned(), secret.to_owned());
        Creds {
            id: client_id.to_owned(),
            secret: Some(secret.to_owned()),
        }
    }

    /// Registers a public client allowed `authorization_code` and
    /// `refresh_token`, scope `read write`, default `read`.
    pub(crate) async fn public(
        &self,
        client_id: &str,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Creds {
        let builder = Client::public(id(client_id))
            .redirect_uri(redirect(REDIRECT))
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .scope(scope("read write"))
            .default_scope(scope("read"));
        self.register(configure(builder).build().expect("client builds"))
            .await;
        Creds {
            id: client_id.to_owned(),
            secret: None,
        }
    }

    /// The usual confidential client, [`SVC`].
    pub(crate) async fn svc(&self) -> Creds {
        self.confidential(SVC, SVC_SECRET, |b| b).await
    }

    /// Stores an authorization code as the authorization endpoint would.
    pub(crate) async fn issue_code(&self, spec: CodeSpec<'_>) -> IssuedCode {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let code = format!("test-code-{n}-{}", spec.client.len());
        let verifier = spec.verifier.map_or_else(
            || format!("verifier-{n:04}-{}", "abcdefghij".repeat(5)),
            str::to_owned,
        );
        let hash = TokenHash::of(&code);
        let now = self.clock_now();
        let (challenge, verifier) = match spec.pkce {
            Pkce::S256 => (
                Some(
                    CodeChallenge::parse(ChallengeMethod::S256, &s256(&verifier))
                        .expect("challenge"),
                ),
                Some(verifier),
            ),
            Pkce::Plain => (
                Some(CodeChallenge::parse(ChallengeMethod::Plain, &verifier).expect("challenge")),
                Some(verifier),
            ),
            Pkce::Absent => (None, None),
        };
        let record = CodeRecord {
            hash,
            grant: GrantId::derive(&hash),
            client_id: id(spec.client),
            subject: UserId::parse(spec.subject).expect("user id"),
            scope: scope(spec.scope),
            redirect_uri: spec.redirect_uri.map(redirect),
            challenge,
            issued_at: now,
            expires_at: now.plus(Duration::from_secs(spec.lifetime)),
            used: false,
            openid: None,
            resources: Vec::new(),
            dpop_jkt: None,
        };
        self.store.insert_code(record).await.expect("code stored");
        IssuedCode {
            code,
            verifier,
            redirect_uri: spec.redirect_uri.map(str::to_owned),
        }
    }

    fn clock_now(&self) -> UnixTime {
        portcullis::Clock::now(&*self.clock)
    }

    /// Posts to the token endpoint.
    pub(crate) async fn token(&self, auth: Auth<'_>, params: &[(&str, &str)]) -> Response {
        call(&self.server, Endpoint::Token, auth, params).await
    }

    /// Redeems `code` with its own verifier and redirect URI.
    pub(crate) async fn redeem(&self, auth: Auth<'_>, code: &IssuedCode) -> Response {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
        ];
        if let Some(r) = &code.redirect_uri {
            params.push(("redirect_uri", r));
        }
        if let Some(v) = &code.verifier {
            params.push(("code_verifier", v));
        }
        self.token(auth, &params).await
    }

    /// Uses a refresh token.
    pub(crate) async fn refresh(&self, auth: Auth<'_>, refresh_token: &str) -> Response {
        self.token(
            auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// A `client_credentials` request.
    pub(crate) async fn client_credentials(&self, auth: Auth<'_>, scope: Option<&str>) -> Response {
        let mut params = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            params.push(("scope", s));
        }
        self.token(auth, &params).await
    }

    /// Posts to the revocation endpoint.
    pub(crate) async fn revoke(&self, auth: Auth<'_>, params: &[(&str, &str)]) -> Response {
        call(&self.server, Endpoint::Revoke, auth, params).await
    }

    /// Posts to the introspection endpoint.
    pub(crate) async fn introspect_as(&self, auth: Auth<'_>, token: &str) -> Response {
        call(
            &self.server,
            Endpoint::Introspect,
            auth,
            &[("token", token)],
        )
        .await
    }

    /// Introspects `token` as a party entitled to know (IN-01): a refresh
    /// token as its own client (when the harness registered it with a
    /// secret), anything else as the resource server.
    pub(crate) async fn introspect(&self, token: &str) -> Value {
        let owner = match self.store.find_refresh(&TokenHash::of(token)).await {
            Ok(Some(r)) => self
                .secrets
                .lock()
                .unwrap()
                .get(r.client_id.as_str())
                .map(|secret| Creds {
                    id: r.client_id.to_string(),
                    secret: Some(secret.clone()),
                }),
            _ => None,
        };
        let caller = owner.as_ref().unwrap_or(&self.rs);
        let resp = self.introspect_as(Auth::Basic(caller), token).await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        json(&resp)
    }

    /// Whether introspection reports `token` active.
    pub(crate) async fn active(&self, token: &str) -> bool {
        let v = self.introspect(token).await;
        match v["active"].as_bool() {
            Some(true) => true,
            Some(false) => {
                assert_eq!(
                    v,
                    serde_json::json!({"active": false}),
                    "inactive carries nothing else"
                );
                false
            }
            None => panic!("no `active` member: {v}"),
        }
    }
}

pub(crate) fn id(s: &str) -> ClientId {
    ClientId::parse(s).expect("client id")
}

pub(crate) fn scope(s: &str) -> ScopeSet {
    ScopeSet::parse(s).expect("scope")
}

pub(crate) fn redirect(s: &str) -> RedirectUri {
    RedirectUri::parse(s).expect("redirect uri")
}

/// The store steps a [`FlakyStore`] can fail: the library's own names.
pub(crate) use portcullis::stores::StoreOp as Op;

/// The library's [`FaultyStore`] over a `MemoryStore` (every store trait),
/// plus a [`Gate`] that can hold callers of one read to widen races.
pub(crate) struct FlakyStore {
    faulty: FaultyStore<MemoryStore>,
    gate: Mutex<Option<(Op, Arc<Gate>)>>,
}

impl FlakyStore {
    pub(crate) fn new(inner: MemoryStore) -> Self {
        Self {
            faulty: FaultyStore::new(inner),
            gate: Mutex::new(None),
        }
    }

    /// From now on `op` fails with a plain `StoreError`, before touching
    /// the inner store.
    pub(crate) fn fail(&self, op: Op) {
        self.faulty.fail(op, Fault::Error);
    }

    /// From now on `op` fails with `fault`.
    pub(crate) fn fail_with(&self, op: Op, fault: Fault) {
        self.faulty.fail(op, fault);
    }

    /// The wrapped fault injector, for its other knobs and counters.
    pub(crate) fn faulty(&self) -> &FaultyStore<MemoryStore> {
        &self.faulty
    }

    /// Stops every injected failure.
    pub(crate) fn heal(&self) {
        self.faulty.heal();
    }

    /// Makes callers of the read `op` (`FindCode` or `FindRefresh`) wait,
    /// after reading, until `parties` of them have arrived (or a few seconds
    /// passed), so they all pass the core's checks before any of them
    /// reaches the store's atomic step.
    pub(crate) fn gate(&self, op: Op, parties: usize) {
        *self.gate.lock().expect("lock") = Some((op, Arc::new(Gate::new(parties))));
    }

    /// Holds the caller at the gate if `op` is gated: called after a read,
    /// so every held caller already has its (stale) record in hand.
    fn hold(&self, op: Op) {
        let gate = match &*self.gate.lock().expect("lock") {
            Some((gated, gate)) if *gated == op => Some(gate.clone()),
            _ => None,
        };
        if let Some(gate) = gate {
            // On a multi-thread runtime, let the worker's other tasks move
            // to another thread while this one blocks.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                    tokio::task::block_in_place(|| gate.arrive());
                }
                _ => gate.arrive(),
            }
        }
    }
}

#[async_trait]
impl ClientStore for FlakyStore {
    async fn client(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        self.faulty.client(client_id).await
    }

    async fn cors_origin_registered(
        &self,
        origin: &portcullis::Origin,
    ) -> Result<bool, StoreError> {
        self.faulty.cors_origin_registered(origin).await
    }
}

#[async_trait]
impl portcullis::AuthorizationRequestStore for FlakyStore {
    async fn insert_request(
        &self,
        request: portcullis::SuspendedRequest,
    ) -> Result<(), StoreError> {
        self.faulty.insert_request(request).await
    }
    async fn take_request(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<portcullis::SuspendedRequest>, StoreError> {
        self.faulty.take_request(hash).await
    }
}

#[async_trait]
impl ConsentStore for FlakyStore {
    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        self.faulty.consent(user, client).await
    }
    async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
        self.faulty.grant_consent(consent).await
    }
}

#[async_trait]
impl ReplayCache for FlakyStore {
    async fn first_use(
        &self,
        scope: &ReplayScope,
        id: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.faulty.first_use(scope, id, expires_at).await
    }
    async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.faulty.purge_replays(now).await
    }
}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        self.faulty.insert_code(code).await
    }
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        let found = self.faulty.find_code(hash).await;
        self.hold(Op::FindCode);
        found
    }
    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        self.faulty.exchange_code(hash, tokens).await
    }
    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        self.faulty.issue(tokens).await
    }
    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        self.faulty.find_access(hash).await
    }
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        let found = self.faulty.find_refresh(hash).await;
        self.hold(Op::FindRefresh);
        found
    }
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        self.faulty.rotate_refresh(old, new).await
    }
    async fn replace_successor(
        &self,
        old: &TokenHash,
        successor: &TokenHash,
        new: NewTokens,
    ) -> Result<portcullis::Replacement, StoreError> {
        self.faulty.replace_successor(old, successor, new).await
    }
    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.faulty.revoke_access(hash).await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.faulty.revoke_grant(grant).await
    }
    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
        self.faulty.revoke_session(session).await
    }
    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
        self.faulty.session_clients(session).await
    }
}

/// Holds arriving threads until `parties` have arrived; then lets everyone
/// (and every later caller) through. Gives up waiting after five seconds so
/// a broken expectation fails the test instead of hanging it.
pub(crate) struct Gate {
    parties: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Gate {
    pub(crate) fn new(parties: usize) -> Self {
        Self {
            parties,
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
        }
    }

    /// Blocks the calling OS thread.
    pub(crate) fn arrive(&self) {
        let mut n = self.arrived.lock().expect("lock");
        *n += 1;
        if *n >= self.parties {
            self.all_here.notify_all();
            return;
        }
        let _ = self
            .all_here
            .wait_timeout_while(n, Duration::from_secs(5), |n| *n < self.parties)
            .expect("lock");
    }
}

/// A `tracing` subscriber that writes every event and span field it sees
/// into one string, so tests can check what the library logs.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<Mutex<String>>);

impl LogCapture {
    pub(crate) fn text(&self) -> String {
        self.0.lock().expect("lock").clone()
    }

    /// Makes this capture the subscriber of the calling thread until the
    /// guard drops. Installs [`Interested`] as the global subscriber first
    /// (once per process), so that no call site's cached interest is ever
    /// "never": tracing caches interest per call site for all threads, and
    /// a test on another thread without a subscriber may reach a call site
    /// first, racing with this thread's registration; events would then be
    /// lost to the capture now and then.
    pub(crate) fn install(&self) -> tracing::subscriber::DefaultGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(Interested);
        });
        let guard = tracing::subscriber::set_default(self.clone());
        tracing::callsite::rebuild_interest_cache();
        guard
    }
}

/// The global subscriber of the test process: interested in every call
/// site, records nothing (threads without a [`LogCapture`] log nowhere).
struct Interested;

impl tracing::Subscriber for Interested {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for LogCapture {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.0.lock().expect("lock");
        let _ = write!(out, "\nspan {}", span.metadata().name());
        span.record(&mut Fields(&mut out));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().expect("lock")));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().expect("lock");
        let _ = write!(
            out,
            "\n{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut out));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// `client_assertion_type` for JWT client authentication (RFC 7523).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The shared secret of `client_secret_jwt` clients (at least 32 bytes).
pub(crate) const HMAC_SECRET: &str = "hmac-secret-0123456789abcdef-0123456789";

/// A `client_secret_jwt` assertion (HS256) by `client` for the test
/// issuer, with this `jti`, living a minute from the harness's start.
pub(crate) fn hs256_assertion(client: &str, secret: &str, jti: &str) -> String {
    let claims = serde_json::json!({
        "iss": client, "sub": client, "aud": ISSUER, "jti": jti,
        "exp": T0 + 60, "iat": T0,
    });
    sign_hs256(
        &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        secret,
    )
}

/// A compact JWS of `header` and `claims`, signed HS256 with `secret`.
pub(crate) fn sign_hs256(header: &Value, claims: &Value, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Registers a `client_secret_jwt` client allowed `client_credentials`.
pub(crate) async fn register_jwt_client(h: &Harness, client_id: &str) {
    let client = Client::client_secret_jwt(id(client_id), portcullis::Secret::from(HMAC_SECRET))
        .grant_type(GrantType::ClientCredentials)
        .scope(scope("read"))
        .build()
        .expect("jwt client builds");
    h.register(client).await;
}

/// A `client_credentials` request authenticated by `assertion`.
pub(crate) async fn assertion_request(h: &Harness, assertion: &str) -> Response {
    h.token(
        Auth::Nothing,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

/// An S256 authorization request of `client` to [`REDIRECT`] with scope
/// `read` and state `st`.
pub(crate) fn authorization_query(client: &str) -> String {
    form(&[
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("state", "st"),
        (
            "code_challenge",
            &s256("verifier-authorize-0123456789-0123456789-abcdef"),
        ),
        ("code_challenge_method", "S256"),
    ])
}

/// The query parameters of a redirect's `Location`.
pub(crate) fn location_params(resp: &Response) -> Vec<(String, String)> {
    assert_eq!(resp.status(), 302, "expected a redirect");
    let location = resp.header("Location").expect("Location");
    let url = url::Url::parse(location).expect("absolute Location");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
