//! RSA key generation for RS256 (feature `rsa-keygen`): `ring` signs with
//! RSA keys but cannot make them, so the RustCrypto `rsa` crate makes the
//! primes and encodes the PKCS#8 document, and nothing else. Every private
//! key operation (signing) stays in `ring`, which loads the document like an
//! imported key.

use rsa::pkcs8::EncodePrivateKey as _;
use rsa::rand_core::{CryptoRng, RngCore};

/// The modulus size of a generated RS256 key: 2048 bits, what RFC 7518
/// §3.3 requires at least and what relying parties expect.
pub(crate) const RSA_BITS: usize = 2048;

/// A fresh RSA private key of `bits`, as PKCS#8 DER; `None` if the random
/// source failed (or, never for our sizes, `rsa` refused).
pub(crate) fn generate_pkcs8(bits: usize) -> Option<Vec<u8>> {
    let mut rng = RingRng { failed: false };
    let key = rsa::RsaPrivateKey::new(&mut rng, bits).ok()?;
    // A failed fill left zeros in the candidate primes: refuse the key.
    if rng.failed {
        return None;
    }
    let der = key.to_pkcs8_der().ok()?;
    Some(der.as_bytes().to_vec())
}

/// `rand_core`'s traits over `ring`'s OS CSPRNG, the one `ring`'s own key
/// generation uses. `RngCore::fill_bytes` cannot report a failure, so one is
/// remembered and the key refused afterwards.
struct RingRng {
    failed: bool,
}

impl RngCore for RingRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if ring::rand::SecureRandom::fill(crate::random::ring_rng(), dest).is_err() {
            self.failed = true;
            dest.fill(0);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        if self.failed {
            Err(rsa::rand_core::Error::from(
                std::num::NonZeroU32::new(rsa::rand_core::Error::CUSTOM_START)
                    .unwrap_or(std::num::NonZeroU32::MIN),
            ))
        } else {
            Ok(())
        }
    }
}

impl CryptoRng for RingRng {}
