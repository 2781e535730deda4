//! DPoP (RFC 9449; DP-01..03): proofs of possession of a client's key,
//! tokens bound to that key's thumbprint, and stateless server nonces.
//!
//! `proof.rs` parses and verifies a proof, `htu.rs` compares URLs,
//! `thumbprint.rs` names keys, `nonce.rs` makes and checks nonces, and
//! `verify.rs` runs all of it for a request with the replay cache.

pub(crate) mod htu;
pub(crate) mod nonce;
pub(crate) mod proof;
pub(crate) mod thumbprint;
pub(crate) mod verify;
