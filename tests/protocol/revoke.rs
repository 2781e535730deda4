//! The revocation endpoint, RFC 7009 (RV-01, RV-02).

use std::time::Duration;

use portcullis::http::{Method, Request};

use crate::support::*;

async fn code_grant(h: &Harness, auth: Auth<'_>, client: &str) -> (String, String) {
    let code = h.issue_code(CodeSpec::new(client)).await;
    let (access, refresh) = tokens(&h.redeem(auth, &code).await);
    (access, refresh.expect("refresh token"))
}

#[tokio::test]
async fn rv01_a_client_revokes_its_own_access_token() {
    // covers: RV-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert!(h.active(&token).await);
    let resp = h.revoke(Auth::Basic(&svc), &[("token", &token)]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    assert!(!h.active(&token).await);
}

#[tokio::test]
async fn rv01_unknown_and_already_invalid_tokens_still_get_200() {
    // covers: RV-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    for _ in 0..2 {
        let resp = h.revoke(Auth::Basic(&svc), &[("token", &token)]).await;
        assert_eq!(resp.status(), 200);
    }
    for unknown in ["never-issued", "x", &"A".repeat(43)] {
        let resp = h.revoke(Auth::Basic(&svc), &[("token", unknown)]).await;
        assert_eq!(resp.status(), 200);
    }
    // An expired token too.
    let (expired, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    h.clock.advance(Duration::from_secs(3600));
    let resp = h.revoke(Auth::Basic(&svc), &[("token", &expired)]).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn rv01_a_client_cannot_revoke_another_clients_token() {
    // covers: RV-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let other = h.confidential("other", "other-secret", |b| b).await;
    let (access, refresh) = code_grant(&h, Auth::Basic(&svc), SVC).await;
    for (token, hint) in [(&access, "access_token"), (&refresh, "refresh_token")] {
        let resp = h
            .revoke(
                Auth::Basic(&other),
                &[("token", token), ("token_type_hint", hint)],
            )
            .await;
        // Same answer as for a revoked token, so tokens cannot be probed ...
        assert_eq!(resp.status(), 200);
        // ... but nothing happened.
        assert!(h.active(token).await);
    }
    assert_eq!(h.refresh(Auth::Basic(&svc), &refresh).await.status(), 200);
}

#[tokio::test]
async fn rv01_revocation_requires_client_authentication_and_post() {
    // covers: RV-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert_error(
        &h.revoke(Auth::Nothing, &[("token", &token)]).await,
        401,
        "invalid_client",
    );
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("wrong".into()),
    };
    assert_error(
        &h.revoke(Auth::Basic(&wrong), &[("token", &token)]).await,
        401,
        "invalid_client",
    );
    let body = form(&[("token", &token)]);
    let auth = svc.basic();
    let req = Request::new(Method::Get)
        .header("Authorization", auth.as_bytes())
        .query(&body);
    let resp = h.server.revoke(&req).await;
    assert_error(&resp, 405, "invalid_request");
    assert_eq!(resp.header("Allow"), Some("POST"));
    assert_error(
        &h.revoke(Auth::Basic(&svc), &[]).await,
        400,
        "invalid_request",
    );
    assert!(h.active(&token).await, "none of that revoked it");
}

#[tokio::test]
async fn rv01_a_public_client_revokes_its_own_tokens_with_its_id() {
    // covers: RV-01
    let h = Harness::new().await;
    let spa = h.public("spa", |b| b).await;
    let (access, refresh) = code_grant(&h, Auth::IdOnly(&spa), "spa").await;
    let resp = h.revoke(Auth::IdOnly(&spa), &[("token", &refresh)]).await;
    assert_eq!(resp.status(), 200);
    assert!(!h.active(&access).await);
    assert!(!h.active(&refresh).await);
}

#[tokio::test]
async fn rv02_revoking_a_refresh_token_revokes_the_access_tokens_of_its_grant() {
    // covers: RV-02
    for hint in [
        None,
        Some("refresh_token"),
        Some("access_token"),
        Some("bogus"),
    ] {
        let h = Harness::new().await;
        let svc = h.svc().await;
        let (access1, refresh1) = code_grant(&h, Auth::Basic(&svc), SVC).await;
        let (access2, refresh2) = tokens(&h.refresh(Auth::Basic(&svc), &refresh1).await);
        let refresh2 = refresh2.unwrap();
        let (other_grant, _) = code_grant(&h, Auth::Basic(&svc), SVC).await;

        let mut params = vec![("token", refresh2.as_str())];
        if let Some(hint) = hint {
            params.push(("token_type_hint", hint));
        }
        assert_eq!(h.revoke(Auth::Basic(&svc), &params).await.status(), 200);

        for t in [&access1, &access2, &refresh2] {
            assert!(!h.active(t).await, "hint {hint:?}");
        }
        assert_error(
            &h.refresh(Auth::Basic(&svc), &refresh2).await,
            400,
            "invalid_grant",
        );
        assert!(h.active(&other_grant).await, "other grants are untouched");
    }
}

#[tokio::test]
async fn rv02_revoking_an_access_token_leaves_the_rest_of_the_grant() {
    // covers: RV-02, RV-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (access, refresh) = code_grant(&h, Auth::Basic(&svc), SVC).await;
    assert_eq!(
        h.revoke(Auth::Basic(&svc), &[("token", &access)])
            .await
            .status(),
        200
    );
    assert!(!h.active(&access).await);
    assert!(h.active(&refresh).await);
    assert_eq!(h.refresh(Auth::Basic(&svc), &refresh).await.status(), 200);
}
