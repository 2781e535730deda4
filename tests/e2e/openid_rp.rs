//! A real OpenID Connect relying party against the demo on every host: the
//! `openidconnect` crate discovers the demo from
//! `/.well-known/openid-configuration`, runs the code flow with a `nonce`
//! and PKCE for the seed's `oidc-rp` (the browser's part, login and consent,
//! is the cookie-keeping `Session`), and validates the ID Token itself:
//! signature through the JWKS, `nonce`, `at_hash`, `aud`, `exp`. Then
//! UserInfo through the library, a refresh and its new ID Token, `prompt`
//! and `max_age` with and without the login session, an ES256 client and
//! the seed's pairwise client.
// issue 16

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use serde_json::{Value, json};

use crate::harness::{Framework, Server, Session};
use crate::seed_v2;

const REDIRECT: &str = "http://127.0.0.1:8765/oidc-callback";
const RP_SECRET: &str = "rp secret: 100% ~/+";
const PAIRWISE_REDIRECT: &str = "http://127.0.0.1:8765/pairwise-callback";
const PAIRWISE_SECRET: &str = "pairwise secret";

/// The seed of contract v2, plus an RP whose ID Tokens are ES256.
fn seed(base: &str) -> Value {
    let mut seed = seed_v2::seed(base);
    let clients = seed["clients"].as_array_mut().unwrap();
    let mut es = clients
        .iter()
        .find(|c| c["client_id"] == "oidc-rp")
        .unwrap()
        .clone();
    es["client_id"] = json!("oidc-es256");
    es["id_token_signed_response_alg"] = json!("ES256");
    clients.push(es);
    seed
}

/// The RP's HTTP client: no redirects followed (the library's advice
/// against SSRF).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

type Rp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The relying party `client_id`, configured from the demo's discovery
/// document alone.
async fn rp(server: &Server, client_id: &str, secret: &str, redirect: &str) -> Rp {
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http())
        .await
        .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap())
}

/// One authorization request as the RP makes it.
struct Request {
    url: url::Url,
    state: CsrfToken,
    nonce: Nonce,
    verifier: openidconnect::PkceCodeVerifier,
}

fn request(rp: &Rp, scopes: &str, prompt: Option<CoreAuthPrompt>, max_age: Option<u64>) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes.split(' ').filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.into()));
    }
    if let Some(p) = prompt {
        req = req.add_prompt(p);
    }
    if let Some(secs) = max_age {
        req = req.set_max_age(std::time::Duration::from_secs(secs));
    }
    let (url, state, nonce) = req.url();
    Request {
        url,
        state,
        nonce,
        verifier,
    }
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The code of a callback, after checking `state` and `iss` (RFC 9207).
fn code_of(server: &Server, callback: &url::Url, req: &Request) -> AuthorizationCode {
    assert_eq!(param(callback, "error"), None, "{callback}");
    assert_eq!(
        param(callback, "state").as_deref(),
        Some(req.state.secret().as_str())
    );
    assert_eq!(
        param(callback, "iss").as_deref(),
        Some(server.base.as_str())
    );
    AuthorizationCode::new(param(callback, "code").expect("a code"))
}

/// Redeems the code; the library validates the ID Token (signature through
/// the JWKS, `iss`, `aud`, `exp`, the `nonce`) and `at_hash` is checked with
/// the library's own hash of the access token.
async fn redeem(
    rp: &Rp,
    code: AuthorizationCode,
    req: Request,
    alg: CoreJwsSigningAlgorithm,
) -> (CoreTokenResponse, CoreIdTokenClaims) {
    let token = rp
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(req.verifier)
        .request_async(&http())
        .await
        .expect("the token request");
    let claims = validate(rp, &token, alg, Some(&req.nonce));
    (token, claims)
}

/// The library's validation of the response's ID Token: with `nonce` it
/// must carry exactly that one, without it none.
fn validate(
    rp: &Rp,
    token: &CoreTokenResponse,
    alg: CoreJwsSigningAlgorithm,
    nonce: Option<&Nonce>,
) -> CoreIdTokenClaims {
    let id_token = token.id_token().expect("an ID Token");
    let verifier = rp.id_token_verifier().set_allowed_algs([alg.clone()]);
    let claims = match nonce {
        Some(n) => id_token.claims(&verifier, n),
        None => id_token.claims(&verifier, |sent: Option<&Nonce>| match sent {
            None => Ok(()),
            Some(_) => Err("a refreshed ID Token carries no nonce".to_owned()),
        }),
    }
    .expect("the ID Token validates")
    .clone();
    assert_eq!(id_token.signing_alg().unwrap(), &alg);
    let at_hash = AccessTokenHash::from_token(
        token.access_token(),
        &alg,
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash");
    assert_eq!(claims.audiences().len(), 1);
    claims
}

/// The code flow through the browser: login and consent on a fresh
/// session, or straight back with an existing one.
async fn code_flow(
    server: &Server,
    session: &Session,
    rp: &Rp,
    scopes: &str,
    alg: CoreJwsSigningAlgorithm,
    fresh: bool,
) -> (CoreTokenResponse, CoreIdTokenClaims) {
    let req = request(rp, scopes, None, None);
    let callback = session.browse_to_callback(req.url.as_str(), fresh).await;
    let code = code_of(server, &callback, &req);
    redeem(rp, code, req, alg).await
}

async fn relying_party_signs_in_refreshes_and_reads_userinfo(framework: Framework) {
    // covers: OI-01, OI-02, OI-05, OI-06, OI-07, OI-10
    let server = Server::start_seeded(framework, seed, &[]).await;
    let rp = rp(&server, "oidc-rp", RP_SECRET, REDIRECT).await;
    let session = Session::new(&server);
    let before = {
        use portcullis::Clock as _;
        portcullis::SystemClock.now().as_secs()
    };
    let (token, claims) = code_flow(
        &server,
        &session,
        &rp,
        "openid profile email",
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        true,
    )
    .await;
    assert_eq!(claims.issuer().as_str(), server.base);
    assert_eq!(claims.audiences()[0].as_str(), "oidc-rp");
    // alice's seeded `sub` (issue 16, seed contract).
    assert_eq!(claims.subject().as_str(), "248289761001");
    let auth_time = claims.auth_time().expect("auth_time");
    assert!(auth_time.timestamp() >= i64::try_from(before).unwrap() - 1);

    // UserInfo through the library, which checks its `sub` is the ID
    // Token's.
    let info: CoreUserInfoClaims = rp
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http())
        .await
        .expect("UserInfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice Adams")
    );

    // A refresh: a new ID Token, same sub, the original auth_time, no nonce.
    let refreshed = rp
        .exchange_refresh_token(token.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http())
        .await
        .expect("the refresh");
    let again = validate(
        &rp,
        &refreshed,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
    );
    assert_eq!(again.subject(), claims.subject());
    assert_eq!(again.auth_time(), Some(auth_time));
    assert_ne!(
        refreshed.access_token().secret(),
        token.access_token().secret()
    );

    // prompt=none without a session: login_required, with state and iss.
    let req = request(&rp, "openid", Some(CoreAuthPrompt::None), None);
    let page = Session::new(&server).get(req.url.as_str()).await;
    assert_eq!(page.status, 302, "no page: {}", page.body);
    let callback = url::Url::parse(&page.location.unwrap()).unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    assert_eq!(param(&callback, "error").as_deref(), Some("login_required"));
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(req.state.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(server.base.as_str())
    );
    assert_eq!(param(&callback, "code"), None);

    // prompt=none with the session: a code without any page, and an ID
    // Token of the same login.
    let req = request(
        &rp,
        "openid profile email",
        Some(CoreAuthPrompt::None),
        None,
    );
    let page = session.get(req.url.as_str()).await;
    assert_eq!(page.status, 302, "no page: {}", page.body);
    let callback = url::Url::parse(&page.location.unwrap()).unwrap();
    let code = code_of(&server, &callback, &req);
    let (_, silent) = redeem(
        &rp,
        code,
        req,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
    assert_eq!(silent.subject(), claims.subject());
    assert_eq!(silent.auth_time(), Some(auth_time));

    // max_age=0 and prompt=login with the session: the login page again,
    // at once. A session the request meets never satisfies them, even a
    // login of the request's own second (times are whole seconds); only
    // the login made at the login step does.
    for req in [
        request(&rp, "openid", None, Some(0)),
        request(&rp, "openid", Some(CoreAuthPrompt::Login), None),
    ] {
        let page = session.get(req.url.as_str()).await;
        assert_eq!(page.status, 200, "{:?}", page.location);
        assert!(
            page.body.contains("type=\"password\""),
            "the login form: {}",
            page.body
        );
    }

    // An RP whose ID Tokens are ES256, in the same session.
    let es = self::rp(&server, "oidc-es256", RP_SECRET, REDIRECT).await;
    let (_, es_claims) = code_flow(
        &server,
        &session,
        &es,
        "openid",
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        false,
    )
    .await;
    assert_eq!(es_claims.subject(), claims.subject());
    assert_eq!(es_claims.audiences()[0].as_str(), "oidc-es256");
}

async fn pairwise_rp_sees_its_own_subject(framework: Framework) {
    // covers: OI-04
    let server = Server::start_seeded(framework, seed, &[]).await;
    let rp = rp(&server, "pairwise-rp", PAIRWISE_SECRET, PAIRWISE_REDIRECT)
        .await
        .set_auth_type(AuthType::RequestBody);
    let session = Session::new(&server);
    let (token, claims) = code_flow(
        &server,
        &session,
        &rp,
        "openid profile",
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        true,
    )
    .await;
    let sub = claims.subject().clone();
    assert!(
        !["alice", "248289761001"].contains(&sub.as_str()),
        "pairwise, not the public sub: {}",
        sub.as_str()
    );
    // UserInfo's sub is the ID Token's (the library checks it).
    let info: CoreUserInfoClaims = rp
        .user_info(token.access_token().clone(), Some(sub.clone()))
        .unwrap()
        .request_async(&http())
        .await
        .expect("UserInfo with the pairwise sub");
    assert_eq!(info.subject(), &sub);
    // Stable: a second sign-in gives the same sub.
    let (_, again) = code_flow(
        &server,
        &session,
        &rp,
        "openid profile",
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        false,
    )
    .await;
    assert_eq!(again.subject(), &sub);
}

#[tokio::test]
async fn axum() {
    relying_party_signs_in_refreshes_and_reads_userinfo(Framework::Axum).await;
}

#[tokio::test]
async fn axum_pairwise() {
    pairwise_rp_sees_its_own_subject(Framework::Axum).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn actix() {
    relying_party_signs_in_refreshes_and_reads_userinfo(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper() {
    relying_party_signs_in_refreshes_and_reads_userinfo(Framework::Hyper).await;
}

#[tokio::test]
async fn tower() {
    relying_party_signs_in_refreshes_and_reads_userinfo(Framework::Tower).await;
}
