//! Pushed authorization requests through the demo, on every adapter, with
//! the contract v2 fixture (`tests/fixtures/seed_v2.json`):
//!
//! - PA-02: the seed's `par-only` client (`require_pushed_authorization_requests`)
//!   is refused a plain authorization request, while a pushed one (PA-01)
//!   goes through login and consent to a code and tokens;
//! - the demo started with `--profile fapi2` (the FAPI 2.0 Security
//!   Profile) serves `pkjwt-client` through PAR, the authorization endpoint
//!   and the token endpoint, its assertions signed by `jsonwebtoken` with
//!   the fixture's key, and refuses the secret client `conf-basic` with
//!   `invalid_client`.
//!
//! The token requests under FAPI 2.0 go through [`fapi_token`], which
//! sends a DPoP proof (DP-01) with each.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oauth2::PkceCodeChallenge;
use serde_json::{Value, json};

use crate::harness::{self, Framework, Server, Session};
use crate::seed_v2::{JWT_BEARER, PKJWT_KEY, now, post_token, seed};

const PAR_ONLY: &str = "par-only";
const PAR_ONLY_SECRET: &str = "par-only secret";
const PAR_ONLY_REDIRECT: &str = "http://127.0.0.1:8765/par-callback";
/// `pkjwt-client`'s redirect URI, added to the fixture for the code flow.
const PKJWT_REDIRECT: &str = "http://127.0.0.1:8765/pkjwt-callback";
const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// How a push authenticates its client.
enum Auth<'a> {
    Basic(&'a str, &'a str),
    /// An RFC 7523 assertion of `pkjwt-client`.
    Assertion(String),
}

fn basic(id: &str, secret: &str) -> String {
    // RFC 6749 §2.3.1: each part form-encoded before base64.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// POSTs a pushed authorization request; the status and the JSON body.
async fn push(server: &Server, auth: Auth<'_>, params: &[(&str, &str)]) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut req = harness::http_client().post(format!("{}/par", server.base));
    match &auth {
        Auth::Basic(id, secret) => req = req.header("authorization", basic(id, secret)),
        // `client_id` is in the request.
        Auth::Assertion(signed) => {
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", signed));
        }
    }
    let resp = req.form(&form).send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from /par: {body}")),
    )
}

/// An assertion of `pkjwt-client` for this server (`aud` its issuer),
/// signed by `jsonwebtoken` with the fixture's P-256 key.
fn assertion(server: &Server, jti: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("pkjwt-key-1".into());
    let claims = json!({"iss": "pkjwt-client", "sub": "pkjwt-client", "aud": server.base,
                        "iat": now(), "exp": now() + 60, "jti": jti});
    let key = jsonwebtoken::EncodingKey::from_ec_der(PKJWT_KEY);
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// A code request of `client_id` to `redirect` with PKCE S256.
pub(crate) fn code_request<'a>(
    client_id: &'a str,
    redirect: &'a str,
    state: &'a str,
    challenge: &'a PkceCodeChallenge,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "read"),
        ("state", state),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
}

/// The `/authorize` URL naming a pushed request.
pub(crate) fn by_reference(server: &Server, client_id: &str, request_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri)
        .finish();
    format!("{}/authorize?{query}", server.base)
}

/// The code of a callback, after checking its `state` and `iss`.
pub(crate) fn code_of(server: &Server, callback: &url::Url, redirect: &str, state: &str) -> String {
    assert!(
        callback.as_str().starts_with(redirect),
        "back at the client: {callback}"
    );
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(state), "{callback}");
    assert_eq!(param("iss").as_deref(), Some(server.base.as_str()));
    param("code").unwrap_or_else(|| panic!("a code in {callback}"))
}

async fn a_par_only_client_must_push_and_a_pushed_request_gets_tokens(framework: Framework) {
    // covers: PA-02, PA-01
    // issue 17 point 6: the seed's require_pushed_authorization_requests
    let server = Server::start_seeded(framework, seed, &[]).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();

    // Not pushed: an error page, never a redirect (no code, no login).
    let session = Session::new(&server);
    let plain = code_request(PAR_ONLY, PAR_ONLY_REDIRECT, "plain", &challenge);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&plain)
        .finish();
    let page = session
        .get(&format!("{}/authorize?{query}", server.base))
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none(), "no redirect: {:?}", page.location);
    assert!(!page.body.contains("name=\"password\""), "no login form");

    // Pushed: 201 with a request_uri, then login, consent, the code.
    let state = "pushed";
    let request = code_request(PAR_ONLY, PAR_ONLY_REDIRECT, state, &challenge);
    // `client_id` comes with the Basic header.
    let request: Vec<_> = request
        .into_iter()
        .filter(|(k, _)| *k != "client_id")
        .collect();
    let (status, body) = push(&server, Auth::Basic(PAR_ONLY, PAR_ONLY_SECRET), &request).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with(URN), "{request_uri}");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    let callback = session
        .browse_to_callback(&by_reference(&server, PAR_ONLY, &request_uri), true)
        .await;
    let code = code_of(&server, &callback, PAR_ONLY_REDIRECT, state);

    // The request_uri was used up (single use).
    let again = session
        .get(&by_reference(&server, PAR_ONLY, &request_uri))
        .await;
    assert_eq!(again.status, 400, "a used request_uri: {}", again.body);

    let (status, tokens) = post_token(
        &server,
        Some((PAR_ONLY, PAR_ONLY_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PAR_ONLY_REDIRECT),
            ("code_verifier", verifier.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert_eq!(tokens["scope"], "read");

    // Another client of the seed is not required to push.
    let (other, _) = PkceCodeChallenge::new_random_sha256();
    let plain = code_request("conf-basic", "http://127.0.0.1:8765/callback", "s", &other);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&plain)
        .finish();
    let page = Session::new(&server)
        .get(&format!("{}/authorize?{query}", server.base))
        .await;
    assert_eq!(page.status, 200, "the login page: {}", page.body);

    let (clean, _) = server.terminate();
    assert!(clean);
}

/// The fixture with this server's issuer, and a redirect URI and the code
/// grant for `pkjwt-client` (a service client in the fixture itself).
fn fapi_seed(base: &str) -> Value {
    let mut seed = seed(base);
    let clients = seed["clients"].as_array_mut().unwrap();
    let pkjwt = clients
        .iter_mut()
        .find(|c| c["client_id"] == "pkjwt-client")
        .unwrap();
    pkjwt["redirect_uris"] = json!([PKJWT_REDIRECT]);
    pkjwt["response_types"] = json!(["code"]);
    pkjwt["grant_types"] = json!(["authorization_code", "refresh_token", "client_credentials"]);
    seed
}

/// A token request under the FAPI 2.0 Security Profile, authenticated as
/// `pkjwt-client` by `signed`, with a DPoP proof (FAPI 2.0 §5.3.2.1-4,
/// DP-01) of a fresh key made by `ring` and signed by `jsonwebtoken`.
async fn fapi_token(server: &Server, signed: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("client_id", "pkjwt-client"));
    form.push(("client_assertion_type", JWT_BEARER));
    form.push(("client_assertion", signed));
    let token_url = format!("{}/token", server.base);
    let proof = crate::dpop::DpopKey::es256().proof("POST", &token_url, None);
    let resp = harness::http_client()
        .post(&token_url)
        .header("DPoP", proof)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from /token: {body}")),
    )
}

async fn the_fapi2_demo_serves_private_key_jwt_through_par_and_refuses_secrets(
    framework: Framework,
) {
    // covers: PA-01, PA-02, CA-08
    // issue 17 point 6: the demo in the FAPI 2.0 Security Profile
    let server = Server::start_seeded(framework, fapi_seed, &["--profile", "fapi2"]).await;
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
    assert_eq!(
        meta["require_pushed_authorization_requests"], true,
        "{meta}"
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert!(
        !meta["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("password")),
        "{meta}"
    );
    let jwks: Value = serde_json::from_str(
        &http
            .get(meta["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        let alg = key["alg"].as_str().unwrap();
        assert!(["PS256", "ES256", "EdDSA"].contains(&alg), "{jwks}");
    }

    // pkjwt-client: push, browse, redeem.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = "fapi";
    let request = code_request("pkjwt-client", PKJWT_REDIRECT, state, &challenge);
    let signed = assertion(&server, &format!("par-{}", now()));
    let (status, body) = push(&server, Auth::Assertion(signed), &request).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let session = Session::new(&server);
    let callback = session
        .browse_to_callback(&by_reference(&server, "pkjwt-client", &request_uri), true)
        .await;
    let code = code_of(&server, &callback, PKJWT_REDIRECT, state);
    let signed = assertion(&server, &format!("token-{}", now()));
    let (status, tokens) = fapi_token(
        &server,
        &signed,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PKJWT_REDIRECT),
            ("code_verifier", verifier.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP", "{tokens}");
    assert_eq!(tokens["scope"], "read");

    // Not pushed: refused, even for the private_key_jwt client.
    let plain = code_request("pkjwt-client", PKJWT_REDIRECT, "plain", &challenge);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&plain)
        .finish();
    let page = Session::new(&server)
        .get(&format!("{}/authorize?{query}", server.base))
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none());

    // conf-basic: a secret client, refused at the pushed and the token
    // endpoint as a failed authentication.
    let (other, _) = PkceCodeChallenge::new_random_sha256();
    let request: Vec<_> = code_request("conf-basic", "http://127.0.0.1:8765/callback", "s", &other)
        .into_iter()
        .filter(|(k, _)| *k != "client_id")
        .collect();
    let secret = "p@ss:w+rd%/~ 2b!x";
    let (status, body) = push(&server, Auth::Basic("conf-basic", secret), &request).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = post_token(
        &server,
        Some(("conf-basic", secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // Nor the password grant it lists: not offered under the profile.
    let (status, body) = post_token(
        &server,
        Some(("conf-basic", secret)),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", harness::ALICE_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (clean, log) = server.terminate();
    assert!(clean);
    assert!(!log.contains(secret), "the log shows a secret");
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn par_only_axum() {
    a_par_only_client_must_push_and_a_pushed_request_gets_tokens(Framework::Axum).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn par_only_actix() {
    a_par_only_client_must_push_and_a_pushed_request_gets_tokens(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn par_only_hyper() {
    a_par_only_client_must_push_and_a_pushed_request_gets_tokens(Framework::Hyper).await;
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn fapi2_axum() {
    the_fapi2_demo_serves_private_key_jwt_through_par_and_refuses_secrets(Framework::Axum).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn fapi2_actix() {
    the_fapi2_demo_serves_private_key_jwt_through_par_and_refuses_secrets(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn fapi2_hyper() {
    the_fapi2_demo_serves_private_key_jwt_through_par_and_refuses_secrets(Framework::Hyper).await;
}

/// Every contract v2 seed that starts the demo starts it in the FAPI 2.0
/// profile: the fixture, read by the demo's own code, builds a server.
#[test]
fn the_v2_fixture_loads_in_the_fapi2_profile_with_notes() {
    // covers: PA-02
    // issue 17 point 6
    use crate::seed_v2::demo_seed;
    let text = serde_json::to_vec(&seed("http://127.0.0.1:9400")).unwrap();
    let parsed = demo_seed::parse(&text).unwrap();
    let loaded = demo_seed::load_in(
        &parsed,
        portcullis::Profile::Fapi2Security,
        std::num::NonZeroU32::MIN,
        &portcullis::SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(loaded.config.profile, portcullis::Profile::Fapi2Security);
    assert!(!loaded.config.offers(portcullis::GrantType::Password));
    let notes: Vec<String> = loaded.ignored.iter().map(ToString::to_string).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("client conf-basic: grant_types password ignored")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with(
            "client oidc-rp: id_token_signed_response_alg ignored: the server does not sign with RS256"
        )),
        "{notes:?}"
    );
    // Every client still registered; par-only must push, in any profile.
    assert_eq!(loaded.clients.len(), 8, "{notes:?}");
    let par_only = loaded
        .clients
        .iter()
        .find(|c| c.client_id().as_str() == PAR_ONLY)
        .unwrap();
    assert!(par_only.requires_pushed_authorization_requests());
}

/// `jwks` on a public client is its request objects' keys (JR-01); the
/// seed's booleans reach the client; bad values cost a note.
#[test]
fn seeded_request_flags_and_public_jwks_reach_the_clients() {
    // covers: PA-02, JR-01
    // issue 17 point 6
    use crate::seed_v2::demo_seed;
    let fixture = seed("http://127.0.0.1:9400");
    let pkjwt_jwks = fixture["clients"][2]["jwks"].clone();
    let seed = json!({
        "issuer": "http://127.0.0.1:9400",
        "clients": [
            {"client_id": "spa", "token_endpoint_auth_method": "none",
             "redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["authorization_code"],
             "jwks": pkjwt_jwks, "require_signed_request_object": true,
             "require_pushed_authorization_requests": true},
            {"client_id": "inferred", "jwks": pkjwt_jwks,
             "grant_types": ["client_credentials"]},
            {"client_id": "web", "client_secret": "s", "jwks": {"keys": []},
             "redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["authorization_code"],
             "require_pushed_authorization_requests": "yes"}
        ]
    });
    let text = serde_json::to_vec(&seed).unwrap();
    let parsed = demo_seed::parse(&text).unwrap();
    let loaded = demo_seed::load(
        &parsed,
        std::num::NonZeroU32::MIN,
        &portcullis::SystemRandom::new(),
    )
    .unwrap();
    let notes: Vec<String> = loaded.ignored.iter().map(ToString::to_string).collect();
    let [spa, inferred, web] = &loaded.clients[..] else {
        panic!("three clients: {notes:?}");
    };
    assert_eq!(
        spa.token_endpoint_auth_method(),
        portcullis::AuthMethod::None
    );
    assert!(spa.jwks().is_some(), "a public client's keys");
    assert!(spa.requires_signed_request_object() && spa.requires_pushed_authorization_requests());
    // Without a method, keys still mean private_key_jwt.
    assert_eq!(
        inferred.token_endpoint_auth_method(),
        portcullis::AuthMethod::PrivateKeyJwt
    );
    // No usable key: registered without keys; a non-boolean: left out.
    assert!(web.jwks().is_none() && !web.requires_pushed_authorization_requests());
    for prefix in [
        "client web: jwks ignored",
        "client web: require_pushed_authorization_requests ignored",
    ] {
        assert_eq!(
            notes.iter().filter(|n| n.starts_with(prefix)).count(),
            1,
            "{prefix}: {notes:?}"
        );
    }
    assert_eq!(notes.len(), 2, "{notes:?}");
}
