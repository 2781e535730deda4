//! The resource-server side (RFC 6750, RFC 9449 §7): parse `Authorization:
//! Bearer` or `Authorization: DPoP`, validate an opaque token against the
//! store or a JWT by signature and claims, check that the token's client is
//! still enabled, check a DPoP-bound token's proof (DP-03), check the
//! required scopes (TK-04, TK-05).

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::dpop::verify::{Target, current_nonce, verify};
use crate::error::{BearerFault, Cause, DpopFault, Error};
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
    /// The DPoP key the token is bound to (DP-03).
    dpop_jkt: Option<JwkThumbprint>,
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

    /// The RFC 7638 thumbprint of the DPoP key the token is bound to, whose
    /// proof came with this request (DP-03); `None` for a bearer token.
    pub fn dpop_jkt(&self) -> Option<&JwkThumbprint> {
        self.dpop_jkt.as_ref()
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
    /// Sent as `Authorization: DPoP` (RFC 9449 §7.1), not `Bearer`.
    dpop: bool,
}

/// RFC 6750 §2.1: `Bearer` then a token68; RFC 9449 §7.1: `DPoP` then a
/// token68.
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
    let dpop = if scheme.eq_ignore_ascii_case("bearer") {
        false
    } else if scheme.eq_ignore_ascii_case("dpop") {
        true
    } else {
        return None;
    };
    token68(token.trim_start().as_bytes()).map(|p| Presented { dpop, ..p })
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
    Some(Presented {
        token,
        dotted,
        dpop: false,
    })
}

fn invalid() -> Response {
    Response::bearer_challenge(BearerFault::Invalid, None)
}

/// Validates the token of a resource request's `Authorization` header, and
/// for a DPoP-bound token the request's proof (DP-03): for `htu`, the
/// request's URL is [`Request::url`], else `endpoint_url` (an endpoint of
/// this server, such as UserInfo), else `DpopConfig::resource_base_url` (by
/// default the issuer's origin) followed by [`Request::path`].
pub(crate) async fn authenticate(
    cx: &Context,
    req: &Request<'_>,
    required: &ScopeSet,
    lookup: Lookup,
    endpoint_url: Option<&str>,
) -> Result<BearerToken, Response> {
    let presented = from_header(req.authorization());
    let dpop_scheme = presented.as_ref().is_ok_and(|p| p.dpop);
    let result = traced(
        cx,
        presented,
        required,
        lookup,
        Some((req, endpoint_url)),
        None,
    )
    .await;
    result.map_err(|refused| challenge(cx, refused, required, dpop_scheme))
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
    let presented = from_header(req.authorization());
    let dpop_scheme = presented.as_ref().is_ok_and(|p| p.dpop);
    traced(
        cx,
        presented,
        required,
        Lookup::AsConfigured,
        Some((req, None)),
        Some(resource.resource().as_str()),
    )
    .await
    .map_err(|refused| challenge(cx, refused, required, dpop_scheme))
    .map_err(|challenge| challenge.with_resource_metadata(resource.metadata_url()))
}

/// With DPoP on, every refusal challenges both schemes (RFC 9449 §7.1):
/// `DPoP algs="…"` beside `Bearer`, the error on the scheme the client
/// used, and the current nonce with `use_dpop_nonce`.
fn challenge(cx: &Context, refused: Response, required: &ScopeSet, dpop_scheme: bool) -> Response {
    let dpop = &cx.config.dpop;
    let fault = match refused.cause() {
        Some(Cause::Bearer(fault)) if dpop.enabled => fault,
        _ => return refused,
    };
    let algs = dpop
        .signing_algs
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let scope = (fault == BearerFault::InsufficientScope).then_some(required);
    let response = Response::resource_challenge(fault, scope, Some((&algs, dpop_scheme)));
    match (fault, current_nonce(cx)) {
        (BearerFault::DpopNonce, Some(nonce)) => response.with_header("DPoP-Nonce", nonce),
        _ => response,
    }
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
    traced(cx, presented, required, lookup, None, None)
        .await
        .map_err(|refused| challenge(cx, refused, required, false))
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

/// The token of an `Authorization: Bearer` header that is not an access
/// token of ours (an initial access token, a registration access token:
/// RFC 7591 §3, RFC 7592 §2): none is the bare challenge, a repeated or
/// malformed header (or the `DPoP` scheme) `invalid_request`.
pub(crate) fn bearer_credential(authorization: Header<'_>) -> Result<&str, Response> {
    match from_header(authorization) {
        Ok(p) if !p.dpop => Ok(p.token),
        Ok(_) => Err(Response::bearer_challenge(BearerFault::Malformed, None)),
        Err(refused) => Err(refused),
    }
}

/// Validates a presented token inside the `bearer` span.
async fn traced(
    cx: &Context,
    presented: Result<Presented<'_>, Response>,
    required: &ScopeSet,
    lookup: Lookup,
    request: Option<(&Request<'_>, Option<&str>)>,
    audience: Option<&str>,
) -> Result<BearerToken, Response> {
    let span = endpoint_span("bearer");
    let audience = audience.unwrap_or(cx.config.audience());
    let result = match presented {
        Ok(token) => in_span!(
            span,
            validate(cx, token, required, lookup, request, audience)
        ),
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
    request: Option<(&Request<'_>, Option<&str>)>,
    audience: &str,
) -> Result<BearerToken, Response> {
    let Presented {
        token,
        dotted,
        dpop,
    } = token;
    if dpop && !cx.config.dpop.enabled {
        // An unknown scheme while DPoP is off.
        return Err(invalid());
    }
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
                dpop_jkt: claims
                    .get("cnf")
                    .and_then(|c| c.get("jkt"))
                    .and_then(serde_json::Value::as_str)
                    .map(|j| JwkThumbprint::parse(j).ok_or_else(invalid))
                    .transpose()?,
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
    match (&validated.dpop_jkt, dpop) {
        (None, false) => {}
        // DP-03: a bound token is no bearer token (RFC 9449 §7.2), and the
        // `DPoP` scheme is for bound tokens only.
        (Some(_), false) | (None, true) => return Err(invalid()),
        (Some(bound), true) => {
            let request = request.ok_or_else(invalid)?;
            check_proof(cx, token, bound, request).await?;
        }
    }
    require_scope(&validated, required)?;
    Ok(validated)
}

/// The proof of a DPoP-bound token (RFC 9449 §7.1, DP-03): present once,
/// valid for this request's method and URL, `ath` the token's hash, and
/// made with the key the token is bound to.
async fn check_proof(
    cx: &Context,
    token: &str,
    bound: &JwkThumbprint,
    (req, endpoint_url): (&Request<'_>, Option<&str>),
) -> Result<(), Response> {
    let refuse = |fault| Err(Response::bearer_challenge(BearerFault::Dpop(fault), None));
    let proof = match req.dpop() {
        Header::Absent => return refuse(DpopFault::Missing),
        Header::Repeated => return refuse(DpopFault::Malformed),
        Header::One(v) => match std::str::from_utf8(v) {
            Ok(v) => v.trim(),
            Err(_) => return refuse(DpopFault::Malformed),
        },
    };
    let Some(method) = req.method_name() else {
        return refuse(DpopFault::Method);
    };
    let Some(url) = resource_url(cx, req, endpoint_url) else {
        tracing::debug!("no URL for the DPoP proof's htu: the adapter gave no path");
        return refuse(DpopFault::Url);
    };
    let target = Target {
        method,
        url: &url,
        access_token: Some(token),
    };
    match verify(cx, proof, &target).await {
        Ok(jkt) if jkt == *bound => Ok(()),
        Ok(_) => refuse(DpopFault::KeyMismatch),
        Err(Error::InvalidDpopProof(fault)) => refuse(fault),
        Err(Error::UseDpopNonce) => Err(Response::bearer_challenge(BearerFault::DpopNonce, None)),
        Err(e) => Err(crate::observe::refuse("bearer", &e)),
    }
}

/// The URL a resource request addressed: the host's, an endpoint's own, or
/// the configured base (default: the issuer's origin) and the path.
fn resource_url(cx: &Context, req: &Request<'_>, endpoint_url: Option<&str>) -> Option<String> {
    if let Some(url) = req.url().or(endpoint_url) {
        return Some(url.to_owned());
    }
    let path = req.path()?;
    let base = match &cx.config.dpop.resource_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            let issuer = url::Url::parse(&cx.config.issuer).ok()?;
            issuer.origin().ascii_serialization()
        }
    };
    Some(format!("{base}{path}"))
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
        dpop_jkt: record.dpop_jkt,
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
