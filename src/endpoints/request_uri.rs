//! Pushed authorization requests as stored (RFC 9126 §2.2, §4; PA-01,
//! PA-02): the pushed endpoint keeps the validated parameters under a
//! `request_uri` `urn:ietf:params:oauth:request_uri:<256 random bits>`, and
//! the authorization endpoint takes them back once, for the client that
//! pushed them, before they expire.
//!
//! They live in the [`AuthorizationRequestStore`], shared by every
//! instance, beside the suspended requests: only the SHA-256 of the whole
//! URN is kept (its random part is the secret; hashing the prefix too
//! keeps the two kinds of handle apart, so a resume token can never take a
//! pushed request, nor a `request_uri` a suspended one).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::context::Context;
use crate::error::{Error, InternalFault, OpenIdUnsupported};
use crate::secret::Secret;
use crate::stores::{AuthorizationRequestStore, SuspendedRequest};
use crate::tokens::TokenHash;
use crate::tokens::opaque::{TOKEN_LEN, mint};

/// The prefix of every `request_uri` this server issues (RFC 9126 §2.2).
pub(crate) const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed request as the store keeps it (`SuspendedRequest::payload`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// The client that pushed it: the only one that may use it.
    pushed_by: String,
    /// The authorization parameters, by name (from the form, or from the
    /// request object when one was pushed).
    params: BTreeMap<String, String>,
    /// Whether they came in a verified request object (JR-01).
    signed: bool,
}

/// A pushed request taken back at the authorization endpoint.
pub(crate) struct Pushed {
    /// The authorization parameters, by name.
    pub(crate) params: BTreeMap<String, String>,
    /// Whether they came in a verified request object.
    pub(crate) signed: bool,
}

/// What the pushed endpoint answers: the `request_uri` (a secret until
/// used: `Debug` redacts it) and its `expires_in`.
pub(crate) struct Issued {
    pub(crate) request_uri: Secret<String>,
    pub(crate) expires_in: u64,
}

fn store(cx: &Context) -> Result<&dyn AuthorizationRequestStore, Error> {
    cx.requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))
}

/// Stores validated parameters pushed by `client` under a fresh
/// `request_uri` that lives `Config::pushed_request_lifetime`.
pub(crate) async fn push(
    cx: &Context,
    client: &Client,
    params: BTreeMap<String, String>,
    signed: bool,
) -> Result<Issued, Error> {
    let store = store(cx)?;
    let payload = Stored {
        pushed_by: client.client_id().as_str().to_owned(),
        params,
        signed,
    };
    let payload =
        serde_json::to_string(&payload).map_err(|_| Error::Internal(InternalFault::Encoding))?;
    let minted = mint(&*cx.random)?;
    let request_uri = Secret::new(format!("{URN_PREFIX}{}", minted.value.expose_secret()));
    let lifetime = cx.config.pushed_request_lifetime;
    store
        .insert_request(SuspendedRequest {
            hash: TokenHash::of(request_uri.expose_secret()),
            payload,
            expires_at: cx.clock.now().plus(lifetime),
        })
        .await?;
    Ok(Issued {
        request_uri,
        expires_in: lifetime.as_secs(),
    })
}

/// Takes back the request pushed under `request_uri`, atomically, for
/// `client`. A value that is not one of our URNs is
/// `request_uri_not_supported` (we fetch nothing by reference); an
/// unknown, used or expired one, or one another client pushed, is
/// `invalid_request_uri`. It is used up in every case: a `request_uri`
/// presented with another `client_id` has leaked, and its client starts
/// again.
pub(crate) async fn take(
    cx: &Context,
    client: &Client,
    request_uri: &str,
) -> Result<Pushed, Error> {
    let Some(random) = request_uri.strip_prefix(URN_PREFIX) else {
        return Err(Error::NotSupported(OpenIdUnsupported::RequestUri));
    };
    if random.len() != TOKEN_LEN {
        return Err(Error::InvalidRequestUri);
    }
    let store = store(cx)?;
    let Some(record) = store.take_request(&TokenHash::of(request_uri)).await? else {
        tracing::debug!("request_uri unknown or already used");
        return Err(Error::InvalidRequestUri);
    };
    if record.expires_at <= cx.clock.now() {
        tracing::debug!("request_uri expired");
        return Err(Error::InvalidRequestUri);
    }
    let stored: Stored = serde_json::from_str(&record.payload)
        .map_err(|_| Error::Internal(InternalFault::InvalidStoredValue))?;
    if stored.pushed_by != client.client_id().as_str() {
        tracing::debug!("request_uri pushed by another client");
        return Err(Error::InvalidRequestUri);
    }
    Ok(Pushed {
        params: stored.params,
        signed: stored.signed,
    })
}
