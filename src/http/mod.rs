//! The sans-IO boundary: the core's own request and response values. No
//! framework type crosses this line; adapters translate to and from these.

pub(crate) mod form;
mod request;
mod response;

pub use request::{Header, Method, Request};
pub use response::Response;
