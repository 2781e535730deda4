//! Injectable randomness: the OS CSPRNG through `ring` by default, a
//! deterministic sequence for tests (in [`crate::dangerous`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// The random source failed (the OS refused to provide entropy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("random source failed")]
pub struct RandomError;

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync + 'static {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's CSPRNG, through `ring`.
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl SystemRandom {
    /// The OS CSPRNG.
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomSource for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        ring::rand::SecureRandom::fill(&self.0, dest).map_err(|_| RandomError)
    }
}

/// ring's own CSPRNG, for the few ring APIs that take it directly (ECDSA
/// nonces, key generation); its `SecureRandom` trait is sealed, so the
/// injected [`RandomSource`] cannot stand in there.
#[allow(clippy::disallowed_methods)]
pub(crate) fn ring_rng() -> &'static ring::rand::SystemRandom {
    static RNG: std::sync::OnceLock<ring::rand::SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(ring::rand::SystemRandom::new)
}

/// A deterministic, **insecure** byte sequence for reproducible tests: every
/// call yields the next bytes of a SplitMix64 stream from a seed. Never use
/// it to issue real tokens; it is reachable only as
/// [`crate::dangerous::DeterministicRandom`].
#[derive(Debug)]
pub struct DeterministicRandom(AtomicU64);

impl DeterministicRandom {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }
}

impl RandomSource for DeterministicRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        for chunk in dest.chunks_mut(8) {
            let state = self
                .0
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(bytes) {
                *d = s;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_source_repeats_from_the_same_seed() {
        let (a, b) = (DeterministicRandom::new(7), DeterministicRandom::new(7));
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        a.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn system_random_fills() {
        let mut x = [0u8; 32];
        SystemRandom::new().fill(&mut x).unwrap();
        assert_ne!(x, [0u8; 32]);
    }
}
