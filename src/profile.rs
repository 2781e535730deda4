//! `Profile`: a security profile the server enforces on top of its secure
//! defaults. Today the one profile is the FAPI 2.0 Security Profile
//! (OpenID Foundation, Final): its configuration rules are checked when the
//! server is built ([`Config::fapi2_security_profile`](crate::Config::fapi2_security_profile)),
//! its per-request rules here, where the endpoints ask. `docs/fapi2.md`
//! maps every requirement of the profile to the code and test that meet it.

use std::fmt;
use std::str::FromStr;

use crate::client::AuthMethod;
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::keys::Algorithm;

/// The security profile a server enforces.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// portcullis's defaults: OAuth 2.1 and RFC 9700, nothing more.
    #[default]
    Default,
    /// The FAPI 2.0 Security Profile (Final): pushed authorization
    /// requests, PKCE `S256`, confidential clients authenticated with
    /// `private_key_jwt`, DPoP-bound access tokens, codes of at most 60 s,
    /// PS256, ES256 or EdDSA for every JWT, no refresh token rotation for
    /// confidential clients.
    Fapi2Security,
}

/// The JWS algorithms the FAPI 2.0 Security Profile allows (§5.4.1-1).
pub const FAPI2_ALGORITHMS: [Algorithm; 3] = [Algorithm::Ps256, Algorithm::Es256, Algorithm::EdDsa];

impl Profile {
    /// The configuration name (`"default"`, `"fapi2_security"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Fapi2Security => "fapi2_security",
        }
    }

    /// Whether a client registered with `method` may authenticate (or be
    /// served at all) under this profile: FAPI 2.0 allows confidential
    /// clients only, authenticated with `private_key_jwt` (§5.3.2.1-3, -6;
    /// mutual TLS when portcullis has it).
    pub fn allows_client_authentication(self, method: AuthMethod) -> bool {
        match self {
            Self::Default => true,
            Self::Fapi2Security => method == AuthMethod::PrivateKeyJwt,
        }
    }

    /// Whether a JWS algorithm may be used or accepted under this profile
    /// (FAPI 2.0 §5.4.1-1: PS256, ES256, EdDSA).
    pub fn allows_algorithm(self, alg: Algorithm) -> bool {
        match self {
            Self::Default => true,
            Self::Fapi2Security => FAPI2_ALGORITHMS.contains(&alg),
        }
    }

    /// Whether every access token must be sender-constrained (FAPI 2.0
    /// §5.3.2.1-4: a token request without a DPoP proof is refused with
    /// `invalid_dpop_proof`).
    pub fn requires_sender_constraint(self) -> bool {
        self == Self::Fapi2Security
    }

    /// Whether a pushed authorization request must name its `redirect_uri`
    /// (FAPI 2.0 §5.3.2.2-6), even for a client with one registered URI.
    pub fn requires_pushed_redirect_uri(self) -> bool {
        self == Self::Fapi2Security
    }

    /// Whether refreshing rotates the refresh token of a client that
    /// authenticates. FAPI 2.0 §5.3.2.1-10 forbids rotation for its
    /// (confidential, sender-constrained) clients: the refresh token stays
    /// and only a new access token is issued. Public clients always rotate
    /// (OAuth 2.1 §4.3.1; they do not exist under FAPI 2.0).
    pub fn rotates_confidential_refresh_tokens(self) -> bool {
        self != Self::Fapi2Security
    }
}

impl FromStr for Profile {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "default" => Ok(Self::Default),
            "fapi2_security" => Ok(Self::Fapi2Security),
            _ => Err(ParseError::new(
                "profile",
                "is not one of default, fapi2_security",
            )),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

try_from_str!(Profile);
serde_as_str!(Profile);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fapi2_allows_only_private_key_jwt_and_its_three_algorithms() {
        let p = Profile::Fapi2Security;
        assert!(p.allows_client_authentication(AuthMethod::PrivateKeyJwt));
        for m in [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretJwt,
        ] {
            assert!(!p.allows_client_authentication(m), "{m}");
            assert!(Profile::Default.allows_client_authentication(m));
        }
        assert!(!p.allows_algorithm(Algorithm::Rs256));
        assert!(Profile::Default.allows_algorithm(Algorithm::Rs256));
        for a in FAPI2_ALGORITHMS {
            assert!(p.allows_algorithm(a));
        }
        assert!(p.requires_sender_constraint() && !p.rotates_confidential_refresh_tokens());
        assert!(!Profile::Default.requires_sender_constraint());
    }

    #[test]
    fn names_round_trip() {
        for p in [Profile::Default, Profile::Fapi2Security] {
            assert_eq!(p.as_str().parse::<Profile>().ok(), Some(p));
        }
        assert!("fapi2".parse::<Profile>().is_err());
    }
}
