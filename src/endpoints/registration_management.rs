//! The client configuration endpoint (RFC 7592; RG-02), at
//! `registration_client_uri` (`Config::paths.registration` + `/` +
//! `client_id`): `GET` reads the client's registration, `PUT` replaces it
//! (the whole metadata: a field left out is reset to its default; the
//! `client_id` must be the client's; the secret stays unless the policy
//! rotates it), `DELETE` removes the client and revokes its codes and
//! tokens (`204`). Each needs the client's registration access token as a
//! bearer token; a missing one is the bare `401` challenge, any other
//! token (another client's, a deleted client's, an access token) `401`
//! `invalid_token`, and so is a client that does not exist (RFC 7592
//! §2.1: not `404`, so ids cannot be probed).

use crate::bearer::bearer_credential;
use crate::client::{Client, ClientId, generate_secret};
use crate::context::Context;
use crate::endpoints::client_metadata::{self, Issued};
use crate::endpoints::registration::{Refused, configuration_uri, json_body, setup, token_matches};
use crate::error::{BearerFault, Error, InternalFault, MetadataFault};
use crate::events::Event;
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome};
use crate::registration::{Registrant, RegistrationOperation, RegistrationSetup};

const ENDPOINT: &str = "client_configuration";

pub(crate) async fn handle(cx: &Context, req: &Request<'_>, client_id: &str) -> Response {
    let span = endpoint_span(ENDPOINT);
    let response = match in_span!(span, run(cx, req, client_id)) {
        Ok(r) => r,
        Err(refused) => refused.into_response(ENDPOINT),
    };
    record_outcome(&span, &response);
    response
}

/// The `401 invalid_token` every refused registration access token gets.
fn invalid_token() -> Refused {
    Refused::Challenge(Response::bearer_challenge(BearerFault::Invalid, None))
}

async fn run(cx: &Context, req: &Request<'_>, client_id: &str) -> Result<Response, Refused> {
    let Some(setup) = setup(cx) else {
        return Ok(crate::routes::Refusal::NotFound.into());
    };
    let method = match req.method_name() {
        Some(m @ ("GET" | "PUT" | "DELETE")) => m,
        _ => {
            return Ok(crate::routes::Refusal::MethodNotAllowed {
                allow: "GET, PUT, DELETE",
            }
            .into());
        }
    };
    let presented = bearer_credential(req.authorization()).map_err(Refused::Challenge)?;
    // Look the client up only with a well-formed id; an unknown client, one
    // registered without a token, or a wrong token are all the same 401.
    let Some(id) = ClientId::parse(client_id) else {
        return Err(invalid_token());
    };
    let client = cx.clients.client(&id).await.map_err(Error::from)?;
    let Some(client) =
        client.filter(|c| token_matches(c.registration_access_token_hash(), presented))
    else {
        tracing::debug!(client_id = %id, "registration access token refused");
        return Err(invalid_token());
    };
    match method {
        "GET" => Ok(read(cx, &client)),
        "PUT" => update(cx, setup, req, &client).await,
        _ => delete(setup, &id).await,
    }
}

/// RFC 7592 §2.1: the client information, without secrets (they are only
/// kept as hashes).
fn read(cx: &Context, client: &Client) -> Response {
    let body = client_metadata::information(
        client,
        &configuration_uri(cx, client.client_id()),
        &Issued::default(),
    );
    Response::json_no_store(200, body.to_string().into_bytes())
}

/// RFC 7592 §2.2: replaces the client's metadata.
async fn update(
    cx: &Context,
    setup: &RegistrationSetup,
    req: &Request<'_>,
    old: &Client,
) -> Result<Response, Refused> {
    let body = json_body(cx, req)?;
    let metadata = client_metadata::parse(&cx.config, body)?;
    let id = old.client_id();
    // The `client_id` is required and must be the client's.
    if metadata.client_id.as_deref() != Some(id.as_str()) {
        return Err(Error::InvalidClientMetadata(MetadataFault::NotAllowed("client_id")).into());
    }
    // A `client_secret`, if sent, must be the client's current one.
    if let Some(sent) = metadata.client_secret.as_deref() {
        if !old
            .secret_hash()
            .is_some_and(|h| !h.is_slow() && h.verify(sent))
        {
            return Err(
                Error::InvalidClientMetadata(MetadataFault::NotAllowed("client_secret")).into(),
            );
        }
    }
    // The secret stays, unless the policy rotates it or the client had none.
    let new_secret = match (metadata.needs_secret(), old.secret_hash()) {
        (false, _) => None,
        (true, Some(_)) if !setup.policy.rotates_secret_on_update() => None,
        (true, _) => Some(generate_secret(&*cx.random).map_err(Error::from)?),
    };
    let secret = match &new_secret {
        Some((_, hash)) => Some(hash.clone()),
        None if metadata.needs_secret() => old.secret_hash().cloned(),
        None => None,
    };
    let statement = metadata.software_statement.clone();
    let client = metadata.into_client(id.clone(), secret, Some(old))?;
    let registrant = Registrant {
        operation: RegistrationOperation::Update,
        initial_access_token: None,
        software_statement: statement.as_deref(),
    };
    let client = setup
        .policy
        .review(&registrant, client)
        .await
        .map_err(Error::from)?;
    if client.client_id() != id {
        return Err(Error::Internal(InternalFault::InvalidStoredValue).into());
    }
    let client = client
        .into_builder()
        .registration_access_token_hash(old.registration_access_token_hash().cloned())
        .build()
        .map_err(client_metadata::model_error)?;
    let shown_secret = new_secret
        .as_ref()
        .filter(|(_, hash)| client.secret_hash() == Some(hash))
        .map(|(s, _)| s.expose_secret().as_str());
    if !setup
        .clients
        .update_client(client.clone())
        .await
        .map_err(Error::from)?
    {
        // Deleted meanwhile.
        return Err(invalid_token());
    }
    cx.emit(|| Event::ClientChanged { client_id: id });
    tracing::info!(client_id = %id, "client registration replaced over HTTP");
    let body = client_metadata::information(
        &client,
        &configuration_uri(cx, id),
        &Issued {
            client_secret: shown_secret,
            ..Issued::default()
        },
    );
    Ok(Response::json_no_store(200, body.to_string().into_bytes()))
}

/// RFC 7592 §2.3: revokes the client's codes and tokens, then removes it.
/// Its tokens already stop working once it is gone (bearer validation and
/// introspection check the client); revoking them first also removes them.
async fn delete(setup: &RegistrationSetup, id: &ClientId) -> Result<Response, Refused> {
    let revoked = setup.tokens.revoke_client(id).await.map_err(Error::from)?;
    if !setup.clients.delete_client(id).await.map_err(Error::from)? {
        return Err(invalid_token());
    }
    tracing::info!(client_id = %id, tokens_revoked = revoked, "client deleted over HTTP");
    Ok(Response::empty_no_store(204))
}
