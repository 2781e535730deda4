//! Token values and their hashes. Opaque tokens and codes are stored only as
//! `TokenHash` (TK-02): a copy of a store yields no usable token.

pub(crate) mod actor;
pub(crate) mod claims;
pub(crate) mod jwt;
pub(crate) mod opaque;
pub(crate) mod user_code;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// The format of a client's access tokens.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AccessTokenFormat {
    /// 256 random bits, stored as a hash (the default).
    #[default]
    Opaque,
    /// An RFC 9068 JWT signed with the server's current key (TK-03).
    Jwt,
}

impl AccessTokenFormat {
    /// The wire/config name: `opaque` or `jwt`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// Parses `opaque` or `jwt`; `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl FromStr for AccessTokenFormat {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "opaque" => Ok(Self::Opaque),
            "jwt" => Ok(Self::Jwt),
            _ => Err(ParseError::new(
                "access token format",
                "is not opaque or jwt",
            )),
        }
    }
}

impl fmt::Display for AccessTokenFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SHA-256 of a token or code string: the key under which stores keep it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a presented token or code.
    pub fn of(token: &str) -> Self {
        let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// From stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for SQL stores and logs (the hash is not a secret).
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Parses lower- or upper-case hex; `None` if it is not 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// 64 hex digits, lower- or upper-case.
impl FromStr for TokenHash {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = ParseError::new("token hash", "is not 64 hexadecimal digits");
        if s.len() != 64 {
            return Err(err);
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let digits = std::str::from_utf8(pair).map_err(|_| err)?;
            *o = u8::from_str_radix(digits, 16).map_err(|_| err)?;
        }
        Ok(Self(out))
    }
}

/// Lower-case hex, as [`TokenHash::to_hex`]. (`Debug` shows only a prefix.)
impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "TokenHash({}…)", hex.get(..12).unwrap_or_default())
    }
}

/// Identifies one grant: the family of a code and every access and refresh
/// token descending from it, so the whole family can be revoked at once
/// (AC-02, RT-02, RV-02).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

impl GrantId {
    /// Derives the grant id from the hash of the first secret of the grant
    /// (its code, or its first access token): unique without extra randomness.
    pub fn derive(first: &TokenHash) -> Self {
        let mut out = [0u8; 16];
        out.copy_from_slice(first.0.get(..16).unwrap_or(&[0u8; 16]));
        Self(out)
    }

    /// From stored bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Base64url form, for SQL stores and logs.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

/// Unpadded base64url of the 16 bytes (22 characters), as
/// [`GrantId::to_base64`].
impl FromStr for GrantId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut out = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut out) {
            Ok(16) if s.len() == 22 => Ok(Self(out)),
            _ => Err(ParseError::new(
                "grant id",
                "is not 16 bytes in unpadded base64url",
            )),
        }
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The raw 16 bytes, as a store keeps them.
impl TryFrom<&[u8]> for GrantId {
    type Error = ParseError;

    fn try_from(bytes: &[u8]) -> Result<Self, ParseError> {
        <[u8; 16]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ParseError::new("grant id", "is not 16 bytes"))
    }
}

/// The raw 32-byte digest, as a store keeps it.
impl TryFrom<&[u8]> for TokenHash {
    type Error = ParseError;

    fn try_from(bytes: &[u8]) -> Result<Self, ParseError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ParseError::new("token hash", "is not 32 bytes"))
    }
}

try_from_str!(AccessTokenFormat, TokenHash, GrantId);
serde_as_str!(AccessTokenFormat, TokenHash, GrantId);

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({})", self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trips() {
        let h = TokenHash::of("abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
        assert!(!format!("{h:?}").contains(&h.to_hex()));
    }
}
