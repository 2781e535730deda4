//! Keys a client publishes at its `jwks_uri` (RFC 7591 §2; issue 19 part 1
//! step 3), for `private_key_jwt` assertions (RFC 7523) and signed request
//! objects (RFC 9101).
//!
//! The core does no network I/O: the host fetches the document through a
//! [`JwksFetcher`] it registers (`ServerBuilder::jwks_fetcher`), and the
//! core keeps what it got in a [`JwksCache`]: one entry per `jwks_uri`, at
//! most [`JwksUriConfig::cache_capacity`] of them (the least recently used
//! goes), each fresh for [`JwksUriConfig::cache_ttl`] on the injected clock.
//!
//! A signature whose `kid` the cached set does not hold (the client rotated
//! its keys) makes the cache fetch again, but at most once per `jwks_uri`
//! per [`JwksUriConfig::refetch_interval`]: anyone can send an assertion
//! with a made-up `kid`, and must not be able to make the server hammer
//! the client's host. A failed fetch is remembered for as long, so a host
//! that is down is not asked again on every request either. Stale keys are
//! never used: past its TTL an entry must be fetched again, and if that
//! fails the signature is refused (a client that removed a compromised key
//! must not have it accepted because its host is unreachable).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::clock::UnixTime;
use crate::conversions::{ParseError, try_from_str};
use crate::keys::jwk::{PublicJwk, parse_jwks};
use crate::web_url::WebUrl;

/// The most keys a [`JwkSet`] holds: a bigger document is refused, which
/// bounds the cache's memory and the work of checking one signature
/// without a `kid`.
pub const MAX_JWKS_KEYS: usize = 64;

/// A client's JSON Web Key Set (RFC 7517 §5): its public signing keys,
/// parsed. Keys the server cannot verify with (other key types or curves,
/// `use` other than `sig`, an `alg` that disagrees with the key) are
/// skipped; a document that is not a JSON object with a `keys` array, or
/// that holds more than [`MAX_JWKS_KEYS`] keys, is refused. Cloning shares
/// the keys.
///
/// ```
/// use portcullis::JwkSet;
/// let set: JwkSet = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#
///     .parse()
///     .unwrap();
/// assert_eq!(set.len(), 1);
/// assert!(set.has_kid("k1"));
/// assert!("[]".parse::<JwkSet>().is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Arc<[PublicJwk]>,
}

impl JwkSet {
    /// Parses a JWK set from its JSON text (what a `jwks_uri` serves).
    pub fn from_slice(json: &[u8]) -> Result<Self, ParseError> {
        let doc: Value =
            serde_json::from_slice(json).map_err(|_| ParseError::new("JWK set", "not JSON"))?;
        Self::from_value(&doc)
    }

    /// Parses a JWK set from a JSON value.
    pub fn from_value(doc: &Value) -> Result<Self, ParseError> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(ParseError::new(
                "JWK set",
                "not an object with a keys array",
            ))?;
        if keys.len() > MAX_JWKS_KEYS {
            return Err(ParseError::new("JWK set", "more than 64 keys"));
        }
        Ok(Self {
            keys: parse_jwks(doc).into(),
        })
    }

    /// How many usable keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The `kid`s of its keys (keys without one are not listed).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// The parsed keys.
    pub(crate) fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// The keys a client registered by value (`jwks`); none if it has no
    /// such document or it does not parse.
    pub(crate) fn registered(jwks: Option<&str>) -> Self {
        jwks.and_then(|j| serde_json::from_str::<Value>(j).ok())
            .map(|doc| Self {
                keys: parse_jwks(&doc).into(),
            })
            .unwrap_or_default()
    }
}

impl FromStr for JwkSet {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::from_slice(s.as_bytes())
    }
}

try_from_str!(JwkSet);

/// Public keys only, so all of it can be shown; the `kid`s say which.
impl fmt::Debug for JwkSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwkSet")
            .field("keys", &self.keys.len())
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a [`JwksFetcher`] could not give a JWK set.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The document could not be fetched (connection, TLS, timeout, an
    /// HTTP status other than 200, a body over the host's size limit).
    #[error("the JWK set could not be fetched")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The document is not a JWK set.
    #[error("the fetched document is not a JWK set")]
    Invalid(#[from] ParseError),
}

impl FetchError {
    /// A fetch that failed for this cause.
    pub fn new(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(cause))
    }

    /// A fetch that failed, with only a static message.
    pub fn msg(message: &'static str) -> Self {
        Self::Unavailable(message.into())
    }
}

/// Fetches the JWK set a client publishes at its `jwks_uri`: the host's
/// HTTP client, since the core does no network I/O. Register one with
/// `ServerBuilder::jwks_fetcher`; without one, a client registered with
/// `jwks_uri` cannot authenticate with `private_key_jwt` (`invalid_client`,
/// and a warning in the log) nor sign request objects.
///
/// The server caches what it gets (see [`JwksUriConfig`]) and calls
/// `fetch` again only when the entry is older than its TTL, or when a
/// signature names a `kid` the cached set does not hold, at most once per
/// `jwks_uri` per [`JwksUriConfig::refetch_interval`]. Concurrent requests
/// finding no fresh entry may each call it.
///
/// A fetcher should use `https` (the client model allows plain `http` only
/// on loopback), bound its time and the size of the body, not follow
/// redirects to other hosts, and keep in mind that `jwks_uri` is chosen by
/// whoever registered the client: with open registration, refuse addresses
/// of your own network (SSRF).
///
/// ```
/// use portcullis::{FetchError, JwkSet, JwksFetcher, WebUrl};
///
/// struct Fixed(JwkSet);
///
/// #[async_trait::async_trait]
/// impl JwksFetcher for Fixed {
///     async fn fetch(&self, _uri: &WebUrl) -> Result<JwkSet, FetchError> {
///         // A real one GETs the URL, e.g. with hyper or reqwest, and
///         // parses the body with `JwkSet::from_slice`.
///         Ok(self.0.clone())
///     }
/// }
/// ```
#[async_trait]
pub trait JwksFetcher: Send + Sync + 'static {
    /// The JWK set served at `uri` now.
    async fn fetch(&self, uri: &WebUrl) -> Result<JwkSet, FetchError>;
}

/// How the keys of `jwks_uri` clients are cached (`Config::jwks_uri`).
///
/// ```
/// use std::time::Duration;
/// let mut config = portcullis::Config::new("https://auth.example.com");
/// config.jwks_uri.cache_ttl = Duration::from_secs(600);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct JwksUriConfig {
    /// How long a fetched set is used before it is fetched again (default
    /// 300 s; 1 s to one day). A key the client removed is accepted at most
    /// this long after.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub cache_ttl: Duration,
    /// The least time between two fetches of one `jwks_uri` on an unknown
    /// `kid`, and how long a failed fetch is remembered (default 10 s; 1 s
    /// up to `cache_ttl`). A client that rotates to a new key waits at
    /// most this long for it to be accepted.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub refetch_interval: Duration,
    /// The most `jwks_uri`s cached at once (default 1024; at least 1): the
    /// least recently used entry goes first.
    pub cache_capacity: usize,
}

impl Default for JwksUriConfig {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            refetch_interval: Duration::from_secs(10),
            cache_capacity: 1024,
        }
    }
}

impl JwksUriConfig {
    /// What is out of range, if anything.
    pub(crate) fn invalid(&self) -> Option<&'static str> {
        let (ttl, refetch) = (self.cache_ttl.as_secs(), self.refetch_interval.as_secs());
        if ttl == 0 || ttl > 24 * 3600 {
            return Some("cache_ttl is not between 1 s and one day");
        }
        if refetch == 0 || refetch > ttl {
            return Some("refetch_interval is not between 1 s and cache_ttl");
        }
        if self.cache_capacity == 0 {
            return Some("cache_capacity is 0");
        }
        None
    }
}

/// Why no keys could be had for a `jwks_uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unavailable {
    /// The host registered no [`JwksFetcher`].
    #[error("no JwksFetcher is registered (ServerBuilder::jwks_fetcher)")]
    NoFetcher,
    /// The fetch just made failed.
    #[error("the fetch failed")]
    FetchFailed,
    /// A fetch failed less than `refetch_interval` ago; not asked again yet.
    #[error("a fetch failed less than refetch_interval ago")]
    RecentlyFailed,
}

/// One cached `jwks_uri`.
struct Entry {
    /// The last set fetched, and when.
    keys: Option<(JwkSet, UnixTime)>,
    /// When a fetch last started, and whether the last one failed.
    last_attempt: UnixTime,
    failed: bool,
    /// When it was last used, for the eviction.
    used_at: UnixTime,
}

/// What the cache decided under its lock.
enum Step {
    Use(JwkSet),
    Fetch,
    Fail(Unavailable),
}

/// The server's cache of `jwks_uri` key sets, over the host's fetcher
/// (see the module docs).
pub(crate) struct JwksCache {
    fetcher: Option<Arc<dyn JwksFetcher>>,
    config: JwksUriConfig,
    entries: Mutex<HashMap<WebUrl, Entry>>,
}

impl JwksCache {
    pub(crate) fn new(fetcher: Option<Arc<dyn JwksFetcher>>, config: JwksUriConfig) -> Self {
        Self {
            fetcher,
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<WebUrl, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The keys published at `uri` for a signature naming `kid` (if it
    /// names one), at `now`: the cached set while fresh, fetched when
    /// missing or stale, fetched again when `kid` is not in it and the
    /// last fetch is at least `refetch_interval` old. The set returned may
    /// still lack `kid` (a refetch was not allowed yet, or the client does
    /// not publish it): its signature then fails to verify.
    pub(crate) async fn keys(
        &self,
        uri: &WebUrl,
        kid: Option<&str>,
        now: UnixTime,
    ) -> Result<JwkSet, Unavailable> {
        let Some(fetcher) = &self.fetcher else {
            return Err(Unavailable::NoFetcher);
        };
        match self.decide(uri, kid, now) {
            Step::Use(set) => return Ok(set),
            Step::Fail(why) => return Err(why),
            Step::Fetch => {}
        }
        // The lock is not held across the host's call.
        let fetched = fetcher.fetch(uri).await;
        let mut entries = self.entries();
        let entry = entries.entry(uri.clone()).or_insert_with(|| Entry {
            keys: None,
            last_attempt: now,
            failed: false,
            used_at: now,
        });
        match fetched {
            Ok(set) => {
                tracing::debug!(jwks_uri = %uri, keys = set.len(), "jwks_uri fetched");
                entry.keys = Some((set.clone(), now));
                entry.failed = false;
                Ok(set)
            }
            Err(error) => {
                // Fresh keys, if any, stay for signatures with known kids.
                tracing::warn!(jwks_uri = %uri, %error, cause = ?std::error::Error::source(&error), "fetching a client's jwks_uri failed");
                entry.failed = true;
                Err(Unavailable::FetchFailed)
            }
        }
    }

    /// The decision, under the lock; a fetch is recorded as started here,
    /// so concurrent requests on an unknown `kid` make one refetch.
    fn decide(&self, uri: &WebUrl, kid: Option<&str>, now: UnixTime) -> Step {
        let ttl = self.config.cache_ttl;
        let interval = self.config.refetch_interval;
        let mut entries = self.entries();
        if !entries.contains_key(uri) && entries.len() >= self.config.cache_capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used_at.as_secs())
                .map(|(u, _)| u.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let entry = entries.entry(uri.clone()).or_insert_with(|| Entry {
            keys: None,
            last_attempt: now,
            failed: false,
            used_at: now,
        });
        entry.used_at = now;
        let may_fetch = now.as_secs() >= entry.last_attempt.plus(interval).as_secs();
        let fresh = entry
            .keys
            .as_ref()
            .filter(|(_, at)| now.as_secs() < at.plus(ttl).as_secs())
            .map(|(set, _)| set.clone());
        match fresh {
            Some(set) if kid.is_none_or(|k| set.has_kid(k)) => Step::Use(set),
            Some(set) if !may_fetch => {
                tracing::debug!(jwks_uri = %uri, kid = kid.unwrap_or_default(), "unknown kid: jwks_uri fetched less than refetch_interval ago, not fetched again");
                Step::Use(set)
            }
            None if entry.failed && !may_fetch => Step::Fail(Unavailable::RecentlyFailed),
            _ => {
                entry.last_attempt = now;
                Step::Fetch
            }
        }
    }

    /// How many `jwks_uri`s are cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"K","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    fn set(kid: &str) -> JwkSet {
        format!(
            r#"{{"keys":[{}]}}"#,
            KEY.replace("\"K\"", &format!("\"{kid}\""))
        )
        .parse()
        .unwrap()
    }

    /// Serves `set(kid)` for the kid it is told, counting calls; fails
    /// while `down`.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        kid: Mutex<String>,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl JwksFetcher for Counting {
        async fn fetch(&self, _: &WebUrl) -> Result<JwkSet, FetchError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(FetchError::msg("down"));
            }
            Ok(set(&self.kid.lock().unwrap()))
        }
    }

    fn url(n: u32) -> WebUrl {
        WebUrl::parse(&format!("https://rp{n}.example/jwks")).unwrap()
    }

    fn at(s: u64) -> UnixTime {
        UnixTime::from_secs(1_000_000 + s)
    }

    fn cache(f: &Arc<Counting>, capacity: usize) -> JwksCache {
        let config = JwksUriConfig {
            cache_capacity: capacity,
            ..JwksUriConfig::default()
        };
        JwksCache::new(Some(f.clone() as Arc<dyn JwksFetcher>), config)
    }

    #[test]
    fn a_jwk_set_is_an_object_with_keys_and_unusable_keys_are_skipped() {
        assert!(JwkSet::from_slice(b"{}").is_err());
        assert!(JwkSet::from_slice(b"not json").is_err());
        let hs = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#;
        assert!(JwkSet::from_slice(hs.as_bytes()).unwrap().is_empty());
        let many = format!(r#"{{"keys":[{}]}}"#, vec![KEY; 65].join(","));
        assert!(JwkSet::from_slice(many.as_bytes()).is_err());
        let s = set("a");
        assert_eq!(s.kids().collect::<Vec<_>>(), ["a"]);
        assert_eq!(format!("{s:?}"), r#"JwkSet { keys: 1, kids: ["a"] }"#);
    }

    #[tokio::test]
    async fn hits_refetches_on_unknown_kid_rate_limited_and_failures_remembered() {
        let f = Arc::new(Counting::default());
        *f.kid.lock().unwrap() = "a".into();
        let c = cache(&f, 8);
        let u = url(1);
        assert!(c.keys(&u, Some("a"), at(0)).await.unwrap().has_kid("a"));
        assert!(c.keys(&u, Some("a"), at(1)).await.is_ok());
        assert!(c.keys(&u, None, at(2)).await.is_ok());
        assert_eq!(f.calls.load(Ordering::SeqCst), 1, "cache hits");
        // Rotated: unknown kid within the interval is not refetched.
        *f.kid.lock().unwrap() = "b".into();
        assert!(!c.keys(&u, Some("b"), at(5)).await.unwrap().has_kid("b"));
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        // After it: one refetch, then hits.
        assert!(c.keys(&u, Some("b"), at(10)).await.unwrap().has_kid("b"));
        assert!(c.keys(&u, Some("b"), at(11)).await.is_ok());
        assert_eq!(f.calls.load(Ordering::SeqCst), 2);
        // Stale after the TTL: fetched again.
        assert!(c.keys(&u, Some("b"), at(310)).await.is_ok());
        assert_eq!(f.calls.load(Ordering::SeqCst), 3);
        // A failure is remembered for the interval, stale keys never used.
        f.down.store(true, Ordering::SeqCst);
        assert_eq!(
            c.keys(&u, Some("b"), at(700)).await,
            Err(Unavailable::FetchFailed)
        );
        assert_eq!(
            c.keys(&u, Some("b"), at(705)).await,
            Err(Unavailable::RecentlyFailed)
        );
        assert_eq!(f.calls.load(Ordering::SeqCst), 4);
        f.down.store(false, Ordering::SeqCst);
        assert!(c.keys(&u, Some("b"), at(710)).await.is_ok());
        assert_eq!(f.calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn the_cache_is_bounded_and_without_a_fetcher_nothing_is_had() {
        let f = Arc::new(Counting::default());
        *f.kid.lock().unwrap() = "a".into();
        let c = cache(&f, 2);
        for n in 0..5 {
            assert!(c.keys(&url(n), Some("a"), at(u64::from(n))).await.is_ok());
        }
        assert_eq!(c.len(), 2);
        // The most recent two stayed.
        assert!(c.keys(&url(4), Some("a"), at(6)).await.is_ok());
        assert_eq!(f.calls.load(Ordering::SeqCst), 5);
        let none = JwksCache::new(None, JwksUriConfig::default());
        assert_eq!(
            none.keys(&url(1), None, at(0)).await,
            Err(Unavailable::NoFetcher)
        );
        assert!(JwksUriConfig::default().invalid().is_none());
        let bad = JwksUriConfig {
            refetch_interval: Duration::from_secs(600),
            ..JwksUriConfig::default()
        };
        assert!(bad.invalid().is_some());
    }
}
