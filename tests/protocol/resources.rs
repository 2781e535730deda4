//! Resource indicators (RFC 8707, RI-01) and protected resource metadata
//! (RFC 9728, RI-02) through the public API. JWT access tokens are read
//! with an independent library (`jsonwebtoken`) through our JWKS.

use std::num::NonZeroU32;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis::http::{Method, Request, Response};
use portcullis::{
    AccessTokenFormat, Algorithm, Audience, Authentication, AuthorizationServer, AuthorizeStep,
    BearerMethod, Client, ClientAdmin, ClientId, Config, FixedClock, GrantType, MemoryKeys,
    MemoryStore, MemoryUsers, ProtectedResource, RedirectUri, Resource, ScopeSet, Secret,
    SecretHash, TokenHash, TokenStore, UnixTime, UserId, WebUrl,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example";
const CB: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const NOW: u64 = 1_800_000_000;
/// The resources the client `web` may ask for.
const API: &str = "https://api.example/v1";
const REPORTS: &str = "https://reports.example/";
/// Allowed for every client, server-wide.
const SHARED: &str = "urn:example:shared";
/// Allowed for nobody.
const EVIL: &str = "https://evil.example/";

struct Fixture {
    server: AuthorizationServer,
    store: Arc<MemoryStore>,
    alice: Authentication,
}

fn res(s: &str) -> Resource {
    Resource::parse(s).unwrap()
}

async fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let mut config = Config::new(ISSUER);
    config.resources = vec![res(SHARED)];
    config.grant_types.push(GrantType::Password);
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users
        .insert("alice", &Secret::new("wonderland".into()))
        .unwrap();
    let server = AuthorizationServer::builder(config)
        .store(store.clone())
        .key_provider(Arc::new(MemoryKeys::new()))
        .password_verifier(Arc::new(users))
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(NOW))))
        .build()
        .unwrap();
    server.ensure_signing_key().await.unwrap();
    for (id, format) in [
        ("web", AccessTokenFormat::Jwt),
        ("web-opaque", AccessTokenFormat::Opaque),
    ] {
        let c = Client::confidential(ClientId::parse(id).unwrap(), SecretHash::sha256("secret"))
            .redirect_uri(RedirectUri::parse(CB).unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .grant_type(GrantType::ClientCredentials)
            .grant_type(GrantType::Password)
            .scope(ScopeSet::parse("read write").unwrap())
            .skip_consent(true)
            .access_token_format(format)
            .resource(res(API))
            .resource(res(REPORTS))
            .build()
            .unwrap();
        store.insert_client(c).await.unwrap();
    }
    // A client without resources of its own, and two resource servers.
    let plain = Client::confidential(
        ClientId::parse("plain").unwrap(),
        SecretHash::sha256("secret"),
    )
    .grant_type(GrantType::ClientCredentials)
    .scope(ScopeSet::parse("read").unwrap())
    .build()
    .unwrap();
    store.insert_client(plain).await.unwrap();
    for (id, aud) in [("api-rs", API), ("default-rs", ISSUER)] {
        let rs = Client::confidential(ClientId::parse(id).unwrap(), SecretHash::sha256("secret"))
            .resource_server_for(Audience::parse(aud).unwrap())
            .build()
            .unwrap();
        store.insert_client(rs).await.unwrap();
    }
    Fixture {
        server,
        store,
        alice: Authentication::new(
            UserId::parse("alice").unwrap(),
            UnixTime::from_secs(NOW - 60),
        ),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn resource_params(resources: &[&str]) -> String {
    resources
        .iter()
        .map(|r| format!("&resource={}", enc(r)))
        .collect()
}

/// The authorization endpoint's answer for `web` asking for `resources`.
async fn authorize(f: &Fixture, resources: &[&str]) -> Response {
    let q = format!(
        "response_type=code&client_id=web&redirect_uri={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=read{}",
        enc(CB),
        resource_params(resources)
    );
    let step = f
        .server
        .authorize(&Request::new(Method::Get).query(&q), Some(&f.alice))
        .await;
    match step {
        AuthorizeStep::Consent(p) => f.server.approve(p).await,
        AuthorizeStep::Redirect(r) => r,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn redirect_param(r: &Response, name: &str) -> Option<String> {
    assert_eq!(r.status(), 302);
    let url = url::Url::parse(r.header("Location").unwrap()).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A code for `web` bound to `resources`.
async fn code(f: &Fixture, resources: &[&str]) -> String {
    let r = authorize(f, resources).await;
    redirect_param(&r, "code").expect("a code")
}

async fn token(f: &Fixture, client: &str, body: &str) -> Response {
    let auth = format!("Basic {}", STANDARD.encode(format!("{client}:secret")));
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header("Authorization", auth.as_bytes())
        .body(body.as_bytes());
    f.server.token(&req).await
}

async fn redeem(f: &Fixture, code: &str, resources: &[&str]) -> Response {
    let body = format!(
        "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}{}",
        enc(CB),
        resource_params(resources)
    );
    token(f, "web", &body).await
}

async fn refresh(f: &Fixture, client: &str, refresh: &str, resources: &[&str]) -> Response {
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}{}",
        resource_params(resources)
    );
    token(f, client, &body).await
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(r.body()).unwrap()
}

fn ok(r: &Response) -> Value {
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
    body(r)
}

fn invalid_target(r: &Response) {
    assert_eq!(r.status(), 400, "{}", String::from_utf8_lossy(r.body()));
    assert_eq!(body(r)["error"], "invalid_target");
}

/// The `aud` of a JWT access token, verified by `jsonwebtoken` with our
/// JWKS (the audience check left to us).
async fn aud(f: &Fixture, jwt: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let jwks: Value = serde_json::from_slice(f.server.jwks().await.body()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_aud = false;
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims["aud"].clone()
}

async fn introspect(f: &Fixture, caller: &str, token: &str) -> Value {
    let auth = format!("Basic {}", STANDARD.encode(format!("{caller}:secret")));
    let body = format!("token={token}");
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header("Authorization", auth.as_bytes())
        .body(body.as_bytes());
    let r = f.server.introspect(&req).await;
    ok(&r)
}

fn api() -> ProtectedResource {
    ProtectedResource::builder(res(API))
        .authorization_server(WebUrl::parse(ISSUER).unwrap())
        .scopes_supported(ScopeSet::parse("read write").unwrap())
        .build()
        .unwrap()
}

fn bearer_request(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn ri01_several_resources_become_the_tokens_audience_and_a_refresh_narrows_them() {
    // covers: RI-01
    let f = fixture().await;
    // Two `resource` parameters (repeatable), remembered with the code.
    let code = code(&f, &[REPORTS, API]).await;
    let stored = f
        .store
        .find_code(&TokenHash::of(&code))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.resources, [res(API), res(REPORTS)]);
    let t = ok(&redeem(&f, &code, &[]).await);
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(aud(&f, access).await, json!([API, REPORTS]));
    // A refresh narrows to one resource: `aud` is then a single string.
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let t = ok(&refresh(&f, "web", &rt, &[API]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(API)
    );
    // The refresh token keeps the grant's resources: the next refresh may
    // ask for the other one, or, without `resource`, gets both again.
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let t = ok(&refresh(&f, "web", &rt, &[REPORTS]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(REPORTS)
    );
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let t = ok(&refresh(&f, "web", &rt, &[]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!([API, REPORTS])
    );
}

#[tokio::test]
async fn ri01_a_refresh_or_code_exchange_cannot_widen_the_grant() {
    // covers: RI-01
    let f = fixture().await;
    let code_for_api = code(&f, &[API]).await;
    // The code exchange may not add a resource the code was not granted,
    // even one the client is allowed.
    invalid_target(&redeem(&f, &code_for_api, &[API, REPORTS]).await);
    // The refused request consumed nothing: the code still redeems.
    let t = ok(&redeem(&f, &code_for_api, &[API]).await);
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    invalid_target(&refresh(&f, "web", &rt, &[REPORTS]).await);
    invalid_target(&refresh(&f, "web", &rt, &[SHARED]).await);
    invalid_target(&refresh(&f, "web", &rt, &[EVIL]).await);
    // Still usable after the refusals.
    let t = ok(&refresh(&f, "web", &rt, &[API]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(API)
    );
}

#[tokio::test]
async fn ri01_a_resource_not_allowed_is_invalid_target_everywhere() {
    // covers: RI-01
    let f = fixture().await;
    // At the authorization endpoint: redirected, with state and iss.
    let r = authorize(&f, &[API, EVIL]).await;
    assert_eq!(
        redirect_param(&r, "error").as_deref(),
        Some("invalid_target")
    );
    assert_eq!(redirect_param(&r, "state").as_deref(), Some("xyz"));
    assert_eq!(redirect_param(&r, "iss").as_deref(), Some(ISSUER));
    assert!(redirect_param(&r, "code").is_none());
    // At the token endpoint, for every grant.
    invalid_target(
        &token(
            &f,
            "web",
            &format!("grant_type=client_credentials{}", resource_params(&[EVIL])),
        )
        .await,
    );
    invalid_target(
        &token(
            &f,
            "web",
            &format!(
                "grant_type=password&username=alice&password=wonderland{}",
                resource_params(&[EVIL])
            ),
        )
        .await,
    );
    // Another client's resource is not this one's.
    invalid_target(
        &token(
            &f,
            "plain",
            &format!("grant_type=client_credentials{}", resource_params(&[API])),
        )
        .await,
    );
    // The server-wide resource is every client's.
    let t = ok(&token(
        &f,
        "plain",
        &format!(
            "grant_type=client_credentials{}",
            resource_params(&[SHARED])
        ),
    )
    .await);
    let v = introspect(&f, "plain", t["access_token"].as_str().unwrap()).await;
    assert_eq!(v["aud"], SHARED);
}

#[tokio::test]
async fn ri01_a_relative_uri_or_a_fragment_is_invalid_target() {
    // covers: RI-01
    let f = fixture().await;
    for bad in [
        "/v1",
        "api.example",
        "https://api.example/v1#frag",
        "https://a b",
    ] {
        let r = authorize(&f, &[bad]).await;
        assert_eq!(
            redirect_param(&r, "error").as_deref(),
            Some("invalid_target"),
            "{bad}"
        );
        invalid_target(
            &token(
                &f,
                "web",
                &format!("grant_type=client_credentials{}", resource_params(&[bad])),
            )
            .await,
        );
    }
}

#[tokio::test]
async fn ri01_client_credentials_and_password_grants_take_resources() {
    // covers: RI-01
    let f = fixture().await;
    let t = ok(&token(
        &f,
        "web",
        &format!(
            "grant_type=client_credentials{}",
            resource_params(&[API, SHARED])
        ),
    )
    .await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!([API, SHARED])
    );
    let t = ok(&token(
        &f,
        "web",
        &format!(
            "grant_type=password&username=alice&password=wonderland&scope=read{}",
            resource_params(&[REPORTS])
        ),
    )
    .await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(REPORTS)
    );
    // The password grant's resources are the grant's: a refresh narrows
    // within them only.
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    invalid_target(&refresh(&f, "web", &rt, &[API]).await);
}

#[tokio::test]
async fn ri01_without_resource_the_audience_is_the_default_one() {
    // covers: RI-01
    let f = fixture().await;
    let t = ok(&redeem(&f, &code(&f, &[]).await, &[]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(ISSUER)
    );
    // A code issued without resources lets the token request name any the
    // client is allowed (RFC 8707 §2.2).
    let t = ok(&redeem(&f, &code(&f, &[]).await, &[API]).await);
    assert_eq!(
        aud(&f, t["access_token"].as_str().unwrap()).await,
        json!(API)
    );
}

#[tokio::test]
async fn ri01_introspection_returns_aud_to_the_resource_servers_of_the_token() {
    // covers: RI-01, IN-01
    let f = fixture().await;
    let t = ok(&token(
        &f,
        "web-opaque",
        &format!("grant_type=client_credentials{}", resource_params(&[API])),
    )
    .await);
    let for_api = t["access_token"].as_str().unwrap().to_owned();
    // The resource server for API learns that it is active, and its aud.
    let v = introspect(&f, "api-rs", &for_api).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["aud"], API);
    // The resource server of the default audience does not.
    assert_eq!(
        introspect(&f, "default-rs", &for_api).await,
        json!({"active": false})
    );
    // Several resources: an array.
    let t = ok(&token(
        &f,
        "web-opaque",
        &format!(
            "grant_type=client_credentials{}",
            resource_params(&[API, REPORTS])
        ),
    )
    .await);
    let v = introspect(&f, "web-opaque", t["access_token"].as_str().unwrap()).await;
    assert_eq!(v["aud"], json!([API, REPORTS]));
    // A JWT access token's introspection says the same as its `aud`.
    let t = ok(&token(
        &f,
        "web",
        &format!("grant_type=client_credentials{}", resource_params(&[API])),
    )
    .await);
    let v = introspect(&f, "api-rs", t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (v["active"].clone(), v["aud"].clone()),
        (json!(true), json!(API))
    );
}

#[tokio::test]
async fn ri01_bearer_validation_at_a_resource_checks_its_own_audience() {
    // covers: RI-01, RI-02
    let f = fixture().await;
    let api = api();
    for client in ["web", "web-opaque"] {
        let issue = |resources: &'static [&'static str]| {
            let f = &f;
            async move {
                let t = ok(&token(
                    f,
                    client,
                    &format!(
                        "grant_type=client_credentials&scope=read{}",
                        resource_params(resources)
                    ),
                )
                .await);
                t["access_token"].as_str().unwrap().to_owned()
            }
        };
        let (for_api, for_reports, default) = (
            issue(&[API]).await,
            issue(&[REPORTS]).await,
            issue(&[]).await,
        );
        let read = ScopeSet::parse("read").unwrap();
        let at = |token: &str| bearer_request(token);
        let check = |token: String| {
            let f = &f;
            let api = &api;
            let read = read.clone();
            async move {
                let h = at(&token);
                let req = Request::new(Method::Get).header("Authorization", h.as_bytes());
                (
                    f.server.authenticate_bearer_for(&req, &read, api).await,
                    f.server.authenticate_bearer(&req, &read).await,
                )
            }
        };
        // The API accepts its own tokens only; the default validation
        // (the default audience) accepts the default ones only.
        let (at_api, at_default) = check(for_api).await;
        let token = at_api.unwrap();
        assert_eq!(token.resources(), [res(API)], "{client}");
        let refused = at_default.unwrap_err();
        assert_eq!(refused.status(), 401);
        assert!(
            refused
                .header("WWW-Authenticate")
                .unwrap()
                .contains("invalid_token")
        );
        let (at_api, at_default) = check(for_reports).await;
        let refused = at_api.unwrap_err();
        assert_eq!(refused.status(), 401, "{client}");
        assert_eq!(
            refused.header("WWW-Authenticate"),
            Some(
                "Bearer realm=\"oauth\", error=\"invalid_token\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
            )
        );
        assert!(at_default.is_err());
        let (at_api, at_default) = check(default).await;
        assert!(at_api.is_err(), "{client}");
        assert!(at_default.unwrap().resources().is_empty());
    }
}

#[tokio::test]
async fn ri02_the_metadata_document_lists_what_the_builder_was_given() {
    // covers: RI-02
    let url = |s| WebUrl::parse(s).unwrap();
    let pr = ProtectedResource::builder(res(API))
        .authorization_server(url(ISSUER))
        .authorization_server(url("https://other-as.example"))
        .jwks_uri(url("https://api.example/jwks.json"))
        .scopes_supported(ScopeSet::parse("read write").unwrap())
        .bearer_methods(&[BearerMethod::Header, BearerMethod::Body])
        .resource_signing_alg(Algorithm::Ps256)
        .resource_signing_alg(Algorithm::Es256)
        .resource_name("Example API")
        .resource_documentation(url("https://api.example/docs"))
        .resource_policy_uri(url("https://api.example/policy"))
        .resource_tos_uri(url("https://api.example/tos"))
        .dpop_signing_alg(Algorithm::Es256)
        .dpop_bound_access_tokens_required(true)
        .build()
        .unwrap();
    assert_eq!(pr.resource(), &res(API));
    assert_eq!(
        pr.metadata_url(),
        "https://api.example/.well-known/oauth-protected-resource/v1"
    );
    assert_eq!(
        pr.metadata_path(),
        "/.well-known/oauth-protected-resource/v1"
    );
    let r = pr.metadata_response();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(
        body(&r),
        json!({
            "resource": API,
            "authorization_servers": [ISSUER, "https://other-as.example"],
            "jwks_uri": "https://api.example/jwks.json",
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header", "body"],
            "resource_signing_alg_values_supported": ["PS256", "ES256"],
            "resource_name": "Example API",
            "resource_documentation": "https://api.example/docs",
            "resource_policy_uri": "https://api.example/policy",
            "resource_tos_uri": "https://api.example/tos",
            "dpop_signing_alg_values_supported": ["ES256"],
            "dpop_bound_access_tokens_required": true,
        })
    );
    // The least: resource, authorization servers, bearer methods.
    assert_eq!(
        serde_json::from_slice::<Value>(api().metadata_document()).unwrap(),
        json!({
            "resource": API,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header"],
        })
    );
}

#[tokio::test]
async fn ri02_401_challenges_carry_resource_metadata_and_403_does_not() {
    // covers: RI-02
    let f = fixture().await;
    let api = api();
    let read = ScopeSet::parse("read").unwrap();
    let meta = "resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\"";
    // No token: the bare challenge, with the parameter.
    let r = f
        .server
        .authenticate_bearer_for(&Request::new(Method::Get), &read, &api)
        .await
        .unwrap_err();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(format!("Bearer realm=\"oauth\", {meta}").as_str())
    );
    // A malformed token.
    let req = Request::new(Method::Get).header("Authorization", b"Bearer not a token");
    let r = f
        .server
        .authenticate_bearer_for(&req, &read, &api)
        .await
        .unwrap_err();
    assert_eq!(r.status(), 401);
    assert!(r.header("WWW-Authenticate").unwrap().ends_with(&meta));
    // Insufficient scope is a 403, without it.
    let t = ok(&token(
        &f,
        "web",
        &format!(
            "grant_type=client_credentials&scope=read{}",
            resource_params(&[API])
        ),
    )
    .await);
    let h = bearer_request(t["access_token"].as_str().unwrap());
    let req = Request::new(Method::Get).header("Authorization", h.as_bytes());
    let write = ScopeSet::parse("write").unwrap();
    let r = f
        .server
        .authenticate_bearer_for(&req, &write, &api)
        .await
        .unwrap_err();
    assert_eq!(r.status(), 403);
    assert!(
        !r.header("WWW-Authenticate")
            .unwrap()
            .contains("resource_metadata")
    );
    // The default validation has no resource, so no parameter.
    let r = f
        .server
        .authenticate_bearer(&Request::new(Method::Get), &read)
        .await
        .unwrap_err();
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer realm=\"oauth\""));
}
