//! One DPoP proof of one request, checked in full: signature and header,
//! `htm`/`htu`/`iat`/`ath`, the server nonce when nonces are on, and the
//! single use of `jti` through the store's [`ReplayCache`](crate::ReplayCache),
//! which every instance shares.

use crate::context::Context;
use crate::dpop::nonce::Nonces;
use crate::dpop::proof::{self, Expect};
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::{DpopFault, Error, InternalFault};
use crate::stores::ReplayScope;

/// The request a proof came with.
pub(crate) struct Target<'a> {
    /// The HTTP method, as sent (`POST`).
    pub(crate) method: &'a str,
    /// The absolute URL the client addressed.
    pub(crate) url: &'a str,
    /// The access token presented with the proof (at a resource).
    pub(crate) access_token: Option<&'a str>,
}

/// The server's nonces, when `DpopConfig::nonce_secret` is set.
pub(crate) fn nonces(cx: &Context) -> Option<Nonces> {
    let dpop = &cx.config.dpop;
    dpop.nonce_secret
        .as_ref()
        .map(|s| Nonces::new(s.expose_secret(), dpop.nonce_lifetime))
}

/// The nonce to send in `DPoP-Nonce` now, when nonces are on.
pub(crate) fn current_nonce(cx: &Context) -> Option<String> {
    nonces(cx).map(|n| n.current(cx.clock.now()))
}

/// Verifies the proof `header` for `target`; the thumbprint of its key.
/// A bad proof is [`Error::InvalidDpopProof`], a missing or stale nonce
/// [`Error::UseDpopNonce`] (the caller sends `DPoP-Nonce`).
pub(crate) async fn verify(
    cx: &Context,
    header: &str,
    target: &Target<'_>,
) -> Result<JwkThumbprint, Error> {
    let config = &cx.config.dpop;
    let proof = proof::parse(header, &config.signing_algs).map_err(Error::InvalidDpopProof)?;
    let now = cx.clock.now();
    proof
        .check(&Expect {
            method: target.method,
            url: target.url,
            now,
            window: config.iat_window,
            access_token: target.access_token,
        })
        .map_err(Error::InvalidDpopProof)?;
    if let Some(nonces) = nonces(cx) {
        if !proof
            .nonce
            .as_deref()
            .is_some_and(|n| nonces.accepts(n, now))
        {
            return Err(Error::UseDpopNonce);
        }
    }
    // The builder requires a replay cache while DPoP is on.
    let replay = cx
        .replay
        .as_ref()
        .ok_or(Error::Internal(InternalFault::NotWired))?;
    let scope = ReplayScope::DpopProof(proof.jkt.clone());
    if !replay
        .first_use(&scope, &proof.jti, proof.replay_until(config.iat_window))
        .await?
    {
        return Err(Error::InvalidDpopProof(DpopFault::Replayed));
    }
    Ok(proof.jkt)
}
