//! Concurrent redemption of one code and concurrent use of one refresh
//! token (AC-04, RT-04): the store's atomic step picks a single winner.
//!
//! The "gated" variants hold every caller just after the store's read step
//! until all of them are there, so all pass the core's checks (code unused,
//! token not rotated) and only the atomic `exchange_code` /
//! `rotate_refresh` can decide. Callers run on 20 OS threads with a runtime
//! each, or as 20 tasks on a 20-worker runtime.

use std::sync::Barrier;

use portcullis::http::Response;

use crate::support::*;

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

/// Exactly one success; every other caller gets `invalid_grant`.
fn assert_one_winner(responses: &[Response]) {
    let winners = responses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(
        winners, 1,
        "exactly one of {N} concurrent requests succeeds"
    );
    for r in responses.iter().filter(|r| r.status() != 200) {
        assert_error(r, 400, "invalid_grant");
    }
}

#[test]
fn ac04_concurrent_redemptions_of_one_code_exactly_one_succeeds() {
    // covers: AC-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt.block_on(Harness::new());
    let svc = rt.block_on(h.svc());
    for round in 0..5 {
        let code = rt.block_on(h.issue_code(CodeSpec::new(SVC)));
        let before = h.store.access_token_count();
        let responses = race(|| h.redeem(Auth::Basic(&svc), &code));
        assert_one_winner(&responses);
        // The losers stored nothing.
        assert!(h.store.access_token_count() <= before + 1, "round {round}");
    }
}

#[test]
fn ac04_concurrent_redemptions_that_all_pass_the_checks_still_have_one_winner() {
    // covers: AC-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (h, flaky) = rt.block_on(Harness::flaky(config()));
    let svc = rt.block_on(h.svc());
    let code = rt.block_on(h.issue_code(CodeSpec::new(SVC)));
    flaky.gate(Op::FindCode, N);
    let responses = race(|| h.redeem(Auth::Basic(&svc), &code));
    assert_one_winner(&responses);
    assert!(h.store.access_token_count() <= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 20)]
async fn ac04_concurrent_redemptions_as_tokio_tasks_exactly_one_succeeds() {
    // covers: AC-04
    let (h, flaky) = Harness::flaky(config()).await;
    let h = std::sync::Arc::new(h);
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    flaky.gate(Op::FindCode, N);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (h, svc, code, start) = (h.clone(), svc.clone(), code.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                h.redeem(Auth::Basic(&svc), &code).await
            })
        })
        .collect();
    let mut responses = Vec::new();
    for t in tasks {
        responses.push(t.await.unwrap());
    }
    assert_one_winner(&responses);
}

/// A fresh grant's refresh token.
async fn refresh_token(h: &Harness, svc: &Creds) -> String {
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (_, refresh) = tokens(&h.redeem(Auth::Basic(svc), &code).await);
    refresh.unwrap()
}

#[test]
fn rt04_concurrent_uses_of_one_refresh_token_at_most_one_succeeds() {
    // covers: RT-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt.block_on(Harness::new());
    let svc = rt.block_on(h.svc());
    for round in 0..5 {
        let refresh = rt.block_on(refresh_token(&h, &svc));
        let before = h.store.access_token_count();
        let responses = race(|| h.refresh(Auth::Basic(&svc), &refresh));
        // At most one (RT-04); with a working store, exactly one.
        assert_one_winner(&responses);
        assert!(h.store.access_token_count() <= before + 1, "round {round}");
    }
}

#[test]
fn rt04_concurrent_uses_that_all_pass_the_checks_still_have_one_winner() {
    // covers: RT-04
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (h, flaky) = rt.block_on(Harness::flaky(config()));
    let svc = rt.block_on(h.svc());
    let refresh = rt.block_on(refresh_token(&h, &svc));
    let before = h.store.access_token_count();
    flaky.gate(Op::FindRefresh, N);
    let responses = race(|| h.refresh(Auth::Basic(&svc), &refresh));
    assert_one_winner(&responses);
    assert!(h.store.access_token_count() <= before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 20)]
async fn rt04_concurrent_uses_as_tokio_tasks_at_most_one_succeeds() {
    // covers: RT-04
    let (h, flaky) = Harness::flaky(config()).await;
    let h = std::sync::Arc::new(h);
    let svc = h.svc().await;
    let refresh = refresh_token(&h, &svc).await;
    flaky.gate(Op::FindRefresh, N);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (h, svc, refresh, start) = (h.clone(), svc.clone(), refresh.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                h.refresh(Auth::Basic(&svc), &refresh).await
            })
        })
        .collect();
    let mut responses = Vec::new();
    for t in tasks {
        responses.push(t.await.unwrap());
    }
    assert_one_winner(&responses);
}
