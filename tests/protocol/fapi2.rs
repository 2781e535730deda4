//! The FAPI 2.0 Security Profile preset (`Config::fapi2_security_profile`):
//! the configurations it refuses when the server is built, and what it
//! refuses or changes per request (only `private_key_jwt` clients, pushed
//! requests naming their `redirect_uri`, refresh tokens not rotated). Keys
//! and assertions are made with `ring` and `jsonwebtoken`; the fixture's
//! helpers are `jar.rs`'s. `docs/fapi2.md` names these tests beside each
//! requirement.

use std::sync::Arc;
use std::time::Duration;

use portcullis::http::{Method, Request, Response};
use portcullis::{
    Algorithm, AuthorizationServer, Client, ClientAdmin, ClientId, Config, ConfigError, FixedClock,
    GrantType, MemoryStore, Profile, RedirectUri, ScopeSet, SecretHash, UnixTime,
};
use serde_json::{Value, json};

use crate::dpop::DpopKey;
use crate::jar::{
    Fx, ISSUER, NOW, PK, PushAuth, REDIRECT, SPA, VERIFIER, WEB, WEB_SECRET, alice, authorize,
    consent, ed25519_key, es256_key, page_error, push, push_error, pushed, sign,
};
use crate::par::{pairs, request};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn build(config: Config) -> Result<AuthorizationServer, ConfigError> {
    AuthorizationServer::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .build()
}

/// A FAPI 2.0 server with three code-flow clients: `pk` (`private_key_jwt`,
/// ES256, also allowed `refresh_token`), `web` (`client_secret_basic`, also
/// `client_credentials`) and `spa` (public).
async fn fapi_fixture() -> Fx {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(NOW)));
    let server = AuthorizationServer::builder(Config::fapi2_security_profile(ISSUER))
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let (web_key, spa_key, pk_key) = (es256_key("w1"), ed25519_key("s1"), es256_key("p1"));
    let jwks = |k: &crate::jar::TestKey| json!({"keys": [k.jwk]}).to_string();
    let id = |s: &str| ClientId::parse(s).unwrap();
    let code_flow = |b: portcullis::ClientBuilder| {
        b.grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .redirect_uri(RedirectUri::parse(REDIRECT).unwrap())
            .scope(ScopeSet::parse("read write").unwrap())
    };
    for c in [
        code_flow(Client::private_key_jwt(id(PK), jwks(&pk_key))),
        code_flow(Client::confidential(
            id(WEB),
            SecretHash::sha256(WEB_SECRET),
        )),
        code_flow(Client::public(id(SPA))),
    ] {
        store.insert_client(c.build().unwrap()).await.unwrap();
    }
    Fx {
        server,
        clock,
        web_key,
        spa_key,
        stranger: es256_key("x1"),
        pk_key,
    }
}

/// A DPoP proof of `key` for the token endpoint (`jti` unique per call).
fn token_proof(key: &DpopKey, jti: &str) -> String {
    key.sign(&json!({"jti": jti, "htm": "POST", "htu": format!("{ISSUER}/token"), "iat": NOW}))
}

/// POSTs `params` to the token endpoint, authenticated as `pk` by a fresh
/// assertion (`jti` unique per call), with a DPoP proof of `key` if given.
async fn token_as_pk(
    fx: &Fx,
    jti: &str,
    key: Option<&DpopKey>,
    params: &[(&str, &str)],
) -> Response {
    post_as_pk(fx, "/token", jti, key, params).await
}

/// POSTs `params` to `path`, authenticated as `pk`, with a DPoP proof of
/// `key` if given.
async fn post_as_pk(
    fx: &Fx,
    path: &str,
    jti: &str,
    key: Option<&DpopKey>,
    params: &[(&str, &str)],
) -> Response {
    let claims = json!({"iss": PK, "sub": PK, "aud": ISSUER, "exp": NOW + 60, "jti": jti});
    let assertion = sign(&fx.pk_key, &claims);
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.append_pair("client_id", PK)
        .append_pair("client_assertion_type", ASSERTION_TYPE)
        .append_pair("client_assertion", &assertion);
    let body = s.finish();
    let proof = key.map(|k| token_proof(k, jti));
    let mut req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    if let Some(p) = &proof {
        req = req.header("DPoP", p.as_bytes());
    }
    fx.server.handle(&req, path).await
}

fn json_of(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap()
}

/// Pushes as `pk`, authorizes as alice, approves, and redeems the code
/// with a DPoP proof of `key`: the token response.
async fn code_flow_tokens(fx: &Fx, key: &DpopKey) -> Value {
    let uri = pushed(&push(fx, PushAuth::Assertion(&fx.pk_key), &pairs(&request("s"))).await);
    let pending = consent(
        authorize(
            fx,
            &[("client_id", PK), ("request_uri", &uri)],
            Some(&alice()),
        )
        .await,
    );
    let redirect = fx.server.approve(pending).await;
    let location = url::Url::parse(redirect.header("location").unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let resp = token_as_pk(
        fx,
        "exchange",
        Some(key),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
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
    json_of(&resp)
}

#[test]
fn the_preset_turns_on_what_the_profile_requires() {
    let c = Config::fapi2_security_profile(ISSUER);
    assert_eq!(c.profile, Profile::Fapi2Security);
    assert!(c.require_pushed_authorization_requests);
    assert!(c.require_pkce_for_confidential && !c.dangerous_allow_plain_pkce);
    assert!(c.code_lifetime <= Duration::from_secs(60));
    assert!(c.pushed_request_lifetime < Duration::from_secs(600));
    assert!(!c.offers(GrantType::Password));
    assert!(
        c.id_token_signing_algs.iter().all(|a| [
            Algorithm::Ps256,
            Algorithm::Es256,
            Algorithm::EdDsa
        ]
        .contains(a))
    );
    assert!(build(c).is_ok());
}

/// A named change to a configuration.
type Change = (&'static str, fn(&mut Config));

#[test]
fn the_builder_refuses_what_the_profile_forbids() {
    let broken: [Change; 11] = [
        ("password grant", |c| {
            c.grant_types.push(GrantType::Password)
        }),
        ("plain requests", |c| {
            c.require_pushed_authorization_requests = false
        }),
        ("no PKCE", |c| c.require_pkce_for_confidential = false),
        ("plain PKCE", |c| c.dangerous_allow_plain_pkce = true),
        ("61 s codes", |c| c.code_lifetime = Duration::from_secs(61)),
        ("RS256 keys", |c| c.signing_algorithm = Algorithm::Rs256),
        ("RS256 access tokens", |c| {
            c.access_token_signing_alg = Some(Algorithm::Rs256);
        }),
        ("RS256 ID Tokens", |c| {
            c.id_token_signing_algs.push(Algorithm::Rs256)
        }),
        ("5 s leeway", |c| c.leeway = Duration::from_secs(5)),
        ("no private_key_jwt", |c| {
            c.jwt_client_authentication = false
        }),
        ("legacy audiences", |c| {
            c.dangerous_allow_legacy_assertion_audience = true;
        }),
    ];
    for (what, change) in broken {
        let mut c = Config::fapi2_security_profile(ISSUER);
        change(&mut c);
        assert!(
            matches!(build(c), Err(ConfigError::ProfileViolation { .. })),
            "{what} is refused"
        );
    }
    // A pushed request lifetime of 600 s is refused by every profile.
    let mut c = Config::fapi2_security_profile(ISSUER);
    c.pushed_request_lifetime = Duration::from_secs(600);
    assert!(build(c).is_err());
}

#[tokio::test]
async fn only_private_key_jwt_clients_are_served() {
    let fx = fapi_fixture().await;
    let req = request("a");
    // §5.3.2.1-3, -6: a secret client and a public client are refused at
    // the pushed endpoint as failed authentications.
    push_error(
        &push(&fx, PushAuth::Basic(WEB, WEB_SECRET), &pairs(&req)).await,
        401,
        "invalid_client",
    );
    push_error(
        &push(&fx, PushAuth::Id(SPA), &pairs(&req)).await,
        401,
        "invalid_client",
    );
    // ... and at the token endpoint.
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", WEB)
        .append_pair("client_secret", WEB_SECRET)
        .finish();
    let resp = fx
        .server
        .handle(
            &Request::new(Method::Post)
                .header("Content-Type", b"application/x-www-form-urlencoded")
                .body(body.as_bytes()),
            "/token",
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(json_of(&resp)["error"], "invalid_client");
    // The private_key_jwt client is served.
    assert_eq!(
        push(&fx, PushAuth::Assertion(&fx.pk_key), &pairs(&req))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn requests_are_pushed_and_name_their_redirect_uri() {
    let fx = fapi_fixture().await;
    // §5.3.2.2-6: a push without `redirect_uri` is refused, although the
    // client has exactly one registered.
    let mut req = request("r");
    req.retain(|(k, _)| *k != "redirect_uri");
    push_error(
        &push(&fx, PushAuth::Assertion(&fx.pk_key), &pairs(&req)).await,
        400,
        "invalid_request",
    );
    // §5.3.2.2-3: a request that was not pushed is refused.
    let plain = request("p");
    let mut plain = pairs(&plain);
    plain.push(("client_id", PK));
    assert_eq!(
        page_error(authorize(&fx, &plain, Some(&alice())).await),
        "invalid_request"
    );
}

#[tokio::test]
async fn refresh_tokens_of_confidential_clients_are_not_rotated() {
    // §5.3.2.1-10: the refresh token stays; each refresh issues only a new
    // access token, and the refresh token still works afterwards.
    let fx = fapi_fixture().await;
    let key = DpopKey::es256();
    let tokens = code_flow_tokens(&fx, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut access = vec![tokens["access_token"].as_str().unwrap().to_owned()];
    for jti in ["r1", "r2"] {
        let resp = token_as_pk(
            &fx,
            jti,
            Some(&key),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        let v = json_of(&resp);
        assert!(
            v.get("refresh_token").is_none(),
            "no new refresh token: {v}"
        );
        access.push(v["access_token"].as_str().unwrap().to_owned());
    }
    access.dedup();
    assert_eq!(access.len(), 3, "three distinct access tokens");
    // Revoking the refresh token ends the grant: it no longer refreshes.
    let resp = post_as_pk(&fx, "/revoke", "rv", None, &[("token", &refresh)]).await;
    assert_eq!(resp.status(), 200);
    let resp = token_as_pk(
        &fx,
        "r3",
        Some(&key),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json_of(&resp)["error"], "invalid_grant");
}

#[tokio::test]
async fn metadata_lists_only_what_the_profile_allows() {
    let fx = fapi_fixture().await;
    let resp = fx
        .server
        .handle(
            &Request::new(Method::Get),
            "/.well-known/oauth-authorization-server",
        )
        .await;
    let m = json_of(&resp);
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert_eq!(
        m["token_endpoint_auth_signing_alg_values_supported"],
        json!(["PS256", "ES256", "EdDSA"])
    );
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["require_pushed_authorization_requests"], true);
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert!(m["pushed_authorization_request_endpoint"].is_string());
    assert!(
        !m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("password"))
    );
}

#[tokio::test]
async fn every_access_token_is_sender_constrained() {
    // §5.3.2.1-4, -5: a token request without a DPoP proof is refused,
    // even from a client not registered with `dpop_bound_access_tokens`;
    // with one, the token is bound (`token_type` DPoP, `cnf.jkt` in
    // introspection).
    let fx = fapi_fixture().await;
    let key = DpopKey::es256();
    let bare = token_as_pk(
        &fx,
        "bare",
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", "any")],
    )
    .await;
    assert_eq!(bare.status(), 400);
    assert_eq!(json_of(&bare)["error"], "invalid_dpop_proof");
    let tokens = code_flow_tokens(&fx, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let intro = post_as_pk(
        &fx,
        "/introspect",
        "intro",
        None,
        &[("token", tokens["access_token"].as_str().unwrap())],
    )
    .await;
    let intro = json_of(&intro);
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["token_type"], "DPoP");
    assert_eq!(intro["cnf"]["jkt"], key.thumbprint());
    // The metadata offers exactly the profile's proof algorithms.
    let m = fx
        .server
        .handle(
            &Request::new(Method::Get),
            "/.well-known/oauth-authorization-server",
        )
        .await;
    assert_eq!(
        json_of(&m)["dpop_signing_alg_values_supported"],
        json!(["PS256", "ES256", "EdDSA"])
    );
}
