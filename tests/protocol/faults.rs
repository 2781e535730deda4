//! Fault injection (RB-02): every grant, and every store method the core
//! writes with, failed three ways by the library's `FaultyStore` —
//! an error before the write, a timeout before the write, and a failure
//! after the write (committed, but the caller sees an error). The client
//! always gets `server_error` (500), and the state afterwards is one the
//! guarantees of `docs/security.md` ("Store failures") allow:
//!
//! - before the write: nothing changed, and the same request succeeds once
//!   the store is back;
//! - after the write: the step happened exactly as on success, but its
//!   tokens were never delivered and nobody holds them (only hashes are
//!   stored). The spent code or refresh token is not redeemable again: a
//!   retry is a replay, answered `invalid_grant`, and it revokes the grant,
//!   undelivered tokens included.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use portcullis::http::{Method, Request};
use portcullis::stores::{Fault, FaultyStore, StoreOp};
use portcullis::{
    AccessRecord, AccessTokenFormat, Account, Attempt, AuthorizeStep, Client, ClientAdmin,
    ClientId, ClientStore, Clock, Consent, ConsentAdmin, ConsentStore, GrantId, GrantType,
    KeyProvider, MemoryKeys, MemoryStore, MemoryUsers, NewTokens, Outcome, PasswordVerifier,
    RefreshRecord, ScopeSet, Secret, SecretHash, StoreError, Throttle, TokenAdmin, TokenHash,
    TokenStore, UnixTime, UserId, Verdict,
};

use crate::support::*;

const FAULTS: [Fault; 3] = [
    Fault::Error,
    Fault::Timeout(Duration::from_millis(5)),
    Fault::AfterWrite,
];

fn committed(fault: Fault) -> bool {
    fault == Fault::AfterWrite
}

/// Everything of `client` still live in the store (codes, access and
/// refresh tokens); revokes it all to count it, so call it last.
async fn live_of(h: &Harness, client: &str) -> u64 {
    h.store.revoke_client(&id(client)).await.unwrap()
}

#[tokio::test]
async fn rb02_authorization_code_exchange_under_every_fault() {
    // covers: RB-02, AC-02
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        flaky.fail_with(Op::ExchangeCode, fault);
        assert_error(
            &h.redeem(Auth::Basic(&svc), &code).await,
            500,
            "server_error",
        );
        flaky.heal();
        let record = h
            .store
            .find_code(&TokenHash::of(&code.code))
            .await
            .unwrap()
            .unwrap();
        if committed(fault) {
            // The code is spent and its tokens stored, but undelivered.
            assert!(record.used, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 1, "{fault:?}");
            // The client's retry is a replay: refused, and the grant (the
            // undelivered tokens) revoked.
            assert_error(
                &h.redeem(Auth::Basic(&svc), &code).await,
                400,
                "invalid_grant",
            );
            assert_eq!(h.store.access_token_count(), 0, "{fault:?}");
            assert_eq!(live_of(&h, SVC).await, 0, "{fault:?}");
        } else {
            // No code consumed without its tokens, no token without its code.
            assert!(!record.used, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 0, "{fault:?}");
            let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
            assert!(h.active(&access).await);
            assert!(h.active(&refresh.unwrap()).await);
        }
    }
}

#[tokio::test]
async fn rb02_refresh_rotation_under_every_fault() {
    // covers: RB-02, RT-02
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
        let refresh = refresh.unwrap();
        flaky.fail_with(Op::RotateRefresh, fault);
        assert_error(
            &h.refresh(Auth::Basic(&svc), &refresh).await,
            500,
            "server_error",
        );
        flaky.heal();
        let record = h
            .store
            .find_refresh(&TokenHash::of(&refresh))
            .await
            .unwrap()
            .unwrap();
        if committed(fault) {
            // Rotated, with its successor stored (undelivered).
            assert!(record.used, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 2, "{fault:?}");
            assert_error(
                &h.refresh(Auth::Basic(&svc), &refresh).await,
                400,
                "invalid_grant",
            );
            assert!(!h.active(&access).await, "the replay revokes the grant");
            assert_eq!(h.store.access_token_count(), 0);
            assert_eq!(live_of(&h, SVC).await, 0);
        } else {
            // No refresh rotated without its successor.
            assert!(!record.used, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 1, "{fault:?}");
            let (next_access, next) = tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
            assert!(h.active(&next_access).await);
            assert!(h.active(&next.unwrap()).await);
            assert!(!h.active(&refresh).await);
        }
    }
}

#[tokio::test]
async fn rb02_client_credentials_issue_under_every_fault() {
    // covers: RB-02, CC-01
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        flaky.fail_with(Op::Issue, fault);
        assert_error(
            &h.client_credentials(Auth::Basic(&svc), None).await,
            500,
            "server_error",
        );
        flaky.heal();
        // After the write, one stored token nobody holds; before, none.
        let orphans = usize::from(committed(fault));
        assert_eq!(h.store.access_token_count(), orphans, "{fault:?}");
        let (access, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        assert!(h.active(&access).await);
        assert_eq!(h.store.access_token_count(), orphans + 1);
    }
}

#[tokio::test]
async fn rb02_password_issue_under_every_fault() {
    // covers: RB-02, PW-01
    for fault in FAULTS {
        let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
        users.insert("alice", &Secret::from("wonderland")).unwrap();
        let mut config = config();
        config.grant_types.push(GrantType::Password);
        let (h, flaky) =
            Harness::flaky_with(config, move |b| b.password_verifier(Arc::new(users))).await;
        let app = h
            .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
            .await;
        let params = [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ];
        flaky.fail_with(Op::Issue, fault);
        assert_error(
            &h.token(Auth::Basic(&app), &params).await,
            500,
            "server_error",
        );
        flaky.heal();
        let orphans = usize::from(committed(fault));
        assert_eq!(h.store.access_token_count(), orphans, "{fault:?}");
        let (access, refresh) = tokens(&h.token(Auth::Basic(&app), &params).await);
        assert!(h.active(&access).await);
        assert!(refresh.is_none() || h.active(&refresh.unwrap()).await);
    }
}

#[tokio::test]
async fn rb02_grant_revocation_on_a_code_replay_under_every_fault() {
    // covers: RB-02, AC-02
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
        flaky.fail_with(Op::RevokeGrant, fault);
        assert_error(
            &h.redeem(Auth::Basic(&svc), &code).await,
            500,
            "server_error",
        );
        flaky.heal();
        // Revoked if the revocation committed; otherwise the next replay
        // still catches it.
        assert_eq!(h.active(&access).await, !committed(fault), "{fault:?}");
        assert_error(
            &h.redeem(Auth::Basic(&svc), &code).await,
            400,
            "invalid_grant",
        );
        assert!(!h.active(&access).await);
        assert!(!h.active(&refresh.unwrap()).await);
    }
}

#[tokio::test]
async fn rb02_grant_revocation_on_a_refresh_replay_under_every_fault() {
    // covers: RB-02, RT-02
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        let (_, first) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
        let first = first.unwrap();
        let (access, second) = tokens(&h.refresh(Auth::Basic(&svc), &first).await);
        let second = second.unwrap();
        flaky.fail_with(Op::RevokeGrant, fault);
        assert_error(
            &h.refresh(Auth::Basic(&svc), &first).await,
            500,
            "server_error",
        );
        flaky.heal();
        assert_eq!(h.active(&second).await, !committed(fault), "{fault:?}");
        assert_error(
            &h.refresh(Auth::Basic(&svc), &first).await,
            400,
            "invalid_grant",
        );
        assert!(!h.active(&access).await);
        assert!(!h.active(&second).await);
    }
}

#[tokio::test]
async fn rb02_revocation_endpoint_under_every_fault() {
    // covers: RB-02, RV-01, RV-02
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        let svc = h.svc().await;
        let code = h.issue_code(CodeSpec::new(SVC)).await;
        let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
        let refresh = refresh.unwrap();

        // An access token: revoke_access.
        flaky.fail_with(Op::RevokeAccess, fault);
        assert_error(
            &h.revoke(Auth::Basic(&svc), &[("token", &access)]).await,
            500,
            "server_error",
        );
        flaky.heal();
        assert_eq!(h.active(&access).await, !committed(fault), "{fault:?}");
        let retry = h.revoke(Auth::Basic(&svc), &[("token", &access)]).await;
        assert_eq!(retry.status(), 200);
        assert!(!h.active(&access).await);

        // A refresh token: revoke_grant.
        flaky.fail_with(Op::RevokeGrant, fault);
        assert_error(
            &h.revoke(Auth::Basic(&svc), &[("token", &refresh)]).await,
            500,
            "server_error",
        );
        flaky.heal();
        assert_eq!(h.active(&refresh).await, !committed(fault), "{fault:?}");
        let retry = h.revoke(Auth::Basic(&svc), &[("token", &refresh)]).await;
        assert_eq!(retry.status(), 200);
        assert!(!h.active(&refresh).await);
    }
}

#[tokio::test]
async fn rb02_assertion_jti_under_every_fault() {
    // covers: RB-02, CA-08
    for fault in FAULTS {
        let (h, flaky) = Harness::flaky(config()).await;
        register_jwt_client(&h, "jwt-client").await;
        let assertion = hs256_assertion("jwt-client", HMAC_SECRET, "jti-1");
        flaky.fail_with(Op::FirstUse, fault);
        assert_error(
            &assertion_request(&h, &assertion).await,
            500,
            "server_error",
        );
        flaky.heal();
        assert_eq!(h.store.access_token_count(), 0, "{fault:?}");
        let retry = assertion_request(&h, &assertion).await;
        if committed(fault) {
            // The jti is spent: the same assertion is a replay.
            assert_error(&retry, 401, "invalid_client");
            let fresh = hs256_assertion("jwt-client", HMAC_SECRET, "jti-2");
            tokens(&assertion_request(&h, &fresh).await);
        } else {
            tokens(&retry);
        }
        assert_eq!(h.store.access_token_count(), 1);
    }
}

async fn consent_step(h: &Harness, user: &UserId) -> portcullis::PendingAuthorization {
    let q = authorization_query("spa");
    match h
        .server
        .authorize(&Request::new(Method::Get).query(&q), Some(&signed_in(user)))
        .await
    {
        AuthorizeStep::Consent(p) => p,
        other => panic!("expected consent, got {other:?}"),
    }
}

/// Codes stored for the harness, counted by purging them once expired.
async fn stored_codes(h: &Harness) -> u64 {
    h.clock.advance(Duration::from_secs(3600));
    let now = h.clock.now();
    h.store.purge_expired(now).await.unwrap().codes
}

#[tokio::test]
async fn rb02_authorization_approval_under_every_fault() {
    // covers: RB-02, AZ-04, AZ-08
    let alice = UserId::parse("alice").unwrap();
    for (op, fault) in [StoreOp::InsertCode, StoreOp::GrantConsent]
        .into_iter()
        .flat_map(|op| FAULTS.map(|f| (op, f)))
    {
        let (h, flaky) = Harness::flaky(config()).await;
        h.public("spa", |b| b).await;
        let pending = consent_step(&h, &alice).await;
        flaky.fail_with(op, fault);
        let resp = h.server.approve(pending).await;
        flaky.heal();
        // The user agent goes back to the client with server_error, its
        // state and our issuer, and never a code.
        let params = location_params(&resp);
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("error"), Some("server_error"), "{op:?} {fault:?}");
        assert_eq!(get("state"), Some("st"));
        assert_eq!(get("iss"), Some(ISSUER));
        assert_eq!(get("code"), None);
        // Consent is recorded before the code is minted: it stays when the
        // code fails, and when its own write committed; it is the user's
        // decision, not a credential.
        let consent = h.store.consent(&alice, &id("spa")).await.unwrap();
        let consent_kept = op == StoreOp::InsertCode || committed(fault);
        assert_eq!(consent.is_some(), consent_kept, "{op:?} {fault:?}");
        // A code only exists if insert_code committed, and nobody has it.
        let orphan = op == StoreOp::InsertCode && committed(fault);
        assert_eq!(
            stored_codes(&h).await,
            u64::from(orphan),
            "{op:?} {fault:?}"
        );
    }
}

/// A server issuing JWT access tokens, its keys behind a `FaultyStore`.
async fn jwt_harness() -> (Harness, Arc<FaultyStore<MemoryKeys>>, Creds) {
    let keys = Arc::new(FaultyStore::new(MemoryKeys::new()));
    let provider: Arc<dyn KeyProvider> = keys.clone();
    let h = Harness::with(config(), move |b| b.key_provider(provider)).await;
    h.server.ensure_signing_key().await.unwrap();
    let svc = h
        .confidential(SVC, SVC_SECRET, |b| {
            b.access_token_format(AccessTokenFormat::Jwt)
        })
        .await;
    (h, keys, svc)
}

/// Whether a bearer request with `token` is accepted.
async fn bearer_ok(h: &Harness, token: &str) -> bool {
    let header = format!("Bearer {token}");
    let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
    h.server
        .authenticate_bearer(&req, &ScopeSet::default())
        .await
        .is_ok()
}

#[tokio::test]
async fn rb02_signing_keys_unreadable_is_a_500_and_stores_nothing() {
    // covers: RB-02, TK-03
    let (h, keys, svc) = jwt_harness().await;
    keys.fail(StoreOp::Keys, Fault::Error);
    assert_error(
        &h.client_credentials(Auth::Basic(&svc), None).await,
        500,
        "server_error",
    );
    assert_eq!(h.store.access_token_count(), 0);
    keys.heal();
    let (jwt, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert!(bearer_ok(&h, &jwt).await);
}

#[tokio::test]
async fn rb02_key_rotation_under_every_fault_never_leaves_a_token_unverifiable() {
    // covers: RB-02, JW-01
    for (op, fault) in [StoreOp::InsertKey, StoreOp::RetireKey]
        .into_iter()
        .flat_map(|op| FAULTS.map(|f| (op, f)))
    {
        let (h, keys, svc) = jwt_harness().await;
        let (before, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        keys.fail(op, fault);
        assert!(h.server.rotate_keys().await.is_err(), "{op:?} {fault:?}");
        keys.heal();
        // Publish-then-retire: whatever was written, a key signs, every
        // signing key is published, and old and new tokens verify.
        let records = keys.inner().keys().await.unwrap();
        let now = h.clock.now();
        assert!(records.iter().any(|k| k.signs_at(now)), "{op:?} {fault:?}");
        assert!(records.iter().all(|k| k.published_at(now)));
        let (after, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        assert!(bearer_ok(&h, &before).await, "{op:?} {fault:?}");
        assert!(bearer_ok(&h, &after).await, "{op:?} {fault:?}");
        // And the rotation can simply be done again.
        h.server.rotate_keys().await.unwrap();
    }
}

#[tokio::test]
async fn rb02_reads_failing_by_timeout_are_500_and_change_nothing() {
    // covers: RB-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    let fresh = h.issue_code(CodeSpec::new(SVC)).await;
    let timeout = Fault::Timeout(Duration::from_millis(5));

    flaky.fail_with(StoreOp::FindClient, timeout);
    let r = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_error(&r, 500, "server_error");
    flaky.heal();
    flaky.fail_with(StoreOp::FindCode, timeout);
    assert_error(
        &h.redeem(Auth::Basic(&svc), &fresh).await,
        500,
        "server_error",
    );
    flaky.heal();
    flaky.fail_with(StoreOp::FindRefresh, timeout);
    let r = h.refresh(Auth::Basic(&svc), &refresh).await;
    assert_error(&r, 500, "server_error");
    flaky.heal();
    flaky.fail_with(StoreOp::FindAccess, timeout);
    let r = h.introspect_as(Auth::Basic(&h.rs), &access).await;
    assert_error(&r, 500, "server_error");
    // A bearer check whose lookup times out is a 500, never a pass.
    let header = format!("Bearer {access}");
    let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
    let refused = h
        .server
        .authenticate_bearer(&req, &ScopeSet::default())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 500);
    flaky.heal();

    assert!(bearer_ok(&h, &access).await);
    assert!(h.active(&refresh).await);
    tokens(&h.redeem(Auth::Basic(&svc), &fresh).await);
    tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
}

#[tokio::test]
async fn rb02_administrative_writes_fail_cleanly_or_commit_whole() {
    // covers: RB-02
    // The writes the core never makes on a request (registration, consent
    // withdrawal; mass revocation and purge are in the next test): an error
    // before the write leaves the inner store unchanged; after the write,
    // the change is whole.
    let alice = UserId::parse("alice").unwrap();
    let client = || {
        Client::confidential(id("admin-made"), SecretHash::sha256("s"))
            .scope(scope("read"))
            .build()
            .unwrap()
    };
    for fault in FAULTS {
        let memory = MemoryStore::new();
        let store = FaultyStore::new(memory.clone());
        store.fail(StoreOp::InsertClient, fault);
        assert!(store.insert_client(client()).await.is_err());
        let present = memory.client(&id("admin-made")).await.unwrap().is_some();
        assert_eq!(present, committed(fault), "insert {fault:?}");
        store.heal();
        if !present {
            store.insert_client(client()).await.unwrap();
        }

        store.fail(StoreOp::UpdateClient, fault);
        let disabled = client().into_builder().enabled(false).build().unwrap();
        assert!(store.update_client(disabled).await.is_err());
        let now_enabled = memory
            .client(&id("admin-made"))
            .await
            .unwrap()
            .unwrap()
            .is_enabled();
        assert_eq!(now_enabled, !committed(fault), "update {fault:?}");
        store.heal();

        let consent = Consent {
            user: alice.clone(),
            client_id: id("admin-made"),
            scope: scope("read"),
            granted_at: UnixTime::from_secs(T0),
        };
        memory.grant_consent(consent).await.unwrap();
        store.fail(StoreOp::RevokeConsent, fault);
        assert!(
            store
                .revoke_consent(&alice, &id("admin-made"))
                .await
                .is_err()
        );
        let kept = memory
            .consent(&alice, &id("admin-made"))
            .await
            .unwrap()
            .is_some();
        assert_eq!(kept, !committed(fault), "consent revoke {fault:?}");
        store.heal();

        store.fail(StoreOp::DeleteClient, fault);
        assert!(store.delete_client(&id("admin-made")).await.is_err());
        let gone = memory.client(&id("admin-made")).await.unwrap().is_none();
        assert_eq!(gone, committed(fault), "delete {fault:?}");
    }
}

/// One grant's tokens, stored directly: an access and a refresh token of
/// `client` for `user`, expiring at `expires`.
fn grant_of(name: &str, client: &str, user: Option<&str>, expires: u64) -> NewTokens {
    let access = TokenHash::of(&format!("{name}-access"));
    let refresh = TokenHash::of(&format!("{name}-refresh"));
    let grant = GrantId::derive(&access);
    let subject = user.map(|u| UserId::parse(u).unwrap());
    NewTokens {
        access: AccessRecord {
            hash: access,
            grant,
            client_id: id(client),
            subject: subject.clone(),
            scope: scope("read"),
            issued_at: UnixTime::from_secs(T0 - 100),
            expires_at: UnixTime::from_secs(expires),
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        },
        refresh: Some(RefreshRecord {
            hash: refresh,
            grant,
            client_id: id(client),
            subject,
            scope: scope("read"),
            issued_at: UnixTime::from_secs(T0 - 100),
            expires_at: UnixTime::from_secs(expires),
            used: false,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            successor: None,
        }),
    }
}

/// Which of `grants` still have both their tokens in `memory`. A grant
/// with one token but not the other would be half done.
async fn stored_grants(memory: &MemoryStore, grants: &[(&str, NewTokens)]) -> Vec<String> {
    let mut present = Vec::new();
    for (name, t) in grants {
        let access = memory.find_access(&t.access.hash).await.unwrap().is_some();
        let refresh_hash = t.refresh.as_ref().unwrap().hash;
        let refresh = memory.find_refresh(&refresh_hash).await.unwrap().is_some();
        assert_eq!(access, refresh, "{name}: one token kept without the other");
        if access {
            present.push((*name).to_owned());
        }
    }
    present
}

#[tokio::test]
async fn rb02_mass_revocation_and_purge_under_every_fault_change_all_or_nothing() {
    // covers: RB-02
    // revoke_client, revoke_user (`portcullis tokens revoke`, a host's
    // admin page) and purge_expired (`portcullis tokens purge`, a cron
    // job): failed before the write, every token is still there and still
    // valid; failed after the write, the change is whole — every token of
    // the client or user is gone, every expired token purged, nothing else
    // touched. Run again once the store is back, the call does exactly
    // the same as if it had never failed.
    let alice = UserId::parse("alice").unwrap();
    let live = T0 + 3600;
    let expired = T0 - 1;
    for (op, fault) in [
        StoreOp::RevokeClient,
        StoreOp::RevokeUser,
        StoreOp::PurgeExpired,
    ]
    .into_iter()
    .flat_map(|op| FAULTS.map(|f| (op, f)))
    {
        let memory = MemoryStore::new();
        let store = FaultyStore::new(memory.clone());
        let grants = [
            (
                "admin-alice",
                grant_of("a", "admin-made", Some("alice"), live),
            ),
            ("admin-service", grant_of("b", "admin-made", None, live)),
            ("other-alice", grant_of("c", "other", Some("alice"), live)),
            (
                "other-bob-expired",
                grant_of("d", "other", Some("bob"), expired),
            ),
        ];
        for (_, t) in &grants {
            memory.issue(t.clone()).await.unwrap();
        }
        let all: Vec<String> = grants.iter().map(|(n, _)| (*n).to_owned()).collect();
        let call = || async {
            match op {
                StoreOp::RevokeClient => store.revoke_client(&id("admin-made")).await.map(|_| ()),
                StoreOp::RevokeUser => store.revoke_user(&alice).await.map(|_| ()),
                _ => store
                    .purge_expired(UnixTime::from_secs(T0))
                    .await
                    .map(|_| ()),
            }
        };
        // What the call removes when it succeeds.
        let removed: &[&str] = match op {
            StoreOp::RevokeClient => &["admin-alice", "admin-service"],
            StoreOp::RevokeUser => &["admin-alice", "other-alice"],
            _ => &["other-bob-expired"],
        };
        let done: Vec<String> = all
            .iter()
            .filter(|n| !removed.contains(&n.as_str()))
            .cloned()
            .collect();

        store.fail(op, fault);
        assert!(call().await.is_err(), "{op:?} {fault:?}");
        assert_eq!(store.failures(op), 1);
        store.heal();
        let after = stored_grants(&memory, &grants).await;
        if committed(fault) {
            assert_eq!(after, done, "{op:?} {fault:?}: applied whole");
        } else {
            assert_eq!(after, all, "{op:?} {fault:?}: nothing changed");
        }
        // The retry completes the job, whichever way the failure went.
        call().await.unwrap();
        assert_eq!(
            stored_grants(&memory, &grants).await,
            done,
            "{op:?} {fault:?}"
        );
    }
}

/// The `kid`s the JWKS document serves.
async fn jwks_kids(h: &Harness) -> Vec<String> {
    let resp = h.server.jwks().await;
    assert_eq!(resp.status(), 200);
    let mut kids: Vec<String> = json(&resp)["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn rb02_key_purge_under_every_fault_keeps_a_consistent_key_set() {
    // covers: RB-02, JW-01
    let lifetime = config().jwt_max_lifetime + config().key_publish_lead;
    for fault in FAULTS {
        let (h, keys, svc) = jwt_harness().await;
        // Three keys: `dropped` out of the JWKS (purgeable), `retired`
        // still published (its tokens may live), `next` about to sign.
        let dropped = keys.inner().keys().await.unwrap()[0].kid.clone();
        h.server.rotate_keys().await.unwrap();
        h.clock.advance(lifetime + Duration::from_secs(1));
        let next = h.server.rotate_keys().await.unwrap();
        let retired = keys
            .inner()
            .keys()
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.kid != dropped && k.kid != next)
            .unwrap()
            .kid;
        let (before, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        let published = {
            let mut p = vec![retired.to_string(), next.to_string()];
            p.sort();
            p
        };
        assert_eq!(jwks_kids(&h).await, published);

        keys.fail(StoreOp::DeleteKey, fault);
        assert!(h.server.purge_keys().await.is_err(), "{fault:?}");
        assert_eq!(keys.failures(StoreOp::DeleteKey), 1);
        keys.heal();

        // Only the dropped key was touched: gone if its delete committed,
        // there otherwise; the published keys are all still there.
        let mut stored: Vec<String> = keys
            .inner()
            .keys()
            .await
            .unwrap()
            .iter()
            .map(|k| k.kid.to_string())
            .collect();
        stored.sort();
        let mut expected = published.clone();
        if !committed(fault) {
            expected.push(dropped.to_string());
            expected.sort();
        }
        assert_eq!(stored, expected, "{fault:?}");
        // The JWKS still serves exactly the published keys, the live token
        // still verifies, and signing still works.
        assert_eq!(jwks_kids(&h).await, published, "{fault:?}");
        assert!(bearer_ok(&h, &before).await, "{fault:?}");
        let (after, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
        assert!(bearer_ok(&h, &after).await, "{fault:?}");
        // Purging again finishes the job.
        let left = u64::from(!committed(fault));
        assert_eq!(h.server.purge_keys().await.unwrap(), left, "{fault:?}");
        assert_eq!(keys.inner().keys().await.unwrap().len(), 2);
        assert_eq!(jwks_kids(&h).await, published);
    }
}

/// How [`DownUsers`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directory {
    /// Checks passwords (alice / wonderland).
    Up,
    /// Fails with a plain error, as [`Fault::Error`] does.
    Error,
    /// Waits, then fails with a timed-out cause, as [`Fault::Timeout`] does.
    Timeout,
    /// Never answers (a hung connection with no timeout of its own).
    Hung,
}

/// A user directory (`PasswordVerifier`) that can be down, counting the
/// checks it was asked for and the failed attempts it was told of.
struct DownUsers {
    users: MemoryUsers,
    state: std::sync::Mutex<Directory>,
    verifies: AtomicUsize,
    failed_attempts: AtomicUsize,
}

#[portcullis::async_trait]
impl PasswordVerifier for DownUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        let state = *self.state.lock().unwrap();
        match state {
            Directory::Up => self.users.verify(username, password).await,
            Directory::Error => Err(StoreError::msg("user directory unreachable")),
            Directory::Timeout => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Err(StoreError::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "user directory timed out",
                )))
            }
            Directory::Hung => std::future::pending().await,
        }
    }
    async fn failed_attempt(&self, _: &ClientId, _: &str) {
        self.failed_attempts.fetch_add(1, Ordering::SeqCst);
    }
}

/// Records the password events a `Throttle` sees.
#[derive(Default)]
struct PasswordEvents(std::sync::Mutex<Vec<String>>);

impl PasswordEvents {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[portcullis::async_trait]
impl Throttle for PasswordEvents {
    async fn attempt(&self, attempt: &Attempt<'_>) -> Verdict {
        if let Some(Account::User(username)) = attempt.account() {
            self.0.lock().unwrap().push(format!("attempt {username}"));
        }
        Verdict::Allow
    }
    async fn settle(&self, attempt: &Attempt<'_>, outcome: Outcome) {
        if let Some(Account::User(username)) = attempt.account() {
            self.0
                .lock()
                .unwrap()
                .push(format!("{outcome:?} {username}"));
        }
    }
}

#[tokio::test]
async fn rb02_a_failing_password_verifier_is_a_500_not_a_failed_attempt() {
    // covers: RB-02, PW-01
    // The host's user directory fails (an error, a timeout) or hangs: the
    // client gets server_error (or, hung, whatever the host's own request
    // timeout answers), no token is stored, and neither the Throttle nor
    // the verifier's own hook hears of a failed attempt: the password was
    // never judged, so an outage locks nobody out, and nothing counts
    // against the user once the directory is back.
    for state in [Directory::Error, Directory::Timeout, Directory::Hung] {
        let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
        users.insert("alice", &Secret::from("wonderland")).unwrap();
        let users = Arc::new(DownUsers {
            users,
            state: std::sync::Mutex::new(state),
            verifies: AtomicUsize::new(0),
            failed_attempts: AtomicUsize::new(0),
        });
        let events = Arc::new(PasswordEvents::default());
        let mut config = config();
        config.grant_types.push(GrantType::Password);
        let (verifier, throttle) = (users.clone(), events.clone());
        let h = Harness::with(config, move |b| {
            b.password_verifier(verifier).throttle(throttle)
        })
        .await;
        let app = h
            .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
            .await;
        let params = [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ];
        if state == Directory::Hung {
            // The core sets no deadline of its own; the host's request
            // timeout drops the future, and nothing is left half done.
            let request = h.token(Auth::Basic(&app), &params);
            let timed_out = tokio::time::timeout(Duration::from_millis(50), request).await;
            assert!(timed_out.is_err(), "a hung verifier cannot answer");
        } else {
            assert_error(
                &h.token(Auth::Basic(&app), &params).await,
                500,
                "server_error",
            );
        }
        assert_eq!(users.verifies.load(Ordering::SeqCst), 1, "{state:?}");
        assert_eq!(h.store.access_token_count(), 0, "{state:?}");
        // Judged nothing: the reservation is released (`Unjudged`), or, when
        // the host dropped the hung request, never settled.
        let settled: &[&str] = if state == Directory::Hung {
            &["attempt alice"]
        } else {
            &["attempt alice", "Unjudged alice"]
        };
        assert_eq!(events.take(), settled, "{state:?}");
        assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 0, "{state:?}");

        // The directory is back: the same request succeeds at once.
        *users.state.lock().unwrap() = Directory::Up;
        let (access, _) = tokens(&h.token(Auth::Basic(&app), &params).await);
        assert!(h.active(&access).await);
        assert_eq!(events.take(), ["attempt alice", "Succeeded alice"]);
        assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 0);
    }
}
