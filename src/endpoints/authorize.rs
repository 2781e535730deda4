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
//!
//! When the scope holds `openid`, the OpenID Connect parameters are parsed
//! into an [`OpenIdRequest`] and their rules enforced here (OI-06, OI-07):
//! `prompt=none` never reaches a page, `prompt=login` and `max_age` send a
//! user whose authentication is older than allowed back to the login step
//! (`prompt=login` and `max_age=0` any session the request meets, and
//! accept only the login the host resumes with, told apart from that
//! session even within its second by a new session id or
//! [`LoginId`](crate::oidc::LoginId)),
//! `prompt=consent` always asks, `prompt=select_account` goes through the
//! login step once. The client's registered `default_max_age` stands in
//! for an absent `max_age`. An `id_token_hint` must be an ID Token of ours
//! (expired allowed) issued to the requesting client, else
//! `invalid_request`; one naming another user than the signed-in one sends
//! the user to the login step, or answers `login_required` with
//! `prompt=none` (OI-08). A code of such a request carries the login's
//! facts ([`OpenIdGrant`]).
//!
//! The parameters come from the request itself, from a signed request
//! object in `request` (RFC 9101, JR-01: only the object's parameters,
//! verified by `request_object::verify`), or from a pushed request named
//! by `request_uri` (RFC 9126, PA-02: only the pushed parameters, taken
//! once by `request_uri::take`); a request neither pushed nor signed is
//! refused when the server or the client requires it. Errors about
//! `request` and `request_uri` are error pages: no redirect URI is trusted
//! until they are resolved. The parameters are then validated by `check`,
//! which the pushed endpoint shares (PA-01).

use std::borrow::Cow;
use std::sync::Arc;

use crate::client::Client;
use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::{Cause, Error, Interaction, InternalFault, RequestFault};
use crate::events::Event;
use crate::grant_type::GrantType;
use crate::grants::issue::{requested_scope, resource_allowed};
use crate::http::{Request, Response, form};
use crate::observe::{endpoint_span, in_span, record_cause, record_client};
use crate::oidc::id_token::verify_id_token_hint;
use crate::oidc::{
    Authentication, OpenIdGrant, OpenIdRequest, Prompt, RawOpenId, RequestedClaim, SessionId,
    VerifiedHint, claim_scope, implied_scope, pairwise_subject,
};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::stores::{AuthorizationRequestStore, CodeRecord, Consent, SuspendedRequest};
use crate::tokens::opaque::{TOKEN_LEN, mint};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;
use serde::{Deserialize, Serialize};

pub(crate) const PARAMS: [&str; 22] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    // OpenID Connect (read only when the scope holds `openid`).
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "claims_locales",
    "display",
    "acr_values",
    "nonce",
    "claims",
    "request",
    "request_uri",
    "registration",
    // RFC 9449 §10 (DP-01): the DPoP key the code is bound to.
    "dpop_jkt",
    // RFC 8707 (RI-01): repeatable, so read apart from the others and
    // kept here as its values joined by spaces (an absolute URI has none).
    "resource",
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
    /// The user must log in ([`LoginRequired::reason`] says why: no
    /// session, a session too old for `prompt=login` or `max_age`, an
    /// `id_token_hint` naming another user, or `prompt=select_account`):
    /// show the login page, carrying the handle
    /// from [`AuthorizationServer::suspend_login`](crate::AuthorizationServer::suspend_login),
    /// then call [`AuthorizationServer::resume`](crate::AuthorizationServer::resume)
    /// with it and the user's [`Authentication`]. (A plain OAuth request may
    /// also be sent to `authorize` again; an OpenID request with
    /// `prompt=login`, `max_age` or `prompt=select_account` must be
    /// resumed: only a login passed to `resume` can be one made for it.)
    /// Nothing can be approved from
    /// here, so consent cannot be skipped by mistake. Never returned for
    /// `prompt=none` (OI-06).
    Login(LoginRequired),
    /// Ask the user for consent to [`PendingAuthorization::scope`] and to
    /// [`PendingAuthorization::claims_scope`] (the claims the request
    /// names, [`PendingAuthorization::requested_claims`]), then
    /// call [`AuthorizationServer::approve`](crate::AuthorizationServer::approve)
    /// or [`AuthorizationServer::deny`](crate::AuthorizationServer::deny). A
    /// consent page in its own request carries the handle from
    /// [`AuthorizationServer::suspend_consent`](crate::AuthorizationServer::suspend_consent)
    /// and gets this step back from `resume`. Never returned for
    /// `prompt=none` (OI-06).
    Consent(PendingAuthorization),
}

/// Why the user must log in.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginReason {
    /// No one is logged in.
    NotLoggedIn,
    /// The user is logged in, but must authenticate anew: `prompt=login`
    /// or `max_age=0`, or the authentication is older than `max_age` (or,
    /// when the request sends none, the client's registered
    /// `default_max_age`; OI-06, OI-07). The login the host then passes to
    /// `resume` satisfies them: one made at or after the second the request
    /// arrived that is not the session the request met (a later
    /// `auth_time`, another session id or another
    /// [`LoginId`](crate::oidc::LoginId)). Resumed with that session unchanged,
    /// the request asks for the login again; a session passed to
    /// `authorize`, even one of the request's own second, never satisfies
    /// `prompt=login` or `max_age=0`.
    Reauthenticate,
    /// The request's `id_token_hint` (an ID Token of ours for this client)
    /// names another user than the one signed in (OI-08): show the login
    /// page, where the user may sign in as the hinted user (the host may
    /// end or keep its current session, as it does for any new login). A
    /// login passed to `resume`, made after the request arrived (as for
    /// [`Reauthenticate`](Self::Reauthenticate)), is the user's answer and
    /// is accepted, whoever it is; the client sees that user's `sub`.
    OtherUser,
    /// `prompt=select_account`: show an account chooser (or the login
    /// page), then resume with the account chosen, which may be the one
    /// already signed in without a new login.
    SelectAccount,
}

/// The validated parts of an authorization request: what a code is issued
/// for, and what a suspended request stores.
#[derive(Debug)]
pub(crate) struct Validated {
    client: Arc<Client>,
    /// Where to send the user back (the requested URI, or the one
    /// registered URI when the request named none).
    redirect_to: RedirectUri,
    /// The `redirect_uri` parameter as sent, bound to the code (AC-03).
    redirect_param: Option<RedirectUri>,
    scope: ScopeSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    /// The OpenID Connect parameters: `Some` exactly when the scope holds
    /// `openid`.
    openid: Option<OpenIdRequest>,
    /// When the request first arrived: `prompt=login` and `max_age` accept
    /// a login made since (OI-06, OI-07).
    requested_at: UnixTime,
    /// The request's `id_token_hint`, verified as one of our ID Tokens
    /// issued to this client (OI-08).
    hint: Option<Hint>,
    /// The session the request met that the login step must replace
    /// (`prompt=login`, `max_age`, another user than the hint's): resumed
    /// with it again, it is not a new login, even within the same second.
    superseded: Option<Superseded>,
    /// The resources (RFC 8707) asked for, each allowed for the client,
    /// sorted; bound to the code (RI-01).
    resources: Vec<Resource>,
    /// The `dpop_jkt` sent, or the key of the pushed request's DPoP proof:
    /// the code is bound to it (RFC 9449 §10, DP-01).
    dpop_jkt: Option<JwkThumbprint>,
}

/// The authentication a login step was asked to replace, told apart from
/// a new login by its user, `auth_time`, session id and login id (kept as
/// its SHA-256: the host's value stays out of the request store). `Debug`
/// shows none of them.
#[derive(Clone, PartialEq, Eq)]
struct Superseded {
    user: UserId,
    auth_time: UnixTime,
    sid: Option<SessionId>,
    login: Option<TokenHash>,
}

impl Superseded {
    fn of(auth: &Authentication) -> Self {
        Self {
            user: auth.user().clone(),
            auth_time: auth.auth_time(),
            sid: auth.session_id().cloned(),
            login: auth.login_id().map(|l| TokenHash::of(l.as_str())),
        }
    }

    fn is(&self, auth: &Authentication) -> bool {
        *self == Self::of(auth)
    }
}

impl std::fmt::Debug for Superseded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Superseded(<login>)")
    }
}

/// [`Superseded`] as a suspended request stores it.
#[derive(Serialize, Deserialize)]
struct StoredLogin {
    user: String,
    auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// The SHA-256 of the login id, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<String>,
}

/// A verified `id_token_hint`. `Debug` shows none of its claims: they are
/// the user's, and the hint itself is redacted too.
struct Hint(VerifiedHint);

impl std::fmt::Debug for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hint(<verified>)")
    }
}

impl Validated {
    fn redirect_error(&self, cx: &Context, error: &Error) -> Response {
        redirect_error(cx, &self.redirect_to, self.state.as_deref(), error)
    }

    /// The scope values the `claims` request's standard claims need consent
    /// for (Core §5.4: `email` for `email_verified`), within the client's
    /// registered scope: a claim whose scope value the client may not be
    /// granted is not released, so it needs no consent (issue 16).
    fn claims_scope(&self) -> ScopeSet {
        self.openid
            .as_ref()
            .and_then(OpenIdRequest::claims)
            .map(|c| implied_scope(c).intersection(self.client.scope()))
            .unwrap_or_default()
    }

    /// What the user consents to: the scope and the claims' scope values.
    fn consent_scope(&self) -> ScopeSet {
        self.scope.union(&self.claims_scope())
    }
}

/// A valid authorization request that needs a logged-in user first.
#[derive(Debug)]
pub struct LoginRequired {
    request: Validated,
    reason: LoginReason,
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

    /// Why the user must log in: show an account chooser for
    /// [`LoginReason::SelectAccount`].
    pub fn reason(&self) -> LoginReason {
        self.reason
    }

    /// The OpenID Connect parameters (`login_hint`, `id_token_hint`,
    /// `ui_locales`, `display`, `acr_values`…), when the scope holds
    /// `openid` (OI-08).
    pub fn openid(&self) -> Option<&OpenIdRequest> {
        self.request.openid.as_ref()
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
    auth: Authentication,
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

    /// The scope values the `claims` request asks the user to consent to
    /// beyond [`scope`](Self::scope) (OpenID Connect Core §5.4, §5.5): the
    /// value of each standard claim it names, `email` for `email_verified`
    /// (see [`requested_claims`](Self::requested_claims) for the claims
    /// themselves). Show them on the consent page as you show scopes:
    /// approval records them with the scope in the remembered consent, so
    /// the next request for them does not ask again, and releases those
    /// claims for this grant; they are never added to the token's `scope`.
    /// Values the client is not registered for are left out: their claims
    /// are never released to it. Empty without a `claims` request.
    pub fn claims_scope(&self) -> ScopeSet {
        self.request.claims_scope().difference(&self.request.scope)
    }

    /// The standard claims the `claims` request names whose consent is
    /// [`claims_scope`](Self::claims_scope) (not already covered by the
    /// scope), sorted, each once: `["email_verified"]` for a request of
    /// `scope=openid` naming it. Claims outside the standard lists are not
    /// among them: the host judges those itself
    /// ([`UserClaims`](crate::oidc::UserClaims)).
    pub fn requested_claims(&self) -> Vec<&str> {
        let extra = self.claims_scope();
        let mut names: Vec<&str> = self
            .request
            .openid
            .as_ref()
            .and_then(OpenIdRequest::claims)
            .map(|c| c.userinfo().iter().chain(c.id_token()))
            .into_iter()
            .flatten()
            .map(RequestedClaim::name)
            .filter(|n| claim_scope(n).is_some_and(|s| extra.contains(s)))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The `state` the client sent, returned unchanged (AZ-05).
    pub fn state(&self) -> Option<&str> {
        self.request.state.as_deref()
    }

    /// The user who is asked.
    pub fn user(&self) -> &UserId {
        self.auth.user()
    }

    /// The user's authentication, as passed to `authorize` or `resume`
    /// (its facts go with the code of an OpenID request).
    pub fn authentication(&self) -> &Authentication {
        &self.auth
    }

    /// The OpenID Connect parameters (`ui_locales`, `display`, the `claims`
    /// asked for…), when the scope holds `openid`.
    pub fn openid(&self) -> Option<&OpenIdRequest> {
        self.request.openid.as_ref()
    }

    /// Where the browser is sent after the decision: the requested redirect
    /// URI, or the client's one registered URI when the request named none.
    /// For the consent page to tell the user (the origin, say).
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.request.redirect_to
    }

    /// The resources (RFC 8707) the client asks access to, for the consent
    /// page; empty when it named none (RI-01).
    pub fn resources(&self) -> &[Resource] {
        &self.request.resources
    }

    /// Stores the request, bound to the user and their authentication,
    /// and returns its resume token.
    pub(crate) async fn suspend(&self, cx: &Context) -> Result<Secret<String>, Response> {
        suspend(cx, &self.request, Some(&self.auth)).await
    }

    /// The user approved: records consent (AZ-08) to the scope and to the
    /// scope values of the claims requested (issue 16), and redirects with
    /// a code.
    pub(crate) async fn approve(self, cx: &Context) -> Response {
        if !self.request.client.skips_consent() {
            if let Some(consents) = &cx.consents {
                let scope = self.request.consent_scope();
                let consent = Consent {
                    user: self.auth.user().clone(),
                    client_id: self.request.client.client_id().clone(),
                    scope: scope.clone(),
                    granted_at: cx.clock.now(),
                };
                if let Err(e) = consents.grant_consent(consent).await {
                    return self.request.redirect_error(cx, &Error::Store(e));
                }
                cx.emit(|| Event::ConsentGranted {
                    user: self.auth.user(),
                    client_id: self.request.client.client_id(),
                    scope: &scope,
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
        // The login's facts and the request's nonce, claims and max_age go
        // with the code of an OpenID request (OI-02, OI-09), and so does
        // the consent to the claims' scope values: a code is issued only
        // once the consent covers them (approved, remembered, or a client
        // that skips consent), so release is a pure check (issue 16). `auth_time` is
        // then required in the ID Token when a max_age was in force (the
        // request's or the client's `default_max_age`) or the client
        // registered `require_auth_time` (Core §2, Registration §2).
        let openid = r.openid.as_ref().map(|o| {
            let auth_time_required = o.max_age().is_some()
                || r.client.default_max_age().is_some()
                || r.client.require_auth_time();
            OpenIdGrant::from_authentication(&self.auth)
                .with_nonce(o.nonce().cloned())
                .with_claims(o.claims().cloned())
                .with_claims_consent(r.claims_scope())
                .with_max_age_sent(auth_time_required)
        });
        let record = CodeRecord {
            hash: minted.hash,
            grant: GrantId::derive(&minted.hash),
            client_id: r.client.client_id().clone(),
            subject: self.auth.user().clone(),
            scope: r.scope.clone(),
            redirect_uri: r.redirect_param.clone(),
            challenge: r.challenge.clone(),
            issued_at: now,
            expires_at: now.plus(cx.config.code_lifetime),
            used: false,
            openid,
            resources: r.resources.clone(),
            dpop_jkt: r.dpop_jkt.clone(),
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
    user: Option<&Authentication>,
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

async fn validate(cx: &Context, req: &Request<'_>, user: Option<&Authentication>) -> AuthorizeStep {
    // HEAD is refused: it must not act as a side effect.
    let input = match crate::endpoints::browser_params(req, &cx.config) {
        Ok(input) => input,
        Err(e) => return invalid(&e),
    };
    let (mut values, mut fault) = form::parse_lenient(input, &PARAMS);
    // RI-01: `resource` is repeatable; a duplicate of it is no fault, but
    // another parameter's may hide behind it.
    if let Some(Error::InvalidRequest(RequestFault::DuplicateParameter("resource"))) = &fault {
        fault = form::parse_lenient(input, &SINGLE_VALUED).1;
    }
    values[RESOURCE] = match resource_slot(input) {
        Ok(slot) => slot,
        Err(e) => {
            fault = fault.or(Some(e));
            None
        }
    };
    // Until the client and redirect URI are established, every error is an
    // error page (AZ-03); a duplicated client_id or redirect_uri is one too,
    // and so is a duplicated request object or request_uri, which decide
    // where the redirect URI comes from.
    if let Some(
        e @ Error::InvalidRequest(RequestFault::DuplicateParameter(
            "client_id" | "redirect_uri" | "request" | "request_uri",
        )),
    ) = &fault
    {
        return invalid(e);
    }
    let Some(client_id) = values[CLIENT_ID].as_deref().and_then(ClientId::parse) else {
        return invalid(&Error::missing("client_id"));
    };
    record_client(&client_id);
    let client = match cx.clients.client(&client_id).await {
        Ok(Some(c)) if c.is_enabled() => c,
        // CA-07: a disabled client is treated as unknown.
        Ok(_) => return invalid(&Error::invalid_param("client_id")),
        Err(e) => return invalid(&Error::Store(e)),
    };
    let object = values[REQUEST].take();
    let request_uri = values[REQUEST_URI].take();
    // The parameters come from a pushed request, a request object or the
    // query; errors about which are pages: no redirect URI is trusted yet.
    let (values, fault) = match (object, request_uri) {
        (Some(_), Some(_)) => return invalid(&Error::invalid_param("request_uri")),
        // PA-02: only the pushed parameters count.
        (None, Some(uri)) => match crate::endpoints::request_uri::take(cx, &client, &uri).await {
            Ok(pushed) if client.requires_signed_request_object() && !pushed.signed => {
                return invalid(&Error::InvalidRequest(
                    RequestFault::SignedRequestObjectRequired,
                ));
            }
            Ok(pushed) => (params_from(pushed.params), None),
            Err(e) => return invalid(&e),
        },
        _ if cx.config.require_pushed_authorization_requests
            || client.requires_pushed_authorization_requests() =>
        {
            return invalid(&Error::InvalidRequest(RequestFault::PushedRequestRequired));
        }
        // JR-01: only the object's parameters count.
        (Some(object), None) => {
            match from_request_object(cx, &client, values[CLIENT_ID].as_deref(), &object).await {
                Ok(values) => (values, None),
                Err(e) => return invalid(&e),
            }
        }
        (None, None) if client.requires_signed_request_object() => {
            return invalid(&Error::InvalidRequest(
                RequestFault::SignedRequestObjectRequired,
            ));
        }
        (None, None) => (values, fault),
    };
    match check(cx, client, values, fault).await {
        Ok(request) => proceed(cx, request, user, Stage::Arrived).await,
        Err(Refused::Page(e)) => invalid(&e),
        Err(Refused::Redirect { to, state, error }) => {
            AuthorizeStep::Redirect(redirect_error(cx, &to, state.as_deref(), &error))
        }
    }
}

/// The authorization request's parameters, in the order of [`PARAMS`].
pub(crate) type Params<'a> = [Option<Cow<'a, str>>; PARAMS.len()];

/// Where [`PARAMS`] has `client_id`, `redirect_uri`, `request` and
/// `request_uri`.
pub(crate) const CLIENT_ID: usize = 1;
pub(crate) const REDIRECT_URI: usize = 2;
pub(crate) const REQUEST: usize = 17;
pub(crate) const REQUEST_URI: usize = 18;
pub(crate) const DPOP_JKT: usize = 20;
pub(crate) const RESOURCE: usize = 21;

/// Parameters by name (a pushed request's, a request object's) as
/// [`Params`]; unknown names are ignored, empty values count as absent.
pub(crate) fn params_from<I>(pairs: I) -> Params<'static>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut values: Params<'static> = Default::default();
    for (name, value) in pairs {
        let slot = PARAMS
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get_mut(i));
        if let Some(slot) = slot.filter(|_| !value.is_empty()) {
            *slot = Some(Cow::Owned(value));
        }
    }
    values
}

/// The parameters of a request as stored by the pushed endpoint: by name,
/// those present.
pub(crate) fn params_by_name(values: &Params<'_>) -> std::collections::BTreeMap<String, String> {
    PARAMS
        .iter()
        .zip(values)
        .filter_map(|(name, v)| v.as_ref().map(|v| ((*name).to_owned(), v.to_string())))
        .collect()
}

/// The parameters a request object of `client` carries (JR-01): verified
/// ([`crate::request_object::verify`]) with the client's keys (its `jwks`,
/// or those at its `jwks_uri`, fetched through the host's `JwksFetcher` for
/// an asymmetric object: issue 19), and the `client_id` sent beside it, if
/// any, the client's own.
pub(crate) async fn from_request_object(
    cx: &Context,
    client: &Client,
    outer_client_id: Option<&str>,
    object: &str,
) -> Result<Params<'static>, Error> {
    if outer_client_id.is_some_and(|id| id != client.client_id().as_str()) {
        return Err(Error::invalid_param("client_id"));
    }
    // The header names the key; an HS256 object needs none, and one that
    // does not parse is refused by `verify` without any.
    let keys = match crate::tokens::jwt::parse(object) {
        Some(jws) if jws.header.alg != "HS256" => {
            crate::client::assertion::client_keys(cx, client, jws.header.kid.as_deref()).await
        }
        _ => crate::client::JwkSet::default(),
    };
    let now = cx.clock.now();
    let pairs =
        crate::request_object::verify(&cx.config, client, &keys, object, now).map_err(|fault| {
            tracing::debug!(%fault, "request object refused");
            Error::InvalidRequestObject(fault)
        })?;
    Ok(params_from(pairs))
}

/// How an invalid authorization request is answered: an error page until
/// the client's redirect URI is established (AZ-03), a redirect to it after
/// (AZ-04). The pushed endpoint answers both with JSON.
pub(crate) enum Refused {
    Page(Error),
    Redirect {
        to: RedirectUri,
        state: Option<String>,
        error: Error,
    },
}

impl Refused {
    /// The error, however it would be shown.
    pub(crate) fn into_error(self) -> Error {
        match self {
            Self::Page(e) | Self::Redirect { error: e, .. } => e,
        }
    }
}

/// Validates the parameters of an authorization request of `client` (found
/// and enabled): what the authorization endpoint checks of a request from
/// the browser, and the pushed endpoint of a pushed one (PA-01), in one
/// place. `request` and `request_uri` are already resolved (taken out of
/// `values`); `fault` is a parse fault of the parameters (a repeated one),
/// answered once the redirect URI is known.
pub(crate) async fn check(
    cx: &Context,
    client: Arc<Client>,
    values: Params<'_>,
    fault: Option<Error>,
) -> Result<Validated, Refused> {
    let [
        response_type,
        _client_id,
        redirect_uri,
        scope,
        state,
        challenge,
        challenge_method,
        prompt,
        max_age,
        login_hint,
        id_token_hint,
        ui_locales,
        claims_locales,
        display,
        acr_values,
        nonce,
        claims,
        _request,
        _request_uri,
        registration,
        dpop_jkt,
        resource,
    ] = values;
    let (redirect_to, redirect_param) = match redirect_uri.as_deref() {
        Some(requested) => {
            let registered = client.redirect_uris().iter().any(|r| r.matches(requested));
            match RedirectUri::parse(requested) {
                Some(uri) if registered => (uri.clone(), Some(uri)),
                _ => return Err(Refused::Page(Error::invalid_param("redirect_uri"))),
            }
        }
        // AZ-02: with exactly one registered URI the parameter may be omitted.
        None => match client.redirect_uris() {
            [only] => (only.clone(), None),
            _ => return Err(Refused::Page(Error::missing("redirect_uri"))),
        },
    };
    let state = state.map(|s| s.into_owned());
    let fail = |error: Error| Refused::Redirect {
        to: redirect_to.clone(),
        state: state.clone(),
        error,
    };
    if let Some(e) = fault {
        return Err(fail(e));
    }
    match response_type.as_deref() {
        Some("code") => {}
        Some(_) => return Err(fail(Error::UnsupportedResponseType)),
        None => return Err(fail(Error::missing("response_type"))),
    }
    if !cx.config.offers(GrantType::AuthorizationCode) {
        return Err(fail(Error::UnsupportedResponseType));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(Error::UnauthorizedClient));
    }
    let scope =
        requested_scope(scope.as_deref(), client.scope(), client.default_scope()).map_err(&fail)?;
    // OI-03: only an OpenID request reads the OpenID parameters; a plain
    // OAuth request ignores them (RFC 6749 §3.1).
    let openid = if scope.contains("openid") {
        let raw = RawOpenId {
            prompt,
            max_age,
            login_hint,
            id_token_hint,
            ui_locales,
            claims_locales,
            display,
            acr_values,
            nonce,
            claims,
            // Resolved before: a request object or a pushed request.
            request: None,
            request_uri: None,
            registration,
        };
        Some(OpenIdRequest::parse(&raw).map_err(&fail)?)
    } else {
        None
    };
    let hint = verified_hint(cx, &client, openid.as_ref())
        .await
        .map_err(&fail)?;
    let challenge = pkce(
        cx,
        &client,
        challenge.as_deref(),
        challenge_method.as_deref(),
    )
    .map_err(&fail)?;
    // RI-01: each `resource` (repeatable) an absolute URI the client may
    // ask for, else `invalid_target` by redirect.
    let resources = requested_resources(cx, &client, resource.as_deref()).map_err(&fail)?;
    // DP-01 (RFC 9449 §10): the code is bound to this DPoP key.
    let dpop_jkt = match dpop_jkt.as_deref() {
        Some(jkt) => {
            Some(JwkThumbprint::parse(jkt).ok_or_else(|| fail(Error::invalid_param("dpop_jkt")))?)
        }
        None => None,
    };
    Ok(Validated {
        client,
        redirect_to,
        redirect_param,
        scope,
        state,
        challenge,
        openid,
        requested_at: cx.clock.now(),
        hint,
        superseded: None,
        resources,
        dpop_jkt,
    })
}

/// The `resource` parameters of an authorization request (RFC 8707 §2),
/// each allowed for `client` (RI-01); `invalid_target` otherwise.
fn requested_resources(
    cx: &Context,
    client: &Client,
    joined: Option<&str>,
) -> Result<Vec<Resource>, Error> {
    let resources = crate::resource::parse_all(joined.into_iter().flat_map(|j| j.split(' ')))?;
    allowed_resources(cx, client, resources)
}

/// The `resource` values of a request (RFC 8707 §2: repeatable) as one
/// [`PARAMS`] slot, joined by spaces; `None` without any. A value with
/// whitespace is no absolute URI: `invalid_target`.
pub(crate) fn resource_slot(input: &[u8]) -> Result<Option<Cow<'static, str>>, Error> {
    let values = form::values_of(input, "resource")?;
    if values.iter().any(|v| v.contains(char::is_whitespace)) {
        return Err(Error::InvalidTarget);
    }
    Ok((!values.is_empty()).then(|| Cow::Owned(values.join(" "))))
}

/// [`PARAMS`] without the repeatable `resource`: a second `resource` is
/// no duplicate.
pub(crate) const SINGLE_VALUED: [&str; RESOURCE] = {
    let [single @ .., _resource] = PARAMS;
    single
};

/// `resources` if `client` may ask for every one of them, else
/// `invalid_target`.
fn allowed_resources(
    cx: &Context,
    client: &Client,
    resources: Vec<Resource>,
) -> Result<Vec<Resource>, Error> {
    crate::resource::within(resources, |r| resource_allowed(cx, client, r), &[])
}

/// The request's `id_token_hint`, verified (OI-08): an ID Token this
/// server signed (a key it publishes, `typ` `JWT`, our `iss`; expired
/// allowed) whose `aud` names `client`. Anything else is `invalid_request`;
/// the keys failing to load is a server error.
async fn verified_hint(
    cx: &Context,
    client: &Client,
    openid: Option<&OpenIdRequest>,
) -> Result<Option<Hint>, Error> {
    let Some(hint) = openid.and_then(OpenIdRequest::id_token_hint) else {
        return Ok(None);
    };
    let ring = cx.key_ring().await?;
    let verified = verify_id_token_hint(&ring, hint.as_str(), &cx.config.issuer, cx.clock.now())
        .map_err(|fault| {
            tracing::debug!(%fault, "id_token_hint refused");
            Error::invalid_param("id_token_hint")
        })?;
    if !verified.is_for(client.client_id()) {
        tracing::debug!("id_token_hint issued to another client refused");
        return Err(Error::invalid_param("id_token_hint"));
    }
    Ok(Some(Hint(verified)))
}

/// Whether the request's verified `id_token_hint` names another user than
/// `auth`'s (OI-08): its `sub` against the subject this client sees for
/// the signed-in user (public or pairwise, as in the ID Tokens we issue).
/// A login made since the request arrived is the user's answer to the
/// login step ([`LoginReason::OtherUser`]), so it is not held against the
/// hint and the step cannot loop.
fn hint_names_another_user(
    cx: &Context,
    request: &Validated,
    auth: &Authentication,
    stage: Stage,
) -> Result<bool, Error> {
    let Some(hint) = &request.hint else {
        return Ok(false);
    };
    if made_for_request(request, auth, stage) {
        return Ok(false);
    }
    let subject = pairwise_subject(
        &request.client,
        auth.user(),
        cx.config.pairwise_salt.as_ref(),
    )
    .map_err(|_| Error::Internal(InternalFault::NoPairwiseSalt))?;
    Ok(subject.as_str() != hint.0.subject())
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

/// Where a request meets the user: as it arrives (`authorize`), or when a
/// login-stage handle is resumed after the host's login step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Arrived,
    Resumed,
}

/// Whether `auth` is a login the host made in answer to this request's
/// login step (OI-06..08): it is resumed from the login stage
/// ([`Stage::Resumed`]), at or after the second the request arrived, and
/// it is not the session the login step was asked to replace. A session
/// passed to `authorize` never is: it was there before the request. So
/// the login the host performs is accepted and the step cannot loop, while
/// an earlier login, even of the request's own second, is not taken for a
/// new one. Times are whole seconds: a new login in that same second is
/// told apart by a new session id or a new login id
/// ([`Authentication::with_login_id`]); a host that keeps both gets its
/// login step once more.
fn made_for_request(request: &Validated, auth: &Authentication, stage: Stage) -> bool {
    stage == Stage::Resumed
        && auth.auth_time() >= request.requested_at
        && !request.superseded.as_ref().is_some_and(|s| s.is(auth))
}

/// Whether `auth` is too old for the request (OI-06, OI-07). A login made
/// for the request ([`made_for_request`]) never is. Otherwise:
/// `prompt=login` and `max_age=0` ask for a new login, whatever the
/// session's age (even a login of the request's own second); a `max_age`
/// above zero when more than `max_age` seconds have passed since
/// `auth_time`. Without a `max_age` in the request the client's registered
/// `default_max_age` applies, by the same rule (Registration §2).
fn too_old(request: &Validated, auth: &Authentication, now: UnixTime, stage: Stage) -> bool {
    let Some(o) = &request.openid else {
        return false;
    };
    if made_for_request(request, auth, stage) {
        return false;
    }
    let max_age = o.max_age().or_else(|| request.client.default_max_age());
    if o.prompt().contains(Prompt::Login) || max_age.is_some_and(|m| m.is_zero()) {
        return true;
    }
    max_age.is_some_and(|max_age| auth.auth_time().plus(max_age) < now)
}

/// A validated request meets the user (if any): log in, ask, or issue.
/// With `prompt=none`, wherever a page would be shown the client gets the
/// error that names it instead (OI-06).
async fn proceed(
    cx: &Context,
    request: Validated,
    auth: Option<&Authentication>,
    stage: Stage,
) -> AuthorizeStep {
    let prompt = request
        .openid
        .as_ref()
        .map(OpenIdRequest::prompt)
        .unwrap_or_default();
    let silent = prompt.contains(Prompt::None);
    let other_user = match auth.map(|a| hint_names_another_user(cx, &request, a, stage)) {
        Some(Err(e)) => return AuthorizeStep::Redirect(request.redirect_error(cx, &e)),
        Some(Ok(other)) => other,
        None => false,
    };
    let login = match auth {
        None => Some(LoginReason::NotLoggedIn),
        Some(a) if too_old(&request, a, cx.clock.now(), stage) => Some(LoginReason::Reauthenticate),
        // OI-08: with prompt=none this is `login_required` below.
        Some(_) if other_user => Some(LoginReason::OtherUser),
        // The account chooser is shown once, by the login step; the
        // account the host resumes with is the one chosen.
        Some(_) if prompt.contains(Prompt::SelectAccount) && stage == Stage::Arrived => {
            Some(LoginReason::SelectAccount)
        }
        Some(_) => None,
    };
    let auth = match (login, auth) {
        (None, Some(auth)) => auth,
        (Some(_), _) if silent => {
            let e = Error::InteractionRequired(Interaction::Login);
            return AuthorizeStep::Redirect(request.redirect_error(cx, &e));
        }
        (reason, auth) => {
            let reason = reason.unwrap_or(LoginReason::NotLoggedIn);
            let mut request = request;
            // The session the login step must replace (not for an account
            // chooser, which may keep it).
            if matches!(reason, LoginReason::Reauthenticate | LoginReason::OtherUser) {
                request.superseded = auth.map(Superseded::of);
            }
            return AuthorizeStep::Login(LoginRequired { request, reason });
        }
    };
    let previously_granted = match granted(cx, auth.user(), &request.client).await {
        Ok(g) => g,
        Err(e) => return AuthorizeStep::Redirect(request.redirect_error(cx, &e)),
    };
    let pending = PendingAuthorization {
        auth: auth.clone(),
        request,
        previously_granted,
    };
    // AZ-08: skip_consent clients and consent already covering the request
    // go straight to a code; anything new asks again, and so does
    // `prompt=consent` (OI-06), whatever was remembered. The consent needed
    // is the scope and the scope values of the standard claims the
    // `claims` request names (issue 16): naming a claim is not consent.
    let r = &pending.request;
    let covered =
        r.client.skips_consent() || r.consent_scope().is_subset_of(&pending.previously_granted);
    if covered && !prompt.contains(Prompt::Consent) {
        return AuthorizeStep::Redirect(pending.issue_code(cx).await);
    }
    if silent {
        let e = Error::InteractionRequired(Interaction::Consent);
        return AuthorizeStep::Redirect(pending.request.redirect_error(cx, &e));
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
    /// The facts of the user's authentication (consent stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// When the request arrived (Unix seconds).
    #[serde(default)]
    requested_at: Option<u64>,
    /// The OpenID Connect parameters, in their wire form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    openid: Option<RawOpenId<'static>>,
    /// The session the login step must replace (login stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    superseded: Option<StoredLogin>,
    /// The resources asked for (RFC 8707).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_jkt: Option<String>,
}

fn requests(cx: &Context) -> Result<&dyn AuthorizationRequestStore, Error> {
    cx.requests
        .as_deref()
        .ok_or(Error::Internal(InternalFault::NoRequestStore))
}

/// Stores `request` (bound to the user and their authentication at the
/// consent stage) under the hash of a fresh handle, and returns the handle.
async fn suspend(
    cx: &Context,
    request: &Validated,
    auth: Option<&Authentication>,
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
        user: auth.map(|a| a.user().as_str().to_owned()),
        auth_time: auth.map(|a| a.auth_time().as_secs()),
        acr: auth.and_then(|a| a.acr().map(str::to_owned)),
        amr: auth.map(|a| a.amr().to_vec()).unwrap_or_default(),
        sid: auth.and_then(|a| a.session_id().map(|s| s.as_str().to_owned())),
        requested_at: Some(request.requested_at.as_secs()),
        openid: request.openid.as_ref().map(OpenIdRequest::to_raw),
        superseded: request.superseded.as_ref().map(|s| StoredLogin {
            user: s.user.as_str().to_owned(),
            auth_time: s.auth_time.as_secs(),
            sid: s.sid.as_ref().map(|sid| sid.as_str().to_owned()),
            login: s.login.as_ref().map(TokenHash::to_hex),
        }),
        resources: request
            .resources
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        dpop_jkt: request.dpop_jkt.as_ref().map(|j| j.as_str().to_owned()),
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
pub(crate) async fn resume(
    cx: &Context,
    token: &str,
    user: Option<&Authentication>,
) -> AuthorizeStep {
    let span = endpoint_span("authorize");
    let step = in_span!(span, take_back(cx, token, user));
    let cause = match &step {
        AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) => r.cause(),
        AuthorizeStep::Login(_) | AuthorizeStep::Consent(_) => None,
    };
    record_cause(&span, cause);
    step
}

async fn take_back(cx: &Context, token: &str, user: Option<&Authentication>) -> AuthorizeStep {
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
    // When the request was suspended, at the latest: for payloads of an
    // earlier release, which lack the times below.
    let suspended_at = UnixTime::from_secs(
        record
            .expires_at
            .as_secs()
            .saturating_sub(cx.config.authorization_request_lifetime.as_secs()),
    );
    let bound = match stored_authentication(&p, suspended_at) {
        Ok(bound) => bound,
        Err(e) => return invalid(&e),
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
    // Parsed as at the edge, so a stored request is as valid as a sent one.
    let openid = if scope.contains("openid") {
        match OpenIdRequest::parse(p.openid.as_ref().unwrap_or(&RawOpenId::default())) {
            Ok(o) => Some(o),
            Err(_) => return invalid(&Error::Internal(InternalFault::InvalidStoredValue)),
        }
    } else {
        None
    };
    let superseded = match p.superseded.as_ref().map(stored_login).transpose() {
        Ok(s) => s,
        Err(e) => return invalid(&e),
    };
    // Verified again, as at the edge: the keys may have changed since.
    let hint = match verified_hint(cx, &client, openid.as_ref()).await {
        Ok(h) => h,
        Err(e) => return fail(e),
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
    // Still allowed for the client, as its scope must still be.
    let resources = match crate::resource::parse_all(p.resources.iter().map(String::as_str))
        .and_then(|r| allowed_resources(cx, &client, r))
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // A stored thumbprint that no longer parses was tampered with.
    let dpop_jkt = match p.dpop_jkt.as_deref().map(JwkThumbprint::parse) {
        None => None,
        Some(Some(jkt)) => Some(jkt),
        Some(None) => return fail(Error::Internal(InternalFault::InvalidStoredValue)),
    };
    let request = Validated {
        resources,
        dpop_jkt,
        client,
        redirect_param: p.redirect_uri_sent.then(|| redirect_to.clone()),
        redirect_to,
        scope,
        state: p.state,
        challenge,
        openid,
        requested_at: p.requested_at.map_or(suspended_at, UnixTime::from_secs),
        hint,
        superseded,
    };
    match (bound, user) {
        // The consent stage: only the user who logged in may decide, and
        // the decision is theirs even if consent was given meanwhile. The
        // facts are those of the login the request was suspended with.
        (Some(bound), Some(user)) if bound.user() == user.user() => {
            let previously_granted = match granted(cx, bound.user(), &request.client).await {
                Ok(g) => g,
                Err(e) => return AuthorizeStep::Redirect(request.redirect_error(cx, &e)),
            };
            AuthorizeStep::Consent(PendingAuthorization {
                auth: bound,
                request,
                previously_granted,
            })
        }
        (Some(_), _) => refused("bound to another user"),
        // The login stage: continue as `handle` would with this user.
        (None, user) => proceed(cx, request, user, Stage::Resumed).await,
    }
}

/// The authentication a consent-stage payload is bound to (`None` at the
/// login stage). A payload of an earlier release has no `auth_time`: the
/// user logged in at the latest when it was suspended.
fn stored_authentication(
    p: &Payload,
    suspended_at: UnixTime,
) -> Result<Option<Authentication>, Error> {
    let corrupt = || Error::Internal(InternalFault::InvalidStoredValue);
    let Some(user) = p.user.as_deref() else {
        return Ok(None);
    };
    let user = UserId::parse(user).ok_or_else(corrupt)?;
    let auth_time = p.auth_time.map_or(suspended_at, UnixTime::from_secs);
    let mut auth = Authentication::new(user, auth_time).with_amr(p.amr.iter().cloned());
    if let Some(acr) = &p.acr {
        auth = auth.with_acr(acr.clone());
    }
    if let Some(sid) = &p.sid {
        auth = auth.with_session_id(SessionId::parse(sid).ok_or_else(corrupt)?);
    }
    Ok(Some(auth))
}

/// The superseded session a login-stage payload names.
fn stored_login(s: &StoredLogin) -> Result<Superseded, Error> {
    let corrupt = || Error::Internal(InternalFault::InvalidStoredValue);
    Ok(Superseded {
        user: UserId::parse(&s.user).ok_or_else(corrupt)?,
        auth_time: UnixTime::from_secs(s.auth_time),
        sid: s
            .sid
            .as_deref()
            .map(|sid| SessionId::parse(sid).ok_or_else(corrupt))
            .transpose()?,
        login: s
            .login
            .as_deref()
            .map(|h| TokenHash::from_hex(h).ok_or_else(corrupt))
            .transpose()?,
    })
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
