//! The store conformance suite: the contract of [`ClientStore`],
//! [`TokenStore`] and [`ConsentStore`], checked against a real store. We run
//! it against every store we ship; run it against yours:
//!
//! ```no_run
//! # async fn demo() {
//! let store = std::sync::Arc::new(portcullis::MemoryStore::new());
//! portcullis::stores::conformance::run(store).await.unwrap();
//! # }
//! ```
//!
//! Every check uses fresh random ids, so the suite may run against a shared
//! database. The concurrency clauses (AC-04, RT-04) spawn tasks: run it on a
//! multi-threaded tokio runtime.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{AuthMethod, Client, ClientId, SecretHash};
use crate::clock::UnixTime;
use crate::grant_type::GrantType;
use crate::keys::{Algorithm, KeyId, KeyProvider, KeyRecord};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::random::{RandomSource, SystemRandom};
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientStore, CodeRecord, Consent, ConsentStore,
    Exchange, NewTokens, RefreshRecord, Rotation, SuspendedRequest, TokenStore,
};
use crate::tokens::AccessTokenFormat;
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

/// A contract clause the store broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which check.
    pub check: &'static str,
    /// What was wrong.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

impl std::error::Error for Failure {}

type Outcome = Result<(), Failure>;

macro_rules! ensure {
    ($check:expr, $cond:expr, $($detail:tt)+) => {
        if !$cond {
            return Err(Failure { check: $check, detail: format!($($detail)+) });
        }
    };
}

fn store_ok<T>(check: &'static str, r: Result<T, crate::error::StoreError>) -> Result<T, Failure> {
    r.map_err(|e| Failure {
        check,
        detail: format!(
            "store error: {e} ({:?})",
            std::error::Error::source(&e).map(ToString::to_string)
        ),
    })
}

/// Runs every check. Stops at the first broken clause.
pub async fn run<S>(store: Arc<S>) -> Outcome
where
    S: ClientStore + TokenStore + ConsentStore,
{
    let f = Fixture::new()?;
    clients(&*store, &f).await?;
    codes(&*store, &f).await?;
    tokens(&*store, &f).await?;
    revocation(&*store, &f).await?;
    purge(&*store, &f).await?;
    consent(&*store, &f).await?;
    atomic_failure_leaves_nothing(&*store, &f).await?;
    assertion_jtis(&*store, &f).await?;
    concurrent_exchange(store.clone(), &f).await?;
    concurrent_rotation(store.clone(), &f).await?;
    concurrent_jti(store, &f).await?;
    Ok(())
}

/// Runs the [`KeyProvider`] checks: records round-trip with their private
/// key, retirement and deletion work, duplicates are refused.
pub async fn run_keys<K: KeyProvider>(provider: Arc<K>) -> Outcome {
    const C: &str = "keys (JW-01)";
    let f = Fixture::new()?;
    let kid = KeyId::parse(&f.unique("kid")).ok_or_else(|| fixture_failure("key id"))?;
    let key = KeyRecord::generate(
        Algorithm::Es256,
        kid.clone(),
        f.now,
        f.now.plus(Duration::from_secs(10)),
    )
    .map_err(|e| Failure {
        check: C,
        detail: e.to_string(),
    })?;
    store_ok(C, provider.insert_key(key.clone()).await)?;
    ensure!(
        C,
        provider.insert_key(key.clone()).await.is_err(),
        "duplicate kid must fail"
    );
    let found = store_ok(C, provider.keys().await)?
        .into_iter()
        .find(|k| k.kid == kid);
    ensure!(
        C,
        found.as_ref() == Some(&key),
        "key must round-trip: {found:?}"
    );
    ensure!(
        C,
        store_ok(
            C,
            provider
                .retire_key(
                    &kid,
                    f.now.plus(Duration::from_secs(20)),
                    f.now.plus(Duration::from_secs(30))
                )
                .await
        )?,
        "retire must return true"
    );
    let found = store_ok(C, provider.keys().await)?
        .into_iter()
        .find(|k| k.kid == kid);
    ensure!(
        C,
        found.is_some_and(|k| k.not_after == Some(f.now.plus(Duration::from_secs(20)))
            && k.drop_after == Some(f.now.plus(Duration::from_secs(30)))),
        "retirement not stored"
    );
    let ghost = KeyId::parse(&f.unique("kid")).ok_or_else(|| fixture_failure("key id"))?;
    ensure!(
        C,
        !store_ok(C, provider.retire_key(&ghost, f.now, f.now).await)?,
        "retiring a missing key must return false"
    );
    ensure!(
        C,
        store_ok(C, provider.delete_key(&kid).await)?,
        "delete must return true"
    );
    ensure!(
        C,
        !store_ok(C, provider.keys().await)?
            .iter()
            .any(|k| k.kid == kid),
        "deleted key still listed"
    );
    ensure!(
        C,
        !store_ok(C, provider.delete_key(&kid).await)?,
        "second delete must return false"
    );
    Ok(())
}

async fn assertion_jtis<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "assertion jti (CA-08)";
    let (a, b) = (f.client_id()?, f.client_id()?);
    let jti = f.unique("jti");
    ensure!(
        C,
        store_ok(
            C,
            store
                .use_assertion_jti(&a, &jti, f.now.plus(Duration::from_secs(60)))
                .await
        )?,
        "first use must be accepted"
    );
    ensure!(
        C,
        !store_ok(
            C,
            store
                .use_assertion_jti(&a, &jti, f.now.plus(Duration::from_secs(60)))
                .await
        )?,
        "replayed jti accepted"
    );
    ensure!(
        C,
        store_ok(
            C,
            store
                .use_assertion_jti(&b, &jti, f.now.plus(Duration::from_secs(60)))
                .await
        )?,
        "jti is per client"
    );
    Ok(())
}

async fn concurrent_jti<S: TokenStore>(store: Arc<S>, f: &Fixture) -> Outcome {
    const C: &str = "concurrent assertion jti (CA-08)";
    let (client, jti) = (f.client_id()?, f.unique("jti"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, client, jti, exp) = (
            store.clone(),
            client.clone(),
            jti.clone(),
            f.now.plus(Duration::from_secs(60)),
        );
        tasks.push(tokio::spawn(async move {
            store.use_assertion_jti(&client, &jti, exp).await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let r = t.await.map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
        if store_ok(C, r)? {
            accepted += 1;
        }
    }
    ensure!(
        C,
        accepted == 1,
        "{accepted} of 20 concurrent uses of one jti accepted"
    );
    Ok(())
}

/// Runs the [`AuthorizationRequestStore`] checks: a suspended request
/// round-trips, is taken at most once (also by concurrent callers), and a
/// duplicate hash is refused.
pub async fn run_requests<R: AuthorizationRequestStore>(store: Arc<R>) -> Outcome {
    const C: &str = "suspended authorization requests";
    let f = Fixture::new()?;
    let request = SuspendedRequest {
        hash: f.hash(),
        payload: format!("{{\"state\":\"{}\"}}", f.unique("state")),
        expires_at: f.now.plus(Duration::from_secs(600)),
    };
    store_ok(C, store.insert_request(request.clone()).await)?;
    ensure!(
        C,
        store.insert_request(request.clone()).await.is_err(),
        "a duplicate hash must fail"
    );
    ensure!(
        C,
        store_ok(C, store.take_request(&f.hash()).await)?.is_none(),
        "an unknown hash must give None"
    );
    let taken = store_ok(C, store.take_request(&request.hash).await)?;
    ensure!(
        C,
        taken.as_ref() == Some(&request),
        "the request must round-trip: {taken:?}"
    );
    ensure!(
        C,
        store_ok(C, store.take_request(&request.hash).await)?.is_none(),
        "a request must be taken only once"
    );
    // Expired requests are still returned: the core decides about expiry.
    let expired = SuspendedRequest {
        hash: f.hash(),
        payload: String::from("{}"),
        expires_at: UnixTime::from_secs(1),
    };
    store_ok(C, store.insert_request(expired.clone()).await)?;
    let taken = store_ok(C, store.take_request(&expired.hash).await)?;
    ensure!(
        C,
        taken.as_ref() == Some(&expired),
        "an expired request must still be taken (the core checks expiry): {taken:?}"
    );
    concurrent_take(store, &f).await
}

async fn concurrent_take<R: AuthorizationRequestStore>(store: Arc<R>, f: &Fixture) -> Outcome {
    const C: &str = "concurrent take of a suspended request";
    let hash = f.hash();
    let request = SuspendedRequest {
        hash,
        payload: String::from("{}"),
        expires_at: f.now.plus(Duration::from_secs(600)),
    };
    store_ok(C, store.insert_request(request).await)?;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.take_request(&hash).await }));
    }
    let mut taken = 0;
    for t in tasks {
        let r = t.await.map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
        if store_ok(C, r)?.is_some() {
            taken += 1;
        }
    }
    ensure!(
        C,
        taken == 1,
        "{taken} of 20 concurrent takes got the request"
    );
    Ok(())
}

struct Fixture {
    random: SystemRandom,
    now: UnixTime,
}

impl Fixture {
    fn new() -> Result<Self, Failure> {
        Ok(Self {
            random: SystemRandom::new(),
            now: UnixTime::from_secs(2_000_000_000),
        })
    }

    fn unique(&self, prefix: &str) -> String {
        let mut b = [0u8; 8];
        let _ = self.random.fill(&mut b);
        format!("{prefix}-{:016x}", u64::from_le_bytes(b))
    }

    fn hash(&self) -> TokenHash {
        TokenHash::of(&self.unique("token"))
    }

    fn client_id(&self) -> Result<ClientId, Failure> {
        ClientId::parse(&self.unique("client")).ok_or_else(|| fixture_failure("client id"))
    }

    fn user(&self) -> Result<UserId, Failure> {
        UserId::parse(&self.unique("user")).ok_or_else(|| fixture_failure("user id"))
    }

    fn code(&self, client: &ClientId, user: &UserId, expires_in: u64) -> CodeRecord {
        let hash = self.hash();
        CodeRecord {
            hash,
            grant: GrantId::derive(&hash),
            client_id: client.clone(),
            subject: user.clone(),
            scope: scope("read write"),
            redirect_uri: RedirectUri::parse("https://app.example/cb"),
            challenge: CodeChallenge::parse(
                ChallengeMethod::S256,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            issued_at: self.now,
            expires_at: self.now.plus(Duration::from_secs(expires_in)),
            used: false,
        }
    }

    fn tokens(
        &self,
        grant: GrantId,
        client: &ClientId,
        user: Option<&UserId>,
        life: u64,
    ) -> NewTokens {
        NewTokens {
            access: AccessRecord {
                hash: self.hash(),
                grant,
                client_id: client.clone(),
                subject: user.cloned(),
                scope: scope("read"),
                issued_at: self.now,
                expires_at: self.now.plus(Duration::from_secs(life)),
            },
            refresh: Some(RefreshRecord {
                hash: self.hash(),
                grant,
                client_id: client.clone(),
                subject: user.cloned(),
                scope: scope("read write"),
                issued_at: self.now,
                expires_at: self.now.plus(Duration::from_secs(life * 10)),
                used: false,
            }),
        }
    }
}

fn fixture_failure(what: &str) -> Failure {
    Failure {
        check: "fixture",
        detail: format!("could not build a {what}"),
    }
}

fn scope(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap_or_default()
}

async fn clients<S: ClientStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "clients";
    let id = f.client_id()?;
    let uri = |s: &str| {
        RedirectUri::parse(s).ok_or(Failure {
            check: C,
            detail: "uri".into(),
        })
    };
    let client = Client::confidential(id.clone(), SecretHash::sha256("s3cret"))
        .client_name("Conformance <client>")
        .redirect_uri(uri("https://a.example/cb")?)
        .redirect_uri(uri("http://127.0.0.1/cb")?)
        .grant_type(GrantType::AuthorizationCode)
        .grant_type(GrantType::RefreshToken)
        .scope(scope("read write"))
        .default_scope(scope("read"))
        .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
        .skip_consent(true)
        .access_token_lifetime(Duration::from_secs(120))
        .access_token_format(AccessTokenFormat::Jwt)
        .build()
        .map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
    ensure!(
        C,
        store_ok(C, store.find(&id).await)?.is_none(),
        "unknown client must be Ok(None)"
    );
    store_ok(C, store.insert(client.clone()).await)?;
    ensure!(
        C,
        store.insert(client.clone()).await.is_err(),
        "duplicate insert must fail"
    );
    let found = store_ok(C, store.find(&id).await)?.ok_or(Failure {
        check: C,
        detail: "inserted client not found".into(),
    })?;
    ensure!(
        C,
        found.client_name() == "Conformance <client>",
        "client_name"
    );
    ensure!(
        C,
        found
            .secret_hash()
            .is_some_and(|h| h.verify("s3cret") && !h.verify("other")),
        "secret hash must round-trip"
    );
    ensure!(
        C,
        found.redirect_uris().len() == 2,
        "redirect URIs: {:?}",
        found.redirect_uris()
    );
    ensure!(
        C,
        found.allows_grant(GrantType::RefreshToken) && !found.allows_grant(GrantType::Password),
        "grant types"
    );
    ensure!(C, found.scope().to_string() == "read write", "scope");
    ensure!(
        C,
        found.default_scope().map(ToString::to_string).as_deref() == Some("read"),
        "default scope"
    );
    ensure!(
        C,
        found.token_endpoint_auth_method() == AuthMethod::ClientSecretPost,
        "auth method"
    );
    ensure!(
        C,
        found.skips_consent() && found.is_enabled() && !found.allows_plain_pkce(),
        "flags"
    );
    ensure!(
        C,
        found.access_token_lifetime() == Some(Duration::from_secs(120))
            && found.refresh_token_lifetime().is_none(),
        "lifetimes"
    );
    ensure!(
        C,
        found.access_token_format() == AccessTokenFormat::Jwt,
        "access token format"
    );
    // Update: disable, drop a URI and a grant.
    let changed = (*found)
        .clone()
        .into_builder()
        .enabled(false)
        .remove_redirect_uri(&uri("http://127.0.0.1/cb")?)
        .remove_grant_type(GrantType::RefreshToken)
        .build()
        .map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
    ensure!(
        C,
        store_ok(C, store.update(changed).await)?,
        "update of an existing client must return true"
    );
    let found = store_ok(C, store.find(&id).await)?.ok_or(Failure {
        check: C,
        detail: "updated client vanished".into(),
    })?;
    ensure!(
        C,
        !found.is_enabled()
            && found.redirect_uris().len() == 1
            && !found.allows_grant(GrantType::RefreshToken),
        "update not applied"
    );
    let ghost = Client::public(f.client_id()?)
        .build()
        .map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
    ensure!(
        C,
        !store_ok(C, store.update(ghost).await)?,
        "update of a missing client must return false"
    );
    ensure!(
        C,
        store_ok(C, store.list().await)?
            .iter()
            .any(|c| c.client_id() == &id),
        "list must include the client"
    );
    // A private_key_jwt client keeps its JWKS; a client_secret_jwt one its key.
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    let pk = Client::private_key_jwt(f.client_id()?, jwks)
        .grant_type(GrantType::ClientCredentials)
        .build()
        .map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
    let sj = Client::client_secret_jwt(f.client_id()?, crate::secret::Secret::new("k".repeat(32)))
        .build()
        .map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
    for c in [pk, sj] {
        store_ok(C, store.insert(c.clone()).await)?;
        let back = store_ok(C, store.find(c.client_id()).await)?.ok_or(Failure {
            check: C,
            detail: "JWT client not found".into(),
        })?;
        ensure!(
            C,
            back.token_endpoint_auth_method() == c.token_endpoint_auth_method(),
            "auth method of a JWT client"
        );
        ensure!(
            C,
            back.jwks() == c.jwks() && back.jwt_secret() == c.jwt_secret(),
            "JWKS / JWT secret must round-trip"
        );
        store_ok(C, store.delete(c.client_id()).await)?;
    }
    ensure!(
        C,
        store_ok(C, store.delete(&id).await)?,
        "delete must return true"
    );
    ensure!(
        C,
        store_ok(C, store.find(&id).await)?.is_none(),
        "deleted client still found"
    );
    ensure!(
        C,
        !store_ok(C, store.delete(&id).await)?,
        "second delete must return false"
    );
    Ok(())
}

async fn codes<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "codes (AC-01, AC-02, TK-02)";
    let (client, user) = (f.client_id()?, f.user()?);
    let code = f.code(&client, &user, 60);
    ensure!(
        C,
        store_ok(C, store.find_code(&code.hash).await)?.is_none(),
        "unknown code must be Ok(None)"
    );
    store_ok(C, store.insert_code(code.clone()).await)?;
    ensure!(
        C,
        store.insert_code(code.clone()).await.is_err(),
        "duplicate code must fail"
    );
    let found = store_ok(C, store.find_code(&code.hash).await)?;
    ensure!(
        C,
        found.as_ref() == Some(&code),
        "code must round-trip: {found:?}"
    );
    let tokens = f.tokens(code.grant, &client, Some(&user), 3600);
    let outcome = store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
    ensure!(
        C,
        outcome == Exchange::Issued,
        "first exchange: {outcome:?}"
    );
    ensure!(
        C,
        store_ok(C, store.find_code(&code.hash).await)?.is_some_and(|c| c.used),
        "exchanged code must read as used"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&tokens.access.hash).await)?.as_ref() == Some(&tokens.access),
        "exchange must store the access token"
    );
    let again = store_ok(
        C,
        store
            .exchange_code(&code.hash, f.tokens(code.grant, &client, Some(&user), 3600))
            .await,
    )?;
    ensure!(
        C,
        again == Exchange::AlreadyUsed(code.grant),
        "second exchange: {again:?}"
    );
    let unknown = store_ok(
        C,
        store
            .exchange_code(&f.hash(), f.tokens(code.grant, &client, None, 60))
            .await,
    )?;
    ensure!(
        C,
        unknown == Exchange::Unknown,
        "unknown code exchange: {unknown:?}"
    );
    Ok(())
}

async fn tokens<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "tokens (RT-02, TK-02)";
    let (client, user) = (f.client_id()?, f.user()?);
    let first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
    store_ok(C, store.issue(first.clone()).await)?;
    ensure!(
        C,
        store_ok(C, store.find_access(&first.access.hash).await)?.as_ref() == Some(&first.access),
        "access token must round-trip"
    );
    let refresh = first.refresh.clone().ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    ensure!(
        C,
        store_ok(C, store.find_refresh(&refresh.hash).await)?.as_ref() == Some(&refresh),
        "refresh token must round-trip"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&refresh.hash).await)?.is_none(),
        "a refresh token is not an access token"
    );
    ensure!(
        C,
        store_ok(C, store.find_refresh(&f.hash()).await)?.is_none(),
        "unknown token must be Ok(None)"
    );
    let next = f.tokens(refresh.grant, &client, Some(&user), 3600);
    let r = store_ok(C, store.rotate_refresh(&refresh.hash, next.clone()).await)?;
    ensure!(C, r == Rotation::Rotated, "first rotation: {r:?}");
    ensure!(
        C,
        store_ok(C, store.find_refresh(&refresh.hash).await)?.is_some_and(|r| r.used),
        "rotated token must read as used"
    );
    let new_refresh = next.refresh.as_ref().map(|r| r.hash).ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    ensure!(
        C,
        store_ok(C, store.find_refresh(&new_refresh).await)?.is_some_and(|r| !r.used),
        "successor must be stored unused"
    );
    let r = store_ok(
        C,
        store
            .rotate_refresh(
                &refresh.hash,
                f.tokens(refresh.grant, &client, Some(&user), 60),
            )
            .await,
    )?;
    ensure!(
        C,
        r == Rotation::Replayed(refresh.grant),
        "replayed rotation: {r:?}"
    );
    let r = store_ok(
        C,
        store
            .rotate_refresh(&f.hash(), f.tokens(refresh.grant, &client, None, 60))
            .await,
    )?;
    ensure!(C, r == Rotation::Unknown, "unknown rotation: {r:?}");
    Ok(())
}

async fn revocation<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "revocation (AC-02, RT-02, RV-02)";
    let (client, user) = (f.client_id()?, f.user()?);
    let code = f.code(&client, &user, 60);
    store_ok(C, store.insert_code(code.clone()).await)?;
    let family = f.tokens(code.grant, &client, Some(&user), 3600);
    store_ok(C, store.exchange_code(&code.hash, family.clone()).await)?;
    let bystander = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
    store_ok(C, store.issue(bystander.clone()).await)?;
    // One access token.
    let lone = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
    store_ok(C, store.issue(lone.clone()).await)?;
    store_ok(C, store.revoke_access(&lone.access.hash).await)?;
    ensure!(
        C,
        store_ok(C, store.find_access(&lone.access.hash).await)?.is_none(),
        "revoked access token still found"
    );
    store_ok(C, store.revoke_access(&f.hash()).await)?;
    // A whole grant.
    store_ok(C, store.revoke_grant(&code.grant).await)?;
    ensure!(
        C,
        store_ok(C, store.find_access(&family.access.hash).await)?.is_none(),
        "grant's access token survived"
    );
    let fr = family.refresh.as_ref().map(|r| r.hash).ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    ensure!(
        C,
        store_ok(C, store.find_refresh(&fr).await)?.is_none(),
        "grant's refresh token survived"
    );
    ensure!(
        C,
        store_ok(C, store.find_code(&code.hash).await)?.is_none(),
        "grant's code survived"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&bystander.access.hash).await)?.is_some(),
        "another grant was revoked"
    );
    // By user, then by client.
    let other_user = f.tokens(GrantId::derive(&f.hash()), &client, Some(&f.user()?), 3600);
    store_ok(C, store.issue(other_user.clone()).await)?;
    let n = store_ok(C, store.revoke_user(&user).await)?;
    ensure!(C, n >= 2, "revoke_user removed {n}");
    ensure!(
        C,
        store_ok(C, store.find_access(&bystander.access.hash).await)?.is_none(),
        "user's token survived"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&other_user.access.hash).await)?.is_some(),
        "another user's token was revoked"
    );
    let n = store_ok(C, store.revoke_client(&client).await)?;
    ensure!(C, n >= 2, "revoke_client removed {n}");
    ensure!(
        C,
        store_ok(C, store.find_access(&other_user.access.hash).await)?.is_none(),
        "client's token survived"
    );
    Ok(())
}

async fn purge<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "purge_expired";
    let (client, user) = (f.client_id()?, f.user()?);
    // Expired at `now + 100`: a code, an access token; a used refresh token
    // still live must survive (replay detection), as must live tokens.
    let code = f.code(&client, &user, 50);
    store_ok(C, store.insert_code(code.clone()).await)?;
    let short = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 60);
    store_ok(C, store.issue(short.clone()).await)?;
    let long = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
    store_ok(C, store.issue(long.clone()).await)?;
    let long_refresh = long.refresh.as_ref().map(|r| r.hash).ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    store_ok(
        C,
        store
            .rotate_refresh(
                &long_refresh,
                f.tokens(long.access.grant, &client, Some(&user), 3600),
            )
            .await,
    )?;
    let counts = store_ok(
        C,
        store
            .purge_expired(f.now.plus(Duration::from_secs(100)))
            .await,
    )?;
    ensure!(
        C,
        counts.codes >= 1 && counts.access_tokens >= 1,
        "counts: {counts:?}"
    );
    ensure!(
        C,
        store_ok(C, store.find_code(&code.hash).await)?.is_none(),
        "expired code kept"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&short.access.hash).await)?.is_none(),
        "expired access token kept"
    );
    let short_refresh = short.refresh.as_ref().map(|r| r.hash).ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    ensure!(
        C,
        store_ok(C, store.find_refresh(&short_refresh).await)?.is_some(),
        "live refresh token (600 s) removed"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&long.access.hash).await)?.is_some(),
        "live access token removed"
    );
    ensure!(
        C,
        store_ok(C, store.find_refresh(&long_refresh).await)?.is_some_and(|r| r.used),
        "used, unexpired refresh token removed"
    );
    Ok(())
}

async fn consent<S: ConsentStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "consent (AZ-08)";
    let (user, a, b) = (f.user()?, f.client_id()?, f.client_id()?);
    ensure!(
        C,
        store_ok(C, store.find(&user, &a).await)?.is_none(),
        "no consent must be Ok(None)"
    );
    let give = |client: &ClientId, s: &str, at: u64| Consent {
        user: user.clone(),
        client_id: client.clone(),
        scope: scope(s),
        granted_at: UnixTime::from_secs(at),
    };
    store_ok(C, store.grant(give(&a, "read", 10)).await)?;
    store_ok(C, store.grant(give(&a, "write", 20)).await)?;
    store_ok(C, store.grant(give(&b, "read", 30)).await)?;
    let found = store_ok(C, store.find(&user, &a).await)?.ok_or(Failure {
        check: C,
        detail: "granted consent not found".into(),
    })?;
    ensure!(
        C,
        found.scope.to_string() == "read write",
        "scopes must accumulate: {}",
        found.scope
    );
    ensure!(
        C,
        found.granted_at == UnixTime::from_secs(20),
        "granted_at must be the latest"
    );
    let listed = store_ok(C, store.list(&user).await)?;
    ensure!(C, listed.len() == 2, "list: {listed:?}");
    ensure!(
        C,
        store_ok(C, store.revoke(&user, &a).await)?,
        "revoke must return true"
    );
    ensure!(
        C,
        store_ok(C, store.find(&user, &a).await)?.is_none(),
        "revoked consent still found"
    );
    ensure!(
        C,
        !store_ok(C, store.revoke(&user, &a).await)?,
        "second revoke must return false"
    );
    ensure!(
        C,
        store_ok(C, store.find(&user, &b).await)?.is_some(),
        "another client's consent was revoked"
    );
    Ok(())
}

async fn atomic_failure_leaves_nothing<S: TokenStore>(store: &S, f: &Fixture) -> Outcome {
    const C: &str = "all or nothing (RB-02)";
    let (client, user) = (f.client_id()?, f.user()?);
    let existing = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
    store_ok(C, store.issue(existing.clone()).await)?;
    let code = f.code(&client, &user, 60);
    store_ok(C, store.insert_code(code.clone()).await)?;
    // The new refresh token collides with a stored one: the exchange fails.
    let mut clash = f.tokens(code.grant, &client, Some(&user), 3600);
    clash.refresh = existing.refresh.clone();
    ensure!(
        C,
        store
            .exchange_code(&code.hash, clash.clone())
            .await
            .is_err(),
        "a failing exchange must report an error"
    );
    ensure!(
        C,
        store_ok(C, store.find_code(&code.hash).await)?.is_some_and(|c| !c.used),
        "failed exchange consumed the code"
    );
    ensure!(
        C,
        store_ok(C, store.find_access(&clash.access.hash).await)?.is_none(),
        "failed exchange stored a token"
    );
    Ok(())
}

async fn concurrent_exchange<S: TokenStore>(store: Arc<S>, f: &Fixture) -> Outcome {
    const C: &str = "concurrent exchange (AC-04)";
    let (client, user) = (f.client_id()?, f.user()?);
    let code = f.code(&client, &user, 60);
    store_ok(C, store.insert_code(code.clone()).await)?;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, tokens, hash) = (
            store.clone(),
            f.tokens(code.grant, &client, Some(&user), 3600),
            code.hash,
        );
        tasks.push(tokio::spawn(async move {
            store.exchange_code(&hash, tokens).await
        }));
    }
    let mut issued = 0;
    for t in tasks {
        let r = t.await.map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
        if store_ok(C, r)? == Exchange::Issued {
            issued += 1;
        }
    }
    ensure!(C, issued == 1, "{issued} of 20 concurrent exchanges won");
    Ok(())
}

async fn concurrent_rotation<S: TokenStore>(store: Arc<S>, f: &Fixture) -> Outcome {
    const C: &str = "concurrent rotation (RT-04)";
    let (client, user) = (f.client_id()?, f.user()?);
    let first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
    store_ok(C, store.issue(first.clone()).await)?;
    let old = first.refresh.as_ref().map(|r| r.hash).ok_or(Failure {
        check: C,
        detail: "fixture".into(),
    })?;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, next) = (
            store.clone(),
            f.tokens(first.access.grant, &client, Some(&user), 3600),
        );
        tasks.push(tokio::spawn(async move {
            store.rotate_refresh(&old, next).await
        }));
    }
    let mut rotated = 0;
    for t in tasks {
        let r = t.await.map_err(|e| Failure {
            check: C,
            detail: e.to_string(),
        })?;
        if store_ok(C, r)? == Rotation::Rotated {
            rotated += 1;
        }
    }
    ensure!(C, rotated == 1, "{rotated} of 20 concurrent rotations won");
    Ok(())
}
