//! The extension-grant seam (RFC 6749 §4.5): a host registers a grant type
//! URI with an [`ExtensionGrant`] handler, which validates the request's own
//! parameters and says what to issue ([`Issuance`]); the core keeps client
//! authentication, the checks of what the handler returns, minting, storage
//! and the response. Token exchange (RFC 8693) returns the same
//! [`Issuance`] and refuses with the same [`GrantRefusal`].

use std::borrow::Cow;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::clock::UnixTime;
use crate::error::{Error, GrantFault, RequestFault, StoreError};
use crate::grant_type::ExtensionGrantType;
use crate::http::Source;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::tokens::actor::Actor;
use crate::user::UserId;

/// The handler of one extension grant, registered with
/// [`ServerBuilder::extension_grant`](crate::ServerBuilder::extension_grant).
///
/// The core calls it for a token request whose `grant_type` is the URI it
/// was registered under, once the client has authenticated (as for every
/// grant: `client_secret_*`, `private_key_jwt`, `none` for public clients)
/// and is registered for the grant type; with DPoP, once the proof is
/// verified. The handler reads its own parameters from the
/// [`ExtensionRequest`], checks them (a signature, a lookup in the host's
/// database; awaiting is fine), and returns what to issue, or why not.
///
/// ```
/// use portcullis::{
///     ExtensionGrant, ExtensionRequest, GrantRefusal, Issuance, UserId, async_trait,
/// };
///
/// /// `urn:example:grant-type:badge`: a user's badge number is the grant.
/// struct Badge;
///
/// #[async_trait]
/// impl ExtensionGrant for Badge {
///     async fn grant(&self, request: &ExtensionRequest<'_>) -> Result<Issuance, GrantRefusal> {
///         let badge = request.require("badge")?;
///         let user = match badge.as_ref() {
///             "4711" => UserId::parse("alice").ok_or(GrantRefusal::InvalidGrant)?,
///             _ => return Err(GrantRefusal::InvalidGrant),
///         };
///         Ok(Issuance::new(request.scope().clone()).subject(user))
///     }
/// }
/// ```
#[async_trait]
pub trait ExtensionGrant: Send + Sync + 'static {
    /// Validates `request` and says what to issue.
    async fn grant(&self, request: &ExtensionRequest<'_>) -> Result<Issuance, GrantRefusal>;
}

/// A token request of an extension grant, as its handler sees it: the
/// authenticated client, the form's parameters, and what the core already
/// parsed (scope, resources) and knows (the time, the request's source).
pub struct ExtensionRequest<'a> {
    pub(crate) grant_type: &'a ExtensionGrantType,
    pub(crate) client: &'a Client,
    pub(crate) form: &'a [u8],
    pub(crate) scope: &'a ScopeSet,
    pub(crate) resources: &'a [Resource],
    pub(crate) now: UnixTime,
    pub(crate) source: Option<Source<'a>>,
}

impl std::fmt::Debug for ExtensionRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the form: it holds the grant's credential.
        f.debug_struct("ExtensionRequest")
            .field("grant_type", self.grant_type)
            .field("client_id", self.client.client_id())
            .field("scope", self.scope)
            .finish_non_exhaustive()
    }
}

impl<'a> ExtensionRequest<'a> {
    /// The grant type the request names.
    pub fn grant_type(&self) -> &ExtensionGrantType {
        self.grant_type
    }

    /// The authenticated client, registered for this grant type.
    pub fn client(&self) -> &Client {
        self.client
    }

    /// The scope the request asks for: its `scope` parameter, within the
    /// client's registered scope (else the core already answered
    /// `invalid_scope`), or the client's default scope without one.
    pub fn scope(&self) -> &ScopeSet {
        self.scope
    }

    /// The `resource` parameters (RFC 8707), parsed, sorted, each allowed
    /// for the client (else the core already answered `invalid_target`).
    pub fn resources(&self) -> &[Resource] {
        self.resources
    }

    /// When the request arrived (the server's clock).
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// Who sent the request, as the host's adapter saw it, for a throttle
    /// of the handler's own.
    pub fn source(&self) -> Option<Source<'a>> {
        self.source
    }

    /// The value of the form parameter `name`: `None` when absent or empty
    /// (RFC 6749 §3.2), refused with `invalid_request` when repeated
    /// (TOK-03). Percent-decoding is done; the value borrows the request
    /// unless it needed decoding.
    pub fn param(&self, name: &'static str) -> Result<Option<Cow<'a, str>>, GrantRefusal> {
        let [value] = crate::http::form::parse(self.form, &[name]).map_err(refusal_of)?;
        Ok(value)
    }

    /// [`param`](Self::param), refused with `invalid_request` (`parameter
    /// missing`) when absent.
    pub fn require(&self, name: &'static str) -> Result<Cow<'a, str>, GrantRefusal> {
        self.param(name)?.ok_or(GrantRefusal::InvalidRequest(
            RequestFault::MissingParameter(name),
        ))
    }

    /// Every non-empty value of a parameter that may be repeated, in order.
    pub fn values(&self, name: &str) -> Result<Vec<Cow<'a, str>>, GrantRefusal> {
        crate::http::form::values_of(self.form, name).map_err(refusal_of)
    }
}

/// A form error as a refusal: the form parser only reports request faults.
fn refusal_of(e: Error) -> GrantRefusal {
    match e {
        Error::InvalidRequest(fault) => GrantRefusal::InvalidRequest(fault),
        _ => GrantRefusal::InvalidRequest(RequestFault::MalformedEncoding),
    }
}

/// What an extension grant (or a token exchange) issues: an access token
/// with this scope, for this resource owner and these resources, with the
/// host's claims in a JWT access token, and optionally a refresh token.
///
/// The core checks it before anything is minted: the scope must be within
/// the client's registered scope (else `invalid_scope`) and each resource
/// one the client may ask tokens for (its own or `Config::resources`; else
/// `invalid_target`). The token's lifetime, format (opaque or JWT), DPoP
/// binding and storage are the core's, as for every grant.
#[derive(Clone, Debug, PartialEq)]
pub struct Issuance {
    pub(crate) subject: Option<UserId>,
    pub(crate) scope: ScopeSet,
    pub(crate) resources: Vec<Resource>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) actor: Option<Actor>,
    pub(crate) refresh_token: bool,
}

impl Issuance {
    /// An access token with `scope`, for no resource owner (its `sub` is
    /// the client, RFC 9068 §2.2), of the default audience, without a
    /// refresh token.
    pub fn new(scope: ScopeSet) -> Self {
        Self {
            subject: None,
            scope,
            resources: Vec::new(),
            claims: Map::new(),
            actor: None,
            refresh_token: false,
        }
    }

    /// The resource owner the token is issued for (its `sub`).
    #[must_use]
    pub fn subject(mut self, user: UserId) -> Self {
        self.subject = Some(user);
        self
    }

    /// The resources the token is for (its audiences, RFC 8707); none for
    /// the default audience, `Config::audience()`.
    #[must_use]
    pub fn resources(mut self, resources: Vec<Resource>) -> Self {
        let mut resources = resources;
        resources.sort();
        resources.dedup();
        self.resources = resources;
        self
    }

    /// A claim of the host's own in a JWT access token. As for a
    /// [`ClaimsHook`](crate::ClaimsHook), the registered claims (`iss`,
    /// `sub`, `aud`, `exp`, `scope`, `cnf`, `act`, …) are dropped; so are
    /// all of them in an opaque token, and introspection does not show
    /// them (they are not stored). With a claims hook, its claims come
    /// first and these override them.
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Who acts on behalf of the subject (the `act` claim, RFC 8693 §4.1):
    /// in a JWT access token and at introspection. A token with an actor
    /// gets no refresh token.
    #[must_use]
    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Asks for a refresh token too, in a new grant with this scope and
    /// these resources. It is issued only when the client is registered for
    /// `refresh_token`, the server offers it, and the token has no
    /// [`actor`](Self::actor); otherwise the response has none.
    #[must_use]
    pub fn with_refresh_token(mut self) -> Self {
        self.refresh_token = true;
        self
    }
}

/// Why an extension grant's handler (or a token exchange policy) refuses a
/// request: each is answered with its error code (RFC 6749 §5.2, RFC 8707
/// §2) and a fixed description, so nothing of the request leaks.
#[non_exhaustive]
#[derive(Debug)]
pub enum GrantRefusal {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest(RequestFault),
    /// `invalid_grant`: the credential the grant carries is invalid,
    /// expired or revoked, or the host does not allow this request.
    InvalidGrant,
    /// `unauthorized_client`: this client may not use the grant this way.
    UnauthorizedClient,
    /// `invalid_scope`: the scope asked for is not allowed.
    InvalidScope,
    /// `invalid_target`: a resource or audience asked for is unknown or not
    /// allowed.
    InvalidTarget,
    /// `server_error` (or `temporarily_unavailable` for a busy
    /// [`HashPool`](crate::HashPool), see [`StoreError::is_busy`]): the
    /// handler could not decide, e.g. its database failed.
    Unavailable(StoreError),
}

impl GrantRefusal {
    /// `invalid_request` for a missing parameter.
    pub fn missing(param: &'static str) -> Self {
        Self::InvalidRequest(RequestFault::MissingParameter(param))
    }

    /// `invalid_request` for a malformed parameter.
    pub fn malformed(param: &'static str) -> Self {
        Self::InvalidRequest(RequestFault::InvalidParameter(param))
    }
}

impl From<StoreError> for GrantRefusal {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e)
    }
}

impl From<GrantRefusal> for Error {
    fn from(r: GrantRefusal) -> Self {
        match r {
            GrantRefusal::InvalidRequest(fault) => Self::InvalidRequest(fault),
            GrantRefusal::InvalidGrant => Self::InvalidGrant(GrantFault::Refused),
            GrantRefusal::UnauthorizedClient => Self::UnauthorizedClient,
            GrantRefusal::InvalidScope => Self::InvalidScope,
            GrantRefusal::InvalidTarget => Self::InvalidTarget,
            GrantRefusal::Unavailable(e) => e.into(),
        }
    }
}
