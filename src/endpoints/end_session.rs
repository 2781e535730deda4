//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0; LO-01)
//! and Back-Channel Logout (Back-Channel Logout 1.0; LO-02): the core
//! decides, the host renders and delivers.
//!
//! The host mounts the endpoint at `Config::paths.end_session` (GET and
//! POST), as it mounts the authorization endpoint, since it needs the
//! host's session and pages.
//! [`AuthorizationServer::end_session`](crate::AuthorizationServer::end_session)
//! parses `id_token_hint`, `logout_hint`, `client_id`,
//! `post_logout_redirect_uri`, `state` and `ui_locales` and answers an
//! [`EndSessionStep`]:
//!
//! - an error page, never a redirect, for a malformed, foreign or altered
//!   `id_token_hint`, a `client_id` that is not among the hint's audiences
//!   or not a registered client, or a repeated parameter;
//! - otherwise a [`LogoutRequest`]: the client (from the hint's `aud`, or
//!   `client_id`), the post-logout redirect only when
//!   `post_logout_redirect_uri` is, character for character, one the client
//!   registered (else none at all, RP-Initiated Logout 1.0 §3: a query
//!   added to a registered URI is no match), `state` for that redirect,
//!   and whether the user must be asked to confirm: always without a valid
//!   hint, and when the hint names another user (or session) than the
//!   host's session.
//!
//! A confirmation page carries the request as a resume handle
//! ([`AuthorizationServer::suspend_logout`](crate::AuthorizationServer::suspend_logout)):
//! 256 random bits, single use, expiring with
//! `Config::authorization_request_lifetime`, kept in the
//! [`AuthorizationRequestStore`] under a hash of its own domain and with a
//! payload of its own shape, so that a logout handle never resumes an
//! authorization request and an authorization handle never resumes a
//! logout. It keeps of a verified hint only its facts and the key that
//! signed it, never the token (which may carry the user's claims).
//! Resuming validates the parameters kept again: the key that signed the
//! hint must still be published (else the hint is dropped, with the
//! client it alone named). After the user confirms,
//! [`AuthorizationServer::finish_logout`](crate::AuthorizationServer::finish_logout)
//! revokes the session's tokens (its access tokens, and its grants without
//! `offline_access` whole: Back-Channel Logout 1.0 §2.7) and gives the
//! redirect (with `state`) and the Logout Tokens for the clients that took
//! part in the session: those the token store finds with a code or token
//! of the session (read before the revocation), and any the host names. If the user cancels, the host drops the
//! request and sends nobody anywhere: `state` coming back to the client
//! says "the logout happened", which would then be false.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::context::Context;
use crate::error::{Error, InternalFault, RequestFault, StoreError};
use crate::events::Event;
use crate::http::{Request, Response, form};
use crate::keys::Algorithm;
use crate::observe::{endpoint_span, in_span, record_cause, record_client};
use crate::oidc::id_token::{CorruptHint, KeptHint};
use crate::oidc::logout_token::{self, LogoutSubject, LogoutTokenClaims};
use crate::oidc::{
    Authentication, HintError, LanguageTag, LoginHint, MAX_LOCALES, VerifiedHint, pairwise_subject,
};
use crate::redirect_uri::RedirectUri;
use crate::secret::Secret;
use crate::stores::{AuthorizationRequestStore, SuspendedRequest};
use crate::tokens::TokenHash;
use crate::tokens::opaque::{TOKEN_LEN, mint};
use crate::web_url::WebUrl;

const PARAMS: [&str; 6] = [
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

/// What a logout handle is hashed with before the store sees it, so that
/// the hash of a logout handle is never the hash of an authorization one.
const HANDLE_DOMAIN: &str = "portcullis end_session ";

/// What the host does next with an end-session request.
#[derive(Debug)]
pub enum EndSessionStep {
    /// Show this error page; never redirect. The response is a minimal HTML
    /// page; [`Response::error`] and [`Response::cause`] give the reason to
    /// hosts that render their own.
    Invalid(Response),
    /// A valid logout request: ask the user to confirm when
    /// [`LogoutRequest::needs_confirmation`] says so (the host may ask
    /// anyway), carrying the handle of
    /// [`AuthorizationServer::suspend_logout`](crate::AuthorizationServer::suspend_logout);
    /// then end the host's session and call
    /// [`AuthorizationServer::finish_logout`](crate::AuthorizationServer::finish_logout).
    Logout(LogoutRequest),
}

/// A validated RP-Initiated Logout request. `Debug` shows the client, the
/// redirect and the verified hint (itself redacted), and only whether
/// `state` and `logout_hint` were sent: `state` is the client's own value,
/// which may carry its CSRF secret, and `logout_hint` names an account
/// (RB-03).
pub struct LogoutRequest {
    client: Option<Arc<Client>>,
    /// The `client_id` parameter as sent: what a suspended request keeps,
    /// to validate again on resuming (not the client the hint named).
    sent_client_id: Option<ClientId>,
    redirect: Option<RedirectUri>,
    state: Option<String>,
    hint: Option<VerifiedHint>,
    logout_hint: Option<LoginHint>,
    ui_locales: Vec<LanguageTag>,
    confirm: bool,
}

impl std::fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("client", &self.client.as_ref().map(|c| c.client_id()))
            .field("post_logout_redirect_uri", &self.redirect)
            .field("state_sent", &self.state.is_some())
            .field("id_token_hint", &self.hint)
            .field("logout_hint_sent", &self.logout_hint.is_some())
            .field("ui_locales", &self.ui_locales)
            .field("needs_confirmation", &self.confirm)
            .finish()
    }
}

impl LogoutRequest {
    /// The client the logout comes from: the `aud` of `id_token_hint`, or
    /// `client_id`. `None` when neither named one.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_deref()
    }

    /// Where the browser is sent after the logout: the
    /// `post_logout_redirect_uri` sent, when it is exactly one the client
    /// registered; else `None` and the host shows its own "logged out"
    /// page (RP-Initiated Logout 1.0 §3).
    pub fn post_logout_redirect_uri(&self) -> Option<&RedirectUri> {
        self.redirect.as_ref()
    }

    /// `state`, returned with the redirect (and only with it).
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The verified `id_token_hint`, if one was sent.
    pub fn id_token_hint(&self) -> Option<&VerifiedHint> {
        self.hint.as_ref()
    }

    /// `logout_hint`, as sent (the same rules as `login_hint`): which
    /// account the client means, for a host with several signed in.
    pub fn logout_hint(&self) -> Option<&LoginHint> {
        self.logout_hint.as_ref()
    }

    /// `ui_locales`: the well-formed tags, in the client's order, for the
    /// confirmation page.
    pub fn ui_locales(&self) -> &[LanguageTag] {
        &self.ui_locales
    }

    /// Whether the user must confirm the logout: there is no valid
    /// `id_token_hint`, or it names another subject (as the client sees the
    /// session's user, [`pairwise_subject`]) or another session than the
    /// host's (LO-01). Without a session and with a valid hint, there is
    /// nothing to ask.
    pub fn needs_confirmation(&self) -> bool {
        self.confirm
    }
}

/// A Logout Token for one client, to POST to its `backchannel_logout_uri`
/// as the form body [`BackchannelLogout::form_body`] gives
/// (`Content-Type: application/x-www-form-urlencoded`; Back-Channel Logout
/// 1.0 §2.5). The client answers 200 (or 204); the core does no network
/// I/O, so the host delivers it, off the user's way and with a short
/// timeout.
#[derive(Debug)]
pub struct BackchannelLogout {
    client_id: ClientId,
    uri: WebUrl,
    token: Secret<String>,
}

impl BackchannelLogout {
    /// The client it is for.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Where to POST it: the client's `backchannel_logout_uri`.
    pub fn uri(&self) -> &WebUrl {
        &self.uri
    }

    /// The Logout Token (a JWT, `typ` `logout+jwt`). Redacted in `Debug`:
    /// whoever holds it can end the user's session at the client.
    pub fn token(&self) -> &Secret<String> {
        &self.token
    }

    /// The request body: `logout_token=<jwt>`.
    pub fn form_body(&self) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", self.token.expose_secret())
            .finish()
            .into_bytes()
    }
}

/// What ending a session gives the host: the redirect to send the browser
/// (`None`: show a "you are logged out" page), the Logout Tokens to
/// deliver, and how many of the session's codes and tokens were revoked.
#[non_exhaustive]
#[derive(Debug)]
pub struct LoggedOut {
    /// A `302` to the registered post-logout URI with `state`, if any.
    pub redirect: Option<Response>,
    /// One Logout Token per client of the session with a
    /// `backchannel_logout_uri` (when `Config::backchannel_logout` is on):
    /// the clients the token store found with a code or token of the
    /// session, and those the host named.
    pub backchannel: Vec<BackchannelLogout>,
    /// The codes and tokens of the session that the logout revoked
    /// ([`TokenStore::revoke_session`](crate::TokenStore::revoke_session):
    /// its access tokens, and its grants without `offline_access` whole;
    /// refresh tokens with `offline_access` outlive it). `Ok(0)` without a
    /// session or a session id. A store failure is logged and given here:
    /// the user is logged out all the same, and the host may retry with
    /// [`AuthorizationServer::revoke_session`](crate::AuthorizationServer::revoke_session).
    pub revoked: Result<u64, StoreError>,
}

fn invalid(error: &Error) -> EndSessionStep {
    crate::observe::log_refusal("end_session", error);
    EndSessionStep::Invalid(Response::error_page(error))
}

fn refused(why: &'static str) -> Response {
    tracing::debug!(reason = why, "logout handle refused");
    let e = Error::InvalidRequest(RequestFault::ResumeRefused);
    crate::observe::log_refusal("end_session", &e);
    Response::error_page(&e)
}

/// The end-session request: parsed at the edge, the hint verified, the
/// client and redirect established.
pub(crate) async fn handle(
    cx: &Context,
    req: &Request<'_>,
    session: Option<&Authentication>,
) -> EndSessionStep {
    let span = endpoint_span("end_session");
    let step = in_span!(span, validate(cx, req, session));
    let cause = match &step {
        EndSessionStep::Invalid(r) => r.cause(),
        EndSessionStep::Logout(_) => None,
    };
    record_cause(&span, cause);
    step
}

async fn validate(
    cx: &Context,
    req: &Request<'_>,
    session: Option<&Authentication>,
) -> EndSessionStep {
    // HEAD is refused: it must not act as a side effect.
    let input = match crate::endpoints::browser_params(req, &cx.config) {
        Ok(input) => input,
        Err(e) => return invalid(&e),
    };
    let [
        id_token_hint,
        logout_hint,
        client_id,
        post_logout_redirect_uri,
        state,
        ui_locales,
    ] = match form::parse(input, &PARAMS) {
        Ok(v) => v,
        Err(e) => return invalid(&e),
    };
    let hint = match id_token_hint.as_deref() {
        None => None,
        Some(token) if token.len() > crate::oidc::MAX_ID_TOKEN_HINT_LEN => {
            tracing::debug!(reason = %HintError::TooLong, "id_token_hint refused");
            return invalid(&Error::invalid_param("id_token_hint"));
        }
        Some(token) => match verify_hint(cx, token).await {
            Ok(Ok(h)) => Some(h),
            Ok(Err(why)) => {
                tracing::debug!(reason = %why, "id_token_hint refused");
                return invalid(&Error::invalid_param("id_token_hint"));
            }
            Err(e) => return invalid(&e),
        },
    };
    let client_id = match client_id.as_deref().map(ClientId::parse) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => return invalid(&Error::invalid_param("client_id")),
    };
    // RP-Initiated Logout 1.0 §2: with both, the client must be the one the
    // ID Token was issued to.
    if let (Some(h), Some(id)) = (&hint, &client_id) {
        if !h.is_for(id) {
            return invalid(&Error::invalid_param("client_id"));
        }
    }
    let client = match (&client_id, &hint) {
        // Named by the client: it must be one of ours.
        (Some(id), _) => match cx.clients.client(id).await {
            Ok(Some(c)) if c.is_enabled() => Some(c),
            Ok(_) => return invalid(&Error::invalid_param("client_id")),
            Err(e) => return invalid(&Error::Store(e)),
        },
        // Named by the hint alone: one audience names the client; a client
        // deleted or disabled since still lets the user log out, but
        // without a redirect to it.
        (None, Some(h)) => match h.audiences() {
            [aud] => match ClientId::parse(aud) {
                Some(id) => match cx.clients.client(&id).await {
                    Ok(Some(c)) if c.is_enabled() => Some(c),
                    Ok(_) => None,
                    Err(e) => return invalid(&Error::Store(e)),
                },
                None => None,
            },
            _ => None,
        },
        (None, None) => None,
    };
    if let Some(c) = &client {
        record_client(c.client_id());
    }
    let redirect = match (&client, post_logout_redirect_uri.as_deref()) {
        (Some(c), Some(requested)) => {
            let found = registered(c, requested);
            if found.is_none() {
                tracing::debug!("post_logout_redirect_uri not registered: no redirect");
            }
            found
        }
        _ => None,
    };
    let logout_hint = logout_hint.as_deref().and_then(|h| h.parse().ok());
    let ui_locales = ui_locales
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter_map(|t| t.parse().ok())
        .take(MAX_LOCALES)
        .collect();
    let confirm = needs_confirmation(cx, client.as_deref(), hint.as_ref(), session);
    EndSessionStep::Logout(LogoutRequest {
        client,
        sent_client_id: client_id,
        redirect,
        state: state.map(|s| s.into_owned()),
        hint,
        logout_hint,
        ui_locales,
        confirm,
    })
}

/// Verifies `token` as an `id_token_hint` with the keys published now: the
/// outer `Err` is a failure to read the keys, the inner one a hint that
/// does not verify.
async fn verify_hint(cx: &Context, token: &str) -> Result<Result<VerifiedHint, HintError>, Error> {
    if token.len() > crate::oidc::MAX_ID_TOKEN_HINT_LEN {
        return Ok(Err(HintError::TooLong));
    }
    let ring = cx.key_ring().await?;
    let now = cx.clock.now();
    Ok(crate::oidc::id_token::verify_id_token_hint(
        &ring,
        token,
        &cx.config.issuer,
        now,
    ))
}

/// The registered post-logout URI that is exactly `requested`: simple string
/// comparison (Core 1.0 §3.1.2.1, as for redirect URIs), with no allowance
/// for a loopback port, an added query or a changed case
/// ([`Client::post_logout_redirect_uri`], the one rule).
fn registered(client: &Client, requested: &str) -> Option<RedirectUri> {
    client.post_logout_redirect_uri(requested).cloned()
}

/// See [`LogoutRequest::needs_confirmation`].
fn needs_confirmation(
    cx: &Context,
    client: Option<&Client>,
    hint: Option<&VerifiedHint>,
    session: Option<&Authentication>,
) -> bool {
    let Some(hint) = hint else {
        return true;
    };
    let Some(session) = session else {
        // Nobody to log out here: the client's logout completes.
        return false;
    };
    let Some(client) = client else {
        // No client to compute the session user's subject for.
        return true;
    };
    let same_user = pairwise_subject(client, session.user(), cx.config.pairwise_salt.as_ref())
        .is_ok_and(|s| s.as_str() == hint.subject());
    let same_session = match (hint.session_id(), session.session_id()) {
        (Some(a), Some(b)) => a == b.as_str(),
        _ => true,
    };
    !(same_user && same_session)
}

/// A suspended logout request as the store keeps it: one member,
/// `end_session`, which no authorization payload has (and this one has
/// none of theirs), so neither can be read as the other.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suspended {
    end_session: Stored,
}

/// What a suspended logout keeps: the parameters as sent, so that resuming
/// validates them again (issue 16: nothing verified before is taken on
/// trust, neither the hint, whose signing key must still be published
/// then, nor the client, which must still be registered and enabled).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// The `client_id` parameter, as sent (not the client the hint named).
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// The verified `id_token_hint`'s facts and signing key, not the
    /// token: an ID Token may carry the user's claims (issue 16).
    id_token_hint: Option<KeptHint>,
    logout_hint: Option<String>,
    ui_locales: Vec<String>,
    confirm: bool,
}

fn requests(cx: &Context) -> Result<&dyn AuthorizationRequestStore, Error> {
    cx.requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))
}

fn handle_hash(handle: &str) -> TokenHash {
    TokenHash::of(&format!("{HANDLE_DOMAIN}{handle}"))
}

/// Stores `request` under the hash of a fresh handle; returns the handle.
/// The `Err` is an error page to show.
pub(crate) async fn suspend(
    cx: &Context,
    request: &LogoutRequest,
) -> Result<Secret<String>, Response> {
    let fail = |e: Error| {
        crate::observe::log_refusal("end_session", &e);
        Response::error_page(&e)
    };
    let store = requests(cx).map_err(fail)?;
    let stored = Suspended {
        end_session: Stored {
            client_id: request
                .sent_client_id
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            post_logout_redirect_uri: request.redirect.as_ref().map(|u| u.as_str().to_owned()),
            state: request.state.clone(),
            id_token_hint: request.hint.as_ref().map(VerifiedHint::kept),
            logout_hint: request.logout_hint.as_ref().map(|h| h.as_str().to_owned()),
            ui_locales: request
                .ui_locales
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            confirm: request.confirm,
        },
    };
    let payload = serde_json::to_string(&stored)
        .map_err(|_| fail(Error::Internal(InternalFault::Encoding)))?;
    let minted = mint(&*cx.random).map_err(|e| fail(Error::Random(e)))?;
    let record = SuspendedRequest {
        hash: handle_hash(minted.value.expose_secret()),
        payload,
        expires_at: cx
            .clock
            .now()
            .plus(cx.config.authorization_request_lifetime),
    };
    store
        .insert_request(record)
        .await
        .map_err(|e| fail(Error::Store(e)))?;
    Ok(minted.value)
}

/// Takes a suspended logout request back, once. The client and its
/// post-logout URI are checked again: one removed meanwhile gets no
/// redirect.
pub(crate) async fn resume(cx: &Context, handle: &str) -> Result<LogoutRequest, Response> {
    let fail = |e: Error| {
        crate::observe::log_refusal("end_session", &e);
        Response::error_page(&e)
    };
    let store = requests(cx).map_err(fail)?;
    if handle.len() != TOKEN_LEN {
        return Err(refused("malformed"));
    }
    let record = match store.take_request(&handle_hash(handle)).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(refused("unknown or already used")),
        Err(e) => return Err(fail(Error::Store(e))),
    };
    if record.expires_at <= cx.clock.now() {
        return Err(refused("expired"));
    }
    let corrupt = || fail(Error::Internal(InternalFault::InvalidStoredValue));
    let Ok(Suspended { end_session: s }) = serde_json::from_str::<Suspended>(&record.payload)
    else {
        return Err(corrupt());
    };
    // The hint again, against the keys published now (RP-Initiated Logout
    // 1.0 §4: information that fails to validate must not be used): its
    // signature verified when it was kept, so its key still being
    // published stands for verifying it again. One whose key was dropped
    // meanwhile is dropped with what it alone named: the client, and so the
    // redirect. The user has confirmed the logout itself, which needs no
    // hint.
    let (hint, hint_dropped) = match &s.id_token_hint {
        None => (None, false),
        Some(kept) => {
            let ring = cx.key_ring().await.map_err(fail)?;
            match kept.restore(&ring, cx.clock.now()) {
                Ok(Ok(h)) => (Some(h), false),
                Ok(Err(why)) => {
                    tracing::info!(reason = %why, "id_token_hint's key no longer published on resuming: dropped");
                    (None, true)
                }
                Err(CorruptHint) => return Err(corrupt()),
            }
        }
    };
    let client_id = match s.client_id.as_deref() {
        None => None,
        Some(id) => Some(ClientId::parse(id).ok_or_else(corrupt)?),
    };
    if let (Some(h), Some(id)) = (&hint, &client_id) {
        // Checked when the request came; a payload where it fails was not
        // written by `suspend`.
        if !h.is_for(id) {
            return Err(corrupt());
        }
    }
    // The client as `validate` finds it, except that one deleted or
    // disabled meanwhile means no redirect rather than an error page.
    let named = client_id
        .clone()
        .or_else(|| match hint.as_ref().map(VerifiedHint::audiences) {
            Some([aud]) => ClientId::parse(aud),
            _ => None,
        });
    let client = match named {
        None => None,
        Some(id) => match cx.clients.client(&id).await {
            Ok(Some(c)) if c.is_enabled() => Some(c),
            Ok(_) => None,
            Err(e) => return Err(fail(Error::Store(e))),
        },
    };
    let redirect = match (&client, s.post_logout_redirect_uri.as_deref()) {
        (Some(c), Some(uri)) => registered(c, uri),
        _ => None,
    };
    Ok(LogoutRequest {
        client,
        sent_client_id: client_id,
        redirect,
        state: s.state,
        hint,
        logout_hint: s.logout_hint.and_then(|h| h.parse().ok()),
        ui_locales: s.ui_locales.iter().filter_map(|t| t.parse().ok()).collect(),
        confirm: s.confirm || hint_dropped,
    })
}

/// The redirect of a finished logout: the registered URI, its own query
/// kept, with `state` added when the client sent one.
pub(crate) fn redirect(request: &LogoutRequest) -> Option<Response> {
    let to = request.redirect.as_ref()?;
    let Ok(mut url) = url::Url::parse(to.as_str()) else {
        return Some(Response::error_page(&Error::Internal(
            InternalFault::InvalidStoredValue,
        )));
    };
    if let Some(state) = &request.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Some(Response::redirect(url.into(), None))
}

/// Revokes what the end of `session` ends
/// ([`TokenStore::revoke_session`](crate::TokenStore::revoke_session)):
/// nothing without a session id. A store failure is logged (and returned).
pub(crate) async fn revoke_session(
    cx: &Context,
    session: &Authentication,
) -> Result<u64, StoreError> {
    let Some(sid) = session.session_id() else {
        return Ok(0);
    };
    match cx.tokens.revoke_session(sid).await {
        Ok(n) => {
            tracing::info!(
                tokens_revoked = n,
                "the logged-out session's grants revoked"
            );
            cx.emit(|| Event::SessionEnded {
                user: session.user(),
                tokens_revoked: n,
            });
            Ok(n)
        }
        Err(e) => {
            tracing::error!(error = %e, "the logged-out session's grants could not be revoked");
            Err(e)
        }
    }
}

/// Ends the host's login session `auth` at the core: finds the clients to
/// tell (when `announce`), revokes what the session leaves behind
/// ([`revoke_session`]) and signs their Logout Tokens ([`backchannel`]).
/// The clients are read before the revocation, which removes records that
/// name them.
pub(crate) async fn end(
    cx: &Context,
    auth: &Authentication,
    host_clients: &[ClientId],
    announce: bool,
) -> (Result<u64, StoreError>, Vec<BackchannelLogout>) {
    let told = if announce {
        clients_to_tell(cx, auth, host_clients).await
    } else {
        Vec::new()
    };
    let revoked = revoke_session(cx, auth).await;
    let tokens = if announce {
        backchannel(cx, auth, &told).await
    } else {
        Vec::new()
    };
    (revoked, tokens)
}

/// The clients of `auth`'s session: the host's list (`host_clients`, in
/// its order), then the clients the token store finds with a code or
/// token of the session ([`TokenStore::session_clients`](crate::TokenStore::session_clients),
/// by id), each once. Without a session id, the host's list alone. A store
/// failure is logged, and the host's list still goes.
async fn clients_to_tell(
    cx: &Context,
    auth: &Authentication,
    host_clients: &[ClientId],
) -> Vec<ClientId> {
    let mut clients: Vec<ClientId> = Vec::with_capacity(host_clients.len());
    for id in host_clients {
        if !clients.contains(id) {
            clients.push(id.clone());
        }
    }
    let Some(sid) = auth.session_id() else {
        return clients;
    };
    match cx.tokens.session_clients(sid).await {
        Ok(mut found) => {
            found.sort_unstable();
            for id in found {
                if !clients.contains(&id) {
                    clients.push(id);
                }
            }
        }
        Err(e) => tracing::error!(
            error = %e,
            "the logged-out session's clients could not be read: only the host's are told"
        ),
    }
    clients
}

/// The Logout Tokens for the clients among `clients` (each once) that
/// registered a `backchannel_logout_uri`: `sub` as the client sees the
/// user, `sid` the session's id when it has one, signed with the client's
/// ID Token algorithm (RS256 by default). A client that requires `sid`
/// while the session has none still gets one with `sub` (which logs the
/// user out of every session there), and a warning is logged. Unknown
/// clients are skipped; a token that cannot be signed is logged and
/// skipped, so one client's trouble never keeps the others' logout back.
pub(crate) async fn backchannel(
    cx: &Context,
    auth: &Authentication,
    clients: &[ClientId],
) -> Vec<BackchannelLogout> {
    let mut out: Vec<BackchannelLogout> = Vec::new();
    let mut seen: Vec<&ClientId> = Vec::new();
    let now = cx.clock.now();
    for id in clients {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let client = match cx.clients.client(id).await {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(client_id = %id, error = %e, "no Logout Token: store failure");
                continue;
            }
        };
        let Some(uri) = client.backchannel_logout_uri() else {
            continue;
        };
        let sub = match pairwise_subject(&client, auth.user(), cx.config.pairwise_salt.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(client_id = %id, error = %e, "no Logout Token");
                continue;
            }
        };
        let subject = match auth.session_id() {
            Some(sid) => LogoutSubject::SubjectAndSession {
                sub: sub.as_str().to_owned(),
                sid: sid.as_str().to_owned(),
            },
            None => {
                if client.backchannel_logout_session_required() {
                    tracing::warn!(
                        client_id = %id,
                        "client requires sid but the session has none: Logout Token with sub only"
                    );
                }
                LogoutSubject::Subject(sub.as_str().to_owned())
            }
        };
        let alg = client
            .id_token_signed_response_alg()
            .unwrap_or(Algorithm::Rs256);
        match sign(cx, id, subject, alg, now).await {
            Ok(token) => out.push(BackchannelLogout {
                client_id: id.clone(),
                uri: uri.clone(),
                token: Secret::new(token),
            }),
            Err(e) => tracing::error!(client_id = %id, error = %e, "no Logout Token"),
        }
    }
    out
}

/// A Logout Token for `client_id` about `subject`, signed with `alg`.
pub(crate) async fn sign(
    cx: &Context,
    client_id: &ClientId,
    subject: LogoutSubject,
    alg: Algorithm,
    now: UnixTime,
) -> Result<String, Error> {
    let claims = LogoutTokenClaims::new(
        &cx.config.issuer,
        client_id.clone(),
        subject,
        now,
        &*cx.random,
    )?;
    let ring = cx.key_ring().await?;
    logout_token::sign(&ring, &claims, alg, now).map_err(Error::Signing)
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: RB-03
    // issue 16: a logout request's Debug (what a host's `{:?}` logs) never
    // carries `state` or `logout_hint`, only whether they were sent, and
    // the hint's subject and session stay hidden as VerifiedHint hides them.
    #[test]
    fn logout_request_debug_hides_state_and_logout_hint() {
        let request = LogoutRequest {
            client: None,
            sent_client_id: None,
            redirect: RedirectUri::parse("https://rp.example/bye"),
            state: Some("csrf-7f3a9c".to_owned()),
            hint: Some(VerifiedHint::from_parts(
                "alice-sub".to_owned(),
                vec!["rp".to_owned()],
                Some("sid-42".to_owned()),
                UnixTime::from_secs(1),
            )),
            logout_hint: "alice@example.com".parse().ok(),
            ui_locales: Vec::new(),
            confirm: true,
        };
        assert!(request.logout_hint().is_some() && request.state().is_some());
        let shown = format!("{request:?}");
        assert!(
            shown.contains("state_sent: true")
                && shown.contains("logout_hint_sent: true")
                && shown.contains("https://rp.example/bye"),
            "{shown}"
        );
        for hidden in ["csrf-7f3a9c", "alice@example.com", "alice-sub", "sid-42"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
    }
}
