//! One module per endpoint. Each turns a `Request` into a `Response`.

pub(crate) mod authorize;
pub(crate) mod introspect;
pub(crate) mod metadata;
pub(crate) mod revoke;
pub(crate) mod token;

use std::borrow::Cow;

use crate::config::Config;
use crate::error::{Error, RequestFault};
use crate::http::{Header, Method, Request, form};

/// Checks what every form-posting endpoint requires — `POST` (TOK-01), a
/// bounded body (TOK-08), a form content type (TOK-02) — and parses the
/// form strictly (TOK-03).
pub(crate) fn form_post<'a, const N: usize>(
    config: &Config,
    req: &Request<'a>,
    names: &[&'static str; N],
) -> Result<[Option<Cow<'a, str>>; N], Error> {
    if req.method() != Method::Post {
        return Err(Error::InvalidRequest(RequestFault::MethodNotAllowed));
    }
    if req.body_bytes().len() > config.max_body_size {
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
