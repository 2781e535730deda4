//! Hashing and verifying client secrets (CA-05), and generating them.
//!
//! Generated secrets carry 256 bits of entropy, so a single SHA-256 is as
//! strong as any slow hash for them and keeps client authentication off the
//! critical path. Secrets chosen by people (seed files, operators) get
//! PBKDF2-HMAC-SHA256 with a random salt instead.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::conversions::{ParseError, deserialize_from_str, try_from_str};
use crate::random::{RandomError, RandomSource};
use crate::secret::{Secret, constant_time_eq_32};

/// PBKDF2 iterations for people-chosen secrets and passwords (OWASP 2023
/// guidance for PBKDF2-HMAC-SHA256).
pub const PBKDF2_DEFAULT_ITERATIONS: NonZeroU32 = match NonZeroU32::new(600_000) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// The stored form of a client secret or password. `Debug` is redacted; the
/// encoded form (for databases) comes from [`SecretHash::encode`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    Sha256([u8; 32]),
    Pbkdf2 {
        iterations: NonZeroU32,
        salt: [u8; 16],
        hash: [u8; 32],
    },
}

impl SecretHash {
    /// SHA-256 of a high-entropy (generated) secret.
    pub fn sha256(secret: &str) -> Self {
        Self(Kind::Sha256(sha256(secret.as_bytes())))
    }

    /// PBKDF2-HMAC-SHA256 with a fresh 128-bit salt: for secrets and
    /// passwords chosen by people.
    pub fn pbkdf2(
        secret: &str,
        iterations: NonZeroU32,
        random: &dyn RandomSource,
    ) -> Result<Self, RandomError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt)?;
        let mut hash = [0u8; 32];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            secret.as_bytes(),
            &mut hash,
        );
        Ok(Self(Kind::Pbkdf2 {
            iterations,
            salt,
            hash,
        }))
    }

    /// A PBKDF2 hash that no secret matches, for an account that does not
    /// exist: verifying against it costs what checking a real hash of
    /// `iterations` rounds costs, so timing does not tell an unknown account
    /// from a wrong secret. Costs nothing to make (its salt and hash are
    /// zeros; a salt is pointless where nothing can match).
    pub fn decoy(iterations: NonZeroU32) -> Self {
        Self(Kind::Pbkdf2 {
            iterations,
            salt: [0; 16],
            hash: [0; 32],
        })
    }

    /// Whether checking a secret against this hash is slow work (PBKDF2)
    /// that belongs on a [`HashPool`](crate::HashPool), not on an async
    /// executor's thread. A SHA-256 check is not.
    pub fn is_slow(&self) -> bool {
        matches!(self.0, Kind::Pbkdf2 { .. })
    }

    /// Whether `presented` is the secret; constant-time in its content.
    ///
    /// For a [slow](SecretHash::is_slow) hash this blocks the calling thread
    /// for the whole PBKDF2: in async code, run it on a
    /// [`HashPool`](crate::HashPool).
    pub fn verify(&self, presented: &str) -> bool {
        match &self.0 {
            Kind::Sha256(h) => constant_time_eq_32(h, &sha256(presented.as_bytes())),
            Kind::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => ring::pbkdf2::verify(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                *iterations,
                salt,
                presented.as_bytes(),
                hash,
            )
            .is_ok(),
        }
    }

    /// The storable text form: `sha256$<b64>` or
    /// `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
    pub fn encode(&self) -> String {
        match &self.0 {
            Kind::Sha256(h) => format!("sha256${}", URL_SAFE_NO_PAD.encode(h)),
            Kind::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => format!(
                "pbkdf2-sha256${iterations}${}${}",
                URL_SAFE_NO_PAD.encode(salt),
                URL_SAFE_NO_PAD.encode(hash)
            ),
        }
    }

    /// Parses the form written by [`SecretHash::encode`]; `None` if it is
    /// not one. `str::parse` and `TryFrom` say what is wrong.
    pub fn decode(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// Parses the form written by [`SecretHash::encode`]. There is no
/// `Display`: the encoded hash is for databases, not for logs. With the
/// `serde` feature it serialises as the encoded string, never as a secret.
impl FromStr for SecretHash {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "secret hash";
        let bytes = ParseError::new(WHAT, "a salt or hash is not base64url of the right length");
        let parts: Vec<&str> = s.split('$').collect();
        match parts.as_slice() {
            ["sha256", h] => Ok(Self(Kind::Sha256(b64_array(h).ok_or(bytes)?))),
            ["pbkdf2-sha256", i, salt, hash] => Ok(Self(Kind::Pbkdf2 {
                iterations: i.parse().map_err(|_| {
                    ParseError::new(WHAT, "the iteration count is not a positive integer")
                })?,
                salt: b64_array(salt).ok_or(bytes)?,
                hash: b64_array(hash).ok_or(bytes)?,
            })),
            _ => Err(ParseError::new(
                WHAT,
                "is not sha256$HASH or pbkdf2-sha256$ITERATIONS$SALT$HASH",
            )),
        }
    }
}

try_from_str!(SecretHash);
deserialize_from_str!(SecretHash);

#[cfg(feature = "serde")]
impl serde::Serialize for SecretHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Sha256(_) => "SecretHash(sha256, [redacted])",
            Kind::Pbkdf2 { .. } => "SecretHash(pbkdf2-sha256, [redacted])",
        })
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn b64_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
}

/// Generates a client secret with 256 bits of entropy (CA-05) and its hash.
/// Show the secret to the operator once; store only the hash.
pub fn generate_secret(
    random: &dyn RandomSource,
) -> Result<(Secret<String>, SecretHash), RandomError> {
    let minted = crate::tokens::opaque::mint(random)?;
    let hash = SecretHash::sha256(minted.value.expose_secret());
    Ok((minted.value, hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    #[test]
    fn generated_secrets_are_256_bit_and_verify() {
        // covers: CA-05
        let (secret, hash) = generate_secret(&SystemRandom::new()).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(secret.expose_secret())
                .unwrap()
                .len(),
            32
        );
        assert!(hash.verify(secret.expose_secret()));
        assert!(!hash.verify("wrong"));
        assert!(!format!("{hash:?}").contains(&hash.encode()));
    }

    #[test]
    fn encode_decode_round_trip() {
        let h = SecretHash::sha256("s3cret");
        assert_eq!(SecretHash::decode(&h.encode()), Some(h));
        let iters = NonZeroU32::new(10).unwrap();
        let p = SecretHash::pbkdf2("pw", iters, &SystemRandom::new()).unwrap();
        let back = SecretHash::decode(&p.encode()).unwrap();
        assert!(back.verify("pw"));
        assert!(!back.verify("pw2"));
        assert_eq!(SecretHash::decode("md5$abc"), None);
    }
}
