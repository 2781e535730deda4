//! One module per endpoint. Each turns a `Request` into a `Response`.

pub(crate) mod authorize;
pub(crate) mod introspect;
pub(crate) mod metadata;
pub(crate) mod revoke;
pub(crate) mod token;

use std::borrow::Cow;

use crate::error::{Error, RequestFault};
use crate::http::{Header, Method, Request, Response, form};
use crate::server::AuthorizationServer;

/// Checks what every form-posting endpoint requires — `POST` (TOK-01), a
/// bounded body (TOK-08), a form content type (TOK-02) — and parses the
/// form strictly (TOK-03).
pub(crate) fn form_post<'a, const N: usize>(
    server: &AuthorizationServer,
    req: &Request<'a>,
    names: &[&'static str; N],
) -> Result<[Option<Cow<'a, str>>; N], Error> {
    if req.method() != Method::Post {
        return Err(Error::InvalidRequest(RequestFault::MethodNotAllowed));
    }
    if req.body_bytes().len() > server.config.max_body_size {
        return Err(Error::InvalidRequest(RequestFault::BodyTooLarge));
    }
    match req.content_type() {
        Header::One(value) if is_form(value) => {}
        Header::Repeated => {
            return Err(Error::InvalidRequest(RequestFault::InvalidHeader(
                "content-type",
            )));
        }
        _ => return Err(Error::InvalidRequest(RequestFault::ContentType)),
    }
    form::parse(req.body_bytes(), names)
}

/// `application/x-www-form-urlencoded`, parameters (e.g. charset) tolerated.
fn is_form(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_content_type_tolerates_charset() {
        // covers: TOK-02
        assert!(is_form(b"application/x-www-form-urlencoded"));
        assert!(is_form(b"Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!is_form(b"application/json"));
        assert!(!is_form(b"application/x-www-form-urlencodedx"));
    }
}
