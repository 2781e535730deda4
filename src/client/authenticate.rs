//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3): `client_secret_basic` with the form-decoding of
//! §2.3.1, `client_secret_post` and `none` (CA-01..07).

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::client::{AuthMethod, Client, ClientId, SecretHash};
use crate::error::{Error, RequestFault};
use crate::http::Header;
use crate::http::form::decode;
use crate::stores::ClientStore;

/// Basic credentials are standard base64; tolerate missing padding.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a request presents, before they are checked.
pub(crate) enum Presented<'a> {
    Basic {
        id: String,
        secret: String,
    },
    Post {
        id: Cow<'a, str>,
        secret: Cow<'a, str>,
    },
    IdOnly {
        id: Cow<'a, str>,
    },
}

impl Presented<'_> {
    fn via_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Works out which method the request uses. Two methods at once are
/// `invalid_request` (CA-03).
pub(crate) fn presented<'a>(
    authorization: Header<'a>,
    client_id: Option<Cow<'a, str>>,
    client_secret: Option<Cow<'a, str>>,
) -> Result<Presented<'a>, Error> {
    match authorization {
        Header::Repeated => Err(Error::InvalidRequest(RequestFault::InvalidHeader(
            "authorization",
        ))),
        Header::One(value) => {
            let Some((id, secret)) = decode_basic(value) else {
                // Not a usable Basic header: answer with the Basic challenge
                // only if Basic was attempted.
                let via_basic = value.len() >= 5
                    && value
                        .get(..5)
                        .is_some_and(|s| s.eq_ignore_ascii_case(b"basic"));
                return Err(Error::ClientAuthentication { via_basic });
            };
            if client_secret.is_some() {
                return Err(Error::InvalidRequest(
                    RequestFault::MultipleClientAuthentications,
                ));
            }
            if client_id.is_some_and(|body_id| *body_id != *id) {
                return Err(Error::invalid_param("client_id"));
            }
            Ok(Presented::Basic { id, secret })
        }
        Header::Absent => match (client_id, client_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post { id, secret }),
            (Some(id), None) => Ok(Presented::IdOnly { id }),
            (None, _) => Err(Error::ClientAuthentication { via_basic: false }),
        },
    }
}

/// Decodes `Basic <base64(urlenc(id) ":" urlenc(secret))>` (RFC 6749 §2.3.1).
fn decode_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = BASIC.decode(rest.trim_start()).ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let id = decode(raw.get(..colon)?).ok()?.into_owned();
    let secret = decode(raw.get(colon + 1..)?).ok()?.into_owned();
    (!id.is_empty()).then_some((id, secret))
}

/// Checks the presented credentials against the client store. Unknown
/// client, wrong secret, wrong method and disabled client all give the same
/// error (CA-06, CA-07).
pub(crate) async fn authenticate(
    clients: &dyn ClientStore,
    presented: Presented<'_>,
) -> Result<Arc<Client>, Error> {
    let via_basic = presented.via_basic();
    let fail = || Error::ClientAuthentication { via_basic };
    let (id, secret, method): (&str, Option<&str>, AuthMethod) = match &presented {
        Presented::Basic { id, secret } => (id, Some(secret), AuthMethod::ClientSecretBasic),
        Presented::Post { id, secret } => (id, Some(secret), AuthMethod::ClientSecretPost),
        Presented::IdOnly { id } => (id, None, AuthMethod::None),
    };
    let client = match ClientId::parse(id) {
        Some(client_id) => clients.find(&client_id).await?,
        None => None,
    };
    let Some(client) = client else {
        // Spend the work of a check against a generated (SHA-256) secret, so
        // timing does not tell an unknown client from a wrong secret (CA-06).
        // Clients holding a people-chosen PBKDF2 secret cost more to check;
        // that reveals only that the client id exists, and client ids are
        // not secret (RFC 6749 §2.2).
        if let Some(secret) = secret {
            let _ = SecretHash::sha256("portcullis-unknown-client").verify(secret);
        }
        return Err(fail());
    };
    let secret_ok = match (client.secret_hash(), secret) {
        (Some(hash), Some(secret)) => hash.verify(secret),
        (None, None) => true,
        _ => false,
    };
    if !secret_ok || client.token_endpoint_auth_method() != method || !client.is_enabled() {
        return Err(fail());
    }
    Ok(client)
}

/// The client credentials one request carries, as parsed from the form and
/// the `Authorization` header.
pub(crate) struct Credentials<'a> {
    pub(crate) authorization: Header<'a>,
    pub(crate) client_id: Option<Cow<'a, str>>,
    pub(crate) client_secret: Option<Cow<'a, str>>,
    pub(crate) assertion_type: Option<Cow<'a, str>>,
    pub(crate) assertion: Option<Cow<'a, str>>,
}

/// Authenticates the client of a token, revocation or introspection
/// request by whichever single method it used (CA-01..08).
pub(crate) async fn client(
    server: &crate::server::AuthorizationServer,
    c: Credentials<'_>,
) -> Result<Arc<Client>, Error> {
    match (c.assertion_type, c.assertion) {
        (None, None) => {
            authenticate(
                &*server.clients,
                presented(c.authorization, c.client_id, c.client_secret)?,
            )
            .await
        }
        (Some(kind), Some(assertion)) => {
            // CA-03: an assertion with a secret or a Basic header is two methods.
            if c.client_secret.is_some() || c.authorization != Header::Absent {
                return Err(Error::InvalidRequest(
                    RequestFault::MultipleClientAuthentications,
                ));
            }
            if kind != crate::client::assertion::JWT_BEARER {
                return Err(Error::ClientAuthentication { via_basic: false });
            }
            crate::client::assertion::authenticate(server, c.client_id.as_deref(), &assertion).await
        }
        (None, Some(_)) => Err(Error::missing("client_assertion_type")),
        (Some(_), None) => Err(Error::missing("client_assertion")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // covers: CA-01
        // "my%3Aid" : "p%2Bw+d%C3%A9" → id "my:id", secret "p+w dé"
        let header = format!("Basic {}", BASIC.encode("my%3Aid:p%2Bw+d%C3%A9"));
        let (id, secret) = decode_basic(header.as_bytes()).unwrap();
        assert_eq!(id, "my:id");
        assert_eq!(secret, "p+w dé");
    }

    #[test]
    fn garbage_basic_headers_are_refused() {
        assert!(decode_basic(b"Basic !!!").is_none());
        assert!(decode_basic(b"Basic").is_none());
        assert!(decode_basic(b"Bearer abc").is_none());
        assert!(decode_basic(format!("Basic {}", BASIC.encode("nocolon")).as_bytes()).is_none());
        assert!(decode_basic(format!("Basic {}", BASIC.encode(":secret")).as_bytes()).is_none());
    }

    #[test]
    fn header_and_body_secret_together_is_invalid_request() {
        // covers: CA-03
        let header = format!("Basic {}", BASIC.encode("a:b"));
        let r = presented(
            Header::One(header.as_bytes()),
            None,
            Some(Cow::Borrowed("b")),
        );
        assert!(matches!(
            r,
            Err(Error::InvalidRequest(
                RequestFault::MultipleClientAuthentications
            ))
        ));
    }
}
