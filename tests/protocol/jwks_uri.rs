//! Keys at a client's `jwks_uri` (issue 19 part 1 step 3): the host's
//! `JwksFetcher` gives the key set, the server caches it per `jwks_uri`
//! (TTL and refetch interval from `Config::jwks_uri`, time from the
//! injected clock) and fetches again on an unknown `kid`, at most once per
//! `refetch_interval`. Assertions and request objects are signed with
//! `jsonwebtoken` over keys made by `ring` (`jar.rs`'s keys); the fetcher
//! here serves a set the test changes, and counts its calls.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::Header;
use portcullis::http::{Method, Request, Response};
use portcullis::{
    AuthorizationServer, AuthorizeStep, Client, ClientAdmin, ClientId, Clock, Config, FetchError,
    FixedClock, GrantType, JwkSet, JwksFetcher, MemoryStore, RedirectUri, ScopeSet, UnixTime,
    WebUrl,
};
use serde_json::{Value, json};

use crate::jar::{ISSUER, NOW, TestKey, alice, es256_key, object_claims, query, sign};

const CLIENT: &str = "remote";
const JWKS_URI: &str = "https://rp.example/jwks.json";
const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Serves the JWK set of the keys it is given (as a client's host would),
/// counting calls; fails while `down`.
#[derive(Default)]
struct TestFetcher {
    keys: Mutex<Vec<Value>>,
    calls: AtomicUsize,
    down: AtomicBool,
    uris: Mutex<Vec<String>>,
}

impl TestFetcher {
    fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl JwksFetcher for TestFetcher {
    async fn fetch(&self, uri: &WebUrl) -> Result<JwkSet, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.uris.lock().unwrap().push(uri.as_str().to_owned());
        if self.down.load(Ordering::SeqCst) {
            return Err(FetchError::msg("connection refused"));
        }
        let doc = json!({ "keys": *self.keys.lock().unwrap() });
        Ok(JwkSet::from_value(&doc)?)
    }
}

struct Fx {
    server: AuthorizationServer,
    clock: Arc<FixedClock>,
    fetcher: Arc<TestFetcher>,
    key: TestKey,
    jti: AtomicUsize,
}

/// A server with the counting fetcher (unless `fetcher` is false) and a
/// `private_key_jwt` client `remote` whose keys are at `JWKS_URI`,
/// registered for client credentials and the code flow; `key` (kid `k1`)
/// published.
async fn fixture(fetcher: bool) -> Fx {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(UnixTime::from_secs(NOW)));
    let counting = Arc::new(TestFetcher::default());
    let mut builder = AuthorizationServer::builder(Config::new(ISSUER))
        .store(store.clone())
        .clock(clock.clone());
    if fetcher {
        builder = builder.jwks_fetcher(counting.clone());
    }
    let server = builder.build().unwrap();
    let client = Client::private_key_jwt_uri(
        ClientId::parse(CLIENT).unwrap(),
        WebUrl::parse(JWKS_URI).unwrap(),
    )
    .grant_type(GrantType::ClientCredentials)
    .grant_type(GrantType::AuthorizationCode)
    .redirect_uri(RedirectUri::parse(crate::jar::REDIRECT).unwrap())
    .scope(ScopeSet::parse("openid read").unwrap())
    .build()
    .unwrap();
    store.insert_client(client).await.unwrap();
    let key = es256_key("k1");
    counting.publish(&[&key]);
    Fx {
        server,
        clock,
        fetcher: counting,
        key,
        jti: AtomicUsize::new(0),
    }
}

/// A fresh assertion of `remote` signed with `key` (its kid in the header).
fn assertion(fx: &Fx, key: &TestKey) -> String {
    let now = fx.clock.now().as_secs();
    let jti = fx.jti.fetch_add(1, Ordering::SeqCst);
    let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER,
                        "exp": now + 60, "iat": now, "jti": format!("a-{jti}")});
    let mut header = Header::new(key.alg);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

/// A client credentials request authenticated by `assertion`.
async fn token(fx: &Fx, assertion: &str) -> Response {
    let body = query(&[
        ("grant_type", "client_credentials"),
        ("client_assertion_type", TYPE),
        ("client_assertion", assertion),
    ]);
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    fx.server.token(&req).await
}

#[track_caller]
fn ok(r: &Response) {
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
}

#[track_caller]
fn invalid_client(r: &Response) {
    assert_eq!(r.status(), 401, "{}", String::from_utf8_lossy(r.body()));
    assert_eq!(r.error().map(|e| e.as_str()), Some("invalid_client"));
}

#[tokio::test]
async fn a_jwks_uri_client_authenticates_and_its_keys_are_cached() {
    // covers: CA-08
    let fx = fixture(true).await;
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 1);
    assert_eq!(*fx.fetcher.uris.lock().unwrap(), [JWKS_URI]);
    // A cache hit: no second fetch, within the TTL (default 300 s).
    fx.clock.advance(Duration::from_secs(60));
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 1, "cached");
    // A key of nobody's, with the client's kid: refused, nothing fetched
    // (the kid is known).
    let stranger = es256_key("k1");
    invalid_client(&token(&fx, &assertion(&fx, &stranger)).await);
    assert_eq!(fx.fetcher.calls(), 1);
    // Past the TTL the set is fetched again.
    fx.clock.advance(Duration::from_secs(300));
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 2, "stale after the TTL");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited() {
    // covers: CA-08
    let fx = fixture(true).await;
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 1);
    // The client rotates: its host now publishes k2 only.
    let next = es256_key("k2");
    fx.fetcher.publish(&[&next]);
    // Too soon after the first fetch (refetch interval, default 10 s): the
    // unknown kid is not fetched, and the assertion fails.
    fx.clock.advance(Duration::from_secs(5));
    invalid_client(&token(&fx, &assertion(&fx, &next)).await);
    assert_eq!(fx.fetcher.calls(), 1, "rate-limited");
    // Once the interval has passed: one refetch, and the new key works.
    fx.clock.advance(Duration::from_secs(5));
    ok(&token(&fx, &assertion(&fx, &next)).await);
    assert_eq!(fx.fetcher.calls(), 2, "one refetch on the unknown kid");
    ok(&token(&fx, &assertion(&fx, &next)).await);
    assert_eq!(fx.fetcher.calls(), 2, "the new set is cached");
    // The old key is gone from the new set (and its kid, unknown now, is
    // not fetched again so soon).
    invalid_client(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 2);
    // An attacker's made-up kids: at most one fetch per interval, however
    // many assertions.
    fx.clock.advance(Duration::from_secs(10));
    for i in 0..20 {
        let made_up = es256_key(&format!("x{i}"));
        invalid_client(&token(&fx, &assertion(&fx, &made_up)).await);
    }
    assert_eq!(fx.fetcher.calls(), 3, "one refetch for twenty unknown kids");
    fx.clock.advance(Duration::from_secs(10));
    invalid_client(&token(&fx, &assertion(&fx, &es256_key("y"))).await);
    invalid_client(&token(&fx, &assertion(&fx, &es256_key("z"))).await);
    assert_eq!(fx.fetcher.calls(), 4);
}

#[tokio::test]
async fn a_failed_fetch_is_invalid_client_and_is_not_retried_at_once() {
    // covers: CA-08
    let fx = fixture(true).await;
    fx.fetcher.down.store(true, Ordering::SeqCst);
    invalid_client(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 1);
    // Remembered for the refetch interval: no call, still refused.
    fx.clock.advance(Duration::from_secs(3));
    invalid_client(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 1, "a failure is not retried at once");
    // The host is back, and the interval has passed.
    fx.fetcher.down.store(false, Ordering::SeqCst);
    fx.clock.advance(Duration::from_secs(10));
    ok(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 2);
    // Past the TTL with the host down: stale keys are not used.
    fx.fetcher.down.store(true, Ordering::SeqCst);
    fx.clock.advance(Duration::from_secs(301));
    invalid_client(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 3);
}

#[tokio::test]
async fn without_a_fetcher_a_jwks_uri_client_is_invalid_client() {
    // covers: CA-08
    let fx = fixture(false).await;
    invalid_client(&token(&fx, &assertion(&fx, &fx.key)).await);
    assert_eq!(fx.fetcher.calls(), 0);
}

#[tokio::test]
async fn a_request_object_of_a_jwks_uri_client_verifies_with_the_fetched_keys() {
    // covers: JR-01
    let fx = fixture(true).await;
    let authorize = |object: String| {
        let server = &fx.server;
        async move {
            let q = query(&[("client_id", CLIENT), ("request", &object)]);
            server
                .authorize(&Request::new(Method::Get).query(&q), Some(&alice()))
                .await
        }
    };
    let step = authorize(sign(&fx.key, &object_claims(CLIENT))).await;
    assert!(
        matches!(step, AuthorizeStep::Consent(_)),
        "a request object signed with the published key: {step:?}"
    );
    assert_eq!(fx.fetcher.calls(), 1);
    // Another key with an unknown kid, after the interval: one refetch,
    // still refused (the host does not publish it).
    fx.clock.advance(Duration::from_secs(10));
    let other = es256_key("nope");
    let step = authorize(sign(&other, &object_claims(CLIENT))).await;
    assert_eq!(crate::jar::page_error(step), "invalid_request_object");
    assert_eq!(fx.fetcher.calls(), 2);
    // The client rotates to it: within the interval it is not fetched...
    fx.fetcher.publish(&[&other]);
    let step = authorize(sign(&other, &object_claims(CLIENT))).await;
    assert_eq!(crate::jar::page_error(step), "invalid_request_object");
    assert_eq!(fx.fetcher.calls(), 2);
    // ...after it, it is.
    fx.clock.advance(Duration::from_secs(10));
    let step = authorize(sign(&other, &object_claims(CLIENT))).await;
    assert!(matches!(step, AuthorizeStep::Consent(_)), "{step:?}");
    assert_eq!(fx.fetcher.calls(), 3);
}
