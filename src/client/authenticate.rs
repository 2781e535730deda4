//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3): `client_secret_basic` with the form-decoding of
//! §2.3.1, `client_secret_post` and `none` (CA-01..07).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use base64::DecodeSliceError;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::client::{AuthMethod, Client, ClientId, VerifiedSecrets};
use crate::context::Context;
use crate::error::{Error, RequestFault};
use crate::events::Event;
use crate::http::form::{decode_in_place, has_escapes};
use crate::http::{Header, Source};
use crate::observe::{record_client, warn_disabled_client};
use crate::throttle::{Account, Attempt, Outcome, Reserved, count_failure, reserve, settle};

/// Basic credentials are standard base64; tolerate missing padding.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a request presents, before they are checked.
pub(crate) enum Presented<'a> {
    Basic(BasicCredentials),
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
        matches!(self, Self::Basic(_))
    }
}

/// Decoded headers up to this size need no heap buffer.
const INLINE: usize = 128;

/// The id and secret of a `Basic` header, decoded in one buffer: inline
/// unless the header is long.
pub(crate) struct BasicCredentials {
    buf: Buffer,
    id: Range<usize>,
    secret: Range<usize>,
}

enum Buffer {
    Inline([u8; INLINE]),
    Heap(Vec<u8>),
}

impl Buffer {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Inline(b) => b,
            Self::Heap(v) => v,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Self::Inline(b) => b,
            Self::Heap(v) => v,
        }
    }
}

impl BasicCredentials {
    /// Both parts were checked to be UTF-8 when decoded.
    fn part(&self, range: &Range<usize>) -> &str {
        let bytes = self.buf.bytes().get(range.clone()).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    fn id(&self) -> &str {
        self.part(&self.id)
    }

    fn secret(&self) -> &str {
        self.part(&self.secret)
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
            let Some(basic) = decode_basic(value) else {
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
            if client_id.is_some_and(|body_id| *body_id != *basic.id()) {
                return Err(Error::invalid_param("client_id"));
            }
            Ok(Presented::Basic(basic))
        }
        Header::Absent => match (client_id, client_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post { id, secret }),
            (Some(id), None) => Ok(Presented::IdOnly { id }),
            (None, _) => Err(Error::ClientAuthentication { via_basic: false }),
        },
    }
}

/// Decodes `Basic <base64(urlenc(id) ":" urlenc(secret))>` (RFC 6749 §2.3.1).
/// Each part is percent-decoded in place; both must be UTF-8 and the id
/// non-empty.
fn decode_basic(value: &[u8]) -> Option<BasicCredentials> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = rest.trim_start();
    let mut inline = [0u8; INLINE];
    let (mut buf, len) = match BASIC.decode_slice(encoded, &mut inline) {
        Ok(n) => (Buffer::Inline(inline), n),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            let v = BASIC.decode(encoded).ok()?;
            let n = v.len();
            (Buffer::Heap(v), n)
        }
        Err(DecodeSliceError::DecodeError(_)) => return None,
    };
    let raw = buf.bytes_mut().get_mut(..len)?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let (id_part, rest) = raw.split_at_mut(colon);
    let secret_part = rest.get_mut(1..)?;
    let (id_len, secret_len) = if has_escapes(id_part) || has_escapes(secret_part) {
        (decode_in_place(id_part)?, decode_in_place(secret_part)?)
    } else {
        (id_part.len(), secret_part.len())
    };
    let id = 0..id_len;
    let secret = colon + 1..colon + 1 + secret_len;
    let bytes = buf.bytes();
    std::str::from_utf8(bytes.get(id.clone())?).ok()?;
    std::str::from_utf8(bytes.get(secret.clone())?).ok()?;
    (id_len > 0).then_some(BasicCredentials { buf, id, secret })
}

/// Checks the presented credentials against the client store. Unknown
/// client, wrong secret, wrong method and disabled client all give the same
/// error (CA-06, CA-07). A presented secret is first put to the host's
/// [`Throttle`](crate::Throttle) as an attempt on the presented id from
/// `source`, before the client is looked up; a refusal gives that same error
/// without checking anything.
pub(crate) async fn authenticate(
    cx: &Context,
    presented: Presented<'_>,
    presented_id: &mut Option<ClientId>,
    source: Option<Source<'_>>,
    reserved: &mut Reserved,
) -> Result<Arc<Client>, Error> {
    let via_basic = presented.via_basic();
    let fail = || Error::ClientAuthentication { via_basic };
    let (id, secret, method): (&str, Option<&str>, AuthMethod) = match &presented {
        Presented::Basic(b) => (b.id(), Some(b.secret()), AuthMethod::ClientSecretBasic),
        Presented::Post { id, secret } => (id, Some(secret), AuthMethod::ClientSecretPost),
        Presented::IdOnly { id } => (id, None, AuthMethod::None),
    };
    *presented_id = ClientId::parse(id);
    if secret.is_some() {
        let account = presented_id.as_ref().map(Account::Client);
        let allowed = reserve(cx.throttle.as_deref(), &Attempt::new(account, source)).await;
        *reserved = if allowed {
            Reserved::Allowed {
                with_account: account.is_some(),
            }
        } else {
            Reserved::Refused
        };
        if !allowed {
            return Err(fail());
        }
    }
    let client = match presented_id.as_ref() {
        Some(client_id) => cx.clients.client(client_id).await?,
        None => None,
    };
    let Some(client) = client else {
        // Spend what checking a people-chosen (PBKDF2) secret costs, on the
        // hash pool, so timing does not tell an unknown client from a wrong
        // secret (CA-06, RB-06). A client with a generated (SHA-256) secret
        // answers faster; that reveals only that its id exists, and client
        // ids are not secret (RFC 6749 §2.2). A busy pool is `Overloaded`.
        if let Some(secret) = secret {
            VerifiedSecrets::verify_unknown(
                &cx.hash_pool,
                cx.config.unknown_client_iterations,
                secret,
            )
            .await?;
        }
        return Err(fail());
    };
    // A PBKDF2 hash is checked on the hash pool, or found in the cache of
    // recent successes; a SHA-256 one inline (RB-06).
    let secret_ok = match (client.secret_hash(), secret) {
        (Some(hash), Some(secret)) => {
            let account = client.client_id().as_str();
            cx.verified
                .verify(&cx.hash_pool, account, hash, secret)
                .await?
        }
        (None, None) => true,
        _ => false,
    };
    if !secret_ok || client.token_endpoint_auth_method() != method {
        return Err(fail());
    }
    // The full client model (issue 19): a secret past
    // `client_secret_expires_at` (RFC 7591 §3.2.1) no longer authenticates.
    if client.secret_hash().is_some() && client.secret_expired(cx.clock.now()) {
        return Err(fail());
    }
    if !client.is_enabled() {
        warn_disabled_client(client.client_id());
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
    /// Who sent the request, for the throttle.
    pub(crate) source: Option<Source<'a>>,
}

/// Authenticates the client of a token, revocation or introspection
/// request by whichever single method it used (CA-01..08), and tells the
/// host's [`Throttle`](crate::Throttle) how it went.
pub(crate) async fn client(cx: &Context, c: Credentials<'_>) -> Result<Arc<Client>, Error> {
    let source = c.source;
    let mut presented_id = None;
    let mut reserved = Reserved::Nothing;
    let via_basic = c.authorization != Header::Absent;
    let result = by_method(cx, c, &mut presented_id, &mut reserved)
        .await
        .and_then(|client| {
            // FAPI 2.0 §5.3.2.1-3, -6: only `private_key_jwt` clients are
            // served; any other is refused as a failed authentication.
            if cx
                .config
                .profile
                .allows_client_authentication(client.token_endpoint_auth_method())
            {
                Ok(client)
            } else {
                Err(Error::ClientAuthentication { via_basic })
            }
        });
    // Every party told of the outcome, in one place: the span, the audit
    // sink, the throttle.
    let outcome = match &result {
        Ok(client) => {
            record_client(client.client_id());
            Outcome::Succeeded
        }
        Err(Error::ClientAuthentication { .. }) => {
            let id = presented_id.as_ref();
            if let Some(id) = id {
                record_client(id);
            }
            cx.emit(|| Event::ClientAuthenticationFailed { client_id: id });
            Outcome::Failed
        }
        // A store or the replay cache failed, or the hash pool was full:
        // nothing was judged (RB-06: a busy pool counts against no one).
        Err(e)
            if matches!(
                e.code(),
                crate::error::ErrorCode::ServerError
                    | crate::error::ErrorCode::TemporarilyUnavailable
            ) =>
        {
            Outcome::Unjudged
        }
        // Malformed credentials (two methods at once, a `client_id` that
        // disagrees with the header, a missing assertion part).
        Err(_) => Outcome::Failed,
    };
    let throttle = cx.throttle.as_deref();
    match reserved {
        Reserved::Allowed { with_account } => {
            let account = presented_id
                .as_ref()
                .filter(|_| with_account)
                .map(Account::Client);
            settle(throttle, &Attempt::new(account, source), outcome).await;
        }
        // A failure that guessed nothing (malformed, or a public client's
        // id alone) counts against the source only, and is never refused.
        Reserved::Nothing if outcome == Outcome::Failed => {
            count_failure(throttle, &Attempt::new(None, source)).await;
        }
        Reserved::Nothing | Reserved::Refused => {}
    }
    result
}

async fn by_method(
    cx: &Context,
    c: Credentials<'_>,
    presented_id: &mut Option<ClientId>,
    reserved: &mut Reserved,
) -> Result<Arc<Client>, Error> {
    match (c.assertion_type, c.assertion) {
        (None, None) => {
            if let Some(id) = c.client_id.as_deref() {
                *presented_id = ClientId::parse(id);
            }
            let presented = presented(c.authorization, c.client_id, c.client_secret)?;
            authenticate(cx, presented, presented_id, c.source, reserved).await
        }
        (Some(kind), Some(assertion)) => {
            *presented_id = c.client_id.as_deref().and_then(ClientId::parse);
            // CA-03: an assertion with a secret or a Basic header is two methods.
            if c.client_secret.is_some() || c.authorization != Header::Absent {
                return Err(Error::InvalidRequest(
                    RequestFault::MultipleClientAuthentications,
                ));
            }
            if kind != crate::client::assertion::JWT_BEARER {
                return Err(Error::ClientAuthentication { via_basic: false });
            }
            crate::client::assertion::authenticate(
                cx,
                c.client_id.as_deref(),
                &assertion,
                presented_id,
                c.source,
                reserved,
            )
            .await
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
        let b = decode_basic(header.as_bytes()).unwrap();
        assert_eq!(b.id(), "my:id");
        assert_eq!(b.secret(), "p+w dé");
    }

    #[test]
    fn long_basic_credentials_decode_on_the_heap() {
        let (id, secret) = ("i".repeat(200), "s%3A".repeat(100));
        let header = format!("Basic {}", BASIC.encode(format!("{id}:{secret}")));
        let b = decode_basic(header.as_bytes()).unwrap();
        assert!(matches!(b.buf, Buffer::Heap(_)));
        assert_eq!(b.id(), id);
        assert_eq!(b.secret(), "s:".repeat(100));
        // Just fits inline / just does not; unpadded input too.
        for n in [INLINE - 2, INLINE - 1, INLINE, INLINE + 1] {
            let raw = format!("a:{}", "x".repeat(n - 2));
            let header = format!("Basic {}", BASIC.encode(&raw));
            let b = decode_basic(header.as_bytes()).unwrap();
            assert_eq!((b.id(), b.secret().len()), ("a", n - 2));
            let unpadded = header.trim_end_matches('=');
            assert_eq!(
                decode_basic(unpadded.as_bytes()).unwrap().secret().len(),
                n - 2
            );
        }
        assert!(decode_basic(format!("Basic {}", BASIC.encode("a:%ff")).as_bytes()).is_none());
        assert!(decode_basic(format!("Basic {}", BASIC.encode("a:%f")).as_bytes()).is_none());
        assert!(decode_basic(format!("Basic {}", BASIC.encode(b"a\xff:b")).as_bytes()).is_none());
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
