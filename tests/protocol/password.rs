//! The resource owner password grant (PW-01).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portcullis::{
    AuthorizationServer, ClientId, ConfigError, GrantType, MemoryStore, MemoryUsers,
    PasswordVerifier, Secret, StoreError, UserId,
};

use crate::support::*;

/// `MemoryUsers` with a throttling hook that counts failed attempts.
struct CountingUsers {
    users: MemoryUsers,
    failures: AtomicUsize,
    last: Mutex<Option<(String, String)>>,
}

impl CountingUsers {
    fn new() -> Arc<Self> {
        // One PBKDF2 round keeps the tests fast.
        let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
        users.insert("alice", &Secret::from("wonderland")).unwrap();
        Arc::new(Self {
            users,
            failures: AtomicUsize::new(0),
            last: Mutex::new(None),
        })
    }

    fn failures(&self) -> usize {
        self.failures.load(Ordering::SeqCst)
    }

    fn last(&self) -> Option<(String, String)> {
        self.last.lock().unwrap().clone()
    }
}

#[async_trait]
impl PasswordVerifier for CountingUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        self.users.verify(username, password).await
    }

    async fn failed_attempt(&self, client: &ClientId, username: &str) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().unwrap() = Some((client.to_string(), username.to_owned()));
    }
}

async fn password_server(users: Arc<CountingUsers>) -> Harness {
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    Harness::with(config, move |b| b.password_verifier(users)).await
}

async fn password_client(h: &Harness) -> Creds {
    h.confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await
}

fn password_params<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ]
}

#[tokio::test]
async fn pw01_valid_credentials_get_tokens_for_that_user() {
    // covers: PW-01
    let users = CountingUsers::new();
    let h = password_server(users.clone()).await;
    let app = password_client(&h).await;
    let resp = h
        .token(Auth::Basic(&app), &password_params("alice", "wonderland"))
        .await;
    let (access, refresh) = tokens(&resp);
    assert_eq!(json(&resp)["scope"], "read");
    let v = h.introspect(&access).await;
    assert_eq!(v["sub"], "alice");
    assert_eq!(v["username"], "alice");
    assert_eq!(v["client_id"], "app");
    // The client is registered for refresh_token, so it gets one.
    let (access2, _) = tokens(&h.refresh(Auth::Basic(&app), &refresh.unwrap()).await);
    assert_eq!(h.introspect(&access2).await["sub"], "alice");
    assert_eq!(users.failures(), 0);
}

#[tokio::test]
async fn pw01_bad_credentials_are_invalid_grant_and_reach_the_throttling_hook() {
    // covers: PW-01
    let users = CountingUsers::new();
    let h = password_server(users.clone()).await;
    let app = password_client(&h).await;
    let before = h.store.access_token_count();
    let resp = h
        .token(
            Auth::Basic(&app),
            &password_params("alice", "looking-glass"),
        )
        .await;
    assert_error(&resp, 400, "invalid_grant");
    assert_eq!(users.failures(), 1);
    assert_eq!(users.last(), Some(("app".to_owned(), "alice".to_owned())));
    // An unknown user gets the same answer, and the hook fires too.
    let unknown = h
        .token(Auth::Basic(&app), &password_params("mallory", "wonderland"))
        .await;
    assert_eq!(resp, unknown);
    assert_eq!(users.failures(), 2);
    assert_eq!(users.last(), Some(("app".to_owned(), "mallory".to_owned())));
    assert_eq!(h.store.access_token_count(), before);
    // Missing pieces are malformed requests, not failed attempts.
    let resp = h
        .token(
            Auth::Basic(&app),
            &[("grant_type", "password"), ("username", "alice")],
        )
        .await;
    assert_error(&resp, 400, "invalid_request");
    assert_eq!(users.failures(), 2);
}

#[tokio::test]
async fn pw01_only_clients_registered_for_it_may_use_the_password_grant() {
    // covers: PW-01
    let users = CountingUsers::new();
    let h = password_server(users.clone()).await;
    let svc = h.svc().await;
    let resp = h
        .token(Auth::Basic(&svc), &password_params("alice", "wonderland"))
        .await;
    assert_error(&resp, 400, "unauthorized_client");
    assert_eq!(users.failures(), 0);
}

#[tokio::test]
async fn pw01_the_password_grant_is_off_unless_the_server_enables_it() {
    // covers: PW-01
    assert!(!config().offers(GrantType::Password));
    // Not enabled: refused even for a registered client and a verifier given.
    let users = CountingUsers::new();
    let h = Harness::with(config(), {
        let users = users.clone();
        move |b| b.password_verifier(users)
    })
    .await;
    let app = password_client(&h).await;
    let resp = h
        .token(Auth::Basic(&app), &password_params("alice", "wonderland"))
        .await;
    assert_error(&resp, 400, "unsupported_grant_type");
    assert_eq!(users.failures(), 0);
    let metadata = json(&h.server.metadata());
    assert!(
        !metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"password".into())
    );

    // Enabled without a verifier: the server refuses to build.
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let err = AuthorizationServer::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::MissingPasswordVerifier);
}
