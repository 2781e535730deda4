//! Token exchange (RFC 8693, TE-01), the model: token type identifiers,
//! the tokens an exchange presents as the core validated them, and the
//! host's [`TokenExchangePolicy`], without which nothing is exchanged. The
//! protocol step is `grants/token_exchange.rs`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::client::{Client, ClientId};
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::extension_grant::GrantRefusal;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::tokens::actor::Actor;
use crate::user::UserId;

/// A token type identifier (RFC 8693 §3): what `subject_token_type`,
/// `actor_token_type`, `requested_token_type` and `issued_token_type`
/// hold. The registered URNs have variants; any other absolute URI is
/// [`TokenType::Other`], for a host's [`TokenExchangePolicy::validate`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token`.
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:jwt`.
    Jwt,
    /// `urn:ietf:params:oauth:token-type:saml1`.
    Saml1,
    /// `urn:ietf:params:oauth:token-type:saml2`.
    Saml2,
    /// Any other absolute URI (at most 2048 bytes, no whitespace).
    Other(Arc<str>),
}

impl TokenType {
    /// Parses a token type; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            Self::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            Self::Saml1 => "urn:ietf:params:oauth:token-type:saml1",
            Self::Saml2 => "urn:ietf:params:oauth:token-type:saml2",
            Self::Other(uri) => uri,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        for known in [
            Self::AccessToken,
            Self::RefreshToken,
            Self::IdToken,
            Self::Jwt,
            Self::Saml1,
            Self::Saml2,
        ] {
            if known.as_str() == s {
                return Ok(known);
            }
        }
        let err = |reason| Err(ParseError::new("token type", reason));
        if s.is_empty() || s.len() > 2048 {
            return err("is empty or longer than 2048 bytes");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        if url::Url::parse(s).is_err() {
            return err("is not an absolute URI");
        }
        Ok(Self::Other(s.into()))
    }
}

try_from_str!(TokenType);
serde_as_str!(TokenType);

/// A subject or actor token as validated: by the core for its own tokens
/// (access tokens, opaque or JWT, looked up in the token store and, for a
/// JWT, verified with the server's keys; refresh tokens of the requesting
/// client; ID Tokens it signed), or by the host's
/// [`TokenExchangePolicy::validate`] for any other type.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangedToken {
    pub(crate) token_type: TokenType,
    pub(crate) subject: Option<UserId>,
    pub(crate) actor_subject: Option<String>,
    pub(crate) client_id: Option<ClientId>,
    pub(crate) scope: Option<ScopeSet>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) act: Option<Actor>,
    pub(crate) may_act: Option<Actor>,
    pub(crate) ours: bool,
}

impl ExchangedToken {
    /// A token of `token_type` about `subject` (`None`: a client's own
    /// token, whose subject is the client), with no scope (the exchange is
    /// then bounded by the client's scope alone), resources, actor or
    /// `may_act`. For a host's [`TokenExchangePolicy::validate`].
    pub fn new(token_type: TokenType, subject: Option<UserId>) -> Self {
        Self {
            token_type,
            subject,
            actor_subject: None,
            client_id: None,
            scope: None,
            resources: Vec::new(),
            act: None,
            may_act: None,
            ours: false,
        }
    }

    /// The client the token was issued to (for a token without an
    /// end-user, its subject as an actor).
    #[must_use]
    pub fn with_client_id(mut self, client: ClientId) -> Self {
        self.client_id = Some(client);
        self
    }

    /// Who the token is about when that is neither an end-user (the
    /// `subject` of [`ExchangedToken::new`]) nor a client of ours: a
    /// workload, a service of another issuer (`spiffe://…`, an email, …).
    /// As the actor token, this is the `sub` of the new token's `act`
    /// (with the token's [`client_id`](Self::with_client_id), if set, as
    /// its `client_id`), and what a subject token's `may_act` is compared
    /// with. An end-user subject takes precedence. `None` if `sub` is not a
    /// subject identifier (1 to 255 bytes, no control character).
    pub fn with_actor_subject(mut self, sub: &str) -> Option<Self> {
        Actor::parse(sub)?;
        self.actor_subject = Some(sub.to_owned());
        Some(self)
    }

    /// The scope the token carries: an exchange may narrow it, never widen
    /// it.
    #[must_use]
    pub fn with_scope(mut self, scope: ScopeSet) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The actor chain the token already carries (its `act` claim).
    #[must_use]
    pub fn with_act(mut self, act: Actor) -> Self {
        self.act = Some(act);
        self
    }

    /// The party the token says may act for its subject (its `may_act`
    /// claim, RFC 8693 §4.4): checked against the actor of the exchange.
    #[must_use]
    pub fn with_may_act(mut self, may_act: Actor) -> Self {
        self.may_act = Some(may_act);
        self
    }

    /// The token's type, as the request named it.
    pub fn token_type(&self) -> &TokenType {
        &self.token_type
    }

    /// The end-user the token is about; `None` for a client's own token.
    pub fn subject(&self) -> Option<&UserId> {
        self.subject.as_ref()
    }

    /// Who the token is about when that is no end-user or client of ours
    /// ([`with_actor_subject`](Self::with_actor_subject)).
    pub fn actor_subject(&self) -> Option<&str> {
        self.actor_subject.as_deref()
    }

    /// The client the token was issued to, if known.
    pub fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
    }

    /// The token's scope, if it has one.
    pub fn scope(&self) -> Option<&ScopeSet> {
        self.scope.as_ref()
    }

    /// The token's resources (its audiences), for our access tokens.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The token's own `act` claim.
    pub fn act(&self) -> Option<&Actor> {
        self.act.as_ref()
    }

    /// The token's `may_act` claim (RFC 8693 §4.4).
    pub fn may_act(&self) -> Option<&Actor> {
        self.may_act.as_ref()
    }

    /// Whether this server issued the token (it validated it itself).
    pub fn is_ours(&self) -> bool {
        self.ours
    }

    /// The token's subject as an actor (when it is the actor token): its
    /// end-user, else its client, with the client it was issued to; its
    /// own `act` chain nested. `None` if it names neither.
    pub(crate) fn as_actor(&self) -> Option<Actor> {
        let sub = match (&self.subject, &self.actor_subject, &self.client_id) {
            (Some(user), _, _) => user.as_str(),
            (None, Some(s), _) => s.as_str(),
            (None, None, Some(client)) => client.as_str(),
            (None, None, None) => return None,
        };
        let mut actor = Actor::parse(sub)?;
        if let Some(client) = &self.client_id {
            actor = actor.with_client_id(client.clone());
        }
        match &self.act {
            Some(prior) => actor.acting_after(prior.clone()),
            None => Some(actor),
        }
    }
}

/// A token exchange as the policy sees it, after the core validated the
/// subject and actor tokens, the `may_act` claim, and the scope and targets
/// against the client's registration and the subject token.
#[derive(Debug)]
pub struct ExchangeRequest<'a> {
    pub(crate) client: &'a Client,
    pub(crate) subject: &'a ExchangedToken,
    pub(crate) actor: Option<&'a ExchangedToken>,
    pub(crate) scope: &'a ScopeSet,
    pub(crate) resources: &'a [Resource],
    pub(crate) requested_token_type: &'a TokenType,
}

impl<'a> ExchangeRequest<'a> {
    /// The authenticated client asking for the exchange.
    pub fn client(&self) -> &Client {
        self.client
    }

    /// The subject token (`subject_token`): whose token is asked for.
    pub fn subject(&self) -> &ExchangedToken {
        self.subject
    }

    /// The actor token (`actor_token`), for delegation; `None` for
    /// impersonation.
    pub fn actor(&self) -> Option<&ExchangedToken> {
        self.actor
    }

    /// The scope asked for (`scope`), within the client's and the subject
    /// token's; without `scope`, the subject token's within the client's.
    pub fn scope(&self) -> &ScopeSet {
        self.scope
    }

    /// The targets asked for (`resource` and `audience`, RFC 8693 §2.1),
    /// each a resource the server knows for this client; empty for the
    /// default audience.
    pub fn resources(&self) -> &[Resource] {
        self.resources
    }

    /// `requested_token_type` (default: an access token).
    pub fn requested_token_type(&self) -> &TokenType {
        self.requested_token_type
    }

    /// Allows the exchange as requested: this scope and these targets.
    pub fn allow(&self) -> ExchangeGrant {
        ExchangeGrant {
            scope: self.scope.clone(),
            resources: self.resources.to_vec(),
            claims: Map::new(),
        }
    }
}

/// What the policy allows: the scope and targets of the new access token
/// (the core checks them again: within the request's ceiling and targets
/// the client may ask for) and claims of the host's own for a JWT access
/// token. The subject, the actor (`act`) and the grant are the core's.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeGrant {
    pub(crate) scope: ScopeSet,
    pub(crate) resources: Vec<Resource>,
    pub(crate) claims: Map<String, Value>,
}

impl ExchangeGrant {
    /// Narrows the scope.
    #[must_use]
    pub fn scope(mut self, scope: ScopeSet) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the targets (the token's audiences).
    #[must_use]
    pub fn resources(mut self, resources: Vec<Resource>) -> Self {
        self.resources = resources;
        self
    }

    /// A claim of the host's own in a JWT access token (registered claims
    /// are dropped, as for [`Issuance::claim`](crate::Issuance::claim)).
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// The host's rule of who may exchange what (TE-01), registered with
/// [`ServerBuilder::token_exchange`](crate::ServerBuilder::token_exchange).
/// Without one the server does not offer token exchange at all.
///
/// ```
/// use portcullis::{
///     ExchangeGrant, ExchangeRequest, GrantRefusal, TokenExchangePolicy, async_trait,
/// };
///
/// /// The `gateway` client may exchange any of our user tokens for a token
/// /// of `https://billing.example/`, acting as itself (delegation only).
/// struct GatewayToBilling;
///
/// #[async_trait]
/// impl TokenExchangePolicy for GatewayToBilling {
///     async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
///         if r.client().client_id().as_str() != "gateway" {
///             return Err(GrantRefusal::UnauthorizedClient);
///         }
///         if !r.subject().is_ours() || r.actor().is_none() {
///             return Err(GrantRefusal::InvalidGrant);
///         }
///         match r.resources() {
///             [one] if one.as_str() == "https://billing.example/" => Ok(r.allow()),
///             _ => Err(GrantRefusal::InvalidTarget),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait TokenExchangePolicy: Send + Sync + 'static {
    /// Decides an exchange the core has validated: [`ExchangeGrant`] (usually
    /// [`ExchangeRequest::allow`], perhaps narrowed) or a refusal
    /// (`invalid_grant`, `unauthorized_client`, `invalid_scope`,
    /// `invalid_target`, …).
    async fn decide(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal>;

    /// Validates a subject or actor token the core does not know: a type
    /// other than ours, or a `jwt` or access token that is not one of ours
    /// (another issuer's). `Ok(None)` (the default) means the server does
    /// not take it: `invalid_request` for an unknown type, `invalid_grant`
    /// for a token of a known type.
    async fn validate(
        &self,
        client: &Client,
        token_type: &TokenType,
        token: &str,
    ) -> Result<Option<ExchangedToken>, GrantRefusal> {
        let _ = (client, token_type, token);
        Ok(None)
    }
}
