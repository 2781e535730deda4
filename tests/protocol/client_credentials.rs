//! The `client_credentials` grant (CC-01).

use portcullis::{Client, ClientError, ClientId, GrantType};

use crate::support::*;

#[tokio::test]
async fn cc01_confidential_clients_get_an_access_token_and_no_refresh_token() {
    // covers: CC-01
    let h = Harness::new().await;
    // Registered for refresh_token too, still no refresh token here.
    let svc = h.svc().await;
    assert!(h.client(SVC).await.allows_grant(GrantType::RefreshToken));
    let resp = h.client_credentials(Auth::Basic(&svc), Some("write")).await;
    let (access, refresh) = tokens(&resp);
    assert_eq!(refresh, None);
    assert_eq!(json(&resp)["scope"], "write");
    let v = h.introspect(&access).await;
    assert_eq!(v["active"], true);
    // No user: the subject is the client itself, and there is no username.
    assert_eq!(v["sub"], SVC);
    assert_eq!(v["client_id"], SVC);
    assert!(v.get("username").is_none());
}

#[tokio::test]
async fn cc01_scope_defaults_and_is_limited_to_the_client() {
    // covers: CC-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let resp = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_eq!(json(&resp)["scope"], "read");
    let resp = h
        .client_credentials(Auth::Basic(&svc), Some("read delete"))
        .await;
    assert_error(&resp, 400, "invalid_scope");
}

#[tokio::test]
async fn cc01_public_clients_cannot_use_client_credentials() {
    // covers: CC-01, CA-04
    let h = Harness::new().await;
    let err = Client::public(ClientId::parse("spa").unwrap())
        .grant_type(GrantType::ClientCredentials)
        .build()
        .unwrap_err();
    assert_eq!(err, ClientError::PublicClientCredentials);
    let spa = h.public("spa", |b| b).await;
    assert_error(
        &h.client_credentials(Auth::IdOnly(&spa), None).await,
        400,
        "unauthorized_client",
    );
    assert_eq!(h.store.access_token_count(), 0);
}
