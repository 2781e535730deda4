//! `client_credentials` (RFC 6749 §4.4): confidential clients only, no
//! refresh token (CC-01).

use crate::client::Client;
use crate::context::Context;
use crate::error::Error;
use crate::grants::issue::{
    Issued, Mint, TokenParams, granted_resources, mint_tokens, requested_scope,
};

pub(super) async fn issue(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    if !client.is_confidential() {
        return Err(Error::UnauthorizedClient);
    }
    let scope = requested_scope(
        params.scope.as_deref(),
        client.scope(),
        client.default_scope(),
    )?;
    // RI-01: any resource the client is allowed.
    let resources = granted_resources(cx, client, params.resources, &[])?;
    let (records, issued) = mint_tokens(
        cx,
        Mint {
            client,
            subject: None,
            scope,
            grant: None,
            refresh_scope: None,
            openid: None,
            dpop_jkt: params.dpop,
            refresh_dpop_jkt: None,
            resources,
            refresh_resources: Vec::new(),
        },
    )
    .await?;
    cx.tokens.issue(records).await?;
    Ok(issued)
}
