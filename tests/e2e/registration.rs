//! Dynamic client registration (RFC 7591, RFC 7592) end to end, on every
//! host: a client registers over HTTP at the `registration_endpoint` the
//! metadata names (behind the seed's `registration.initial_access_token`),
//! then uses its new credentials with a real client library (the `oauth2`
//! crate: `client_credentials`, and the code flow through the demo's login
//! and consent pages), reads, updates and deletes its registration with its
//! registration access token, and is refused once deleted.

use oauth2::{PkceCodeChallenge, Scope, TokenResponse};
use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, CALLBACK, Framework, Server, Session};

const IAT: &str = "e2e-initial-access-token-8c1f0b7a";

fn seed(base: &str) -> Value {
    json!({
        "issuer": base,
        "clients": [],
        "users": [{"username": "alice", "password": ALICE_PASSWORD}],
        "registration": {"initial_access_token": IAT}
    })
}

async fn send(
    method: reqwest::Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, Option<String>, Value) {
    let mut req = harness::http_client().request(method, url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, challenge, body)
}

async fn register_use_read_update_delete(framework: Framework) {
    // covers: RG-01, RG-02
    let server = Server::start_seeded(framework, seed, &[]).await;
    let (_, _, metadata) = send(
        reqwest::Method::GET,
        &format!("{}/.well-known/oauth-authorization-server", server.base),
        None,
        None,
    )
    .await;
    let endpoint = metadata["registration_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(endpoint, format!("{}/register", server.base));

    let doc = json!({
        "client_name": "Registered over HTTP",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code"],
        "scope": "read write",
        "token_endpoint_auth_method": "client_secret_basic",
    });
    // Without the initial access token, or with another: 401.
    let (status, challenge, _) = send(reqwest::Method::POST, &endpoint, None, Some(&doc)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Bearer"));
    let (status, challenge, _) =
        send(reqwest::Method::POST, &endpoint, Some("guess"), Some(&doc)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    // Invalid metadata: the RFC 7591 code.
    let mut bad = doc.clone();
    bad["redirect_uris"] = json!(["http://app.example/cb"]);
    let (status, _, body) = send(reqwest::Method::POST, &endpoint, Some(IAT), Some(&bad)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_redirect_uri"))
    );

    let (status, _, info) = send(reqwest::Method::POST, &endpoint, Some(IAT), Some(&doc)).await;
    assert_eq!(status, 201, "{info}");
    let id = info["client_id"].as_str().unwrap().to_owned();
    let secret = info["client_secret"].as_str().unwrap().to_owned();
    let token = info["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let config_uri = info["registration_client_uri"].as_str().unwrap().to_owned();
    assert_eq!(config_uri, format!("{endpoint}/{id}"));
    assert_eq!(info["client_secret_expires_at"], 0);
    assert!(info["client_id_issued_at"].as_u64().unwrap() > 1_700_000_000);

    // client_credentials with the new client, through the oauth2 crate.
    let http = harness::http_client();
    let client = crate::oauth_client(&server, &id, Some(&secret));
    let cc = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .expect("client_credentials with the registered client");
    assert!(!cc.access_token().secret().is_empty());

    // The code flow with the new client: login and consent in the browser.
    let session = Session::new(&server);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (callback, _) = crate::authorize(&session, &client, &["read"], challenge).await;
    let code = crate::param(&callback, "code").expect("code in callback");
    let tokens = client
        .exchange_code(oauth2::AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange with the registered client");
    let access = tokens.access_token().secret().clone();
    let me = format!("{}/api/me", server.base);
    let (status, _, _) = send(reqwest::Method::GET, &me, Some(&access), None).await;
    assert_eq!(status, 200);

    // Read.
    let (status, _, read) = send(reqwest::Method::GET, &config_uri, Some(&token), None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["client_id"], id.as_str());
    assert_eq!(read["client_name"], "Registered over HTTP");
    assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());
    // Another token cannot read it.
    let (status, challenge, _) = send(reqwest::Method::GET, &config_uri, Some(&access), None).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));

    // Update (replace): a new name, and no refresh token any more.
    let mut replacement = doc.clone();
    replacement["client_id"] = json!(id);
    replacement["client_name"] = json!("Renamed");
    replacement["grant_types"] = json!(["authorization_code", "client_credentials"]);
    let (status, _, updated) = send(
        reqwest::Method::PUT,
        &config_uri,
        Some(&token),
        Some(&replacement),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "Renamed");
    assert_eq!(
        updated["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );
    // The secret did not change.
    client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .expect("the secret survives an update");

    // Delete: 204, then the client, its tokens and its registration
    // access token are refused.
    let (status, _, _) = send(reqwest::Method::DELETE, &config_uri, Some(&token), None).await;
    assert_eq!(status, 204);
    let (status, challenge, _) = send(reqwest::Method::GET, &config_uri, Some(&token), None).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    let (status, _, _) = send(reqwest::Method::GET, &me, Some(&access), None).await;
    assert_eq!(status, 401, "the deleted client's token is refused");
    assert!(
        client
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .is_err(),
        "a deleted client gets no tokens"
    );
}

/// Without `registration.initial_access_token` in the seed, registration is
/// open.
async fn open_without_a_seed_token(framework: Framework) {
    // covers: RG-01
    let server = Server::start_seeded(
        framework,
        |base| json!({"issuer": base, "clients": [], "users": []}),
        &[],
    )
    .await;
    let doc = json!({"grant_types": ["client_credentials"], "scope": "read"});
    let (status, _, info) = send(
        reqwest::Method::POST,
        &format!("{}/register", server.base),
        None,
        Some(&doc),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    assert!(info["client_secret"].is_string());
}

on_every_framework!(register_use_read_update_delete, open_without_a_seed_token);
