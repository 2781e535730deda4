//! The `authorization_code` grant at the token endpoint, with PKCE
//! (AC-01..03, PK-01..04; AC-04 is in `concurrency`). Codes are stored by
//! hand, as the authorization endpoint would store them.

use std::time::Duration;

use portcullis::{AuthorizationServer, ConfigError, MemoryStore};
use std::sync::Arc;

use crate::support::*;

#[tokio::test]
async fn ac01_codes_expire_after_their_lifetime() {
    // covers: AC-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let early = h.issue_code(CodeSpec::new(SVC)).await;
    let late = h.issue_code(CodeSpec::new(SVC)).await;
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(h.redeem(Auth::Basic(&svc), &early).await.status(), 200);
    h.clock.advance(Duration::from_secs(1));
    assert_error(
        &h.redeem(Auth::Basic(&svc), &late).await,
        400,
        "invalid_grant",
    );
    h.clock.advance(Duration::from_secs(3600));
    assert_error(
        &h.redeem(Auth::Basic(&svc), &late).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn ac01_codes_are_single_use() {
    // covers: AC-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);
    for _ in 0..3 {
        assert_error(
            &h.redeem(Auth::Basic(&svc), &code).await,
            400,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn ac01_code_lifetime_defaults_to_60s_and_is_capped_at_10_minutes() {
    // covers: AC-01
    assert_eq!(config().code_lifetime, Duration::from_secs(60));
    let build = |life: u64| {
        let mut c = config();
        c.code_lifetime = Duration::from_secs(life);
        AuthorizationServer::builder(c)
            .store(Arc::new(MemoryStore::new()))
            .build()
            .map(|_| ())
    };
    assert_eq!(build(600), Ok(()));
    assert!(matches!(build(601), Err(ConfigError::InvalidLifetime(_))));
    assert!(matches!(build(0), Err(ConfigError::InvalidLifetime(_))));
}

#[tokio::test]
async fn ac02_a_replayed_code_fails_and_revokes_the_tokens_of_its_first_use() {
    // covers: AC-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.expect("refresh token");
    assert!(h.active(&access).await);
    assert!(h.active(&refresh).await);

    assert_error(
        &h.redeem(Auth::Basic(&svc), &code).await,
        400,
        "invalid_grant",
    );

    assert!(
        !h.active(&access).await,
        "access token of the first redemption"
    );
    assert!(
        !h.active(&refresh).await,
        "refresh token of the first redemption"
    );
    assert_error(
        &h.refresh(Auth::Basic(&svc), &refresh).await,
        400,
        "invalid_grant",
    );
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn ac02_tokens_refreshed_from_a_replayed_code_are_revoked_too() {
    // covers: AC-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let (access2, refresh2) = tokens(&h.refresh(Auth::Basic(&svc), &refresh.unwrap()).await);
    assert!(h.active(&access2).await);
    assert_error(
        &h.redeem(Auth::Basic(&svc), &code).await,
        400,
        "invalid_grant",
    );
    assert!(!h.active(&access2).await);
    assert!(!h.active(&refresh2.unwrap()).await);
}

#[tokio::test]
async fn ac03_a_code_is_bound_to_its_client() {
    // covers: AC-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let other = h.confidential("other", "other-secret", |b| b).await;
    let spa = h.public("spa", |b| b).await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    assert_error(
        &h.redeem(Auth::Basic(&other), &code).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &h.redeem(Auth::IdOnly(&spa), &code).await,
        400,
        "invalid_grant",
    );
    // The code was issued to `svc`; `svc` can still redeem it.
    let (access, _) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    assert_eq!(h.introspect(&access).await["client_id"], SVC);
}

#[tokio::test]
async fn ac03_a_code_is_bound_to_its_redirect_uri() {
    // covers: AC-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let verifier = code.verifier.clone().unwrap();
    for redirect_uri in [
        Some("https://app.example/cb/"),
        Some("https://app.example/CB"),
        Some("https://app.example/cb?x=1"),
        Some("https://evil.example/cb"),
        None,
    ] {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(r) = redirect_uri {
            params.push(("redirect_uri", r));
        }
        let resp = h.token(Auth::Basic(&svc), &params).await;
        assert_error(&resp, 400, "invalid_grant");
    }
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);

    // A code whose authorization request carried no redirect_uri is redeemed
    // without one, and refused with one.
    let bare = h.issue_code(CodeSpec::new(SVC).redirect_uri(None)).await;
    let v = bare.verifier.clone().unwrap();
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "authorization_code"),
                ("code", &bare.code),
                ("code_verifier", &v),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_error(&resp, 400, "invalid_grant");
    assert_eq!(h.redeem(Auth::Basic(&svc), &bare).await.status(), 200);
}

#[tokio::test]
async fn pk01_s256_is_accepted() {
    // covers: PK-01
    let h = Harness::new().await;
    let spa = h.public("spa", |b| b).await;
    let code = h.issue_code(CodeSpec::new("spa")).await;
    assert_eq!(h.redeem(Auth::IdOnly(&spa), &code).await.status(), 200);
}

#[tokio::test]
async fn pk01_plain_needs_both_the_client_and_the_server_to_allow_it() {
    // covers: PK-01
    for (server_allows, client_allows, ok) in [
        (false, false, false),
        (false, true, false),
        (true, false, false),
        (true, true, true),
    ] {
        let mut config = config();
        config.dangerous_allow_plain_pkce = server_allows;
        let h = Harness::with_config(config).await;
        let spa = h
            .public("spa", |b| b.dangerous_allow_plain_pkce(client_allows))
            .await;
        let code = h.issue_code(CodeSpec::new("spa").pkce(Pkce::Plain)).await;
        let resp = h.redeem(Auth::IdOnly(&spa), &code).await;
        if ok {
            assert_eq!(resp.status(), 200);
        } else {
            assert_error(&resp, 400, "invalid_grant");
        }
    }
}

#[tokio::test]
async fn pk02_a_public_client_code_without_challenge_is_refused() {
    // covers: PK-02
    for require_for_confidential in [true, false] {
        let mut config = config();
        config.require_pkce_for_confidential = require_for_confidential;
        let h = Harness::with_config(config).await;
        let spa = h.public("spa", |b| b).await;
        let code = h.issue_code(CodeSpec::new("spa").pkce(Pkce::Absent)).await;
        assert_error(
            &h.redeem(Auth::IdOnly(&spa), &code).await,
            400,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn pk02_a_confidential_client_code_without_challenge_is_refused_unless_configured() {
    // covers: PK-02
    let h = Harness::new().await;
    assert!(h.server.config().require_pkce_for_confidential);
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC).pkce(Pkce::Absent)).await;
    assert_error(
        &h.redeem(Auth::Basic(&svc), &code).await,
        400,
        "invalid_grant",
    );

    let mut config = config();
    config.require_pkce_for_confidential = false;
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC).pkce(Pkce::Absent)).await;
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);
}

#[tokio::test]
async fn pk03_a_malformed_verifier_is_invalid_request() {
    // covers: PK-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    for verifier in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(43)),
        format!("{}/", "a".repeat(43)),
        format!("{} ", "a".repeat(43)),
        format!("{}=", "a".repeat(43)),
        format!("{}\u{e9}", "a".repeat(43)),
    ] {
        let resp = h
            .token(
                Auth::Basic(&svc),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code.code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_error(&resp, 400, "invalid_request");
    }
    // The code survives malformed attempts.
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);
}

#[tokio::test]
async fn pk03_verifiers_of_43_and_128_unreserved_characters_are_accepted() {
    // covers: PK-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    for verifier in [
        "A".repeat(43),
        "z".repeat(128),
        "Az09-._~".repeat(16),
        format!("{}-._~", "x".repeat(39)),
    ] {
        let n = verifier.len();
        let code = h.issue_code(CodeSpec::new(SVC).verifier(&verifier)).await;
        assert_eq!(code.verifier.as_deref(), Some(verifier.as_str()));
        assert_eq!(
            h.redeem(Auth::Basic(&svc), &code).await.status(),
            200,
            "length {n}"
        );
    }
}

#[tokio::test]
async fn pk04_a_wrong_verifier_is_invalid_grant() {
    // covers: PK-04
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let other = h.issue_code(CodeSpec::new(SVC)).await;
    let mut wrong = code.clone();
    wrong.verifier = other.verifier.clone();
    assert_error(
        &h.redeem(Auth::Basic(&svc), &wrong).await,
        400,
        "invalid_grant",
    );
    // The challenge itself is not a verifier for S256.
    let mut challenge_as_verifier = code.clone();
    challenge_as_verifier.verifier = Some(s256(code.verifier.as_deref().unwrap()));
    assert_error(
        &h.redeem(Auth::Basic(&svc), &challenge_as_verifier).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn pk04_a_missing_verifier_for_a_code_with_challenge_is_invalid_grant() {
    // covers: PK-04
    let h = Harness::new().await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let mut without = code.clone();
    without.verifier = None;
    assert_error(
        &h.redeem(Auth::Basic(&svc), &without).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn pk04_a_verifier_for_a_code_without_challenge_is_invalid_grant() {
    // covers: PK-04
    // PKCE is optional for confidential clients here, so only the downgrade
    // rule (RFC 9700 §2.1.1) can refuse the request.
    let mut config = config();
    config.require_pkce_for_confidential = false;
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC).pkce(Pkce::Absent)).await;
    let mut with = code.clone();
    with.verifier = Some("v".repeat(43));
    assert_error(
        &h.redeem(Auth::Basic(&svc), &with).await,
        400,
        "invalid_grant",
    );
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);
}
