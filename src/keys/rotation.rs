//! Key rotation (JW-01): a new key is published `key_publish_lead` before it
//! signs; the keys it replaces stop signing then and stay published for
//! `jwt_max_lifetime` more, so the JWKS never lacks the key of a live token.
//!
//! Rotation is per algorithm: a new key replaces only the keys of its own
//! algorithm, so the ring keeps a current key per algorithm (an RS256 key
//! for ID Tokens beside an ES256 key for access tokens, say; issue 16).

use std::time::Duration;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::keys::{Algorithm, KeyError, KeyId, KeyProvider, KeyRecord};
use crate::random::RandomSource;

/// What went wrong while rotating.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key provider failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No key provider was given to the builder.
    #[error("no key provider configured")]
    NoKeyProvider,
}

/// A fresh random key id.
pub(crate) fn new_kid(random: &dyn RandomSource) -> Result<KeyId, KeyError> {
    let mut b = [0u8; 12];
    random.fill(&mut b).map_err(|_| KeyError::Random)?;
    let mut s = String::with_capacity(24);
    for byte in b {
        s.push_str(&format!("{byte:02x}"));
    }
    KeyId::parse(&s).ok_or(KeyError::Random)
}

/// Adds `key`; every key of the same algorithm that signs now (or later)
/// without an end stops signing when `key` starts, and is dropped
/// `max_lifetime` after that. Keys of other algorithms are left alone.
pub(crate) async fn rotate_in(
    provider: &dyn KeyProvider,
    key: KeyRecord,
    max_lifetime: Duration,
) -> Result<KeyId, RotationError> {
    let starts = key.not_before;
    let kid = key.kid.clone();
    let current: Vec<KeyRecord> = provider
        .keys()
        .await?
        .into_iter()
        .filter(|k| k.alg == key.alg && k.not_after.is_none() && k.kid != kid)
        .collect();
    // Publish first, then retire: at no instant is there no signing key.
    provider.insert_key(key).await?;
    for old in current {
        provider
            .retire_key(&old.kid, starts, starts.plus(max_lifetime))
            .await?;
    }
    Ok(kid)
}

/// Generates a key of `alg` and rotates it in. With no current key (of any
/// algorithm: a server that publishes keys already may be cached by
/// resource servers and relying parties) it signs at once; otherwise
/// `lead` seconds from `now`. Returns the key and when it starts signing.
pub(crate) async fn rotate(
    provider: &dyn KeyProvider,
    random: &dyn RandomSource,
    alg: Algorithm,
    now: UnixTime,
    lead: Duration,
    max_lifetime: Duration,
) -> Result<(KeyId, UnixTime), RotationError> {
    let has_current = provider.keys().await?.iter().any(|k| k.not_after.is_none());
    let starts = if has_current { now.plus(lead) } else { now };
    let key = KeyRecord::generate(alg, new_kid(random)?, now, starts)?;
    Ok((rotate_in(provider, key, max_lifetime).await?, starts))
}

/// Deletes keys dropped from the JWKS before `now`; returns how many.
pub(crate) async fn purge(provider: &dyn KeyProvider, now: UnixTime) -> Result<u64, StoreError> {
    let mut n = 0;
    for k in provider.keys().await? {
        if !k.published_at(now) && provider.delete_key(&k.kid).await? {
            n += 1;
        }
    }
    Ok(n)
}
