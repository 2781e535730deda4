//! RFC 7591 client metadata on the wire (RG-01): the JSON of a
//! registration or update request parsed at the edge into the typed client
//! model (each field through its type's parser, then the client model's
//! own rules at `ClientBuilder::build`), and a [`Client`] written back as
//! the client information response (RFC 7591 §3.2.1, RFC 7592 §3).
//!
//! Only what a registrant may choose is read: the RFC 7591 §2 fields, the
//! OpenID Connect Registration 1.0 §2 ones, `dpop_bound_access_tokens`
//! (RFC 9449 §5.2), `require_pushed_authorization_requests` (RFC 9126 §6),
//! `require_signed_request_object` (RFC 9101 §10.5) and
//! `allowed_cors_origins`. The host's own settings (`enabled`,
//! `skip_consent`, lifetimes, `owner`, `metadata`, resource-server
//! audiences…) are never taken from a registrant: the
//! [`RegistrationPolicy`](crate::RegistrationPolicy) sets them. Unknown
//! fields are ignored (RFC 7591 §2); a `null` is an absent field.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::client::{
    ApplicationType, AuthMethod, Client, ClientBuilder, ClientError, ClientId, ClientSigningAlg,
    OpenIdRegistration, RegistrationFields, SecretHash, SubjectType,
};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::error::{Error, MetadataFault};
use crate::grant_type::GrantType;
use crate::keys::Algorithm;
use crate::origin::Origin;
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::web_url::WebUrl;

/// Fields the client information response holds and a request may not
/// send (RFC 7591 §3.2.1, RFC 7592 §2.2).
const SERVER_FIELDS: [&str; 4] = [
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
];

/// A parsed request: the typed fields, and what the endpoint checks
/// itself (`client_id`, `client_secret`, `software_statement`).
pub(crate) struct Metadata {
    pub(crate) method: AuthMethod,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) software_statement: Option<String>,
    client_name: Option<String>,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    scope: ScopeSet,
    jwks: Option<String>,
    openid: OpenIdRegistration,
    registration: RegistrationFields,
    dpop_bound_access_tokens: bool,
    require_pushed_authorization_requests: bool,
    require_signed_request_object: bool,
}

/// The request's JSON object, read field by field.
struct Fields(Map<String, Value>);

fn invalid(field: &'static str) -> Error {
    Error::InvalidClientMetadata(MetadataFault::Invalid(field))
}

fn unsupported(field: &'static str) -> Error {
    Error::InvalidClientMetadata(MetadataFault::Unsupported(field))
}

fn redirect_uri_error() -> Error {
    Error::InvalidClientMetadata(MetadataFault::RedirectUri)
}

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn str(&self, name: &'static str) -> Result<Option<&str>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A string parsed by `parse`; `None` from it is `invalid(name)`.
    fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        self.str(name)?
            .map(|s| parse(s).ok_or_else(|| invalid(name)))
            .transpose()
    }

    fn strs(&self, name: &'static str) -> Result<Vec<&str>, Error> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| invalid(name)))
                .collect(),
            Some(_) => Err(invalid(name)),
        }
    }

    fn bool(&self, name: &'static str) -> Result<bool, Error> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(invalid(name)),
        }
    }

    fn secs(&self, name: &'static str) -> Result<Option<u64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| invalid(name)),
        }
    }
}

/// Whether `s` is acceptable as a short text field: not empty, at most
/// 1024 bytes, no control characters.
fn text(s: &str, field: &'static str) -> Result<String, Error> {
    if s.is_empty() || s.len() > 1024 || s.chars().any(char::is_control) {
        return Err(invalid(field));
    }
    Ok(s.to_owned())
}

/// A software statement's shape (RFC 7591 §2.3): a compact JWS, three
/// base64url parts, the first two non-empty. Verifying it is the policy's.
fn statement_shape_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    let b64 = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    s.len() <= 16_384
        && parts.len() == 3
        && parts.iter().all(|p| b64(p))
        && parts.iter().take(2).all(|p| !p.is_empty())
}

/// Parses a registration or update request's body into typed metadata,
/// checking each field against `config` (grant types the server offers,
/// the authentication methods it accepts).
pub(crate) fn parse(config: &Config, body: &[u8]) -> Result<Metadata, Error> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(Error::InvalidClientMetadata(MetadataFault::NotAnObject)),
    };
    let f = Fields(object);
    for field in SERVER_FIELDS {
        if f.get(field).is_some() {
            return Err(Error::InvalidClientMetadata(MetadataFault::NotAllowed(
                field,
            )));
        }
    }
    let method = match f.str("token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(m).ok_or_else(|| invalid("token_endpoint_auth_method"))?,
    };
    match method {
        // Its shared secret would have to be kept in the clear.
        AuthMethod::ClientSecretJwt => return Err(unsupported("token_endpoint_auth_method")),
        AuthMethod::PrivateKeyJwt if !config.jwt_client_authentication => {
            return Err(unsupported("token_endpoint_auth_method"));
        }
        _ => {}
    }
    let redirect_uris = f
        .strs("redirect_uris")
        .map_err(|_| redirect_uri_error())?
        .into_iter()
        .map(|s| RedirectUri::parse(s).ok_or_else(redirect_uri_error))
        .collect::<Result<Vec<_>, _>>()?;
    let grant_types = match f.get("grant_types") {
        None => vec![GrantType::AuthorizationCode],
        Some(_) => f
            .strs("grant_types")?
            .into_iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| invalid("grant_types")))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if grant_types.iter().any(|g| !config.offers(g)) {
        return Err(unsupported("grant_types"));
    }
    // RFC 7591 §2.1: `code` is the one response type, and it goes with the
    // `authorization_code` grant, both ways.
    let code_grant = grant_types.contains(&GrantType::AuthorizationCode);
    if f.get("response_types").is_some() {
        let response_types = f.strs("response_types")?;
        if response_types.iter().any(|r| *r != "code") {
            return Err(unsupported("response_types"));
        }
        if response_types.contains(&"code") != code_grant {
            return Err(Error::InvalidClientMetadata(
                MetadataFault::GrantResponseMismatch,
            ));
        }
    }
    let scope = f
        .parsed("scope", ScopeSet::parse)?
        .unwrap_or_else(ScopeSet::empty);
    let jwks = match f.get("jwks") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err(invalid("jwks")),
    };
    if f.get("sector_identifier_uri").is_some() {
        // Checking it means fetching it, which the core never does.
        return Err(unsupported("sector_identifier_uri"));
    }
    let alg = |name| f.parsed(name, Algorithm::parse);
    let url = |name| f.parsed(name, WebUrl::parse);
    let mut openid = OpenIdRegistration::default();
    openid.id_token_signed_response_alg = alg("id_token_signed_response_alg")?;
    openid.userinfo_signed_response_alg = alg("userinfo_signed_response_alg")?;
    openid.subject_type = f
        .parsed("subject_type", SubjectType::parse)?
        .unwrap_or_default();
    openid.post_logout_redirect_uris = f
        .strs("post_logout_redirect_uris")?
        .into_iter()
        .map(|s| RedirectUri::parse(s).ok_or_else(|| invalid("post_logout_redirect_uris")))
        .collect::<Result<Vec<_>, _>>()?;
    openid.backchannel_logout_uri = url("backchannel_logout_uri")?;
    openid.backchannel_logout_session_required = f.bool("backchannel_logout_session_required")?;
    openid.require_auth_time = f.bool("require_auth_time")?;
    openid.default_max_age = f.secs("default_max_age")?.map(Duration::from_secs);
    openid.logo_uri = url("logo_uri")?;
    openid.policy_uri = url("policy_uri")?;
    openid.tos_uri = url("tos_uri")?;
    openid.client_uri = url("client_uri")?;
    let signing_alg = |name| f.parsed(name, ClientSigningAlg::parse);
    let registration = RegistrationFields {
        application_type: f
            .parsed("application_type", ApplicationType::parse)?
            .unwrap_or_default(),
        contacts: f
            .strs("contacts")?
            .into_iter()
            .map(|c| text(c, "contacts"))
            .collect::<Result<Vec<_>, _>>()?,
        jwks_uri: url("jwks_uri")?,
        software_id: f
            .str("software_id")?
            .map(|s| text(s, "software_id"))
            .transpose()?,
        software_version: f
            .str("software_version")?
            .map(|s| text(s, "software_version"))
            .transpose()?,
        token_endpoint_auth_signing_alg: signing_alg("token_endpoint_auth_signing_alg")?,
        request_object_signing_alg: signing_alg("request_object_signing_alg")?,
        allowed_cors_origins: f
            .strs("allowed_cors_origins")?
            .into_iter()
            .map(|o| Origin::parse(o).ok_or_else(|| invalid("allowed_cors_origins")))
            .collect::<Result<Vec<_>, _>>()?,
        ..RegistrationFields::default()
    };
    let software_statement = f.str("software_statement")?.map(str::to_owned);
    if software_statement
        .as_deref()
        .is_some_and(|s| !statement_shape_ok(s))
    {
        return Err(Error::InvalidSoftwareStatement);
    }
    Ok(Metadata {
        method,
        client_id: f.str("client_id")?.map(str::to_owned),
        client_secret: f.str("client_secret")?.map(str::to_owned),
        software_statement,
        client_name: f
            .str("client_name")?
            .map(|s| text(s, "client_name"))
            .transpose()?,
        redirect_uris,
        grant_types,
        scope,
        jwks,
        openid,
        registration,
        dpop_bound_access_tokens: f.bool("dpop_bound_access_tokens")?,
        require_pushed_authorization_requests: f.bool("require_pushed_authorization_requests")?,
        require_signed_request_object: f.bool("require_signed_request_object")?,
    })
}

/// A client model rule broken: about a redirect URI, `invalid_redirect_uri`;
/// else `invalid_client_metadata`.
pub(crate) fn model_error(e: ClientError) -> Error {
    match e {
        ClientError::MissingRedirectUri
        | ClientError::InsecureRedirectUri
        | ClientError::NativeRedirectUri => redirect_uri_error(),
        other => {
            tracing::debug!(rule = %other, "client metadata breaks a rule of the client model");
            Error::InvalidClientMetadata(MetadataFault::Inconsistent)
        }
    }
}

impl Metadata {
    /// Whether the client authenticates with a secret the server issues
    /// (`client_secret_basic`, `client_secret_post`).
    pub(crate) fn needs_secret(&self) -> bool {
        matches!(
            self.method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }

    /// The client `id` with this metadata, the secret `secret` (for a
    /// method that needs one), and the host's own settings of `keep` (the
    /// client an update replaces: its enabled flag, consent, lifetimes,
    /// token format, audiences, resources, owner and metadata, which a
    /// registrant does not set), checked by the client model.
    pub(crate) fn into_client(
        self,
        id: ClientId,
        secret: Option<SecretHash>,
        keep: Option<&Client>,
    ) -> Result<Client, Error> {
        let mut b = match (self.method, secret) {
            (AuthMethod::None, _) => Client::public(id),
            (AuthMethod::PrivateKeyJwt, _) => match (&self.jwks, &self.registration.jwks_uri) {
                (Some(jwks), _) => Client::private_key_jwt(id, jwks.clone()),
                (None, Some(uri)) => Client::private_key_jwt_uri(id, uri.clone()),
                (None, None) => return Err(model_error(ClientError::InvalidJwks)),
            },
            (method, Some(secret)) => {
                Client::confidential(id, secret).token_endpoint_auth_method(method)
            }
            (_, None) => return Err(model_error(ClientError::AuthMethodMismatch)),
        };
        if let Some(name) = self.client_name {
            b = b.client_name(name);
        }
        for uri in self.redirect_uris {
            b = b.redirect_uri(uri);
        }
        for grant in self.grant_types {
            b = b.grant_type(grant);
        }
        let mut registration = self.registration;
        if let Some(old) = keep {
            registration.owner = old.owner().map(str::to_owned);
            registration.metadata = old.metadata().clone();
            b = keep_host_settings(b, old, &self.scope);
        }
        b.scope(self.scope)
            .jwks(self.jwks)
            .openid_registration(self.openid)
            .registration(registration)
            .dpop_bound_access_tokens(self.dpop_bound_access_tokens)
            .require_pushed_authorization_requests(self.require_pushed_authorization_requests)
            .require_signed_request_object(self.require_signed_request_object)
            .build()
            .map_err(model_error)
    }
}

/// The settings of `old` that are the host's, not the registrant's, carried
/// into its replacement (RFC 7592 §2.2 replaces the client's metadata, not
/// what the operator decided about it: a disabled client stays disabled).
fn keep_host_settings(mut b: ClientBuilder, old: &Client, scope: &ScopeSet) -> ClientBuilder {
    b = b
        .enabled(old.is_enabled())
        .skip_consent(old.skips_consent())
        .dangerous_allow_plain_pkce(old.allows_plain_pkce())
        .access_token_format(old.access_token_format());
    if let Some(l) = old.access_token_lifetime() {
        b = b.access_token_lifetime(l);
    }
    if let Some(l) = old.refresh_token_lifetime() {
        b = b.refresh_token_lifetime(l);
    }
    if let Some(d) = old.default_scope().filter(|d| d.is_subset_of(scope)) {
        b = b.default_scope(d.clone());
    }
    for a in old.resource_server_audiences() {
        b = b.resource_server_for(a.clone());
    }
    for r in old.resources() {
        b = b.resource(r.clone());
    }
    b
}

/// What only a registration (or an update that rotates) answers once.
#[derive(Default)]
pub(crate) struct Issued<'a> {
    /// The client secret, in the clear, this once.
    pub(crate) client_secret: Option<&'a str>,
    /// The registration access token, in the clear, this once.
    pub(crate) registration_access_token: Option<&'a str>,
    /// When the client was registered (the registration response only).
    pub(crate) client_id_issued_at: Option<UnixTime>,
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the
/// client's metadata as registered, with `registration_client_uri` and
/// what `issued` shows this once.
pub(crate) fn information(client: &Client, configuration_uri: &str, issued: &Issued<'_>) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    let s = |v: &str| Value::String(v.to_owned());
    let list = |items: Vec<&str>| Value::Array(items.into_iter().map(s).collect());
    put("client_id", s(client.client_id().as_str()));
    if let Some(secret) = issued.client_secret {
        put("client_secret", s(secret));
    }
    if let Some(at) = issued.client_id_issued_at {
        put("client_id_issued_at", at.as_secs().into());
    }
    if client.secret_hash().is_some() {
        // RFC 7591 §3.2.1: required with a secret; 0 for never.
        put(
            "client_secret_expires_at",
            client
                .client_secret_expires_at()
                .map_or(0, UnixTime::as_secs)
                .into(),
        );
    }
    if let Some(token) = issued.registration_access_token {
        put("registration_access_token", s(token));
    }
    put("registration_client_uri", s(configuration_uri));
    put("client_name", s(client.client_name()));
    put(
        "redirect_uris",
        list(
            client
                .redirect_uris()
                .iter()
                .map(RedirectUri::as_str)
                .collect(),
        ),
    );
    put(
        "grant_types",
        list(client.grant_types().iter().map(GrantType::as_str).collect()),
    );
    let code = client.allows_grant(GrantType::AuthorizationCode);
    put(
        "response_types",
        list(if code { vec!["code"] } else { Vec::new() }),
    );
    put(
        "token_endpoint_auth_method",
        s(client.token_endpoint_auth_method().as_str()),
    );
    if !client.scope().is_empty() {
        put("scope", s(&client.scope().to_string()));
    }
    if let Some(jwks) = client.jwks() {
        put("jwks", serde_json::from_str(jwks).unwrap_or(Value::Null));
    }
    let r = client.registration();
    put("application_type", s(r.application_type.as_str()));
    if !r.contacts.is_empty() {
        put(
            "contacts",
            list(r.contacts.iter().map(String::as_str).collect()),
        );
    }
    let urls = [
        ("jwks_uri", r.jwks_uri.as_ref()),
        ("logo_uri", client.logo_uri()),
        ("client_uri", client.client_uri()),
        ("policy_uri", client.policy_uri()),
        ("tos_uri", client.tos_uri()),
        ("backchannel_logout_uri", client.backchannel_logout_uri()),
    ];
    for (k, v) in urls {
        if let Some(v) = v {
            put(k, s(v.as_str()));
        }
    }
    for (k, v) in [
        ("software_id", r.software_id.as_deref()),
        ("software_version", r.software_version.as_deref()),
        (
            "token_endpoint_auth_signing_alg",
            r.token_endpoint_auth_signing_alg
                .map(ClientSigningAlg::as_str),
        ),
        (
            "request_object_signing_alg",
            r.request_object_signing_alg.map(ClientSigningAlg::as_str),
        ),
        (
            "id_token_signed_response_alg",
            client.id_token_signed_response_alg().map(Algorithm::as_str),
        ),
        (
            "userinfo_signed_response_alg",
            client.userinfo_signed_response_alg().map(Algorithm::as_str),
        ),
    ] {
        if let Some(v) = v {
            put(k, s(v));
        }
    }
    put("subject_type", s(client.subject_type().as_str()));
    if !client.post_logout_redirect_uris().is_empty() {
        put(
            "post_logout_redirect_uris",
            list(
                client
                    .post_logout_redirect_uris()
                    .iter()
                    .map(RedirectUri::as_str)
                    .collect(),
            ),
        );
    }
    if let Some(age) = client.default_max_age() {
        put("default_max_age", age.as_secs().into());
    }
    for (k, v) in [
        ("require_auth_time", client.require_auth_time()),
        (
            "backchannel_logout_session_required",
            client.backchannel_logout_session_required(),
        ),
        (
            "dpop_bound_access_tokens",
            client.dpop_bound_access_tokens(),
        ),
        (
            "require_pushed_authorization_requests",
            client.requires_pushed_authorization_requests(),
        ),
        (
            "require_signed_request_object",
            client.requires_signed_request_object(),
        ),
    ] {
        put(k, Value::Bool(v));
    }
    if !r.allowed_cors_origins.is_empty() {
        put(
            "allowed_cors_origins",
            list(r.allowed_cors_origins.iter().map(Origin::as_str).collect()),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new("https://as.example")
    }

    fn fault(body: &str) -> Error {
        parse(&config(), body.as_bytes()).err().unwrap()
    }

    #[test]
    fn shapes_and_types_are_checked_field_by_field() {
        // covers: RG-01
        assert!(matches!(
            fault("[]"),
            Error::InvalidClientMetadata(MetadataFault::NotAnObject)
        ));
        assert!(matches!(
            fault(r#"{"redirect_uris": "https://a.example/cb"}"#),
            Error::InvalidClientMetadata(MetadataFault::RedirectUri)
        ));
        assert!(matches!(
            fault(r#"{"redirect_uris": ["https://a.example/cb#frag"]}"#),
            Error::InvalidClientMetadata(MetadataFault::RedirectUri)
        ));
        assert!(matches!(
            fault(r#"{"client_name": 7}"#),
            Error::InvalidClientMetadata(MetadataFault::Invalid("client_name"))
        ));
        assert!(matches!(
            fault(r#"{"registration_access_token": "x"}"#),
            Error::InvalidClientMetadata(MetadataFault::NotAllowed(_))
        ));
        assert!(matches!(
            fault(r#"{"software_statement": "not-a-jws"}"#),
            Error::InvalidSoftwareStatement
        ));
        let ok = parse(&config(), br#"{"client_name": null, "unknown": 1}"#).unwrap();
        assert!(ok.client_name.is_none() && ok.needs_secret());
    }

    #[test]
    fn a_statement_is_three_base64url_parts() {
        assert!(statement_shape_ok("eyJh.eyJi.c2ln"));
        assert!(statement_shape_ok("eyJh.eyJi."));
        assert!(!statement_shape_ok("eyJh.eyJi"));
        assert!(!statement_shape_ok("eyJh..sig"));
        assert!(!statement_shape_ok("e+Jh.eyJi.sig"));
    }
}
