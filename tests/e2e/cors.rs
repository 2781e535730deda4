//! CORS (CO-01; issue 19 part 3) on every host: a browser client's
//! preflight and POST to the token endpoint from the origin its seed
//! registered (`allowed_cors_origins`, RFC 7591-style), a stranger's
//! refused, the documents open to any origin, the pages (authorization,
//! login) without CORS headers, and never `Access-Control-Allow-Credentials`.
//! The rule is the core's (`AuthorizationServer::handle`): the adapters
//! only translate, so the answers are the same on axum, actix-web, hyper
//! and tower.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, CALLBACK, Framework, Server};

const ORIGIN: &str = "https://spa.example";
const STRANGER: &str = "https://evil.example";
const SECRET: &str = "browser-secret";

/// A client whose browser front end lives at [`ORIGIN`], one with an
/// entry that is no origin (left out with a note), and alice.
fn seed(base: &str) -> Value {
    json!({
        "issuer": base,
        "clients": [
            {"client_id": "browser", "client_secret": SECRET, "client_name": "Browser App",
             "redirect_uris": [CALLBACK], "response_types": ["code"],
             "grant_types": ["client_credentials", "authorization_code"], "scope": "read",
             "token_endpoint_auth_method": "client_secret_post",
             "allowed_cors_origins": [ORIGIN, "https://spa.example/with/a/path"]},
            {"client_id": "spa", "client_name": "SPA", "redirect_uris": [CALLBACK],
             "grant_types": ["authorization_code"], "response_types": ["code"], "scope": "read",
             "token_endpoint_auth_method": "none"}
        ],
        "users": [{"username": "alice", "password": ALICE_PASSWORD}]
    })
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

#[track_caller]
fn no_credentials(h: &HeaderMap) {
    assert!(h.get("access-control-allow-credentials").is_none(), "{h:?}");
}

#[track_caller]
fn no_cors(h: &HeaderMap) {
    assert!(
        h.keys().all(|n| !n.as_str().starts_with("access-control-")),
        "{h:?}"
    );
}

async fn preflight(server: &Server, path: &str, origin: &str) -> (u16, HeaderMap) {
    let resp = harness::http_client()
        .request(Method::OPTIONS, format!("{}{path}", server.base))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    let out = (resp.status().as_u16(), resp.headers().clone());
    no_credentials(&out.1);
    out
}

async fn token_from(server: &Server, origin: &str) -> (u16, HeaderMap, Value) {
    let resp = harness::http_client()
        .post(format!("{}/token", server.base))
        .header("Origin", origin)
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("client_id", "browser"),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let body = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
    no_credentials(&headers);
    (status, headers, body)
}

async fn a_browser_client_calls_the_token_endpoint_from_its_origin(framework: Framework) {
    // covers: CO-01
    let server = Server::start_seeded(framework, seed, &[]).await;

    // The preflight from the registered origin is let through.
    let (status, h) = preflight(&server, "/token", ORIGIN).await;
    assert_eq!(status, 204, "{h:?}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(header(&h, "access-control-allow-methods"), Some("POST"));
    assert_eq!(
        header(&h, "access-control-allow-headers"),
        Some("Authorization, Content-Type, DPoP")
    );
    assert_eq!(header(&h, "vary"), Some("Origin"));

    // The POST: tokens, readable by that origin.
    let (status, h, body) = token_from(&server, ORIGIN).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        header(&h, "access-control-expose-headers"),
        Some("WWW-Authenticate, DPoP-Nonce")
    );
    assert_eq!(header(&h, "vary"), Some("Origin"));

    // Another origin: the same answers without any CORS header, so the
    // browser lets its page read nothing.
    let (status, h) = preflight(&server, "/token", STRANGER).await;
    assert_eq!(status, 204);
    no_cors(&h);
    let (status, h, _) = token_from(&server, STRANGER).await;
    assert_eq!(status, 200);
    no_cors(&h);
    // The entry with a path was no origin (left out by the seed): nothing.
    let (_, h) = preflight(&server, "/token", "https://spa.example/with/a/path").await;
    no_cors(&h);

    // Revocation answers the registered origin too; introspection none.
    let (_, h) = preflight(&server, "/revoke", ORIGIN).await;
    assert_eq!(header(&h, "access-control-allow-origin"), Some(ORIGIN));
    let (status, h) = preflight(&server, "/introspect", ORIGIN).await;
    assert_eq!(status, 204);
    no_cors(&h);

    // Every client endpoint the metadata names (token, revocation,
    // UserInfo, pushed authorization, device authorization when served)
    // lets the registered origin's preflight through and the stranger's
    // not; introspection none.
    let metadata: Value = serde_json::from_str(
        &harness::http_client()
            .get(format!("{}/.well-known/openid-configuration", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let mut seen = 0;
    for name in [
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
        "pushed_authorization_request_endpoint",
        "device_authorization_endpoint",
    ] {
        let Some(url) = metadata[name].as_str() else {
            continue;
        };
        let path = url.strip_prefix(server.base.as_str()).unwrap();
        let (status, h) = preflight(&server, path, ORIGIN).await;
        assert_eq!(status, 204, "{name}");
        assert_eq!(
            header(&h, "access-control-allow-origin"),
            Some(ORIGIN),
            "{name}"
        );
        assert!(
            header(&h, "access-control-allow-methods").is_some_and(|m| m.contains("POST")),
            "{name}: {h:?}"
        );
        let (_, h) = preflight(&server, path, STRANGER).await;
        no_cors(&h);
        seen += 1;
    }
    assert!(
        seen >= 4,
        "the metadata names the client endpoints: {metadata}"
    );
    let url = metadata["introspection_endpoint"].as_str().unwrap();
    let (_, h) = preflight(
        &server,
        url.strip_prefix(server.base.as_str()).unwrap(),
        ORIGIN,
    )
    .await;
    no_cors(&h);
}

async fn documents_are_open_and_pages_are_not(framework: Framework) {
    // covers: CO-01
    let server = Server::start_seeded(framework, seed, &[]).await;
    let http = harness::http_client();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/jwks.json",
    ] {
        let resp = http
            .get(format!("{}{path}", server.base))
            .header("Origin", STRANGER)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(
            header(resp.headers(), "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        no_credentials(resp.headers());
        // Their preflight from any origin passes too.
        let pre = http
            .request(Method::OPTIONS, format!("{}{path}", server.base))
            .header("Origin", STRANGER)
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), 204, "{path}");
        assert_eq!(
            header(pre.headers(), "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        no_credentials(pre.headers());
    }
    // The authorization endpoint and the login page are the host's pages:
    // no CORS header, whatever the origin.
    let url = format!(
        "{}/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=read\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        server.base,
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    let login = http
        .get(&url)
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    no_cors(login.headers());
    let pre = http
        .request(Method::OPTIONS, &url)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    no_cors(pre.headers());
    let posted = http
        .post(format!("{}/login", server.base))
        .header("Origin", ORIGIN)
        .form(&[("username", "alice"), ("password", ALICE_PASSWORD)])
        .send()
        .await
        .unwrap();
    no_cors(posted.headers());
}

on_every_framework!(
    a_browser_client_calls_the_token_endpoint_from_its_origin,
    documents_are_open_and_pages_are_not
);
