//! `Config`: issuer, endpoint paths, lifetimes, enabled grants, PKCE policy,
//! body limit. `Config::new` is secure by default (OAuth 2.1, RFC 9700).

use std::num::NonZeroU32;
use std::time::Duration;

use crate::client::{JwksUriConfig, PBKDF2_DEFAULT_ITERATIONS};
use crate::error::ConfigError;
use crate::grant_type::GrantType;
use crate::hash_pool::HashPoolConfig;
use crate::keys::Algorithm;
use crate::profile::{FAPI2_ALGORITHMS, Profile};
use crate::scope::ScopeSet;
use crate::secret::Secret;

/// Where each endpoint is mounted, relative to the issuer. Used for the
/// metadata document and by adapters that mount the routes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct EndpointPaths {
    /// Authorization endpoint (default `/authorize`).
    pub authorization: String,
    /// Token endpoint (default `/token`).
    pub token: String,
    /// Revocation endpoint (default `/revoke`).
    pub revocation: String,
    /// Introspection endpoint (default `/introspect`).
    pub introspection: String,
    /// Metadata document (default `/.well-known/oauth-authorization-server`).
    pub metadata: String,
    /// OpenID Provider configuration document (OpenID Connect Discovery
    /// 1.0; default `/.well-known/openid-configuration`).
    pub openid_configuration: String,
    /// JWKS document (default `/jwks.json`).
    pub jwks: String,
    /// OpenID Connect UserInfo endpoint (default `/userinfo`), served only
    /// when the server has a [`UserClaims`](crate::oidc::UserClaims).
    pub userinfo: String,
    /// OpenID Connect end-session endpoint (RP-Initiated Logout 1.0; default
    /// `/end_session`). The host mounts it (it needs the host's session and
    /// pages); discovery names it when [`Config::rp_initiated_logout`] is on.
    pub end_session: String,
    /// Pushed authorization request endpoint (RFC 9126; default `/par`),
    /// served when the server has an
    /// [`AuthorizationRequestStore`](crate::AuthorizationRequestStore) and
    /// offers the code flow.
    pub pushed_authorization_request: String,
    /// Device authorization endpoint (RFC 8628 §3.1; default
    /// `/device_authorization`), served when the server offers the device
    /// grant ([`GrantType::DeviceCode`]).
    pub device_authorization: String,
    /// The host's device verification page (RFC 8628 §3.2
    /// `verification_uri`; default `/device`), where users type the user
    /// code. The host mounts it, as the authorization endpoint.
    pub device_verification: String,
    // Dynamic client registration (RFC 7591/7592, issue 19 part 2).
    /// Client registration endpoint (RFC 7591 §3; default `/register`),
    /// served once the host turns registration on
    /// (`ServerBuilder::client_registration`). Each registered client's
    /// configuration endpoint (RFC 7592) is this path, `/`, and its id.
    pub registration: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        Self {
            authorization: "/authorize".into(),
            token: "/token".into(),
            revocation: "/revoke".into(),
            introspection: "/introspect".into(),
            metadata: "/.well-known/oauth-authorization-server".into(),
            openid_configuration: "/.well-known/openid-configuration".into(),
            jwks: "/jwks.json".into(),
            userinfo: "/userinfo".into(),
            end_session: "/end_session".into(),
            pushed_authorization_request: "/par".into(),
            device_authorization: "/device_authorization".into(),
            device_verification: "/device".into(),
            registration: "/register".into(),
        }
    }
}

/// Server configuration. Start from [`Config::new`] and change fields.
///
/// Lifetimes and leeways are [`Duration`]s counted in whole seconds
/// (fractions are dropped); a lifetime must be at least one second.
///
/// ```
/// use std::time::Duration;
/// let mut config = portcullis::Config::new("https://auth.example.com");
/// config.access_token_lifetime = Duration::from_secs(600);
/// ```
///
/// With the `serde` feature a `Config` is also read from and written to
/// configuration files. Only `issuer` is required; every other field
/// defaults as in [`Config::new`], unknown fields are refused, durations are
/// whole seconds or strings such as `"15m"`, `"1h30m"`, `"30d"` (written
/// back as seconds), and the result is checked as `ServerBuilder::build`
/// checks it:
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: portcullis::Config = serde_json::from_str(
///     r#"{ "issuer": "https://auth.example.com", "access_token_lifetime": "15m" }"#,
/// ).unwrap();
/// assert_eq!(config.access_token_lifetime.as_secs(), 900);
/// # }
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ConfigFile"))]
pub struct Config {
    /// The issuer identifier (RFC 8414 §2): `https` URL, no trailing slash.
    pub issuer: String,
    /// Endpoint paths under the issuer.
    pub paths: EndpointPaths,
    /// Access token lifetime (default 1 hour).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub access_token_lifetime: Duration,
    /// Refresh token lifetime (default 30 days). Each rotation starts a new
    /// lifetime.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub refresh_token_lifetime: Duration,
    /// Authorization code lifetime (default 60 s, at most 600 s, AC-01).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub code_lifetime: Duration,
    /// How long a suspended authorization request waits for the host to
    /// resume it after its login or consent page (default 15 minutes; see
    /// `AuthorizationServer::resume`).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub authorization_request_lifetime: Duration,
    /// The grant types this server offers (default: `authorization_code`,
    /// `client_credentials`, `refresh_token`). Adding `password` needs a
    /// `PasswordVerifier` (PW-01).
    pub grant_types: Vec<GrantType>,
    /// Whether confidential clients must use PKCE too (default `true`,
    /// OAuth 2.1; public clients always must, PK-02).
    pub require_pkce_for_confidential: bool,
    /// Whether clients registered for it may use PKCE `plain` (default
    /// `false`; PK-01). When `false`, metadata lists only `S256`.
    pub dangerous_allow_plain_pkce: bool,
    /// The scopes this server knows, for the metadata document; `None`
    /// omits `scopes_supported`.
    pub scopes_supported: Option<ScopeSet>,
    /// Largest request body accepted, in bytes (default 64 KiB, TOK-08).
    pub max_body_size: usize,
    /// The algorithm of the keys `ensure_signing_key` and `rotate_keys`
    /// generate when `access_token_signing_alg` is `None` (default `ES256`).
    pub signing_algorithm: Algorithm,
    /// The algorithm whose key signs JWT access tokens. `None` (the
    /// default): the newest key that signs now, whatever its algorithm,
    /// which is right while every key is of one algorithm. Set it when keys
    /// of several algorithms sign side by side (an OpenID Provider's RS256
    /// ID Token key beside ES256 access tokens, say), so that rotating
    /// another algorithm's key never changes how access tokens are signed;
    /// `ensure_signing_key` and `rotate_keys` then work on this algorithm.
    pub access_token_signing_alg: Option<Algorithm>,
    /// The default audience: the `aud` of access tokens issued without a
    /// `resource` (RFC 8707), and the audience
    /// `AuthorizationServer::authenticate_bearer` expects (default: the
    /// issuer). A token requested with `resource` has those resources as
    /// its audience instead (RI-01); a resource server checks its own with
    /// `AuthorizationServer::authenticate_bearer_for`.
    pub jwt_audience: Option<String>,
    /// Longest life of a JWT access token (default 1 day): longer lifetimes
    /// are cut to it, and a rotated-out key stays published this long after
    /// it stops signing (JW-01).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub jwt_max_lifetime: Duration,
    /// How long before it signs a rotated-in key is published (default 15
    /// minutes): longer than any JWKS cache of a resource server.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub key_publish_lead: Duration,
    /// How long the server caches the keys of its `KeyProvider` (default
    /// 60 s): other instances see a rotation within this time.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub key_cache_ttl: Duration,
    /// Clock skew tolerated when checking JWT `exp`, `iat` and `nbf`
    /// (default 30 s; TK-05).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub leeway: Duration,
    /// Whether bearer validation of a JWT access token also checks that it
    /// was not revoked (a store lookup; default `true`).
    pub jwt_revocation_check: bool,
    /// Whether clients may authenticate with a signed JWT,
    /// `private_key_jwt` or `client_secret_jwt` (default `true`; CA-08).
    /// Each assertion's `jti` is accepted once, so this needs a
    /// [`ReplayCache`](crate::ReplayCache): the builder refuses to build
    /// without one. When `false`, metadata does not list these methods and
    /// such clients cannot authenticate.
    pub jwt_client_authentication: bool,
    /// Whether a client assertion's `aud` may also be the token endpoint
    /// URL, or an array naming the issuer or the token endpoint (default
    /// `false`; CA-08). By default `aud` must be the issuer identifier as a
    /// single string (draft-ietf-oauth-rfc7523bis), which closes an
    /// audience-injection attack in which an assertion made for another
    /// server is accepted here. Turn it on only while legacy clients that
    /// send the older forms are moved over.
    pub dangerous_allow_legacy_assertion_audience: bool,
    /// The threads and queue of the server's [`HashPool`](crate::HashPool),
    /// where slow hashes run (RB-06): by default one thread fewer than the
    /// machine's available parallelism (at least one), and 64 waiting jobs, beyond which a
    /// request that needs a slow hash is answered `temporarily_unavailable`
    /// (503). Ignored when the builder is given a pool.
    pub hash_pool: HashPoolConfig,
    /// How many people-chosen (PBKDF2) client secrets that verified
    /// recently are remembered, so that the next request with the same
    /// secret costs one HMAC instead of a PBKDF2 (default 1024; 0 remembers
    /// none). See [`VerifiedSecrets`](crate::VerifiedSecrets).
    pub verified_secret_cache: usize,
    /// The PBKDF2 rounds spent on a secret presented for a client id no
    /// client has (default [`PBKDF2_DEFAULT_ITERATIONS`]), so that an
    /// unknown client costs what a client with a people-chosen secret does
    /// (CA-06, RB-06). Set it to the rounds your people-chosen secrets are
    /// hashed with.
    pub unknown_client_iterations: NonZeroU32,
    /// The server's secret salt of pairwise subjects (OpenID Connect Core
    /// 1.0 §8.1; OI-04), at least 16 bytes, e.g. 32 random bytes (default
    /// `None`). A `pairwise` client needs it: without it,
    /// [`pairwise_subject`](crate::oidc::pairwise_subject) refuses to
    /// compute such a client's `sub`. Keep it stable and secret: changing
    /// it changes every pairwise `sub`, and whoever knows it can link a
    /// pairwise `sub` to a user id they guess. Set it from code (a
    /// configuration file does not hold it, and it is never serialised);
    /// `Debug` prints it redacted.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub pairwise_salt: Option<Secret<Vec<u8>>>,
    /// How long an ID Token is valid (`exp - iat`; default 1 hour).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub id_token_lifetime: Duration,
    /// The algorithms ID Tokens (and signed UserInfo responses) are signed
    /// with, as discovery lists them (`id_token_signing_alg_values_supported`;
    /// default RS256, which OpenID Connect Core §15.1 requires, ES256 and
    /// EdDSA). A client's `id_token_signed_response_alg` must be one of them;
    /// the server needs a current key of each (`ensure_signing_keys`).
    pub id_token_signing_algs: Vec<Algorithm>,
    /// The host serves RP-Initiated Logout at [`EndpointPaths::end_session`]
    /// (default `false`): discovery then names `end_session_endpoint`.
    pub rp_initiated_logout: bool,
    /// The host delivers Back-Channel Logout tokens to clients that register
    /// a `backchannel_logout_uri` (default `false`): discovery then says
    /// `backchannel_logout_supported` and `backchannel_logout_session_supported`.
    pub backchannel_logout: bool,
    /// How long a pushed authorization request's `request_uri` can be used
    /// (RFC 9126 §2.2 `expires_in`; default 60 s, under 600 s as the FAPI
    /// 2.0 Security Profile requires; PA-01).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub pushed_request_lifetime: Duration,
    /// Whether every authorization request must be pushed first (RFC 9126
    /// §5, metadata `require_pushed_authorization_requests`; default
    /// `false`; PA-02). A client can be required to on its own
    /// (`ClientBuilder::require_pushed_authorization_requests`).
    pub require_pushed_authorization_requests: bool,
    /// The security profile the server enforces beyond its defaults
    /// (default [`Profile::Default`]). Start from
    /// [`Config::fapi2_security_profile`] rather than setting
    /// [`Profile::Fapi2Security`] here by hand: the builder refuses a
    /// configuration the profile forbids.
    pub profile: Profile,
    /// DPoP (RFC 9449; DP-01..03): sender-constrained tokens.
    #[cfg_attr(feature = "serde", serde(default))]
    pub dpop: DpopConfig,
    // Resource indicators (RFC 8707, issue 17).
    /// Resources (RFC 8707 resource indicators) every client may ask
    /// tokens for with `resource`, beside each client's own
    /// [`Client::resources`](crate::Client::resources) (default none; RI-01).
    /// A token issued for resources has them as its `aud`; one issued
    /// without `resource` keeps the default audience, [`Config::audience`].
    pub resources: Vec<crate::resource::Resource>,
    // Refresh retry window (issue 18).
    /// How long after a refresh token is rotated out presenting it again
    /// is taken as a retry of a lost response rather than as a replay
    /// (default `None`: never, and every such presentation revokes the
    /// grant, RT-02). Whole seconds, from 1 s to
    /// [`Config::MAX_REFRESH_RETRY_WINDOW`] (5 minutes).
    ///
    /// Within the window, from the first rotation (it never slides), a
    /// retry gets a fresh access and refresh token in the same grant, and
    /// the pair the rotation issued is revoked (its refresh token kept as
    /// used, so presenting it later is a replay): the grant keeps one live
    /// chain. A retry after that pair's refresh token was itself used, or
    /// after the window, is a replay as without the window. The token must
    /// pass every check a rotation makes (client, DPoP key, expiry, scope).
    /// What this costs in theft detection, and how it differs from
    /// oauth-as and Ory Hydra: `docs/security.md`, "Refresh retry window".
    #[cfg_attr(
        feature = "serde",
        serde(with = "crate::conversions::duration_secs::option")
    )]
    pub refresh_retry_window: Option<Duration>,
    // The device authorization grant (RFC 8628, issue 18).
    /// How long a device code and its user code can be used (RFC 8628
    /// §3.2 `expires_in`; default 600 s, at most one hour; DV-01).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub device_code_lifetime: Duration,
    /// The least time a device waits between two polls of the token
    /// endpoint (RFC 8628 §3.2 `interval`; default 5 s): polled sooner, the
    /// answer is `slow_down` and the device code's interval grows by 5 s
    /// (DV-02).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub device_code_interval: Duration,
    // Keys at jwks_uri (issue 19 part 1, step 3).
    /// How the key sets of clients registered with `jwks_uri` are cached
    /// (fetched by the host's `JwksFetcher`): TTL (300 s), least time
    /// between refetches on an unknown `kid` (10 s), entries (1024).
    #[cfg_attr(feature = "serde", serde(default))]
    pub jwks_uri: JwksUriConfig,
}

/// DPoP (RFC 9449) settings: on by default with ES256, EdDSA and RS256
/// proofs, a 60 s `iat` window, and no server nonces.
///
/// Nonces (RFC 9449 §8, §9) need no shared state: set a secret of at least
/// 32 random bytes, the same on every instance, and each instance accepts
/// the nonces of the others.
///
/// ```
/// let mut config = portcullis::Config::new("https://auth.example.com");
/// config.dpop.nonce_secret = Some(portcullis::Secret::new(vec![7u8; 32]));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct DpopConfig {
    /// Whether the token endpoint and bearer validation accept DPoP proofs
    /// (default `true`; metadata then lists
    /// `dpop_signing_alg_values_supported`). Each proof's `jti` is accepted
    /// once, so this needs a [`ReplayCache`](crate::ReplayCache).
    pub enabled: bool,
    /// The algorithms of the proofs accepted (default ES256, EdDSA, RS256):
    /// asymmetric only, as RFC 9449 §4.3 requires.
    pub signing_algs: Vec<Algorithm>,
    /// How far a proof's `iat` may be from now, either way (default 60 s).
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub iat_window: Duration,
    /// The secret of server nonces, at least 32 bytes, the same on every
    /// instance (default `None`: no nonces). With it, every proof must
    /// carry a nonce the server handed out in `DPoP-Nonce`, else
    /// `use_dpop_nonce`. Set it from code; it is never serialised.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub nonce_secret: Option<Secret<Vec<u8>>>,
    /// How long a nonce is handed out (default 300 s); each is accepted
    /// for up to twice this.
    #[cfg_attr(feature = "serde", serde(with = "crate::conversions::duration_secs"))]
    pub nonce_lifetime: Duration,
    /// The external base URL (scheme, host, port, optional path prefix) of
    /// the resources this server's bearer validation guards: a resource
    /// request's expected `htu` is this followed by the request's path
    /// (default `None`: the issuer's origin). A host behind a proxy that
    /// knows each request's URL sets it per request instead
    /// ([`Request::with_url`](crate::http::Request::with_url)).
    pub resource_base_url: Option<String>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            signing_algs: vec![Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256],
            iat_window: Duration::from_secs(60),
            nonce_secret: None,
            nonce_lifetime: Duration::from_secs(300),
            resource_base_url: None,
        }
    }
}

impl DpopConfig {
    /// The shortest nonce secret accepted, in bytes.
    pub const MIN_NONCE_SECRET_LEN: usize = 32;

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what| Err(ConfigError::InvalidDpop(what));
        if self.enabled && self.signing_algs.is_empty() {
            return bad("signing_algs is empty");
        }
        if self.iat_window.as_secs() == 0 {
            return bad("iat_window is under one second");
        }
        if self.nonce_lifetime.as_secs() == 0 {
            return bad("nonce_lifetime is under one second");
        }
        if self
            .nonce_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < Self::MIN_NONCE_SECRET_LEN)
        {
            return bad("nonce_secret is shorter than 32 bytes");
        }
        if let Some(base) = &self.resource_base_url {
            let ok = url::Url::parse(base).is_ok_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !ok {
                return bad("resource_base_url is not an absolute http(s) URL");
            }
        }
        Ok(())
    }
}

/// The shortest [`Config::pairwise_salt`] accepted, in bytes.
const MIN_PAIRWISE_SALT_LEN: usize = 16;

impl Config {
    /// Secure defaults for this issuer.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            paths: EndpointPaths::default(),
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            code_lifetime: Duration::from_secs(60),
            authorization_request_lifetime: Duration::from_secs(900),
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::ClientCredentials,
                GrantType::RefreshToken,
            ],
            require_pkce_for_confidential: true,
            dangerous_allow_plain_pkce: false,
            scopes_supported: None,
            max_body_size: 64 * 1024,
            signing_algorithm: Algorithm::Es256,
            access_token_signing_alg: None,
            jwt_audience: None,
            jwt_max_lifetime: Duration::from_secs(24 * 3600),
            key_publish_lead: Duration::from_secs(15 * 60),
            key_cache_ttl: Duration::from_secs(60),
            leeway: Duration::from_secs(30),
            jwt_revocation_check: true,
            jwt_client_authentication: true,
            dangerous_allow_legacy_assertion_audience: false,
            hash_pool: HashPoolConfig::default(),
            verified_secret_cache: 1024,
            unknown_client_iterations: PBKDF2_DEFAULT_ITERATIONS,
            pairwise_salt: None,
            id_token_lifetime: Duration::from_secs(3600),
            id_token_signing_algs: vec![Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa],
            rp_initiated_logout: false,
            backchannel_logout: false,
            pushed_request_lifetime: Duration::from_secs(60),
            require_pushed_authorization_requests: false,
            profile: Profile::Default,
            dpop: DpopConfig::default(),
            resources: Vec::new(),
            refresh_retry_window: None,
            device_code_lifetime: Duration::from_secs(600),
            device_code_interval: Duration::from_secs(5),
            jwks_uri: JwksUriConfig::default(),
        }
    }

    /// The longest [`Config::refresh_retry_window`] accepted: 5 minutes,
    /// the longest grace period Ory Hydra allows without a reuse count.
    pub const MAX_REFRESH_RETRY_WINDOW: Duration = Duration::from_secs(300);

    /// The FAPI 2.0 Security Profile (OpenID Foundation, Final) for this
    /// issuer: the secure defaults, plus every authorization request pushed
    /// (PAR), PKCE `S256` for every client, ID Tokens signed with PS256,
    /// ES256 or EdDSA only, and [`Profile::Fapi2Security`], under which the
    /// endpoints serve only `private_key_jwt` clients, issue only
    /// DPoP-bound access tokens and do not rotate refresh tokens. Codes
    /// live 60 s and pushed requests 60 s, as by default.
    ///
    /// The builder refuses any change the profile forbids (the password
    /// grant, plain PKCE, a longer code lifetime, an RS256 signing key, …);
    /// `docs/fapi2.md` lists every requirement of the profile.
    ///
    /// ```
    /// use portcullis::{Config, Profile};
    /// let config = Config::fapi2_security_profile("https://as.example");
    /// assert_eq!(config.profile, Profile::Fapi2Security);
    /// assert!(config.require_pushed_authorization_requests);
    /// ```
    pub fn fapi2_security_profile(issuer: impl Into<String>) -> Self {
        Self {
            require_pushed_authorization_requests: true,
            require_pkce_for_confidential: true,
            dangerous_allow_plain_pkce: false,
            id_token_signing_algs: FAPI2_ALGORITHMS.to_vec(),
            profile: Profile::Fapi2Security,
            dpop: DpopConfig {
                signing_algs: FAPI2_ALGORITHMS.to_vec(),
                ..DpopConfig::default()
            },
            ..Self::new(issuer)
        }
    }

    /// Whether the server offers `grant` (given by value or by reference).
    pub fn offers(&self, grant: impl std::borrow::Borrow<GrantType>) -> bool {
        self.grant_types.contains(grant.borrow())
    }

    /// The default audience of access tokens: of those issued without a
    /// `resource` (RFC 8707).
    pub fn audience(&self) -> &str {
        self.jwt_audience.as_deref().unwrap_or(&self.issuer)
    }

    /// The absolute URL of an endpoint path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| ConfigError::InvalidIssuer)?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok
            || url.query().is_some()
            || url.fragment().is_some()
            || self.issuer.ends_with('/')
            || !url.username().is_empty()
        {
            return Err(ConfigError::InvalidIssuer);
        }
        for (name, life, max) in [
            ("access tokens", self.access_token_lifetime, u64::MAX),
            ("refresh tokens", self.refresh_token_lifetime, u64::MAX),
            ("authorization codes", self.code_lifetime, 600),
            (
                "suspended authorization requests",
                self.authorization_request_lifetime,
                u64::MAX,
            ),
            ("JWT access tokens", self.jwt_max_lifetime, u64::MAX),
            ("ID Tokens", self.id_token_lifetime, u64::MAX),
            (
                "pushed authorization requests",
                self.pushed_request_lifetime,
                599,
            ),
            ("device codes", self.device_code_lifetime, 3600),
            (
                "the device polling interval",
                self.device_code_interval,
                600,
            ),
        ] {
            let secs = life.as_secs();
            if secs == 0 || secs > max {
                return Err(ConfigError::InvalidLifetime(name));
            }
        }
        let p = &self.paths;
        for (name, path) in [
            ("authorization", &p.authorization),
            ("token", &p.token),
            ("revocation", &p.revocation),
            ("introspection", &p.introspection),
            ("metadata", &p.metadata),
            ("openid_configuration", &p.openid_configuration),
            ("jwks", &p.jwks),
            ("userinfo", &p.userinfo),
            ("end_session", &p.end_session),
            (
                "pushed_authorization_request",
                &p.pushed_authorization_request,
            ),
            ("device_authorization", &p.device_authorization),
            ("device_verification", &p.device_verification),
            ("registration", &p.registration),
        ] {
            if !path.starts_with('/') {
                return Err(ConfigError::InvalidPath(name));
            }
        }
        if self
            .pairwise_salt
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < MIN_PAIRWISE_SALT_LEN)
        {
            return Err(ConfigError::WeakPairwiseSalt);
        }
        self.dpop.validate()?;
        if self.refresh_retry_window.is_some_and(|w| {
            w.as_secs() == 0 || w.subsec_nanos() != 0 || w > Self::MAX_REFRESH_RETRY_WINDOW
        }) {
            return Err(ConfigError::InvalidLifetime("the refresh retry window"));
        }
        // Keys at jwks_uri (issue 19 part 1, step 3).
        if let Some(what) = self.jwks_uri.invalid() {
            return Err(ConfigError::InvalidJwksUri(what));
        }
        self.validate_profile()
    }

    /// The configuration rules of [`Config::profile`].
    fn validate_profile(&self) -> Result<(), ConfigError> {
        if self.profile != Profile::Fapi2Security {
            return Ok(());
        }
        let algs_ok = std::iter::once(self.signing_algorithm)
            .chain(self.access_token_signing_alg)
            .chain(self.id_token_signing_algs.iter().copied())
            .chain(self.dpop.signing_algs.iter().copied())
            .all(|a| FAPI2_ALGORITHMS.contains(&a));
        let rules = [
            (
                self.offers(GrantType::Password),
                "the password grant (FAPI 2.0 §5.3.2.1-2)",
            ),
            (
                !self.require_pushed_authorization_requests,
                "authorization requests that are not pushed (§5.3.2.2-3)",
            ),
            (
                !self.require_pkce_for_confidential || self.dangerous_allow_plain_pkce,
                "authorization codes without PKCE S256 (§5.3.2.2-5)",
            ),
            (
                self.code_lifetime.as_secs() > 60,
                "authorization codes living more than 60 s (§5.3.2.1-12)",
            ),
            (
                !algs_ok,
                "signing algorithms other than PS256, ES256 and EdDSA (§5.4.1)",
            ),
            (
                self.leeway.as_secs() < 10 || self.leeway.as_secs() > 60,
                "a JWT clock leeway under 10 s or over 60 s (§5.3.2.1-14)",
            ),
            (
                !self.dpop.enabled,
                "turning off DPoP, its sender-constrained access tokens (§5.3.2.1-4, -5)",
            ),
            (
                self.dpop.iat_window.as_secs() < 10 || self.dpop.iat_window.as_secs() > 60,
                "a DPoP iat window under 10 s or over 60 s (§5.3.2.1-14)",
            ),
            (
                !self.jwt_client_authentication,
                "turning off private_key_jwt, its only client authentication (§5.3.2.1-6)",
            ),
            (
                self.dangerous_allow_legacy_assertion_audience,
                "client assertions whose aud is not the issuer as a string (§5.3.3.1-5, RFC 10070)",
            ),
        ];
        match rules.into_iter().find(|(broken, _)| *broken) {
            Some((_, rule)) => Err(ConfigError::ProfileViolation {
                profile: Profile::Fapi2Security.as_str(),
                rule,
            }),
            None => Ok(()),
        }
    }
}

/// What a configuration file may hold: only `issuer` is required.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    issuer: String,
    #[serde(default)]
    paths: EndpointPaths,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    access_token_lifetime: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    refresh_token_lifetime: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    code_lifetime: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    authorization_request_lifetime: Option<Duration>,
    grant_types: Option<Vec<GrantType>>,
    require_pkce_for_confidential: Option<bool>,
    dangerous_allow_plain_pkce: Option<bool>,
    scopes_supported: Option<ScopeSet>,
    max_body_size: Option<usize>,
    signing_algorithm: Option<Algorithm>,
    access_token_signing_alg: Option<Algorithm>,
    jwt_audience: Option<String>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    jwt_max_lifetime: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    key_publish_lead: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    key_cache_ttl: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    leeway: Option<Duration>,
    jwt_revocation_check: Option<bool>,
    jwt_client_authentication: Option<bool>,
    dangerous_allow_legacy_assertion_audience: Option<bool>,
    #[serde(default)]
    hash_pool: HashPoolConfig,
    verified_secret_cache: Option<usize>,
    unknown_client_iterations: Option<NonZeroU32>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    id_token_lifetime: Option<Duration>,
    id_token_signing_algs: Option<Vec<Algorithm>>,
    rp_initiated_logout: Option<bool>,
    backchannel_logout: Option<bool>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    pushed_request_lifetime: Option<Duration>,
    require_pushed_authorization_requests: Option<bool>,
    profile: Option<Profile>,
    #[serde(default)]
    dpop: DpopConfig,
    #[serde(default)]
    resources: Vec<crate::resource::Resource>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    refresh_retry_window: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    device_code_lifetime: Option<Duration>,
    #[serde(default, with = "crate::conversions::duration_secs::option")]
    device_code_interval: Option<Duration>,
    #[serde(default)]
    jwks_uri: JwksUriConfig,
}

#[cfg(feature = "serde")]
impl TryFrom<ConfigFile> for Config {
    type Error = ConfigError;

    fn try_from(f: ConfigFile) -> Result<Self, ConfigError> {
        // A file naming a profile starts from that profile's defaults.
        let d = match f.profile {
            Some(Profile::Fapi2Security) => Self::fapi2_security_profile(f.issuer),
            _ => Self::new(f.issuer),
        };
        let c = Self {
            paths: f.paths,
            access_token_lifetime: f.access_token_lifetime.unwrap_or(d.access_token_lifetime),
            refresh_token_lifetime: f.refresh_token_lifetime.unwrap_or(d.refresh_token_lifetime),
            code_lifetime: f.code_lifetime.unwrap_or(d.code_lifetime),
            authorization_request_lifetime: f
                .authorization_request_lifetime
                .unwrap_or(d.authorization_request_lifetime),
            grant_types: f.grant_types.unwrap_or(d.grant_types),
            require_pkce_for_confidential: f
                .require_pkce_for_confidential
                .unwrap_or(d.require_pkce_for_confidential),
            dangerous_allow_plain_pkce: f
                .dangerous_allow_plain_pkce
                .unwrap_or(d.dangerous_allow_plain_pkce),
            scopes_supported: f.scopes_supported,
            max_body_size: f.max_body_size.unwrap_or(d.max_body_size),
            signing_algorithm: f.signing_algorithm.unwrap_or(d.signing_algorithm),
            access_token_signing_alg: f.access_token_signing_alg,
            jwt_audience: f.jwt_audience,
            jwt_max_lifetime: f.jwt_max_lifetime.unwrap_or(d.jwt_max_lifetime),
            key_publish_lead: f.key_publish_lead.unwrap_or(d.key_publish_lead),
            key_cache_ttl: f.key_cache_ttl.unwrap_or(d.key_cache_ttl),
            leeway: f.leeway.unwrap_or(d.leeway),
            jwt_revocation_check: f.jwt_revocation_check.unwrap_or(d.jwt_revocation_check),
            jwt_client_authentication: f
                .jwt_client_authentication
                .unwrap_or(d.jwt_client_authentication),
            dangerous_allow_legacy_assertion_audience: f
                .dangerous_allow_legacy_assertion_audience
                .unwrap_or(d.dangerous_allow_legacy_assertion_audience),
            hash_pool: f.hash_pool,
            verified_secret_cache: f.verified_secret_cache.unwrap_or(d.verified_secret_cache),
            unknown_client_iterations: f
                .unknown_client_iterations
                .unwrap_or(d.unknown_client_iterations),
            pairwise_salt: None,
            id_token_lifetime: f.id_token_lifetime.unwrap_or(d.id_token_lifetime),
            id_token_signing_algs: f.id_token_signing_algs.unwrap_or(d.id_token_signing_algs),
            rp_initiated_logout: f.rp_initiated_logout.unwrap_or(d.rp_initiated_logout),
            backchannel_logout: f.backchannel_logout.unwrap_or(d.backchannel_logout),
            pushed_request_lifetime: f
                .pushed_request_lifetime
                .unwrap_or(d.pushed_request_lifetime),
            require_pushed_authorization_requests: f
                .require_pushed_authorization_requests
                .unwrap_or(d.require_pushed_authorization_requests),
            profile: d.profile,
            dpop: f.dpop,
            resources: f.resources,
            refresh_retry_window: f.refresh_retry_window,
            device_code_lifetime: f.device_code_lifetime.unwrap_or(d.device_code_lifetime),
            device_code_interval: f.device_code_interval.unwrap_or(d.device_code_interval),
            jwks_uri: f.jwks_uri,
            issuer: d.issuer,
        };
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        assert!(Config::new("https://a.example").validate().is_ok());
        assert!(Config::new("https://a.example/tenant").validate().is_ok());
        assert!(Config::new("http://127.0.0.1:9400").validate().is_ok());
        assert_eq!(
            Config::new("http://a.example").validate(),
            Err(ConfigError::InvalidIssuer)
        );
        assert!(Config::new("https://a.example/").validate().is_err());
        assert!(Config::new("https://a.example?x=1").validate().is_err());
    }

    #[test]
    fn a_pairwise_salt_is_long_and_redacted() {
        // covers: OI-04
        // issue 16
        let mut c = Config::new("https://a.example");
        c.pairwise_salt = Some(Secret::new(b"fifteen bytes!!".to_vec()));
        assert_eq!(c.validate(), Err(ConfigError::WeakPairwiseSalt));
        c.pairwise_salt = Some(Secret::new(b"sixteen bytes!!!".to_vec()));
        assert!(c.validate().is_ok());
        let shown = format!("{c:?}");
        assert!(
            shown.contains("pairwise_salt: Some(Secret([redacted]))"),
            "{shown}"
        );
        assert!(!shown.contains("sixteen"), "{shown}");
    }

    #[test]
    fn dpop_settings_are_checked() {
        // covers: DP-01
        let mut c = Config::new("https://a.example");
        assert!(c.dpop.enabled && c.dpop.nonce_secret.is_none());
        c.dpop.nonce_secret = Some(Secret::new(vec![1; 31]));
        assert!(matches!(c.validate(), Err(ConfigError::InvalidDpop(_))));
        c.dpop.nonce_secret = Some(Secret::new(vec![1; 32]));
        assert!(c.validate().is_ok());
        assert!(
            !format!("{c:?}").contains("[1, 1"),
            "the secret is redacted"
        );
        c.dpop.resource_base_url = Some("api.example.com".into());
        assert!(c.validate().is_err());
        c.dpop.resource_base_url = Some("https://api.example.com/v1".into());
        assert!(c.validate().is_ok());
        c.dpop.signing_algs.clear();
        assert!(c.validate().is_err());
        c.dpop.enabled = false;
        assert!(c.validate().is_ok());
        c.dpop.iat_window = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn codes_live_at_most_ten_minutes() {
        // covers: AC-01
        let mut c = Config::new("https://a.example");
        assert_eq!(c.code_lifetime, Duration::from_secs(60));
        c.code_lifetime = Duration::from_secs(601);
        assert!(c.validate().is_err());
        // Counted in whole seconds: under one second is zero.
        c.code_lifetime = Duration::from_millis(999);
        assert_eq!(
            c.validate(),
            Err(ConfigError::InvalidLifetime("authorization codes"))
        );
    }
}
