//! Dynamic client registration (RFC 7591, RFC 7592; issue 19 part 2): the
//! registration endpoint (RG-01) and the client configuration endpoint
//! (RG-02), through the public API.

use std::sync::Arc;

use portcullis::http::{Method, Request, Response};
use portcullis::routes::Endpoint;
use portcullis::{
    Client, ClientStore, InitialAccessToken, OpenRegistration, Registrant, RegistrationOperation,
    RegistrationPolicy, RegistrationRefusal, ScopeSet, async_trait,
};
use serde_json::{Value, json};

use crate::support::*;

const IAT: &str = "initial-access-token-0123456789abcdef";

/// A server with registration behind [`IAT`], scopes within `read write`.
async fn fixture() -> Harness {
    with_policy(Arc::new(
        InitialAccessToken::new(IAT).allowed_scope(scope("read write")),
    ))
    .await
}

async fn with_policy(policy: Arc<dyn RegistrationPolicy>) -> Harness {
    Harness::with_registration(config(), policy).await
}

/// Sends `method` with a JSON `body` to `path`, with `bearer` if any.
async fn send_json(
    h: &Harness,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut req = Request::new(Method::parse(method))
        .with_target(method, path)
        .body(&bytes);
    if body.is_some() {
        req = req.header("Content-Type", b"application/json");
    }
    if let Some(a) = &auth {
        req = req.header("Authorization", a.as_bytes());
    }
    h.server.handle(&req, path).await
}

async fn register(h: &Harness, bearer: Option<&str>, body: &Value) -> Response {
    send_json(h, "POST", "/register", bearer, Some(body)).await
}

/// The path of a `registration_client_uri`.
fn path_of(info: &Value) -> String {
    info["registration_client_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(ISSUER)
        .unwrap()
        .to_owned()
}

fn service() -> Value {
    json!({
        "client_name": "Billing",
        "grant_types": ["client_credentials"],
        "scope": "read",
        "token_endpoint_auth_method": "client_secret_basic",
    })
}

fn web_app() -> Value {
    json!({
        "client_name": "Web app",
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "read write",
        "token_endpoint_auth_method": "client_secret_post",
        "contacts": ["ops@app.example"],
        "logo_uri": "https://app.example/logo.png",
    })
}

#[tokio::test]
async fn registration_answers_201_with_the_client_information() {
    // covers: RG-01
    let h = fixture().await;
    let resp = register(&h, Some(IAT), &service()).await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    let info = json(&resp);
    let id = info["client_id"].as_str().unwrap();
    assert!(id.len() >= 22, "{id}");
    let secret = info["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(info["client_id_issued_at"], T0);
    assert_eq!(info["client_secret_expires_at"], 0);
    let token = info["registration_access_token"].as_str().unwrap();
    assert!(token.len() >= 43);
    assert_eq!(
        info["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    assert_eq!(info["grant_types"], json!(["client_credentials"]));
    assert_eq!(info["response_types"], json!([]));
    assert_eq!(info["scope"], "read");
    assert_eq!(info["client_name"], "Billing");
    // The new client works at once.
    let creds = Creds {
        id: id.to_owned(),
        secret: Some(secret.to_owned()),
    };
    let (access, _) = tokens(
        &h.client_credentials(Auth::Basic(&creds), Some("read"))
            .await,
    );
    assert!(h.active(&access).await);
}

#[tokio::test]
async fn secrets_and_tokens_are_stored_as_hashes_and_shown_once() {
    // covers: RG-01
    let h = fixture().await;
    let info = json(&register(&h, Some(IAT), &web_app()).await);
    let id = info["client_id"].as_str().unwrap();
    let secret = info["client_secret"].as_str().unwrap();
    let token = info["registration_access_token"].as_str().unwrap();
    let stored = h.client(id).await;
    let secret_hash = stored.secret_hash().unwrap();
    assert!(secret_hash.verify(secret));
    assert!(!secret_hash.encode().contains(secret));
    let token_hash = stored.registration_access_token_hash().unwrap();
    assert!(token_hash.verify(token));
    assert!(token_hash.encode().starts_with("sha256$"));
    assert!(!token_hash.encode().contains(token));
    let debug = format!("{stored:?}");
    assert!(!debug.contains(secret) && !debug.contains(token));
    // Read back: neither the secret nor the token again.
    let read = send_json(&h, "GET", &path_of(&info), Some(token), None).await;
    assert_eq!(read.status(), 200);
    let read = json(&read);
    assert!(read.get("client_secret").is_none());
    assert!(read.get("registration_access_token").is_none());
    assert_eq!(read["client_id"], id);
    assert_eq!(read["redirect_uris"], json!(["https://app.example/cb"]));
    assert_eq!(read["contacts"], json!(["ops@app.example"]));
    assert_eq!(read["response_types"], json!(["code"]));
}

#[tokio::test]
async fn public_and_private_key_jwt_clients_get_no_secret() {
    // covers: RG-01
    let h = fixture().await;
    let spa = json!({
        "redirect_uris": ["https://spa.example/cb"],
        "token_endpoint_auth_method": "none",
        "scope": "read",
    });
    let info = json(&register(&h, Some(IAT), &spa).await);
    assert!(info.get("client_secret").is_none());
    assert!(info.get("client_secret_expires_at").is_none());
    assert!(info["registration_access_token"].is_string());
    assert_eq!(info["token_endpoint_auth_method"], "none");
    let pk = json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://rp.example/jwks.json",
    });
    let resp = register(&h, Some(IAT), &pk).await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let info = json(&resp);
    assert!(info.get("client_secret").is_none());
    assert_eq!(info["jwks_uri"], "https://rp.example/jwks.json");
}

#[tokio::test]
async fn the_initial_access_token_is_required_and_checked() {
    // covers: RG-01
    let h = fixture().await;
    let none = register(&h, None, &service()).await;
    assert_eq!(none.status(), 401);
    assert!(
        none.header("WWW-Authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = register(&h, Some("not-the-token"), &service()).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .header("WWW-Authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(json(&wrong)["error"], "invalid_token");
    assert_eq!(
        portcullis::ClientAdmin::clients(&h.store)
            .await
            .unwrap()
            .len(),
        1,
        "only the RS"
    );
}

#[tokio::test]
async fn open_registration_needs_no_token() {
    // covers: RG-01
    let h = with_policy(Arc::new(OpenRegistration::new())).await;
    let resp = register(&h, None, &service()).await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn every_validation_error_has_its_code() {
    // covers: RG-01
    let h = fixture().await;
    let with = |patch: Value| {
        let mut doc = web_app();
        for (k, v) in patch.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc
    };
    let cases: Vec<(Value, &str)> = vec![
        // Redirect URIs.
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (
            with(json!({"redirect_uris": "https://app.example/cb"})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["/relative"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://app.example/cb#f"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["http://app.example/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(
                json!({"application_type": "native", "redirect_uris": ["https://app.example/cb"]}),
            ),
            "invalid_redirect_uri",
        ),
        // Grant and response types.
        (
            with(json!({"grant_types": ["implicit"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"response_types": ["token"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"response_types": []})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["client_credentials"], "response_types": ["code"]})),
            "invalid_client_metadata",
        ),
        // Methods and keys.
        (
            with(json!({"token_endpoint_auth_method": "magic"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "client_secret_jwt"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt",
                        "jwks": {"keys": []}, "jwks_uri": "https://app.example/jwks"})),
            "invalid_client_metadata",
        ),
        (
            with(
                json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"],
                        "response_types": []}),
            ),
            "invalid_client_metadata",
        ),
        // URIs, types and text.
        (
            with(json!({"jwks_uri": "http://app.example/jwks"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"logo_uri": "not a url"})),
            "invalid_client_metadata",
        ),
        (with(json!({"client_name": ""})), "invalid_client_metadata"),
        (
            with(json!({"contacts": "ops@app.example"})),
            "invalid_client_metadata",
        ),
        (with(json!({"scope": 7})), "invalid_client_metadata"),
        (
            with(json!({"default_max_age": -1})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"subject_type": "secret"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"sector_identifier_uri": "https://app.example/s.json"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"id_token_signed_response_alg": "none"})),
            "invalid_client_metadata",
        ),
        // Fields the server sets.
        (
            with(json!({"client_id": "mine"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"client_secret": "mine"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"client_secret_expires_at": 5})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"registration_access_token": "x"})),
            "invalid_client_metadata",
        ),
        // The policy's scope.
        (
            with(json!({"scope": "read admin"})),
            "invalid_client_metadata",
        ),
        // Software statements.
        (
            with(json!({"software_statement": "nope"})),
            "invalid_software_statement",
        ),
        // Not an object.
        (json!(["a"]), "invalid_client_metadata"),
    ];
    for (doc, code) in cases {
        let resp = register(&h, Some(IAT), &doc).await;
        assert_error(&resp, 400, code);
        assert!(
            resp.cause().is_some(),
            "{doc}: a refused registration carries its cause"
        );
    }
    // Malformed JSON and the wrong content type.
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/json")
        .header(
            "Authorization",
            format!("Bearer {IAT}").as_bytes().to_vec().leak(),
        )
        .body(b"{not json");
    assert_error(
        &h.server.registration(&req).await,
        400,
        "invalid_client_metadata",
    );
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header(
            "Authorization",
            format!("Bearer {IAT}").as_bytes().to_vec().leak(),
        )
        .body(b"client_name=x");
    assert_error(&h.server.registration(&req).await, 400, "invalid_request");
    // Nothing was registered.
    assert_eq!(
        portcullis::ClientAdmin::clients(&h.store)
            .await
            .unwrap()
            .len(),
        1,
        "only the RS"
    );
}

/// A policy that forces a scope, sets an owner, and refuses `password`-like
/// names and software statements.
struct Strict;

#[async_trait]
impl RegistrationPolicy for Strict {
    async fn admit(&self, token: Option<&str>) -> bool {
        token == Some(IAT)
    }

    async fn review(
        &self,
        who: &Registrant<'_>,
        client: Client,
    ) -> Result<Client, RegistrationRefusal> {
        if who.software_statement.is_some() {
            return Err(RegistrationRefusal::InvalidSoftwareStatement);
        }
        if client.client_name().contains("evil") {
            return Err(RegistrationRefusal::InvalidClientMetadata);
        }
        if client
            .redirect_uris()
            .iter()
            .any(|u| u.as_str().contains("attacker"))
        {
            return Err(RegistrationRefusal::InvalidRedirectUri);
        }
        let owner = match who.operation {
            RegistrationOperation::Register => "self-service",
            _ => "self-service-updated",
        };
        client
            .into_builder()
            .scope(ScopeSet::parse("read").unwrap())
            .owner(Some(owner.to_owned()))
            .build()
            .map_err(|_| RegistrationRefusal::InvalidClientMetadata)
    }

    fn rotates_secret_on_update(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn the_policy_may_rewrite_or_refuse() {
    // covers: RG-01
    let h = with_policy(Arc::new(Strict)).await;
    let info = json(&register(&h, Some(IAT), &web_app()).await);
    assert_eq!(info["scope"], "read", "forced");
    let id = info["client_id"].as_str().unwrap();
    assert_eq!(h.client(id).await.owner(), Some("self-service"));
    let mut evil = web_app();
    evil["client_name"] = json!("evil app");
    assert_error(
        &register(&h, Some(IAT), &evil).await,
        400,
        "invalid_client_metadata",
    );
    let mut bad_uri = web_app();
    bad_uri["redirect_uris"] = json!(["https://attacker.example/cb"]);
    assert_error(
        &register(&h, Some(IAT), &bad_uri).await,
        400,
        "invalid_redirect_uri",
    );
    let mut statement = web_app();
    statement["software_statement"] = json!("eyJhbGciOiJub25lIn0.eyJzb2Z0d2FyZV9pZCI6IngifQ.");
    assert_error(
        &register(&h, Some(IAT), &statement).await,
        400,
        "invalid_software_statement",
    );
}

#[tokio::test]
async fn a_wrong_or_missing_registration_access_token_is_401() {
    // covers: RG-02
    let h = fixture().await;
    let a = json(&register(&h, Some(IAT), &service()).await);
    let b = json(&register(&h, Some(IAT), &service()).await);
    let a_token = a["registration_access_token"].as_str().unwrap();
    let b_token = b["registration_access_token"].as_str().unwrap();
    let a_path = path_of(&a);
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(service);
        let missing = send_json(&h, method, &a_path, None, body.as_ref()).await;
        assert_eq!(missing.status(), 401, "{method}");
        assert_eq!(
            missing.header("WWW-Authenticate"),
            Some("Bearer realm=\"oauth\"")
        );
        for wrong in [b_token, "x", IAT] {
            let resp = send_json(&h, method, &a_path, Some(wrong), body.as_ref()).await;
            assert_eq!(resp.status(), 401, "{method} {wrong}");
            assert!(
                resp.header("WWW-Authenticate")
                    .unwrap()
                    .contains("invalid_token")
            );
        }
    }
    // An access token of the client is not its registration access token.
    let creds = Creds {
        id: a["client_id"].as_str().unwrap().to_owned(),
        secret: a["client_secret"].as_str().map(str::to_owned),
    };
    let (access, _) = tokens(&h.client_credentials(Auth::Basic(&creds), None).await);
    let resp = send_json(&h, "GET", &a_path, Some(&access), None).await;
    assert_eq!(resp.status(), 401);
    // An unknown client is the same 401, not 404.
    let resp = send_json(&h, "GET", "/register/nobody", Some(a_token), None).await;
    assert_eq!(resp.status(), 401);
    // A client registered by the operator has no registration token.
    let resp = send_json(&h, "GET", &format!("/register/{RS}"), Some(a_token), None).await;
    assert_eq!(resp.status(), 401);
    // Still fine with the right token.
    assert_eq!(
        send_json(&h, "GET", &a_path, Some(a_token), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn update_replaces_the_metadata_and_keeps_the_secret() {
    // covers: RG-02
    let h = fixture().await;
    let info = json(&register(&h, Some(IAT), &web_app()).await);
    let id = info["client_id"].as_str().unwrap().to_owned();
    let secret = info["client_secret"].as_str().unwrap().to_owned();
    let token = info["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = path_of(&info);
    // The operator disables it meanwhile: an update must not re-enable it.
    let disabled = h
        .client(&id)
        .await
        .into_builder()
        .enabled(false)
        .build()
        .unwrap();
    h.update(disabled).await;
    // Replace: contacts and logo left out are gone; a new redirect URI.
    let replacement = json!({
        "client_id": id,
        "client_name": "Web app v2",
        "redirect_uris": ["https://app.example/v2/cb"],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "read",
    });
    let resp = send_json(&h, "PUT", &path, Some(&token), Some(&replacement)).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let updated = json(&resp);
    assert!(updated.get("client_secret").is_none(), "secret unchanged");
    assert_eq!(updated["client_name"], "Web app v2");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://app.example/v2/cb"])
    );
    assert!(updated.get("contacts").is_none() && updated.get("logo_uri").is_none());
    let stored = h.client(&id).await;
    assert!(stored.secret_hash().unwrap().verify(&secret));
    assert!(
        stored
            .registration_access_token_hash()
            .unwrap()
            .verify(&token)
    );
    assert!(!stored.is_enabled(), "the operator's decision stays");
    assert!(stored.contacts().is_empty());
    // The client_id must be there and be the client's; a sent secret must match.
    let mut other = replacement.clone();
    other["client_id"] = json!("someone-else");
    assert_error(
        &send_json(&h, "PUT", &path, Some(&token), Some(&other)).await,
        400,
        "invalid_client_metadata",
    );
    let mut without = replacement.clone();
    without.as_object_mut().unwrap().remove("client_id");
    assert_error(
        &send_json(&h, "PUT", &path, Some(&token), Some(&without)).await,
        400,
        "invalid_client_metadata",
    );
    let mut wrong_secret = replacement.clone();
    wrong_secret["client_secret"] = json!("guess");
    assert_error(
        &send_json(&h, "PUT", &path, Some(&token), Some(&wrong_secret)).await,
        400,
        "invalid_client_metadata",
    );
    let mut right_secret = replacement.clone();
    right_secret["client_secret"] = json!(secret);
    assert_eq!(
        send_json(&h, "PUT", &path, Some(&token), Some(&right_secret))
            .await
            .status(),
        200
    );
    // Invalid metadata is refused and changes nothing.
    let mut insecure = replacement.clone();
    insecure["redirect_uris"] = json!(["http://app.example/cb"]);
    assert_error(
        &send_json(&h, "PUT", &path, Some(&token), Some(&insecure)).await,
        400,
        "invalid_redirect_uri",
    );
    assert_eq!(
        h.client(&id).await.redirect_uris()[0].as_str(),
        "https://app.example/v2/cb"
    );
}

#[tokio::test]
async fn a_policy_may_rotate_the_secret_on_update() {
    // covers: RG-02
    let h = with_policy(Arc::new(Strict)).await;
    let info = json(&register(&h, Some(IAT), &web_app()).await);
    let id = info["client_id"].as_str().unwrap().to_owned();
    let old_secret = info["client_secret"].as_str().unwrap().to_owned();
    let token = info["registration_access_token"].as_str().unwrap();
    let mut doc = web_app();
    doc["client_id"] = json!(id);
    let updated = json(&send_json(&h, "PUT", &path_of(&info), Some(token), Some(&doc)).await);
    let new_secret = updated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    let stored = h.client(&id).await;
    assert!(stored.secret_hash().unwrap().verify(new_secret));
    assert!(!stored.secret_hash().unwrap().verify(&old_secret));
    assert_eq!(stored.owner(), Some("self-service-updated"));
}

#[tokio::test]
async fn delete_removes_the_client_and_revokes_its_tokens() {
    // covers: RG-02
    let h = fixture().await;
    let info = json(&register(&h, Some(IAT), &service()).await);
    let id = info["client_id"].as_str().unwrap().to_owned();
    let token = info["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let creds = Creds {
        id: id.clone(),
        secret: info["client_secret"].as_str().map(str::to_owned),
    };
    let (access, _) = tokens(
        &h.client_credentials(Auth::Basic(&creds), Some("read"))
            .await,
    );
    assert!(h.active(&access).await);
    let path = path_of(&info);
    let resp = send_json(&h, "DELETE", &path, Some(&token), None).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.body().is_empty());
    assert!(h.store.client(&id_of(&id)).await.unwrap().is_none());
    // Its access token is revoked in the store, not only refused.
    let hash = portcullis::TokenHash::of(&access);
    assert!(
        portcullis::TokenStore::find_access(&h.store, &hash)
            .await
            .unwrap()
            .is_none(),
        "revoke_client removed the client's access token"
    );
    assert!(!h.active(&access).await);
    // The registration access token of a deleted client is refused.
    for method in ["GET", "DELETE"] {
        let resp = send_json(&h, method, &path, Some(&token), None).await;
        assert_eq!(resp.status(), 401, "{method}");
        assert!(
            resp.header("WWW-Authenticate")
                .unwrap()
                .contains("invalid_token")
        );
    }
    // And the client can no longer get tokens.
    assert_error(
        &h.client_credentials(Auth::Basic(&creds), None).await,
        401,
        "invalid_client",
    );
}

fn id_of(s: &str) -> portcullis::ClientId {
    portcullis::ClientId::parse(s).unwrap()
}

#[tokio::test]
async fn registration_is_off_unless_turned_on_and_advertised_only_then() {
    // covers: RG-01
    let off = Harness::new().await;
    assert!(!off.server.serves_registration());
    assert!(off.server.endpoints().all(|e| e != Endpoint::Registration));
    let resp = register(&off, Some(IAT), &service()).await;
    assert_eq!(resp.status(), 404);
    let md = json(&off.server.metadata());
    assert!(md.get("registration_endpoint").is_none());
    let oidc = json(&off.server.openid_configuration());
    assert!(oidc.get("registration_endpoint").is_none());
    let on = fixture().await;
    assert!(on.server.serves_registration());
    let md = json(&on.server.metadata());
    assert_eq!(md["registration_endpoint"], format!("{ISSUER}/register"));
    let oidc = json(&on.server.openid_configuration());
    assert_eq!(oidc["registration_endpoint"], format!("{ISSUER}/register"));
    // Methods: POST only at the registration endpoint; GET, PUT, DELETE below.
    let get = send_json(&on, "GET", "/register", None, None).await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.header("Allow"), Some("POST"));
    let post = send_json(&on, "POST", "/register/abc", None, Some(&service())).await;
    assert_eq!(post.status(), 405);
    assert_eq!(post.header("Allow"), Some("GET, PUT, DELETE"));
}

#[tokio::test]
async fn the_code_flow_works_for_a_registered_client() {
    // covers: RG-01
    let h = fixture().await;
    let info = json(&register(&h, Some(IAT), &web_app()).await);
    let id = info["client_id"].as_str().unwrap();
    let creds = Creds {
        id: id.to_owned(),
        secret: info["client_secret"].as_str().map(str::to_owned),
    };
    let code = h
        .issue_code(
            CodeSpec::new(Box::leak(id.to_owned().into_boxed_str()))
                .redirect_uri(Some("https://app.example/cb"))
                .scope("read"),
        )
        .await;
    let (access, refresh) = tokens(&h.redeem(Auth::Post(&creds), &code).await);
    assert!(h.active(&access).await);
    assert!(refresh.is_some());
    let _ = ClientStore::client(&h.store, &id_of(id))
        .await
        .unwrap()
        .unwrap();
}
