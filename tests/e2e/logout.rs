//! RP-Initiated Logout and Back-Channel Logout against the demo on every
//! host (issue 16): alice logs in through the code flow of the seed's
//! `oidc-rp`, the client sends her to the end-session endpoint with its
//! registered post-logout URI and `state` (and the ID Token as
//! `id_token_hint` when the token endpoint returned one; without one the
//! demo asks her to confirm, and she does), she lands on that URI with
//! `state`, her session is gone, and a Logout Token reaches the client's
//! `backchannel_logout_uri` (a small listener here, given in a test seed),
//! where it verifies through the demo's JWKS with an independent library.
//!
//! `relying_party`: the same with a real relying-party library on the
//! client side (`openidconnect`: discovery, the code flow, its own logout
//! request), then what the logout revoked (Back-Channel Logout 1.0 §2.7)
//! and a second logout with an older ID Token, confirmed on the demo's
//! page.

use std::time::Duration;

use oauth2::PkceCodeChallenge;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{self, Framework, Server, Session};
use crate::seed_v2::seed;

const REDIRECT: &str = "http://127.0.0.1:8765/oidc-callback";
const LOGGED_OUT: &str = "http://127.0.0.1:8765/logged-out";
const RP_SECRET: &str = "rp secret: 100% ~/+";

/// An HTTP listener standing in for the client's back-channel logout
/// endpoint: answers 200 to each request and hands over its head and body,
/// in order.
pub(crate) async fn backchannel_listener() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "http://{}/backchannel-logout",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body_start) = loop {
                let n = conn.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed before the request's end");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (String::from_utf8(buf[..i].to_vec()).unwrap(), i + 4);
                }
            };
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            while buf.len() < body_start + len {
                let n = conn.read(&mut chunk).await.unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            if tx
                .send((head, buf[body_start..body_start + len].to_vec()))
                .is_err()
            {
                return;
            }
        }
    });
    (uri, rx)
}

/// The next Logout Token delivered to the listener, within 10 s: checks
/// the request's shape and returns the token.
async fn next_delivery(
    delivered: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> String {
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), delivered.recv())
        .await
        .expect("a back-channel delivery within 10 s")
        .expect("the listener runs");
    assert!(
        head.starts_with("POST /backchannel-logout HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].0, "logout_token");
    form[0].1.clone()
}

/// Alice's code for `oidc-rp` through the demo's pages, redeemed: the token
/// response.
async fn log_in(server: &Server, session: &Session) -> Value {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "oidc-rp")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair("state", "s1")
        .append_pair("nonce", "n1")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256")
        .finish();
    let callback = session
        .browse_to_callback(&format!("{}/authorize?{query}", server.base), true)
        .await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let secret: String = url::form_urlencoded::byte_serialize(RP_SECRET.as_bytes()).collect();
    let resp = harness::http_client()
        .post(format!("{}/token", server.base))
        .basic_auth("oidc-rp", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_str(&resp.text().await.unwrap()).unwrap()
}

/// The value of the hidden input `name` of a page.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).expect(name) + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

/// Verifies a Logout Token through the demo's JWKS with `jsonwebtoken`.
async fn verify(server: &Server, token: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let body = harness::http_client()
        .get(format!("{}/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&body).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&["oidc-rp"]);
    v.set_issuer(&[&server.base]);
    v.required_spec_claims = ["exp", "iat", "iss", "aud"]
        .map(String::from)
        .into_iter()
        .collect();
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).unwrap();
    (header, data.claims)
}

async fn logout_with_state_and_backchannel(framework: Framework, method: reqwest::Method) {
    // covers: LO-01, LO-02
    let (backchannel, mut delivered) = backchannel_listener().await;
    let server = Server::start_seeded(
        framework,
        |base| {
            let mut s = seed(base);
            for c in s["clients"].as_array_mut().unwrap() {
                if c["client_id"] == "oidc-rp" {
                    c["backchannel_logout_uri"] = json!(backchannel);
                }
            }
            s
        },
        &[],
    )
    .await;
    let session = Session::new(&server);
    let tokens = log_in(&server, &session).await;
    let hint = tokens["id_token"].as_str().map(str::to_owned);
    let mut params = vec![
        ("client_id", "oidc-rp".to_owned()),
        ("post_logout_redirect_uri", LOGGED_OUT.to_owned()),
        ("state", "bye 1".to_owned()),
    ];
    if let Some(h) = &hint {
        params.push(("id_token_hint", h.clone()));
    }
    let url = format!("{}/end_session", server.base);
    let page = if method == reqwest::Method::GET {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        session.get(&format!("{url}?{q}")).await
    } else {
        let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        session.post("/end_session", &form).await
    };
    let landed = if hint.is_some() {
        // The hint names alice's session: no question asked.
        page
    } else {
        // client_id only (no ID Token from the token endpoint): confirm.
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Log out") && page.body.contains("Cancel"));
        assert!(page.body.contains("OpenID relying party"));
        let (csrf, resume) = (hidden(&page.body, "csrf"), hidden(&page.body, "resume"));
        let done = session
            .post(
                "/logout",
                &[("csrf", &csrf), ("resume", &resume), ("decision", "logout")],
            )
            .await;
        // The form works once.
        let again = session
            .post(
                "/logout",
                &[("csrf", &csrf), ("resume", &resume), ("decision", "logout")],
            )
            .await;
        assert_eq!(again.status, 403, "the session is gone with its CSRF token");
        done
    };
    assert_eq!(landed.status, 302, "{}", landed.body);
    assert_eq!(
        landed.location.as_deref(),
        Some("http://127.0.0.1:8765/logged-out?state=bye+1")
    );
    // The session is over: a new authorization asks for a login.
    let again = session
        .get(&format!(
            "{}/authorize?response_type=code&client_id=oidc-rp&scope=openid&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            server.base,
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("type=\"password\""), "the login page");
    // The Logout Token reached the client's back-channel URI.
    let token = next_delivery(&mut delivered).await;
    let (header, claims) = verify(&server, &token).await;
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "the client's alg"
    );
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["sub"], "248289761001", "alice's seeded subject");
    assert!(claims["sid"].as_str().is_some_and(|s| s.len() >= 32));
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims.get("nonce").is_none());
    if let Some(h) = &hint {
        // The ID Token's sid is the Logout Token's.
        let (_, id_claims) = {
            let payload = h.split('.').nth(1).unwrap();
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap();
            ((), serde_json::from_slice::<Value>(&bytes).unwrap())
        };
        if let Some(sid) = id_claims.get("sid") {
            assert_eq!(sid, &claims["sid"]);
        }
    }
    let (clean, _) = server.terminate();
    assert!(clean);
}

#[tokio::test]
async fn axum() {
    logout_with_state_and_backchannel(Framework::Axum, reqwest::Method::GET).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn actix() {
    logout_with_state_and_backchannel(Framework::Actix, reqwest::Method::POST).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper() {
    logout_with_state_and_backchannel(Framework::Hyper, reqwest::Method::GET).await;
}

#[tokio::test]
async fn tower() {
    logout_with_state_and_backchannel(Framework::Tower, reqwest::Method::POST).await;
}

/// Cancel on the confirmation page: the session stays, nobody is
/// redirected, no Logout Token is built; an unregistered post-logout URI
/// and a foreign hint are refused as the contract says.
#[tokio::test]
async fn cancel_keeps_the_session_and_bad_requests_are_pages() {
    // covers: LO-01
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let session = Session::new(&server);
    log_in(&server, &session).await;
    let page = session
        .get(&format!(
            "{}/end_session?client_id=oidc-rp&post_logout_redirect_uri={}&state=x",
            server.base,
            url::form_urlencoded::byte_serialize(b"http://127.0.0.1:8765/logged-out?x=1")
                .collect::<String>()
        ))
        .await;
    assert_eq!(page.status, 200);
    let (csrf, resume) = (hidden(&page.body, "csrf"), hidden(&page.body, "resume"));
    let cancelled = session
        .post(
            "/logout",
            &[("csrf", &csrf), ("resume", &resume), ("decision", "cancel")],
        )
        .await;
    assert_eq!(cancelled.status, 200);
    assert!(cancelled.location.is_none());
    assert!(cancelled.body.contains("still signed in"));
    // Still signed in: the authorization goes on without a login page
    // (consent is remembered, so straight back to the client).
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "oidc-rp")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .finish();
    let again = session.get(&format!("{}/authorize?{q}", server.base)).await;
    assert!(!again.body.contains("type=\"password\""), "no login page");
    // A hint that is no ID Token of ours: an error page, never a redirect.
    let bad = session
        .get(&format!(
            "{}/end_session?id_token_hint=e30.e30.x&post_logout_redirect_uri={}&state=x",
            server.base,
            url::form_urlencoded::byte_serialize(LOGGED_OUT.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.location.is_none());
    let (clean, _) = server.terminate();
    assert!(clean);
}

/// RP-Initiated Logout driven by a real relying-party library: the
/// `openidconnect` crate discovers the demo (`end_session_endpoint`
/// included, `ProviderMetadataWithLogout`), signs alice in through the code
/// flow and validates the ID Tokens itself, then builds the logout request
/// with its own `LogoutRequest` (`id_token_hint`, `post_logout_redirect_uri`,
/// `state`).
mod relying_party {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreTokenResponse,
        CoreUserInfoClaims,
    };
    use openidconnect::{
        ClientId, ClientSecret, CsrfToken, EndSessionUrl, IssuerUrl, LogoutRequest, Nonce,
        OAuth2TokenResponse as _, PkceCodeChallenge, PostLogoutRedirectUrl,
        ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse as _,
    };
    use serde_json::{Value, json};

    use super::{
        LOGGED_OUT, REDIRECT, RP_SECRET, backchannel_listener, hidden, next_delivery, verify,
    };
    use crate::harness::{ALICE_PASSWORD, Framework, Page, Server, Session};
    use crate::seed_v2::seed;

    type Rp = CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >;

    /// The RP's HTTP client: no redirects followed.
    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// `oidc-rp`, configured from the demo's discovery document alone, and
    /// the end-session endpoint the library read there.
    async fn rp(server: &Server) -> (Rp, EndSessionUrl) {
        let issuer = IssuerUrl::new(server.base.clone()).unwrap();
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http())
            .await
            .expect("discovery");
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .expect("end_session_endpoint in the discovery document");
        let rp = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new("oidc-rp".into()),
            Some(ClientSecret::new(RP_SECRET.into())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
        (rp, end_session)
    }

    fn param(url: &url::Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The code flow with `scopes` through the browser (`fresh`: a login
    /// first); the library checks `state` here and validates the ID Token
    /// (signature through the JWKS, `iss`, `aud`, `exp`, `nonce`).
    async fn sign_in(
        session: &Session,
        rp: &Rp,
        scopes: &[&str],
        fresh: bool,
    ) -> (CoreTokenResponse, CoreIdTokenClaims) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes {
            req = req.add_scope(Scope::new((*s).into()));
        }
        let (url, state, nonce) = req.url();
        let page = if fresh {
            log_in_like_a_browser(session, url.as_str()).await
        } else {
            session.get(url.as_str()).await
        };
        let callback = if page.status == 302 {
            url::Url::parse(&page.location.unwrap()).unwrap()
        } else {
            session.decide(&page, "allow").await
        };
        assert_eq!(
            param(&callback, "state").as_deref(),
            Some(state.secret().as_str())
        );
        let code = openidconnect::AuthorizationCode::new(param(&callback, "code").expect("a code"));
        let token = rp
            .exchange_code(code)
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .expect("the token request");
        let claims = token
            .id_token()
            .expect("an ID Token")
            .claims(&rp.id_token_verifier(), &nonce)
            .expect("the ID Token validates")
            .clone();
        (token, claims)
    }

    /// Submits the login page at `url` as a browser does: every field of
    /// its form (the hidden `client_id` too, by which a failed attempt
    /// names the client again), with alice's credentials. The consent page
    /// or the redirect.
    async fn log_in_like_a_browser(session: &Session, url: &str) -> Page {
        let page = session.get(url).await;
        assert_eq!(page.status, 200, "the login page: {}", page.body);
        let fields = ["csrf", "resume", "client_id"].map(|f| hidden(&page.body, f));
        let [csrf, resume, client_id] = &fields;
        session
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("resume", resume),
                    ("client_id", client_id),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                ],
            )
            .await
    }

    /// The `sid` of an ID Token the library validated (a claim it does not
    /// model): read from its payload.
    fn sid(id_token: &CoreIdToken) -> String {
        use base64::Engine as _;
        let text = id_token.to_string();
        let payload = text.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let claims: Value = serde_json::from_slice(&bytes).unwrap();
        claims["sid"].as_str().expect("a sid").to_owned()
    }

    /// The logout request as the library builds it.
    fn logout_url(end_session: &EndSessionUrl, hint: &CoreIdToken, state: &CsrfToken) -> String {
        LogoutRequest::from(end_session.clone())
            .set_id_token_hint(hint)
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(LOGGED_OUT.into()).unwrap())
            .set_state(state.clone())
            .http_get_url()
            .to_string()
    }

    /// Where a logout sent the browser: the registered URI with our `state`.
    fn assert_back_with_state(page: &Page, state: &CsrfToken) {
        assert_eq!(page.status, 302, "{}", page.body);
        let to = url::Url::parse(page.location.as_deref().unwrap()).unwrap();
        assert_eq!(&to[..url::Position::AfterPath], LOGGED_OUT);
        assert_eq!(
            param(&to, "state").as_deref(),
            Some(state.secret().as_str())
        );
    }

    async fn openidconnect_rp_logs_out(framework: Framework) {
        // covers: LO-01, LO-02
        // issue 16
        let (backchannel, mut delivered) = backchannel_listener().await;
        let server = Server::start_seeded(
            framework,
            |base| {
                let mut s = seed(base);
                for c in s["clients"].as_array_mut().unwrap() {
                    if c["client_id"] == "oidc-rp" {
                        c["backchannel_logout_uri"] = json!(backchannel);
                        c["scope"] = json!("openid profile offline_access");
                    }
                }
                s
            },
            &[],
        )
        .await;
        let (rp, end_session) = rp(&server).await;
        let session = Session::new(&server);
        let (online, claims) = sign_in(&session, &rp, &["profile"], true).await;
        assert_eq!(claims.subject().as_str(), "248289761001");
        let (offline, _) = sign_in(&session, &rp, &["offline_access"], false).await;
        let hint = online.id_token().unwrap().clone();
        let sid_1 = sid(&hint);

        // The hint names alice's session: no question asked, straight back
        // to the registered URI with the state the library sent.
        let state = CsrfToken::new_random();
        let page = session.get(&logout_url(&end_session, &hint, &state)).await;
        assert_back_with_state(&page, &state);
        // The Logout Token, verified by an independent library through the
        // JWKS, names the session of the ID Token.
        let (header, token) = verify(&server, &next_delivery(&mut delivered).await).await;
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
        assert_eq!(token["sid"], sid_1.as_str());
        assert_eq!(token["sub"], "248289761001");
        assert_eq!(
            token["events"],
            json!({"http://schemas.openid.net/event/backchannel-logout": {}})
        );
        // The session's tokens are revoked (Back-Channel Logout 1.0 §2.7):
        // UserInfo refuses both access tokens, the refresh token without
        // offline_access is refused, the one with it still works.
        for t in [&online, &offline] {
            let refused: Result<CoreUserInfoClaims, _> = rp
                .user_info(t.access_token().clone(), None)
                .unwrap()
                .request_async(&http())
                .await;
            assert!(refused.is_err(), "UserInfo after the logout");
        }
        let refused = rp
            .exchange_refresh_token(online.refresh_token().expect("a refresh token"))
            .unwrap()
            .request_async(&http())
            .await;
        assert!(
            refused.is_err(),
            "the online refresh token after the logout"
        );
        let refreshed = rp
            .exchange_refresh_token(offline.refresh_token().expect("a refresh token"))
            .unwrap()
            .request_async(&http())
            .await
            .expect("the offline_access refresh token outlives the session");
        let _: CoreUserInfoClaims = rp
            .user_info(refreshed.access_token().clone(), None)
            .unwrap()
            .request_async(&http())
            .await
            .expect("UserInfo with the refreshed access token");

        // A new login, and a logout with the old session's ID Token: the
        // hint names another session, so the demo asks; alice confirms on
        // its page and lands on the registered URI with the state.
        let (second, _) = sign_in(&session, &rp, &["profile"], true).await;
        let sid_2 = sid(second.id_token().unwrap());
        assert_ne!(sid_1, sid_2);
        let state = CsrfToken::new_random();
        let page = session.get(&logout_url(&end_session, &hint, &state)).await;
        assert_eq!(page.status, 200, "the confirmation page: {}", page.body);
        assert!(page.body.contains("Log out") && page.body.contains("Cancel"));
        let (csrf, resume) = (hidden(&page.body, "csrf"), hidden(&page.body, "resume"));
        let landed = session
            .post(
                "/logout",
                &[("csrf", &csrf), ("resume", &resume), ("decision", "logout")],
            )
            .await;
        assert_back_with_state(&landed, &state);
        let (_, token) = verify(&server, &next_delivery(&mut delivered).await).await;
        assert_eq!(token["sid"], sid_2.as_str(), "the session that ended");
        let refused: Result<CoreUserInfoClaims, _> = rp
            .user_info(second.access_token().clone(), None)
            .unwrap()
            .request_async(&http())
            .await;
        assert!(refused.is_err(), "UserInfo after the second logout");
        let (clean, _) = server.terminate();
        assert!(clean);
    }

    #[tokio::test]
    async fn axum() {
        openidconnect_rp_logs_out(Framework::Axum).await;
    }

    #[cfg(feature = "actix-web")]
    #[tokio::test]
    async fn actix() {
        openidconnect_rp_logs_out(Framework::Actix).await;
    }

    #[cfg(feature = "hyper")]
    #[tokio::test]
    async fn hyper() {
        openidconnect_rp_logs_out(Framework::Hyper).await;
    }

    #[tokio::test]
    async fn tower() {
        openidconnect_rp_logs_out(Framework::Tower).await;
    }
}
