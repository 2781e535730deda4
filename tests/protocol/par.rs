//! Pushed authorization requests (RFC 9126, PA-01, PA-02): the pushed
//! endpoint (client authentication, validation at push time, JSON errors,
//! `201` with a single-use `request_uri`) and the authorization endpoint
//! taking `client_id` + `request_uri`. The fixture is `jar.rs`'s.

use std::sync::Arc;
use std::time::Duration;

use portcullis::http::{Method, Request};
use portcullis::routes::Endpoint;
use portcullis::{AuthorizationServer, AuthorizeStep, Config, FixedClock, MemoryStore, UnixTime};
use serde_json::Value;

use crate::jar::{
    NOW, PushAuth, REDIRECT, SPA, WEB, WEB_SECRET, alice, authorize, challenge, consent, fixture,
    fixture_with, page_error, push, push_error, pushed,
};

const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// A good code request, without client authentication.
pub(crate) fn request(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "read".into()),
        ("state", state.into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
    ]
}

pub(crate) fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn web() -> PushAuth<'static> {
    PushAuth::Basic(WEB, WEB_SECRET)
}

// covers: PA-01
#[tokio::test]
async fn pa01_a_push_answers_201_with_a_random_urn_and_expires_in() {
    let fx = fixture().await;
    let req = request("s1");
    let resp = push(&fx, web(), &pairs(&req)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    let uri = v["request_uri"].as_str().unwrap();
    let random = uri.strip_prefix(URN).expect("our URN");
    // 256 bits, base64url.
    assert_eq!(random.len(), 43, "{uri}");
    assert!(
        random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // Default lifetime 60 s (RFC 9126 §2.2; FAPI 2.0: under 600 s).
    assert_eq!(v["expires_in"], 60);
    let again = pushed(&push(&fx, web(), &pairs(&req)).await);
    assert_ne!(again, uri);
    // The lifetime is configurable.
    let fx = fixture_with(
        |c| c.pushed_request_lifetime = Duration::from_secs(90),
        |b| b,
    )
    .await;
    let v: Value = serde_json::from_slice(push(&fx, web(), &pairs(&req)).await.body()).unwrap();
    assert_eq!(v["expires_in"], 90);
    // FAPI 2.0: under 600 s.
    let mut config = Config::new("https://auth.example");
    config.pushed_request_lifetime = Duration::from_secs(600);
    let built = AuthorizationServer::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .build();
    assert!(built.is_err());
}

// covers: PA-01
#[tokio::test]
async fn pa01_clients_authenticate_as_at_the_token_endpoint() {
    let fx = fixture().await;
    let req = request("s1");
    let p = pairs(&req);
    // A secret (Basic), a public client by client_id, private_key_jwt.
    pushed(&push(&fx, web(), &p).await);
    pushed(&push(&fx, PushAuth::Id(SPA), &p).await);
    pushed(&push(&fx, PushAuth::Assertion(&fx.pk_key), &p).await);
    // Refused as the token endpoint refuses them: web is registered for
    // client_secret_basic, so not for client_secret_post (CA-02).
    let resp = push(&fx, PushAuth::Post(WEB, WEB_SECRET), &p).await;
    push_error(&resp, 401, "invalid_client");
    push_error(
        &push(&fx, PushAuth::Nothing, &p).await,
        401,
        "invalid_client",
    );
    let resp = push(&fx, PushAuth::Basic(WEB, "wrong"), &p).await;
    push_error(&resp, 401, "invalid_client");
    assert!(resp.header("www-authenticate").is_some());
    push_error(
        &push(&fx, PushAuth::Assertion(&fx.stranger), &p).await,
        401,
        "invalid_client",
    );
    // A confidential client cannot pass as public with its id alone.
    push_error(
        &push(&fx, PushAuth::Id(WEB), &p).await,
        401,
        "invalid_client",
    );
    // The client_id sent is the authenticated client's.
    let mut other = p.clone();
    other.push(("client_id", SPA));
    push_error(&push(&fx, web(), &other).await, 400, "invalid_request");
    // Only POST (TOK-01's rule, through the path dispatch every adapter uses).
    let resp = fx
        .server
        .handle(&Request::new(Method::Get).query("client_id=spa"), "/par")
        .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("allow"), Some("POST"));
}

// covers: PA-01
#[tokio::test]
async fn pa01_the_whole_request_is_validated_at_push_time_with_json_errors() {
    let fx = fixture().await;
    let with = |name: &'static str, value: &str| {
        let mut r = request("s1");
        r.retain(|(k, _)| *k != name);
        if !value.is_empty() {
            r.push((name, value.to_owned()));
        }
        r
    };
    let cases = [
        ("redirect_uri", "https://evil.example/cb", "invalid_request"),
        ("scope", "admin", "invalid_scope"),
        ("response_type", "token", "unsupported_response_type"),
        ("response_type", "", "invalid_request"),
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge", "", "invalid_request"),
        ("registration", "{}", "invalid_request"),
    ];
    for (name, value, code) in cases {
        let r = with(name, value);
        let mut p = pairs(&r);
        if name == "registration" {
            // Read only in an OpenID request.
            p.retain(|(k, _)| *k != "scope");
            p.push(("scope", "openid read"));
        }
        let resp = push(&fx, PushAuth::Id(SPA), &p).await;
        let code = if name == "registration" {
            "registration_not_supported"
        } else {
            code
        };
        push_error(&resp, 400, code);
    }
    // A repeated parameter.
    let r = request("s1");
    let mut p = pairs(&r);
    p.push(("state", "again"));
    push_error(&push(&fx, web(), &p).await, 400, "invalid_request");
}

// covers: PA-01
#[tokio::test]
async fn pa01_a_request_uri_inside_a_push_is_refused() {
    let fx = fixture().await;
    let first = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    let r = request("s1");
    let mut p = pairs(&r);
    p.push(("request_uri", &first));
    push_error(&push(&fx, web(), &p).await, 400, "invalid_request");
}

// covers: PA-02
#[tokio::test]
async fn pa02_only_the_pushed_parameters_are_used() {
    let fx = fixture().await;
    let uri = pushed(&push(&fx, web(), &pairs(&request("pushed-state"))).await);
    // Whatever else the browser carries is ignored.
    let step = authorize(
        &fx,
        &[
            ("client_id", WEB),
            ("request_uri", &uri),
            ("scope", "read write"),
            ("state", "evil"),
            ("redirect_uri", "https://evil.example/cb"),
        ],
        Some(&alice()),
    )
    .await;
    let pending = consent(step);
    assert_eq!(pending.scope().to_string(), "read");
    assert_eq!(pending.state(), Some("pushed-state"));
    let location = fx.server.approve(pending).await;
    let location = location.header("location").unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert!(location.contains("state=pushed-state"), "{location}");
    assert!(location.contains("code="), "{location}");
}

// covers: PA-02
#[tokio::test]
async fn pa02_a_request_uri_is_single_use() {
    let fx = fixture().await;
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    let q = [("client_id", WEB), ("request_uri", uri.as_str())];
    consent(authorize(&fx, &q, Some(&alice())).await);
    assert_eq!(
        page_error(authorize(&fx, &q, Some(&alice())).await),
        "invalid_request_uri"
    );
}

// covers: PA-02
#[tokio::test]
async fn pa02_a_request_uri_is_bound_to_its_client() {
    let fx = fixture().await;
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    let step = authorize(
        &fx,
        &[("client_id", SPA), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request_uri");
    // Presented by another client it has leaked: it is used up.
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request_uri");
    // Without client_id there is no client to bind it to.
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    let step = authorize(&fx, &[("request_uri", &uri)], Some(&alice())).await;
    assert_eq!(page_error(step), "invalid_request");
}

// covers: PA-02
#[tokio::test]
async fn pa02_a_request_uri_expires() {
    let fx = fixture().await;
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    fx.clock.set(UnixTime::from_secs(NOW + 60));
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request_uri");
    // Within its lifetime it works.
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    fx.clock.set(UnixTime::from_secs(NOW + 60 + 59));
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    consent(step);
}

// covers: PA-02
#[tokio::test]
async fn pa02_unknown_and_foreign_request_uris_are_refused() {
    let fx = fixture().await;
    let cases = [
        (format!("{URN}{}", "A".repeat(43)), "invalid_request_uri"),
        (format!("{URN}short"), "invalid_request_uri"),
        (
            "https://rp.example/request.jwt".to_owned(),
            "request_uri_not_supported",
        ),
        ("urn:other:thing".to_owned(), "request_uri_not_supported"),
    ];
    for (uri, code) in cases {
        let step = authorize(
            &fx,
            &[("client_id", WEB), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await;
        assert_eq!(page_error(step), code, "{uri}");
    }
    // A resume token is no request_uri, and the random part of a
    // request_uri is no resume token.
    let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
    let random = uri.strip_prefix(URN).unwrap();
    let step = fx.server.resume(random, Some(&alice())).await;
    assert_eq!(page_error(step), "invalid_request");
    consent(
        authorize(
            &fx,
            &[("client_id", WEB), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
}

// covers: PA-02
#[tokio::test]
async fn pa02_a_pushed_request_is_suspended_and_resumed_across_login() {
    let fx = fixture().await;
    let uri = pushed(&push(&fx, PushAuth::Id(SPA), &pairs(&request("s-login"))).await);
    let login = match authorize(&fx, &[("client_id", SPA), ("request_uri", &uri)], None).await {
        AuthorizeStep::Login(l) => l,
        other => panic!("expected the login step, got {other:?}"),
    };
    assert_eq!(login.scope().to_string(), "read");
    let handle = fx.server.suspend_login(&login).await.unwrap();
    let step = fx
        .server
        .resume(handle.expose_secret(), Some(&alice()))
        .await;
    let pending = consent(step);
    assert_eq!(pending.state(), Some("s-login"));
    let location = fx.server.approve(pending).await;
    assert!(
        location
            .header("location")
            .unwrap()
            .contains("state=s-login")
    );
}

// covers: PA-02
#[tokio::test]
async fn pa02_required_server_wide_refuses_plain_requests() {
    let fx = fixture_with(|c| c.require_pushed_authorization_requests = true, |b| b).await;
    let r = request("s1");
    let mut plain = pairs(&r);
    plain.push(("client_id", WEB));
    let step = authorize(&fx, &plain, Some(&alice())).await;
    assert_eq!(page_error(step), "invalid_request");
    // A request object by value is not pushed either.
    let object = crate::jar::sign(&fx.web_key, &crate::jar::object_claims(WEB));
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request", &object)],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request");
    let uri = pushed(&push(&fx, web(), &pairs(&r)).await);
    consent(
        authorize(
            &fx,
            &[("client_id", WEB), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
    let md: Value = serde_json::from_slice(fx.server.metadata().body()).unwrap();
    assert_eq!(md["require_pushed_authorization_requests"], true);
}

// covers: PA-02
#[tokio::test]
async fn pa02_required_per_client_refuses_its_plain_requests() {
    let fx = fixture_with(|_| {}, |b| b.require_pushed_authorization_requests(true)).await;
    let r = request("s1");
    let mut plain = pairs(&r);
    plain.push(("client_id", WEB));
    assert_eq!(
        page_error(authorize(&fx, &plain, Some(&alice())).await),
        "invalid_request"
    );
    // Another client is not concerned.
    let mut plain = pairs(&r);
    plain.push(("client_id", SPA));
    consent(authorize(&fx, &plain, Some(&alice())).await);
    let uri = pushed(&push(&fx, web(), &pairs(&r)).await);
    consent(
        authorize(
            &fx,
            &[("client_id", WEB), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
    let md: Value = serde_json::from_slice(fx.server.metadata().body()).unwrap();
    assert_eq!(md["require_pushed_authorization_requests"], false);
}

// covers: PA-02, MD-01
#[tokio::test]
async fn pa02_metadata_advertises_the_endpoint_only_when_served() {
    let fx = fixture().await;
    let md: Value = serde_json::from_slice(fx.server.metadata().body()).unwrap();
    assert_eq!(
        md["pushed_authorization_request_endpoint"],
        "https://auth.example/par"
    );
    assert_eq!(md["require_pushed_authorization_requests"], false);
    assert!(fx.server.serves(Endpoint::PushedAuthorizationRequest));
    assert!(
        fx.server
            .endpoints()
            .any(|e| e == Endpoint::PushedAuthorizationRequest)
    );
    // Without a store for pushed requests: neither served nor named, and
    // requiring them does not build.
    let store = Arc::new(MemoryStore::new());
    let server = AuthorizationServer::builder(Config::new("https://auth.example"))
        .client_store(store.clone())
        .token_store(store.clone())
        .replay_cache(store.clone())
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(NOW))))
        .build()
        .unwrap();
    let md: Value = serde_json::from_slice(server.metadata().body()).unwrap();
    assert!(md.get("pushed_authorization_request_endpoint").is_none());
    assert!(!server.serves(Endpoint::PushedAuthorizationRequest));
    let resp = server
        .handle(&Request::new(Method::Post).body(b"x=1"), "/par")
        .await;
    assert_eq!(resp.status(), 404);
    let mut config = Config::new("https://auth.example");
    config.require_pushed_authorization_requests = true;
    let built = AuthorizationServer::builder(config)
        .client_store(store.clone())
        .token_store(store.clone())
        .replay_cache(store)
        .build();
    assert!(built.is_err());
}

// covers: PA-01, PA-02
#[tokio::test]
async fn pa01_a_public_client_pushes_with_pk_and_redeems() {
    // The pushed request of a public client, through to its code.
    let fx = fixture().await;
    let uri = pushed(&push(&fx, PushAuth::Id(SPA), &pairs(&request("s2"))).await);
    let pending = consent(
        authorize(
            &fx,
            &[("client_id", SPA), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
    let location = fx.server.approve(pending).await;
    let location = location.header("location").unwrap();
    assert!(location.contains("code="), "{location}");
}

// covers: PA-01
#[cfg(feature = "tower")]
#[tokio::test]
async fn pa01_the_tower_service_serves_the_pushed_endpoint() {
    use http_body_util::{BodyExt, Full};
    use portcullis::adapters::tower::Endpoints;
    use tower::ServiceExt;

    let fx = fixture().await;
    let server = Arc::new(fx.server);
    let endpoints = Endpoints::new(server.clone());
    assert!(endpoints.serves("/par"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request("s1"))
        .append_pair("client_id", SPA)
        .finish();
    let req = http::Request::post("/par")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::<bytes::Bytes>::from(body))
        .unwrap();
    let resp = endpoints.oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    assert_eq!(
        parts.status.as_u16(),
        201,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(parts.headers["cache-control"], "no-store");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["request_uri"].as_str().unwrap().starts_with(URN));
}

// covers: PA-02
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pa02_concurrent_uses_of_one_request_uri_have_one_winner() {
    let fx = Arc::new(fixture().await);
    for round in 0..20 {
        let uri = pushed(&push(&fx, web(), &pairs(&request("s1"))).await);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (fx, uri) = (fx.clone(), uri.clone());
                tokio::spawn(async move {
                    let step = authorize(
                        &fx,
                        &[("client_id", WEB), ("request_uri", &uri)],
                        Some(&alice()),
                    )
                    .await;
                    matches!(step, AuthorizeStep::Consent(_))
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1, "round {round}");
    }
}

// covers: PA-02
#[cfg(feature = "serde")]
#[test]
fn pa02_the_configuration_file_names_both_settings() {
    let config: Config = serde_json::from_str(
        r#"{"issuer": "https://auth.example", "pushed_request_lifetime": "90s",
            "require_pushed_authorization_requests": true,
            "paths": {"pushed_authorization_request": "/as/par"}}"#,
    )
    .unwrap();
    assert_eq!(config.pushed_request_lifetime, Duration::from_secs(90));
    assert!(config.require_pushed_authorization_requests);
    assert_eq!(config.paths.pushed_authorization_request, "/as/par");
    // FAPI 2.0: under 600 s.
    let refused = serde_json::from_str::<Config>(
        r#"{"issuer": "https://auth.example", "pushed_request_lifetime": "10m"}"#,
    );
    assert!(refused.is_err());
}

// covers: PA-02, RI-01
#[tokio::test]
async fn pa02_repeated_resources_are_pushed_and_kept() {
    // `resource` is repeatable (RFC 8707 §2): both pushed values reach the
    // consent step, as both of a plain request do; one not allowed is
    // `invalid_target` at push time.
    let api = "https://api.example/";
    let cal = "urn:example:calendar";
    let fx = fixture_with(
        |c| {
            c.resources = vec![
                portcullis::Resource::parse(api).unwrap(),
                portcullis::Resource::parse(cal).unwrap(),
            ];
        },
        |b| b,
    )
    .await;
    let mut req = request("r");
    req.push(("resource", api.into()));
    req.push(("resource", cal.into()));
    let uri = pushed(&push(&fx, web(), &pairs(&req)).await);
    let pending = consent(
        authorize(
            &fx,
            &[("client_id", WEB), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
    let shown: Vec<&str> = pending.resources().iter().map(|r| r.as_str()).collect();
    assert_eq!(shown, [api, cal]);
    req.push(("resource", "https://elsewhere.example/".into()));
    push_error(&push(&fx, web(), &pairs(&req)).await, 400, "invalid_target");
}
