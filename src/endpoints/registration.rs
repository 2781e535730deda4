//! The client registration endpoint (RFC 7591 §3; RG-01): a `POST` of
//! client metadata as JSON, open or behind an initial access token as the
//! host's [`RegistrationPolicy`](crate::RegistrationPolicy) decides. The
//! metadata is parsed and validated at the edge
//! ([`client_metadata`](super::client_metadata)), the policy reviews the
//! client, and the answer is `201` with the client information: its
//! generated `client_id`, a generated `client_secret` for the secret
//! methods and a `registration_access_token`, both shown this once and
//! stored only as SHA-256 hashes, `client_id_issued_at`,
//! `client_secret_expires_at` and `registration_client_uri`. Errors are
//! RFC 7591 §3.2.2's JSON (`invalid_redirect_uri`,
//! `invalid_client_metadata`, `invalid_software_statement`), or a `401`
//! bearer challenge for a missing or refused initial access token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::bearer::bearer_credential;
use crate::client::{ClientId, SecretHash, generate_secret};
use crate::context::Context;
use crate::endpoints::client_metadata::{self, Issued};
use crate::error::{BearerFault, Error, InternalFault, MetadataFault, RequestFault};
use crate::events::Event;
use crate::http::{Header, Method, Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::registration::{Registrant, RegistrationOperation, RegistrationSetup};

/// The registration of the server, or `None` when the host has not turned
/// registration on (the endpoints are then not served: a direct call is
/// `404`).
pub(crate) fn setup(cx: &Context) -> Option<&RegistrationSetup> {
    cx.registration.as_ref()
}

/// The URL of a client's configuration endpoint (RFC 7592 §2).
pub(crate) fn configuration_uri(cx: &Context, id: &ClientId) -> String {
    let mut uri = cx.config.url(&cx.config.paths.registration);
    uri.push('/');
    uri.push_str(id.as_str());
    uri
}

/// Checks the JSON body of a `POST` or `PUT`: within the body limit, and
/// `application/json` (parameters tolerated).
pub(crate) fn json_body<'a>(cx: &Context, req: &Request<'a>) -> Result<&'a [u8], Error> {
    if req.body_bytes().len() > cx.config.max_body_size {
        return Err(Error::InvalidRequest(RequestFault::BodyTooLarge));
    }
    match req.content_type() {
        Header::One(value) if is_json(value) => Ok(req.body_bytes()),
        Header::Repeated => Err(Error::InvalidRequest(RequestFault::InvalidHeader(
            "content-type",
        ))),
        _ => Err(Error::InvalidRequest(RequestFault::JsonContentType)),
    }
}

fn is_json(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// A new client id: 128 random bits, base64url (22 characters, nothing to
/// escape in a URL path).
fn new_client_id(cx: &Context) -> Result<ClientId, Error> {
    let mut bytes = [0u8; 16];
    cx.random.fill(&mut bytes)?;
    ClientId::parse(&URL_SAFE_NO_PAD.encode(bytes)).ok_or(Error::Internal(InternalFault::Encoding))
}

/// Why a request got no client: an OAuth error, or a bearer challenge.
pub(crate) enum Refused {
    Error(Error),
    Challenge(Response),
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Self::Error(e)
    }
}

impl Refused {
    pub(crate) fn into_response(self, endpoint: &'static str) -> Response {
        match self {
            Self::Error(e) => refuse(endpoint, &e),
            Self::Challenge(r) => r,
        }
    }
}

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("registration");
    let response = if req.method() == Method::Post {
        match in_span!(span, run(cx, req)) {
            Ok(r) => r,
            Err(refused) => refused.into_response("registration"),
        }
    } else {
        refuse(
            "registration",
            &Error::InvalidRequest(RequestFault::MethodNotAllowed),
        )
    };
    record_outcome(&span, &response);
    response
}

async fn run(cx: &Context, req: &Request<'_>) -> Result<Response, Refused> {
    let Some(setup) = setup(cx) else {
        return Ok(crate::routes::Refusal::NotFound.into());
    };
    // RFC 7591 §3: the initial access token, if any, as a bearer token.
    let token = match req.authorization() {
        Header::Absent => None,
        header => Some(bearer_credential(header).map_err(Refused::Challenge)?),
    };
    if !setup.policy.admit(token).await {
        let fault = if token.is_some() {
            BearerFault::Invalid
        } else {
            BearerFault::Missing
        };
        return Err(Refused::Challenge(Response::bearer_challenge(fault, None)));
    }
    let body = json_body(cx, req)?;
    let metadata = client_metadata::parse(&cx.config, body)?;
    if metadata.client_id.is_some() {
        return Err(Error::InvalidClientMetadata(MetadataFault::NotAllowed("client_id")).into());
    }
    if metadata.client_secret.is_some() {
        return Err(
            Error::InvalidClientMetadata(MetadataFault::NotAllowed("client_secret")).into(),
        );
    }
    let id = new_client_id(cx)?;
    let secret = if metadata.needs_secret() {
        Some(generate_secret(&*cx.random).map_err(Error::from)?)
    } else {
        None
    };
    let (access_token, access_hash) = generate_secret(&*cx.random).map_err(Error::from)?;
    let statement = metadata.software_statement.clone();
    let client = metadata.into_client(id.clone(), secret.as_ref().map(|s| s.1.clone()), None)?;
    let registrant = Registrant {
        operation: RegistrationOperation::Register,
        initial_access_token: token,
        software_statement: statement.as_deref(),
    };
    let client = setup
        .policy
        .review(&registrant, client)
        .await
        .map_err(Error::from)?;
    if client.client_id() != &id {
        return Err(Error::Internal(InternalFault::InvalidStoredValue).into());
    }
    // The token is the core's, whatever the review did.
    let client = client
        .into_builder()
        .registration_access_token_hash(access_hash)
        .build()
        .map_err(client_metadata::model_error)?;
    // The secret is shown only if the client kept it.
    let shown_secret = secret
        .as_ref()
        .filter(|(_, hash)| client.secret_hash() == Some(hash))
        .map(|(s, _)| s.expose_secret().as_str());
    setup
        .clients
        .insert_client(client.clone())
        .await
        .map_err(Error::from)?;
    cx.emit(|| Event::ClientRegistered { client_id: &id });
    tracing::info!(client_id = %id, "client registered over HTTP");
    let body = client_metadata::information(
        &client,
        &configuration_uri(cx, &id),
        &Issued {
            client_secret: shown_secret,
            registration_access_token: Some(access_token.expose_secret()),
            client_id_issued_at: Some(cx.clock.now()),
        },
    );
    Ok(Response::json_no_store(201, body.to_string().into_bytes()))
}

/// Whether `presented` is the client's registration access token
/// (constant-time: a SHA-256 comparison).
pub(crate) fn token_matches(hash: Option<&SecretHash>, presented: &str) -> bool {
    hash.is_some_and(|h| h.verify(presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json(b"application/json"));
        assert!(is_json(b"Application/JSON; charset=utf-8"));
        assert!(!is_json(b"application/x-www-form-urlencoded"));
        assert!(!is_json(b"application/jsonx"));
    }
}
