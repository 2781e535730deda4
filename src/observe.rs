//! What the core tells the host's logs and traces about a request: one span
//! per endpoint call, and refusals with their static causes only, so no
//! request value can reach a log or a span (RB-03).

use tracing::Span;
use tracing::field::Empty;

use crate::client::ClientId;
use crate::error::{Cause, Error};
use crate::grant_type::GrantType;
use crate::http::Response;

/// The span of one endpoint call (`portcullis.endpoint`): the endpoint's
/// name, then the client id, grant type, outcome and error code as they
/// become known. Never a token, code, secret or password. Without a
/// subscriber interested in it, the span is disabled and costs a check.
pub(crate) fn endpoint_span(endpoint: &'static str) -> Span {
    tracing::info_span!(
        "portcullis.endpoint",
        endpoint,
        client_id = Empty,
        grant_type = Empty,
        outcome = Empty,
        error = Empty
    )
}

/// Awaits `$fut` inside `$span`. A disabled span (no subscriber interested)
/// awaits the future as it is: no `Instrumented` wrapper, so the future is
/// not moved once more and nothing is entered or exited on each poll.
macro_rules! in_span {
    ($span:expr, $fut:expr) => {
        if $span.is_disabled() {
            $fut.await
        } else {
            tracing::Instrument::instrument($fut, $span.clone()).await
        }
    };
}
pub(crate) use in_span;

/// Records the authenticated (or asking) client on the current span.
pub(crate) fn record_client(client_id: &ClientId) {
    let span = Span::current();
    if !span.is_disabled() {
        span.record("client_id", client_id.as_str());
    }
}

/// Records the grant type on the current span.
pub(crate) fn record_grant_type(grant: &GrantType) {
    let span = Span::current();
    if !span.is_disabled() {
        span.record("grant_type", grant.as_str());
    }
}

/// Records how the call ended: `ok`, `refused` (the client's fault) or
/// `failed` (the server's), with the error code.
pub(crate) fn record_outcome(span: &Span, response: &Response) {
    if span.is_disabled() {
        return;
    }
    record_cause(span, response.cause());
}

/// Records `ok` or the cause's outcome and code on `span`.
pub(crate) fn record_cause(span: &Span, cause: Option<Cause>) {
    if span.is_disabled() {
        return;
    }
    match cause {
        None => {
            span.record("outcome", "ok");
        }
        Some(cause) => {
            let outcome = if is_server_fault(cause) {
                "failed"
            } else {
                "refused"
            };
            span.record("outcome", outcome);
            if let Some(code) = cause.code() {
                span.record("error", code.as_str());
            }
        }
    }
}

const fn is_server_fault(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::Store | Cause::Random | Cause::Signing(_) | Cause::Internal(_) | Cause::Overloaded
    )
}

/// A disabled client tried to authenticate: worth an operator's attention
/// (a forgotten integration, or a leaked secret still in use).
pub(crate) fn warn_disabled_client(client_id: &ClientId) {
    tracing::warn!(%client_id, "disabled client attempted to authenticate");
}

/// Renders an error and logs its (static) cause: no request value can reach
/// the log (RB-03).
pub(crate) fn refuse(endpoint: &'static str, error: &Error) -> Response {
    log_refusal(endpoint, error);
    Response::from(error)
}

/// Logs why a request was refused: static causes only (RB-03). The server's
/// own failures (store, randomness, signing) are errors; a client's mistake
/// is `debug`.
pub(crate) fn log_refusal(endpoint: &'static str, error: &Error) {
    match error {
        Error::Store(e) => {
            tracing::error!(endpoint, error = %e, source = ?std::error::Error::source(e).map(ToString::to_string), "store failure");
        }
        Error::Random(_) | Error::Signing(_) | Error::Internal(_) => {
            tracing::error!(endpoint, cause = %error, "server failure");
        }
        _ => {
            tracing::debug!(endpoint, code = error.code().as_str(), cause = %error, "request refused");
        }
    }
}
