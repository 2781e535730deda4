//! A client's registration beyond the OAuth essentials and the OpenID
//! Connect fields of [`OpenIdRegistration`](super::OpenIdRegistration): the
//! rest of RFC 7591 §2 (`contacts`, `jwks_uri`, `software_id`,
//! `software_version`), of RFC 7591 §3.2.1 (`client_secret_expires_at`), of
//! OpenID Connect Registration 1.0 §2 (`application_type`,
//! `request_object_signing_alg`, `token_endpoint_auth_signing_alg`), the
//! browser origins allowed to call the token endpoints
//! (`allowed_cors_origins`), a free-form `metadata` object and an `owner`
//! (as Ory Hydra has them). Set through `ClientBuilder`, read through
//! `Client`'s getters; checked at `build()`.

use std::fmt;
use std::str::FromStr;

use crate::clock::UnixTime;
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::keys::Algorithm;
use crate::origin::Origin;
use crate::redirect_uri::RedirectUri;
use crate::web_url::WebUrl;

/// `application_type` (OpenID Connect Registration 1.0 §2): which redirect
/// URIs a client may register.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApplicationType {
    /// `web`, the default: redirect URIs follow the server's rule for every
    /// client (`https`, plain `http` only on loopback, or a private scheme).
    #[default]
    Web,
    /// `native`: only private-use URI schemes (`com.example.app:/cb`) or
    /// `http` on the loopback interface (`localhost`, `127.0.0.1`, `[::1]`),
    /// as OpenID Connect Registration 1.0 §2 says.
    Native,
}

impl ApplicationType {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
        }
    }

    /// Parses the wire value; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl fmt::Display for ApplicationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApplicationType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "web" => Ok(Self::Web),
            "native" => Ok(Self::Native),
            _ => Err(ParseError::new(
                "application type",
                "is not one of web, native",
            )),
        }
    }
}

/// The algorithm a client signs its JWTs with, as registered in
/// `token_endpoint_auth_signing_alg` and `request_object_signing_alg`: one
/// of the server's public-key algorithms, or `HS256` (the MAC of
/// `client_secret_jwt`). `none` is not one (OpenID Connect Registration
/// 1.0 §2 forbids it for client authentication; RFC 9101 requests are
/// signed here).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientSigningAlg {
    /// A public-key algorithm, checked against the client's JWKS.
    Key(Algorithm),
    /// `HS256`, keyed by the shared secret of a `client_secret_jwt` client.
    Hs256,
}

impl ClientSigningAlg {
    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Key(a) => a.as_str(),
            Self::Hs256 => "HS256",
        }
    }

    /// Parses the JOSE name (case-sensitive); `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Whether a JWS whose header names `alg` is signed with this
    /// algorithm.
    pub fn is(self, alg: &str) -> bool {
        self.as_str() == alg
    }
}

impl fmt::Display for ClientSigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientSigningAlg {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s == "HS256" {
            return Ok(Self::Hs256);
        }
        s.parse::<Algorithm>().map(Self::Key).map_err(|_| {
            ParseError::new(
                "client signing algorithm",
                "is not ES256, EdDSA, RS256, PS256 or HS256 (names are case-sensitive)",
            )
        })
    }
}

try_from_str!(ApplicationType, ClientSigningAlg);
serde_as_str!(ApplicationType, ClientSigningAlg);

/// The free-form `metadata` object of a client: whatever the host keeps
/// about it (a JSON object; never interpreted by the server).
pub type ClientMetadataObject = serde_json::Map<String, serde_json::Value>;

/// A client's registration fields beyond the OAuth essentials and the
/// OpenID Connect ones, as one value: read with
/// [`Client::registration`](super::Client::registration), set with
/// [`ClientBuilder::registration`](super::ClientBuilder::registration) (or
/// field by field with the builder's setters), which checks them at
/// `build()`. With the `serde` feature it (de)serialises as those members
/// of the RFC 7591 client metadata. A client keeps it behind one `Arc`.
///
/// ```
/// use portcullis::{ApplicationType, RegistrationFields};
///
/// let mut fields = RegistrationFields::default();
/// fields.application_type = ApplicationType::Native;
/// fields.contacts.push("ops@example.com".into());
/// assert!(fields.jwks_uri.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegistrationFields {
    /// `application_type`: `web` (the default) or `native`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub application_type: ApplicationType,
    /// `contacts`: ways to reach the people responsible for the client,
    /// typically e-mail addresses (non-empty, no control characters).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub contacts: Vec<String>,
    /// `jwks_uri`: where the client publishes its keys (`https`; plain
    /// `http` only on loopback). Never with `jwks` (RFC 7591 §2). The
    /// server does no network I/O: the host fetches it through
    /// a `JwksFetcher`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub jwks_uri: Option<WebUrl>,
    /// `software_id`: the client software, the same for every instance.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub software_id: Option<String>,
    /// `software_version`: the version of that software.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub software_version: Option<String>,
    /// `client_secret_expires_at`: when the secret stops working; `None`
    /// (written `0`, RFC 7591 §3.2.1) for never.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "expires_at", skip_serializing_if = "Option::is_none")
    )]
    pub client_secret_expires_at: Option<UnixTime>,
    /// `token_endpoint_auth_signing_alg`: the only algorithm accepted for
    /// this client's assertions (`HS256` only for `client_secret_jwt`, a
    /// public-key one only for `private_key_jwt`); `None` for any the
    /// server allows.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub token_endpoint_auth_signing_alg: Option<ClientSigningAlg>,
    /// `request_object_signing_alg`: the only algorithm accepted for this
    /// client's request objects (RFC 9101); `None` for any the server
    /// allows.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub request_object_signing_alg: Option<ClientSigningAlg>,
    /// `allowed_cors_origins`: the browser origins that may call the token,
    /// revocation and UserInfo endpoints as this client.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub allowed_cors_origins: Vec<Origin>,
    /// `owner`: who owns the client (a user or team name the host keeps).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub owner: Option<String>,
    /// `metadata`: a free-form JSON object for the host; empty for none.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "serde_json::Map::is_empty")
    )]
    pub metadata: ClientMetadataObject,
}

/// `client_secret_expires_at` as RFC 7591 §3.2.1 writes it: seconds, `0`
/// for never.
#[cfg(feature = "serde")]
mod expires_at {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::clock::UnixTime;

    #[allow(clippy::ref_option)]
    pub(super) fn serialize<S: Serializer>(
        t: &Option<UnixTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(t.map_or(0, UnixTime::as_secs))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<UnixTime>, D::Error> {
        let secs = Option::<u64>::deserialize(deserializer)?;
        Ok(secs.filter(|s| *s != 0).map(UnixTime::from_secs))
    }
}

/// Whether `s` is acceptable as a short text field: not empty, at most
/// 1024 bytes, no control characters.
pub(super) fn text_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 1024 && !s.chars().any(char::is_control)
}

/// Whether a native client may register `uri` (OpenID Connect
/// Registration 1.0 §2): a private-use scheme, or `http` to `localhost`,
/// `127.0.0.1` or `[::1]`.
pub(super) fn native_redirect_ok(uri: &RedirectUri) -> bool {
    let Ok(url) = url::Url::parse(uri.as_str()) else {
        return false;
    };
    match url.scheme() {
        "https" => false,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            None => false,
        },
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values() {
        assert_eq!(ApplicationType::default(), ApplicationType::Web);
        assert_eq!(
            ApplicationType::parse("native"),
            Some(ApplicationType::Native)
        );
        assert_eq!(
            "Web".parse::<ApplicationType>().unwrap_err().to_string(),
            "application type: is not one of web, native"
        );
        assert_eq!(
            ClientSigningAlg::parse("HS256"),
            Some(ClientSigningAlg::Hs256)
        );
        assert_eq!(
            ClientSigningAlg::parse("ES256"),
            Some(ClientSigningAlg::Key(Algorithm::Es256))
        );
        for bad in ["none", "hs256", "HS512", ""] {
            assert!(ClientSigningAlg::parse(bad).is_none(), "{bad}");
        }
        assert!(ClientSigningAlg::Key(Algorithm::Ps256).is("PS256"));
    }

    #[test]
    fn native_redirect_uris_are_private_schemes_or_loopback_http() {
        let ok = |s: &str| native_redirect_ok(&RedirectUri::parse(s).unwrap());
        for good in [
            "com.example.app:/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "https://app.example/cb",
            "http://app.example/cb",
            "http://127.0.0.2/cb",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn text_fields() {
        assert!(text_ok("ops@example.com"));
        assert!(!text_ok(""));
        assert!(!text_ok("a\nb"));
        assert!(!text_ok(&"x".repeat(1025)));
    }
}
