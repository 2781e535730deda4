//! JWT access tokens (RFC 9068), signing keys and JWKS, and bearer
//! validation (RFC 6750) through the public API. Our tokens are checked by
//! an independent library (`jsonwebtoken`) reading our JWKS.

use std::time::Duration;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis::http::{Method, Request, Response};
use portcullis::{
    AccessTokenFormat, Algorithm, AuthorizationServer, ClaimsHook, Client, ClientAdmin, ClientId,
    Config, FixedClock, GrantType, MemoryKeys, MemoryStore, ScopeSet, SecretHash, UnixTime, UserId,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example";
const START: u64 = 1_800_000_000;

struct Fixture {
    server: AuthorizationServer,
    clock: Arc<FixedClock>,
    store: Arc<MemoryStore>,
}

struct Hook;

impl ClaimsHook for Hook {
    fn claims(
        &self,
        _: &Client,
        _: Option<&UserId>,
        _: &ScopeSet,
    ) -> serde_json::Map<String, Value> {
        json!({"tenant": "acme", "sub": "forged", "iss": "https://evil.example", "scope": "admin"})
            .as_object()
            .unwrap()
            .clone()
    }
}

async fn fixture(alg: Algorithm, configure: impl FnOnce(&mut Config)) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(START)));
    let mut config = Config::new(ISSUER);
    config.signing_algorithm = alg;
    configure(&mut config);
    let audience = portcullis::Audience::parse(config.audience()).unwrap();
    let server = AuthorizationServer::builder(config)
        .store(store.clone())
        .key_provider(Arc::new(MemoryKeys::new()))
        .claims_hook(Arc::new(Hook))
        .clock(clock.clone())
        .build()
        .unwrap();
    for (id, format) in [
        ("jwt-svc", AccessTokenFormat::Jwt),
        ("opaque-svc", AccessTokenFormat::Opaque),
    ] {
        let mut c =
            Client::confidential(ClientId::parse(id).unwrap(), SecretHash::sha256("secret"))
                .grant_type(GrantType::ClientCredentials)
                .scope(ScopeSet::parse("read write").unwrap())
                .access_token_format(format);
        if id == "opaque-svc" {
            // Introspects the other client's tokens as their resource
            // server (IN-01).
            c = c.resource_server_for(audience.clone());
        }
        let c = c.build().unwrap();
        store.insert_client(c).await.unwrap();
    }
    server.ensure_signing_key().await.unwrap();
    Fixture {
        server,
        clock,
        store,
    }
}

fn form(body: &str, client: &str) -> (String, String) {
    (
        body.to_owned(),
        format!("Basic {}", STANDARD.encode(format!("{client}:secret"))),
    )
}

async fn post(f: &Fixture, endpoint: &str, body: &str, client: &str) -> Response {
    let (body, auth) = form(body, client);
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header("Authorization", auth.as_bytes())
        .body(body.as_bytes());
    match endpoint {
        "token" => f.server.token(&req).await,
        "revoke" => f.server.revoke(&req).await,
        _ => f.server.introspect(&req).await,
    }
}

async fn access_token(f: &Fixture, client: &str, scope: &str) -> String {
    let r = post(
        f,
        "token",
        &format!("grant_type=client_credentials&scope={scope}"),
        client,
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", String::from_utf8_lossy(r.body()));
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

async fn jwks(f: &Fixture) -> Value {
    let r = f.server.jwks().await;
    assert_eq!(r.status(), 200);
    serde_json::from_slice(r.body()).unwrap()
}

async fn bearer(
    f: &Fixture,
    token: &str,
    scope: &str,
) -> Result<portcullis::BearerToken, Response> {
    let header = format!("Bearer {token}");
    let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
    f.server
        .authenticate_bearer(&req, &ScopeSet::parse(scope).unwrap())
        .await
}

fn b64json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn jwt_access_tokens_verify_with_an_independent_library_via_our_jwks() {
    // covers: TK-03, JW-01
    let mut algs = vec![
        (Algorithm::Es256, jsonwebtoken::Algorithm::ES256),
        (Algorithm::EdDsa, jsonwebtoken::Algorithm::EdDSA),
    ];
    // issue 16 item 1: a generated RS256 key (`ensure_signing_key` makes a
    // 2048-bit RSA key) signs tokens the independent library verifies.
    if cfg!(feature = "rsa-keygen") {
        algs.push((Algorithm::Rs256, jsonwebtoken::Algorithm::RS256));
        // PS256 (RSASSA-PSS), which FAPI 2.0 allows, from a generated key too.
        algs.push((Algorithm::Ps256, jsonwebtoken::Algorithm::PS256));
    }
    for (alg, jalg) in algs {
        let f = fixture(alg, |_| {}).await;
        let token = access_token(&f, "jwt-svc", "read").await;
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, jalg);
        let kid = header.kid.unwrap();
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(&f).await).unwrap();
        let jwk = set.find(&kid).expect("the signing key is in the JWKS");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jalg);
        validation.set_audience(&[ISSUER]);
        validation.set_issuer(&[ISSUER]);
        // The library checks `exp` against the real clock; ours is fixed in the future.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        let c = data.claims;
        assert_eq!(c["iss"], ISSUER);
        assert_eq!(c["aud"], ISSUER);
        // RFC 9068 §2.2: client_credentials tokens have the client as subject.
        assert_eq!(c["sub"], "jwt-svc");
        assert_eq!(c["client_id"], "jwt-svc");
        assert_eq!(c["scope"], "read");
        assert_eq!(c["iat"], START);
        assert_eq!(c["exp"], START + 3600);
        assert!(c["jti"].as_str().unwrap().len() >= 32);
        // The host's hook adds claims but cannot override reserved ones.
        assert_eq!(c["tenant"], "acme");
        // Public keys only.
        for k in jwks(&f).await["keys"].as_array().unwrap() {
            assert!(k.get("d").is_none() && k.get("p").is_none());
            assert!(k["kid"].is_string() && k["alg"] == alg.as_str() && k["use"] == "sig");
            if matches!(alg, Algorithm::Rs256 | Algorithm::Ps256) {
                assert_eq!(k["kty"], "RSA");
                assert!(k["n"].is_string() && k["e"] == "AQAB");
            }
        }
    }
}

#[tokio::test]
async fn jwt_tokens_can_be_introspected_and_revoked() {
    // covers: TK-03, IN-01, RV-01, TK-05
    let f = fixture(Algorithm::Es256, |_| {}).await;
    let token = access_token(&f, "jwt-svc", "read").await;
    let r = post(&f, "introspect", &format!("token={token}"), "opaque-svc").await;
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], "jwt-svc");
    assert!(bearer(&f, &token, "read").await.unwrap().is_jwt());
    assert_eq!(
        post(&f, "revoke", &format!("token={token}"), "jwt-svc")
            .await
            .status(),
        200
    );
    let r = post(&f, "introspect", &format!("token={token}"), "opaque-svc").await;
    assert_eq!(r.body(), br#"{"active":false}"#);
    let err = bearer(&f, &token, "read").await.unwrap_err();
    assert_eq!(err.status(), 401);
}

fn challenge(r: &Response) -> String {
    r.header("WWW-Authenticate").unwrap().to_owned()
}

#[tokio::test]
async fn bearer_validation_answers_401_and_403_as_rfc_6750_says() {
    // covers: TK-04, TK-05
    let f = fixture(Algorithm::Es256, |_| {}).await;
    for client in ["opaque-svc", "jwt-svc"] {
        let token = access_token(&f, client, "read").await;
        let ok = bearer(&f, &token, "read").await.unwrap();
        assert_eq!(ok.client_id().as_str(), client);
        assert_eq!(ok.subject(), client);
        assert_eq!(ok.scope().to_string(), "read");
        // Missing scope: 403 insufficient_scope naming the scope needed.
        let r = bearer(&f, &token, "read write").await.unwrap_err();
        assert_eq!(r.status(), 403);
        assert!(challenge(&r).contains("error=\"insufficient_scope\""));
        assert!(challenge(&r).contains("scope=\"read write\""));
        // Unknown token: 401 invalid_token.
        let r = bearer(&f, "nope", "").await.unwrap_err();
        assert_eq!(r.status(), 401);
        assert!(
            challenge(&r).starts_with("Bearer")
                && challenge(&r).contains("error=\"invalid_token\"")
        );
    }
    // No credentials: 401 with a bare challenge (RFC 6750 §3.1).
    let r = f
        .server
        .authenticate_bearer(&Request::new(Method::Get), &ScopeSet::empty())
        .await
        .unwrap_err();
    assert_eq!(r.status(), 401);
    assert!(!challenge(&r).contains("error="));
    // Expired: opaque at its expiry, JWT after the leeway (30 s by default).
    let opaque = access_token(&f, "opaque-svc", "read").await;
    let jwt = access_token(&f, "jwt-svc", "read").await;
    f.clock.advance(Duration::from_secs(3600));
    assert_eq!(bearer(&f, &opaque, "").await.unwrap_err().status(), 401);
    assert!(bearer(&f, &jwt, "").await.is_ok(), "within the leeway");
    f.clock.advance(Duration::from_secs(30));
    assert_eq!(bearer(&f, &jwt, "").await.unwrap_err().status(), 401);
}

/// Enables or disables a registered client.
async fn set_enabled(f: &Fixture, id: &str, enabled: bool) {
    use portcullis::ClientStore as _;
    let c = f
        .store
        .client(&ClientId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let c = (*c)
        .clone()
        .into_builder()
        .enabled(enabled)
        .build()
        .unwrap();
    assert!(f.store.update_client(c).await.unwrap());
}

#[tokio::test]
async fn tk04_a_disabled_or_deleted_clients_tokens_stop_working() {
    // covers: TK-04, TK-05, IN-01
    // issue 15 finding 7: disabling a client left its tokens valid at
    // bearer validation and introspection.
    for revocation_check in [true, false] {
        let f = fixture(Algorithm::Es256, |c| {
            c.jwt_revocation_check = revocation_check
        })
        .await;
        let opaque = access_token(&f, "opaque-svc", "read").await;
        let jwt = access_token(&f, "jwt-svc", "read").await;
        let active = |token: String| {
            let f = &f;
            async move {
                let r = post(f, "introspect", &format!("token={token}"), "opaque-svc").await;
                let v: Value = serde_json::from_slice(r.body()).unwrap();
                v["active"] == json!(true)
            }
        };
        assert!(bearer(&f, &jwt, "read").await.is_ok());
        assert!(active(jwt.clone()).await);

        set_enabled(&f, "jwt-svc", false).await;
        // 401 invalid_token, even where the scope would have been missing.
        for scope in ["read", "write"] {
            let r = bearer(&f, &jwt, scope).await.unwrap_err();
            assert_eq!(r.status(), 401, "{revocation_check}");
            assert!(challenge(&r).contains("error=\"invalid_token\""));
        }
        assert!(!active(jwt.clone()).await, "{revocation_check}");
        // Another client's tokens are untouched.
        assert!(bearer(&f, &opaque, "read").await.is_ok());
        // The library only refuses them while the client is disabled (the
        // `portcullis` command's --disable also revokes them).
        set_enabled(&f, "jwt-svc", true).await;
        assert!(bearer(&f, &jwt, "read").await.is_ok());

        set_enabled(&f, "opaque-svc", false).await;
        assert_eq!(bearer(&f, &opaque, "read").await.unwrap_err().status(), 401);
        set_enabled(&f, "opaque-svc", true).await;
        // Deleted: the same.
        assert!(
            f.store
                .delete_client(&ClientId::parse("jwt-svc").unwrap())
                .await
                .unwrap()
        );
        assert_eq!(bearer(&f, &jwt, "read").await.unwrap_err().status(), 401);
        assert!(!active(jwt.clone()).await);
    }
}

#[tokio::test]
async fn leeway_is_configurable_for_jwts() {
    // covers: TK-05
    let f = fixture(Algorithm::EdDsa, |c| {
        c.leeway = Duration::from_secs(120);
        c.jwt_revocation_check = false;
    })
    .await;
    let jwt = access_token(&f, "jwt-svc", "read").await;
    f.clock.advance(Duration::from_secs(3600 + 100));
    assert!(bearer(&f, &jwt, "read").await.is_ok(), "within leeway");
    f.clock.advance(Duration::from_secs(30));
    assert_eq!(bearer(&f, &jwt, "read").await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn tampered_foreign_and_unsigned_jwts_are_refused() {
    // covers: TK-03, TK-04
    let f = fixture(Algorithm::Es256, |c| c.jwt_revocation_check = false).await;
    let token = access_token(&f, "jwt-svc", "read").await;
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("read write");
    let tampered = format!("{}.{}.{}", parts[0], b64json(&claims), parts[2]);
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let unsigned = format!("{}.{}.", b64json(&none_header), parts[1]);
    let mut hs = header.clone();
    hs["alg"] = json!("HS256");
    let confused = format!("{}.{}.{}", b64json(&hs), parts[1], parts[2]);
    let mut jwt_typ = header.clone();
    jwt_typ["typ"] = json!("JWT");
    let wrong_typ = format!("{}.{}.{}", b64json(&jwt_typ), parts[1], parts[2]);
    for bad in [tampered, unsigned, confused, wrong_typ] {
        assert_eq!(
            bearer(&f, &bad, "").await.unwrap_err().status(),
            401,
            "{bad:.40}"
        );
    }
    // A token for another audience: a server expecting a different `aud`.
    let other = fixture(Algorithm::Es256, |c| {
        c.jwt_audience = Some("https://api.other.example".into());
        c.jwt_revocation_check = false;
    })
    .await;
    let foreign = access_token(&other, "jwt-svc", "read").await;
    assert!(bearer(&other, &foreign, "read").await.is_ok());
    assert_eq!(
        bearer(&f, &foreign, "read").await.unwrap_err().status(),
        401
    );
}

#[tokio::test]
async fn rotation_publishes_before_signing_and_keeps_old_keys_for_live_tokens() {
    // covers: JW-01
    let f = fixture(Algorithm::Es256, |c| {
        c.key_cache_ttl = Duration::from_secs(1);
        c.jwt_revocation_check = false;
    })
    .await;
    let lead = f.server.config().key_publish_lead.as_secs();
    let max = f.server.config().jwt_max_lifetime.as_secs();
    let kid_of = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    let published = |doc: &Value| -> Vec<String> {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = access_token(&f, "jwt-svc", "read").await;
    let old_kid = kid_of(&before);
    let new_kid = f.server.rotate_keys().await.unwrap();
    // Published at once, but the old key still signs until the lead passes.
    assert!(published(&jwks(&f).await).contains(&new_kid.to_string()));
    assert_eq!(kid_of(&access_token(&f, "jwt-svc", "read").await), old_kid);
    f.clock.advance(Duration::from_secs(lead));
    let after = access_token(&f, "jwt-svc", "read").await;
    assert_eq!(kid_of(&after), new_kid.to_string());
    // Tokens signed before the rotation still validate until they expire,
    // and the JWKS keeps the old key at least that long.
    let mut t = START + lead;
    while t < START + lead + max + 10 {
        f.clock.set(UnixTime::from_secs(t));
        let doc = jwks(&f).await;
        if t < START + 3600 {
            assert!(
                bearer(&f, &before, "read").await.is_ok(),
                "old token at {t}"
            );
        }
        if t < START + lead + 3600 {
            assert!(bearer(&f, &after, "read").await.is_ok(), "new token at {t}");
        }
        // Every key that signed a still-live token is published.
        if t < START + 3600 {
            assert!(published(&doc).contains(&old_kid));
        }
        t += 600;
    }
    // Past the retention the old key leaves the JWKS and can be purged.
    f.clock.set(UnixTime::from_secs(START + lead + max + 1));
    assert!(!published(&jwks(&f).await).contains(&old_kid));
    assert_eq!(f.server.purge_keys().await.unwrap(), 1);
}

// issue 16 item 1: the ring holds a current key per algorithm; rotating
// one algorithm's key leaves the others signing.
#[tokio::test]
async fn keys_of_two_algorithms_rotate_independently() {
    // covers: JW-01, TK-03
    let f = fixture(Algorithm::Es256, |c| {
        c.key_cache_ttl = Duration::from_secs(1);
        c.access_token_signing_alg = Some(Algorithm::Es256);
    })
    .await;
    let lead = f.server.config().key_publish_lead;
    let kid_of = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    let es = f.server.ensure_signing_key().await.unwrap();
    let kids = f
        .server
        .ensure_signing_keys(&[Algorithm::Es256, Algorithm::EdDsa])
        .await
        .unwrap();
    assert_eq!(kids[0], es, "the ES256 key is kept");
    let ed = kids[1].clone();
    // Asking again makes nothing new.
    assert_eq!(
        f.server
            .ensure_signing_keys(&[Algorithm::EdDsa, Algorithm::Es256])
            .await
            .unwrap(),
        vec![ed.clone(), es.clone()]
    );
    let id_token = |alg| {
        let now = portcullis::Clock::now(&*f.clock);
        let claims = portcullis::IdTokenClaims::new(
            ISSUER,
            "alice",
            ClientId::parse("app").unwrap(),
            now,
            now.plus(Duration::from_secs(60)),
        );
        let server = &f.server;
        async move { server.sign_id_token(&claims, alg).await.unwrap() }
    };
    // Access tokens keep the configured algorithm beside the EdDSA key.
    assert_eq!(
        kid_of(&access_token(&f, "jwt-svc", "read").await),
        es.as_str()
    );
    assert_eq!(kid_of(&id_token(Algorithm::EdDsa).await), ed.as_str());

    // Rotating EdDSA: the new key signs after the lead; ES256 goes on.
    let ed2 = f.server.rotate_keys_for(Algorithm::EdDsa).await.unwrap();
    f.clock.advance(lead);
    assert_eq!(kid_of(&id_token(Algorithm::EdDsa).await), ed2.as_str());
    assert_eq!(kid_of(&id_token(Algorithm::Es256).await), es.as_str());
    assert_eq!(
        kid_of(&access_token(&f, "jwt-svc", "read").await),
        es.as_str()
    );
    // Rotating the access-token key leaves the EdDSA key signing.
    let es2 = f.server.rotate_keys().await.unwrap();
    f.clock.advance(lead);
    assert_eq!(
        kid_of(&access_token(&f, "jwt-svc", "read").await),
        es2.as_str()
    );
    assert_eq!(kid_of(&id_token(Algorithm::EdDsa).await), ed2.as_str());
    // Every key whose tokens may live is still published, each with its
    // own algorithm.
    let doc = jwks(&f).await;
    let published: Vec<(String, String)> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["alg"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (kid, alg) in [
        (&es, "ES256"),
        (&es2, "ES256"),
        (&ed, "EdDSA"),
        (&ed2, "EdDSA"),
    ] {
        assert!(
            published.contains(&(kid.to_string(), alg.to_owned())),
            "{kid} {alg}: {published:?}"
        );
    }
}

#[tokio::test]
async fn metadata_lists_jwks_uri_only_with_keys() {
    // covers: MD-01, JW-01
    let f = fixture(Algorithm::Es256, |_| {}).await;
    let m: Value = serde_json::from_slice(f.server.metadata().body()).unwrap();
    assert_eq!(m["jwks_uri"], format!("{ISSUER}/jwks.json"));
    let plain = AuthorizationServer::builder(Config::new(ISSUER))
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let m: Value = serde_json::from_slice(plain.metadata().body()).unwrap();
    assert!(m.get("jwks_uri").is_none());
}

#[tokio::test]
async fn rs256_keys_are_imported_rotated_in_and_verify_independently() {
    // covers: TK-03, JW-01
    // A test-only 2048-bit RSA key (PKCS#8 DER), imported as a host would
    // import a key made elsewhere.
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let f = fixture(Algorithm::Es256, |c| {
        c.key_cache_ttl = Duration::from_secs(1)
    })
    .await;
    // Imported a moment after the ES256 key: the ES256 key goes on signing
    // beside it (rotation is per algorithm), and without
    // `Config::access_token_signing_alg` access tokens take the newest key.
    f.clock.advance(Duration::from_secs(1));
    let now = UnixTime::from_secs(START + 1);
    let kid = portcullis::KeyId::parse("rsa-1").unwrap();
    assert!(
        portcullis::KeyRecord::from_pkcs8(Algorithm::EdDsa, kid.clone(), pkcs8.clone(), now, now)
            .is_err(),
        "an RSA key is not an Ed25519 key"
    );
    let record = portcullis::KeyRecord::from_pkcs8(Algorithm::Rs256, kid, pkcs8, now, now).unwrap();
    f.server.rotate_in_key(record).await.unwrap();
    let token = access_token(&f, "jwt-svc", "read").await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("rsa-1"));
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(&f).await).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find("rsa-1").unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[ISSUER]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
    assert!(bearer(&f, &token, "read").await.is_ok());
}

#[tokio::test]
async fn ps256_keys_are_imported_and_sign_tokens_that_verify_independently() {
    // covers: TK-03, JW-01 (PS256 for the FAPI 2.0 preset, issue 17)
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let f = fixture(Algorithm::Es256, |c| {
        c.key_cache_ttl = Duration::from_secs(1);
        c.access_token_signing_alg = Some(Algorithm::Ps256);
    })
    .await;
    let now = UnixTime::from_secs(START);
    let kid = portcullis::KeyId::parse("ps-1").unwrap();
    let record = portcullis::KeyRecord::from_pkcs8(Algorithm::Ps256, kid, pkcs8, now, now).unwrap();
    assert_eq!(record.alg.as_str(), "PS256");
    f.server.rotate_in_key(record).await.unwrap();
    let token = access_token(&f, "jwt-svc", "read").await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert_eq!(header.kid.as_deref(), Some("ps-1"));
    let doc = jwks(&f).await;
    let jwk = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "ps-1")
        .unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["alg"].as_str()),
        (Some("RSA"), Some("PS256"))
    );
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find("ps-1").unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
    v.set_audience(&[ISSUER]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
    // The same key read as RS256 does not verify: PSS is not PKCS#1 v1.5.
    let mut rs = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    rs.set_audience(&[ISSUER]);
    rs.validate_exp = false;
    let (h, rest) = token.split_once('.').unwrap();
    let mut hv: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    hv["alg"] = json!("RS256");
    let relabelled = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(hv.to_string()));
    assert!(jsonwebtoken::decode::<Value>(&relabelled, &key, &rs).is_err());
    // Our bearer validation accepts it, and refuses the relabelled one.
    assert!(bearer(&f, &token, "read").await.is_ok());
    assert!(bearer(&f, &relabelled, "read").await.is_err());
}
