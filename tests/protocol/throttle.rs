//! Throttling hooks (PW-01, CA-06; RFC 6749 §2.3.1, §4.3.2, §10.10): failed
//! client authentications and password-grant attempts reach the host's
//! `Throttle`, keyed by client and user, and the host can refuse an
//! attempt before the secret or password is checked.

use std::time::Duration;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portcullis::{
    ClientId, Clock, FixedClock, GrantType, MemoryUsers, PasswordVerifier, Secret, StoreError,
    Throttle, UserId, Verdict,
};

use crate::support::*;

/// Records every event; refuses the clients and users it is told to.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    refuse_clients: Mutex<Vec<String>>,
    refuse_users: Mutex<Vec<String>>,
}

impl Recorder {
    fn events(&self) -> Vec<String> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
    fn push(&self, e: String) {
        self.events.lock().unwrap().push(e);
    }
    fn refuse_client(&self, c: &str) {
        self.refuse_clients.lock().unwrap().push(c.into());
    }
    fn refuse_user(&self, u: &str) {
        self.refuse_users.lock().unwrap().push(u.into());
    }
}

fn name(c: Option<&ClientId>) -> String {
    c.map_or("-".into(), |c| c.as_str().to_owned())
}

#[async_trait]
impl Throttle for Recorder {
    async fn check_client(&self, client_id: &ClientId) -> Verdict {
        self.push(format!("check {}", client_id.as_str()));
        if self
            .refuse_clients
            .lock()
            .unwrap()
            .iter()
            .any(|c| c == client_id.as_str())
        {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
    async fn client_authentication_failed(&self, client_id: Option<&ClientId>) {
        self.push(format!("failed {}", name(client_id)));
    }
    async fn client_authenticated(&self, client_id: &ClientId) {
        self.push(format!("ok {}", client_id.as_str()));
    }
    async fn check_password(&self, client_id: &ClientId, username: &str) -> Verdict {
        self.push(format!("check-password {} {username}", client_id.as_str()));
        if self
            .refuse_users
            .lock()
            .unwrap()
            .iter()
            .any(|u| u == username)
        {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
    async fn password_failed(&self, client_id: &ClientId, username: &str) {
        self.push(format!("password-failed {} {username}", client_id.as_str()));
    }
    async fn password_accepted(&self, client_id: &ClientId, username: &str) {
        self.push(format!("password-ok {} {username}", client_id.as_str()));
    }
}

/// `MemoryUsers` counting how often a password is actually checked.
struct CountedUsers {
    users: MemoryUsers,
    checks: AtomicUsize,
    failed_attempts: AtomicUsize,
}

#[async_trait]
impl PasswordVerifier for CountedUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.users.verify(username, password).await
    }
    async fn failed_attempt(&self, _: &ClientId, _: &str) {
        self.failed_attempts.fetch_add(1, Ordering::SeqCst);
    }
}

async fn harness(throttle: Arc<dyn Throttle>) -> (Harness, Arc<FlakyStore>, Arc<CountedUsers>) {
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    let users = Arc::new(CountedUsers {
        users,
        checks: AtomicUsize::new(0),
        failed_attempts: AtomicUsize::new(0),
    });
    let verifier: Arc<dyn PasswordVerifier> = users.clone();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let (h, flaky) = Harness::flaky_with(config, move |b| {
        b.password_verifier(verifier).throttle(throttle)
    })
    .await;
    (h, flaky, users)
}

#[tokio::test]
async fn th01_client_authentication_failures_reach_the_hook_keyed_by_client() {
    // covers: CA-06, PW-01
    let rec = Arc::new(Recorder::default());
    let (h, _, _) = harness(rec.clone()).await;
    let svc = h.svc().await;
    register_jwt_client(&h, "jwt-client").await;
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("wrong".into()),
    };
    let ghost = Creds {
        id: "ghost".into(),
        secret: Some("whatever".into()),
    };
    for endpoint in ENDPOINTS {
        let params: &[(&str, &str)] = match endpoint {
            Endpoint::Token => &[("grant_type", "client_credentials")],
            _ => &[("token", "t")],
        };
        // Wrong secret, by Basic and in the body.
        for auth in [Auth::Basic(&wrong), Auth::Post(&wrong)] {
            assert_error(
                &call(&h.server, endpoint, auth, params).await,
                401,
                "invalid_client",
            );
            assert_eq!(
                rec.events(),
                [format!("check {SVC}"), format!("failed {SVC}")]
            );
        }
        // An unknown client is pre-checked and reported the same way.
        let r = call(&h.server, endpoint, Auth::Basic(&ghost), params).await;
        assert_error(&r, 401, "invalid_client");
        assert_eq!(rec.events(), ["check ghost", "failed ghost"]);
        // Garbage credentials: reported without an id, nothing to pre-check.
        let r = call(&h.server, endpoint, Auth::Header("Basic !!!"), params).await;
        assert_error(&r, 401, "invalid_client");
        assert_eq!(rec.events(), ["failed -"]);
        // Success.
        let r = call(&h.server, endpoint, Auth::Basic(&svc), params).await;
        assert!(r.status() < 300, "{endpoint:?}");
        assert_eq!(rec.events(), [format!("check {SVC}"), format!("ok {SVC}")]);
    }
    // Assertions: pre-checked under their `iss`, bad signature and replay
    // reported.
    let bad = hs256_assertion("jwt-client", "not-the-secret-0123456789abcdef-xyz", "j1");
    assert_error(&assertion_request(&h, &bad).await, 401, "invalid_client");
    assert_eq!(rec.events(), ["check jwt-client", "failed jwt-client"]);
    let good = hs256_assertion("jwt-client", HMAC_SECRET, "j2");
    tokens(&assertion_request(&h, &good).await);
    assert_eq!(rec.events(), ["check jwt-client", "ok jwt-client"]);
    assert_error(&assertion_request(&h, &good).await, 401, "invalid_client");
    assert_eq!(rec.events(), ["check jwt-client", "failed jwt-client"]);
    // Malformed requests that guess nothing are not failures.
    let r = h
        .token(
            Auth::Basic(&svc),
            &[("grant_type", "client_credentials"), ("client_secret", "x")],
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(rec.events(), Vec::<String>::new());
}

#[tokio::test]
async fn th01_a_refused_attempt_is_not_checked_and_looks_like_a_wrong_secret() {
    // covers: CA-06, PW-01
    let rec = Arc::new(Recorder::default());
    let (h, flaky, _) = harness(rec.clone()).await;
    let svc = h.svc().await;
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("wrong".into()),
    };
    let wrong_answer = h.client_credentials(Auth::Basic(&wrong), None).await;
    rec.events();
    rec.refuse_client(SVC);
    rec.refuse_client("ghost");
    let lookups = flaky.faulty().calls(Op::FindClient);
    // The right secret, refused unchecked: the client store is not even
    // asked, and the answer is byte for byte the wrong-secret answer.
    let refused = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_eq!(refused, wrong_answer);
    assert_eq!(flaky.faulty().calls(Op::FindClient), lookups);
    assert_eq!(
        rec.events(),
        [format!("check {SVC}"), format!("failed {SVC}")]
    );
    let refused = h.client_credentials(Auth::Post(&svc), None).await;
    assert_error(&refused, 401, "invalid_client");
    assert_eq!(h.store.access_token_count(), 0);
    // Unknown ids are refused the same way (no enumeration through it).
    let ghost = Creds {
        id: "ghost".into(),
        secret: Some("x".into()),
    };
    let r = h.client_credentials(Auth::Basic(&ghost), None).await;
    assert_eq!(r, wrong_answer);
    assert_eq!(flaky.faulty().calls(Op::FindClient), lookups);
    rec.events();
    // Assertions too.
    register_jwt_client(&h, "jwt-client").await;
    rec.refuse_client("jwt-client");
    let good = hs256_assertion("jwt-client", HMAC_SECRET, "j1");
    assert_error(&assertion_request(&h, &good).await, 401, "invalid_client");
    assert_eq!(rec.events(), ["check jwt-client", "failed jwt-client"]);
}

#[tokio::test]
async fn th01_public_clients_presenting_only_their_id_are_never_pre_checked() {
    // covers: PW-01, CA-06
    // Failing on a public client's behalf must not lock it out: it has no
    // secret to guess, so its id-only requests skip the pre-check.
    let rec = Arc::new(Recorder::default());
    let (h, _, _) = harness(rec.clone()).await;
    let spa = h.public("spa", |b| b).await;
    rec.refuse_client("spa");
    let code = h.issue_code(CodeSpec::new("spa")).await;
    let (_, refresh) = tokens(&h.redeem(Auth::IdOnly(&spa), &code).await);
    tokens(&h.refresh(Auth::IdOnly(&spa), &refresh.unwrap()).await);
    let events = rec.events();
    assert!(events.iter().all(|e| e == "ok spa"), "{events:?}");
    // A public client sending a secret is a failed attempt, refused here.
    let with_secret = Creds {
        id: "spa".into(),
        secret: Some("guess".into()),
    };
    let r = h.client_credentials(Auth::Post(&with_secret), None).await;
    assert_error(&r, 401, "invalid_client");
    assert_eq!(rec.events(), ["check spa", "failed spa"]);
}

#[tokio::test]
async fn th01_password_attempts_reach_the_hook_keyed_by_client_and_user() {
    // covers: PW-01
    let rec = Arc::new(Recorder::default());
    let (h, _, users) = harness(rec.clone()).await;
    let app = h
        .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    let attempt = |user: &'static str, password: &'static str| {
        let h = &h;
        let app = &app;
        async move {
            h.token(
                Auth::Basic(app),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", password),
                ],
            )
            .await
        }
    };
    assert_error(&attempt("alice", "wrong").await, 400, "invalid_grant");
    assert_eq!(
        rec.events(),
        [
            "check app",
            "ok app",
            "check-password app alice",
            "password-failed app alice"
        ]
    );
    assert_error(&attempt("mallory", "x").await, 400, "invalid_grant");
    assert_eq!(rec.events()[3], "password-failed app mallory");
    tokens(&attempt("alice", "wonderland").await);
    assert_eq!(rec.events()[3], "password-ok app alice");
    assert_eq!(users.checks.load(Ordering::SeqCst), 3);
    assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 2);

    // Refused: the right password is not checked and the answer is the
    // wrong-password answer.
    let wrong_answer = attempt("alice", "wrong").await;
    rec.events();
    rec.refuse_user("alice");
    let refused = attempt("alice", "wonderland").await;
    assert_eq!(refused, wrong_answer);
    assert_eq!(
        users.checks.load(Ordering::SeqCst),
        4,
        "no check when refused"
    );
    assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 4);
    assert_eq!(
        rec.events(),
        [
            "check app",
            "ok app",
            "check-password app alice",
            "password-failed app alice"
        ]
    );
}

/// A fixed-window limiter like the example server's: at most `limit`
/// failures per key per window of the harness clock; then refused until
/// the window ends.
struct Window {
    clock: Arc<FixedClock>,
    limit: u32,
    window: u64,
    failures: Mutex<HashMap<String, (u64, u32)>>,
}

impl Window {
    fn over(&self, key: &str) -> bool {
        let now = self.clock.now().as_secs() / self.window;
        self.failures
            .lock()
            .unwrap()
            .get(key)
            .is_some_and(|(w, n)| *w == now && *n >= self.limit)
    }
    fn fail(&self, key: String) {
        let now = self.clock.now().as_secs() / self.window;
        let mut f = self.failures.lock().unwrap();
        let e = f.entry(key).or_insert((now, 0));
        if e.0 != now {
            *e = (now, 0);
        }
        e.1 += 1;
    }
}

#[async_trait]
impl Throttle for Window {
    async fn check_client(&self, client_id: &ClientId) -> Verdict {
        if self.over(client_id.as_str()) {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
    async fn client_authentication_failed(&self, client_id: Option<&ClientId>) {
        if let Some(c) = client_id {
            self.fail(c.as_str().to_owned());
        }
    }
    async fn check_password(&self, _: &ClientId, username: &str) -> Verdict {
        if self.over(&format!("user:{username}")) {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
    async fn password_failed(&self, _: &ClientId, username: &str) {
        self.fail(format!("user:{username}"));
    }
}

#[tokio::test]
async fn th01_a_rate_limiter_on_the_hook_stops_guessing_until_the_window_ends() {
    // covers: PW-01, CA-06
    let clock = Arc::new(FixedClock::new(portcullis::UnixTime::from_secs(T0)));
    let limiter = Arc::new(Window {
        clock: clock.clone(),
        limit: 3,
        window: 60,
        failures: Mutex::default(),
    });
    let throttle: Arc<dyn Throttle> = limiter.clone();
    let server_clock = clock.clone();
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let h = Harness::with(config, move |b| {
        b.password_verifier(Arc::new(users))
            .throttle(throttle)
            .clock(server_clock)
    })
    .await;
    let svc = h
        .confidential(SVC, SVC_SECRET, |b| b.grant_type(GrantType::Password))
        .await;
    // Start at the beginning of a window.
    clock.set(portcullis::UnixTime::from_secs(T0 - T0 % 60));
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("guess".into()),
    };
    for _ in 0..3 {
        assert_error(
            &h.client_credentials(Auth::Basic(&wrong), None).await,
            401,
            "invalid_client",
        );
    }
    // Throttled: even the right secret is refused for the rest of the window.
    assert_error(
        &h.client_credentials(Auth::Basic(&svc), None).await,
        401,
        "invalid_client",
    );
    clock.advance(Duration::from_secs(60));
    tokens(&h.client_credentials(Auth::Basic(&svc), None).await);

    // Passwords, per user: alice is throttled, bob's attempts are not.
    let password = |user: &'static str, pw: &'static str| {
        let (h, svc) = (&h, &svc);
        async move {
            h.token(
                Auth::Basic(svc),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", pw),
                ],
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_error(&password("alice", "guess").await, 400, "invalid_grant");
    }
    assert_error(&password("alice", "wonderland").await, 400, "invalid_grant");
    assert_error(&password("bob", "guess").await, 400, "invalid_grant");
    assert!(!limiter.over("user:bob"));
    clock.advance(Duration::from_secs(60));
    tokens(&password("alice", "wonderland").await);
}
