//! The authorization endpoint (RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3,
//! RFC 9207): the core decides, the host renders.
//!
//! [`AuthorizationServer::authorize`](crate::AuthorizationServer::authorize) validates the request and answers
//! with an [`AuthorizeStep`]: an error page (never a redirect, AZ-03), a
//! redirect to the client (an error, AZ-04, or a code), "log the user in", or
//! "ask for consent". A [`PendingAuthorization`] is approved or denied once.

use std::sync::Arc;

use tracing::Instrument as _;

use crate::client::Client;
use crate::client::ClientId;
use crate::context::Context;
use crate::error::{Cause, Error, InternalFault, RequestFault};
use crate::events::Event;
use crate::grant_type::GrantType;
use crate::grants::issue::requested_scope;
use crate::http::{Method, Request, Response, form};
use crate::observe::{endpoint_span, record_cause, record_client};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::redirect_uri::RedirectUri;
use crate::scope::ScopeSet;
use crate::stores::{CodeRecord, Consent};
use crate::tokens::GrantId;
use crate::tokens::opaque::mint;
use crate::user::UserId;

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
    /// No user is logged in: show the login page, then call `authorize`
    /// again with the same request and the user. Nothing can be approved
    /// from here, so consent cannot be skipped by mistake.
    Login(LoginRequired),
    /// Ask the user for consent to [`PendingAuthorization::scope`], then
    /// call [`AuthorizationServer::approve`](crate::AuthorizationServer::approve)
    /// or [`AuthorizationServer::deny`](crate::AuthorizationServer::deny).
    Consent(PendingAuthorization),
}

/// A valid authorization request that needs a logged-in user first.
#[derive(Debug)]
pub struct LoginRequired {
    client: Arc<Client>,
    scope: ScopeSet,
}

impl LoginRequired {
    /// The client asking.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }
}

/// A valid authorization request waiting for the user's consent. Used once:
/// `AuthorizationServer::approve` and `deny` take it by value, and the code is issued to the user
/// that was passed to `authorize`.
#[derive(Debug)]
pub struct PendingAuthorization {
    user: UserId,
    client: Arc<Client>,
    /// Where to send the user back (the requested URI, or the one
    /// registered URI when the request named none).
    redirect_to: RedirectUri,
    /// The `redirect_uri` parameter as sent, bound to the code (AC-03).
    redirect_param: Option<RedirectUri>,
    scope: ScopeSet,
    previously_granted: ScopeSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
}

impl PendingAuthorization {
    /// The client asking.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for (and granted on approval).
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The scopes asked for that the user has not granted this client before.
    pub fn new_scopes(&self) -> ScopeSet {
        self.scope.difference(&self.previously_granted)
    }

    /// The `state` the client sent, returned unchanged (AZ-05).
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The user who is asked.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user approved: records consent (AZ-08) and redirects with a code.
    pub(crate) async fn approve(self, cx: &Context) -> Response {
        if !self.client.skips_consent() {
            if let Some(consents) = &cx.consents {
                let consent = Consent {
                    user: self.user.clone(),
                    client_id: self.client.client_id().clone(),
                    scope: self.scope.clone(),
                    granted_at: cx.clock.now(),
                };
                if let Err(e) = consents.grant(consent).await {
                    return self.redirect_error(cx, &Error::Store(e));
                }
                cx.emit(|| Event::ConsentGranted {
                    user: &self.user,
                    client_id: self.client.client_id(),
                    scope: &self.scope,
                });
            }
        }
        self.issue_code(cx).await
    }

    /// The user refused: `access_denied` to the client (AZ-07).
    pub(crate) fn deny(self, cx: &Context) -> Response {
        self.redirect_error(cx, &Error::AccessDenied)
    }

    async fn issue_code(self, cx: &Context) -> Response {
        let minted = match mint(&*cx.random) {
            Ok(m) => m,
            Err(e) => return self.redirect_error(cx, &Error::Random(e)),
        };
        let now = cx.clock.now();
        let record = CodeRecord {
            hash: minted.hash,
            grant: GrantId::derive(&minted.hash),
            client_id: self.client.client_id().clone(),
            subject: self.user.clone(),
            scope: self.scope.clone(),
            redirect_uri: self.redirect_param.clone(),
            challenge: self.challenge.clone(),
            issued_at: now,
            expires_at: now.plus(cx.config.code_lifetime),
            used: false,
        };
        if let Err(e) = cx.tokens.insert_code(record).await {
            return self.redirect_error(cx, &Error::Store(e));
        }
        redirect(
            cx,
            &self.redirect_to,
            &[("code", minted.value.expose_secret())],
            self.state.as_deref(),
            None,
        )
    }

    fn redirect_error(&self, cx: &Context, error: &Error) -> Response {
        redirect_error(cx, &self.redirect_to, self.state.as_deref(), error)
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
    let step = validate(cx, req, user).instrument(span.clone()).await;
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
        Method::Get => req.query_str().unwrap_or_default().as_bytes(),
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
    let client = match cx.clients.find(&client_id).await {
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
    let previously_granted = match (user, &cx.consents) {
        (Some(user), Some(consents)) if !client.skips_consent() => {
            match consents.find(user, client.client_id()).await {
                Ok(found) => found.map(|c| c.scope).unwrap_or_default(),
                Err(e) => return fail(Error::Store(e)),
            }
        }
        _ => ScopeSet::empty(),
    };
    let Some(user) = user else {
        return AuthorizeStep::Login(LoginRequired { client, scope });
    };
    let pending = PendingAuthorization {
        user: user.clone(),
        client,
        redirect_to,
        redirect_param,
        scope,
        previously_granted,
        state,
        challenge,
    };
    // AZ-08: skip_consent clients and consent already covering the request
    // go straight to a code; anything new asks again.
    if pending.client.skips_consent() || pending.scope.is_subset_of(&pending.previously_granted) {
        return AuthorizeStep::Redirect(pending.issue_code(cx).await);
    }
    AuthorizeStep::Consent(pending)
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
