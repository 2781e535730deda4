//! `urn:ietf:params:oauth:grant-type:device_code`, the polling side of the
//! device authorization grant (RFC 8628 §3.4, §3.5; DV-02, DV-03).
//!
//! In order: the device code must be known and the polling client's
//! (`invalid_grant` otherwise, without recording a poll, so another client
//! cannot slow a device down), and not expired (`expired_token`). The poll
//! is then recorded atomically with the interval check: a poll sooner than
//! the interval after the previous one is `slow_down`, and the code's
//! interval grows by 5 s, in the store, so the rule holds across every
//! instance. Otherwise the state answers: pending `authorization_pending`,
//! denied `access_denied`, already redeemed `invalid_grant`; approved
//! mints the tokens, and the store's `redeem_device` lets exactly one of
//! any number of concurrent polls issue them, storing them in the same
//! atomic step as the redemption (the others get `invalid_grant` and their
//! tokens are never stored; a failed step stores nothing and leaves the
//! approval for the next poll). A DPoP proof binds
//! the tokens as in every grant; a refresh token comes when the client is
//! registered for `refresh_token`.

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::grant_type::GrantType;
use crate::grants::issue::{
    Issued, Mint, TokenParams, granted_resources, mint_tokens, refresh_binding,
};
use crate::stores::{DevicePoll, DeviceState};
use crate::tokens::TokenHash;

pub(super) async fn redeem(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    let code = params.device_code.ok_or(Error::missing("device_code"))?;
    let store = cx.devices()?;
    let hash = TokenHash::of(&code);
    let found = store
        .find_device(&hash)
        .await?
        .ok_or(Error::InvalidGrant(GrantFault::Unknown))?;
    if found.client_id != *client.client_id() {
        return Err(Error::InvalidGrant(GrantFault::ClientMismatch));
    }
    let now = cx.clock.now();
    if found.expires_at <= now {
        return Err(Error::ExpiredToken);
    }
    let (record, too_soon) = match store.poll_device(&hash, now).await? {
        DevicePoll::Polled { record, too_soon } => (record, too_soon),
        DevicePoll::Unknown => return Err(Error::InvalidGrant(GrantFault::Unknown)),
    };
    // DV-02: too fast, whatever the state; the interval grew by 5 s.
    if too_soon {
        return Err(Error::SlowDown);
    }
    let (subject, openid) = match record.state {
        DeviceState::Pending => return Err(Error::AuthorizationPending),
        DeviceState::Denied => return Err(Error::AccessDenied),
        DeviceState::Redeemed => return Err(Error::InvalidGrant(GrantFault::CodeReused)),
        DeviceState::Approved { subject, openid } => (subject, openid),
    };
    // RI-01: any resource the client is allowed.
    let resources = granted_resources(cx, client, params.resources, &[])?;
    let refresh_scope = client
        .allows_grant(GrantType::RefreshToken)
        .then(|| record.scope.clone());
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: Some(subject),
            scope: record.scope.clone(),
            grant: None,
            refresh_scope,
            openid,
            refresh_dpop_jkt: refresh_binding(client, params.dpop.as_ref()),
            dpop_jkt: params.dpop,
            refresh_resources: resources.clone(),
            resources,
        },
    )
    .await?;
    // DV-03: exactly one poll turns the approval into tokens, and its
    // tokens are stored in the same atomic step (#18): a failure leaves the
    // approval redeemable and nothing stored.
    if !store.redeem_device(&hash, records).await? {
        return Err(Error::InvalidGrant(GrantFault::CodeReused));
    }
    Ok(issued)
}
