//! The refresh retry window (issue 18, `Config::refresh_retry_window`):
//! within it a rotated-out refresh token presented again is a retry that
//! gets a fresh pair in the same grant, the pair of its rotation revoked;
//! after it, or once that pair's refresh token was used, it is a replay
//! that revokes the grant (RT-02). Off by default. Concurrent retries have
//! one winner (RT-04); the retry passes every check of a refresh (RT-01,
//! DP-02); a revocation wins (RB-05). The store's side, for every store,
//! is in the conformance suite (`token_store::retry_*`).

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use portcullis::http::Response;
use portcullis::{Cause, Config, Event, EventSink, GrantFault};

use crate::dpop::{DpopKey, TOKEN_URL, public_tokens, refresh_with};
use crate::support::*;

/// A server with a 30 s retry window.
fn window() -> Config {
    let mut c = config();
    c.refresh_retry_window = Some(Duration::from_secs(30));
    c
}

/// Redeems a fresh code of the `svc` client for its tokens.
async fn grant(h: &Harness, svc: &Creds) -> (String, String) {
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(svc), &code).await);
    (access, refresh.expect("refresh token"))
}

/// A successful refresh's access and refresh token.
async fn refreshed(h: &Harness, svc: &Creds, refresh: &str) -> (String, String) {
    let resp = h.refresh(Auth::Basic(svc), refresh).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let (access, refresh) = tokens(&resp);
    (access, refresh.expect("a rotated refresh token"))
}

fn assert_refused(resp: &Response, fault: GrantFault) {
    assert_error(resp, 400, "invalid_grant");
    assert_eq!(resp.cause(), Some(Cause::InvalidGrant(fault)));
}

#[tokio::test]
async fn rt02_off_by_default_a_retry_is_a_replay_that_revokes_the_grant() {
    // covers: RT-02
    assert_eq!(Config::new("https://a.example").refresh_retry_window, None);
    assert_eq!(config().refresh_retry_window, None);
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (access0, refresh0) = grant(&h, &svc).await;
    let (access1, refresh1) = refreshed(&h, &svc, &refresh0).await;
    // At once, as a retry of a lost response would be: a replay.
    let resp = h.refresh(Auth::Basic(&svc), &refresh0).await;
    assert_refused(&resp, GrantFault::RefreshReused);
    for t in [&access0, &access1, &refresh1] {
        assert!(!h.active(t).await, "the whole grant is revoked");
    }
}

#[tokio::test]
async fn rt02_a_retry_within_the_window_gets_a_working_pair_and_revokes_the_previous() {
    // covers: RT-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let (access0, refresh0) = grant(&h, &svc).await;
    let (access1, refresh1) = refreshed(&h, &svc, &refresh0).await;
    h.clock.advance(Duration::from_secs(10));
    // The response was lost: the client retries with the old token.
    let (access2, refresh2) = refreshed(&h, &svc, &refresh0).await;
    assert_ne!(access2, access1);
    assert_ne!(refresh2, refresh1);
    assert!(h.active(&access2).await);
    assert!(
        !h.active(&access1).await,
        "the rotation's access token is revoked"
    );
    assert!(
        !h.active(&refresh1).await,
        "the rotation's refresh token is used up"
    );
    // Access tokens issued before the rotation are untouched, as by any
    // rotation.
    assert!(h.active(&access0).await);
    // The same grant, the same scope.
    let a1 = h.introspect(&access2).await;
    assert_eq!(a1["scope"], "read write");
    assert_eq!(h.introspect(&refresh2).await["scope"], "read write");
    // The new refresh token rotates as usual.
    let (access3, refresh3) = refreshed(&h, &svc, &refresh2).await;
    assert!(h.active(&access3).await);
    // The revoked successor presented later is a replay: the grant goes.
    let resp = h.refresh(Auth::Basic(&svc), &refresh1).await;
    assert_refused(&resp, GrantFault::RefreshReused);
    for t in [&access0, &access2, &access3, &refresh3] {
        assert!(!h.active(t).await, "the whole grant is revoked");
    }
}

#[tokio::test]
async fn rt02_a_retry_after_the_window_is_a_replay() {
    // covers: RT-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let (_, refresh0) = grant(&h, &svc).await;
    let (access1, refresh1) = refreshed(&h, &svc, &refresh0).await;
    // The window is [rotation, rotation + 30 s).
    h.clock.advance(Duration::from_secs(30));
    let resp = h.refresh(Auth::Basic(&svc), &refresh0).await;
    assert_refused(&resp, GrantFault::RefreshReused);
    assert!(!h.active(&access1).await && !h.active(&refresh1).await);
}

#[tokio::test]
async fn rt02_a_retry_after_the_successor_was_used_is_a_replay() {
    // covers: RT-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let (_, refresh0) = grant(&h, &svc).await;
    let (_, refresh1) = refreshed(&h, &svc, &refresh0).await;
    // The client got the answer and used it: the chain moved on.
    let (access2, refresh2) = refreshed(&h, &svc, &refresh1).await;
    h.clock.advance(Duration::from_secs(1));
    let resp = h.refresh(Auth::Basic(&svc), &refresh0).await;
    assert_refused(&resp, GrantFault::RefreshReused);
    assert!(!h.active(&access2).await && !h.active(&refresh2).await);
    // The token before the newest is in its own window, but the grant is
    // gone.
    let resp = h.refresh(Auth::Basic(&svc), &refresh1).await;
    assert_refused(&resp, GrantFault::Unknown);
}

#[tokio::test]
async fn rt02_the_window_does_not_slide_with_retries() {
    // covers: RT-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let (_, refresh0) = grant(&h, &svc).await;
    refreshed(&h, &svc, &refresh0).await;
    h.clock.advance(Duration::from_secs(20));
    refreshed(&h, &svc, &refresh0).await;
    h.clock.advance(Duration::from_secs(9));
    let (access, refresh) = refreshed(&h, &svc, &refresh0).await;
    // 30 s after the first rotation, not after the last retry.
    h.clock.advance(Duration::from_secs(1));
    let resp = h.refresh(Auth::Basic(&svc), &refresh0).await;
    assert_refused(&resp, GrantFault::RefreshReused);
    assert!(!h.active(&access).await && !h.active(&refresh).await);
}

#[tokio::test]
async fn rt01_a_retry_is_bound_to_its_client_and_its_dpop_key() {
    // covers: RT-01, DP-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let other = h.confidential("other", "other-secret", |b| b).await;
    let (_, refresh0) = grant(&h, &svc).await;
    let (access1, _) = refreshed(&h, &svc, &refresh0).await;
    // Another client, or none authenticated: refused, nothing revoked or
    // replaced.
    let resp = h.refresh(Auth::Basic(&other), &refresh0).await;
    assert_refused(&resp, GrantFault::ClientMismatch);
    assert_error(
        &h.refresh(Auth::IdOnly(&svc), &refresh0).await,
        401,
        "invalid_client",
    );
    assert!(h.active(&access1).await);

    // A public client's DPoP-bound refresh token: a retry needs a proof of
    // its key, as a refresh does.
    h.public("app", |b| b).await;
    let key = DpopKey::es256();
    let (_, refresh0) = public_tokens(&h, &key).await;
    let resp = refresh_with(&h, None, &refresh0, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    let (access1, _) = tokens(&resp);
    let thief = DpopKey::es256();
    let resp = refresh_with(&h, None, &refresh0, &[&thief.proof("POST", TOKEN_URL)]).await;
    assert_refused(&resp, GrantFault::DpopKeyMismatch);
    assert!(h.active(&access1).await, "a refused retry replaces nothing");
    let resp = refresh_with(&h, None, &refresh0, &[&key.proof("POST", TOKEN_URL)]).await;
    assert_eq!(resp.status(), 200, "{:?}", json(&resp));
    assert_eq!(json(&resp)["token_type"], "DPoP");
    assert!(!h.active(&access1).await);
}

#[tokio::test]
async fn rb05_after_a_revocation_a_retry_is_refused() {
    // covers: RB-05, RV-02
    let h = Harness::with_config(window()).await;
    let svc = h.svc().await;
    let (_, refresh0) = grant(&h, &svc).await;
    let (_, refresh1) = refreshed(&h, &svc, &refresh0).await;
    // The client revokes its refresh token, and with it the grant.
    let resp = h
        .revoke(
            Auth::Basic(&svc),
            &[("token", &refresh1), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = h.refresh(Auth::Basic(&svc), &refresh0).await;
    assert_refused(&resp, GrantFault::Unknown);
}

#[tokio::test]
async fn the_builder_refuses_a_window_out_of_range() {
    // covers: RT-02
    for bad in [
        Duration::ZERO,
        Duration::from_millis(1500),
        Duration::from_secs(301),
    ] {
        let mut c = config();
        c.refresh_retry_window = Some(bad);
        let built = portcullis::AuthorizationServer::builder(c)
            .store(Arc::new(portcullis::MemoryStore::new()))
            .build();
        assert!(
            matches!(
                built,
                Err(portcullis::ConfigError::InvalidLifetime(
                    "the refresh retry window"
                ))
            ),
            "{bad:?}"
        );
    }
    let mut c = config();
    c.refresh_retry_window = Some(Config::MAX_REFRESH_RETRY_WINDOW);
    assert!(
        portcullis::AuthorizationServer::builder(c)
            .store(Arc::new(portcullis::MemoryStore::new()))
            .build()
            .is_ok()
    );
}

/// Events by name.
#[derive(Default)]
struct Names(Mutex<Vec<&'static str>>);

impl EventSink for Names {
    fn event(&self, event: &Event<'_>) {
        self.0.lock().unwrap().push(event.name());
    }
}

#[tokio::test]
async fn a_retry_is_reported_to_the_host() {
    // covers: RB-03
    let names = Arc::new(Names::default());
    let sink = names.clone();
    let h = Harness::with(window(), move |b| b.events(sink)).await;
    let svc = h.svc().await;
    let (_, refresh0) = grant(&h, &svc).await;
    refreshed(&h, &svc, &refresh0).await;
    names.0.lock().unwrap().clear();
    refreshed(&h, &svc, &refresh0).await;
    assert_eq!(
        *names.0.lock().unwrap(),
        ["refresh_retried", "refresh_rotated"]
    );
}

const N: usize = 20;

/// Runs `request` on `N` OS threads at once, each with its own runtime.
fn race<'h, F, Fut>(request: F) -> Vec<Response>
where
    F: Fn() -> Fut + Sync + 'h,
    Fut: std::future::Future<Output = Response> + 'h,
{
    let start = Barrier::new(N);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|_| {
                s.spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    start.wait();
                    rt.block_on(request())
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

/// One success; the others refused as having lost the race, without
/// revoking the grant: the winner's tokens stay live.
fn one_winner_grant_kept(h: &Harness, rt: &tokio::runtime::Runtime, responses: &[Response]) {
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status() == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {N} concurrent requests wins"
    );
    for r in responses.iter().filter(|r| r.status() != 200) {
        assert_refused(r, GrantFault::RefreshRaced);
    }
    let (access, refresh) = tokens(winners[0]);
    assert!(rt.block_on(h.active(&access)));
    assert!(rt.block_on(h.active(&refresh.unwrap())));
}

#[test]
fn rt04_concurrent_retries_within_the_window_have_one_winner() {
    // covers: RT-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (h, flaky) = rt.block_on(Harness::flaky(window()));
    let svc = rt.block_on(h.svc());
    let (_, refresh0) = rt.block_on(grant(&h, &svc));
    let (access1, _) = rt.block_on(refreshed(&h, &svc, &refresh0));
    // Every retry reads the old token before any replaces its successor.
    flaky.gate(Op::FindRefresh, N);
    let responses = race(|| h.refresh(Auth::Basic(&svc), &refresh0));
    one_winner_grant_kept(&h, &rt, &responses);
    assert!(!rt.block_on(h.active(&access1)));
}

#[test]
fn rt04_concurrent_first_uses_within_the_window_have_one_winner_and_keep_the_grant() {
    // covers: RT-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (h, flaky) = rt.block_on(Harness::flaky(window()));
    let svc = rt.block_on(h.svc());
    let (_, refresh0) = rt.block_on(grant(&h, &svc));
    // All pass the core's checks (token unused); the rotation decides.
    flaky.gate(Op::FindRefresh, N);
    let responses = race(|| h.refresh(Auth::Basic(&svc), &refresh0));
    one_winner_grant_kept(&h, &rt, &responses);
}

#[cfg(feature = "serde")]
#[test]
fn a_configuration_file_sets_the_window_in_seconds() {
    // covers: RT-02
    let read: Config = serde_json::from_value(serde_json::json!({
        "issuer": "https://auth.example.com",
        "refresh_retry_window": "30s",
    }))
    .unwrap();
    assert_eq!(read.refresh_retry_window, Some(Duration::from_secs(30)));
    let doc = serde_json::to_value(&read).unwrap();
    assert_eq!(doc["refresh_retry_window"], 30);
    assert_eq!(serde_json::from_value::<Config>(doc).unwrap(), read);
    // Absent: off.
    let off: Config =
        serde_json::from_value(serde_json::json!({"issuer": "https://auth.example.com"})).unwrap();
    assert_eq!(off.refresh_retry_window, None);
    let too_long = serde_json::from_value::<Config>(serde_json::json!({
        "issuer": "https://auth.example.com",
        "refresh_retry_window": "6m",
    }))
    .unwrap_err();
    assert!(
        too_long
            .to_string()
            .contains("lifetime of the refresh retry window out of range"),
        "{too_long}"
    );
}
