//! `password` (RFC 6749 §4.3): off unless the server enables it and the
//! client is registered for it (PW-01). Bad credentials are `invalid_grant`
//! and reach the host's failed-attempt hooks (`PasswordVerifier::failed_attempt`
//! and `Throttle`), and the `Throttle` may refuse an attempt before the
//! password is checked, so the host can throttle (RFC 6749 §4.3.2, §10.10).

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::error::{Error, GrantFault, StoreError};
use crate::grants::{GrantType, Issued, Mint, TokenParams, mint_tokens, requested_scope};
use crate::secret::Secret;
use crate::server::AuthorizationServer;
use crate::throttle::Verdict;
use crate::user::UserId;

/// Verifies resource-owner passwords for the password grant. The host
/// implements it against its user database.
#[async_trait]
pub trait PasswordVerifier: Send + Sync + 'static {
    /// The user these credentials belong to, or `Ok(None)` if they are wrong.
    /// Should take the same time for an unknown user as for a wrong password.
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Called after every failed attempt (including one the server's
    /// `Throttle` refused unchecked), keyed by client and username, so the
    /// host can throttle (RFC 6749 §4.3.2, §10.10). Does nothing by default.
    /// A [`Throttle`](crate::Throttle) set on the server builder receives the
    /// same event and can also refuse attempts before they are checked.
    async fn failed_attempt(&self, client: &ClientId, username: &str) {
        let _ = (client, username);
    }
}

pub(super) async fn issue(
    server: &AuthorizationServer,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    let Some(verifier) = &server.passwords else {
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
    let throttle = server.throttle.as_deref();
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
        server,
        Mint {
            client,
            subject: Some(user),
            scope,
            grant: None,
            refresh_scope,
        },
    )
    .await?;
    server.tokens.issue(records).await?;
    Ok(issued)
}
