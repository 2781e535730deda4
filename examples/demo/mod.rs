//! The demo server's framework-independent half, shared by the axum
//! (`server.rs`), actix-web (`actix.rs`) and hyper (`hyper.rs`) examples:
//! command line, seed file, stores, sessions with CSRF tokens, the login and
//! consent pages (`pages.rs`, with the scopes in words of `scope_words.rs`),
//! and the handlers of the authorization route, the login and
//! consent forms, the end-session route (RP-Initiated Logout at
//! `Config::paths.end_session`, its confirmation form at `/logout`, and
//! Back-Channel Logout delivery) and the protected `/api/me` route. A login
//! session has a random session id of its own (the `sid` of ID and Logout
//! Tokens, not the cookie's value), which every code and token issued in
//! it records: the clients that got one are the ones told, by a POST to
//! their `backchannel_logout_uri`, when it ends, by a logout or otherwise
//! (idle, pushed out, replaced by another user's login: `sessions.rs`).
//! The library finds them in the token store
//! (`TokenStore::session_clients`), so the demo tracks none. A seed
//! user's `claims.sub` is their subject (`seed.rs`). The handlers take and
//! return the core's `Request` and `Response`, so each example is only the
//! wiring of one framework.
//!
//! Command line: `[--addr HOST:PORT] [--seed FILE] [--database URL]
//! [--max-failures N] [--max-sessions N] [--session-idle SECONDS]
//! [--static-token-json] [--signing-algorithm ALG] [--profile default|fapi2]
//! [--device-interval SECONDS] [--key-cache-ttl SECONDS]`.
//! `--key-cache-ttl` sets how long the signing keys are cached (default
//! 60 s): how soon a key rotated in elsewhere is published and used.
//! `--device-interval` sets the device grant's
//! polling interval (default 5 s; the device grant is on, its verification
//! page at `/device`).
//! `--profile fapi2` starts the server in the FAPI 2.0 Security Profile
//! (`Config::fapi2_security_profile`, with the demo's other settings): every
//! authorization request pushed, only `private_key_jwt` clients served, no
//! password grant, keys and ID Tokens PS256, ES256 or EdDSA (an RS256
//! `--signing-algorithm` is refused); the same seeds start it (`seed.rs`).
//! `--max-failures` (default 5)
//! is the brute-force limit: failed attempts allowed per client id or
//! username from one source in each minute (see [`throttle_limits`]; with
//! `--database` the counts are kept in the database, shared by every demo
//! process on it).
//! `--max-sessions` and `--session-idle` bound the browser sessions
//! (`sessions.rs`).
//! `--static-token-json` adds
//! `POST /static/token`, a fixed JSON body the size of a token response, for
//! the HTTP load benchmark (`benches/http_load.sh`), and (without `--seed`)
//! the client `demo-person`, whose secret is hashed as a people-chosen one
//! (PBKDF2). A database URL is never printed with its password.
//!
//! Token exchange (RFC 8693) is on when a seed client lists its grant
//! type, with the demo's fixed rule of who may exchange what
//! (`exchange.rs`).
//!
//! The seed file's format, parsing and checks are in `seed.rs`, which the
//! fuzz harness (`fuzz/src/lib.rs`, target `seed_json`) includes too; what
//! a seed asks for that the demo does not support yet is logged, one line
//! per field, and left out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use pages::html;
use portcullis::http::{Method, Request, Response, Source};
use portcullis::oidc::{LoginId, SessionId};
use portcullis::{
    Account, Attempt, MemoryThrottle, Outcome, StoreThrottle, Throttle, ThrottleLimits, Verdict,
};
use portcullis::{
    Algorithm, Authentication, AuthorizationRequestStore, AuthorizationServer, AuthorizeStep,
    BackchannelLogout, BearerToken, ClientAdmin, ClientId, ClientStore, ConsentStore, DeviceStore,
    DeviceVerificationError, EndSessionStep, KeyProvider, MemoryKeys, MemoryStore, MemoryUsers,
    PasswordVerifier, Profile, RandomSource, ReplayCache, ScopeSet, Secret, SystemRandom,
    TokenStore, UserId, generate_secret,
};
use scope_words::ScopeWords;
use seed::{Loaded, Seed, SeedClient, SeedUser};
use sessions::{Session, Sessions, csrf_matches};
use tokio::sync::mpsc::UnboundedReceiver;

#[path = "exchange.rs"]
mod exchange;
#[path = "pages.rs"]
mod pages;
#[path = "scope_words.rs"]
mod scope_words;
#[path = "seed.rs"]
mod seed;
#[path = "sessions.rs"]
mod sessions;
#[path = "user_claims.rs"]
mod user_claims;

/// PBKDF2 rounds for the demo's people-chosen secrets and passwords.
const DEMO_ITERATIONS: u32 = 100_000;

/// `--max-failures` when not given.
const DEFAULT_MAX_FAILURES: u32 = 5;

/// The length of one throttling window, in seconds.
const WINDOW_SECS: u64 = 60;

/// Where the logout confirmation form posts.
pub(crate) const LOGOUT_FORM_PATH: &str = "/logout";

/// Where the device flow's login form posts (its verification page is at
/// `Config::paths.device_verification`, the `verification_uri`).
pub(crate) const DEVICE_LOGIN_PATH: &str = "/device/login";

/// Where the device flow's consent form posts.
pub(crate) const DEVICE_CONSENT_PATH: &str = "/device/consent";

/// Where `--static-token-json` serves its fixed body.
pub(crate) const STATIC_TOKEN_PATH: &str = "/static/token";

pub(crate) struct Args {
    pub(crate) addr: SocketAddr,
    seed: Option<String>,
    database: Option<String>,
    /// Failed attempts allowed per client id and per username per minute.
    max_failures: u32,
    /// Browser sessions kept at most.
    max_sessions: usize,
    /// Seconds after which an unused browser session is forgotten.
    session_idle: u64,
    /// Serve [`STATIC_TOKEN_PATH`].
    pub(crate) static_token_json: bool,
    /// The algorithm of the signing key made at start when none signs
    /// (ES256 unless `--signing-algorithm` says otherwise).
    signing_algorithm: Option<Algorithm>,
    /// `--profile`: the security profile the server enforces.
    profile: Profile,
    /// `--device-interval`: the device grant's polling interval, seconds.
    device_interval: Option<u64>,
    /// `--key-cache-ttl`: how long the signing keys are cached, seconds
    /// (`Config::key_cache_ttl`): how soon an instance sees a key another
    /// instance or the operator CLI rotated in.
    key_cache_ttl: Option<u64>,
}

/// A `--profile` value: `default`, or `fapi2` (the FAPI 2.0 Security
/// Profile, `Config::fapi2_security_profile`; `fapi2_security`, the
/// configuration name, is accepted too).
fn parse_profile(v: &str) -> Result<Profile, String> {
    match v {
        "fapi2" => Ok(Profile::Fapi2Security),
        other => other
            .parse()
            .map_err(|_| format!("--profile: not default or fapi2: {v}")),
    }
}

fn parse_args(program: &str) -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:9400"
            .parse()
            .map_err(|_| "bad default address")?,
        seed: None,
        database: None,
        max_failures: DEFAULT_MAX_FAILURES,
        max_sessions: sessions::DEFAULT_MAX_SESSIONS,
        session_idle: sessions::DEFAULT_IDLE_SECS,
        static_token_json: false,
        signing_algorithm: None,
        profile: Profile::Default,
        device_interval: None,
        key_cache_ttl: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--addr" => {
                let v = it.next().ok_or("--addr needs HOST:PORT")?;
                args.addr = v
                    .parse()
                    .map_err(|_| format!("--addr: not HOST:PORT: {v}"))?;
            }
            "--seed" => args.seed = Some(it.next().ok_or("--seed needs a file")?),
            "--database" => args.database = Some(it.next().ok_or("--database needs a URL")?),
            "--max-failures" => {
                let v = it.next().ok_or("--max-failures needs a number")?;
                args.max_failures = v
                    .parse()
                    .map_err(|_| format!("--max-failures: not a number: {v}"))?;
            }
            "--max-sessions" => {
                let v = it.next().ok_or("--max-sessions needs a number")?;
                args.max_sessions = v
                    .parse()
                    .map_err(|_| format!("--max-sessions: not a number: {v}"))?;
            }
            "--session-idle" => {
                let v = it
                    .next()
                    .ok_or("--session-idle needs a number of seconds")?;
                args.session_idle = v
                    .parse()
                    .map_err(|_| format!("--session-idle: not a number: {v}"))?;
            }
            "--static-token-json" => args.static_token_json = true,
            "--signing-algorithm" => {
                let v = it
                    .next()
                    .ok_or("--signing-algorithm needs ES256, EdDSA or RS256")?;
                args.signing_algorithm =
                    Some(v.parse().map_err(|e| format!("--signing-algorithm: {e}"))?);
            }
            "--profile" => {
                let v = it.next().ok_or("--profile needs default or fapi2")?;
                args.profile = parse_profile(&v)?;
            }
            "--device-interval" => {
                let v = it
                    .next()
                    .ok_or("--device-interval needs a number of seconds")?;
                args.device_interval = Some(
                    v.parse()
                        .map_err(|_| format!("--device-interval: not a number: {v}"))?,
                );
            }
            "--key-cache-ttl" => {
                let v = it
                    .next()
                    .ok_or("--key-cache-ttl needs a number of seconds")?;
                args.key_cache_ttl = Some(
                    v.parse()
                        .map_err(|_| format!("--key-cache-ttl: not a number: {v}"))?,
                );
            }
            "-h" | "--help" => {
                println!(
                    "usage: {program} [--addr HOST:PORT] [--seed FILE] \
                     [--database sqlite://PATH|postgres://URL|mysql://URL] [--max-failures N] \
                     [--max-sessions N] [--session-idle SECONDS] [--static-token-json] \
                     [--signing-algorithm ES256|EdDSA|RS256|PS256] [--profile default|fapi2] \
                     [--device-interval SECONDS] [--key-cache-ttl SECONDS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

fn iterations() -> NonZeroU32 {
    NonZeroU32::new(DEMO_ITERATIONS).unwrap_or(NonZeroU32::MIN)
}

/// The demo configuration: three clients and one user, secrets printed once.
fn demo_seed(issuer: String, random: &dyn RandomSource) -> Result<(Seed, String), String> {
    let (web_secret, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let (svc_secret, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let (password, _) = generate_secret(random).map_err(|e| e.to_string())?;
    let redirect = "http://127.0.0.1:8765/callback".to_owned();
    let banner = format!(
        "demo clients:\n  demo-web      confidential  secret {}  redirect {redirect}  grants authorization_code refresh_token  scope \"read write\"\n  demo-spa      public (PKCE) redirect {redirect}  grants authorization_code refresh_token  scope \"read write\"\n  demo-service  confidential  secret {}  grants client_credentials  scope \"read\"\n  demo-tv       public        grants device_code refresh_token  scope \"read\"  (verification page /device)\ndemo user:\n  alice / {}\n(secrets are shown once and stored hashed)",
        web_secret.expose_secret(),
        svc_secret.expose_secret(),
        password.expose_secret()
    );
    let client =
        |id: &str, secret: Option<&Secret<String>>, grants: &[&str], scope: &str, uris: bool| {
            SeedClient {
                client_id: id.into(),
                client_secret: secret.map(|s| s.expose_secret().clone()),
                generated: true,
                client_name: Some(format!("Demo {id}")),
                redirect_uris: if uris { vec![redirect.clone()] } else { vec![] },
                grant_types: grants.iter().map(|g| g.to_string()).collect(),
                scope: scope.into(),
                ..SeedClient::default()
            }
        };
    let seed = Seed {
        issuer,
        clients: vec![
            client(
                "demo-web",
                Some(&web_secret),
                &["authorization_code", "refresh_token"],
                "read write",
                true,
            ),
            client(
                "demo-spa",
                None,
                &["authorization_code", "refresh_token"],
                "read write",
                true,
            ),
            client(
                "demo-service",
                Some(&svc_secret),
                &["client_credentials"],
                "read",
                false,
            ),
            client(
                "demo-tv",
                None,
                &[
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "refresh_token",
                ],
                "read",
                false,
            ),
        ],
        users: vec![SeedUser {
            username: "alice".into(),
            password: password.into_inner(),
            claims: None,
            other: Default::default(),
        }],
        scope_descriptions: [("read", "Read your data"), ("write", "Change your data")]
            .into_iter()
            .map(|(s, w)| (s.to_owned(), w.to_owned()))
            .collect(),
        resources: None,
        registration: None,
        pairwise_salt_seed: None,
        other: Default::default(),
    };
    Ok((seed, banner))
}

/// How long a request waits for a PostgreSQL connection, in seconds.
#[cfg(feature = "postgres")]
const DB_ACQUIRE_SECS: u64 = 2;

/// The demo's brute-force protection: portcullis's [`MemoryThrottle`]
/// without `--database`, its [`StoreThrottle`] on the database with one (so
/// that several demo processes on one database count together), wired into
/// the server through the `Throttle` hook and into the demo's
/// own login form, which guesses the same passwords (as the same
/// `Account::User`). Per minute: `max_failures` guesses per account from
/// one source, four times that per account from sources that have not
/// signed in to it before, twenty times that per source. A wrong secret
/// from one address therefore never locks the client out at another
/// (RB-04). The adapters give each request its peer address as its source;
/// behind a reverse proxy the demo would set the client's address from the
/// proxy's header instead.
fn throttle_limits(max_failures: u32) -> ThrottleLimits {
    let mut limits = ThrottleLimits::default();
    limits.per_account_and_source = max_failures;
    limits.per_account = max_failures.saturating_mul(4);
    limits.per_source = max_failures.saturating_mul(20);
    limits.window = std::time::Duration::from_secs(WINDOW_SECS);
    limits
}

/// For the HTTP benchmark (`--static-token-json` without `--seed`): adds
/// `demo-person`, a `client_credentials` client like `demo-service` whose
/// secret is hashed as people-chosen secrets are (PBKDF2, the demo's
/// rounds) rather than with one SHA-256, so the benchmark can compare the
/// two in one run. The secret itself is random, and printed once.
fn with_person_client(
    mut seed: Seed,
    banner: String,
    random: &dyn RandomSource,
) -> Result<(Seed, String), String> {
    let (secret, _) = generate_secret(random).map_err(|e| e.to_string())?;
    // Through serde, as a seed file's entry: `generated` stays false.
    let client: SeedClient = serde_json::from_value(serde_json::json!({
        "client_id": "demo-person",
        "client_secret": secret.expose_secret(),
        "client_name": "Demo demo-person",
        "grant_types": ["client_credentials"],
        "scope": "read",
    }))
    .map_err(|e| e.to_string())?;
    seed.clients.push(client);
    let banner = format!(
        "{banner}\nbenchmark client:\n  demo-person   confidential  secret {}  (hashed as people-chosen: PBKDF2)  grants client_credentials  scope \"read\"",
        secret.expose_secret()
    );
    Ok((seed, banner))
}

/// `url` as it may be shown: any password (in the userinfo or a
/// `password=` parameter) masked. A URL that does not parse is not shown.
fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "(unparsable URL)".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some_and(|q| q.contains("password")) {
        parsed.set_query(Some("***"));
    }
    parsed.to_string()
}

/// Opens the store named by `--database`, or memory without it.
async fn open_and_build(seed: Seed, args: &Args, limits: ThrottleLimits) -> Result<Demo, String> {
    let sessions = |secure| Sessions::new(args.max_sessions, args.session_idle, secure);
    match args.database.as_deref() {
        None => {
            build(
                seed,
                Arc::new(MemoryStore::new()),
                Arc::new(MemoryKeys::new()),
                Arc::new(MemoryThrottle::new(limits)),
                sessions,
                args,
            )
            .await
        }
        #[cfg(feature = "sqlite")]
        Some(url) if url.starts_with("sqlite:") => {
            let store = portcullis::stores::SqliteStore::connect(url)
                .await
                .map_err(|e| format!("database {}: {e}", redact(url)))?;
            store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
            let store = Arc::new(store);
            let throttle = Arc::new(StoreThrottle::new(store.clone(), limits));
            build(seed, store.clone(), store, throttle, sessions, args).await
        }
        #[cfg(feature = "postgres")]
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
            // A request waits at most `DB_ACQUIRE_SECS` for a connection
            // (sqlx's default is 30 s): while the database is down, clients
            // get `server_error` soon instead of hanging (issue 20,
            // `tests/e2e/instances.rs`).
            let options = portcullis::stores::SqlPoolOptions::default()
                .acquire_timeout(std::time::Duration::from_secs(DB_ACQUIRE_SECS));
            let store = portcullis::stores::PostgresStore::connect_with(url, &options)
                .await
                .map_err(|e| format!("database {}: {e}", redact(url)))?;
            store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
            let store = Arc::new(store);
            let throttle = Arc::new(StoreThrottle::new(store.clone(), limits));
            build(seed, store.clone(), store, throttle, sessions, args).await
        }
        #[cfg(feature = "mysql")]
        Some(url) if url.starts_with("mysql:") || url.starts_with("mariadb:") => {
            let store = portcullis::stores::MySqlStore::connect(url)
                .await
                .map_err(|e| format!("database {}: {e}", redact(url)))?;
            store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
            let store = Arc::new(store);
            let throttle = Arc::new(StoreThrottle::new(store.clone(), limits));
            build(seed, store.clone(), store, throttle, sessions, args).await
        }
        Some(url) => Err(format!(
            "unsupported database URL {}: use sqlite://PATH, postgres://… or mysql://… \
             (built with --features sqlite / postgres / mysql)",
            redact(url)
        )),
    }
}

async fn build<S>(
    seed: Seed,
    store: Arc<S>,
    keys: Arc<dyn KeyProvider>,
    throttle: Arc<dyn Throttle>,
    sessions: impl FnOnce(bool) -> (Sessions, UnboundedReceiver<sessions::Ended>),
    args: &Args,
) -> Result<Demo, String>
where
    S: ClientStore
        + ClientAdmin
        + TokenStore
        + ConsentStore
        + AuthorizationRequestStore
        + ReplayCache
        + DeviceStore
        + portcullis::TokenAdmin,
{
    let (signing_algorithm, profile, device_interval) =
        (args.signing_algorithm, args.profile, args.device_interval);
    let scope_words = ScopeWords::new(&seed.scope_descriptions);
    let Loaded {
        mut config,
        clients,
        users,
        people,
        claims,
        ignored,
        ..
    } = seed::load_in(&seed, profile, iterations(), &SystemRandom::new())?;
    let user_claims = user_claims::DemoUserClaims::new(&people);
    let names = people
        .into_iter()
        .map(|p| {
            let name = p
                .claims
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned);
            (
                p.subject,
                Shown {
                    username: p.username,
                    name,
                },
            )
        })
        .collect();
    if profile != Profile::Default {
        tracing::info!(profile = %profile, "the server enforces a security profile");
    }
    for note in &ignored {
        tracing::warn!(entry = %note.entry, field = %note.field, "ignored from the seed: {}", note.why);
    }
    if let Some(alg) = signing_algorithm {
        // RS256 needs the `rsa-keygen` feature (the `cli` feature has it).
        config.signing_algorithm = alg;
    }
    // Access tokens keep their algorithm whatever other keys exist: adding
    // or rotating the RS256 key of ID Tokens never changes it.
    let access_alg = config.signing_algorithm;
    config.access_token_signing_alg = Some(access_alg);
    // A current key for every ID Token algorithm discovery lists (RS256, the
    // default of OpenID Connect Core 15.1, needs `rsa-keygen`) and for
    // access tokens.
    let mut key_algs = config.id_token_signing_algs.clone();
    if !key_algs.contains(&access_alg) {
        key_algs.push(access_alg);
    }
    // An unknown client costs what one with a people-chosen secret does.
    config.unknown_client_iterations = iterations();
    // The demo serves RP-Initiated Logout at `paths.end_session` and
    // delivers Back-Channel Logout tokens (`deliver_backchannel`).
    config.rp_initiated_logout = true;
    // The device authorization grant (RFC 8628) is on in the demo, with its
    // verification page (`Demo::device`); the FAPI 2.0 profile has no place
    // for it.
    if profile == Profile::Default && !config.offers(portcullis::GrantType::DeviceCode) {
        config.grant_types.push(portcullis::GrantType::DeviceCode);
    }
    if let Some(secs) = device_interval {
        config.device_code_interval = std::time::Duration::from_secs(secs);
    }
    config.backchannel_logout = true;
    if let Some(secs) = args.key_cache_ttl {
        config.key_cache_ttl = std::time::Duration::from_secs(secs);
    }
    let clients_exchange = clients
        .iter()
        .any(|c| c.allows_grant(portcullis::GrantType::TokenExchange));
    seed::save_clients(&*store, clients).await?;
    // Dynamic client registration (RFC 7591/7592) is on: behind the seed's
    // `registration.initial_access_token` when it has one, open otherwise.
    let registration = registration_policy(seed.registration.as_ref());
    // Behind a TLS-terminating proxy: the session cookie is https-only too.
    let secure = config.issuer.starts_with("https://");
    let users = Arc::new(users);
    let verifier: Arc<dyn PasswordVerifier> = users.clone();
    // The device grant (RFC 8628) is on: its verification page is the
    // demo's (`Demo::device`), its records in the same store.
    // Token exchange (RFC 8693) is on, with the demo's rule
    // (`exchange.rs`), when a seed client is registered for it: the
    // metadata lists the grant then only.
    let builder = AuthorizationServer::builder(config);
    let builder = if clients_exchange {
        builder.token_exchange(Arc::new(exchange::DemoExchange))
    } else {
        builder
    };
    let server = builder
        .device_store(store.clone())
        .store(store.clone())
        .key_provider(keys)
        .password_verifier(verifier)
        // One pool, one bound, for passwords and client secrets (RB-06).
        .hash_pool(users.hash_pool().clone())
        .throttle(throttle.clone())
        .claims_hook(Arc::new(claims))
        .user_claims(Arc::new(user_claims))
        .client_registration(store.clone(), registration)
        // Keys at a client's jwks_uri (issue 19): a plain HTTP GET.
        .jwks_fetcher(Arc::new(HttpJwksFetcher))
        .build()
        .map_err(|e| format!("configuration: {e}"))?;
    // Clients may ask for JWT access tokens, and OpenID clients get ID
    // Tokens signed with their algorithm: make sure a key of each signs.
    server
        .ensure_signing_keys(&key_algs)
        .await
        .map_err(|e| format!("signing keys: {e}"))?;
    let server = Arc::new(server);
    let (sessions, ended) = sessions(secure);
    let sessions = Arc::new(sessions);
    tokio::spawn(end_sessions(server.clone(), sessions.clone(), ended));
    Ok(Demo {
        server,
        users,
        throttle,
        sessions,
        names,
        scope_words,
    })
}

/// The demo's registration policy (seed contract v2): an
/// `initial_access_token` string in the seed's `registration` object makes
/// registering require it; anything else (no object, no token, a value that
/// is not a non-empty string, which is logged) leaves registration open.
fn registration_policy(
    registration: Option<&serde_json::Value>,
) -> Arc<dyn portcullis::RegistrationPolicy> {
    let token = registration.and_then(|r| r.get("initial_access_token"));
    match token.and_then(serde_json::Value::as_str) {
        Some(t) if !t.is_empty() => {
            tracing::info!("client registration on, behind the seed's initial access token");
            Arc::new(portcullis::InitialAccessToken::new(t))
        }
        _ => {
            if token.is_some() {
                tracing::warn!(
                    "ignored from the seed: registration.initial_access_token is not a non-empty string"
                );
            }
            tracing::info!("client registration on, open (the seed names no initial access token)");
            Arc::new(portcullis::OpenRegistration::new())
        }
    }
}

/// For as long as the demo runs: sweeps the expired sessions away every
/// [`Sessions::sweep_every`], and tells the clients of every login session
/// that ends without a logout (idle, pushed out, replaced by another
/// user's login) with Back-Channel Logout, as a logout does. The Logout
/// Tokens are signed here and delivered by [`deliver_backchannel`]'s own
/// task: no page ever waits for either.
async fn end_sessions(
    server: Arc<AuthorizationServer>,
    sessions: Arc<Sessions>,
    mut ended: UnboundedReceiver<sessions::Ended>,
) {
    let mut sweep = tokio::time::interval(sessions.sweep_every());
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            end = ended.recv() => {
                let Some(end) = end else { return };
                tracing::info!(
                    reason = end.reason.as_str(),
                    "login session ended; telling its clients"
                );
                // The store knows the session's clients: no list to pass.
                deliver_backchannel(server.backchannel_logout(&end.user, &[]).await);
            }
            _ = sweep.tick() => sessions.sweep(),
        }
    }
}

/// A running demo's listening socket, state and start-up banner.
pub(crate) struct Started {
    pub(crate) args: Args,
    /// Bound and non-blocking, ready for any runtime.
    pub(crate) listener: std::net::TcpListener,
    pub(crate) demo: Arc<Demo>,
    banner: String,
}

impl Started {
    /// Prints the banner, the issuer and, last, `listening on http://ADDR`
    /// (what scripts and tests wait for).
    pub(crate) fn announce(&self) {
        println!("{}", self.banner);
        println!("issuer {}", self.demo.server.config().issuer);
        match self.listener.local_addr() {
            Ok(addr) => println!("listening on http://{addr}"),
            Err(e) => fail(1, format!("listening socket: {e}")),
        }
    }
}

fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(code)
}

/// Logging to stderr, `info` unless `RUST_LOG` says otherwise.
pub(crate) fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Parses the command line, binds the address, loads the seed (or makes the
/// demo one) and builds the server; exits with a message on any failure.
pub(crate) async fn start(program: &str) -> Started {
    let args = parse_args(program).unwrap_or_else(|e| fail(2, e));
    let listener = std::net::TcpListener::bind(args.addr)
        .unwrap_or_else(|e| fail(1, format!("cannot listen on {}: {e}", args.addr)));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| fail(1, e));
    let local = listener.local_addr().unwrap_or_else(|e| fail(1, e));
    let (seed, banner) = match &args.seed {
        Some(path) => {
            let text = std::fs::read(path)
                .unwrap_or_else(|e| fail(2, format!("cannot read seed {path}: {e}")));
            let mut seed =
                seed::parse(&text).unwrap_or_else(|e| fail(2, format!("seed {path}: {e}")));
            // Every instance started with this file derives one pairwise
            // salt from it (issue 20): a user's pairwise subject is the
            // same whichever instance answers, and across restarts.
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(b"portcullis demo pairwise salt\0");
            ctx.update(&text);
            seed.pairwise_salt_seed = Some(ctx.finish().as_ref().to_vec());
            (seed, format!("loaded seed {path}"))
        }
        None => demo_seed(format!("http://{local}"), &SystemRandom::new())
            .unwrap_or_else(|e| fail(1, e)),
    };
    let (seed, banner) = if args.static_token_json && args.seed.is_none() {
        with_person_client(seed, banner, &SystemRandom::new()).unwrap_or_else(|e| fail(1, e))
    } else {
        (seed, banner)
    };
    let demo = open_and_build(seed, &args, throttle_limits(args.max_failures))
        .await
        .unwrap_or_else(|e| fail(2, e));
    Started {
        args,
        listener,
        demo: Arc::new(demo),
        banner,
    }
}

/// Resolves on Ctrl-C or SIGTERM, for a graceful shutdown.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// Logs method, path and status: never the query or body, which carry
/// codes, secrets and passwords.
pub(crate) fn log_request(method: &str, path: &str, status: u16) {
    tracing::info!(%method, %path, status, "request");
}

/// The demo's state: the server, its users and the browser sessions.
pub(crate) struct Demo {
    pub(crate) server: Arc<AuthorizationServer>,
    users: Arc<MemoryUsers>,
    /// Also guards the login form: it guesses the same passwords.
    throttle: Arc<dyn Throttle>,
    sessions: Arc<Sessions>,
    /// Who each seeded user is on the pages, by subject (the user id a
    /// session and a pending authorization hold).
    names: HashMap<UserId, Shown>,
    /// The scopes in words, on the consent page.
    scope_words: ScopeWords,
}

/// A user as the pages name them: the username they sign in with, and
/// their `name` claim when the seed gives one.
struct Shown {
    username: String,
    name: Option<String>,
}

/// The demo's error page in place of the core's minimal one (an HTML
/// page, never a redirect: AZ-03), with the same status; any other
/// response (a redirect, JSON) as it is.
fn error_page(r: Response) -> Response {
    if !r
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("text/html"))
    {
        return r;
    }
    let code = r.error().map(|c| c.as_str());
    html(r.status(), pages::error_page(r.cause(), code))
}

fn text(status: u16, body: &str) -> Response {
    Response::new(status, body.as_bytes().to_vec())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// The fields of a submitted form; `None` if one is missing or repeated.
fn form_fields<const N: usize>(body: &[u8], names: [&str; N]) -> Option<[String; N]> {
    let mut found: [Option<String>; N] = [const { None }; N];
    for (k, v) in form_urlencoded::parse(body) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            let slot = found.get_mut(i)?;
            if slot.replace(v.into_owned()).is_some() {
                return None;
            }
        }
    }
    let mut out: [String; N] = [const { String::new() }; N];
    for (o, f) in out.iter_mut().zip(found) {
        *o = f?;
    }
    Some(out)
}

impl Demo {
    /// A fresh 256-bit value; `None` if the random source failed (then no
    /// session may be made: an empty id would be every session's).
    fn random_token(&self) -> Option<String> {
        generate_secret(self.server.random())
            .ok()
            .map(|(s, _)| s.into_inner())
    }

    /// A new anonymous session: its CSRF token and `Set-Cookie` value.
    fn new_session(&self) -> Option<(String, String)> {
        let (sid, csrf) = (self.random_token()?, self.random_token()?);
        let session = Session {
            user: None,
            csrf: csrf.clone(),
        };
        let cookie = self.sessions.cookie(&sid);
        self.sessions.insert(None, sid, session);
        Some((csrf, cookie))
    }

    /// What the browser sees for a step of the authorization: the login or
    /// consent page (the request suspended in portcullis, the page carrying
    /// its resume token), the core's redirect, or the demo's error page.
    async fn show(&self, step: AuthorizeStep, csrf: &str) -> Response {
        match step {
            AuthorizeStep::Redirect(r) => r,
            AuthorizeStep::Invalid(r) => error_page(r),
            AuthorizeStep::Login(login) => match self.server.suspend_login(&login).await {
                Ok(resume) => html(
                    200,
                    pages::login_page(Some(login.client()), resume.expose_secret(), csrf, None),
                ),
                Err(r) => error_page(r),
            },
            AuthorizeStep::Consent(p) => match self.server.suspend_consent(&p).await {
                Ok(resume) => {
                    // The login name, not the subject (which may be
                    // an opaque number).
                    let shown = self.names.get(p.user());
                    let username = shown.map_or(p.user().as_str(), |s| s.username.as_str());
                    let mut scopes: Vec<_> = p
                        .scope()
                        .iter()
                        .map(|s| (s.as_str(), self.scope_words.describe(s.as_str())))
                        .collect();
                    // Who you are first, then the rest in the set's order.
                    scopes.sort_by_key(|(s, _)| *s != "openid");
                    // Claims named in the `claims` request need consent
                    // to their scope value too (issue 16).
                    let claims = p
                        .requested_claims()
                        .into_iter()
                        .map(|c| {
                            let scope = portcullis::oidc::claim_scope(c);
                            (c, scope.and_then(|s| self.scope_words.describe(s)))
                        })
                        .collect();
                    let consent = pages::Consent {
                        client_name: p.client().client_name(),
                        branding: pages::Branding::of(p.client()),
                        user_name: shown.and_then(|s| s.name.as_deref()),
                        username,
                        scopes,
                        claims,
                        destination: pages::destination(p.redirect_uri().as_str()),
                        redirect_uri: p.redirect_uri().as_str(),
                        resume: resume.expose_secret(),
                        csrf,
                    };
                    html(200, pages::consent_page(&consent))
                }
                Err(r) => error_page(r),
            },
        }
    }

    /// The login page again after a failed attempt, naming the client of
    /// the form's `client_id` when it is a registered one.
    async fn login_again(&self, form: &[u8], resume: &str, csrf: &str, username: &str) -> Response {
        let id = form_urlencoded::parse(form)
            .find(|(k, _)| k == "client_id")
            .and_then(|(_, v)| ClientId::parse(&v));
        let client = match id {
            Some(id) => self.server.clients().client(&id).await.ok().flatten(),
            None => None,
        };
        html(
            401,
            pages::login_page(client.as_deref(), resume, csrf, Some(username)),
        )
    }

    /// The authorization route (GET or POST `/authorize`): the core decides,
    /// the demo shows its login or consent page when asked to.
    /// A browser without a session gets one only for a page with a form.
    pub(crate) async fn authorize(&self, req: &Request<'_>, cookie: Option<&[u8]>) -> Response {
        let session = self.sessions.find(cookie).map(|(_, s)| s);
        let user = session.as_ref().and_then(|s| s.user.clone());
        let step = self.server.authorize(req, user.as_ref()).await;
        let page = matches!(step, AuthorizeStep::Login(_) | AuthorizeStep::Consent(_));
        let (csrf, set_cookie) = match session {
            Some(s) => (s.csrf, None),
            None if page => {
                let Some((csrf, cookie)) = self.new_session() else {
                    return text(500, "no randomness for a session");
                };
                (csrf, Some(cookie))
            }
            None => (String::new(), None),
        };
        let resp = self.show(step, &csrf).await;
        match set_cookie {
            Some(c) => resp.with_header("Set-Cookie", c),
            None => resp,
        }
    }

    /// `POST /login`: checks the CSRF token and the password (throttled per
    /// username and source, like the password grant), starts a fresh
    /// session (no fixation; a previous login session of another user in
    /// this browser ends, and its clients are told) and resumes the
    /// suspended authorization request for the user: the consent page, or
    /// the redirect to the client.
    pub(crate) async fn login(
        &self,
        cookie: Option<&[u8]>,
        form: &[u8],
        source: Option<Source<'_>>,
    ) -> Response {
        let Some([form_csrf, resume, username, password]) =
            form_fields(form, ["csrf", "resume", "username", "password"])
        else {
            return text(400, "incomplete form");
        };
        let Some((
            sid,
            Session {
                csrf,
                user: signed_in,
                ..
            },
        )) = self.sessions.with_csrf(cookie, &form_csrf)
        else {
            return text(403, "invalid CSRF token");
        };
        let verified = self.verify_password(&username, password, source).await;
        let user = match verified {
            Ok(Some(user)) => user,
            // Too busy to check: nothing was judged (the attempt was settled
            // `Unjudged`), so no failure counts.
            Err(e) if e.is_busy() => {
                return html(503, pages::busy_page()).with_header("Retry-After", "1");
            }
            Ok(None) | Err(_) => {
                // The resume token was not used: the same form can try again.
                return self.login_again(form, &resume, &csrf, &username).await;
            }
        };
        let (Some(new_sid), Some(new_csrf)) = (self.random_token(), self.random_token()) else {
            return text(500, "no randomness for a session");
        };
        let set_cookie = self.sessions.cookie(&new_sid);
        // The time of this login, kept with the session: it is the
        // `auth_time` of every authorization the session makes. The login
        // session's id (`sid` in ID and Logout Tokens) is random and not the
        // cookie's value, which only this browser may know. The same user
        // signing in again (`prompt=login`, `max_age`) continues their
        // login session: its id and clients stay. Another user's login
        // ends the one before, whose clients are told (`Sessions::insert`).
        // Every login gets a fresh login id: with the session id kept, it
        // is what tells this login from the one before in the same second
        // (`prompt=login`, `max_age=0`).
        let continued = signed_in
            .filter(|a| *a.user() == user)
            .and_then(|a| a.session_id().cloned());
        let (Some(session_id), Some(login_id)) = (
            continued.or_else(|| self.random_token().and_then(|t| SessionId::parse(&t))),
            self.random_token().and_then(|t| LoginId::parse(&t)),
        ) else {
            return text(500, "no randomness for a session");
        };
        let user = Authentication::new(user, self.server.clock().now())
            .with_session_id(session_id)
            .with_login_id(login_id);
        self.sessions.insert(
            Some(&sid),
            new_sid.clone(),
            Session {
                user: Some(user.clone()),
                csrf: new_csrf.clone(),
            },
        );
        let step = self.server.resume(&resume, Some(&user)).await;
        let resp = self.show(step, &new_csrf).await;
        resp.with_header("Set-Cookie", set_cookie)
    }

    /// Checks a password against the demo's users, throttled per username
    /// and source like the password grant.
    async fn verify_password(
        &self,
        username: &str,
        password: String,
        source: Option<Source<'_>>,
    ) -> Result<Option<UserId>, portcullis::StoreError> {
        let attempt = Attempt::new(Some(Account::User(username)), source);
        if self.throttle.attempt(&attempt).await != Verdict::Allow {
            // Throttled: the same answer as a wrong password, nothing checked.
            return Ok(None);
        }
        let verified = self.users.verify(username, &Secret::new(password)).await;
        let outcome = match &verified {
            Ok(Some(_)) => Outcome::Succeeded,
            Ok(None) => Outcome::Failed,
            Err(_) => Outcome::Unjudged,
        };
        self.throttle.settle(&attempt, outcome).await;
        verified
    }

    /// The device verification page (RFC 8628 §3.3), GET or POST at
    /// `Config::paths.device_verification` (the `verification_uri`):
    /// without a code, a form with one text input for it; with one (typed,
    /// or in the query of `verification_uri_complete`), the login page
    /// when nobody is signed in, else the consent page of the device. A
    /// POSTed code needs the session's CSRF token.
    pub(crate) async fn device(&self, req: &Request<'_>, cookie: Option<&[u8]>) -> Response {
        let found = self.sessions.find(cookie).map(|(_, s)| s);
        let had_session = found.is_some();
        let (csrf, user, set_cookie) = match found {
            Some(s) => (s.csrf, s.user, None),
            None => {
                let Some((csrf, cookie)) = self.new_session() else {
                    return text(500, "no randomness for a session");
                };
                (csrf, None, Some(cookie))
            }
        };
        let code = match req.method() {
            Method::Get => form_urlencoded::parse(req.query_str().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == "user_code")
                .map(|(_, v)| v.into_owned())
                .filter(|v| !v.is_empty()),
            Method::Post => {
                let Some([form_csrf, code]) = form_fields(req.body_bytes(), ["csrf", "user_code"])
                else {
                    return text(400, "incomplete form");
                };
                if !had_session || !csrf_matches(&csrf, &form_csrf) {
                    return text(403, "invalid CSRF token");
                }
                Some(code)
            }
            _ => return text(405, "method not allowed").with_header("Allow", "GET, POST"),
        };
        let path = &self.server.config().paths.device_verification;
        let resp = match (code, user) {
            (None, _) => html(200, pages::device_code_page(path, &csrf, false)),
            (Some(code), None) => html(
                200,
                pages::device_login_page(DEVICE_LOGIN_PATH, &csrf, &code, None),
            ),
            (Some(code), Some(user)) => {
                self.device_confirm(&code, &user, req.source(), &csrf).await
            }
        };
        match set_cookie {
            Some(c) => resp.with_header("Set-Cookie", c),
            None => resp,
        }
    }

    /// Looks the user code up for `user` (throttled by portcullis) and
    /// shows the device's consent page, or the code form again.
    async fn device_confirm(
        &self,
        code: &str,
        user: &Authentication,
        source: Option<Source<'_>>,
        csrf: &str,
    ) -> Response {
        let pending = match self.server.device_user_code(code, user, source).await {
            Ok(p) => p,
            Err(e) => return self.device_refused(&e, csrf),
        };
        let resume = match self.server.suspend_device(&pending).await {
            Ok(r) => r,
            Err(e) => return self.device_refused(&e, csrf),
        };
        let shown = self.names.get(pending.user());
        let username = shown.map_or(pending.user().as_str(), |s| s.username.as_str());
        let scopes = pending
            .scope()
            .iter()
            .map(|s| (s.as_str(), self.scope_words.describe(s.as_str())))
            .collect();
        let consent = pages::DeviceConsent {
            client_name: pending.client().client_name(),
            branding: pages::Branding::of(pending.client()),
            username,
            scopes,
            action: DEVICE_CONSENT_PATH,
            resume: resume.expose_secret(),
            csrf,
        };
        html(200, pages::device_consent_page(&consent))
    }

    /// The code form again (a code that found nothing, or a stale form),
    /// or an error page when the server failed.
    fn device_refused(&self, e: &DeviceVerificationError, csrf: &str) -> Response {
        match e {
            DeviceVerificationError::Server(e) => {
                tracing::error!(error = %e, "device verification failed");
                html(
                    500,
                    pages::error_page(Some(e.cause()), Some(e.code().as_str())),
                )
            }
            _ => {
                let path = &self.server.config().paths.device_verification;
                html(400, pages::device_code_page(path, csrf, true))
            }
        }
    }

    /// `POST /device/login`: checks the CSRF token and the password (as
    /// `/login` does), starts a fresh session, and shows the device's
    /// consent page for the user code the form carries.
    pub(crate) async fn device_login(
        &self,
        cookie: Option<&[u8]>,
        form: &[u8],
        source: Option<Source<'_>>,
    ) -> Response {
        let Some([form_csrf, code, username, password]) =
            form_fields(form, ["csrf", "user_code", "username", "password"])
        else {
            return text(400, "incomplete form");
        };
        let Some((
            sid,
            Session {
                csrf,
                user: signed_in,
            },
        )) = self.sessions.with_csrf(cookie, &form_csrf)
        else {
            return text(403, "invalid CSRF token");
        };
        let user = match self.verify_password(&username, password, source).await {
            Ok(Some(user)) => user,
            Err(e) if e.is_busy() => {
                return html(503, pages::busy_page()).with_header("Retry-After", "1");
            }
            Ok(None) | Err(_) => {
                return html(
                    401,
                    pages::device_login_page(DEVICE_LOGIN_PATH, &csrf, &code, Some(&username)),
                );
            }
        };
        let (Some(new_sid), Some(new_csrf)) = (self.random_token(), self.random_token()) else {
            return text(500, "no randomness for a session");
        };
        let set_cookie = self.sessions.cookie(&new_sid);
        let continued = signed_in
            .filter(|a| *a.user() == user)
            .and_then(|a| a.session_id().cloned());
        let (Some(session_id), Some(login_id)) = (
            continued.or_else(|| self.random_token().and_then(|t| SessionId::parse(&t))),
            self.random_token().and_then(|t| LoginId::parse(&t)),
        ) else {
            return text(500, "no randomness for a session");
        };
        let user = Authentication::new(user, self.server.clock().now())
            .with_session_id(session_id)
            .with_login_id(login_id);
        self.sessions.insert(
            Some(&sid),
            new_sid,
            Session {
                user: Some(user.clone()),
                csrf: new_csrf.clone(),
            },
        );
        self.device_confirm(&code, &user, source, &new_csrf)
            .await
            .with_header("Set-Cookie", set_cookie)
    }

    /// `POST /device/consent`: checks the CSRF token, takes the device
    /// back for the signed-in user (portcullis refuses it for anyone
    /// else) and approves or denies it.
    pub(crate) async fn device_consent(&self, cookie: Option<&[u8]>, form: &[u8]) -> Response {
        let Some([form_csrf, resume, decision]) = form_fields(form, ["csrf", "resume", "decision"])
        else {
            return text(400, "incomplete form");
        };
        let Some((_, Session { user, csrf })) = self.sessions.with_csrf(cookie, &form_csrf) else {
            return text(403, "invalid CSRF token");
        };
        let Some(user) = user else {
            return text(403, "not signed in");
        };
        let pending = match self.server.resume_device(&resume, &user).await {
            Ok(p) => p,
            Err(e) => return self.device_refused(&e, &csrf),
        };
        let approved = decision == "allow";
        let decided = if approved {
            self.server.approve_device(pending).await
        } else {
            self.server.deny_device(pending).await
        };
        match decided {
            Ok(()) => html(200, pages::device_done_page(approved)),
            Err(e) => self.device_refused(&e, &csrf),
        }
    }

    /// `POST /consent`: checks the CSRF token, resumes the suspended
    /// request for the logged-in user (portcullis refuses it for anyone
    /// else) and approves or denies it.
    pub(crate) async fn consent(&self, cookie: Option<&[u8]>, form: &[u8]) -> Response {
        let Some([form_csrf, resume, decision]) = form_fields(form, ["csrf", "resume", "decision"])
        else {
            return text(400, "incomplete form");
        };
        let Some((_, Session { user, csrf })) = self.sessions.with_csrf(cookie, &form_csrf) else {
            return text(403, "invalid CSRF token");
        };
        match self.server.resume(&resume, user.as_ref()).await {
            AuthorizeStep::Consent(p) if decision == "allow" => self.server.approve(p).await,
            AuthorizeStep::Consent(p) => self.server.deny(p),
            other => self.show(other, &csrf).await,
        }
    }

    /// The end-session route (GET or POST at `Config::paths.end_session`,
    /// RP-Initiated Logout 1.0): the core validates the request; the demo
    /// asks the signed-in user to confirm when the core says so, else ends
    /// the session at once. Nobody signed in: nothing to end, the logout
    /// completes.
    pub(crate) async fn end_session(&self, req: &Request<'_>, cookie: Option<&[u8]>) -> Response {
        let found = self.sessions.find(cookie);
        let user = found.as_ref().and_then(|(_, s)| s.user.clone());
        let request = match self.server.end_session(req, user.as_ref()).await {
            EndSessionStep::Invalid(r) => return error_page(r),
            EndSessionStep::Logout(request) => request,
        };
        match found {
            Some((_, session)) if session.user.is_some() && request.needs_confirmation() => {
                match self.server.suspend_logout(&request).await {
                    Ok(resume) => {
                        let name = request.client().map(|c| c.client_name());
                        html(
                            200,
                            pages::logout_page(
                                name,
                                LOGOUT_FORM_PATH,
                                &session.csrf,
                                &[("resume", resume.expose_secret())],
                            ),
                        )
                    }
                    Err(r) => error_page(r),
                }
            }
            Some((sid, session)) => self.log_out(request, Some((&sid, session))).await,
            None => self.log_out(request, None).await,
        }
    }

    /// `POST /logout`, the confirmation form: checks the CSRF token, takes
    /// the suspended logout request back (once) and logs out, or on
    /// Cancel leaves the session as it is and sends the browser nowhere
    /// (`state` going back to the client would say the logout happened).
    pub(crate) async fn logout_form(&self, cookie: Option<&[u8]>, form: &[u8]) -> Response {
        let Some([form_csrf, resume, decision]) = form_fields(form, ["csrf", "resume", "decision"])
        else {
            return text(400, "incomplete form");
        };
        let Some((sid, session)) = self.sessions.find(cookie) else {
            return text(403, "invalid CSRF token");
        };
        if !csrf_matches(&session.csrf, &form_csrf) {
            return text(403, "invalid CSRF token");
        }
        let request = match self.server.resume_logout(&resume).await {
            Ok(r) => r,
            Err(r) => return error_page(r),
        };
        if decision == "logout" {
            self.log_out(request, Some((&sid, session))).await
        } else {
            html(200, pages::still_signed_in_page())
        }
    }

    /// Ends the session (if any), hands the Logout Tokens to a background
    /// task, and sends the browser to the client's post-logout URI with
    /// `state`, or shows the signed-out page.
    async fn log_out(
        &self,
        request: portcullis::LogoutRequest,
        session: Option<(&str, Session)>,
    ) -> Response {
        let user = session.and_then(|(sid, s)| {
            self.sessions.remove(sid);
            s.user
        });
        // The clients of the session are the token store's to find (every
        // code and token records the session's id): no list to pass.
        let done = self.server.finish_logout(request, user.as_ref(), &[]).await;
        deliver_backchannel(done.backchannel);
        let resp = done
            .redirect
            .unwrap_or_else(|| html(200, pages::logged_out_page()));
        resp.with_header("Set-Cookie", self.sessions.clear_cookie())
    }

    /// `GET /api/me`, a protected resource: who is calling, for a validated
    /// token with scope `read`.
    pub(crate) fn me(&self, token: &BearerToken) -> Response {
        let read = ScopeSet::parse("read").unwrap_or_default();
        if let Err(challenge) = self.server.require_scope(token, &read) {
            return challenge;
        }
        let body = serde_json::json!({
            "sub": token.subject(),
            "client_id": token.client_id().as_str(),
            "scope": token.scope().to_string(),
        });
        Response::new(200, body.to_string().into_bytes())
            .with_header("Content-Type", "application/json")
    }
}

/// How long one Back-Channel Logout delivery may take.
const BACKCHANNEL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// POSTs each Logout Token to its client's `backchannel_logout_uri`
/// (`logout_token=<jwt>`, Back-Channel Logout 1.0 §2.5) in a background
/// task, off the browser's way, each bounded by [`BACKCHANNEL_TIMEOUT`];
/// the outcome is logged (never the token).
fn deliver_backchannel(tokens: Vec<BackchannelLogout>) {
    if tokens.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .timeout(BACKCHANNEL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for back-channel logout");
                return;
            }
        };
        for t in tokens {
            let sent = http
                .post(t.uri().as_str())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(t.form_body())
                .send()
                .await;
            let client_id = t.client_id().as_str();
            match sent {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(client_id, "back-channel logout delivered");
                }
                Ok(r) => {
                    tracing::warn!(
                        client_id,
                        status = r.status().as_u16(),
                        "back-channel logout refused"
                    );
                }
                Err(e) => {
                    tracing::warn!(client_id, error = %e, "back-channel logout not delivered")
                }
            }
        }
    });
}

/// The `--static-token-json` answer: a fixed body shaped and sized like an
/// opaque `client_credentials` token response for scope `read`, with the
/// same headers, so a load test can compare the token endpoint with what
/// the framework does with no OAuth work at all.
pub(crate) fn static_token() -> Response {
    const BODY: &str = "{\"access_token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\
                        \"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"read\"}";
    Response::new(200, BODY.as_bytes().to_vec())
        .with_header("Content-Type", "application/json")
        .with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}

/// The demo's `JwksFetcher` (issue 19): a GET of the client's `jwks_uri`
/// with reqwest (already the demo's HTTP client for back-channel logout),
/// bounded in time and size, no redirects. reqwest is built without TLS
/// here, so only the loopback `http` URLs the client model allows are
/// reachable; a host serving real clients uses an HTTPS client.
struct HttpJwksFetcher;

/// How long one fetch may take, and the largest document read.
const JWKS_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const JWKS_MAX_BYTES: usize = 64 * 1024;

#[portcullis::async_trait]
impl portcullis::JwksFetcher for HttpJwksFetcher {
    async fn fetch(
        &self,
        uri: &portcullis::WebUrl,
    ) -> Result<portcullis::JwkSet, portcullis::FetchError> {
        use portcullis::FetchError;
        let http = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(FetchError::new)?;
        let mut resp = http
            .get(uri.as_str())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(FetchError::new)?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(FetchError::msg("the jwks_uri did not answer 200"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(FetchError::new)? {
            if body.len() + chunk.len() > JWKS_MAX_BYTES {
                return Err(FetchError::msg("the JWK set is larger than 64 KiB"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(portcullis::JwkSet::from_slice(&body)?)
    }
}
