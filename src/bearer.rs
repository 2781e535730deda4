//! The resource-server side (RFC 6750): parse `Authorization: Bearer`,
//! validate an opaque token against the store or a JWT by signature and
//! claims, check the required scopes (TK-04, TK-05).

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::{Error, ErrorCode};
use crate::http::{Header, Request, Response};
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;
use crate::tokens::TokenHash;
use crate::tokens::jwt;
use crate::user::UserId;

/// A validated access token: what a protected route may rely on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerToken {
    client_id: ClientId,
    user: Option<UserId>,
    scope: ScopeSet,
    expires_at: UnixTime,
    jwt: bool,
}

impl BearerToken {
    /// The client the token was issued to.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The resource owner; `None` for `client_credentials` tokens.
    pub fn user(&self) -> Option<&UserId> {
        self.user.as_ref()
    }

    /// The `sub`: the user, or the client itself when there is none.
    pub fn subject(&self) -> &str {
        self.user
            .as_ref()
            .map_or(self.client_id.as_str(), UserId::as_str)
    }

    /// The token's scope.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// When it expires.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// Whether it was a JWT access token (else opaque).
    pub fn is_jwt(&self) -> bool {
        self.jwt
    }
}

/// RFC 6750 §2.1: `Bearer` then a token68.
fn bearer_value(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_start();
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    ok.then_some(token)
}

fn invalid() -> Response {
    Response::bearer_challenge(Some(ErrorCode::InvalidToken), None)
}

pub(crate) async fn authenticate(
    server: &AuthorizationServer,
    req: &Request<'_>,
    required: &ScopeSet,
) -> Result<BearerToken, Response> {
    let token = match req.authorization() {
        // RFC 6750 §3.1: no credentials, no error code.
        Header::Absent => return Err(Response::bearer_challenge(None, None)),
        Header::Repeated => {
            return Err(Response::bearer_challenge(
                Some(ErrorCode::InvalidRequest),
                None,
            ));
        }
        Header::One(value) => bearer_value(value).ok_or_else(invalid)?,
    };
    let store_error = |e| crate::endpoints::refuse("bearer", &Error::Store(e));
    let hash = TokenHash::of(token);
    let now = server.clock.now();
    let validated = if token.contains('.') {
        let ring = server
            .key_ring()
            .await
            .map_err(|e| crate::endpoints::refuse("bearer", &e))?;
        let config = &server.config;
        let claims = jwt::verify_access(
            token,
            &ring,
            now,
            config.leeway,
            &config.issuer,
            config.audience(),
        )
        .map_err(|fault| {
            tracing::debug!(?fault, "bearer JWT refused");
            invalid()
        })?;
        if config.jwt_revocation_check {
            let record = server
                .tokens
                .find_access(&hash)
                .await
                .map_err(store_error)?
                .ok_or_else(invalid)?;
            BearerToken {
                client_id: record.client_id,
                user: record.subject,
                scope: record.scope,
                expires_at: record.expires_at,
                jwt: true,
            }
        } else {
            let s = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
            let client_id = s("client_id")
                .and_then(ClientId::parse)
                .ok_or_else(invalid)?;
            let sub = s("sub").unwrap_or_default();
            BearerToken {
                user: (sub != client_id.as_str())
                    .then(|| UserId::parse(sub))
                    .flatten(),
                client_id,
                scope: ScopeSet::parse(s("scope").unwrap_or_default()).ok_or_else(invalid)?,
                expires_at: UnixTime::from_secs(
                    claims
                        .get("exp")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0),
                ),
                jwt: true,
            }
        }
    } else {
        let record = server
            .tokens
            .find_access(&hash)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid)?;
        if record.expires_at <= now {
            return Err(invalid());
        }
        BearerToken {
            client_id: record.client_id,
            user: record.subject,
            scope: record.scope,
            expires_at: record.expires_at,
            jwt: false,
        }
    };
    require_scope(&validated, required)?;
    Ok(validated)
}

pub(crate) fn require_scope(token: &BearerToken, required: &ScopeSet) -> Result<(), Response> {
    if required.is_subset_of(&token.scope) {
        Ok(())
    } else {
        Err(Response::bearer_challenge(
            Some(ErrorCode::InsufficientScope),
            Some(required),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_syntax() {
        assert_eq!(
            bearer_value(b"Bearer abc.def-_~+/=="),
            Some("abc.def-_~+/==")
        );
        assert_eq!(bearer_value(b"bearer   abc"), Some("abc"));
        assert_eq!(bearer_value(b"Bearer"), None);
        assert_eq!(bearer_value(b"Bearer a b"), None);
        assert_eq!(bearer_value(b"Basic abc"), None);
        assert_eq!(bearer_value(b"Bearer ==="), None);
        assert_eq!(bearer_value(b"Bearer \xff"), None);
    }
}
