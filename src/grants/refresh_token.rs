//! `refresh_token` (RFC 6749 §6): rotation on every use, replay revokes the
//! grant, narrower scope allowed and wider refused (RT-01..05); the opt-in
//! refresh retry window (issue 18, `Config::refresh_retry_window`).

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::events::{Event, Replayed};
use crate::grants::issue::{
    Issued, Mint, TokenParams, granted_resources, mint_tokens, requested_scope, revoke_replayed,
};
use crate::stores::{NewTokens, RefreshRecord, Replacement, Rotation, Successor};
use crate::tokens::TokenHash;

pub(super) async fn rotate(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    let token = params
        .refresh_token
        .ok_or(Error::missing("refresh_token"))?;
    let hash = TokenHash::of(&token);
    let record = cx
        .tokens
        .find_refresh(&hash)
        .await?
        .ok_or(Error::InvalidGrant(GrantFault::Unknown))?;
    // RT-01: bound to its client.
    if record.client_id != *client.client_id() {
        return Err(Error::InvalidGrant(GrantFault::ClientMismatch));
    }
    // FAPI 2.0 §5.3.2.1-10: under that profile a confidential client's
    // refresh token is not rotated. Public clients always rotate (RT-02).
    let rotate =
        !client.is_confidential() || cx.config.profile.rotates_confidential_refresh_tokens();
    // A rotated-out token: within the refresh retry window, a retry of a
    // response that was lost (issue 18); otherwise a replay.
    let retry = match record.used {
        false => None,
        true => match retry_of(cx, &record, rotate) {
            Some(successor) => Some(successor),
            None => {
                // RT-02, RFC 9700 §4.14.2: reuse of a rotated-out token
                // means it leaked; revoke the whole grant.
                revoke_replayed(cx, client, &record.grant, Replayed::RefreshToken).await?;
                return Err(Error::InvalidGrant(GrantFault::RefreshReused));
            }
        },
    };
    if record.expires_at <= cx.clock.now() {
        return Err(Error::InvalidGrant(GrantFault::Expired));
    }
    // DP-02, RFC 9449 §5: a refresh token bound to a DPoP key (a public
    // client's) is refreshed only with a proof of that key.
    if let Some(bound) = &record.dpop_jkt {
        if params.dpop.as_ref() != Some(bound) {
            return Err(Error::InvalidGrant(GrantFault::DpopKeyMismatch));
        }
    }
    // The grant keeps only the scopes the client still has (issue 15
    // finding 7): an operator's withdrawal of a scope reaches grants made
    // before it. One that lost every scope authorizes nothing any more:
    // `invalid_grant`, as for a revoked grant, and the client must ask the
    // user again. (Not `invalid_scope`: the client asked for nothing
    // wrong, and no narrower request can succeed.) Usually the grant is
    // within the client's scope and this shares it, allocating nothing.
    let granted = record.scope.intersection(client.scope());
    if granted.is_empty() && !record.scope.is_empty() {
        return Err(Error::InvalidGrant(GrantFault::ScopeWithdrawn));
    }
    // RT-03: the access token may be narrowed; the refresh token keeps the
    // grant's scope (RFC 6749 §6).
    let scope = requested_scope(params.scope.as_deref(), &granted, Some(&granted))?;
    // RI-01: the grant's resources may be narrowed, never widened; the
    // refresh token keeps them all (RFC 8707 §2.2).
    let resources = granted_resources(cx, client, params.resources, &record.resources)?;
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: record.subject.clone(),
            scope,
            grant: Some(record.grant),
            refresh_scope: rotate.then_some(granted),
            // Unchanged by rotation: the original auth_time (Core §12.2).
            openid: record.openid.clone(),
            // The binding stays; the access token is bound to the key of
            // this request's proof (for a confidential client, whichever
            // key it presents now).
            refresh_dpop_jkt: record.dpop_jkt.clone(),
            dpop_jkt: params.dpop,
            resources,
            refresh_resources: record.resources.clone(),
        },
    )
    .await?;
    if !rotate {
        return keep_refresh_token(cx, &hash, records, issued).await;
    }
    if let Some(successor) = retry {
        return replace_successor(cx, client, &hash, &successor, records, issued).await;
    }
    match cx.tokens.rotate_refresh(&hash, records).await? {
        Rotation::Rotated => Ok(issued),
        Rotation::Replayed(grant) => {
            // A concurrent request rotated it since we read it (RT-04).
            // Within the retry window that is a retry that lost the race:
            // refused, the grant kept, as a concurrent retry's loser is.
            let raced = match cx.config.refresh_retry_window {
                None => false,
                Some(_) => cx
                    .tokens
                    .find_refresh(&hash)
                    .await?
                    .is_some_and(|r| retry_of(cx, &r, rotate).is_some()),
            };
            if raced {
                return Err(Error::InvalidGrant(GrantFault::RefreshRaced));
            }
            revoke_replayed(cx, client, &grant, Replayed::RefreshToken).await?;
            Err(Error::InvalidGrant(GrantFault::RefreshReused))
        }
        Rotation::Unknown => Err(Error::InvalidGrant(GrantFault::Unknown)),
    }
}

/// The successor whose pair a presentation of the rotated-out `record`
/// replaces, if it is a retry: the server has a refresh retry window
/// (`Config::refresh_retry_window`), the token rotates, its rotation
/// recorded a successor, and the window since that rotation is still open
/// (it never slides: a retry keeps the first rotation's time). `None`: a
/// replay (RT-02).
fn retry_of(cx: &Context, record: &RefreshRecord, rotate: bool) -> Option<Successor> {
    let window = cx.config.refresh_retry_window?;
    let successor = record.successor.filter(|_| rotate && record.used)?;
    (cx.clock.now() < successor.rotated_at.plus(window)).then_some(successor)
}

/// A retry within the window (issue 18): `records` take the place of the
/// pair the rotation issued, which the store revokes in the same step, so
/// the grant keeps one live chain. Of concurrent retries one wins; the
/// others are refused and the grant kept. If the pair's refresh token was
/// used meanwhile, the chain moved on: a replay, the grant revoked (RT-02).
async fn replace_successor(
    cx: &Context,
    client: &Client,
    old: &TokenHash,
    successor: &Successor,
    records: NewTokens,
    issued: Issued,
) -> Result<Issued, Error> {
    match cx
        .tokens
        .replace_successor(old, &successor.refresh, records)
        .await?
    {
        Replacement::Replaced => {
            tracing::info!(
                client_id = %client.client_id(),
                grant = ?issued.grant,
                "refresh retried within the window: the previous pair revoked"
            );
            cx.emit(|| Event::RefreshRetried {
                client_id: client.client_id(),
                grant: issued.grant,
            });
            Ok(issued)
        }
        Replacement::Replayed(grant) => {
            revoke_replayed(cx, client, &grant, Replayed::RefreshToken).await?;
            Err(Error::InvalidGrant(GrantFault::RefreshReused))
        }
        Replacement::Superseded => Err(Error::InvalidGrant(GrantFault::RefreshRaced)),
        Replacement::Unknown => Err(Error::InvalidGrant(GrantFault::Unknown)),
    }
}

/// Issues `records` (a new access token in the refresh token's grant, no
/// new refresh token) and keeps the refresh token, which stays usable until
/// it expires or is revoked (FAPI 2.0 §5.3.2.1-10).
///
/// A revocation of the grant must win, as it does against a rotation
/// (RB-05), but `issue` is only atomic with respect to revocation in the
/// SQL stores. So the refresh token is looked up again after the access
/// token is stored: if it is gone, the grant was revoked meanwhile (before
/// the access token was stored, or after, when the revocation took that
/// too) and the new access token is revoked and refused.
async fn keep_refresh_token(
    cx: &Context,
    hash: &TokenHash,
    records: NewTokens,
    issued: Issued,
) -> Result<Issued, Error> {
    let access = records.access.hash;
    let stored = cx.tokens.issue(records).await;
    if cx.tokens.find_refresh(hash).await?.is_none() {
        if stored.is_ok() {
            cx.tokens.revoke_access(&access).await?;
        }
        return Err(Error::InvalidGrant(GrantFault::Unknown));
    }
    stored?;
    Ok(issued)
}
