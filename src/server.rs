//! `AuthorizationServer`, the façade with one method per endpoint, and the
//! `ServerBuilder` that checks its pieces once, at build time.

use std::sync::Arc;

use crate::bearer::BearerToken;
use crate::client::{Client, ClientId, JwksCache, JwksFetcher, VerifiedSecrets};
use crate::clock::UnixTime;
use crate::error::{Error, StoreError};
use crate::keys::rotation::{self, RotationError};
use crate::keys::{Algorithm, KeyId, KeyProvider, KeyRecord};
use crate::oidc::id_token::{self, HintError, IdTokenClaims, VerifiedHint};
use crate::oidc::logout_token::{self, LogoutSubject, LogoutTokenClaims};
use crate::scope::ScopeSet;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::context::{Context, ExtensionGrants, KeyCache};
use crate::endpoints;
use crate::endpoints::authorize::AuthorizeStep;
use crate::endpoints::authorize::{LoginRequired, PendingAuthorization};
use crate::endpoints::device_verification::{DeviceVerificationError, PendingDeviceAuthorization};
use crate::endpoints::end_session::{BackchannelLogout, EndSessionStep, LoggedOut, LogoutRequest};
use crate::error::ConfigError;
use crate::events::{Event, EventSink};
use crate::extension_grant::ExtensionGrant;
use crate::grant_type::{ExtensionGrantType, GrantType};
use crate::hash_pool::HashPool;
use crate::http::{Request, Response, Source};
use crate::oidc::{Authentication, UserClaims};
use crate::random::{RandomSource, SystemRandom};
use crate::registration::{RegistrationPolicy, RegistrationSetup};
use crate::secret::Secret;
use crate::stores::{
    AuthorizationRequestStore, ClientAdmin, ClientStore, ConsentAdmin, ConsentStore, DeviceStore,
    PasswordVerifier, ReplayCache, TokenAdmin, TokenStore,
};
use crate::throttle::Throttle;
use crate::token_exchange::TokenExchangePolicy;
use crate::tokens::claims::ClaimsHook;
use crate::user::UserId;

/// The authorization server: configuration, the host's stores, a clock and
/// a random source. Each endpoint method takes a [`Request`] and returns a
/// [`Response`], for success and OAuth errors alike.
pub struct AuthorizationServer {
    cx: Context,
    metadata: Vec<u8>,
    openid_configuration: Vec<u8>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.cx.config.issuer)
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
        &self.cx.config
    }

    /// The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core
    /// §3.1.2): validates the request and tells the host what to do next.
    /// `user` is the logged-in resource owner's [`Authentication`], if any:
    /// who, and when they really authenticated (kept in the host's session
    /// since the login, not "now"). `prompt`, `max_age` and the other OpenID
    /// parameters of a request whose scope holds `openid` are enforced
    /// against it (OI-06, OI-07).
    pub async fn authorize(
        &self,
        req: &Request<'_>,
        user: Option<&Authentication>,
    ) -> AuthorizeStep {
        endpoints::authorize::handle(&self.cx, req, user).await
    }

    /// Suspends a request that needs a login: stores it (see
    /// [`AuthorizationRequestStore`]) and returns its resume token, the one
    /// value the host carries through its login page, in a hidden field of
    /// its POSTed login form (not in a URL, where Referer headers and access
    /// logs would copy it). Whoever holds the token can resume the request
    /// as their own user, so keep it inside the browser session that made
    /// the request: next to the form's CSRF token, which ties the form to
    /// that session (the demo does this). The token is 256 random
    /// bits, names nothing, works once, and expires after
    /// `Config::authorization_request_lifetime`. The `Err` is the response
    /// to send (`server_error` to the client if the store fails).
    pub async fn suspend_login(&self, login: &LoginRequired) -> Result<Secret<String>, Response> {
        login.suspend(&self.cx).await
    }

    /// Suspends a request waiting for consent, bound to its user: the
    /// returned resume token is what the consent form carries; `resume`
    /// gives the [`PendingAuthorization`] back only for the same user.
    pub async fn suspend_consent(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<Secret<String>, Response> {
        pending.suspend(&self.cx).await
    }

    /// Continues a suspended authorization request: takes it back (once:
    /// a second call with the same token is refused, on any instance
    /// sharing the store) and goes on with `user`, the one logged in now.
    ///
    /// - A login-stage token with a user continues as `authorize` would:
    ///   [`AuthorizeStep::Consent`], or a code redirect when consent is not
    ///   needed. Without a user it is [`AuthorizeStep::Login`] again, and so
    ///   it is with an authentication older than the request's
    ///   `prompt=login` or `max_age` allow: a login made after the request
    ///   arrived always passes. `prompt=select_account` is satisfied by
    ///   the account resumed with.
    /// - A consent-stage token gives [`AuthorizeStep::Consent`] back, only
    ///   for the user it is bound to, with the authentication facts it was
    ///   suspended with.
    /// - An unknown, used, expired or tampered token, or one bound to
    ///   another user, is an [`AuthorizeStep::Invalid`] error page.
    ///
    /// The client, its redirect URI, scope and grant are checked again, so
    /// a client disabled meanwhile gets no code. The token is taken from the
    /// store before the user is compared, so a refused call (another user,
    /// or none, on a consent-stage token) uses it up too: the user starts
    /// the authorization again.
    pub async fn resume(&self, token: &str, user: Option<&Authentication>) -> AuthorizeStep {
        endpoints::authorize::resume(&self.cx, token, user).await
    }

    /// The user approved a pending authorization: records consent (AZ-08)
    /// and redirects with a code issued to the user `authorize` saw.
    pub async fn approve(&self, pending: PendingAuthorization) -> Response {
        pending.approve(&self.cx).await
    }

    /// The user denied a pending authorization: redirects with
    /// `access_denied`.
    pub fn deny(&self, pending: PendingAuthorization) -> Response {
        pending.deny(&self.cx)
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub async fn token(&self, req: &Request<'_>) -> Response {
        endpoints::token::handle(&self.cx, req).await
    }

    /// The revocation endpoint (RFC 7009).
    pub async fn revoke(&self, req: &Request<'_>) -> Response {
        endpoints::revoke::handle(&self.cx, req).await
    }

    /// The introspection endpoint (RFC 7662).
    pub async fn introspect(&self, req: &Request<'_>) -> Response {
        endpoints::introspect::handle(&self.cx, req).await
    }

    /// The authorization server metadata document (RFC 8414).
    pub fn metadata(&self) -> Response {
        endpoints::cors::public(Response::json_public(self.metadata.clone()))
    }

    /// The OpenID Provider configuration document (OpenID Connect
    /// Discovery 1.0 §4, OI-01): the RFC 8414 members and the OpenID ones,
    /// rendered once at build from the configuration and the host's hooks,
    /// so that it names only what this server does.
    pub fn openid_configuration(&self) -> Response {
        endpoints::cors::public(Response::json_public(self.openid_configuration.clone()))
    }

    /// The JWKS document: the public keys of every published signing key
    /// (JW-01). Without a key provider, an empty set.
    pub async fn jwks(&self) -> Response {
        endpoints::cors::public(match self.cx.key_ring().await {
            Ok(ring) => Response::json_public(crate::keys::jwk::jwks(&ring, self.cx.clock.now()))
                .with_header("Cache-Control", "public, max-age=300"),
            Err(e) => crate::observe::refuse("jwks", &e),
        })
    }

    /// The OpenID Connect UserInfo endpoint (Core §5.3, OI-05): GET or
    /// POST, the access token as `Authorization: Bearer` or in a POSTed
    /// form's `access_token`; answers `sub` and the claims the token's grant
    /// releases, read from the host's [`UserClaims`], never cached. Without
    /// a `UserClaims` (see [`ServerBuilder::user_claims`]) it answers `sub`
    /// alone, and [`AuthorizationServer::handle`] does not route it.
    pub async fn userinfo(&self, req: &Request<'_>) -> Response {
        endpoints::userinfo::handle(&self.cx, req).await
    }

    /// Whether this server serves the UserInfo endpoint: only with a
    /// [`UserClaims`], so that a plain OAuth server leaves the path to the
    /// host and its discovery document lists no `userinfo_endpoint`.
    pub fn serves_userinfo(&self) -> bool {
        self.cx.serves_userinfo()
    }

    /// Whether this server serves `endpoint` by path: every endpoint of
    /// [`crate::routes::Endpoint`] but UserInfo and the pushed
    /// authorization request endpoint always, UserInfo when
    /// [`AuthorizationServer::serves_userinfo`], the pushed endpoint when
    /// [`AuthorizationServer::serves_pushed_authorization_requests`].
    pub fn serves(&self, endpoint: crate::routes::Endpoint) -> bool {
        match endpoint {
            crate::routes::Endpoint::UserInfo => self.serves_userinfo(),
            crate::routes::Endpoint::PushedAuthorizationRequest => {
                self.serves_pushed_authorization_requests()
            }
            crate::routes::Endpoint::DeviceAuthorization => {
                self.cx.config.offers(GrantType::DeviceCode)
            }
            crate::routes::Endpoint::Registration
            | crate::routes::Endpoint::ClientConfiguration => self.serves_registration(),
            _ => true,
        }
    }

    /// Whether this server serves the pushed authorization request
    /// endpoint (RFC 9126): it offers the code flow and has an
    /// [`AuthorizationRequestStore`] to keep pushed requests in (shared by
    /// every instance). The metadata names the endpoint exactly then.
    pub fn serves_pushed_authorization_requests(&self) -> bool {
        self.cx.requests.is_some() && self.cx.config.offers(GrantType::AuthorizationCode)
    }

    /// The pushed authorization request endpoint (RFC 9126 §2; PA-01): a
    /// POSTed form with the client's authentication, as at the token
    /// endpoint, and the parameters of an authorization request (or a
    /// signed `request` object, RFC 9101), validated as the authorization
    /// endpoint validates them; answers `201` with a single-use
    /// `request_uri` and `expires_in`, or a JSON error. The client then
    /// sends the user to the authorization endpoint with `client_id` and
    /// `request_uri` only.
    pub async fn pushed_authorization_request(&self, req: &Request<'_>) -> Response {
        endpoints::par::handle(&self.cx, req).await
    }

    /// The device authorization endpoint (RFC 8628 §3.1; DV-01), served
    /// while the server offers [`GrantType::DeviceCode`]: a POSTed form
    /// with the client's authentication, as at the token endpoint (public
    /// clients send their `client_id`), and an optional `scope`; answers
    /// `device_code`, `user_code`, `verification_uri` (the host's page at
    /// `Config::paths.device_verification`), `verification_uri_complete`,
    /// `expires_in` and `interval`, or a JSON error. The device then polls
    /// the token endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`
    /// (DV-02) while the user decides on the host's page (see
    /// [`device_user_code`](Self::device_user_code)).
    pub async fn device_authorization(&self, req: &Request<'_>) -> Response {
        endpoints::device_authorization::handle(&self.cx, req).await
    }

    /// The user step of the device grant (RFC 8628 §3.3; DV-03): looks up
    /// the user code `user_code` that the signed-in `user` typed on the
    /// verification page (case, dashes and spaces ignored), throttled as a
    /// guess against `user` and `source` (RFC 8628 §5.1: see
    /// `docs/device-flow.md` for how many guesses that allows). Show the
    /// [`PendingDeviceAuthorization`]'s client and scope with Allow and
    /// Deny, the form carrying the handle of
    /// [`suspend_device`](Self::suspend_device). The device's request is
    /// always shown: remembered consent never skips this page, since the
    /// user code may have come from someone else (RFC 8628 §5.4).
    pub async fn device_user_code(
        &self,
        user_code: &str,
        user: &Authentication,
        source: Option<Source<'_>>,
    ) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
        endpoints::device_verification::look_up(&self.cx, user_code, user, source).await
    }

    /// Stores a pending device authorization bound to its user (in the
    /// [`AuthorizationRequestStore`]) and returns its one-time handle, the
    /// value the confirmation form carries in a hidden field next to the
    /// host's CSRF token. It lives `Config::authorization_request_lifetime`,
    /// at most until the device's codes expire.
    pub async fn suspend_device(
        &self,
        pending: &PendingDeviceAuthorization,
    ) -> Result<Secret<String>, DeviceVerificationError> {
        endpoints::device_verification::suspend(&self.cx, pending).await
    }

    /// Takes a handle of [`suspend_device`](Self::suspend_device) back
    /// (once, on any instance sharing the store) for the signed-in `user`:
    /// a handle bound to another user is refused (and used up), so another
    /// site cannot make the user approve a device (CSRF).
    pub async fn resume_device(
        &self,
        handle: &str,
        user: &Authentication,
    ) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
        endpoints::device_verification::resume(&self.cx, handle, user).await
    }

    /// The user approved the device: records consent (as
    /// [`approve`](Self::approve) does) and lets the device's next poll
    /// have its tokens, issued to the user with their OpenID Connect facts
    /// (an ID Token too when the scope holds `openid`). Exactly one poll
    /// gets them. `InvalidUserCode` if the device was decided meanwhile or
    /// expired.
    pub async fn approve_device(
        &self,
        pending: PendingDeviceAuthorization,
    ) -> Result<(), DeviceVerificationError> {
        endpoints::device_verification::approve(&self.cx, pending).await
    }

    /// The user denied the device: its next poll is `access_denied`.
    pub async fn deny_device(
        &self,
        pending: PendingDeviceAuthorization,
    ) -> Result<(), DeviceVerificationError> {
        endpoints::device_verification::deny(&self.cx, pending).await
    }

    /// The endpoints this server serves by path, which an adapter mounts
    /// (at `endpoint.path(&config.paths)`).
    pub fn endpoints(&self) -> impl Iterator<Item = crate::routes::Endpoint> + '_ {
        crate::routes::Endpoint::ALL
            .into_iter()
            .filter(|e| self.serves(*e))
    }

    /// The endpoint this server serves at `path`, if any.
    pub fn endpoint_at(&self, path: &str) -> Option<crate::routes::Endpoint> {
        crate::routes::Endpoint::find(&self.config().paths, path).filter(|e| self.serves(*e))
    }

    /// Answers a request for the endpoint served at `path` (one of
    /// [`AuthorizationServer::endpoints`], at the paths of `Config::paths`):
    /// 404 for any other path, 405 for a method the endpoint does not
    /// answer. The body, if the endpoint reads one, must already be read
    /// within [`crate::routes::BodyLimit`]. This is what every adapter calls.
    pub async fn handle(&self, req: &Request<'_>, path: &str) -> Response {
        use crate::routes::{Endpoint, Refusal};
        let Some(endpoint) = self.endpoint_at(path) else {
            return Refusal::NotFound.into();
        };
        // CO-01: OPTIONS is a CORS preflight, answered alike everywhere.
        if req.method() == crate::http::Method::Options {
            return self.preflight(endpoint, req).await;
        }
        if let Err(refused) = endpoint.admits(req.method()) {
            return refused.into();
        }
        match endpoint {
            Endpoint::Token => self.token(req).await,
            Endpoint::Revocation => self.revoke(req).await,
            Endpoint::Introspection => self.introspect(req).await,
            Endpoint::Metadata => self.metadata(),
            Endpoint::OpenIdConfiguration => self.openid_configuration(),
            Endpoint::Jwks => self.jwks().await,
            Endpoint::UserInfo => self.userinfo(req).await,
            Endpoint::PushedAuthorizationRequest => self.pushed_authorization_request(req).await,
            Endpoint::DeviceAuthorization => self.device_authorization(req).await,
            Endpoint::Registration => self.registration(req).await,
            Endpoint::ClientConfiguration => {
                let id = Endpoint::client_id_in(&self.config().paths, path).unwrap_or_default();
                self.client_configuration(req, id).await
            }
        }
    }

    /// Whether this server serves dynamic client registration (RFC 7591,
    /// RFC 7592; RG-01, RG-02): only once the host turned it on with
    /// [`ServerBuilder::client_registration`]. The metadata names
    /// `registration_endpoint` exactly then.
    pub fn serves_registration(&self) -> bool {
        self.cx.registration.is_some()
    }

    /// The client registration endpoint (RFC 7591 §3; RG-01): a `POST` of
    /// the client's metadata as JSON, with the initial access token as a
    /// bearer token when the [`RegistrationPolicy`] requires one. Answers
    /// `201` with the client information: `client_id`, a `client_secret`
    /// for `client_secret_basic` and `client_secret_post` clients,
    /// `client_id_issued_at`, `client_secret_expires_at`,
    /// `registration_access_token` and `registration_client_uri` (the
    /// secret and the token shown this once, stored as hashes), or an
    /// RFC 7591 §3.2.2 error. See `docs/registration.md`. `404` when
    /// registration is off.
    pub async fn registration(&self, req: &Request<'_>) -> Response {
        endpoints::registration::handle(&self.cx, req).await
    }

    /// A registered client's configuration endpoint (RFC 7592; RG-02), the
    /// client being `client_id` (the last segment of its
    /// `registration_client_uri`): `GET` reads, `PUT` replaces and
    /// `DELETE` removes the client (revoking its codes and tokens), with
    /// the client's registration access token as a bearer token; any other
    /// token is `401 invalid_token`. `404` when registration is off.
    pub async fn client_configuration(&self, req: &Request<'_>, client_id: &str) -> Response {
        endpoints::registration_management::handle(&self.cx, req, client_id).await
    }

    /// The answer to `OPTIONS` at `endpoint` (CORS, CO-01; see
    /// `docs/cors.md`): `204` with `Allow`, and for a CORS preflight the
    /// endpoint lets through, the `Access-Control-Allow-*` headers. The
    /// documents (metadata, JWKS) let any origin through; the token,
    /// revocation, UserInfo, pushed and device authorization endpoints the
    /// origins some enabled client registered (`allowed_cors_origins`);
    /// introspection none. [`AuthorizationServer::handle`] calls it for
    /// every `OPTIONS`, so every adapter answers preflights.
    pub async fn preflight(
        &self,
        endpoint: crate::routes::Endpoint,
        req: &Request<'_>,
    ) -> Response {
        endpoints::cors::preflight(&self.cx, endpoint, req).await
    }

    /// Validates the bearer token of a resource request (RFC 6750) and checks
    /// that it carries every scope in `required`. The `Err` is the response
    /// to send: 401 with `WWW-Authenticate: Bearer error="invalid_token"`,
    /// or 403 with `error="insufficient_scope"` (TK-04, TK-05).
    ///
    /// With DPoP on (`Config::dpop`), a DPoP-bound token is accepted only as
    /// `Authorization: DPoP <token>` with a `DPoP` proof of its key for this
    /// request (DP-03): its `htm` is the request's method
    /// ([`Request::with_target`], set by every adapter) and its `htu` the
    /// request's URL: [`Request::with_url`] if the host set it, else
    /// `DpopConfig::resource_base_url` (default: the issuer's origin)
    /// followed by the request's path. Refusals then also challenge with
    /// `WWW-Authenticate: DPoP algs="…"`.
    pub async fn authenticate_bearer(
        &self,
        req: &Request<'_>,
        required: &ScopeSet,
    ) -> Result<BearerToken, Response> {
        crate::bearer::authenticate(
            &self.cx,
            req,
            required,
            crate::bearer::Lookup::AsConfigured,
            None,
        )
        .await
    }

    /// [`authenticate_bearer`](Self::authenticate_bearer) at the protected
    /// resource `resource` (RFC 8707, RFC 9728): the token must have been
    /// issued for it (its identifier among the token's audiences, RI-01),
    /// and a 401 challenge carries `resource_metadata`, the URL of its
    /// metadata document (RI-02). `authenticate_bearer` expects the
    /// default audience, `Config::audience`, instead.
    pub async fn authenticate_bearer_for(
        &self,
        req: &Request<'_>,
        required: &ScopeSet,
        resource: &crate::protected_resource::ProtectedResource,
    ) -> Result<BearerToken, Response> {
        crate::bearer::authenticate_for(&self.cx, req, required, resource).await
    }

    /// Checks that a validated token carries every scope in `required`;
    /// the `Err` is the 403 `insufficient_scope` challenge (TK-04).
    pub fn require_scope(&self, token: &BearerToken, required: &ScopeSet) -> Result<(), Response> {
        crate::bearer::require_scope(token, required)
    }

    /// Makes sure a key that signs access tokens exists, and returns it.
    /// With `Config::access_token_signing_alg` set, that is a key of that
    /// algorithm (generated, signing at once, if none signs); without, any
    /// key that signs now (the newest), else a new one of
    /// `Config::signing_algorithm`. For the keys of other algorithms (an
    /// OpenID Provider's RS256 ID Token key) see
    /// [`AuthorizationServer::ensure_signing_keys`].
    pub async fn ensure_signing_key(&self) -> Result<KeyId, RotationError> {
        if let Some(alg) = self.cx.config.access_token_signing_alg {
            return self.ensure_key_of(alg).await;
        }
        let provider = self.key_provider()?;
        let now = self.cx.clock.now();
        let records = provider.keys().await?;
        if let Some(k) = records
            .iter()
            .filter(|k| k.signs_at(now))
            .max_by_key(|k| (k.not_before, k.created_at))
        {
            return Ok(k.kid.clone());
        }
        self.generate_now(self.cx.config.signing_algorithm).await
    }

    /// Makes sure a key of each of `algs` signs now, generating (signing
    /// at once) one of each algorithm that has none; returns the key that
    /// signs for each, in the order of `algs`. An OpenID Provider calls it
    /// with every algorithm its clients sign ID Tokens with: `RS256` (the
    /// default, OpenID Connect Core 15.1) and its access-token algorithm,
    /// say. Generating an RS256 key needs feature `rsa-keygen` (else
    /// [`KeyError::CannotGenerate`](crate::KeyError::CannotGenerate):
    /// import one with [`AuthorizationServer::rotate_in_key`]) and takes a
    /// CPU-bound moment.
    pub async fn ensure_signing_keys(
        &self,
        algs: &[Algorithm],
    ) -> Result<Vec<KeyId>, RotationError> {
        let mut kids = Vec::with_capacity(algs.len());
        for &alg in algs {
            kids.push(self.ensure_key_of(alg).await?);
        }
        Ok(kids)
    }

    /// The newest key of `alg` that signs now, generated if there is none.
    async fn ensure_key_of(&self, alg: Algorithm) -> Result<KeyId, RotationError> {
        let provider = self.key_provider()?;
        let now = self.cx.clock.now();
        let records = provider.keys().await?;
        if let Some(k) = records
            .iter()
            .filter(|k| k.alg == alg && k.signs_at(now))
            .max_by_key(|k| (k.not_before, k.created_at))
        {
            return Ok(k.kid.clone());
        }
        self.generate_now(alg).await
    }

    /// Generates a key of `alg` that signs at once, retiring the keys of
    /// `alg` without an end (none of which signs now).
    async fn generate_now(&self, alg: Algorithm) -> Result<KeyId, RotationError> {
        let provider = self.key_provider()?;
        let now = self.cx.clock.now();
        let (kid, signs_from) = rotation::rotate(
            provider,
            &*self.cx.random,
            alg,
            now,
            std::time::Duration::ZERO,
            self.cx.config.jwt_max_lifetime,
        )
        .await?;
        self.key_added(&kid, alg, signs_from);
        Ok(kid)
    }

    /// Rotates the access-token key: that of
    /// `Config::access_token_signing_alg`, or of `Config::signing_algorithm`
    /// when it is `None`. See [`AuthorizationServer::rotate_keys_for`].
    pub async fn rotate_keys(&self) -> Result<KeyId, RotationError> {
        let config = &self.cx.config;
        self.rotate_keys_for(
            config
                .access_token_signing_alg
                .unwrap_or(config.signing_algorithm),
        )
        .await
    }

    /// Rotates the key of one algorithm: a new key of `alg` is published
    /// now and signs after `Config::key_publish_lead` (at once if no key
    /// of any algorithm exists yet); the current keys of `alg` sign until
    /// then and stay published `Config::jwt_max_lifetime` longer (JW-01).
    /// Keys of other algorithms go on signing.
    pub async fn rotate_keys_for(&self, alg: Algorithm) -> Result<KeyId, RotationError> {
        let provider = self.key_provider()?;
        let now = self.cx.clock.now();
        let (kid, signs_from) = rotation::rotate(
            provider,
            &*self.cx.random,
            alg,
            now,
            self.cx.config.key_publish_lead,
            self.cx.config.jwt_max_lifetime,
        )
        .await?;
        self.key_added(&kid, alg, signs_from);
        Ok(kid)
    }

    /// Signs an ID Token (OpenID Connect Core 2) with the current key of
    /// `alg`, the client's `id_token_signed_response_alg` (RS256 unless it
    /// registered another): header `{"alg","kid","typ":"JWT"}`. The token
    /// endpoint issues ID Tokens itself; this is for a host that mints one
    /// elsewhere. `claims.iss` should be `Config::issuer`. No key of `alg`
    /// signing now is `Error::Signing(SigningFault::NoKeyForAlgorithm)`
    /// (see [`AuthorizationServer::ensure_signing_keys`]).
    pub async fn sign_id_token(
        &self,
        claims: &IdTokenClaims,
        alg: Algorithm,
    ) -> Result<String, Error> {
        let ring = self.cx.key_ring().await?;
        id_token::sign(&ring, claims, alg, self.cx.clock.now()).map_err(Error::Signing)
    }

    /// A Logout Token (Back-Channel Logout 1.0 §2.4) for the client
    /// `client_id`, signed with `alg` (its ID Token algorithm), for the host
    /// to POST as `logout_token` to the client's `backchannel_logout_uri`:
    /// `typ` `logout+jwt`, valid [`LOGOUT_TOKEN_LIFETIME`](crate::LOGOUT_TOKEN_LIFETIME),
    /// a fresh `jti`, `sub` and/or `sid` as `subject` says (LO-02).
    pub async fn logout_token(
        &self,
        client_id: &ClientId,
        subject: LogoutSubject,
        alg: Algorithm,
    ) -> Result<String, Error> {
        // `backchannel_logout` takes `alg` from the client itself
        // (`id_token_signed_response_alg`, RS256 by default).
        let now = self.cx.clock.now();
        let claims = LogoutTokenClaims::new(
            &self.cx.config.issuer,
            client_id.clone(),
            subject,
            now,
            &*self.cx.random,
        )?;
        let ring = self.cx.key_ring().await?;
        logout_token::sign(&ring, &claims, alg, now).map_err(Error::Signing)
    }

    /// Checks an `id_token_hint` (Core 3.1.2.1, RP-Initiated Logout 1.0
    /// §2): an ID Token this server signed with a key it still publishes,
    /// `typ` `JWT`, `iss` this issuer. An expired one is accepted (OI-08,
    /// LO-01). Any other input is a [`HintError`], after bounded work.
    pub async fn verify_id_token_hint(&self, token: &str) -> Result<VerifiedHint, HintError> {
        if token.len() > crate::oidc::MAX_ID_TOKEN_HINT_LEN {
            return Err(HintError::TooLong);
        }
        let ring = self.cx.key_ring().await.map_err(|e| {
            tracing::error!(error = %e, "signing keys unavailable for an id_token_hint");
            HintError::KeysUnavailable
        })?;
        id_token::verify_id_token_hint(&ring, token, &self.cx.config.issuer, self.cx.clock.now())
    }

    /// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0;
    /// LO-01), which the host mounts at `Config::paths.end_session` for GET
    /// and POST: validates `id_token_hint` (ours, signature, `iss`; an
    /// expired one is good), `client_id`, `post_logout_redirect_uri`
    /// (exactly one the client registered, else no redirect), `state`,
    /// `logout_hint` and `ui_locales`, and says what to do next: an error
    /// page (never a redirect), or a [`LogoutRequest`] telling whether to
    /// ask the user to confirm. `session` is the host's signed-in user, if
    /// any. Then: [`AuthorizationServer::suspend_logout`] for a
    /// confirmation page, [`AuthorizationServer::resume_logout`] when it is
    /// submitted, and [`AuthorizationServer::finish_logout`] once the host
    /// has ended its session.
    pub async fn end_session(
        &self,
        req: &Request<'_>,
        session: Option<&Authentication>,
    ) -> EndSessionStep {
        endpoints::end_session::handle(&self.cx, req, session).await
    }

    /// Suspends a logout request while the host shows its confirmation
    /// page: returns the resume handle the page carries in a hidden field of
    /// its POSTed form (beside the CSRF token). 256 random bits, single use,
    /// expiring after `Config::authorization_request_lifetime`; it never
    /// resumes an authorization request, nor an authorization handle a
    /// logout. The `Err` is an error page to show.
    pub async fn suspend_logout(
        &self,
        request: &LogoutRequest,
    ) -> Result<Secret<String>, Response> {
        endpoints::end_session::suspend(&self.cx, request).await
    }

    /// Takes back a suspended logout request (once: a second call with the
    /// same handle is refused). The client and its post-logout URI are
    /// checked again. The `Err` is an error page to show (an unknown, used
    /// or expired handle is `invalid_request`, cause `ResumeRefused`).
    pub async fn resume_logout(&self, handle: &str) -> Result<LogoutRequest, Response> {
        endpoints::end_session::resume(&self.cx, handle).await
    }

    /// The user confirmed (or no confirmation was needed) and the host has
    /// ended `session`: revokes the session's codes and tokens
    /// ([`AuthorizationServer::revoke_session`]: its access tokens, its
    /// grants without `offline_access` whole; a refresh token with
    /// `offline_access` outlives the session, Back-Channel Logout 1.0
    /// §2.7; a JWT access token a resource server checks on its own stays
    /// good until it expires, and one a refresh issued without `openid`
    /// carries no session to be found by), and gives the redirect to the registered post-logout URI with
    /// `state` (or `None`: show a "you are logged out" page) and, when
    /// `Config::backchannel_logout` is on, the Logout Tokens for the
    /// clients that took part in the session, found as
    /// [`AuthorizationServer::backchannel_logout`] finds them: the token
    /// store's clients of the session's id, and `clients` (pass `&[]`
    /// unless the host tracks clients the store cannot know). A user who
    /// cancels gets no redirect: drop the request.
    pub async fn finish_logout(
        &self,
        request: LogoutRequest,
        session: Option<&Authentication>,
        clients: &[ClientId],
    ) -> LoggedOut {
        let (revoked, backchannel) = match session {
            Some(auth) => {
                let announce = self.cx.config.backchannel_logout;
                endpoints::end_session::end(&self.cx, auth, clients, announce).await
            }
            None => (Ok(0), Vec::new()),
        };
        LoggedOut {
            redirect: endpoints::end_session::redirect(&request),
            backchannel,
            revoked,
        }
    }

    /// Revokes what the end of the host's login session `session` ends
    /// (Back-Channel Logout 1.0 §2.7; [`TokenStore::revoke_session`]): the
    /// access tokens issued in it, and whole every grant of it without
    /// `offline_access` (and every code of it not yet exchanged); refresh
    /// tokens with `offline_access` are what the user granted beyond the
    /// session and stay. Returns how many codes and tokens went, and emits
    /// [`Event::SessionEnded`]. [`AuthorizationServer::finish_logout`]
    /// and [`AuthorizationServer::backchannel_logout`] call it; a host
    /// calls it itself only to retry after a store failure they reported.
    ///
    /// # Errors
    /// A store failure, logged.
    pub async fn revoke_session(&self, session: &Authentication) -> Result<u64, StoreError> {
        endpoints::end_session::revoke_session(&self.cx, session).await
    }

    /// Back-Channel Logout (LO-02) for a session that ends, however it ends
    /// (RP-Initiated Logout, the host's own logout, an expiry): one Logout
    /// Token per client of the session that registered a
    /// `backchannel_logout_uri`, with `sub` as that client sees the user,
    /// `sid` the session's id when `session` has one, signed with the
    /// client's `id_token_signed_response_alg` (RS256 by default), for the
    /// host to POST ([`BackchannelLogout::form_body`]).
    ///
    /// The clients of the session are found in the token store
    /// ([`TokenStore::session_clients`]): every client with a code or token
    /// issued in the session's id, still stored (used or expired ones
    /// count; what [`TokenAdmin::purge_expired`](crate::TokenAdmin::purge_expired)
    /// removed after its expiry, or a grant revoked whole before, does
    /// not). So a host whose [`Authentication`] carries a session id need
    /// not track them, and instances sharing a store agree. `clients` adds
    /// the host's own (a session without an id is announced to these
    /// alone); each client is told once. A store failure reading them is
    /// logged, and `clients` are still told.
    ///
    /// A client that requires `sid` while the session has none gets a
    /// token with `sub` only (a warning is logged); one whose token cannot
    /// be signed is logged and left out. The session's codes and tokens are
    /// revoked as [`AuthorizationServer::revoke_session`] does, after its
    /// clients are read (a store failure is logged; call that to know, or
    /// to retry).
    pub async fn backchannel_logout(
        &self,
        session: &Authentication,
        clients: &[ClientId],
    ) -> Vec<BackchannelLogout> {
        let (_logged, tokens) = endpoints::end_session::end(&self.cx, session, clients, true).await;
        tokens
    }

    /// Adds an imported key (e.g. RS256 from PKCS#8) the same way
    /// [`AuthorizationServer::rotate_keys_for`] adds a generated one: the
    /// current keys of its algorithm stop signing when it starts.
    pub async fn rotate_in_key(&self, key: KeyRecord) -> Result<KeyId, RotationError> {
        let provider = self.key_provider()?;
        let (alg, signs_from) = (key.alg, key.not_before);
        let kid = rotation::rotate_in(provider, key, self.cx.config.jwt_max_lifetime).await?;
        self.key_added(&kid, alg, signs_from);
        Ok(kid)
    }

    /// A key was added: the cached keys are dropped, and the rotation is
    /// logged and reported.
    fn key_added(&self, kid: &KeyId, alg: Algorithm, signs_from: UnixTime) {
        self.cx.forget_keys();
        tracing::info!(%kid, alg = alg.as_str(), "signing key added");
        self.cx.emit(|| Event::KeyRotated {
            kid,
            alg,
            signs_from,
        });
    }

    /// Registers a client through `store` (the server itself never needs
    /// [`ClientAdmin`]) and reports it ([`Event::ClientRegistered`]). Hosts
    /// that write to the store directly get no event.
    pub async fn register_client(
        &self,
        store: &dyn ClientAdmin,
        client: Client,
    ) -> Result<(), StoreError> {
        let id = client.client_id().clone();
        store.insert_client(client).await?;
        self.cx.emit(|| Event::ClientRegistered { client_id: &id });
        Ok(())
    }

    /// Replaces a client's registration through `store` and reports it
    /// ([`Event::ClientChanged`]); `false` if there is no such client.
    pub async fn update_client(
        &self,
        store: &dyn ClientAdmin,
        client: Client,
    ) -> Result<bool, StoreError> {
        let id = client.client_id().clone();
        let changed = store.update_client(client).await?;
        if changed {
            self.cx.emit(|| Event::ClientChanged { client_id: &id });
        }
        Ok(changed)
    }

    /// Revokes a user's consent to a client through `store` and reports it
    /// ([`Event::ConsentRevoked`]); `false` if there was none.
    pub async fn revoke_consent(
        &self,
        store: &dyn ConsentAdmin,
        user: &UserId,
        client: &ClientId,
    ) -> Result<bool, StoreError> {
        let revoked = store.revoke_consent(user, client).await?;
        if revoked {
            self.cx.emit(|| Event::ConsentRevoked {
                user,
                client_id: client,
            });
        }
        Ok(revoked)
    }

    /// Deletes keys no longer published; returns how many.
    pub async fn purge_keys(&self) -> Result<u64, StoreError> {
        let Some(provider) = self.cx.keys.as_deref() else {
            return Ok(0);
        };
        let n = rotation::purge(provider, self.cx.clock.now()).await?;
        self.cx.forget_keys();
        Ok(n)
    }

    fn key_provider(&self) -> Result<&dyn KeyProvider, RotationError> {
        self.cx.keys.as_deref().ok_or(RotationError::NoKeyProvider)
    }

    /// The client store.
    pub fn clients(&self) -> &dyn ClientStore {
        &*self.cx.clients
    }

    /// The token store.
    pub fn tokens(&self) -> &dyn TokenStore {
        &*self.cx.tokens
    }

    /// The consent store, if one was given.
    pub fn consents(&self) -> Option<&dyn ConsentStore> {
        self.cx.consents.as_deref()
    }

    /// The replay cache, if one is in use (it is whenever
    /// `Config::jwt_client_authentication` is on).
    pub fn replay_cache(&self) -> Option<&dyn ReplayCache> {
        self.cx.replay.as_deref()
    }

    /// The server's clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.cx.clock
    }

    /// The server's random source.
    pub fn random(&self) -> &dyn RandomSource {
        &*self.cx.random
    }

    /// The pool where the server runs slow hashes (RB-06): its
    /// [`stats`](HashPool::stats) are worth a metric, and a host's
    /// `PasswordVerifier` should run its own slow hash on it (see
    /// [`HashPool`]).
    pub fn hash_pool(&self) -> &Arc<HashPool> {
        &self.cx.hash_pool
    }

    /// The cache of recently verified people-chosen client secrets
    /// (`Config::verified_secret_cache`), for its statistics.
    pub fn verified_secrets(&self) -> &VerifiedSecrets {
        &self.cx.verified
    }
}

/// Builds an [`AuthorizationServer`]. A [`ClientStore`] and a
/// [`TokenStore`] are always required; the other pieces only when the
/// configuration uses them ([`ServerBuilder::build`] names what is
/// missing). The clock and random source default to the system's.
pub struct ServerBuilder {
    config: Config,
    clients: Option<Arc<dyn ClientStore>>,
    tokens: Option<Arc<dyn TokenStore>>,
    consents: Option<Arc<dyn ConsentStore>>,
    requests: Option<Arc<dyn AuthorizationRequestStore>>,
    devices: Option<Arc<dyn DeviceStore>>,
    replay: Option<Arc<dyn ReplayCache>>,
    passwords: Option<Arc<dyn PasswordVerifier>>,
    keys: Option<Arc<dyn KeyProvider>>,
    claims_hook: Option<Arc<dyn ClaimsHook>>,
    user_claims: Option<Arc<dyn UserClaims>>,
    throttle: Option<Arc<dyn Throttle>>,
    events: Option<Arc<dyn EventSink>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    hash_pool: Option<Arc<HashPool>>,
    // --- issue 18: extension grants and token exchange (exchange) ---
    extensions: ExtensionGrants,
    exchange_policy: Option<Arc<dyn TokenExchangePolicy>>,
    // --- issue 19 part 1 step 3: keys at jwks_uri (devjwks) ---
    jwks_fetcher: Option<Arc<dyn JwksFetcher>>,
    // --- issue 19 part 2: dynamic client registration (registration) ---
    registration: Option<RegistrationSetup>,
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
            requests: None,
            devices: None,
            replay: None,
            passwords: None,
            keys: None,
            claims_hook: None,
            user_claims: None,
            throttle: None,
            events: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::new()),
            hash_pool: None,
            extensions: ExtensionGrants::default(),
            exchange_policy: None,
            jwks_fetcher: None,
            registration: None,
        }
    }

    /// Uses one store for clients, tokens, consent, suspended authorization
    /// requests and the replay cache (e.g. `MemoryStore`, `SqliteStore`,
    /// `PostgresStore`). A store with fewer traits goes in with the setters
    /// below, one trait each.
    #[must_use]
    pub fn store<S>(mut self, store: Arc<S>) -> Self
    where
        S: ClientStore + TokenStore + ConsentStore + AuthorizationRequestStore + ReplayCache,
    {
        self.clients = Some(store.clone());
        self.tokens = Some(store.clone());
        self.consents = Some(store.clone());
        self.requests = Some(store.clone());
        self.replay = Some(store);
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

    /// Sets the consent store (optional: without one, consent is never
    /// remembered).
    #[must_use]
    pub fn consent_store(mut self, store: Arc<dyn ConsentStore>) -> Self {
        self.consents = Some(store);
        self
    }

    /// Sets the store of suspended authorization requests (needed for
    /// [`AuthorizationServer::suspend_login`],
    /// [`AuthorizationServer::suspend_consent`] and
    /// [`AuthorizationServer::resume`]).
    #[must_use]
    pub fn authorization_request_store(
        mut self,
        store: Arc<dyn AuthorizationRequestStore>,
    ) -> Self {
        self.requests = Some(store);
        self
    }

    /// Sets the store of device authorizations (RFC 8628), needed while
    /// the server offers [`GrantType::DeviceCode`]. The shipped stores
    /// implement [`DeviceStore`] too: pass the same one as to
    /// [`store`](Self::store).
    #[must_use]
    pub fn device_store(mut self, store: Arc<dyn DeviceStore>) -> Self {
        self.devices = Some(store);
        self
    }

    /// Sets the replay cache (needed while
    /// `Config::jwt_client_authentication` is on, the default).
    #[must_use]
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }

    /// Sets the resource-owner password verifier (needed for the password grant).
    #[must_use]
    pub fn password_verifier(mut self, verifier: Arc<dyn PasswordVerifier>) -> Self {
        self.passwords = Some(verifier);
        self
    }

    /// Sets the signing-key provider (needed for JWT access tokens and JWKS).
    #[must_use]
    pub fn key_provider(mut self, keys: Arc<dyn KeyProvider>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Adds the host's own claims to JWT access tokens.
    #[must_use]
    pub fn claims_hook(mut self, hook: Arc<dyn ClaimsHook>) -> Self {
        self.claims_hook = Some(hook);
        self
    }

    /// Sets the host's source of claims about its users (OI-11): the
    /// UserInfo endpoint is served with it (at `Config::paths.userinfo`) and
    /// releases what it returns, selected by the granted scope and `claims`
    /// request.
    #[must_use]
    pub fn user_claims(mut self, claims: Arc<dyn UserClaims>) -> Self {
        self.user_claims = Some(claims);
        self
    }

    /// Sets the host's brute-force protection: failed client
    /// authentications and password-grant attempts are reported to it, and
    /// it may refuse an attempt before the secret or password is checked
    /// (RFC 6749 §2.3.1, §4.3.2). See [`Throttle`] for what is called when.
    #[must_use]
    pub fn throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Sends the server's audit events (tokens issued, refresh rotations,
    /// replays, failed client authentication, consent, keys, clients) to
    /// `sink`. Without a sink no event is built.
    #[must_use]
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
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

    /// Runs the server's slow hashes on `pool` instead of a pool of its own
    /// (sized by `Config::hash_pool`): give the same pool to the
    /// `PasswordVerifier` (e.g. [`MemoryUsers::hash_pool`](crate::MemoryUsers::hash_pool)),
    /// so that one bound covers client secrets and passwords alike (RB-06).
    #[must_use]
    pub fn hash_pool(mut self, pool: Arc<HashPool>) -> Self {
        self.hash_pool = Some(pool);
        self
    }

    /// Registers the host's handler of the extension grant `grant_type`
    /// (RFC 6749 §4.5): the server offers it (it is added to
    /// `Config::grant_types`, so the metadata lists it in
    /// `grant_types_supported`), and a token request naming it, from a
    /// client registered for it, goes to `handler` once the client has
    /// authenticated. Registering a URI again replaces its handler. See
    /// [`ExtensionGrant`].
    #[must_use]
    pub fn extension_grant(
        mut self,
        grant_type: ExtensionGrantType,
        handler: Arc<dyn ExtensionGrant>,
    ) -> Self {
        self.extensions.insert(grant_type, handler);
        self
    }

    /// Offers token exchange (RFC 8693, TE-01) under `policy`: the server
    /// offers `urn:ietf:params:oauth:grant-type:token-exchange` (added to
    /// `Config::grant_types` and the metadata) to clients registered for
    /// it, validates subject and actor tokens, and asks `policy` who may
    /// exchange what. Without a policy nothing is exchanged: the grant is
    /// not offered, and a configuration that lists it does not build. See
    /// [`TokenExchangePolicy`] and `docs/token-exchange.md`.
    #[must_use]
    pub fn token_exchange(mut self, policy: Arc<dyn TokenExchangePolicy>) -> Self {
        self.exchange_policy = Some(policy);
        self
    }

    /// Sets the host's fetcher of the key sets clients publish at their
    /// `jwks_uri` (issue 19): the core does no network I/O, so without one
    /// a client registered with `jwks_uri` cannot authenticate with
    /// `private_key_jwt` (`invalid_client`, logged) nor sign request
    /// objects. What it fetches is cached as `Config::jwks_uri` says, and
    /// fetched again on an unknown `kid` at most once per
    /// `refetch_interval`; see [`JwksFetcher`].
    #[must_use]
    pub fn jwks_fetcher(mut self, fetcher: Arc<dyn JwksFetcher>) -> Self {
        self.jwks_fetcher = Some(fetcher);
        self
    }

    /// Turns on dynamic client registration (RFC 7591, RFC 7592; RG-01,
    /// RG-02): the server serves the registration endpoint at
    /// `Config::paths.registration` and each registered client's
    /// configuration endpoint below it, writes clients to `store` (and
    /// revokes a deleted client's tokens there), and asks `policy` who may
    /// register and what: [`InitialAccessToken`](crate::InitialAccessToken)
    /// requires a token the host hands out,
    /// [`OpenRegistration`](crate::OpenRegistration) lets anyone register.
    /// Off unless called; the metadata names `registration_endpoint`
    /// exactly when it is on. `store` should be the server's client and
    /// token store. See `docs/registration.md`.
    #[must_use]
    pub fn client_registration<S>(
        mut self,
        store: Arc<S>,
        policy: Arc<dyn RegistrationPolicy>,
    ) -> Self
    where
        S: ClientAdmin + TokenAdmin,
    {
        self.registration = Some(RegistrationSetup {
            clients: store.clone(),
            tokens: store,
            policy,
        });
        self
    }

    /// Checks the configuration and the pieces, and builds the server.
    ///
    /// A [`ClientStore`] and a [`TokenStore`] are always needed; a
    /// [`ReplayCache`] while `Config::jwt_client_authentication` or
    /// `Config::dpop.enabled` is on; a
    /// [`PasswordVerifier`] while the password grant is offered. A missing
    /// one is a [`ConfigError`] naming the trait and what needs it.
    pub fn build(mut self) -> Result<AuthorizationServer, ConfigError> {
        // Issue 18: a registered extension grant is offered; one offered
        // without a handler could never be served.
        for uri in self.extensions.grant_types() {
            if !self.config.offers(GrantType::Extension(uri.clone())) {
                self.config
                    .grant_types
                    .push(GrantType::Extension(uri.clone()));
            }
        }
        if self
            .config
            .grant_types
            .iter()
            .filter_map(GrantType::as_extension)
            .any(|uri| self.extensions.get(uri).is_none())
        {
            return Err(ConfigError::MissingStore {
                store: "ExtensionGrant",
                needed_by: "an extension grant type in Config::grant_types",
            });
        }
        if self.exchange_policy.is_some() && !self.config.offers(GrantType::TokenExchange) {
            self.config.grant_types.push(GrantType::TokenExchange);
        }
        if self.config.offers(GrantType::TokenExchange) && self.exchange_policy.is_none() {
            return Err(ConfigError::MissingStore {
                store: "TokenExchangePolicy",
                needed_by: "token exchange in Config::grant_types",
            });
        }
        self.config.validate()?;
        let missing = |store, needed_by| ConfigError::MissingStore { store, needed_by };
        let clients = self.clients.ok_or(missing("ClientStore", "every server"))?;
        let tokens = self.tokens.ok_or(missing("TokenStore", "every server"))?;
        if self.config.jwt_client_authentication && self.replay.is_none() {
            return Err(missing(
                "ReplayCache",
                "JWT client authentication (Config::jwt_client_authentication)",
            ));
        }
        if self.config.dpop.enabled && self.replay.is_none() {
            return Err(missing("ReplayCache", "DPoP (Config::dpop.enabled)"));
        }
        if self.config.offers(GrantType::Password) && self.passwords.is_none() {
            return Err(ConfigError::MissingPasswordVerifier);
        }
        if self.config.offers(GrantType::DeviceCode) && self.devices.is_none() {
            return Err(missing(
                "DeviceStore",
                "the device grant (GrantType::DeviceCode in Config::grant_types)",
            ));
        }
        // RFC 9126: the pushed endpoint is served (and named) only with a
        // store for pushed requests; requiring them needs it.
        let pushed = self.requests.is_some() && self.config.offers(GrantType::AuthorizationCode);
        if self.config.require_pushed_authorization_requests && !pushed {
            return Err(missing(
                "AuthorizationRequestStore",
                "pushed authorization requests (Config::require_pushed_authorization_requests)",
            ));
        }
        let registration_endpoint = self
            .registration
            .as_ref()
            .map(|_| self.config.url(&self.config.paths.registration));
        let metadata = endpoints::metadata::render_with_registration(
            &self.config,
            self.keys.is_some(),
            pushed,
            registration_endpoint.as_deref(),
        );
        let openid_configuration = endpoints::discovery::render(
            &self.config,
            self.keys.is_some(),
            &endpoints::discovery::OpenIdFeatures {
                userinfo: self.user_claims.is_some(),
                end_session: self.config.rp_initiated_logout,
                backchannel_logout: self.config.backchannel_logout,
                id_token_algs: &self.config.id_token_signing_algs,
                // Signed UserInfo responses use the ID Token algorithms.
                userinfo_algs: &self.config.id_token_signing_algs,
                pairwise: self.config.pairwise_salt.is_some(),
                pushed,
                registration_endpoint: registration_endpoint.as_deref(),
            },
        );
        // The password verifier only counts when the grant is offered, so the
        // grant cannot run unless the metadata advertises it (MD-01).
        let passwords = if self.config.offers(GrantType::Password) {
            self.passwords
        } else {
            None
        };
        // Likewise the replay cache: no JWT client authentication unless
        // the metadata lists it.
        let replay = if self.config.jwt_client_authentication || self.config.dpop.enabled {
            self.replay
        } else {
            None
        };
        let hash_pool = self
            .hash_pool
            .unwrap_or_else(|| Arc::new(HashPool::new(self.config.hash_pool)));
        // The cache only saves work: without a key, it caches nothing.
        let verified = VerifiedSecrets::new(self.config.verified_secret_cache, &*self.random)
            .unwrap_or_else(|_| {
                tracing::warn!("random source failed: verified secrets will not be cached");
                VerifiedSecrets::disabled()
            });
        let jwks = JwksCache::new(self.jwks_fetcher, self.config.jwks_uri);
        Ok(AuthorizationServer {
            cx: Context {
                config: self.config,
                clients,
                tokens,
                consents: self.consents,
                requests: self.requests,
                devices: self.devices,
                replay,
                passwords,
                clock: self.clock,
                random: self.random,
                keys: self.keys,
                claims_hook: self.claims_hook,
                user_claims: self.user_claims,
                throttle: self.throttle,
                events: self.events,
                key_ring: KeyCache::default(),
                hash_pool,
                verified,
                extensions: self.extensions,
                exchange_policy: self.exchange_policy,
                jwks,
                registration: self.registration,
            },
            metadata,
            openid_configuration,
        })
    }
}
