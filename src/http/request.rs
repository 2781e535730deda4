//! `Request<'a>`: one HTTP request as the core sees it, borrowed from the
//! adapter's buffers so nothing is copied.

/// The HTTP method, reduced to what the endpoints distinguish.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `HEAD`
    Head,
    /// `PUT` (the client configuration endpoint, RFC 7592 §2.2).
    Put,
    /// `DELETE` (the client configuration endpoint, RFC 7592 §2.3).
    Delete,
    /// `OPTIONS`: a CORS preflight, answered for every endpoint by
    /// [`AuthorizationServer::handle`](crate::AuthorizationServer::handle).
    Options,
    /// Any other method.
    Other,
}

impl Method {
    /// Parses a method name (case-sensitive, as HTTP methods are).
    pub fn parse(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "HEAD" => Self::Head,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// One header the core reads: absent, present once (raw bytes, validated by
/// the core), or repeated (always refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Header<'a> {
    /// Not sent.
    #[default]
    Absent,
    /// Sent once with these bytes.
    One(&'a [u8]),
    /// Sent more than once.
    Repeated,
}

impl<'a> Header<'a> {
    fn add(&mut self, value: &'a [u8]) {
        *self = match self {
            Self::Absent => Self::One(value),
            _ => Self::Repeated,
        };
    }
}

use super::source::Source;

/// One HTTP request as the core sees it.
///
/// Adapters build it with [`Request::new`], feed every header through
/// [`Request::header`] (the core keeps the ones it reads) and attach the query
/// string and body. Nothing is copied.
///
/// ```
/// use portcullis::http::{Method, Request};
/// let req = Request::new(Method::Post)
///     .header("Content-Type", b"application/x-www-form-urlencoded")
///     .body(b"grant_type=client_credentials");
/// assert_eq!(req.method(), Method::Post);
/// ```
#[derive(Clone, Copy)]
pub struct Request<'a> {
    method: Method,
    query: Option<&'a str>,
    content_type: Header<'a>,
    authorization: Header<'a>,
    body: &'a [u8],
    source: Option<Source<'a>>,
    /// The `DPoP` header (RFC 9449 §4.1).
    dpop: Header<'a>,
    /// The method as sent and the path, from the adapter.
    target: Option<(&'a str, &'a str)>,
    /// The absolute URL the client addressed, from the host.
    url: Option<&'a str>,
    /// The CORS request headers (Fetch standard): `Origin`,
    /// `Access-Control-Request-Method`, `Access-Control-Request-Headers`.
    cors: CorsHeaders<'a>,
}

/// The headers a browser adds to a cross-origin request (CORS, CO-01).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CorsHeaders<'a> {
    origin: Header<'a>,
    request_method: Header<'a>,
    request_headers: Header<'a>,
}

/// `Debug` shows the request's shape only: the query, the `Authorization`
/// header and the body may carry secrets, so only their sizes are shown (RB-03).
impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let authorization = match self.authorization {
            Header::Absent => "absent",
            Header::One(_) => "[redacted]",
            Header::Repeated => "repeated",
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("query_len", &self.query.map(str::len))
            .field("content_type", &self.content_type)
            .field("authorization", &authorization)
            .field("body_len", &self.body.len())
            .field("source", &self.source)
            .field("dpop", &!matches!(self.dpop, Header::Absent))
            .field("target", &self.target)
            // A URL may carry a query, shown by size only like the request's.
            .field("url_len", &self.url.map(str::len))
            // An origin is public: browsers send it on every cross-origin call.
            .field("cors", &self.cors)
            .finish()
    }
}

impl<'a> Request<'a> {
    /// An empty request with this method.
    pub const fn new(method: Method) -> Self {
        Self {
            method,
            query: None,
            content_type: Header::Absent,
            authorization: Header::Absent,
            body: &[],
            source: None,
            dpop: Header::Absent,
            target: None,
            url: None,
            cors: CorsHeaders {
                origin: Header::Absent,
                request_method: Header::Absent,
                request_headers: Header::Absent,
            },
        }
    }

    /// Adds one header. Names match case-insensitively; headers the core does
    /// not read are ignored, so adapters may pass every header they have.
    #[must_use]
    pub fn header(mut self, name: &str, value: &'a [u8]) -> Self {
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type.add(value);
        } else if name.eq_ignore_ascii_case("authorization") {
            self.authorization.add(value);
        } else if name.eq_ignore_ascii_case("dpop") {
            self.dpop.add(value);
        } else if name.eq_ignore_ascii_case("origin") {
            self.cors.origin.add(value);
        } else if name.eq_ignore_ascii_case("access-control-request-method") {
            self.cors.request_method.add(value);
        } else if name.eq_ignore_ascii_case("access-control-request-headers") {
            self.cors.request_headers.add(value);
        }
        self
    }

    /// Sets the query string (without the leading `?`).
    #[must_use]
    pub const fn query(mut self, query: &'a str) -> Self {
        self.query = Some(query);
        self
    }

    /// Sets the body bytes.
    #[must_use]
    pub const fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// Sets who sent the request, for the brute-force
    /// [`Throttle`](crate::Throttle) (RB-04). The adapters set the
    /// connection's peer address where their framework gives it: actix-web's
    /// `peer_addr`; on `http` 1.x ([`Request::from_http`]) an
    /// `axum::extract::ConnectInfo<SocketAddr>` (axum's
    /// `into_make_service_with_connect_info`), a `SocketAddr` or an `IpAddr`
    /// in the request's extensions. Behind the host's own proxy, call this
    /// afterwards with the client's address as the proxy reported it: the
    /// last call wins.
    ///
    /// ```
    /// use portcullis::http::{Method, Request, Source};
    /// let ip = "203.0.113.9".parse().unwrap();
    /// let req = Request::new(Method::Post).with_source(Source::Ip(ip));
    /// assert_eq!(req.source(), Some(Source::Ip(ip)));
    /// ```
    #[must_use]
    pub const fn with_source(mut self, source: Source<'a>) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the method exactly as sent (`PUT`, `PATCH`, …) and the request
    /// path (without the query): what a DPoP proof's `htm` and `htu` name
    /// (RFC 9449 §4.3). Every shipped adapter sets them.
    ///
    /// ```
    /// use portcullis::http::{Method, Request};
    /// let req = Request::new(Method::Other).with_target("PUT", "/api/items/7");
    /// assert_eq!(req.method_name(), Some("PUT"));
    /// assert_eq!(req.path(), Some("/api/items/7"));
    /// ```
    #[must_use]
    pub const fn with_target(mut self, method: &'a str, path: &'a str) -> Self {
        self.target = Some((method, path));
        self
    }

    /// Sets the absolute URL the client addressed (scheme, host, port and
    /// path; a query is ignored), for a host that knows it, e.g. behind a
    /// proxy: a DPoP proof's `htu` must name it. Without it, bearer
    /// validation takes `DpopConfig::resource_base_url` (default: the
    /// issuer's origin) followed by the request's path.
    #[must_use]
    pub const fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The method as sent: the one given to [`Request::with_target`], else
    /// the name of [`Request::method`] (`None` for [`Method::Other`]).
    pub const fn method_name(&self) -> Option<&'a str> {
        match (self.target, self.method) {
            (Some((m, _)), _) => Some(m),
            (None, Method::Get) => Some("GET"),
            (None, Method::Post) => Some("POST"),
            (None, Method::Head) => Some("HEAD"),
            (None, Method::Put) => Some("PUT"),
            (None, Method::Delete) => Some("DELETE"),
            (None, Method::Options) => Some("OPTIONS"),
            (None, _) => None,
        }
    }

    /// The request path, if the adapter said.
    pub const fn path(&self) -> Option<&'a str> {
        match self.target {
            Some((_, p)) => Some(p),
            None => None,
        }
    }

    /// The absolute URL the host said the client addressed.
    pub const fn url(&self) -> Option<&'a str> {
        self.url
    }

    /// The `DPoP` header (RFC 9449): a proof JWT, refused when repeated.
    pub const fn dpop(&self) -> Header<'a> {
        self.dpop
    }

    /// Who sent the request, if the host or adapter said.
    pub const fn source(&self) -> Option<Source<'a>> {
        self.source
    }

    /// The method.
    pub const fn method(&self) -> Method {
        self.method
    }

    /// The query string, if any.
    pub const fn query_str(&self) -> Option<&'a str> {
        self.query
    }

    /// The `Content-Type` header.
    pub const fn content_type(&self) -> Header<'a> {
        self.content_type
    }

    /// The `Authorization` header.
    pub const fn authorization(&self) -> Header<'a> {
        self.authorization
    }

    /// The body bytes.
    pub const fn body_bytes(&self) -> &'a [u8] {
        self.body
    }

    /// The `Origin` header (RFC 6454 §7): the web origin of the page that
    /// made a cross-origin request.
    pub const fn origin(&self) -> Header<'a> {
        self.cors.origin
    }

    /// The `Access-Control-Request-Method` header of a CORS preflight.
    pub const fn access_control_request_method(&self) -> Header<'a> {
        self.cors.request_method
    }

    /// The `Access-Control-Request-Headers` header of a CORS preflight.
    pub const fn access_control_request_headers(&self) -> Header<'a> {
        self.cors.request_headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_case_insensitively_and_repeats_are_marked() {
        let r = Request::new(Method::Post)
            .header("content-TYPE", b"a")
            .header("Authorization", b"x")
            .header("authorization", b"y")
            .header("X-Other", b"z")
            .header("dpop", b"p")
            .header("DPoP", b"q");
        assert_eq!(r.content_type(), Header::One(b"a"));
        assert_eq!(r.authorization(), Header::Repeated);
        assert_eq!(r.dpop(), Header::Repeated);
        let once = Request::new(Method::Post).header("DPoP", b"p");
        assert_eq!(once.dpop(), Header::One(b"p"));
    }

    #[test]
    fn cors_headers_are_kept() {
        // covers: CO-01
        let r = Request::new(Method::parse("OPTIONS"))
            .header("origin", b"https://app.example")
            .header("Access-Control-Request-Method", b"POST")
            .header("access-control-request-headers", b"authorization,dpop");
        assert_eq!(r.method(), Method::Options);
        assert_eq!(r.method_name(), Some("OPTIONS"));
        assert_eq!(r.origin(), Header::One(b"https://app.example"));
        assert_eq!(r.access_control_request_method(), Header::One(b"POST"));
        assert_eq!(
            r.access_control_request_headers(),
            Header::One(b"authorization,dpop")
        );
        let twice = r.header("Origin", b"https://evil.example");
        assert_eq!(twice.origin(), Header::Repeated);
    }
}
