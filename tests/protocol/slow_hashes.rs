//! Slow hashes off the executor (RB-06; issue 15 finding 3): people-chosen
//! client secrets and passwords are checked with PBKDF2 on the server's
//! `HashPool`, never on the caller's thread and never more at once than
//! the pool has threads; a repeated success costs no PBKDF2 (the
//! `VerifiedSecrets` cache); an unknown client or user goes through the
//! pool as a known one does (CA-06); a full pool is `temporarily_unavailable`
//! (503) and no failed attempt. Figures are in `benches/http_load.sh`, not
//! here: no test asserts a duration.

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use async_trait::async_trait;
use portcullis::{
    Client, ClientId, Event, EventSink, GrantType, HashPool, HashPoolConfig, MemoryUsers,
    PasswordVerifier, Secret, SecretHash, StoreError, UserId,
};

use crate::support::*;

/// Few rounds keep the tests fast; what is measured is where they run.
fn rounds() -> NonZeroU32 {
    NonZeroU32::new(10).unwrap()
}

fn pool(threads: usize, queue: usize) -> Arc<HashPool> {
    let mut config = HashPoolConfig::default();
    config.threads = NonZeroUsize::new(threads);
    config.queue = queue;
    Arc::new(HashPool::new(config))
}

/// A gate a job on the pool waits at, so the test controls when the
/// pool's threads are free.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    waiting: AtomicUsize,
}

impl Gate {
    fn wait(&self) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }

    /// Occupies every thread of `pool` until the gate opens.
    async fn occupy(self: &Arc<Self>, pool: &HashPool) -> Vec<portcullis::HashJob<()>> {
        let jobs: Vec<_> = (0..pool.threads())
            .map(|_| {
                let gate = self.clone();
                pool.run(move || gate.wait())
            })
            .collect();
        until(|| self.waiting.load(Ordering::SeqCst) == pool.threads()).await;
        jobs
    }
}

/// Yields (to the runtime and the OS) until `cond` holds; fails if it
/// never does, rather than hang.
async fn until(cond: impl Fn() -> bool) {
    for _ in 0..1_000_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
        std::thread::yield_now();
    }
    panic!("the condition never held");
}

/// Counts failed client authentications (what a throttle would count).
#[derive(Default)]
struct Failures(AtomicUsize);

impl EventSink for Failures {
    fn event(&self, event: &Event<'_>) {
        if matches!(event, Event::ClientAuthenticationFailed { .. }) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Registers `person`, a `client_credentials` client whose secret was
/// chosen by a person (PBKDF2).
async fn person(h: &Harness) -> Creds {
    let hash = SecretHash::pbkdf2("correct horse", rounds(), h.server.random()).unwrap();
    let client = Client::confidential(id("person"), hash)
        .grant_type(GrantType::ClientCredentials)
        .build()
        .unwrap();
    h.register(client).await;
    Creds {
        id: "person".into(),
        secret: Some("correct horse".into()),
    }
}

fn creds(id: &str, secret: &str) -> Creds {
    Creds {
        id: id.into(),
        secret: Some(secret.into()),
    }
}

#[tokio::test]
async fn rb06_a_people_chosen_secret_is_checked_on_the_pool_once_then_remembered() {
    // covers: RB-06, CA-05
    // issue 15 finding 3
    let h = Harness::new().await;
    let person = person(&h).await;
    let svc = h.svc().await;
    let ran = || h.server.hash_pool().stats().completed;
    assert_eq!(ran(), 0);

    // First success: one PBKDF2, on the pool.
    assert_eq!(
        h.client_credentials(Auth::Basic(&person), None)
            .await
            .status(),
        200
    );
    assert_eq!(ran(), 1);
    // Again: a cache hit, no PBKDF2.
    assert_eq!(
        h.client_credentials(Auth::Basic(&person), None)
            .await
            .status(),
        200
    );
    assert_eq!(ran(), 1);
    assert_eq!(h.server.verified_secrets().hits(), 1);

    // A wrong secret is checked every time and never remembered.
    let wrong = creds("person", "correct horse!");
    for n in [2, 3] {
        assert_error(
            &h.client_credentials(Auth::Basic(&wrong), None).await,
            401,
            "invalid_client",
        );
        assert_eq!(ran(), n);
    }

    // A new stored hash (even of the same secret) is never a hit.
    let rehashed = SecretHash::pbkdf2("correct horse", rounds(), h.server.random()).unwrap();
    h.update(
        Client::confidential(id("person"), rehashed)
            .grant_type(GrantType::ClientCredentials)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(
        h.client_credentials(Auth::Basic(&person), None)
            .await
            .status(),
        200
    );
    assert_eq!(ran(), 4);
    // The secret changed: the old one was remembered under the old hash only.
    let new_hash = SecretHash::pbkdf2("battery staple", rounds(), h.server.random()).unwrap();
    h.update(
        Client::confidential(id("person"), new_hash)
            .grant_type(GrantType::ClientCredentials)
            .build()
            .unwrap(),
    )
    .await;
    assert_error(
        &h.client_credentials(Auth::Basic(&person), None).await,
        401,
        "invalid_client",
    );
    assert_eq!(ran(), 5);

    // A generated secret (one SHA-256) is checked inline: the pool is not used.
    assert_eq!(
        h.client_credentials(Auth::Basic(&svc), None).await.status(),
        200
    );
    assert_eq!(ran(), 5);
}

#[tokio::test]
async fn rb06_an_unknown_client_costs_a_pbkdf2_on_the_pool_and_the_same_answer() {
    // covers: RB-06, CA-06
    // issue 15 finding 3
    let mut config = config();
    config.unknown_client_iterations = rounds();
    let h = Harness::with_config(config).await;
    person(&h).await;
    let ran = || h.server.hash_pool().stats().completed;
    let unknown = call(
        &h.server,
        Endpoint::Token,
        Auth::Basic(&creds("nobody", "correct horse")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(ran(), 1, "the unknown client's decoy ran on the pool");
    let wrong = call(
        &h.server,
        Endpoint::Token,
        Auth::Basic(&creds("person", "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(ran(), 2);
    assert_error(&unknown, 401, "invalid_client");
    assert_eq!(unknown, wrong, "status, headers and body identical");
    // An id alone presents nothing to check: no hash at all.
    let id_only = call(
        &h.server,
        Endpoint::Token,
        Auth::IdOnly(&creds("nobody", "")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_error(&id_only, 401, "invalid_client");
    assert_eq!(ran(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn rb06_the_executor_is_free_while_a_slow_hash_waits_for_the_pool() {
    // covers: RB-06
    // issue 15 finding 3
    // One thread on the runtime, one on the pool, and the pool's thread held.
    let pool = pool(1, 4);
    let h = Harness::with(config(), |b| b.hash_pool(pool.clone())).await;
    let person = person(&h).await;
    let svc = h.svc().await;
    let gate = Arc::new(Gate::default());
    let held = gate.occupy(&pool).await;

    let server = h.server.clone();
    let slow = tokio::spawn(async move {
        let auth = Auth::Basic(&person);
        call(
            &server,
            Endpoint::Token,
            auth,
            &[("grant_type", "client_credentials")],
        )
        .await
    });
    // The PBKDF2 check is queued on the pool ...
    until(|| pool.stats().queued == 1).await;
    // ... and the runtime's only thread still serves other requests.
    assert_eq!(
        h.client_credentials(Auth::Basic(&svc), None).await.status(),
        200
    );
    assert!(!slow.is_finished());
    gate.open();
    for job in held {
        job.await.unwrap();
    }
    assert_eq!(slow.await.unwrap().status(), 200);
}

#[tokio::test]
async fn rb06_a_full_pool_is_503_with_retry_after_and_no_failed_attempt() {
    // covers: RB-06
    // issue 15 finding 3
    let pool = pool(1, 0);
    let failures = Arc::new(Failures::default());
    let sink = failures.clone();
    let mut config = config();
    config.unknown_client_iterations = rounds();
    // A throttle that allows one guess per account: were a busy answer
    // counted as a failure, the holder's right secret below would be refused.
    let mut limits = portcullis::ThrottleLimits::default();
    limits.per_account_and_source = 1;
    limits.per_account = 1;
    let throttle = Arc::new(portcullis::MemoryThrottle::new(limits));
    let h = Harness::with(config, |b| {
        b.hash_pool(pool.clone()).events(sink).throttle(throttle)
    })
    .await;
    let person = person(&h).await;
    let svc = h.svc().await;
    let gate = Arc::new(Gate::default());
    let held = gate.occupy(&pool).await;

    for who in [person.clone(), creds("nobody", "guess")] {
        let busy = h.client_credentials(Auth::Basic(&who), None).await;
        assert_error(&busy, 503, "temporarily_unavailable");
        assert_eq!(busy.header("Retry-After"), Some("1"));
    }
    assert_eq!(
        failures.0.load(Ordering::SeqCst),
        0,
        "busy is not a failure"
    );
    assert_eq!(pool.stats().refused, 2);
    // Generated secrets never need the pool.
    assert_eq!(
        h.client_credentials(Auth::Basic(&svc), None).await.status(),
        200
    );

    gate.open();
    for job in held {
        job.await.unwrap();
    }
    assert_eq!(
        h.client_credentials(Auth::Basic(&person), None)
            .await
            .status(),
        200
    );
    // A secret remembered before the pool filled up needs no pool at all.
    let gate = Arc::new(Gate::default());
    let held = gate.occupy(&pool).await;
    assert_eq!(
        h.client_credentials(Auth::Basic(&person), None)
            .await
            .status(),
        200
    );
    gate.open();
    for job in held {
        job.await.unwrap();
    }
}

/// A host's `PasswordVerifier` that runs its slow hash on the server's
/// pool, as `HashPool`'s documentation says, and notes the thread.
struct HostUsers {
    pool: Arc<HashPool>,
    alice: SecretHash,
    threads: Mutex<Vec<String>>,
    failed: AtomicUsize,
}

#[async_trait]
impl PasswordVerifier for HostUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        let stored = if username == "alice" {
            self.alice.clone()
        } else {
            SecretHash::decoy(rounds())
        };
        let presented = password.expose_secret().clone();
        let (ok, thread) = self
            .pool
            .run(move || {
                let name = std::thread::current().name().unwrap_or("").to_owned();
                (stored.verify(&presented), name)
            })
            .await
            .map_err(StoreError::new)?;
        self.threads.lock().unwrap().push(thread);
        Ok(ok.then(|| UserId::parse(username).unwrap()))
    }

    async fn failed_attempt(&self, _client: &ClientId, _username: &str) {
        self.failed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn rb06_a_hosts_password_verifier_runs_on_the_pool_and_busy_is_503() {
    // covers: RB-06, PW-01
    // issue 15 finding 3
    let pool = pool(1, 0);
    let users = Arc::new(HostUsers {
        pool: pool.clone(),
        alice: SecretHash::pbkdf2("wonderland", rounds(), &portcullis::SystemRandom::new())
            .unwrap(),
        threads: Mutex::default(),
        failed: AtomicUsize::new(0),
    });
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let verifier = users.clone();
    let h = Harness::with(config, |b| {
        b.hash_pool(pool.clone()).password_verifier(verifier)
    })
    .await;
    let app = h
        .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    let grant = |user: &'static str, pw: &'static str| {
        [
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
        ]
    };
    assert_eq!(
        h.token(Auth::Basic(&app), &grant("alice", "wonderland"))
            .await
            .status(),
        200
    );
    let thread = users.threads.lock().unwrap().pop().unwrap();
    assert!(thread.starts_with("portcullis-hash-"), "{thread}");
    assert_ne!(std::thread::current().name(), Some(thread.as_str()));

    // Busy: 503, and neither failure hook hears of it.
    let gate = Arc::new(Gate::default());
    let held = gate.occupy(&pool).await;
    let busy = h.token(Auth::Basic(&app), &grant("alice", "guess")).await;
    assert_error(&busy, 503, "temporarily_unavailable");
    assert_eq!(busy.header("Retry-After"), Some("1"));
    assert_eq!(users.failed.load(Ordering::SeqCst), 0);
    gate.open();
    for job in held {
        job.await.unwrap();
    }
    let wrong = h.token(Auth::Basic(&app), &grant("alice", "guess")).await;
    assert_error(&wrong, 400, "invalid_grant");
    assert_eq!(users.failed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rb06_memory_users_check_on_the_pool_remember_successes_and_cost_the_same_when_unknown() {
    // covers: RB-06, PW-01
    // issue 15 finding 3
    let pool = pool(2, 8);
    let users = MemoryUsers::with_hash_pool(rounds(), pool.clone()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    let users = Arc::new(users);
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let verifier = users.clone();
    let h = Harness::with(config, |b| {
        b.hash_pool(verifier.hash_pool().clone())
            .password_verifier(verifier)
    })
    .await;
    let app = h
        .confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    let grant = |user: &'static str, pw: &'static str| {
        [
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
        ]
    };
    let ran = || pool.stats().completed;
    assert_eq!(
        h.token(Auth::Basic(&app), &grant("alice", "wonderland"))
            .await
            .status(),
        200
    );
    assert_eq!(ran(), 1);
    assert_eq!(
        h.token(Auth::Basic(&app), &grant("alice", "wonderland"))
            .await
            .status(),
        200
    );
    assert_eq!((ran(), users.verified_secrets().hits()), (1, 1));
    // A wrong password and an unknown user: one PBKDF2 each, on the pool,
    // and the same answer.
    let wrong = h.token(Auth::Basic(&app), &grant("alice", "wonder")).await;
    assert_eq!(ran(), 2);
    let unknown = h
        .token(Auth::Basic(&app), &grant("mallory", "wonderland"))
        .await;
    assert_eq!(ran(), 3);
    assert_error(&wrong, 400, "invalid_grant");
    assert_eq!(wrong, unknown);
}
