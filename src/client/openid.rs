//! A client's OpenID Connect registration (OpenID Connect Registration 1.0
//! §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout 1.0 §2.2): the
//! subject type, the signing algorithms it expects, its logout URIs, its
//! authentication-age rules and the links shown to users. Set through
//! `ClientBuilder`, read through `Client`'s getters.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::keys::Algorithm;
use crate::redirect_uri::RedirectUri;
use crate::web_url::WebUrl;

/// How the `sub` of a client's ID Tokens and UserInfo answers is chosen
/// (`subject_type`, Core 1.0 §8).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SubjectType {
    /// `public`: the same `sub` for every client: the user id. The default.
    #[default]
    Public,
    /// `pairwise`: a different `sub` per sector identifier, so clients of
    /// different sectors cannot correlate their users (Core 1.0 §8.1).
    Pairwise,
}

impl SubjectType {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Pairwise => "pairwise",
        }
    }

    /// Parses the wire value; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl fmt::Display for SubjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "public" => Ok(Self::Public),
            "pairwise" => Ok(Self::Pairwise),
            _ => Err(ParseError::new(
                "subject type",
                "is not one of public, pairwise",
            )),
        }
    }
}

try_from_str!(SubjectType);
serde_as_str!(SubjectType);

/// A client's OpenID Connect registration fields (OpenID Connect
/// Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout
/// 1.0 §2.2), as one value: read with [`Client::openid_registration`](super::Client::openid_registration),
/// set with [`ClientBuilder::openid_registration`](super::ClientBuilder::openid_registration)
/// (or field by field with the builder's setters), which checks them at
/// `build()`. With the `serde` feature it (de)serialises as those members of the RFC 7591 client
/// metadata. A client keeps it behind one `Arc`, so that cloning a client
/// costs what it did before these fields were added.
///
/// ```
/// use portcullis::{OpenIdRegistration, SubjectType};
///
/// let mut openid = OpenIdRegistration::default();
/// openid.subject_type = SubjectType::Pairwise;
/// openid.require_auth_time = true;
/// assert_eq!(openid.id_token_signed_response_alg, None); // RS256
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenIdRegistration {
    /// `id_token_signed_response_alg`; `None` for the server's default,
    /// `RS256` (Core 1.0 §15.1).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// `userinfo_signed_response_alg`; `None` for plain JSON UserInfo
    /// answers.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub userinfo_signed_response_alg: Option<Algorithm>,
    /// `subject_type`: `public` (the default) or `pairwise` (OI-04).
    #[cfg_attr(feature = "serde", serde(default))]
    pub subject_type: SubjectType,
    /// `sector_identifier_uri`: only its host is used (the server does not
    /// fetch it).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sector_identifier_uri: Option<WebUrl>,
    /// Derived at `build()`: see [`sector_identifier`].
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(super) sector_identifier: Option<Box<str>>,
    /// `post_logout_redirect_uris` (LO-01).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// `backchannel_logout_uri` (LO-02).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub backchannel_logout_uri: Option<WebUrl>,
    /// `backchannel_logout_session_required`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub backchannel_logout_session_required: bool,
    /// `require_auth_time`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub require_auth_time: bool,
    /// `default_max_age`, whole seconds (a fraction is dropped at `build()`).
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            with = "crate::conversions::duration_secs::option",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub default_max_age: Option<Duration>,
    /// `logo_uri`, shown on login and consent pages.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub logo_uri: Option<WebUrl>,
    /// `policy_uri`, the client's privacy policy.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub policy_uri: Option<WebUrl>,
    /// `tos_uri`, the client's terms of service.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub tos_uri: Option<WebUrl>,
    /// `client_uri`, the client's home page.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub client_uri: Option<WebUrl>,
}

/// The sector identifier (Core 1.0 §8.1): the host of
/// `sector_identifier_uri` when one is registered; otherwise the host all
/// `redirect_uris` share. `None` when there is none: no redirect URI with
/// a host, or hosts that differ.
pub(super) fn sector_identifier(
    sector_identifier_uri: Option<&WebUrl>,
    redirect_uris: &[RedirectUri],
) -> Option<Box<str>> {
    if let Some(uri) = sector_identifier_uri {
        return Some(uri.host().into());
    }
    let mut hosts = redirect_uris.iter().map(|u| {
        url::Url::parse(u.as_str())
            .ok()
            .and_then(|u| u.host_str().filter(|h| !h.is_empty()).map(str::to_owned))
    });
    let first = hosts.next()??;
    hosts
        .all(|h| h.as_deref() == Some(first.as_str()))
        .then(|| first.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter()
            .map(|u| RedirectUri::parse(u).unwrap())
            .collect()
    }

    #[test]
    fn the_sector_is_the_registered_uri_host_else_the_one_redirect_host() {
        // covers: OI-04
        let sector = WebUrl::parse("https://Sector.Example/uris.json").unwrap();
        let spread = uris(&["https://a.example/cb", "https://b.example/cb"]);
        assert_eq!(
            sector_identifier(Some(&sector), &spread).as_deref(),
            Some("sector.example")
        );
        assert_eq!(sector_identifier(None, &spread), None);
        let one_host = uris(&["https://a.example/cb", "https://A.example:8443/other"]);
        assert_eq!(
            sector_identifier(None, &one_host).as_deref(),
            Some("a.example")
        );
        assert_eq!(sector_identifier(None, &[]), None);
        assert_eq!(
            sector_identifier(None, &uris(&["com.example.app:/cb"])),
            None
        );
    }

    #[test]
    fn subject_type_wire_values() {
        assert_eq!(SubjectType::default(), SubjectType::Public);
        assert_eq!(SubjectType::parse("pairwise"), Some(SubjectType::Pairwise));
        assert_eq!(
            "Public".parse::<SubjectType>().unwrap_err().to_string(),
            "subject type: is not one of public, pairwise"
        );
    }
}
