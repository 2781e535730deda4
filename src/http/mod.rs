//! The sans-IO boundary: the core's own request and response values. No
//! framework type crosses this line; adapters translate to and from these.
//!
//! With the `http` feature, the conversions to and from the `http` 1.x
//! crate's types live here too (`Request::from_http`,
//! `Request::from_http_parts`, `From<Response> for http::Response<B>`), so
//! every adapter on `http` 1.x translates the same way.

#[cfg(feature = "http")]
mod convert;
mod field;
pub(crate) mod form;
mod request;
mod response;
mod source;

pub use field::InvalidHeader;
pub use request::{Header, Method, Request};
pub use response::Response;
pub use source::Source;
