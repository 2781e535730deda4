//! The token endpoint (RFC 6749 §3.2, §5): method, content type, parse,
//! authenticate the client, dispatch the grant, render (TOK-01..08).

use std::io::Write as _;

use std::sync::Arc;

use crate::client::Client;
use crate::client::authenticate::{Credentials, client};
use crate::context::Context;
use crate::endpoints::cors;
use crate::endpoints::{client_form_post, dpop_proof, with_dpop_nonce};
use crate::error::{DpopFault, Error};
use crate::events::Event;
use crate::grant_type::GrantType;
use crate::grants::dispatch;
use crate::grants::issue::{Issued, TokenParams};
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_grant_type, record_outcome, refuse};
use crate::routes::Endpoint;

const PARAMS: [&str; 13] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "username",
    "password",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
    "device_code",
];

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("token");
    let mut authenticated = None;
    let response = match in_span!(span, run(cx, req, &mut authenticated)) {
        Ok(issued) => render(&issued),
        Err(e) => refuse("token", &e),
    };
    let response = with_dpop_nonce(cx, req, response);
    // CO-01: readable by the origins of the client it concerns.
    let response = cors::actual(cx, Endpoint::Token, req, authenticated.as_ref(), response).await;
    record_outcome(&span, &response);
    response
}

async fn run(
    cx: &Context,
    req: &Request<'_>,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<Issued, Error> {
    let [
        grant_type,
        code,
        redirect_uri,
        code_verifier,
        refresh_token,
        scope,
        username,
        password,
        client_id,
        client_secret,
        assertion_type,
        assertion,
        device_code,
    ] = client_form_post(&cx.config, req, &PARAMS)?;
    let grant_type = grant_type.ok_or(Error::missing("grant_type"))?;
    // TOK-07: unknown, or not offered by this server.
    let grant = GrantType::parse(&grant_type)
        .filter(|g| cx.config.offers(g))
        .ok_or(Error::UnsupportedGrantType)?;
    record_grant_type(&grant);
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
    if !client.allows_grant(&grant) {
        return Err(Error::UnauthorizedClient);
    }
    // DP-01: a proof binds the tokens to its key; DP-02: a client
    // registered with `dpop_bound_access_tokens` must send one.
    let dpop = dpop_proof(cx, req, &cx.config.paths.token).await?;
    // FAPI 2.0 §5.3.2.1-4: under that profile every token is bound.
    if dpop.is_none()
        && (client.dpop_bound_access_tokens() || cx.config.profile.requires_sender_constraint())
    {
        return Err(Error::InvalidDpopProof(DpopFault::Missing));
    }
    // RI-01: `resource` may be repeated (RFC 8707 §2); each must be an
    // absolute URI without fragment, else `invalid_target`.
    let resources = crate::http::form::values_of(req.body_bytes(), "resource")?;
    let resources = crate::resource::parse_all(resources.iter().map(|r| r.as_ref()))?;
    let params = TokenParams {
        code,
        redirect_uri,
        code_verifier,
        refresh_token,
        scope,
        username,
        password,
        source: req.source(),
        dpop,
        resources,
        device_code,
        form: req.body_bytes(),
    };
    let issued = dispatch(cx, &client, &grant, params).await?;
    cx.emit(|| {
        let (client_id, user, scope) = (client.client_id(), issued.subject.as_ref(), &issued.scope);
        match &grant {
            GrantType::RefreshToken => Event::RefreshRotated {
                client_id,
                user,
                grant: issued.grant,
                scope,
            },
            grant_type => Event::TokenIssued {
                client_id,
                user,
                grant_type,
                grant: issued.grant,
                scope,
                format: client.access_token_format(),
                refresh_token: issued.refresh_token.is_some(),
            },
        }
    });
    Ok(issued)
}

/// The successful token response (RFC 6749 §5.1, TOK-04). Tokens are
/// base64url and scope tokens exclude `"` and `\`, so nothing needs escaping.
fn render(issued: &Issued) -> Response {
    // The fixed text is under 100 bytes; scope is at most as long as written.
    let mut body = Vec::with_capacity(
        128 + issued.access_token.expose_secret().len()
            + issued
                .refresh_token
                .as_ref()
                .map_or(0, |r| r.expose_secret().len())
            + issued
                .id_token
                .as_ref()
                .map_or(0, |t| t.expose_secret().len() + 14)
            + issued
                .scope
                .iter()
                .map(|s| s.as_str().len() + 1)
                .sum::<usize>(),
    );
    body.extend_from_slice(b"{\"access_token\":\"");
    body.extend_from_slice(issued.access_token.expose_secret().as_bytes());
    // RFC 8693 §2.2.1: what a token exchange issued: always an access
    // token (`access_token` or `jwt`, fixed URNs with nothing to escape),
    // so `token_type` stays `Bearer` or `DPoP`, never `N_A`.
    if let Some(t) = &issued.issued_token_type {
        body.extend_from_slice(b"\",\"issued_token_type\":\"");
        body.extend_from_slice(t.as_str().as_bytes());
    }
    // RFC 9449 §5.1: `DPoP` for a token bound to a key.
    body.extend_from_slice(if issued.dpop {
        b"\",\"token_type\":\"DPoP\",\"expires_in\":"
    } else {
        b"\",\"token_type\":\"Bearer\",\"expires_in\":"
    });
    let _ = write!(body, "{}", issued.expires_in);
    if let Some(refresh) = &issued.refresh_token {
        body.extend_from_slice(b",\"refresh_token\":\"");
        body.extend_from_slice(refresh.expose_secret().as_bytes());
        body.push(b'"');
    }
    // A compact JWS is base64url and dots: nothing to escape either.
    if let Some(id_token) = &issued.id_token {
        body.extend_from_slice(b",\"id_token\":\"");
        body.extend_from_slice(id_token.expose_secret().as_bytes());
        body.push(b'"');
    }
    if !issued.scope.is_empty() {
        body.extend_from_slice(b",\"scope\":\"");
        issued.scope.write_to(&mut body);
        body.push(b'"');
    }
    body.push(b'}');
    Response::json_no_store(200, body)
}
