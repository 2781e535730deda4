//! Conversions between the core's [`Request`]/[`Response`] and the `http`
//! 1.x crate's types (feature `http`): the one translation every adapter on
//! `http` 1.x (axum, hyper, the `tower` service) shares.
//!
//! A core request borrows from the `http` request's head (method, query,
//! every header line) and from a body the adapter has already read. A core
//! response becomes an `http::Response` with its status, headers (in order,
//! repeats kept) and body; the core checks every status and header where it
//! is set, so nothing is dropped on the way.

use std::net::{IpAddr, SocketAddr};

use super::field::InvalidHeader;
use super::{Method, Request, Response, Source};

impl From<&http::Method> for Method {
    fn from(method: &http::Method) -> Self {
        Self::parse(method.as_str())
    }
}

impl<'a> Request<'a> {
    /// The core's view of an `http` request's head: method (and its name
    /// and the path, [`Request::with_target`]), query, every header line, and the peer's address as its [`Source`] when the
    /// server put it in the extensions (see [`Request::with_source`]). The
    /// body is not read (it may still be streaming): add the bytes read with
    /// [`Request::body`].
    pub fn from_http<B>(req: &'a http::Request<B>) -> Self {
        Self::from_head(req.method(), req.uri(), req.headers(), req.extensions())
    }

    /// As [`Request::from_http`], from a request split into its parts (e.g.
    /// to read the body while the head is kept).
    pub fn from_http_parts(parts: &'a http::request::Parts) -> Self {
        Self::from_head(&parts.method, &parts.uri, &parts.headers, &parts.extensions)
    }

    fn from_head(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Self {
        let mut req = Self::new(method.into()).with_target(method.as_str(), uri.path());
        if let Some(query) = uri.query() {
            req = req.query(query);
        }
        for (name, value) in headers {
            req = req.header(name.as_str(), value.as_bytes());
        }
        match peer(extensions) {
            Some(ip) => req.with_source(Source::Ip(ip)),
            None => req,
        }
    }
}

/// The connection's peer address, where the server recorded it: axum's
/// `ConnectInfo<SocketAddr>`, or a `SocketAddr` or `IpAddr` a hyper or
/// tower host inserted from its accept loop. Only the fact is translated:
/// no header is read here.
fn peer(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    extensions
        .get::<SocketAddr>()
        .map(SocketAddr::ip)
        .or_else(|| extensions.get::<IpAddr>().copied())
}

/// One header of a core response as the `http` crate's types.
fn header(
    name: &'static str,
    value: &str,
) -> Result<(http::HeaderName, http::HeaderValue), InvalidHeader> {
    let name_out =
        http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| InvalidHeader::Name(name))?;
    let value = http::HeaderValue::from_str(value).map_err(|_| InvalidHeader::Value(name))?;
    Ok((name_out, value))
}

/// Status and headers of a core response as the `http` crate's types.
fn head(resp: &Response) -> Result<(http::StatusCode, http::HeaderMap), InvalidHeader> {
    // `Response::new` keeps the status within 100–999, which `from_u16` takes.
    let status = http::StatusCode::from_u16(resp.status())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = http::HeaderMap::with_capacity(resp.headers().size_hint().0);
    for (name, value) in resp.headers() {
        let (name, value) = header(name, value)?;
        headers.append(name, value);
    }
    Ok((status, headers))
}

/// Writes the core's status, headers (in order, repeats kept) and body.
///
/// The core checked every header where it was set, so the conversion does
/// not fail; were a header ever refused all the same, the answer would be
/// the core's `500 server_error` and an error in the log, never a response
/// with the header silently left out.
impl<B: From<Vec<u8>>> From<Response> for http::Response<B> {
    fn from(resp: Response) -> Self {
        let (resp, (status, headers)) = match head(&resp) {
            Ok(head) => (resp, head),
            Err(e) => {
                tracing::error!(error = %e, "portcullis: response header refused by `http`; answering 500");
                let fallback = Response::server_error(crate::error::InternalFault::InvalidResponse);
                match head(&fallback) {
                    Ok(head) => (fallback, head),
                    Err(_) => (
                        fallback,
                        (
                            http::StatusCode::INTERNAL_SERVER_ERROR,
                            http::HeaderMap::new(),
                        ),
                    ),
                }
            }
        };
        let mut out = Self::new(B::from(resp.into_body()));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::field;
    use proptest::prelude::*;

    #[test]
    fn a_request_head_reaches_the_core() {
        let req = http::Request::post("/token?x=1")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Basic a")
            .header("authorization", "Basic b")
            .body(b"grant_type=client_credentials".to_vec())
            .unwrap();
        let core = Request::from_http(&req).body(req.body());
        assert_eq!(core.method(), Method::Post);
        assert_eq!(core.query_str(), Some("x=1"));
        assert_eq!(
            core.content_type(),
            super::super::Header::One(b"application/x-www-form-urlencoded")
        );
        // Every header line is passed on, so the core sees the repeat.
        assert_eq!(core.authorization(), super::super::Header::Repeated);
        assert_eq!(core.body_bytes(), b"grant_type=client_credentials");
        let (parts, _) = req.into_parts();
        assert_eq!(Request::from_http_parts(&parts).body_bytes(), b"");
    }

    #[test]
    fn the_dpop_header_method_and_path_reach_the_core() {
        // covers: DP-03
        let req = http::Request::patch("/api/items/7?x=1")
            .header("DPoP", "proof")
            .body(())
            .unwrap();
        let core = Request::from_http(&req);
        assert_eq!(core.dpop(), super::super::Header::One(b"proof"));
        assert_eq!(core.method_name(), Some("PATCH"));
        assert_eq!(core.path(), Some("/api/items/7"));
        let twice = http::Request::get("/")
            .header("dpop", "a")
            .header("DPoP", "b")
            .body(())
            .unwrap();
        assert_eq!(
            Request::from_http(&twice).dpop(),
            super::super::Header::Repeated
        );
    }

    #[test]
    fn the_peer_address_in_the_extensions_is_the_source() {
        // covers: RB-04
        let peer: SocketAddr = "198.51.100.4:5555".parse().unwrap();
        let mut req = http::Request::post("/token").body(()).unwrap();
        assert_eq!(Request::from_http(&req).source(), None);
        req.extensions_mut().insert(peer);
        assert_eq!(
            Request::from_http(&req).source(),
            Some(Source::Ip(peer.ip()))
        );
        // The host's own proxy knows better: its value wins.
        let client: IpAddr = "203.0.113.1".parse().unwrap();
        let core = Request::from_http(&req).with_source(Source::Ip(client));
        assert_eq!(core.source(), Some(Source::Ip(client)));
        let (mut parts, ()) = http::Request::post("/token").body(()).unwrap().into_parts();
        parts.extensions.insert(client);
        assert_eq!(
            Request::from_http_parts(&parts).source(),
            Some(Source::Ip(client))
        );
    }

    #[cfg(feature = "axum")]
    #[test]
    fn axum_connect_info_is_the_source() {
        // covers: RB-04
        let peer: SocketAddr = "[2001:db8::7]:443".parse().unwrap();
        let mut req = http::Request::post("/token").body(()).unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        assert_eq!(
            Request::from_http(&req).source(),
            Some(Source::Ip(peer.ip()))
        );
    }

    #[test]
    fn a_response_keeps_status_headers_in_order_and_body() {
        let core = Response::new(401, b"{}".to_vec())
            .with_header("WWW-Authenticate", "Basic realm=\"a\"")
            .with_header("WWW-Authenticate", "Bearer realm=\"b\"")
            .with_header("Cache-Control", "no-store");
        let out: http::Response<Vec<u8>> = core.into();
        assert_eq!(out.status(), 401);
        let challenges: Vec<_> = out.headers().get_all("www-authenticate").iter().collect();
        assert_eq!(challenges, ["Basic realm=\"a\"", "Bearer realm=\"b\""]);
        assert_eq!(out.headers()["cache-control"], "no-store");
        assert_eq!(out.body(), b"{}");
    }

    #[test]
    fn a_header_http_refuses_is_an_error_never_a_gap() {
        assert_eq!(
            header("X-A", "v\r\n").unwrap_err(),
            InvalidHeader::Value("X-A")
        );
        assert_eq!(header("X A", "v").unwrap_err(), InvalidHeader::Name("X A"));
        assert!(header("X-A", "v").is_ok());
    }

    proptest! {
        /// The core refuses exactly the header values the `http` crate
        /// refuses: nothing the core sets can be refused by a framework,
        /// and nothing valid is refused by the core.
        #[test]
        fn the_core_and_http_agree_on_header_values(value in any::<String>()) {
            prop_assert_eq!(
                field::valid_value(&value),
                http::HeaderValue::from_str(&value).is_ok()
            );
        }

        #[test]
        fn the_core_and_http_agree_on_header_bytes(bytes in proptest::collection::vec(0u8..0x80, 0..8)) {
            let value = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(
                field::valid_value(&value),
                http::HeaderValue::from_str(&value).is_ok()
            );
            prop_assert_eq!(
                field::valid_name(&value),
                http::HeaderName::from_bytes(value.as_bytes()).is_ok()
            );
        }
    }
}
