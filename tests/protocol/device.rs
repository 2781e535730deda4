//! The device authorization grant (RFC 8628): the device authorization
//! endpoint (DV-01), polling the token endpoint (DV-02) and the user step
//! (DV-03), through the public API. DPoP proofs are made with
//! `jsonwebtoken` (`dpop.rs`'s key).

use std::sync::Arc;
use std::time::Duration;

use portcullis::http::{Method, Request, Response, Source};
use portcullis::{
    Client, DeviceState, DeviceStore, DeviceVerificationError, GrantType, MemoryThrottle,
    ThrottleLimits, TokenHash, TokenStore, UserId,
};
use serde_json::{Value, json};

use crate::dpop::DpopKey;
use crate::support::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TV: &str = "device-tv";

/// A server offering the device grant, with the public client `device-tv`
/// (device code and refresh token, scope `read write`, default `read`).
async fn fixture() -> (Harness, Creds) {
    fixture_with(|b| b).await
}

async fn fixture_with(
    extra: impl FnOnce(portcullis::ServerBuilder) -> portcullis::ServerBuilder,
) -> (Harness, Creds) {
    let h = Harness::with_devices(config(), extra).await;
    let tv = Client::public(id(TV))
        .grant_type(GrantType::DeviceCode)
        .grant_type(GrantType::RefreshToken)
        .scope(scope("read write"))
        .default_scope(scope("read"))
        .build()
        .unwrap();
    h.register(tv).await;
    let creds = Creds {
        id: TV.to_owned(),
        secret: None,
    };
    (h, creds)
}

/// POSTs `params` to the device authorization endpoint.
async fn authorize_device(h: &Harness, auth: Auth<'_>, params: &[(&str, &str)]) -> Response {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    let header = match auth {
        Auth::Basic(c) => Some(c.basic()),
        Auth::IdOnly(c) => {
            pairs.push(("client_id", &c.id));
            None
        }
        Auth::Post(c) => {
            pairs.push(("client_id", &c.id));
            pairs.push(("client_secret", c.secret.as_deref().unwrap_or("")));
            None
        }
        Auth::Nothing => None,
        Auth::Header(v) => Some(v.to_owned()),
    };
    let body = form(&pairs);
    let req = form_request(body.as_bytes(), header.as_deref().map(str::as_bytes));
    h.server
        .handle(&req, &h.server.config().paths.device_authorization)
        .await
}

/// A device authorization of `device-tv` for `scope`: its JSON answer.
async fn start(h: &Harness, tv: &Creds, scope: &str) -> Value {
    let r = authorize_device(h, Auth::IdOnly(tv), &[("scope", scope)]).await;
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
    json(&r)
}

/// One poll of the token endpoint with `device_code`.
async fn poll(h: &Harness, tv: &Creds, device_code: &str) -> Response {
    h.token(
        Auth::IdOnly(tv),
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
    )
    .await
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

/// Approves the device with `user_code` as alice, through the user step.
async fn approve(h: &Harness, user_code: &str) {
    let pending = h
        .server
        .device_user_code(user_code, &signed_in(&alice()), None)
        .await
        .unwrap();
    h.server.approve_device(pending).await.unwrap();
}

#[tokio::test]
async fn the_endpoint_answers_every_member_and_keeps_only_hashes() {
    // covers: DV-01
    let (h, tv) = fixture().await;
    let r = authorize_device(&h, Auth::IdOnly(&tv), &[("scope", "read write")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = json(&r);
    let device_code = body["device_code"].as_str().unwrap();
    // 256 bits, base64url without padding.
    assert_eq!(device_code.len(), 43);
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(body["verification_uri"], format!("{ISSUER}/device"));
    assert_eq!(
        body["verification_uri_complete"],
        format!("{ISSUER}/device?user_code={user_code}")
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    // Stored by the hash of the device code, with the scope asked for.
    let record = h
        .store
        .find_device(&TokenHash::of(device_code))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.scope, scope("read write"));
    assert_eq!(record.state, DeviceState::Pending);
    assert_eq!(record.client_id, id(TV));
    assert_ne!(record.user_code, TokenHash::of(user_code));
    // The default scope without `scope`.
    let body = start(&h, &tv, "read").await;
    assert_ne!(body["user_code"], user_code);
}

#[tokio::test]
async fn clients_authenticate_as_at_the_token_endpoint_and_scope_is_checked() {
    // covers: DV-01
    let (h, tv) = fixture().await;
    let svc = h
        .confidential("tv-backend", "tv-secret-123", |b| {
            b.grant_type(GrantType::DeviceCode)
        })
        .await;
    assert_eq!(
        authorize_device(&h, Auth::Basic(&svc), &[]).await.status(),
        200
    );
    // Its registered method only, as at the token endpoint (CA-07).
    let r = authorize_device(&h, Auth::Post(&svc), &[]).await;
    assert_error(&r, 401, "invalid_client");
    let wrong = Creds {
        id: svc.id.clone(),
        secret: Some("wrong".into()),
    };
    let r = authorize_device(&h, Auth::Basic(&wrong), &[]).await;
    assert_error(&r, 401, "invalid_client");
    // A confidential client cannot present its id alone.
    let r = authorize_device(&h, Auth::IdOnly(&svc), &[]).await;
    assert_error(&r, 401, "invalid_client");
    let r = authorize_device(&h, Auth::Nothing, &[]).await;
    assert_error(&r, 401, "invalid_client");
    // Not registered for the device grant.
    let other = h.svc().await;
    let r = authorize_device(&h, Auth::Basic(&other), &[]).await;
    assert_error(&r, 400, "unauthorized_client");
    // Scope beyond the client's.
    let r = authorize_device(&h, Auth::IdOnly(&tv), &[("scope", "read admin")]).await;
    assert_error(&r, 400, "invalid_scope");
    // POST only, with a form.
    let get = Request::new(Method::Get);
    let r = h
        .server
        .handle(&get, &h.server.config().paths.device_authorization)
        .await;
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn metadata_names_the_endpoint_only_when_the_grant_is_offered() {
    // covers: DV-01
    let (h, _) = fixture().await;
    let m = json(&h.server.metadata());
    assert_eq!(
        m["device_authorization_endpoint"],
        format!("{ISSUER}/device_authorization")
    );
    assert!(
        m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT))
    );
    let plain = Harness::new().await;
    let m = json(&plain.server.metadata());
    assert!(m.get("device_authorization_endpoint").is_none());
    assert!(
        !m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT))
    );
    let r = plain
        .server
        .handle(
            &form_request(b"client_id=x", None),
            &plain.server.config().paths.device_authorization,
        )
        .await;
    assert_eq!(r.status(), 404);
    // Offering the grant without a device store does not build.
    let mut config = config();
    config.grant_types.push(GrantType::DeviceCode);
    let err = portcullis::AuthorizationServer::builder(config)
        .store(Arc::new(portcullis::MemoryStore::new()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("DeviceStore"), "{err}");
}

#[tokio::test]
async fn polling_answers_pending_slow_down_and_then_tokens_once() {
    // covers: DV-02
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read").await;
    let code = body["device_code"].as_str().unwrap();
    let user_code = body["user_code"].as_str().unwrap();
    assert_error(&poll(&h, &tv, code).await, 400, "authorization_pending");
    // Again at once: too fast, and the interval grows by 5 s, in the store.
    assert_error(&poll(&h, &tv, code).await, 400, "slow_down");
    let interval = |h: &Harness| {
        let store = h.store.clone();
        let code = code.to_owned();
        async move {
            store
                .find_device(&TokenHash::of(&code))
                .await
                .unwrap()
                .unwrap()
                .interval
        }
    };
    assert_eq!(interval(&h).await, Duration::from_secs(10));
    // 5 s later is still too soon for the new interval.
    h.clock.advance(Duration::from_secs(5));
    assert_error(&poll(&h, &tv, code).await, 400, "slow_down");
    assert_eq!(interval(&h).await, Duration::from_secs(15));
    h.clock.advance(Duration::from_secs(15));
    assert_error(&poll(&h, &tv, code).await, 400, "authorization_pending");
    approve(&h, user_code).await;
    h.clock.advance(Duration::from_secs(15));
    let r = poll(&h, &tv, code).await;
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
    let (access, refresh) = tokens(&r);
    assert!(refresh.is_some(), "the client may refresh");
    assert_eq!(json(&r)["scope"], "read");
    assert!(h.active(&access).await);
    assert_eq!(h.introspect(&access).await["sub"], "alice");
    // Single use.
    h.clock.advance(Duration::from_secs(15));
    assert_error(&poll(&h, &tv, code).await, 400, "invalid_grant");
}

#[tokio::test]
async fn a_device_code_is_bound_to_its_client_and_expires() {
    // covers: DV-02
    let (h, tv) = fixture().await;
    let other = h
        .public("other-tv", |b| b.grant_type(GrantType::DeviceCode))
        .await;
    let body = start(&h, &tv, "read").await;
    let code = body["device_code"].as_str().unwrap();
    assert_error(&poll(&h, &other, code).await, 400, "invalid_grant");
    // Another client's poll does not count as the device's.
    assert_error(&poll(&h, &tv, code).await, 400, "authorization_pending");
    assert_error(
        &poll(&h, &tv, "not-a-device-code").await,
        400,
        "invalid_grant",
    );
    let r = h
        .token(Auth::IdOnly(&tv), &[("grant_type", DEVICE_GRANT)])
        .await;
    assert_error(&r, 400, "invalid_request");
    approve(&h, body["user_code"].as_str().unwrap()).await;
    h.clock.advance(Duration::from_secs(600));
    assert_error(&poll(&h, &tv, code).await, 400, "expired_token");
    // A client not registered for the grant.
    let svc = h.svc().await;
    let r = h
        .token(
            Auth::Basic(&svc),
            &[("grant_type", DEVICE_GRANT), ("device_code", code)],
        )
        .await;
    assert_error(&r, 400, "unauthorized_client");
}

#[tokio::test]
async fn a_denied_device_gets_access_denied() {
    // covers: DV-02, DV-03
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read").await;
    let code = body["device_code"].as_str().unwrap();
    let pending = h
        .server
        .device_user_code(
            body["user_code"].as_str().unwrap(),
            &signed_in(&alice()),
            None,
        )
        .await
        .unwrap();
    h.server.deny_device(pending).await.unwrap();
    assert_error(&poll(&h, &tv, code).await, 400, "access_denied");
    // Decided: the user code finds nothing any more.
    let again = h
        .server
        .device_user_code(
            body["user_code"].as_str().unwrap(),
            &signed_in(&alice()),
            None,
        )
        .await;
    assert!(matches!(
        again,
        Err(DeviceVerificationError::InvalidUserCode)
    ));
}

#[tokio::test]
async fn the_user_step_shows_client_and_scope_and_matches_codes_loosely() {
    // covers: DV-03
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read write").await;
    let user_code = body["user_code"].as_str().unwrap();
    // Lower case, without the dash, with spaces.
    let typed = format!(" {} ", user_code.replace('-', " ").to_lowercase());
    let pending = h
        .server
        .device_user_code(&typed, &signed_in(&alice()), None)
        .await
        .unwrap();
    assert_eq!(pending.client().client_id().as_str(), TV);
    assert_eq!(pending.scope(), &scope("read write"));
    assert_eq!(pending.user(), &alice());
    for wrong in ["", "BCDF-GHJK", "not a code", "BCDF-GHJK-LMNP"] {
        let r = h
            .server
            .device_user_code(wrong, &signed_in(&alice()), None)
            .await;
        assert!(
            matches!(r, Err(DeviceVerificationError::InvalidUserCode)),
            "{wrong}"
        );
    }
    // Expired: nothing to show.
    h.clock.advance(Duration::from_secs(600));
    let r = h
        .server
        .device_user_code(user_code, &signed_in(&alice()), None)
        .await;
    assert!(matches!(r, Err(DeviceVerificationError::InvalidUserCode)));
}

#[tokio::test]
async fn the_confirmation_handle_is_bound_to_the_user_and_works_once() {
    // covers: DV-03
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read").await;
    let user_code = body["user_code"].as_str().unwrap();
    let alice_auth = signed_in(&alice());
    let pending = h
        .server
        .device_user_code(user_code, &alice_auth, None)
        .await
        .unwrap();
    let handle = h.server.suspend_device(&pending).await.unwrap();
    // Another user (a forged form in their browser) is refused, and the
    // handle is used up.
    let mallory = signed_in(&UserId::parse("mallory").unwrap());
    let r = h
        .server
        .resume_device(handle.expose_secret(), &mallory)
        .await;
    assert!(matches!(
        r,
        Err(DeviceVerificationError::ConfirmationRefused)
    ));
    let r = h
        .server
        .resume_device(handle.expose_secret(), &alice_auth)
        .await;
    assert!(matches!(
        r,
        Err(DeviceVerificationError::ConfirmationRefused)
    ));
    // A fresh handle, for alice: works once.
    let handle = h.server.suspend_device(&pending).await.unwrap();
    let resumed = h
        .server
        .resume_device(handle.expose_secret(), &alice_auth)
        .await
        .unwrap();
    assert_eq!(resumed.user(), &alice());
    let r = h
        .server
        .resume_device(handle.expose_secret(), &alice_auth)
        .await;
    assert!(matches!(
        r,
        Err(DeviceVerificationError::ConfirmationRefused)
    ));
    for junk in ["", "x", &"a".repeat(43)] {
        let r = h.server.resume_device(junk, &alice_auth).await;
        assert!(matches!(
            r,
            Err(DeviceVerificationError::ConfirmationRefused)
        ));
    }
    h.server.approve_device(resumed).await.unwrap();
    // Decided once: the first pending is stale now.
    assert!(matches!(
        h.server.approve_device(pending).await,
        Err(DeviceVerificationError::InvalidUserCode)
    ));
    let r = poll(&h, &tv, body["device_code"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_issues_tokens_exactly_once_under_concurrent_polls() {
    // covers: DV-03
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read").await;
    let code = body["device_code"].as_str().unwrap().to_owned();
    approve(&h, body["user_code"].as_str().unwrap()).await;
    let before = h.store.access_token_count();
    let polls: Vec<_> = (0..20)
        .map(|_| {
            let server = h.server.clone();
            let (code, tv) = (code.clone(), tv.clone());
            tokio::spawn(async move {
                let body = form(&[
                    ("grant_type", DEVICE_GRANT),
                    ("device_code", &code),
                    ("client_id", &tv.id),
                ]);
                let req = form_request(body.as_bytes(), None);
                server.token(&req).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for p in polls {
        statuses.push(p.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400));
    assert_eq!(h.store.access_token_count(), before + 1);
}

#[tokio::test]
async fn guessing_user_codes_is_throttled() {
    // covers: DV-03
    let mut limits = ThrottleLimits::default();
    limits.per_account_and_source = 3;
    let throttle = Arc::new(MemoryThrottle::new(limits));
    let (h, tv) = fixture_with(|b| b.throttle(throttle.clone())).await;
    let body = start(&h, &tv, "read").await;
    let user_code = body["user_code"].as_str().unwrap();
    let mallory = signed_in(&UserId::parse("mallory").unwrap());
    let source = Some(Source::Ip("203.0.113.7".parse().unwrap()));
    for guess in ["BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM"] {
        let r = h.server.device_user_code(guess, &mallory, source).await;
        assert!(matches!(r, Err(DeviceVerificationError::InvalidUserCode)));
    }
    // Over the limit: even the right code looks wrong, nothing is checked.
    let r = h.server.device_user_code(user_code, &mallory, source).await;
    assert!(matches!(r, Err(DeviceVerificationError::InvalidUserCode)));
    // Another user at another address is not locked out.
    let other = Some(Source::Ip("198.51.100.1".parse().unwrap()));
    assert!(
        h.server
            .device_user_code(user_code, &signed_in(&alice()), other)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_dpop_proof_binds_the_device_tokens() {
    // covers: DV-02
    let (h, tv) = fixture().await;
    let body = start(&h, &tv, "read").await;
    let code = body["device_code"].as_str().unwrap();
    approve(&h, body["user_code"].as_str().unwrap()).await;
    let key = DpopKey::es256();
    let proof = key.sign(&json!({
        "jti": "device-proof-1",
        "htm": "POST",
        "htu": format!("{ISSUER}/token"),
        "iat": T0,
    }));
    let form_body = form(&[
        ("grant_type", DEVICE_GRANT),
        ("device_code", code),
        ("client_id", TV),
    ]);
    let req = form_request(form_body.as_bytes(), None).header("DPoP", proof.as_bytes());
    let r = h.server.token(&req).await;
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
    let t = json(&r);
    assert_eq!(t["token_type"], "DPoP");
    let record = h
        .store
        .find_access(&TokenHash::of(t["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.dpop_jkt.map(|j| j.as_str().to_owned()),
        Some(key.thumbprint())
    );
}

#[tokio::test]
async fn a_confidential_device_client_gets_its_tokens_too() {
    // covers: DV-01, DV-02
    let (h, _) = fixture().await;
    let svc = h
        .confidential("tv-backend", "tv-secret-123", |b| {
            b.grant_type(GrantType::DeviceCode)
        })
        .await;
    let r = authorize_device(&h, Auth::Basic(&svc), &[("scope", "write")]).await;
    let body = json(&r);
    approve(&h, body["user_code"].as_str().unwrap()).await;
    let r = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", body["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(&r)["scope"], "write");
}

#[test]
fn the_polling_error_codes_are_wire_values() {
    // covers: DV-02
    use portcullis::ErrorCode;
    for (code, wire) in [
        (ErrorCode::AuthorizationPending, "authorization_pending"),
        (ErrorCode::SlowDown, "slow_down"),
        (ErrorCode::ExpiredToken, "expired_token"),
    ] {
        assert_eq!(code.as_str(), wire);
        assert_eq!(wire.parse::<ErrorCode>().unwrap(), code);
        assert_eq!(code.status(), 400);
    }
}

#[tokio::test]
async fn a_failed_redemption_leaves_the_approval_for_the_next_poll() {
    // covers: DV-03, RB-02
    // #18: the redemption and its tokens are one store step. Failed before
    // the write (an error, a timeout), nothing is stored and the approval
    // stays: the next poll gets the tokens. Failed after the write (the
    // commit's acknowledgement lost), the code is spent with its tokens,
    // which were never delivered and exist only as hashes; the next poll
    // is `invalid_grant`, as for a code (docs/security.md, "Store
    // failures").
    use portcullis::stores::{Fault, StoreOp};
    for fault in [
        Fault::Error,
        Fault::Timeout(Duration::from_millis(5)),
        Fault::AfterWrite,
    ] {
        let (h, faulty) = Harness::with_faulty_devices(config()).await;
        let tv = Client::public(id(TV))
            .grant_type(GrantType::DeviceCode)
            .scope(scope("read write"))
            .default_scope(scope("read"))
            .build()
            .unwrap();
        h.register(tv).await;
        let tv = Creds {
            id: TV.to_owned(),
            secret: None,
        };
        let body = start(&h, &tv, "read").await;
        let code = body["device_code"].as_str().unwrap().to_owned();
        approve(&h, body["user_code"].as_str().unwrap()).await;
        faulty.fail_once(StoreOp::RedeemDevice, fault);
        assert_error(&poll(&h, &tv, &code).await, 500, "server_error");
        let state = h
            .store
            .find_device(&TokenHash::of(&code))
            .await
            .unwrap()
            .unwrap()
            .state;
        h.clock.advance(Duration::from_secs(5));
        if fault == Fault::AfterWrite {
            assert_eq!(state, DeviceState::Redeemed, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 1, "{fault:?}");
            assert_error(&poll(&h, &tv, &code).await, 400, "invalid_grant");
        } else {
            assert!(
                matches!(state, DeviceState::Approved { .. }),
                "{fault:?}: {state:?}"
            );
            assert_eq!(h.store.access_token_count(), 0, "{fault:?}");
            let r = poll(&h, &tv, &code).await;
            assert_eq!(r.status(), 200, "{fault:?}");
            let (access, _) = tokens(&r);
            assert!(h.active(&access).await, "{fault:?}");
            assert_eq!(h.store.access_token_count(), 1, "{fault:?}");
        }
        // After the write the second poll sees the code redeemed and
        // never reaches the redemption.
        let calls = if fault == Fault::AfterWrite { 1 } else { 2 };
        assert_eq!(faulty.calls(StoreOp::RedeemDevice), calls, "{fault:?}");
    }
}
