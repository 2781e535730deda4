//! ID Tokens and Logout Tokens (OpenID Connect Core 1.0, Back-Channel
//! Logout 1.0) through the public API, signed with RS256, ES256 and EdDSA
//! keys side by side and checked by an independent library
//! (`jsonwebtoken`) reading our JWKS; `at_hash` against an independent
//! computation; and the `id_token_hint` check (issue 16).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::{
    Algorithm, AuthorizationServer, BACKCHANNEL_LOGOUT_EVENT, ClientId, Clock as _, Config, Error,
    FixedClock, HintError, IdTokenClaims, KeyId, KeyProvider, KeyRecord, LogoutSubject, MemoryKeys,
    MemoryStore, SigningFault, UnixTime,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://op.example";
const START: u64 = 1_800_000_000;
const ALGS: [(Algorithm, jsonwebtoken::Algorithm); 3] = [
    (Algorithm::Rs256, jsonwebtoken::Algorithm::RS256),
    (Algorithm::Es256, jsonwebtoken::Algorithm::ES256),
    (Algorithm::EdDsa, jsonwebtoken::Algorithm::EdDSA),
];

struct Op {
    server: AuthorizationServer,
    clock: Arc<FixedClock>,
    keys: Arc<MemoryKeys>,
}

fn server(issuer: &str, keys: Arc<MemoryKeys>, clock: Arc<FixedClock>) -> AuthorizationServer {
    let mut config = Config::new(issuer);
    config.access_token_signing_alg = Some(Algorithm::Es256);
    AuthorizationServer::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .key_provider(keys)
        .clock(clock)
        .build()
        .unwrap()
}

/// An OpenID Provider with a current key of each algorithm: RS256
/// imported (as without feature `rsa-keygen`), ES256 and EdDSA generated.
async fn op() -> Op {
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(START)));
    let keys = Arc::new(MemoryKeys::new());
    let server = server(ISSUER, keys.clone(), clock.clone());
    let now = clock.now();
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let rsa = KeyRecord::from_pkcs8(
        Algorithm::Rs256,
        KeyId::parse("rsa-1").unwrap(),
        pkcs8,
        now,
        now,
    )
    .unwrap();
    server.rotate_in_key(rsa).await.unwrap();
    let kids = server
        .ensure_signing_keys(&[Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa])
        .await
        .unwrap();
    assert_eq!(kids[0].as_str(), "rsa-1", "the imported key is kept");
    assert_eq!(keys.keys().await.unwrap().len(), 3);
    Op {
        server,
        clock,
        keys,
    }
}

fn app() -> ClientId {
    ClientId::parse("app").unwrap()
}

fn claims(access_token: &str, alg: Algorithm) -> IdTokenClaims {
    let now = UnixTime::from_secs(START);
    let mut c = IdTokenClaims::new(
        ISSUER,
        "alice",
        app(),
        now,
        now.plus(Duration::from_secs(300)),
    );
    c.auth_time = Some(UnixTime::from_secs(START - 60));
    c.nonce = Some("n-0S6_WzA2Mj".into());
    c.acr = Some("urn:example:loa:2".into());
    c.amr = vec!["pwd".into(), "otp".into()];
    c.azp = Some(app());
    c.sid = Some("session-1".into());
    c.extra = json!({"email": "alice@example.com", "sub": "mallory", "nonce": "forged"})
        .as_object()
        .unwrap()
        .clone();
    c.bind_access_token(access_token, alg);
    c
}

/// Verifies `token` with `jsonwebtoken` and the key of our JWKS its `kid`
/// names; returns the header's `typ` and the claims.
async fn verify_independently(
    op: &Op,
    token: &str,
    jalg: jsonwebtoken::Algorithm,
) -> (Option<String>, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jalg);
    let kid = header.kid.expect("kid in the header");
    let doc: Value = serde_json::from_slice(op.server.jwks().await.body()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc).unwrap();
    let jwk = set.find(&kid).expect("the signing key is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jalg);
    validation.set_audience(&["app"]);
    validation.set_issuer(&[ISSUER]);
    // Our clock is fixed; the library would use the real one.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
    (header.typ, data.claims)
}

/// `at_hash` computed here, from the specification, without our code.
fn independent_at_hash(token: &str, alg: Algorithm) -> String {
    let (hash, half) = match alg {
        Algorithm::EdDsa => (&ring::digest::SHA512, 32),
        _ => (&ring::digest::SHA256, 16),
    };
    URL_SAFE_NO_PAD.encode(&ring::digest::digest(hash, token.as_bytes()).as_ref()[..half])
}

#[tokio::test]
async fn id_tokens_of_every_algorithm_verify_independently_via_our_jwks() {
    // covers: OI-02, JW-01
    let op = op().await;
    let doc: Value = serde_json::from_slice(op.server.jwks().await.body()).unwrap();
    let published = doc["keys"].as_array().unwrap();
    assert_eq!(published.len(), 3);
    for k in published {
        assert!(k["kid"].is_string() && k["use"] == "sig", "{k}");
        assert!(k.get("d").is_none() && k.get("p").is_none(), "public only");
        if k["alg"] == "RS256" {
            assert_eq!(k["kty"], "RSA");
            assert!(k["n"].is_string() && k["e"] == "AQAB");
        }
    }
    let access_token = "dNZX1hEZ9wBCzNL40Upu646bdzQA";
    for (alg, jalg) in ALGS {
        let token = op
            .server
            .sign_id_token(&claims(access_token, alg), alg)
            .await
            .unwrap();
        let (typ, c) = verify_independently(&op, &token, jalg).await;
        assert_eq!(typ.as_deref(), Some("JWT"));
        assert_eq!(c["iss"], ISSUER);
        assert_eq!(c["sub"], "alice", "extra claims never override");
        assert_eq!(c["aud"], "app");
        assert_eq!(c["azp"], "app");
        assert_eq!(c["iat"], START);
        assert_eq!(c["exp"], START + 300);
        assert_eq!(c["auth_time"], START - 60);
        assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(c["acr"], "urn:example:loa:2");
        assert_eq!(c["amr"], json!(["pwd", "otp"]));
        assert_eq!(c["sid"], "session-1");
        assert_eq!(c["email"], "alice@example.com");
        assert_eq!(c["at_hash"], independent_at_hash(access_token, alg));
        // The hint check accepts it and reads it back.
        let hint = op.server.verify_id_token_hint(&token).await.unwrap();
        assert_eq!(hint.subject(), "alice");
        assert!(hint.is_for(&app()));
        assert_eq!(hint.session_id(), Some("session-1"));
    }
}

#[tokio::test]
async fn no_key_of_the_algorithm_is_a_signing_fault() {
    // covers: OI-02
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(START)));
    let s = server(ISSUER, Arc::new(MemoryKeys::new()), clock);
    s.ensure_signing_keys(&[Algorithm::Es256]).await.unwrap();
    let err = s
        .sign_id_token(&claims("at", Algorithm::EdDsa), Algorithm::EdDsa)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Signing(SigningFault::NoKeyForAlgorithm("EdDSA"))
    ));
}

#[tokio::test]
async fn logout_tokens_of_every_algorithm_verify_independently() {
    // covers: LO-02
    let op = op().await;
    for (alg, jalg) in ALGS {
        for subject in [
            LogoutSubject::Subject("alice".into()),
            LogoutSubject::Session("session-1".into()),
            LogoutSubject::SubjectAndSession {
                sub: "alice".into(),
                sid: "session-1".into(),
            },
        ] {
            let token = op
                .server
                .logout_token(&app(), subject.clone(), alg)
                .await
                .unwrap();
            let (typ, c) = verify_independently(&op, &token, jalg).await;
            assert_eq!(typ.as_deref(), Some("logout+jwt"));
            assert_eq!(c["iss"], ISSUER);
            assert_eq!(c["aud"], "app");
            assert_eq!(c["iat"], START);
            assert_eq!(c["exp"], START + 120);
            assert!(c["jti"].as_str().unwrap().len() >= 22);
            assert_eq!(c["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
            assert_eq!(c.get("sub").and_then(Value::as_str), subject.sub());
            assert_eq!(c.get("sid").and_then(Value::as_str), subject.sid());
            assert!(c.get("nonce").is_none(), "never a nonce");
            // A Logout Token is no ID Token.
            assert_eq!(
                op.server.verify_id_token_hint(&token).await,
                Err(HintError::Type)
            );
        }
    }
}

fn b64json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn id_token_hint_accepts_ours_even_expired_and_refuses_anything_else() {
    // covers: OI-08, LO-01
    let op = op().await;
    let token = op
        .server
        .sign_id_token(&claims("at", Algorithm::Rs256), Algorithm::Rs256)
        .await
        .unwrap();
    // Expired a day ago: still a good hint while our key is published.
    op.clock.advance(Duration::from_secs(300 + 86_400));
    let hint = op.server.verify_id_token_hint(&token).await.unwrap();
    assert_eq!(hint.subject(), "alice");
    assert_eq!(hint.expires_at(), UnixTime::from_secs(START + 300));

    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();

    // Altered claims.
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    forged["sub"] = json!("mallory");
    let altered = format!("{}.{}.{}", parts[0], b64json(&forged), parts[2]);
    // `alg: none`, without and with the original signature.
    let none_header = b64json(&json!({"alg": "none", "kid": kid, "typ": "JWT"}));
    let none = format!("{none_header}.{}.", parts[1]);
    let none_signed = format!("{none_header}.{}.{}", parts[1], parts[2]);
    // HS256 with our public key as the secret (algorithm confusion).
    let hs = format!(
        "{}.{}.{}",
        b64json(&json!({"alg": "HS256", "kid": kid, "typ": "JWT"})),
        parts[1],
        parts[2]
    );
    for (bad, why) in [
        (altered.as_str(), HintError::Signature),
        (&none, HintError::Algorithm),
        (&none_signed, HintError::Algorithm),
        (&hs, HintError::Algorithm),
        ("not a token", HintError::Malformed),
    ] {
        assert_eq!(
            op.server.verify_id_token_hint(bad).await,
            Err(why),
            "{bad:.40}"
        );
    }
    assert_eq!(
        op.server
            .verify_id_token_hint(&"x".repeat(portcullis::MAX_ID_TOKEN_HINT_LEN + 1))
            .await,
        Err(HintError::TooLong)
    );

    // Signed by a foreign server: unknown key, or, under one of our key
    // ids, a signature that does not verify.
    let foreign_keys = Arc::new(MemoryKeys::new());
    let foreign = server(ISSUER, foreign_keys.clone(), op.clock.clone());
    foreign
        .ensure_signing_keys(&[Algorithm::Es256])
        .await
        .unwrap();
    let stranger = foreign
        .sign_id_token(&claims("at", Algorithm::Es256), Algorithm::Es256)
        .await
        .unwrap();
    assert_eq!(
        op.server.verify_id_token_hint(&stranger).await,
        Err(HintError::UnknownKey)
    );
    let now = op.clock.now();
    let impostor_keys = Arc::new(MemoryKeys::new());
    impostor_keys
        .insert_key(
            KeyRecord::generate(Algorithm::Es256, KeyId::parse(kid).unwrap(), now, now).unwrap(),
        )
        .await
        .unwrap();
    let impostor = server(ISSUER, impostor_keys, op.clock.clone());
    let mut c = claims("at", Algorithm::Es256);
    c.sub = "mallory".into();
    // Our `kid` names an RSA key: an ES256 signature under it is refused
    // for its algorithm before any signature is checked.
    let confused = impostor.sign_id_token(&c, Algorithm::Es256).await.unwrap();
    assert_eq!(
        op.server.verify_id_token_hint(&confused).await,
        Err(HintError::Algorithm)
    );
    let es_kid = op
        .keys
        .keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == Algorithm::Es256)
        .unwrap()
        .kid;
    let twin_keys = Arc::new(MemoryKeys::new());
    twin_keys
        .insert_key(KeyRecord::generate(Algorithm::Es256, es_kid, now, now).unwrap())
        .await
        .unwrap();
    let twin = server(ISSUER, twin_keys, op.clock.clone());
    let forged = twin.sign_id_token(&c, Algorithm::Es256).await.unwrap();
    assert_eq!(
        op.server.verify_id_token_hint(&forged).await,
        Err(HintError::Signature)
    );

    // Signed with our very keys by a server of another issuer.
    let other = server("https://other.example", op.keys.clone(), op.clock.clone());
    let mut c = claims("at", Algorithm::EdDsa);
    c.iss = "https://other.example".into();
    let elsewhere = other.sign_id_token(&c, Algorithm::EdDsa).await.unwrap();
    assert!(other.verify_id_token_hint(&elsewhere).await.is_ok());
    assert_eq!(
        op.server.verify_id_token_hint(&elsewhere).await,
        Err(HintError::Issuer)
    );

    // Once our key has left the JWKS, its tokens are no hints any more.
    let rs_kid = KeyId::parse(kid).unwrap();
    assert!(
        op.keys
            .retire_key(&rs_kid, now, now.plus(Duration::from_secs(1)))
            .await
            .unwrap()
    );
    // Past the key cache's life, the server sees the key gone.
    op.clock.advance(Duration::from_secs(120));
    assert_eq!(
        op.server.verify_id_token_hint(&token).await,
        Err(HintError::UnknownKey)
    );
}
