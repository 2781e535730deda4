//! Framework adapters: translation between a framework's request and
//! response types and the core's. No OAuth rule lives here.

#[cfg(feature = "axum")]
pub mod axum;
