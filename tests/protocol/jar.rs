//! JWT-secured authorization requests (RFC 9101, JR-01): `request` objects
//! by value at the authorization and pushed authorization request
//! endpoints. Objects are signed with `jsonwebtoken` over keys made by
//! `ring`, never with our own code. The fixture is shared with `par.rs`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use portcullis::http::{Method, Request, Response};
use portcullis::{
    Authentication, AuthorizationServer, AuthorizeStep, Client, ClientAdmin, ClientBuilder,
    ClientId, Config, FixedClock, GrantType, MemoryStore, PendingAuthorization, RedirectUri,
    ScopeSet, Secret, SecretHash, UnixTime, UserId,
};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Value, json};

pub(crate) const ISSUER: &str = "https://auth.example";
pub(crate) const NOW: u64 = 1_800_000_000;
pub(crate) const REDIRECT: &str = "https://rp.example/cb";
/// A confidential client (`client_secret_basic`) that also registered an
/// ES256 key for its request objects.
pub(crate) const WEB: &str = "web";
pub(crate) const WEB_SECRET: &str = "web-secret-1234567890";
/// A public client with an Ed25519 key for its request objects.
pub(crate) const SPA: &str = "spa";
/// A `private_key_jwt` client (ES256).
pub(crate) const PK: &str = "pk";
/// A `client_secret_jwt` client (HS256 request objects with its secret).
pub(crate) const SJ: &str = "sj";
pub(crate) const SJ_SECRET: &str = "0123456789abcdef0123456789abcdef-shared";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A signing key made by `ring`, for `jsonwebtoken`.
pub(crate) struct TestKey {
    pub(crate) alg: jsonwebtoken::Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: Value,
}

#[allow(clippy::disallowed_methods)]
fn system_random() -> ring::rand::SystemRandom {
    ring::rand::SystemRandom::new()
}

pub(crate) fn es256_key(kid: &str) -> TestKey {
    let rng = system_random();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref();
    TestKey {
        alg: jsonwebtoken::Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                    "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&public[33..65])}),
    }
}

pub(crate) fn ed25519_key(kid: &str) -> TestKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&system_random()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    TestKey {
        alg: jsonwebtoken::Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())}),
    }
}

fn jwks(key: &TestKey) -> String {
    json!({"keys": [key.jwk]}).to_string()
}

/// The server, its store and clock, and the clients' keys.
pub(crate) struct Fx {
    pub(crate) server: AuthorizationServer,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) web_key: TestKey,
    pub(crate) spa_key: TestKey,
    pub(crate) pk_key: TestKey,
    /// A key no client registered.
    pub(crate) stranger: TestKey,
}

pub(crate) async fn fixture() -> Fx {
    fixture_with(|_| {}, |b| b).await
}

/// A server configured by `configure`, whose `web` client is changed by
/// `web` before it is registered.
pub(crate) async fn fixture_with(
    configure: impl FnOnce(&mut Config),
    web: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Fx {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(NOW)));
    let mut config = Config::new(ISSUER);
    configure(&mut config);
    let server = AuthorizationServer::builder(config)
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let (web_key, spa_key, pk_key) = (es256_key("w1"), ed25519_key("s1"), es256_key("p1"));
    let code_flow = |b: ClientBuilder| {
        b.grant_type(GrantType::AuthorizationCode)
            .redirect_uri(RedirectUri::parse(REDIRECT).unwrap())
            .scope(ScopeSet::parse("openid read write").unwrap())
    };
    let id = |s: &str| ClientId::parse(s).unwrap();
    let clients = [
        web(code_flow(
            Client::confidential(id(WEB), SecretHash::sha256(WEB_SECRET)).jwks(jwks(&web_key)),
        )),
        code_flow(Client::public(id(SPA)).jwks(jwks(&spa_key))),
        code_flow(Client::private_key_jwt(id(PK), jwks(&pk_key))),
        code_flow(Client::client_secret_jwt(
            id(SJ),
            Secret::new(SJ_SECRET.into()),
        )),
    ];
    for c in clients {
        store.insert_client(c.build().unwrap()).await.unwrap();
    }
    Fx {
        server,
        clock,
        web_key,
        spa_key,
        pk_key,
        stranger: es256_key("w1"),
    }
}

/// The claims of a good request object of `client`: every parameter of a
/// code request with PKCE, `state` `from-object`, scope `read`.
pub(crate) fn object_claims(client: &str) -> Value {
    json!({
        "iss": client,
        "aud": ISSUER,
        "exp": NOW + 300,
        "nbf": NOW - 10,
        "iat": NOW - 10,
        "jti": "ro-1",
        "client_id": client,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "read",
        "state": "from-object",
        "code_challenge": challenge(),
        "code_challenge_method": "S256",
    })
}

pub(crate) fn challenge() -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, VERIFIER.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// `claims` signed with `key` (kid and `typ` `oauth-authz-req+jwt` in the
/// header).
pub(crate) fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    header.typ = Some("oauth-authz-req+jwt".into());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// `claims` as an HS256 object under `secret`.
pub(crate) fn sign_hs256(secret: &str, claims: &Value) -> String {
    let header = Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// `claims` with `alg: none` and no signature.
pub(crate) fn unsigned(claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{c}.")
}

pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The authorization endpoint, GET, with this query.
pub(crate) async fn authorize(
    fx: &Fx,
    pairs: &[(&str, &str)],
    user: Option<&Authentication>,
) -> AuthorizeStep {
    let q = query(pairs);
    fx.server
        .authorize(&Request::new(Method::Get).query(&q), user)
        .await
}

pub(crate) fn alice() -> Authentication {
    Authentication::new(
        UserId::parse("alice").unwrap(),
        UnixTime::from_secs(NOW - 60),
    )
}

pub(crate) fn consent(step: AuthorizeStep) -> PendingAuthorization {
    match step {
        AuthorizeStep::Consent(p) => p,
        other => panic!("expected the consent step, got {other:?}"),
    }
}

/// The error code of an error page (never a redirect: AZ-03).
#[track_caller]
pub(crate) fn page_error(step: AuthorizeStep) -> String {
    match step {
        AuthorizeStep::Invalid(page) => {
            assert!(page.header("location").is_none());
            page.error().unwrap().as_str().to_owned()
        }
        other => panic!("expected an error page, got {other:?}"),
    }
}

/// How a push authenticates.
pub(crate) enum PushAuth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    /// `client_id` only (a public client).
    Id(&'a str),
    /// A `private_key_jwt` assertion of `pk` signed with this key.
    Assertion(&'a TestKey),
    Nothing,
}

/// POSTs `params` to the pushed authorization request endpoint, through
/// the server's path dispatch (what every adapter calls).
pub(crate) async fn push(fx: &Fx, auth: PushAuth<'_>, params: &[(&str, &str)]) -> Response {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut header = None;
    match auth {
        PushAuth::Basic(id, secret) => {
            header = Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{id}:{secret}"))
            ));
        }
        PushAuth::Post(id, secret) => {
            pairs.push(("client_id".into(), id.into()));
            pairs.push(("client_secret".into(), secret.into()));
        }
        PushAuth::Id(id) => pairs.push(("client_id".into(), id.into())),
        PushAuth::Assertion(key) => {
            let claims = json!({"iss": PK, "sub": PK, "aud": ISSUER, "exp": NOW + 60,
                                "jti": format!("a-{}", pairs.len())});
            pairs.push(("client_id".into(), PK.into()));
            pairs.push(("client_assertion_type".into(), ASSERTION_TYPE.into()));
            pairs.push(("client_assertion".into(), sign(key, &claims)));
        }
        PushAuth::Nothing => {}
    }
    let body = {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let mut req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    if let Some(h) = &header {
        req = req.header("Authorization", h.as_bytes());
    }
    fx.server.handle(&req, "/par").await
}

/// The `request_uri` of a successful push.
#[track_caller]
pub(crate) fn pushed(resp: &Response) -> String {
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    assert_eq!(resp.status(), 201, "{body}");
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    v["request_uri"].as_str().unwrap().to_owned()
}

/// A JSON error of the pushed endpoint (never a redirect or a page).
#[track_caller]
pub(crate) fn push_error(resp: &Response, status: u16, code: &str) {
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    assert_eq!(resp.status(), status, "{body}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert!(resp.header("location").is_none());
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(v["error"], code, "{body}");
}

// ---------------------------------------------------------------------
// The authorization endpoint.

// covers: JR-01
#[tokio::test]
async fn jr01_parameters_come_only_from_the_signed_object() {
    let fx = fixture().await;
    let object = sign(&fx.web_key, &object_claims(WEB));
    // Outside parameters other than client_id are ignored, even where they
    // differ (a wider scope, another state).
    let step = authorize(
        &fx,
        &[
            ("client_id", WEB),
            ("request", &object),
            ("scope", "read write"),
            ("state", "from-query"),
            ("response_type", "code"),
        ],
        Some(&alice()),
    )
    .await;
    let pending = consent(step);
    assert_eq!(pending.scope().to_string(), "read");
    assert_eq!(pending.state(), Some("from-object"));
    let redirect = fx.server.approve(pending).await;
    let location = redirect.header("location").unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert!(location.contains("state=from-object"), "{location}");
    assert!(location.contains("code="), "{location}");
}

// covers: JR-01
#[tokio::test]
async fn jr01_eddsa_es256_and_hs256_objects_verify() {
    let fx = fixture().await;
    let cases = [
        (SPA, sign(&fx.spa_key, &object_claims(SPA))),
        (PK, sign(&fx.pk_key, &object_claims(PK))),
        (SJ, sign_hs256(SJ_SECRET, &object_claims(SJ))),
    ];
    for (client, object) in cases {
        let step = authorize(
            &fx,
            &[("client_id", client), ("request", &object)],
            Some(&alice()),
        )
        .await;
        assert_eq!(consent(step).state(), Some("from-object"), "{client}");
    }
}

// covers: JR-01
#[tokio::test]
async fn jr01_unsigned_or_badly_signed_objects_are_invalid_request_object() {
    let fx = fixture().await;
    let good = object_claims(WEB);
    let with = |name: &str, value: Value| {
        let mut c = good.clone();
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let mut wrong_typ = Header::new(jsonwebtoken::Algorithm::ES256);
    wrong_typ.typ = Some("dpop+jwt".into());
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned(&good)),
        ("another key", sign(&fx.stranger, &good)),
        ("another client's key", sign(&fx.pk_key, &good)),
        (
            "HS256 without a shared secret",
            sign_hs256(WEB_SECRET, &good),
        ),
        (
            "iss another client",
            sign(&fx.web_key, &with("iss", json!(PK))),
        ),
        (
            "client_id inside another client",
            sign(&fx.web_key, &with("client_id", json!(PK))),
        ),
        (
            "aud another server",
            sign(&fx.web_key, &with("aud", json!("https://other.example"))),
        ),
        ("no aud", sign(&fx.web_key, &without("aud"))),
        ("no exp", sign(&fx.web_key, &without("exp"))),
        ("expired", sign(&fx.web_key, &with("exp", json!(NOW - 120)))),
        (
            "exp too far ahead",
            sign(&fx.web_key, &with("exp", json!(NOW + 2 * 3600))),
        ),
        (
            "nbf ahead",
            sign(&fx.web_key, &with("nbf", json!(NOW + 600))),
        ),
        (
            "nbf too far back",
            sign(&fx.web_key, &with("nbf", json!(NOW - 2 * 3600))),
        ),
        (
            "request_uri inside",
            sign(
                &fx.web_key,
                &with("request_uri", json!("urn:ietf:params:oauth:request_uri:x")),
            ),
        ),
        (
            "request inside",
            sign(&fx.web_key, &with("request", json!("a.b.c"))),
        ),
        (
            "wrong typ",
            jsonwebtoken::encode(&wrong_typ, &good, &fx.web_key.encoding).unwrap(),
        ),
        ("not a JWS", "not-a-jwt".to_owned()),
    ];
    for (why, object) in cases {
        let step = authorize(
            &fx,
            &[("client_id", WEB), ("request", &object)],
            Some(&alice()),
        )
        .await;
        assert_eq!(page_error(step), "invalid_request_object", "{why}");
    }
    // The control: the same object, well signed, is accepted.
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request", &sign(&fx.web_key, &good))],
        Some(&alice()),
    )
    .await;
    consent(step);
}

// covers: JR-01
#[tokio::test]
async fn jr01_the_outer_client_id_must_match_the_object() {
    let fx = fixture().await;
    // Signed by web, sent as spa: spa's keys do not verify it.
    let object = sign(&fx.web_key, &object_claims(WEB));
    let step = authorize(
        &fx,
        &[("client_id", SPA), ("request", &object)],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request_object");
    // Without client_id outside, there is no client to check it for.
    let step = authorize(&fx, &[("request", &object)], Some(&alice())).await;
    assert_eq!(page_error(step), "invalid_request");
    // request and request_uri together.
    let step = authorize(
        &fx,
        &[
            ("client_id", WEB),
            ("request", &object),
            ("request_uri", "urn:ietf:params:oauth:request_uri:x"),
        ],
        Some(&alice()),
    )
    .await;
    assert_eq!(page_error(step), "invalid_request");
}

// covers: JR-01
#[tokio::test]
async fn jr01_an_invalid_request_inside_a_good_object_is_redirected() {
    let fx = fixture().await;
    let mut claims = object_claims(WEB);
    claims["scope"] = json!("admin");
    let object = sign(&fx.web_key, &claims);
    match authorize(
        &fx,
        &[("client_id", WEB), ("request", &object)],
        Some(&alice()),
    )
    .await
    {
        AuthorizeStep::Redirect(r) => {
            let location = r.header("location").unwrap();
            assert!(location.starts_with(REDIRECT), "{location}");
            assert!(location.contains("error=invalid_scope"), "{location}");
            assert!(location.contains("state=from-object"), "{location}");
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

// covers: JR-01
#[tokio::test]
async fn jr01_require_signed_request_object_refuses_plain_requests() {
    let fx = fixture_with(|_| {}, |b| b.require_signed_request_object(true)).await;
    let plain = [
        ("client_id", WEB),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("code_challenge", &challenge()),
        ("code_challenge_method", "S256"),
    ];
    let step = authorize(&fx, &plain, Some(&alice())).await;
    assert_eq!(page_error(step), "invalid_request");
    // Nor may it push a plain request.
    let resp = push(&fx, PushAuth::Basic(WEB, WEB_SECRET), &plain[1..]).await;
    push_error(&resp, 400, "invalid_request");
    // A signed object, by value or pushed, is accepted.
    let object = sign(&fx.web_key, &object_claims(WEB));
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request", &object)],
        Some(&alice()),
    )
    .await;
    consent(step);
    let uri = pushed(
        &push(
            &fx,
            PushAuth::Basic(WEB, WEB_SECRET),
            &[("request", &object)],
        )
        .await,
    );
    let step = authorize(
        &fx,
        &[("client_id", WEB), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    assert_eq!(consent(step).state(), Some("from-object"));
}

// ---------------------------------------------------------------------
// Through PAR.

// covers: JR-01, PA-01
#[tokio::test]
async fn jr01_a_pushed_request_object_is_verified_and_used() {
    let fx = fixture().await;
    let object = sign(&fx.pk_key, &object_claims(PK));
    let uri = pushed(
        &push(
            &fx,
            PushAuth::Assertion(&fx.pk_key),
            &[("request", &object), ("scope", "write")],
        )
        .await,
    );
    let step = authorize(
        &fx,
        &[("client_id", PK), ("request_uri", &uri)],
        Some(&alice()),
    )
    .await;
    let pending = consent(step);
    assert_eq!(pending.scope().to_string(), "read");
    assert_eq!(pending.state(), Some("from-object"));
    // A bad object is a JSON error at the pushed endpoint.
    let resp = push(
        &fx,
        PushAuth::Basic(WEB, WEB_SECRET),
        &[("request", &unsigned(&object_claims(WEB)))],
    )
    .await;
    push_error(&resp, 400, "invalid_request_object");
    let resp = push(
        &fx,
        PushAuth::Basic(WEB, WEB_SECRET),
        &[("request", &sign(&fx.pk_key, &object_claims(PK)))],
    )
    .await;
    push_error(&resp, 400, "invalid_request_object");
}

// ---------------------------------------------------------------------
// Metadata.

// covers: JR-01, MD-01
#[tokio::test]
async fn jr01_metadata_says_request_objects_by_value() {
    let fx = fixture().await;
    let md: Value = serde_json::from_slice(fx.server.metadata().body()).unwrap();
    let algs = md["request_object_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for alg in ["ES256", "EdDSA", "RS256"] {
        assert!(algs.contains(&json!(alg)), "{alg}");
    }
    assert!(!algs.contains(&json!("none")));
    let d: Value = serde_json::from_slice(fx.server.openid_configuration().body()).unwrap();
    assert_eq!(d["request_parameter_supported"], true);
    // By reference only our own pushed requests' URNs: no fetching.
    assert_eq!(d["request_uri_parameter_supported"], false);
}
