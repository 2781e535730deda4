//! `password` (RFC 6749 §4.3): off unless the server enables it and the
//! client is registered for it (PW-01). Bad credentials are `invalid_grant`
//! and reach the host's failed-attempt hooks (`PasswordVerifier::failed_attempt`
//! and `Throttle`), and the `Throttle` may refuse an attempt before the
//! password is checked, so the host can throttle (RFC 6749 §4.3.2, §10.10).

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, GrantFault};
use crate::grant_type::GrantType;
use crate::grants::issue::{Issued, Mint, TokenParams, mint_tokens, requested_scope};
use crate::secret::Secret;
use crate::throttle::Verdict;

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
    let throttle = cx.throttle.as_deref();
    let allowed = match throttle {
        Some(t) => t.check_password(client.client_id(), &username).await == Verdict::Allow,
        None => true,
    };
    if !allowed {
        tracing::debug!("password attempt refused by the throttle");
    }
    let user = if allowed {
        verifier.verify(&username, &password).await?
    } else {
        None
    };
    let Some(user) = user else {
        verifier.failed_attempt(client.client_id(), &username).await;
        if let Some(t) = throttle {
            t.password_failed(client.client_id(), &username).await;
        }
        return Err(Error::InvalidGrant(GrantFault::InvalidCredentials));
    };
    if let Some(t) = throttle {
        t.password_accepted(client.client_id(), &username).await;
    }
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
        },
    )
    .await?;
    cx.tokens.issue(records).await?;
    Ok(issued)
}
