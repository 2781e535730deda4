//! `Response`: status, headers and body the adapter writes out. All OAuth
//! error rendering lives here, in `Response::from(&Error)`.

use std::borrow::Cow;

use super::field::{self, InvalidHeader};
use crate::error::{BearerFault, Cause, Error, ErrorCode, InternalFault, RequestFault};

/// An HTTP response produced by the core.
///
/// Its status is always a valid HTTP status (100–999) and every header is
/// checked where it is set (see [`Response::try_with_header`]), so an adapter
/// can always write it as it is: nothing is ever dropped on the way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, Cow<'static, str>)>,
    body: Vec<u8>,
    cause: Option<Cause>,
}

const JSON: &str = "application/json";

/// `Debug` leaves out what may carry a token or code (RB-03): the body is
/// shown by size and a `Location` header's value is redacted.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if n.eq_ignore_ascii_case("location") {
                    "[redacted]"
                } else {
                    v.as_ref()
                };
                (*n, v)
            })
            .collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("error", &self.error())
            .field("cause", &self.cause)
            .finish()
    }
}

impl Response {
    /// A response with this status and body and no headers. A status outside
    /// 100–999, which no HTTP server can write, is logged and answered as
    /// a `500 server_error` instead.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        if !(100..=999).contains(&status) {
            tracing::error!(status, "portcullis: not an HTTP status; answering 500");
            return Self::server_error(InternalFault::InvalidResponse);
        }
        Self {
            status,
            headers: Vec::new(),
            body,
            cause: None,
        }
    }

    /// A `200` JSON response that may be cached (metadata, JWKS).
    pub(crate) fn json_public(body: Vec<u8>) -> Self {
        let mut r = Self::new(200, body);
        r.headers.push(("Content-Type", Cow::Borrowed(JSON)));
        r
    }

    /// A JSON response carrying tokens or token data: never cached
    /// (RFC 6749 §5.1, TOK-04).
    pub(crate) fn json_no_store(status: u16, body: Vec<u8>) -> Self {
        let mut r = Self::new(status, body);
        r.headers.reserve_exact(3);
        r.headers.push(("Content-Type", Cow::Borrowed(JSON)));
        r.headers.push(("Cache-Control", Cow::Borrowed("no-store")));
        r.headers.push(("Pragma", Cow::Borrowed("no-cache")));
        r
    }

    /// A `200` signed JWT (a signed UserInfo response, OpenID Connect Core
    /// §5.3.2): `application/jwt`, never cached.
    pub(crate) fn jwt_no_store(body: Vec<u8>) -> Self {
        let mut r = Self::new(200, body);
        r.headers.reserve_exact(3);
        r.headers
            .push(("Content-Type", Cow::Borrowed("application/jwt")));
        r.headers.push(("Cache-Control", Cow::Borrowed("no-store")));
        r.headers.push(("Pragma", Cow::Borrowed("no-cache")));
        r
    }

    /// An empty response that must not be cached (the revocation
    /// endpoint's 200, RFC 7009 §2.2): a constant header, so nothing to check.
    pub(crate) fn empty_no_store(status: u16) -> Self {
        let mut r = Self::new(status, Vec::new());
        r.headers.push(("Cache-Control", Cow::Borrowed("no-store")));
        r
    }

    /// `500 server_error` for a fault of the server's own making, never of
    /// the request's: the core's error JSON, never cached.
    pub(crate) fn server_error(fault: InternalFault) -> Self {
        Self::from(&Error::Internal(fault))
    }

    /// Adds a header, or refuses it: a name that is not an HTTP token, or a
    /// value holding CR, LF, NUL, another control character but tab, or DEL
    /// (which would split the header or be refused by the HTTP server).
    pub fn try_with_header(
        mut self,
        name: &'static str,
        value: impl Into<Cow<'static, str>>,
    ) -> Result<Self, InvalidHeader> {
        let value = value.into();
        field::check(name, &value)?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// Adds a header. A header [`Response::try_with_header`] refuses is never
    /// written: it is logged (by name, never by value) and the whole response
    /// becomes a `500 server_error`, so that a value smuggling a line break
    /// cannot reach the wire and the fault cannot go unnoticed.
    #[must_use]
    pub fn with_header(self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        Self::or_server_error(self.try_with_header(name, value))
    }

    fn or_server_error(checked: Result<Self, InvalidHeader>) -> Self {
        checked.unwrap_or_else(|e| {
            tracing::error!(error = %e, "portcullis: invalid response header; answering 500");
            Self::server_error(InternalFault::InvalidResponse)
        })
    }

    /// The status code.
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_ref()))
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The OAuth error this response carries, if it is one; for logging.
    pub const fn error(&self) -> Option<ErrorCode> {
        match self.cause {
            Some(cause) => cause.code(),
            None => None,
        }
    }

    /// Why the request was refused, precisely and without request data:
    /// for the host's metrics, no body parsing needed.
    pub const fn cause(&self) -> Option<Cause> {
        self.cause
    }

    /// A `302 Found` to `location`, never cached.
    pub(crate) fn redirect(location: String, cause: Option<Cause>) -> Self {
        Self::or_server_error(
            Self::new(302, Vec::new())
                .try_with_header("Location", location)
                .map(|mut r| {
                    r.headers.push(("Cache-Control", Cow::Borrowed("no-store")));
                    r.cause = cause;
                    r
                }),
        )
    }

    /// A plain HTML error page for errors that must not be redirected
    /// (AZ-03). Hosts may render their own from [`Response::error`].
    pub(crate) fn error_page(error: &Error) -> Self {
        let code = error.code();
        // Both strings are static and contain no markup characters.
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
             <body><h1>Authorization error</h1><p><code>{}</code>: {}</p></body></html>",
            code.as_str(),
            error.description()
        );
        let mut r = Self::new(error.status(), body.into_bytes());
        r.headers
            .push(("Content-Type", Cow::Borrowed("text/html; charset=utf-8")));
        r.headers.push(("Cache-Control", Cow::Borrowed("no-store")));
        r.cause = Some(error.cause());
        r
    }

    /// The resource-server challenge (RFC 6750 §3): 401 with
    /// `WWW-Authenticate: Bearer` and, when there is one, the error;
    /// `insufficient_scope` is a 403 naming the scope needed (TK-04).
    pub(crate) fn bearer_challenge(
        fault: BearerFault,
        scope: Option<&crate::scope::ScopeSet>,
    ) -> Self {
        Self::resource_challenge(fault, scope, None)
    }

    /// The challenge of a refused resource request (RFC 6750 §3, RFC 9449
    /// §7.1): `Bearer`, and with `dpop` (the accepted proof algorithms and
    /// whether the client used the `DPoP` scheme) a `DPoP algs="…"`
    /// challenge too. The error code goes on the scheme the client used
    /// (a DPoP proof fault always on `DPoP`); the other is bare.
    pub(crate) fn resource_challenge(
        fault: BearerFault,
        scope: Option<&crate::scope::ScopeSet>,
        dpop: Option<(&str, bool)>,
    ) -> Self {
        let code = Cause::Bearer(fault).code();
        let on_dpop = matches!(fault, BearerFault::Dpop(_) | BearerFault::DpopNonce)
            || dpop.is_some_and(|(_, used)| used);
        let mut error = String::new();
        let status = match code {
            None => 401,
            Some(code) => {
                error.push_str("error=\"");
                error.push_str(code.as_str());
                error.push('"');
                if let Some(scope) = scope {
                    error.push_str(", scope=\"");
                    error.push_str(&scope.to_string());
                    error.push('"');
                }
                match code {
                    ErrorCode::InvalidRequest => 400,
                    ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => 401,
                    other => other.status(),
                }
            }
        };
        let mut bearer = String::from("Bearer realm=\"oauth\"");
        let error_on_bearer = !on_dpop || dpop.is_none();
        if !error.is_empty() && error_on_bearer {
            bearer.push_str(", ");
            bearer.push_str(&error);
        }
        let body = code.map_or_else(Vec::new, |c| {
            format!("{{\"error\":\"{}\"}}", c.as_str()).into_bytes()
        });
        let mut r = if body.is_empty() {
            Self::new(status, body)
        } else {
            Self::json_no_store(status, body)
        };
        r.cause = Some(Cause::Bearer(fault));
        let r = r.with_header("WWW-Authenticate", bearer);
        match dpop {
            None => r,
            Some((algs, _)) => {
                let mut challenge = String::from("DPoP algs=\"");
                challenge.push_str(algs);
                challenge.push('"');
                if !error.is_empty() && on_dpop {
                    challenge.push_str(", ");
                    challenge.push_str(&error);
                }
                r.with_header("WWW-Authenticate", challenge)
            }
        }
    }

    /// Adds the `resource_metadata` parameter (RFC 9728 §5.1) to each
    /// `WWW-Authenticate` challenge of a 401 answer: the URL of the
    /// protected resource's metadata document, so a client learns which
    /// authorization server to ask (RI-02). Whatever the scheme of the
    /// challenge (`Bearer`, `DPoP`), the parameter is appended to it; any
    /// other answer is left as it is. `url` is a `WebUrl` (no `"` or `\`
    /// survives its parser unescaped), and the header is checked again.
    pub(crate) fn with_resource_metadata(mut self, url: &str) -> Self {
        if self.status != 401 {
            return self;
        }
        let mut checked = Ok(());
        for (name, value) in &mut self.headers {
            if name.eq_ignore_ascii_case("WWW-Authenticate") {
                let mut v = value.to_string();
                v.push_str(", resource_metadata=\"");
                v.push_str(url);
                v.push('"');
                if let Err(e) = field::check(name, &v) {
                    checked = Err(e);
                }
                *value = Cow::Owned(v);
            }
        }
        match checked {
            Ok(()) => self,
            Err(e) => Self::or_server_error(Err(e)),
        }
    }

    /// The answer to a body over the configured limit (TOK-08). Adapters that
    /// stop reading at the limit send this.
    pub fn payload_too_large() -> Self {
        Self::from(&Error::InvalidRequest(RequestFault::BodyTooLarge))
    }
}

/// Writes `s` as a JSON string literal, escaping as RFC 8259 requires.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(s.as_bytes().get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(s.as_bytes().get(start..).unwrap_or_default());
    out.push(b'"');
}

impl From<&Error> for Response {
    fn from(error: &Error) -> Self {
        let code = error.code();
        let mut body = Vec::with_capacity(96);
        body.extend_from_slice(b"{\"error\":\"");
        body.extend_from_slice(code.as_str().as_bytes());
        body.extend_from_slice(b"\",\"error_description\":");
        push_json_str(&mut body, error.description());
        body.push(b'}');
        let mut r = Self::json_no_store(error.status(), body);
        r.cause = Some(error.cause());
        match error {
            // RFC 6749 §5.2: a failed Basic attempt answers with the scheme (TOK-06).
            Error::ClientAuthentication { via_basic: true } => {
                r.headers.push((
                    "WWW-Authenticate",
                    Cow::Borrowed("Basic realm=\"oauth\", charset=\"UTF-8\""),
                ));
            }
            Error::InvalidRequest(RequestFault::MethodNotAllowed) => {
                r.headers.push(("Allow", Cow::Borrowed("POST")));
            }
            // RFC 9110 §10.2.3: when to try again (RB-06).
            Error::Overloaded => {
                r.headers.push(("Retry-After", Cow::Borrowed("1")));
            }
            _ => {}
        }
        r
    }
}

impl From<Error> for Response {
    fn from(error: Error) -> Self {
        Self::from(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GrantFault;

    #[test]
    fn errors_are_json_and_never_cached() {
        // covers: TOK-05
        let r = Response::from(&Error::InvalidGrant(GrantFault::Expired));
        assert_eq!(r.status(), 400);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["error"], "invalid_grant");
        assert!(v["error_description"].is_string());
    }

    #[test]
    fn basic_failure_carries_www_authenticate() {
        // covers: TOK-06
        let r = Response::from(&Error::ClientAuthentication { via_basic: true });
        assert_eq!(r.status(), 401);
        assert!(
            r.header("WWW-Authenticate")
                .unwrap()
                .starts_with("Basic realm=")
        );
        let r = Response::from(&Error::ClientAuthentication { via_basic: false });
        assert_eq!(r.header("WWW-Authenticate"), None);
    }

    /// Every header of every response the core renders passes the checks
    /// `with_header` applies, so none of them can be refused by an adapter.
    #[test]
    fn every_rendered_header_is_valid() {
        let scope = crate::scope::ScopeSet::parse("read write").unwrap();
        let rendered = [
            Response::json_public(Vec::new()),
            Response::json_no_store(200, Vec::new()),
            Response::empty_no_store(200),
            Response::server_error(InternalFault::NotWired),
            Response::redirect("https://app.example/cb?code=x&state=y".into(), None),
            Response::error_page(&Error::InvalidGrant(GrantFault::Expired)),
            Response::bearer_challenge(BearerFault::Missing, None),
            Response::bearer_challenge(BearerFault::InsufficientScope, Some(&scope)),
            Response::payload_too_large(),
            Response::from(&Error::ClientAuthentication { via_basic: true }),
            Response::from(&Error::InvalidRequest(RequestFault::MethodNotAllowed)),
            Response::from(&Error::Overloaded),
        ];
        for r in rendered {
            for (name, value) in r.headers() {
                assert!(field::check(name, value).is_ok(), "{name}: {value:?}");
            }
        }
    }

    #[test]
    fn a_header_value_with_a_line_break_is_never_set() {
        let injected = "https://app.example/cb\r\nSet-Cookie: session=stolen";
        let r = Response::new(303, Vec::new()).try_with_header("Location", injected);
        assert_eq!(r.unwrap_err(), InvalidHeader::Value("Location"));
        for value in ["a\rb", "a\nb", "a\0b", "a\u{7f}b"] {
            let r = Response::new(200, b"ok".to_vec()).with_header("X-Custom", value);
            assert_eq!(r.status(), 500, "{value:?}");
            assert_eq!(r.header("X-Custom"), None);
            assert_eq!(r.error(), Some(ErrorCode::ServerError));
            let cause = Cause::Internal(InternalFault::InvalidResponse);
            assert_eq!(r.cause(), Some(cause));
            assert_eq!(r.header("cache-control"), Some("no-store"));
        }
        let r = Response::new(200, Vec::new()).with_header("Bad Name", "v");
        assert_eq!(r.status(), 500);
        assert_eq!(r.header("Bad Name"), None);
        // A valid value is kept as it is, tab and non-ASCII included.
        let r = Response::new(200, Vec::new()).with_header("X-Note", "a\tcaf\u{e9}");
        assert_eq!(r.header("x-note"), Some("a\tcaf\u{e9}"));
    }

    #[test]
    fn a_status_no_server_can_write_becomes_500() {
        for status in [0, 42, 99, 1000, u16::MAX] {
            assert_eq!(Response::new(status, b"x".to_vec()).status(), 500);
        }
        assert_eq!(Response::new(100, Vec::new()).status(), 100);
        assert_eq!(Response::new(599, Vec::new()).status(), 599);
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = Vec::new();
        push_json_str(&mut out, "a\"b\\c\u{1}d");
        assert_eq!(
            serde_json::from_slice::<String>(&out).unwrap(),
            "a\"b\\c\u{1}d"
        );
    }
}
