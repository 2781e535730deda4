//! Throttling (PW-01, CA-06, RB-04; RFC 6749 §2.3.1, §4.3.2, §10.10): every
//! guess of a client secret, assertion or password is put to the host's
//! `Throttle` before it is checked, as an attempt on an account from a
//! source, and settled once judged; a refused attempt looks exactly like
//! wrong credentials. With the shipped `MemoryThrottle`, another party's
//! failures do not lock the holder out, while brute force stays bounded
//! per account and per source (issue 15, findings 2, 7 and 9).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use portcullis::http::Source;
use portcullis::{
    Account, Attempt, FixedClock, GrantType, MemoryThrottle, MemoryUsers, Outcome,
    PasswordVerifier, Secret, StoreError, Throttle, ThrottleLimits, UnixTime, UserId, Verdict,
};

use crate::support::*;

/// Records every call; refuses the accounts it is told to.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    refuse: Mutex<Vec<String>>,
}

impl Recorder {
    fn events(&self) -> Vec<String> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
    fn refuse(&self, account: &str) {
        self.refuse.lock().unwrap().push(account.into());
    }
}

/// `client:svc@192.0.2.1`, `user:alice@-`, `-@192.0.2.1`.
fn describe(a: &Attempt<'_>) -> String {
    let account = match a.account() {
        Some(Account::Client(id)) => format!("client:{}", id.as_str()),
        Some(Account::User(u)) => format!("user:{u}"),
        Some(_) => "other".into(),
        None => "-".into(),
    };
    let source = match a.source() {
        Some(Source::Ip(ip)) => ip.to_string(),
        Some(_) => "key".into(),
        None => "-".into(),
    };
    format!("{account}@{source}")
}

#[async_trait]
impl Throttle for Recorder {
    async fn attempt(&self, a: &Attempt<'_>) -> Verdict {
        let d = describe(a);
        self.events.lock().unwrap().push(format!("attempt {d}"));
        let account = d.split('@').next().unwrap_or_default().to_owned();
        if self.refuse.lock().unwrap().contains(&account) {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
    async fn settle(&self, a: &Attempt<'_>, outcome: Outcome) {
        self.events
            .lock()
            .unwrap()
            .push(format!("{outcome:?} {}", describe(a)));
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
    async fn failed_attempt(&self, _: &portcullis::ClientId, _: &str) {
        self.failed_attempts.fetch_add(1, Ordering::SeqCst);
    }
}

async fn harness(throttle: Arc<dyn Throttle>) -> (Harness, Arc<FlakyStore>, Arc<CountedUsers>) {
    harness_on(throttle, None).await
}

/// [`harness`], the server on `clock` if given.
async fn harness_on(
    throttle: Arc<dyn Throttle>,
    clock: Option<Arc<FixedClock>>,
) -> (Harness, Arc<FlakyStore>, Arc<CountedUsers>) {
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    users.insert("bob", &Secret::from("builder")).unwrap();
    let users = Arc::new(CountedUsers {
        users,
        checks: AtomicUsize::new(0),
        failed_attempts: AtomicUsize::new(0),
    });
    let verifier: Arc<dyn PasswordVerifier> = users.clone();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let (h, flaky) = Harness::flaky_with(config, move |b| {
        let b = b.password_verifier(verifier).throttle(throttle);
        match clock {
            Some(clock) => b.clock(clock),
            None => b,
        }
    })
    .await;
    (h, flaky, users)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const PEER: &str = "192.0.2.1";

/// A `client_credentials` request from `source`.
async fn cc_from(h: &Harness, auth: Auth<'_>, source: &str) -> portcullis::http::Response {
    let params = [("grant_type", "client_credentials")];
    call_from(
        &h.server,
        Endpoint::Token,
        auth,
        &params,
        Some(Source::Ip(ip(source))),
    )
    .await
}

#[tokio::test]
async fn th01_every_client_authentication_is_reserved_and_settled() {
    // covers: CA-06, PW-01, RB-04
    let rec = Arc::new(Recorder::default());
    let (h, flaky, _) = harness(rec.clone()).await;
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
    let src = Some(Source::Ip(ip(PEER)));
    for endpoint in ENDPOINTS {
        let params: &[(&str, &str)] = match endpoint {
            Endpoint::Token => &[("grant_type", "client_credentials")],
            _ => &[("token", "t")],
        };
        let send = |auth| call_from(&h.server, endpoint, auth, params, src);
        // Wrong secret, by Basic and in the body: counted against the
        // client from this source, and kept (Failed).
        for auth in [Auth::Basic(&wrong), Auth::Post(&wrong)] {
            assert_error(&send(auth).await, 401, "invalid_client");
            assert_eq!(
                rec.events(),
                [
                    format!("attempt client:{SVC}@{PEER}"),
                    format!("Failed client:{SVC}@{PEER}")
                ]
            );
        }
        // An unknown client is reserved and settled the same way.
        assert_error(&send(Auth::Basic(&ghost)).await, 401, "invalid_client");
        assert_eq!(
            rec.events(),
            [
                format!("attempt client:ghost@{PEER}"),
                format!("Failed client:ghost@{PEER}")
            ]
        );
        // Garbage credentials name no account: counted against the source.
        let r = send(Auth::Header("Basic !!!")).await;
        assert_error(&r, 401, "invalid_client");
        assert_eq!(
            rec.events(),
            [format!("attempt -@{PEER}"), format!("Failed -@{PEER}")]
        );
        // Success releases the reservation.
        assert!(send(Auth::Basic(&svc)).await.status() < 300, "{endpoint:?}");
        assert_eq!(
            rec.events(),
            [
                format!("attempt client:{SVC}@{PEER}"),
                format!("Succeeded client:{SVC}@{PEER}")
            ]
        );
    }
    // A failing client store judged nothing: Unjudged, a 500.
    flaky.fail(Op::FindClient);
    assert_error(
        &cc_from(&h, Auth::Basic(&svc), PEER).await,
        500,
        "server_error",
    );
    assert_eq!(
        rec.events(),
        [
            format!("attempt client:{SVC}@{PEER}"),
            format!("Unjudged client:{SVC}@{PEER}")
        ]
    );
    flaky.heal();
    // Malformed credentials reach the throttle too, against the source
    // only, and keep their own answer (issue 15 finding 9).
    let r = call_from(
        &h.server,
        Endpoint::Token,
        Auth::Basic(&svc),
        &[("grant_type", "client_credentials"), ("client_secret", "x")],
        src,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(
        rec.events(),
        [format!("attempt -@{PEER}"), format!("Failed -@{PEER}")]
    );
}

#[tokio::test]
async fn rb04_an_assertion_counts_against_its_source_and_a_shared_secret_against_its_client() {
    // covers: CA-08, RB-04
    // issue 15 finding 7: `iss` was counted as a failure before the
    // signature was checked, so anyone could count against any client. A
    // `private_key_jwt` signature cannot be guessed: a forged one counts
    // against its source only. A `client_secret_jwt` assertion is a guess
    // of a shared secret a person may have chosen: once the client it names
    // is known to use one, it counts against that client too, as a secret
    // in a `Basic` header does.
    let rec = Arc::new(Recorder::default());
    let (h, _, _) = harness(rec.clone()).await;
    register_jwt_client(&h, "jwt-client").await;
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let pk = portcullis::Client::private_key_jwt(
        portcullis::ClientId::parse("pk-client").unwrap(),
        jwks.to_string(),
    )
    .grant_type(GrantType::ClientCredentials)
    .scope(portcullis::ScopeSet::parse("read").unwrap())
    .build()
    .unwrap();
    h.register(pk).await;
    let send = |assertion: String| {
        let h = &h;
        async move {
            call_from(
                &h.server,
                Endpoint::Token,
                Auth::Nothing,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion),
                ],
                Some(Source::Ip(ip(PEER))),
            )
            .await
        }
    };
    // Forged for the private_key_jwt client: the source only.
    let forged = hs256_assertion("pk-client", "not-the-secret-0123456789abcdef-xyz", "p1");
    assert_error(&send(forged).await, 401, "invalid_client");
    assert_eq!(
        rec.events(),
        [format!("attempt -@{PEER}"), format!("Failed -@{PEER}")]
    );
    // Refusing that client's account changes nothing for its assertions.
    rec.refuse("client:pk-client");
    let forged = hs256_assertion("pk-client", "not-the-secret-0123456789abcdef-xyz", "p2");
    assert_error(&send(forged).await, 401, "invalid_client");
    assert_eq!(
        rec.events(),
        [format!("attempt -@{PEER}"), format!("Failed -@{PEER}")]
    );
    // A wrong shared secret for the client_secret_jwt client: the source's
    // reservation is released and the guess counted against the client.
    let forged = hs256_assertion("jwt-client", "not-the-secret-0123456789abcdef-xyz", "j1");
    assert_error(&send(forged).await, 401, "invalid_client");
    assert_eq!(
        rec.events(),
        [
            format!("attempt -@{PEER}"),
            format!("Unjudged -@{PEER}"),
            format!("attempt client:jwt-client@{PEER}"),
            format!("Failed client:jwt-client@{PEER}"),
        ]
    );
    let good = hs256_assertion("jwt-client", HMAC_SECRET, "j2");
    tokens(&send(good.clone()).await);
    assert_eq!(
        rec.events(),
        [
            format!("attempt -@{PEER}"),
            format!("Unjudged -@{PEER}"),
            format!("attempt client:jwt-client@{PEER}"),
            format!("Succeeded client:jwt-client@{PEER}"),
        ]
    );
    // Refusing the client's account refuses its assertions, unchecked.
    rec.refuse("client:jwt-client");
    let refused = send(hs256_assertion("jwt-client", HMAC_SECRET, "j3")).await;
    assert_error(&refused, 401, "invalid_client");
    assert_eq!(
        rec.events(),
        [
            format!("attempt -@{PEER}"),
            format!("Unjudged -@{PEER}"),
            format!("attempt client:jwt-client@{PEER}"),
        ]
    );
    // A refused source is refused before any lookup.
    rec.refuse("-");
    let refused = send(hs256_assertion("pk-client", HMAC_SECRET, "p3")).await;
    assert_error(&refused, 401, "invalid_client");
    assert_eq!(rec.events(), [format!("attempt -@{PEER}")]);
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
    rec.refuse(&format!("client:{SVC}"));
    rec.refuse("client:ghost");
    let lookups = flaky.faulty().calls(Op::FindClient);
    // The right secret, refused unchecked: the client store is not even
    // asked, the refusal is not settled, and the answer is byte for byte
    // the wrong-secret answer.
    let refused = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_eq!(refused, wrong_answer);
    assert_eq!(flaky.faulty().calls(Op::FindClient), lookups);
    assert_eq!(rec.events(), [format!("attempt client:{SVC}@-")]);
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
}

#[tokio::test]
async fn th01_public_clients_presenting_only_their_id_are_never_refused() {
    // covers: PW-01, CA-06
    // Failing on a public client's behalf must not lock it out: it has no
    // secret to guess, so its id-only requests are never put to the
    // throttle; only a failed one counts, against its source.
    let rec = Arc::new(Recorder::default());
    let (h, _, _) = harness(rec.clone()).await;
    let spa = h.public("spa", |b| b).await;
    rec.refuse("client:spa");
    rec.refuse("-");
    let code = h.issue_code(CodeSpec::new("spa")).await;
    let (_, refresh) = tokens(&h.redeem(Auth::IdOnly(&spa), &code).await);
    tokens(&h.refresh(Auth::IdOnly(&spa), &refresh.unwrap()).await);
    assert_eq!(rec.events(), Vec::<String>::new());
    // An unknown id alone: a failure, counted against the source only.
    let nobody = Creds {
        id: "nobody".into(),
        secret: None,
    };
    let r = h.client_credentials(Auth::IdOnly(&nobody), None).await;
    assert_error(&r, 401, "invalid_client");
    assert_eq!(rec.events(), ["attempt -@-"]);
    // A public client sending a secret is a guess, refused here.
    let with_secret = Creds {
        id: "spa".into(),
        secret: Some("guess".into()),
    };
    let r = h.client_credentials(Auth::Post(&with_secret), None).await;
    assert_error(&r, 401, "invalid_client");
    assert_eq!(rec.events(), ["attempt client:spa@-"]);
}

#[tokio::test]
async fn th01_password_attempts_are_reserved_per_user_and_source() {
    // covers: PW-01, RB-04
    let rec = Arc::new(Recorder::default());
    let (h, _, users) = harness(rec.clone()).await;
    let app = h
        .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    let attempt = |user: &'static str, password: &'static str| {
        let (h, app) = (&h, &app);
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
            "attempt client:app@-",
            "Succeeded client:app@-",
            "attempt user:alice@-",
            "Failed user:alice@-"
        ]
    );
    assert_error(&attempt("mallory", "x").await, 400, "invalid_grant");
    assert_eq!(rec.events()[3], "Failed user:mallory@-");
    tokens(&attempt("alice", "wonderland").await);
    assert_eq!(rec.events()[3], "Succeeded user:alice@-");
    assert_eq!(users.checks.load(Ordering::SeqCst), 3);
    assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 2);

    // Refused: the right password is not checked and the answer is the
    // wrong-password answer.
    let wrong_answer = attempt("alice", "wrong").await;
    rec.events();
    rec.refuse("user:alice");
    let refused = attempt("alice", "wonderland").await;
    assert_eq!(refused, wrong_answer);
    assert_eq!(users.checks.load(Ordering::SeqCst), 4, "no check");
    assert_eq!(users.failed_attempts.load(Ordering::SeqCst), 4);
    assert_eq!(
        rec.events(),
        [
            "attempt client:app@-",
            "Succeeded client:app@-",
            "attempt user:alice@-"
        ]
    );
}

/// A harness with a `MemoryThrottle` on the server's clock, and that clock.
async fn with_memory_throttle(
    limits: ThrottleLimits,
) -> (Harness, Arc<FlakyStore>, Arc<CountedUsers>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(T0)));
    let throttle = Arc::new(MemoryThrottle::new(limits).with_clock(clock.clone()));
    let (h, flaky, users) = harness_on(throttle, Some(clock.clone())).await;
    (h, flaky, users, clock)
}

fn limits(pair: u32, account: u32, source: u32) -> ThrottleLimits {
    let mut l = ThrottleLimits::default();
    l.per_account_and_source = pair;
    l.per_account = account;
    l.per_source = source;
    l.window = Duration::from_secs(60);
    l
}

const HOLDER: &str = "198.51.100.7";
const ATTACKER: &str = "192.0.2.66";

#[tokio::test]
async fn rb04_another_partys_wrong_secrets_do_not_lock_the_holder_out() {
    // covers: RB-04, CA-06
    // issue 15 finding 2: five wrong secrets sent by anyone locked the
    // legitimate client out for a minute.
    let (h, flaky, _, clock) = with_memory_throttle(limits(3, 10, 100)).await;
    let svc = h.svc().await;
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("guess".into()),
    };
    let wrong_answer = cc_from(&h, Auth::Basic(&wrong), ATTACKER).await;
    assert_error(&wrong_answer, 401, "invalid_client");
    let lookups = flaky.faulty().calls(Op::FindClient);
    for _ in 0..20 {
        assert_eq!(
            cc_from(&h, Auth::Basic(&wrong), ATTACKER).await,
            wrong_answer
        );
    }
    // Three were checked (the pair's limit), the rest refused unchecked.
    assert_eq!(flaky.faulty().calls(Op::FindClient), lookups + 2);
    // The holder, from its own source, is served: no targeted lockout.
    tokens(&cc_from(&h, Auth::Basic(&svc), HOLDER).await);
    tokens(&cc_from(&h, Auth::Basic(&svc), HOLDER).await);
    // The attacker past the limit is refused even with the right secret
    // from its own source, and the refusal is the wrong-secret answer: a
    // correct guess made while throttled is never confirmed.
    assert_eq!(cc_from(&h, Auth::Basic(&svc), ATTACKER).await, wrong_answer);
    assert_eq!(h.store.access_token_count(), 2);
    // Until the window ends.
    clock.advance(Duration::from_secs(60));
    tokens(&cc_from(&h, Auth::Basic(&svc), ATTACKER).await);
}

#[tokio::test]
async fn rb04_guessing_from_many_sources_is_bounded_per_account_and_the_known_source_served() {
    // covers: RB-04
    let mut l = limits(2, 6, 100);
    l.per_account_first_tries = 12;
    let (h, flaky, _, clock) = with_memory_throttle(l).await;
    let svc = h.svc().await;
    // The holder has used its source before.
    tokens(&cc_from(&h, Auth::Basic(&svc), HOLDER).await);
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("guess".into()),
    };
    let lookups = flaky.faulty().calls(Op::FindClient);
    for n in 1..=20 {
        for _ in 0..2 {
            let r = cc_from(&h, Auth::Basic(&wrong), &format!("192.0.2.{n}")).await;
            assert_error(&r, 401, "invalid_client");
        }
    }
    // Forty guesses from twenty sources: twelve were checked, the
    // account's bound (six, then one first try per new source up to
    // twelve).
    assert_eq!(flaky.faulty().calls(Op::FindClient) - lookups, 12);
    // The holder's known source is still served; once the first tries are
    // used up too, a source never seen before waits for the window,
    // whatever it sends.
    tokens(&cc_from(&h, Auth::Basic(&svc), HOLDER).await);
    assert_error(
        &cc_from(&h, Auth::Basic(&svc), "203.0.113.9").await,
        401,
        "invalid_client",
    );
    // Forged assertions naming the client count against their sources
    // only (issue 15 finding 7): the account's count is unchanged, and a
    // fresh source is served once the window is over.
    clock.advance(Duration::from_secs(60));
    for n in 1..=20 {
        let forged = hs256_assertion(SVC, "not-the-secret-0123456789abcdef-xyz", &format!("f{n}"));
        let r = call_from(
            &h.server,
            Endpoint::Token,
            Auth::Nothing,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &forged),
            ],
            Some(Source::Ip(ip(&format!("192.0.2.{n}")))),
        )
        .await;
        assert_error(&r, 401, "invalid_client");
    }
    tokens(&cc_from(&h, Auth::Basic(&svc), "203.0.113.9").await);
}

#[tokio::test]
async fn rb04_password_guesses_do_not_lock_the_user_out_and_stay_bounded() {
    // covers: RB-04, PW-01
    let (h, _, users, _) = with_memory_throttle(limits(3, 10, 100)).await;
    let app = h
        .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    let password = |user: &'static str, pw: &'static str, from: &'static str| {
        let (h, app) = (&h, &app);
        async move {
            call_from(
                &h.server,
                Endpoint::Token,
                Auth::Basic(app),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", pw),
                ],
                Some(Source::Ip(ip(from))),
            )
            .await
        }
    };
    let wrong_answer = password("alice", "guess", ATTACKER).await;
    assert_error(&wrong_answer, 400, "invalid_grant");
    for _ in 0..10 {
        assert_eq!(password("alice", "guess", ATTACKER).await, wrong_answer);
    }
    assert_eq!(users.checks.load(Ordering::SeqCst), 3, "the pair's bound");
    // Alice, from her own source, signs in.
    tokens(&password("alice", "wonderland", HOLDER).await);
    // The attacker is refused even with the right password, unchecked.
    assert_eq!(
        password("alice", "wonderland", ATTACKER).await,
        wrong_answer
    );
    assert_eq!(users.checks.load(Ordering::SeqCst), 4);
    // Per user: bob is not affected, even from the attacker's source.
    tokens(&password("bob", "builder", ATTACKER).await);
}
