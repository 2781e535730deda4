//! Protocol tests through the public API: one module per endpoint or grant.
//! Each test names the requirement IDs of `docs/requirements.md` it proves
//! with a `// covers:` line.

// Tests state their expectations with unwrap/expect/panic and index JSON
// values; the crate-wide denials of these are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod assertion;
mod authorization_code;
mod authorize;
mod boundary;
mod builder;
mod client_auth;
mod client_credentials;
mod concurrency;
mod conversions;
mod device;
mod dpop;
mod end_session;
mod events;
mod extension_grant;
mod fapi2;
mod faults;
mod fuzz_seeds;
mod id_token;
mod id_token_flow;
mod introspect;
mod jar;
mod jwks_uri;
mod jwt;
mod metadata;
mod openid_authorize;
mod par;
mod password;
mod redaction;
mod refresh_token;
// Refresh retry window (issue 18).
mod refresh_retry;
mod resources;
mod revoke;
mod robustness;
mod slow_hashes;
mod throttle;
mod token;
mod token_exchange;
mod token_exchange_tokens;
mod tokens;
mod userinfo;
// The full client model (issue 19).
mod client_model;
// Dynamic client registration (issue 19 part 2).
mod registration;
// CORS (issue 19 part 3, CO-01).
mod cors;
