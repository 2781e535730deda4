//! What the core tells the host's logs about a request: refusals with their
//! static causes only, so no request value can reach a log (RB-03).

use crate::error::Error;
use crate::http::Response;

/// Renders an error and logs its (static) cause: no request value can reach
/// the log (RB-03).
pub(crate) fn refuse(endpoint: &'static str, error: &Error) -> Response {
    log_refusal(endpoint, error);
    Response::from(error)
}

/// Logs why a request was refused: static causes only (RB-03).
pub(crate) fn log_refusal(endpoint: &'static str, error: &Error) {
    if let Error::Store(e) = error {
        tracing::error!(endpoint, error = %e, source = ?std::error::Error::source(e).map(ToString::to_string), "store failure");
    } else {
        tracing::debug!(endpoint, code = error.code().as_str(), cause = %error, "request refused");
    }
}
