//! The ID Token of a token response (OpenID Connect Core 1.0 §3.1.3.3,
//! §12.2; OI-02, OI-04, OI-10): assembled here once for every grant that
//! carries OpenID Connect facts (a code exchange, a refresh), from those
//! facts, the client's registration and the access token it is issued with.
//!
//! - `sub` is the client's view of the user: public or pairwise (OI-04).
//! - `auth_time` is always stated (Core requires it when `max_age` was sent
//!   or the client registered `require_auth_time`; stating it always costs
//!   nothing and lets every relying party enforce its own `max_age`).
//! - `nonce` only after a code exchange: the tokens a refresh starts from
//!   never keep it, so a refreshed ID Token has none (Core §12.2).
//! - `at_hash` binds the access token issued beside it.
//! - The claims the `id_token` member of the `claims` request names come from
//!   the host's `UserClaims`, selected by the core (OI-09): a standard claim
//!   only when its scope value is in the access token's scope or was
//!   consented to for the request (issue 16, `oidc/user_claims.rs`).
//! - Signed with the client's `id_token_signed_response_alg`, RS256 by
//!   default (Core §15.1); an algorithm the configuration does not offer, or
//!   one without a current key, is a signing fault (`server_error`), never
//!   another algorithm and never `none`.

use serde_json::Map;

use crate::client::Client;
use crate::clock::UnixTime;
use crate::context::Context;
use crate::error::{Error, InternalFault, SigningFault};
use crate::keys::Algorithm;
use crate::oidc::id_token::{IdTokenClaims, sign};
use crate::oidc::{ClaimsQuery, OpenIdGrant, SessionId, WantedClaims, pairwise_subject};
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::user::UserId;

/// The algorithm a client's ID Tokens are signed with: its registered one,
/// else RS256 (Core §15.1), and only one the configuration offers.
pub(crate) fn algorithm_for(cx: &Context, client: &Client) -> Result<Algorithm, Error> {
    let alg = client
        .id_token_signed_response_alg()
        .unwrap_or(Algorithm::Rs256);
    if cx.config.id_token_signing_algs.contains(&alg) {
        Ok(alg)
    } else {
        Err(Error::Signing(SigningFault::AlgorithmNotOffered(
            alg.as_str(),
        )))
    }
}

/// The access token an ID Token is issued beside: its value (for
/// `at_hash`) and its scope (for the claims it releases).
pub(crate) struct Beside<'a> {
    pub(crate) value: &'a str,
    pub(crate) scope: &'a ScopeSet,
}

/// Signs the ID Token issued beside `access_token` to `client` about
/// `user`, stating `openid`'s facts.
pub(crate) async fn issue(
    cx: &Context,
    client: &Client,
    user: &UserId,
    openid: &OpenIdGrant,
    access_token: Beside<'_>,
    now: UnixTime,
) -> Result<Secret<String>, Error> {
    let alg = algorithm_for(cx, client)?;
    let config = &cx.config;
    let sub = pairwise_subject(client, user, config.pairwise_salt.as_ref())
        .map_err(|_| Error::Internal(InternalFault::NoPairwiseSalt))?;
    let mut claims = IdTokenClaims::new(
        config.issuer.as_str(),
        sub.as_str(),
        client.client_id().clone(),
        now,
        now.plus(config.id_token_lifetime),
    );
    claims.auth_time = Some(openid.auth_time());
    claims.nonce = openid.nonce().map(|n| n.as_str().to_owned());
    claims.acr = openid.acr().map(str::to_owned);
    claims.amr = openid.amr().to_vec();
    claims.sid = openid.session_id().map(|s| SessionId::as_str(s).to_owned());
    claims.bind_access_token(access_token.value, alg);
    claims.extra =
        requested_claims(cx, client, user, openid, access_token.scope, sub.as_str()).await?;
    let ring = cx.key_ring().await?;
    let token = sign(&ring, &claims, alg, now).map_err(Error::Signing)?;
    Ok(Secret::new(token))
}

/// The claims the grant's `claims` request asks for in the ID Token and
/// the consent allows (`scope` of the access token beside it, or consent
/// to the request within what the client may still be granted), from the
/// host's `UserClaims` (none without one, or without such a request).
async fn requested_claims(
    cx: &Context,
    client: &Client,
    user: &UserId,
    openid: &OpenIdGrant,
    scope: &ScopeSet,
    sub: &str,
) -> Result<Map<String, serde_json::Value>, Error> {
    let consented = openid.claims_consent().intersection(client.scope());
    let wanted = WantedClaims::for_id_token(scope, openid.claims(), &consented);
    let Some(host) = cx.user_claims.as_deref().filter(|_| !wanted.is_empty()) else {
        return Ok(Map::new());
    };
    let query = ClaimsQuery::new(user, client.client_id(), &wanted);
    let from_host = host.claims(&query).await.map_err(Error::Store)?;
    // `select` writes `sub` too; the ID Token's own `sub` wins over it.
    Ok(wanted.select(sub, from_host))
}
