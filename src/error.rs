//! The one public error type and its single mapping onto the wire codes of
//! RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and OpenID
//! Connect Core 1.0 §3.1.2.6.
//!
//! Every cause carries only static data (parameter names, small enums), so a
//! token, code, secret or password can never reach `Display` or `Debug` (RB-03).

use std::fmt;

use crate::hash_pool::HashPoolError;

/// An error code as sent on the wire.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: malformed or missing parameters.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code, refresh token or credentials are invalid.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the server does not offer this grant.
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is unknown or too wide.
    InvalidScope,
    /// `access_denied`: the resource owner refused.
    AccessDenied,
    /// `unsupported_response_type`: only `code` is offered.
    UnsupportedResponseType,
    /// `server_error`: a store or other internal failure.
    ServerError,
    /// `temporarily_unavailable`: the server is overloaded or throttling.
    TemporarilyUnavailable,
    /// `invalid_token` (RFC 6750): the bearer token is invalid.
    InvalidToken,
    /// `insufficient_scope` (RFC 6750): the token lacks a required scope.
    InsufficientScope,
    /// `unsupported_token_type` (RFC 7009).
    UnsupportedTokenType,
    /// `login_required` (OpenID Connect Core §3.1.2.6): `prompt=none`, but
    /// the user must log in.
    LoginRequired,
    /// `consent_required` (Core §3.1.2.6): `prompt=none`, but the user
    /// must consent.
    ConsentRequired,
    /// `interaction_required` (Core §3.1.2.6): `prompt=none`, but the user
    /// must act in another way.
    InteractionRequired,
    /// `account_selection_required` (Core §3.1.2.6): `prompt=none`, but
    /// the user must choose an account.
    AccountSelectionRequired,
    /// `request_not_supported` (Core §3.1.2.6): the `request` parameter.
    RequestNotSupported,
    /// `request_uri_not_supported` (Core §3.1.2.6): the `request_uri`
    /// parameter.
    RequestUriNotSupported,
    /// `registration_not_supported` (Core §3.1.2.6): the `registration`
    /// parameter.
    RegistrationNotSupported,
    /// `invalid_request_object` (RFC 9101 §6.3): the `request` object is
    /// unsigned, badly signed, expired or otherwise invalid (JR-01).
    InvalidRequestObject,
    /// `invalid_request_uri` (RFC 9101 §6.3, RFC 9126 §4): the
    /// `request_uri` is unknown, used, expired or another client's (PA-02).
    InvalidRequestUri,
    /// `invalid_dpop_proof` (RFC 9449 §5, §7.1): the DPoP proof is missing
    /// where required, malformed, or does not verify.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §8, §9): the proof must carry the nonce
    /// of the `DPoP-Nonce` response header.
    UseDpopNonce,
    /// `invalid_target` (RFC 8707 §2): a requested `resource` is malformed
    /// or not allowed for the client (RI-01).
    InvalidTarget,
    // The device authorization grant (RFC 8628 §3.5, issue 18).
    /// `authorization_pending` (RFC 8628 §3.5): the user has not yet
    /// approved or denied the device's request; poll again.
    AuthorizationPending,
    /// `slow_down` (RFC 8628 §3.5): polled too fast; the interval of this
    /// device code is now 5 seconds longer.
    SlowDown,
    /// `expired_token` (RFC 8628 §3.5): the device code expired; start
    /// again with a new device authorization request.
    ExpiredToken,
    // Dynamic client registration (RFC 7591 §3.2.2, issue 19 part 2).
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2): a registered redirect URI
    /// is malformed, insecure, missing where needed or not allowed for the
    /// client's `application_type`.
    InvalidRedirectUri,
    /// `invalid_client_metadata` (RFC 7591 §3.2.2): a metadata field is
    /// malformed, unsupported, inconsistent with another, or refused by the
    /// host's registration policy.
    InvalidClientMetadata,
    /// `invalid_software_statement` (RFC 7591 §3.2.2): the software
    /// statement is malformed or was refused.
    InvalidSoftwareStatement,
}

impl ErrorCode {
    /// The wire value, e.g. `"invalid_grant"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidTarget => "invalid_target",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
        }
    }

    /// The HTTP status this code is sent with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a wire value this server sends (e.g. from a client's view of an
/// error response).
impl std::str::FromStr for ErrorCode {
    type Err = crate::conversions::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "invalid_token" => Self::InvalidToken,
            "insufficient_scope" => Self::InsufficientScope,
            "unsupported_token_type" => Self::UnsupportedTokenType,
            "login_required" => Self::LoginRequired,
            "consent_required" => Self::ConsentRequired,
            "interaction_required" => Self::InteractionRequired,
            "account_selection_required" => Self::AccountSelectionRequired,
            "request_not_supported" => Self::RequestNotSupported,
            "request_uri_not_supported" => Self::RequestUriNotSupported,
            "registration_not_supported" => Self::RegistrationNotSupported,
            "invalid_request_object" => Self::InvalidRequestObject,
            "invalid_request_uri" => Self::InvalidRequestUri,
            "invalid_dpop_proof" => Self::InvalidDpopProof,
            "use_dpop_nonce" => Self::UseDpopNonce,
            "invalid_target" => Self::InvalidTarget,
            "authorization_pending" => Self::AuthorizationPending,
            "slow_down" => Self::SlowDown,
            "expired_token" => Self::ExpiredToken,
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            "invalid_client_metadata" => Self::InvalidClientMetadata,
            "invalid_software_statement" => Self::InvalidSoftwareStatement,
            _ => {
                return Err(crate::conversions::ParseError::new(
                    "error code",
                    "is not an error code of RFC 6749, 6750, 7009, 9449 or OpenID Connect Core",
                ));
            }
        })
    }
}

crate::conversions::try_from_str!(ErrorCode);
crate::conversions::serde_as_str!(ErrorCode);

/// What is wrong with a malformed request. Carries parameter names only.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFault {
    /// The HTTP method is not allowed here (405).
    MethodNotAllowed,
    /// The body is not `application/x-www-form-urlencoded`.
    ContentType,
    /// The body is larger than the configured limit (413).
    BodyTooLarge,
    /// The query string is longer than the body limit
    /// (`Config::max_body_size`), which bounds it too.
    QueryTooLong,
    /// A parameter appears more than once.
    DuplicateParameter(&'static str),
    /// A required parameter is missing or empty.
    MissingParameter(&'static str),
    /// A parameter's value is malformed.
    InvalidParameter(&'static str),
    /// The body or query is not valid UTF-8 or not valid form encoding.
    MalformedEncoding,
    /// A header the core reads is repeated or not valid.
    InvalidHeader(&'static str),
    /// More than one client authentication method was used (CA-03).
    MultipleClientAuthentications,
    /// Client credentials (`client_id`, `client_secret`,
    /// `client_assertion`, `client_assertion_type`) were sent in the
    /// request URI's query (CA-09).
    CredentialsInQuery,
    /// A resume token is unknown, already used, expired, or bound to
    /// another user (see `AuthorizationServer::resume`).
    ResumeRefused,
    /// The server or the client requires pushed authorization requests
    /// (RFC 9126 §5), and this one came without a `request_uri` (PA-02).
    PushedRequestRequired,
    /// The client requires signed request objects (RFC 9101 §10.5), and
    /// this request came without one (JR-01).
    SignedRequestObjectRequired,
    /// The body is not `application/json` (the registration and client
    /// configuration endpoints, RFC 7591 §3.1, RFC 7592 §2.2).
    JsonContentType,
}

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::ContentType => f.write_str("body must be application/x-www-form-urlencoded"),
            Self::BodyTooLarge => f.write_str("request body too large"),
            Self::QueryTooLong => f.write_str("query string too long"),
            Self::DuplicateParameter(p) => write!(f, "parameter `{p}` repeated"),
            Self::MissingParameter(p) => write!(f, "parameter `{p}` missing"),
            Self::InvalidParameter(p) => write!(f, "parameter `{p}` malformed"),
            Self::MalformedEncoding => f.write_str("malformed form encoding"),
            Self::InvalidHeader(h) => write!(f, "header `{h}` malformed or repeated"),
            Self::MultipleClientAuthentications => {
                f.write_str("more than one client authentication method used")
            }
            Self::CredentialsInQuery => f.write_str("client credentials in the query string"),
            Self::ResumeRefused => {
                f.write_str("resume token unknown, used, expired or not bound to this user")
            }
            Self::PushedRequestRequired => {
                f.write_str("authorization requests must be pushed first")
            }
            Self::SignedRequestObjectRequired => {
                f.write_str("authorization requests must come in a signed request object")
            }
            Self::JsonContentType => f.write_str("body must be application/json"),
        }
    }
}

/// Why a grant (code, refresh token, credentials) was refused. For logs and
/// tests; the wire only ever says `invalid_grant`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantFault {
    /// No such code or token.
    Unknown,
    /// The code or token has expired.
    Expired,
    /// The code or token was issued to another client.
    ClientMismatch,
    /// The code was already redeemed; the grant it started is revoked (AC-02).
    CodeReused,
    /// The refresh token was already rotated out; the grant is revoked (RT-02).
    RefreshReused,
    /// The `redirect_uri` differs from the authorization request's (AC-03).
    RedirectMismatch,
    /// The PKCE verifier does not match the challenge (PK-04).
    PkceMismatch,
    /// A verifier was sent for a code issued without a challenge, or none for
    /// a code with one (PK-04, RFC 9700 §2.1.1).
    PkceDowngrade,
    /// The resource owner's credentials are wrong (PW-01).
    InvalidCredentials,
    /// The client has since lost every scope of the grant it refreshes
    /// (RT-03): the grant no longer authorizes anything.
    ScopeWithdrawn,
    /// The refresh token (DP-02, RFC 9449 §5) or the authorization code
    /// (DP-01, §10) is bound to a DPoP key and the request's proof is of
    /// another key, or there is none.
    DpopKeyMismatch,
    /// A rotated-out refresh token was presented within the refresh retry
    /// window, but a concurrent request rotated it or retried it first
    /// (RT-04): refused, and the grant is not revoked.
    RefreshRaced,
    /// An extension grant's handler or the token exchange policy refused
    /// the request (issue 18).
    Refused,
    /// A token exchange's subject or actor token is unknown, expired,
    /// revoked, not verifiable or names no one (RFC 8693 §2.2.2, TE-01).
    ExchangeToken,
    /// The subject token's `may_act` does not name the party that acts
    /// (RFC 8693 §4.4, TE-01).
    MayAct,
}

impl fmt::Display for GrantFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unknown => "unknown code or token",
            Self::Expired => "expired",
            Self::ClientMismatch => "issued to another client",
            Self::CodeReused => "authorization code already used",
            Self::RefreshReused => "refresh token already used",
            Self::RedirectMismatch => "redirect_uri mismatch",
            Self::PkceMismatch => "PKCE verification failed",
            Self::PkceDowngrade => "PKCE downgrade",
            Self::InvalidCredentials => "invalid resource owner credentials",
            Self::ScopeWithdrawn => "every scope of the grant was withdrawn from the client",
            Self::DpopKeyMismatch => "bound to another DPoP key",
            Self::RefreshRaced => "refresh token rotated by a concurrent request",
            Self::Refused => "refused by the host's grant handler or exchange policy",
            Self::ExchangeToken => "invalid subject or actor token",
            Self::MayAct => "the actor is not the one the subject token's may_act names",
        })
    }
}

/// Why the server could not sign what it issues: a key or configuration
/// fault, not a store failure. Answered `server_error` (500).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningFault {
    /// Something needs a signing key but no `KeyProvider` was given to the
    /// builder.
    NoKeyProvider,
    /// No key signs now: call `ensure_signing_key` or rotate one in.
    NoSigningKey,
    /// No key of this algorithm signs now (an ID Token or Logout Token for
    /// a client registered for it, or access tokens with
    /// `Config::access_token_signing_alg`): call `ensure_signing_keys` with
    /// it, or rotate one in. The algorithm's JOSE name (`Algorithm::as_str`:
    /// this vocabulary module sits below `keys`).
    NoKeyForAlgorithm(&'static str),
    /// A client is registered to have its ID Tokens signed with an
    /// algorithm that is not in `Config::id_token_signing_algs`: the server
    /// refuses to sign with it (and never falls back to another algorithm
    /// or to `none`). The algorithm's JOSE name.
    AlgorithmNotOffered(&'static str),
    /// The signature could not be computed.
    SignatureFailed,
    /// The claims could not be encoded.
    ClaimsEncoding,
}

impl fmt::Display for SigningFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoKeyProvider => "no key provider configured",
            Self::NoSigningKey => "no key signs now",
            Self::NoKeyForAlgorithm(alg) => return write!(f, "no {alg} key signs now"),
            Self::AlgorithmNotOffered(alg) => {
                return write!(f, "{alg} is not in Config::id_token_signing_algs");
            }
            Self::SignatureFailed => "signature failed",
            Self::ClaimsEncoding => "claims could not be encoded",
        })
    }
}

/// A fault of the server's own making or of a stored value, neither a store
/// failure nor a bad request. Answered `server_error` (500).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InternalFault {
    /// A response body could not be encoded.
    Encoding,
    /// A value read from a store does not parse (e.g. a registered redirect
    /// URI).
    InvalidStoredValue,
    /// `suspend_login`, `suspend_consent` or `resume` was called, but the
    /// builder was given no `AuthorizationRequestStore` (a configuration
    /// fault, not a store failure).
    NoRequestStore,
    /// A response status or header no HTTP server can write (a header value
    /// with CR, LF or NUL, say), refused where it was set.
    InvalidResponse,
    /// A framework adapter was not given the server it needs (a wiring
    /// fault of the host).
    NotWired,
    /// A slow hash was lost on the `HashPool` (it panicked, or no thread
    /// could be started).
    HashPool,
    /// A `pairwise` client's subject was needed, but the server has no
    /// `Config::pairwise_salt` (a configuration fault: without the salt an
    /// outsider could compute the subject from the user id).
    NoPairwiseSalt,
    /// The device grant needs a `DeviceStore`, but the builder was given
    /// none (a configuration fault).
    NoDeviceStore,
    /// No free user code was found in a few draws: the store holds far
    /// too many device authorizations, or the random source is broken.
    CodeSpaceExhausted,
}

impl fmt::Display for InternalFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encoding => "response could not be encoded",
            Self::InvalidStoredValue => "a stored value does not parse",
            Self::NoRequestStore => "no authorization request store configured",
            Self::InvalidResponse => "a response status or header is not valid HTTP",
            Self::NotWired => "the framework adapter is not wired to a server",
            Self::HashPool => "a slow hash could not be run",
            Self::NoPairwiseSalt => "a pairwise client needs Config::pairwise_salt",
            Self::NoDeviceStore => "no device store configured",
            Self::CodeSpaceExhausted => "no free user code found",
        })
    }
}

/// Why a bearer token was refused at a resource (RFC 6750 §3.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerFault {
    /// No `Authorization` header: a challenge without an error code.
    Missing,
    /// The header is repeated or not a bearer token68 (`invalid_request`).
    Malformed,
    /// The token was sent in more than one way, e.g. in the `Authorization`
    /// header and in the form body (RFC 6750 §2: `invalid_request`).
    MultipleMethods,
    /// The token was sent in the request URI's query, which this server
    /// never accepts (RFC 6750 §2.3, RFC 9700 §2.5: `invalid_request`).
    InQuery,
    /// The token is unknown, revoked, expired, or its signature or claims do
    /// not verify (`invalid_token`).
    Invalid,
    /// The token lacks a required scope (`insufficient_scope`).
    InsufficientScope,
    /// A DPoP-bound token came without a valid proof of its key
    /// (`invalid_dpop_proof`, RFC 9449 §7.1; DP-03).
    Dpop(DpopFault),
    /// The DPoP proof lacks the server's current nonce (`use_dpop_nonce`,
    /// RFC 9449 §9).
    DpopNonce,
}

/// Why a DPoP proof (RFC 9449 §4.3) was refused: `invalid_dpop_proof`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopFault {
    /// No `DPoP` header where one is required (a client registered with
    /// `dpop_bound_access_tokens`, a DPoP-bound token).
    Missing,
    /// The header is repeated, too long, not a compact JWS, or a required
    /// claim is missing or of the wrong type.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    Type,
    /// `alg` is not an asymmetric algorithm this server accepts.
    Algorithm,
    /// `jwk` is missing, not a public key this server can use, or not a
    /// key of `alg`.
    Key,
    /// `jwk` carries private key members.
    PrivateKey,
    /// The signature does not verify with `jwk`.
    Signature,
    /// `htm` is not the request's method.
    Method,
    /// `htu` is not the request's URL.
    Url,
    /// `iat` is outside the accepted window.
    IssuedAt,
    /// The proof's `jti` was seen before.
    Replayed,
    /// `ath` is missing or is not the hash of the access token.
    AccessTokenHash,
    /// The proof's key is not the key the token is bound to.
    KeyMismatch,
}

impl fmt::Display for DpopFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "DPoP proof missing",
            Self::Malformed => "DPoP proof malformed",
            Self::Type => "DPoP proof typ is not dpop+jwt",
            Self::Algorithm => "DPoP proof alg not accepted",
            Self::Key => "DPoP proof jwk missing or unusable",
            Self::PrivateKey => "DPoP proof jwk holds a private key",
            Self::Signature => "DPoP proof signature invalid",
            Self::Method => "DPoP proof htm mismatch",
            Self::Url => "DPoP proof htu mismatch",
            Self::IssuedAt => "DPoP proof iat out of window",
            Self::Replayed => "DPoP proof replayed",
            Self::AccessTokenHash => "DPoP proof ath mismatch",
            Self::KeyMismatch => "DPoP proof key is not the token's key",
        })
    }
}

/// What the user would have to do for a `prompt=none` request to succeed
/// (OpenID Connect Core §3.1.2.6, OI-06): the request is answered with the
/// matching error instead of a page.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interaction {
    /// Log in, or log in anew (`login_required`).
    Login,
    /// Consent (`consent_required`).
    Consent,
    /// Choose an account (`account_selection_required`).
    AccountSelection,
    /// Something else on a page (`interaction_required`).
    Other,
}

/// An OpenID Connect request parameter this server does not support
/// (Core §3.1.2.6, §6), refused by redirect.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenIdUnsupported {
    /// `request`: a request object by value (`request_not_supported`).
    Request,
    /// `request_uri`: a request object by reference
    /// (`request_uri_not_supported`).
    RequestUri,
    /// `registration`: client metadata in the request
    /// (`registration_not_supported`).
    Registration,
}

/// Why a request object (RFC 9101, JR-01) was refused: for logs and tests;
/// the wire says `invalid_request_object`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestObjectFault {
    /// Not a compact JWS, or too long.
    Malformed,
    /// `alg` `none` or an algorithm this server does not verify.
    Unsigned,
    /// The `typ` header names another kind of token.
    WrongType,
    /// No registered key of the client verifies the signature.
    BadSignature,
    /// `iss` is not the client, or the `client_id` inside or outside
    /// differs.
    WrongClient,
    /// `aud` does not name this server's issuer.
    WrongAudience,
    /// `exp` is missing, past, or too far ahead; `nbf` ahead or too far
    /// back.
    Expired,
    /// A claim holds what no authorization parameter can be (a
    /// `request` or `request_uri` inside, a value of the wrong type).
    InvalidClaim,
}

impl fmt::Display for RequestObjectFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not a compact JWS",
            Self::Unsigned => "unsigned or unsupported algorithm",
            Self::WrongType => "wrong typ",
            Self::BadSignature => "signature does not verify",
            Self::WrongClient => "issuer or client_id is not the client",
            Self::WrongAudience => "audience is not this issuer",
            Self::Expired => "expired, not yet valid or too long-lived",
            Self::InvalidClaim => "a claim is not an authorization parameter",
        })
    }
}

/// Why client metadata was refused at the registration or client
/// configuration endpoint (RFC 7591 §3.2.2; RG-01): for logs and tests. The
/// wire says `invalid_client_metadata`, or `invalid_redirect_uri` for
/// [`MetadataFault::RedirectUri`]. Carries field names only.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataFault {
    /// The body is not a JSON object.
    NotAnObject,
    /// A field has the wrong JSON type or a malformed value.
    Invalid(&'static str),
    /// A field holds a value this server does not support (a grant type
    /// it does not offer, a response type but `code`, `client_secret_jwt`,
    /// a `sector_identifier_uri` it cannot fetch).
    Unsupported(&'static str),
    /// `grant_types` and `response_types` do not fit each other (RFC 7591
    /// §2.1).
    GrantResponseMismatch,
    /// A field the client may not send here (`client_secret_expires_at`,
    /// `registration_access_token`, …), or a `client_id` or `client_secret`
    /// of an update that is not the client's (RFC 7592 §2.2).
    NotAllowed(&'static str),
    /// The fields together do not make a valid client (the client model's
    /// rules: `jwks` xor `jwks_uri`, a method that fits the keys, …; the
    /// rule broken is logged).
    Inconsistent,
    /// A redirect URI is malformed, insecure, missing or not allowed for
    /// the `application_type` (`invalid_redirect_uri`).
    RedirectUri,
    /// The host's registration policy refused the metadata.
    Policy,
}

impl fmt::Display for MetadataFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("the body is not a JSON object"),
            Self::Invalid(field) => write!(f, "`{field}` is malformed"),
            Self::Unsupported(field) => write!(f, "`{field}` holds an unsupported value"),
            Self::GrantResponseMismatch => f.write_str("grant_types and response_types disagree"),
            Self::NotAllowed(field) => write!(f, "`{field}` may not be sent here"),
            Self::Inconsistent => f.write_str("the fields break a rule of the client model"),
            Self::RedirectUri => f.write_str("invalid redirect URI"),
            Self::Policy => f.write_str("refused by the registration policy"),
        }
    }
}

/// The precise cause of a refused request, without any request data: what a
/// host counts in its metrics. Every error [`Response`](crate::http::Response)
/// carries one ([`Response::cause`](crate::http::Response::cause)), and
/// [`Error::cause`] gives it for an [`Error`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The request is malformed.
    InvalidRequest(RequestFault),
    /// Client authentication failed.
    ClientAuthentication,
    /// The grant was refused.
    InvalidGrant(GrantFault),
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is unknown or not offered.
    UnsupportedGrantType,
    /// The requested scope is not allowed.
    InvalidScope,
    /// The resource owner denied the request.
    AccessDenied,
    /// Only `response_type=code` is offered.
    UnsupportedResponseType,
    /// A host store (or password verifier or key provider) failed.
    Store,
    /// The random source failed.
    Random,
    /// Signing failed or is not configured.
    Signing(SigningFault),
    /// An internal fault.
    Internal(InternalFault),
    /// A bearer token was refused at a resource.
    Bearer(BearerFault),
    /// The server is too busy to check a credential now: the queue of its
    /// `HashPool` is full (RB-06).
    Overloaded,
    /// `prompt=none`, but the user would have to act (OI-06).
    InteractionRequired(Interaction),
    /// An OpenID Connect parameter this server does not support.
    NotSupported(OpenIdUnsupported),
    /// The request object was refused (JR-01).
    InvalidRequestObject(RequestObjectFault),
    /// The `request_uri` is unknown, used, expired or another client's
    /// (PA-02).
    InvalidRequestUri,
    /// A DPoP proof was refused at the token endpoint (DP-01).
    Dpop(DpopFault),
    /// A DPoP proof lacks the server's current nonce (DP-01).
    DpopNonce,
    /// A requested `resource` is malformed or not allowed (RFC 8707, RI-01).
    InvalidTarget,
    /// A device code polled for before the user decided (RFC 8628 §3.5,
    /// DV-02).
    AuthorizationPending,
    /// A device code polled for too fast (RFC 8628 §3.5, DV-02).
    SlowDown,
    /// An expired device code (RFC 8628 §3.5, DV-02).
    ExpiredToken,
    /// Client metadata refused at registration (RFC 7591 §3.2.2, RG-01).
    InvalidClientMetadata(MetadataFault),
    /// A software statement refused at registration (RFC 7591 §3.2.2).
    InvalidSoftwareStatement,
}

impl Cause {
    /// The wire code: the one audited mapping from cause to RFC error.
    /// `None` only for a resource request without credentials, which RFC
    /// 6750 §3.1 answers with a bare challenge.
    pub const fn code(self) -> Option<ErrorCode> {
        Some(match self {
            Self::InvalidRequest(_)
            | Self::Bearer(
                BearerFault::Malformed | BearerFault::MultipleMethods | BearerFault::InQuery,
            ) => ErrorCode::InvalidRequest,
            Self::ClientAuthentication => ErrorCode::InvalidClient,
            Self::InvalidGrant(_) => ErrorCode::InvalidGrant,
            Self::UnauthorizedClient => ErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            Self::InvalidScope => ErrorCode::InvalidScope,
            Self::AccessDenied => ErrorCode::AccessDenied,
            Self::UnsupportedResponseType => ErrorCode::UnsupportedResponseType,
            Self::Store | Self::Random | Self::Signing(_) | Self::Internal(_) => {
                ErrorCode::ServerError
            }
            Self::Bearer(BearerFault::Invalid) => ErrorCode::InvalidToken,
            Self::Bearer(BearerFault::InsufficientScope) => ErrorCode::InsufficientScope,
            Self::Bearer(BearerFault::Missing) => return None,
            Self::Overloaded => ErrorCode::TemporarilyUnavailable,
            Self::InteractionRequired(Interaction::Login) => ErrorCode::LoginRequired,
            Self::InteractionRequired(Interaction::Consent) => ErrorCode::ConsentRequired,
            Self::InteractionRequired(Interaction::AccountSelection) => {
                ErrorCode::AccountSelectionRequired
            }
            Self::InteractionRequired(Interaction::Other) => ErrorCode::InteractionRequired,
            Self::NotSupported(OpenIdUnsupported::Request) => ErrorCode::RequestNotSupported,
            Self::NotSupported(OpenIdUnsupported::RequestUri) => ErrorCode::RequestUriNotSupported,
            Self::NotSupported(OpenIdUnsupported::Registration) => {
                ErrorCode::RegistrationNotSupported
            }
            Self::InvalidRequestObject(_) => ErrorCode::InvalidRequestObject,
            Self::InvalidRequestUri => ErrorCode::InvalidRequestUri,
            Self::Dpop(_) | Self::Bearer(BearerFault::Dpop(_)) => ErrorCode::InvalidDpopProof,
            Self::DpopNonce | Self::Bearer(BearerFault::DpopNonce) => ErrorCode::UseDpopNonce,
            Self::InvalidTarget => ErrorCode::InvalidTarget,
            Self::AuthorizationPending => ErrorCode::AuthorizationPending,
            Self::SlowDown => ErrorCode::SlowDown,
            Self::ExpiredToken => ErrorCode::ExpiredToken,
            Self::InvalidClientMetadata(MetadataFault::RedirectUri) => {
                ErrorCode::InvalidRedirectUri
            }
            Self::InvalidClientMetadata(_) => ErrorCode::InvalidClientMetadata,
            Self::InvalidSoftwareStatement => ErrorCode::InvalidSoftwareStatement,
        })
    }
}

/// An opaque failure of a host-provided store, password verifier or key
/// provider. Always answered with `server_error` (500); the cause is kept in
/// the `source()` chain for the host's logs.
#[derive(Debug)]
pub struct StoreError {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl StoreError {
    /// Wraps the underlying cause.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            source: Box::new(source),
        }
    }

    /// A store error with only a static message.
    pub fn msg(message: &'static str) -> Self {
        Self::new(StaticMessage(message))
    }

    /// Whether the cause is a full [`HashPool`](crate::HashPool) queue
    /// ([`HashPoolError::Busy`]): the server answers such a failure
    /// `temporarily_unavailable` (503), not `server_error`.
    pub fn is_busy(&self) -> bool {
        self.source.downcast_ref::<HashPoolError>() == Some(&HashPoolError::Busy)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("storage failure")
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[derive(Debug)]
struct StaticMessage(&'static str);

impl fmt::Display for StaticMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for StaticMessage {}

/// A mistake in the server's configuration, found by `ServerBuilder::build`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The issuer must be an `https` URL (or `http` on a loopback host) with
    /// no query, fragment or trailing slash (RFC 8414 §2).
    #[error("issuer must be an https URL without query, fragment or trailing slash")]
    InvalidIssuer,
    /// A lifetime is zero or beyond its allowed maximum (codes: 10 minutes, AC-01).
    #[error("lifetime of {0} out of range")]
    InvalidLifetime(&'static str),
    /// The password grant is enabled but no `PasswordVerifier` was given.
    #[error("password grant enabled without a PasswordVerifier")]
    MissingPasswordVerifier,
    /// A store trait that the server, or a feature it is configured with,
    /// needs was not given to the builder.
    #[error("no {store} given to the builder, but {needed_by} needs one")]
    MissingStore {
        /// The trait, e.g. `"ReplayCache"`.
        store: &'static str,
        /// What needs it, e.g. `"Config::jwt_client_authentication"`.
        needed_by: &'static str,
    },
    /// An endpoint path must start with `/`.
    #[error("endpoint path for {0} must start with '/'")]
    InvalidPath(&'static str),
    /// `Config::pairwise_salt` is shorter than 16 bytes: pairwise subjects
    /// would be as guessable as the user ids they hide (OI-04).
    #[error("pairwise_salt must be at least 16 bytes")]
    WeakPairwiseSalt,
    /// The configuration breaks a rule of its [`Profile`](crate::Profile):
    /// under the FAPI 2.0 Security Profile, e.g. the password grant, plain
    /// PKCE, a code lifetime over 60 s or an RS256 key. The text names the
    /// rule.
    #[error("the {profile} profile forbids this configuration: {rule}")]
    ProfileViolation {
        /// The profile.
        profile: &'static str,
        /// What it forbids, e.g. `"the password grant (FAPI 2.0 §5.3.2.1-2)"`.
        rule: &'static str,
    },
    /// A DPoP setting is out of range: `DpopConfig::nonce_secret` shorter
    /// than 32 bytes, an empty algorithm list, a zero `iat` window or
    /// nonce lifetime, or a `resource_base_url` that is not an absolute
    /// http(s) URL.
    #[error("invalid DPoP configuration: {0}")]
    InvalidDpop(&'static str),
    /// A `Config::jwks_uri` setting is out of range: a cache TTL not
    /// between 1 s and one day, a refetch interval not between 1 s and the
    /// TTL, or a capacity of 0 (issue 19).
    #[error("invalid jwks_uri cache configuration: {0}")]
    InvalidJwksUri(&'static str),
}

/// Everything that can go wrong while answering a request.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed.
    #[error("malformed request: {0}")]
    InvalidRequest(RequestFault),
    /// Client authentication failed. One variant for an unknown client, a
    /// wrong secret, a disabled client and a wrong method (CA-06, CA-07).
    #[error("client authentication failed")]
    ClientAuthentication {
        /// The client tried `Authorization: Basic` (TOK-06).
        via_basic: bool,
    },
    /// The code, refresh token or resource owner credentials are invalid.
    #[error("invalid grant: {0}")]
    InvalidGrant(GrantFault),
    /// The client is not registered for this grant (TOK-07).
    #[error("client may not use this grant")]
    UnauthorizedClient,
    /// The grant type is unknown or not enabled on this server (TOK-07).
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// The requested scope is not allowed.
    #[error("scope not allowed")]
    InvalidScope,
    /// The resource owner denied the request.
    #[error("resource owner denied the request")]
    AccessDenied,
    /// Only `response_type=code` is offered.
    #[error("unsupported response type")]
    UnsupportedResponseType,
    /// A host store failed.
    #[error("storage failure")]
    Store(StoreError),
    /// The random source failed.
    #[error("random source failed")]
    Random(#[from] crate::random::RandomError),
    /// Signing is not configured or failed (not a store failure).
    #[error("signing: {0}")]
    Signing(SigningFault),
    /// An internal fault (not a store failure).
    #[error("internal: {0}")]
    Internal(InternalFault),
    /// The server is too busy to check a credential now (its `HashPool`'s
    /// queue is full; RB-06): `temporarily_unavailable` (503) with
    /// `Retry-After`. Nothing was checked, so it is no failed attempt.
    #[error("too busy to check credentials")]
    Overloaded,
    /// `prompt=none`, but the user would have to log in, consent or
    /// otherwise act (OpenID Connect Core §3.1.2.6, OI-06).
    #[error("user interaction required: {0:?}")]
    InteractionRequired(Interaction),
    /// An OpenID Connect parameter this server does not support (`request`,
    /// `request_uri`, `registration`).
    #[error("unsupported OpenID Connect parameter: {0:?}")]
    NotSupported(OpenIdUnsupported),
    /// The `request` object is invalid (RFC 9101 §6.3, JR-01).
    #[error("invalid request object: {0}")]
    InvalidRequestObject(RequestObjectFault),
    /// The `request_uri` is unknown, already used, expired or was pushed
    /// by another client (RFC 9126 §4, PA-02).
    #[error("invalid request_uri")]
    InvalidRequestUri,
    /// The DPoP proof is missing where required, malformed or does not
    /// verify (`invalid_dpop_proof`, RFC 9449 §5; DP-01, DP-02).
    #[error("DPoP proof refused: {0}")]
    InvalidDpopProof(DpopFault),
    /// The DPoP proof lacks the server's current nonce (`use_dpop_nonce`,
    /// RFC 9449 §8): the response carries the nonce in `DPoP-Nonce`.
    #[error("DPoP nonce required")]
    UseDpopNonce,
    /// A requested `resource` is malformed, or not allowed for the client,
    /// or wider than the grant (RFC 8707 §2, RI-01): `invalid_target`.
    #[error("resource not allowed")]
    InvalidTarget,
    /// The user has not decided on the device's request yet
    /// (`authorization_pending`, RFC 8628 §3.5; DV-02).
    #[error("device authorization pending")]
    AuthorizationPending,
    /// The device polls faster than its interval allows (`slow_down`,
    /// RFC 8628 §3.5; DV-02): the interval grew by 5 seconds.
    #[error("device polling too fast")]
    SlowDown,
    /// The device code expired (`expired_token`, RFC 8628 §3.5; DV-02).
    #[error("device code expired")]
    ExpiredToken,
    /// Client metadata refused at the registration or client configuration
    /// endpoint (RFC 7591 §3.2.2, RG-01): `invalid_client_metadata`, or
    /// `invalid_redirect_uri` for [`MetadataFault::RedirectUri`].
    #[error("invalid client metadata: {0}")]
    InvalidClientMetadata(MetadataFault),
    /// The software statement is malformed or was refused
    /// (`invalid_software_statement`, RFC 7591 §3.2.2).
    #[error("invalid software statement")]
    InvalidSoftwareStatement,
}

/// A store failure, or, when a `PasswordVerifier` reports that the
/// `HashPool` is busy ([`StoreError::is_busy`]), [`Error::Overloaded`].
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        if e.is_busy() {
            Self::Overloaded
        } else {
            Self::Store(e)
        }
    }
}

impl From<HashPoolError> for Error {
    fn from(e: HashPoolError) -> Self {
        match e {
            HashPoolError::Busy => Self::Overloaded,
            HashPoolError::Failed => Self::Internal(InternalFault::HashPool),
        }
    }
}

impl Error {
    /// The precise cause, without request data (for the host's metrics).
    pub const fn cause(&self) -> Cause {
        match self {
            Self::InvalidRequest(fault) => Cause::InvalidRequest(*fault),
            Self::ClientAuthentication { .. } => Cause::ClientAuthentication,
            Self::InvalidGrant(fault) => Cause::InvalidGrant(*fault),
            Self::UnauthorizedClient => Cause::UnauthorizedClient,
            Self::UnsupportedGrantType => Cause::UnsupportedGrantType,
            Self::InvalidScope => Cause::InvalidScope,
            Self::AccessDenied => Cause::AccessDenied,
            Self::UnsupportedResponseType => Cause::UnsupportedResponseType,
            Self::Store(_) => Cause::Store,
            Self::Random(_) => Cause::Random,
            Self::Signing(fault) => Cause::Signing(*fault),
            Self::Internal(fault) => Cause::Internal(*fault),
            Self::Overloaded => Cause::Overloaded,
            Self::InteractionRequired(i) => Cause::InteractionRequired(*i),
            Self::NotSupported(p) => Cause::NotSupported(*p),
            Self::InvalidRequestObject(f) => Cause::InvalidRequestObject(*f),
            Self::InvalidRequestUri => Cause::InvalidRequestUri,
            Self::InvalidDpopProof(f) => Cause::Dpop(*f),
            Self::UseDpopNonce => Cause::DpopNonce,
            Self::InvalidTarget => Cause::InvalidTarget,
            Self::AuthorizationPending => Cause::AuthorizationPending,
            Self::SlowDown => Cause::SlowDown,
            Self::ExpiredToken => Cause::ExpiredToken,
            Self::InvalidClientMetadata(f) => Cause::InvalidClientMetadata(*f),
            Self::InvalidSoftwareStatement => Cause::InvalidSoftwareStatement,
        }
    }

    /// The wire code, from [`Cause::code`].
    pub fn code(&self) -> ErrorCode {
        self.cause().code().unwrap_or(ErrorCode::ServerError)
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(RequestFault::MethodNotAllowed) => 405,
            Self::InvalidRequest(RequestFault::BodyTooLarge) => 413,
            other => other.code().status(),
        }
    }

    /// The `error_description` sent on the wire: static text only, so no
    /// request value can leak through it (RB-03).
    pub fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(fault) => match fault {
                RequestFault::MethodNotAllowed => "method not allowed",
                RequestFault::ContentType => "the body must be application/x-www-form-urlencoded",
                RequestFault::BodyTooLarge => "the request body is too large",
                RequestFault::QueryTooLong => "the query string is too long",
                RequestFault::DuplicateParameter(_) => "a parameter was sent more than once",
                RequestFault::MissingParameter(_) => "a required parameter is missing",
                RequestFault::InvalidParameter(_) => "a parameter is malformed",
                RequestFault::MalformedEncoding => "the request is not valid form encoding",
                RequestFault::InvalidHeader(_) => "a header is malformed or repeated",
                RequestFault::MultipleClientAuthentications => {
                    "more than one client authentication method was used"
                }
                RequestFault::CredentialsInQuery => {
                    "client credentials must be sent in the request body, never in the URI"
                }
                RequestFault::ResumeRefused => {
                    "this authorization request has expired or was already completed; start again from the application"
                }
                RequestFault::PushedRequestRequired => {
                    "authorization requests must be pushed to the pushed authorization request endpoint first"
                }
                RequestFault::SignedRequestObjectRequired => {
                    "authorization requests of this client must come in a signed request object"
                }
                RequestFault::JsonContentType => "the body must be application/json",
            },
            Self::ClientAuthentication { .. } => "client authentication failed",
            Self::InvalidGrant(_) => {
                "the grant is invalid, expired, revoked or was issued to another client"
            }
            Self::UnauthorizedClient => "the client is not allowed to use this grant type",
            Self::UnsupportedGrantType => "the grant type is not supported",
            Self::InvalidScope => "the requested scope is invalid or exceeds what is allowed",
            Self::AccessDenied => "the resource owner denied the request",
            Self::UnsupportedResponseType => "the response type is not supported",
            Self::Store(_) | Self::Random(_) | Self::Signing(_) | Self::Internal(_) => {
                "the server could not complete the request"
            }
            Self::Overloaded => "the server is busy; retry shortly",
            Self::InteractionRequired(i) => match i {
                Interaction::Login => "the user must log in",
                Interaction::Consent => "the user must consent",
                Interaction::AccountSelection => "the user must select an account",
                Interaction::Other => "the user must interact with the server",
            },
            Self::NotSupported(p) => match p {
                OpenIdUnsupported::Request => "the request parameter is not supported",
                OpenIdUnsupported::RequestUri => "the request_uri parameter is not supported",
                OpenIdUnsupported::Registration => "the registration parameter is not supported",
            },
            Self::InvalidRequestObject(_) => "the request object is invalid",
            Self::InvalidRequestUri => "the request_uri is invalid, expired or already used",
            Self::InvalidDpopProof(DpopFault::Missing) => "a DPoP proof is required",
            Self::InvalidDpopProof(_) => "the DPoP proof is invalid",
            Self::UseDpopNonce => "the DPoP proof must carry the server's nonce",
            Self::InvalidTarget => {
                "a requested resource is invalid or not allowed for this client or grant"
            }
            Self::AuthorizationPending => "the user has not yet approved or denied the request",
            Self::SlowDown => "polling too fast: wait 5 seconds longer between requests",
            Self::ExpiredToken => "the device code has expired",
            Self::InvalidClientMetadata(fault) => match fault {
                MetadataFault::NotAnObject => "the client metadata must be a JSON object",
                MetadataFault::Invalid(_) => "a client metadata field is malformed",
                MetadataFault::Unsupported(_) => {
                    "a client metadata field holds a value this server does not support"
                }
                MetadataFault::GrantResponseMismatch => {
                    "grant_types and response_types do not fit each other"
                }
                MetadataFault::NotAllowed(_) => {
                    "a field was sent that may not be, or does not match the client"
                }
                MetadataFault::Inconsistent => {
                    "the client metadata fields are inconsistent with each other"
                }
                MetadataFault::RedirectUri => {
                    "a redirect URI is invalid, insecure or not allowed for this client"
                }
                MetadataFault::Policy => "the server's registration policy refused this metadata",
            },
            Self::InvalidSoftwareStatement => "the software statement is invalid",
        }
    }

    pub(crate) fn missing(param: &'static str) -> Self {
        Self::InvalidRequest(RequestFault::MissingParameter(param))
    }

    pub(crate) fn invalid_param(param: &'static str) -> Self {
        Self::InvalidRequest(RequestFault::InvalidParameter(param))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_and_others_400() {
        // covers: TOK-05
        assert_eq!(
            Error::ClientAuthentication { via_basic: false }.status(),
            401
        );
        assert_eq!(Error::InvalidGrant(GrantFault::Expired).status(), 400);
        assert_eq!(Error::UnauthorizedClient.status(), 400);
        assert_eq!(Error::Store(StoreError::msg("x")).status(), 500);
        assert_eq!(
            Error::InvalidRequest(RequestFault::MethodNotAllowed).status(),
            405
        );
    }

    #[test]
    fn store_error_keeps_its_source() {
        use std::error::Error as _;
        let e = StoreError::msg("disk on fire");
        assert_eq!(e.to_string(), "storage failure");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("disk on fire")
        );
    }
}
