//! UserInfo against the demo on every host: a token from the demo's code
//! flow (the seed's `oidc-rp`, scope `openid profile email`) reads alice's
//! seeded claims, by GET with the header and by POST with the form body,
//! with her seeded `sub` as the subject (bob, seeded without one, has his
//! username); the route answers the RFC 6750 challenges through each
//! adapter.
// issue 16

use oauth2::PkceCodeChallenge;
use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, Framework, Server, Session};
use crate::seed_v2::seed;

const REDIRECT: &str = "http://127.0.0.1:8765/oidc-callback";
const RP_SECRET: &str = "rp secret: 100% ~/+";

/// An access token for `user`, through the demo's login and consent pages.
async fn token_of(server: &Server, scope: &str, user: &str, password: &str) -> String {
    token_with(server, scope, None, user, password).await
}

/// Like [`token_of`], the authorization request carrying a `claims`
/// parameter when one is given.
async fn token_with(
    server: &Server,
    scope: &str,
    claims: Option<&Value>,
    user: &str,
    password: &str,
) -> String {
    let session = Session::new(server);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", "oidc-rp")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "s1")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    if let Some(claims) = claims {
        query.append_pair("claims", &claims.to_string());
    }
    let query = query.finish();
    let login = session
        .get(&format!("{}/authorize?{query}", server.base))
        .await;
    let consent = session.submit_login(&login.body, user, password).await;
    let callback = session.decide(&consent, "allow").await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let resp = harness::http_client()
        .post(format!("{}/token", server.base))
        .basic_auth("oidc-rp", Some(url_encoded(RP_SECRET)))
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
    let body = json_of(resp).await;
    body["access_token"].as_str().unwrap().to_owned()
}

async fn json_of(resp: reqwest::Response) -> Value {
    serde_json::from_str(&resp.text().await.unwrap()).unwrap()
}

/// RFC 6749 §2.3.1: the secret is form-encoded before Basic.
fn url_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn userinfo_reads_alices_seeded_claims(framework: Framework) {
    // covers: OI-05, OI-11
    // issue 16 (seed contract: a seeded `sub` is the user's subject)
    let server = Server::start_seeded(framework, seed, &[]).await;
    let http = harness::http_client();
    let url = format!("{}/userinfo", server.base);
    let token = token_of(&server, "openid profile email", "alice", ALICE_PASSWORD).await;
    // Exactly the profile and email claims alice has, unchanged; `sub` her
    // seeded one, not her username.
    let expected = json!({
        "sub": "248289761001",
        "name": "Alice Adams", "given_name": "Alice", "family_name": "Adams",
        "preferred_username": "alice", "locale": "en-US", "updated_at": 1_767_225_600,
        "email": "alice@example.com", "email_verified": true
    });

    let resp = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(json_of(resp).await, expected);

    let resp = http
        .post(&url)
        .form(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await, expected);

    // bob has no claims and no seeded `sub`: his subject is his username.
    let bobs = token_of(&server, "openid profile", "bob", "bob's password").await;
    let resp = http.get(&url).bearer_auth(&bobs).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await, json!({"sub": "bob"}));

    // No token: the bare challenge; both ways at once: invalid_request.
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"oauth\"");
    let resp = http
        .post(&url)
        .bearer_auth(&token)
        .form(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // A method UserInfo does not answer.
    let resp = http.delete(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn axum() {
    userinfo_reads_alices_seeded_claims(Framework::Axum).await;
}

#[tokio::test]
async fn the_demo_releases_no_claim_outside_the_standard_ones() {
    // covers: OI-09, OI-11
    // issue 16 (review finding: the core hands claims outside Core 5.4 to
    // the host to decide; the demo's seed holds standard claims only, so it
    // answers with nothing else, even when a `claims` request names one)
    let server = Server::start_seeded(
        Framework::Axum,
        |base| {
            let mut s = seed(base);
            let users = s["users"].as_array_mut().unwrap();
            let alice = users.iter_mut().find(|u| u["username"] == "alice").unwrap();
            alice["claims"]["groups"] = json!(["admins"]);
            s
        },
        &[],
    )
    .await;
    let claims = json!({"userinfo": {"groups": {"essential": true}, "email": null}});
    let token = token_with(&server, "openid", Some(&claims), "alice", ALICE_PASSWORD).await;
    let resp = harness::http_client()
        .get(format!("{}/userinfo", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // `email`, named and consented on the consent page, comes; `groups`
    // never does.
    assert_eq!(
        json_of(resp).await,
        json!({"sub": "248289761001", "email": "alice@example.com"})
    );
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn actix() {
    userinfo_reads_alices_seeded_claims(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper() {
    userinfo_reads_alices_seeded_claims(Framework::Hyper).await;
}

#[tokio::test]
async fn tower() {
    userinfo_reads_alices_seeded_claims(Framework::Tower).await;
}
