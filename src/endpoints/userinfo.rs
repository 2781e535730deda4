//! The UserInfo endpoint (OpenID Connect Core 1.0 §5.3, OI-05): GET or
//! POST with an access token whose scope holds `openid`; answers `sub` and
//! the claims the grant releases (§5.4, §5.5), read from the host's
//! [`UserClaims`](crate::oidc::UserClaims) and selected by the core
//! ([`WantedClaims`]).
//!
//! The token comes as `Authorization: Bearer` (GET or POST) or, on a POST
//! with a form body, as its `access_token` parameter (RFC 6750 §2.1, §2.2),
//! and is validated as every bearer token is (`bearer.rs`: opaque and JWT
//! access tokens, expiry, revocation, the client still enabled). Refusals
//! follow RFC 6750 §3.1:
//! - no token: 401 with a bare `Bearer` challenge;
//! - a token sent two ways, in the query string (never accepted, RFC 9700
//!   §2.5), or a malformed request: 400 `invalid_request`;
//! - an unknown, expired or revoked token: 401 `invalid_token`;
//! - a token whose scope lacks `openid`: 403 `insufficient_scope`,
//!   `scope="openid"`;
//! - a token with no end-user (`client_credentials`): 401 `invalid_token`,
//!   since no scope could make it one: the client needs a token from the
//!   authorization code flow.
//!
//! `sub` is the subject the token's client sees (public or pairwise, the
//! same as in its ID Tokens, OI-04); a pairwise client on a server without
//! `Config::pairwise_salt` is a logged 500 `server_error`. The claims are
//! those of the granted scope and of the grant's `claims` request
//! (`userinfo` member, OI-09), a standard claim only when the user
//! consented to its scope value (`oidc/user_claims.rs`, issue 16); the
//! token's stored record keeps the request and that consent: so
//! UserInfo reads the record of every token, JWT access tokens included,
//! whatever `Config::jwt_revocation_check` says (a revoked JWT releases
//! nothing here). A client registered with `userinfo_signed_response_alg`
//! gets the claims as a JWS signed with that algorithm only
//! (`application/jwt`, Core §5.3.2; no key of it is a logged 500).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Map;

use crate::bearer::{self, BearerToken, Lookup};
use crate::client::Client;
use crate::context::Context;
use crate::endpoints::cors;
use crate::endpoints::{is_form, query_names};
use crate::error::{BearerFault, Error, InternalFault};
use crate::http::{Header, Method, Request, Response, form};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::oidc::signed_userinfo;
use crate::oidc::{ClaimsQuery, Subject, WantedClaims, pairwise_subject};
use crate::routes::Endpoint;
use crate::scope::ScopeSet;
use crate::user::UserId;

/// The scope value every UserInfo request needs (Core §5.3).
const OPENID: &str = "openid";

/// The form parameter of RFC 6750 §2.2 (and the query parameter of §2.3,
/// refused).
const ACCESS_TOKEN: [&str; 1] = ["access_token"];

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("userinfo");
    let mut concerning = None;
    let response = in_span!(span, run(cx, req, &mut concerning)).unwrap_or_else(|refused| refused);
    // CO-01: readable by the origins of the token's client.
    let response = cors::actual(cx, Endpoint::UserInfo, req, concerning.as_ref(), response).await;
    record_outcome(&span, &response);
    response
}

/// Where the request carries its access token.
enum Carried<'a> {
    /// In the `Authorization` header, or nowhere (the bearer validation
    /// answers the bare challenge).
    Header,
    /// In the form body's `access_token`.
    Form(Cow<'a, str>),
}

async fn run(
    cx: &Context,
    req: &Request<'_>,
    concerning: &mut Option<Arc<Client>>,
) -> Result<Response, Response> {
    Endpoint::UserInfo.admits(req.method())?;
    let Some(openid) = ScopeSet::parse(OPENID) else {
        return Err(refuse(
            "userinfo",
            &Error::Internal(InternalFault::InvalidResponse),
        ));
    };
    // The record is always read, JWT access tokens included: it holds the
    // grant's `claims` request, and a revoked token releases nothing
    // (see the module documentation).
    let token = match carried(cx, req)? {
        Carried::Header => {
            let url = cx.config.url(&cx.config.paths.userinfo);
            bearer::authenticate(cx, req, &openid, Lookup::Always, Some(&url)).await?
        }
        Carried::Form(token) => {
            bearer::authenticate_form_token(cx, &token, &openid, Lookup::Always).await?
        }
    };
    // A token without an end-user (client_credentials): no scope would
    // make it one, so it is not valid here (see the module documentation).
    let Some(user) = token.user() else {
        tracing::debug!("userinfo: token without an end-user refused");
        return Err(Response::bearer_challenge(BearerFault::Invalid, None));
    };
    let client = match cx.clients.client(token.client_id()).await {
        Ok(Some(client)) => client,
        // Deleted since the token was validated.
        Ok(None) => return Err(Response::bearer_challenge(BearerFault::Invalid, None)),
        Err(e) => return Err(refuse("userinfo", &Error::Store(e))),
    };
    *concerning = Some(client.clone());
    // The `sub` this client sees, the same as in its ID Tokens (OI-04).
    let subject = pairwise_subject(&client, user, cx.config.pairwise_salt.as_ref())
        .map_err(|_| refuse("userinfo", &Error::Internal(InternalFault::NoPairwiseSalt)))?;
    // The consent given for the claims request, within what the client
    // may still be granted (an operator's withdrawal reaches it).
    let consented = token.claims_consent().intersection(client.scope());
    let claims = released(cx, &token, user, &subject, &consented).await?;
    match client.userinfo_signed_response_alg() {
        None => {
            let body = serde_json::to_vec(&claims)
                .map_err(|_| refuse("userinfo", &Error::Internal(InternalFault::Encoding)))?;
            Ok(Response::json_no_store(200, body))
        }
        // Core §5.3.2: signed with the registered algorithm only.
        Some(alg) => {
            let ring = cx.key_ring().await.map_err(|e| refuse("userinfo", &e))?;
            let now = cx.clock.now();
            let jws = signed_userinfo::sign(
                &ring,
                claims,
                &cx.config.issuer,
                client.client_id(),
                alg,
                now,
            )
            .map_err(|fault| refuse("userinfo", &Error::Signing(fault)))?;
            Ok(Response::jwt_no_store(jws.into_bytes()))
        }
    }
}

/// Finds the token: in the header, or in a POSTed form's `access_token`;
/// never in the query, never two ways at once (RFC 6750 §2).
fn carried<'a>(cx: &Context, req: &Request<'a>) -> Result<Carried<'a>, Response> {
    let refuse = |fault| Response::bearer_challenge(fault, None);
    if req
        .query_str()
        .is_some_and(|q| query_names(q, &ACCESS_TOKEN))
    {
        return Err(refuse(BearerFault::InQuery));
    }
    let in_body = match (req.method(), req.content_type()) {
        (Method::Post, Header::One(value)) if is_form(value) => {
            if req.body_bytes().len() > cx.config.max_body_size {
                return Err(Response::payload_too_large());
            }
            let [token] = form::parse(req.body_bytes(), &ACCESS_TOKEN)
                .map_err(|_| refuse(BearerFault::Malformed))?;
            token
        }
        (Method::Post, Header::Repeated) => return Err(refuse(BearerFault::Malformed)),
        _ => None,
    };
    match (req.authorization(), in_body) {
        (Header::Absent, Some(token)) => Ok(Carried::Form(token)),
        (_, Some(_)) => Err(refuse(BearerFault::MultipleMethods)),
        (_, None) => Ok(Carried::Header),
    }
}

/// `subject` and the claims the token's grant releases: those of its
/// scope and of its `claims` request's `userinfo` member (OI-09), a
/// standard one only with consent to its scope value (`consented`, issue
/// 16), from the host's `UserClaims` (without one, `sub` alone).
async fn released(
    cx: &Context,
    token: &BearerToken,
    user: &UserId,
    subject: &Subject,
    consented: &ScopeSet,
) -> Result<Map<String, serde_json::Value>, Response> {
    let wanted = WantedClaims::for_grant(token.scope(), token.claims_request(), consented);
    let from_host = match &cx.user_claims {
        Some(host) if !wanted.is_empty() => {
            let query = ClaimsQuery::new(user, token.client_id(), &wanted);
            host.claims(&query)
                .await
                .map_err(|e| refuse("userinfo", &Error::Store(e)))?
        }
        _ => Map::new(),
    };
    Ok(wanted.select(subject.as_str(), from_host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_is_a_scope() {
        assert!(ScopeSet::parse(OPENID).is_some());
    }
}
