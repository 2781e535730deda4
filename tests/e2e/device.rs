//! The device authorization grant (RFC 8628) end to end, on every host: a
//! real client library, the `oauth2` crate's device flow, asks for codes
//! and polls the token endpoint while a cookie-keeping browser goes
//! through the demo's verification page (seed contract: `verification_uri`
//! shows a form with one visible text input, `verification_uri_complete`
//! leads straight to login and consent).

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, Framework, Page, Server, Session, hidden};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The seed contract's `device-tv` client and alice.
fn seed(base: &str) -> Value {
    json!({
        "issuer": base,
        "clients": [
            {"client_id": "device-tv", "client_name": "Living Room TV",
             "token_endpoint_auth_method": "none", "redirect_uris": [], "response_types": [],
             "grant_types": [DEVICE_GRANT, "refresh_token"], "scope": "read write"}
        ],
        "users": [{"username": "alice", "password": ALICE_PASSWORD}]
    })
}

async fn metadata(server: &Server) -> Value {
    let body = harness::http_client()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

type DeviceClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// The `oauth2` client of `device-tv`, its endpoints read from the
/// server's metadata (the feature switch of the seed contract).
async fn device_client(server: &Server) -> DeviceClient {
    let m = metadata(server).await;
    assert!(
        m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT)),
        "{m}"
    );
    BasicClient::new(ClientId::new("device-tv".into()))
        .set_token_uri(TokenUrl::new(m["token_endpoint"].as_str().unwrap().into()).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(
                m["device_authorization_endpoint"].as_str().unwrap().into(),
            )
            .unwrap(),
        )
}

/// Asks for codes, and polls in the background as the device would.
async fn start_device(
    client: &DeviceClient,
) -> (
    StandardDeviceAuthorizationResponse,
    tokio::task::JoinHandle<Result<oauth2::basic::BasicTokenResponse, String>>,
) {
    let http = harness::http_client();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    let (client, polled) = (client.clone(), details.clone());
    let poll = tokio::spawn(async move {
        client
            .exchange_device_access_token(&polled)
            .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => r.error().to_string(),
                other => format!("{other:?}"),
            })
    });
    (details, poll)
}

/// Signs in as alice on this (device) login page.
async fn sign_in(browser: &Session, login: &Page) -> Page {
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains("type=\"password\""), "{}", login.body);
    browser
        .post(
            "/device/login",
            &[
                ("csrf", &hidden(&login.body, "csrf")),
                ("user_code", &hidden(&login.body, "user_code")),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await
}

/// Chooses on the device consent page; returns the page after it.
async fn decide(browser: &Session, consent: &Page, decision: &str) -> Page {
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("Living Room TV"), "{}", consent.body);
    assert!(
        consent.body.contains("Allow") && consent.body.contains("Deny"),
        "{}",
        consent.body
    );
    browser
        .post(
            "/device/consent",
            &[
                ("csrf", &hidden(&consent.body, "csrf")),
                ("resume", &hidden(&consent.body, "resume")),
                ("decision", decision),
            ],
        )
        .await
}

/// The user types the code at `verification_uri`; the device gets tokens
/// exactly once, and they work at the protected route.
async fn the_device_flow_through_the_verification_page(framework: Framework) {
    // covers: DV-01, DV-02, DV-03
    let server = Server::start_seeded(framework, seed, &["--device-interval", "1"]).await;
    let client = device_client(&server).await;
    let (details, poll) = start_device(&client).await;
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/device", server.base)
    );
    assert_eq!(details.interval(), Duration::from_secs(1));
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "{user_code}");

    let browser = Session::new(&server);
    let form = browser.get(details.verification_uri().as_str()).await;
    assert_eq!(form.status, 200, "{}", form.body);
    // One visible text input, for the code.
    assert_eq!(
        form.body.matches("type=\"text\"").count(),
        1,
        "{}",
        form.body
    );
    assert!(form.body.contains("name=\"user_code\""), "{}", form.body);
    assert!(!form.body.contains("type=\"password\""));
    // A wrong code shows the form again.
    let wrong = browser
        .post(
            "/device",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("user_code", "BCDF-GHJK"),
            ],
        )
        .await;
    // (Not signed in yet: the login page comes first, and the code is
    // checked after it.)
    assert_eq!(wrong.status, 200);
    // Typed in lower case without the dash: matched all the same.
    let typed = user_code.replace('-', "").to_lowercase();
    let login = browser
        .post(
            "/device",
            &[("csrf", &hidden(&form.body, "csrf")), ("user_code", &typed)],
        )
        .await;
    let consent = sign_in(&browser, &login).await;
    let done = decide(&browser, &consent, "allow").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Device connected"), "{}", done.body);
    assert!(!done.body.contains("<form"), "{}", done.body);

    let tokens = poll.await.unwrap().expect("the device gets its tokens");
    assert!(tokens.refresh_token().is_some());
    let me = harness::http_client()
        .get(format!("{}/api/me", server.base))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = serde_json::from_str(&me.text().await.unwrap()).unwrap();
    assert_eq!(me["client_id"], "device-tv");
    assert_eq!(me["sub"], "alice");

    // Single use: the device code is spent (once the interval has passed:
    // a poll sooner is `slow_down`, whatever the state).
    let mut answer = Value::Null;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let again = harness::http_client()
            .post(format!("{}/token", server.base))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", details.device_code().secret().as_str()),
                ("client_id", "device-tv"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);
        answer = serde_json::from_str(&again.text().await.unwrap()).unwrap();
        if answer["error"] != "slow_down" {
            break;
        }
    }
    assert_eq!(answer["error"], "invalid_grant", "{answer}");

    // Signed in now, a wrong code shows the form again, with a message.
    let form = browser.get(details.verification_uri().as_str()).await;
    let wrong = browser
        .post(
            "/device",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("user_code", "BCDF-GHJK"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("not valid"), "{}", wrong.body);
    // And the used code finds nothing any more.
    let used = browser
        .post(
            "/device",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("user_code", &user_code),
            ],
        )
        .await;
    assert_eq!(used.status, 400, "{}", used.body);
}

/// `verification_uri_complete` goes straight to login and consent; a
/// denial is `access_denied` for the device.
async fn verification_uri_complete_and_deny(framework: Framework) {
    // covers: DV-02, DV-03
    let server = Server::start_seeded(framework, seed, &["--device-interval", "1"]).await;
    let client = device_client(&server).await;
    let (details, poll) = start_device(&client).await;
    let complete = details
        .verification_uri_complete()
        .expect("verification_uri_complete")
        .secret()
        .clone();
    let browser = Session::new(&server);
    let login = browser.get(&complete).await;
    let consent = sign_in(&browser, &login).await;
    let done = decide(&browser, &consent, "deny").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.body.contains("<form"), "{}", done.body);
    let refused = poll.await.unwrap().unwrap_err();
    assert_eq!(refused, "access_denied");
    // A forged consent form (another CSRF token) is refused.
    let forged = browser
        .post(
            "/device/consent",
            &[("csrf", "forged"), ("resume", "x"), ("decision", "allow")],
        )
        .await;
    assert_eq!(forged.status, 403);
}

on_every_framework!(
    the_device_flow_through_the_verification_page,
    verification_uri_complete_and_deny
);
