//! Decoding stored columns back into the crate's types: every helper the
//! two SQL stores share for reading rows, so a corrupt value is a
//! [`StoreError`] naming the column, never a panic.

use crate::client::{AuthMethod, Client, ClientId, SecretHash};
use crate::error::StoreError;
use crate::grant_type::GrantType;
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::tokens::GrantId;
use crate::user::UserId;

fn corrupt(what: &'static str) -> StoreError {
    StoreError::msg(what)
}

pub(super) fn grant_from(bytes: &[u8]) -> Result<GrantId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId::from_bytes)
        .map_err(|_| corrupt("stored grant id is not 16 bytes"))
}

pub(super) fn client_id(s: &str) -> Result<ClientId, StoreError> {
    ClientId::parse(s).ok_or(corrupt("stored client id is invalid"))
}

pub(super) fn user_id(s: &str) -> Result<UserId, StoreError> {
    UserId::parse(s).ok_or(corrupt("stored user id is invalid"))
}

pub(super) fn scope(s: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(s).ok_or(corrupt("stored scope is invalid"))
}

pub(super) fn time(secs: i64) -> crate::clock::UnixTime {
    crate::clock::UnixTime::from_secs(u64::try_from(secs).unwrap_or(0))
}

pub(super) fn secs(t: crate::clock::UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

pub(super) fn challenge(
    value: Option<String>,
    method: Option<String>,
) -> Result<Option<CodeChallenge>, StoreError> {
    match (value, method) {
        (Some(v), Some(m)) => {
            let method =
                ChallengeMethod::parse(&m).ok_or(corrupt("stored PKCE method is invalid"))?;
            CodeChallenge::parse(method, &v)
                .map(Some)
                .ok_or(corrupt("stored PKCE challenge is invalid"))
        }
        _ => Ok(None),
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
    /// Space-separated, from the child table.
    pub(super) redirect_uris: Option<String>,
    /// Space-separated, from the child table.
    pub(super) grant_types: Option<String>,
    pub(super) access_token_format: String,
    pub(super) jwks: Option<String>,
    pub(super) jwt_secret: Option<String>,
}

impl ClientRow {
    pub(super) fn into_client(self) -> Result<Client, StoreError> {
        let id = client_id(&self.client_id)?;
        let mut b = match (self.secret_hash, self.jwks, self.jwt_secret) {
            (Some(h), _, _) => Client::confidential(
                id,
                SecretHash::decode(&h).ok_or(corrupt("stored secret hash is invalid"))?,
            ),
            (None, Some(jwks), _) => Client::private_key_jwt(id, jwks),
            (None, None, Some(secret)) => {
                Client::client_secret_jwt(id, crate::secret::Secret::new(secret))
            }
            (None, None, None) => Client::public(id),
        };
        b = b.access_token_format(
            crate::tokens::AccessTokenFormat::parse(&self.access_token_format)
                .ok_or(corrupt("stored access token format is invalid"))?,
        );
        b = b
            .client_name(self.client_name)
            .token_endpoint_auth_method(
                AuthMethod::parse(&self.auth_method)
                    .ok_or(corrupt("stored auth method is invalid"))?,
            )
            .scope(scope(&self.scope)?)
            .enabled(self.enabled)
            .skip_consent(self.skip_consent)
            .dangerous_allow_plain_pkce(self.allow_plain_pkce);
        if let Some(d) = self.default_scope {
            b = b.default_scope(scope(&d)?);
        }
        if let Some(l) = self
            .access_token_lifetime
            .and_then(|l| u64::try_from(l).ok())
        {
            b = b.access_token_lifetime(l);
        }
        if let Some(l) = self
            .refresh_token_lifetime
            .and_then(|l| u64::try_from(l).ok())
        {
            b = b.refresh_token_lifetime(l);
        }
        let mut uris: Vec<&str> = self
            .redirect_uris
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        uris.sort_unstable();
        for u in uris {
            b = b.redirect_uri(
                RedirectUri::parse(u).ok_or(corrupt("stored redirect URI is invalid"))?,
            );
        }
        let mut grants: Vec<GrantType> = Vec::new();
        for g in self
            .grant_types
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            grants.push(GrantType::parse(g).ok_or(corrupt("stored grant type is invalid"))?);
        }
        grants.sort_unstable();
        for g in grants {
            b = b.grant_type(g);
        }
        b.build().map_err(StoreError::new)
    }
}
