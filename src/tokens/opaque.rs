//! Opaque tokens and codes: 256 bits from the CSPRNG, base64url-encoded (TK-01).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::random::{RandomError, RandomSource};
use crate::secret::Secret;
use crate::tokens::TokenHash;

/// Length of an encoded opaque token: 32 bytes in unpadded base64url.
pub(crate) const TOKEN_LEN: usize = 43;

/// A freshly minted opaque value and the hash a store keeps of it.
pub(crate) struct Minted {
    pub(crate) value: Secret<String>,
    pub(crate) hash: TokenHash,
}

/// 256 random bits, base64url-encoded, in a stack buffer.
pub(crate) struct Encoded([u8; TOKEN_LEN]);

impl Encoded {
    fn of(bytes: &[u8; 32]) -> Result<Self, RandomError> {
        let mut buf = [0u8; TOKEN_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut buf)
            .map_err(|_| RandomError)?;
        if n == TOKEN_LEN {
            Ok(Self(buf))
        } else {
            Err(RandomError)
        }
    }

    /// The encoded text (base64url is ASCII, so this never fails).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn minted(&self) -> Minted {
        let text = self.as_str();
        Minted {
            hash: TokenHash::of(text),
            value: Secret::new(text.to_owned()),
        }
    }
}

/// 256 random bits, encoded, without a hash: e.g. a JWT's `jti`.
pub(crate) fn random_value(random: &dyn RandomSource) -> Result<Encoded, RandomError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Encoded::of(&bytes)
}

/// Mints a 256-bit opaque token or code.
pub(crate) fn mint(random: &dyn RandomSource) -> Result<Minted, RandomError> {
    Ok(random_value(random)?.minted())
}

/// Mints two 256-bit opaque tokens (an access and a refresh token) from one
/// call to the random source: one system call instead of two. The bytes are
/// those two calls of 32 would have given, in order.
pub(crate) fn mint_pair(random: &dyn RandomSource) -> Result<(Minted, Minted), RandomError> {
    let mut bytes = [[0u8; 32]; 2];
    random.fill(bytes.as_flattened_mut())?;
    let [first, second] = &bytes;
    Ok((Encoded::of(first)?.minted(), Encoded::of(second)?.minted()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{DeterministicRandom, SystemRandom};

    #[test]
    fn tokens_carry_256_bits_and_hash_to_their_key() {
        // covers: TK-01
        let m = mint(&SystemRandom::new()).unwrap();
        assert_eq!(m.value.expose_secret().len(), TOKEN_LEN);
        let decoded = URL_SAFE_NO_PAD.decode(m.value.expose_secret()).unwrap();
        assert_eq!(decoded.len(), 32);
        assert_eq!(m.hash, TokenHash::of(m.value.expose_secret()));
        let other = mint(&SystemRandom::new()).unwrap();
        assert_ne!(m.hash, other.hash);
    }

    #[test]
    fn a_pair_is_two_mints_from_one_call() {
        let (a, b) = (DeterministicRandom::new(5), DeterministicRandom::new(5));
        let (x, y) = mint_pair(&a).unwrap();
        let (x2, y2) = (mint(&b).unwrap(), mint(&b).unwrap());
        assert_eq!(x.value.expose_secret(), x2.value.expose_secret());
        assert_eq!(y.value.expose_secret(), y2.value.expose_secret());
        assert_eq!((x.hash, y.hash), (x2.hash, y2.hash));
        assert_ne!(x.hash, y.hash);
        let jti = random_value(&SystemRandom::new()).unwrap();
        assert_eq!(jti.as_str().len(), TOKEN_LEN);
    }
}
