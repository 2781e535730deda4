//! The OpenID Connect UserInfo endpoint (Core 1.0 §5.3) and the host's
//! `UserClaims`: GET and POST, the token in the header or the form body,
//! RFC 6750 challenges, the claims of each scope exactly and of the
//! `claims` request, `sub` always the core's.
// issue 16

use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis::http::{Method, Request, Response};
use portcullis::oidc::{ClaimsQuery, UserClaims, WantedClaims};
use portcullis::{
    AccessTokenFormat, ClaimsRequest, MemoryKeys, ScopeSet, StoreError, UserId, async_trait,
};
use serde_json::{Map, Value, json};

use crate::support::*;

const RP: &str = "rp";
const RP_SECRET: &str = "rp-secret-5e6f7a8b";
const ALL_SCOPES: &str = "openid profile email address phone read";

/// Everything the host knows about alice, `sub` and a claim no scope
/// releases included: the core must pick.
fn alice() -> Map<String, Value> {
    json!({
        "sub": "forged-by-the-host",
        "name": "Alice Adams", "given_name": "Alice", "family_name": "Adams",
        "middle_name": "Ann", "nickname": "Al", "preferred_username": "alice",
        "profile": "https://example.com/alice", "picture": "https://example.com/alice.png",
        "website": "https://alice.example", "gender": "female", "birthdate": "1990-01-01",
        "zoneinfo": "Europe/Paris", "locale": "en-US", "updated_at": 1_767_225_600,
        "email": "alice@example.com", "email_verified": true,
        "address": {"street_address": "1 Main Street", "locality": "Anytown", "country": "US"},
        "phone_number": "+1 202 555 0147", "phone_number_verified": false,
        "groups": ["admins"]
    })
    .as_object()
    .unwrap()
    .clone()
}

/// A host directory that answers everything it has, whatever was asked,
/// and remembers what it was asked for.
#[derive(Default)]
struct Directory {
    asked: Mutex<Vec<Vec<String>>>,
    fail: bool,
}

#[async_trait]
impl UserClaims for Directory {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
        self.asked
            .lock()
            .unwrap()
            .push(query.wanted().iter().map(str::to_owned).collect());
        if self.fail {
            return Err(StoreError::msg("directory down"));
        }
        Ok(if query.user().as_str() == "alice" {
            alice()
        } else {
            Map::new()
        })
    }
}

struct Fixture {
    h: Harness,
    directory: Arc<Directory>,
}

async fn fixture_with(directory: Directory) -> Fixture {
    let directory = Arc::new(directory);
    let host: Arc<dyn UserClaims> = directory.clone();
    let h = Harness::with(config(), |b| {
        b.user_claims(host)
            .key_provider(Arc::new(MemoryKeys::new()))
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    h.confidential(RP, RP_SECRET, |b| b.scope(scope(ALL_SCOPES)))
        .await;
    h.confidential("rp-jwt", RP_SECRET, |b| {
        b.scope(scope(ALL_SCOPES))
            .access_token_format(AccessTokenFormat::Jwt)
    })
    .await;
    h.confidential("m2m", RP_SECRET, |b| b.scope(scope("openid read")))
        .await;
    Fixture { h, directory }
}

async fn fixture() -> Fixture {
    fixture_with(Directory::default()).await
}

impl Fixture {
    /// An access token for alice through the code flow, issued to `client`.
    async fn token_of(&self, client: &str, granted: &str) -> String {
        let code = self
            .h
            .issue_code(CodeSpec::new(client).scope(granted))
            .await;
        let creds = Creds {
            id: client.to_owned(),
            secret: Some(RP_SECRET.to_owned()),
        };
        tokens(&self.h.redeem(Auth::Basic(&creds), &code).await).0
    }

    async fn token(&self, granted: &str) -> String {
        self.token_of(RP, granted).await
    }

    /// `GET /userinfo` with `Authorization: Bearer <token>`.
    async fn get(&self, token: &str) -> Response {
        let header = format!("Bearer {token}");
        let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
        self.h.server.userinfo(&req).await
    }
}

#[track_caller]
fn claims(resp: &Response) -> Map<String, Value> {
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    assert_eq!(resp.status(), 200, "{body}");
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    json(resp).as_object().unwrap().clone()
}

fn names(m: &Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

#[track_caller]
fn assert_challenge(resp: &Response, status: u16, challenge: &str) {
    assert_eq!(
        resp.status(),
        status,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_eq!(resp.header("WWW-Authenticate"), Some(challenge));
}

#[tokio::test]
async fn get_and_post_with_the_header_or_the_form_body() {
    // covers: OI-05
    let f = fixture().await;
    let token = f.token("openid email").await;
    let expected = json!({"sub": "alice", "email": "alice@example.com", "email_verified": true});

    let by_get = claims(&f.get(&token).await);
    assert_eq!(Value::Object(by_get), expected);

    // POST with the header, with or without a body.
    let header = format!("Bearer {token}");
    let req = Request::new(Method::Post).header("Authorization", header.as_bytes());
    assert_eq!(
        Value::Object(claims(&f.h.server.userinfo(&req).await)),
        expected
    );
    let req = form_request(b"unrelated=1", Some(header.as_bytes()));
    assert_eq!(
        Value::Object(claims(&f.h.server.userinfo(&req).await)),
        expected
    );

    // POST with the token in the form body (RFC 6750 §2.2).
    let body = form(&[("access_token", &token)]);
    let req = form_request(body.as_bytes(), None);
    let resp = f.h.server.userinfo(&req).await;
    assert_eq!(resp.header("Pragma"), Some("no-cache"));
    assert_eq!(Value::Object(claims(&resp)), expected);
    // A form body on GET is not a place for the token: no credentials.
    let req = Request::new(Method::Get)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    assert_challenge(
        &f.h.server.userinfo(&req).await,
        401,
        "Bearer realm=\"oauth\"",
    );
}

#[tokio::test]
async fn two_ways_at_once_or_the_query_string_is_invalid_request() {
    // covers: OI-05
    let f = fixture().await;
    let token = f.token("openid email").await;
    let header = format!("Bearer {token}");
    let bad = "Bearer realm=\"oauth\", error=\"invalid_request\"";

    // Header and form body.
    let body = form(&[("access_token", &token)]);
    let req = form_request(body.as_bytes(), Some(header.as_bytes()));
    let resp = f.h.server.userinfo(&req).await;
    assert_challenge(&resp, 400, bad);
    assert_eq!(json(&resp)["error"], "invalid_request");
    // In the query string, alone or beside a valid header.
    let query = format!("access_token={token}");
    for method in [Method::Get, Method::Post] {
        let req = Request::new(method).query(&query);
        assert_challenge(&f.h.server.userinfo(&req).await, 400, bad);
        let req = req.header("Authorization", header.as_bytes());
        assert_challenge(&f.h.server.userinfo(&req).await, 400, bad);
    }
    // Twice in the body.
    let body = form(&[("access_token", &token), ("access_token", &token)]);
    let req = form_request(body.as_bytes(), None);
    assert_challenge(&f.h.server.userinfo(&req).await, 400, bad);
    // Another method: 405.
    let resp = f.h.server.userinfo(&Request::new(Method::Other)).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("Allow"), Some("GET, POST"));
}

#[tokio::test]
async fn no_token_is_the_bare_challenge() {
    // covers: OI-05, TK-04
    let f = fixture().await;
    let resp = f.h.server.userinfo(&Request::new(Method::Get)).await;
    assert_challenge(&resp, 401, "Bearer realm=\"oauth\"");
    assert!(resp.body().is_empty());
    let resp = f.h.server.userinfo(&form_request(b"", None)).await;
    assert_challenge(&resp, 401, "Bearer realm=\"oauth\"");
}

#[tokio::test]
async fn bad_expired_or_revoked_tokens_are_invalid_token() {
    // covers: OI-05, TK-05
    let f = fixture().await;
    let invalid = "Bearer realm=\"oauth\", error=\"invalid_token\"";
    assert_challenge(&f.get("not-a-token").await, 401, invalid);
    let req = form_request(b"access_token=not-a-token", None);
    assert_challenge(&f.h.server.userinfo(&req).await, 401, invalid);
    let req = form_request(b"access_token=has%20space", None);
    assert_challenge(&f.h.server.userinfo(&req).await, 401, invalid);

    // Revoked, opaque and JWT alike.
    for client in [RP, "rp-jwt"] {
        let token = f.token_of(client, "openid profile").await;
        assert_eq!(f.get(&token).await.status(), 200);
        let creds = Creds {
            id: client.to_owned(),
            secret: Some(RP_SECRET.to_owned()),
        };
        assert_eq!(
            f.h.revoke(Auth::Basic(&creds), &[("token", &token)])
                .await
                .status(),
            200
        );
        assert_challenge(&f.get(&token).await, 401, invalid);
    }

    // Expired: access tokens live an hour by default.
    let token = f.token("openid profile").await;
    let jwt = f.token_of("rp-jwt", "openid profile").await;
    assert!(jwt.contains('.'), "a JWT access token");
    assert_eq!(f.get(&jwt).await.status(), 200);
    f.h.clock.advance(Duration::from_secs(3600 + 60));
    assert_challenge(&f.get(&token).await, 401, invalid);
    assert_challenge(&f.get(&jwt).await, 401, invalid);
}

#[tokio::test]
async fn a_scope_without_openid_is_insufficient_scope() {
    // covers: OI-05, TK-04
    let f = fixture().await;
    let token = f.token("profile email read").await;
    let resp = f.get(&token).await;
    assert_challenge(
        &resp,
        403,
        "Bearer realm=\"oauth\", error=\"insufficient_scope\", scope=\"openid\"",
    );
    assert_eq!(json(&resp)["error"], "insufficient_scope");
    assert!(f.directory.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_client_credentials_token_has_no_user_info() {
    // covers: OI-05
    // A token without an end-user is not valid at UserInfo (401
    // invalid_token) even with `openid`: no scope would make it one.
    let f = fixture().await;
    let m2m = Creds {
        id: "m2m".into(),
        secret: Some(RP_SECRET.into()),
    };
    let (token, _) = tokens(
        &f.h.client_credentials(Auth::Basic(&m2m), Some("openid read"))
            .await,
    );
    assert_challenge(
        &f.get(&token).await,
        401,
        "Bearer realm=\"oauth\", error=\"invalid_token\"",
    );
    // Without openid, the scope check answers first.
    let (token, _) = tokens(
        &f.h.client_credentials(Auth::Basic(&m2m), Some("read"))
            .await,
    );
    assert_eq!(f.get(&token).await.status(), 403);
    assert!(f.directory.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn each_scope_releases_exactly_its_claims_unchanged() {
    // covers: OI-05, OI-11
    let f = fixture().await;
    let cases: [(&str, &[&str]); 5] = [
        ("openid", &["sub"]),
        (
            "openid profile",
            &[
                "birthdate",
                "family_name",
                "gender",
                "given_name",
                "locale",
                "middle_name",
                "name",
                "nickname",
                "picture",
                "preferred_username",
                "profile",
                "sub",
                "updated_at",
                "website",
                "zoneinfo",
            ],
        ),
        ("openid email", &["email", "email_verified", "sub"]),
        ("openid address", &["address", "sub"]),
        (
            "openid phone",
            &["phone_number", "phone_number_verified", "sub"],
        ),
    ];
    for (granted, expected) in cases {
        let out = claims(&f.get(&f.token(granted).await).await);
        assert_eq!(names(&out), expected, "{granted}");
        assert_eq!(out["sub"], "alice", "{granted}");
    }
    // `openid` alone: the host is not even asked.
    let asked = f.directory.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 4);
    assert!(asked.iter().all(|names| !names.contains(&"sub".to_owned())));

    // Every scope: numbers, booleans and the address object as the host
    // gave them; `groups` (no scope releases it) and the host's `sub` left out.
    let out = claims(&f.get(&f.token(ALL_SCOPES).await).await);
    let mut expected = alice();
    expected.remove("groups");
    expected.insert("sub".into(), json!("alice"));
    assert_eq!(out, expected);
    assert_eq!(out["updated_at"], json!(1_767_225_600));
    assert_eq!(out["email_verified"], json!(true));
    assert_eq!(out["phone_number_verified"], json!(false));
    assert_eq!(out["address"]["locality"], "Anytown");
}

#[tokio::test]
async fn sub_is_never_the_hosts() {
    // covers: OI-11
    let f = fixture().await;
    let out = claims(&f.get(&f.token("openid profile").await).await);
    assert_eq!(out["sub"], "alice");
    assert_ne!(out["sub"], alice()["sub"]);
}

#[tokio::test]
async fn the_claims_request_member_is_honoured() {
    // covers: OI-09
    // The selection step with a parsed `claims` request (end to end
    // through the endpoint: `the_grants_claims_request_reaches_userinfo_once_consented`).
    let request = ClaimsRequest::parse(
        r#"{"userinfo": {"email": {"essential": true}, "groups": null,
                         "locale": {"value": "fr-FR"},
                         "website": {"values": ["https://alice.example", "https://a.example"]},
                         "no_such_claim": null,
                         "sub": {"value": "someone-else"}},
            "id_token": {"phone_number": null}}"#,
    )
    .unwrap();
    let granted = ScopeSet::parse("openid").unwrap();
    // The user consented to `email` and `profile` for this request.
    let consented = ScopeSet::parse("email profile").unwrap();
    let wanted = WantedClaims::for_grant(&granted, Some(&request), &consented);
    // The host is asked for the named claims, never for `sub`.
    let asked: Vec<&str> = wanted.iter().collect();
    assert_eq!(
        asked,
        ["email", "groups", "locale", "no_such_claim", "website"]
    );
    let user = UserId::parse("alice").unwrap();
    let client = portcullis::ClientId::parse(RP).unwrap();
    let query = ClaimsQuery::new(&user, &client, &wanted);
    let from_host = Directory::default().claims(&query).await.unwrap();
    let out = wanted.select("alice", from_host);
    // `locale` does not match its value; `no_such_claim` the host lacks;
    // the `id_token` member is not UserInfo's.
    assert_eq!(names(&out), ["email", "groups", "sub", "website"]);
    assert_eq!(out["sub"], "alice");
    assert_eq!(out["groups"], json!(["admins"]));
}

#[tokio::test]
async fn a_host_failure_is_server_error() {
    // covers: RB-02
    let f = fixture_with(Directory {
        fail: true,
        ..Directory::default()
    })
    .await;
    let resp = f.get(&f.token("openid profile").await).await;
    assert_error(&resp, 500, "server_error");
}

#[tokio::test]
async fn the_route_is_served_only_with_user_claims() {
    // covers: OI-05
    let f = fixture().await;
    assert!(f.h.server.serves_userinfo());
    let token = f.token("openid email").await;
    let header = format!("Bearer {token}");
    let get = Request::new(Method::Get).header("Authorization", header.as_bytes());
    assert_eq!(
        claims(&f.h.server.handle(&get, "/userinfo").await)["sub"],
        "alice"
    );
    let body = form(&[("access_token", &token)]);
    let post = form_request(body.as_bytes(), None);
    assert_eq!(
        claims(&f.h.server.handle(&post, "/userinfo").await)["sub"],
        "alice"
    );
    let resp =
        f.h.server
            .handle(&Request::new(Method::Head), "/userinfo")
            .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("Allow"), Some("GET, POST"));

    // A plain OAuth server leaves the path to the host: 404, not listed;
    // called directly, UserInfo answers `sub` alone.
    let plain = Harness::new().await;
    assert!(!plain.server.serves_userinfo());
    assert!(
        !plain
            .server
            .endpoints()
            .any(|e| e == portcullis::routes::Endpoint::UserInfo)
    );
    let rp = plain
        .confidential(RP, RP_SECRET, |b| b.scope(scope(ALL_SCOPES)))
        .await;
    let code = plain
        .issue_code(CodeSpec::new(RP).scope("openid profile"))
        .await;
    let (token, _) = tokens(&plain.redeem(Auth::Basic(&rp), &code).await);
    let header = format!("Bearer {token}");
    let get = Request::new(Method::Get).header("Authorization", header.as_bytes());
    assert_eq!(plain.server.handle(&get, "/userinfo").await.status(), 404);
    let out = claims(&plain.server.userinfo(&get).await);
    assert_eq!(Value::Object(out), json!({"sub": "alice"}));
}

#[tokio::test]
async fn the_path_is_configurable() {
    let mut config = config();
    config.paths.userinfo = "/oidc/me".into();
    let host: Arc<dyn UserClaims> = Arc::new(Directory::default());
    let h = Harness::with(config, |b| b.user_claims(host)).await;
    let resp = h
        .server
        .handle(&Request::new(Method::Get), "/oidc/me")
        .await;
    assert_challenge(&resp, 401, "Bearer realm=\"oauth\"");
    let resp = h
        .server
        .handle(&Request::new(Method::Get), "/userinfo")
        .await;
    assert_eq!(resp.status(), 404);
}

// ---------------------------------------------------------------------
// Issue 16 wiring: `sub` per client, the grant's `claims` request, signed
// UserInfo responses.

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const SALT: &[u8] = b"a pairwise salt of 32 bytes, ok!";

/// A server with the host's directory, a pairwise salt (unless `salt` is
/// false), and current keys of ES256 (generated) and RS256 (imported).
async fn keyed(salt: bool, configure: impl FnOnce(&mut portcullis::Config)) -> Fixture {
    let directory = Arc::new(Directory::default());
    let host: Arc<dyn UserClaims> = directory.clone();
    let mut config = config();
    if salt {
        config.pairwise_salt = Some(portcullis::Secret::new(SALT.to_vec()));
    }
    configure(&mut config);
    let h = Harness::with(config, |b| {
        b.user_claims(host)
            .key_provider(Arc::new(MemoryKeys::new()))
    })
    .await;
    let now = portcullis::Clock::now(&*h.clock);
    let rsa = portcullis::KeyRecord::from_pkcs8(
        portcullis::Algorithm::Rs256,
        portcullis::KeyId::parse("rsa-1").unwrap(),
        include_bytes!("../fixtures/rsa2048.pk8").to_vec(),
        now,
        now,
    )
    .unwrap();
    h.server.rotate_in_key(rsa).await.unwrap();
    h.server
        .ensure_signing_keys(&[portcullis::Algorithm::Rs256, portcullis::Algorithm::Es256])
        .await
        .unwrap();
    Fixture { h, directory }
}

fn alice_id() -> UserId {
    UserId::parse("alice").unwrap()
}

impl Fixture {
    /// Registers a confidential client allowed every scope; `configure`
    /// adds its OpenID Connect fields.
    async fn rp(
        &self,
        client: &str,
        configure: impl FnOnce(portcullis::ClientBuilder) -> portcullis::ClientBuilder,
    ) {
        self.h
            .confidential(client, RP_SECRET, |b| configure(b.scope(scope(ALL_SCOPES))))
            .await;
    }

    /// An access token for alice through the authorization endpoint, for
    /// `granted` with these extra request parameters (a `claims` request,
    /// say): the code carries the grant's OpenID facts, as in production.
    async fn authorized(&self, client: &str, granted: &str, extra: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", granted)
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        let q = q.finish();
        let req = Request::new(Method::Get).query(&q);
        let step = self
            .h
            .server
            .authorize(&req, Some(&signed_in(&alice_id())))
            .await;
        // Consent once; remembered afterwards.
        let resp = match step {
            portcullis::AuthorizeStep::Consent(pending) => self.h.server.approve(pending).await,
            portcullis::AuthorizeStep::Redirect(resp) => resp,
            other => panic!("expected consent or a code, got {other:?}"),
        };
        let location = url::Url::parse(resp.header("Location").unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let issued = IssuedCode {
            code,
            verifier: Some(VERIFIER.into()),
            redirect_uri: Some(REDIRECT.into()),
        };
        let creds = Creds {
            id: client.to_owned(),
            secret: Some(RP_SECRET.to_owned()),
        };
        tokens(&self.h.redeem(Auth::Basic(&creds), &issued).await).0
    }
}

#[tokio::test]
async fn sub_is_the_clients_subject_public_or_pairwise() {
    // covers: OI-04
    // issue 16
    let f = keyed(true, |_| {}).await;
    f.rp("public", |b| b).await;
    f.rp("web", |b| b.subject_type(portcullis::SubjectType::Pairwise))
        .await;
    // Same sector as `web` through its sector identifier URI.
    f.rp("admin", |b| {
        b.subject_type(portcullis::SubjectType::Pairwise)
            .sector_identifier_uri(portcullis::WebUrl::parse("https://app.example/s.json").unwrap())
    })
    .await;
    f.rp("other", |b| {
        b.subject_type(portcullis::SubjectType::Pairwise)
            .sector_identifier_uri(
                portcullis::WebUrl::parse("https://elsewhere.example/s.json").unwrap(),
            )
    })
    .await;
    let sub_of = |resp: Response| claims(&resp)["sub"].as_str().unwrap().to_owned();

    // Public: the user id.
    assert_eq!(
        sub_of(f.get(&f.token_of("public", "openid").await).await),
        "alice"
    );

    // Pairwise: what `subject_for` computes (the function the ID Token
    // uses), stable from one token to the next, not the user id.
    let web = f.h.client("web").await;
    let expected = portcullis::oidc::subject_for(&web, &alice_id(), SALT);
    let first = sub_of(f.get(&f.token_of("web", "openid email").await).await);
    assert_eq!(first, expected.as_str());
    assert_ne!(first, "alice");
    let second = sub_of(f.get(&f.token_of("web", "openid").await).await);
    assert_eq!(first, second, "stable");
    // Through the authorization endpoint and a JWT access token too.
    f.rp("web-jwt", |b| {
        b.subject_type(portcullis::SubjectType::Pairwise)
            .access_token_format(AccessTokenFormat::Jwt)
    })
    .await;
    let jwt = f.authorized("web-jwt", "openid", &[]).await;
    assert_eq!(sub_of(f.get(&jwt).await), first, "same sector, same sub");
    // One sector shares it; another sector gets another.
    assert_eq!(
        sub_of(f.get(&f.token_of("admin", "openid").await).await),
        first
    );
    let other = sub_of(f.get(&f.token_of("other", "openid").await).await);
    assert_ne!(other, first);
    assert_ne!(other, "alice");
}

#[tokio::test]
async fn a_pairwise_client_without_a_salt_is_a_server_error() {
    // covers: OI-04
    // issue 16
    let f = keyed(false, |_| {}).await;
    f.rp("web", |b| b.subject_type(portcullis::SubjectType::Pairwise))
        .await;
    let resp = f.get(&f.token_of("web", "openid email").await).await;
    assert_error(&resp, 500, "server_error");
    // The user id is never sent instead.
    assert!(!String::from_utf8_lossy(resp.body()).contains("alice"));
}

#[tokio::test]
async fn the_grants_claims_request_reaches_userinfo_once_consented() {
    // covers: OI-09, OI-05
    // issue 16: the privacy finding. This test used to show email released
    // by a `claims` request that consent to `openid` alone had allowed.
    // JWT access tokens are looked up at UserInfo even where resource
    // servers trust their signature alone.
    let f = keyed(true, |c| c.jwt_revocation_check = false).await;
    f.rp("rp", |b| b).await;
    f.rp("rp-jwt", |b| b.access_token_format(AccessTokenFormat::Jwt))
        .await;
    for client in ["rp", "rp-jwt"] {
        // Consent to `openid` alone is remembered first.
        let token = f.authorized(client, "openid", &[]).await;
        assert_eq!(
            Value::Object(claims(&f.get(&token).await)),
            json!({"sub": "alice"})
        );
        // Scope `openid` and a claims request naming email: the user is
        // asked for `email`, and only then is it released.
        let essential =
            r#"{"userinfo":{"email":{"essential":true}},"id_token":{"phone_number":null}}"#;
        let step = f.step(client, "openid", &[("claims", essential)]).await;
        let portcullis::AuthorizeStep::Consent(pending) = step else {
            panic!("the consent page, got {step:?}");
        };
        assert_eq!(pending.scope().to_string(), "openid");
        assert_eq!(pending.claims_scope().to_string(), "email phone");
        assert_eq!(pending.requested_claims(), ["email", "phone_number"]);
        let token = f.approved(client, pending).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = claims(&f.get(&token).await);
        assert_eq!(
            Value::Object(out),
            json!({"sub": "alice", "email": "alice@example.com"}),
            "{client}"
        );
        // A `value` the user's claim does not have: not released.
        let mismatch =
            r#"{"userinfo":{"email":{"value":"bob@example.com"},"locale":{"value":"en-US"}}}"#;
        let token = f
            .authorized(client, "openid", &[("claims", mismatch)])
            .await;
        let out = claims(&f.get(&token).await);
        assert_eq!(
            Value::Object(out),
            json!({"sub": "alice", "locale": "en-US"}),
            "{client}"
        );
        // Without a claims request, the scope alone.
        let token = f.authorized(client, "openid", &[]).await;
        assert_eq!(
            Value::Object(claims(&f.get(&token).await)),
            json!({"sub": "alice"})
        );
    }
    // The revocation check then applies at UserInfo all the same.
    let token = f
        .authorized(
            "rp-jwt",
            "openid",
            &[("claims", r#"{"userinfo":{"email":null}}"#)],
        )
        .await;
    let creds = Creds {
        id: "rp-jwt".into(),
        secret: Some(RP_SECRET.into()),
    };
    assert_eq!(
        f.h.revoke(Auth::Basic(&creds), &[("token", &token)])
            .await
            .status(),
        200
    );
    assert_challenge(
        &f.get(&token).await,
        401,
        "Bearer realm=\"oauth\", error=\"invalid_token\"",
    );
}

// ---------------------------------------------------------------------
// Issue 16 privacy finding: a standard claim named in the `claims` request
// is released only with the user's consent to its scope value (Core §5.4),
// at UserInfo and in the ID Token alike.

impl Fixture {
    /// The authorization step for alice (signed in) of a request of
    /// `client` for `granted` with these extra parameters.
    async fn step(
        &self,
        client: &str,
        granted: &str,
        extra: &[(&str, &str)],
    ) -> portcullis::AuthorizeStep {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", granted)
            .append_pair("state", "xyz")
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        let q = q.finish();
        let req = Request::new(Method::Get).query(&q);
        self.h
            .server
            .authorize(&req, Some(&signed_in(&alice_id())))
            .await
    }

    /// Approves `pending` and redeems the code: the token response.
    async fn approved(&self, client: &str, pending: portcullis::PendingAuthorization) -> Value {
        let resp = self.h.server.approve(pending).await;
        self.redeemed(client, &resp).await
    }

    /// Redeems the code of the redirect `resp`: the token response.
    async fn redeemed(&self, client: &str, resp: &Response) -> Value {
        let location = url::Url::parse(resp.header("Location").unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("a code in {location}"));
        let issued = IssuedCode {
            code,
            verifier: Some(VERIFIER.into()),
            redirect_uri: Some(REDIRECT.into()),
        };
        let resp = self.h.redeem(Auth::Basic(&rp_creds(client)), &issued).await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        json(&resp)
    }

    /// The claims of the ID Token of a token response, verified.
    async fn id_token_claims(&self, body: &Value, client: &str) -> Value {
        let jws = body["id_token"].as_str().expect("an id_token");
        let (typ, c) =
            verify_independently(self, jws, jsonwebtoken::Algorithm::RS256, client).await;
        assert_eq!(typ.as_deref(), Some("JWT"));
        c
    }
}

fn rp_creds(client: &str) -> Creds {
    Creds {
        id: client.to_owned(),
        secret: Some(RP_SECRET.to_owned()),
    }
}

/// The `error` of a redirect step.
fn redirected_error(step: portcullis::AuthorizeStep) -> String {
    let portcullis::AuthorizeStep::Redirect(resp) = step else {
        panic!("a redirect, got {step:?}");
    };
    let location = url::Url::parse(resp.header("Location").unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("an error in {location}"))
}

const EMAIL_VERIFIED: &str =
    r#"{"userinfo":{"email_verified":null},"id_token":{"email_verified":{"essential":true}}}"#;

#[tokio::test]
async fn a_claim_not_consented_with_prompt_none_is_consent_required() {
    // covers: OI-09, OI-06
    // issue 16: remembered consent to `openid` does not cover a claim.
    let f = keyed(true, |_| {}).await;
    f.rp("rp", |b| b).await;
    f.authorized("rp", "openid", &[]).await;
    let silent = [("prompt", "none"), ("claims", EMAIL_VERIFIED)];
    assert_eq!(
        redirected_error(f.step("rp", "openid", &silent).await),
        "consent_required"
    );
    // A claim outside the standard lists needs no consent: the host
    // decides (`UserClaims`).
    let groups = [
        ("prompt", "none"),
        ("claims", r#"{"userinfo":{"groups":null}}"#),
    ];
    let portcullis::AuthorizeStep::Redirect(resp) = f.step("rp", "openid", &groups).await else {
        panic!("a code without a page");
    };
    let token = f.redeemed("rp", &resp).await;
    let out = claims(&f.get(token["access_token"].as_str().unwrap()).await);
    assert_eq!(
        Value::Object(out),
        json!({"sub": "alice", "groups": ["admins"]})
    );
}

#[tokio::test]
async fn a_consented_claim_is_released_in_userinfo_and_the_id_token_and_remembered() {
    // covers: OI-09, OI-05, OI-02
    // issue 16
    let f = keyed(true, |_| {}).await;
    f.rp("rp", |b| b).await;
    f.authorized("rp", "openid", &[]).await;
    let with_claims = [("claims", EMAIL_VERIFIED)];
    let step = f.step("rp", "openid", &with_claims).await;
    let portcullis::AuthorizeStep::Consent(pending) = step else {
        panic!("the consent page, got {step:?}");
    };
    assert_eq!(pending.claims_scope().to_string(), "email");
    assert_eq!(pending.requested_claims(), ["email_verified"]);
    assert!(pending.new_scopes().is_empty(), "the scope was consented");
    let body = f.approved("rp", pending).await;
    // The claim's scope value is consented, not granted: `scope` unchanged.
    assert_eq!(body["scope"], "openid");
    let id = f.id_token_claims(&body, "rp").await;
    assert_eq!(id["email_verified"], json!(true));
    assert!(id.get("email").is_none(), "not named, not in the scope");
    let out = claims(&f.get(body["access_token"].as_str().unwrap()).await);
    assert_eq!(
        Value::Object(out),
        json!({"sub": "alice", "email_verified": true})
    );
    // Remembered: the next request for it issues a code without a page,
    // `prompt=none` included.
    let silent = [("prompt", "none"), ("claims", EMAIL_VERIFIED)];
    let portcullis::AuthorizeStep::Redirect(resp) = f.step("rp", "openid", &silent).await else {
        panic!("a code without a page");
    };
    let body = f.redeemed("rp", &resp).await;
    assert_eq!(f.id_token_claims(&body, "rp").await["email_verified"], true);
    // And the consent covers `scope=email` too: what the user agreed to
    // is the scope value.
    assert!(matches!(
        f.step("rp", "openid email", &[("prompt", "none")]).await,
        portcullis::AuthorizeStep::Redirect(_)
    ));
}

#[tokio::test]
async fn a_claim_not_consented_is_never_released() {
    // covers: OI-09, OI-05
    // issue 16
    let f = keyed(true, |_| {}).await;
    // A client that may not be granted `phone`: its claims request for
    // phone_number is not put to the user, and never released.
    f.h.confidential("no-phone", RP_SECRET, |b| {
        b.scope(scope("openid profile email read"))
    })
    .await;
    let both =
        r#"{"userinfo":{"phone_number":null,"email":null},"id_token":{"phone_number":null}}"#;
    let step = f.step("no-phone", "openid", &[("claims", both)]).await;
    let portcullis::AuthorizeStep::Consent(pending) = step else {
        panic!("the consent page, got {step:?}");
    };
    assert_eq!(pending.claims_scope().to_string(), "email");
    assert_eq!(pending.requested_claims(), ["email"]);
    let body = f.approved("no-phone", pending).await;
    let out = claims(&f.get(body["access_token"].as_str().unwrap()).await);
    assert_eq!(
        Value::Object(out),
        json!({"sub": "alice", "email": "alice@example.com"})
    );
    assert!(
        f.id_token_claims(&body, "no-phone")
            .await
            .get("phone_number")
            .is_none()
    );
    // A denied consent issues nothing.
    f.rp("rp", |b| b).await;
    let step = f.step("rp", "openid", &[("claims", both)]).await;
    let portcullis::AuthorizeStep::Consent(pending) = step else {
        panic!("the consent page, got {step:?}");
    };
    let denied = f.h.server.deny(pending);
    assert!(
        denied
            .header("Location")
            .unwrap()
            .contains("error=access_denied")
    );
    // A grant stored before consent covered claims (an earlier release):
    // its claims request releases only what its scope allows.
    let request = ClaimsRequest::parse(both).unwrap();
    let code = "code-of-an-earlier-release";
    let hash = portcullis::TokenHash::of(code);
    let now = portcullis::UnixTime::from_secs(T0);
    let record = portcullis::CodeRecord {
        hash,
        grant: portcullis::GrantId::derive(&hash),
        client_id: portcullis::ClientId::parse("rp").unwrap(),
        subject: alice_id(),
        scope: scope("openid email"),
        redirect_uri: Some(portcullis::RedirectUri::parse(REDIRECT).unwrap()),
        challenge: portcullis::CodeChallenge::parse(
            portcullis::ChallengeMethod::S256,
            &s256(VERIFIER),
        ),
        issued_at: now,
        expires_at: now.plus(Duration::from_secs(60)),
        used: false,
        openid: Some(portcullis::OpenIdGrant::new(now).with_claims(Some(request))),
        resources: Vec::new(),
        dpop_jkt: None,
    };
    portcullis::TokenStore::insert_code(&f.h.store, record)
        .await
        .unwrap();
    let issued = IssuedCode {
        code: code.into(),
        verifier: Some(VERIFIER.into()),
        redirect_uri: Some(REDIRECT.into()),
    };
    let resp = f.h.redeem(Auth::Basic(&rp_creds("rp")), &issued).await;
    let body = json(&resp);
    let out = claims(&f.get(body["access_token"].as_str().unwrap()).await);
    assert_eq!(
        names(&out),
        ["email", "email_verified", "sub"],
        "phone_number named but never consented"
    );
    assert!(
        f.id_token_claims(&body, "rp")
            .await
            .get("phone_number")
            .is_none()
    );
}

#[tokio::test]
async fn a_refresh_narrowing_the_scope_keeps_only_the_claims_named_and_consented() {
    // covers: OI-09, OI-10
    // issue 16: the rule for narrowing. Claims released only by a scope
    // value the refresh drops stop; claims the `claims` request named and
    // the user consented to stay.
    let f = keyed(true, |_| {}).await;
    f.rp("rp", |b| b).await;
    let named = r#"{"userinfo":{"email":null},"id_token":{"name":null}}"#;
    let step = f
        .step("rp", "openid profile email", &[("claims", named)])
        .await;
    let portcullis::AuthorizeStep::Consent(pending) = step else {
        panic!("the consent page, got {step:?}");
    };
    assert!(pending.claims_scope().is_empty(), "within the scope");
    let body = f.approved("rp", pending).await;
    let before = claims(&f.get(body["access_token"].as_str().unwrap()).await);
    assert!(before.contains_key("family_name") && before.contains_key("email_verified"));
    let resp =
        f.h.token(
            Auth::Basic(&rp_creds("rp")),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let narrowed = json(&resp);
    assert_eq!(narrowed["scope"], "openid");
    let after = claims(&f.get(narrowed["access_token"].as_str().unwrap()).await);
    assert_eq!(
        Value::Object(after),
        json!({"sub": "alice", "email": "alice@example.com"})
    );
    let id = f.id_token_claims(&narrowed, "rp").await;
    assert_eq!(id["name"], "Alice Adams");
    assert!(id.get("email").is_none());
}

/// Verifies a signed UserInfo response with `jsonwebtoken` and the key of
/// our JWKS its `kid` names; returns the header's `typ` and the claims.
async fn verify_independently(
    f: &Fixture,
    jws: &str,
    jalg: jsonwebtoken::Algorithm,
    aud: &str,
) -> (Option<String>, Value) {
    let header = jsonwebtoken::decode_header(jws).unwrap();
    assert_eq!(header.alg, jalg);
    let kid = header.kid.expect("kid in the header");
    let doc: Value = serde_json::from_slice(f.h.server.jwks().await.body()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc).unwrap();
    let jwk = set.find(&kid).expect("the signing key is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jalg);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[ISSUER]);
    // A UserInfo response has no `exp` (Core §5.3.2).
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(jws, &key, &validation).unwrap();
    (header.typ, data.claims)
}

#[tokio::test]
async fn signed_userinfo_verifies_independently_via_our_jwks() {
    // covers: OI-05, OI-04
    // issue 16
    let f = keyed(true, |_| {}).await;
    let cases = [
        (
            "signed-rs",
            portcullis::Algorithm::Rs256,
            jsonwebtoken::Algorithm::RS256,
        ),
        (
            "signed-es",
            portcullis::Algorithm::Es256,
            jsonwebtoken::Algorithm::ES256,
        ),
    ];
    for (client, alg, jalg) in cases {
        f.rp(client, |b| {
            b.userinfo_signed_response_alg(alg)
                .subject_type(portcullis::SubjectType::Pairwise)
        })
        .await;
        let token = f
            .authorized(
                client,
                "openid email",
                &[("claims", r#"{"userinfo":{"locale":null}}"#)],
            )
            .await;
        let resp = f.get(&token).await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        assert_eq!(resp.header("Content-Type"), Some("application/jwt"));
        assert_eq!(resp.header("Cache-Control"), Some("no-store"));
        let jws = std::str::from_utf8(resp.body()).unwrap();
        let (typ, c) = verify_independently(&f, jws, jalg, client).await;
        // issue 16: no `typ` (an ID Token's is `JWT`), no `exp`.
        assert_eq!(typ, None);
        let registered = f.h.client(client).await;
        let sub = portcullis::oidc::subject_for(&registered, &alice_id(), SALT);
        assert_eq!(
            c,
            json!({"iss": ISSUER, "aud": client, "iat": T0, "sub": sub.as_str(),
                   "email": "alice@example.com", "email_verified": true, "locale": "en-US"}),
            "{client}"
        );
        // issue 16: not an ID Token, though signed by our key for this
        // client: refused as an `id_token_hint`.
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "openid")
            .append_pair("state", "xyz")
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "none")
            .append_pair("id_token_hint", jws);
        let q = q.finish();
        let step =
            f.h.server
                .authorize(
                    &Request::new(Method::Get).query(&q),
                    Some(&signed_in(&alice_id())),
                )
                .await;
        assert_eq!(redirected_error(step), "invalid_request", "{client}");
        // POST with the form body: the same signed answer.
        let body = form(&[("access_token", &token)]);
        let resp =
            f.h.server
                .userinfo(&form_request(body.as_bytes(), None))
                .await;
        assert_eq!(resp.header("Content-Type"), Some("application/jwt"));
    }
}

#[tokio::test]
async fn no_key_of_the_registered_algorithm_is_a_server_error_never_another_alg() {
    // covers: OI-05
    // issue 16
    let f = keyed(true, |_| {}).await;
    f.rp("signed-ed", |b| {
        b.userinfo_signed_response_alg(portcullis::Algorithm::EdDsa)
    })
    .await;
    let resp = f.get(&f.token_of("signed-ed", "openid email").await).await;
    assert_error(&resp, 500, "server_error");
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert!(!String::from_utf8_lossy(resp.body()).contains("alice"));
}
