//! User codes of the device authorization grant (RFC 8628 §6.1): eight
//! characters of the unambiguous alphabet `BCDFGHJKLMNPQRSTVWXZ` (no
//! vowels, so no words; no digits, so nothing reads as another
//! character), shown as `XXXX-XXXX`, matched case- and dash-insensitively,
//! and stored only as a hash (DV-01).
//!
//! Entropy: 20⁸ ≈ 2.56 × 10¹⁰ codes, 34.5 bits. A guess hits one of *N*
//! live codes with probability *N* / 20⁸; how many guesses the throttle
//! allows is in `endpoints/device_verification.rs` and `docs/device-flow.md`.

use crate::random::{RandomError, RandomSource};
use crate::secret::Secret;
use crate::tokens::TokenHash;

/// RFC 8628 §6.1's example alphabet: consonants only, uppercase.
pub(crate) const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Characters of a user code, without the dash.
pub(crate) const LEN: usize = 8;

/// The hash domain of user codes, apart from every other hash we keep.
const DOMAIN: &str = "portcullis user code:";

/// A user code in its canonical form: [`LEN`] characters of [`ALPHABET`].
pub(crate) struct UserCode([u8; LEN]);

impl UserCode {
    /// Draws a code from `random`, uniformly: bytes of 240 and above are
    /// rejected (240 = 12 × 20), so every character is equally likely.
    pub(crate) fn generate(random: &dyn RandomSource) -> Result<Self, RandomError> {
        let mut code = [0u8; LEN];
        let mut filled = 0;
        // Each byte is kept with probability 240/256: 32 bytes fall short
        // of 8 kept ones with negligible probability, and the loop draws
        // again if they do; a source that keeps giving bytes over 239 is
        // broken, and refused after a few rounds.
        for _ in 0..8 {
            if filled == LEN {
                break;
            }
            let mut bytes = [0u8; 32];
            random.fill(&mut bytes)?;
            for b in bytes.into_iter().filter(|b| *b < 240) {
                let Some(slot) = code.get_mut(filled) else {
                    break;
                };
                *slot = *ALPHABET.get(usize::from(b % 20)).ok_or(RandomError)?;
                filled += 1;
            }
        }
        if filled < LEN {
            return Err(RandomError);
        }
        Ok(Self(code))
    }

    /// Parses what a user typed: case, dashes, spaces and tabs are
    /// ignored; anything else must be [`LEN`] characters of the alphabet.
    pub(crate) fn parse(typed: &str) -> Option<Self> {
        let mut code = [0u8; LEN];
        let mut n = 0;
        for c in typed.bytes() {
            if matches!(c, b'-' | b' ' | b'\t') {
                continue;
            }
            let c = c.to_ascii_uppercase();
            if !ALPHABET.contains(&c) {
                return None;
            }
            *code.get_mut(n)? = c;
            n += 1;
        }
        (n == LEN).then_some(Self(code))
    }

    /// The hash a store keeps and looks the code up by.
    pub(crate) fn hash(&self) -> TokenHash {
        let mut text = String::with_capacity(DOMAIN.len() + LEN);
        text.push_str(DOMAIN);
        text.push_str(self.canonical());
        TokenHash::of(&text)
    }

    /// The eight characters, without the dash.
    fn canonical(&self) -> &str {
        // Only alphabet bytes (ASCII) are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// As shown to the user: `XXXX-XXXX`.
    pub(crate) fn display(&self) -> Secret<String> {
        let c = self.canonical();
        let (a, b) = c.split_at(LEN / 2);
        Secret::new(format!("{a}-{b}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{DeterministicRandom, SystemRandom};

    #[test]
    fn codes_are_eight_letters_of_the_alphabet_shown_with_a_dash() {
        // covers: DV-01
        let code = UserCode::generate(&SystemRandom::new()).unwrap();
        let shown = code.display().into_inner();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        assert!(
            shown
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| ALPHABET.contains(&b))
        );
        // Case-, dash- and space-insensitive.
        let typed = format!(" {} ", shown.to_lowercase().replace('-', " - "));
        assert_eq!(UserCode::parse(&typed).unwrap().hash(), code.hash());
        assert_eq!(
            UserCode::parse(&shown.replace('-', "")).unwrap().hash(),
            code.hash()
        );
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for s in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA",
            "BCDF-GHJ1",
            "BCDFGHJ\u{e9}",
        ] {
            assert!(UserCode::parse(s).is_none(), "{s}");
        }
        assert!(UserCode::parse("bcdf-ghjk").is_some());
    }

    #[test]
    fn every_character_is_used() {
        let random = DeterministicRandom::new(7);
        let mut seen = [false; 20];
        for _ in 0..200 {
            let code = UserCode::generate(&random).unwrap();
            for c in code.0 {
                let i = ALPHABET.iter().position(|a| *a == c).unwrap();
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
    }
}
