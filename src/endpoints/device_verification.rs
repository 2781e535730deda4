//! The user step of the device grant (RFC 8628 §3.3; DV-03): the core
//! decides, the host renders, as for consent.
//!
//! The host's verification page (`Config::paths.device_verification`, the
//! `verification_uri`) asks for the user code; once the user is signed in,
//! [`AuthorizationServer::device_user_code`](crate::AuthorizationServer::device_user_code)
//! looks it up and answers a [`PendingDeviceAuthorization`]: the client and
//! the scope to show. The consent page carries the one-time handle of
//! [`AuthorizationServer::suspend_device`](crate::AuthorizationServer::suspend_device),
//! bound to the user, and its POST takes it back with
//! [`AuthorizationServer::resume_device`](crate::AuthorizationServer::resume_device)
//! for the same user only, then approves or denies, once. So a page of
//! another site cannot approve a device for the user (CSRF): it cannot
//! know a handle bound to them, and the host's own CSRF token guards the
//! form as for consent.
//!
//! **Guessing (RFC 8628 §5.1).** Every lookup is put to the host's
//! [`Throttle`](crate::Throttle) first, as an attempt on
//! [`Account::DeviceVerifier`] (the signed-in user) from the request's
//! source; a code that finds no pending authorization counts as a failure,
//! a refusal looks like a wrong code. With [`MemoryThrottle`](crate::MemoryThrottle)'s default
//! limits an attacker gets, per 15-minute window, 5 wrong codes per (user,
//! source) pair, 20 per user from sources it is not known for (up to 200
//! with one try from each new source) and 100 per source over all users.
//! A guess hits one of *N* live codes with probability *N* / 20⁸ (20⁸ ≈
//! 2.56 × 10¹⁰): with 10 000 codes live at once, one source's 100 guesses
//! in a window hit with probability about 4 × 10⁻⁵, and a 1 % chance takes
//! about 2.6 × 10⁵ guesses, that is 2 600 source-windows. Codes live 10
//! minutes by default, so each guess targets only the codes of that span.
//! Without a throttle nothing bounds the guesses: give the server one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::clock::UnixTime;
use crate::context::Context;
use crate::error::{Error, InternalFault};
use crate::events::Event;
use crate::http::Source;
use crate::oidc::{Authentication, OpenIdGrant, SessionId};
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::stores::{Consent, DeviceDecision, DeviceRecord, DeviceState, SuspendedRequest};
use crate::throttle::{Account, Attempt, Outcome, reserve, settle};
use crate::tokens::TokenHash;
use crate::tokens::opaque::{TOKEN_LEN, mint};
use crate::tokens::user_code::UserCode;
use crate::user::UserId;

/// The hash domain of device confirmation handles in the
/// `AuthorizationRequestStore`: a handle hashes differently from a resume
/// token or a `request_uri`, so none of them takes another's record.
const DOMAIN: &str = "portcullis device confirmation:";

/// Why the user step could not go on. Show the verification form again
/// (with a message) for [`InvalidUserCode`](Self::InvalidUserCode) and
/// [`ConfirmationRefused`](Self::ConfirmationRefused); an error page (500)
/// for [`Server`](Self::Server).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DeviceVerificationError {
    /// The user code is malformed, unknown, expired, already approved or
    /// denied, its client is disabled, or the throttle refused the lookup:
    /// one answer for all, so that a guess teaches nothing.
    #[error("the user code is invalid, expired or already used")]
    InvalidUserCode,
    /// The confirmation handle is unknown, already used, expired or bound
    /// to another user.
    #[error("the confirmation is unknown, used, expired or another user's")]
    ConfirmationRefused,
    /// A store or the random source failed, or the server lacks a store
    /// the step needs.
    #[error("the server could not complete the step: {0}")]
    Server(Error),
}

impl From<Error> for DeviceVerificationError {
    fn from(e: Error) -> Self {
        Self::Server(e)
    }
}

impl From<crate::error::StoreError> for DeviceVerificationError {
    fn from(e: crate::error::StoreError) -> Self {
        Self::Server(Error::from(e))
    }
}

/// A device waiting for the signed-in user's decision: show
/// [`client`](Self::client) and [`scope`](Self::scope), then approve or
/// deny (once: both take it by value).
#[derive(Debug)]
pub struct PendingDeviceAuthorization {
    auth: Authentication,
    client: Arc<Client>,
    scope: ScopeSet,
    user_code: TokenHash,
    expires_at: UnixTime,
}

impl PendingDeviceAuthorization {
    /// The client asking (show its name).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for (and granted on approval).
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The user who is asked.
    pub fn user(&self) -> &UserId {
        self.auth.user()
    }

    /// The user's authentication, whose facts go with the tokens of a
    /// scope holding `openid`.
    pub fn authentication(&self) -> &Authentication {
        &self.auth
    }

    /// When the device's codes expire.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

/// A record the user may decide on at `now`.
fn decidable(record: &DeviceRecord, now: UnixTime) -> bool {
    record.state == DeviceState::Pending && now < record.expires_at
}

/// The enabled client of a record, or `InvalidUserCode`.
async fn client_of(
    cx: &Context,
    record: &DeviceRecord,
) -> Result<Arc<Client>, DeviceVerificationError> {
    match cx.clients.client(&record.client_id).await? {
        Some(c) if c.is_enabled() => Ok(c),
        _ => Err(DeviceVerificationError::InvalidUserCode),
    }
}

/// Looks up the user code `typed` for `user`, throttled (see the module
/// docs).
pub(crate) async fn look_up(
    cx: &Context,
    typed: &str,
    user: &Authentication,
    source: Option<Source<'_>>,
) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
    let store = cx.devices()?;
    let attempt = Attempt::new(Some(Account::DeviceVerifier(user.user())), source);
    let throttle = cx.throttle.as_deref();
    if !reserve(throttle, &attempt).await {
        return Err(DeviceVerificationError::InvalidUserCode);
    }
    let now = cx.clock.now();
    let found = match UserCode::parse(typed) {
        Some(code) => match store.find_user_code(&code.hash()).await {
            Ok(found) => found.filter(|r| decidable(r, now)),
            Err(e) => {
                settle(throttle, &attempt, Outcome::Unjudged).await;
                return Err(e.into());
            }
        },
        None => None,
    };
    let Some(record) = found else {
        settle(throttle, &attempt, Outcome::Failed).await;
        tracing::debug!("user code refused");
        return Err(DeviceVerificationError::InvalidUserCode);
    };
    settle(throttle, &attempt, Outcome::Succeeded).await;
    let client = client_of(cx, &record).await?;
    Ok(PendingDeviceAuthorization {
        auth: user.clone(),
        client,
        scope: record.scope,
        user_code: record.user_code,
        expires_at: record.expires_at,
    })
}

/// What a confirmation handle stores: the user code's hash and the user
/// with their authentication facts. No secret.
#[derive(Serialize, Deserialize)]
struct Payload {
    /// The hash of the user code, in hex.
    user_code: String,
    user: String,
    auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

fn handle_hash(token: &str) -> TokenHash {
    TokenHash::of(&format!("{DOMAIN}{token}"))
}

/// Stores `pending`, bound to its user, under the hash of a fresh handle;
/// returns the handle.
pub(crate) async fn suspend(
    cx: &Context,
    pending: &PendingDeviceAuthorization,
) -> Result<Secret<String>, DeviceVerificationError> {
    let store = cx
        .requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))?;
    let a = &pending.auth;
    let payload = Payload {
        user_code: pending.user_code.to_hex(),
        user: a.user().as_str().to_owned(),
        auth_time: a.auth_time().as_secs(),
        acr: a.acr().map(str::to_owned),
        amr: a.amr().to_vec(),
        sid: a.session_id().map(|s| s.as_str().to_owned()),
    };
    let payload =
        serde_json::to_string(&payload).map_err(|_| Error::Internal(InternalFault::Encoding))?;
    let minted = mint(&*cx.random).map_err(Error::Random)?;
    let until = cx
        .clock
        .now()
        .plus(cx.config.authorization_request_lifetime)
        .min(pending.expires_at);
    store
        .insert_request(SuspendedRequest {
            hash: handle_hash(minted.value.expose_secret()),
            payload,
            expires_at: until,
        })
        .await?;
    Ok(minted.value)
}

/// Takes a confirmation handle back (once) for `user`.
pub(crate) async fn resume(
    cx: &Context,
    token: &str,
    user: &Authentication,
) -> Result<PendingDeviceAuthorization, DeviceVerificationError> {
    let requests = cx
        .requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))?;
    let refused = |why: &'static str| {
        tracing::debug!(reason = why, "device confirmation refused");
        DeviceVerificationError::ConfirmationRefused
    };
    if token.len() != TOKEN_LEN {
        return Err(refused("malformed"));
    }
    let record = requests
        .take_request(&handle_hash(token))
        .await?
        .ok_or_else(|| refused("unknown or already used"))?;
    let now = cx.clock.now();
    if record.expires_at <= now {
        return Err(refused("expired"));
    }
    let p: Payload = serde_json::from_str(&record.payload)
        .map_err(|_| Error::Internal(InternalFault::InvalidStoredValue))?;
    if p.user != user.user().as_str() {
        return Err(refused("bound to another user"));
    }
    let invalid = || Error::Internal(InternalFault::InvalidStoredValue);
    let user_code = TokenHash::from_hex(&p.user_code).ok_or_else(invalid)?;
    let mut auth =
        Authentication::new(user.user().clone(), UnixTime::from_secs(p.auth_time)).with_amr(p.amr);
    if let Some(acr) = p.acr {
        auth = auth.with_acr(acr);
    }
    if let Some(sid) = p.sid {
        auth = auth.with_session_id(SessionId::parse(&sid).ok_or_else(invalid)?);
    }
    let device = cx
        .devices()?
        .find_user_code(&user_code)
        .await?
        .filter(|r| decidable(r, now))
        .ok_or(DeviceVerificationError::InvalidUserCode)?;
    let client = client_of(cx, &device).await?;
    Ok(PendingDeviceAuthorization {
        auth,
        client,
        scope: device.scope,
        user_code,
        expires_at: device.expires_at,
    })
}

/// The user approved: records consent (as the consent step does) and
/// approves the device, which gets its tokens at its next poll.
pub(crate) async fn approve(
    cx: &Context,
    pending: PendingDeviceAuthorization,
) -> Result<(), DeviceVerificationError> {
    let store = cx.devices()?;
    let p = pending;
    let now = cx.clock.now();
    let openid = p
        .scope
        .contains("openid")
        .then(|| OpenIdGrant::from_authentication(&p.auth));
    let decision = DeviceDecision::Approve {
        subject: p.auth.user().clone(),
        openid,
    };
    // Checked first, so that a device decided meanwhile records nothing.
    if !store
        .find_user_code(&p.user_code)
        .await?
        .is_some_and(|r| decidable(&r, now))
    {
        return Err(DeviceVerificationError::InvalidUserCode);
    }
    if !p.client.skips_consent() {
        if let Some(consents) = &cx.consents {
            consents
                .grant_consent(Consent {
                    user: p.auth.user().clone(),
                    client_id: p.client.client_id().clone(),
                    scope: p.scope.clone(),
                    granted_at: now,
                })
                .await?;
            cx.emit(|| Event::ConsentGranted {
                user: p.auth.user(),
                client_id: p.client.client_id(),
                scope: &p.scope,
            });
        }
    }
    if !store.decide_device(&p.user_code, decision, now).await? {
        return Err(DeviceVerificationError::InvalidUserCode);
    }
    tracing::info!(client_id = %p.client.client_id(), "device authorization approved");
    Ok(())
}

/// The user denied: the device's next poll is `access_denied`.
pub(crate) async fn deny(
    cx: &Context,
    pending: PendingDeviceAuthorization,
) -> Result<(), DeviceVerificationError> {
    let decided = cx
        .devices()?
        .decide_device(&pending.user_code, DeviceDecision::Deny, cx.clock.now())
        .await?;
    if decided {
        Ok(())
    } else {
        Err(DeviceVerificationError::InvalidUserCode)
    }
}
