//! The `refresh_token` grant (RT-01..03, RT-05; RT-04 is in `concurrency`).

use std::time::Duration;

use portcullis::{Client, GrantType, SecretHash};

use crate::support::*;

/// Redeems a fresh code of `client` (scope `read write`) for its tokens.
async fn grant(h: &Harness, auth: Auth<'_>, client: &str) -> (String, String) {
    let code = h.issue_code(CodeSpec::new(client)).await;
    let (access, refresh) = tokens(&h.redeem(auth, &code).await);
    (access, refresh.expect("refresh token"))
}

#[tokio::test]
async fn rt01_a_refresh_token_is_bound_to_its_client() {
    // covers: RT-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let other = h.confidential("other", "other-secret", |b| b).await;
    let spa = h.public("spa", |b| b).await;
    let (_, refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    assert_error(
        &h.refresh(Auth::Basic(&other), &refresh).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &h.refresh(Auth::IdOnly(&spa), &refresh).await,
        400,
        "invalid_grant",
    );
    // Foreign attempts neither consume nor revoke it.
    let (access, _) = tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
    assert_eq!(h.introspect(&access).await["client_id"], SVC);
}

#[tokio::test]
async fn rt01_confidential_clients_must_authenticate_to_refresh() {
    // covers: RT-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (_, refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    assert_error(
        &h.refresh(Auth::IdOnly(&svc), &refresh).await,
        401,
        "invalid_client",
    );
    assert_error(
        &h.refresh(Auth::Nothing, &refresh).await,
        401,
        "invalid_client",
    );
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("wrong".into()),
    };
    assert_error(
        &h.refresh(Auth::Basic(&wrong), &refresh).await,
        401,
        "invalid_client",
    );
    // None of that used the token up.
    assert_eq!(h.refresh(Auth::Basic(&svc), &refresh).await.status(), 200);

    // A public client identifies with its id.
    let spa = h.public("spa", |b| b).await;
    let (_, refresh) = grant(&h, Auth::IdOnly(&spa), "spa").await;
    assert_eq!(h.refresh(Auth::IdOnly(&spa), &refresh).await.status(), 200);
}

#[tokio::test]
async fn rt02_every_use_rotates_the_refresh_token() {
    // covers: RT-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (_, mut refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    let mut seen = vec![refresh.clone()];
    for _ in 0..5 {
        let (access, next) = tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
        let next = next.expect("a new refresh token on every use");
        assert!(!seen.contains(&next));
        assert!(h.active(&access).await);
        assert!(
            !h.active(&refresh).await,
            "the old refresh token is invalidated"
        );
        seen.push(next.clone());
        refresh = next;
    }
}

#[tokio::test]
async fn rt02_presenting_a_rotated_out_token_revokes_the_whole_grant() {
    // covers: RT-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (access1, refresh1) = grant(&h, Auth::Basic(&svc), SVC).await;
    let (access2, refresh2) = tokens(&h.refresh(Auth::Basic(&svc), &refresh1).await);
    let refresh2 = refresh2.unwrap();
    // An unrelated grant of the same client must survive.
    let (bystander, bystander_refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    for t in [&access1, &access2, &refresh2] {
        assert!(h.active(t).await);
    }

    // The old token is presented again (it leaked).
    assert_error(
        &h.refresh(Auth::Basic(&svc), &refresh1).await,
        400,
        "invalid_grant",
    );

    for t in [&access1, &access2, &refresh2] {
        assert!(!h.active(t).await, "the whole grant is revoked");
    }
    assert_error(
        &h.refresh(Auth::Basic(&svc), &refresh2).await,
        400,
        "invalid_grant",
    );
    assert!(h.active(&bystander).await);
    assert_eq!(
        h.refresh(Auth::Basic(&svc), &bystander_refresh)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn rt03_a_narrower_scope_may_be_requested_and_the_grant_keeps_its_scope() {
    // covers: RT-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (_, refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(json(&resp)["scope"], "read");
    let (access, refresh) = tokens(&resp);
    assert_eq!(h.introspect(&access).await["scope"], "read");
    // The next refresh may ask for the grant's full scope again.
    let refresh = refresh.unwrap();
    assert_eq!(h.introspect(&refresh).await["scope"], "read write");
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "write read"),
            ],
        )
        .await;
    assert_eq!(json(&resp)["scope"], "read write");
    // Without a scope, the access token gets the grant's scope.
    let (_, refresh) = tokens(&resp);
    let resp = h.refresh(Auth::Basic(&svc), &refresh.unwrap()).await;
    assert_eq!(json(&resp)["scope"], "read write");
}

#[tokio::test]
async fn rt03_a_wider_scope_is_invalid_scope() {
    // covers: RT-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    // A grant of `read` only, though the client may have `read write`.
    let code = h.issue_code(CodeSpec::new(SVC).scope("read")).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    for wider in ["read write", "write", "admin", "read admin"] {
        let resp = h
            .token(
                Auth::Basic(&svc),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("scope", wider),
                ],
            )
            .await;
        assert_error(&resp, 400, "invalid_scope");
    }
    // Refused requests do not consume the token.
    assert_eq!(h.refresh(Auth::Basic(&svc), &refresh).await.status(), 200);
}

#[tokio::test]
async fn rt03_a_refresh_keeps_only_the_scopes_the_client_still_has() {
    // covers: RT-03
    // issue 15 finding 7: a refresh kept scopes the client had since lost.
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (_, refresh) = grant(&h, Auth::Basic(&svc), SVC).await;
    let (_, untouched) = grant(&h, Auth::Basic(&svc), SVC).await;
    // The operator withdraws `write` (and the default scope with it).
    let narrowed = Client::confidential(id(SVC), SecretHash::sha256(SVC_SECRET))
        .redirect_uri(redirect(REDIRECT))
        .grant_type(GrantType::AuthorizationCode)
        .grant_type(GrantType::RefreshToken)
        .grant_type(GrantType::ClientCredentials)
        .scope(scope("read"))
        .build()
        .unwrap();
    h.update(narrowed).await;
    // Asking for the lost scope is asking for more than the grant now
    // holds; the refusal does not consume the token.
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "read write"),
            ],
        )
        .await;
    assert_error(&resp, 400, "invalid_scope");
    // Without a scope: the access token and the rotated grant keep `read`.
    let resp = h.refresh(Auth::Basic(&svc), &refresh).await;
    assert_eq!(json(&resp)["scope"], "read");
    let (access, rotated) = tokens(&resp);
    assert_eq!(h.introspect(&access).await["scope"], "read");
    let rotated = rotated.unwrap();
    assert_eq!(h.introspect(&rotated).await["scope"], "read");
    // Giving `write` back does not bring it back to the rotated grant.
    let restored = h
        .client(SVC)
        .await
        .into_builder()
        .scope(scope("read write"))
        .build()
        .unwrap();
    h.update(restored).await;
    let resp = h.refresh(Auth::Basic(&svc), &rotated).await;
    assert_eq!(json(&resp)["scope"], "read");
    // A grant that loses every scope authorizes nothing: invalid_grant.
    let none = h
        .client(SVC)
        .await
        .into_builder()
        .scope(scope("admin"))
        .build()
        .unwrap();
    h.update(none).await;
    let resp = h.refresh(Auth::Basic(&svc), &untouched).await;
    assert_error(&resp, 400, "invalid_grant");
    assert_eq!(
        resp.cause(),
        Some(portcullis::Cause::InvalidGrant(
            portcullis::GrantFault::ScopeWithdrawn
        ))
    );
    // Not consumed either: with its scope back, it refreshes.
    let back = h
        .client(SVC)
        .await
        .into_builder()
        .scope(scope("read write"))
        .build()
        .unwrap();
    h.update(back).await;
    let resp = h.refresh(Auth::Basic(&svc), &untouched).await;
    assert_eq!(json(&resp)["scope"], "read write");
}

#[tokio::test]
async fn rt05_refresh_tokens_expire_after_the_configured_lifetime() {
    // covers: RT-05
    assert_eq!(
        config().refresh_token_lifetime,
        Duration::from_secs(30 * 24 * 3600)
    );
    let mut config = config();
    config.refresh_token_lifetime = Duration::from_secs(1000);
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let (_, keep) = grant(&h, Auth::Basic(&svc), SVC).await;
    let (_, lapse) = grant(&h, Auth::Basic(&svc), SVC).await;
    assert_eq!(h.introspect(&keep).await["exp"], T0 + 1000);

    h.clock.advance(Duration::from_secs(999));
    let (_, rotated) = tokens(&h.refresh(Auth::Basic(&svc), &keep).await);
    let rotated = rotated.unwrap();
    h.clock.advance(Duration::from_secs(1));
    assert_error(
        &h.refresh(Auth::Basic(&svc), &lapse).await,
        400,
        "invalid_grant",
    );
    assert!(!h.active(&lapse).await);
    // Each rotation starts a new lifetime.
    assert_eq!(h.introspect(&rotated).await["exp"], T0 + 999 + 1000);
    h.clock.advance(Duration::from_secs(998));
    let (_, rotated2) = tokens(&h.refresh(Auth::Basic(&svc), &rotated).await);
    h.clock.advance(Duration::from_secs(1000));
    assert_error(
        &h.refresh(Auth::Basic(&svc), &rotated2.unwrap()).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn rt05_a_client_may_have_its_own_refresh_lifetime() {
    // covers: RT-05
    let h = Harness::new().await;
    let short = h
        .confidential("short", "short-secret", |b| {
            b.refresh_token_lifetime(Duration::from_secs(50))
        })
        .await;
    let (_, refresh) = grant(&h, Auth::Basic(&short), "short").await;
    h.clock.advance(Duration::from_secs(50));
    assert_error(
        &h.refresh(Auth::Basic(&short), &refresh).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn tok04_no_refresh_token_for_clients_not_registered_for_it() {
    // covers: TOK-04 (`refresh_token` only where issued)
    let h = Harness::new().await;
    let svc = h
        .confidential(SVC, SVC_SECRET, |b| {
            b.remove_grant_type(GrantType::RefreshToken)
        })
        .await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    assert_eq!(refresh, None);
}
