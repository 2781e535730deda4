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
//!     AuthMethod, AuthorizationServer, Client, ClientAdmin, ClientId, Config, GrantType,
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
//! store.insert_client(client).await?;
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
//! | trait | role | needed | shipped |
//! |---|---|---|---|
//! | [`ClientStore`] | registered clients, looked up by id | always | [`MemoryStore`], SQL stores |
//! | [`TokenStore`] | codes and tokens, as hashes, with atomic exchange and rotation | always | [`MemoryStore`], SQL stores |
//! | [`ConsentStore`] | consent per user and client | to remember consent | [`MemoryStore`], SQL stores |
//! | [`ReplayCache`] | one-time ids (client assertion `jti`) | `Config::jwt_client_authentication` (default on) | [`MemoryStore`], SQL stores |
//! | [`PasswordVerifier`] | resource-owner passwords | the password grant | [`MemoryUsers`] |
//! | [`KeyProvider`] | signing keys | JWT access tokens, JWKS | [`MemoryKeys`], SQL stores |
//! | [`ClientAdmin`], [`TokenAdmin`], [`ConsentAdmin`] | operator work: register clients, revoke by client or user, purge, list consent | never by the server; by the CLI and your admin code | [`MemoryStore`], SQL stores |
//! | [`Clock`], [`RandomSource`] | time and randomness | always (defaulted) | [`SystemClock`], [`SystemRandom`] |
//!
//! The guides in `docs/` are part of these docs, under [`guides`]:
//! [`getting_started`](guides::getting_started) (the core API), one per
//! shipped adapter, [`getting_started_any_framework`](guides::getting_started_any_framework)
//! (an adapter for a framework we don't ship),
//! [`implementing_a_store`](guides::implementing_a_store),
//! [`openid_connect`](guides::openid_connect),
//! [`architecture`](guides::architecture), [`security`](guides::security)
//! (the threat model, RFC 9700 point by point, the [`Throttle`] hook and what
//! happens when a store fails) and more.
//!
//! ## Cargo features
//!
//! None is on by default. Adapters: `axum`, `actix-web`, `hyper`. Stores:
//! `sqlite`, `postgres`, `mysql` (MySQL/MariaDB). `conformance`: the store
//! conformance suite for your own stores. `cli`: the `portcullis` operator
//! command. Items that need a feature say so in these docs.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly): a badge on every feature-gated item.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapters;
mod audience;
mod bearer;
mod client;
mod clock;
mod config;
mod context;
mod conversions;
pub mod dangerous;
mod dpop;
mod endpoints;
mod error;
mod events;
mod extension_grant;
mod grant_type;
mod grants;
mod hash_pool;
pub mod http;
pub mod keys;
mod observe;
pub mod oidc;
mod origin;
mod pkce;
mod profile;
mod protected_resource;
mod random;
mod redirect_uri;
mod registration;
mod request_object;
mod resource;
pub mod routes;
mod scope;
mod secret;
mod server;
pub mod stores;
mod throttle;
mod token_exchange;
mod tokens;
mod user;
mod web_url;

// Public interface.
pub use async_trait::async_trait;
pub use audience::Audience;
pub use bearer::BearerToken;
pub use client::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, OpenIdRegistration,
    PBKDF2_DEFAULT_ITERATIONS, SecretHash, SubjectType, VerifiedSecrets, generate_secret,
};
pub use clock::{Clock, FixedClock, SystemClock, UnixTime};
pub use config::{Config, DpopConfig, EndpointPaths};
pub use conversions::ParseError;
pub use dpop::thumbprint::JwkThumbprint;
pub use endpoints::authorize::{AuthorizeStep, LoginReason, LoginRequired, PendingAuthorization};
pub use endpoints::device_verification::{DeviceVerificationError, PendingDeviceAuthorization};
pub use endpoints::end_session::{BackchannelLogout, EndSessionStep, LoggedOut, LogoutRequest};
pub use error::{
    BearerFault, Cause, ConfigError, DpopFault, Error, ErrorCode, GrantFault, Interaction,
    InternalFault, MetadataFault, OpenIdUnsupported, RequestFault, RequestObjectFault,
    SigningFault, StoreError,
};
pub use events::{Event, EventSink, Replayed};
pub use extension_grant::{ExtensionGrant, ExtensionRequest, GrantRefusal, Issuance};
pub use grant_type::{ExtensionGrantType, GrantType};
pub use hash_pool::{HashJob, HashPool, HashPoolConfig, HashPoolError, HashPoolStats};
pub use keys::rotation::RotationError;
pub use keys::{Algorithm, KeyError, KeyId, KeyProvider, KeyRecord};
pub use oidc::{
    Authentication, BACKCHANNEL_LOGOUT_EVENT, ClaimsQuery, ClaimsRequest, ClaimsRequestError,
    HintError, IdTokenClaims, LOGOUT_TOKEN_LIFETIME, LoginId, LogoutSubject, MAX_ID_TOKEN_HINT_LEN,
    OpenIdGrant, OpenIdRequest, RequestedClaim, SessionId, Subject, SubjectError, UserClaims,
    VerifiedHint, at_hash,
};
pub use pkce::{ChallengeMethod, CodeChallenge, CodeVerifier};
pub use profile::{FAPI2_ALGORITHMS, Profile};
pub use protected_resource::{
    BearerMethod, ProtectedResource, ProtectedResourceBuilder, ProtectedResourceError,
};
pub use random::{RandomError, RandomSource, SystemRandom};
pub use redirect_uri::RedirectUri;
pub use resource::Resource;
pub use scope::{Scope, ScopeSet};
pub use secret::Secret;
pub use server::{AuthorizationServer, ServerBuilder};
pub use stores::PasswordVerifier;
pub use stores::{
    AccessRecord, ClientAdmin, ClientStore, CodeRecord, Consent, ConsentAdmin, ConsentStore,
    Exchange, MemoryKeys, MemoryStore, MemoryUsers, NewTokens, PurgeCounts, RefreshRecord,
    ReplayCache, ReplayScope, Rotation, TokenAdmin, TokenStore,
};
pub use stores::{AuthorizationRequestStore, SuspendedRequest};
// Refresh retry window (issue 18).
pub use stores::{DeviceDecision, DevicePoll, DeviceRecord, DeviceState, DeviceStore};
pub use stores::{Replacement, Successor};
pub use throttle::{
    Account, Attempt, MemoryThrottle, Outcome, StoreThrottle, Throttle, ThrottleCount, ThrottleKey,
    ThrottleLimits, ThrottleStore, Verdict,
};
pub use token_exchange::{
    ExchangeGrant, ExchangeRequest, ExchangedToken, TokenExchangePolicy, TokenType,
};
pub use tokens::actor::{Actor, MAX_ACTOR_CHAIN};
pub use tokens::claims::ClaimsHook;
pub use tokens::{AccessTokenFormat, GrantId, TokenHash};
pub use user::UserId;
pub use web_url::WebUrl;
// The full client model (issue 19).
pub use client::{ApplicationType, ClientMetadataObject, ClientSigningAlg, RegistrationFields};
pub use origin::Origin;
// Keys at jwks_uri (issue 19 part 1, step 3).
pub use client::{FetchError, JwkSet, JwksFetcher, JwksUriConfig, MAX_JWKS_KEYS};
// Dynamic client registration (RFC 7591/7592, issue 19 part 2).
pub use registration::{
    InitialAccessToken, OPEN_REGISTRATION_GRANT_TYPES, OpenRegistration, Registrant,
    RegistrationOperation, RegistrationPolicy, RegistrationRefusal,
};

// The README's code blocks, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Renders one guide of `docs/` as an empty module. The link definitions
/// come first, so they win over the guide's own (which point at files in
/// the repository, for GitHub): links to another guide become links to its
/// module, links to other files go to the file in the published crate.
macro_rules! guide {
    ($(#[$attr:meta])* $name:ident = $file:literal) => {
        $(#[$attr])*
        #[doc = "[getting-started.md]: crate::guides::getting_started"]
        #[doc = "[getting-started-any-framework.md]: crate::guides::getting_started_any_framework"]
        #[doc = "[jwt-and-keys.md]: crate::guides::jwt_and_keys"]
        #[doc = "[security.md]: crate::guides::security"]
        #[doc = "[architecture.md]: crate::guides::architecture"]
        #[doc = "[performance.md]: crate::guides::performance"]
        #[doc = "[requirements.md]: crate::guides::requirements"]
        #[doc = "[openid-connect.md]: crate::guides::openid_connect"]
        #[doc = "[device-flow.md]: crate::guides::device_flow"]
        #[doc = "[cors.md]: crate::guides::cors"]
        #[doc = "[registration.md]: crate::guides::registration"]
        #[cfg_attr(feature = "axum", doc = "[getting-started-axum.md]: crate::guides::getting_started_axum")]
        #[cfg_attr(feature = "actix-web", doc = "[getting-started-actix-web.md]: crate::guides::getting_started_actix_web")]
        #[cfg_attr(feature = "hyper", doc = "[getting-started-hyper.md]: crate::guides::getting_started_hyper")]
        #[cfg_attr(feature = "conformance", doc = "[implementing-a-store.md]: crate::guides::implementing_a_store")]
        #[cfg_attr(feature = "postgres", doc = "[sql-stores.md]: crate::guides::sql_stores")]
        #[cfg_attr(feature = "cli", doc = "[operator.md]: crate::guides::operator")]
        #[doc = concat!("[getting-started-axum.md]: ", source!("docs/getting-started-axum.md"))]
        #[doc = concat!("[getting-started-actix-web.md]: ", source!("docs/getting-started-actix-web.md"))]
        #[doc = concat!("[getting-started-hyper.md]: ", source!("docs/getting-started-hyper.md"))]
        #[doc = concat!("[implementing-a-store.md]: ", source!("docs/implementing-a-store.md"))]
        #[doc = concat!("[sql-stores.md]: ", source!("docs/sql-stores.md"))]
        #[doc = concat!("[operator.md]: ", source!("docs/operator.md"))]
        #[doc = concat!("[../SECURITY.md]: ", source!("SECURITY.md"))]
        #[doc = concat!("[../examples/server.rs]: ", source!("examples/server.rs"))]
        #[doc = concat!("[../src/adapters/]: ", source!("src/adapters/"))]
        #[doc = concat!("[login.png]: ", image!("login.png"))]
        #[doc = concat!("[login-error.png]: ", image!("login-error.png"))]
        #[doc = concat!("[consent.png]: ", image!("consent.png"))]
        #[doc = concat!("[error.png]: ", image!("error.png"))]
        #[doc = ""]
        #[doc = include_str!(concat!("../docs/", $file))]
        pub mod $name {}
    };
}

/// A file of this version of the published crate, in docs.rs's source view.
macro_rules! source {
    ($path:literal) => {
        concat!(
            "https://docs.rs/crate/portcullis/",
            env!("CARGO_PKG_VERSION"),
            "/source/",
            $path
        )
    };
}

/// A screenshot of `docs/images/` (not in the published crate), from the
/// repository.
macro_rules! image {
    ($file:literal) => {
        concat!(
            env!("CARGO_PKG_REPOSITORY"),
            "/raw/main/docs/images/",
            $file
        )
    };
}

/// The guides from `docs/`, as they are in the repository.
///
/// Their Rust blocks are compiled (and, except for servers, run) by
/// `cargo test --doc`; a guide for a feature is here when the feature is on
/// (on docs.rs, all are).
pub mod guides {
    guide!(getting_started = "getting-started.md");
    guide!(
        #[cfg(feature = "axum")]
        getting_started_axum = "getting-started-axum.md"
    );
    guide!(
        #[cfg(feature = "actix-web")]
        getting_started_actix_web = "getting-started-actix-web.md"
    );
    guide!(
        #[cfg(feature = "hyper")]
        getting_started_hyper = "getting-started-hyper.md"
    );
    guide!(getting_started_any_framework = "getting-started-any-framework.md");
    guide!(
        // Its last block runs the conformance suite's macro.
        #[cfg(feature = "conformance")]
        implementing_a_store = "implementing-a-store.md"
    );
    guide!(
        // Its example connects to PostgreSQL.
        #[cfg(feature = "postgres")]
        sql_stores = "sql-stores.md"
    );
    guide!(
        // Its example connects to MySQL.
        #[cfg(feature = "mysql")]
        mysql = "mysql.md"
    );
    guide!(jwt_and_keys = "jwt-and-keys.md");
    guide!(openid_connect = "openid-connect.md");
    guide!(device_flow = "device-flow.md");
    guide!(registration = "registration.md");
    guide!(
        #[cfg(feature = "cli")]
        operator = "operator.md"
    );
    guide!(fapi2 = "fapi2.md");
    guide!(token_exchange = "token-exchange.md");
    guide!(cors = "cors.md");
    guide!(security = "security.md");
    guide!(architecture = "architecture.md");
    guide!(performance = "performance.md");
    guide!(requirements = "requirements.md");
}
