//! The `portcullis` operator CLI, run as a real process (the binary cargo
//! builds for this test, `CARGO_BIN_EXE_portcullis`) against SQLite and
//! PostgreSQL. The example server (`examples/server.rs`) runs on the same
//! database, so a client the CLI creates, disables, re-keys or deletes is
//! seen by a real token endpoint at once.
//!
//! PostgreSQL: `PORTCULLIS_TEST_POSTGRES_URL` when set, else a throwaway
//! cluster where PostgreSQL's server binaries are installed, else the test
//! is skipped loudly (a failure under `PORTCULLIS_REQUIRE_POSTGRES=1`): see
//! `tests/common/postgres.rs`. Every id is fresh and random, so the database
//! may be shared.
//!
//! The example server is built by the test when needed
//! (`tests/common/examples.rs`), so `--test cli` runs on its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use portcullis::stores::{PostgresStore, SqliteStore};
use portcullis::{
    AccessRecord, Algorithm, ClientId, ClientStore, Clock as _, CodeRecord, Consent, ConsentStore,
    GrantId, KeyId, KeyProvider, KeyRecord, NewTokens, RandomSource as _, RefreshRecord, ScopeSet,
    SystemClock, SystemRandom, TokenHash, TokenStore, UnixTime, UserId,
};
use serde_json::{Value, json};

mod database_url;
#[path = "../common/examples.rs"]
mod examples;
#[path = "../common/mysql.rs"]
mod mysql;
#[path = "../common/postgres.rs"]
mod postgres;
mod registration;
// What postgres.rs and mysql.rs share.
#[path = "../common/server.rs"]
mod server;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A fresh id with a readable prefix.
fn unique(prefix: &str) -> String {
    let mut b = [0u8; 8];
    SystemRandom::new().fill(&mut b).unwrap();
    format!("{prefix}-{:016x}", u64::from_le_bytes(b))
}

/// One run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_raw(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_ISSUER")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the portcullis binary (built by cargo test --features cli)");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Asserts a failure: the exit code, nothing on stdout, and exactly one
/// line on stderr that is an error message, not a panic. Returns the line.
fn assert_fails(r: &Run, code: i32) -> String {
    assert_eq!(
        r.code, code,
        "exit code; stdout {:?} stderr {:?}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.is_empty(), "stdout on failure: {:?}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{:?}", r.stderr);
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!r.stderr.contains(bad), "{:?}", r.stderr);
    }
    lines[0].to_owned()
}

/// A database the CLI, the example server and the test's own store share.
struct Db {
    url: String,
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    consents: Arc<dyn ConsentStore>,
    keys: Arc<dyn KeyProvider>,
    /// Shared with other runs: counts over all rows are lower bounds.
    shared: bool,
    dir: Option<PathBuf>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

static NEXT_DIR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-cli-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Db {
    /// A new SQLite file, created by `portcullis migrate`.
    async fn sqlite() -> Self {
        let dir = temp_dir();
        let url = format!("sqlite://{}", dir.join("auth.db").display());
        let migrated = cli(&url, &["migrate"]);
        assert_eq!(migrated, json!({"backend": "sqlite", "migrated": true}));
        let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
        Self {
            url,
            clients: store.clone(),
            tokens: store.clone(),
            consents: store.clone(),
            keys: store,
            shared: false,
            dir: Some(dir),
        }
    }

    /// The test database (`tests/common/postgres.rs`), migrated by
    /// `portcullis migrate`; `None` when the test is skipped.
    async fn postgres() -> Option<Self> {
        let url = postgres::url()?;
        let migrated = cli(&url, &["migrate"]);
        assert_eq!(migrated, json!({"backend": "postgresql", "migrated": true}));
        let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
        Some(Self {
            url,
            clients: store.clone(),
            tokens: store.clone(),
            consents: store.clone(),
            keys: store,
            shared: true,
            dir: None,
        })
    }

    /// The test database (`tests/common/mysql.rs`), migrated by
    /// `portcullis migrate`; `None` when the test is skipped.
    async fn mysql() -> Option<Self> {
        let url = mysql::url()?;
        let migrated = cli(&url, &["migrate"]);
        assert_eq!(migrated, json!({"backend": "mysql", "migrated": true}));
        let store = Arc::new(portcullis::stores::MySqlStore::connect(&url).await.unwrap());
        Some(Self {
            url,
            clients: store.clone(),
            tokens: store.clone(),
            consents: store.clone(),
            keys: store,
            shared: true,
            dir: None,
        })
    }

    /// Runs with the database in the environment, as an operator should
    /// when the URL has a password.
    fn run(&self, args: &[&str]) -> Run {
        run_raw(args, &[("PORTCULLIS_DATABASE_URL", &self.url)])
    }

    /// Runs with `--format json`, expects success, parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        cli(&self.url, args)
    }
}

fn cli(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = run_raw(&all, &[("PORTCULLIS_DATABASE_URL", url)]);
    assert_eq!(r.code, 0, "{args:?} failed: {}", r.stderr);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", r.stdout))
}

/// The field names of a JSON object, sorted.
fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

const CLIENT_FIELDS: [&str; 45] = [
    "client_id",
    "client_name",
    "client_type",
    "token_endpoint_auth_method",
    "redirect_uris",
    "grant_types",
    "scope",
    "default_scope",
    "enabled",
    "skip_consent",
    "allow_plain_pkce",
    "access_token_format",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "resource_server_audiences",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "subject_type",
    "sector_identifier_uri",
    "sector_identifier",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "require_auth_time",
    "default_max_age",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "client_uri",
    "jwks",
    "require_pushed_authorization_requests",
    "require_signed_request_object",
    "dpop_bound_access_tokens",
    "resources",
    // The full client model (issue 19).
    "application_type",
    "contacts",
    "jwks_uri",
    "software_id",
    "software_version",
    "client_secret_expires_at",
    "token_endpoint_auth_signing_alg",
    "request_object_signing_alg",
    "allowed_cors_origins",
    "owner",
    "metadata",
];

const KEY_FIELDS: [&str; 8] = [
    "kid",
    "algorithm",
    "state",
    "published",
    "created_at",
    "not_before",
    "not_after",
    "drop_after",
];

fn with(fields: &[&str], more: &[&str]) -> Vec<String> {
    let mut all: Vec<&str> = fields.to_vec();
    all.extend_from_slice(more);
    names(&all)
}

/// The example server, on the same database, seeded with an issuer only.
struct Server {
    base: String,
    child: Child,
    seed: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.seed);
    }
}

impl Server {
    async fn start(database: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let seed = std::env::temp_dir().join(format!("{}.json", unique("portcullis-cli-seed")));
        std::fs::write(&seed, json!({ "issuer": base }).to_string()).unwrap();
        let mut child = Command::new(examples::example("server"))
            .args(["--addr", &format!("127.0.0.1:{port}"), "--seed"])
            .arg(&seed)
            .args(["--database", database])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("example server binary (built by cargo test)");
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.starts_with("listening on "))
        });
        assert!(ready.await.unwrap(), "example server did not start");
        Self { base, child, seed }
    }

    /// A `client_credentials` token request; the status and the JSON body.
    async fn token(&self, method: &str, id: &str, secret: &str) -> (u16, Value) {
        let http = reqwest::Client::new();
        let url = format!("{}/token", self.base);
        let req = match method {
            "client_secret_post" => http.post(url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ]),
            _ => http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")]),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap())
    }
}

fn scope(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

/// An access token (and a refresh token) of `client` for `user`, stored
/// directly, expiring at `expires_at`. Returns the two hashes.
async fn store_tokens(
    db: &Db,
    client: &str,
    user: Option<&str>,
    issued_at: UnixTime,
    expires_at: UnixTime,
) -> (TokenHash, TokenHash) {
    let access = TokenHash::of(&unique("access"));
    let refresh = TokenHash::of(&unique("refresh"));
    let grant = GrantId::derive(&access);
    let client_id = ClientId::parse(client).unwrap();
    let subject = user.map(|u| UserId::parse(u).unwrap());
    db.tokens
        .issue(NewTokens {
            access: AccessRecord {
                hash: access,
                grant,
                client_id: client_id.clone(),
                subject: subject.clone(),
                scope: scope("read"),
                issued_at,
                expires_at,
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                act: None,
            },
            refresh: Some(RefreshRecord {
                hash: refresh,
                grant,
                client_id,
                subject,
                scope: scope("read"),
                issued_at,
                expires_at,
                used: false,
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                successor: None,
            }),
        })
        .await
        .unwrap();
    (access, refresh)
}

/// An authorization code of `client` for `user`, stored directly.
async fn store_code(db: &Db, client: &str, user: &str, expires_at: UnixTime) -> TokenHash {
    let hash = TokenHash::of(&unique("code"));
    db.tokens
        .insert_code(CodeRecord {
            hash,
            grant: GrantId::derive(&hash),
            client_id: ClientId::parse(client).unwrap(),
            subject: UserId::parse(user).unwrap(),
            scope: scope("read"),
            redirect_uri: None,
            challenge: None,
            issued_at: UnixTime::from_secs(expires_at.as_secs().saturating_sub(60)),
            expires_at,
            used: false,
            openid: None,
            resources: Vec::new(),
            dpop_jkt: None,
        })
        .await
        .unwrap();
    hash
}

/// At least `min` (shared database) or exactly `min`.
fn count(db: &Db, v: &Value, field: &str, min: u64) {
    let n = v[field].as_u64().unwrap();
    if db.shared {
        assert!(n >= min, "{field}: {n} < {min} in {v}");
    } else {
        assert_eq!(n, min, "{field} in {v}");
    }
}

/// The whole life of a client, seen by a running token endpoint: create,
/// use, disable (refused), enable and rotate the secret (old refused, new
/// works), purge, revoke, consent, delete.
async fn client_lifecycle(db: &Db, method: &str) {
    // covers: CA-05, CA-07
    let id = unique("svc");
    let created = db.json(&[
        "client",
        "create",
        "--client-id",
        &id,
        "--name",
        "Billing <svc>",
        "--grant-type",
        "client_credentials",
        "--scope",
        "write read",
        "--default-scope",
        "read",
        "--token-endpoint-auth-method",
        method,
        "--access-token-lifetime",
        "600",
    ]);
    assert_eq!(keys_of(&created), with(&CLIENT_FIELDS, &["client_secret"]));
    assert_eq!(created["client_id"], json!(id));
    assert_eq!(created["client_name"], json!("Billing <svc>"));
    assert_eq!(created["client_type"], json!("confidential"));
    assert_eq!(created["token_endpoint_auth_method"], json!(method));
    assert_eq!(created["redirect_uris"], json!([]));
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    assert_eq!(created["scope"], json!("read write"));
    assert_eq!(created["default_scope"], json!("read"));
    assert_eq!(created["enabled"], json!(true));
    assert_eq!(created["skip_consent"], json!(false));
    assert_eq!(created["allow_plain_pkce"], json!(false));
    assert_eq!(created["access_token_format"], json!("opaque"));
    assert_eq!(created["access_token_lifetime"], json!(600));
    assert_eq!(created["refresh_token_lifetime"], json!(null));
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&secret)
        .unwrap();
    assert_eq!(raw.len(), 32, "256-bit secret");

    // Stored hashed: the store holds a SHA-256 that verifies it, not it.
    let stored = db
        .clients
        .client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = stored.secret_hash().unwrap();
    assert!(hash.verify(&secret));
    assert!(hash.encode().starts_with("sha256$"));
    assert!(!hash.encode().contains(&secret));

    // `show` and `list` never print a secret.
    let shown = db.json(&["client", "show", &id]);
    assert_eq!(keys_of(&shown), names(&CLIENT_FIELDS));
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(shown, expected);
    let listed = db.json(&["client", "list"]);
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == json!(id))
        .unwrap();
    assert_eq!(entry, &expected);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none())
    );
    assert!(!db.run(&["client", "list"]).stdout.contains(&secret));

    // A running token endpoint on the same database accepts the client.
    let server = Server::start(&db.url).await;
    let (status, body) = server.token(method, &id, &secret).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], json!("Bearer"));
    assert_eq!(body["expires_in"], json!(600));
    assert_eq!(body["scope"], json!("read"));

    // Disabled: authentication refused at once, and its tokens revoked,
    // so enabling it again does not bring them back (issue 15 finding 7).
    let live = store_tokens(
        db,
        &id,
        None,
        UnixTime::from_secs(1),
        UnixTime::from_secs(u64::from(u32::MAX)),
    )
    .await;
    let disabled = db.json(&["client", "update", &id, "--disable"]);
    assert_eq!(disabled["enabled"], json!(false));
    assert_eq!(disabled["client_secret"], json!(null));
    count(db, &disabled, "tokens_revoked", 3);
    for hash in [live.0, live.1] {
        assert!(db.tokens.find_access(&hash).await.unwrap().is_none());
        assert!(db.tokens.find_refresh(&hash).await.unwrap().is_none());
    }
    let (status, body) = server.token(method, &id, &secret).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], json!("invalid_client"));

    // Enabled with a new secret: the old one is refused, the new one works.
    let rotated = db.json(&["client", "update", &id, "--enable", "--rotate-secret"]);
    assert_eq!(rotated["enabled"], json!(true));
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(new_secret.len(), 43);
    let (status, body) = server.token(method, &id, &secret).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], json!("invalid_client"));
    let (status, body) = server.token(method, &id, &new_secret).await;
    assert_eq!(status, 200, "{body}");

    // Purge: expired rows go, live ones stay; --dry-run deletes nothing.
    let now = SystemClock.now();
    let past = UnixTime::from_secs(now.as_secs() - 3600);
    let user = unique("user");
    let (old_access, old_refresh) = store_tokens(
        db,
        &id,
        Some(&user),
        UnixTime::from_secs(past.as_secs() - 60),
        past,
    )
    .await;
    let old_code = store_code(db, &id, &user, past).await;
    let (live_access, live_refresh) =
        store_tokens(db, &id, None, now, now.plus(Duration::from_secs(3600))).await;
    for _ in 0..2 {
        let dry = db.json(&["tokens", "purge", "--dry-run"]);
        assert_eq!(
            keys_of(&dry),
            names(&[
                "dry_run",
                "codes",
                "access_tokens",
                "refresh_tokens",
                "keys"
            ])
        );
        assert_eq!(dry["dry_run"], json!(true));
        count(db, &dry, "codes", 1);
        count(db, &dry, "access_tokens", 1);
        count(db, &dry, "refresh_tokens", 1);
        count(db, &dry, "keys", 0);
        assert!(db.tokens.find_access(&old_access).await.unwrap().is_some());
        assert!(
            db.tokens
                .find_refresh(&old_refresh)
                .await
                .unwrap()
                .is_some()
        );
        assert!(db.tokens.find_code(&old_code).await.unwrap().is_some());
    }
    let purged = db.json(&["tokens", "purge"]);
    assert_eq!(purged["dry_run"], json!(false));
    count(db, &purged, "codes", 1);
    count(db, &purged, "access_tokens", 1);
    count(db, &purged, "refresh_tokens", 1);
    assert!(db.tokens.find_access(&old_access).await.unwrap().is_none());
    assert!(
        db.tokens
            .find_refresh(&old_refresh)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.tokens.find_code(&old_code).await.unwrap().is_none());
    assert!(db.tokens.find_access(&live_access).await.unwrap().is_some());
    assert!(
        db.tokens
            .find_refresh(&live_refresh)
            .await
            .unwrap()
            .is_some()
    );

    // Revoke by client: the token the server issued since `--disable`
    // revoked the rest, and the live pair.
    let revoked = db.json(&["tokens", "revoke", "--client", &id]);
    assert_eq!(
        revoked,
        json!({"client_id": id, "user_id": null, "revoked": 3})
    );
    assert!(db.tokens.find_access(&live_access).await.unwrap().is_none());

    // Revoke by user.
    let (user_access, _) = store_tokens(
        db,
        &id,
        Some(&user),
        now,
        now.plus(Duration::from_secs(3600)),
    )
    .await;
    let revoked = db.json(&["tokens", "revoke", "--user", &user]);
    assert_eq!(
        revoked,
        json!({"client_id": null, "user_id": user, "revoked": 2})
    );
    assert!(db.tokens.find_access(&user_access).await.unwrap().is_none());

    // Consent: listed per user, withdrawn per client with its tokens.
    let spa = unique("spa");
    let spa_created = db.json(&[
        "client",
        "create",
        "--client-id",
        &spa,
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8765/callback",
        "--grant-type",
        "authorization_code,refresh_token",
        "--scope",
        "read",
    ]);
    assert_eq!(spa_created["client_type"], json!("public"));
    assert_eq!(spa_created["token_endpoint_auth_method"], json!("none"));
    assert_eq!(spa_created["client_secret"], json!(null));
    assert_eq!(
        spa_created["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let granted_at = UnixTime::from_secs(now.as_secs() - 10);
    for (client, scopes) in [(&id, "read write"), (&spa, "read")] {
        db.consents
            .grant_consent(Consent {
                user: UserId::parse(&user).unwrap(),
                client_id: ClientId::parse(client).unwrap(),
                scope: scope(scopes),
                granted_at,
            })
            .await
            .unwrap();
    }
    let (consent_access, consent_refresh) = store_tokens(
        db,
        &id,
        Some(&user),
        now,
        now.plus(Duration::from_secs(3600)),
    )
    .await;
    let consent_code = store_code(db, &id, &user, now.plus(Duration::from_secs(60))).await;
    let listed = db.json(&["consent", "list", "--user", &user]);
    let mut want = vec![
        json!({"user_id": user, "client_id": id, "scope": "read write", "granted_at": granted_at.as_secs()}),
        json!({"user_id": user, "client_id": spa, "scope": "read", "granted_at": granted_at.as_secs()}),
    ];
    want.sort_by_key(|c| c["client_id"].as_str().unwrap().to_owned());
    assert_eq!(listed, Value::Array(want));
    let withdrawn = db.json(&["consent", "revoke", "--user", &user, "--client", &id]);
    assert_eq!(
        withdrawn,
        json!({"user_id": user, "client_id": id, "consent_revoked": true, "tokens_revoked": 3})
    );
    assert!(
        db.tokens
            .find_access(&consent_access)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.tokens
            .find_refresh(&consent_refresh)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.tokens.find_code(&consent_code).await.unwrap().is_none());
    let listed = db.json(&["consent", "list", "--user", &user]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["client_id"], json!(spa));
    let again = db.run(&["consent", "revoke", "--user", &user, "--client", &id]);
    assert!(assert_fails(&again, 3).contains("has no consent"));

    // Deleting a client withdraws its consent too.
    let deleted = db.json(&["client", "delete", &spa]);
    assert_eq!(
        deleted,
        json!({"client_id": spa, "deleted": true, "tokens_revoked": 0, "consents_revoked": 1})
    );
    assert_eq!(db.json(&["consent", "list", "--user", &user]), json!([]));

    // Delete: its tokens are revoked and it can no longer authenticate.
    let (status, _) = server.token(method, &id, &new_secret).await;
    assert_eq!(status, 200);
    let deleted = db.json(&["client", "delete", &id]);
    assert_eq!(
        deleted,
        json!({"client_id": id, "deleted": true, "tokens_revoked": 1, "consents_revoked": 0})
    );
    let (status, body) = server.token(method, &id, &new_secret).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], json!("invalid_client"));
    assert!(assert_fails(&db.run(&["client", "show", &id]), 3).contains("unknown client"));
    assert!(assert_fails(&db.run(&["client", "delete", &id]), 3).contains("unknown client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_client_lifecycle_through_the_token_endpoint() {
    let db = Db::sqlite().await;
    // Migrating again is harmless.
    assert_eq!(db.json(&["migrate"])["migrated"], json!(true));
    client_lifecycle(&db, "client_secret_basic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    portcullis_no_postgres,
    ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
)]
async fn postgres_client_lifecycle_keys_and_errors() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    client_lifecycle(&db, "client_secret_post").await;

    // Keys on a shared database (other runs leave keys): a key signs after
    // `generate`; a rotation publishes a pending key and retires every key
    // that had no end, at the moment the new one starts signing.
    let generated = db.json(&["keys", "generate"]);
    assert_eq!(
        keys_of(&generated),
        with(&KEY_FIELDS, &["generated", "retired"])
    );
    assert_eq!(generated["state"], json!("signing"));
    let rotated = db.json(&["keys", "rotate", "--jwt-max-lifetime", "60"]);
    assert_eq!(keys_of(&rotated), with(&KEY_FIELDS, &["retired"]));
    assert_eq!(rotated["state"], json!("pending"));
    let retired = rotated["retired"].as_array().unwrap();
    assert!(!retired.is_empty());
    let listed = db.json(&["keys", "list"]);
    let listed = listed.as_array().unwrap();
    for kid in retired {
        let k = listed.iter().find(|k| &k["kid"] == kid).unwrap();
        assert_eq!(k["not_after"], rotated["not_before"]);
        assert_eq!(
            k["drop_after"].as_u64().unwrap(),
            rotated["not_before"].as_u64().unwrap() + 60
        );
    }
    let still = listed
        .iter()
        .find(|k| k["kid"] == generated["kid"])
        .unwrap();
    assert_eq!(still["state"], json!("signing"));

    // Errors on PostgreSQL too.
    let ghost = unique("ghost");
    assert!(assert_fails(&db.run(&["client", "show", &ghost]), 3).contains("unknown client"));
    let r = db.run(&["client", "update", &ghost, "--disable"]);
    assert!(assert_fails(&r, 3).contains("unknown client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    portcullis_no_mysql,
    ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
)]
async fn mysql_client_lifecycle_and_errors() {
    // The operator tool on a mysql:// URL: every client, token and consent
    // command, the purge count and the per-user-and-client revocation in
    // the tool's own SQL included.
    let Some(db) = Db::mysql().await else {
        return;
    };
    assert_eq!(db.json(&["migrate"])["migrated"], json!(true));
    client_lifecycle(&db, "client_secret_basic").await;
    let ghost = unique("ghost");
    assert!(assert_fails(&db.run(&["client", "show", &ghost]), 3).contains("unknown client"));
}

// issue 16 item 1: `keys generate` and `keys rotate` make 2048-bit RSA keys
// without OpenSSL, which ring loads from the store and signs with.
#[tokio::test]
async fn keys_generate_and_rotate_rs256() {
    // covers: JW-01
    let db = Db::sqlite().await;
    let generated = db.json(&["keys", "generate", "--algorithm", "RS256"]);
    assert_eq!(generated["generated"], json!(true));
    assert_eq!(generated["algorithm"], json!("RS256"));
    assert_eq!(generated["state"], json!("signing"));
    let rotated = db.json(&["keys", "rotate", "--algorithm", "RS256"]);
    assert_eq!(rotated["algorithm"], json!("RS256"));
    assert_eq!(rotated["state"], json!("pending"));
    assert_eq!(rotated["retired"], json!([generated["kid"]]));
    let stored = db.keys.keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    for rec in &stored {
        assert_eq!(rec.alg, Algorithm::Rs256);
        let pair =
            ring::signature::RsaKeyPair::from_pkcs8(rec.private_pkcs8.expose_secret()).unwrap();
        assert_eq!(pair.public().modulus_len(), 256, "2048 bits");
    }
    assert_ne!(
        stored[0].private_pkcs8.expose_secret(),
        stored[1].private_pkcs8.expose_secret()
    );
}

#[tokio::test]
async fn keys_generate_rotate_import_list_and_purge() {
    // covers: JW-01
    let db = Db::sqlite().await;
    assert_eq!(db.json(&["keys", "list"]), json!([]));
    assert_eq!(db.run(&["keys", "list"]).stdout, "no keys\n");

    // `generate` makes a key that signs at once, and only when none does.
    let first = db.json(&["keys", "generate"]);
    assert_eq!(
        keys_of(&first),
        with(&KEY_FIELDS, &["generated", "retired"])
    );
    assert_eq!(first["generated"], json!(true));
    assert_eq!(first["algorithm"], json!("ES256"));
    assert_eq!(first["state"], json!("signing"));
    assert_eq!(first["published"], json!(true));
    assert_eq!(first["not_before"], first["created_at"]);
    assert_eq!(first["not_after"], json!(null));
    assert_eq!(first["drop_after"], json!(null));
    assert_eq!(first["retired"], json!([]));
    let again = db.json(&["keys", "generate"]);
    assert_eq!(again["generated"], json!(false));
    assert_eq!(again["kid"], first["kid"]);

    // `rotate`: published now, signs after the lead; the old key signs
    // until then and stays published jwt_max_lifetime longer.
    let second = db.json(&["keys", "rotate"]);
    assert_eq!(keys_of(&second), with(&KEY_FIELDS, &["retired"]));
    assert_eq!(second["state"], json!("pending"));
    assert_eq!(second["published"], json!(true));
    assert_eq!(second["retired"], json!([first["kid"]]));
    let lead = second["not_before"].as_u64().unwrap() - second["created_at"].as_u64().unwrap();
    assert_eq!(lead, 900);
    let listed = db.json(&["keys", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let old = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == first["kid"])
        .unwrap();
    assert_eq!(keys_of(old), names(&KEY_FIELDS));
    assert_eq!(old["state"], json!("signing"));
    assert_eq!(old["not_after"], second["not_before"]);
    assert_eq!(
        old["drop_after"].as_u64().unwrap(),
        second["not_before"].as_u64().unwrap() + 86_400
    );

    // A rotation of another algorithm, with other timing: it replaces only
    // keys of its own algorithm (none here), so the ES256 keys are left
    // alone; a key is current already, so it signs after the lead (issue 16).
    let third = db.json(&[
        "keys",
        "rotate",
        "--algorithm",
        "EdDSA",
        "--publish-lead",
        "60",
        "--jwt-max-lifetime",
        "120",
    ]);
    assert_eq!(third["algorithm"], json!("EdDSA"));
    assert_eq!(third["retired"], json!([]));
    assert_eq!(
        third["not_before"].as_u64().unwrap() - third["created_at"].as_u64().unwrap(),
        60
    );
    let states = |listed: &Value| -> Vec<(Value, Value)> {
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["kid"].clone(), k["state"].clone()))
            .collect()
    };
    let listed = db.json(&["keys", "list"]);
    let now = states(&listed);
    assert!(now.contains(&(first["kid"].clone(), json!("signing"))));
    assert!(now.contains(&(second["kid"].clone(), json!("pending"))));
    assert!(now.contains(&(third["kid"].clone(), json!("pending"))));
    // A second rotation of ES256: the pending ES256 key is retired before
    // it ever signs (the first already has its end); the EdDSA key is
    // untouched.
    let fourth = db.json(&["keys", "rotate", "--publish-lead", "60"]);
    assert_eq!(fourth["retired"], json!([second["kid"]]));
    let now = states(&db.json(&["keys", "list"]));
    assert!(now.contains(&(first["kid"].clone(), json!("signing"))));
    assert!(now.contains(&(second["kid"].clone(), json!("retired"))));
    assert!(now.contains(&(third["kid"].clone(), json!("pending"))));

    // An RSA key can be imported from PKCS#8 too; it is the first RS256
    // key, so it replaces none.
    let pkcs8 = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rsa2048.pk8");
    let r = db.run(&["keys", "import", "--algorithm", "ES256", "--pkcs8", pkcs8]);
    assert!(assert_fails(&r, 2).contains("not a valid ES256 private key"));
    let imported = db.json(&["keys", "import", "--algorithm", "RS256", "--pkcs8", pkcs8]);
    assert_eq!(imported["algorithm"], json!("RS256"));
    assert_eq!(imported["state"], json!("pending"));
    assert_eq!(imported["retired"], json!([]));

    // `keys generate --algorithm RS256` makes sure an RS256 key signs: the
    // imported one is pending, so a new one is made that signs at once
    // (and the pending one will never sign).
    let rs = db.json(&["keys", "generate", "--algorithm", "RS256"]);
    assert_eq!(rs["generated"], json!(true));
    assert_eq!(rs["state"], json!("signing"));

    // `generate --force`: a new EdDSA key signs at once, and no other
    // EdDSA key does; the keys of other algorithms go on signing.
    let forced = db.json(&["keys", "generate", "--force", "--algorithm", "EdDSA"]);
    assert_eq!(forced["generated"], json!(true));
    assert_eq!(forced["state"], json!("signing"));
    assert_eq!(forced["retired"], json!([third["kid"]]));
    let listed = db.json(&["keys", "list"]);
    let mut signing: Vec<(&Value, &Value)> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == json!("signing"))
        .map(|k| (&k["algorithm"], &k["kid"]))
        .collect();
    signing.sort_by_key(|(alg, _)| alg.as_str().unwrap().to_owned());
    assert_eq!(
        signing,
        vec![
            (&json!("ES256"), &first["kid"]),
            (&json!("EdDSA"), &forced["kid"]),
            (&json!("RS256"), &rs["kid"]),
        ]
    );

    // A key past its drop time is listed as dropped, counted by a dry
    // run, and deleted by the purge.
    let long_ago = UnixTime::from_secs(1_000_000);
    let mut dead = KeyRecord::generate(
        Algorithm::Es256,
        KeyId::parse(&unique("dead")).unwrap(),
        long_ago,
        long_ago,
    )
    .unwrap();
    dead.not_after = Some(long_ago.plus(Duration::from_secs(10)));
    dead.drop_after = Some(long_ago.plus(Duration::from_secs(20)));
    db.keys.insert_key(dead.clone()).await.unwrap();
    let listed = db.json(&["keys", "list"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == json!(dead.kid.as_str()))
        .unwrap();
    assert_eq!(row["state"], json!("dropped"));
    assert_eq!(row["published"], json!(false));
    assert_eq!(row["drop_after"], json!(1_000_020));
    assert_eq!(db.json(&["tokens", "purge", "--dry-run"])["keys"], json!(1));
    assert_eq!(db.json(&["tokens", "purge", "--dry-run"])["keys"], json!(1));
    assert_eq!(db.json(&["tokens", "purge"])["keys"], json!(1));
    assert_eq!(db.json(&["tokens", "purge", "--dry-run"])["keys"], json!(0));
    assert!(
        !db.json(&["keys", "list"])
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == json!(dead.kid.as_str()))
    );

    // No private key, in any encoding, in anything printed.
    let mut printed = String::new();
    for args in [
        &["keys", "list"][..],
        &["--format", "json", "keys", "list"][..],
        &["--format", "json", "keys", "generate"][..],
        &["keys", "generate"][..],
    ] {
        printed.push_str(&db.run(args).stdout);
    }
    let table = db.run(&["keys", "list"]).stdout;
    assert!(table.starts_with("KID "), "{table}");
    assert!(table.contains("STATE"));
    for key in db.keys.keys().await.unwrap() {
        let der = key.private_pkcs8.expose_secret();
        let encodings = [
            base64::engine::general_purpose::STANDARD.encode(der),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(der),
            der.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ];
        for e in encodings {
            // Any 16-character window of the key would do; check several.
            for start in (0..e.len().saturating_sub(16)).step_by(24) {
                assert!(!printed.contains(&e[start..start + 16]));
            }
        }
    }
    assert!(!printed.to_lowercase().contains("private"));
}

#[tokio::test]
async fn bad_input_is_one_line_on_stderr_and_a_nonzero_exit() {
    let db = Db::sqlite().await;
    let id = unique("svc");
    db.json(&[
        "client",
        "create",
        "--client-id",
        &id,
        "--grant-type",
        "client_credentials",
    ]);

    // Usage and values: exit 2.
    let r = run_raw(&["client", "list"], &[]);
    assert!(assert_fails(&r, 2).contains("PORTCULLIS_DATABASE_URL"));
    let r = db.run(&["client", "create", "--grant-type", "implicit"]);
    assert!(assert_fails(&r, 2).contains("grant type: is not one of authorization_code"));
    let r = db.run(&["client", "create", "--redirect-uri", "not-a-uri"]);
    assert!(assert_fails(&r, 2).contains("redirect URI: is not an absolute URI"));
    let r = db.run(&[
        "client",
        "create",
        "--redirect-uri",
        "https://a.example/cb https://b.example/cb",
    ]);
    assert!(
        assert_fails(&r, 2).contains("redirect URI: contains whitespace or a control character")
    );
    let r = db.run(&[
        "client",
        "update",
        &id,
        "--add-redirect-uri",
        "https://a.example/cb#frag",
    ]);
    assert!(assert_fails(&r, 2).contains("redirect URI: has a fragment"));
    let r = db.run(&["client", "create", "--redirect-uri", "javascript:alert(1)"]);
    assert_fails(&r, 2);
    let r = db.run(&["client", "create", "--scope", "a\"b"]);
    assert!(assert_fails(&r, 2).contains("scope: contains '\"' or '\\'"));
    let r = db.run(&["client", "create", "--client-id", "bad\tid"]);
    assert!(assert_fails(&r, 2).contains("client id: contains a control character"));
    let r = db.run(&[
        "client",
        "create",
        "--grant-type",
        "client_credentials",
        "--public",
    ]);
    assert!(assert_fails(&r, 2).contains("public clients may not use client_credentials"));
    let r = db.run(&["client", "create", "--grant-type", "authorization_code"]);
    assert!(assert_fails(&r, 2).contains("requires a redirect URI"));
    let r = db.run(&[
        "client",
        "create",
        "--client-id",
        &id,
        "--grant-type",
        "client_credentials",
    ]);
    assert!(assert_fails(&r, 2).contains("already exists"));
    let r = db.run(&[
        "client",
        "create",
        "--scope",
        "a",
        "--default-scope",
        "b",
        "--grant-type",
        "client_credentials",
    ]);
    assert!(assert_fails(&r, 2).contains("default scope"));
    let r = db.run(&["client", "create", "--access-token-lifetime", "0"]);
    assert_fails(&r, 2);
    let r = db.run(&[
        "client",
        "create",
        "--token-endpoint-auth-method",
        "private_key_jwt",
    ]);
    assert!(assert_fails(&r, 2).contains("--jwks"));
    let r = db.run(&[
        "client",
        "update",
        &id,
        "--remove-redirect-uri",
        "https://a.example/cb",
    ]);
    assert!(assert_fails(&r, 2).contains("has no redirect URI"));
    let r = db.run(&[
        "client",
        "update",
        &id,
        "--remove-grant-type",
        "refresh_token",
    ]);
    assert!(assert_fails(&r, 2).contains("has no grant type"));
    let r = db.run(&["client", "update", &id, "--enable", "--disable"]);
    assert_fails(&r, 2);
    let r = db.run(&["client", "update", &id]);
    assert!(assert_fails(&r, 2).contains("nothing to change"));
    let r = db.run(&["client", "create", "--bogus"]);
    assert_fails(&r, 2);
    let r = db.run(&["--format", "xml", "client", "list"]);
    assert_fails(&r, 2);
    let r = db.run(&["client"]);
    assert_fails(&r, 2);
    let r = db.run(&["tokens", "revoke"]);
    assert_fails(&r, 2);
    let r = db.run(&["keys", "generate", "--issuer", "http://auth.example.com"]);
    assert!(assert_fails(&r, 2).contains("issuer"));

    // Unknown things: exit 3.
    let r = db.run(&["client", "show", "ghost"]);
    assert_eq!(assert_fails(&r, 3), "error: unknown client ghost");
    let r = db.run(&["client", "update", "ghost", "--rotate-secret"]);
    assert_fails(&r, 3);
    let r = db.run(&["client", "delete", "ghost"]);
    assert_fails(&r, 3);
    let r = db.run(&["consent", "revoke", "--user", "nobody", "--client", &id]);
    assert_fails(&r, 3);

    // The database: exit 1, the password never shown (given the preferred
    // way, in the environment; `database_url.rs` has it in argv).
    let r = run_raw(
        &["client", "list"],
        &[(
            "PORTCULLIS_DATABASE_URL",
            "postgres://portcullis:hunter2@127.0.0.1:1/nothing",
        )],
    );
    let msg = assert_fails(&r, 1);
    assert!(
        msg.contains("cannot open database postgres://portcullis:***@127.0.0.1:1/nothing"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"));
    // mysql:// is a database now: a refused connection, its password
    // masked, as for PostgreSQL.
    let r = run_raw(
        &["client", "list"],
        &[(
            "PORTCULLIS_DATABASE_URL",
            "mysql://portcullis:hunter2@127.0.0.1:1/nothing",
        )],
    );
    let msg = assert_fails(&r, 1);
    assert!(
        msg.contains("cannot open database mysql://portcullis:***@127.0.0.1:1/nothing"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"));
    let r = run_raw(
        &["--database", "mssql://localhost/x", "client", "list"],
        &[],
    );
    assert!(assert_fails(&r, 2).contains("unsupported database URL"));
    let dir = temp_dir();
    let missing = format!("sqlite://{}", dir.join("missing.db").display());
    let r = run_raw(&["--database", &missing, "client", "list"], &[]);
    assert!(assert_fails(&r, 1).contains("does not exist"));
    assert!(!dir.join("missing.db").exists(), "must not create the file");
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let r = run_raw(
        &[
            "--database",
            &format!("sqlite://{}", empty.display()),
            "client",
            "list",
        ],
        &[],
    );
    assert!(assert_fails(&r, 1).contains("run `portcullis migrate` first"));
    let _ = std::fs::remove_dir_all(&dir);

    // The environment variable stands in for --database; help and version work.
    let r = run_raw(
        &["--format", "json", "client", "list"],
        &[("PORTCULLIS_DATABASE_URL", &db.url)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).unwrap()[0]["client_id"],
        json!(id)
    );
    let r = run_raw(&["--help"], &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("migrate") && r.stdout.contains("consent"));
    let r = run_raw(&["--version"], &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("portcullis "));
}

#[tokio::test]
async fn client_update_edits_every_field_and_tables_are_the_default() {
    let db = Db::sqlite().await;
    let created = db.run(&[
        "client",
        "create",
        "--name",
        "Web",
        "--redirect-uri",
        "https://app.example/cb",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "read",
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    // Human output: a field per line, the secret once, a note on stderr.
    let line = |name: &str| -> String {
        created
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {}", created.stdout))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let id = line("client_id");
    assert_eq!(id.len(), 32, "random id: {id}");
    assert_eq!(line("client_secret").len(), 43);
    assert_eq!(line("client_name"), "Web");
    assert!(created.stderr.contains("shown only once"));

    let updated = db.json(&[
        "client",
        "update",
        &id,
        "--name",
        "Web app",
        "--add-redirect-uri",
        "http://127.0.0.1/cb",
        "--remove-redirect-uri",
        "https://app.example/cb",
        "--add-grant-type",
        "client_credentials",
        "--remove-grant-type",
        "refresh_token",
        "--add-scope",
        "write admin",
        "--remove-scope",
        "read",
        "--default-scope",
        "write",
        "--skip-consent",
        "true",
        "--allow-plain-pkce",
        "true",
        "--access-token-format",
        "jwt",
        "--access-token-lifetime",
        "120",
        "--refresh-token-lifetime",
        "7200",
        "--add-resource-server-for",
        "urn:example:reports",
        "--add-resource-server-for",
        "https://api.example",
    ]);
    assert_eq!(keys_of(&updated), with(&CLIENT_FIELDS, &["client_secret"]));
    let mut expected = json!({
        "client_id": id,
        "client_name": "Web app",
        "client_type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": ["http://127.0.0.1/cb"],
        "grant_types": ["authorization_code", "client_credentials"],
        "scope": "admin write",
        "default_scope": "write",
        "enabled": true,
        "skip_consent": true,
        "allow_plain_pkce": true,
        "access_token_format": "jwt",
        "access_token_lifetime": 120,
        "refresh_token_lifetime": 7200,
        "resource_server_audiences": ["https://api.example", "urn:example:reports"],
        "id_token_signed_response_alg": null,
        "userinfo_signed_response_alg": null,
        "subject_type": "public",
        "sector_identifier_uri": null,
        "sector_identifier": "127.0.0.1",
        "post_logout_redirect_uris": [],
        "backchannel_logout_uri": null,
        "backchannel_logout_session_required": false,
        "require_auth_time": false,
        "default_max_age": null,
        "logo_uri": null,
        "policy_uri": null,
        "tos_uri": null,
        "client_uri": null,
        "jwks": null,
        "require_pushed_authorization_requests": false,
        "require_signed_request_object": false,
        "dpop_bound_access_tokens": false,
        "resources": [],
        "client_secret": null
    });
    // The full client model (issue 19), untouched.
    let more = json!({
        "application_type": "web",
        "contacts": [],
        "jwks_uri": null,
        "software_id": null,
        "software_version": null,
        "client_secret_expires_at": 0,
        "token_endpoint_auth_signing_alg": null,
        "request_object_signing_alg": null,
        "allowed_cors_origins": [],
        "owner": null,
        "metadata": {}
    });
    expected
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    assert_eq!(updated, expected);
    // The secret did not change: only --rotate-secret changes it.
    let stored = db
        .clients
        .client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.secret_hash().unwrap().verify(&line("client_secret")));
    let back = db.json(&[
        "client",
        "update",
        &id,
        "--clear-default-scope",
        "--access-token-lifetime",
        "default",
        "--skip-consent",
        "false",
        "--access-token-format",
        "opaque",
        "--remove-resource-server-for",
        "urn:example:reports",
    ]);
    assert_eq!(back["default_scope"], json!(null));
    assert_eq!(
        back["resource_server_audiences"],
        json!(["https://api.example"])
    );
    let r = db.run(&[
        "client",
        "update",
        &id,
        "--remove-resource-server-for",
        "urn:nope",
    ]);
    assert!(assert_fails(&r, 2).contains("is no resource server for urn:nope"));
    let r = db.run(&[
        "client",
        "update",
        &id,
        "--add-resource-server-for",
        "two words",
    ]);
    assert!(assert_fails(&r, 2).contains("audience: contains whitespace"));
    assert_eq!(back["access_token_lifetime"], json!(null));
    assert_eq!(back["refresh_token_lifetime"], json!(7200));
    assert_eq!(back["skip_consent"], json!(false));
    assert_eq!(back["access_token_format"], json!("opaque"));

    // A public client has no secret to rotate; client_secret_jwt keeps one
    // in clear, and says so.
    let spa = db.json(&[
        "client",
        "create",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    ]);
    let spa_id = spa["client_id"].as_str().unwrap();
    let r = db.run(&["client", "update", spa_id, "--rotate-secret"]);
    assert!(assert_fails(&r, 2).contains("no secret to rotate"));
    // A public client cannot introspect, so it is no resource server.
    let r = db.run(&[
        "client",
        "update",
        spa_id,
        "--add-resource-server-for",
        "https://api.example",
    ]);
    assert!(
        assert_fails(&r, 2).contains("public client cannot be registered as a resource server")
    );
    let jwt = db.run(&[
        "client",
        "create",
        "--token-endpoint-auth-method",
        "client_secret_jwt",
        "--grant-type",
        "client_credentials",
    ]);
    assert_eq!(jwt.code, 0, "{}", jwt.stderr);
    assert!(jwt.stderr.contains("stored unhashed"));

    // The list as a table.
    let table = db.run(&["client", "list"]);
    assert_eq!(table.code, 0);
    let mut lines = table.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "CLIENT_ID",
            "NAME",
            "TYPE",
            "AUTH_METHOD",
            "GRANT_TYPES",
            "SCOPE",
            "ENABLED"
        ]
    );
    assert_eq!(lines.count(), 3);
    assert!(table.stdout.contains(&id) && table.stdout.contains(spa_id));
}

#[tokio::test]
async fn client_openid_connect_registration_on_create_update_and_show() {
    // covers: OI-04, LO-01, LO-02
    // issue 16
    let db = Db::sqlite().await;
    let created = db.json(&[
        "client",
        "create",
        "--client-id",
        "rp",
        "--redirect-uri",
        "https://a.example/cb",
        "--redirect-uri",
        "https://b.example/cb",
        "--scope",
        "openid profile",
        "--id-token-signed-response-alg",
        "ES256",
        "--userinfo-signed-response-alg",
        "RS256",
        "--subject-type",
        "pairwise",
        "--sector-identifier-uri",
        "https://sector.example/uris.json",
        "--post-logout-redirect-uri",
        "https://a.example/bye",
        "--post-logout-redirect-uri",
        "https://b.example/bye",
        "--backchannel-logout-uri",
        "http://127.0.0.1:8766/backchannel-logout",
        "--backchannel-logout-session-required",
        "--require-auth-time",
        "--default-max-age",
        "3600",
        "--logo-uri",
        "https://a.example/logo.png",
        "--policy-uri",
        "https://a.example/privacy",
        "--tos-uri",
        "https://a.example/terms",
        "--client-uri",
        "https://a.example/",
    ]);
    let expected = json!({
        "id_token_signed_response_alg": "ES256",
        "userinfo_signed_response_alg": "RS256",
        "subject_type": "pairwise",
        "sector_identifier_uri": "https://sector.example/uris.json",
        "sector_identifier": "sector.example",
        "post_logout_redirect_uris": ["https://a.example/bye", "https://b.example/bye"],
        "backchannel_logout_uri": "http://127.0.0.1:8766/backchannel-logout",
        "backchannel_logout_session_required": true,
        "require_auth_time": true,
        "default_max_age": 3600,
        "logo_uri": "https://a.example/logo.png",
        "policy_uri": "https://a.example/privacy",
        "tos_uri": "https://a.example/terms",
        "client_uri": "https://a.example/",
    });
    let shown = db.json(&["client", "show", "rp"]);
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&created[field], value, "create: {field}");
        assert_eq!(&shown[field], value, "show: {field}");
    }
    let stored = db
        .clients
        .client(&ClientId::parse("rp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored
            .post_logout_redirect_uri("https://b.example/bye")
            .is_some()
    );

    // Update: each field changed or removed; the sector is derived again.
    let updated = db.json(&[
        "client",
        "update",
        "rp",
        "--remove-redirect-uri",
        "https://b.example/cb",
        "--id-token-signed-response-alg",
        "default",
        "--userinfo-signed-response-alg",
        "EdDSA",
        "--sector-identifier-uri",
        "none",
        "--remove-post-logout-redirect-uri",
        "https://b.example/bye",
        "--add-post-logout-redirect-uri",
        "https://a.example/again",
        "--backchannel-logout-uri",
        "none",
        "--backchannel-logout-session-required",
        "false",
        "--require-auth-time",
        "false",
        "--default-max-age",
        "none",
        "--logo-uri",
        "none",
        "--tos-uri",
        "https://a.example/terms-v2",
    ]);
    assert_eq!(updated["id_token_signed_response_alg"], json!(null));
    assert_eq!(updated["userinfo_signed_response_alg"], json!("EdDSA"));
    assert_eq!(updated["subject_type"], json!("pairwise"));
    assert_eq!(updated["sector_identifier_uri"], json!(null));
    assert_eq!(updated["sector_identifier"], json!("a.example"));
    assert_eq!(
        updated["post_logout_redirect_uris"],
        json!(["https://a.example/again", "https://a.example/bye"])
    );
    assert_eq!(updated["backchannel_logout_uri"], json!(null));
    assert_eq!(updated["backchannel_logout_session_required"], json!(false));
    assert_eq!(updated["require_auth_time"], json!(false));
    assert_eq!(updated["default_max_age"], json!(null));
    assert_eq!(updated["logo_uri"], json!(null));
    assert_eq!(updated["tos_uri"], json!("https://a.example/terms-v2"));
    assert_eq!(updated["policy_uri"], json!("https://a.example/privacy"));
    assert_eq!(db.json(&["client", "show", "rp"]), {
        let mut v = updated;
        v.as_object_mut().unwrap().remove("client_secret");
        v
    });

    // Refusals name what is wrong, and change nothing.
    for (args, message) in [
        (
            &["--add-redirect-uri", "https://c.example/cb"][..],
            "pairwise client needs a sector_identifier_uri",
        ),
        (
            &["--id-token-signed-response-alg", "none"][..],
            "algorithm: is not ES256, EdDSA, RS256 or PS256",
        ),
        (
            &["--logo-uri", "javascript:alert(1)"][..],
            "URL: is not an http or https URL",
        ),
        (
            &["--add-post-logout-redirect-uri", "http://a.example/bye"][..],
            "post_logout_redirect_uris must use https",
        ),
        (
            &["--remove-post-logout-redirect-uri", "https://nope.example/"][..],
            "has no post-logout redirect URI https://nope.example/",
        ),
        (
            &["--subject-type", "secret"][..],
            "subject type: is not one of public, pairwise",
        ),
    ] {
        let mut all = vec!["client", "update", "rp"];
        all.extend_from_slice(args);
        let r = db.run(&all);
        let err = assert_fails(&r, 2);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let r = db.run(&[
        "client",
        "create",
        "--public",
        "--redirect-uri",
        "https://a.example/cb",
        "--backchannel-logout-uri",
        "http://a.example/bcl",
    ]);
    assert!(assert_fails(&r, 2).contains("backchannel_logout_uri must use https"));
    assert_eq!(
        db.json(&["client", "show", "rp"])["tos_uri"],
        json!("https://a.example/terms-v2")
    );
}

#[tokio::test]
async fn client_request_object_keys_and_pushed_requests_on_create_update_and_show() {
    // covers: PA-02, JR-01
    // issue 17 (operator parity: require_pushed_authorization_requests,
    // require_signed_request_object, jwks on any client)
    let db = Db::sqlite().await;
    let seed: Value = serde_json::from_str(include_str!("../fixtures/seed_v2.json")).unwrap();
    let jwks = seed["clients"][2]["jwks"].clone();
    let file = temp_dir().join(format!("{}.json", unique("jwks")));
    std::fs::write(&file, jwks.to_string()).unwrap();
    let path = file.to_str().unwrap();

    // A public client with request object keys, required to push and sign.
    let created = db.json(&[
        "client",
        "create",
        "--client-id",
        "spa-jar",
        "--public",
        "--redirect-uri",
        "https://a.example/cb",
        "--jwks",
        path,
        "--require-pushed-authorization-requests",
        "--require-signed-request-object",
    ]);
    assert_eq!(keys_of(&created), with(&CLIENT_FIELDS, &["client_secret"]));
    assert_eq!(created["token_endpoint_auth_method"], json!("none"));
    assert_eq!(created["jwks"], jwks);
    assert_eq!(
        created["require_pushed_authorization_requests"],
        json!(true)
    );
    assert_eq!(created["require_signed_request_object"], json!(true));
    let stored = db
        .clients
        .client(&ClientId::parse("spa-jar").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.jwks().is_some());
    assert!(stored.requires_pushed_authorization_requests());
    assert!(stored.requires_signed_request_object());
    let shown = db.json(&["client", "show", "spa-jar"]);
    assert_eq!(keys_of(&shown), names(&CLIENT_FIELDS));
    // The table names the keys, not their material.
    let r = db.run(&["client", "show", "spa-jar"]);
    assert!(
        r.stdout.contains("1 key(s): pkjwt-key-1 (EC)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("require_pushed_authorization_requests"));

    // Update: each flag back off, the keys removed, then set again.
    let updated = db.json(&[
        "client",
        "update",
        "spa-jar",
        "--require-pushed-authorization-requests",
        "false",
        "--require-signed-request-object",
        "false",
        "--remove-jwks",
    ]);
    assert_eq!(updated["jwks"], json!(null));
    assert_eq!(
        updated["require_pushed_authorization_requests"],
        json!(false)
    );
    assert_eq!(updated["require_signed_request_object"], json!(false));
    let updated = db.json(&["client", "update", "spa-jar", "--jwks", path]);
    assert_eq!(updated["jwks"], jwks);

    // A secret client may have request object keys too.
    let web = db.json(&[
        "client",
        "create",
        "--client-id",
        "web-jar",
        "--redirect-uri",
        "https://a.example/cb",
        "--jwks",
        path,
    ]);
    assert_eq!(
        web["token_endpoint_auth_method"],
        json!("client_secret_basic")
    );
    assert_eq!(web["jwks"], jwks);

    // A private_key_jwt client's keys are replaced, never removed.
    db.json(&[
        "client",
        "create",
        "--client-id",
        "pk",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--grant-type",
        "client_credentials",
        "--jwks",
        path,
    ]);
    let r = db.run(&["client", "update", "pk", "--remove-jwks"]);
    assert!(assert_fails(&r, 2).contains("replaced"));
    let r = db.run(&["client", "update", "pk", "--jwks", path, "--remove-jwks"]);
    assert_fails(&r, 2);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn client_dpop_binding_and_resources_on_create_update_and_show() {
    // covers: DP-02, RI-01
    // issue 17 (operator parity: dpop_bound_access_tokens, resources)
    let db = Db::sqlite().await;
    let created = db.json(&[
        "client",
        "create",
        "--client-id",
        "dpop-spa",
        "--public",
        "--redirect-uri",
        "https://a.example/cb",
        "--dpop-bound-access-tokens",
        "--resource",
        "urn:example:calendar",
        "--resource",
        "https://api.example.com/",
    ]);
    assert_eq!(keys_of(&created), with(&CLIENT_FIELDS, &["client_secret"]));
    assert_eq!(created["dpop_bound_access_tokens"], json!(true));
    assert_eq!(
        created["resources"],
        json!(["https://api.example.com/", "urn:example:calendar"])
    );
    let stored = db
        .clients
        .client(&ClientId::parse("dpop-spa").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.dpop_bound_access_tokens());
    assert_eq!(stored.resources().len(), 2);
    let shown = db.json(&["client", "show", "dpop-spa"]);
    assert_eq!(keys_of(&shown), names(&CLIENT_FIELDS));
    assert_eq!(shown["resources"], created["resources"]);
    let r = db.run(&["client", "show", "dpop-spa"]);
    assert!(
        r.stdout.contains("dpop_bound_access_tokens"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("urn:example:calendar"), "{}", r.stdout);

    // An edit of another field keeps both.
    let updated = db.json(&["client", "update", "dpop-spa", "--name", "SPA"]);
    assert_eq!(updated["dpop_bound_access_tokens"], json!(true));
    assert_eq!(updated["resources"], created["resources"]);

    // Update: the binding off, one resource out, another in.
    let updated = db.json(&[
        "client",
        "update",
        "dpop-spa",
        "--dpop-bound-access-tokens",
        "false",
        "--remove-resource",
        "urn:example:calendar",
        "--add-resource",
        "https://reports.example.com/",
    ]);
    assert_eq!(updated["dpop_bound_access_tokens"], json!(false));
    assert_eq!(
        updated["resources"],
        json!(["https://api.example.com/", "https://reports.example.com/"])
    );
    // A resource the client does not have, or that is no absolute URI.
    let r = db.run(&[
        "client",
        "update",
        "dpop-spa",
        "--remove-resource",
        "urn:example:calendar",
    ]);
    assert!(assert_fails(&r, 2).contains("has no resource"));
    let r = db.run(&[
        "client",
        "update",
        "dpop-spa",
        "--add-resource",
        "/relative",
    ]);
    assert_fails(&r, 2);
    let r = db.run(&[
        "client",
        "create",
        "--client-id",
        "x",
        "--resource",
        "https://a.example/#frag",
    ]);
    assert_fails(&r, 2);
}
