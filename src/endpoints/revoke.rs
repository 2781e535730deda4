//! The revocation endpoint (RFC 7009): client authentication; unknown and
//! foreign tokens still get 200; revoking a refresh token revokes its grant
//! (RV-01, RV-02).

use std::sync::Arc;

use crate::client::Client;
use crate::client::authenticate::{Credentials, client};
use crate::context::Context;
use crate::endpoints::client_form_post;
use crate::endpoints::cors;
use crate::error::Error;
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::routes::Endpoint;
use crate::tokens::TokenHash;

const PARAMS: [&str; 6] = [
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("revoke");
    let mut authenticated = None;
    let response = match in_span!(span, run(cx, req, &mut authenticated)) {
        // RFC 7009 §2.2: 200 with an empty body.
        Ok(()) => Response::empty_no_store(200),
        Err(e) => refuse("revoke", &e),
    };
    // CO-01: readable by the origins of the client it concerns.
    let response = cors::actual(
        cx,
        Endpoint::Revocation,
        req,
        authenticated.as_ref(),
        response,
    )
    .await;
    record_outcome(&span, &response);
    response
}

async fn run(
    cx: &Context,
    req: &Request<'_>,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<(), Error> {
    let [
        token,
        hint,
        client_id,
        client_secret,
        assertion_type,
        assertion,
    ] = client_form_post(&cx.config, req, &PARAMS)?;
    let client = client(
        cx,
        Credentials {
            authorization: req.authorization(),
            client_id,
            client_secret,
            assertion_type,
            assertion,
            source: req.source(),
        },
    )
    .await?;
    *authenticated = Some(client.clone());
    let token = token.ok_or(Error::missing("token"))?;
    let hash = TokenHash::of(&token);
    let tokens = &*cx.tokens;
    // The hint only orders the look-ups (RFC 7009 §2.1).
    let refresh_first = hint.as_deref() == Some("refresh_token");
    for refresh in [refresh_first, !refresh_first] {
        if refresh {
            if let Some(r) = tokens.find_refresh(&hash).await? {
                // A client cannot revoke another client's token (RV-01); the
                // answer stays 200 so tokens cannot be probed.
                if r.client_id == *client.client_id() {
                    tokens.revoke_grant(&r.grant).await?;
                }
                return Ok(());
            }
        } else if let Some(a) = tokens.find_access(&hash).await? {
            if a.client_id == *client.client_id() {
                tokens.revoke_access(&hash).await?;
            }
            return Ok(());
        }
    }
    Ok(())
}
