//! `AuthorizationServer`, the façade with one method per endpoint, and the
//! `ServerBuilder` that checks its pieces once, at build time.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::endpoints;
use crate::endpoints::authorize::AuthorizeStep;
use crate::error::ConfigError;
use crate::grants::{GrantType, PasswordVerifier};
use crate::http::{Request, Response};
use crate::random::{RandomSource, SystemRandom};
use crate::stores::{ClientStore, ConsentStore, TokenStore};
use crate::user::UserId;

/// The authorization server: configuration, the host's stores, a clock and
/// a random source. Each endpoint method takes a [`Request`] and returns a
/// [`Response`], for success and OAuth errors alike.
pub struct AuthorizationServer {
    pub(crate) config: Config,
    pub(crate) clients: Arc<dyn ClientStore>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) consents: Option<Arc<dyn ConsentStore>>,
    pub(crate) passwords: Option<Arc<dyn PasswordVerifier>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    metadata: Vec<u8>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Starts building a server with this configuration.
    pub fn builder(config: Config) -> ServerBuilder {
        ServerBuilder::new(config)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The authorization endpoint (RFC 6749 §3.1): validates the request and
    /// tells the host what to do next. `user` is the logged-in resource
    /// owner, if any.
    pub async fn authorize(&self, req: &Request<'_>, user: Option<&UserId>) -> AuthorizeStep {
        endpoints::authorize::handle(self, req, user).await
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub async fn token(&self, req: &Request<'_>) -> Response {
        endpoints::token::handle(self, req).await
    }

    /// The revocation endpoint (RFC 7009).
    pub async fn revoke(&self, req: &Request<'_>) -> Response {
        endpoints::revoke::handle(self, req).await
    }

    /// The introspection endpoint (RFC 7662).
    pub async fn introspect(&self, req: &Request<'_>) -> Response {
        endpoints::introspect::handle(self, req).await
    }

    /// The authorization server metadata document (RFC 8414).
    pub fn metadata(&self) -> Response {
        Response::json_public(self.metadata.clone())
    }

    /// The client store.
    pub fn clients(&self) -> &dyn ClientStore {
        &*self.clients
    }

    /// The token store.
    pub fn tokens(&self) -> &dyn TokenStore {
        &*self.tokens
    }

    /// The consent store, if one was given.
    pub fn consents(&self) -> Option<&dyn ConsentStore> {
        self.consents.as_deref()
    }

    /// The server's clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The server's random source.
    pub fn random(&self) -> &dyn RandomSource {
        &*self.random
    }
}

/// Builds an [`AuthorizationServer`]. Stores are required; the clock and
/// random source default to the system's.
pub struct ServerBuilder {
    config: Config,
    clients: Option<Arc<dyn ClientStore>>,
    tokens: Option<Arc<dyn TokenStore>>,
    consents: Option<Arc<dyn ConsentStore>>,
    passwords: Option<Arc<dyn PasswordVerifier>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder").finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// A builder with this configuration.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            clients: None,
            tokens: None,
            consents: None,
            passwords: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::new()),
        }
    }

    /// Uses one store for clients, tokens and consent (e.g. `MemoryStore`).
    #[must_use]
    pub fn store<S: ClientStore + TokenStore + ConsentStore>(mut self, store: Arc<S>) -> Self {
        self.clients = Some(store.clone());
        self.tokens = Some(store.clone());
        self.consents = Some(store);
        self
    }

    /// Sets the client store.
    #[must_use]
    pub fn client_store(mut self, store: Arc<dyn ClientStore>) -> Self {
        self.clients = Some(store);
        self
    }

    /// Sets the token store.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = Some(store);
        self
    }

    /// Sets the consent store.
    #[must_use]
    pub fn consent_store(mut self, store: Arc<dyn ConsentStore>) -> Self {
        self.consents = Some(store);
        self
    }

    /// Sets the resource-owner password verifier (needed for the password grant).
    #[must_use]
    pub fn password_verifier(mut self, verifier: Arc<dyn PasswordVerifier>) -> Self {
        self.passwords = Some(verifier);
        self
    }

    /// Replaces the clock (tests use a fixed one).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the random source.
    #[must_use]
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Checks the configuration and the pieces, and builds the server.
    pub fn build(self) -> Result<AuthorizationServer, ConfigError> {
        self.config.validate()?;
        let clients = self.clients.ok_or(ConfigError::Missing("client store"))?;
        let tokens = self.tokens.ok_or(ConfigError::Missing("token store"))?;
        if self.config.offers(GrantType::Password) && self.passwords.is_none() {
            return Err(ConfigError::MissingPasswordVerifier);
        }
        let metadata = endpoints::metadata::render(&self.config);
        // The password verifier only counts when the grant is offered, so the
        // grant cannot run unless the metadata advertises it (MD-01).
        let passwords = if self.config.offers(GrantType::Password) {
            self.passwords
        } else {
            None
        };
        Ok(AuthorizationServer {
            config: self.config,
            clients,
            tokens,
            consents: self.consents,
            passwords,
            clock: self.clock,
            random: self.random,
            metadata,
        })
    }
}
