//! `GrantType`: the `grant_type` values of the token endpoint, shared by the
//! client model, the configuration, the stores and the grants; and
//! `ExtensionGrantType`, the absolute URI of a grant a host adds (RFC 6749
//! §4.5).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A grant type (`grant_type`, RFC 6749 §4 and §6).
///
/// Cloning an [`Extension`](GrantType::Extension) shares its string; the
/// other variants hold nothing.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    /// `authorization_code` (with PKCE).
    AuthorizationCode,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
    /// `password`: off unless the server enables it.
    Password,
    /// `refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code`: the device
    /// authorization grant (RFC 8628 §3.4).
    DeviceCode,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
    TokenExchange,
    /// An extension grant (RFC 6749 §4.5): an absolute URI a host defines,
    /// served by the handler it registers with the server builder.
    Extension(ExtensionGrantType),
}

impl GrantType {
    /// Every built-in grant type, in wire order (extension grants are
    /// whatever a host registers).
    pub const ALL: [Self; 6] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::Password,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::TokenExchange,
    ];

    /// Parses the wire value; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => DEVICE_CODE,
            Self::TokenExchange => TOKEN_EXCHANGE,
            Self::Extension(uri) => uri.as_str(),
        }
    }

    /// The extension grant's URI, if this is one.
    pub fn as_extension(&self) -> Option<&ExtensionGrantType> {
        match self {
            Self::Extension(uri) => Some(uri),
            _ => None,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in name, else an absolute URI ([`ExtensionGrantType`]).
impl FromStr for GrantType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "client_credentials" => Ok(Self::ClientCredentials),
            "password" => Ok(Self::Password),
            "refresh_token" => Ok(Self::RefreshToken),
            DEVICE_CODE => Ok(Self::DeviceCode),
            TOKEN_EXCHANGE => Ok(Self::TokenExchange),
            _ => s.parse().map(Self::Extension).map_err(|_| {
                ParseError::new(
                    "grant type",
                    "is not one of authorization_code, client_credentials, password, \
                     refresh_token, urn:ietf:params:oauth:grant-type:device_code, \
                     urn:ietf:params:oauth:grant-type:token-exchange, nor an absolute URI \
                     (an extension grant)",
                )
            }),
        }
    }
}

impl From<ExtensionGrantType> for GrantType {
    fn from(uri: ExtensionGrantType) -> Self {
        Self::Extension(uri)
    }
}

/// The `grant_type` of an extension grant (RFC 6749 §4.5): an absolute URI
/// (RFC 3986 §4.3, so without fragment) of at most 2048 bytes, with no
/// whitespace or control character, that is not one of the built-in grant
/// types' URIs. Compared as a string, exactly as given. Cloning shares the
/// string.
///
/// ```
/// use portcullis::{ExtensionGrantType, GrantType};
/// let uri: ExtensionGrantType = "urn:example:grant-type:badge".parse().unwrap();
/// assert_eq!(GrantType::from(uri.clone()).as_str(), "urn:example:grant-type:badge");
/// assert_eq!(GrantType::parse("urn:example:grant-type:badge"), Some(GrantType::Extension(uri)));
/// assert!(ExtensionGrantType::parse("password").is_none());
/// assert!(ExtensionGrantType::parse("urn:ietf:params:oauth:grant-type:token-exchange").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtensionGrantType(Arc<str>);

impl ExtensionGrantType {
    /// Parses an extension grant type; `None` if it is not one. `str::parse`
    /// and `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The URI, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExtensionGrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ExtensionGrantType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("extension grant type", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 2048 {
            return err("is longer than 2048 bytes");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("contains whitespace or a control character");
        }
        if s == DEVICE_CODE || s == TOKEN_EXCHANGE {
            return err("is a built-in grant type");
        }
        if s.contains('#') {
            return err("has a fragment (an absolute URI has none, RFC 3986 §4.3)");
        }
        // `url` parses only absolute URIs: a relative reference (and every
        // built-in name without a scheme, such as `password`) fails.
        if url::Url::parse(s).is_err() {
            return err("is not an absolute URI");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(GrantType, ExtensionGrantType);
serde_as_str!(GrantType, ExtensionGrantType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_and_extensions_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g.clone()));
            assert!(g.as_extension().is_none());
        }
        let ext = GrantType::parse("https://grants.example.com/badge").unwrap();
        assert_eq!(ext.to_string(), "https://grants.example.com/badge");
        assert!(ext.as_extension().is_some());
        for bad in [
            "",
            "badge",
            "/relative",
            "urn:a b",
            "https://x.example/#f",
            "urn:\u{1}",
        ] {
            assert!(GrantType::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ExtensionGrantType::parse(DEVICE_CODE).is_none());
        assert!(ExtensionGrantType::parse(&"a".repeat(2049)).is_none());
    }
}
