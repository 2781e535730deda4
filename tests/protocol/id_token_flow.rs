//! ID Tokens at the token endpoint (issue 16): a code from the real
//! authorization step (a session with `acr`, `amr` and a session id, a
//! `nonce`, a `claims` request) is redeemed, and the ID Token is verified by
//! an independent JOSE library (`jsonwebtoken`) through our JWKS, for RS256,
//! ES256 and EdDSA clients; `at_hash` is computed here from Core §3.1.3.6.
//! Then: no ID Token without `openid`, pairwise subjects, the refreshed ID
//! Token of Core §12.2, and the signing faults.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::http::{Method, Request};
use portcullis::oidc::{ClaimsQuery, SessionId, UserClaims};
use portcullis::{
    Algorithm, Authentication, AuthorizeStep, Config, KeyId, KeyRecord, MemoryKeys, Secret,
    StoreError, SubjectType, UnixTime, UserId, WebUrl, async_trait,
};
use serde_json::{Map, Value, json};

use crate::support::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const SECRET: &str = "rp-secret-0a1b2c3d";
const NONCE: &str = "n-0S6_WzA2Mj.~x";
const SALT: &[u8] = b"pairwise salt of the test server";
const AUTH_TIME: u64 = T0 - 60;

/// The host's claims about alice.
struct Directory;

#[async_trait]
impl UserClaims for Directory {
    async fn claims(&self, _query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
        let all = json!({"name": "Alice Adams", "email": "alice@example.com",
                         "email_verified": true, "locale": "en-US"});
        Ok(all.as_object().cloned().unwrap_or_default())
    }
}

/// An OpenID Provider with a current key of each algorithm (RS256
/// imported from the fixture, ES256 and EdDSA generated), a pairwise salt,
/// the `Directory`, and clients `rs-rp` (the default algorithm), `es-rp`,
/// `ed-rp`, and the pairwise `pw-a` and `pw-b` of two sectors, all
/// confidential, scope `openid profile email read`, skipping consent.
async fn op(configure: impl FnOnce(&mut Config)) -> Harness {
    let keys = Arc::new(MemoryKeys::new());
    let mut config = config();
    config.access_token_signing_alg = Some(Algorithm::Es256);
    config.pairwise_salt = Some(Secret::new(SALT.to_vec()));
    configure(&mut config);
    let provider = keys.clone();
    let h = Harness::with(config, move |b| {
        b.key_provider(provider).user_claims(Arc::new(Directory))
    })
    .await;
    let now = UnixTime::from_secs(T0);
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let rsa = KeyRecord::from_pkcs8(
        Algorithm::Rs256,
        KeyId::parse("rsa-1").unwrap(),
        pkcs8,
        now,
        now,
    )
    .unwrap();
    h.server.rotate_in_key(rsa).await.unwrap();
    h.server
        .ensure_signing_keys(&[Algorithm::Es256, Algorithm::EdDsa])
        .await
        .unwrap();
    let rp = |b: portcullis::ClientBuilder| {
        b.scope(scope("openid profile email read"))
            .skip_consent(true)
    };
    h.confidential("rs-rp", SECRET, rp).await;
    h.confidential("es-rp", SECRET, |b| {
        rp(b).id_token_signed_response_alg(Algorithm::Es256)
    })
    .await;
    h.confidential("ed-rp", SECRET, |b| {
        rp(b).id_token_signed_response_alg(Algorithm::EdDsa)
    })
    .await;
    for (client, sector) in [
        ("pw-a", "https://a.example/sector.json"),
        ("pw-b", "https://b.example/sector.json"),
    ] {
        h.confidential(client, SECRET, |b| {
            rp(b)
                .subject_type(SubjectType::Pairwise)
                .sector_identifier_uri(WebUrl::parse(sector).unwrap())
        })
        .await;
    }
    h
}

fn creds(client: &str) -> Creds {
    Creds {
        id: client.to_owned(),
        secret: Some(SECRET.to_owned()),
    }
}

/// Alice's session: logged in at `AUTH_TIME` with a password and a one-time
/// code, at level 2, in session `sid-1`.
fn session() -> Authentication {
    Authentication::new(
        UserId::parse("alice").unwrap(),
        UnixTime::from_secs(AUTH_TIME),
    )
    .with_acr("urn:example:loa:2")
    .with_amr(["pwd", "otp"])
    .with_session_id(SessionId::parse("sid-1").unwrap())
}

/// A code for `client` through the authorization step, with S256, the
/// `nonce` and these extra parameters.
async fn code(h: &Harness, client: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "xyz")
        .append_pair("nonce", NONCE)
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    let q = q.finish();
    let step = h
        .server
        .authorize(&Request::new(Method::Get).query(&q), Some(&session()))
        .await;
    let AuthorizeStep::Redirect(resp) = step else {
        panic!("expected a redirect, got {step:?}");
    };
    let url = url::Url::parse(resp.header("Location").unwrap()).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {url}"))
}

/// Redeems `code` as `client`; the token response.
async fn redeem(h: &Harness, client: &str, code: &str) -> Value {
    let resp = h
        .token(
            Auth::Basic(&creds(client)),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    json(&resp)
}

/// Verifies `token` with `jsonwebtoken` and the key of our JWKS its `kid`
/// names, for audience `client`; returns the header and the claims.
async fn verify(h: &Harness, token: &str, client: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid in the header");
    let doc: Value = serde_json::from_slice(h.server.jwks().await.body()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc).unwrap();
    let jwk = set.find(&kid).expect("the signing key is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[client]);
    validation.set_issuer(&[ISSUER]);
    // The server's clock is fixed in the past; expiry is checked below
    // against it.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
    (header, data.claims)
}

/// `at_hash` from Core §3.1.3.6, computed here without our code: the left
/// half of the hash of the access token (SHA-256; SHA-512 for Ed25519).
fn at_hash(access_token: &str, alg: jsonwebtoken::Algorithm) -> String {
    let (hash, half) = match alg {
        jsonwebtoken::Algorithm::EdDSA => (&ring::digest::SHA512, 32),
        _ => (&ring::digest::SHA256, 16),
    };
    URL_SAFE_NO_PAD.encode(&ring::digest::digest(hash, access_token.as_bytes()).as_ref()[..half])
}

fn id_token(body: &Value) -> &str {
    body["id_token"].as_str().expect("an id_token")
}

#[tokio::test]
async fn code_exchange_returns_an_id_token_that_verifies_for_every_algorithm() {
    // covers: OI-02
    // issue 16
    let h = op(|_| ()).await;
    let claims_request = r#"{"id_token":{"email":null,"locale":{"value":"fr-FR"}}}"#;
    for (client, alg) in [
        ("rs-rp", jsonwebtoken::Algorithm::RS256),
        ("es-rp", jsonwebtoken::Algorithm::ES256),
        ("ed-rp", jsonwebtoken::Algorithm::EdDSA),
    ] {
        let code = code(
            &h,
            client,
            "openid profile read",
            &[("claims", claims_request), ("max_age", "3600")],
        )
        .await;
        let body = redeem(&h, client, &code).await;
        let (header, claims) = verify(&h, id_token(&body), client).await;
        assert_eq!(header.alg, alg, "{client}");
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["aud"], client, "aud is the client, one string");
        assert_eq!(claims["iat"], T0);
        assert_eq!(claims["exp"], T0 + 3600, "Config::id_token_lifetime");
        assert_eq!(claims["auth_time"], AUTH_TIME, "the login's, not now");
        assert_eq!(claims["nonce"], NONCE, "exactly as sent");
        assert_eq!(claims["acr"], "urn:example:loa:2");
        assert_eq!(claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(claims["sid"], "sid-1");
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(claims["at_hash"], at_hash(access, alg));
        // The claims request's `id_token` member: `email` released from
        // the host; `locale` does not meet its value; nothing of the
        // profile scope (that is UserInfo's, Core §5.4).
        assert_eq!(claims["email"], "alice@example.com");
        for absent in ["locale", "name", "email_verified", "azp"] {
            assert!(claims.get(absent).is_none(), "{absent} in {claims}");
        }
    }
}

#[tokio::test]
async fn without_a_nonce_or_a_claims_request_the_id_token_has_neither() {
    // covers: OI-02
    let h = op(|_| ()).await;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", "rs-rp")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let q = q.finish();
    let plain = Authentication::new(UserId::parse("alice").unwrap(), UnixTime::from_secs(T0));
    let AuthorizeStep::Redirect(resp) = h
        .server
        .authorize(&Request::new(Method::Get).query(&q), Some(&plain))
        .await
    else {
        panic!("expected a redirect");
    };
    let url = url::Url::parse(resp.header("Location").unwrap()).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    let body = redeem(&h, "rs-rp", &code).await;
    let (_, claims) = verify(&h, id_token(&body), "rs-rp").await;
    assert_eq!(claims["auth_time"], T0, "always stated");
    for absent in ["nonce", "acr", "amr", "sid", "email"] {
        assert!(claims.get(absent).is_none(), "{absent} in {claims}");
    }
}

#[tokio::test]
async fn no_openid_in_the_granted_scope_no_id_token() {
    // covers: OI-03
    // issue 16
    let h = op(|_| ()).await;
    let code = code(&h, "rs-rp", "read", &[]).await;
    let body = redeem(&h, "rs-rp", &code).await;
    assert!(body.get("id_token").is_none(), "{body}");
    assert_eq!(body["token_type"], "Bearer");
    // A refresh of an openid grant narrowed to `read`: no ID Token either.
    let code = self::code(&h, "rs-rp", "openid read", &[]).await;
    let body = redeem(&h, "rs-rp", &code).await;
    assert!(body.get("id_token").is_some());
    let resp = h
        .token(
            Auth::Basic(&creds("rs-rp")),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(json(&resp).get("id_token").is_none());
}

#[tokio::test]
async fn pairwise_subjects_are_stable_and_differ_across_sectors() {
    // covers: OI-04
    // issue 16
    let h = op(|_| ()).await;
    let mut subs = Vec::new();
    for client in ["pw-a", "pw-a", "pw-b", "rs-rp"] {
        let code = code(&h, client, "openid", &[]).await;
        let body = redeem(&h, client, &code).await;
        let (_, claims) = verify(&h, id_token(&body), client).await;
        subs.push(claims["sub"].as_str().unwrap().to_owned());
    }
    assert_eq!(subs[0], subs[1], "stable for one user and sector");
    assert_ne!(subs[0], subs[2], "another sector, another sub");
    assert_eq!(subs[3], "alice", "public");
    assert!(subs[..3].iter().all(|s| s != "alice" && s.len() == 43));
}

#[tokio::test]
async fn a_refresh_returns_a_new_id_token_per_core_12_2() {
    // covers: OI-10
    // issue 16
    let h = op(|_| ()).await;
    let code = code(&h, "es-rp", "openid email read", &[]).await;
    let first = redeem(&h, "es-rp", &code).await;
    let (_, before) = verify(&h, id_token(&first), "es-rp").await;
    h.clock.advance(std::time::Duration::from_secs(600));
    let resp = h
        .refresh(
            Auth::Basic(&creds("es-rp")),
            first["refresh_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let second = json(&resp);
    let (header, after) = verify(&h, id_token(&second), "es-rp").await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    for same in ["iss", "sub", "aud", "auth_time", "acr", "amr", "sid"] {
        assert_eq!(after[same], before[same], "{same}");
    }
    assert_eq!(after["auth_time"], AUTH_TIME, "the original login");
    assert_eq!(after["iat"], T0 + 600, "issued now");
    assert_eq!(after["exp"], T0 + 600 + 3600);
    assert!(after.get("nonce").is_none(), "no nonce on refresh");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(
        after["at_hash"],
        at_hash(access, jsonwebtoken::Algorithm::ES256),
        "bound to the new access token"
    );
}

#[tokio::test]
async fn an_algorithm_not_offered_or_without_a_key_is_a_server_error() {
    // covers: OI-02
    // issue 16
    // EdDSA is not offered: the ed-rp client gets no ID Token signed any
    // other way, but a server_error; RS256 and ES256 still work.
    let h = op(|c| c.id_token_signing_algs = vec![Algorithm::Rs256, Algorithm::Es256]).await;
    let code = code(&h, "ed-rp", "openid", &[]).await;
    let resp = h
        .token(
            Auth::Basic(&creds("ed-rp")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_error(&resp, 500, "server_error");
    let code = self::code(&h, "rs-rp", "openid", &[]).await;
    assert!(redeem(&h, "rs-rp", &code).await.get("id_token").is_some());
    let doc: Value = serde_json::from_slice(h.server.openid_configuration().body()).unwrap();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );

    // No RS256 key at all: the default-algorithm client gets a
    // server_error, never an ES256 or unsigned ID Token.
    let keys = Arc::new(MemoryKeys::new());
    let provider = keys.clone();
    let h = Harness::with(config(), move |b| b.key_provider(provider)).await;
    h.server
        .ensure_signing_keys(&[Algorithm::Es256])
        .await
        .unwrap();
    h.confidential("rs-rp", SECRET, |b| {
        b.scope(scope("openid read")).skip_consent(true)
    })
    .await;
    let code = self::code(&h, "rs-rp", "openid", &[]).await;
    let resp = h
        .token(
            Auth::Basic(&creds("rs-rp")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_error(&resp, 500, "server_error");
}

#[tokio::test]
async fn discovery_is_served_at_its_well_known_path() {
    // covers: OI-01
    // issue 16
    let h = op(|c| c.rp_initiated_logout = true).await;
    let resp = h
        .server
        .handle(
            &Request::new(Method::Get),
            "/.well-known/openid-configuration",
        )
        .await;
    assert_eq!(resp.status(), 200);
    let doc: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["userinfo_endpoint"], format!("{ISSUER}/userinfo"));
    assert_eq!(doc["end_session_endpoint"], format!("{ISSUER}/end_session"));
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/jwks.json"));
    assert_eq!(
        doc["subject_types_supported"],
        json!(["public", "pairwise"])
    );
    assert!(doc.get("backchannel_logout_supported").is_none());
    let resp = h
        .server
        .handle(
            &Request::new(Method::Post),
            "/.well-known/openid-configuration",
        )
        .await;
    assert_eq!(resp.status(), 405);
    // A plain OAuth server: no UserInfo, no pairwise, no logout.
    let h = Harness::new().await;
    let doc: Value = serde_json::from_slice(h.server.openid_configuration().body()).unwrap();
    for absent in [
        "userinfo_endpoint",
        "end_session_endpoint",
        "userinfo_signing_alg_values_supported",
        "backchannel_logout_supported",
    ] {
        assert!(doc.get(absent).is_none(), "{absent}");
    }
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
}

#[tokio::test]
async fn a_ps256_client_gets_a_ps256_id_token_that_verifies_independently() {
    // covers: OI-02 (PS256 for the FAPI 2.0 preset, issue 17)
    let h = op(|c| c.id_token_signing_algs.push(Algorithm::Ps256)).await;
    // The fixture's RSA key again, as a PS256 key of its own id (test
    // only: a deployment keeps a key to one algorithm).
    let now = UnixTime::from_secs(T0);
    let pkcs8 = include_bytes!("../fixtures/rsa2048.pk8").to_vec();
    let ps = KeyRecord::from_pkcs8(
        Algorithm::Ps256,
        KeyId::parse("ps-1").unwrap(),
        pkcs8,
        now,
        now,
    )
    .unwrap();
    h.server.rotate_in_key(ps).await.unwrap();
    h.confidential("ps-rp", SECRET, |b| {
        b.scope(scope("openid profile email read"))
            .skip_consent(true)
            .id_token_signed_response_alg(Algorithm::Ps256)
    })
    .await;
    let discovery: Value = serde_json::from_slice(h.server.openid_configuration().body()).unwrap();
    assert!(
        discovery["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("PS256"))
    );
    let code = code(&h, "ps-rp", "openid read", &[]).await;
    let body = redeem(&h, "ps-rp", &code).await;
    let (header, claims) = verify(&h, id_token(&body), "ps-rp").await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert_eq!(header.kid.as_deref(), Some("ps-1"));
    assert_eq!(claims["aud"], "ps-rp");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        claims["at_hash"],
        at_hash(access, jsonwebtoken::Algorithm::PS256)
    );
}
