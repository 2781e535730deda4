//! DPoP (RFC 9449): proofs at the token endpoint (DP-01), key-bound refresh
//! tokens and `dpop_bound_access_tokens` (DP-02), and DPoP-bound tokens at a
//! resource (DP-03). Proofs are made with `jsonwebtoken` 9 and keys with
//! `ring`, never with the server's own code.

// The client's keys come from the OS random source: they are the client's,
// not the server's (whose randomness is injected).
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use portcullis::http::{Method, Request, Response};
use portcullis::{Config, ScopeSet, Secret};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{Value, json};

use crate::support::*;

pub(crate) const TOKEN_URL: &str = "https://auth.example.com/token";
const RESOURCE_PATH: &str = "/api/items";
const RESOURCE_URL: &str = "https://auth.example.com/api/items";

static JTI: AtomicU64 = AtomicU64::new(0);

fn jti() -> String {
    format!("jti-{}", JTI.fetch_add(1, Ordering::Relaxed))
}

/// A client's DPoP key: the private key for `jsonwebtoken`, the public JWK.
pub(crate) struct DpopKey {
    alg: jsonwebtoken::Algorithm,
    key: EncodingKey,
    jwk: Value,
}

impl DpopKey {
    pub(crate) fn es256() -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        Self {
            alg: jsonwebtoken::Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        }
    }

    fn ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            alg: jsonwebtoken::Algorithm::EdDSA,
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())}),
        }
    }

    /// The RFC 7638 thumbprint, computed here from the RFC's rule.
    pub(crate) fn thumbprint(&self) -> String {
        let j = &self.jwk;
        let canonical = if j["kty"] == "EC" {
            format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                j["crv"].as_str().unwrap(),
                j["x"].as_str().unwrap(),
                j["y"].as_str().unwrap()
            )
        } else {
            format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                j["crv"].as_str().unwrap(),
                j["x"].as_str().unwrap()
            )
        };
        URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// A proof with these claims, through `jsonwebtoken::encode` and a
    /// `Header` with `typ` and `jwk`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// A proof under a header written by hand (for headers `Header` cannot
    /// express), signed with `jsonwebtoken::crypto::sign`.
    fn sign_raw(&self, header: &Value, claims: &Value, alg: jsonwebtoken::Algorithm) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = match alg {
            jsonwebtoken::Algorithm::HS256 => {
                EncodingKey::from_secret(b"a shared secret of 32 bytes!!!!")
            }
            _ => self.key.clone(),
        };
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap();
        format!("{input}.{sig}")
    }

    /// A fresh proof for `method` at `url`.
    pub(crate) fn proof(&self, method: &str, url: &str) -> String {
        self.sign(&claims(method, url))
    }

    /// A fresh proof for a resource request with `token`.
    fn resource_proof(&self, token: &str) -> String {
        let mut c = claims("GET", RESOURCE_URL);
        c["ath"] = json!(ath(token));
        self.sign(&c)
    }
}

fn claims(method: &str, url: &str) -> Value {
    json!({"jti": jti(), "htm": method, "htu": url, "iat": T0})
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// Posts `params` to the token endpoint with these `DPoP` headers.
async fn token(
    h: &Harness,
    basic: Option<&str>,
    params: &[(&str, &str)],
    proofs: &[&str],
) -> Response {
    let body = form(params);
    let mut req = form_request(body.as_bytes(), basic.map(str::as_bytes));
    for p in proofs {
        req = req.header("DPoP", p.as_bytes());
    }
    h.server.token(&req).await
}

/// A `client_credentials` request by `svc` with these proofs.
async fn cc(h: &Harness, svc: &Creds, proofs: &[&str]) -> Response {
    token(
        h,
        Some(&svc.basic()),
        &[("grant_type", "client_credentials")],
        proofs,
    )
    .await
}

/// A resource request `GET /api/items` with this `Authorization` and these
/// proofs.
async fn resource(
    h: &Harness,
    authorization: &str,
    proofs: &[&str],
) -> Result<portcullis::BearerToken, Response> {
    let mut req = Request::new(Method::Get)
        .with_target("GET", RESOURCE_PATH)
        .header("Authorization", authorization.as_bytes());
    for p in proofs {
        req = req.header("DPoP", p.as_bytes());
    }
    h.server.authenticate_bearer(&req, &ScopeSet::empty()).await
}

#[track_caller]
fn assert_dpop_error(resp: &Response, code: &str) {
    assert_error(resp, 400, code);
}

#[tokio::test]
async fn a_proof_binds_the_token_to_its_key() {
    // covers: DP-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    for key in [DpopKey::es256(), DpopKey::ed25519()] {
        let resp = cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)]).await;
        assert_eq!(resp.status(), 200, "{:?}", json(&resp));
        let body = json(&resp);
        assert_eq!(body["token_type"], "DPoP");
        let access = body["access_token"].as_str().unwrap();
        let info = h.introspect(access).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["cnf"]["jkt"], key.thumbprint().as_str());
        assert_eq!(info["token_type"], "DPoP");
    }
    // Without a proof: a bearer token, as before.
    let resp = cc(&h, &svc, &[]).await;
    assert_eq!(json(&resp)["token_type"], "Bearer");
    let info = h
        .introspect(json(&resp)["access_token"].as_str().unwrap())
        .await;
    assert!(info.get("cnf").is_none());
}

#[tokio::test]
async fn metadata_lists_the_proof_algorithms() {
    // covers: DP-01
    let h = Harness::new().await;
    let doc: Value = serde_json::from_slice(h.server.metadata().body()).unwrap();
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
    let mut config = config();
    config.dpop.enabled = false;
    let off = Harness::with_config(config).await;
    let doc: Value = serde_json::from_slice(off.server.metadata().body()).unwrap();
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
}

#[tokio::test]
async fn header_faults_are_invalid_dpop_proof() {
    // covers: DP-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let key = DpopKey::es256();
    let c = claims("POST", TOKEN_URL);
    let es = jsonwebtoken::Algorithm::ES256;
    // Wrong typ.
    let p = key.sign_raw(
        &json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk}),
        &c,
        es,
    );
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // A symmetric algorithm.
    let p = key.sign_raw(
        &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk}),
        &c,
        jsonwebtoken::Algorithm::HS256,
    );
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // A private key in the header.
    let mut private = key.jwk.clone();
    private["d"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
    let p = key.sign_raw(
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
        &c,
        es,
    );
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // Another key's header: the signature does not verify.
    let other = DpopKey::es256();
    let p = key.sign_raw(
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": other.jwk}),
        &c,
        es,
    );
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // Two DPoP headers.
    let (a, b) = (key.proof("POST", TOKEN_URL), key.proof("POST", TOKEN_URL));
    assert_dpop_error(&cc(&h, &svc, &[&a, &b]).await, "invalid_dpop_proof");
    // Not a JWS at all.
    assert_dpop_error(&cc(&h, &svc, &["not.a.proof"]).await, "invalid_dpop_proof");
}

#[tokio::test]
async fn claims_must_name_this_request() {
    // covers: DP-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let key = DpopKey::ed25519();
    // Wrong htm.
    let p = key.proof("GET", TOKEN_URL);
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // Wrong htu.
    let p = key.proof("POST", "https://auth.example.com/other");
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    let p = key.proof("POST", "https://evil.example/token");
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
    // The same URL with its default port, upper-case host and a query:
    // equal after RFC 3986 normalisation.
    let p = key.proof("POST", "HTTPS://Auth.Example.com:443/token?x=1");
    assert_eq!(cc(&h, &svc, &[&p]).await.status(), 200);
    // An old or future iat.
    let mut c = claims("POST", TOKEN_URL);
    c["iat"] = json!(T0 - 61);
    assert_dpop_error(&cc(&h, &svc, &[&key.sign(&c)]).await, "invalid_dpop_proof");
    c["iat"] = json!(T0 + 61);
    assert_dpop_error(&cc(&h, &svc, &[&key.sign(&c)]).await, "invalid_dpop_proof");
    c["iat"] = json!(T0 - 50);
    assert_eq!(cc(&h, &svc, &[&key.sign(&c)]).await.status(), 200);
}

#[tokio::test]
async fn a_proof_is_used_once() {
    // covers: DP-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let key = DpopKey::es256();
    let p = key.proof("POST", TOKEN_URL);
    assert_eq!(cc(&h, &svc, &[&p]).await.status(), 200);
    assert_dpop_error(&cc(&h, &svc, &[&p]).await, "invalid_dpop_proof");
}

#[tokio::test]
async fn server_nonces_are_required_when_configured() {
    // covers: DP-01
    let mut config = config();
    config.dpop.nonce_secret = Some(Secret::new(vec![7u8; 32]));
    let h = Harness::with_config(config.clone()).await;
    let svc = h.svc().await;
    let key = DpopKey::es256();
    let first = cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_dpop_error(&first, "use_dpop_nonce");
    let nonce = first.header("DPoP-Nonce").expect("a nonce").to_owned();
    let mut c = claims("POST", TOKEN_URL);
    c["nonce"] = json!(nonce);
    let ok = cc(&h, &svc, &[&key.sign(&c)]).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.header("DPoP-Nonce").is_some());
    // Another instance with the same secret accepts it: no shared state.
    let other = Harness::with_config(config).await;
    let svc2 = other.svc().await;
    let mut c = claims("POST", TOKEN_URL);
    c["nonce"] = json!(nonce);
    assert_eq!(cc(&other, &svc2, &[&key.sign(&c)]).await.status(), 200);
    // A made-up nonce is refused.
    let mut c = claims("POST", TOKEN_URL);
    c["nonce"] = json!("made-up");
    assert_dpop_error(&cc(&h, &svc, &[&key.sign(&c)]).await, "use_dpop_nonce");
}

#[tokio::test]
async fn dpop_bound_clients_must_send_a_proof() {
    // covers: DP-02
    let h = Harness::new().await;
    let svc = h
        .confidential("bound", "bound-secret-1234", |b| {
            b.dpop_bound_access_tokens(true)
        })
        .await;
    assert_dpop_error(&cc(&h, &svc, &[]).await, "invalid_dpop_proof");
    let key = DpopKey::ed25519();
    assert_eq!(
        cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)])
            .await
            .status(),
        200
    );
}

/// Redeems a code of public client `app` with a proof of `key`.
pub(crate) async fn public_tokens(h: &Harness, key: &DpopKey) -> (String, String) {
    let code = h.issue_code(CodeSpec::new("app")).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", code.verifier.as_deref().unwrap()),
        ("client_id", "app"),
    ];
    let resp = token(h, None, &params, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let body = json(&resp);
    assert_eq!(body["token_type"], "DPoP");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn refresh_with(
    h: &Harness,
    basic: Option<&str>,
    refresh: &str,
    proofs: &[&str],
) -> Response {
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    if basic.is_none() {
        params.push(("client_id", "app"));
    }
    token(h, basic, &params, proofs).await
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    // covers: DP-02
    let h = Harness::new().await;
    h.public("app", |b| b).await;
    let key = DpopKey::es256();
    let (_, refresh) = public_tokens(&h, &key).await;
    // Another key, or none: invalid_grant.
    let other = DpopKey::es256();
    let resp = refresh_with(&h, None, &refresh, &[&other.proof("POST", TOKEN_URL)]).await;
    assert_error(&resp, 400, "invalid_grant");
    let resp = refresh_with(&h, None, &refresh, &[]).await;
    assert_error(&resp, 400, "invalid_grant");
    // The same key: new tokens, still bound.
    let resp = refresh_with(&h, None, &refresh, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let body = json(&resp);
    assert_eq!(body["token_type"], "DPoP");
    let next = body["refresh_token"].as_str().unwrap();
    let resp = refresh_with(&h, None, next, &[]).await;
    assert_error(&resp, 400, "invalid_grant");
}

#[tokio::test]
async fn a_confidential_client_binds_each_access_token_to_the_key_it_presents() {
    // covers: DP-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", code.verifier.as_deref().unwrap()),
    ];
    let key = DpopKey::es256();
    let resp = token(
        &h,
        Some(&svc.basic()),
        &params,
        &[&key.proof("POST", TOKEN_URL)],
    )
    .await;
    let refresh = json(&resp)["refresh_token"].as_str().unwrap().to_owned();
    let other = DpopKey::ed25519();
    let resp = refresh_with(
        &h,
        Some(&svc.basic()),
        &refresh,
        &[&other.proof("POST", TOKEN_URL)],
    )
    .await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let access = json(&resp)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.introspect(&access).await["cnf"]["jkt"],
        other.thumbprint().as_str()
    );
}

#[tokio::test]
async fn a_bound_token_needs_a_proof_of_its_key_at_the_resource() {
    // covers: DP-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let key = DpopKey::es256();
    let resp = cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)]).await;
    let access = json(&resp)["access_token"].as_str().unwrap().to_owned();
    let auth = format!("DPoP {access}");
    // The right proof.
    let ok = resource(&h, &auth, &[&key.resource_proof(&access)])
        .await
        .unwrap();
    assert_eq!(ok.dpop_jkt().unwrap().as_str(), key.thumbprint());
    // Presented as a bearer token: refused.
    let err = resource(
        &h,
        &format!("Bearer {access}"),
        &[&key.resource_proof(&access)],
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(json(&err)["error"], "invalid_token");
    // No proof, a proof of another key, a wrong ath, a wrong htu or htm,
    // a replayed proof: invalid_dpop_proof.
    let other = DpopKey::es256();
    let mut wrong_ath = claims("GET", RESOURCE_URL);
    wrong_ath["ath"] = json!(ath("another token"));
    let mut wrong_htu = claims("GET", "https://auth.example.com/api/other");
    wrong_htu["ath"] = json!(ath(&access));
    let mut wrong_htm = claims("POST", RESOURCE_URL);
    wrong_htm["ath"] = json!(ath(&access));
    let replayed = key.resource_proof(&access);
    resource(&h, &auth, &[&replayed]).await.unwrap();
    for proofs in [
        vec![],
        vec![other.resource_proof(&access)],
        vec![key.sign(&wrong_ath)],
        vec![key.sign(&wrong_htu)],
        vec![key.sign(&wrong_htm)],
        vec![replayed],
    ] {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let err = resource(&h, &auth, &refs).await.unwrap_err();
        assert_eq!(err.status(), 401, "{proofs:?}");
        assert_eq!(json(&err)["error"], "invalid_dpop_proof");
        let challenges: Vec<&str> = err
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
            .map(|(_, v)| v)
            .collect();
        assert!(
            challenges.contains(&"DPoP algs=\"ES256 EdDSA RS256\", error=\"invalid_dpop_proof\""),
            "{challenges:?}"
        );
    }
}

#[tokio::test]
async fn challenges_name_both_schemes() {
    // covers: DP-03
    let h = Harness::new().await;
    let err = resource(&h, "Bearer unknown-token", &[]).await.unwrap_err();
    let challenges: Vec<&str> = err
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        challenges,
        [
            "Bearer realm=\"oauth\", error=\"invalid_token\"",
            "DPoP algs=\"ES256 EdDSA RS256\""
        ]
    );
    // A bearer token presented with the DPoP scheme is refused.
    let svc = h.svc().await;
    let resp = cc(&h, &svc, &[]).await;
    let access = json(&resp)["access_token"].as_str().unwrap().to_owned();
    assert!(resource(&h, &format!("Bearer {access}"), &[]).await.is_ok());
    let err = resource(&h, &format!("DPoP {access}"), &[])
        .await
        .unwrap_err();
    assert_eq!(json(&err)["error"], "invalid_token");
}

#[tokio::test]
async fn resource_nonces_use_the_dpop_challenge() {
    // covers: DP-03
    let mut config: Config = config();
    config.dpop.nonce_secret = Some(Secret::new(vec![9u8; 32]));
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let key = DpopKey::ed25519();
    let first = cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)]).await;
    let nonce = first.header("DPoP-Nonce").unwrap().to_owned();
    let mut c = claims("POST", TOKEN_URL);
    c["nonce"] = json!(nonce);
    let resp = cc(&h, &svc, &[&key.sign(&c)]).await;
    let access = json(&resp)["access_token"].as_str().unwrap().to_owned();
    let auth = format!("DPoP {access}");
    let err = resource(&h, &auth, &[&key.resource_proof(&access)])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(json(&err)["error"], "use_dpop_nonce");
    let nonce = err.header("DPoP-Nonce").unwrap().to_owned();
    let mut c = claims("GET", RESOURCE_URL);
    c["ath"] = json!(ath(&access));
    c["nonce"] = json!(nonce);
    assert!(resource(&h, &auth, &[&key.sign(&c)]).await.is_ok());
}

#[tokio::test]
async fn jwt_access_tokens_carry_cnf_jkt() {
    // covers: DP-01, DP-03
    let mut config = config();
    // The resource trusts the JWT's signature and claims alone.
    config.jwt_revocation_check = false;
    let h = Harness::with(config, |b| {
        b.key_provider(std::sync::Arc::new(portcullis::MemoryKeys::new()))
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    let svc = h
        .confidential("jwt-svc", "jwt-svc-secret-123", |b| {
            b.access_token_format(portcullis::AccessTokenFormat::Jwt)
        })
        .await;
    let key = DpopKey::ed25519();
    let resp = cc(&h, &svc, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let access = json(&resp)["access_token"].as_str().unwrap().to_owned();
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
    let auth = format!("DPoP {access}");
    let ok = resource(&h, &auth, &[&key.resource_proof(&access)])
        .await
        .unwrap();
    assert!(ok.is_jwt());
    assert_eq!(ok.dpop_jkt().unwrap().as_str(), key.thumbprint());
    let other = DpopKey::ed25519();
    let err = resource(&h, &auth, &[&other.resource_proof(&access)])
        .await
        .unwrap_err();
    assert_eq!(json(&err)["error"], "invalid_dpop_proof");
    let err = resource(&h, &format!("Bearer {access}"), &[])
        .await
        .unwrap_err();
    assert_eq!(json(&err)["error"], "invalid_token");
}

// ---------------------------------------------------------------------
// Authorization code binding (RFC 9449 §10, §10.1; FAPI 2.0 §5.3.2.1-13),
// on the JAR/PAR fixture (issuer `https://auth.example`, time `NOW`).

mod code_binding {
    use super::*;
    use crate::jar::{
        ISSUER, NOW, PushAuth, REDIRECT, SPA, VERIFIER, alice, authorize, challenge, consent,
        fixture, push, push_error, pushed,
    };

    fn par_url() -> String {
        format!("{ISSUER}/par")
    }

    fn token_url() -> String {
        format!("{ISSUER}/token")
    }

    /// A proof of `key` for a POST to `url` at the fixture's time.
    fn proof_at(key: &DpopKey, url: &str) -> String {
        key.sign(&json!({"jti": jti(), "htm": "POST", "htu": url, "iat": NOW}))
    }

    /// A good code request of the public client `spa`, with `extra`.
    fn request<'a>(challenge: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = vec![
            ("client_id", SPA),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "s"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        v.extend_from_slice(extra);
        v
    }

    /// The code of an approved authorization request with these parameters.
    async fn code_of(fx: &crate::jar::Fx, pairs: &[(&str, &str)]) -> String {
        // Consent is remembered after the first approval.
        let resp = match authorize(fx, pairs, Some(&alice())).await {
            portcullis::AuthorizeStep::Redirect(r) => r,
            step => fx.server.approve(consent(step)).await,
        };
        let location = resp.header("location").unwrap();
        let url = url::Url::parse(location).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code: {location}"))
    }

    /// Redeems `code` as `spa` with these `DPoP` headers.
    async fn redeem(fx: &crate::jar::Fx, code: &str, proofs: &[&str]) -> Response {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", SPA),
        ]);
        let mut req = form_request(body.as_bytes(), None);
        for p in proofs {
            req = req.header("DPoP", p.as_bytes());
        }
        fx.server.token(&req).await
    }

    /// POSTs a push of `spa` with `pairs` and these `DPoP` headers.
    async fn push_with_proof(
        fx: &crate::jar::Fx,
        pairs: &[(&str, &str)],
        proofs: &[&str],
    ) -> Response {
        let body = form(pairs);
        let mut req = Request::new(Method::Post)
            .header("Content-Type", b"application/x-www-form-urlencoded")
            .body(body.as_bytes());
        for p in proofs {
            req = req.header("DPoP", p.as_bytes());
        }
        fx.server.handle(&req, "/par").await
    }

    /// The code of a pushed request named by the `request_uri` of `resp`.
    async fn code_of_push(fx: &crate::jar::Fx, resp: &Response) -> String {
        let uri = pushed(resp);
        code_of(fx, &[("client_id", SPA), ("request_uri", &uri)]).await
    }

    /// Only a proof of `key` redeems `code`: another key's, or none, is
    /// `invalid_grant`, and neither uses the code up.
    async fn only_key_redeems(fx: &crate::jar::Fx, code: &str, key: &DpopKey) {
        let other = DpopKey::es256();
        let resp = redeem(fx, code, &[&proof_at(&other, &token_url())]).await;
        assert_error(&resp, 400, "invalid_grant");
        let resp = redeem(fx, code, &[]).await;
        assert_error(&resp, 400, "invalid_grant");
        let resp = redeem(fx, code, &[&proof_at(key, &token_url())]).await;
        assert_eq!(resp.status(), 200, "{:?}", json(&resp));
        assert_eq!(json(&resp)["token_type"], "DPoP");
    }

    #[tokio::test]
    async fn dp01_dpop_jkt_binds_the_code_to_its_key() {
        // covers: DP-01 (RFC 9449 §10, FAPI 2.0 §5.3.2.1-13)
        let fx = fixture().await;
        let c = challenge();
        for key in [DpopKey::es256(), DpopKey::ed25519()] {
            let jkt = key.thumbprint();
            let code = code_of(&fx, &request(&c, &[("dpop_jkt", &jkt)])).await;
            only_key_redeems(&fx, &code, &key).await;
        }
        // A code without `dpop_jkt` is redeemed with any key or none.
        let code = code_of(&fx, &request(&c, &[])).await;
        let resp = redeem(&fx, &code, &[]).await;
        assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    }

    #[tokio::test]
    async fn dp01_a_malformed_dpop_jkt_is_invalid_request() {
        // covers: DP-01 (RFC 9449 §10)
        let fx = fixture().await;
        let c = challenge();
        let step = authorize(
            &fx,
            &request(&c, &[("dpop_jkt", "not a thumbprint")]),
            Some(&alice()),
        )
        .await;
        match step {
            portcullis::AuthorizeStep::Redirect(r) => {
                let location = r.header("location").unwrap();
                assert!(location.contains("error=invalid_request"), "{location}");
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
        // Refused at the pushed endpoint too, as JSON.
        let resp = push(
            &fx,
            PushAuth::Id(SPA),
            &request(&c, &[("dpop_jkt", "x y")])[1..],
        )
        .await;
        push_error(&resp, 400, "invalid_request");
        // A repeated `dpop_jkt` is refused as any repeated parameter.
        let jkt = DpopKey::es256().thumbprint();
        let step = authorize(
            &fx,
            &request(&c, &[("dpop_jkt", &jkt), ("dpop_jkt", &jkt)]),
            Some(&alice()),
        )
        .await;
        assert!(
            matches!(step, portcullis::AuthorizeStep::Redirect(_)),
            "{step:?}"
        );
    }

    #[tokio::test]
    async fn dp01_a_pushed_dpop_jkt_binds_the_code() {
        // covers: DP-01 (RFC 9449 §10.1, FAPI 2.0 §5.3.2.1-13)
        let fx = fixture().await;
        let c = challenge();
        let key = DpopKey::es256();
        let jkt = key.thumbprint();
        let resp = push(
            &fx,
            PushAuth::Id(SPA),
            &request(&c, &[("dpop_jkt", &jkt)])[1..],
        )
        .await;
        let code = code_of_push(&fx, &resp).await;
        only_key_redeems(&fx, &code, &key).await;
    }

    #[tokio::test]
    async fn dp01_a_dpop_proof_at_the_pushed_endpoint_binds_the_code() {
        // covers: DP-01 (RFC 9449 §10.1, FAPI 2.0 §5.3.2.1-13)
        let fx = fixture().await;
        let c = challenge();
        let key = DpopKey::ed25519();
        let resp = push_with_proof(&fx, &request(&c, &[]), &[&proof_at(&key, &par_url())]).await;
        let code = code_of_push(&fx, &resp).await;
        only_key_redeems(&fx, &code, &key).await;
        // With a matching `dpop_jkt` beside it: the same.
        let jkt = key.thumbprint();
        let resp = push_with_proof(
            &fx,
            &request(&c, &[("dpop_jkt", &jkt)]),
            &[&proof_at(&key, &par_url())],
        )
        .await;
        let code = code_of_push(&fx, &resp).await;
        only_key_redeems(&fx, &code, &key).await;
    }

    #[tokio::test]
    async fn dp01_a_push_whose_proof_and_dpop_jkt_differ_is_refused() {
        // covers: DP-01 (RFC 9449 §10.1: both used, they must match)
        let fx = fixture().await;
        let c = challenge();
        let (key, other) = (DpopKey::es256(), DpopKey::es256());
        let jkt = other.thumbprint();
        let resp = push_with_proof(
            &fx,
            &request(&c, &[("dpop_jkt", &jkt)]),
            &[&proof_at(&key, &par_url())],
        )
        .await;
        push_error(&resp, 400, "invalid_dpop_proof");
        // A proof for another endpoint, or a bad one, is refused too.
        let resp = push_with_proof(&fx, &request(&c, &[]), &[&proof_at(&key, &token_url())]).await;
        push_error(&resp, 400, "invalid_dpop_proof");
    }

    #[tokio::test]
    async fn dp01_the_binding_survives_the_login_step() {
        // covers: DP-01 (the suspended request keeps `dpop_jkt`)
        let fx = fixture().await;
        let c = challenge();
        let key = DpopKey::es256();
        let jkt = key.thumbprint();
        let step = authorize(&fx, &request(&c, &[("dpop_jkt", &jkt)]), None).await;
        let portcullis::AuthorizeStep::Login(login) = step else {
            panic!("expected the login step, got {step:?}");
        };
        let handle = fx.server.suspend_login(&login).await.unwrap();
        let step = fx
            .server
            .resume(handle.expose_secret(), Some(&alice()))
            .await;
        let resp = fx.server.approve(consent(step)).await;
        let location = resp.header("location").unwrap();
        let code = url::Url::parse(location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        only_key_redeems(&fx, &code, &key).await;
    }
}
