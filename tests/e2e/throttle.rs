//! The example server's brute-force protection (PW-01, CA-06, RB-04):
//! portcullis's `MemoryThrottle` (`StoreThrottle` on the demo's database
//! with `--database`) behind the `Throttle` hook, each request's
//! source being the connection's peer address as the adapter reports it.
//! Repeated wrong client secrets and passwords from one address get that
//! address refused for the account, right credentials included, while the
//! holder connecting from another address is served (issue 15 finding 2).

use std::net::IpAddr;

use crate::harness::{self, Backend, Framework, Server};

/// An HTTP client whose connections come from `local` (any 127.0.0.0/8
/// address is this machine's loopback).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token(
    client: &reqwest::Client,
    server: &Server,
    user: (&str, &str),
    form: &str,
) -> (u16, String) {
    let r = client
        .post(format!("{}/token", server.base))
        .basic_auth(user.0, Some(user.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn wrong_attempts_from_one_address_never_lock_the_holder_out(framework: Framework) {
    on(framework, Backend::Memory).await;
}

async fn on(framework: Framework, backend: Backend) {
    // covers: RB-04, PW-01, CA-06
    // issue 15 finding 2
    // The example's default: 5 failures per account and address per minute.
    let server = Server::start_on(framework, backend).await;
    let (attacker, holder) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    let cc = "grant_type=client_credentials";
    for _ in 0..5 {
        let (status, body) = token(&attacker, &server, ("svc", "wrong"), cc).await;
        assert_eq!(status, 401, "{body}");
    }
    // Past the limit, the attacker's address gets the wrong-secret answer
    // even for the real secret...
    let (status, body) = token(&attacker, &server, ("svc", harness::SVC_SECRET), cc).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"invalid_client\""), "{body}");
    // ...while the holder, from its own address, is served.
    let (status, body) = token(&holder, &server, ("svc", harness::SVC_SECRET), cc).await;
    assert_eq!(status, 200, "{body}");
    // Another client is not affected, even from the attacker's address.
    let (status, body) = token(&attacker, &server, ("jwtsvc", harness::SVC_SECRET), cc).await;
    assert_eq!(status, 200, "{body}");

    let pw = |password: &str| format!("grant_type=password&username=alice&password={password}");
    let creds = ("pw", harness::PW_SECRET);
    for _ in 0..5 {
        let (status, body) = token(&attacker, &server, creds, &pw("wrong")).await;
        assert_eq!(status, 400, "{body}");
    }
    let right = pw(&harness::ALICE_PASSWORD.replace(' ', "+"));
    let (status, body) = token(&attacker, &server, creds, &right).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"invalid_grant\""), "{body}");
    let (status, body) = token(&holder, &server, creds, &right).await;
    assert_eq!(status, 200, "{body}");
    let (_, logs) = server.terminate();
    assert!(logs.contains("too many failed attempts"), "{logs}");
    assert!(!logs.contains(harness::ALICE_PASSWORD));
    assert!(!logs.contains(harness::SVC_SECRET));
}

#[tokio::test]
async fn axum_serves_the_holder_and_refuses_the_guesser() {
    wrong_attempts_from_one_address_never_lock_the_holder_out(Framework::Axum).await;
}

#[cfg(feature = "actix-web")]
#[tokio::test]
async fn actix_serves_the_holder_and_refuses_the_guesser() {
    wrong_attempts_from_one_address_never_lock_the_holder_out(Framework::Actix).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper_serves_the_holder_and_refuses_the_guesser() {
    wrong_attempts_from_one_address_never_lock_the_holder_out(Framework::Hyper).await;
}

#[tokio::test]
async fn tower_serves_the_holder_and_refuses_the_guesser() {
    wrong_attempts_from_one_address_never_lock_the_holder_out(Framework::Tower).await;
}

// With `--database` the demo keeps its counts in the database
// (`StoreThrottle`, issue 20): the same answers.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn axum_on_sqlite_serves_the_holder_and_refuses_the_guesser() {
    on(Framework::Axum, Backend::Sqlite).await;
}
