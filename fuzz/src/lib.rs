//! The fuzzing harness of portcullis: one entry point per fuzz target, each
//! driving only the public API (`AuthorizationServer::{token, revoke,
//! introspect, authorize, authenticate_bearer}` over a `MemoryStore`) and
//! checking what must hold for *any* input:
//!
//! - nothing panics (a panic is what libFuzzer reports as a crash);
//! - no answer is a 5xx: the stores here never fail, so a 500 would be a bug;
//! - every error is well formed: JSON with a string `error` at the
//!   form-posting endpoints, a `WWW-Authenticate: Bearer` challenge at
//!   resource servers, an error page or a redirect at the authorization
//!   endpoint;
//! - the authorization endpoint only ever redirects to a registered URI.
//!
//! Every input gets a fresh server (same clients, codes, tokens, keys, fixed
//! clock, deterministic random source), so a crash reproduces from its input
//! alone.
//!
//! This file is shared: the cargo-fuzz targets in `fuzz/fuzz_targets/` call
//! it, and `tests/protocol/fuzz_seeds.rs` includes it to replay every file
//! of `fuzz/seeds/` on the stable toolchain as part of `cargo test`.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis::dangerous::DeterministicRandom;
use portcullis::http::{Method, Request, Response};
use portcullis::{
    AccessRecord, AccessTokenFormat, Algorithm, AuthMethod, Authentication, AuthorizationServer,
    AuthorizeStep, ChallengeMethod, Client, ClientAdmin, ClientId, ClientStore, CodeChallenge,
    CodeRecord, Config, FixedClock, GrantId, GrantType, KeyId, KeyProvider, KeyRecord, MemoryKeys,
    MemoryStore, MemoryUsers, NewTokens, RedirectUri, RefreshRecord, ScopeSet, Secret, SecretHash,
    TokenHash, TokenStore, UnixTime, UserId,
};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::Deserialize;
use serde_json::Value;

/// The fuzz targets, by name (the file names in `fuzz/fuzz_targets/` and
/// the directories in `fuzz/seeds/`).
pub const TARGETS: [&str; 17] = [
    "form_body",
    "basic_header",
    "bearer_header",
    "authorize_query",
    "access_token_jwt",
    "client_assertion",
    "client_metadata",
    "seed_json",
    "id_token_hint",
    "claims_parameter",
    "end_session",
    "par_body",
    "request_object",
    "dpop_proof",
    "device_authorization",
    "token_exchange",
    "registration_json",
];

/// Runs one input through the named target; returns what happened to the
/// main request, for the seed tests: its status (`"200"`, `"401"`, ...),
/// `"302 code"` or `"302 error"` for an authorization redirect, `"login"`,
/// or `"skip"` when the input is not even a request of that target.
pub fn run(target: &str, data: &[u8]) -> String {
    match target {
        "form_body" => form_body(data),
        "basic_header" => basic_header(data),
        "bearer_header" => bearer_header(data),
        "authorize_query" => authorize_query(data),
        "access_token_jwt" => access_token_jwt(data),
        "client_assertion" => client_assertion(data),
        "client_metadata" => client_metadata(data),
        "seed_json" => seed_json(data),
        "id_token_hint" => id_token_hint(data),
        "claims_parameter" => claims_parameter(data),
        "end_session" => end_session(data),
        "par_body" => par_body(data),
        "request_object" => request_object(data),
        "dpop_proof" => dpop_proof(data),
        "device_authorization" => device_authorization(data),
        "token_exchange" => token_exchange(data),
        "registration_json" => registration_json(data),
        other => panic!("no fuzz target {other}"),
    }
}

const SKIP: &str = "skip";

/// The demo server's seed file code, as the demo runs it.
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/demo/seed.rs"]
mod seed;

/// The fixture's issuer.
pub const ISSUER: &str = "https://as.example";
/// The fixture's fixed time.
pub const T0: u64 = 1_700_000_000;
/// The redirect URI of the fixture's code-flow clients.
pub const REDIRECT: &str = "https://app.example/cb";
/// The post-logout redirect URIs of the fixture's `rp`.
pub const LOGGED_OUT: &str = "https://app.example/out";
/// `rp`'s other post-logout redirect URI, with a query of its own.
pub const LOGGED_OUT_Q: &str = "https://app.example/bye?from=op";
/// The PKCE verifier of the fixture's codes (`code-svc`, `code-spa`).
pub const VERIFIER: &str = "fuzz-verifier-0123456789-0123456789-0123456789";
/// The secret of `svc` (`client_secret_basic`).
pub const SVC_SECRET: &str = "svc-secret";
/// The secret of `post` (`client_secret_post`).
pub const POST_SECRET: &str = "post-secret";
/// The shared secret of `hs` (`client_secret_jwt`).
pub const HMAC_SECRET: &str = "fuzz-hmac-secret-0123456789abcdef-0123";
/// The `kid` of the server's signing key and of `pk`'s registered key.
pub const KID: &str = "k1";
/// `client_assertion_type` for JWT assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Wakes the thread that waits in [`block_on`].
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls a future to completion. The harness's stores never wait; a slow
/// hash (PBKDF2 of a password or of an unknown client's secret) runs on the
/// server's hash pool and wakes this thread when it is done.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Ed25519 keys made once per process: the server's signing key and the
/// key `pk` signs its assertions with.
struct Keys {
    server: Vec<u8>,
    client: Vec<u8>,
    client_public: Vec<u8>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let t = UnixTime::from_secs(T0);
        let make = || {
            let kid = KeyId::parse(KID).expect("kid");
            KeyRecord::generate(Algorithm::EdDsa, kid, t, t)
                .expect("Ed25519 key")
                .private_pkcs8
                .expose_secret()
                .clone()
        };
        let client = make();
        let client_public = Ed25519KeyPair::from_pkcs8(&client)
            .expect("PKCS#8")
            .public_key()
            .as_ref()
            .to_vec();
        Keys {
            server: make(),
            client,
            client_public,
        }
    })
}

fn id(s: &str) -> ClientId {
    ClientId::parse(s).expect("client id")
}

fn scope(s: &str) -> ScopeSet {
    ScopeSet::parse(s).expect("scope")
}

/// `Basic base64(id ":" secret)` (the values need no form-encoding).
pub fn basic(client: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client}:{secret}")))
}

/// `BASE64URL(SHA256(verifier))`.
fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A fresh server and its store.
///
/// Clients: `svc` (`client_secret_basic`, every grant, opaque tokens),
/// `post` (`client_secret_post`), `spa` (public), `jwt` (`client_secret_basic`,
/// JWT access tokens), `hs` (`client_secret_jwt`), `pk` (`private_key_jwt`,
/// Ed25519), `off` (disabled). User `alice` / `wonderland`. Codes `code-svc`
/// and `code-spa` (PKCE S256 of [`VERIFIER`], redirect [`REDIRECT`]), and
/// for `svc` the access token `access-1` and refresh token `refresh-1`.
pub struct Fixture {
    /// The server.
    pub server: AuthorizationServer,
    /// Its store.
    pub store: MemoryStore,
}

/// The fixture with the default configuration.
pub fn fixture() -> Fixture {
    fixture_with(|_| {})
}

/// The fixture with a configuration changed by `configure`.
pub fn fixture_with(configure: impl FnOnce(&mut Config)) -> Fixture {
    block_on(build_fixture(configure, |b, _| b))
}

async fn build_fixture(
    configure: impl FnOnce(&mut Config),
    extra: impl FnOnce(portcullis::ServerBuilder, &MemoryStore) -> portcullis::ServerBuilder,
) -> Fixture {
    let store = MemoryStore::new();
    let signing = MemoryKeys::new();
    let t = UnixTime::from_secs(T0 - 10);
    let key = KeyRecord::from_pkcs8(
        Algorithm::EdDsa,
        KeyId::parse(KID).expect("kid"),
        keys().server.clone(),
        t,
        t,
    )
    .expect("server key");
    signing.insert_key(key).await.expect("key stored");
    let users = MemoryUsers::new(NonZeroU32::MIN).expect("users");
    users
        .insert("alice", &Secret::from("wonderland"))
        .expect("alice");
    let mut config = Config::new(ISSUER);
    config.grant_types.push(GrantType::Password);
    config.signing_algorithm = Algorithm::EdDsa;
    // An unknown client costs what a known one does: one round here, as
    // every secret of the fixture is one round or a SHA-256.
    config.unknown_client_iterations = NonZeroU32::MIN;
    configure(&mut config);
    let builder = AuthorizationServer::builder(config)
        .store(Arc::new(store.clone()))
        .key_provider(Arc::new(signing))
        .password_verifier(Arc::new(users))
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(T0))))
        .random(Arc::new(DeterministicRandom::new(7)));
    let server = extra(builder, &store).build().expect("fixture server");
    let redirect = RedirectUri::parse(REDIRECT).expect("redirect");
    let code_grants = |b: portcullis::ClientBuilder| {
        b.redirect_uri(redirect.clone())
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .scope(scope("openid read write"))
            .default_scope(scope("read"))
    };
    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": KID, "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&keys().client_public),
    }]});
    let clients = [
        code_grants(Client::confidential(
            id("svc"),
            SecretHash::sha256(SVC_SECRET),
        ))
        .grant_type(GrantType::ClientCredentials)
        .grant_type(GrantType::Password)
        // A resource server for every access token (IN-01), so the
        // harness can introspect other clients' tokens as `svc`.
        .resource_server_for(portcullis::Audience::parse(ISSUER).expect("audience")),
        Client::confidential(id("post"), SecretHash::sha256(POST_SECRET))
            .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
            .grant_type(GrantType::ClientCredentials)
            .scope(scope("read")),
        code_grants(Client::public(id("spa"))),
        Client::confidential(id("jwt"), SecretHash::sha256(SVC_SECRET))
            .grant_type(GrantType::ClientCredentials)
            .grant_type(GrantType::Password)
            .scope(scope("read write"))
            .access_token_format(AccessTokenFormat::Jwt),
        Client::client_secret_jwt(id("hs"), Secret::from(HMAC_SECRET))
            .grant_type(GrantType::ClientCredentials)
            .scope(scope("read")),
        Client::private_key_jwt(id("pk"), jwks.to_string())
            .grant_type(GrantType::ClientCredentials)
            .scope(scope("read")),
        // An OpenID relying party with RP-Initiated and Back-Channel Logout
        // (ID and Logout Tokens in EdDSA, the fixture's one key).
        code_grants(Client::public(id("rp")))
            .post_logout_redirect_uri(RedirectUri::parse(LOGGED_OUT).expect("uri"))
            .post_logout_redirect_uri(RedirectUri::parse(LOGGED_OUT_Q).expect("uri"))
            .backchannel_logout_uri(portcullis::WebUrl::parse("https://app.example/bcl"))
            .backchannel_logout_session_required(true)
            .id_token_signed_response_alg(Algorithm::EdDsa),
        // Signs request objects (RFC 9101) with `pk`'s Ed25519 key, and
        // authenticates at the pushed endpoint with it.
        code_grants(Client::private_key_jwt(id("jar"), jwks.to_string())),
        code_grants(Client::confidential(
            id("off"),
            SecretHash::sha256(SVC_SECRET),
        ))
        .enabled(false),
    ];
    for c in clients {
        store
            .insert_client(c.build().expect("fixture client"))
            .await
            .expect("client stored");
    }
    let now = UnixTime::from_secs(T0);
    for (code, client) in [("code-svc", "svc"), ("code-spa", "spa")] {
        let hash = TokenHash::of(code);
        let challenge = CodeChallenge::parse(ChallengeMethod::S256, &s256(VERIFIER));
        store
            .insert_code(CodeRecord {
                hash,
                grant: GrantId::derive(&hash),
                client_id: id(client),
                subject: UserId::parse("alice").expect("user"),
                scope: scope("read write"),
                redirect_uri: Some(redirect.clone()),
                challenge: Some(challenge.expect("challenge")),
                issued_at: now,
                expires_at: now.plus(Duration::from_secs(60)),
                used: false,
                openid: None,
                resources: Vec::new(),
                dpop_jkt: None,
            })
            .await
            .expect("code stored");
    }
    let access = TokenHash::of("access-1");
    let grant = GrantId::derive(&access);
    let alice = UserId::parse("alice");
    store
        .issue(NewTokens {
            access: AccessRecord {
                hash: access,
                grant,
                client_id: id("svc"),
                subject: alice.clone(),
                scope: scope("read write"),
                issued_at: now,
                expires_at: now.plus(Duration::from_secs(3600)),
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                act: None,
            },
            refresh: Some(RefreshRecord {
                hash: TokenHash::of("refresh-1"),
                grant,
                client_id: id("svc"),
                subject: alice,
                scope: scope("read write"),
                issued_at: now,
                expires_at: now.plus(Duration::from_secs(86_400)),
                used: false,
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                successor: None,
            }),
        })
        .await
        .expect("tokens stored");
    Fixture { server, store }
}

/// The form-posting endpoints.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    /// `token`
    Token,
    /// `revoke`
    Revoke,
    /// `introspect`
    Introspect,
}

impl Endpoint {
    fn pick(b: u8) -> Self {
        match b % 3 {
            0 => Self::Token,
            1 => Self::Revoke,
            _ => Self::Introspect,
        }
    }
}

/// Sends `req` to `endpoint` and checks the answer.
fn post(server: &AuthorizationServer, endpoint: Endpoint, req: &Request<'_>) -> Response {
    let resp = block_on(async {
        match endpoint {
            Endpoint::Token => server.token(req).await,
            Endpoint::Revoke => server.revoke(req).await,
            Endpoint::Introspect => server.introspect(req).await,
        }
    });
    check_form_answer(endpoint, &resp);
    resp
}

fn form_request<'a>(body: &'a [u8], authorization: Option<&'a [u8]>) -> Request<'a> {
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body);
    match authorization {
        Some(a) => req.header("Authorization", a),
        None => req,
    }
}

/// What any answer of a form-posting endpoint must be.
fn check_form_answer(endpoint: Endpoint, resp: &Response) {
    let status = resp.status();
    let body = String::from_utf8_lossy(resp.body());
    assert!(
        matches!(status, 200 | 400 | 401 | 405 | 413),
        "{endpoint:?}: status {status}: {body}"
    );
    if status == 200 {
        let ok = match endpoint {
            Endpoint::Revoke => resp.body().is_empty(),
            Endpoint::Token => json(resp).get("access_token").is_some_and(Value::is_string),
            Endpoint::Introspect => json(resp).get("active").is_some_and(Value::is_boolean),
        };
        assert!(ok, "{endpoint:?}: odd success body: {body}");
        return;
    }
    let v = json(resp);
    let code = v.get("error").and_then(Value::as_str);
    assert!(code.is_some(), "{endpoint:?}: error without a code: {body}");
    assert_eq!(
        status == 401,
        code == Some("invalid_client"),
        "{endpoint:?}: invalid_client is the only 401: {body}"
    );
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
}

fn json(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(resp.body())
        )
    })
}

/// `form_body`: the first byte picks the endpoint and the client
/// authentication; the rest is the form body, as sent.
pub fn form_body(data: &[u8]) -> String {
    let Some((&sel, body)) = data.split_first() else {
        return SKIP.into();
    };
    let header = match (sel / 3) % 5 {
        0 => None,
        1 => Some(basic("svc", SVC_SECRET)),
        2 => Some(basic("svc", "wrong")),
        3 => Some(basic("jwt", SVC_SECRET)),
        _ => Some(basic("spa", "")),
    };
    let f = fixture();
    let req = form_request(body, header.as_deref().map(str::as_bytes));
    post(&f.server, Endpoint::pick(sel), &req)
        .status()
        .to_string()
}

/// `basic_header`: the first byte picks the endpoint and how the rest
/// becomes the `Authorization` header: as is, `Basic ` + the rest, or
/// `Basic ` + base64 of the rest (so the decoder's output is fuzzed too).
pub fn basic_header(data: &[u8]) -> String {
    let Some((&sel, rest)) = data.split_first() else {
        return SKIP.into();
    };
    let header: Vec<u8> = match (sel / 3) % 3 {
        0 => rest.to_vec(),
        1 => [b"Basic ".as_slice(), rest].concat(),
        _ => format!("Basic {}", STANDARD.encode(rest)).into_bytes(),
    };
    let endpoint = Endpoint::pick(sel);
    let body: &[u8] = match endpoint {
        Endpoint::Token => b"grant_type=client_credentials&scope=read",
        _ => b"token=access-1",
    };
    let f = fixture();
    let resp = post(&f.server, endpoint, &form_request(body, Some(&header)));
    if resp.status() == 200 && matches!(endpoint, Endpoint::Token) {
        // Only `svc` and `jwt` use Basic for client_credentials: a token
        // for anyone else would be a broken client authentication.
        let token = json(&resp)
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default();
        let body = format!("token={token}");
        let auth = basic("svc", SVC_SECRET);
        let info = post(
            &f.server,
            Endpoint::Introspect,
            &form_request(body.as_bytes(), Some(auth.as_bytes())),
        );
        let client = json(&info)
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        assert!(
            matches!(client.as_deref(), Some("svc" | "jwt")),
            "a token for {client:?}"
        );
    }
    resp.status().to_string()
}

/// Checks a resource-server answer to `req` for scope `required`.
fn bearer(server: &AuthorizationServer, req: &Request<'_>, required: &ScopeSet) -> String {
    match block_on(server.authenticate_bearer(req, required)) {
        Ok(token) => {
            assert!(required.is_subset_of(token.scope()));
            "200".into()
        }
        Err(resp) => {
            let status = resp.status();
            assert!(matches!(status, 400 | 401 | 403), "bearer status {status}");
            let challenge = resp.header("WWW-Authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Bearer "), "challenge {challenge:?}");
            status.to_string()
        }
    }
}

/// `bearer_header`: the first byte picks the required scope, whether the
/// header is sent twice, and how the rest becomes the header: as is, or
/// `Bearer ` + the rest.
pub fn bearer_header(data: &[u8]) -> String {
    let Some((&sel, rest)) = data.split_first() else {
        return SKIP.into();
    };
    let header: Vec<u8> = if sel & 1 == 0 {
        rest.to_vec()
    } else {
        [b"Bearer ".as_slice(), rest].concat()
    };
    let required = match (sel >> 2) % 3 {
        0 => ScopeSet::default(),
        1 => scope("read"),
        _ => scope("admin"),
    };
    let f = fixture();
    let mut req = Request::new(Method::Get).header("Authorization", &header);
    if sel & 2 != 0 {
        req = req.header("Authorization", b"Bearer access-1");
    }
    bearer(&f.server, &req, &required)
}

/// Whether `location` is the registered `uri` plus a query of ours (a
/// loopback URI may differ in its port, RFC 8252 §7.3).
fn redirects_to(location: &str, uri: &str) -> bool {
    let (Ok(mut to), Ok(mut registered)) = (url::Url::parse(location), url::Url::parse(uri)) else {
        return false;
    };
    to.set_query(None);
    registered.set_query(None);
    if to == registered {
        return true;
    }
    let loopback =
        |u: &url::Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]"));
    loopback(&to)
        && loopback(&registered)
        && to.host_str() == registered.host_str()
        && to.path() == registered.path()
}

/// Checks an authorization step; approves or denies a consent step. Every
/// redirect must go to one of `registered`. Returns the redirect, if any,
/// and the outcome.
fn check_step(
    server: &AuthorizationServer,
    step: AuthorizeStep,
    approve: bool,
    registered: &[String],
) -> (Option<Response>, String) {
    let resp = match step {
        AuthorizeStep::Invalid(page) => {
            let status = page.status();
            assert!(matches!(status, 400 | 405 | 413), "error page {status}");
            assert!(page.header("Location").is_none());
            return (None, status.to_string());
        }
        AuthorizeStep::Login(_) => return (None, "login".into()),
        AuthorizeStep::Redirect(r) => r,
        AuthorizeStep::Consent(pending) => {
            if approve {
                block_on(server.approve(pending))
            } else {
                server.deny(pending)
            }
        }
    };
    assert_eq!(resp.status(), 302);
    let location = resp.header("Location").unwrap_or_default();
    assert!(
        registered.iter().any(|r| redirects_to(location, r)),
        "redirect to an unregistered URI: {location}"
    );
    let outcome = if resp.error().is_some() {
        "302 error"
    } else {
        "302 code"
    };
    (Some(resp), outcome.into())
}

/// `authorize_query`: the first byte picks GET (query) or POST (body),
/// whether `alice` is logged in, approve or deny at the consent step, and
/// (bit 8) whether a login or consent step is suspended and resumed for
/// `alice` first, as a host's login and consent pages would.
pub fn authorize_query(data: &[u8]) -> String {
    let Some((&sel, rest)) = data.split_first() else {
        return SKIP.into();
    };
    let f = fixture();
    let query = String::from_utf8_lossy(rest);
    let req = if sel & 1 == 0 {
        Request::new(Method::Get).query(&query)
    } else {
        Request::new(Method::Post)
            .header("Content-Type", b"application/x-www-form-urlencoded")
            .body(rest)
    };
    let alice = alice();
    let user = (sel & 2 != 0).then_some(&alice);
    let mut step = block_on(f.server.authorize(&req, user));
    if sel & 8 != 0 {
        step = suspend_and_resume(&f.server, step, &alice);
    }
    check_step(&f.server, step, sel & 4 != 0, &[REDIRECT.to_owned()]).1
}

/// `alice`, who logged in a minute before the fixture's clock.
fn alice() -> Authentication {
    Authentication::new(
        UserId::parse("alice").expect("user"),
        UnixTime::from_secs(T0 - 60),
    )
}

/// Suspends a login or consent step, resumes it for `alice`, and checks
/// that the token is then spent. Other steps pass through.
fn suspend_and_resume(
    server: &AuthorizationServer,
    step: AuthorizeStep,
    alice: &Authentication,
) -> AuthorizeStep {
    let (token, consent) = match &step {
        AuthorizeStep::Login(login) => (block_on(server.suspend_login(login)), false),
        AuthorizeStep::Consent(pending) => (block_on(server.suspend_consent(pending)), true),
        _ => return step,
    };
    let token = token.expect("the memory store suspends");
    let resumed = block_on(server.resume(token.expose_secret(), Some(alice)));
    if consent {
        assert!(
            matches!(resumed, AuthorizeStep::Consent(_)),
            "a consent token resumes to consent"
        );
    }
    let again = block_on(server.resume(token.expose_secret(), Some(alice)));
    assert!(
        matches!(again, AuthorizeStep::Invalid(_)),
        "a resume token works once"
    );
    resumed
}

/// Splits `[selector][header length][header][claims]`.
fn split_jws_input(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&sel, rest) = data.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let cut = usize::from(len).min(rest.len());
    let (header, claims) = rest.split_at(cut);
    Some((sel, header, claims))
}

/// `header.claims` in base64url, then `.` and the signature by `sign`.
fn compact(header: &[u8], claims: &[u8], sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn ed25519(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
    Ed25519KeyPair::from_pkcs8(pkcs8)
        .expect("PKCS#8")
        .sign(message)
        .as_ref()
        .to_vec()
}

/// `access_token_jwt`: a JWS of fuzzed header and claims JSON, signed with
/// the server's own key (so the claim checks are reached), or unsigned, or
/// the raw bytes (selector bits 0–1); presented as a bearer token (bit 2:
/// with the revocation check, bit 3: requiring scope `read`), introspected
/// and revoked.
pub fn access_token_jwt(data: &[u8]) -> String {
    let Some((sel, header, claims)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let token = match sel & 3 {
        0 => compact(header, claims, |m| ed25519(&keys().server, m)),
        1 => compact(header, claims, |_| Vec::new()),
        _ => String::from_utf8_lossy(&[header, b".", claims].concat()).into_owned(),
    };
    // Without the revocation check, a signed token is judged on its claims
    // alone, so the claim parsing is reached.
    let f = fixture_with(|c| c.jwt_revocation_check = sel & 4 != 0);
    let authorization = format!("Bearer {token}");
    let req = Request::new(Method::Get).header("Authorization", authorization.as_bytes());
    let required = if sel & 8 == 0 {
        ScopeSet::default()
    } else {
        scope("read")
    };
    let outcome = bearer(&f.server, &req, &required);
    let body = format!(
        "token={}",
        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let auth = basic("svc", SVC_SECRET);
    for endpoint in [Endpoint::Introspect, Endpoint::Revoke] {
        post(
            &f.server,
            endpoint,
            &form_request(body.as_bytes(), Some(auth.as_bytes())),
        );
    }
    outcome
}

/// `dpop_proof`: a DPoP proof (RFC 9449) at the token endpoint and, when
/// it binds a token, at a resource. The input is split as for
/// `access_token_jwt` into a protected header and claims; `$JWK` in the
/// header becomes the public JWK of the client's Ed25519 key (which is made
/// at run time), so seeds can name it. Selector bits 0-1: signed with that
/// key, unsigned, or the raw bytes as the whole proof. The token endpoint
/// answers 200 (`token_type` `DPoP`) or a well-formed error; a bound
/// token is then presented at a resource with the same proof, which must
/// be refused (the proof is for another request, and already used).
pub fn dpop_proof(data: &[u8]) -> String {
    let Some((sel, header, claims)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(&keys().client_public),
    })
    .to_string();
    let header = String::from_utf8_lossy(header).replace("$JWK", &jwk);
    let proof = match sel & 3 {
        0 => compact(header.as_bytes(), claims, |m| ed25519(&keys().client, m)),
        1 => compact(header.as_bytes(), claims, |_| Vec::new()),
        _ => String::from_utf8_lossy(&[header.as_bytes(), b".", claims].concat()).into_owned(),
    };
    let f = fixture();
    let auth = basic("svc", SVC_SECRET);
    let req = form_request(b"grant_type=client_credentials", Some(auth.as_bytes()))
        .header("DPoP", proof.as_bytes());
    let resp = post(&f.server, Endpoint::Token, &req);
    if resp.status() != 200 {
        return resp.status().to_string();
    }
    let body = json(&resp);
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert_eq!(body.get("token_type").and_then(Value::as_str), Some("DPoP"));
    let authorization = format!("DPoP {token}");
    let req = Request::new(Method::Get)
        .with_target("GET", "/resource")
        .header("Authorization", authorization.as_bytes())
        .header("DPoP", proof.as_bytes());
    let outcome = bearer(&f.server, &req, &ScopeSet::default());
    assert_eq!(
        outcome, "401",
        "a token-endpoint proof was accepted at a resource"
    );
    "200".into()
}

/// `claims_parameter`: the bytes after the selector are an OpenID Connect
/// `claims` request parameter (Core 5.5) on an otherwise valid `openid`
/// authorization request of `spa` (selector bit 1: `alice` logged in; bit
/// 2: approve). The endpoint refuses it (`invalid_request`, redirected) if
/// and only if `ClaimsRequest::parse` does (an empty value is an absent
/// parameter, RFC 6749 §3.1); what parses survives its own
/// JSON form unchanged, and a code's stored facts keep it.
pub fn claims_parameter(data: &[u8]) -> String {
    let Some((&sel, rest)) = data.split_first() else {
        return SKIP.into();
    };
    let claims = String::from_utf8_lossy(rest);
    let parsed = portcullis::ClaimsRequest::parse(&claims);
    if let Ok(r) = &parsed {
        let again = portcullis::ClaimsRequest::parse(&r.to_json()).expect("own JSON form");
        assert_eq!(&again, r, "the JSON form changes the request");
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "spa")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid read")
        .append_pair("state", "xyz")
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair(
            "code_challenge",
            "1nSOJuWjmimVtGHANPkZpV_SfXp_-vgbhcpIIUQXbEs",
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("claims", &claims)
        .finish();
    let f = fixture();
    let req = Request::new(Method::Get).query(&query);
    let alice = alice();
    let user = (sel & 1 != 0).then_some(&alice);
    let step = block_on(f.server.authorize(&req, user));
    let (resp, outcome) = check_step(&f.server, step, sel & 2 != 0, &[REDIRECT.to_owned()]);
    let refused = resp
        .as_ref()
        .and_then(|r| r.error())
        .is_some_and(|e| e.as_str() == "invalid_request");
    // RFC 6749 §3.1: a parameter without a value is treated as omitted.
    let expected = parsed.is_err() && !claims.is_empty();
    assert_eq!(
        refused, expected,
        "the endpoint and the parser disagree on {claims:?}"
    );
    outcome
}

/// `id_token_hint`: a JWS of fuzzed header and claims JSON, signed with the
/// server's own key (so the checks after the signature are reached), or
/// unsigned (selector bits 0–1 = 0, 1), or the raw bytes (2: header and
/// claims joined by a dot, 3: as they are), checked as an `id_token_hint`
/// (OI-08, LO-01). Only a token the server signed may pass. Returns `ok`
/// or the `HintError`.
pub fn id_token_hint(data: &[u8]) -> String {
    let Some((sel, header, claims)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let token = match sel & 3 {
        0 => compact(header, claims, |m| ed25519(&keys().server, m)),
        1 => compact(header, claims, |_| Vec::new()),
        2 => String::from_utf8_lossy(&[header, b".", claims].concat()).into_owned(),
        _ => String::from_utf8_lossy(&[header, claims].concat()).into_owned(),
    };
    let f = fixture();
    match block_on(f.server.verify_id_token_hint(&token)) {
        Ok(hint) => {
            assert_eq!(sel & 3, 0, "a hint we did not sign was accepted: {token}");
            assert!(!hint.audiences().is_empty(), "a hint without audience");
            "ok".into()
        }
        Err(e) => format!("{e:?}"),
    }
}

/// `client_assertion`: a JWS of fuzzed header and claims JSON, signed as
/// `hs` (HS256), as `pk` (EdDSA), unsigned, or the raw bytes, used as the
/// client assertion of a `client_credentials` request (with or without a
/// `client_id`).
pub fn client_assertion(data: &[u8]) -> String {
    let Some((sel, header, claims)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let assertion = match sel % 4 {
        0 => compact(header, claims, |m| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes());
            ring::hmac::sign(&key, m).as_ref().to_vec()
        }),
        1 => compact(header, claims, |m| ed25519(&keys().client, m)),
        2 => compact(header, claims, |_| Vec::new()),
        _ => String::from_utf8_lossy(&[header, b".", claims].concat()).into_owned(),
    };
    let mut pairs = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    match (sel >> 2) % 3 {
        0 => {}
        1 => pairs.push(("client_id", "hs")),
        _ => pairs.push(("client_id", "pk")),
    }
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        body.append_pair(k, v);
    }
    let body = body.finish();
    let f = fixture();
    let first = post(
        &f.server,
        Endpoint::Token,
        &form_request(body.as_bytes(), None),
    );
    // A jti is single use: the same assertion never works twice.
    let again = post(
        &f.server,
        Endpoint::Token,
        &form_request(body.as_bytes(), None),
    );
    if first.status() == 200 {
        assert_eq!(again.status(), 401, "an assertion was accepted twice");
    }
    first.status().to_string()
}

/// RFC 7591-style client metadata (and the demo seed's client fields),
/// plus an optional issuer for the server's own configuration.
#[derive(Deserialize)]
struct Metadata {
    issuer: Option<String>,
    client_id: String,
    client_secret: Option<String>,
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    scope: Option<String>,
    default_scope: Option<String>,
    token_endpoint_auth_method: Option<String>,
    access_token_format: Option<String>,
    access_token_lifetime: Option<u64>,
    refresh_token_lifetime: Option<u64>,
    jwks: Option<Value>,
    skip_consent: Option<bool>,
}

/// Registers a client from `m` through the public builder; `None` if the
/// metadata is refused (as a registration endpoint would refuse it).
fn client_from(m: &Metadata) -> Option<Client> {
    let client_id = ClientId::parse(&m.client_id)?;
    let method = m
        .token_endpoint_auth_method
        .as_deref()
        .map(AuthMethod::parse);
    let mut b = match (method, &m.client_secret, &m.jwks) {
        (Some(None), ..) => return None,
        (Some(Some(AuthMethod::PrivateKeyJwt)), _, Some(jwks)) => {
            Client::private_key_jwt(client_id, jwks.to_string())
        }
        (Some(Some(AuthMethod::ClientSecretJwt)), Some(secret), _) => {
            Client::client_secret_jwt(client_id, Secret::new(secret.clone()))
        }
        (_, Some(secret), _) => {
            let b = Client::confidential(client_id, SecretHash::sha256(secret));
            match method.flatten() {
                Some(m) => b.token_endpoint_auth_method(m),
                None => b,
            }
        }
        (_, None, _) => Client::public(client_id),
    };
    if let Some(name) = &m.client_name {
        b = b.client_name(name);
    }
    for uri in &m.redirect_uris {
        b = b.redirect_uri(RedirectUri::parse(uri)?);
    }
    for g in &m.grant_types {
        b = b.grant_type(GrantType::parse(g)?);
    }
    if let Some(s) = &m.scope {
        b = b.scope(ScopeSet::parse(s)?);
    }
    if let Some(s) = &m.default_scope {
        b = b.default_scope(ScopeSet::parse(s)?);
    }
    if let Some(f) = &m.access_token_format {
        b = b.access_token_format(AccessTokenFormat::parse(f)?);
    }
    if let Some(secs) = m.access_token_lifetime {
        b = b.access_token_lifetime(Duration::from_secs(secs));
    }
    if let Some(secs) = m.refresh_token_lifetime {
        b = b.refresh_token_lifetime(Duration::from_secs(secs));
    }
    if let Some(skip) = m.skip_consent {
        b = b.skip_consent(skip);
    }
    b.build().ok()
}

/// `client_metadata`: JSON client metadata (RFC 7591 names, the demo
/// seed's fields) and an optional issuer. A valid issuer must give a server
/// whose metadata document is JSON naming it; a valid client is registered,
/// then used: a `client_credentials` request with its credentials, and an
/// authorization request to its first redirect URI, approved, and the code
/// redeemed.
pub fn client_metadata(data: &[u8]) -> String {
    let Ok(m) = serde_json::from_slice::<Metadata>(data) else {
        return SKIP.into();
    };
    if let Some(issuer) = &m.issuer {
        let built = AuthorizationServer::builder(Config::new(issuer.clone()))
            .store(Arc::new(MemoryStore::new()))
            .build();
        if let Ok(server) = built {
            let doc: Value = serde_json::from_slice(server.metadata().body()).expect("metadata");
            assert_eq!(
                doc.get("issuer").and_then(Value::as_str),
                Some(issuer.as_str())
            );
        }
    }
    let Some(client) = client_from(&m) else {
        return "refused".into();
    };
    let f = fixture();
    let client_id = client.client_id().clone();
    let registered: Vec<String> = client
        .redirect_uris()
        .iter()
        .map(|u| u.as_str().to_owned())
        .collect();
    if block_on(f.store.insert_client(client)).is_err() {
        return "taken".into(); // one of the fixture's own ids
    }
    let secret = m.client_secret.as_deref().unwrap_or_default();
    let header = basic(client_id.as_str(), secret);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id.as_str())
        .append_pair("client_secret", secret)
        .finish();
    let by_post = post(
        &f.server,
        Endpoint::Token,
        &form_request(body.as_bytes(), None),
    );
    let by_basic = post(
        &f.server,
        Endpoint::Token,
        &form_request(b"grant_type=client_credentials", Some(header.as_bytes())),
    );
    let mut outcome = format!("{} {}", by_post.status(), by_basic.status());
    let Some(redirect) = registered.first() else {
        return outcome;
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id.as_str())
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "s")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let alice = alice();
    let req = Request::new(Method::Get).query(&query);
    let step = block_on(f.server.authorize(&req, Some(&alice)));
    let (resp, step_outcome) = check_step(&f.server, step, true, &registered);
    outcome = format!("{outcome} {step_outcome}");
    let Some(resp) = resp else {
        return outcome;
    };
    let location = url::Url::parse(resp.header("Location").unwrap_or_default()).expect("URL");
    let Some(code) = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
    else {
        return outcome;
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_verifier", VERIFIER)
        .append_pair("client_id", client_id.as_str())
        .finish();
    let by_basic = post(
        &f.server,
        Endpoint::Token,
        &form_request(body.as_bytes(), Some(header.as_bytes())),
    );
    let with_secret = match &m.client_secret {
        Some(secret) => format!(
            "{body}&client_secret={}",
            form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
        ),
        None => body,
    };
    let by_post = post(
        &f.server,
        Endpoint::Token,
        &form_request(with_secret.as_bytes(), None),
    );
    format!("{outcome} {} {}", by_basic.status(), by_post.status())
}

/// The key every server of the harness signs with (`KID`, Ed25519).
async fn signing_keys() -> MemoryKeys {
    let signing = MemoryKeys::new();
    let t = UnixTime::from_secs(T0 - 10);
    let key = KeyRecord::from_pkcs8(
        Algorithm::EdDsa,
        KeyId::parse(KID).expect("kid"),
        keys().server.clone(),
        t,
        t,
    )
    .expect("server key");
    signing.insert_key(key).await.expect("key stored");
    signing
}

/// `Basic base64(urlenc(id) ":" urlenc(secret))` (RFC 6749 §2.3.1), for
/// any id and secret.
fn basic_encoded(client: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    basic(&enc(client), &enc(secret))
}

/// Whether a seeded client authenticates with `client_secret_basic` (and
/// its secret has no expiry, which may have passed: issue 19).
fn seeded_basic(c: &seed::SeedClient) -> bool {
    let expires = c.registration.client_secret_expires_at.as_ref();
    c.client_secret.is_some()
        && c.token_endpoint_auth_method
            .as_deref()
            .is_none_or(|m| m == "client_secret_basic")
        && expires.and_then(Value::as_u64).is_none_or(|t| t == 0)
}

/// `seed_json`: a seed file of the demo server, read by the demo's own code
/// (`examples/demo/seed.rs`) with one PBKDF2 round instead of the demo's
/// 100 000, and, if accepted, made into a server as the demo does (clients
/// saved to the store, users to the password verifier). Whatever the input,
/// nothing panics: a bad seed is an error message. An accepted seed whose
/// issuer the server takes must then give:
///
/// - a metadata document naming that issuer;
/// - every client stored (a repeated id: its last entry), and no other;
/// - every user's password accepted by the password check (a repeated
///   username: its last entry), giving their subject: the seed's
///   `claims.sub` or the username, no two users the same;
/// - for every confidential `client_secret_basic` client, its seeded secret
///   working: a `client_credentials` request gets tokens (200) if the
///   client has that grant, and a `password` request with each user's
///   password does if it has the password grant. Never a 401 or a 5xx.
///
/// Returns `invalid` (not a seed), `refused` (an entry is bad), `issuer`
/// (the server refused the configuration) or `ok <clients> <users>` and the
/// statuses of the token requests.
pub fn seed_json(data: &[u8]) -> String {
    let Ok(parsed) = seed::parse(data) else {
        return "invalid".into();
    };
    let random = DeterministicRandom::new(7);
    let loaded = match seed::load(&parsed, NonZeroU32::MIN, &random) {
        Ok(loaded) => loaded,
        Err(message) => {
            assert!(!message.is_empty());
            return "refused".into();
        }
    };
    let seed::Loaded {
        mut config,
        clients,
        users,
        people: subjects,
        claims,
        ignored,
        left_out,
    } = loaded;
    // What is ignored is named, so the demo can log it.
    for note in &ignored {
        assert!(!note.entry.is_empty() && !note.field.is_empty() && !note.why.is_empty());
    }
    config.signing_algorithm = Algorithm::EdDsa;
    let store = MemoryStore::new();
    block_on(seed::save_clients(&store, clients)).expect("the memory store never fails");
    let users = Arc::new(users);
    let built = AuthorizationServer::builder(config)
        .store(Arc::new(store.clone()))
        .key_provider(Arc::new(block_on(signing_keys())))
        .password_verifier(users.clone())
        .claims_hook(Arc::new(claims))
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(T0))))
        .random(Arc::new(DeterministicRandom::new(7)))
        .build();
    let Ok(server) = built else {
        return "issuer".into();
    };
    let doc: Value = serde_json::from_slice(server.metadata().body()).expect("metadata");
    assert_eq!(
        doc.get("issuer").and_then(Value::as_str),
        Some(parsed.issuer.as_str())
    );

    // The last entry of each client id and of each username; a client the
    // server cannot authenticate is left out (and noted).
    let mut clients: Vec<&seed::SeedClient> = Vec::new();
    for c in &parsed.clients {
        clients.retain(|k| k.client_id != c.client_id);
        clients.push(c);
    }
    clients.retain(|c| !left_out.contains(&c.client_id));
    for id in &left_out {
        let entry = format!("client {id}");
        assert!(
            ignored.iter().any(|n| n.entry == entry),
            "{id} left out silently"
        );
    }
    let mut people: Vec<&seed::SeedUser> = Vec::new();
    for u in &parsed.users {
        people.retain(|k| k.username != u.username);
        people.push(u);
    }
    let stored = block_on(store.clients()).expect("list");
    assert_eq!(stored.len(), clients.len(), "stored clients");
    for c in &clients {
        let found = block_on(store.client(&id(&c.client_id))).expect("find");
        assert!(found.is_some(), "client {:?} not stored", c.client_id);
    }
    for u in &people {
        let user = block_on(portcullis::PasswordVerifier::verify(
            &*users,
            &u.username,
            &Secret::new(u.password.clone()),
        ))
        .expect("memory users never fail");
        // Their subject: the seed's `claims.sub` when usable, else the
        // username; never another user's.
        let loaded = subjects
            .iter()
            .find(|p| p.username == u.username)
            .expect("every user is loaded");
        assert_eq!(
            user.as_ref(),
            Some(&loaded.subject),
            "user {:?} does not log in",
            u.username
        );
        let seeded = u.claims.as_ref().and_then(|c| c.get("sub")?.as_str());
        assert!(
            loaded.subject.as_str() == u.username || Some(loaded.subject.as_str()) == seeded,
            "user {:?}: a subject from nowhere",
            u.username
        );
    }
    let mut distinct: Vec<&UserId> = subjects.iter().map(|p| &p.subject).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), subjects.len(), "two users share a subject");

    let mut outcome = format!("ok {} {}", clients.len(), people.len());
    for c in clients.iter().filter(|c| seeded_basic(c)) {
        let secret = c.client_secret.as_deref().unwrap_or_default();
        let header = basic_encoded(&c.client_id, secret);
        let grants = |g: &str| c.grant_types.iter().any(|x| x == g);
        let mut bodies: Vec<String> = Vec::new();
        if grants("client_credentials") {
            bodies.push("grant_type=client_credentials".into());
        }
        if grants("password") {
            for u in &people {
                bodies.push(
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("grant_type", "password")
                        .append_pair("username", &u.username)
                        .append_pair("password", &u.password)
                        .finish(),
                );
            }
        }
        for body in bodies {
            let resp = post(
                &server,
                Endpoint::Token,
                &form_request(body.as_bytes(), Some(header.as_bytes())),
            );
            assert_eq!(
                resp.status(),
                200,
                "client {:?} with its seeded secret: {}",
                c.client_id,
                String::from_utf8_lossy(resp.body())
            );
            outcome = format!("{outcome} {}", resp.status());
        }
    }
    outcome
}

/// `end_session`: `[selector][claims length][claims][parameters]`. The
/// claims JSON, when not empty, is signed with the server's key as an ID
/// Token and sent as `id_token_hint` before the fuzzed parameters.
/// Selector bit 0: POST (else GET); bit 1: `alice` is signed in (session
/// `s1`); bit 2: the request is suspended and resumed (a confirmation
/// page), its handle checked single use and useless at the authorization
/// endpoint; bit 3: `rp` and `svc` took part in the session. What must
/// hold: an error is a 4xx page and never a redirect; a redirect goes only
/// to a post-logout URI the request's client registered, exactly; without
/// a hint the user is always asked; no answer is a 5xx. Returns `page`
/// (an error page), `redirect`, `confirm` or `done`.
pub fn end_session(data: &[u8]) -> String {
    let Some((sel, claims, params)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let f = fixture();
    let mut input = Vec::new();
    if !claims.is_empty() {
        let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{KID}"}}"#);
        let token = compact(header.as_bytes(), claims, |m| ed25519(&keys().server, m));
        input.extend_from_slice(b"id_token_hint=");
        input.extend_from_slice(token.as_bytes());
        input.push(b'&');
    }
    input.extend_from_slice(params);
    let query = String::from_utf8_lossy(&input).into_owned();
    let req = if sel & 1 == 0 {
        Request::new(Method::Get).query(&query)
    } else {
        Request::new(Method::Post)
            .header("Content-Type", b"application/x-www-form-urlencoded")
            .body(&input)
    };
    let session = alice().with_session_id(portcullis::oidc::SessionId::parse("s1").expect("sid"));
    let user = (sel & 2 != 0).then_some(&session);
    let mut request = match block_on(f.server.end_session(&req, user)) {
        portcullis::EndSessionStep::Invalid(page) => {
            assert!(
                (400..500).contains(&page.status()),
                "an end-session error is a 4xx page: {}",
                page.status()
            );
            assert!(
                page.header("Location").is_none(),
                "an error page redirected"
            );
            return "page".into();
        }
        portcullis::EndSessionStep::Logout(r) => r,
    };
    if request.id_token_hint().is_none() {
        assert!(request.needs_confirmation(), "no hint, no confirmation");
    }
    if let Some(uri) = request.post_logout_redirect_uri() {
        let client = request.client().expect("a redirect needs a client");
        assert!(
            client
                .post_logout_redirect_uris()
                .iter()
                .any(|u| u.as_str() == uri.as_str()),
            "redirect to an unregistered URI {uri:?}"
        );
    }
    if sel & 4 != 0 {
        let handle =
            block_on(f.server.suspend_logout(&request)).expect("the memory store suspends");
        let handle = handle.expose_secret();
        assert!(
            matches!(
                block_on(f.server.resume(handle, Some(&session))),
                AuthorizeStep::Invalid(_)
            ),
            "a logout handle resumed an authorization"
        );
        let back = block_on(f.server.resume_logout(handle)).expect("the handle resumes once");
        assert_eq!(back.state(), request.state());
        assert_eq!(
            back.post_logout_redirect_uri().map(RedirectUri::as_str),
            request.post_logout_redirect_uri().map(RedirectUri::as_str)
        );
        assert!(
            block_on(f.server.resume_logout(handle)).is_err(),
            "a handle works twice"
        );
        request = back;
    }
    let confirm = request.needs_confirmation();
    let registered = request
        .post_logout_redirect_uri()
        .map(|u| u.as_str().to_owned());
    let clients = if sel & 8 != 0 {
        vec![id("rp"), id("svc")]
    } else {
        Vec::new()
    };
    let done = block_on(f.server.finish_logout(request, user, &clients));
    for b in &done.backchannel {
        assert_eq!(
            b.client_id().as_str(),
            "rp",
            "only rp has a back-channel URI"
        );
        assert_eq!(b.token().expose_secret().split('.').count(), 3);
    }
    match (done.redirect, registered) {
        (Some(r), Some(uri)) => {
            assert_eq!(r.status(), 302);
            let location = r.header("Location").expect("a Location");
            assert!(location.starts_with(&uri), "{location} is not under {uri}");
            "redirect".into()
        }
        (None, None) if confirm => "confirm".into(),
        (None, None) => "done".into(),
        (r, uri) => panic!("redirect {:?} for {uri:?}", r.map(|r| r.status())),
    }
}

/// The prefix of the pushed endpoint's `request_uri`s (RFC 9126 §2.2).
const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// POSTs `body` to the pushed authorization request endpoint through the
/// server's path dispatch and checks the answer: `201` with one of our
/// URNs and `expires_in`, or a JSON error (never a page or a redirect).
fn push(server: &AuthorizationServer, body: &[u8], authorization: Option<&[u8]>) -> Response {
    let req = form_request(body, authorization);
    let resp = block_on(server.handle(&req, "/par"));
    let status = resp.status();
    let text = String::from_utf8_lossy(resp.body()).into_owned();
    assert!(
        matches!(status, 201 | 400 | 401 | 405 | 413),
        "par: status {status}: {text}"
    );
    assert!(resp.header("Location").is_none(), "par never redirects");
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    let v = json(&resp);
    if status == 201 {
        let uri = v["request_uri"].as_str().unwrap_or_default();
        assert!(
            uri.strip_prefix(URN).is_some_and(|r| r.len() == 43),
            "par: odd request_uri {uri}"
        );
        assert!(v["expires_in"].is_u64(), "par: expires_in {text}");
    } else {
        let code = v.get("error").and_then(Value::as_str);
        assert!(code.is_some(), "par: error without a code: {text}");
        assert_eq!(status == 401, code == Some("invalid_client"), "par: {text}");
    }
    resp
}

/// Uses a pushed `request_uri` at the authorization endpoint as `client`
/// (for `alice`, approving), checks the step, and that the URI works only
/// once.
fn use_pushed(server: &AuthorizationServer, client: &str, uri: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client);
    q.append_pair("request_uri", uri);
    let q = q.finish();
    let alice = alice();
    let step = block_on(server.authorize(&Request::new(Method::Get).query(&q), Some(&alice)));
    let outcome = check_step(server, step, true, &[REDIRECT.to_owned()]).1;
    let again = block_on(server.authorize(&Request::new(Method::Get).query(&q), Some(&alice)));
    assert!(
        matches!(again, AuthorizeStep::Invalid(_)),
        "a request_uri works once"
    );
    outcome
}

/// `par_body`: the first byte picks the client authentication (`svc` by
/// Basic, a wrong secret, `spa` by `client_id` in the body, none) and
/// whether a pushed request is then used at the authorization endpoint;
/// the rest is the form body, as sent.
pub fn par_body(data: &[u8]) -> String {
    let Some((&sel, body)) = data.split_first() else {
        return SKIP.into();
    };
    let (header, client, extra) = match sel % 4 {
        0 => (Some(basic("svc", SVC_SECRET)), "svc", ""),
        1 => (Some(basic("svc", "wrong")), "svc", ""),
        2 => (None, "spa", "client_id=spa&"),
        _ => (None, "spa", ""),
    };
    let body = [extra.as_bytes(), body].concat();
    let f = fixture();
    let resp = push(&f.server, &body, header.as_deref().map(str::as_bytes));
    if resp.status() != 201 {
        return resp.status().to_string();
    }
    if sel & 4 == 0 {
        return "201".into();
    }
    let v = json(&resp);
    let uri = v["request_uri"].as_str().unwrap_or_default().to_owned();
    format!("201 {}", use_pushed(&f.server, client, &uri))
}

/// `request_object`: `[selector][header length][header][claims]`; the
/// header and claims JSON become a request object signed with `jar`'s
/// Ed25519 key (selector bits 0–1; or HMAC with `hs`'s secret, unsigned,
/// or the raw bytes), sent as `jar` (bit 2: as `spa`) to the
/// authorization endpoint for `alice`, or (bit 3) pushed by `jar` with a
/// `private_key_jwt` assertion and then used by its `request_uri`.
pub fn request_object(data: &[u8]) -> String {
    let Some((sel, header, claims)) = split_jws_input(data) else {
        return SKIP.into();
    };
    let object = match sel % 4 {
        0 => compact(header, claims, |m| ed25519(&keys().client, m)),
        1 => compact(header, claims, |m| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes());
            ring::hmac::sign(&key, m).as_ref().to_vec()
        }),
        2 => compact(header, claims, |_| Vec::new()),
        _ => String::from_utf8_lossy(&[header, b".", claims].concat()).into_owned(),
    };
    let client = if sel & 4 == 0 { "jar" } else { "spa" };
    let f = fixture();
    if sel & 8 == 0 {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", client);
        q.append_pair("request", &object);
        let q = q.finish();
        let alice = alice();
        let step = block_on(
            f.server
                .authorize(&Request::new(Method::Get).query(&q), Some(&alice)),
        );
        return check_step(&f.server, step, true, &[REDIRECT.to_owned()]).1;
    }
    let assertion_claims = serde_json::json!({
        "iss": "jar", "sub": "jar", "aud": ISSUER, "exp": T0 + 60, "jti": "par-1",
    });
    let assertion = compact(
        format!(r#"{{"alg":"EdDSA","kid":"{KID}"}}"#).as_bytes(),
        assertion_claims.to_string().as_bytes(),
        |m| ed25519(&keys().client, m),
    );
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("client_id", "jar");
    body.append_pair("client_assertion_type", JWT_BEARER);
    body.append_pair("client_assertion", &assertion);
    body.append_pair("request", &object);
    let body = body.finish();
    let resp = push(&f.server, body.as_bytes(), None);
    if resp.status() != 201 {
        return format!("par {}", resp.status());
    }
    let v = json(&resp);
    let uri = v["request_uri"].as_str().unwrap_or_default().to_owned();
    format!("par 201 {}", use_pushed(&f.server, "jar", &uri))
}

/// The resource the extended fixture knows (`Config::resources`).
pub const RESOURCE: &str = "https://rs.example/";
/// The secret of `gw` and `tv-conf`.
pub const GW_SECRET: &str = "gw-secret";

/// Lets every exchange the core validated through, and validates two
/// tokens of the host's own type `urn:example:host`: `host-alice` (about
/// alice, whom only `host-workload` may act for) and `host-workload` (no
/// end-user: a workload whose subject the host names).
struct AllowAll;

#[portcullis::async_trait]
impl portcullis::TokenExchangePolicy for AllowAll {
    async fn decide(
        &self,
        r: &portcullis::ExchangeRequest<'_>,
    ) -> Result<portcullis::ExchangeGrant, portcullis::GrantRefusal> {
        Ok(r.allow())
    }

    async fn validate(
        &self,
        _client: &Client,
        token_type: &portcullis::TokenType,
        token: &str,
    ) -> Result<Option<portcullis::ExchangedToken>, portcullis::GrantRefusal> {
        use portcullis::{Actor, ExchangedToken};
        if token_type.as_str() != "urn:example:host" {
            return Ok(None);
        }
        Ok(match token {
            "host-alice" => Actor::parse("spiffe://example/wl").map(|may| {
                ExchangedToken::new(token_type.clone(), UserId::parse("alice")).with_may_act(may)
            }),
            "host-workload" => ExchangedToken::new(token_type.clone(), None)
                .with_actor_subject("spiffe://example/wl"),
            _ => None,
        })
    }
}

/// The fixture with the device grant (the store as its `DeviceStore`) and
/// token exchange ([`AllowAll`]) on, [`RESOURCE`] known, and three more
/// clients: `tv` (public, device grant), `tv-conf` (`client_secret_basic`,
/// device grant) and `gw` (`client_secret_basic`, token exchange and
/// client credentials, JWT access tokens), each scope `read write`.
pub fn extended_fixture() -> Fixture {
    block_on(async {
        let f = build_fixture(
            |c| {
                c.grant_types.push(GrantType::DeviceCode);
                c.resources = vec![portcullis::Resource::parse(RESOURCE).expect("resource")];
            },
            |b, store| {
                b.device_store(Arc::new(store.clone()))
                    .token_exchange(Arc::new(AllowAll))
            },
        )
        .await;
        let clients = [
            Client::public(id("tv")).grant_type(GrantType::DeviceCode),
            Client::confidential(id("tv-conf"), SecretHash::sha256(GW_SECRET))
                .grant_type(GrantType::DeviceCode),
            Client::confidential(id("gw"), SecretHash::sha256(GW_SECRET))
                .grant_type(GrantType::TokenExchange)
                .grant_type(GrantType::ClientCredentials)
                .access_token_format(AccessTokenFormat::Jwt),
        ];
        for c in clients {
            f.store
                .insert_client(c.scope(scope("read write")).build().expect("client"))
                .await
                .expect("client stored");
        }
        f
    })
}

/// `device_authorization`: `[selector][form body]` POSTed to the device
/// authorization endpoint (RFC 8628 §3.1). Selector bits 0–1: `tv` with
/// `client_id=tv&` put before the body, `tv-conf` with Basic, `tv-conf`
/// with a wrong secret, or nothing added; bit 2: on success, the device
/// polls the token endpoint at once with its `device_code` (and must be
/// told `authorization_pending`). A success must carry the RFC 8628 §3.2
/// members; an error is JSON with a code, 401 only for `invalid_client`.
/// Returns the status, and `200 <poll error>` when polled.
pub fn device_authorization(data: &[u8]) -> String {
    let Some((&sel, body)) = data.split_first() else {
        return SKIP.into();
    };
    let (header, extra, client) = match sel % 4 {
        0 => (None, "client_id=tv&", "tv"),
        1 => (Some(basic("tv-conf", GW_SECRET)), "", "tv-conf"),
        2 => (Some(basic("tv-conf", "wrong")), "", "tv-conf"),
        _ => (None, "", "tv"),
    };
    let body = [extra.as_bytes(), body].concat();
    let f = extended_fixture();
    let req = form_request(&body, header.as_deref().map(str::as_bytes));
    let resp = block_on(f.server.device_authorization(&req));
    let status = resp.status();
    let v = json(&resp);
    if status != 200 {
        assert!(
            matches!(status, 400 | 401 | 405 | 413),
            "status {status}: {v}"
        );
        let code = v.get("error").and_then(Value::as_str);
        assert!(code.is_some(), "an error without a code: {v}");
        assert_eq!(status == 401, code == Some("invalid_client"), "{v}");
        return status.to_string();
    }
    for member in [
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
    ] {
        assert!(v.get(member).is_some_and(Value::is_string), "{member}: {v}");
    }
    for member in ["expires_in", "interval"] {
        assert!(v.get(member).is_some_and(Value::is_u64), "{member}: {v}");
    }
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    if sel & 4 == 0 {
        return "200".into();
    }
    let device_code = v["device_code"].as_str().unwrap_or_default();
    let poll = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
        .append_pair("device_code", device_code)
        .append_pair("client_id", client)
        .finish();
    let auth = (client == "tv-conf").then(|| basic("tv-conf", GW_SECRET));
    let req = form_request(poll.as_bytes(), auth.as_deref().map(str::as_bytes));
    let resp = post(&f.server, Endpoint::Token, &req);
    let polled = json(&resp);
    let code = polled
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("none");
    assert_eq!(code, "authorization_pending", "{polled}");
    format!("200 {code}")
}

/// `token_exchange`: `[selector][form body]` POSTed to the token endpoint
/// after `grant_type=urn:ietf:params:oauth:grant-type:token-exchange&`
/// (RFC 8693 §2.1), with the extended fixture's tokens to exchange:
/// `access-1` and `refresh-1` (`svc`'s, about alice) and the host's
/// `host-alice` and `host-workload` of type `urn:example:host`. Selector
/// bits 0–1: `gw` with Basic, `gw` with a wrong secret, `svc` (not
/// registered for the grant), or `gw` by `client_secret`-less
/// `client_id=gw` (refused). A success must carry `issued_token_type`
/// and no refresh token. Returns the status and, on success, the issued
/// token type's last segment and whether `act` was set (`200 access_token
/// act`).
pub fn token_exchange(data: &[u8]) -> String {
    let Some((&sel, body)) = data.split_first() else {
        return SKIP.into();
    };
    let (header, extra) = match sel % 4 {
        0 => (Some(basic("gw", GW_SECRET)), ""),
        1 => (Some(basic("gw", "wrong")), ""),
        2 => (Some(basic("svc", SVC_SECRET)), ""),
        _ => (None, "client_id=gw&"),
    };
    let prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&";
    let body = [prefix.as_bytes(), extra.as_bytes(), body].concat();
    let f = extended_fixture();
    let req = form_request(&body, header.as_deref().map(str::as_bytes));
    let resp = post(&f.server, Endpoint::Token, &req);
    if resp.status() != 200 {
        return resp.status().to_string();
    }
    let v = json(&resp);
    assert!(v.get("refresh_token").is_none(), "{v}");
    let issued = v
        .get("issued_token_type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no issued_token_type: {v}"));
    let kind = issued.rsplit(':').next().unwrap_or_default().to_owned();
    // The new token: an active access token of `gw`'s, its actor if any.
    let token = v["access_token"].as_str().unwrap_or_default();
    let intro = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    let auth = basic("gw", GW_SECRET);
    let seen = post(
        &f.server,
        Endpoint::Introspect,
        &form_request(intro.as_bytes(), Some(auth.as_bytes())),
    );
    let seen = json(&seen);
    assert_eq!(seen["active"], true, "{seen}");
    let act = if seen.get("act").is_some() {
        " act"
    } else {
        ""
    };
    format!("200 {kind}{act}")
}

// Dynamic client registration (RFC 7591/7592, issue 19 part 2).
/// Fuzz target `registration_json`: `data` is the JSON body of a
/// registration request (RFC 7591 §3.1), POSTed to a server with open
/// registration. Every answer is `201` or a 4xx with an RFC 7591 error
/// code (never a panic, never a 5xx); a registered client is then read
/// (`200`), updated with the same document and its `client_id` (`200` or
/// `400`), deleted (`204`), and read again with its token (`401`).
pub fn registration_json(data: &[u8]) -> String {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(Config::new(ISSUER))
        .store(Arc::new(store.clone()))
        .client_registration(
            Arc::new(store),
            Arc::new(portcullis::OpenRegistration::new()),
        )
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(T0))))
        .random(Arc::new(DeterministicRandom::new(11)))
        .build()
        .expect("registration server");
    let send = |method: &str, path: &str, token: Option<&str>, body: &[u8]| -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut req = Request::new(Method::parse(method))
            .with_target(method, path)
            .header("Content-Type", b"application/json")
            .body(body);
        if let Some(a) = &auth {
            req = req.header("Authorization", a.as_bytes());
        }
        let resp = block_on(server.handle(&req, path));
        let status = resp.status();
        assert!(
            (200..500).contains(&status),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(resp.body())
        );
        if status >= 400 && status != 401 && status != 405 {
            let v: Value = serde_json::from_slice(resp.body()).expect("error JSON");
            let code = v.get("error").and_then(Value::as_str).expect("error code");
            assert!(
                [
                    "invalid_request",
                    "invalid_client_metadata",
                    "invalid_redirect_uri",
                    "invalid_software_statement",
                ]
                .contains(&code),
                "{code}"
            );
        }
        resp
    };
    let created = send("POST", "/register", None, data);
    if created.status() != 201 {
        return created.status().to_string();
    }
    let info: Value = serde_json::from_slice(created.body()).expect("client information");
    let id = info["client_id"].as_str().expect("client_id").to_owned();
    let token = info["registration_access_token"]
        .as_str()
        .expect("registration_access_token")
        .to_owned();
    let path = format!("/register/{id}");
    let read = send("GET", &path, Some(&token), b"");
    assert_eq!(read.status(), 200);
    let mut doc: Value = serde_json::from_slice(data).expect("registered JSON");
    doc["client_id"] = Value::String(id);
    let updated = send("PUT", &path, Some(&token), doc.to_string().as_bytes());
    assert!(
        matches!(updated.status(), 200 | 400),
        "{}",
        updated.status()
    );
    let deleted = send("DELETE", &path, Some(&token), b"");
    assert_eq!(deleted.status(), 204);
    let gone = send("GET", &path, Some(&token), b"");
    assert_eq!(gone.status(), 401);
    format!("201 {} {} 204 401", read.status(), updated.status())
}
