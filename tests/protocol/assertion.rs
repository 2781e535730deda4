//! JWT client authentication (RFC 7523): `private_key_jwt` and
//! `client_secret_jwt`, with assertions signed by an independent library.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use portcullis::http::{Method, Request, Response};
use portcullis::{
    Algorithm, AuthorizationServer, Client, ClientAdmin, ClientId, Config, FixedClock, GrantType,
    KeyId, KeyRecord, MemoryStore, ScopeSet, Secret, UnixTime,
};
use ring::signature::{EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example";
const NOW: u64 = 1_800_000_000;
const HMAC_SECRET: &str = "0123456789abcdef0123456789abcdef-shared";
const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Fixture {
    server: AuthorizationServer,
    store: Arc<MemoryStore>,
    ec_key: EncodingKey,
    other_key: EncodingKey,
    ec_public: Vec<u8>,
}

#[allow(clippy::disallowed_methods)]
fn new_ec_key() -> (EncodingKey, Vec<u8>) {
    let t = UnixTime::from_secs(NOW);
    let rec = KeyRecord::generate(Algorithm::Es256, KeyId::parse("c1").unwrap(), t, t).unwrap();
    let der = rec.private_pkcs8.expose_secret().clone();
    let pair = EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &der,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    (
        EncodingKey::from_ec_der(&der),
        pair.public_key().as_ref().to_vec(),
    )
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

async fn fixture_with(configure: impl FnOnce(&mut Config)) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let mut config = Config::new(ISSUER);
    configure(&mut config);
    let server = AuthorizationServer::builder(config)
        .store(store.clone())
        .clock(Arc::new(FixedClock::new(UnixTime::from_secs(NOW))))
        .build()
        .unwrap();
    let (ec_key, ec_public) = new_ec_key();
    let (other_key, _) = new_ec_key();
    let x = URL_SAFE_NO_PAD.encode(&ec_public[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&ec_public[33..65]);
    let jwks =
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": "c1", "use": "sig"}]});
    let scope = ScopeSet::parse("read").unwrap();
    let pk = Client::private_key_jwt(ClientId::parse("pk").unwrap(), jwks.to_string())
        .grant_type(GrantType::ClientCredentials)
        .scope(scope.clone())
        .build()
        .unwrap();
    let sj = Client::client_secret_jwt(
        ClientId::parse("sj").unwrap(),
        Secret::new(HMAC_SECRET.into()),
    )
    .grant_type(GrantType::ClientCredentials)
    .scope(scope)
    .build()
    .unwrap();
    store.insert_client(pk).await.unwrap();
    store.insert_client(sj).await.unwrap();
    Fixture {
        server,
        store,
        ec_key,
        other_key,
        ec_public,
    }
}

fn claims(client: &str, jti: &str) -> Value {
    json!({"iss": client, "sub": client, "aud": ISSUER, "exp": NOW + 60, "iat": NOW, "jti": jti})
}

fn es256(key: &EncodingKey, claims: &Value) -> String {
    let mut h = Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = Some("c1".into());
    jsonwebtoken::encode(&h, claims, key).unwrap()
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HMAC_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn token(f: &Fixture, assertion: &str, extra_header: Option<&str>) -> Response {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
        url::form_urlencoded::byte_serialize(TYPE.as_bytes()).collect::<String>()
    );
    let mut req =
        Request::new(Method::Post).header("Content-Type", b"application/x-www-form-urlencoded");
    if let Some(h) = extra_header {
        req = req.header("Authorization", h.as_bytes());
    }
    f.server.token(&req.body(body.as_bytes())).await
}

fn error(r: &Response) -> String {
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    v["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn private_key_jwt_and_client_secret_jwt_authenticate() {
    // covers: CA-08
    let f = fixture().await;
    assert_eq!(
        token(&f, &es256(&f.ec_key, &claims("pk", "a1")), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        token(&f, &hs256(&claims("sj", "b1")), None).await.status(),
        200
    );
}

#[tokio::test]
async fn ca08_the_audience_is_the_issuer_as_a_single_string() {
    // covers: CA-08
    // issue 15 finding 4: the token endpoint URL and arrays were accepted;
    // draft-ietf-oauth-rfc7523bis allows them only where the server opts in
    // for legacy clients.
    let legacy = [
        json!(format!("{ISSUER}/token")),
        json!([ISSUER]),
        json!(["https://other.example", format!("{ISSUER}/token")]),
    ];
    let f = fixture().await;
    for (i, aud) in legacy.iter().enumerate() {
        let mut c = claims("pk", &format!("strict{i}"));
        c["aud"] = aud.clone();
        let r = token(&f, &es256(&f.ec_key, &c), None).await;
        assert_eq!(
            (r.status(), error(&r).as_str()),
            (401, "invalid_client"),
            "{aud}"
        );
        let mut c = claims("sj", &format!("strict{i}"));
        c["aud"] = aud.clone();
        let r = token(&f, &hs256(&c), None).await;
        assert_eq!(
            (r.status(), error(&r).as_str()),
            (401, "invalid_client"),
            "{aud}"
        );
    }
    let f = fixture_with(|c| c.dangerous_allow_legacy_assertion_audience = true).await;
    for (i, aud) in legacy.iter().enumerate() {
        let mut c = claims("pk", &format!("legacy{i}"));
        c["aud"] = aud.clone();
        let r = token(&f, &es256(&f.ec_key, &c), None).await;
        assert_eq!(r.status(), 200, "{aud}");
    }
    // The issuer itself still works, and another server still does not.
    let r = token(&f, &hs256(&claims("sj", "legacy-iss")), None).await;
    assert_eq!(r.status(), 200);
    let mut c = claims("sj", "legacy-other");
    c["aud"] = json!(["https://other.example"]);
    let r = token(&f, &hs256(&c), None).await;
    assert_eq!((r.status(), error(&r).as_str()), (401, "invalid_client"));
}

#[tokio::test]
async fn a_jti_is_accepted_once() {
    // covers: CA-08
    let f = fixture().await;
    let a = es256(&f.ec_key, &claims("pk", "once"));
    assert_eq!(token(&f, &a, None).await.status(), 200);
    let replay = token(&f, &a, None).await;
    assert_eq!(
        (replay.status(), error(&replay).as_str()),
        (401, "invalid_client")
    );
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    // covers: CA-08
    let f = fixture().await;
    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut c = claims("pk", "x1");
    c["aud"] = json!("https://someone.else/token");
    cases.push(("wrong aud", es256(&f.ec_key, &c)));
    let mut c = claims("pk", "x2");
    c["exp"] = json!(NOW - 120);
    cases.push(("expired", es256(&f.ec_key, &c)));
    let mut c = claims("pk", "x3");
    c["sub"] = json!("sj");
    cases.push(("iss != sub", es256(&f.ec_key, &c)));
    let mut c = claims("pk", "x4");
    c.as_object_mut().unwrap().remove("jti");
    cases.push(("no jti", es256(&f.ec_key, &c)));
    let mut c = claims("pk", "x5");
    c.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp", es256(&f.ec_key, &c)));
    cases.push(("another key", es256(&f.other_key, &claims("pk", "x6"))));
    // alg none.
    let body = URL_SAFE_NO_PAD.encode(claims("pk", "x7").to_string());
    let none = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    cases.push(("alg none", format!("{none}.{body}.")));
    // Algorithm confusion: HS256 keyed with the client's public key.
    let confused = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("pk", "x8"),
        &EncodingKey::from_secret(&f.ec_public),
    )
    .unwrap();
    cases.push(("HS256 with the public key", confused));
    // A client_secret_jwt client cannot switch to another algorithm.
    cases.push((
        "ES256 for an HMAC client",
        es256(&f.ec_key, &claims("sj", "x9")),
    ));
    cases.push(("unknown client", hs256(&claims("nobody", "x10"))));
    cases.push(("garbage", "not.a.jwt".into()));
    for (what, assertion) in cases {
        let r = token(&f, &assertion, None).await;
        assert_eq!(
            (r.status(), error(&r).as_str()),
            (401, "invalid_client"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_assertion_with_another_method_is_invalid_request() {
    // covers: CA-03, CA-08
    let f = fixture().await;
    let basic = format!("Basic {}", STANDARD.encode("pk:secret"));
    let r = token(&f, &es256(&f.ec_key, &claims("pk", "m1")), Some(&basic)).await;
    assert_eq!((r.status(), error(&r).as_str()), (400, "invalid_request"));
}

/// The test RSA key as PKCS#8 PEM (for `jsonwebtoken`) and its public JWK
/// members `n`, `e`.
fn rsa_key() -> (EncodingKey, String, String) {
    let der = include_bytes!("../fixtures/rsa2048.pk8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der).unwrap();
    let c = ring::signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    (
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        URL_SAFE_NO_PAD.encode(&c.n),
        URL_SAFE_NO_PAD.encode(&c.e),
    )
}

#[tokio::test]
async fn ps256_assertions_verify_with_rsa_keys_that_allow_it() {
    // covers: CA-08 (PS256, issue 17)
    let f = fixture().await;
    let (key, n, e) = rsa_key();
    let store_client = |id: &str, alg: Option<&str>| {
        let mut jwk = json!({"kty": "RSA", "n": n, "e": e, "kid": "r1"});
        if let Some(alg) = alg {
            jwk["alg"] = json!(alg);
        }
        Client::private_key_jwt(
            ClientId::parse(id).unwrap(),
            json!({"keys": [jwk]}).to_string(),
        )
        .grant_type(GrantType::ClientCredentials)
        .scope(ScopeSet::parse("read").unwrap())
        .build()
        .unwrap()
    };
    let clients = [
        ("rsa-any", None),
        ("rsa-ps", Some("PS256")),
        ("rsa-rs", Some("RS256")),
    ];
    for (id, alg) in clients {
        f.store.insert_client(store_client(id, alg)).await.unwrap();
    }
    let sign = |alg, client: &str, jti: &str| {
        let mut h = Header::new(alg);
        h.kid = Some("r1".into());
        jsonwebtoken::encode(&h, &claims(client, jti), &key).unwrap()
    };
    let ps = jsonwebtoken::Algorithm::PS256;
    let rs = jsonwebtoken::Algorithm::RS256;
    for (client, alg, ok) in [
        // Without `alg`, an RSA key verifies RS256 and PS256.
        ("rsa-any", ps, true),
        ("rsa-any", rs, true),
        // With `alg`, only that one.
        ("rsa-ps", ps, true),
        ("rsa-ps", rs, false),
        ("rsa-rs", rs, true),
        ("rsa-rs", ps, false),
    ] {
        let jti = format!("{client}-{alg:?}");
        let r = token(&f, &sign(alg, client, &jti), None).await;
        assert_eq!(
            r.status() == 200,
            ok,
            "{client} {alg:?}: {:?}",
            String::from_utf8_lossy(r.body())
        );
    }
    // A PS256 signature relabelled RS256 (or the reverse) never verifies.
    let good = sign(ps, "rsa-any", "relabel");
    let (_, rest) = good.split_once('.').unwrap();
    let mut h = Header::new(rs);
    h.kid = Some("r1".into());
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap());
    let relabelled = format!("{header}.{rest}");
    assert_eq!(error(&token(&f, &relabelled, None).await), "invalid_client");
}

// The full client model (issue 19).
#[tokio::test]
async fn a_registered_token_endpoint_auth_signing_alg_is_the_only_one_accepted() {
    // covers: CA-08
    use portcullis::{ClientSigningAlg, ClientStore as _};
    let f = fixture().await;
    let pk = f
        .store
        .client(&ClientId::parse("pk").unwrap())
        .await
        .unwrap()
        .unwrap();
    let restrict = |alg| {
        (*pk)
            .clone()
            .into_builder()
            .token_endpoint_auth_signing_alg(ClientSigningAlg::Key(alg))
            .build()
            .unwrap()
    };
    assert!(
        f.store
            .update_client(restrict(Algorithm::Ps256))
            .await
            .unwrap()
    );
    let r = token(&f, &es256(&f.ec_key, &claims("pk", "alg1")), None).await;
    assert_eq!((r.status(), error(&r)), (401, "invalid_client".to_owned()));
    assert!(
        f.store
            .update_client(restrict(Algorithm::Es256))
            .await
            .unwrap()
    );
    let r = token(&f, &es256(&f.ec_key, &claims("pk", "alg2")), None).await;
    assert_eq!(r.status(), 200);
}
