//! The authorization endpoint (RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3,
//! RFC 9207): the core decides, the host renders.
//!
//! [`AuthorizationServer::authorize`](crate::AuthorizationServer::authorize) validates the request and answers
//! with an [`AuthorizeStep`]: an error page (never a redirect, AZ-03), a
//! redirect to the client (an error, AZ-04, or a code), "log the user in", or
//! "ask for consent". A [`PendingAuthorization`] is approved or denied once.
//!
//! Between the host's pages the request is suspended: `suspend_login` or
//! `suspend_consent` stores the validated request under the hash of a random
//! 256-bit handle (the resume token) in the [`AuthorizationRequestStore`],
//! and `resume` takes it back, once, before it expires. The browser carries
//! only the handle, so a POSTed request survives the login and consent pages
//! as well as a GET one, and nothing the browser sends can change it.

use std::sync::Arc;

use crate::client::Client;
use crate::client::ClientId;
use crate::context::Context;
use crate::error::{Cause, Error, InternalFault, RequestFault};
use crate::events::Event;
use crate::grant_type::GrantType;
use crate::grants::issue::requested_scope;
use crate::http::{Method, Request, Response, form};
use crate::observe::{endpoint_span, in_span, record_cause, record_client};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::stores::{AuthorizationRequestStore, CodeRecord, Consent, SuspendedRequest};
use crate::tokens::opaque::{TOKEN_LEN, mint};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;
use serde::{Deserialize, Serialize};

const PARAMS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// What the host does next with an authorization request.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// Show this error page to the user; never redirect (AZ-03). The
    /// response is a minimal HTML page; [`Response::error`] gives the code
    /// for hosts that render their own.
    Invalid(Response),
    /// Send this redirect to the user agent: a code, or an error for the
    /// client (AZ-04).
    Redirect(Response),
    /// No user is logged in: show the login page, carrying the handle from
    /// [`AuthorizationServer::suspend_login`](crate::AuthorizationServer::suspend_login),
    /// then call [`AuthorizationServer::resume`](crate::AuthorizationServer::resume)
    /// with it and the user (or call `authorize` again with the same request
    /// and the user). Nothing can be approved from here, so consent cannot
    /// be skipped by mistake.
    Login(LoginRequired),
    /// Ask the user for consent to [`PendingAuthorization::scope`], then
    /// call [`AuthorizationServer::approve`](crate::AuthorizationServer::approve)
    /// or [`AuthorizationServer::deny`](crate::AuthorizationServer::deny). A
    /// consent page in its own request carries the handle from
    /// [`AuthorizationServer::suspend_consent`](crate::AuthorizationServer::suspend_consent)
    /// and gets this step back from `resume`.
    Consent(PendingAuthorization),
}

/// The validated parts of an authorization request: what a code is issued
/// for, and what a suspended request stores.
#[derive(Debug)]
struct Validated {
    client: Arc<Client>,
    /// Where to send the user back (the requested URI, or the one
    /// registered URI when the request named none).
    redirect_to: RedirectUri,
    /// The `redirect_uri` parameter as sent, bound to the code (AC-03).
    redirect_param: Option<RedirectUri>,
    scope: ScopeSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
}

impl Validated {
    fn redirect_error(&self, cx: &Context, error: &Error) -> Response {
        redirect_error(cx, &self.redirect_to, self.state.as_deref(), error)
    }
}

/// A valid authorization request that needs a logged-in user first.
#[derive(Debug)]
pub struct LoginRequired {
    request: Validated,
}

impl LoginRequired {
    /// The client asking.
    pub fn client(&self) -> &Client {
        &self.request.client
    }

    /// The scope asked for.
    pub fn scope(&self) -> &ScopeSet {
        &self.request.scope
    }

    /// Stores the request and returns its resume token.
    pub(crate) async fn suspend(&self, cx: &Context) -> Result<Secret<String>, Response> {
        suspend(cx, &self.request, None).await
    }
}

/// A valid authorization request waiting for the user's consent. Used once:
/// `AuthorizationServer::approve` and `deny` take it by value, and the code is issued to the user
/// that was passed to `authorize` or `resume`.
#[derive(Debug)]
pub struct PendingAuthorization {
    user: UserId,
    request: Validated,
    previously_granted: ScopeSet,
}

impl PendingAuthorization {
    /// The client asking.
    pub fn client(&self) -> &Client {
        &self.request.client
    }

    /// The scope asked for (and granted on approval).
    pub fn scope(&self) -> &ScopeSet {
        &self.request.scope
    }

    /// The scopes asked for that the user has not granted this client before.
    pub fn new_scopes(&self) -> ScopeSet {
        self.request.scope.difference(&self.previously_granted)
    }

    /// The `state` the client sent, returned unchanged (AZ-05).
    pub fn state(&self) -> Option<&str> {
        self.request.state.as_deref()
    }

    /// The user who is asked.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// Where the browser is sent after the decision: the requested redirect
    /// URI, or the client's one registered URI when the request named none.
    /// For the consent page to tell the user (the origin, say).
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.request.redirect_to
    }

    /// Stores the request, bound to the user, and returns its resume token.
    pub(crate) async fn suspend(&self, cx: &Context) -> Result<Secret<String>, Response> {
        suspend(cx, &self.request, Some(&self.user)).await
    }

    /// The user approved: records consent (AZ-08) and redirects with a code.
    pub(crate) async fn approve(self, cx: &Context) -> Response {
        if !self.request.client.skips_consent() {
            if let Some(consents) = &cx.consents {
                let consent = Consent {
                    user: self.user.clone(),
                    client_id: self.request.client.client_id().clone(),
                    scope: self.request.scope.clone(),
                    granted_at: cx.clock.now(),
                };
                if let Err(e) = consents.grant_consent(consent).await {
                    return self.request.redirect_error(cx, &Error::Store(e));
                }
                cx.emit(|| Event::ConsentGranted {
                    user: &self.user,
                    client_id: self.request.client.client_id(),
                    scope: &self.request.scope,
                });
            }
        }
        self.issue_code(cx).await
    }

    /// The user refused: `access_denied` to the client (AZ-07).
    pub(crate) fn deny(self, cx: &Context) -> Response {
        self.request.redirect_error(cx, &Error::AccessDenied)
    }

    async fn issue_code(self, cx: &Context) -> Response {
        let r = &self.request;
        let minted = match mint(&*cx.random) {
            Ok(m) => m,
            Err(e) => return r.redirect_error(cx, &Error::Random(e)),
        };
        let now = cx.clock.now();
        let record = CodeRecord {
            hash: minted.hash,
            grant: GrantId::derive(&minted.hash),
            client_id: r.client.client_id().clone(),
            subject: self.user.clone(),
            scope: r.scope.clone(),
            redirect_uri: r.redirect_param.clone(),
            challenge: r.challenge.clone(),
            issued_at: now,
            expires_at: now.plus(cx.config.code_lifetime),
            used: false,
        };
        if let Err(e) = cx.tokens.insert_code(record).await {
            return r.redirect_error(cx, &Error::Store(e));
        }
        redirect(
            cx,
            &r.redirect_to,
            &[("code", minted.value.expose_secret())],
            r.state.as_deref(),
            None,
        )
    }
}

/// Builds the redirect: the registered URI keeps its own query and gains
/// ours, always with `iss` (RFC 9207, AZ-05).
fn redirect(
    cx: &Context,
    to: &RedirectUri,
    params: &[(&str, &str)],
    state: Option<&str>,
    cause: Option<Cause>,
) -> Response {
    let Ok(mut url) = url::Url::parse(to.as_str()) else {
        return Response::error_page(&Error::Internal(InternalFault::InvalidStoredValue));
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &cx.config.issuer);
    }
    Response::redirect(url.into(), cause)
}

fn redirect_error(cx: &Context, to: &RedirectUri, state: Option<&str>, error: &Error) -> Response {
    crate::observe::log_refusal("authorize", error);
    redirect(
        cx,
        to,
        &[
            ("error", error.code().as_str()),
            ("error_description", error.description()),
        ],
        state,
        Some(error.cause()),
    )
}

fn invalid(error: &Error) -> AuthorizeStep {
    crate::observe::log_refusal("authorize", error);
    AuthorizeStep::Invalid(Response::error_page(error))
}

pub(crate) async fn handle(
    cx: &Context,
    req: &Request<'_>,
    user: Option<&UserId>,
) -> AuthorizeStep {
    let span = endpoint_span("authorize");
    let step = in_span!(span, validate(cx, req, user));
    let cause = match &step {
        AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => r.cause(),
        AuthorizeStep::Login(_) | AuthorizeStep::Consent(_) => None,
    };
    record_cause(&span, cause);
    step
}

async fn validate(cx: &Context, req: &Request<'_>, user: Option<&UserId>) -> AuthorizeStep {
    let input: &[u8] = match req.method() {
        // HEAD is refused: it must not mint a code as a side effect.
        Method::Get => {
            // Held to the body's limit, so the work is bounded whatever the
            // HTTP server in front allows.
            let query = req.query_str().unwrap_or_default();
            if query.len() > cx.config.max_body_size {
                return invalid(&Error::InvalidRequest(RequestFault::QueryTooLong));
            }
            query.as_bytes()
        }
        // RFC 6749 §3.1: POST with a form body is allowed too.
        Method::Post => {
            if req.body_bytes().len() > cx.config.max_body_size {
                return invalid(&Error::InvalidRequest(RequestFault::BodyTooLarge));
            }
            req.body_bytes()
        }
        Method::Head | Method::Other => {
            return invalid(&Error::InvalidRequest(RequestFault::MethodNotAllowed));
        }
    };
    let (values, fault) = form::parse_lenient(input, &PARAMS);
    let [
        response_type,
        client_id,
        redirect_uri,
        scope,
        state,
        challenge,
        challenge_method,
    ] = values;
    // Until the client and redirect URI are established, every error is an
    // error page (AZ-03); a duplicated client_id or redirect_uri is one too.
    if let Some(
        e @ Error::InvalidRequest(RequestFault::DuplicateParameter("client_id" | "redirect_uri")),
    ) = &fault
    {
        return invalid(e);
    }
    let Some(client_id) = client_id.as_deref().and_then(ClientId::parse) else {
        return invalid(&Error::missing("client_id"));
    };
    record_client(&client_id);
    let client = match cx.clients.client(&client_id).await {
        Ok(Some(c)) if c.is_enabled() => c,
        // CA-07: a disabled client is treated as unknown.
        Ok(_) => return invalid(&Error::invalid_param("client_id")),
        Err(e) => return invalid(&Error::Store(e)),
    };
    let (redirect_to, redirect_param) = match redirect_uri.as_deref() {
        Some(requested) => {
            let registered = client.redirect_uris().iter().any(|r| r.matches(requested));
            match RedirectUri::parse(requested) {
                Some(uri) if registered => (uri.clone(), Some(uri)),
                _ => return invalid(&Error::invalid_param("redirect_uri")),
            }
        }
        // AZ-02: with exactly one registered URI the parameter may be omitted.
        None => match client.redirect_uris() {
            [only] => (only.clone(), None),
            _ => return invalid(&Error::missing("redirect_uri")),
        },
    };
    let state = state.map(|s| s.into_owned());
    let fail =
        |e: Error| AuthorizeStep::Redirect(redirect_error(cx, &redirect_to, state.as_deref(), &e));
    if let Some(e) = fault {
        return fail(e);
    }
    match response_type.as_deref() {
        Some("code") => {}
        Some(_) => return fail(Error::UnsupportedResponseType),
        None => return fail(Error::missing("response_type")),
    }
    if !cx.config.offers(GrantType::AuthorizationCode) {
        return fail(Error::UnsupportedResponseType);
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return fail(Error::UnauthorizedClient);
    }
    let scope = match requested_scope(scope.as_deref(), client.scope(), client.default_scope()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let challenge = match pkce(
        cx,
        &client,
        challenge.as_deref(),
        challenge_method.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let request = Validated {
        client,
        redirect_to,
        redirect_param,
        scope,
        state,
        challenge,
    };
    proceed(cx, request, user).await
}

/// The consent the user has given this client so far (empty without a
/// consent store, or for a client that skips consent).
async fn granted(cx: &Context, user: &UserId, client: &Client) -> Result<ScopeSet, Error> {
    match &cx.consents {
        Some(consents) if !client.skips_consent() => {
            match consents.consent(user, client.client_id()).await {
                Ok(found) => Ok(found.map(|c| c.scope).unwrap_or_default()),
                Err(e) => Err(Error::Store(e)),
            }
        }
        _ => Ok(ScopeSet::empty()),
    }
}

/// A validated request meets the user (if any): log in, ask, or issue.
async fn proceed(cx: &Context, request: Validated, user: Option<&UserId>) -> AuthorizeStep {
    let Some(user) = user else {
        return AuthorizeStep::Login(LoginRequired { request });
    };
    let previously_granted = match granted(cx, user, &request.client).await {
        Ok(g) => g,
        Err(e) => return AuthorizeStep::Redirect(request.redirect_error(cx, &e)),
    };
    let pending = PendingAuthorization {
        user: user.clone(),
        request,
        previously_granted,
    };
    // AZ-08: skip_consent clients and consent already covering the request
    // go straight to a code; anything new asks again.
    let r = &pending.request;
    if r.client.skips_consent() || r.scope.is_subset_of(&pending.previously_granted) {
        return AuthorizeStep::Redirect(pending.issue_code(cx).await);
    }
    AuthorizeStep::Consent(pending)
}

/// A suspended request as the store keeps it (`SuspendedRequest::payload`,
/// JSON): the validated parameters and, at the consent stage, the user. No
/// secret: a PKCE challenge is a hash, and the handle itself is not in it.
#[derive(Serialize, Deserialize)]
struct Payload {
    client_id: String,
    redirect_uri: String,
    /// Whether the request carried `redirect_uri` (then it is bound to the
    /// code, AC-03).
    redirect_uri_sent: bool,
    scope: String,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Set once the user logged in: the handle then resumes only for them.
    user: Option<String>,
}

fn requests(cx: &Context) -> Result<&dyn AuthorizationRequestStore, Error> {
    cx.requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))
}

/// Stores `request` (bound to `user` at the consent stage) under the hash
/// of a fresh handle, and returns the handle.
async fn suspend(
    cx: &Context,
    request: &Validated,
    user: Option<&UserId>,
) -> Result<Secret<String>, Response> {
    let fail = |e: Error| request.redirect_error(cx, &e);
    let store = requests(cx).map_err(fail)?;
    let payload = Payload {
        client_id: request.client.client_id().as_str().to_owned(),
        redirect_uri: request.redirect_to.as_str().to_owned(),
        redirect_uri_sent: request.redirect_param.is_some(),
        scope: request.scope.to_string(),
        state: request.state.clone(),
        code_challenge: request.challenge.as_ref().map(|c| c.as_str().to_owned()),
        code_challenge_method: request
            .challenge
            .as_ref()
            .map(|c| c.method().as_str().to_owned()),
        user: user.map(|u| u.as_str().to_owned()),
    };
    let payload = serde_json::to_string(&payload)
        .map_err(|_| fail(Error::Internal(InternalFault::Encoding)))?;
    let minted = mint(&*cx.random).map_err(|e| fail(Error::Random(e)))?;
    let record = SuspendedRequest {
        hash: minted.hash,
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

/// Why a resume token was refused: for the log only; the user sees one
/// page for all of them.
fn refused(why: &'static str) -> AuthorizeStep {
    tracing::debug!(reason = why, "resume token refused");
    invalid(&Error::InvalidRequest(RequestFault::ResumeRefused))
}

/// Takes back a suspended request (once) and continues it for `user`, in
/// the authorization endpoint's span.
pub(crate) async fn resume(cx: &Context, token: &str, user: Option<&UserId>) -> AuthorizeStep {
    let span = endpoint_span("authorize");
    let step = in_span!(span, take_back(cx, token, user));
    let cause = match &step {
        AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => r.cause(),
        AuthorizeStep::Login(_) | AuthorizeStep::Consent(_) => None,
    };
    record_cause(&span, cause);
    step
}

async fn take_back(cx: &Context, token: &str, user: Option<&UserId>) -> AuthorizeStep {
    let store = match requests(cx) {
        Ok(s) => s,
        Err(e) => return invalid(&e),
    };
    // Every handle we mint has this length; anything else is not one.
    if token.len() != TOKEN_LEN {
        return refused("malformed");
    }
    let record = match store.take_request(&TokenHash::of(token)).await {
        Ok(Some(r)) => r,
        Ok(None) => return refused("unknown or already used"),
        Err(e) => return invalid(&Error::Store(e)),
    };
    if record.expires_at <= cx.clock.now() {
        return refused("expired");
    }
    let Ok(p) = serde_json::from_str::<Payload>(&record.payload) else {
        return invalid(&Error::Internal(InternalFault::InvalidStoredValue));
    };
    let bound = match p.user.as_deref().map(UserId::parse) {
        None => None,
        Some(Some(u)) => Some(u),
        Some(None) => {
            return invalid(&Error::Internal(InternalFault::InvalidStoredValue));
        }
    };
    // The client may have been disabled, or lost the redirect URI, scope
    // or grant since: check again what `handle` checked.
    let Some(client_id) = ClientId::parse(&p.client_id) else {
        return invalid(&Error::Internal(InternalFault::InvalidStoredValue));
    };
    record_client(&client_id);
    let client = match cx.clients.client(&client_id).await {
        Ok(Some(c)) if c.is_enabled() => c,
        Ok(_) => return invalid(&Error::invalid_param("client_id")),
        Err(e) => return invalid(&Error::Store(e)),
    };
    let redirect_to = match RedirectUri::parse(&p.redirect_uri) {
        Some(uri)
            if client
                .redirect_uris()
                .iter()
                .any(|r| r.matches(uri.as_str())) =>
        {
            uri
        }
        _ => return invalid(&Error::invalid_param("redirect_uri")),
    };
    let fail = |e: Error| {
        AuthorizeStep::Redirect(redirect_error(cx, &redirect_to, p.state.as_deref(), &e))
    };
    if !cx.config.offers(GrantType::AuthorizationCode) {
        return fail(Error::UnsupportedResponseType);
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return fail(Error::UnauthorizedClient);
    }
    let scope = match ScopeSet::parse(&p.scope) {
        Some(s) if s.is_subset_of(client.scope()) => s,
        _ => return fail(Error::InvalidScope),
    };
    // The PKCE policy of now applies, as to the client and scope: a `plain`
    // challenge suspended before the server or client stopped allowing it
    // is refused.
    let challenge = match pkce(
        cx,
        &client,
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let request = Validated {
        client,
        redirect_param: p.redirect_uri_sent.then(|| redirect_to.clone()),
        redirect_to,
        scope,
        state: p.state,
        challenge,
    };
    match (bound, user) {
        // The consent stage: only the user who logged in may decide, and
        // the decision is theirs even if consent was given meanwhile.
        (Some(bound), Some(user)) if &bound == user => {
            let previously_granted = match granted(cx, user, &request.client).await {
                Ok(g) => g,
                Err(e) => return AuthorizeStep::Redirect(request.redirect_error(cx, &e)),
            };
            AuthorizeStep::Consent(PendingAuthorization {
                user: bound,
                request,
                previously_granted,
            })
        }
        (Some(_), _) => refused("bound to another user"),
        // The login stage: continue as `handle` would with this user.
        (None, user) => proceed(cx, request, user).await,
    }
}

/// The PKCE policy (PK-01, PK-02): S256 by default; `plain` only when both
/// the server and the client allow it; a challenge is required from public
/// clients, and from confidential ones unless configured otherwise.
fn pkce(
    cx: &Context,
    client: &Client,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<CodeChallenge>, Error> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err(Error::missing("code_challenge"));
        }
        let required = !client.is_confidential() || cx.config.require_pkce_for_confidential;
        return if required {
            Err(Error::missing("code_challenge"))
        } else {
            Ok(None)
        };
    };
    // RFC 7636 §4.3: an absent method means `plain`.
    let method = match method {
        None => ChallengeMethod::Plain,
        Some(m) => {
            ChallengeMethod::parse(m).ok_or(Error::invalid_param("code_challenge_method"))?
        }
    };
    if method == ChallengeMethod::Plain
        && !(client.allows_plain_pkce() && cx.config.dangerous_allow_plain_pkce)
    {
        return Err(Error::invalid_param("code_challenge_method"));
    }
    CodeChallenge::parse(method, challenge)
        .map(Some)
        .ok_or(Error::invalid_param("code_challenge"))
}
