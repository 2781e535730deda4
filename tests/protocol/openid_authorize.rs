//! The authorization endpoint of an OpenID Provider (issue 16): `prompt`,
//! `max_age`, the hints and other OpenID parameters reaching the host, the
//! parameters refused, and the login's facts kept with the code and the
//! tokens it yields. Every time comes from the harness's `FixedClock`.

use std::time::Duration;

use portcullis::http::{Method, Request, Response};
use portcullis::oidc::{DisplayMode, LoginId, Prompt, SessionId};
use portcullis::{
    Authentication, AuthorizeStep, Clock as _, LoginReason, LoginRequired, OpenIdGrant,
    PendingAuthorization, TokenHash, TokenStore as _, UnixTime, UserId,
};

use crate::support::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RP: &str = "rp";
const RP_SECRET: &str = "rp-secret-0a1b2c3d";
/// A client that skips consent (a first-party app).
const FIRST: &str = "first-party";

/// A server with an OpenID relying party (`rp`) and a first-party client
/// that skips consent, both allowed `openid read write`.
async fn harness() -> (Harness, Creds) {
    // Codes of `openid` grants redeem for ID Tokens: the server needs a
    // key of the RP's algorithm (ES256, generated without `rsa-keygen`).
    let keys = std::sync::Arc::new(portcullis::MemoryKeys::new());
    let h = Harness::with(config(), |b| b.key_provider(keys)).await;
    h.server
        .ensure_signing_keys(&[portcullis::Algorithm::Es256])
        .await
        .unwrap();
    let rp = h
        .confidential(RP, RP_SECRET, |b| {
            b.scope(scope("openid read write"))
                .id_token_signed_response_alg(portcullis::Algorithm::Es256)
        })
        .await;
    h.public(FIRST, |b| {
        b.scope(scope("openid read write")).skip_consent(true)
    })
    .await;
    (h, rp)
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

/// Alice's session: she logged in at `at`.
fn session(at: u64) -> Authentication {
    Authentication::new(alice(), UnixTime::from_secs(at))
}

/// A code-flow request of `client` for `scope`, state `xyz`, S256, plus
/// `extra` parameters.
fn query(client: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "xyz")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    q.finish()
}

async fn authorize(h: &Harness, q: &str, auth: Option<&Authentication>) -> AuthorizeStep {
    h.server
        .authorize(&Request::new(Method::Get).query(q), auth)
        .await
}

fn location(resp: &Response) -> url::Url {
    assert_eq!(resp.status(), 302, "{:?}", resp.header("Location"));
    url::Url::parse(resp.header("Location").unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The redirect of `step`, which must be one.
fn redirected(step: AuthorizeStep) -> url::Url {
    match step {
        AuthorizeStep::Redirect(r) => location(&r),
        other => panic!("expected a redirect, got {other:?}"),
    }
}

/// The error a redirect carries, after checking `state` and `iss` came
/// with it (AZ-04, AZ-05).
fn redirected_error(step: AuthorizeStep) -> String {
    let url = redirected(step);
    assert!(url.as_str().starts_with(REDIRECT), "{url}");
    assert_eq!(param(&url, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
    assert!(param(&url, "code").is_none());
    param(&url, "error").expect("an error")
}

/// The code a redirect carries.
fn code_of(step: AuthorizeStep) -> String {
    let url = redirected(step);
    assert_eq!(param(&url, "error"), None, "{url}");
    param(&url, "code").expect("a code")
}

fn login(step: AuthorizeStep) -> LoginRequired {
    match step {
        AuthorizeStep::Login(l) => l,
        other => panic!("expected the login step, got {other:?}"),
    }
}

fn consent(step: AuthorizeStep) -> PendingAuthorization {
    match step {
        AuthorizeStep::Consent(p) => p,
        other => panic!("expected the consent step, got {other:?}"),
    }
}

/// Alice consents to `rp` for `openid read` once, so consent is remembered.
async fn remember_consent(h: &Harness) {
    remember_consent_at(h, T0 - 60).await;
}

/// [`remember_consent`] with a session started at `logged_in`.
async fn remember_consent_at(h: &Harness, logged_in: u64) {
    let q = query(RP, "openid read", &[]);
    let pending = consent(authorize(h, &q, Some(&session(logged_in))).await);
    code_of(AuthorizeStep::Redirect(h.server.approve(pending).await));
}

async fn stored_code(h: &Harness, code: &str) -> portcullis::CodeRecord {
    h.store
        .find_code(&TokenHash::of(code))
        .await
        .unwrap()
        .expect("the code is stored")
}

async fn access_record(h: &Harness, token: &str) -> portcullis::AccessRecord {
    h.store
        .find_access(&TokenHash::of(token))
        .await
        .unwrap()
        .expect("the access token is stored")
}

async fn refresh_record(h: &Harness, token: &str) -> portcullis::RefreshRecord {
    h.store
        .find_refresh(&TokenHash::of(token))
        .await
        .unwrap()
        .expect("the refresh token is stored")
}

fn now(h: &Harness) -> u64 {
    h.clock.now().as_secs()
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_none_without_a_session_is_login_required_by_redirect() {
    let (h, _) = harness().await;
    let q = query(RP, "openid read", &[("prompt", "none")]);
    assert_eq!(
        redirected_error(authorize(&h, &q, None).await),
        "login_required"
    );
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_none_with_a_session_but_no_consent_is_consent_required() {
    let (h, _) = harness().await;
    let q = query(RP, "openid read", &[("prompt", "none")]);
    let step = authorize(&h, &q, Some(&session(T0 - 60))).await;
    assert_eq!(redirected_error(step), "consent_required");
    // Consent remembered for `openid read` does not cover `write`.
    remember_consent(&h).await;
    let wider = query(RP, "openid read write", &[("prompt", "none")]);
    let step = authorize(&h, &wider, Some(&session(T0 - 60))).await;
    assert_eq!(redirected_error(step), "consent_required");
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_none_with_a_session_and_remembered_consent_issues_a_code() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let q = query(RP, "openid read", &[("prompt", "none")]);
    let code = code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(stored_code(&h, &code).await.subject, alice());
    // A client that skips consent needs none remembered.
    let q = query(FIRST, "openid", &[("prompt", "none")]);
    code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_none_with_max_age_exceeded_is_login_required() {
    let (h, _) = harness().await;
    // max_age exceeded with prompt=none: login_required, not the login page.
    let q = query(RP, "openid read", &[("prompt", "none"), ("max_age", "30")]);
    let step = authorize(&h, &q, Some(&session(T0 - 60))).await;
    assert_eq!(redirected_error(step), "login_required");
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_login_sends_an_existing_session_to_the_login_step_until_a_new_login() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let q = query(RP, "openid read", &[("prompt", "login")]);
    // The host passes the session it has: the user must log in again.
    let step = login(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(step.reason(), LoginReason::Reauthenticate);
    let token = h.server.suspend_login(&step).await.unwrap();
    // The login page takes 30 seconds; passing the old session again
    // still gets the login step.
    h.clock.advance(Duration::from_secs(30));
    let again = login(
        h.server
            .resume(token.expose_secret(), Some(&session(T0 - 60)))
            .await,
    );
    assert_eq!(again.reason(), LoginReason::Reauthenticate);
    // A login made after the request arrived satisfies it, and the
    // remembered consent then gives a code at once.
    let token = h.server.suspend_login(&again).await.unwrap();
    let fresh = session(now(&h));
    let code = code_of(h.server.resume(token.expose_secret(), Some(&fresh)).await);
    let record = stored_code(&h, &code).await;
    assert_eq!(
        record.openid.as_ref().map(OpenIdGrant::auth_time),
        Some(UnixTime::from_secs(now(&h)))
    );
    // Without prompt=login the old session is good enough.
    let plain = query(RP, "openid read", &[]);
    code_of(authorize(&h, &plain, Some(&session(T0 - 60))).await);
}

// covers: OI-07
// issue 16
#[tokio::test]
async fn max_age_forces_a_new_login_only_when_exceeded() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    // Logged in 60 s ago: within 120 s, a code; beyond 30 s, the login step.
    let within = query(RP, "openid read", &[("max_age", "120")]);
    code_of(authorize(&h, &within, Some(&session(T0 - 60))).await);
    let exact = query(RP, "openid read", &[("max_age", "60")]);
    code_of(authorize(&h, &exact, Some(&session(T0 - 60))).await);
    let exceeded = query(RP, "openid read", &[("max_age", "30")]);
    let step = login(authorize(&h, &exceeded, Some(&session(T0 - 60))).await);
    assert_eq!(step.reason(), LoginReason::Reauthenticate);
    assert_eq!(
        step.openid().unwrap().max_age(),
        Some(Duration::from_secs(30))
    );
    // The user logs in anew, and the login page took longer than max_age:
    // a login after the request arrived still satisfies it.
    let token = h.server.suspend_login(&step).await.unwrap();
    h.clock.advance(Duration::from_secs(5));
    let logged_in = session(now(&h));
    h.clock.advance(Duration::from_secs(40));
    let code = code_of(
        h.server
            .resume(token.expose_secret(), Some(&logged_in))
            .await,
    );
    let facts = stored_code(&h, &code).await.openid.unwrap();
    assert_eq!(facts.auth_time(), logged_in.auth_time());
    assert!(
        facts.max_age_sent(),
        "auth_time is then required in the ID Token"
    );
}

// covers: OI-07
// issue 16
#[tokio::test]
async fn max_age_zero_behaves_as_prompt_login() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let q = query(RP, "openid read", &[("max_age", "0")]);
    let step = login(authorize(&h, &q, Some(&session(T0 - 1))).await);
    assert_eq!(step.reason(), LoginReason::Reauthenticate);
    let token = h.server.suspend_login(&step).await.unwrap();
    h.clock.advance(Duration::from_secs(3));
    let logged_in = session(now(&h));
    h.clock.advance(Duration::from_secs(3));
    code_of(
        h.server
            .resume(token.expose_secret(), Some(&logged_in))
            .await,
    );
}

// covers: OI-06, OI-07
// issue 16: times are whole seconds. With the clock standing still, a
// login of the request's own second made before it never satisfies
// `prompt=login` or `max_age=0`, and the login the host makes in answer to
// the login step, in that same second, always does (no loop).
#[tokio::test]
async fn prompt_login_and_max_age_zero_within_one_second() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    for extra in [("prompt", "login"), ("max_age", "0")] {
        // Alice signed in at t in session s-old; the request arrives at t.
        let t = now(&h);
        let old = session(t).with_session_id(SessionId::parse("s-old").unwrap());
        let q = query(RP, "openid read", &[extra]);
        let step = login(authorize(&h, &q, Some(&old)).await);
        assert_eq!(step.reason(), LoginReason::Reauthenticate, "{extra:?}");
        // Sent to `authorize` again, the session is still not a new login.
        let step = login(authorize(&h, &q, Some(&old)).await);
        // Resumed with the same session: the login step again.
        let token = h.server.suspend_login(&step).await.unwrap();
        let again = login(h.server.resume(token.expose_secret(), Some(&old)).await);
        assert_eq!(again.reason(), LoginReason::Reauthenticate, "{extra:?}");
        // The login the host makes, still at t, with its new session id:
        // accepted, and remembered consent gives a code at once.
        let token = h.server.suspend_login(&again).await.unwrap();
        let new = session(t).with_session_id(SessionId::parse("s-new").unwrap());
        let code = code_of(h.server.resume(token.expose_secret(), Some(&new)).await);
        let facts = stored_code(&h, &code).await.openid.unwrap();
        assert_eq!(facts.session_id().map(SessionId::as_str), Some("s-new"));
        // A host without session ids: a login of a later second is told
        // apart by its `auth_time`.
        let step = login(authorize(&h, &q, Some(&session(t))).await);
        let token = h.server.suspend_login(&step).await.unwrap();
        let again = login(
            h.server
                .resume(token.expose_secret(), Some(&session(t)))
                .await,
        );
        h.clock.advance(Duration::from_secs(1));
        let token = h.server.suspend_login(&again).await.unwrap();
        code_of(
            h.server
                .resume(token.expose_secret(), Some(&session(now(&h))))
                .await,
        );
    }
    // Without a session when the request arrived, the login resumed with,
    // in the request's second, is the one made for it.
    let q = query(RP, "openid read", &[("prompt", "login")]);
    let step = login(authorize(&h, &q, None).await);
    assert_eq!(step.reason(), LoginReason::NotLoggedIn);
    let token = h.server.suspend_login(&step).await.unwrap();
    code_of(
        h.server
            .resume(token.expose_secret(), Some(&session(now(&h))))
            .await,
    );
}

// covers: OI-06, OI-07
// issue 16 (review finding 1): a host that keeps its session id when the
// same user signs in again (so a later logout still finds the earlier
// tokens by `sid`) tells the new login apart by a fresh login id. The same
// user, the same session id, the same second: with a new login id the
// login is accepted; without one (or with the old one) it is taken for the
// session the request met, and the user is sent back to the login step,
// as `Authentication` documents.
#[tokio::test]
async fn a_relogin_in_the_same_second_and_session_is_told_apart_by_its_login_id() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let sid = || SessionId::parse("s-kept").unwrap();
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let t = now(&h);
        let first = session(t)
            .with_session_id(sid())
            .with_login_id(LoginId::parse("login-1").unwrap());
        let q = query(RP, "openid read", &[extra]);
        let step = login(authorize(&h, &q, Some(&first)).await);
        assert_eq!(step.reason(), LoginReason::Reauthenticate, "{extra:?}");
        // The host kept the login id: the same login, the login step again.
        let token = h.server.suspend_login(&step).await.unwrap();
        let again = login(h.server.resume(token.expose_secret(), Some(&first)).await);
        assert_eq!(again.reason(), LoginReason::Reauthenticate, "{extra:?}");
        // A new login in the same second and session, with a fresh login
        // id: accepted, with the session id kept.
        let token = h.server.suspend_login(&again).await.unwrap();
        let second = session(t)
            .with_session_id(sid())
            .with_login_id(LoginId::parse("login-2").unwrap());
        let code = code_of(h.server.resume(token.expose_secret(), Some(&second)).await);
        let facts = stored_code(&h, &code).await.openid.unwrap();
        assert_eq!(facts.session_id().map(SessionId::as_str), Some("s-kept"));

        // A host that sets no login id: the re-login of the same second
        // and session is indistinguishable and loops back to the login step.
        let plain = session(t).with_session_id(sid());
        let step = login(authorize(&h, &q, Some(&plain)).await);
        let token = h.server.suspend_login(&step).await.unwrap();
        let back = login(h.server.resume(token.expose_secret(), Some(&plain)).await);
        assert_eq!(back.reason(), LoginReason::Reauthenticate, "{extra:?}");
        // Setting one on the new login is enough.
        let token = h.server.suspend_login(&back).await.unwrap();
        let fresh = plain.with_login_id(LoginId::parse("login-3").unwrap());
        code_of(h.server.resume(token.expose_secret(), Some(&fresh)).await);
    }
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_consent_asks_even_when_consent_is_remembered() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let q = query(RP, "openid read", &[("prompt", "consent")]);
    let pending = consent(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert!(pending.new_scopes().is_empty(), "nothing new, asked anyway");
    assert!(pending.openid().unwrap().prompt().contains(Prompt::Consent));
    // Even a client that skips consent is asked when it says so.
    let q = query(FIRST, "openid", &[("prompt", "consent")]);
    consent(authorize(&h, &q, Some(&session(T0 - 60))).await);
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_select_account_goes_through_the_login_step_once() {
    let (h, _) = harness().await;
    remember_consent(&h).await;
    let q = query(RP, "openid read", &[("prompt", "select_account")]);
    let step = login(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(step.reason(), LoginReason::SelectAccount);
    // The user picks the account already signed in: no new login needed.
    let token = h.server.suspend_login(&step).await.unwrap();
    code_of(
        h.server
            .resume(token.expose_secret(), Some(&session(T0 - 60)))
            .await,
    );
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn prompt_none_with_another_value_or_an_unknown_value_is_invalid_request() {
    let (h, _) = harness().await;
    for prompt in ["none login", "consent none", "login sideways"] {
        let q = query(RP, "openid read", &[("prompt", prompt)]);
        for auth in [None, Some(&session(T0 - 60))] {
            assert_eq!(
                redirected_error(authorize(&h, &q, auth).await),
                "invalid_request",
                "{prompt}"
            );
        }
    }
    let q = query(RP, "openid read", &[("max_age", "-1")]);
    assert_eq!(
        redirected_error(authorize(&h, &q, None).await),
        "invalid_request"
    );
}

// covers: OI-09
// issue 16
#[tokio::test]
async fn a_malformed_claims_parameter_is_invalid_request() {
    let (h, _) = harness().await;
    for claims in ["{", r#"{"userinfo":[]}"#, r#"{"id_token":{"acr":true}}"#] {
        let q = query(RP, "openid read", &[("claims", claims)]);
        assert_eq!(
            redirected_error(authorize(&h, &q, Some(&session(T0 - 60))).await),
            "invalid_request",
            "{claims}"
        );
    }
}

// covers: OI-06
// issue 16
#[tokio::test]
async fn request_objects_and_registration_are_refused_with_their_codes() {
    let (h, _) = harness().await;
    let q = query(
        RP,
        "openid read",
        &[("registration", "eyJhbGciOiJub25lIn0.e30.")],
    );
    assert_eq!(
        redirected_error(authorize(&h, &q, None).await),
        "registration_not_supported"
    );
    // Since issue 17 (JR-01, PA-02) `request` and `request_uri` are read,
    // for OpenID and plain OAuth requests alike: an unsigned object and a
    // `request_uri` that is not one of our pushed requests' URNs are error
    // pages (the redirect URI they would name is not trusted).
    for (name, value, code) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "invalid_request_object",
        ),
        (
            "request_uri",
            "https://rp.example/req",
            "request_uri_not_supported",
        ),
    ] {
        let q = query(RP, "openid read", &[(name, value)]);
        match authorize(&h, &q, None).await {
            AuthorizeStep::Invalid(page) => {
                assert_eq!(page.error().map(|e| e.as_str()), Some(code), "{name}");
            }
            other => panic!("{name}: expected an error page, got {other:?}"),
        }
    }
}

// covers: OI-08
// issue 16
#[tokio::test]
async fn login_hint_and_the_other_parameters_reach_the_login_and_consent_steps() {
    let (h, _) = keyed_harness(|c| c).await;
    let hint = id_token(&h, "alice", RP, T0 + 300).await;
    let q = query(
        RP,
        "openid read",
        &[
            ("login_hint", "alice@example.com"),
            ("id_token_hint", &hint),
            ("ui_locales", "fr-CA en"),
            ("claims_locales", "de"),
            ("display", "popup"),
            ("acr_values", "urn:example:loa:2"),
        ],
    );
    let step = login(authorize(&h, &q, None).await);
    assert_eq!(step.reason(), LoginReason::NotLoggedIn);
    let check = |o: &portcullis::OpenIdRequest| {
        assert_eq!(o.login_hint().unwrap().as_str(), "alice@example.com");
        assert_eq!(o.id_token_hint().unwrap().as_str(), hint);
        assert_eq!(o.ui_locales()[0].as_str(), "fr-CA");
        assert_eq!(o.claims_locales()[0].as_str(), "de");
        assert_eq!(o.display(), Some(DisplayMode::Popup));
        assert_eq!(o.acr_values(), ["urn:example:loa:2"]);
    };
    check(step.openid().unwrap());
    // They survive the suspended request, to the login and consent pages.
    let token = h.server.suspend_login(&step).await.unwrap();
    let again = login(h.server.resume(token.expose_secret(), None).await);
    check(again.openid().unwrap());
    let token = h.server.suspend_login(&again).await.unwrap();
    let pending = consent(
        h.server
            .resume(token.expose_secret(), Some(&session(T0)))
            .await,
    );
    check(pending.openid().unwrap());
}

// covers: OI-02, OI-10, OI-03
// issue 16
#[tokio::test]
async fn the_logins_facts_reach_the_code_and_the_tokens_it_yields() {
    let (h, rp) = harness().await;
    let sid = SessionId::parse("sess-42").unwrap();
    let auth = session(T0 - 60)
        .with_acr("urn:example:loa:2")
        .with_amr(["pwd", "otp"])
        .with_session_id(sid.clone());
    let q = query(
        RP,
        "openid read",
        &[
            ("nonce", "n-0S6_WzA2Mj"),
            ("max_age", "600"),
            ("claims", r#"{"userinfo":{"email":{"essential":true}}}"#),
        ],
    );
    let pending = consent(authorize(&h, &q, Some(&auth)).await);
    // The consent page is its own request: the facts are those of the
    // login the request was suspended with, whatever is passed on resume.
    let token = h.server.suspend_consent(&pending).await.unwrap();
    let later = session(T0).with_acr("urn:other");
    let pending = consent(h.server.resume(token.expose_secret(), Some(&later)).await);
    assert_eq!(pending.authentication(), &auth);
    let code = code_of(AuthorizeStep::Redirect(h.server.approve(pending).await));

    let facts = stored_code(&h, &code).await.openid.expect("an openid code");
    assert_eq!(facts.auth_time(), UnixTime::from_secs(T0 - 60));
    assert_eq!(facts.acr(), Some("urn:example:loa:2"));
    assert_eq!(facts.amr(), ["pwd", "otp"]);
    assert_eq!(facts.session_id(), Some(&sid));
    assert_eq!(facts.nonce().unwrap().as_str(), "n-0S6_WzA2Mj");
    assert!(facts.max_age_sent());
    assert_eq!(facts.claims().unwrap().userinfo()[0].name(), "email");

    // Exchange: the tokens keep the facts, without the nonce.
    let issued = IssuedCode {
        code,
        verifier: Some(VERIFIER.into()),
        redirect_uri: Some(REDIRECT.into()),
    };
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&rp), &issued).await);
    let refresh = refresh.expect("a refresh token");
    let without_nonce = facts.without_nonce();
    let a = access_record(&h, &access).await;
    assert_eq!(a.openid.as_ref(), Some(&without_nonce));
    assert!(without_nonce.nonce().is_none());
    let r = refresh_record(&h, &refresh).await;
    assert_eq!(r.openid.as_ref(), Some(&without_nonce));

    // A refresh an hour later: the original auth_time (Core §12.2).
    h.clock.advance(Duration::from_secs(3600));
    let (access, refresh) = tokens(&h.refresh(Auth::Basic(&rp), &refresh).await);
    let a = access_record(&h, &access).await;
    assert_eq!(a.openid.as_ref(), Some(&without_nonce));
    let refresh = refresh.unwrap();
    let r = refresh_record(&h, &refresh).await;
    assert_eq!(
        r.openid.as_ref().map(OpenIdGrant::auth_time),
        Some(UnixTime::from_secs(T0 - 60))
    );

    // OI-03: an access token narrowed to a scope without openid keeps no
    // facts; the refresh token, with the grant's scope, still does.
    let narrowed = h
        .token(
            Auth::Basic(&rp),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "read"),
            ],
        )
        .await;
    let (access, refresh) = tokens(&narrowed);
    let a = access_record(&h, &access).await;
    assert_eq!(a.openid, None);
    let r = refresh_record(&h, &refresh.unwrap()).await;
    assert_eq!(r.openid.as_ref(), Some(&without_nonce));
}

// covers: OI-03
// issue 16
#[tokio::test]
async fn a_plain_oauth_request_ignores_the_openid_parameters() {
    let (h, rp) = harness().await;
    let junk = [
        ("prompt", "none login"),
        ("max_age", "soon"),
        ("claims", "{"),
        ("nonce", "n"),
    ];
    let q = query(RP, "read", &junk);
    // No login_required, no invalid_request: the login step, as ever.
    let step = login(authorize(&h, &q, None).await);
    assert!(step.openid().is_none());
    let pending = consent(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert!(pending.openid().is_none());
    let code = code_of(AuthorizeStep::Redirect(h.server.approve(pending).await));
    assert_eq!(stored_code(&h, &code).await.openid, None);
    let issued = IssuedCode {
        code,
        verifier: Some(VERIFIER.into()),
        redirect_uri: Some(REDIRECT.into()),
    };
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&rp), &issued).await);
    let a = access_record(&h, &access).await;
    assert_eq!(a.openid, None);
    let r = refresh_record(&h, &refresh.unwrap()).await;
    assert_eq!(r.openid, None);
}

// ---------------------------------------------------------------------
// Issue 16 wiring: `id_token_hint` (OI-08) and the client's
// `default_max_age` and `require_auth_time` (OI-07).

const SALT: &[u8] = b"a pairwise salt of 32 bytes, ok!";
/// A pairwise client (its sector is the redirect URI's host).
const PAIRWISE: &str = "pairwise";

/// [`harness`] with a signing key (ES256), a pairwise salt and a pairwise
/// client beside `rp` and the first-party client; `configure_rp` adds
/// OpenID fields to `rp`.
async fn keyed_harness(
    configure_rp: impl FnOnce(portcullis::ClientBuilder) -> portcullis::ClientBuilder,
) -> (Harness, Creds) {
    let mut config = config();
    config.pairwise_salt = Some(portcullis::Secret::new(SALT.to_vec()));
    let h = Harness::with(config, |b| {
        b.key_provider(std::sync::Arc::new(portcullis::MemoryKeys::new()))
    })
    .await;
    h.server
        .ensure_signing_keys(&[portcullis::Algorithm::Es256])
        .await
        .unwrap();
    let rp = h
        .confidential(RP, RP_SECRET, |b| {
            configure_rp(b.scope(scope("openid read write")))
        })
        .await;
    h.public(FIRST, |b| {
        b.scope(scope("openid read write")).skip_consent(true)
    })
    .await;
    h.public(PAIRWISE, |b| {
        b.scope(scope("openid read"))
            .skip_consent(true)
            .subject_type(portcullis::SubjectType::Pairwise)
    })
    .await;
    (h, rp)
}

/// An ID Token of this server about `sub`, issued to `aud`, expiring at
/// `exp` (signed through the public API, as the token endpoint will).
async fn id_token(h: &Harness, sub: &str, aud: &str, exp: u64) -> String {
    let claims = portcullis::IdTokenClaims::new(
        ISSUER,
        sub,
        portcullis::ClientId::parse(aud).unwrap(),
        UnixTime::from_secs(T0 - 60),
        UnixTime::from_secs(exp),
    );
    h.server
        .sign_id_token(&claims, portcullis::Algorithm::Es256)
        .await
        .unwrap()
}

fn silent_with_hint(client: &str, scope: &str, hint: &str) -> String {
    query(
        client,
        scope,
        &[("prompt", "none"), ("id_token_hint", hint)],
    )
}

// covers: OI-08
// issue 16
#[tokio::test]
async fn an_id_token_hint_of_the_signed_in_user_with_prompt_none_gives_a_code() {
    let (h, _) = keyed_harness(|b| b).await;
    remember_consent(&h).await;
    let hint = id_token(&h, "alice", RP, T0 + 300).await;
    let q = silent_with_hint(RP, "openid read", &hint);
    let code = code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(stored_code(&h, &code).await.subject, alice());
    // Expired long ago, but ours: still a good hint.
    h.clock.advance(Duration::from_secs(86_400));
    let q = silent_with_hint(FIRST, "openid", &id_token(&h, "alice", FIRST, T0 + 1).await);
    code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
}

// covers: OI-08, OI-04
// issue 16
#[tokio::test]
async fn a_pairwise_hint_is_matched_against_the_pairwise_subject() {
    let (h, _) = keyed_harness(|b| b).await;
    let client = h.client(PAIRWISE).await;
    let sub = portcullis::oidc::subject_for(&client, &alice(), SALT);
    let hint = id_token(&h, sub.as_str(), PAIRWISE, T0 + 300).await;
    let q = silent_with_hint(PAIRWISE, "openid", &hint);
    code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
    // The user id is not this client's subject for alice.
    let hint = id_token(&h, "alice", PAIRWISE, T0 + 300).await;
    let q = silent_with_hint(PAIRWISE, "openid", &hint);
    assert_eq!(
        redirected_error(authorize(&h, &q, Some(&session(T0 - 60))).await),
        "login_required"
    );
}

// covers: OI-08
// issue 16
#[tokio::test]
async fn an_id_token_hint_of_another_user_is_login_required_or_the_login_step() {
    let (h, _) = keyed_harness(|b| b).await;
    remember_consent(&h).await;
    let bob = id_token(&h, "bob", RP, T0 + 300).await;
    // prompt=none: login_required, with or without a session.
    let q = silent_with_hint(RP, "openid read", &bob);
    for auth in [Some(&session(T0 - 60)), None] {
        assert_eq!(
            redirected_error(authorize(&h, &q, auth).await),
            "login_required"
        );
    }
    // Without prompt=none: the login step, which says why.
    let q = query(RP, "openid read", &[("id_token_hint", &bob)]);
    let step = login(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(step.reason(), LoginReason::OtherUser);
    // Resumed with the same old session: asked again.
    let token = h.server.suspend_login(&step).await.unwrap();
    let again = login(
        h.server
            .resume(token.expose_secret(), Some(&session(T0 - 60)))
            .await,
    );
    assert_eq!(again.reason(), LoginReason::OtherUser);
    // A login made since the request arrived is the user's answer: whoever
    // signs in gets the code (here bob, whose consent is asked).
    let token = h.server.suspend_login(&again).await.unwrap();
    h.clock.advance(Duration::from_secs(5));
    let bob_login = Authentication::new(UserId::parse("bob").unwrap(), h.clock.now());
    let pending = consent(
        h.server
            .resume(token.expose_secret(), Some(&bob_login))
            .await,
    );
    assert_eq!(pending.user().as_str(), "bob");
}

// covers: OI-08
// issue 16
#[tokio::test]
async fn a_foreign_altered_or_malformed_hint_is_invalid_request() {
    let (h, _) = keyed_harness(|b| b).await;
    remember_consent(&h).await;
    let ours = id_token(&h, "alice", RP, T0 + 300).await;
    // Another server's ID Token, signed with its own key.
    let (other, _) = keyed_harness(|b| b).await;
    let foreign = id_token(&other, "alice", RP, T0 + 300).await;
    // Ours, with `sub` changed after signing.
    let parts: Vec<&str> = ours.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap();
    payload["sub"] = "bob".into();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            payload.to_string()
        ),
        parts[2]
    );
    let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", parts[1]);
    for bad in [foreign.as_str(), &altered, &unsigned, "not-a-jwt"] {
        for prompt in [&[("prompt", "none")][..], &[]] {
            let mut extra = vec![("id_token_hint", bad)];
            extra.extend_from_slice(prompt);
            let q = query(RP, "openid read", &extra);
            for auth in [Some(&session(T0 - 60)), None] {
                assert_eq!(
                    redirected_error(authorize(&h, &q, auth).await),
                    "invalid_request",
                    "{bad}"
                );
            }
        }
    }
    // The genuine hint passes.
    code_of(
        authorize(
            &h,
            &silent_with_hint(RP, "openid read", &ours),
            Some(&session(T0 - 60)),
        )
        .await,
    );
}

// covers: OI-08
// issue 16
#[tokio::test]
async fn a_hint_issued_to_another_client_is_invalid_request() {
    let (h, _) = keyed_harness(|b| b).await;
    remember_consent(&h).await;
    let to_first = id_token(&h, "alice", FIRST, T0 + 300).await;
    let q = silent_with_hint(RP, "openid read", &to_first);
    assert_eq!(
        redirected_error(authorize(&h, &q, Some(&session(T0 - 60))).await),
        "invalid_request"
    );
}

// covers: OI-07
// issue 16
#[tokio::test]
async fn the_clients_default_max_age_applies_when_the_request_sends_none() {
    let (h, _) = keyed_harness(|b| b.default_max_age(Duration::from_secs(30))).await;
    remember_consent_at(&h, T0).await;
    // Logged in 60 s ago, default_max_age 30 s: log in again.
    let q = query(RP, "openid read", &[]);
    let step = login(authorize(&h, &q, Some(&session(T0 - 60))).await);
    assert_eq!(step.reason(), LoginReason::Reauthenticate);
    // prompt=none: login_required.
    let silent = query(RP, "openid read", &[("prompt", "none")]);
    assert_eq!(
        redirected_error(authorize(&h, &silent, Some(&session(T0 - 60))).await),
        "login_required"
    );
    // Within it: a code, whose grant requires auth_time in the ID Token.
    let code = code_of(authorize(&h, &q, Some(&session(T0 - 10))).await);
    let facts = stored_code(&h, &code).await.openid.unwrap();
    assert!(facts.max_age_sent(), "default_max_age was in force");
    // The request's own max_age wins over the default.
    let q = query(RP, "openid read", &[("max_age", "120")]);
    code_of(authorize(&h, &q, Some(&session(T0 - 60))).await);
}

// covers: OI-07, OI-02
// issue 16
#[tokio::test]
async fn require_auth_time_marks_the_grant() {
    let (h, _) = keyed_harness(|b| b.require_auth_time(true)).await;
    remember_consent(&h).await;
    let code =
        code_of(authorize(&h, &query(RP, "openid read", &[]), Some(&session(T0 - 60))).await);
    assert!(stored_code(&h, &code).await.openid.unwrap().max_age_sent());
    // Without it (and without max_age), auth_time is not required.
    let code = code_of(authorize(&h, &query(FIRST, "openid", &[]), Some(&session(T0 - 60))).await);
    assert!(!stored_code(&h, &code).await.openid.unwrap().max_age_sent());
}
