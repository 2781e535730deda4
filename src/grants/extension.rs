//! Extension grants (RFC 6749 §4.5): the host's handler, registered for
//! the grant type URI, decides what to issue; the core checks it, mints,
//! stores and answers (issue 18).

use crate::client::Client;
use crate::context::Context;
use crate::error::Error;
use crate::extension_grant::ExtensionRequest;
use crate::grant_type::ExtensionGrantType;
use crate::grants::issue::{Issued, TokenParams, granted_resources, mint_decided, requested_scope};

pub(super) async fn issue(
    cx: &Context,
    client: &Client,
    uri: &ExtensionGrantType,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    // Offered only with a handler (the builder makes sure), but a grant
    // type without one is simply not supported.
    let handler = cx.extensions.get(uri).ok_or(Error::UnsupportedGrantType)?;
    let scope = requested_scope(
        params.scope.as_deref(),
        client.scope(),
        client.default_scope(),
    )?;
    // RI-01: any resource the client is allowed.
    let resources = granted_resources(cx, client, params.resources, &[])?;
    let request = ExtensionRequest {
        grant_type: uri,
        client,
        form: params.form,
        scope: &scope,
        resources: &resources,
        now: cx.clock.now(),
        source: params.source,
    };
    let issuance = handler.grant(&request).await?;
    let (records, issued) = mint_decided(cx, client, params.dpop, issuance, None).await?;
    // A new grant: nobody can have revoked it yet.
    cx.tokens.issue(records).await?;
    Ok(issued)
}
