//! The authorization endpoint through the public API: what is an error page,
//! what is redirected, PKCE policy, consent memory, and the code's binding.

use std::time::Duration;

use std::sync::Arc;

use portcullis::http::{Method, Request, Response};
use portcullis::{
    AuthMethod, Authentication, AuthorizationServer, AuthorizeStep, Client, ClientAdmin, ClientId,
    Config, ConsentAdmin, FixedClock, GrantType, MemoryStore, RedirectUri, ScopeSet, SecretHash,
    UnixTime, UserId,
};

const CB: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER: &str = "https://auth.example";

struct Fixture {
    server: AuthorizationServer,
    store: Arc<MemoryStore>,
    clock: Arc<FixedClock>,
    alice: Authentication,
}

fn uri(s: &str) -> RedirectUri {
    RedirectUri::parse(s).unwrap()
}

async fn fixture(configure: impl FnOnce(&mut Config)) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(1_700_000_000)));
    let mut config = Config::new(ISSUER);
    configure(&mut config);
    let server = AuthorizationServer::builder(config)
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let scope = ScopeSet::parse("read write admin").unwrap();
    let clients = [
        Client::confidential(
            ClientId::parse("web").unwrap(),
            SecretHash::sha256("web-secret"),
        )
        .redirect_uri(uri(CB))
        .grant_type(GrantType::AuthorizationCode)
        .grant_type(GrantType::RefreshToken)
        .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
        .scope(scope.clone())
        .default_scope(ScopeSet::parse("read").unwrap()),
        Client::public(ClientId::parse("spa").unwrap())
            .redirect_uri(uri(CB))
            .redirect_uri(uri("https://app.example/other"))
            .grant_type(GrantType::AuthorizationCode)
            .scope(scope.clone()),
        Client::public(ClientId::parse("native").unwrap())
            .redirect_uri(uri("http://127.0.0.1/callback"))
            .grant_type(GrantType::AuthorizationCode)
            .scope(scope.clone())
            .dangerous_allow_plain_pkce(true),
        Client::public(ClientId::parse("first-party").unwrap())
            .redirect_uri(uri(CB))
            .grant_type(GrantType::AuthorizationCode)
            .scope(scope.clone())
            .skip_consent(true),
        Client::confidential(ClientId::parse("off").unwrap(), SecretHash::sha256("x"))
            .redirect_uri(uri(CB))
            .grant_type(GrantType::AuthorizationCode)
            .scope(scope)
            .enabled(false),
    ];
    for c in clients {
        store.insert_client(c.build().unwrap()).await.unwrap();
    }
    Fixture {
        server,
        store,
        clock,
        // Logged in a minute before the fixture's clock.
        alice: Authentication::new(
            UserId::parse("alice").unwrap(),
            UnixTime::from_secs(1_700_000_000 - 60),
        ),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A valid S256 request for `client`, plus `extra` query parameters.
fn query(client: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client}&redirect_uri={}&state=st%20ate&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(CB)
    )
}

async fn step(f: &Fixture, q: &str, user: Option<&Authentication>) -> AuthorizeStep {
    f.server
        .authorize(&Request::new(Method::Get).query(q), user)
        .await
}

fn location(resp: &Response) -> url::Url {
    assert_eq!(resp.status(), 302);
    url::Url::parse(resp.header("Location").unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn redirected_error(s: AuthorizeStep) -> (String, url::Url) {
    match s {
        AuthorizeStep::Redirect(r) => {
            let url = location(&r);
            (param(&url, "error").expect("error param"), url)
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn error_page(s: AuthorizeStep) -> Response {
    match s {
        AuthorizeStep::Invalid(r) => {
            assert_eq!(r.status(), 400);
            assert!(r.header("Location").is_none());
            r
        }
        other => panic!("expected an error page, got {other:?}"),
    }
}

async fn approve(f: &Fixture, q: &str) -> url::Url {
    match step(f, q, Some(&f.alice)).await {
        AuthorizeStep::Consent(p) => location(&f.server.approve(p).await),
        AuthorizeStep::Redirect(r) => location(&r),
        other => panic!("expected consent or redirect, got {other:?}"),
    }
}

async fn redeem(f: &Fixture, client: &str, code: &str, redirect: Option<&str>) -> Response {
    let mut body = format!(
        "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&client_id={client}"
    );
    if client == "web" {
        body.push_str("&client_secret=web-secret");
    }
    if let Some(r) = redirect {
        body.push_str(&format!("&redirect_uri={}", enc(r)));
    }
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    f.server.token(&req).await
}

#[tokio::test]
async fn only_response_type_code_is_offered() {
    // covers: AZ-01
    let f = fixture(|_| {}).await;
    for rt in ["token", "id_token", "code%20token"] {
        let q = query("web", "").replace("response_type=code", &format!("response_type={rt}"));
        let (err, url) = redirected_error(step(&f, &q, None).await);
        assert_eq!(err, "unsupported_response_type");
        assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
    }
    assert!(matches!(
        step(&f, &query("web", ""), None).await,
        AuthorizeStep::Login(_)
    ));
}

#[tokio::test]
async fn redirect_uri_matches_exactly_with_loopback_port_exception() {
    // covers: AZ-02
    let f = fixture(|_| {}).await;
    for bad in [
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://APP.example/cb",
        "https://evil.example/cb",
    ] {
        let q = query("web", "").replace(&enc(CB), &enc(bad));
        error_page(step(&f, &q, None).await);
    }
    // One registered URI: the parameter may be omitted, and the code is then
    // redeemed without it.
    let q = query("web", "").replace(&format!("&redirect_uri={}", enc(CB)), "");
    let url = approve(&f, &q).await;
    assert!(url.as_str().starts_with(CB));
    let code = param(&url, "code").unwrap();
    assert_eq!(redeem(&f, "web", &code, None).await.status(), 200);
    // Several registered: it must be given.
    let q = query("spa", "").replace(&format!("&redirect_uri={}", enc(CB)), "");
    error_page(step(&f, &q, None).await);
    // Loopback IP: any port (RFC 8252 §7.3), same path.
    let q = query("native", "").replace(&enc(CB), &enc("http://127.0.0.1:49152/callback"));
    let url = approve(&f, &q).await;
    assert_eq!(url.port(), Some(49152));
    let q = query("native", "").replace(&enc(CB), &enc("http://127.0.0.1:49152/other"));
    error_page(step(&f, &q, None).await);
}

#[tokio::test]
async fn unknown_missing_or_disabled_client_is_an_error_page() {
    // covers: AZ-03, CA-07
    let f = fixture(|_| {}).await;
    error_page(step(&f, &query("nobody", ""), None).await);
    error_page(step(&f, &query("off", ""), None).await);
    let q = query("web", "").replace("client_id=web&", "");
    error_page(step(&f, &q, None).await);
    // A duplicated client_id or redirect_uri cannot be trusted: page too.
    error_page(step(&f, &query("web", "&client_id=spa"), None).await);
    error_page(
        step(
            &f,
            &query("web", &format!("&redirect_uri={}", enc(CB))),
            None,
        )
        .await,
    );
}

#[tokio::test]
async fn other_errors_redirect_with_state_and_iss() {
    // covers: AZ-04, AZ-05, AZ-09
    let f = fixture(|_| {}).await;
    let (err, url) =
        redirected_error(step(&f, &query("web", "&scope=read&scope=write"), None).await);
    assert_eq!(err, "invalid_request");
    assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
    assert!(param(&url, "error_description").is_some());
    // The code response carries state and iss too.
    let url = approve(&f, &query("web", "")).await;
    assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
    assert!(param(&url, "code").is_some());
}

#[tokio::test]
async fn scope_must_be_allowed_and_defaults_apply() {
    // covers: AZ-06
    let f = fixture(|_| {}).await;
    let (err, _) = redirected_error(step(&f, &query("web", "&scope=read%20delete"), None).await);
    assert_eq!(err, "invalid_scope");
    match step(&f, &query("web", ""), Some(&f.alice)).await {
        AuthorizeStep::Consent(p) => assert_eq!(p.scope().to_string(), "read"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pkce_policy_on_the_authorization_side() {
    // covers: PK-01, PK-02
    let f = fixture(|_| {}).await;
    let no_pkce = |c: &str| {
        query(c, "").replace(
            &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            "",
        )
    };
    // Public and (by default) confidential clients must send a challenge.
    for c in ["spa", "web"] {
        let (err, _) = redirected_error(step(&f, &no_pkce(c), None).await);
        assert_eq!(err, "invalid_request", "{c}");
    }
    // plain is refused, even for a client registered for it, unless the
    // server allows it too.
    let plain =
        |c: &str| query(c, "").replace("code_challenge_method=S256", "code_challenge_method=plain");
    let (err, _) = redirected_error(step(&f, &plain("spa"), None).await);
    assert_eq!(err, "invalid_request");
    let q = plain("native").replace(&enc(CB), &enc("http://127.0.0.1/callback"));
    assert_eq!(
        redirected_error(step(&f, &q, None).await).0,
        "invalid_request"
    );
    // An absent method means plain (RFC 7636 §4.3).
    let q = query("spa", "").replace("&code_challenge_method=S256", "");
    assert_eq!(
        redirected_error(step(&f, &q, None).await).0,
        "invalid_request"
    );
    // With the server's permission, the registered client may use plain.
    let f = fixture(|c| c.dangerous_allow_plain_pkce = true).await;
    let q = plain("native").replace(&enc(CB), &enc("http://127.0.0.1/callback"));
    assert!(matches!(step(&f, &q, None).await, AuthorizeStep::Login(_)));
    assert_eq!(
        redirected_error(step(&f, &plain("spa"), None).await).0,
        "invalid_request"
    );
    // Confidential clients may skip PKCE only when the server says so.
    let f = fixture(|c| c.require_pkce_for_confidential = false).await;
    assert!(matches!(
        step(&f, &no_pkce("web"), None).await,
        AuthorizeStep::Login(_)
    ));
    assert_eq!(
        redirected_error(step(&f, &no_pkce("spa"), None).await).0,
        "invalid_request"
    );
}

#[tokio::test]
async fn consent_is_remembered_widened_revoked_and_skippable() {
    // covers: AZ-08, AZ-07
    let f = fixture(|_| {}).await;
    let read = query("web", "&scope=read");
    assert!(matches!(
        step(&f, &read, Some(&f.alice)).await,
        AuthorizeStep::Consent(_)
    ));
    approve(&f, &read).await;
    // Remembered: a code at once.
    assert!(matches!(
        step(&f, &read, Some(&f.alice)).await,
        AuthorizeStep::Redirect(_)
    ));
    // A new scope asks again, naming only what is new.
    match step(&f, &query("web", "&scope=read%20write"), Some(&f.alice)).await {
        AuthorizeStep::Consent(p) => assert_eq!(p.new_scopes().to_string(), "write"),
        other => panic!("{other:?}"),
    }
    // Consent can be listed and revoked; then it is asked again.
    let web = ClientId::parse("web").unwrap();
    let listed = f.store.consents(f.alice.user()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].scope.to_string(), "read");
    assert!(f.store.revoke_consent(f.alice.user(), &web).await.unwrap());
    assert!(matches!(
        step(&f, &read, Some(&f.alice)).await,
        AuthorizeStep::Consent(_)
    ));
    // Deny: access_denied.
    match step(&f, &read, Some(&f.alice)).await {
        AuthorizeStep::Consent(p) => {
            let url = location(&f.server.deny(p));
            assert_eq!(param(&url, "error").as_deref(), Some("access_denied"));
            assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
        }
        other => panic!("{other:?}"),
    }
    // skip_consent clients are never asked.
    assert!(matches!(
        step(&f, &query("first-party", "&scope=admin"), Some(&f.alice)).await,
        AuthorizeStep::Redirect(_)
    ));
}

#[tokio::test]
async fn code_is_bound_to_client_and_redirect_uri_and_expires() {
    // covers: AC-01, AC-03
    let f = fixture(|_| {}).await;
    let code = param(&approve(&f, &query("web", "")).await, "code").unwrap();
    // Another client, a different redirect_uri, or none: invalid_grant.
    let other = redeem(&f, "spa", &code, Some(CB)).await;
    assert_eq!(other.status(), 400);
    assert!(String::from_utf8_lossy(other.body()).contains("invalid_grant"));
    let wrong = redeem(&f, "web", &code, Some("https://app.example/other")).await;
    assert!(String::from_utf8_lossy(wrong.body()).contains("invalid_grant"));
    let missing = redeem(&f, "web", &code, None).await;
    assert!(String::from_utf8_lossy(missing.body()).contains("invalid_grant"));
    assert_eq!(redeem(&f, "web", &code, Some(CB)).await.status(), 200);
    // Codes live 60 s by default.
    let code = param(&approve(&f, &query("web", "")).await, "code").unwrap();
    f.clock.advance(Duration::from_secs(61));
    let late = redeem(&f, "web", &code, Some(CB)).await;
    assert!(String::from_utf8_lossy(late.body()).contains("invalid_grant"));
}

#[tokio::test]
async fn hostile_authorization_input_never_panics() {
    // covers: RB-01, AZ-09
    let f = fixture(|_| {}).await;
    let huge = "a".repeat(100_000);
    let inputs = [
        String::new(),
        "&&&===".into(),
        "%".into(),
        "client_id=%FF".into(),
        format!("client_id=web&redirect_uri={huge}"),
        format!("{}&code_challenge={huge}", query("web", "")),
        "client_id=web\0&response_type=code".into(),
    ];
    for q in &inputs {
        for user in [None, Some(&f.alice)] {
            match step(&f, q, user).await {
                AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => assert!(r.status() < 500),
                AuthorizeStep::Login(_) | AuthorizeStep::Consent(_) => {}
            }
        }
    }
    let req = Request::new(Method::Other).query("client_id=web");
    assert!(matches!(
        f.server.authorize(&req, None).await,
        AuthorizeStep::Invalid(_)
    ));
}

// Resumable authorization: the request is suspended under a random handle
// while the host shows its login and consent pages, and taken back once.

/// A POSTed authorization request (OpenID Connect requires POST support).
fn post(body: &str) -> Request<'_> {
    Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes())
}

/// Suspends a login-stage request for `q` and returns its resume token.
async fn login_token(f: &Fixture, q: &str) -> String {
    match f.server.authorize(&post(q), None).await {
        AuthorizeStep::Login(login) => f.server.suspend_login(&login).await.unwrap().into_inner(),
        other => panic!("expected login, got {other:?}"),
    }
}

/// Resumes `token` for `user` and expects the consent step.
async fn consent_step(
    f: &Fixture,
    token: &str,
    user: &Authentication,
) -> portcullis::PendingAuthorization {
    match f.server.resume(token, Some(user)).await {
        AuthorizeStep::Consent(p) => p,
        other => panic!("expected consent, got {other:?}"),
    }
}

fn refused(s: AuthorizeStep) {
    let page = error_page(s);
    assert_eq!(page.error().map(|c| c.as_str()), Some("invalid_request"));
}

#[tokio::test]
async fn posted_request_survives_login_and_consent_through_resume_tokens() {
    // covers: AZ-05, AZ-07, AC-03
    let f = fixture(|_| {}).await;
    let q = query("web", "&scope=read%20write");
    let token = login_token(&f, &q).await;
    // After login: the consent step of the same request, for alice.
    let pending = consent_step(&f, &token, &f.alice).await;
    assert_eq!(pending.client().client_id().as_str(), "web");
    assert_eq!(pending.scope().to_string(), "read write");
    assert_eq!(pending.state(), Some("st ate"));
    assert_eq!(pending.user(), f.alice.user());
    // The consent page carries its own handle, bound to alice.
    let consent = f
        .server
        .suspend_consent(&pending)
        .await
        .unwrap()
        .into_inner();
    assert_ne!(consent, token);
    let pending = consent_step(&f, &consent, &f.alice).await;
    let url = location(&f.server.approve(pending).await);
    assert!(url.as_str().starts_with(CB));
    assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
    // The code carries the request's redirect_uri binding and PKCE challenge.
    let code = param(&url, "code").unwrap();
    assert!(
        String::from_utf8_lossy(redeem(&f, "web", &code, None).await.body())
            .contains("invalid_grant")
    );
    let code = param(
        &approve(&f, &query("web", "&scope=read%20write")).await,
        "code",
    )
    .unwrap();
    assert_eq!(redeem(&f, "web", &code, Some(CB)).await.status(), 200);

    // Deny through a resumed consent step: access_denied with the state.
    let token = login_token(&f, &query("spa", "&scope=admin")).await;
    let consent = f
        .server
        .suspend_consent(&consent_step(&f, &token, &f.alice).await)
        .await
        .unwrap();
    let pending = consent_step(&f, consent.expose_secret(), &f.alice).await;
    let url = location(&f.server.deny(pending));
    assert_eq!(param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
}

#[tokio::test]
async fn resume_goes_straight_to_a_code_when_consent_is_not_needed() {
    // covers: AZ-08
    let f = fixture(|_| {}).await;
    let token = login_token(&f, &query("first-party", "&scope=admin")).await;
    match f.server.resume(&token, Some(&f.alice)).await {
        AuthorizeStep::Redirect(r) => {
            let url = location(&r);
            assert!(param(&url, "code").is_some());
            assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
        }
        other => panic!("expected a code, got {other:?}"),
    }
    // Without a user, a login-stage token asks for the login again (and is
    // spent: the new step is suspended under a new handle).
    let token = login_token(&f, &query("web", "")).await;
    assert!(matches!(
        f.server.resume(&token, None).await,
        AuthorizeStep::Login(_)
    ));
    refused(f.server.resume(&token, Some(&f.alice)).await);
}

#[tokio::test]
async fn resume_token_is_single_use() {
    let f = fixture(|_| {}).await;
    let token = login_token(&f, &query("web", "")).await;
    let pending = consent_step(&f, &token, &f.alice).await;
    refused(f.server.resume(&token, Some(&f.alice)).await);
    let consent = f.server.suspend_consent(&pending).await.unwrap();
    let pending = consent_step(&f, consent.expose_secret(), &f.alice).await;
    // A second submission of the consent form (a replay, a double click)
    // cannot issue a second code.
    refused(
        f.server
            .resume(consent.expose_secret(), Some(&f.alice))
            .await,
    );
    assert!(param(&location(&f.server.approve(pending).await), "code").is_some());
}

#[tokio::test]
async fn resume_token_expires() {
    let f = fixture(|_| {}).await;
    let lifetime = f.server.config().authorization_request_lifetime;
    let q = query("web", "");
    let (early, late) = (login_token(&f, &q).await, login_token(&f, &q).await);
    f.clock.advance(lifetime - Duration::from_secs(1));
    consent_step(&f, &early, &f.alice).await;
    f.clock.advance(Duration::from_secs(1));
    refused(f.server.resume(&late, Some(&f.alice)).await);
    // The consent-stage handle has a lifetime of its own.
    let f = fixture(|c| c.authorization_request_lifetime = Duration::from_secs(30)).await;
    let pending = consent_step(&f, &login_token(&f, &q).await, &f.alice).await;
    let consent = f.server.suspend_consent(&pending).await.unwrap();
    f.clock.advance(Duration::from_secs(30));
    refused(
        f.server
            .resume(consent.expose_secret(), Some(&f.alice))
            .await,
    );
}

#[tokio::test]
async fn consent_token_is_bound_to_its_user_and_request() {
    let f = fixture(|_| {}).await;
    let bob = Authentication::new(
        UserId::parse("bob").unwrap(),
        portcullis::Clock::now(&*f.clock),
    );
    let q = query("web", "");
    let pending = consent_step(&f, &login_token(&f, &q).await, &f.alice).await;
    let consent = f.server.suspend_consent(&pending).await.unwrap();
    // Another user (e.g. a victim lured to post alice's consent form with
    // their own session) gets nothing, and the handle is spent.
    refused(f.server.resume(consent.expose_secret(), Some(&bob)).await);
    refused(
        f.server
            .resume(consent.expose_secret(), Some(&f.alice))
            .await,
    );
    // Nor can it be resumed without a user.
    let consent = f.server.suspend_consent(&pending).await.unwrap();
    refused(f.server.resume(consent.expose_secret(), None).await);
    // A login-stage handle resumes to its own request only: the client,
    // redirect URI and state it was validated with, whoever logs in.
    let spa = login_token(&f, &query("spa", "&scope=admin")).await;
    let web = login_token(&f, &q).await;
    let p = consent_step(&f, &spa, &bob).await;
    assert_eq!(p.client().client_id().as_str(), "spa");
    assert_eq!(p.scope().to_string(), "admin");
    assert_eq!(p.user(), bob.user());
    let p = consent_step(&f, &web, &f.alice).await;
    assert_eq!(p.client().client_id().as_str(), "web");
    assert_eq!(p.scope().to_string(), "read");
    // A client removed since the request was suspended gets no code.
    let token = login_token(&f, &q).await;
    assert!(
        f.store
            .delete_client(&ClientId::parse("web").unwrap())
            .await
            .unwrap()
    );
    let page = error_page(f.server.resume(&token, Some(&f.alice)).await);
    assert_eq!(page.error().map(|c| c.as_str()), Some("invalid_request"));
}

#[tokio::test]
async fn tampered_resume_token_is_refused() {
    let f = fixture(|_| {}).await;
    let token = login_token(&f, &query("web", "")).await;
    let mut flipped = token.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for forged in [
        flipped.as_str(),
        &token[..42],
        &format!("{token}A"),
        "",
        &"A".repeat(43),
        &"%".repeat(10_000),
    ] {
        refused(f.server.resume(forged, Some(&f.alice)).await);
    }
    // None of that spent the real one.
    consent_step(&f, &token, &f.alice).await;
}

#[tokio::test]
async fn resume_token_carries_no_secret_in_clear() {
    // covers: TK-01, TK-02
    let f = fixture(|_| {}).await;
    let q = query("web", "&scope=read%20write");
    let secret = f
        .server
        .suspend_login(&match f.server.authorize(&post(&q), None).await {
            AuthorizeStep::Login(l) => l,
            other => panic!("{other:?}"),
        })
        .await
        .unwrap();
    assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    let token = secret.into_inner();
    // 256 random bits, base64url: it names nothing of the request.
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // (43 base64url characters are exactly 256 bits: no room for the
    // client, redirect URI, state or challenge, sealed or not.)
    let other = login_token(&f, &q).await;
    assert_ne!(token, other, "the same request gets a fresh handle");
    // The store keeps only the hash, and a payload without the handle.
    let stored = portcullis::AuthorizationRequestStore::take_request(
        &*f.store,
        &portcullis::TokenHash::of(&token),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!stored.payload.contains(&token));
    assert!(!format!("{stored:?}").contains("st ate"));
}

#[tokio::test]
async fn suspending_without_a_request_store_is_a_server_error_redirect() {
    let store = Arc::new(MemoryStore::new());
    let server = AuthorizationServer::builder(Config::new(ISSUER))
        .client_store(store.clone())
        .token_store(store.clone())
        .replay_cache(store.clone())
        .build()
        .unwrap();
    store
        .insert_client(
            Client::public(ClientId::parse("spa").unwrap())
                .redirect_uri(uri(CB))
                .grant_type(GrantType::AuthorizationCode)
                .scope(ScopeSet::parse("read").unwrap())
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let login = match server.authorize(&post(&query("spa", "")), None).await {
        AuthorizeStep::Login(l) => l,
        other => panic!("{other:?}"),
    };
    let resp = server.suspend_login(&login).await.unwrap_err();
    // A configuration fault the host's metrics can tell from a store failure.
    let not_configured = Some(portcullis::Cause::Internal(
        portcullis::InternalFault::NoRequestStore,
    ));
    assert_eq!(resp.cause(), not_configured);
    let url = location(&resp);
    assert_eq!(param(&url, "error").as_deref(), Some("server_error"));
    assert_eq!(param(&url, "state").as_deref(), Some("st ate"));
    let page = server.resume(&"A".repeat(43), None).await;
    assert!(
        matches!(page, AuthorizeStep::Invalid(r) if r.status() == 500 && r.cause() == not_configured)
    );
}

#[tokio::test]
async fn resume_applies_the_pkce_policy_of_now() {
    // covers: PK-02
    let f = fixture(|c| c.dangerous_allow_plain_pkce = true).await;
    let q = query("native", "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain")
        .replace(&enc(CB), &enc("http://127.0.0.1/callback"));
    let token = login_token(&f, &q).await;
    // The operator withdraws the client's permission for `plain` meanwhile.
    let native = Client::public(ClientId::parse("native").unwrap())
        .redirect_uri(uri("http://127.0.0.1/callback"))
        .grant_type(GrantType::AuthorizationCode)
        .scope(ScopeSet::parse("read write admin").unwrap())
        .build()
        .unwrap();
    assert!(f.store.update_client(native).await.unwrap());
    let (error, _) = redirected_error(f.server.resume(&token, Some(&f.alice)).await);
    assert_eq!(error, "invalid_request");
}
