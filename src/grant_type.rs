//! `GrantType`: the `grant_type` values of the token endpoint, shared by the
//! client model, the configuration, the stores and the grants.

use std::str::FromStr;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A grant type (`grant_type`, RFC 6749 §4 and §6).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
}

impl GrantType {
    /// Every grant type, in wire order.
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
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => DEVICE_CODE,
            Self::TokenExchange => TOKEN_EXCHANGE,
        }
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
            _ => Err(ParseError::new(
                "grant type",
                "is not one of authorization_code, client_credentials, password, refresh_token, \
                 urn:ietf:params:oauth:grant-type:device_code, \
                 urn:ietf:params:oauth:grant-type:token-exchange",
            )),
        }
    }
}

try_from_str!(GrantType);
serde_as_str!(GrantType);
