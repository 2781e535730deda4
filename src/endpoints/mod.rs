//! One module per endpoint. Each turns a `Request` into a `Response`.

pub(crate) mod authorize;
// Dynamic client registration (RFC 7591/7592, issue 19 part 2).
pub(crate) mod client_metadata;
pub(crate) mod cors;
pub(crate) mod device_authorization;
pub(crate) mod device_verification;
pub(crate) mod discovery;
pub(crate) mod end_session;
pub(crate) mod introspect;
pub(crate) mod metadata;
pub(crate) mod par;
pub(crate) mod registration;
pub(crate) mod registration_management;
pub(crate) mod request_uri;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;

use std::borrow::Cow;

use crate::config::Config;
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::dpop::verify::{Target, current_nonce, verify};
use crate::error::{DpopFault, Error, RequestFault};
use crate::http::{Header, Method, Request, Response, form};

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

/// The parameters that identify or authenticate a client.
const CREDENTIALS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// [`form_post`] for the endpoints that authenticate clients (token,
/// revocation, introspection), which also refuse client credentials in the
/// request URI (CA-09).
pub(crate) fn client_form_post<'a, const N: usize>(
    config: &Config,
    req: &Request<'a>,
    names: &[&'static str; N],
) -> Result<[Option<Cow<'a, str>>; N], Error> {
    let values = form_post(config, req, names)?;
    if let Some(query) = req.query_str() {
        if query.len() > config.max_body_size {
            return Err(Error::InvalidRequest(RequestFault::QueryTooLong));
        }
        if names_credentials(query) {
            return Err(Error::InvalidRequest(RequestFault::CredentialsInQuery));
        }
    }
    Ok(values)
}

/// Whether a query string carries a client credential parameter with a
/// value (RFC 6749 §2.3.1: they "MUST NOT be included in the request URI").
/// `client_id` counts too: it is how a public client authenticates
/// (`none`), and §3.2.1 sends it with the other token request parameters,
/// in the body. An empty value counts as absent, as in the body (TOK-03);
/// a value is never decoded, so a malformed one cannot hide the name.
fn names_credentials(query: &str) -> bool {
    query_names(query, &CREDENTIALS)
}

/// The parameters of a request the browser brings (the authorization and
/// end-session endpoints): the query of a GET, or the form body of a POST
/// (RFC 6749 §3.1), either held to `config.max_body_size`, so the work is
/// bounded whatever the HTTP server in front allows. HEAD is refused: it
/// must not act as a side effect.
pub(crate) fn browser_params<'r>(req: &'r Request<'_>, config: &Config) -> Result<&'r [u8], Error> {
    match req.method() {
        Method::Get => {
            let query = req.query_str().unwrap_or_default();
            if query.len() > config.max_body_size {
                return Err(Error::InvalidRequest(RequestFault::QueryTooLong));
            }
            Ok(query.as_bytes())
        }
        Method::Post => {
            let body = req.body_bytes();
            if body.len() > config.max_body_size {
                return Err(Error::InvalidRequest(RequestFault::BodyTooLarge));
            }
            Ok(body)
        }
        Method::Head | Method::Put | Method::Delete | Method::Options | Method::Other => {
            Err(Error::InvalidRequest(RequestFault::MethodNotAllowed))
        }
    }
}

/// Whether a query string carries one of `names` with a non-empty value;
/// names are decoded, values never (so a malformed value cannot hide the
/// name).
pub(crate) fn query_names(query: &str, names: &[&str]) -> bool {
    query.split('&').any(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        !value.is_empty() && form::decode(name.as_bytes()).is_ok_and(|n| names.contains(&&*n))
    })
}

/// `application/x-www-form-urlencoded`, parameters (e.g. charset) tolerated.
pub(crate) fn is_form(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

/// RFC 9449 §8: with nonces on, every answer of the token or pushed
/// endpoint to a request with a `DPoP` header names the current nonce (a
/// `use_dpop_nonce` error must; others may).
pub(crate) fn with_dpop_nonce(cx: &Context, req: &Request<'_>, response: Response) -> Response {
    match (req.dpop(), current_nonce(cx)) {
        (Header::Absent, _) | (_, None) => response,
        (_, Some(nonce)) => response.with_header("DPoP-Nonce", nonce),
    }
}

/// The key of the request's DPoP proof (RFC 9449 §5), verified for a POST
/// to the URL of `path` as the metadata advertises it (the token endpoint,
/// or the pushed endpoint, §10.1); `None` without a `DPoP` header, or when
/// DPoP is off (tokens are then bearer tokens, `token_type` `Bearer`, as §5
/// allows).
pub(crate) async fn dpop_proof(
    cx: &Context,
    req: &Request<'_>,
    path: &str,
) -> Result<Option<JwkThumbprint>, Error> {
    if !cx.config.dpop.enabled {
        return Ok(None);
    }
    let malformed = Error::InvalidDpopProof(DpopFault::Malformed);
    let value = match req.dpop() {
        Header::Absent => return Ok(None),
        // RFC 9449 §4.3: one `DPoP` header, never more.
        Header::Repeated => return Err(malformed),
        Header::One(v) => std::str::from_utf8(v).map_err(|_| malformed)?.trim(),
    };
    let url = cx.config.url(path);
    let target = Target {
        method: "POST",
        url: &url,
        access_token: None,
    };
    verify(cx, value, &target).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_query_are_found() {
        // covers: CA-09
        // issue 15 finding 6
        for q in [
            "client_id=svc",
            "x=1&client_secret=s",
            "client_assertion=a.b.c",
            "client_assertion_type=urn%3Aietf",
            "client%5Fsecret=s",
            "client_secret=%ZZ",
            "client+id=x&client_id=y",
        ] {
            assert!(names_credentials(q), "{q}");
        }
        for q in [
            "",
            "client_id=",
            "client_id",
            "x=client_id",
            "client_ids=a",
            "client+id=x",
            "%ZZ=1",
        ] {
            assert!(!names_credentials(q), "{q}");
        }
    }

    #[test]
    fn form_content_type_tolerates_charset() {
        // covers: TOK-02
        assert!(is_form(b"application/x-www-form-urlencoded"));
        assert!(is_form(b"Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!is_form(b"application/json"));
        assert!(!is_form(b"application/x-www-form-urlencodedx"));
    }
}
