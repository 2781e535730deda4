//! `authorization_code`, the redemption side (RFC 6749 §4.1.3, RFC 7636 §4.6):
//! binding to client and redirect URI, PKCE with downgrade protection, single
//! use, and revocation of the grant on replay (AC-01..04, PK-01..04).

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::events::Replayed;
use crate::grant_type::GrantType;
use crate::grants::issue::{
    Issued, Mint, TokenParams, granted_resources, mint_tokens, refresh_binding, revoke_replayed,
};
use crate::pkce::{ChallengeMethod, CodeVerifier};
use crate::stores::Exchange;
use crate::tokens::TokenHash;

pub(super) async fn redeem(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    let code = params.code.ok_or(Error::missing("code"))?;
    // PK-03: a malformed verifier is refused before any lookup.
    let verifier = match params.code_verifier.as_deref() {
        Some(v) => Some(CodeVerifier::parse(v).ok_or(Error::invalid_param("code_verifier"))?),
        None => None,
    };
    let hash = TokenHash::of(&code);
    let record = cx
        .tokens
        .find_code(&hash)
        .await?
        .ok_or(Error::InvalidGrant(GrantFault::Unknown))?;
    if record.client_id != *client.client_id() {
        return Err(Error::InvalidGrant(GrantFault::ClientMismatch));
    }
    if record.used {
        // AC-02: a second redemption revokes what the first one issued.
        revoke_replayed(cx, client, &record.grant, Replayed::Code).await?;
        return Err(Error::InvalidGrant(GrantFault::CodeReused));
    }
    if record.expires_at <= cx.clock.now() {
        return Err(Error::InvalidGrant(GrantFault::Expired));
    }
    // RFC 6749 §4.1.3: identical to the authorization request's, if it had one.
    if record.redirect_uri.as_ref().map(|u| u.as_str()) != params.redirect_uri.as_deref() {
        return Err(Error::InvalidGrant(GrantFault::RedirectMismatch));
    }
    match (&record.challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if challenge.method() == ChallengeMethod::Plain
                && !(client.allows_plain_pkce() && cx.config.dangerous_allow_plain_pkce)
            {
                return Err(Error::InvalidGrant(GrantFault::PkceMismatch));
            }
            if !challenge.verify(&verifier) {
                return Err(Error::InvalidGrant(GrantFault::PkceMismatch));
            }
        }
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge,
        // or none for a code with one, is a downgrade attempt (PK-04).
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::InvalidGrant(GrantFault::PkceDowngrade));
        }
        (None, None) => {
            if !client.is_confidential() || cx.config.require_pkce_for_confidential {
                return Err(Error::InvalidGrant(GrantFault::PkceDowngrade));
            }
        }
    }
    // DP-01 (RFC 9449 §10, FAPI 2.0 §5.3.2.1-13): a code bound to a DPoP
    // key is redeemed only with a proof of that key. The RFC names no
    // error: the grant is not the client's to redeem this way.
    if let Some(bound) = &record.dpop_jkt {
        if params.dpop.as_ref() != Some(bound) {
            return Err(Error::InvalidGrant(GrantFault::DpopKeyMismatch));
        }
    }
    // RI-01: the code's resources bound the token request's.
    let resources = granted_resources(cx, client, params.resources, &record.resources)?;
    let refresh_scope = client
        .allows_grant(GrantType::RefreshToken)
        .then(|| record.scope.clone());
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: Some(record.subject.clone()),
            scope: record.scope.clone(),
            grant: Some(record.grant),
            refresh_scope,
            // The code's facts, nonce included: the tokens keep them
            // without it, the ID Token states the nonce.
            openid: record.openid.clone(),
            refresh_dpop_jkt: refresh_binding(client, params.dpop.as_ref()),
            dpop_jkt: params.dpop,
            resources,
            refresh_resources: record.resources.clone(),
        },
    )
    .await?;
    match cx.tokens.exchange_code(&hash, records).await? {
        Exchange::Issued => Ok(issued),
        Exchange::AlreadyUsed(grant) => {
            revoke_replayed(cx, client, &grant, Replayed::Code).await?;
            Err(Error::InvalidGrant(GrantFault::CodeReused))
        }
        Exchange::Unknown => Err(Error::InvalidGrant(GrantFault::Unknown)),
    }
}
