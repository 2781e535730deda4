//! `refresh_token` (RFC 6749 §6): rotation on every use, replay revokes the
//! grant, narrower scope allowed and wider refused (RT-01..05).

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::events::Replayed;
use crate::grants::issue::{
    Issued, Mint, TokenParams, mint_tokens, requested_scope, revoke_replayed,
};
use crate::stores::Rotation;
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
    if record.used {
        // RT-02, RFC 9700 §4.14.2: reuse of a rotated-out token means it
        // leaked; revoke the whole grant.
        revoke_replayed(cx, client, &record.grant, Replayed::RefreshToken).await?;
        return Err(Error::InvalidGrant(GrantFault::RefreshReused));
    }
    if record.expires_at <= cx.clock.now() {
        return Err(Error::InvalidGrant(GrantFault::Expired));
    }
    // RT-03: the access token may be narrowed; the refresh token keeps the
    // grant's scope (RFC 6749 §6).
    let scope = requested_scope(params.scope.as_deref(), &record.scope, Some(&record.scope))?;
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: record.subject.clone(),
            scope,
            grant: Some(record.grant),
            refresh_scope: Some(record.scope.clone()),
        },
    )
    .await?;
    match cx.tokens.rotate_refresh(&hash, records).await? {
        Rotation::Rotated => Ok(issued),
        Rotation::Replayed(grant) => {
            revoke_replayed(cx, client, &grant, Replayed::RefreshToken).await?;
            Err(Error::InvalidGrant(GrantFault::RefreshReused))
        }
        Rotation::Unknown => Err(Error::InvalidGrant(GrantFault::Unknown)),
    }
}
