//! Token exchange (RFC 8693) end to end, on every host: the demo turns it on
//! when a seed client lists the grant, with its fixed rule
//! (`examples/demo/exchange.rs`). A user's access token (password grant)
//! is exchanged by a confidential client with and without an actor token;
//! the issued JWT access tokens are verified by `jsonwebtoken` against the
//! demo's JWKS (`sub`, `aud`, `scope`, `act`), and the response's
//! `issued_token_type` checked. The refusals: a client without the
//! policy's permission, one not registered for the grant, a subject token
//! without a user, and `may_act`.

use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, Framework, PW_SECRET, SVC_SECRET, Server};

const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const API: &str = "https://api.example.com/";
const GATEWAY_SECRET: &str = "gate:way+se%cret ~";

/// `pw` gets users' tokens (JWTs, password grant); `gateway` exchanges;
/// `svc` is the actor of a delegation; `kiosk` is public and registered
/// for the grant (the demo's rule refuses it), `plain` is not registered
/// for it. carol's tokens say only `svc` may act for her.
fn seed(base: &str) -> Value {
    json!({
        "issuer": base,
        "clients": [
            {"client_id": "pw", "client_secret": PW_SECRET, "redirect_uris": [],
             "grant_types": ["password", "refresh_token"], "scope": "read write",
             "access_token_format": "jwt", "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "gateway", "client_secret": GATEWAY_SECRET, "redirect_uris": [],
             "grant_types": [TE, "client_credentials"], "scope": "read write",
             "access_token_format": "jwt", "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "svc", "client_secret": SVC_SECRET, "redirect_uris": [],
             "grant_types": ["client_credentials"], "scope": "read",
             "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "plain", "client_secret": SVC_SECRET, "redirect_uris": [],
             "grant_types": ["client_credentials"], "scope": "read",
             "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "kiosk", "redirect_uris": [], "grant_types": [TE],
             "scope": "read", "token_endpoint_auth_method": "none"}
        ],
        "users": [
            {"username": "alice", "password": ALICE_PASSWORD},
            {"username": "carol", "password": ALICE_PASSWORD,
             "claims": {"may_act": {"sub": "svc"}}}
        ],
        "resources": [API]
    })
}

async fn metadata(server: &Server) -> Value {
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
    serde_json::from_str(&body).unwrap()
}

/// A token request with Basic authentication (`None`: a public client,
/// whose `client_id` is in `form`); the status and the JSON body.
async fn token(
    server: &Server,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = harness::http_client()
        .post(format!("{}/token", server.base))
        .form(form);
    if let Some((id, secret)) = basic {
        // RFC 6749 §2.3.1: form-encoded before Basic.
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        req = req.basic_auth(enc(id), Some(enc(secret)));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

/// A user's access token through the password grant.
async fn user_token(server: &Server, user: &str) -> String {
    let (status, body) = token(
        server,
        Some(("pw", PW_SECRET)),
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", ALICE_PASSWORD),
            ("scope", "read write"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `svc`'s own access token (client credentials, opaque).
async fn svc_token(server: &Server) -> String {
    let (status, body) = token(
        server,
        Some(("svc", SVC_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Exchanges as `gateway`: the request's own parameters after `grant_type`.
async fn exchange(server: &Server, params: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", TE)];
    form.extend_from_slice(params);
    token(server, Some(("gateway", GATEWAY_SECRET)), &form).await
}

/// An access token's claims, verified by `jsonwebtoken` with the key of its
/// `kid` in the demo's JWKS, its issuer the demo's and its audience `aud`.
async fn verified(server: &Server, jwt: &str, aud: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks_uri = metadata(server).await["jwks_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = harness::http_client()
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&body).unwrap();
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&server.base]);
    v.set_audience(&[aud]);
    v.required_spec_claims = ["exp", "iat", "iss", "aud", "sub"]
        .map(String::from)
        .into_iter()
        .collect();
    jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims
}

async fn exchange_with_and_without_an_actor(framework: Framework) {
    // covers: TE-01
    let server = Server::start_seeded(framework, seed, &[]).await;
    let listed = metadata(&server).await["grant_types_supported"].clone();
    assert!(listed.as_array().unwrap().contains(&json!(TE)), "{listed}");
    let alice = user_token(&server, "alice").await;

    // Impersonation: no actor token, no `act`.
    let (status, body) = exchange(
        &server,
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("audience", API),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], AT);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let claims = verified(&server, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["client_id"], "gateway");
    assert!(claims.get("act").is_none(), "{claims}");

    // Delegation: `svc`'s own token as the actor token; `act` names it.
    let svc = svc_token(&server).await;
    let (status, body) = exchange(
        &server,
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("actor_token", &svc),
            ("actor_token_type", AT),
            ("resource", API),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], AT);
    let delegated = body["access_token"].as_str().unwrap().to_owned();
    let claims = verified(&server, &delegated, API).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], API);
    // Without `scope`: the subject token's, within gateway's.
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["act"], json!({"sub": "svc", "client_id": "svc"}));

    // The delegated token exchanged again without an actor keeps its `act`
    // (a delegated token is never laundered into a plain one).
    let (status, body) = exchange(
        &server,
        &[
            ("subject_token", &delegated),
            ("subject_token_type", AT),
            ("audience", API),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = verified(&server, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["act"], json!({"sub": "svc", "client_id": "svc"}));

    // `may_act`: carol's tokens name `svc` alone; acting as `svc` works,
    // gateway acting for itself does not.
    let carol = user_token(&server, "carol").await;
    let (status, body) = exchange(
        &server,
        &[
            ("subject_token", &carol),
            ("subject_token_type", AT),
            ("actor_token", &svc),
            ("actor_token_type", AT),
            ("audience", API),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = verified(&server, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["sub"], "carol");
    assert_eq!(claims["act"]["sub"], "svc");
    let (status, body) = exchange(
        &server,
        &[("subject_token", &carol), ("subject_token_type", AT)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn exchange_refused_without_permission(framework: Framework) {
    // covers: TE-01
    let server = Server::start_seeded(framework, seed, &[]).await;
    let alice = user_token(&server, "alice").await;
    let svc = svc_token(&server).await;
    let subject = [
        ("grant_type", TE),
        ("subject_token", alice.as_str()),
        ("subject_token_type", AT),
    ];
    // A public client registered for the grant: the demo's rule says no.
    let mut form = subject.to_vec();
    form.push(("client_id", "kiosk"));
    let (status, body) = token(&server, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
    // A client not registered for the grant.
    let (status, body) = token(&server, Some(("plain", SVC_SECRET)), &subject).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
    // A subject token without a user (a client's own), and no token at all.
    for subject_token in [svc.as_str(), "not-a-token"] {
        let (status, body) = exchange(
            &server,
            &[("subject_token", subject_token), ("subject_token_type", AT)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    // An audience the server does not know.
    let (status, body) = exchange(
        &server,
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("audience", "https://elsewhere.example/"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );

    // A seed without a client registered for the grant: not offered, not
    // advertised.
    let server = Server::start_seeded(
        framework,
        |base| {
            let mut s = seed(base);
            s["clients"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["client_id"] != "gateway" && c["client_id"] != "kiosk");
            s
        },
        &[],
    )
    .await;
    let listed = metadata(&server).await["grant_types_supported"].clone();
    assert!(!listed.as_array().unwrap().contains(&json!(TE)), "{listed}");
    let alice = user_token(&server, "alice").await;
    let (status, body) = token(
        &server,
        Some(("plain", SVC_SECRET)),
        &[
            ("grant_type", TE),
            ("subject_token", alice.as_str()),
            ("subject_token_type", AT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{body}"
    );
}

on_every_framework!(
    exchange_with_and_without_an_actor,
    exchange_refused_without_permission
);
