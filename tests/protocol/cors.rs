//! CORS (CO-01; issue 19 part 3): preflights and actual requests, through
//! `AuthorizationServer::handle` as every adapter calls it. The client
//! endpoints (token, revocation, UserInfo, pushed and device
//! authorization) answer the origins clients registered, the actual
//! response only those of the client it concerns; the documents any
//! origin (`*`); introspection and the authorization endpoint none; no
//! answer ever allows credentials.

use std::sync::Arc;

use portcullis::http::{Method, Request, Response};
use portcullis::oidc::{ClaimsQuery, UserClaims};
use portcullis::routes::Endpoint;
use portcullis::{AuthorizeStep, GrantType, Origin, StoreError, async_trait};
use serde_json::{Map, Value};

use crate::support::*;

/// The browser client and the origin it registered.
const SPA: &str = "spa";
const SPA_ORIGIN: &str = "https://spa.example";
/// Another browser client, with an origin of its own.
const OTHER: &str = "other-spa";
const OTHER_ORIGIN: &str = "https://other.example";
/// An origin no client registered.
const STRANGER: &str = "https://evil.example";

/// The client endpoints, and the method a browser calls each with.
const CLIENT_ENDPOINTS: [(Endpoint, &str); 5] = [
    (Endpoint::Token, "POST"),
    (Endpoint::Revocation, "POST"),
    (Endpoint::UserInfo, "GET"),
    (Endpoint::PushedAuthorizationRequest, "POST"),
    (Endpoint::DeviceAuthorization, "POST"),
];
const DOCUMENTS: [Endpoint; 3] = [
    Endpoint::Metadata,
    Endpoint::OpenIdConfiguration,
    Endpoint::Jwks,
];

struct NoClaims;

#[async_trait]
impl UserClaims for NoClaims {
    async fn claims(&self, _: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
        Ok(Map::new())
    }
}

/// A server serving every endpoint (UserInfo, pushed and device
/// authorization too), with the two browser clients and a disabled one.
async fn harness() -> Harness {
    let h = Harness::with_devices(config(), |b| {
        b.user_claims(Arc::new(NoClaims))
            .key_provider(Arc::new(portcullis::MemoryKeys::new()))
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    for (client, origin) in [(SPA, SPA_ORIGIN), (OTHER, OTHER_ORIGIN)] {
        h.public(client, |b| {
            b.scope(scope("openid read write"))
                .grant_type(GrantType::DeviceCode)
                .allowed_cors_origin(Origin::parse(origin).unwrap())
        })
        .await;
    }
    h.public("disabled-spa", |b| {
        b.allowed_cors_origin(Origin::parse("https://disabled.example").unwrap())
            .enabled(false)
    })
    .await;
    h
}

fn path(h: &Harness, e: Endpoint) -> String {
    e.path(&h.server.config().paths).to_owned()
}

/// A CORS preflight from `origin` asking for `method` and the headers a
/// browser client sends.
async fn preflight(h: &Harness, e: Endpoint, origin: &str, method: &str) -> Response {
    preflight_asking(h, e, origin, method, "authorization,content-type,dpop").await
}

async fn preflight_asking(
    h: &Harness,
    e: Endpoint,
    origin: &str,
    method: &str,
    headers: &str,
) -> Response {
    let req = Request::new(Method::Options)
        .with_target("OPTIONS", "/")
        .header("Origin", origin.as_bytes())
        .header("Access-Control-Request-Method", method.as_bytes())
        .header("Access-Control-Request-Headers", headers.as_bytes());
    let resp = h.server.handle(&req, &path(h, e)).await;
    no_credentials(&resp);
    resp
}

/// No answer ever lets a browser send or read with credentials.
#[track_caller]
fn no_credentials(resp: &Response) {
    assert_eq!(resp.header("Access-Control-Allow-Credentials"), None);
}

/// No CORS header at all.
#[track_caller]
fn no_cors(resp: &Response) {
    let cors: Vec<_> = resp
        .headers()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");
}

#[track_caller]
fn allows(resp: &Response, origin: &str) {
    assert_eq!(resp.header("Access-Control-Allow-Origin"), Some(origin));
    no_credentials(resp);
}

/// A form POST to `e` from `origin` (if any) with `params`.
async fn post_from(
    h: &Harness,
    e: Endpoint,
    origin: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let body = form(params);
    let req = form_request(body.as_bytes(), None).with_target("POST", "/");
    let req = match origin {
        Some(o) => req.header("Origin", o.as_bytes()),
        None => req,
    };
    let resp = h.server.handle(&req, &path(h, e)).await;
    no_credentials(&resp);
    resp
}

/// A token for alice issued to `client` through the code flow, as its
/// browser redeems it.
async fn token_of(h: &Harness, client: &str) -> (String, Option<String>) {
    let code = h
        .issue_code(CodeSpec::new(client).scope("openid read"))
        .await;
    let resp = h
        .redeem(
            Auth::IdOnly(&Creds {
                id: client.to_owned(),
                secret: None,
            }),
            &code,
        )
        .await;
    tokens(&resp)
}

async fn userinfo_from(h: &Harness, origin: &str, token: &str) -> Response {
    let bearer = format!("Bearer {token}");
    let req = Request::new(Method::Get)
        .with_target("GET", "/userinfo")
        .header("Authorization", bearer.as_bytes())
        .header("Origin", origin.as_bytes());
    let resp = h.server.handle(&req, &path(h, Endpoint::UserInfo)).await;
    no_credentials(&resp);
    resp
}

#[tokio::test]
async fn a_registered_origin_passes_the_preflight_of_every_client_endpoint() {
    // covers: CO-01
    let h = harness().await;
    for (e, method) in CLIENT_ENDPOINTS {
        for origin in [SPA_ORIGIN, OTHER_ORIGIN] {
            let resp = preflight(&h, e, origin, method).await;
            assert_eq!(resp.status(), 204, "{e:?}");
            allows(&resp, origin);
            let methods = resp.header("Access-Control-Allow-Methods").unwrap();
            assert!(methods.contains(method), "{e:?}: {methods}");
            assert_eq!(
                resp.header("Access-Control-Allow-Headers"),
                Some("Authorization, Content-Type, DPoP"),
                "{e:?}"
            );
            assert_eq!(resp.header("Access-Control-Max-Age"), Some("600"));
            assert_eq!(resp.header("Vary"), Some("Origin"), "{e:?}");
            assert!(resp.header("Allow").unwrap().contains("OPTIONS"));
        }
    }
}

#[tokio::test]
async fn an_unregistered_origin_gets_no_cors_headers() {
    // covers: CO-01
    let h = harness().await;
    for (e, method) in CLIENT_ENDPOINTS {
        // Nobody's, a disabled client's, written otherwise than browsers
        // do, `null`, or another port or scheme of a registered origin.
        for origin in [
            STRANGER,
            "https://disabled.example",
            "https://SPA.example",
            "https://spa.example:443",
            "https://spa.example:8443",
            "http://spa.example",
            "null",
        ] {
            let resp = preflight(&h, e, origin, method).await;
            assert_eq!(resp.status(), 204, "{e:?} {origin}");
            no_cors(&resp);
            // The answer depends on the origin all the same.
            assert_eq!(resp.header("Vary"), Some("Origin"));
        }
        // An actual request from a stranger: readable by no one.
        let resp = post_from(&h, e, Some(STRANGER), &[("client_id", SPA)]).await;
        no_cors(&resp);
        assert_eq!(resp.header("Vary"), Some("Origin"), "{e:?}");
    }
}

#[tokio::test]
async fn a_preflight_for_another_method_or_header_is_refused() {
    // covers: CO-01
    let h = harness().await;
    for method in ["PUT", "DELETE", "GET"] {
        no_cors(&preflight(&h, Endpoint::Token, SPA_ORIGIN, method).await);
    }
    // UserInfo answers GET and POST.
    allows(
        &preflight(&h, Endpoint::UserInfo, SPA_ORIGIN, "POST").await,
        SPA_ORIGIN,
    );
    no_cors(&preflight(&h, Endpoint::UserInfo, SPA_ORIGIN, "PUT").await);
    for headers in ["x-requested-with", "authorization,cookie"] {
        no_cors(&preflight_asking(&h, Endpoint::Token, SPA_ORIGIN, "POST", headers).await);
    }
    // No method asked: not a preflight; no origin: not CORS.
    let bare = Request::new(Method::Options).header("Origin", SPA_ORIGIN.as_bytes());
    let resp = h.server.handle(&bare, &path(&h, Endpoint::Token)).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.header("Allow"), Some("POST, OPTIONS"));
    no_cors(&resp);
    let plain = Request::new(Method::Options).header("Access-Control-Request-Method", b"POST");
    no_cors(&h.server.handle(&plain, &path(&h, Endpoint::Token)).await);
}

#[tokio::test]
async fn the_token_response_is_readable_by_its_clients_origin_only() {
    // covers: CO-01
    let h = harness().await;
    // The SPA redeems a code from its own origin: readable, with the
    // challenge and nonce headers exposed.
    let code = h.issue_code(CodeSpec::new(SPA).scope("read")).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", code.verifier.as_deref().unwrap()),
        ("client_id", SPA),
    ];
    let resp = post_from(&h, Endpoint::Token, Some(SPA_ORIGIN), &params).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    allows(&resp, SPA_ORIGIN);
    assert_eq!(
        resp.header("Access-Control-Expose-Headers"),
        Some("WWW-Authenticate, DPoP-Nonce")
    );
    assert_eq!(resp.header("Vary"), Some("Origin"));
    // An error after the client was authenticated (the code is used up)
    // is readable by its origin too: the SPA must see `invalid_grant`.
    let again = post_from(&h, Endpoint::Token, Some(SPA_ORIGIN), &params).await;
    assert_eq!(again.status(), 400);
    allows(&again, SPA_ORIGIN);
    // Another client's registered origin cannot read what concerns the
    // SPA, though it passes preflights.
    let code = h.issue_code(CodeSpec::new(SPA).scope("read")).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", code.verifier.as_deref().unwrap()),
        ("client_id", SPA),
    ];
    let resp = post_from(&h, Endpoint::Token, Some(OTHER_ORIGIN), &params).await;
    assert_eq!(resp.status(), 200);
    no_cors(&resp);
    // Without an Origin (not a browser): no CORS headers, still Vary.
    let resp = post_from(&h, Endpoint::Token, None, &[("grant_type", "nope")]).await;
    no_cors(&resp);
    assert_eq!(resp.header("Vary"), Some("Origin"));
}

#[tokio::test]
async fn a_refusal_before_any_client_is_readable_by_registered_origins() {
    // covers: CO-01
    let h = harness().await;
    // Unknown client, no client at all, unsupported grant: the answer
    // concerns no client and carries only the error.
    for params in [
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ][..],
        &[("grant_type", "authorization_code")][..],
        &[("grant_type", "nope"), ("client_id", SPA)][..],
    ] {
        for origin in [SPA_ORIGIN, OTHER_ORIGIN] {
            let resp = post_from(&h, Endpoint::Token, Some(origin), params).await;
            assert!(resp.status() >= 400, "{params:?}");
            allows(&resp, origin);
        }
        no_cors(&post_from(&h, Endpoint::Token, Some(STRANGER), params).await);
    }
}

#[tokio::test]
async fn revocation_pushed_and_device_requests_follow_the_client() {
    // covers: CO-01
    let h = harness().await;
    let (access, _) = token_of(&h, SPA).await;
    let revoke = [("token", access.as_str()), ("client_id", SPA)];
    let resp = post_from(&h, Endpoint::Revocation, Some(SPA_ORIGIN), &revoke).await;
    assert_eq!(resp.status(), 200);
    allows(&resp, SPA_ORIGIN);
    no_cors(&post_from(&h, Endpoint::Revocation, Some(OTHER_ORIGIN), &revoke).await);

    let device = [("client_id", SPA), ("scope", "read")];
    let resp = post_from(&h, Endpoint::DeviceAuthorization, Some(SPA_ORIGIN), &device).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    allows(&resp, SPA_ORIGIN);
    no_cors(
        &post_from(
            &h,
            Endpoint::DeviceAuthorization,
            Some(OTHER_ORIGIN),
            &device,
        )
        .await,
    );

    let challenge = s256("a-verifier-long-enough-for-pkce-0123456789abcdef");
    let push = [
        ("client_id", SPA),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let resp = post_from(
        &h,
        Endpoint::PushedAuthorizationRequest,
        Some(SPA_ORIGIN),
        &push,
    )
    .await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    allows(&resp, SPA_ORIGIN);
    no_cors(
        &post_from(
            &h,
            Endpoint::PushedAuthorizationRequest,
            Some(OTHER_ORIGIN),
            &push,
        )
        .await,
    );
}

#[tokio::test]
async fn userinfo_is_readable_by_the_tokens_clients_origin() {
    // covers: CO-01
    let h = harness().await;
    let (access, _) = token_of(&h, SPA).await;
    let resp = userinfo_from(&h, SPA_ORIGIN, &access).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    allows(&resp, SPA_ORIGIN);
    assert_eq!(resp.header("Vary"), Some("Origin"));
    // The SPA's token read from the other client's origin: not readable.
    no_cors(&userinfo_from(&h, OTHER_ORIGIN, &access).await);
    // An invalid token concerns no client: a registered origin reads the
    // challenge (WWW-Authenticate is exposed), so the SPA can refresh.
    let resp = userinfo_from(&h, SPA_ORIGIN, "not-a-token").await;
    assert_eq!(resp.status(), 401);
    allows(&resp, SPA_ORIGIN);
    assert!(resp.header("WWW-Authenticate").is_some());
    assert!(
        resp.header("Access-Control-Expose-Headers")
            .unwrap()
            .contains("WWW-Authenticate")
    );
    no_cors(&userinfo_from(&h, STRANGER, "not-a-token").await);
}

#[tokio::test]
async fn introspection_answers_no_origin() {
    // covers: CO-01
    let h = harness().await;
    for origin in [SPA_ORIGIN, STRANGER] {
        let resp = preflight(&h, Endpoint::Introspection, origin, "POST").await;
        assert_eq!(resp.status(), 204);
        no_cors(&resp);
    }
    let (access, _) = token_of(&h, SPA).await;
    let body = form(&[("token", access.as_str())]);
    let basic = h.rs.basic();
    let req = form_request(body.as_bytes(), Some(basic.as_bytes()))
        .header("Origin", SPA_ORIGIN.as_bytes());
    let resp = h
        .server
        .handle(&req, &path(&h, Endpoint::Introspection))
        .await;
    assert_eq!(resp.status(), 200);
    no_cors(&resp);
    assert_eq!(resp.header("Vary"), None);
}

#[tokio::test]
async fn documents_are_readable_from_any_origin() {
    // covers: CO-01
    let h = harness().await;
    for e in DOCUMENTS {
        for origin in [Some(SPA_ORIGIN), Some(STRANGER), Some("null"), None] {
            let req = Request::new(Method::Get);
            let req = match origin {
                Some(o) => req.header("Origin", o.as_bytes()),
                None => req,
            };
            let resp = h.server.handle(&req, &path(&h, e)).await;
            assert_eq!(resp.status(), 200, "{e:?}");
            allows(&resp, "*");
            // The same answer for every origin: nothing to vary on.
            assert_eq!(resp.header("Vary"), None);
        }
        for origin in [SPA_ORIGIN, STRANGER] {
            let resp = preflight_asking(&h, e, origin, "GET", "").await;
            assert_eq!(resp.status(), 204);
            allows(&resp, "*");
            assert_eq!(
                resp.header("Access-Control-Allow-Methods"),
                Some("GET, HEAD")
            );
        }
        // The facade's own methods answer the same as `handle`.
    }
    allows(&h.server.metadata(), "*");
    allows(&h.server.jwks().await, "*");
}

#[tokio::test]
async fn the_authorization_endpoint_sends_no_cors_headers() {
    // covers: CO-01
    let h = harness().await;
    let challenge = s256("a-verifier-long-enough-for-pkce-0123456789abcdef");
    let query = form(&[
        ("client_id", SPA),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid read"),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
    ]);
    let req = Request::new(Method::Get)
        .query(&query)
        .header("Origin", SPA_ORIGIN.as_bytes());
    let AuthorizeStep::Redirect(resp) = h.server.authorize(&req, None).await else {
        panic!("prompt=none without a session redirects");
    };
    no_cors(&resp);
    let bad = Request::new(Method::Get)
        .query("client_id=nobody")
        .header("Origin", SPA_ORIGIN.as_bytes());
    let AuthorizeStep::Invalid(page) = h.server.authorize(&bad, None).await else {
        panic!("an unknown client is an error page");
    };
    no_cors(&page);
    // It is not served by path, so no preflight reaches it either.
    let pre = Request::new(Method::Options)
        .header("Origin", SPA_ORIGIN.as_bytes())
        .header("Access-Control-Request-Method", b"GET");
    let resp = h
        .server
        .handle(&pre, &h.server.config().paths.authorization)
        .await;
    assert_eq!(resp.status(), 404);
    no_cors(&resp);
}

#[tokio::test]
async fn a_store_failure_refuses_the_origin() {
    // covers: CO-01
    let (h, flaky) = Harness::flaky(config()).await;
    h.public(SPA, |b| {
        b.allowed_cors_origin(Origin::parse(SPA_ORIGIN).unwrap())
    })
    .await;
    allows(
        &preflight(&h, Endpoint::Token, SPA_ORIGIN, "POST").await,
        SPA_ORIGIN,
    );
    flaky.fail(Op::FindCorsOrigin);
    no_cors(&preflight(&h, Endpoint::Token, SPA_ORIGIN, "POST").await);
}
