//! Framework adapters: translation between a framework's request and
//! response types and the core's. No OAuth rule and no HTTP decision lives
//! here: the endpoint paths, the methods each answers, the body limit and
//! the 404/405/413/500 answers are the core's ([`crate::routes`]).
//!
//! [`tower`] is the one HTTP boundary on the `http` 1.x crate: a
//! `tower::Service` over the endpoints and a bearer-token `tower::Layer`.
//! [`axum`] and [`hyper`] are thin layers over it; [`actix`] keeps its own
//! small bridge, actix-web being on `http` 0.2.
//!
//! Every adapter behaves the same on the wire:
//! - every header line is passed to [`crate::http::Request::header`], so a
//!   repeated `Authorization` or `Content-Type` reaches the core, which
//!   refuses it;
//! - a body whose `Content-Length` exceeds `Config::max_body_size` is refused
//!   with [`crate::http::Response::payload_too_large`] before any of it is
//!   read, and an undeclared one is read only up to the limit;
//! - the response is the core's status, headers (in order, repeats kept) and
//!   body, nothing added but what the HTTP server itself writes.

#[cfg(feature = "actix-web")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tower")]
pub mod tower;
