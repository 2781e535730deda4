//! The grant types of the token endpoint, dispatched by a `match` on
//! [`GrantType`]; what they share lives in `issue.rs`.

mod authorization_code;
mod client_credentials;
mod device_code;
mod extension;
pub(crate) mod id_token;
pub(crate) mod issue;
mod password;
mod refresh_token;
mod token_exchange;

use crate::client::Client;
use crate::context::Context;
use crate::error::Error;
use crate::grant_type::GrantType;
use crate::grants::issue::{Issued, TokenParams};

/// Runs the grant.
pub(crate) async fn dispatch(
    cx: &Context,
    client: &Client,
    grant: &GrantType,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    match grant {
        GrantType::AuthorizationCode => authorization_code::redeem(cx, client, params).await,
        GrantType::ClientCredentials => client_credentials::issue(cx, client, params).await,
        GrantType::Password => password::issue(cx, client, params).await,
        GrantType::RefreshToken => refresh_token::rotate(cx, client, params).await,
        GrantType::DeviceCode => device_code::redeem(cx, client, params).await,
        GrantType::TokenExchange => token_exchange::exchange(cx, client, params).await,
        GrantType::Extension(uri) => extension::issue(cx, client, uri, params).await,
    }
}
