//! Decoding stored columns back into the crate's types: every helper the
//! two SQL stores share for reading rows, each column through its type's
//! `FromStr`/`TryFrom`, so a corrupt value is a [`StoreError`] saying what was
//! wrong, never a panic.

use std::str::FromStr;
use std::time::Duration;

use crate::audience::Audience;
use crate::client::{Client, ClientBuilder, ClientId, RegistrationFields, SubjectType};
use crate::conversions::ParseError;
use crate::error::StoreError;
use crate::grant_type::GrantType;
use crate::keys::Algorithm;
use crate::pkce::CodeChallenge;
use crate::redirect_uri::RedirectUri;
use crate::tokens::GrantId;
use crate::web_url::WebUrl;

/// A stored value that does not parse as its type: the row is corrupt.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: {0}")]
struct Corrupt(ParseError);

fn corrupt(e: ParseError) -> StoreError {
    StoreError::new(Corrupt(e))
}

/// A text column, through its type's `FromStr`.
pub(super) fn parsed<T: FromStr<Err = ParseError>>(s: &str) -> Result<T, StoreError> {
    s.parse().map_err(corrupt)
}

pub(super) fn grant_from(bytes: &[u8]) -> Result<GrantId, StoreError> {
    GrantId::try_from(bytes).map_err(corrupt)
}

pub(super) fn time(secs: i64) -> crate::clock::UnixTime {
    crate::clock::UnixTime::from_secs(u64::try_from(secs).unwrap_or(0))
}

pub(super) fn secs(t: crate::clock::UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// The `openid` column of a code or token: the JSON of
/// [`OpenIdGrant::to_json`](crate::oidc::OpenIdGrant::to_json), or NULL.
pub(super) fn openid(
    column: Option<String>,
) -> Result<Option<crate::oidc::OpenIdGrant>, StoreError> {
    column
        .as_deref()
        .map(crate::oidc::OpenIdGrant::from_json)
        .transpose()
        .map_err(corrupt)
}

pub(super) fn challenge(
    value: Option<String>,
    method: Option<String>,
) -> Result<Option<CodeChallenge>, StoreError> {
    match (value, method) {
        (Some(v), Some(m)) => CodeChallenge::new(parsed(&m)?, &v)
            .map(Some)
            .map_err(corrupt),
        _ => Ok(None),
    }
}

/// The `resource_server_audiences` column of a client: its audiences,
/// space-separated (`Audience` holds no whitespace), or NULL for none.
pub(super) fn audiences_column(client: &Client) -> Option<String> {
    let audiences = client.resource_server_audiences();
    (!audiences.is_empty()).then(|| {
        audiences
            .iter()
            .map(Audience::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The `post_logout_redirect_uris` column of a client: newline-separated
/// (no `RedirectUri` holds whitespace), or NULL for none.
pub(super) fn post_logout_column(client: &Client) -> Option<String> {
    let uris = client.post_logout_redirect_uris();
    (!uris.is_empty()).then(|| {
        uris.iter()
            .map(RedirectUri::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The columns of a client's OpenID Connect registration (schema 6).
pub(super) struct OpenIdColumns {
    pub(super) id_token_signed_response_alg: Option<String>,
    pub(super) userinfo_signed_response_alg: Option<String>,
    pub(super) subject_type: String,
    pub(super) sector_identifier_uri: Option<String>,
    /// Newline-separated; NULL for none.
    pub(super) post_logout_redirect_uris: Option<String>,
    pub(super) backchannel_logout_uri: Option<String>,
    pub(super) backchannel_logout_session_required: bool,
    pub(super) require_auth_time: bool,
    /// Seconds.
    pub(super) default_max_age: Option<i64>,
    pub(super) logo_uri: Option<String>,
    pub(super) policy_uri: Option<String>,
    pub(super) tos_uri: Option<String>,
    pub(super) client_uri: Option<String>,
}

impl OpenIdColumns {
    fn apply(self, mut b: ClientBuilder) -> Result<ClientBuilder, StoreError> {
        let url = |s: Option<String>| s.as_deref().map(parsed::<WebUrl>).transpose();
        let alg = |s: Option<String>| s.as_deref().map(parsed::<Algorithm>).transpose();
        for u in self
            .post_logout_redirect_uris
            .as_deref()
            .unwrap_or_default()
            .split('\n')
            .filter(|s| !s.is_empty())
        {
            b = b.post_logout_redirect_uri(parsed::<RedirectUri>(u)?);
        }
        Ok(
            b.id_token_signed_response_alg(alg(self.id_token_signed_response_alg)?)
                .userinfo_signed_response_alg(alg(self.userinfo_signed_response_alg)?)
                .subject_type(parsed::<SubjectType>(&self.subject_type)?)
                .sector_identifier_uri(url(self.sector_identifier_uri)?)
                .backchannel_logout_uri(url(self.backchannel_logout_uri)?)
                .backchannel_logout_session_required(self.backchannel_logout_session_required)
                .require_auth_time(self.require_auth_time)
                .default_max_age(
                    self.default_max_age
                        .and_then(|s| u64::try_from(s).ok())
                        .map(Duration::from_secs),
                )
                .logo_uri(url(self.logo_uri)?)
                .policy_uri(url(self.policy_uri)?)
                .tos_uri(url(self.tos_uri)?)
                .client_uri(url(self.client_uri)?),
        )
    }
}

/// The columns of one client row, decoded into a [`Client`].
pub(super) struct ClientRow {
    pub(super) client_id: String,
    pub(super) client_name: String,
    pub(super) secret_hash: Option<String>,
    pub(super) auth_method: String,
    pub(super) scope: String,
    pub(super) default_scope: Option<String>,
    pub(super) enabled: bool,
    pub(super) skip_consent: bool,
    pub(super) allow_plain_pkce: bool,
    pub(super) access_token_lifetime: Option<i64>,
    pub(super) refresh_token_lifetime: Option<i64>,
    /// Newline-separated, from the child table.
    pub(super) redirect_uris: Option<String>,
    /// Space-separated, from the child table.
    pub(super) grant_types: Option<String>,
    pub(super) access_token_format: String,
    pub(super) jwks: Option<String>,
    pub(super) jwt_secret: Option<String>,
    /// Space-separated; NULL for none.
    pub(super) resource_server_audiences: Option<String>,
    pub(super) openid: OpenIdColumns,
    // Pushed and signed authorization requests (schema 9).
    pub(super) require_pushed_authorization_requests: bool,
    pub(super) require_signed_request_object: bool,
    /// RFC 9449 §5.2 (schema 9).
    pub(super) dpop_bound_access_tokens: bool,
    /// Resource indicators (issue 17): a JSON array; NULL for none.
    pub(super) resources: Option<String>,
    /// The full client model (issue 19, schema 13).
    pub(super) registration: RegistrationColumns,
    /// Dynamic client registration (RFC 7592, schema 14): the
    /// `SecretHash::encode` form; NULL for none.
    pub(super) registration_access_token_hash: Option<String>,
}

impl ClientRow {
    pub(super) fn into_client(self) -> Result<Client, StoreError> {
        let id: ClientId = parsed(&self.client_id)?;
        let jwks = self.jwks.clone();
        // The method column decides below; a client of any method may also
        // hold a JWKS (its request objects' keys, JR-01).
        let mut b = match (self.secret_hash, self.jwt_secret, self.jwks) {
            (Some(h), _, _) => Client::confidential(id, parsed(&h)?),
            (None, Some(secret), _) => {
                Client::client_secret_jwt(id, crate::secret::Secret::new(secret))
            }
            (None, None, Some(jwks)) => Client::private_key_jwt(id, jwks),
            (None, None, None) => Client::public(id),
        };
        b = b
            .access_token_format(parsed(&self.access_token_format)?)
            .client_name(self.client_name)
            .token_endpoint_auth_method(parsed(&self.auth_method)?)
            .scope(parsed(&self.scope)?)
            .enabled(self.enabled)
            .skip_consent(self.skip_consent)
            .dangerous_allow_plain_pkce(self.allow_plain_pkce)
            // Any client may register keys for its request objects (JR-01).
            .jwks(jwks)
            .require_pushed_authorization_requests(self.require_pushed_authorization_requests)
            .require_signed_request_object(self.require_signed_request_object);
        if let Some(d) = self.default_scope {
            b = b.default_scope(parsed(&d)?);
        }
        let lifetime = |secs: Option<i64>| secs.and_then(|l| u64::try_from(l).ok());
        if let Some(l) = lifetime(self.access_token_lifetime) {
            b = b.access_token_lifetime(Duration::from_secs(l));
        }
        if let Some(l) = lifetime(self.refresh_token_lifetime) {
            b = b.refresh_token_lifetime(Duration::from_secs(l));
        }
        let mut uris: Vec<&str> = self
            .redirect_uris
            .as_deref()
            .unwrap_or_default()
            .split('\n')
            .filter(|s| !s.is_empty())
            .collect();
        uris.sort_unstable();
        for u in uris {
            b = b.redirect_uri(parsed::<RedirectUri>(u)?);
        }
        for a in self
            .resource_server_audiences
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            b = b.resource_server_for(parsed::<Audience>(a)?);
        }
        let mut grants: Vec<GrantType> = Vec::new();
        for g in self
            .grant_types
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            grants.push(parsed::<GrantType>(g)?);
        }
        grants.sort_unstable();
        for g in grants {
            b = b.grant_type(g);
        }
        b = b.dpop_bound_access_tokens(self.dpop_bound_access_tokens);
        for r in crate::resource::from_json(self.resources.as_deref())
            .ok_or(StoreError::msg("stored resources are invalid"))?
        {
            b = b.resource(r);
        }
        let b = self.registration.apply(b)?;
        let b = match self.registration_access_token_hash.as_deref() {
            Some(h) => b.registration_access_token_hash(parsed::<crate::client::SecretHash>(h)?),
            None => b,
        };
        self.openid.apply(b)?.build().map_err(StoreError::new)
    }
}

/// The columns of a client's registration fields of issue 19 (schema 13),
/// as written and as read.
pub(super) struct RegistrationColumns {
    pub(super) application_type: String,
    /// A JSON array of strings; NULL for none.
    pub(super) contacts: Option<String>,
    pub(super) jwks_uri: Option<String>,
    pub(super) software_id: Option<String>,
    pub(super) software_version: Option<String>,
    /// Unix seconds; NULL for never.
    pub(super) client_secret_expires_at: Option<i64>,
    pub(super) token_endpoint_auth_signing_alg: Option<String>,
    pub(super) request_object_signing_alg: Option<String>,
    /// Space-separated; NULL for none.
    pub(super) allowed_cors_origins: Option<String>,
    pub(super) owner: Option<String>,
    /// A JSON object; NULL for none.
    pub(super) metadata: Option<String>,
}

impl RegistrationColumns {
    /// The columns of `client`.
    pub(super) fn of(client: &Client) -> Self {
        let r = client.registration();
        Self {
            application_type: r.application_type.as_str().to_owned(),
            contacts: (!r.contacts.is_empty())
                .then(|| serde_json::to_string(&r.contacts).unwrap_or_default()),
            jwks_uri: r.jwks_uri.as_ref().map(|u| u.as_str().to_owned()),
            software_id: r.software_id.clone(),
            software_version: r.software_version.clone(),
            client_secret_expires_at: r
                .client_secret_expires_at
                .map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
            token_endpoint_auth_signing_alg: r
                .token_endpoint_auth_signing_alg
                .map(|a| a.as_str().to_owned()),
            request_object_signing_alg: r.request_object_signing_alg.map(|a| a.as_str().to_owned()),
            allowed_cors_origins: (!r.allowed_cors_origins.is_empty()).then(|| {
                r.allowed_cors_origins
                    .iter()
                    .map(crate::origin::Origin::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            owner: r.owner.clone(),
            metadata: (!r.metadata.is_empty())
                .then(|| serde_json::Value::Object(r.metadata.clone()).to_string()),
        }
    }

    pub(super) fn apply(self, b: ClientBuilder) -> Result<ClientBuilder, StoreError> {
        let alg = |s: Option<String>| s.as_deref().map(parsed).transpose();
        let bad = |what: &'static str| StoreError::msg(what);
        let contacts = match self.contacts {
            Some(c) => serde_json::from_str(&c).map_err(|_| bad("stored contacts are invalid"))?,
            None => Vec::new(),
        };
        let client_secret_expires_at = self
            .client_secret_expires_at
            .map(|s| u64::try_from(s).map(crate::clock::UnixTime::from_secs))
            .transpose()
            .map_err(|_| bad("stored client_secret_expires_at is negative"))?;
        let allowed_cors_origins = self
            .allowed_cors_origins
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(parsed)
            .collect::<Result<Vec<_>, _>>()?;
        let metadata = match self.metadata {
            Some(m) => {
                serde_json::from_str(&m).map_err(|_| bad("stored client metadata is invalid"))?
            }
            None => serde_json::Map::new(),
        };
        let fields = RegistrationFields {
            application_type: parsed(&self.application_type)?,
            contacts,
            jwks_uri: self.jwks_uri.as_deref().map(parsed).transpose()?,
            software_id: self.software_id,
            software_version: self.software_version,
            client_secret_expires_at,
            token_endpoint_auth_signing_alg: alg(self.token_endpoint_auth_signing_alg)?,
            request_object_signing_alg: alg(self.request_object_signing_alg)?,
            allowed_cors_origins,
            owner: self.owner,
            metadata,
        };
        Ok(b.registration(fields))
    }
}
