//! Subject identifiers (OpenID Connect Core 1.0 §8; OI-04): the `sub` a
//! client sees for a user, the same in the ID Token and at UserInfo.
//!
//! A `public` client sees the user id as it is. A `pairwise` client sees
//! `base64url(SHA-256(sector || 0x00 || user id || 0x00 || salt))`, where
//! `sector` is the client's sector identifier (the host of its
//! `sector_identifier_uri` or of its redirect URIs) and `salt` the server's
//! secret `Config::pairwise_salt`. So the value is stable for a user and a
//! sector, differs between sectors (clients of different sectors cannot
//! link their users), is shared by the clients of one sector, and two users
//! never get the same one (SHA-256 is collision resistant, and the input
//! is unambiguous: neither a host nor a user id holds a NUL byte).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::client::{Client, SubjectType};
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::secret::Secret;
use crate::user::{UserId, identifier};

/// A subject identifier (`sub`): at most 255 bytes, not empty, without a
/// control character (Core 1.0 §2). Cloning shares the string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// Parses a subject (from a token); `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The `sub` value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Subject {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        identifier("subject", s).map(Self)
    }
}

try_from_str!(Subject);
serde_as_str!(Subject);

/// Why a subject cannot be computed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// The client is `pairwise` but the server has no
    /// `Config::pairwise_salt`.
    #[error("a pairwise client needs Config::pairwise_salt")]
    MissingPairwiseSalt,
}

/// The `sub` `client` sees for `user`, with `salt` for pairwise clients
/// (see the module docs). A `public` client gets the user id; `salt` is
/// then unused. Prefer [`pairwise_subject`], which refuses to work without
/// the server's salt.
pub fn subject_for(client: &Client, user: &UserId, salt: &[u8]) -> Subject {
    match (client.subject_type(), client.sector_identifier()) {
        (SubjectType::Pairwise, Some(sector)) => {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(sector.as_bytes());
            ctx.update(&[0]);
            ctx.update(user.as_str().as_bytes());
            ctx.update(&[0]);
            ctx.update(salt);
            Subject(URL_SAFE_NO_PAD.encode(ctx.finish()).into())
        }
        // A built pairwise client always has a sector identifier; any other
        // subject type is public.
        _ => Subject(user.as_str().into()),
    }
}

/// The `sub` `client` sees for `user` on a server whose
/// `Config::pairwise_salt` is `salt`: [`subject_for`], except that a
/// `pairwise` client without a salt is an error rather than a subject an
/// outsider could compute from the user id.
pub fn pairwise_subject(
    client: &Client,
    user: &UserId,
    salt: Option<&Secret<Vec<u8>>>,
) -> Result<Subject, SubjectError> {
    match (client.subject_type(), salt) {
        (SubjectType::Pairwise, None) => Err(SubjectError::MissingPairwiseSalt),
        (_, salt) => Ok(subject_for(
            client,
            user,
            salt.map_or(&[][..], |s| s.expose_secret()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientId;
    use crate::redirect_uri::RedirectUri;
    use crate::web_url::WebUrl;

    const SALT: &[u8] = b"a salt of thirty-two bytes, at l";

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn client(id: &str, redirect: &str, subject_type: SubjectType) -> Client {
        Client::public(ClientId::parse(id).unwrap())
            .redirect_uri(RedirectUri::parse(redirect).unwrap())
            .subject_type(subject_type)
            .build()
            .unwrap()
    }

    #[test]
    fn public_subjects_are_the_user_id() {
        // covers: OI-04
        let c = client("spa", "https://a.example/cb", SubjectType::Public);
        assert_eq!(subject_for(&c, &user("alice"), SALT).as_str(), "alice");
        assert_eq!(
            pairwise_subject(&c, &user("alice"), None).unwrap().as_str(),
            "alice"
        );
    }

    #[test]
    fn pairwise_subjects_are_stable_per_sector_and_user() {
        // covers: OI-04
        // issue 16
        let a = client("a", "https://a.example/cb", SubjectType::Pairwise);
        let alice = subject_for(&a, &user("alice"), SALT);
        // Stable, and not the user id.
        assert_eq!(alice, subject_for(&a, &user("alice"), SALT));
        assert_ne!(alice.as_str(), "alice");
        assert_eq!(alice.as_str().len(), 43, "base64url of 32 bytes");
        // A known value: SHA-256("a.example\0alice\0" || salt), base64url.
        let mut input = b"a.example\0alice\0".to_vec();
        input.extend_from_slice(SALT);
        let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &input));
        assert_eq!(alice.as_str(), expected);
        // Another user, another subject.
        assert_ne!(alice, subject_for(&a, &user("bob"), SALT));
        // Another sector, another subject.
        let b = client("b", "https://b.example/cb", SubjectType::Pairwise);
        assert_ne!(alice, subject_for(&b, &user("alice"), SALT));
        // Another salt, another subject.
        assert_ne!(alice, subject_for(&a, &user("alice"), b"another salt"));
    }

    #[test]
    fn clients_of_one_sector_share_pairwise_subjects() {
        // covers: OI-04
        let web = client("web", "https://a.example/cb", SubjectType::Pairwise);
        let admin = client(
            "admin",
            "https://A.example:8443/admin",
            SubjectType::Pairwise,
        );
        let elsewhere = Client::public(ClientId::parse("mobile").unwrap())
            .redirect_uri(RedirectUri::parse("com.example.app:/cb").unwrap())
            .sector_identifier_uri(WebUrl::parse("https://a.example/sector.json").unwrap())
            .subject_type(SubjectType::Pairwise)
            .build()
            .unwrap();
        let sub = subject_for(&web, &user("alice"), SALT);
        assert_eq!(sub, subject_for(&admin, &user("alice"), SALT));
        assert_eq!(sub, subject_for(&elsewhere, &user("alice"), SALT));
    }

    #[test]
    fn no_salt_no_pairwise_subject() {
        // covers: OI-04
        let c = client("a", "https://a.example/cb", SubjectType::Pairwise);
        assert_eq!(
            pairwise_subject(&c, &user("alice"), None).unwrap_err(),
            SubjectError::MissingPairwiseSalt
        );
        let salt = Secret::new(SALT.to_vec());
        assert_eq!(
            pairwise_subject(&c, &user("alice"), Some(&salt)).unwrap(),
            subject_for(&c, &user("alice"), SALT)
        );
    }

    #[test]
    fn subject_syntax() {
        assert!(Subject::parse("").is_none());
        assert!(Subject::parse(&"x".repeat(256)).is_none());
        assert!(Subject::parse("248289761001").is_some());
    }
}
