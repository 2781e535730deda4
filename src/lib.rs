//! # portcullis
//!
//! An embeddable OAuth 2.0 / OAuth 2.1 authorization server. The core is
//! sans-IO: your web framework hands it a [`http::Request`], it hands back a
//! [`http::Response`]; only calls to your stores are awaited. Time and
//! randomness are injected ([`Clock`], [`RandomSource`]).
//!
//! ```
//! use std::sync::Arc;
//! use portcullis::http::{Method, Request};
//! use portcullis::{
//!     AuthMethod, AuthorizationServer, Client, ClientId, ClientStore, Config, GrantType,
//!     MemoryStore, ScopeSet, generate_secret,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(MemoryStore::new());
//! let server = AuthorizationServer::builder(Config::new("https://auth.example.com"))
//!     .store(store.clone())
//!     .build()?;
//!
//! // Register a service client; show the secret once, keep only its hash.
//! let (secret, hash) = generate_secret(server.random())?;
//! let client = Client::confidential(ClientId::parse("billing").unwrap(), hash)
//!     .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
//!     .grant_type(GrantType::ClientCredentials)
//!     .scope(ScopeSet::parse("invoices:read").unwrap())
//!     .build()?;
//! store.insert(client).await?;
//!
//! // What your framework adapter would build from the HTTP request:
//! let body = format!(
//!     "grant_type=client_credentials&scope=invoices%3Aread&client_id=billing&client_secret={}",
//!     secret.expose_secret()
//! );
//! let req = Request::new(Method::Post)
//!     .header("Content-Type", b"application/x-www-form-urlencoded")
//!     .body(body.as_bytes());
//! let resp = server.token(&req).await;
//! assert_eq!(resp.status(), 200);
//! assert_eq!(resp.header("Cache-Control"), Some("no-store"));
//! # Ok(()) }
//! ```
//!
//! ## Traits you implement (or take ours)
//!
//! | trait | role | shipped |
//! |---|---|---|
//! | [`ClientStore`] | registered clients | [`MemoryStore`] |
//! | [`TokenStore`] | codes and tokens, as hashes, with atomic exchange and rotation | [`MemoryStore`] |
//! | [`ConsentStore`] | consent per user and client | [`MemoryStore`] |
//! | [`PasswordVerifier`] | resource-owner passwords (password grant) | [`MemoryUsers`] |
//! | [`Clock`], [`RandomSource`] | time and randomness | [`SystemClock`], [`SystemRandom`] |
//!
//! The guides live in `docs/`: `getting-started.md` (the core API),
//! `getting-started-axum.md`, `getting-started-actix-web.md`,
//! `getting-started-hyper.md`, `getting-started-any-framework.md` (an
//! adapter for a framework we don't ship), `implementing-a-store.md`,
//! `architecture.md`,
//! `requirements.md` (which test proves which requirement),
//! `performance.md`, `operator.md` (the `portcullis` command of the
//! `cli` feature), and `security.md` (the threat model, RFC 9700 point by
//! point, the [`Throttle`] hook and what happens when a store fails).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapters;
mod bearer;
mod client;
mod clock;
mod config;
mod context;
mod conversions;
pub mod dangerous;
mod endpoints;
mod error;
mod events;
mod grant_type;
mod grants;
pub mod http;
pub mod keys;
mod observe;
mod pkce;
mod random;
mod redirect_uri;
pub mod routes;
mod scope;
mod secret;
mod server;
pub mod stores;
mod throttle;
mod tokens;
mod user;

// Public interface.
pub use async_trait::async_trait;
pub use bearer::BearerToken;
pub use client::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, PBKDF2_DEFAULT_ITERATIONS,
    SecretHash, generate_secret,
};
pub use clock::{Clock, FixedClock, SystemClock, UnixTime};
pub use config::{Config, EndpointPaths};
pub use conversions::ParseError;
pub use endpoints::authorize::{AuthorizeStep, LoginRequired, PendingAuthorization};
pub use error::{
    BearerFault, Cause, ConfigError, Error, ErrorCode, GrantFault, InternalFault, RequestFault,
    SigningFault, StoreError,
};
pub use events::{Event, EventSink, Replayed};
pub use grant_type::GrantType;
pub use keys::rotation::RotationError;
pub use keys::{Algorithm, KeyError, KeyId, KeyProvider, KeyRecord};
pub use pkce::{ChallengeMethod, CodeChallenge, CodeVerifier};
pub use random::{RandomError, RandomSource, SystemRandom};
pub use redirect_uri::RedirectUri;
pub use scope::{Scope, ScopeSet};
pub use secret::Secret;
pub use server::{AuthorizationServer, ServerBuilder};
pub use stores::PasswordVerifier;
pub use stores::{
    AccessRecord, ClientStore, CodeRecord, Consent, ConsentStore, Exchange, MemoryKeys,
    MemoryStore, MemoryUsers, NewTokens, PurgeCounts, RefreshRecord, Rotation, TokenStore,
};
pub use stores::{AuthorizationRequestStore, SuspendedRequest};
pub use throttle::{Throttle, Verdict};
pub use tokens::claims::ClaimsHook;
pub use tokens::{AccessTokenFormat, GrantId, TokenHash};
pub use user::UserId;

// The guides' code blocks, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/getting-started.md")]
struct GettingStartedDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/implementing-a-store.md")]
struct ImplementingAStoreDoctests;

#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/getting-started-axum.md")]
struct GettingStartedAxumDoctests;

#[cfg(all(doctest, feature = "actix-web"))]
#[doc = include_str!("../docs/getting-started-actix-web.md")]
struct GettingStartedActixWebDoctests;

#[cfg(all(doctest, feature = "hyper"))]
#[doc = include_str!("../docs/getting-started-hyper.md")]
struct GettingStartedHyperDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/getting-started-any-framework.md")]
struct GettingStartedAnyFrameworkDoctests;

#[cfg(all(doctest, feature = "postgres"))]
#[doc = include_str!("../docs/sql-stores.md")]
struct SqlStoresDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/jwt-and-keys.md")]
struct JwtAndKeysDoctests;
