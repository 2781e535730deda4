//! The device authorization endpoint (RFC 8628 §3.1, §3.2; DV-01).
//!
//! A POSTed form: the client authenticates exactly as at the token endpoint
//! (the same code: secrets, `private_key_jwt`, `client_secret_jwt`, or a
//! public client's `client_id` alone), must be registered for the device
//! grant, and asks for a `scope` checked as the other grants check it. The
//! answer is a `device_code` (256 random bits, stored only as its hash), a
//! `user_code` (eight characters of `BCDFGHJKLMNPQRSTVWXZ`, shown as
//! `XXXX-XXXX`, stored only as its hash), the host's `verification_uri`
//! and `verification_uri_complete` (the same with the code), `expires_in`
//! and `interval` (`Config::device_code_lifetime`,
//! `Config::device_code_interval`). Errors are JSON, as at the token
//! endpoint.

use std::sync::Arc;

use crate::client::Client;
use crate::client::authenticate::{Credentials, client};
use crate::context::Context;
use crate::endpoints::client_form_post;
use crate::endpoints::cors;
use crate::error::{Error, InternalFault};
use crate::grant_type::GrantType;
use crate::grants::issue::requested_scope;
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::routes::Endpoint;
use crate::secret::Secret;
use crate::stores::{DeviceRecord, DeviceState};
use crate::tokens::opaque::mint;
use crate::tokens::user_code::UserCode;

const PARAMS: [&str; 5] = [
    "scope",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

/// How many times new codes are drawn when a stored record already has
/// the user code (with 20⁸ codes, a second draw is already rare).
const DRAWS: usize = 4;

/// What the endpoint hands back (RFC 8628 §3.2).
struct Issued {
    device_code: Secret<String>,
    user_code: Secret<String>,
    expires_in: u64,
    interval: u64,
}

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("device_authorization");
    let mut authenticated = None;
    let response = match in_span!(span, run(cx, req, &mut authenticated)) {
        Ok(issued) => render(cx, &issued),
        Err(e) => refuse("device_authorization", &e),
    };
    // CO-01: readable by the origins of the client it concerns.
    let response = cors::actual(
        cx,
        Endpoint::DeviceAuthorization,
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
    let [scope, client_id, client_secret, assertion_type, assertion] =
        client_form_post(&cx.config, req, &PARAMS)?;
    if !cx.config.offers(GrantType::DeviceCode) {
        return Err(Error::UnsupportedGrantType);
    }
    let store = cx.devices()?;
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
    // RFC 8628 §3.1: the client must be allowed this grant.
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(Error::UnauthorizedClient);
    }
    let scope = requested_scope(scope.as_deref(), client.scope(), client.default_scope())?;
    let now = cx.clock.now();
    let config = &cx.config;
    let interval = std::time::Duration::from_secs(config.device_code_interval.as_secs());
    for _ in 0..DRAWS {
        let device_code = mint(&*cx.random)?;
        let user_code = UserCode::generate(&*cx.random)?;
        let record = DeviceRecord {
            hash: device_code.hash,
            user_code: user_code.hash(),
            client_id: client.client_id().clone(),
            scope: scope.clone(),
            issued_at: now,
            expires_at: now.plus(config.device_code_lifetime),
            interval,
            last_poll: None,
            state: DeviceState::Pending,
        };
        if store.insert_device(record).await? {
            return Ok(Issued {
                device_code: device_code.value,
                user_code: user_code.display(),
                expires_in: config.device_code_lifetime.as_secs(),
                interval: interval.as_secs(),
            });
        }
        tracing::debug!("user code already taken: drawing another");
    }
    Err(Error::Internal(InternalFault::CodeSpaceExhausted))
}

/// The `verification_uri` of this configuration.
pub(crate) fn verification_uri(cx: &Context) -> String {
    cx.config.url(&cx.config.paths.device_verification)
}

/// The successful answer (RFC 8628 §3.2), `no-store` as a token response.
fn render(cx: &Context, issued: &Issued) -> Response {
    let uri = verification_uri(cx);
    let user_code = issued.user_code.expose_secret();
    let complete = match url::Url::parse(&uri) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair("user_code", user_code);
            String::from(u)
        }
        Err(_) => {
            return refuse(
                "device_authorization",
                &Error::Internal(InternalFault::Encoding),
            );
        }
    };
    let body = serde_json::json!({
        "device_code": issued.device_code.expose_secret(),
        "user_code": user_code,
        "verification_uri": uri,
        "verification_uri_complete": complete,
        "expires_in": issued.expires_in,
        "interval": issued.interval,
    });
    match serde_json::to_vec(&body) {
        Ok(body) => Response::json_no_store(200, body),
        Err(_) => refuse(
            "device_authorization",
            &Error::Internal(InternalFault::Encoding),
        ),
    }
}
