//! `GrantType`: the `grant_type` values of the token endpoint, shared by the
//! client model, the configuration, the stores and the grants.

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
}

impl GrantType {
    /// Every grant type, in wire order.
    pub const ALL: [Self; 4] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::Password,
        Self::RefreshToken,
    ];

    /// Parses the wire value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "client_credentials" => Some(Self::ClientCredentials),
            "password" => Some(Self::Password),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
        }
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
