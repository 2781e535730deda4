//! The client model (RFC 7591 field names) and client identifiers.

pub(crate) mod assertion;
pub(crate) mod authenticate;
mod jwks_uri;
#[cfg(feature = "serde")]
mod metadata;
mod openid;
mod registration;
pub(crate) mod secret_hash;
mod verified_secrets;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::audience::Audience;
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::resource::Resource;

use crate::grant_type::GrantType;
use crate::keys::Algorithm;
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::tokens::AccessTokenFormat;
use crate::web_url::WebUrl;
pub use openid::{OpenIdRegistration, SubjectType};
pub use registration::{
    ApplicationType, ClientMetadataObject, ClientSigningAlg, RegistrationFields,
};
pub use secret_hash::{PBKDF2_DEFAULT_ITERATIONS, SecretHash, generate_secret};
pub use verified_secrets::VerifiedSecrets;
// Keys at jwks_uri (issue 19 part 1 step 3).
pub(crate) use jwks_uri::JwksCache;
pub use jwks_uri::{FetchError, JwkSet, JwksFetcher, JwksUriConfig, MAX_JWKS_KEYS};

/// A client identifier: 1 to 255 visible ASCII characters (RFC 6749 A.1).
/// Cloning shares the string (no allocation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Parses a client id; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClientId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("client id", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 255 {
            return err("is longer than 255 bytes");
        }
        // One pass over the bytes for the usual (ASCII) id; characters are
        // decoded only to name what is wrong with one that is not.
        if !s.is_ascii() {
            return err(if s.chars().any(char::is_control) {
                "contains a control character"
            } else {
                "contains a character outside ASCII"
            });
        }
        if s.bytes().any(|b| b.is_ascii_control()) {
            return err("contains a control character");
        }
        Ok(Self(s.into()))
    }
}

/// How a client authenticates at the token endpoint
/// (`token_endpoint_auth_method`, RFC 7591 §2).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with form-encoded id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    ClientSecretPost,
    /// `none`: a public client, identified by `client_id` only.
    None,
    /// `private_key_jwt` (RFC 7523): a JWT signed with the client's own key,
    /// checked against its registered JWKS (CA-08).
    PrivateKeyJwt,
    /// `client_secret_jwt` (RFC 7523): a JWT signed with HMAC-SHA256 keyed
    /// by a shared secret the server must hold in clear (CA-08). Prefer
    /// `private_key_jwt`.
    ClientSecretJwt,
}

impl AuthMethod {
    /// Parses the wire value; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
        }
    }
}

impl FromStr for AuthMethod {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "none" => Ok(Self::None),
            "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            "client_secret_jwt" => Ok(Self::ClientSecretJwt),
            _ => Err(ParseError::new(
                "token endpoint auth method",
                "is not one of client_secret_basic, client_secret_post, none, private_key_jwt, client_secret_jwt",
            )),
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

try_from_str!(ClientId, AuthMethod);
serde_as_str!(ClientId, AuthMethod);

/// A registered client. Build one with [`Client::confidential`] or
/// [`Client::public`].
///
/// With the `serde` feature a client is also an RFC 7591 client metadata
/// document (`client_id`, `client_name`, `redirect_uris`, `grant_types`,
/// `token_endpoint_auth_method`, `scope`, `jwks`, and our own
/// `client_secret_hash`, `default_scope`, `enabled`, `skip_consent`,
/// `allow_plain_pkce`, `access_token_format`, `resource_server_audiences`,
/// `resources` (the RFC 8707 resource indicators it may ask tokens for),
/// `access_token_lifetime` and `refresh_token_lifetime` in seconds), with
/// the OpenID Connect Registration 1.0 fields by their registration names
/// (`id_token_signed_response_alg`, `userinfo_signed_response_alg`,
/// `subject_type`, `sector_identifier_uri`, `post_logout_redirect_uris`,
/// `backchannel_logout_uri`, `backchannel_logout_session_required`,
/// `require_auth_time`, `default_max_age` in seconds, `logo_uri`,
/// `policy_uri`, `tos_uri`, `client_uri`), and the rest of RFC 7591 and
/// OpenID Connect Registration (`application_type`, `contacts`, `jwks_uri`,
/// `software_id`, `software_version`, `client_secret_expires_at`,
/// `token_endpoint_auth_signing_alg`, `request_object_signing_alg`) with
/// `allowed_cors_origins`, `owner` and a free-form `metadata` object (see
/// [`RegistrationFields`]). Deserialising checks the client as
/// [`ClientBuilder::build`] does; serialising never writes a clear secret
/// (the shared secret of a `client_secret_jwt` client is left out).
///
/// ```
/// use portcullis::{Client, ClientId, GrantType, ScopeSet, SecretHash};
/// let client = Client::confidential(ClientId::parse("svc").unwrap(), SecretHash::sha256("s"))
///     .client_name("Billing service")
///     .grant_type(GrantType::ClientCredentials)
///     .scope(ScopeSet::parse("invoices:read").unwrap())
///     .build()
///     .unwrap();
/// assert!(client.is_confidential());
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    client_id: ClientId,
    client_name: String,
    secret: Option<SecretHash>,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    scope: ScopeSet,
    default_scope: Option<ScopeSet>,
    token_endpoint_auth_method: AuthMethod,
    enabled: bool,
    skip_consent: bool,
    allow_plain_pkce: bool,
    access_token_lifetime: Option<Duration>,
    refresh_token_lifetime: Option<Duration>,
    access_token_format: AccessTokenFormat,
    jwks: Option<String>,
    jwt_secret: Option<Secret<String>>,
    resource_server_audiences: Vec<Audience>,
    /// Shared until changed, so a clone stays cheap.
    openid: Arc<OpenIdRegistration>,
    // Pushed and signed authorization requests (issue 17, PA-02, JR-01).
    require_pushed_authorization_requests: bool,
    require_signed_request_object: bool,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2; DP-02).
    dpop_bound_access_tokens: bool,
    // Resource indicators (RFC 8707, issue 17).
    /// The resources (audiences) this client may ask tokens for, beside
    /// the server-wide `Config::resources` (RI-01).
    resources: Vec<Resource>,
    // The full client model (issue 19): the remaining RFC 7591 and OpenID
    // Connect Registration fields, shared until changed.
    registration: Arc<RegistrationFields>,
    // Dynamic client registration (RFC 7592, issue 19 part 2).
    /// The hash of the registration access token (RFC 7592 §1), for a
    /// client registered over HTTP; `None` for any other.
    registration_access_token: Option<SecretHash>,
}

/// Why a client registration is inconsistent.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Public clients use `none`; confidential ones must not.
    #[error("token_endpoint_auth_method does not fit the client kind")]
    AuthMethodMismatch,
    /// Public clients may not use `client_credentials` (CA-04, CC-01).
    #[error("public clients may not use client_credentials")]
    PublicClientCredentials,
    /// The `authorization_code` grant needs at least one redirect URI.
    #[error("authorization_code requires a redirect URI")]
    MissingRedirectUri,
    /// The default scope must be within the allowed scope.
    #[error("default scope is not within the allowed scope")]
    DefaultScopeNotAllowed,
    /// Lifetimes must be at least one second (they are counted in whole
    /// seconds).
    #[error("token lifetime must be at least one second")]
    ZeroLifetime,
    /// `private_key_jwt` needs a JWKS with at least one usable public key.
    #[error("private_key_jwt requires a JWKS with a usable signing key")]
    InvalidJwks,
    /// `client_secret_jwt` needs a secret of at least 32 bytes.
    #[error("client_secret_jwt requires a secret of at least 32 bytes")]
    WeakJwtSecret,
    /// A redirect URI uses plain `http` on a host other than the loopback
    /// interface: authorization responses must not cross the network
    /// unencrypted (RFC 9700 §2.6; loopback per RFC 8252 §7.3, §8.3).
    #[error("redirect URIs must use https (plain http only on loopback)")]
    InsecureRedirectUri,
    /// Only a confidential client may be a resource server: introspection
    /// needs an authenticated caller (IN-01).
    #[error("a public client cannot be registered as a resource server")]
    PublicResourceServer,
    /// A post-logout redirect URI uses plain `http` on a host other than
    /// the loopback interface (the rule of redirect URIs; LO-01).
    #[error("post_logout_redirect_uris must use https (plain http only on loopback)")]
    InsecurePostLogoutRedirectUri,
    /// `backchannel_logout_uri` uses plain `http` for a public client:
    /// Back-Channel Logout 1.0 §2.2 allows `http` only for confidential
    /// clients (LO-02).
    #[error("backchannel_logout_uri must use https (plain http only for confidential clients)")]
    InsecureBackchannelLogoutUri,
    /// `sector_identifier_uri` must use `https` (OpenID Connect
    /// Registration 1.0 §2; plain `http` only on loopback).
    #[error("sector_identifier_uri must use https (plain http only on loopback)")]
    InsecureSectorIdentifierUri,
    /// A `pairwise` client needs a sector identifier: a
    /// `sector_identifier_uri`, or redirect URIs that all share one host
    /// (Core 1.0 §8.1; OI-04).
    #[error(
        "a pairwise client needs a sector_identifier_uri unless its redirect URIs share one host"
    )]
    MissingSectorIdentifier,
    // The full client model (issue 19).
    /// `jwks` and `jwks_uri` are both registered (RFC 7591 §2 forbids it).
    #[error("jwks and jwks_uri must not both be registered")]
    JwksAndJwksUri,
    /// `jwks_uri` uses plain `http` on a host other than the loopback
    /// interface.
    #[error("jwks_uri must use https (plain http only on loopback)")]
    InsecureJwksUri,
    /// A `native` client registered a redirect URI that is neither a
    /// private-use scheme nor `http` on `localhost`, `127.0.0.1` or `[::1]`
    /// (OpenID Connect Registration 1.0 §2).
    #[error("a native client's redirect URIs must use a private scheme or http on loopback")]
    NativeRedirectUri,
    /// `token_endpoint_auth_signing_alg` does not fit the method: `HS256`
    /// only for `client_secret_jwt`, a public-key algorithm only for
    /// `private_key_jwt`.
    #[error("token_endpoint_auth_signing_alg does not fit token_endpoint_auth_method")]
    AuthSigningAlgMismatch,
    /// `request_object_signing_alg` is `HS256` for a client without a
    /// shared secret (only `client_secret_jwt` clients have one).
    #[error("request_object_signing_alg HS256 needs a client_secret_jwt client")]
    RequestObjectAlgMismatch,
    /// A text field (`contacts`, `software_id`, `software_version`,
    /// `owner`) is empty, longer than 1024 bytes or holds a control
    /// character.
    #[error("{0} must be non-empty text without control characters (at most 1024 bytes)")]
    InvalidText(&'static str),
}

/// Whether `uri` may receive authorization responses: anything but plain
/// `http`, or `http` to `127.0.0.0/8`, `[::1]` or `localhost`.
fn transport_ok(uri: &RedirectUri) -> bool {
    let Ok(url) = url::Url::parse(uri.as_str()) else {
        return false;
    };
    if url.scheme() != "http" {
        return true;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl Client {
    /// Starts a confidential client, authenticating with a secret
    /// (`client_secret_basic` unless changed).
    pub fn confidential(client_id: ClientId, secret: SecretHash) -> ClientBuilder {
        ClientBuilder::new(client_id, Some(secret), AuthMethod::ClientSecretBasic)
    }

    /// Starts a confidential client authenticating with `private_key_jwt`:
    /// `jwks` is its public JWKS document (`{"keys": [...]}`), as JSON.
    pub fn private_key_jwt(client_id: ClientId, jwks: impl Into<String>) -> ClientBuilder {
        let mut b = ClientBuilder::new(client_id, None, AuthMethod::PrivateKeyJwt);
        b.0.jwks = Some(jwks.into());
        b
    }

    /// Starts a confidential client authenticating with
    /// `client_secret_jwt`. The secret is kept in clear (HMAC needs it), so
    /// a copy of the store can forge this client's assertions.
    pub fn client_secret_jwt(client_id: ClientId, secret: Secret<String>) -> ClientBuilder {
        let mut b = ClientBuilder::new(client_id, None, AuthMethod::ClientSecretJwt);
        b.0.jwt_secret = Some(secret);
        b
    }

    /// Starts a public client (`none`): no secret, PKCE always required.
    pub fn public(client_id: ClientId) -> ClientBuilder {
        ClientBuilder::new(client_id, None, AuthMethod::None)
    }

    /// Turns this client back into a builder, to change it.
    pub fn into_builder(self) -> ClientBuilder {
        ClientBuilder(self)
    }

    /// `client_id`.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// `client_name`.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }
    /// The stored secret hash; `None` for public clients.
    pub fn secret_hash(&self) -> Option<&SecretHash> {
        self.secret.as_ref()
    }
    /// Whether the client authenticates (every method but `none`).
    pub fn is_confidential(&self) -> bool {
        self.token_endpoint_auth_method != AuthMethod::None
    }
    /// The registered JWKS (JSON): the keys of a `private_key_jwt`
    /// client's assertions, and of any client's signed request objects
    /// (RFC 9101).
    pub fn jwks(&self) -> Option<&str> {
        self.jwks.as_deref()
    }
    /// The shared secret of a `client_secret_jwt` client.
    pub fn jwt_secret(&self) -> Option<&Secret<String>> {
        self.jwt_secret.as_ref()
    }
    /// `redirect_uris`.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }
    /// `grant_types`.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }
    /// Whether the client may use `grant` (given by value or by reference).
    pub fn allows_grant(&self, grant: impl std::borrow::Borrow<GrantType>) -> bool {
        self.grant_types.contains(grant.borrow())
    }
    /// `scope`: every scope the client may be granted.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }
    /// The scope granted when a request names none.
    pub fn default_scope(&self) -> Option<&ScopeSet> {
        self.default_scope.as_ref()
    }
    /// `token_endpoint_auth_method`.
    pub fn token_endpoint_auth_method(&self) -> AuthMethod {
        self.token_endpoint_auth_method
    }
    /// Whether the client is enabled; disabled clients cannot authenticate
    /// or authorize (CA-07).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// Whether users are not asked for consent.
    pub fn skips_consent(&self) -> bool {
        self.skip_consent
    }
    /// Whether the client may use the `plain` PKCE method (PK-01).
    pub fn allows_plain_pkce(&self) -> bool {
        self.allow_plain_pkce
    }
    /// Per-client access token lifetime, if set.
    pub fn access_token_lifetime(&self) -> Option<Duration> {
        self.access_token_lifetime
    }
    /// Per-client refresh token lifetime, if set.
    pub fn refresh_token_lifetime(&self) -> Option<Duration> {
        self.refresh_token_lifetime
    }
    /// The format of this client's access tokens.
    pub fn access_token_format(&self) -> AccessTokenFormat {
        self.access_token_format
    }
    /// The audiences this client serves as a resource server: at the
    /// introspection endpoint it learns whether access tokens for these
    /// audiences are active, whoever they were issued to (IN-01).
    pub fn resource_server_audiences(&self) -> &[Audience] {
        &self.resource_server_audiences
    }
    /// Whether this client is registered as a resource server for
    /// `audience`.
    pub fn is_resource_server_for(&self, audience: &str) -> bool {
        self.resource_server_audiences
            .iter()
            .any(|a| a.as_str() == audience)
    }

    /// All the OpenID Connect registration fields, as one value (each also
    /// has its getter below).
    pub fn openid_registration(&self) -> &OpenIdRegistration {
        &self.openid
    }
    /// `id_token_signed_response_alg`: how this client's ID Tokens are
    /// signed; `None` means the server's default, `RS256` (Core 1.0 §15.1).
    pub fn id_token_signed_response_alg(&self) -> Option<Algorithm> {
        self.openid.id_token_signed_response_alg
    }
    /// `userinfo_signed_response_alg`: `None` for plain JSON UserInfo
    /// answers, else a JWT signed with this algorithm.
    pub fn userinfo_signed_response_alg(&self) -> Option<Algorithm> {
        self.openid.userinfo_signed_response_alg
    }
    /// `subject_type`: `public` (default) or `pairwise` (OI-04).
    pub fn subject_type(&self) -> SubjectType {
        self.openid.subject_type
    }
    /// `sector_identifier_uri`, as registered. The server does no network
    /// I/O: it does not fetch the document, it only takes its host as the
    /// sector identifier.
    pub fn sector_identifier_uri(&self) -> Option<&WebUrl> {
        self.openid.sector_identifier_uri.as_ref()
    }
    /// The sector identifier pairwise subjects are computed for (Core 1.0
    /// §8.1): the host of `sector_identifier_uri` when registered, else
    /// the host every redirect URI shares. Always `Some` for a `pairwise`
    /// client; `None` for a `public` one whose redirect URIs name no single
    /// host.
    pub fn sector_identifier(&self) -> Option<&str> {
        self.openid.sector_identifier.as_deref()
    }
    /// `post_logout_redirect_uris` (RP-Initiated Logout 1.0 §3.1; LO-01).
    pub fn post_logout_redirect_uris(&self) -> &[RedirectUri] {
        &self.openid.post_logout_redirect_uris
    }
    /// The registered post-logout redirect URI that is exactly `requested`
    /// (simple string comparison, with no allowance for a loopback port, an
    /// added query or a changed case: the end-session step's rule); `None`
    /// if none is (LO-01).
    pub fn post_logout_redirect_uri(&self, requested: &str) -> Option<&RedirectUri> {
        self.openid
            .post_logout_redirect_uris
            .iter()
            .find(|u| u.as_str() == requested)
    }
    /// `backchannel_logout_uri`: where the host POSTs this client's Logout
    /// Tokens (Back-Channel Logout 1.0 §2.2; LO-02).
    pub fn backchannel_logout_uri(&self) -> Option<&WebUrl> {
        self.openid.backchannel_logout_uri.as_ref()
    }
    /// `backchannel_logout_session_required`: whether Logout Tokens (and
    /// ID Tokens) must carry `sid` (LO-02).
    pub fn backchannel_logout_session_required(&self) -> bool {
        self.openid.backchannel_logout_session_required
    }
    /// `require_auth_time`: whether ID Tokens always carry `auth_time`.
    pub fn require_auth_time(&self) -> bool {
        self.openid.require_auth_time
    }
    /// `default_max_age`: the `max_age` applied when a request sends none
    /// (whole seconds).
    pub fn default_max_age(&self) -> Option<Duration> {
        self.openid.default_max_age
    }
    /// `logo_uri`: the client's logo, for login and consent pages.
    pub fn logo_uri(&self) -> Option<&WebUrl> {
        self.openid.logo_uri.as_ref()
    }
    /// `policy_uri`: the client's privacy policy, shown to users.
    pub fn policy_uri(&self) -> Option<&WebUrl> {
        self.openid.policy_uri.as_ref()
    }
    /// `tos_uri`: the client's terms of service, shown to users.
    pub fn tos_uri(&self) -> Option<&WebUrl> {
        self.openid.tos_uri.as_ref()
    }
    /// `client_uri`: the client's home page.
    pub fn client_uri(&self) -> Option<&WebUrl> {
        self.openid.client_uri.as_ref()
    }

    /// Whether this client must push its authorization requests (RFC 9126
    /// §6, `require_pushed_authorization_requests`; PA-02): a request at
    /// the authorization endpoint without a `request_uri` is refused.
    pub fn requires_pushed_authorization_requests(&self) -> bool {
        self.require_pushed_authorization_requests
    }

    /// Whether this client's authorization requests must come in a signed
    /// request object (RFC 9101 §10.5, `require_signed_request_object`;
    /// JR-01), by value or pushed.
    pub fn requires_signed_request_object(&self) -> bool {
        self.require_signed_request_object
    }

    /// `dpop_bound_access_tokens` (RFC 9449 §5.2): whether the client
    /// always uses DPoP, so that a token request without a proof is refused
    /// (`invalid_dpop_proof`; DP-02).
    pub fn dpop_bound_access_tokens(&self) -> bool {
        self.dpop_bound_access_tokens
    }

    /// The resources (RFC 8707 resource indicators) this client may ask
    /// tokens for with `resource`, beside the server-wide
    /// `Config::resources` (RI-01). A token issued for resources has them
    /// as its `aud`.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }
}

// The full client model (issue 19).
impl Client {
    /// Starts a confidential client authenticating with `private_key_jwt`
    /// whose keys are published at `jwks_uri` (fetched by the host through
    /// a `JwksFetcher`).
    pub fn private_key_jwt_uri(client_id: ClientId, jwks_uri: WebUrl) -> ClientBuilder {
        ClientBuilder::new(client_id, None, AuthMethod::PrivateKeyJwt).jwks_uri(jwks_uri)
    }

    /// All the registration fields of issue 19, as one value (each also
    /// has its getter below).
    pub fn registration(&self) -> &RegistrationFields {
        &self.registration
    }
    /// `application_type`: `web` (default) or `native`.
    pub fn application_type(&self) -> ApplicationType {
        self.registration.application_type
    }
    /// `contacts`.
    pub fn contacts(&self) -> &[String] {
        &self.registration.contacts
    }
    /// `jwks_uri`: where the client publishes its keys.
    pub fn jwks_uri(&self) -> Option<&WebUrl> {
        self.registration.jwks_uri.as_ref()
    }
    /// `software_id`.
    pub fn software_id(&self) -> Option<&str> {
        self.registration.software_id.as_deref()
    }
    /// `software_version`.
    pub fn software_version(&self) -> Option<&str> {
        self.registration.software_version.as_deref()
    }
    /// `client_secret_expires_at`: when the secret stops working; `None`
    /// for never.
    pub fn client_secret_expires_at(&self) -> Option<crate::clock::UnixTime> {
        self.registration.client_secret_expires_at
    }
    /// Whether the client's secret (of `client_secret_basic`,
    /// `client_secret_post` or `client_secret_jwt`) has expired at `now`.
    pub fn secret_expired(&self, now: crate::clock::UnixTime) -> bool {
        self.registration
            .client_secret_expires_at
            .is_some_and(|at| now >= at)
    }
    /// `token_endpoint_auth_signing_alg`: the only algorithm accepted for
    /// this client's assertions; `None` for any the server allows.
    pub fn token_endpoint_auth_signing_alg(&self) -> Option<ClientSigningAlg> {
        self.registration.token_endpoint_auth_signing_alg
    }
    /// `request_object_signing_alg`: the only algorithm accepted for this
    /// client's request objects; `None` for any the server allows.
    pub fn request_object_signing_alg(&self) -> Option<ClientSigningAlg> {
        self.registration.request_object_signing_alg
    }
    /// `allowed_cors_origins`.
    pub fn allowed_cors_origins(&self) -> &[crate::origin::Origin] {
        &self.registration.allowed_cors_origins
    }
    /// Whether `origin` (an `Origin` header) is one of
    /// `allowed_cors_origins`.
    pub fn allows_cors_origin(&self, origin: &str) -> bool {
        self.registration
            .allowed_cors_origins
            .iter()
            .any(|o| o.as_str() == origin)
    }
    /// `owner`.
    pub fn owner(&self) -> Option<&str> {
        self.registration.owner.as_deref()
    }
    /// `metadata`: the host's free-form object (empty for none).
    pub fn metadata(&self) -> &ClientMetadataObject {
        &self.registration.metadata
    }
}

/// Builds a [`Client`]; [`ClientBuilder::build`] checks that it is coherent.
#[derive(Clone, Debug)]
pub struct ClientBuilder(Client);

impl ClientBuilder {
    fn new(client_id: ClientId, secret: Option<SecretHash>, method: AuthMethod) -> Self {
        Self(Client {
            client_name: client_id.as_str().to_owned(),
            client_id,
            secret,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scope: ScopeSet::empty(),
            default_scope: None,
            token_endpoint_auth_method: method,
            enabled: true,
            skip_consent: false,
            allow_plain_pkce: false,
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            access_token_format: AccessTokenFormat::Opaque,
            jwks: None,
            jwt_secret: None,
            resource_server_audiences: Vec::new(),
            openid: Arc::default(),
            require_pushed_authorization_requests: false,
            require_signed_request_object: false,
            dpop_bound_access_tokens: false,
            resources: Vec::new(),
            registration: Arc::default(),
            registration_access_token: None,
        })
    }

    /// The OpenID Connect fields, copied only if shared.
    fn openid(&mut self) -> &mut OpenIdRegistration {
        Arc::make_mut(&mut self.0.openid)
    }

    /// Sets `client_name` (shown on the consent page).
    #[must_use]
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.0.client_name = name.into();
        self
    }
    /// Adds a redirect URI.
    #[must_use]
    pub fn redirect_uri(mut self, uri: RedirectUri) -> Self {
        if !self.0.redirect_uris.contains(&uri) {
            self.0.redirect_uris.push(uri);
        }
        self
    }
    /// Removes a redirect URI.
    #[must_use]
    pub fn remove_redirect_uri(mut self, uri: &RedirectUri) -> Self {
        self.0.redirect_uris.retain(|u| u != uri);
        self
    }
    /// Allows a grant type.
    #[must_use]
    pub fn grant_type(mut self, grant: GrantType) -> Self {
        if !self.0.grant_types.contains(&grant) {
            self.0.grant_types.push(grant);
        }
        self
    }
    /// Removes a grant type.
    #[must_use]
    pub fn remove_grant_type(mut self, grant: impl std::borrow::Borrow<GrantType>) -> Self {
        self.0.grant_types.retain(|g| g != grant.borrow());
        self
    }
    /// Sets the allowed scope.
    #[must_use]
    pub fn scope(mut self, scope: ScopeSet) -> Self {
        self.0.scope = scope;
        self
    }
    /// Sets the scope granted when a request names none.
    #[must_use]
    pub fn default_scope(mut self, scope: ScopeSet) -> Self {
        self.0.default_scope = Some(scope);
        self
    }
    /// Sets `token_endpoint_auth_method` (confidential clients:
    /// `client_secret_basic` or `client_secret_post`).
    #[must_use]
    pub fn token_endpoint_auth_method(mut self, method: AuthMethod) -> Self {
        self.0.token_endpoint_auth_method = method;
        self
    }
    /// Replaces the secret hash (secret rotation).
    #[must_use]
    pub fn secret(mut self, secret: SecretHash) -> Self {
        self.0.secret = Some(secret);
        self
    }
    /// Enables or disables the client (CA-07).
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.0.enabled = enabled;
        self
    }
    /// Whether users skip the consent page for this (first-party) client.
    #[must_use]
    pub fn skip_consent(mut self, skip: bool) -> Self {
        self.0.skip_consent = skip;
        self
    }
    /// Lets this client use PKCE `plain` (PK-01). Only for clients that
    /// cannot compute SHA-256; the server must allow it too.
    #[must_use]
    pub fn dangerous_allow_plain_pkce(mut self, allow: bool) -> Self {
        self.0.allow_plain_pkce = allow;
        self
    }
    /// Overrides the server's access token lifetime (whole seconds; at
    /// least one).
    #[must_use]
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.0.access_token_lifetime = Some(lifetime);
        self
    }
    /// Overrides the server's refresh token lifetime (whole seconds; at
    /// least one).
    #[must_use]
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.0.refresh_token_lifetime = Some(lifetime);
        self
    }

    /// Registers this (confidential) client as a resource server for
    /// `audience`: it may introspect access tokens issued to any client
    /// for that audience. Every access token's audience is
    /// `Config::audience()` (IN-01).
    #[must_use]
    pub fn resource_server_for(mut self, audience: Audience) -> Self {
        if !self.0.resource_server_audiences.contains(&audience) {
            self.0.resource_server_audiences.push(audience);
        }
        self
    }
    /// Withdraws a resource-server audience.
    #[must_use]
    pub fn remove_resource_server_for(mut self, audience: &Audience) -> Self {
        self.0.resource_server_audiences.retain(|a| a != audience);
        self
    }

    /// Allows the client to ask tokens for `resource` (RFC 8707, RI-01).
    #[must_use]
    pub fn resource(mut self, resource: Resource) -> Self {
        if !self.0.resources.contains(&resource) {
            self.0.resources.push(resource);
        }
        self
    }
    /// Withdraws an allowed resource.
    #[must_use]
    pub fn remove_resource(mut self, resource: &Resource) -> Self {
        self.0.resources.retain(|r| r != resource);
        self
    }

    /// Sets the access token format (opaque by default).
    #[must_use]
    pub fn access_token_format(mut self, format: AccessTokenFormat) -> Self {
        self.0.access_token_format = format;
        self
    }

    /// Sets all the OpenID Connect registration fields at once (as the
    /// setters below do one by one); `build()` checks them.
    #[must_use]
    pub fn openid_registration(mut self, mut registration: OpenIdRegistration) -> Self {
        let max_age = registration.default_max_age;
        // Each post-logout URI once, in the order given, as
        // `post_logout_redirect_uri` keeps them.
        let uris = std::mem::take(&mut registration.post_logout_redirect_uris);
        *self.openid() = registration;
        for uri in uris {
            self = self.post_logout_redirect_uri(uri);
        }
        self.default_max_age(max_age)
    }
    /// Sets `id_token_signed_response_alg`; `None` for the server's
    /// default (`RS256`).
    #[must_use]
    pub fn id_token_signed_response_alg(mut self, alg: impl Into<Option<Algorithm>>) -> Self {
        self.openid().id_token_signed_response_alg = alg.into();
        self
    }
    /// Sets `userinfo_signed_response_alg`; `None` for plain JSON UserInfo
    /// answers.
    #[must_use]
    pub fn userinfo_signed_response_alg(mut self, alg: impl Into<Option<Algorithm>>) -> Self {
        self.openid().userinfo_signed_response_alg = alg.into();
        self
    }
    /// Sets `subject_type`. A `pairwise` client needs a sector identifier:
    /// a `sector_identifier_uri`, or redirect URIs on one host; the server
    /// needs `Config::pairwise_salt`.
    #[must_use]
    pub fn subject_type(mut self, subject_type: SubjectType) -> Self {
        self.openid().subject_type = subject_type;
        self
    }
    /// Sets `sector_identifier_uri` (`https`; plain `http` only on
    /// loopback); `None` to remove it. Only its host is used: the server
    /// does not fetch it.
    #[must_use]
    pub fn sector_identifier_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().sector_identifier_uri = uri.into();
        self
    }
    /// Adds a post-logout redirect URI (the transport rule of redirect
    /// URIs applies).
    #[must_use]
    pub fn post_logout_redirect_uri(mut self, uri: RedirectUri) -> Self {
        let uris = &mut self.openid().post_logout_redirect_uris;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
        self
    }
    /// Removes a post-logout redirect URI.
    #[must_use]
    pub fn remove_post_logout_redirect_uri(mut self, uri: &RedirectUri) -> Self {
        self.openid().post_logout_redirect_uris.retain(|u| u != uri);
        self
    }
    /// Sets `backchannel_logout_uri` (`https`; plain `http` only for a
    /// confidential client); `None` to remove it.
    #[must_use]
    pub fn backchannel_logout_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().backchannel_logout_uri = uri.into();
        self
    }
    /// Sets `backchannel_logout_session_required`.
    #[must_use]
    pub fn backchannel_logout_session_required(mut self, required: bool) -> Self {
        self.openid().backchannel_logout_session_required = required;
        self
    }
    /// Sets `require_auth_time`.
    #[must_use]
    pub fn require_auth_time(mut self, required: bool) -> Self {
        self.openid().require_auth_time = required;
        self
    }
    /// Sets `default_max_age`, in whole seconds (a fraction is dropped;
    /// zero means every request re-authenticates); `None` to remove it.
    #[must_use]
    pub fn default_max_age(mut self, max_age: impl Into<Option<Duration>>) -> Self {
        self.openid().default_max_age = max_age.into().map(|d| Duration::from_secs(d.as_secs()));
        self
    }
    /// Sets `logo_uri`; `None` to remove it.
    #[must_use]
    pub fn logo_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().logo_uri = uri.into();
        self
    }
    /// Sets `policy_uri`; `None` to remove it.
    #[must_use]
    pub fn policy_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().policy_uri = uri.into();
        self
    }
    /// Sets `tos_uri`; `None` to remove it.
    #[must_use]
    pub fn tos_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().tos_uri = uri.into();
        self
    }
    /// Sets `client_uri`; `None` to remove it.
    #[must_use]
    pub fn client_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.openid().client_uri = uri.into();
        self
    }
    /// Sets `dpop_bound_access_tokens` (RFC 9449 §5.2): the client must
    /// send a DPoP proof with every token request (DP-02).
    #[must_use]
    pub fn dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.0.dpop_bound_access_tokens = required;
        self
    }

    /// Sets the client's JWKS document (`{"keys": [...]}`, as JSON), for
    /// a client that signs request objects (RFC 9101) without
    /// authenticating by `private_key_jwt`; `None` to remove it (not for a
    /// `private_key_jwt` client, which needs it).
    #[must_use]
    pub fn jwks(mut self, jwks: impl Into<Option<String>>) -> Self {
        self.0.jwks = jwks.into();
        self
    }
    /// Sets `require_pushed_authorization_requests` (RFC 9126 §6; PA-02).
    #[must_use]
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.0.require_pushed_authorization_requests = required;
        self
    }
    /// Sets `require_signed_request_object` (RFC 9101 §10.5; JR-01).
    #[must_use]
    pub fn require_signed_request_object(mut self, required: bool) -> Self {
        self.0.require_signed_request_object = required;
        self
    }

    /// Checks the registration and returns the client.
    pub fn build(mut self) -> Result<Client, ClientError> {
        self.check_openid()?;
        self.check_registration()?;
        let c = self.0;
        let method = c.token_endpoint_auth_method;
        let public = method == AuthMethod::None;
        let fits = match method {
            // A public client may register a JWKS: it signs request
            // objects with it (RFC 9101, JR-01), never authenticates.
            AuthMethod::None => c.secret.is_none() && c.jwt_secret.is_none(),
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => c.secret.is_some(),
            AuthMethod::PrivateKeyJwt => c.jwks.is_some() || c.registration.jwks_uri.is_some(),
            AuthMethod::ClientSecretJwt => c.jwt_secret.is_some(),
        };
        if !fits {
            return Err(ClientError::AuthMethodMismatch);
        }
        if let Some(jwks) = &c.jwks {
            let doc: serde_json::Value =
                serde_json::from_str(jwks).map_err(|_| ClientError::InvalidJwks)?;
            if crate::keys::jwk::parse_jwks(&doc).is_empty() {
                return Err(ClientError::InvalidJwks);
            }
        }
        if c.jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < 32)
        {
            return Err(ClientError::WeakJwtSecret);
        }
        if public && c.allows_grant(GrantType::ClientCredentials) {
            return Err(ClientError::PublicClientCredentials);
        }
        if c.allows_grant(GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
            return Err(ClientError::MissingRedirectUri);
        }
        if !c.redirect_uris.iter().all(transport_ok) {
            return Err(ClientError::InsecureRedirectUri);
        }
        if public && !c.resource_server_audiences.is_empty() {
            return Err(ClientError::PublicResourceServer);
        }
        if let Some(d) = &c.default_scope {
            if !d.is_subset_of(&c.scope) {
                return Err(ClientError::DefaultScopeNotAllowed);
            }
        }
        let too_short = |l: Option<Duration>| l.is_some_and(|l| l.as_secs() == 0);
        if too_short(c.access_token_lifetime) || too_short(c.refresh_token_lifetime) {
            return Err(ClientError::ZeroLifetime);
        }
        Ok(c)
    }
}

// The full client model (issue 19).
impl ClientBuilder {
    /// The registration fields, copied only if shared.
    fn reg(&mut self) -> &mut RegistrationFields {
        Arc::make_mut(&mut self.0.registration)
    }

    /// Sets all the registration fields of issue 19 at once (as the
    /// setters below do one by one); `build()` checks them.
    #[must_use]
    pub fn registration(mut self, mut fields: RegistrationFields) -> Self {
        dedup(&mut fields.contacts);
        dedup(&mut fields.allowed_cors_origins);
        *self.reg() = fields;
        self
    }
    /// Sets `application_type`.
    #[must_use]
    pub fn application_type(mut self, t: ApplicationType) -> Self {
        self.reg().application_type = t;
        self
    }
    /// Adds a contact (typically an e-mail address).
    #[must_use]
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        let contact = contact.into();
        let list = &mut self.reg().contacts;
        if !list.contains(&contact) {
            list.push(contact);
        }
        self
    }
    /// Removes a contact.
    #[must_use]
    pub fn remove_contact(mut self, contact: &str) -> Self {
        self.reg().contacts.retain(|c| c != contact);
        self
    }
    /// Sets `jwks_uri` (`https`; plain `http` only on loopback); `None` to
    /// remove it. Not with `jwks`.
    #[must_use]
    pub fn jwks_uri(mut self, uri: impl Into<Option<WebUrl>>) -> Self {
        self.reg().jwks_uri = uri.into();
        self
    }
    /// Sets `software_id`; `None` to remove it.
    #[must_use]
    pub fn software_id(mut self, id: impl Into<Option<String>>) -> Self {
        self.reg().software_id = id.into();
        self
    }
    /// Sets `software_version`; `None` to remove it.
    #[must_use]
    pub fn software_version(mut self, version: impl Into<Option<String>>) -> Self {
        self.reg().software_version = version.into();
        self
    }
    /// Sets `client_secret_expires_at`; `None` for never.
    #[must_use]
    pub fn client_secret_expires_at(
        mut self,
        at: impl Into<Option<crate::clock::UnixTime>>,
    ) -> Self {
        self.reg().client_secret_expires_at = at.into();
        self
    }
    /// Sets `token_endpoint_auth_signing_alg`; `None` for any the server
    /// allows.
    #[must_use]
    pub fn token_endpoint_auth_signing_alg(
        mut self,
        alg: impl Into<Option<ClientSigningAlg>>,
    ) -> Self {
        self.reg().token_endpoint_auth_signing_alg = alg.into();
        self
    }
    /// Sets `request_object_signing_alg`; `None` for any the server allows.
    #[must_use]
    pub fn request_object_signing_alg(mut self, alg: impl Into<Option<ClientSigningAlg>>) -> Self {
        self.reg().request_object_signing_alg = alg.into();
        self
    }
    /// Adds an allowed CORS origin.
    #[must_use]
    pub fn allowed_cors_origin(mut self, origin: crate::origin::Origin) -> Self {
        let list = &mut self.reg().allowed_cors_origins;
        if !list.contains(&origin) {
            list.push(origin);
        }
        self
    }
    /// Removes an allowed CORS origin.
    #[must_use]
    pub fn remove_allowed_cors_origin(mut self, origin: &crate::origin::Origin) -> Self {
        self.reg().allowed_cors_origins.retain(|o| o != origin);
        self
    }
    /// Sets `owner`; `None` to remove it.
    #[must_use]
    pub fn owner(mut self, owner: impl Into<Option<String>>) -> Self {
        self.reg().owner = owner.into();
        self
    }
    /// Sets the free-form `metadata` object (empty for none).
    #[must_use]
    pub fn metadata(mut self, metadata: ClientMetadataObject) -> Self {
        self.reg().metadata = metadata;
        self
    }

    /// Checks the registration fields of issue 19.
    fn check_registration(&self) -> Result<(), ClientError> {
        let c = &self.0;
        let r = &c.registration;
        if r.jwks_uri.is_some() && c.jwks.is_some() {
            return Err(ClientError::JwksAndJwksUri);
        }
        if r.jwks_uri
            .as_ref()
            .is_some_and(|u| !u.is_https() && !u.is_loopback())
        {
            return Err(ClientError::InsecureJwksUri);
        }
        if r.application_type == ApplicationType::Native
            && !c.redirect_uris.iter().all(registration::native_redirect_ok)
        {
            return Err(ClientError::NativeRedirectUri);
        }
        let method = c.token_endpoint_auth_method;
        match r.token_endpoint_auth_signing_alg {
            None => {}
            Some(ClientSigningAlg::Hs256) if method == AuthMethod::ClientSecretJwt => {}
            Some(ClientSigningAlg::Key(_)) if method == AuthMethod::PrivateKeyJwt => {}
            Some(_) => return Err(ClientError::AuthSigningAlgMismatch),
        }
        if r.request_object_signing_alg == Some(ClientSigningAlg::Hs256)
            && method != AuthMethod::ClientSecretJwt
        {
            return Err(ClientError::RequestObjectAlgMismatch);
        }
        let texts = r.contacts.iter().map(|c| ("contacts", Some(c))).chain([
            ("software_id", r.software_id.as_ref()),
            ("software_version", r.software_version.as_ref()),
            ("owner", r.owner.as_ref()),
        ]);
        for (field, value) in texts {
            if value.is_some_and(|v| !registration::text_ok(v)) {
                return Err(ClientError::InvalidText(field));
            }
        }
        Ok(())
    }
}

// Dynamic client registration (RFC 7592, issue 19 part 2).
impl Client {
    /// The hash of the registration access token (RFC 7592 §1) that reads,
    /// updates and deletes this client at its client configuration
    /// endpoint: set for clients registered over HTTP, `None` for any other
    /// (which the client configuration endpoint then refuses). Only the hash
    /// is kept; the token is shown once, in the registration response.
    pub fn registration_access_token_hash(&self) -> Option<&SecretHash> {
        self.registration_access_token.as_ref()
    }
}

impl ClientBuilder {
    /// Sets (or, with `None`, removes) the hash of the client's
    /// registration access token (RFC 7592 §1). The registration endpoint
    /// sets it; an operator may remove it to take the client out of
    /// self-service.
    #[must_use]
    pub fn registration_access_token_hash(mut self, hash: impl Into<Option<SecretHash>>) -> Self {
        self.0.registration_access_token = hash.into();
        self
    }
}

/// Keeps the first of each value, in order.
fn dedup<T: PartialEq>(list: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(list.len());
    for v in list.drain(..) {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    *list = seen;
}

impl ClientBuilder {
    /// Checks the OpenID Connect fields and derives the sector identifier.
    fn check_openid(&mut self) -> Result<(), ClientError> {
        let confidential = self.0.token_endpoint_auth_method != AuthMethod::None;
        let o = &self.0.openid;
        if !o.post_logout_redirect_uris.iter().all(transport_ok) {
            return Err(ClientError::InsecurePostLogoutRedirectUri);
        }
        if o.backchannel_logout_uri
            .as_ref()
            .is_some_and(|u| !u.is_https() && !confidential)
        {
            return Err(ClientError::InsecureBackchannelLogoutUri);
        }
        if o.sector_identifier_uri
            .as_ref()
            .is_some_and(|u| !u.is_https() && !u.is_loopback())
        {
            return Err(ClientError::InsecureSectorIdentifierUri);
        }
        let sector =
            openid::sector_identifier(o.sector_identifier_uri.as_ref(), &self.0.redirect_uris);
        if o.subject_type == SubjectType::Pairwise && sector.is_none() {
            return Err(ClientError::MissingSectorIdentifier);
        }
        if o.sector_identifier != sector {
            self.openid().sector_identifier = sector;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }

    #[test]
    fn public_clients_cannot_use_client_credentials() {
        // covers: CA-04
        let r = Client::public(id("spa"))
            .grant_type(GrantType::ClientCredentials)
            .build();
        assert_eq!(r.unwrap_err(), ClientError::PublicClientCredentials);
    }

    #[test]
    fn auth_method_must_fit_kind() {
        let r = Client::confidential(id("c"), SecretHash::sha256("x"))
            .token_endpoint_auth_method(AuthMethod::None)
            .build();
        assert_eq!(r.unwrap_err(), ClientError::AuthMethodMismatch);
    }

    #[test]
    fn plain_http_redirect_uris_only_on_loopback() {
        let with = |uri: &str| {
            Client::public(id("spa"))
                .redirect_uri(RedirectUri::parse(uri).unwrap())
                .build()
        };
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8765/callback",
            "http://127.1.2.3/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "http://10.0.0.1/cb",
            "HTTP://app.example/cb",
        ] {
            assert_eq!(
                with(bad).unwrap_err(),
                ClientError::InsecureRedirectUri,
                "{bad}"
            );
        }
    }

    fn url(s: &str) -> WebUrl {
        WebUrl::parse(s).unwrap()
    }

    fn uri(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap()
    }

    #[test]
    fn a_whole_registration_keeps_each_post_logout_uri_once() {
        // Review finding: setting the registration as one value (RFC 7591
        // metadata, the CLI) must not store a URI twice.
        let a = RedirectUri::parse("https://rp.example/bye").unwrap();
        let b = RedirectUri::parse("https://rp.example/later").unwrap();
        let openid = OpenIdRegistration {
            post_logout_redirect_uris: vec![a.clone(), b.clone(), a.clone()],
            ..OpenIdRegistration::default()
        };
        let c = Client::public(ClientId::parse("rp").unwrap())
            .redirect_uri(RedirectUri::parse("https://rp.example/cb").unwrap())
            .openid_registration(openid)
            .build()
            .unwrap();
        assert_eq!(c.post_logout_redirect_uris(), [a, b]);
    }

    #[test]
    fn openid_fields_default_and_round_trip_through_the_builder() {
        // issue 16
        let plain = Client::public(id("spa"))
            .redirect_uri(uri("https://a.example/cb"))
            .build()
            .unwrap();
        assert_eq!(plain.subject_type(), SubjectType::Public);
        assert_eq!(plain.id_token_signed_response_alg(), None);
        assert_eq!(plain.sector_identifier(), Some("a.example"));
        assert!(plain.post_logout_redirect_uris().is_empty());
        assert!(!plain.require_auth_time() && !plain.backchannel_logout_session_required());
        let c = plain
            .into_builder()
            .id_token_signed_response_alg(Algorithm::Es256)
            .userinfo_signed_response_alg(Algorithm::Rs256)
            .post_logout_redirect_uri(uri("https://a.example/bye"))
            .require_auth_time(true)
            .default_max_age(Duration::from_millis(90_500))
            .logo_uri(url("https://a.example/logo.png"))
            .policy_uri(url("https://a.example/privacy"))
            .tos_uri(url("https://a.example/terms"))
            .client_uri(url("https://a.example/"))
            .build()
            .unwrap();
        assert_eq!(c.id_token_signed_response_alg(), Some(Algorithm::Es256));
        assert_eq!(c.userinfo_signed_response_alg(), Some(Algorithm::Rs256));
        assert_eq!(c.default_max_age(), Some(Duration::from_secs(90)));
        assert_eq!(
            c.logo_uri().map(WebUrl::as_str),
            Some("https://a.example/logo.png")
        );
        assert_eq!(
            c.policy_uri().map(WebUrl::as_str),
            Some("https://a.example/privacy")
        );
        assert_eq!(
            c.tos_uri().map(WebUrl::as_str),
            Some("https://a.example/terms")
        );
        assert_eq!(
            c.client_uri().map(WebUrl::as_str),
            Some("https://a.example/")
        );
        assert!(c.require_auth_time());
        // Cleared with None.
        let cleared = c
            .clone()
            .into_builder()
            .id_token_signed_response_alg(None)
            .logo_uri(None)
            .default_max_age(None)
            .build()
            .unwrap();
        assert_eq!(cleared.id_token_signed_response_alg(), None);
        assert!(cleared.logo_uri().is_none() && cleared.default_max_age().is_none());
        // The original is untouched (the fields are shared until changed).
        assert_eq!(c.id_token_signed_response_alg(), Some(Algorithm::Es256));
    }

    #[test]
    fn post_logout_redirect_uris_follow_the_redirect_uri_rules() {
        // covers: LO-01
        // issue 16
        let c = Client::public(id("spa"))
            .post_logout_redirect_uri(uri("https://a.example/bye"))
            .post_logout_redirect_uri(uri("http://127.0.0.1:8765/logged-out"))
            .build()
            .unwrap();
        assert_eq!(c.post_logout_redirect_uris().len(), 2);
        assert!(
            c.post_logout_redirect_uri("https://a.example/bye")
                .is_some()
        );
        assert!(
            c.post_logout_redirect_uri("https://a.example/bye/")
                .is_none()
        );
        assert!(
            c.post_logout_redirect_uri("https://a.example/bye?x=1")
                .is_none()
        );
        // Unlike redirect URIs, no loopback port allowance: the end-session
        // step compares exactly (issue 16 review).
        assert!(
            c.post_logout_redirect_uri("http://127.0.0.1:9999/logged-out")
                .is_none()
        );
        assert!(
            c.post_logout_redirect_uri("http://127.0.0.1:8765/logged-out")
                .is_some()
        );
        let without = c
            .into_builder()
            .remove_post_logout_redirect_uri(&uri("https://a.example/bye"))
            .build()
            .unwrap();
        assert!(
            without
                .post_logout_redirect_uri("https://a.example/bye")
                .is_none()
        );
        let insecure = Client::public(id("spa"))
            .post_logout_redirect_uri(uri("http://a.example/bye"))
            .build();
        assert_eq!(
            insecure.unwrap_err(),
            ClientError::InsecurePostLogoutRedirectUri
        );
    }

    #[test]
    fn backchannel_logout_uri_is_https_or_http_for_confidential_clients() {
        // covers: LO-02
        // issue 16
        let http = url("http://127.0.0.1:8766/backchannel-logout");
        let conf = Client::confidential(id("rp"), SecretHash::sha256("s"))
            .backchannel_logout_uri(http.clone())
            .backchannel_logout_session_required(true)
            .build()
            .unwrap();
        assert_eq!(conf.backchannel_logout_uri(), Some(&http));
        assert!(conf.backchannel_logout_session_required());
        assert_eq!(
            Client::public(id("spa"))
                .backchannel_logout_uri(http)
                .build()
                .unwrap_err(),
            ClientError::InsecureBackchannelLogoutUri
        );
        assert!(
            Client::public(id("spa"))
                .backchannel_logout_uri(url("https://a.example/bcl"))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn a_pairwise_client_needs_one_sector() {
        // covers: OI-04
        // issue 16
        let spread = || {
            Client::public(id("spa"))
                .redirect_uri(uri("https://a.example/cb"))
                .redirect_uri(uri("https://b.example/cb"))
        };
        assert_eq!(spread().build().unwrap().sector_identifier(), None);
        assert_eq!(
            spread()
                .subject_type(SubjectType::Pairwise)
                .build()
                .unwrap_err(),
            ClientError::MissingSectorIdentifier
        );
        let c = spread()
            .subject_type(SubjectType::Pairwise)
            .sector_identifier_uri(url("https://sector.example/uris.json"))
            .build()
            .unwrap();
        assert_eq!(c.sector_identifier(), Some("sector.example"));
        // Without redirect URIs (a device or service client) the sector
        // must be registered.
        assert_eq!(
            Client::public(id("tv"))
                .subject_type(SubjectType::Pairwise)
                .build()
                .unwrap_err(),
            ClientError::MissingSectorIdentifier
        );
        // Removing the sector URI re-derives the sector at build().
        let derived = c
            .into_builder()
            .sector_identifier_uri(None)
            .remove_redirect_uri(&uri("https://b.example/cb"))
            .build()
            .unwrap();
        assert_eq!(derived.sector_identifier(), Some("a.example"));
        assert_eq!(
            spread()
                .sector_identifier_uri(url("http://sector.example/uris.json"))
                .build()
                .unwrap_err(),
            ClientError::InsecureSectorIdentifierUri
        );
    }

    #[test]
    fn client_id_syntax() {
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse("a\nb").is_none());
        assert!(ClientId::parse("a b:c").is_some());
    }
}

// The full client model (issue 19).
#[cfg(test)]
mod registration_tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::origin::Origin;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }
    fn uri(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap()
    }
    fn url(s: &str) -> WebUrl {
        WebUrl::parse(s).unwrap()
    }
    const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"ES256","use":"sig"}]}"#;

    #[test]
    fn every_field_round_trips_through_the_builder() {
        let mut meta = ClientMetadataObject::new();
        meta.insert("tenant".into(), serde_json::json!({"id": 7}));
        let c = Client::confidential(id("web"), SecretHash::sha256("s"))
            .redirect_uri(uri("https://app.example/cb"))
            .grant_type(GrantType::AuthorizationCode)
            .contact("ops@example.com")
            .contact("ops@example.com")
            .contact("dev@example.com")
            .software_id(Some("4NRB1-0XZABZI9E6-5SM3R".to_owned()))
            .software_version(Some("2.1".to_owned()))
            .client_secret_expires_at(UnixTime::from_secs(2_000_000_000))
            .allowed_cors_origin(Origin::parse("https://app.example").unwrap())
            .allowed_cors_origin(Origin::parse("https://app.example:443/").unwrap())
            .owner(Some("team-billing".to_owned()))
            .metadata(meta.clone())
            .build()
            .unwrap();
        assert_eq!(c.application_type(), ApplicationType::Web);
        assert_eq!(c.contacts(), ["ops@example.com", "dev@example.com"]);
        assert_eq!(c.software_id(), Some("4NRB1-0XZABZI9E6-5SM3R"));
        assert_eq!(c.software_version(), Some("2.1"));
        assert_eq!(
            c.client_secret_expires_at(),
            Some(UnixTime::from_secs(2_000_000_000))
        );
        assert!(!c.secret_expired(UnixTime::from_secs(1_999_999_999)));
        assert!(c.secret_expired(UnixTime::from_secs(2_000_000_000)));
        assert_eq!(c.allowed_cors_origins().len(), 1);
        assert!(c.allows_cors_origin("https://app.example"));
        assert!(!c.allows_cors_origin("https://app.example/"));
        assert_eq!(c.owner(), Some("team-billing"));
        assert_eq!(c.metadata(), &meta);
        // A whole value, as the CLI and RFC 7591 documents set it, keeps
        // each list entry once; the original is untouched by a change.
        let mut fields = c.registration().clone();
        fields.contacts.push("ops@example.com".into());
        let again = c
            .clone()
            .into_builder()
            .registration(fields)
            .build()
            .unwrap();
        assert_eq!(again.contacts(), c.contacts());
        let changed = c.clone().into_builder().owner(None).build().unwrap();
        assert_eq!(changed.owner(), None);
        assert_eq!(c.owner(), Some("team-billing"));
    }

    #[test]
    fn jwks_xor_jwks_uri() {
        // part of RG-01 (the metadata rules; the endpoint is issue 19 part 2)
        let by_uri = Client::private_key_jwt_uri(id("pk"), url("https://rp.example/jwks.json"))
            .grant_type(GrantType::ClientCredentials)
            .token_endpoint_auth_signing_alg(ClientSigningAlg::Key(Algorithm::Es256))
            .build()
            .unwrap();
        assert_eq!(
            by_uri.jwks_uri().map(WebUrl::as_str),
            Some("https://rp.example/jwks.json")
        );
        assert!(by_uri.jwks().is_none() && by_uri.is_confidential());
        assert_eq!(
            Client::private_key_jwt(id("pk"), JWKS)
                .jwks_uri(url("https://rp.example/jwks.json"))
                .build()
                .unwrap_err(),
            ClientError::JwksAndJwksUri
        );
        assert_eq!(
            Client::private_key_jwt_uri(id("pk"), url("http://rp.example/jwks.json"))
                .build()
                .unwrap_err(),
            ClientError::InsecureJwksUri
        );
        assert!(
            Client::private_key_jwt_uri(id("pk"), url("http://127.0.0.1:9/jwks.json"))
                .build()
                .is_ok()
        );
        // Removing the URI leaves a private_key_jwt client without keys.
        assert_eq!(
            by_uri.into_builder().jwks_uri(None).build().unwrap_err(),
            ClientError::AuthMethodMismatch
        );
    }

    #[test]
    fn redirect_uris_follow_the_application_type() {
        // part of RG-01 (the metadata rules; the endpoint is issue 19 part 2)
        let with = |t: ApplicationType, u: &str| {
            Client::public(id("app"))
                .application_type(t)
                .redirect_uri(uri(u))
                .build()
        };
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            assert!(with(ApplicationType::Web, ok).is_ok(), "web {ok}");
        }
        for ok in [
            "com.example.app:/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
            "http://[::1]:1/cb",
        ] {
            assert!(with(ApplicationType::Native, ok).is_ok(), "native {ok}");
        }
        for bad in ["https://app.example/cb", "http://127.0.0.2/cb"] {
            assert_eq!(
                with(ApplicationType::Native, bad).unwrap_err(),
                ClientError::NativeRedirectUri,
                "native {bad}"
            );
        }
        assert_eq!(
            with(ApplicationType::Web, "http://app.example/cb").unwrap_err(),
            ClientError::InsecureRedirectUri
        );
    }

    #[test]
    fn signing_algorithms_fit_the_method() {
        let secret = Secret::new("a shared secret of more than 32 bytes!".to_owned());
        let jwt = || {
            Client::client_secret_jwt(id("svc"), secret.clone())
                .grant_type(GrantType::ClientCredentials)
        };
        assert!(
            jwt()
                .token_endpoint_auth_signing_alg(ClientSigningAlg::Hs256)
                .request_object_signing_alg(ClientSigningAlg::Hs256)
                .build()
                .is_ok()
        );
        assert_eq!(
            jwt()
                .token_endpoint_auth_signing_alg(ClientSigningAlg::Key(Algorithm::Es256))
                .build()
                .unwrap_err(),
            ClientError::AuthSigningAlgMismatch
        );
        let pk =
            || Client::private_key_jwt(id("pk"), JWKS).grant_type(GrantType::ClientCredentials);
        assert_eq!(
            pk().token_endpoint_auth_signing_alg(ClientSigningAlg::Hs256)
                .build()
                .unwrap_err(),
            ClientError::AuthSigningAlgMismatch
        );
        assert_eq!(
            pk().request_object_signing_alg(ClientSigningAlg::Hs256)
                .build()
                .unwrap_err(),
            ClientError::RequestObjectAlgMismatch
        );
        assert_eq!(
            Client::confidential(id("c"), SecretHash::sha256("s"))
                .token_endpoint_auth_signing_alg(ClientSigningAlg::Key(Algorithm::Es256))
                .build()
                .unwrap_err(),
            ClientError::AuthSigningAlgMismatch
        );
    }

    #[test]
    fn text_fields_are_checked() {
        let base = || Client::public(id("spa")).grant_type(GrantType::RefreshToken);
        assert_eq!(
            base().contact("").build().unwrap_err(),
            ClientError::InvalidText("contacts")
        );
        assert_eq!(
            base()
                .owner(Some("a\nb".to_owned()))
                .build()
                .unwrap_err()
                .to_string(),
            "owner must be non-empty text without control characters (at most 1024 bytes)"
        );
        assert_eq!(
            base().software_id(Some(String::new())).build().unwrap_err(),
            ClientError::InvalidText("software_id")
        );
    }
}
