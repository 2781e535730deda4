//! The introspection endpoint, RFC 7662 (IN-01), and expiry and revocation
//! as introspection reports them (TK-05).

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn in01_introspection_requires_an_authenticated_caller() {
    // covers: IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let spa = h.public("spa", |b| b).await;
    let (token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert_error(
        &h.introspect_as(Auth::Nothing, &token).await,
        401,
        "invalid_client",
    );
    // A public client's id alone is not authentication.
    assert_error(
        &h.introspect_as(Auth::IdOnly(&spa), &token).await,
        401,
        "invalid_client",
    );
    let wrong = Creds {
        id: RS.into(),
        secret: Some("wrong".into()),
    };
    let resp = h.introspect_as(Auth::Basic(&wrong), &token).await;
    assert_error(&resp, 401, "invalid_client");
    assert!(resp.header("WWW-Authenticate").is_some());
    // The harness's resource server is registered for the tokens'
    // audience, so it may ask about svc's token.
    let resp = h.introspect_as(Auth::Basic(&h.rs), &token).await;
    assert_eq!(json(&resp)["active"], true);
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
}

#[tokio::test]
async fn in01_an_active_access_token_is_described() {
    // covers: IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    h.clock.advance(Duration::from_secs(10));
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let v = h.introspect(&access).await;
    assert_eq!(
        v,
        json!({
            "active": true,
            "scope": "read write",
            "client_id": SVC,
            "username": "alice",
            "sub": "alice",
            "exp": T0 + 10 + 3600,
            "iat": T0 + 10,
            "iss": ISSUER,
            "token_type": "Bearer",
            // The default audience: the token was asked without `resource`.
            "aud": ISSUER,
        })
    );
    let v = h.introspect(&refresh.unwrap()).await;
    // A refresh token has no audience (RI-01).
    assert!(v.get("aud").is_none());
    assert_eq!(v["active"], true);
    assert_eq!(v["token_type"], "refresh_token");
    assert_eq!(v["client_id"], SVC);
    assert_eq!(v["sub"], "alice");
    assert_eq!(v["iss"], ISSUER);
    assert_eq!(v["exp"], T0 + 10 + 30 * 24 * 3600);
}

#[tokio::test]
async fn in01_anything_else_is_only_active_false() {
    // covers: IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let inactive = json!({"active": false});
    for token in ["unknown", &"A".repeat(43), "-", "\u{e9}t\u{e9}"] {
        let resp = h.introspect_as(Auth::Basic(&h.rs), token).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(json(&resp), inactive);
    }
    // A rotated-out refresh token.
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
    assert_eq!(h.introspect(&refresh).await, inactive);
    let resp = call(
        &h.server,
        Endpoint::Introspect,
        Auth::Basic(&svc),
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(json(&resp), inactive);
    // The code itself is not a token.
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    assert_eq!(h.introspect(&code.code).await, inactive);
    // A missing token parameter is a malformed request.
    let resp = call(&h.server, Endpoint::Introspect, Auth::Basic(&h.rs), &[]).await;
    assert_error(&resp, 400, "invalid_request");
}

#[tokio::test]
async fn tk05_expired_tokens_are_inactive() {
    // covers: TK-05, IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (access, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    h.clock.advance(Duration::from_secs(3599));
    assert!(h.active(&access).await);
    h.clock.advance(Duration::from_secs(1));
    assert!(!h.active(&access).await, "inactive at exp");
    h.clock.advance(Duration::from_secs(1_000_000));
    assert!(!h.active(&access).await);

    let mut config = config();
    config.refresh_token_lifetime = Duration::from_secs(100);
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    h.clock.advance(Duration::from_secs(99));
    assert!(h.active(&refresh).await);
    h.clock.advance(Duration::from_secs(1));
    assert!(!h.active(&refresh).await);
}

#[tokio::test]
async fn tk05_revoked_tokens_are_inactive() {
    // covers: TK-05, IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    let (cc, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    h.revoke(Auth::Basic(&svc), &[("token", &cc)]).await;
    assert!(!h.active(&cc).await);
    h.revoke(Auth::Basic(&svc), &[("token", &refresh)]).await;
    assert!(!h.active(&refresh).await);
    assert!(!h.active(&access).await);
}

#[tokio::test]
async fn in01_the_hint_does_not_change_the_answer() {
    // covers: IN-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    for hint in ["access_token", "refresh_token", "nonsense"] {
        for (token, kind) in [(&access, "Bearer"), (&refresh, "refresh_token")] {
            // The owner sees both (a resource server, only the access
            // token: IN-01).
            let resp = call(
                &h.server,
                Endpoint::Introspect,
                Auth::Basic(&svc),
                &[("token", token), ("token_type_hint", hint)],
            )
            .await;
            let v = json(&resp);
            assert_eq!(v["active"], true);
            assert_eq!(v["token_type"], kind, "hint {hint}");
        }
    }
}

/// The exact answer for a token the caller may not learn about.
const INACTIVE: &[u8] = br#"{"active":false}"#;

#[tokio::test]
async fn in01_only_the_tokens_client_or_a_resource_server_for_its_audience_learns_it_is_active() {
    // covers: IN-01
    // issue 15 finding 5: any authenticated confidential client could
    // introspect any token, other clients' refresh tokens included.
    let h = Harness::new().await;
    let svc = h.svc().await;
    let other = h.confidential("other", "other-secret", |b| b).await;
    let elsewhere = h
        .confidential("elsewhere-rs", "elsewhere-secret", |b| {
            b.resource_server_for(portcullis::Audience::parse("https://api.other.example").unwrap())
        })
        .await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    let (cc, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    let ask = |who: &Creds, token: &str, hint: Option<&str>| {
        let (who, token, hint) = (who.clone(), token.to_owned(), hint.map(str::to_owned));
        let server = h.server.clone();
        async move {
            let mut params = vec![("token", token.as_str())];
            if let Some(hint) = &hint {
                params.push(("token_type_hint", hint));
            }
            let resp = call(&server, Endpoint::Introspect, Auth::Basic(&who), &params).await;
            assert_eq!(resp.status(), 200);
            resp
        }
    };
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        // The owner learns about all three.
        for token in [&access, &refresh, &cc] {
            assert_eq!(json(&ask(&svc, token, hint).await)["active"], true);
        }
        // Another client, and a resource server for another audience,
        // learn nothing: not even that the token exists.
        for who in [&other, &elsewhere] {
            for token in [&access, &refresh, &cc] {
                assert_eq!(ask(who, token, hint).await.body(), INACTIVE, "{}", who.id);
            }
        }
        // The resource server for the tokens' audience: access tokens only.
        assert_eq!(json(&ask(&h.rs, &access, hint).await)["client_id"], SVC);
        assert_eq!(json(&ask(&h.rs, &cc, hint).await)["active"], true);
        assert_eq!(ask(&h.rs, &refresh, hint).await.body(), INACTIVE);
    }
}

#[tokio::test]
async fn in01_the_audience_is_the_servers_jwt_audience() {
    // covers: IN-01
    // issue 15 finding 5: with `Config::jwt_audience` set, that is every
    // access token's audience, and a resource server for the issuer is no
    // resource server for these tokens.
    let mut config = config();
    config.jwt_audience = Some("https://api.example".into());
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let api = h
        .confidential("api", "api-secret", |b| {
            b.resource_server_for(portcullis::Audience::parse("https://api.example").unwrap())
        })
        .await;
    let (cc, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    let resp = h.introspect_as(Auth::Basic(&h.rs), &cc).await;
    assert_eq!(resp.body(), INACTIVE);
    let resp = h.introspect_as(Auth::Basic(&api), &cc).await;
    assert_eq!(json(&resp)["active"], true);
    assert_eq!(json(&resp)["client_id"], SVC);
}

#[tokio::test]
async fn in01_a_disabled_clients_tokens_are_inactive() {
    // covers: IN-01, TK-05
    // issue 15 finding 7: disabling a client left its tokens active at
    // introspection.
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (cc, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert!(h.active(&cc).await);
    let disabled = h
        .client(SVC)
        .await
        .into_builder()
        .enabled(false)
        .build()
        .unwrap();
    h.update(disabled).await;
    let resp = h.introspect_as(Auth::Basic(&h.rs), &cc).await;
    assert_eq!(resp.body(), INACTIVE);
}
