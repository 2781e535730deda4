//! `password` (RFC 6749 §4.3): off unless the server enables it and the
//! client is registered for it (PW-01). Bad credentials are `invalid_grant`
//! and reach the host's failed-attempt hooks (`PasswordVerifier::failed_attempt`
//! and `Throttle`); every attempt is put to the `Throttle` before the
//! password is checked, per username and source, so the host can throttle
//! (RFC 6749 §4.3.2, §10.10; RB-04).

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::grant_type::GrantType;
use crate::grants::issue::{
    Issued, Mint, TokenParams, granted_resources, mint_tokens, refresh_binding, requested_scope,
};
use crate::secret::Secret;
use crate::throttle::{Account, Attempt, Outcome, reserve, settle};

pub(super) async fn issue(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    let Some(verifier) = &cx.passwords else {
        return Err(Error::UnsupportedGrantType);
    };
    let username = params.username.ok_or(Error::missing("username"))?;
    let password = Secret::new(
        params
            .password
            .ok_or(Error::missing("password"))?
            .into_owned(),
    );
    let scope = requested_scope(
        params.scope.as_deref(),
        client.scope(),
        client.default_scope(),
    )?;
    // RI-01: any resource the client is allowed, checked before the
    // password costs anything; they are the grant's.
    let resources = granted_resources(cx, client, params.resources, &[])?;
    // Reserved before the password is checked, against the username from
    // this source (RB-04); settled once judged.
    let throttle = cx.throttle.as_deref();
    let attempt = Attempt::new(Some(Account::User(&username)), params.source);
    let allowed = reserve(throttle, &attempt).await;
    let user = if allowed {
        match verifier.verify(&username, &password).await {
            Ok(user) => user,
            Err(e) => {
                settle(throttle, &attempt, Outcome::Unjudged).await;
                return Err(e.into());
            }
        }
    } else {
        None
    };
    let Some(user) = user else {
        verifier.failed_attempt(client.client_id(), &username).await;
        if allowed {
            settle(throttle, &attempt, Outcome::Failed).await;
        }
        return Err(Error::InvalidGrant(GrantFault::InvalidCredentials));
    };
    settle(throttle, &attempt, Outcome::Succeeded).await;
    let refresh_scope = client
        .allows_grant(GrantType::RefreshToken)
        .then(|| scope.clone());
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: Some(user),
            scope,
            grant: None,
            refresh_scope,
            openid: None,
            refresh_dpop_jkt: refresh_binding(client, params.dpop.as_ref()),
            dpop_jkt: params.dpop,
            refresh_resources: resources.clone(),
            resources,
        },
    )
    .await?;
    cx.tokens.issue(records).await?;
    Ok(issued)
}
