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

/// Mints a 256-bit opaque token or code.
pub(crate) fn mint(random: &dyn RandomSource) -> Result<Minted, RandomError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    let mut buf = [0u8; TOKEN_LEN];
    let n = URL_SAFE_NO_PAD
        .encode_slice(bytes, &mut buf)
        .map_err(|_| RandomError)?;
    let text = std::str::from_utf8(buf.get(..n).unwrap_or_default()).map_err(|_| RandomError)?;
    Ok(Minted {
        hash: TokenHash::of(text),
        value: Secret::new(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

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
}
