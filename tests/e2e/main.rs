//! End-to-end tests: the real example servers, started as processes on a
//! random loopback port, driven by the `oauth2` crate, an HTTP client with a
//! cookie jar for the login and consent forms, and raw TCP where the exact
//! bytes matter. The suite is written once and runs against every host:
//! `examples/server.rs` (axum), `examples/actix.rs` (actix-web) and
//! `examples/hyper.rs` (hyper), which serve the same demo through their
//! framework's adapter, and `examples/tower.rs`, which serves it through the
//! `tower` boundary alone (`Endpoints` and `BearerLayer` on hyper-util).
//!
//! The example binaries are built by the test when needed
//! (`tests/common/examples.rs`) with this test's features, so `--test e2e`
//! runs on its own; `--all-features` gives every host and a
//! `--database`-capable server for the SQLite tests.

// Test harness: a failed precondition should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// One `#[tokio::test]` per host (axum, actix-web, hyper, tower) for each
/// named `async fn(Framework)` of the module, in a module of its name: the
/// e2e files whose tests take no storage backend (cors, device,
/// registration, token exchange) share it.
macro_rules! on_every_framework {
    ($($name:ident),*) => {
        $(
            mod $name {
                #[cfg(feature = "axum")]
                #[tokio::test]
                async fn axum() {
                    super::$name(super::Framework::Axum).await;
                }
                #[cfg(feature = "actix-web")]
                #[tokio::test]
                async fn actix() {
                    super::$name(super::Framework::Actix).await;
                }
                #[cfg(feature = "hyper")]
                #[tokio::test]
                async fn hyper() {
                    super::$name(super::Framework::Hyper).await;
                }
                #[cfg(feature = "tower")]
                #[tokio::test]
                async fn tower() {
                    super::$name(super::Framework::Tower).await;
                }
            }
        )*
    };
}

mod browser;
// The consent page (issue 19 part 5).
mod consent_page;
// CORS (issue 19 part 3, CO-01).
mod cors;
mod database_url;
mod device;
mod dpop;
#[path = "../common/examples.rs"]
mod examples;
mod harness;
// Several instances on one PostgreSQL (and MariaDB) database (issue 20 part 3).
#[cfg(feature = "postgres")]
mod instances;
mod logout;
mod openid_rp;
mod par;
#[cfg(feature = "postgres")]
#[path = "../common/postgres.rs"]
#[allow(dead_code)]
mod postgres;
// The multi-instance suite on MariaDB too (issue 20 part 3).
#[cfg(all(feature = "postgres", feature = "mysql"))]
#[path = "../common/mysql.rs"]
#[allow(dead_code)]
mod mysql;
// What postgres.rs and mysql.rs share.
#[cfg(feature = "postgres")]
#[path = "../common/server.rs"]
#[allow(dead_code)]
mod server;
// Dynamic client registration (issue 19 part 2).
mod registration;
mod seed_v2;
mod sessions;
mod throttle;
mod token_exchange;
mod userinfo;

use harness::{Backend, CALLBACK, Framework, Server, Session};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    PkceCodeChallenge, RedirectUrl, ResourceOwnerPassword, ResourceOwnerUsername, RevocationUrl,
    Scope, StandardRevocableToken, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};

type Configured = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
>;

fn oauth_client(server: &Server, id: &str, secret: Option<&str>) -> Configured {
    let base = &server.base;
    let c = BasicClient::new(ClientId::new(id.into()))
        .set_auth_uri(AuthUrl::new(format!("{base}/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/token")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/introspect")).unwrap())
        .set_revocation_url(RevocationUrl::new(format!("{base}/revoke")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    match secret {
        Some(s) => c.set_client_secret(ClientSecret::new(s.into())),
        None => c,
    }
}

/// Runs the browser part of the code flow and returns the callback query.
async fn authorize(
    session: &Session,
    client: &Configured,
    scopes: &[&str],
    challenge: PkceCodeChallenge,
) -> (url::Url, CsrfToken) {
    let mut req = client.authorize_url(CsrfToken::new_random);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).into()));
    }
    let (url, state) = req.set_pkce_challenge(challenge).url();
    (session.browse_to_callback(url.as_str(), true).await, state)
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn confidential_code_flow_with_pkce_refresh_and_replay(
    framework: Framework,
    backend: Backend,
) {
    // covers: AZ-05, AZ-08, AC-02, RT-02, PK-01, CA-01
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (callback, state) = authorize(&session, &client, &["read"], challenge).await;
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(server.base.as_str())
    );
    let code = param(&callback, "code").expect("code in callback");

    let http = harness::http_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    assert!(tokens.refresh_token().is_some());
    assert_eq!(tokens.token_type(), &oauth2::basic::BasicTokenType::Bearer);

    // Replay of the code fails and revokes what the first redemption issued.
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new("a".repeat(43)))
        .request_async(&http)
        .await;
    assert!(replay.is_err());
    let info = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active(), "first redemption's token must be revoked");

    // A fresh flow: consent is remembered, so no consent page this time.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(CsrfToken::new_random);
    req = req.add_scope(Scope::new("read".into()));
    let (url, _) = req.set_pkce_challenge(challenge).url();
    let callback = session.browse_to_callback(url.as_str(), false).await;
    let code = param(&callback, "code").expect("remembered consent gives a code at once");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let refresh = tokens.refresh_token().unwrap().clone();

    // Refresh rotates; the old refresh token then fails and kills the grant.
    let rotated = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .unwrap();
    let new_refresh = rotated.refresh_token().unwrap().clone();
    assert_ne!(new_refresh.secret(), refresh.secret());
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await
            .is_err()
    );
    assert!(
        client
            .exchange_refresh_token(&new_refresh)
            .request_async(&http)
            .await
            .is_err()
    );
    let info = client
        .introspect(rotated.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
}

async fn public_client_code_flow_and_new_scope_asks_again(framework: Framework, backend: Backend) {
    // covers: AZ-08, PK-02, CA-04
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "spa", None);
    let http = harness::http_client();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (callback, _) = authorize(&session, &client, &["read"], challenge).await;
    let code = param(&callback, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "read");

    // Asking for a scope outside the stored consent shows the consent page again.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = session.get(url.as_str()).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Allow") && page.body.contains("write"));

    // A public client without PKCE is refused with a redirected error.
    let (url, _) = client.authorize_url(CsrfToken::new_random).url();
    let resp = session.get(url.as_str()).await;
    assert_eq!(resp.status, 302);
    let loc = url::Url::parse(resp.location.as_deref().unwrap()).unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
}

async fn deny_gives_access_denied_with_state_and_iss(framework: Framework, backend: Backend) {
    // covers: AZ-07, AZ-04, AZ-05
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let consent = session.login(url.as_str()).await;
    let callback = session.decide(&consent, "deny").await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(server.base.as_str())
    );
    assert!(param(&callback, "code").is_none());
}

async fn posted_authorization_request_survives_login_and_consent(
    framework: Framework,
    backend: Backend,
) {
    // covers: AZ-05, AC-03
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge.clone())
        .url();
    // The same parameters, POSTed as a form: nothing in the URL.
    let login = session.post_authorize(url.query().unwrap()).await;
    assert_eq!(login.status, 200, "expected the login page: {}", login.body);
    // The pages carry a resume token, never the request itself.
    for page_secret in [state.secret().as_str(), challenge.as_str()] {
        assert!(
            !login.body.contains(page_secret),
            "login page leaks {page_secret}"
        );
    }
    let consent = session.login_on(&login).await;
    assert_eq!(consent.status, 200, "expected the consent page");
    assert!(!consent.body.contains(state.secret().as_str()));
    assert!(!consent.body.contains(challenge.as_str()));
    let callback = session.decide(&consent, "allow").await;
    assert!(callback.as_str().starts_with(harness::CALLBACK));
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(server.base.as_str())
    );
    // Submitting the consent form again (a replay, a double click) issues
    // no second code: the resume token was single use.
    let again = session.submit_consent(&consent, "allow").await;
    assert_eq!(again.status, 400);
    assert!(again.location.is_none());
    // The code is for this request: its redirect URI and PKCE challenge.
    let code = param(&callback, "code").expect("a code");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code from a POSTed request redeems");
}

async fn wrong_password_shows_the_form_again_and_issues_no_code(
    framework: Framework,
    backend: Backend,
) {
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let page = session.get(url.as_str()).await;
    let resp = session
        .submit_login(&page.body, "alice", "wrong password")
        .await;
    assert_eq!(resp.status, 401);
    assert!(resp.body.contains("type=\"password\""));
    assert!(resp.location.is_none());
}

async fn client_credentials_revocation_and_introspection(framework: Framework, backend: Backend) {
    // covers: CC-01, RV-01, IN-01
    let server = Server::start_on(framework, backend).await;
    let http = harness::http_client();
    let svc = oauth_client(&server, "svc", Some(harness::SVC_SECRET));
    let tokens = svc
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_none());
    let info = svc
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some("svc"));
    // The oauth2 crate refuses a plain-http revocation URL, so post the
    // RFC 7009 request directly.
    let resp = http
        .post(format!("{}/revoke", server.base))
        .basic_auth("svc", Some(harness::SVC_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "token={}&token_type_hint=access_token",
            tokens.access_token().secret()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let info = svc
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
    // A wrong secret is refused.
    let bad = oauth_client(&server, "svc", Some("nope"));
    assert!(
        bad.exchange_client_credentials()
            .request_async(&http)
            .await
            .is_err()
    );
}

async fn password_grant_enabled_by_seed(framework: Framework, backend: Backend) {
    // covers: PW-01
    let server = Server::start_on(framework, backend).await;
    let http = harness::http_client();
    let c = oauth_client(&server, "pw", Some(harness::PW_SECRET));
    let ok = c
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new(harness::ALICE_PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .unwrap();
    assert!(ok.refresh_token().is_some());
    let bad = c
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new("wrong".into()),
        )
        .request_async(&http)
        .await;
    assert!(bad.is_err());
}

async fn metadata_matches_the_seed(framework: Framework, backend: Backend) {
    // covers: MD-01, AZ-05
    let server = Server::start_on(framework, backend).await;
    let body = harness::http_client()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["issuer"], server.base.as_str());
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let grants = m["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "password",
    ] {
        assert!(grants.iter().any(|v| v == g), "{g} missing");
    }
    for e in [
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(m[e].as_str().unwrap().starts_with(&server.base));
    }
}

async fn bad_authorization_requests_never_5xx(framework: Framework, backend: Backend) {
    // covers: AZ-03, AZ-09, AZ-01, RB-01
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let base = format!("{}/authorize", server.base);
    let cb = "redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback";
    let huge = "x".repeat(60_000);
    let cases: Vec<(String, &str)> = vec![
        (format!("{base}?client_id=nope&response_type=code"), "page"),
        (
            format!(
                "{base}?client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code"
            ),
            "page",
        ),
        (
            format!("{base}?client_id=web&client_id=spa&response_type=code&{cb}"),
            "page",
        ),
        (
            format!("{base}?client_id=web&response_type=token&{cb}"),
            "redirect",
        ),
        (
            format!("{base}?client_id=web&response_type=code&scope=a&scope=b&{cb}"),
            "redirect",
        ),
        (format!("{base}?%%%%&&&==&client_id"), "page"),
        (format!("{base}?client_id={huge}"), "page"),
        (
            format!("{base}?client_id=web&response_type=code&{cb}&state={huge}"),
            "any",
        ),
        (
            format!("{base}?client_id=%FF%FE&response_type=code"),
            "page",
        ),
    ];
    for (url, expect) in cases {
        let r = session.get(&url).await;
        assert!(r.status < 500, "{url:.120}: {}", r.status);
        match expect {
            "page" => {
                assert_eq!(r.status, 400, "{url:.120}");
                assert!(r.location.is_none());
            }
            "redirect" => {
                assert_eq!(r.status, 302, "{url:.120}");
                assert!(r.location.unwrap().starts_with(CALLBACK));
            }
            _ => {}
        }
    }
    // An unsupported response type is redirected with that error.
    let r = session
        .get(&format!(
            "{base}?client_id=web&response_type=token&state=s&{cb}"
        ))
        .await;
    let loc = url::Url::parse(&r.location.unwrap()).unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("s"));
}

async fn logs_requests_without_secrets_and_exits_cleanly_on_sigterm(
    framework: Framework,
    backend: Backend,
) {
    // covers: RB-03
    let server = Server::start_on(framework, backend).await;
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let http = harness::http_client();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (callback, _) = authorize(&session, &client, &["read"], challenge).await;
    let code = param(&callback, "code").unwrap();
    let verifier_text = verifier.secret().clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    // Failures are logged too: a wrong secret and a replayed code.
    let bad = oauth_client(&server, "web", Some("wrong-secret-value"));
    assert!(
        bad.exchange_code(AuthorizationCode::new(code.clone()))
            .request_async(&http)
            .await
            .is_err()
    );
    let (clean, log) = server.terminate();
    assert!(clean, "server must exit 0 on SIGTERM");
    assert!(log.contains("/token"), "requests are logged: {log}");
    for secret in [
        harness::WEB_SECRET,
        harness::ALICE_PASSWORD,
        "wrong-secret-value",
        code.as_str(),
        verifier_text.as_str(),
        tokens.access_token().secret().as_str(),
        tokens.refresh_token().unwrap().secret().as_str(),
    ] {
        assert!(!log.contains(secret), "log leaks a secret");
    }
}

#[cfg(feature = "sqlite")]
async fn sqlite_backed_server_keeps_clients_consent_and_tokens_across_restart(
    framework: Framework,
) {
    // covers: AZ-08, RT-02, CC-01
    let dir = std::env::temp_dir().join(format!(
        "portcullis-e2e-{framework:?}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("auth.db").display());
    let http = harness::http_client();

    let server = Server::start_with(framework, Some(&db), None).await;
    let port = server.port();
    let session = Session::new(&server);
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (callback, _) = authorize(&session, &client, &["read"], challenge).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let svc = oauth_client(&server, "svc", Some(harness::SVC_SECRET));
    let service_token = svc
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    let (clean, _) = server.terminate();
    assert!(clean);

    // Same database, same issuer: everything is still there.
    let server = Server::start_with(framework, Some(&db), Some(port)).await;
    let client = oauth_client(&server, "web", Some(harness::WEB_SECRET));
    let info = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active(), "access token survives a restart");
    let info = svc
        .introspect(service_token.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    let rotated = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert!(rotated.refresh_token().is_some());
    // A new browser session logs in again, but consent is remembered.
    let session = Session::new(&server);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let after_login = session.login(url.as_str()).await;
    assert_eq!(
        after_login.status, 302,
        "consent must be remembered across restarts"
    );
    let callback = url::Url::parse(&after_login.location.unwrap()).unwrap();
    client
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn jwt_tokens_jwks_and_the_protected_route(framework: Framework, backend: Backend) {
    // covers: TK-03, TK-04, JW-01
    let server = Server::start_on(framework, backend).await;
    let http = harness::http_client();
    let get_me = |token: Option<String>| {
        let mut req = http.get(format!("{}/api/me", server.base));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.send()
    };
    let jwt_client = oauth_client(&server, "jwtsvc", Some(harness::SVC_SECRET));
    let read = jwt_client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    let token = read.access_token().secret().clone();
    // The token verifies against the JWKS the server publishes.
    let jwks_text = http
        .get(format!("{}/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks_text).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[server.base.as_str()]);
    v.set_issuer(&[server.base.as_str()]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["client_id"], "jwtsvc");
    // The protected route: valid, insufficient scope, missing, garbage.
    let ok = get_me(Some(token)).await.unwrap();
    assert_eq!(ok.status(), 200);
    let me: serde_json::Value = serde_json::from_str(&ok.text().await.unwrap()).unwrap();
    assert_eq!(me["sub"], "jwtsvc");
    let write_only = jwt_client
        .exchange_client_credentials()
        .add_scope(Scope::new("write".into()))
        .request_async(&http)
        .await
        .unwrap();
    let r = get_me(Some(write_only.access_token().secret().clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let r = get_me(None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let r = get_me(Some("garbage".into())).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Opaque tokens work on the same route.
    let svc = oauth_client(&server, "svc", Some(harness::SVC_SECRET));
    let opaque = svc
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        get_me(Some(opaque.access_token().secret().clone()))
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn protected_route_with_valid_expired_and_insufficient_scope_tokens(
    framework: Framework,
    backend: Backend,
) {
    // covers: TK-04, TK-05
    let server = Server::start_on(framework, backend).await;
    let http = harness::http_client();
    let get_me = |token: &str| {
        http.get(format!("{}/api/me", server.base))
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    let token = |id: &'static str, scope: &'static str| {
        let client = oauth_client(&server, id, Some(harness::SVC_SECRET));
        let http = http.clone();
        async move {
            client
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.into()))
                .request_async(&http)
                .await
                .unwrap()
                .access_token()
                .secret()
                .clone()
        }
    };
    // `shortsvc` tokens live 2 s (the seed's `access_token_lifetime`). The
    // clock counts whole seconds, so one is valid for at least 1 s.
    let short = token("shortsvc", "read").await;
    let issued = std::time::Instant::now();
    assert_eq!(
        get_me(&short).await.unwrap().status(),
        200,
        "not expired yet"
    );
    let valid = token("svc", "read").await;
    let r = get_me(&valid).await.unwrap();
    assert_eq!(r.status(), 200);
    let me: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        (me["sub"].as_str(), me["scope"].as_str()),
        (Some("svc"), Some("read"))
    );

    // Insufficient scope: a valid token without `read` is a 403 naming it.
    let write_only = token("jwtsvc", "write").await;
    let r = get_me(&write_only).await.unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read\""), "{challenge}");

    // Expired: the same token, three seconds after issuance, is refused.
    tokio::time::sleep_until((issued + std::time::Duration::from_millis(3100)).into()).await;
    let r = get_me(&short).await.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(get_me(&valid).await.unwrap().status(), 200);
}

async fn http_handling_is_the_same_on_every_host(framework: Framework, backend: Backend) {
    // covers: TOK-01, TOK-02, TOK-04, TOK-06, TOK-08
    let server = Server::start_on(framework, backend).await;
    let basic = format!(
        "Authorization: Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("svc:{}", harness::SVC_SECRET)
        )
    );
    let form = "Content-Type: application/x-www-form-urlencoded";
    let limit = 64 * 1024;

    // A declared 1 MiB body: refused from the head, before the body is sent.
    let r = harness::raw(
        &server,
        &format!("POST /token HTTP/1.1\r\n{form}\r\nContent-Length: 1048576"),
        &[b'x'; 1024],
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("\"invalid_request\""), "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // An undeclared (chunked) body: reading stops at the limit.
    let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
    let r = harness::raw(
        &server,
        &format!("POST /token HTTP/1.1\r\n{form}\r\nTransfer-Encoding: chunked"),
        chunk.repeat(5).as_bytes(),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    // One byte over the limit is refused; exactly the limit is read.
    let r = harness::raw(
        &server,
        &format!(
            "POST /revoke HTTP/1.1\r\n{form}\r\nContent-Length: {}",
            limit + 1
        ),
        b"",
    )
    .await;
    assert_eq!(r.status, 413);
    let mut body = String::from("grant_type=client_credentials&scope=read&pad=");
    body.push_str(&"x".repeat(limit - body.len()));
    let r = harness::raw(
        &server,
        &format!(
            "POST /token HTTP/1.1\r\n{basic}\r\n{form}\r\nContent-Length: {}",
            body.len()
        ),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));

    // Every header line reaches the core: a repeated Authorization is refused.
    let body = "grant_type=client_credentials";
    let r = harness::raw(
        &server,
        &format!(
            "POST /token HTTP/1.1\r\n{basic}\r\n{basic}\r\n{form}\r\nContent-Length: {}",
            body.len()
        ),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\"invalid_request\""), "{}", r.body);
    // A failed Basic attempt carries the challenge (one header, as sent).
    let r = harness::raw(
        &server,
        &format!(
            "POST /token HTTP/1.1\r\nAuthorization: Basic c3ZjOm5vcGU=\r\n{form}\r\nContent-Length: {}",
            body.len()
        ),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header_values("www-authenticate").len(), 1);
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
    // The charset parameter is tolerated, the wrong type is not.
    let r = harness::raw(
        &server,
        &format!(
            "POST /token HTTP/1.1\r\n{basic}\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nContent-Length: {}",
            body.len()
        ),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = harness::raw(
        &server,
        &format!(
            "POST /token HTTP/1.1\r\n{basic}\r\nContent-Type: application/json\r\nContent-Length: {}",
            body.len()
        ),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400);

    // Methods: the form endpoints are POST only, the documents GET.
    for path in ["/token", "/revoke", "/introspect"] {
        let r = harness::raw(&server, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(r.status, 405, "GET {path}");
        assert_eq!(r.header("allow"), Some("POST"), "GET {path}");
    }
    for path in ["/.well-known/oauth-authorization-server", "/jwks.json"] {
        let r = harness::raw(&server, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(r.status, 200, "GET {path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let r = harness::raw(
            &server,
            &format!("POST {path} HTTP/1.1\r\nContent-Length: 0"),
            b"",
        )
        .await;
        assert_eq!(r.status, 405, "POST {path}");
        assert!(r.header("allow").unwrap().contains("GET"), "POST {path}");
    }
    let r = harness::raw(&server, "GET /nowhere HTTP/1.1", b"").await;
    assert_eq!(r.status, 404);
    // The protected route's challenge without credentials: no error code.
    let r = harness::raw(&server, "GET /api/me HTTP/1.1", b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"oauth\""));
}

/// Every scenario runs against each host on the in-memory store, and on
/// SQLite against axum (the store does not depend on the framework; the
/// restart test below runs `--database` on every host).
macro_rules! on_every_host {
    ($($name:ident),* $(,)?) => {
        on_every_host!(@host axum_memory, Axum, Memory, [feature = "axum"]; $($name),*);
        on_every_host!(@host actix_memory, Actix, Memory, [feature = "actix-web"]; $($name),*);
        on_every_host!(@host hyper_memory, Hyper, Memory, [feature = "hyper"]; $($name),*);
        on_every_host!(@host tower_memory, Tower, Memory, [feature = "tower"]; $($name),*);
        on_every_host!(@host axum_sqlite, Axum, Sqlite, [feature = "sqlite"]; $($name),*);
    };
    (@host $module:ident, $framework:ident, $backend:ident, [$($cfg:tt)*]; $($name:ident),*) => {
        #[cfg($($cfg)*)]
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Framework::$framework, super::Backend::$backend).await;
                }
            )*
        }
    };
}

on_every_host!(
    confidential_code_flow_with_pkce_refresh_and_replay,
    public_client_code_flow_and_new_scope_asks_again,
    deny_gives_access_denied_with_state_and_iss,
    posted_authorization_request_survives_login_and_consent,
    wrong_password_shows_the_form_again_and_issues_no_code,
    client_credentials_revocation_and_introspection,
    password_grant_enabled_by_seed,
    metadata_matches_the_seed,
    bad_authorization_requests_never_5xx,
    logs_requests_without_secrets_and_exits_cleanly_on_sigterm,
    jwt_tokens_jwks_and_the_protected_route,
    protected_route_with_valid_expired_and_insufficient_scope_tokens,
    http_handling_is_the_same_on_every_host,
);

// issue 16 item 1: asked for RS256, the demo generates a 2048-bit RSA key at
// start, and its tokens verify with an independent library through the JWKS.
#[cfg(feature = "rsa-keygen")]
#[tokio::test]
async fn demo_signs_with_a_generated_rs256_key_when_asked() {
    // covers: JW-01, TK-03
    let seed = |base: &str| {
        serde_json::json!({
            "issuer": base,
            "clients": [
                {"client_id": "jwtsvc", "client_secret": harness::SVC_SECRET, "redirect_uris": [],
                 "grant_types": ["client_credentials"], "scope": "read",
                 "access_token_format": "jwt",
                 "token_endpoint_auth_method": "client_secret_basic"}
            ],
            "users": []
        })
    };
    let server =
        Server::start_seeded(Framework::Axum, seed, &["--signing-algorithm", "RS256"]).await;
    let http = harness::http_client();
    let token = oauth_client(&server, "jwtsvc", Some(harness::SVC_SECRET))
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap()
        .access_token()
        .secret()
        .clone();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwks_text = http
        .get(format!("{}/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&jwks_text).unwrap();
    // The demo also publishes its ES256 and EdDSA ID Token keys (issue 16):
    // the token's key is the one its `kid` names.
    let kid = header.kid.clone().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[server.base.as_str()]);
    v.set_issuer(&[server.base.as_str()]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["client_id"], "jwtsvc");
}

/// `--database` on every host: state survives a restart.
#[cfg(feature = "sqlite")]
mod restart {
    #[tokio::test]
    async fn axum() {
        super::sqlite_backed_server_keeps_clients_consent_and_tokens_across_restart(
            super::Framework::Axum,
        )
        .await;
    }

    #[cfg(feature = "actix-web")]
    #[tokio::test]
    async fn actix() {
        super::sqlite_backed_server_keeps_clients_consent_and_tokens_across_restart(
            super::Framework::Actix,
        )
        .await;
    }

    #[cfg(feature = "hyper")]
    #[tokio::test]
    async fn hyper() {
        super::sqlite_backed_server_keeps_clients_consent_and_tokens_across_restart(
            super::Framework::Hyper,
        )
        .await;
    }

    #[tokio::test]
    async fn tower() {
        super::sqlite_backed_server_keeps_clients_consent_and_tokens_across_restart(
            super::Framework::Tower,
        )
        .await;
    }
}
