//! Dynamic client registration (RFC 7591, RFC 7592; RG-01, RG-02), the
//! model: the host's [`RegistrationPolicy`], which decides who may register
//! and may rewrite or refuse what they register, and the two policies
//! shipped with it, [`InitialAccessToken`] (the default a host should
//! reach for) and [`OpenRegistration`]. The protocol steps are
//! `endpoints/registration.rs` and `endpoints/registration_management.rs`;
//! the server serves them only once the host turns registration on with
//! `ServerBuilder::client_registration`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::client::{Client, SecretHash};
use crate::error::{Error, MetadataFault};
use crate::grant_type::GrantType;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::stores::{ClientAdmin, TokenAdmin};

/// What a registration request is doing, for
/// [`RegistrationPolicy::review`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationOperation {
    /// A new client (RFC 7591 §3.1, `POST` to the registration endpoint).
    Register,
    /// A client replacing its own metadata (RFC 7592 §2.2, `PUT` to its
    /// client configuration endpoint, with its registration access token).
    Update,
}

/// Who asks, as far as the request tells, for
/// [`RegistrationPolicy::review`].
#[non_exhaustive]
#[derive(Clone, Copy)]
pub struct Registrant<'a> {
    /// Registering or updating.
    pub operation: RegistrationOperation,
    /// The initial access token the request carried (registration only;
    /// [`RegistrationPolicy::admit`] has accepted it).
    pub initial_access_token: Option<&'a str>,
    /// The `software_statement` (RFC 7591 §2.3), a compact JWS the core
    /// has only checked the shape of: a policy that accepts software
    /// statements verifies it (and applies its claims) itself. The core
    /// never takes metadata from it.
    pub software_statement: Option<&'a str>,
}

/// `Debug` leaves out the initial access token and the software statement.
impl fmt::Debug for Registrant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registrant")
            .field("operation", &self.operation)
            .field("initial_access_token", &self.initial_access_token.is_some())
            .field("software_statement", &self.software_statement.is_some())
            .finish()
    }
}

/// Why a policy refused the metadata of a registration or an update: the
/// error codes of RFC 7591 §3.2.2.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationRefusal {
    /// `invalid_client_metadata`: the host does not accept this metadata
    /// (a grant type, a scope, a URI of another site…).
    #[error("client metadata refused by the registration policy")]
    InvalidClientMetadata,
    /// `invalid_redirect_uri`: the host does not accept a redirect URI.
    #[error("redirect URI refused by the registration policy")]
    InvalidRedirectUri,
    /// `invalid_software_statement`: the software statement does not
    /// verify, or the host requires one.
    #[error("software statement refused by the registration policy")]
    InvalidSoftwareStatement,
}

impl From<RegistrationRefusal> for Error {
    fn from(refusal: RegistrationRefusal) -> Self {
        match refusal {
            RegistrationRefusal::InvalidClientMetadata => {
                Self::InvalidClientMetadata(MetadataFault::Policy)
            }
            RegistrationRefusal::InvalidRedirectUri => {
                Self::InvalidClientMetadata(MetadataFault::RedirectUri)
            }
            RegistrationRefusal::InvalidSoftwareStatement => Self::InvalidSoftwareStatement,
        }
    }
}

/// The host's say over dynamic client registration (RG-01, RG-02): who may
/// register, and what.
///
/// The core parses and validates the RFC 7591 metadata into a [`Client`]
/// (with a generated `client_id`, and a generated secret for
/// `client_secret_basic` and `client_secret_post`), then asks
/// [`review`](Self::review), which may return it changed (fewer scopes, an
/// `owner`, a lifetime, `skip_consent`…) or refuse it. What it returns is
/// what is stored and answered. Its `client_id`, secret and registration
/// access token stay the core's: a review that changes the `client_id` is
/// answered `server_error`.
///
/// ```
/// use portcullis::{
///     Client, Registrant, RegistrationPolicy, RegistrationRefusal, ScopeSet, async_trait,
/// };
///
/// /// Only holders of the token, and only service clients with `reports:read`.
/// struct Services(portcullis::InitialAccessToken);
///
/// #[async_trait]
/// impl RegistrationPolicy for Services {
///     async fn admit(&self, token: Option<&str>) -> bool {
///         self.0.admit(token).await
///     }
///
///     async fn review(
///         &self,
///         _who: &Registrant<'_>,
///         client: Client,
///     ) -> Result<Client, RegistrationRefusal> {
///         if !client.redirect_uris().is_empty() {
///             return Err(RegistrationRefusal::InvalidRedirectUri);
///         }
///         let scope = ScopeSet::parse("reports:read").expect("a valid scope");
///         client
///             .into_builder()
///             .scope(scope)
///             .build()
///             .map_err(|_| RegistrationRefusal::InvalidClientMetadata)
///     }
/// }
/// ```
#[async_trait]
pub trait RegistrationPolicy: Send + Sync + 'static {
    /// Whether a registration request may go on: `initial_access_token` is
    /// the token of its `Authorization: Bearer` header, `None` without one
    /// (RFC 7591 §3). `false` is answered `401` with
    /// `WWW-Authenticate: Bearer` (`error="invalid_token"` when a token was
    /// sent). Compare tokens in constant time (as [`InitialAccessToken`]
    /// does).
    async fn admit(&self, initial_access_token: Option<&str>) -> bool;

    /// Reviews the client about to be registered or updated: returns it,
    /// changed or not, or refuses it. The default accepts it as it is.
    async fn review(
        &self,
        registrant: &Registrant<'_>,
        client: Client,
    ) -> Result<Client, RegistrationRefusal> {
        let _ = registrant;
        Ok(client)
    }

    /// Whether an update (RFC 7592 §2.2) issues the client a new secret,
    /// shown once in the update's response. The default keeps the secret.
    fn rotates_secret_on_update(&self) -> bool {
        false
    }
}

/// Keeps the registered scope within `allowed`: a client asking for none
/// gets `allowed`, one asking for more is refused.
fn within(allowed: Option<&ScopeSet>, client: Client) -> Result<Client, RegistrationRefusal> {
    let Some(allowed) = allowed else {
        return Ok(client);
    };
    if client.scope().is_empty() {
        return client
            .into_builder()
            .scope(allowed.clone())
            .build()
            .map_err(|_| RegistrationRefusal::InvalidClientMetadata);
    }
    if client.scope().is_subset_of(allowed) {
        Ok(client)
    } else {
        Err(RegistrationRefusal::InvalidClientMetadata)
    }
}

/// Refuses a client registered for a grant type outside `allowed`
/// (`invalid_client_metadata`); no list allows every grant the server
/// offers.
fn grants_within(
    allowed: Option<&[GrantType]>,
    client: Client,
) -> Result<Client, RegistrationRefusal> {
    match allowed {
        Some(allowed) if client.grant_types().iter().any(|g| !allowed.contains(g)) => {
            Err(RegistrationRefusal::InvalidClientMetadata)
        }
        _ => Ok(client),
    }
}

/// The grant types [`OpenRegistration`] lets anyone register for unless
/// told otherwise: the code flow with refresh, client credentials and the
/// device grant. Left out: `password` (a client of anyone's making would
/// handle users' passwords), token exchange and extension grants (a host's
/// decision per client, never a stranger's).
pub const OPEN_REGISTRATION_GRANT_TYPES: [GrantType; 4] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

/// The shipped policy a host should start from: registering requires one
/// initial access token (RFC 7591 §3), given by the host and compared in
/// constant time (only its SHA-256 is kept). Reads, updates and deletes
/// need the client's own registration access token, whatever the policy.
///
/// ```
/// use portcullis::{InitialAccessToken, RegistrationPolicy, ScopeSet};
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let policy = InitialAccessToken::new("s3cr3t-initial-token")
///     .allowed_scope(ScopeSet::parse("openid profile read").unwrap());
/// assert!(policy.admit(Some("s3cr3t-initial-token")).await);
/// assert!(!policy.admit(Some("guess")).await);
/// assert!(!policy.admit(None).await);
/// # });
/// ```
#[derive(Clone)]
pub struct InitialAccessToken {
    hash: SecretHash,
    scope: Option<ScopeSet>,
    grants: Option<Vec<GrantType>>,
}

impl InitialAccessToken {
    /// Requires `token` (choose at least 128 random bits).
    pub fn new(token: impl Into<Secret<String>>) -> Self {
        let token: Secret<String> = token.into();
        Self {
            hash: SecretHash::sha256(token.expose_secret()),
            scope: None,
            grants: None,
        }
    }

    /// Keeps registered scopes within `scope`: a client asking for no
    /// scope gets all of it, one asking for more is refused
    /// (`invalid_client_metadata`). Without it, a client gets the scope it
    /// asks for.
    #[must_use]
    pub fn allowed_scope(mut self, scope: ScopeSet) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Refuses clients registered for any grant type outside `grants`
    /// (`invalid_client_metadata`). Without it, a holder of the initial
    /// access token may register for every grant type the server offers.
    #[must_use]
    pub fn allowed_grant_types(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.grants = Some(grants.into_iter().collect());
        self
    }
}

impl fmt::Debug for InitialAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialAccessToken")
            .field("token", &"[redacted]")
            .field("scope", &self.scope)
            .field("grants", &self.grants)
            .finish()
    }
}

#[async_trait]
impl RegistrationPolicy for InitialAccessToken {
    async fn admit(&self, initial_access_token: Option<&str>) -> bool {
        // A SHA-256 comparison: constant-time in the token's content.
        initial_access_token.is_some_and(|t| self.hash.verify(t))
    }

    async fn review(
        &self,
        _registrant: &Registrant<'_>,
        client: Client,
    ) -> Result<Client, RegistrationRefusal> {
        grants_within(self.grants.as_deref(), within(self.scope.as_ref(), client)?)
    }
}

/// Open registration: anyone may register a client, without an initial
/// access token (RFC 7591 §3: "open registration"). Say so explicitly:
/// every validation rule still holds, but anyone can create clients, and
/// the consent page is then all that stands between a look-alike client
/// and your users. Only the grant types of
/// [`OPEN_REGISTRATION_GRANT_TYPES`] are allowed unless
/// [`allowed_grant_types`](Self::allowed_grant_types) says otherwise.
#[derive(Clone, Debug)]
pub struct OpenRegistration {
    scope: Option<ScopeSet>,
    grants: Vec<GrantType>,
}

impl Default for OpenRegistration {
    fn default() -> Self {
        Self {
            scope: None,
            grants: OPEN_REGISTRATION_GRANT_TYPES.to_vec(),
        }
    }
}

impl OpenRegistration {
    /// Open registration with the scope a client asks for, for the grant
    /// types of [`OPEN_REGISTRATION_GRANT_TYPES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets clients register for the grant types of `grants` only
    /// (`invalid_client_metadata` otherwise), instead of
    /// [`OPEN_REGISTRATION_GRANT_TYPES`].
    #[must_use]
    pub fn allowed_grant_types(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.grants = grants.into_iter().collect();
        self
    }

    /// Keeps registered scopes within `scope`, as
    /// [`InitialAccessToken::allowed_scope`] does.
    #[must_use]
    pub fn allowed_scope(mut self, scope: ScopeSet) -> Self {
        self.scope = Some(scope);
        self
    }
}

#[async_trait]
impl RegistrationPolicy for OpenRegistration {
    async fn admit(&self, _initial_access_token: Option<&str>) -> bool {
        true
    }

    async fn review(
        &self,
        _registrant: &Registrant<'_>,
        client: Client,
    ) -> Result<Client, RegistrationRefusal> {
        grants_within(Some(&self.grants), within(self.scope.as_ref(), client)?)
    }
}

/// What the server registers clients with, once the host turned
/// registration on: where clients are written, where their tokens are
/// revoked when they are deleted, and the policy.
#[derive(Clone)]
pub(crate) struct RegistrationSetup {
    pub(crate) clients: Arc<dyn ClientAdmin>,
    pub(crate) tokens: Arc<dyn TokenAdmin>,
    pub(crate) policy: Arc<dyn RegistrationPolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientId;
    use crate::grant_type::GrantType;

    fn client(scope: &str) -> Client {
        Client::confidential(ClientId::parse("c").unwrap(), SecretHash::sha256("s"))
            .grant_type(GrantType::ClientCredentials)
            .scope(ScopeSet::parse(scope).unwrap())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn open_registration_refuses_the_password_grant_and_token_exchange_by_default() {
        // covers: RG-01
        let who = Registrant {
            operation: RegistrationOperation::Register,
            initial_access_token: None,
            software_statement: None,
        };
        let open = OpenRegistration::new();
        assert!(open.review(&who, client("read")).await.is_ok());
        for grant in [GrantType::Password, GrantType::TokenExchange] {
            let c = Client::confidential(ClientId::parse("c").unwrap(), SecretHash::sha256("s"))
                .grant_type(grant.clone())
                .build()
                .unwrap();
            assert!(matches!(
                open.review(&who, c.clone()).await,
                Err(RegistrationRefusal::InvalidClientMetadata)
            ));
            let allowed = OpenRegistration::new().allowed_grant_types([grant.clone()]);
            assert!(allowed.review(&who, c.clone()).await.is_ok());
            let gated = InitialAccessToken::new("t");
            assert!(gated.review(&who, c.clone()).await.is_ok());
            let narrowed = gated.allowed_grant_types([GrantType::AuthorizationCode]);
            assert!(narrowed.review(&who, c).await.is_err());
        }
    }

    #[test]
    fn allowed_scope_fills_in_or_refuses() {
        let allowed = ScopeSet::parse("a b").unwrap();
        let given = within(Some(&allowed), client("")).unwrap();
        assert_eq!(given.scope(), &allowed);
        assert!(within(Some(&allowed), client("a")).is_ok());
        assert_eq!(
            within(Some(&allowed), client("a c")).unwrap_err(),
            RegistrationRefusal::InvalidClientMetadata
        );
        assert!(within(None, client("z")).is_ok());
    }

    #[test]
    fn the_initial_access_token_is_not_in_debug() {
        let p = InitialAccessToken::new("top-secret-token");
        assert!(!format!("{p:?}").contains("top-secret"));
    }
}
