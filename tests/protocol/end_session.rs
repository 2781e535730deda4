//! RP-Initiated Logout (LO-01) and Back-Channel Logout (LO-02) through the
//! public API, one test per behaviour of the OpenID Foundation's
//! RP-Initiated Logout OP certification modules (named on each test), the
//! logout resume handle, and Logout Tokens checked by an independent
//! library (`jsonwebtoken`) reading our JWKS (issue 16).

use std::sync::Arc;
use std::time::Duration;

use portcullis::http::{Method, Request, Response};
use portcullis::oidc::SessionId;
use portcullis::{
    Algorithm, Authentication, AuthorizationRequestStore, AuthorizationServer, AuthorizeStep,
    BACKCHANNEL_LOGOUT_EVENT, Client, ClientAdmin as _, ClientId, Clock as _, Config,
    EndSessionStep, FixedClock, GrantType, IdTokenClaims, KeyId, KeyRecord, LogoutRequest,
    MemoryKeys, MemoryStore, RedirectUri, ScopeSet, StoreError, SubjectType, SuspendedRequest,
    TokenHash, UnixTime, UserId, WebUrl,
};
use serde_json::Value;

const ISSUER: &str = "https://op.example";
const START: u64 = 1_800_000_000;
const RP: &str = "rp";
const LOGGED_OUT: &str = "https://rp.example/logged-out";
const BACKCHANNEL: &str = "https://rp.example/backchannel";

struct Op {
    server: AuthorizationServer,
    clock: Arc<FixedClock>,
    keys: Arc<MemoryKeys>,
}

fn id(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

/// Alice's session, with session id `s1`.
fn session() -> Authentication {
    Authentication::new(alice(), UnixTime::from_secs(START - 60))
        .with_session_id(SessionId::parse("s1").unwrap())
}

/// An OpenID Provider with RS256 (imported) and ES256 keys; clients:
/// `rp` (a registered post-logout URI, back-channel, ID Tokens in RS256 by
/// default), `es` (ES256, back-channel, requires `sid`), `pairwise`
/// (pairwise subjects), `quiet` (nothing registered for logout).
async fn op_with(configure: impl FnOnce(&mut Config)) -> Op {
    op_storing_requests_in(configure, None).await
}

/// [`op_with`], with suspended requests kept in `requests` when given.
async fn op_storing_requests_in(
    configure: impl FnOnce(&mut Config),
    requests: Option<Arc<dyn AuthorizationRequestStore>>,
) -> Op {
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(START)));
    let mut config = Config::new(ISSUER);
    config.access_token_signing_alg = Some(Algorithm::Es256);
    config.pairwise_salt = Some(portcullis::Secret::new(b"0123456789abcdef0123".to_vec()));
    config.rp_initiated_logout = true;
    config.backchannel_logout = true;
    configure(&mut config);
    let store = Arc::new(MemoryStore::new());
    let keys = Arc::new(MemoryKeys::new());
    let mut builder = AuthorizationServer::builder(config)
        .store(store.clone())
        .key_provider(keys.clone())
        .clock(clock.clone());
    if let Some(requests) = requests {
        builder = builder.authorization_request_store(requests);
    }
    let server = builder.build().unwrap();
    let now = clock.now();
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let rsa = KeyRecord::from_pkcs8(
        Algorithm::Rs256,
        KeyId::parse("rsa-1").unwrap(),
        pkcs8,
        now,
        now,
    )
    .unwrap();
    server.rotate_in_key(rsa).await.unwrap();
    server
        .ensure_signing_keys(&[Algorithm::Rs256, Algorithm::Es256])
        .await
        .unwrap();
    let rp = |name: &str, host: &str| {
        Client::public(id(name))
            .redirect_uri(RedirectUri::parse(&format!("https://{host}/cb")).unwrap())
            .scope(ScopeSet::parse("openid").unwrap())
            .grant_type(GrantType::AuthorizationCode)
    };
    let clients = [
        rp(RP, "rp.example")
            .post_logout_redirect_uri(RedirectUri::parse(LOGGED_OUT).unwrap())
            .post_logout_redirect_uri(RedirectUri::parse("https://rp.example/bye?from=op").unwrap())
            .backchannel_logout_uri(WebUrl::parse(BACKCHANNEL).unwrap()),
        rp("es", "es.example")
            .id_token_signed_response_alg(Algorithm::Es256)
            .backchannel_logout_uri(WebUrl::parse("https://es.example/bcl").unwrap())
            .backchannel_logout_session_required(true),
        rp("pairwise", "pw.example")
            .subject_type(SubjectType::Pairwise)
            .post_logout_redirect_uri(RedirectUri::parse("https://pw.example/out").unwrap()),
        rp("quiet", "quiet.example"),
    ];
    for c in clients {
        store.insert_client(c.build().unwrap()).await.unwrap();
    }
    Op {
        server,
        clock,
        keys,
    }
}

async fn op() -> Op {
    op_with(|_| {}).await
}

/// An ID Token of ours for `client` about `sub` (session `s1`), as the
/// token endpoint would issue it (RS256).
async fn hint_for(op: &Op, client: &str, sub: &str) -> String {
    hint_signed(op, client, sub, Algorithm::Rs256).await
}

async fn hint_signed(op: &Op, client: &str, sub: &str, alg: Algorithm) -> String {
    let now = op.clock.now();
    let mut c = IdTokenClaims::new(
        ISSUER,
        sub,
        id(client),
        now,
        now.plus(Duration::from_secs(300)),
    );
    c.sid = Some("s1".into());
    op.server.sign_id_token(&c, alg).await.unwrap()
}

async fn hint(op: &Op) -> String {
    hint_for(op, RP, "alice").await
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The end-session request by GET and by POST: both must give the same
/// step (LO-01: GET and POST). Returns the GET one.
async fn end_session(
    op: &Op,
    pairs: &[(&str, &str)],
    session: Option<&Authentication>,
) -> EndSessionStep {
    let q = query(pairs);
    let get = op
        .server
        .end_session(&Request::new(Method::Get).query(&q), session)
        .await;
    let post = op
        .server
        .end_session(
            &Request::new(Method::Post)
                .header("Content-Type", b"application/x-www-form-urlencoded")
                .body(q.as_bytes()),
            session,
        )
        .await;
    match (&get, &post) {
        (EndSessionStep::Logout(a), EndSessionStep::Logout(b)) => {
            assert_eq!(describe(a), describe(b), "GET and POST agree");
        }
        (EndSessionStep::Invalid(a), EndSessionStep::Invalid(b)) => {
            assert_eq!((a.status(), a.cause()), (b.status(), b.cause()));
        }
        _ => panic!("GET and POST disagree: {get:?} / {post:?}"),
    }
    get
}

fn describe(r: &LogoutRequest) -> (Option<String>, Option<String>, Option<String>, bool) {
    (
        r.client().map(|c| c.client_id().as_str().to_owned()),
        r.post_logout_redirect_uri().map(|u| u.as_str().to_owned()),
        r.state().map(str::to_owned),
        r.needs_confirmation(),
    )
}

fn logout(step: EndSessionStep) -> LogoutRequest {
    match step {
        EndSessionStep::Logout(r) => r,
        EndSessionStep::Invalid(r) => panic!("error page: {:?}", r.cause()),
    }
}

/// An error page: HTML, 4xx, and never a redirect.
fn assert_error_page(step: EndSessionStep, param: &str) {
    let EndSessionStep::Invalid(r) = step else {
        panic!("expected an error page for {param}");
    };
    assert_eq!(r.status(), 400);
    assert!(r.header("Location").is_none());
    assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
    assert!(
        format!("{:?}", r.cause()).contains(param),
        "{:?}",
        r.cause()
    );
}

/// Finishes `request` for `session` with `clients` and returns the
/// redirect's Location, if any.
async fn finish_location(
    op: &Op,
    request: LogoutRequest,
    session: Option<&Authentication>,
) -> Option<String> {
    let done = op.server.finish_logout(request, session, &[]).await;
    done.redirect.map(|r: Response| {
        assert_eq!(r.status(), 302);
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
        r.header("Location").unwrap().to_owned()
    })
}

#[tokio::test]
async fn valid_hint_registered_uri_and_state_redirect_with_state() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout)
    let op = op().await;
    let hint = hint(&op).await;
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st 1/&"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    assert_eq!(r.client().unwrap().client_id().as_str(), RP);
    assert!(!r.needs_confirmation(), "the hint names the session's user");
    assert_eq!(r.id_token_hint().unwrap().subject(), "alice");
    let location = finish_location(&op, r, Some(&session())).await.unwrap();
    assert_eq!(location, "https://rp.example/logged-out?state=st+1%2F%26");
    // A registered URI keeps its own query; state is added to it.
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", "https://rp.example/bye?from=op"),
        ("state", "s"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let location = finish_location(&op, r, Some(&session())).await.unwrap();
    assert_eq!(location, "https://rp.example/bye?from=op&state=s");
}

#[tokio::test]
async fn expired_hint_and_client_id_among_its_audiences_are_accepted() {
    // covers: LO-01
    let op = op().await;
    let hint = hint(&op).await;
    op.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", RP),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "xyz"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    assert!(!r.needs_confirmation());
    let location = finish_location(&op, r, None).await.unwrap();
    assert_eq!(location, "https://rp.example/logged-out?state=xyz");
}

#[tokio::test]
async fn no_state_redirects_without_state() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-no-state)
    let op = op().await;
    let hint = hint(&op).await;
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let location = finish_location(&op, r, Some(&session())).await.unwrap();
    assert_eq!(location, LOGGED_OUT);
}

#[tokio::test]
async fn no_post_logout_redirect_uri_means_no_redirect() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-no-post-logout-redirect-uri)
    let op = op().await;
    let hint = hint(&op).await;
    let params = [("id_token_hint", hint.as_str()), ("state", "xyz")];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    assert_eq!(r.client().unwrap().client_id().as_str(), RP);
    assert!(!r.needs_confirmation());
    assert_eq!(finish_location(&op, r, Some(&session())).await, None);
}

#[tokio::test]
async fn unregistered_post_logout_uri_means_no_redirect() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-bad-post-logout-redirect-uri)
    let op = op().await;
    let hint = hint(&op).await;
    for uri in [
        "https://attacker.example/logged-out",
        "https://rp.example/logged-out/",
        "https://RP.example/logged-out",
        "https://rp.example/cb",
        // Registered for another client.
        "https://pw.example/out",
        "not a uri",
    ] {
        let params = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", uri),
            ("state", "xyz"),
        ];
        let r = logout(end_session(&op, &params, Some(&session())).await);
        assert!(r.post_logout_redirect_uri().is_none(), "{uri}");
        assert_eq!(finish_location(&op, r, Some(&session())).await, None);
    }
}

#[tokio::test]
async fn a_query_added_to_a_registered_uri_is_no_match() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri)
    let op = op().await;
    let hint = hint(&op).await;
    for uri in [
        "https://rp.example/logged-out?foo=bar",
        "https://rp.example/bye?from=op&x=1",
        "https://rp.example/logged-out#frag",
    ] {
        let params = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", uri),
            ("state", "xyz"),
        ];
        let r = logout(end_session(&op, &params, Some(&session())).await);
        assert_eq!(
            finish_location(&op, r, Some(&session())).await,
            None,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn modified_or_bad_hints_are_an_error_page() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-modified-id-token-hint,
    // oidcc-rp-initiated-logout-bad-id-token-hint)
    let other = op().await;
    let op = op().await;
    let hint = hint(&op).await;
    // The signature altered.
    let mut modified = hint.clone().into_bytes();
    let last = modified.len() - 5;
    modified[last] = if modified[last] == b'A' { b'B' } else { b'A' };
    let modified = String::from_utf8(modified).unwrap();
    // The claims altered (another subject), the signature kept.
    let parts: Vec<&str> = hint.split('.').collect();
    let other_claims = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut c: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        c["sub"] = "mallory".into();
        format!("{}.{}.{}", parts[0], b64.encode(c.to_string()), parts[2])
    };
    // Signed by another server (its own ES256 key, our issuer name).
    let foreign = hint_signed(&other, RP, "alice", Algorithm::Es256).await;
    for bad in [
        modified.as_str(),
        other_claims.as_str(),
        foreign.as_str(),
        "not-a-jwt",
        "e30.e30.",
    ] {
        let params = [
            ("id_token_hint", bad),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "xyz"),
        ];
        assert_error_page(
            end_session(&op, &params, Some(&session())).await,
            "id_token_hint",
        );
    }
}

#[tokio::test]
async fn client_id_not_among_the_hints_audiences_is_an_error_page() {
    // covers: LO-01
    let op = op().await;
    let hint = hint(&op).await;
    for client in ["es", "unknown-client"] {
        let params = [
            ("id_token_hint", hint.as_str()),
            ("client_id", client),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ];
        assert_error_page(
            end_session(&op, &params, Some(&session())).await,
            "client_id",
        );
    }
    // An unknown client_id without a hint, and a repeated parameter.
    assert_error_page(
        end_session(&op, &[("client_id", "unknown-client")], None).await,
        "client_id",
    );
    assert_error_page(
        end_session(&op, &[("state", "a"), ("state", "b")], None).await,
        "state",
    );
}

#[tokio::test]
async fn no_hint_asks_for_confirmation_and_redirects_only_with_a_client() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-no-id-token-hint)
    let op = op().await;
    // No client at all: nothing to check the URI against, no redirect.
    let params = [("post_logout_redirect_uri", LOGGED_OUT), ("state", "xyz")];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    assert!(r.needs_confirmation());
    assert!(r.client().is_none());
    assert_eq!(finish_location(&op, r, Some(&session())).await, None);
    // With client_id the URI is checked against its registration; the user
    // still confirms.
    let params = [
        ("client_id", RP),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "xyz"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    assert!(r.needs_confirmation());
    let location = finish_location(&op, r, Some(&session())).await.unwrap();
    assert_eq!(location, "https://rp.example/logged-out?state=xyz");
}

#[tokio::test]
async fn only_state_or_no_params_ask_for_confirmation_without_redirect() {
    // covers: LO-01
    // issue 16 (oidcc-rp-initiated-logout-only-state, oidcc-rp-initiated-logout-no-params)
    let op = op().await;
    for params in [&[("state", "xyz")][..], &[]] {
        let r = logout(end_session(&op, params, Some(&session())).await);
        assert!(r.needs_confirmation());
        assert!(r.client().is_none());
        assert_eq!(finish_location(&op, r, Some(&session())).await, None);
    }
}

#[tokio::test]
async fn a_hint_about_another_user_or_session_asks_for_confirmation() {
    // covers: LO-01
    let op = op().await;
    let bob = hint_for(&op, RP, "bob").await;
    let params = [("id_token_hint", bob.as_str())];
    assert!(logout(end_session(&op, &params, Some(&session())).await).needs_confirmation());
    // The same user in another session.
    let other_session = Authentication::new(alice(), UnixTime::from_secs(START))
        .with_session_id(SessionId::parse("s2").unwrap());
    let alice_hint = hint(&op).await;
    let params = [("id_token_hint", alice_hint.as_str())];
    assert!(logout(end_session(&op, &params, Some(&other_session)).await).needs_confirmation());
    // No session: nothing to ask.
    assert!(!logout(end_session(&op, &params, None).await).needs_confirmation());
    // A pairwise client's hint names the user by the pairwise subject.
    let client = op.server.clients().client(&id("pairwise")).await.unwrap();
    let pairwise =
        portcullis::oidc::subject_for(&client.unwrap(), &alice(), b"0123456789abcdef0123");
    assert_ne!(pairwise.as_str(), "alice");
    let good = hint_for(&op, "pairwise", pairwise.as_str()).await;
    let params = [("id_token_hint", good.as_str())];
    assert!(!logout(end_session(&op, &params, Some(&session())).await).needs_confirmation());
    let plain = hint_for(&op, "pairwise", "alice").await;
    let params = [("id_token_hint", plain.as_str())];
    assert!(logout(end_session(&op, &params, Some(&session())).await).needs_confirmation());
}

#[tokio::test]
async fn the_logout_handle_works_once_and_never_at_the_authorization_endpoint() {
    // covers: LO-01
    let op = op().await;
    let params = [
        ("client_id", RP),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "xyz"),
        ("ui_locales", "fr-CA en !!"),
        ("logout_hint", "alice@example.com"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let handle = op.server.suspend_logout(&r).await.unwrap();
    let handle = handle.expose_secret();
    // Not an authorization request's handle: refused there, and not used up.
    let AuthorizeStep::Invalid(page) = op.server.resume(handle, Some(&session())).await else {
        panic!("a logout handle resumed an authorization request");
    };
    assert!(page.header("Location").is_none());
    let back = op.server.resume_logout(handle).await.unwrap();
    assert_eq!(describe(&back), describe(&r));
    assert_eq!(back.ui_locales().len(), 2);
    assert_eq!(back.logout_hint().unwrap().as_str(), "alice@example.com");
    // Single use.
    let again = op.server.resume_logout(handle).await.unwrap_err();
    assert_eq!(again.status(), 400);
    assert!(again.header("Location").is_none());
    assert!(format!("{:?}", again.cause()).contains("ResumeRefused"));
    let location = finish_location(&op, back, Some(&session())).await.unwrap();
    assert_eq!(location, "https://rp.example/logged-out?state=xyz");
    // A hint survives suspension.
    let hint = hint(&op).await;
    let r = logout(end_session(&op, &[("id_token_hint", hint.as_str())], None).await);
    let h = op.server.suspend_logout(&r).await.unwrap();
    let back = op.server.resume_logout(h.expose_secret()).await.unwrap();
    assert_eq!(back.id_token_hint(), r.id_token_hint());
    // Expired.
    let h = op.server.suspend_logout(&back).await.unwrap();
    op.clock
        .advance(op.server.config().authorization_request_lifetime);
    assert!(op.server.resume_logout(h.expose_secret()).await.is_err());
    // Garbage.
    assert!(op.server.resume_logout("short").await.is_err());
}

#[tokio::test]
async fn resuming_verifies_the_hint_again_and_drops_one_whose_key_is_gone() {
    // covers: LO-01
    // issue 16: a suspended logout keeps the verified hint's facts and the
    // key that signed it, and on resuming uses them only while that key is
    // still published (RP-Initiated Logout 1.0 §4: information that fails
    // to validate must not be used). Keys are read afresh at every use.
    let op = op_with(|c| c.key_cache_ttl = Duration::ZERO).await;
    let hint = hint(&op).await;
    let with_hint = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st"),
    ];
    let r = logout(end_session(&op, &with_hint, Some(&session())).await);
    let kept = op.server.suspend_logout(&r).await.unwrap();
    // A rotation leaves the old key published: the hint still verifies.
    op.server.rotate_keys_for(Algorithm::Rs256).await.unwrap();
    let back = op.server.resume_logout(kept.expose_secret()).await.unwrap();
    assert_eq!(back.id_token_hint().unwrap().subject(), "alice");
    assert_eq!(describe(&back), describe(&r));

    // The key that signed the hint is dropped while the user reads the
    // confirmation page: resuming drops the hint and what it alone named
    // (the client, so the redirect with state), and still logs out.
    let r = logout(end_session(&op, &with_hint, Some(&session())).await);
    let dropped = op.server.suspend_logout(&r).await.unwrap();
    let with_client = [
        ("id_token_hint", hint.as_str()),
        ("client_id", RP),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st"),
    ];
    let r = logout(end_session(&op, &with_client, Some(&session())).await);
    let named = op.server.suspend_logout(&r).await.unwrap();
    use portcullis::KeyProvider as _;
    assert!(
        op.keys
            .delete_key(&KeyId::parse("rsa-1").unwrap())
            .await
            .unwrap()
    );
    let back = op
        .server
        .resume_logout(dropped.expose_secret())
        .await
        .unwrap();
    assert!(back.id_token_hint().is_none());
    assert!(back.client().is_none());
    assert!(back.post_logout_redirect_uri().is_none());
    assert!(back.needs_confirmation(), "without a valid hint");
    assert_eq!(finish_location(&op, back, Some(&session())).await, None);
    // With `client_id` too, the client stays named, as without a hint:
    // the redirect (after the confirmation the user gave) still happens.
    let back = op
        .server
        .resume_logout(named.expose_secret())
        .await
        .unwrap();
    assert!(back.id_token_hint().is_none());
    assert_eq!(back.client().unwrap().client_id().as_str(), RP);
    assert_eq!(
        finish_location(&op, back, Some(&session())).await.unwrap(),
        "https://rp.example/logged-out?state=st"
    );
}

/// A request store that keeps a copy of every payload it is given.
struct Recording {
    inner: MemoryStore,
    payloads: std::sync::Mutex<Vec<String>>,
}

#[portcullis::async_trait]
impl AuthorizationRequestStore for Recording {
    async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
        self.payloads.lock().unwrap().push(request.payload.clone());
        self.inner.insert_request(request).await
    }

    async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
        self.inner.take_request(hash).await
    }
}

#[tokio::test]
async fn a_suspended_logout_stores_no_id_token_and_none_of_its_claims() {
    // covers: LO-01, RB-03
    // issue 16 review finding 2: an ID Token may carry the user's claims
    // (a `claims` request puts them there). The request store gets what
    // the logout needs of the hint, never the token or its other claims,
    // and the hint comes back whole on resuming.
    let recording = Arc::new(Recording {
        inner: MemoryStore::new(),
        payloads: std::sync::Mutex::new(Vec::new()),
    });
    let op = op_storing_requests_in(|_| {}, Some(recording.clone())).await;
    let now = op.clock.now();
    let mut c = IdTokenClaims::new(
        ISSUER,
        "alice",
        id(RP),
        now,
        now.plus(Duration::from_secs(300)),
    );
    c.sid = Some("s1".into());
    c.extra = serde_json::json!({"email": "alice@example.com", "name": "Alice Liddell"})
        .as_object()
        .unwrap()
        .clone();
    let hint = op.server.sign_id_token(&c, Algorithm::Rs256).await.unwrap();
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let handle = op.server.suspend_logout(&r).await.unwrap();
    let payloads = recording.payloads.lock().unwrap().clone();
    assert_eq!(payloads.len(), 1);
    let signature = hint.rsplit('.').next().unwrap();
    for kept_out in [
        hint.as_str(),
        signature,
        "alice@example.com",
        "Alice Liddell",
    ] {
        assert!(!payloads[0].contains(kept_out), "{kept_out} stored");
    }
    let back = op
        .server
        .resume_logout(handle.expose_secret())
        .await
        .unwrap();
    assert_eq!(back.id_token_hint(), r.id_token_hint());
    assert_eq!(back.id_token_hint().unwrap().subject(), "alice");
    assert_eq!(back.id_token_hint().unwrap().session_id(), Some("s1"));
    assert!(!back.needs_confirmation());
    assert_eq!(
        finish_location(&op, back, Some(&session())).await.unwrap(),
        "https://rp.example/logged-out?state=st"
    );
}

#[tokio::test]
async fn a_tampered_handle_resumes_nothing_and_leaves_the_real_one_usable() {
    // covers: LO-01
    // issue 16: the handle is the only thing the browser brings back; any
    // change to it finds nothing (an error page, never a redirect), and
    // does not use up the real one.
    let op = op().await;
    let hint = hint(&op).await;
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st"),
    ];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let handle = op.server.suspend_logout(&r).await.unwrap();
    let real = handle.expose_secret();
    let mut chars: Vec<char> = real.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    for wrong in [tampered.as_str(), &real[1..], &format!("{real}A")] {
        let page = op.server.resume_logout(wrong).await.unwrap_err();
        assert_eq!(page.status(), 400);
        assert!(page.header("Location").is_none());
        assert!(format!("{:?}", page.cause()).contains("ResumeRefused"));
    }
    let back = op.server.resume_logout(real).await.unwrap();
    assert_eq!(back.id_token_hint().unwrap().subject(), "alice");
}

#[tokio::test]
async fn an_authorization_handle_never_resumes_a_logout() {
    // covers: LO-01
    let op = op().await;
    let q = query(&[
        ("response_type", "code"),
        ("client_id", RP),
        ("redirect_uri", "https://rp.example/cb"),
        ("scope", "openid"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let step = op
        .server
        .authorize(&Request::new(Method::Get).query(&q), None)
        .await;
    let AuthorizeStep::Login(login) = step else {
        panic!("expected the login step, not {step:?}");
    };
    let handle = op.server.suspend_login(&login).await.unwrap();
    assert!(
        op.server
            .resume_logout(handle.expose_secret())
            .await
            .is_err()
    );
    // Still usable where it belongs.
    assert!(matches!(
        op.server
            .resume(handle.expose_secret(), Some(&session()))
            .await,
        AuthorizeStep::Consent(_)
    ));
}

/// Verifies a Logout Token with `jsonwebtoken` and our JWKS, for `aud`.
async fn verify_logout_token(op: &Op, token: &str, aud: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid");
    let doc: Value = serde_json::from_slice(op.server.jwks().await.body()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
    (header, data.claims)
}

#[tokio::test]
async fn logout_tokens_go_to_each_backchannel_client_of_the_session() {
    // covers: LO-02
    // issue 16 (oidcc-backchannel-rp-initiated-logout)
    let op = op().await;
    let hint = hint(&op).await;
    let params = [("id_token_hint", hint.as_str())];
    let r = logout(end_session(&op, &params, Some(&session())).await);
    let clients = [id(RP), id("es"), id("quiet"), id(RP), id("gone")];
    let done = op.server.finish_logout(r, Some(&session()), &clients).await;
    assert!(done.redirect.is_none());
    // `quiet` has no back-channel URI, `gone` is no client, `rp` once.
    let got: Vec<(&str, &str)> = done
        .backchannel
        .iter()
        .map(|b| (b.client_id().as_str(), b.uri().as_str()))
        .collect();
    assert_eq!(got, [(RP, BACKCHANNEL), ("es", "https://es.example/bcl")]);
    let now = op.clock.now().as_secs();
    let mut jtis = Vec::new();
    for (b, alg) in done.backchannel.iter().zip([
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ]) {
        let token = b.token().expose_secret();
        assert!(!format!("{b:?}").contains(token.as_str()), "Debug redacts");
        let body = String::from_utf8(b.form_body()).unwrap();
        assert_eq!(body, format!("logout_token={token}"));
        let (header, c) = verify_logout_token(&op, token, b.client_id().as_str()).await;
        assert_eq!(header.alg, alg);
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
        assert_eq!(c["iss"], ISSUER);
        assert_eq!(c["aud"], b.client_id().as_str());
        assert_eq!(c["iat"], now);
        assert!(c["exp"].as_u64().unwrap() > now);
        assert!(c["jti"].as_str().unwrap().len() >= 32);
        assert_eq!(
            c["events"],
            serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} })
        );
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["sid"], "s1");
        assert!(c.get("nonce").is_none());
        jtis.push(c["jti"].as_str().unwrap().to_owned());
    }
    assert_ne!(jtis[0], jtis[1]);
}

#[tokio::test]
async fn a_session_without_id_gets_sub_only_and_the_switch_is_honoured() {
    // covers: LO-02
    let op = op().await;
    let no_sid = Authentication::new(alice(), UnixTime::from_secs(START));
    // `es` requires sid: without one it still gets a token with sub.
    let tokens = op.server.backchannel_logout(&no_sid, &[id("es")]).await;
    assert_eq!(tokens.len(), 1);
    let (_, c) = verify_logout_token(&op, tokens[0].token().expose_secret(), "es").await;
    assert_eq!(c["sub"], "alice");
    assert!(c.get("sid").is_none());
    // With `Config::backchannel_logout` off, finishing hands out none.
    let off = op_with(|c| c.backchannel_logout = false).await;
    let r = logout(end_session(&off, &[], Some(&session())).await);
    let done = off
        .server
        .finish_logout(r, Some(&session()), &[id(RP)])
        .await;
    assert!(done.backchannel.is_empty());
    // Nor without a session: nobody to log out.
    let r = logout(end_session(&op, &[], None).await);
    assert!(
        op.server
            .finish_logout(r, None, &[id(RP)])
            .await
            .backchannel
            .is_empty()
    );
}

/// The revocation at logout (Back-Channel Logout 1.0 §2.7) through the
/// real authorization and token endpoints: a `Harness` OpenID Provider
/// whose client `app` may ask `openid offline_access read`, and an event
/// sink that keeps the `SessionEnded` events.
mod revocation {
    use std::sync::{Arc, Mutex};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use portcullis::http::{Method, Request};
    use portcullis::oidc::SessionId;
    use portcullis::{
        Algorithm, Authentication, AuthorizeStep, BackchannelLogout, EndSessionStep, Event,
        EventSink, MemoryKeys, UnixTime, UserId, WebUrl,
    };
    use serde_json::Value;

    use crate::support::*;

    const SECRET: &str = "app-secret-5e6f7a8b";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[derive(Default)]
    struct Ended(Mutex<Vec<String>>);

    impl EventSink for Ended {
        fn event(&self, event: &Event<'_>) {
            if let Event::SessionEnded { .. } = event {
                self.0.lock().unwrap().push(format!("{event:?}"));
            }
        }
    }

    async fn op() -> (Harness, Creds, Arc<Ended>) {
        let ended = Arc::new(Ended::default());
        let sink = ended.clone();
        let mut config = config();
        config.rp_initiated_logout = true;
        let h = Harness::with(config, move |b| {
            b.key_provider(Arc::new(MemoryKeys::new())).events(sink)
        })
        .await;
        h.server
            .ensure_signing_keys(&[Algorithm::Rs256])
            .await
            .unwrap();
        let app = h
            .confidential("app", SECRET, |b| {
                b.scope(scope("openid offline_access read"))
                    .skip_consent(true)
            })
            .await;
        (h, app, ended)
    }

    fn session(sid: &str) -> Authentication {
        Authentication::new(
            UserId::parse("alice").unwrap(),
            UnixTime::from_secs(T0 - 60),
        )
        .with_session_id(SessionId::parse(sid).unwrap())
    }

    /// A code for `app` with `scope` in `session`, not yet exchanged.
    async fn code(h: &Harness, app: &Creds, scope: &str, session: &Authentication) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &app.id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", scope)
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        let q = q.finish();
        let step = h
            .server
            .authorize(&Request::new(Method::Get).query(&q), Some(session))
            .await;
        let AuthorizeStep::Redirect(resp) = step else {
            panic!("expected a redirect, got {step:?}");
        };
        let url = url::Url::parse(resp.header("Location").unwrap()).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    /// The token response of a code flow with `scope` in `session`.
    async fn sign_in(h: &Harness, app: &Creds, scope: &str, session: &Authentication) -> Value {
        let code = code(h, app, scope, session).await;
        let resp = h
            .token(
                Auth::Basic(app),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        json(&resp)
    }

    fn field<'a>(v: &'a Value, name: &str) -> &'a str {
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {v}"))
    }

    #[tokio::test]
    async fn logout_revokes_the_sessions_tokens_but_not_offline_access_refresh_tokens() {
        // covers: LO-01, LO-02
        // issue 16: Back-Channel Logout 1.0 §2.7 — refresh tokens issued
        // without offline_access to a session being logged out are
        // revoked; those with it are not.
        let (h, app, ended) = op().await;
        let s1 = session("s-logout");
        let online = sign_in(&h, &app, "openid read", &s1).await;
        let offline = sign_in(&h, &app, "openid offline_access read", &s1).await;
        let elsewhere = sign_in(&h, &app, "openid read", &session("s-other")).await;
        for t in [&online, &offline, &elsewhere] {
            assert!(h.active(field(t, "access_token")).await);
        }

        let hint = field(&online, "id_token");
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", hint)
            .finish();
        let EndSessionStep::Logout(request) = h
            .server
            .end_session(&Request::new(Method::Get).query(&q), Some(&s1))
            .await
        else {
            panic!("the hint is valid");
        };
        assert!(!request.needs_confirmation());
        let done = h.server.finish_logout(request, Some(&s1), &[]).await;
        // The online grant whole (its used code, access and refresh token)
        // and the offline grant's access token.
        assert_eq!(done.revoked.unwrap(), 4);

        // The session's access tokens introspect inactive, offline or not.
        assert!(!h.active(field(&online, "access_token")).await);
        assert!(!h.active(field(&offline, "access_token")).await);
        // The refresh token without offline_access is refused…
        let resp = h
            .refresh(Auth::Basic(&app), field(&online, "refresh_token"))
            .await;
        assert_error(&resp, 400, "invalid_grant");
        // …the one with offline_access still works, and its new access
        // token is active.
        let resp = h
            .refresh(Auth::Basic(&app), field(&offline, "refresh_token"))
            .await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        assert!(h.active(field(&json(&resp), "access_token")).await);
        // Another session of the same user and client is untouched.
        assert!(h.active(field(&elsewhere, "access_token")).await);
        let resp = h
            .refresh(Auth::Basic(&app), field(&elsewhere, "refresh_token"))
            .await;
        assert_eq!(resp.status(), 200);

        let seen = ended.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("tokens_revoked: 4"), "{seen:?}");
        assert!(
            !seen[0].contains("s-logout"),
            "the session id stays out of events: {seen:?}"
        );
    }

    #[tokio::test]
    async fn the_hosts_own_logout_through_backchannel_logout_revokes_too() {
        // covers: LO-02
        // issue 16: a session that ends without RP-Initiated Logout (the
        // host's own logout, an expiry) is revoked the same way.
        let (h, app, _) = op().await;
        let s1 = session("s-expired");
        let online = sign_in(&h, &app, "openid read", &s1).await;
        let _ = h.server.backchannel_logout(&s1, &[]).await;
        assert!(!h.active(field(&online, "access_token")).await);
        let resp = h
            .refresh(Auth::Basic(&app), field(&online, "refresh_token"))
            .await;
        assert_error(&resp, 400, "invalid_grant");
        // Without a session id there is nothing to find, and nothing fails.
        let anonymous =
            Authentication::new(UserId::parse("alice").unwrap(), UnixTime::from_secs(T0));
        assert_eq!(h.server.revoke_session(&anonymous).await.unwrap(), 0);
    }

    /// An OpenID Provider announcing Back-Channel Logout, over a
    /// [`FlakyStore`]: clients `app`, `app2` and `bystander` with a
    /// back-channel URI each, and `quiet` without, all skipping consent.
    async fn announcing() -> (Harness, Arc<FlakyStore>, [Creds; 4]) {
        let mut config = config();
        config.rp_initiated_logout = true;
        config.backchannel_logout = true;
        let (h, flaky) =
            Harness::flaky_with(config, |b| b.key_provider(Arc::new(MemoryKeys::new()))).await;
        h.server
            .ensure_signing_keys(&[Algorithm::Rs256])
            .await
            .unwrap();
        let mut creds = Vec::new();
        for name in ["app", "app2", "bystander", "quiet"] {
            let uri = (name != "quiet")
                .then(|| WebUrl::parse(&format!("https://{name}.example/bcl")).unwrap());
            let c = h
                .confidential(name, SECRET, |b| {
                    b.scope(scope("openid offline_access read"))
                        .skip_consent(true)
                        .backchannel_logout_uri(uri)
                })
                .await;
            creds.push(c);
        }
        (h, flaky, creds.try_into().unwrap())
    }

    /// Who the Logout Tokens are for, in order, after checking that each
    /// names the session `sid` (claims read without verification: the
    /// tokens themselves are `logout_tokens_go_to_each_backchannel_client_of_the_session`'s
    /// business).
    fn told(tokens: &[BackchannelLogout], sid: &str) -> Vec<String> {
        tokens
            .iter()
            .map(|t| {
                let part = t
                    .token()
                    .expose_secret()
                    .split('.')
                    .nth(1)
                    .unwrap()
                    .to_owned();
                let claims: Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
                assert_eq!(claims["sid"], sid, "{claims}");
                assert_eq!(claims["aud"], t.client_id().as_str(), "{claims}");
                assert_eq!(
                    t.uri().as_str(),
                    format!("https://{}.example/bcl", t.client_id().as_str())
                );
                t.client_id().as_str().to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_store_names_the_clients_of_the_session() {
        // covers: LO-02
        // issue 16: the host passes no clients; the core finds those that
        // got a code or tokens in the session in the token store, before
        // the logout revokes the records that name them.
        let (h, _, [app, app2, bystander, quiet]) = announcing().await;
        let s1 = session("s-mine");
        // `app` signs in (its grant ends with the logout), `app2` only got
        // a code it never exchanged, `quiet` registered no back-channel URI.
        let online = sign_in(&h, &app, "openid read", &s1).await;
        let _ = code(&h, &app2, "openid read", &s1).await;
        let _ = sign_in(&h, &quiet, "openid read", &s1).await;
        // `bystander` took part in another session of alice's only.
        let theirs = sign_in(&h, &bystander, "openid read", &session("s-theirs")).await;

        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", field(&online, "id_token"))
            .finish();
        let EndSessionStep::Logout(request) = h
            .server
            .end_session(&Request::new(Method::Get).query(&q), Some(&s1))
            .await
        else {
            panic!("the hint is valid");
        };
        let done = h.server.finish_logout(request, Some(&s1), &[]).await;
        // The online grant whole, the unexchanged code, quiet's grant.
        assert_eq!(done.revoked.unwrap(), 7);
        assert_eq!(told(&done.backchannel, "s-mine"), ["app", "app2"]);
        // The other session is neither told nor revoked.
        assert!(h.active(field(&theirs, "access_token")).await);
    }

    #[tokio::test]
    async fn the_hosts_clients_join_the_stores_each_once() {
        // covers: LO-02
        // issue 16: a host that still tracks clients is heard, without
        // duplicates; a session without an id is announced to the host's
        // list alone.
        let (h, _, [app, _, _, quiet]) = announcing().await;
        let s1 = session("s-listed");
        let _ = sign_in(&h, &app, "openid read", &s1).await;
        let _ = sign_in(&h, &quiet, "openid read", &s1).await;
        let host = [id("app2"), id("app"), id("quiet"), id("app2")];
        let tokens = h.server.backchannel_logout(&s1, &host).await;
        assert_eq!(told(&tokens, "s-listed"), ["app2", "app"]);

        let anonymous =
            Authentication::new(UserId::parse("alice").unwrap(), UnixTime::from_secs(T0));
        let none = h.server.backchannel_logout(&anonymous, &[]).await;
        assert!(none.is_empty());
        let listed = h
            .server
            .backchannel_logout(&anonymous, &[id("bystander")])
            .await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].client_id().as_str(), "bystander");
    }

    #[tokio::test]
    async fn a_client_of_another_session_is_not_told() {
        // covers: LO-02
        // issue 16: the same user's other login session, with clients of
        // its own and one they share, is not this session's.
        let (h, _, [app, app2, bystander, _]) = announcing().await;
        let (s1, s2) = (session("s-one"), session("s-two"));
        let _ = sign_in(&h, &app, "openid read", &s1).await;
        let _ = sign_in(&h, &app, "openid read", &s2).await;
        let _ = sign_in(&h, &app2, "openid read", &s2).await;
        let _ = code(&h, &bystander, "openid", &s2).await;
        let tokens = h.server.backchannel_logout(&s1, &[]).await;
        assert_eq!(told(&tokens, "s-one"), ["app"]);
        let tokens = h.server.backchannel_logout(&s2, &[]).await;
        assert_eq!(told(&tokens, "s-two"), ["app", "app2", "bystander"]);
    }

    #[tokio::test]
    async fn a_store_failure_finding_the_clients_still_logs_out() {
        // covers: LO-02, RB-02
        // issue 16: when the store cannot say who took part, the session
        // is revoked all the same and the host's clients are still told.
        let (h, flaky, [app, _, _, _]) = announcing().await;
        let s1 = session("s-flaky");
        let online = sign_in(&h, &app, "openid read", &s1).await;
        flaky.fail(Op::SessionClients);
        let r = h
            .server
            .end_session(&Request::new(Method::Get), Some(&s1))
            .await;
        let EndSessionStep::Logout(request) = r else {
            panic!("a logout request without parameters is valid");
        };
        let done = h
            .server
            .finish_logout(request, Some(&s1), &[id("app2")])
            .await;
        assert_eq!(done.revoked.unwrap(), 3);
        assert_eq!(told(&done.backchannel, "s-flaky"), ["app2"]);
        assert!(!h.active(field(&online, "access_token")).await);
    }
}
