//! The resource-server side (RFC 6750): parse `Authorization: Bearer`,
//! validate an opaque token against the store or a JWT by signature and
//! claims, check that the token's client is still enabled, check the
//! required scopes (TK-04, TK-05).

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::context::Context;
use crate::error::{BearerFault, Error};
use crate::http::{Header, Request, Response};
use crate::observe::{endpoint_span, in_span, record_cause};
use crate::oidc::{ClaimsRequest, OpenIdGrant};
use crate::protected_resource::ProtectedResource;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::stores::AccessRecord;
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
    /// The OpenID Connect facts of the token's grant, from its stored
    /// record (`AccessRecord::openid`); `None` for a JWT access token whose
    /// record was not looked up (see [`Lookup`]).
    openid: Option<OpenIdGrant>,
    /// The resources (RFC 8707) the token was issued for; empty for a
    /// token of the default audience.
    resources: Vec<Resource>,
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

    /// The resources (RFC 8707 resource indicators) the token was issued
    /// for, its audiences; empty for a token issued without `resource`,
    /// whose audience is the default one (`Config::audience`; RI-01).
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The `claims` request parameter of the token's grant (Core §5.5),
    /// for UserInfo (OI-09); `None` without one, or when the record was
    /// not looked up.
    pub(crate) fn claims_request(&self) -> Option<&ClaimsRequest> {
        self.openid.as_ref().and_then(OpenIdGrant::claims)
    }

    /// The scope values the user consented to for that `claims` request
    /// (issue 16); empty without one.
    pub(crate) fn claims_consent(&self) -> ScopeSet {
        self.openid
            .as_ref()
            .map(|o| o.claims_consent().clone())
            .unwrap_or_default()
    }
}

/// Whether validation reads a JWT access token's stored record. An opaque
/// token is always looked up (the record is the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// As `Config::jwt_revocation_check` says: a resource server may trust
    /// a JWT's signature alone.
    AsConfigured,
    /// Always: the UserInfo endpoint needs the grant's `claims` request,
    /// which a JWT access token does not carry, and releases personal data
    /// only for a token that is still in the store (not revoked), whatever
    /// `Config::jwt_revocation_check` says.
    Always,
}

/// The token68 characters (RFC 7235 §2.1) before any trailing `=`.
// Indexing in a constant cannot panic at run time: out of bounds it fails
// the build.
#[allow(clippy::indexing_slicing)]
const TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    table
};

/// Whether `b` is a token68 character: a table lookup, no branch.
fn is_token68(b: u8) -> bool {
    TOKEN68.get(usize::from(b)).copied().unwrap_or(false)
}

/// A token of an `Authorization: Bearer` header, and whether it holds a `.`
/// (a JWT).
struct Presented<'a> {
    token: &'a str,
    dotted: bool,
}

/// RFC 6750 §2.1: `Bearer` then a token68.
fn bearer_value(value: &[u8]) -> Option<Presented<'_>> {
    // The usual form, `Bearer <token>` with nothing around it, needs no
    // UTF-8 check of its own (token68 is ASCII) and no trimming.
    if let Some((scheme, token)) = value.split_at_checked(7) {
        if scheme.eq_ignore_ascii_case(b"bearer ") {
            if let Some(p) = token68(token) {
                return Some(p);
            }
        }
    }
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    token68(token.trim_start().as_bytes())
}

/// `token` if it is a token68: one pass checks its characters (through a
/// table: no branch per byte) and looks for a dot.
fn token68(token: &[u8]) -> Option<Presented<'_>> {
    let body = token.trim_ascii_end();
    if body.len() != token.len() {
        return None;
    }
    let body = match body.iter().rposition(|&b| b != b'=') {
        Some(last) => body.get(..=last)?,
        None => return None,
    };
    let (mut ok, mut dotted) = (true, false);
    for &b in body {
        ok &= is_token68(b);
        dotted |= b == b'.';
    }
    if !ok {
        return None;
    }
    // All ASCII: the check cannot fail.
    let token = std::str::from_utf8(token).ok()?;
    Some(Presented { token, dotted })
}

fn invalid() -> Response {
    Response::bearer_challenge(BearerFault::Invalid, None)
}

pub(crate) async fn authenticate(
    cx: &Context,
    req: &Request<'_>,
    required: &ScopeSet,
    lookup: Lookup,
) -> Result<BearerToken, Response> {
    traced(cx, from_header(req.authorization()), required, lookup, None).await
}

/// [`authenticate`] at the protected resource `resource` (RFC 8707,
/// RFC 9728): the token's audiences must include its identifier (RI-01),
/// and a 401 challenge carries its `resource_metadata` (RI-02).
pub(crate) async fn authenticate_for(
    cx: &Context,
    req: &Request<'_>,
    required: &ScopeSet,
    resource: &ProtectedResource,
) -> Result<BearerToken, Response> {
    traced(
        cx,
        from_header(req.authorization()),
        required,
        Lookup::AsConfigured,
        Some(resource.resource().as_str()),
    )
    .await
    .map_err(|challenge| challenge.with_resource_metadata(resource.metadata_url()))
}

/// [`authenticate`] for a token sent in a form body's `access_token`
/// (RFC 6750 §2.2), which the caller has read: the same syntax (a token68),
/// validation and scope check as a header's token.
pub(crate) async fn authenticate_form_token(
    cx: &Context,
    token: &str,
    required: &ScopeSet,
    lookup: Lookup,
) -> Result<BearerToken, Response> {
    let presented = token68(token.as_bytes()).ok_or_else(invalid);
    traced(cx, presented, required, lookup, None).await
}

/// The token of an `Authorization` header: none is the bare challenge, a
/// repeated or malformed header an error.
fn from_header(authorization: Header<'_>) -> Result<Presented<'_>, Response> {
    match authorization {
        // RFC 6750 §3.1: no credentials, no error code.
        Header::Absent => Err(Response::bearer_challenge(BearerFault::Missing, None)),
        Header::Repeated => Err(Response::bearer_challenge(BearerFault::Malformed, None)),
        Header::One(value) => bearer_value(value).ok_or_else(invalid),
    }
}

/// Validates a presented token inside the `bearer` span.
async fn traced(
    cx: &Context,
    presented: Result<Presented<'_>, Response>,
    required: &ScopeSet,
    lookup: Lookup,
    audience: Option<&str>,
) -> Result<BearerToken, Response> {
    let span = endpoint_span("bearer");
    let audience = audience.unwrap_or(cx.config.audience());
    let result = match presented {
        Ok(token) => in_span!(span, validate(cx, token, required, lookup, audience)),
        Err(refused) => Err(refused),
    };
    match &result {
        Ok(token) => {
            if !span.is_disabled() {
                span.record("client_id", token.client_id.as_str());
            }
            record_cause(&span, None);
        }
        Err(response) => record_cause(&span, response.cause()),
    }
    result
}

async fn validate(
    cx: &Context,
    token: Presented<'_>,
    required: &ScopeSet,
    lookup: Lookup,
    audience: &str,
) -> Result<BearerToken, Response> {
    let Presented { token, dotted } = token;
    let now = cx.clock.now();
    let validated = if dotted {
        let ring = cx
            .key_ring()
            .await
            .map_err(|e| crate::observe::refuse("bearer", &e))?;
        let config = &cx.config;
        let claims = jwt::verify_access(token, &ring, now, config.leeway, &config.issuer, audience)
            .map_err(|fault| {
                tracing::debug!(?fault, "bearer JWT refused");
                invalid()
            })?;
        if config.jwt_revocation_check || lookup == Lookup::Always {
            from_record(stored(cx, token).await?, true)
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
                openid: None,
                resources: jwt_resources(claims.get("aud"), config.audience()),
            }
        }
    } else {
        let record = stored(cx, token).await?;
        if record.expires_at <= now {
            return Err(invalid());
        }
        // RI-01: an opaque token's audiences are its resources, or the
        // default audience without any; the JWT's were checked above.
        if !for_audience(&record.resources, cx.config.audience(), audience) {
            return Err(invalid());
        }
        from_record(record, false)
    };
    // A disabled or deleted client's tokens stop working (issue 15 finding
    // 7), whatever their format or the revocation-check setting.
    let enabled = cx
        .client_enabled(&validated.client_id)
        .await
        .map_err(|e| crate::observe::refuse("bearer", &Error::Store(e)))?;
    if !enabled {
        return Err(invalid());
    }
    require_scope(&validated, required)?;
    Ok(validated)
}

/// The stored record of a presented token; unknown (or revoked) is
/// `invalid_token`, a store failure a 500.
async fn stored(cx: &Context, token: &str) -> Result<AccessRecord, Response> {
    cx.tokens
        .find_access(&TokenHash::of(token))
        .await
        .map_err(|e| crate::observe::refuse("bearer", &Error::Store(e)))?
        .ok_or_else(invalid)
}

/// What a route learns of a token found in the store.
fn from_record(record: AccessRecord, jwt: bool) -> BearerToken {
    BearerToken {
        client_id: record.client_id,
        user: record.subject,
        scope: record.scope,
        expires_at: record.expires_at,
        jwt,
        openid: record.openid,
        resources: record.resources,
    }
}

/// Whether a token of `resources` (none: `default`) is for `audience`.
pub(crate) fn for_audience(resources: &[Resource], default: &str, audience: &str) -> bool {
    if resources.is_empty() {
        default == audience
    } else {
        resources.iter().any(|r| r.as_str() == audience)
    }
}

/// The resources of a verified JWT's `aud`: its values other than the
/// default audience that are resource indicators.
fn jwt_resources(aud: Option<&serde_json::Value>, default: &str) -> Vec<Resource> {
    let values: Vec<&str> = match aud {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(list)) => {
            list.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    };
    let mut out: Vec<Resource> = values
        .into_iter()
        .filter(|a| *a != default)
        .filter_map(Resource::parse)
        .collect();
    out.sort();
    out
}

pub(crate) fn require_scope(token: &BearerToken, required: &ScopeSet) -> Result<(), Response> {
    if required.is_subset_of(&token.scope) {
        Ok(())
    } else {
        Err(Response::bearer_challenge(
            BearerFault::InsufficientScope,
            Some(required),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &[u8]) -> Option<(&str, bool)> {
        bearer_value(value).map(|p| (p.token, p.dotted))
    }

    #[test]
    fn bearer_header_syntax() {
        assert_eq!(
            token(b"Bearer abc.def-_~+/=="),
            Some(("abc.def-_~+/==", true))
        );
        assert_eq!(token(b"bearer   abc"), Some(("abc", false)));
        assert_eq!(token(b" Bearer abc \t"), Some(("abc", false)));
        assert_eq!(token(b"Bearer"), None);
        assert_eq!(token(b"Bearer a b"), None);
        assert_eq!(token(b"Basic abc"), None);
        assert_eq!(token(b"Bearer ==="), None);
        assert_eq!(token(b"Bearer a=b"), None);
        assert_eq!(token(b"Bearer \xff"), None);
        assert_eq!(token(b"Bearer a\x00"), None);
    }

    #[test]
    fn the_table_is_the_token68_set() {
        for b in 0..=255u8 {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_token68(b), expected, "{b:#04x}");
        }
    }
}
