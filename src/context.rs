//! `Context`: what a protocol step may use — the configuration, the clock,
//! randomness, the stores and key provider, and the host's hooks. Endpoints,
//! grants, client authentication and bearer validation take a `&Context`,
//! never the `AuthorizationServer` façade, so each can be read and tested
//! without the layers above it.

use std::sync::{Arc, PoisonError, RwLock};

use crate::client::{ClientId, JwksCache, VerifiedSecrets};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, StoreError};
use crate::events::{Event, EventSink};
use crate::extension_grant::ExtensionGrant;
use crate::grant_type::ExtensionGrantType;
use crate::hash_pool::HashPool;
use crate::keys::{KeyProvider, KeyRing};
use crate::oidc::UserClaims;
use crate::random::RandomSource;
use crate::stores::{
    AuthorizationRequestStore, ClientStore, ConsentStore, DeviceStore, PasswordVerifier,
    ReplayCache, TokenStore,
};
use crate::throttle::Throttle;
use crate::token_exchange::TokenExchangePolicy;
use crate::tokens::claims::ClaimsHook;

/// The narrow context of every protocol step, built once by the server
/// builder.
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) clients: Arc<dyn ClientStore>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) consents: Option<Arc<dyn ConsentStore>>,
    pub(crate) requests: Option<Arc<dyn AuthorizationRequestStore>>,
    /// Device authorizations (RFC 8628): present whenever the server
    /// offers the device grant.
    pub(crate) devices: Option<Arc<dyn DeviceStore>>,
    /// Present whenever `Config::jwt_client_authentication` is on.
    pub(crate) replay: Option<Arc<dyn ReplayCache>>,
    pub(crate) passwords: Option<Arc<dyn PasswordVerifier>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) keys: Option<Arc<dyn KeyProvider>>,
    pub(crate) claims_hook: Option<Arc<dyn ClaimsHook>>,
    /// The host's claims about its users; the UserInfo endpoint is served
    /// only with one.
    pub(crate) user_claims: Option<Arc<dyn UserClaims>>,
    pub(crate) throttle: Option<Arc<dyn Throttle>>,
    pub(crate) events: Option<Arc<dyn EventSink>>,
    /// The parsed signing keys, reloaded every `Config::key_cache_ttl`.
    pub(crate) key_ring: KeyCache,
    /// Where slow hashes run (RB-06).
    pub(crate) hash_pool: Arc<HashPool>,
    /// Recently verified people-chosen client secrets (RB-06).
    pub(crate) verified: VerifiedSecrets,
    /// The host's extension grants (issue 18), by grant type URI.
    pub(crate) extensions: ExtensionGrants,
    /// The host's token exchange policy (TE-01): without one, token
    /// exchange is not offered.
    pub(crate) exchange_policy: Option<Arc<dyn TokenExchangePolicy>>,
    /// The key sets of `jwks_uri` clients, over the host's fetcher, if it
    /// gave one (issue 19).
    pub(crate) jwks: JwksCache,
    // Dynamic client registration (RFC 7591/7592, issue 19 part 2).
    /// Where registered clients go and the host's policy: present once the
    /// host turned registration on (`ServerBuilder::client_registration`).
    pub(crate) registration: Option<crate::registration::RegistrationSetup>,
}

/// The registered extension grants: few, so a list searched in order.
#[derive(Default, Clone)]
pub(crate) struct ExtensionGrants(Vec<(ExtensionGrantType, Arc<dyn ExtensionGrant>)>);

impl ExtensionGrants {
    /// Registers `handler` for `uri`, replacing an earlier one.
    pub(crate) fn insert(&mut self, uri: ExtensionGrantType, handler: Arc<dyn ExtensionGrant>) {
        self.0.retain(|(u, _)| *u != uri);
        self.0.push((uri, handler));
    }

    /// The handler of `uri`, if one is registered.
    pub(crate) fn get(&self, uri: &ExtensionGrantType) -> Option<&dyn ExtensionGrant> {
        self.0.iter().find(|(u, _)| u == uri).map(|(_, h)| &**h)
    }

    /// The registered grant types.
    pub(crate) fn grant_types(&self) -> impl Iterator<Item = &ExtensionGrantType> {
        self.0.iter().map(|(u, _)| u)
    }
}

/// The cache of parsed signing keys (empty until first used).
#[derive(Default)]
pub(crate) struct KeyCache(RwLock<Option<Arc<KeyRing>>>);

impl Context {
    /// Reports an audit event to the host's sink; without one, the event is
    /// never built.
    #[inline]
    pub(crate) fn emit<'e>(&self, event: impl FnOnce() -> Event<'e>) {
        if let Some(sink) = &self.events {
            sink.event(&event());
        }
    }

    /// Whether the client a token was issued to is still registered and
    /// enabled: a disabled or deleted client's tokens stop working at
    /// bearer validation and introspection (issue 15 finding 7). One
    /// lookup; with the memory stores it shares the stored client.
    pub(crate) async fn client_enabled(&self, id: &ClientId) -> Result<bool, StoreError> {
        let enabled = self
            .clients
            .client(id)
            .await?
            .is_some_and(|c| c.is_enabled());
        if !enabled {
            tracing::debug!(client_id = %id, "token of a disabled or unknown client refused");
        }
        Ok(enabled)
    }

    /// Whether the UserInfo endpoint is served: only when the host gave
    /// [`UserClaims`] (so the discovery document lists `userinfo_endpoint`
    /// exactly then).
    pub(crate) fn serves_userinfo(&self) -> bool {
        self.user_claims.is_some()
    }

    /// The device store; the builder refuses a server that offers the
    /// device grant without one.
    pub(crate) fn devices(&self) -> Result<&dyn DeviceStore, Error> {
        self.devices
            .as_deref()
            .ok_or(Error::Internal(crate::error::InternalFault::NoDeviceStore))
    }

    /// Drops the cached keys, so the next use reloads them from the provider.
    pub(crate) fn forget_keys(&self) {
        *self
            .key_ring
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The parsed keys, reloaded from the provider every `key_cache_ttl`.
    pub(crate) async fn key_ring(&self) -> Result<Arc<KeyRing>, Error> {
        let now = self.clock.now();
        let cached = self
            .key_ring
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(ring) = cached {
            if now < ring.loaded_at.plus(self.config.key_cache_ttl) {
                return Ok(ring);
            }
        }
        let records = match &self.keys {
            Some(p) => p.keys().await?,
            None => Vec::new(),
        };
        let ring = Arc::new(KeyRing::load(records, now));
        *self
            .key_ring
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(ring.clone());
        Ok(ring)
    }
}
