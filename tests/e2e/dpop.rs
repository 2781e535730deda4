//! DPoP (RFC 9449) and resource indicators (RFC 8707) through the demo, on
//! every adapter, with the contract v2 fixture (`tests/fixtures/seed_v2.json`):
//!
//! - DP-01, DP-02: the seed's public client `dpop-spa`
//!   (`dpop_bound_access_tokens`) pushes its request (PA-01, `client_id`
//!   only), goes through login and consent, and redeems the code with a
//!   proof for DPoP-bound tokens; without a proof it is refused; its
//!   refresh token works with the same key only;
//! - DP-03: the demo's `/api/me` accepts the token with a proof of its key,
//!   and refuses it as Bearer, with a replayed proof and with a proof for
//!   another `htu`;
//! - RI-01: the seed's `resources` are accepted for every client: a token
//!   asked for one has it as `aud` (introspection), any other is
//!   `invalid_target`.
//!
//! Proofs are signed by `jsonwebtoken` with keys made by `ring`, never with
//! the server's own code.

// The client's keys come from the OS random source: they are the client's,
// not the server's.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use oauth2::PkceCodeChallenge;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

use crate::harness::{self, Framework, Server, Session};
use crate::par::{by_reference, code_of, code_request};
use crate::seed_v2::{now, seed};

const SPA: &str = "dpop-spa";
const SPA_REDIRECT: &str = "http://127.0.0.1:8765/spa-callback";
const CONF_SECRET: &str = "p@ss:w+rd%/~ 2b!x";
const API: &str = "https://api.example.com/";

static JTI: AtomicU64 = AtomicU64::new(0);

/// A client's DPoP key (ES256, P-256): the private key for `jsonwebtoken`,
/// the public JWK for the proofs' header.
pub(crate) struct DpopKey {
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
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        }
    }

    /// A fresh proof (`typ` `dpop+jwt`, `jwk` in the header) for `method`
    /// at `url`, with `ath` for `token` when given.
    pub(crate) fn proof(&self, method: &str, url: &str, token: Option<&str>) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        let jti = format!(
            "e2e-{}-{}-{}",
            std::process::id(),
            now(),
            JTI.fetch_add(1, Ordering::Relaxed)
        );
        let mut claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now()});
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(ring::digest::digest(
                &ring::digest::SHA256,
                token.as_bytes()
            )));
        }
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

/// POSTs a form to `/token` with these `DPoP` headers (and Basic
/// credentials when given); the status and the JSON body.
async fn token(
    server: &Server,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> (u16, Value) {
    let mut req = harness::http_client()
        .post(format!("{}/token", server.base))
        .form(form);
    if let Some((id, secret)) = basic {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
        req = req.header("authorization", format!("Basic {pair}"));
    }
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from /token: {body}")),
    )
}

/// `GET /api/me` with this `Authorization` and proof; the status, the
/// `WWW-Authenticate` header and the body.
async fn me(server: &Server, authorization: &str, proof: Option<&str>) -> (u16, String, String) {
    let mut req = harness::http_client()
        .get(format!("{}/api/me", server.base))
        .header("authorization", authorization);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    // Every challenge (Bearer and DPoP may each have one), one per line.
    let challenge = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    (status, challenge, resp.text().await.unwrap())
}

async fn a_public_dpop_client_gets_bound_tokens_through_par(framework: Framework) {
    // covers: DP-01, DP-02, DP-03, PA-01
    // issue 17 "How it is proven": a public client with DPoP through PAR
    // and the code flow, refresh with the same key, the resource route
    // with and without a proof, a replayed proof, a wrong htu.
    let server = Server::start_seeded(framework, seed, &[]).await;
    let http = harness::http_client();
    let meta: Value = serde_json::from_str(
        &http
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                server.base
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        meta["dpop_signing_alg_values_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("ES256"))),
        "{meta}"
    );
    let token_url = meta["token_endpoint"].as_str().unwrap().to_owned();
    let key = DpopKey::es256();

    // PA-01: a public client pushes with its client_id only.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = "dpop";
    let request = code_request(SPA, SPA_REDIRECT, state, &challenge);
    let resp = http
        .post(format!("{}/par", server.base))
        .form(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let session = Session::new(&server);
    let callback = session
        .browse_to_callback(&by_reference(&server, SPA, &request_uri), true)
        .await;
    let code = code_of(&server, &callback, SPA_REDIRECT, state);
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_REDIRECT),
        ("code_verifier", verifier.secret()),
        ("client_id", SPA),
    ];

    // DP-02: the client is registered with dpop_bound_access_tokens: no
    // proof, no tokens (and the code is not used up).
    let (status, body) = token(&server, None, &redeem, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");

    // DP-01: with a proof, DPoP-bound tokens.
    let proof = key.proof("POST", &token_url, None);
    let (status, body) = token(&server, None, &redeem, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // DP-03: the resource route, with a proof of the key: 200.
    let api = format!("{}/api/me", server.base);
    let auth = format!("DPoP {access}");
    let proof = key.proof("GET", &api, Some(&access));
    let (status, _, body) = me(&server, &auth, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    let who: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(who["client_id"], SPA, "{who}");
    // The same proof again: a replay, refused.
    let (status, challenge, body) = me(&server, &auth, Some(&proof)).await;
    assert_eq!(status, 401, "a replayed proof: {body}");
    assert!(
        challenge.contains("DPoP") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );
    // A proof for another URL (htu): refused.
    let elsewhere = format!("{}/api/other", server.base);
    let wrong = key.proof("GET", &elsewhere, Some(&access));
    let (status, _, body) = me(&server, &auth, Some(&wrong)).await;
    assert_eq!(status, 401, "a wrong htu: {body}");
    // A proof of another key: refused.
    let other = DpopKey::es256();
    let foreign = other.proof("GET", &api, Some(&access));
    let (status, _, body) = me(&server, &auth, Some(&foreign)).await;
    assert_eq!(status, 401, "another key: {body}");
    // The bound token as a Bearer token, without a proof: refused, and the
    // challenge names DPoP.
    let (status, challenge, body) = me(&server, &format!("Bearer {access}"), None).await;
    assert_eq!(status, 401, "a bound token as Bearer: {body}");
    assert!(challenge.contains("DPoP"), "{challenge}");
    // And as DPoP without a proof.
    let (status, _, body) = me(&server, &auth, None).await;
    assert_eq!(status, 401, "no proof: {body}");

    // DP-02: the refresh token is bound to the key: another key is
    // refused, the same key gets new DPoP-bound tokens.
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", SPA),
    ];
    let proof = other.proof("POST", &token_url, None);
    let (status, body) = token(&server, None, &refresh_form, Some(&proof)).await;
    assert_eq!(status, 400, "another key: {body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let proof = key.proof("POST", &token_url, None);
    let (status, body) = token(&server, None, &refresh_form, Some(&proof)).await;
    assert_eq!(status, 200, "the same key: {body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let proof = key.proof("GET", &api, Some(&access));
    let (status, _, body) = me(&server, &format!("DPoP {access}"), Some(&proof)).await;
    assert_eq!(status, 200, "the refreshed token: {body}");

    // RI-01: the seed's resources, for every client: the token's audience.
    let basic = Some(("conf-basic", CONF_SECRET));
    let (status, body) = token(
        &server,
        basic,
        &[("grant_type", "client_credentials"), ("resource", API)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let for_api = body["access_token"].as_str().unwrap().to_owned();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = STANDARD.encode(format!("conf-basic:{}", enc(CONF_SECRET)));
    let info: Value = serde_json::from_str(
        &http
            .post(format!("{}/introspect", server.base))
            .header("authorization", format!("Basic {pair}"))
            .form(&[("token", for_api.as_str())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["active"], true, "{info}");
    let aud = &info["aud"];
    assert!(
        *aud == json!(API) || *aud == json!([API]),
        "aud is the resource: {info}"
    );
    // Any other resource: invalid_target.
    let (status, body) = token(
        &server,
        basic,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://elsewhere.example.com/"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_target", "{body}");

    let (clean, log) = server.terminate();
    assert!(clean);
    assert!(!log.contains(&access), "the log shows a token");
    assert!(
        !log.contains("field=dpop_bound_access_tokens") && !log.contains("field=resources"),
        "honoured, not ignored:\n{log}"
    );
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn dpop_par_code_flow_axum() {
    a_public_dpop_client_gets_bound_tokens_through_par(Framework::Axum).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn dpop_par_code_flow_actix() {
    a_public_dpop_client_gets_bound_tokens_through_par(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn dpop_par_code_flow_hyper() {
    a_public_dpop_client_gets_bound_tokens_through_par(Framework::Hyper).await;
}

/// The tower host: `/api/me` behind its `BearerLayer`.
#[cfg(feature = "tower")]
#[tokio::test]
async fn dpop_par_code_flow_tower() {
    a_public_dpop_client_gets_bound_tokens_through_par(Framework::Tower).await;
}

/// The seed's `dpop_bound_access_tokens` and `resources` reach the client
/// and the configuration; bad values cost a note and that value only.
#[test]
fn seeded_dpop_flags_and_resources_reach_the_server() {
    // covers: DP-02, RI-01
    // issue 17 point 6
    use crate::seed_v2::demo_seed;
    let load = |seed: &Value| {
        let text = serde_json::to_vec(seed).unwrap();
        let parsed = demo_seed::parse(&text).unwrap();
        demo_seed::load(
            &parsed,
            std::num::NonZeroU32::MIN,
            &portcullis::SystemRandom::new(),
        )
        .unwrap()
    };
    let loaded = load(&seed("http://127.0.0.1:9400"));
    let spa = loaded
        .clients
        .iter()
        .find(|c| c.client_id().as_str() == SPA)
        .unwrap();
    assert!(spa.dpop_bound_access_tokens());
    let resources: Vec<&str> = loaded.config.resources.iter().map(|r| r.as_str()).collect();
    assert_eq!(resources, [API, "urn:example:calendar"]);
    let notes: Vec<String> = loaded.ignored.iter().map(ToString::to_string).collect();
    assert!(
        !notes
            .iter()
            .any(|n| n.contains("dpop_bound_access_tokens") || n.contains("resources")),
        "{notes:?}"
    );

    let odd = json!({
        "issuer": "http://127.0.0.1:9400",
        "clients": [{"client_id": "spa", "token_endpoint_auth_method": "none",
                     "redirect_uris": ["http://127.0.0.1/cb"],
                     "grant_types": ["authorization_code"],
                     "dpop_bound_access_tokens": "yes"}],
        "resources": [API, "/relative", 7, API, "https://x.example/#frag"]
    });
    let loaded = load(&odd);
    assert!(!loaded.clients[0].dpop_bound_access_tokens());
    let resources: Vec<&str> = loaded.config.resources.iter().map(|r| r.as_str()).collect();
    assert_eq!(resources, [API]);
    let notes: Vec<String> = loaded.ignored.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("client spa: dpop_bound_access_tokens ignored"))
            .count(),
        1,
        "{notes:?}"
    );
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("seed: resources ignored"))
            .count(),
        3,
        "{notes:?}"
    );
    assert_eq!(notes.len(), 4, "{notes:?}");
    // Not a list: none, one note.
    let loaded = load(&json!({"issuer": "http://127.0.0.1:9400", "resources": API}));
    assert!(loaded.config.resources.is_empty());
    assert_eq!(loaded.ignored.len(), 1);
}
