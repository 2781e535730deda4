//! The example server's rate limiter (PW-01, CA-06), wired through portcullis's
//! `Throttle` hook: repeated wrong client secrets and passwords get the
//! client id and the username refused, right credentials included, while
//! other clients and users carry on.

use crate::harness::{self, Backend, Framework, Server};

async fn token(server: &Server, user: (&str, &str), form: &str) -> (u16, String) {
    let r = harness::http_client()
        .post(format!("{}/token", server.base))
        .basic_auth(user.0, Some(user.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn repeated_wrong_secrets_and_passwords_are_throttled() {
    // covers: PW-01, CA-06
    // The example's default: 5 failures per key per minute.
    let server = Server::start_on(Framework::Axum, Backend::Memory).await;
    let cc = "grant_type=client_credentials";
    for _ in 0..5 {
        let (status, body) = token(&server, ("svc", "wrong"), cc).await;
        assert_eq!(status, 401, "{body}");
    }
    // svc is throttled: even its real secret gets the wrong-secret answer.
    let (status, body) = token(&server, ("svc", harness::SVC_SECRET), cc).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"invalid_client\""), "{body}");
    // Another client is not affected.
    let (status, body) = token(&server, ("jwtsvc", harness::SVC_SECRET), cc).await;
    assert_eq!(status, 200, "{body}");

    let pw = |password: &str| format!("grant_type=password&username=alice&password={password}");
    for _ in 0..5 {
        let (status, body) = token(&server, ("pw", harness::PW_SECRET), &pw("wrong")).await;
        assert_eq!(status, 400, "{body}");
    }
    let right = pw(&harness::ALICE_PASSWORD.replace(' ', "+"));
    let (status, body) = token(&server, ("pw", harness::PW_SECRET), &right).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"invalid_grant\""), "{body}");
    let (_, logs) = server.terminate();
    assert!(logs.contains("too many failed attempts"), "{logs}");
    assert!(!logs.contains(harness::ALICE_PASSWORD));
    assert!(!logs.contains(harness::SVC_SECRET));
}
