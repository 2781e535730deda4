//! The pushed authorization request endpoint (RFC 9126 §2; PA-01).
//!
//! A POSTed form: the client authenticates as at the token endpoint (the
//! same code: secrets, `private_key_jwt`, `client_secret_jwt`, a public
//! client's `client_id`), and the whole authorization request is validated
//! at once, by the authorization endpoint's own validation
//! ([`check`](crate::endpoints::authorize::check)). Every error is JSON,
//! never a redirect. A `request_uri` inside a push is refused (§2.1); a
//! `request` object is verified and its parameters are the ones pushed
//! (RFC 9101, JR-01). Success is `201` with `request_uri` and
//! `expires_in` (§2.2); the request is stored as described in
//! [`request_uri`](crate::endpoints::request_uri).

use std::io::Write as _;

use std::sync::Arc;

use crate::client::Client;
use crate::client::authenticate::{Credentials, client};
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::endpoints::authorize::{
    CLIENT_ID, DPOP_JKT, Params, REDIRECT_URI, REQUEST, REQUEST_URI, RESOURCE, SINGLE_VALUED,
    check, from_request_object, params_by_name, resource_slot,
};
use crate::endpoints::cors;
use crate::endpoints::request_uri::{Issued, push};
use crate::endpoints::{client_form_post, dpop_proof, with_dpop_nonce};
use crate::error::{DpopFault, Error, RequestFault};
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::routes::Endpoint;

/// The authorization parameters ([`crate::endpoints::authorize`]'s, in
/// their order, but the repeatable `resource`, read apart) and the client
/// credentials.
// Evaluated at compile time: an index out of range fails the build, it
// cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const PARAMS: [&str; 24] = {
    let credentials = ["client_secret", "client_assertion_type", "client_assertion"];
    let mut out = [""; 24];
    let mut i = 0;
    while i < SINGLE_VALUED.len() {
        out[i] = SINGLE_VALUED[i];
        i += 1;
    }
    let mut k = 0;
    while k < credentials.len() {
        out[i + k] = credentials[k];
        k += 1;
    }
    out
};

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("par");
    let mut authenticated = None;
    let response = match in_span!(span, run(cx, req, &mut authenticated)) {
        Ok(issued) => render(&issued),
        Err(e) => refuse("par", &e),
    };
    let response = with_dpop_nonce(cx, req, response);
    // CO-01: readable by the origins of the client it concerns.
    let response = cors::actual(
        cx,
        Endpoint::PushedAuthorizationRequest,
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
) -> Result<Issued, Error> {
    let mut all = client_form_post(&cx.config, req, &PARAMS)?.into_iter();
    // The authorization parameters but `resource`, which is repeatable
    // (RFC 8707 §2) and read apart.
    let mut values: Params<'_> = std::array::from_fn(|i| {
        if i == RESOURCE {
            None
        } else {
            all.next().flatten()
        }
    });
    values[RESOURCE] = resource_slot(req.body_bytes())?;
    let (client_secret, assertion_type, assertion) = (
        all.next().flatten(),
        all.next().flatten(),
        all.next().flatten(),
    );
    let client = client(
        cx,
        Credentials {
            authorization: req.authorization(),
            client_id: values[CLIENT_ID].clone(),
            client_secret,
            assertion_type,
            assertion,
            source: req.source(),
        },
    )
    .await?;
    *authenticated = Some(client.clone());
    // The `client_id` sent, if any, is the authenticated client's (RFC 9126
    // §2.1: the request is the client's own).
    if values[CLIENT_ID]
        .as_deref()
        .is_some_and(|id| id != client.client_id().as_str())
    {
        return Err(Error::invalid_param("client_id"));
    }
    // PA-01: a pushed request cannot refer to another (RFC 9126 §2.1).
    if values[REQUEST_URI].is_some() {
        return Err(Error::invalid_param("request_uri"));
    }
    // RFC 9449 §10.1 (DP-01): a DPoP proof with the push binds the code to
    // its key, as `dpop_jkt` does; both must then name the same key.
    let proof = dpop_proof(cx, req, &cx.config.paths.pushed_authorization_request).await?;
    let (mut values, signed) = match values[REQUEST].take() {
        Some(object) => (
            from_request_object(cx, &client, values[CLIENT_ID].as_deref(), &object).await?,
            true,
        ),
        None if client.requires_signed_request_object() => {
            return Err(Error::InvalidRequest(
                RequestFault::SignedRequestObjectRequired,
            ));
        }
        None => (values, false),
    };
    // FAPI 2.0 §5.3.2.2-6: under that profile a push names its
    // `redirect_uri`, even for a client with one registered.
    if cx.config.profile.requires_pushed_redirect_uri() && values[REDIRECT_URI].is_none() {
        return Err(Error::missing("redirect_uri"));
    }
    if let Some(jkt) = proof {
        match values[DPOP_JKT].as_deref().map(JwkThumbprint::parse) {
            None => values[DPOP_JKT] = Some(jkt.as_str().to_owned().into()),
            Some(Some(sent)) if sent == jkt => {}
            // A malformed `dpop_jkt` is `check`'s `invalid_request`.
            Some(None) => {}
            Some(Some(_)) => return Err(Error::InvalidDpopProof(DpopFault::KeyMismatch)),
        }
    }
    let mut params = params_by_name(&values);
    // Stored with the client's id, which the authorization endpoint sends
    // beside the `request_uri` anyway.
    params.insert(
        "client_id".to_owned(),
        client.client_id().as_str().to_owned(),
    );
    check(cx, client.clone(), values, None)
        .await
        .map_err(|refused| refused.into_error())?;
    push(cx, &client, params, signed).await
}

/// The `201 Created` answer (RFC 9126 §2.2), not to be cached. The URN is
/// base64url after a fixed prefix: nothing to escape.
fn render(issued: &Issued) -> Response {
    let uri = issued.request_uri.expose_secret();
    let mut body = Vec::with_capacity(uri.len() + 48);
    body.extend_from_slice(b"{\"request_uri\":\"");
    body.extend_from_slice(uri.as_bytes());
    body.extend_from_slice(b"\",\"expires_in\":");
    let _ = write!(body, "{}", issued.expires_in);
    body.push(b'}');
    Response::json_no_store(201, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_parameters_come_first_in_their_order() {
        // covers: PA-01
        // All but the repeatable `resource`, the last, which is read apart.
        let all = crate::endpoints::authorize::PARAMS;
        assert_eq!(all[RESOURCE], "resource");
        assert_eq!(RESOURCE, all.len() - 1);
        let (authorization, credentials) = PARAMS.split_at(RESOURCE);
        assert_eq!(authorization, &all[..RESOURCE]);
        assert_eq!(
            credentials,
            ["client_secret", "client_assertion_type", "client_assertion"]
        );
    }
}
