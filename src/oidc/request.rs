//! The OpenID Connect parameters of an authorization request (Core 1.0
//! §3.1.2.1, §5.5, §6): `prompt`, `max_age`, `login_hint`, `id_token_hint`,
//! `ui_locales`, `claims_locales`, `display`, `acr_values`, `nonce` and
//! `claims`, parsed once at the edge into an [`OpenIdRequest`] when the
//! requested scope holds `openid` (a plain OAuth request ignores them, RFC
//! 6749 §3.1).
//!
//! What is refused, always with a redirected `invalid_request`: an unknown
//! `prompt` value (as panva's oidc-provider does; Core lists four), `none`
//! with any other `prompt` value (Core §3.1.2.1), a `max_age` that is not a
//! non-negative integer, an unknown `display`, a malformed `claims`
//! parameter (OI-09), and a hint, nonce or ACR list beyond its bound.
//! Language tags that are malformed are skipped, not refused: Core says
//! locales the server cannot honour must not cause an error.
//!
//! `registration` is answered `registration_not_supported`. `request` and
//! `request_uri` (Core §6) are resolved before these parameters are read:
//! the authorization endpoint verifies a signed request object (RFC 9101)
//! or takes a pushed request (RFC 9126) and reads its parameters instead,
//! so they reach this parser only from elsewhere, where they are answered
//! `request_not_supported` and `request_uri_not_supported`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conversions::{ParseError, deserialize_from_str, serde_as_str, try_from_str};
use crate::error::{Error, OpenIdUnsupported};
use crate::oidc::ClaimsRequest;
use crate::oidc::id_token::MAX_ID_TOKEN_HINT_LEN;

/// Longest accepted `nonce`, in bytes.
pub const MAX_NONCE_LEN: usize = 512;
/// Longest accepted `login_hint`, in bytes.
pub const MAX_LOGIN_HINT_LEN: usize = 512;
/// At most this many `acr_values`.
pub const MAX_ACR_VALUES: usize = 16;
/// Longest accepted ACR value, in bytes.
pub const MAX_ACR_LEN: usize = 255;
/// At most this many language tags are kept per locales parameter.
pub const MAX_LOCALES: usize = 16;

/// Free text a client sends: non-empty, at most `max` bytes, no control
/// characters.
fn text(s: &str, what: &'static str, max: usize) -> Result<(), ParseError> {
    if s.is_empty() {
        return Err(ParseError::new(what, "is empty"));
    }
    if s.len() > max {
        return Err(ParseError::new(what, "is too long"));
    }
    if s.chars().any(char::is_control) {
        return Err(ParseError::new(what, "contains a control character"));
    }
    Ok(())
}

/// One value of the `prompt` parameter.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// `none`: show no page; answer `login_required`, `consent_required`…
    /// when the user would have to act (OI-06).
    None,
    /// `login`: the user authenticates anew, despite a session.
    Login,
    /// `consent`: ask for consent even when it was given before.
    Consent,
    /// `select_account`: let the user choose among their accounts.
    SelectAccount,
}

impl Prompt {
    const ALL: [Self; 4] = [Self::None, Self::Login, Self::Consent, Self::SelectAccount];

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Login => "login",
            Self::Consent => "consent",
            Self::SelectAccount => "select_account",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::None => 1,
            Self::Login => 2,
            Self::Consent => 4,
            Self::SelectAccount => 8,
        }
    }
}

impl FromStr for Prompt {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(ParseError::new(
                "prompt",
                "is not none, login, consent or select_account",
            ))
    }
}

/// The `prompt` parameter: a set of [`Prompt`] values. `none` never comes
/// with another value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PromptSet(u8);

impl PromptSet {
    /// Whether `prompt` was asked for.
    pub const fn contains(self, prompt: Prompt) -> bool {
        self.0 & prompt.bit() != 0
    }

    /// Whether no prompt was sent.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The values asked for, in the order of [`Prompt`].
    pub fn iter(self) -> impl Iterator<Item = Prompt> {
        Prompt::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl FromStr for PromptSet {
    type Err = ParseError;

    /// Space-separated values; an unknown one, or `none` with another, is
    /// an error.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut set = 0;
        for value in s.split(' ').filter(|v| !v.is_empty()) {
            set |= value.parse::<Prompt>()?.bit();
        }
        if set & Prompt::None.bit() != 0 && set != Prompt::None.bit() {
            return Err(ParseError::new("prompt", "has none with another value"));
        }
        Ok(Self(set))
    }
}

impl fmt::Display for PromptSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

try_from_str!(Prompt, PromptSet);
serde_as_str!(Prompt, PromptSet);

/// The `display` parameter: how the host should lay out its pages.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisplayMode {
    /// `page`: a full page (the default).
    Page,
    /// `popup`: a popup window.
    Popup,
    /// `touch`: a touch device.
    Touch,
    /// `wap`: a feature phone.
    Wap,
}

impl DisplayMode {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Popup => "popup",
            Self::Touch => "touch",
            Self::Wap => "wap",
        }
    }
}

impl FromStr for DisplayMode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s {
            "page" => Self::Page,
            "popup" => Self::Popup,
            "touch" => Self::Touch,
            "wap" => Self::Wap,
            _ => {
                return Err(ParseError::new(
                    "display",
                    "is not page, popup, touch or wap",
                ));
            }
        })
    }
}

impl fmt::Display for DisplayMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

try_from_str!(DisplayMode);
serde_as_str!(DisplayMode);

/// A BCP 47 language tag as `ui_locales` and `claims_locales` carry it
/// (`en`, `fr-CA`, `zh-Hant-TW`): subtags of one to eight ASCII letters or
/// digits joined by `-`, at most 64 bytes. Only the syntax is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// The tag as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LanguageTag {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.split('-').all(|sub| {
                (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new("language tag", "is not a BCP 47 tag"))
        }
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

try_from_str!(LanguageTag);
serde_as_str!(LanguageTag);

/// The `login_hint` parameter: how the client names the user it expects
/// (an email address, a phone number…), for the host's login page. Not
/// checked against anything: the host decides what to do with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoginHint(String);

impl LoginHint {
    /// The hint as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LoginHint {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        text(s, "login_hint", MAX_LOGIN_HINT_LEN).map(|()| Self(s.to_owned()))
    }
}

impl fmt::Display for LoginHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

try_from_str!(LoginHint);
serde_as_str!(LoginHint);

/// The `id_token_hint` parameter: an ID Token this server issued earlier,
/// naming the user the client expects. Kept opaque here, as sent (at most
/// [`MAX_ID_TOKEN_HINT_LEN`] bytes, no whitespace or control characters);
/// its signature is checked where it is used. `Debug` redacts it: it
/// carries the user's claims.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdTokenHint(String);

impl IdTokenHint {
    /// The compact JWS as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdTokenHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdTokenHint(<{} bytes>)", self.0.len())
    }
}

impl FromStr for IdTokenHint {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > MAX_ID_TOKEN_HINT_LEN {
            return Err(ParseError::new("id_token_hint", "is empty or too long"));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                "id_token_hint",
                "is not printable ASCII without spaces",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

try_from_str!(IdTokenHint);
// Read, never written out by serde (it carries the user's claims).
deserialize_from_str!(IdTokenHint);

/// The `nonce` parameter: a value the client binds its session to,
/// returned exactly as sent in the ID Token (OI-02). At most
/// [`MAX_NONCE_LEN`] bytes, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// The nonce as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Nonce {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        text(s, "nonce", MAX_NONCE_LEN).map(|()| Self(s.to_owned()))
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

try_from_str!(Nonce);
serde_as_str!(Nonce);

/// The OpenID Connect parameters of a valid authorization request whose
/// scope holds `openid`: what the host reads from
/// [`LoginRequired::openid`](crate::LoginRequired::openid) and
/// [`PendingAuthorization::openid`](crate::PendingAuthorization::openid) to
/// render its pages. The core enforces `prompt` and `max_age` itself
/// (OI-06, OI-07); the hints, locales, `display` and `acr_values` are for
/// the host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenIdRequest {
    prompt: PromptSet,
    max_age: Option<Duration>,
    login_hint: Option<LoginHint>,
    id_token_hint: Option<IdTokenHint>,
    ui_locales: Vec<LanguageTag>,
    claims_locales: Vec<LanguageTag>,
    display: Option<DisplayMode>,
    acr_values: Vec<String>,
    nonce: Option<Nonce>,
    claims: Option<ClaimsRequest>,
}

impl OpenIdRequest {
    /// The `prompt` values (empty when none was sent).
    pub fn prompt(&self) -> PromptSet {
        self.prompt
    }

    /// `max_age`: the longest time since the user's authentication the
    /// client accepts. Zero behaves as `prompt=login`.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// `login_hint`, to prefill the login page.
    pub fn login_hint(&self) -> Option<&LoginHint> {
        self.login_hint.as_ref()
    }

    /// `id_token_hint`, as sent (not yet verified).
    pub fn id_token_hint(&self) -> Option<&IdTokenHint> {
        self.id_token_hint.as_ref()
    }

    /// `ui_locales`: the languages for the pages, preferred first.
    pub fn ui_locales(&self) -> &[LanguageTag] {
        &self.ui_locales
    }

    /// `claims_locales`: the languages for claim values, preferred first.
    pub fn claims_locales(&self) -> &[LanguageTag] {
        &self.claims_locales
    }

    /// `display`: how to lay the pages out, if the client said.
    pub fn display(&self) -> Option<DisplayMode> {
        self.display
    }

    /// `acr_values`: the authentication context classes the client asks
    /// for, preferred first (voluntary, Core §3.1.2.1).
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// `nonce`, returned in the ID Token.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// The `claims` parameter (OI-09).
    pub fn claims(&self) -> Option<&ClaimsRequest> {
        self.claims.as_ref()
    }

    /// Parses the parameters as sent (`None` for absent ones). Every
    /// refusal is an [`Error`] the endpoint redirects.
    pub(crate) fn parse(raw: &RawOpenId<'_>) -> Result<Self, Error> {
        if raw.request.is_some() {
            return Err(Error::NotSupported(OpenIdUnsupported::Request));
        }
        if raw.request_uri.is_some() {
            return Err(Error::NotSupported(OpenIdUnsupported::RequestUri));
        }
        if raw.registration.is_some() {
            return Err(Error::NotSupported(OpenIdUnsupported::Registration));
        }
        fn field<T: FromStr>(v: Option<&str>, name: &'static str) -> Result<Option<T>, Error> {
            v.map(|s| s.parse().map_err(|_| Error::invalid_param(name)))
                .transpose()
        }
        let max_age = match raw.max_age.as_deref() {
            None => None,
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(
                Duration::from_secs(s.parse().map_err(|_| Error::invalid_param("max_age"))?),
            ),
            Some(_) => return Err(Error::invalid_param("max_age")),
        };
        let acr_values: Vec<String> = raw
            .acr_values
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if acr_values.len() > MAX_ACR_VALUES
            || acr_values
                .iter()
                .any(|v| text(v, "acr value", MAX_ACR_LEN).is_err())
        {
            return Err(Error::invalid_param("acr_values"));
        }
        let claims = match raw.claims.as_deref() {
            None => None,
            Some(s) => Some(ClaimsRequest::parse(s).map_err(|_| Error::invalid_param("claims"))?),
        };
        Ok(Self {
            prompt: field(raw.prompt.as_deref(), "prompt")?.unwrap_or_default(),
            max_age,
            login_hint: field(raw.login_hint.as_deref(), "login_hint")?,
            id_token_hint: field(raw.id_token_hint.as_deref(), "id_token_hint")?,
            ui_locales: locales(raw.ui_locales.as_deref()),
            claims_locales: locales(raw.claims_locales.as_deref()),
            display: field(raw.display.as_deref(), "display")?,
            acr_values,
            nonce: field(raw.nonce.as_deref(), "nonce")?,
            claims,
        })
    }

    /// The parameters in their wire form, as [`parse`](Self::parse) reads
    /// them back (for the suspended request).
    pub(crate) fn to_raw(&self) -> RawOpenId<'static> {
        let join = |tags: &[LanguageTag]| {
            (!tags.is_empty()).then(|| {
                Cow::Owned(
                    tags.iter()
                        .map(LanguageTag::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })
        };
        let owned = |s: &str| Cow::Owned(s.to_owned());
        RawOpenId {
            prompt: (!self.prompt.is_empty()).then(|| Cow::Owned(self.prompt.to_string())),
            max_age: self.max_age.map(|d| Cow::Owned(d.as_secs().to_string())),
            login_hint: self.login_hint.as_ref().map(|h| owned(h.as_str())),
            id_token_hint: self.id_token_hint.as_ref().map(|h| owned(h.as_str())),
            ui_locales: join(&self.ui_locales),
            claims_locales: join(&self.claims_locales),
            display: self.display.map(|d| Cow::Borrowed(d.as_str())),
            acr_values: (!self.acr_values.is_empty())
                .then(|| Cow::Owned(self.acr_values.join(" "))),
            nonce: self.nonce.as_ref().map(|n| owned(n.as_str())),
            claims: self.claims.as_ref().map(|c| Cow::Owned(c.to_json())),
            request: None,
            request_uri: None,
            registration: None,
        }
    }
}

/// The well-formed tags of a locales parameter, at most [`MAX_LOCALES`].
fn locales(s: Option<&str>) -> Vec<LanguageTag> {
    s.unwrap_or_default()
        .split(' ')
        .filter_map(|t| t.parse().ok())
        .take(MAX_LOCALES)
        .collect()
}

/// The OpenID parameters as sent (or as a suspended request stores them).
/// `Debug` leaves out the values that name or carry a user (`id_token_hint`,
/// `login_hint`, `nonce`, `claims`): it says only whether they were sent.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct RawOpenId<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prompt: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) login_hint: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token_hint: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ui_locales: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claims_locales: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr_values: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claims: Option<Cow<'a, str>>,
    #[serde(skip)]
    pub(crate) request: Option<Cow<'a, str>>,
    #[serde(skip)]
    pub(crate) request_uri: Option<Cow<'a, str>>,
    #[serde(skip)]
    pub(crate) registration: Option<Cow<'a, str>>,
}

impl std::fmt::Debug for RawOpenId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sent = |v: &Option<Cow<'_, str>>| v.is_some();
        f.debug_struct("RawOpenId")
            .field("prompt", &self.prompt)
            .field("max_age", &self.max_age)
            .field("display", &self.display)
            .field("ui_locales", &self.ui_locales)
            .field("claims_locales", &self.claims_locales)
            .field("acr_values", &self.acr_values)
            .field("login_hint_sent", &sent(&self.login_hint))
            .field("id_token_hint_sent", &sent(&self.id_token_hint))
            .field("nonce_sent", &sent(&self.nonce))
            .field("claims_sent", &sent(&self.claims))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: RB-03
    // issue 16 review: the raw parameters' Debug never carries a hint,
    // nonce or claims request, only whether one was sent.
    #[test]
    fn raw_parameters_debug_hides_hints_nonce_and_claims() {
        let raw = RawOpenId {
            prompt: Some(Cow::Borrowed("none")),
            id_token_hint: Some(Cow::Borrowed("eyJhbGciOiJSUzI1NiJ9.secret.sig")),
            login_hint: Some(Cow::Borrowed("alice@example.com")),
            nonce: Some(Cow::Borrowed("n-0S6_WzA2Mj")),
            claims: Some(Cow::Borrowed(r#"{"userinfo":{"email":null}}"#)),
            ..RawOpenId::default()
        };
        let shown = format!("{raw:?}");
        assert!(
            shown.contains("none") && shown.contains("id_token_hint_sent: true"),
            "{shown}"
        );
        for hidden in ["secret", "alice@example.com", "n-0S6_WzA2Mj", "userinfo"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
    }
    use crate::error::{ErrorCode, RequestFault};

    fn parse(pairs: &[(&str, &str)]) -> Result<OpenIdRequest, Error> {
        let mut raw = RawOpenId::default();
        for (k, v) in pairs {
            let v = Some(Cow::Owned((*v).to_owned()));
            match *k {
                "prompt" => raw.prompt = v,
                "max_age" => raw.max_age = v,
                "login_hint" => raw.login_hint = v,
                "id_token_hint" => raw.id_token_hint = v,
                "ui_locales" => raw.ui_locales = v,
                "claims_locales" => raw.claims_locales = v,
                "display" => raw.display = v,
                "acr_values" => raw.acr_values = v,
                "nonce" => raw.nonce = v,
                "claims" => raw.claims = v,
                "request" => raw.request = v,
                "request_uri" => raw.request_uri = v,
                "registration" => raw.registration = v,
                _ => unreachable!(),
            }
        }
        OpenIdRequest::parse(&raw)
    }

    fn refused(pairs: &[(&str, &str)]) -> RequestFault {
        match parse(pairs) {
            Err(Error::InvalidRequest(f)) => f,
            other => panic!("{pairs:?}: {other:?}"),
        }
    }

    // covers: OI-06
    #[test]
    fn prompt_is_a_set_and_none_stands_alone() {
        let p = parse(&[("prompt", "login consent")]).unwrap().prompt();
        assert!(p.contains(Prompt::Login) && p.contains(Prompt::Consent));
        assert!(!p.contains(Prompt::None));
        assert_eq!(p.to_string(), "login consent");
        assert_eq!(
            refused(&[("prompt", "none login")]),
            RequestFault::InvalidParameter("prompt")
        );
        // Unknown values are refused, as panva's oidc-provider does.
        assert_eq!(
            refused(&[("prompt", "login bogus")]),
            RequestFault::InvalidParameter("prompt")
        );
        assert!(parse(&[]).unwrap().prompt().is_empty());
    }

    // covers: OI-07
    #[test]
    fn max_age_is_a_non_negative_integer() {
        let age = |s| parse(&[("max_age", s)]).map(|r| r.max_age());
        assert_eq!(age("0").unwrap(), Some(Duration::ZERO));
        assert_eq!(age("3600").unwrap(), Some(Duration::from_secs(3600)));
        for bad in ["-1", "+5", "1.5", "x", "99999999999999999999999"] {
            assert!(age(bad).is_err(), "{bad}");
        }
    }

    // covers: OI-08, OI-09
    #[test]
    fn hints_locales_display_acr_nonce_and_claims_are_typed() {
        let r = parse(&[
            ("login_hint", "alice@example.com"),
            ("id_token_hint", "a.b.c"),
            ("ui_locales", "fr-CA fr en bad_tag"),
            ("claims_locales", "de"),
            ("display", "popup"),
            ("acr_values", "urn:a urn:b"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("claims", r#"{"id_token":{"acr":{"essential":true}}}"#),
        ])
        .unwrap();
        assert_eq!(r.login_hint().unwrap().as_str(), "alice@example.com");
        assert_eq!(r.id_token_hint().unwrap().as_str(), "a.b.c");
        let tags: Vec<_> = r.ui_locales().iter().map(LanguageTag::as_str).collect();
        assert_eq!(tags, ["fr-CA", "fr", "en"]);
        assert_eq!(r.claims_locales()[0].as_str(), "de");
        assert_eq!(r.display(), Some(DisplayMode::Popup));
        assert_eq!(r.acr_values(), ["urn:a", "urn:b"]);
        assert_eq!(r.nonce().unwrap().as_str(), "n-0S6_WzA2Mj");
        assert!(r.claims().unwrap().id_token()[0].is_essential());
        // The stored form reads back to the same request.
        assert_eq!(OpenIdRequest::parse(&r.to_raw()).unwrap(), r);
        // The hint is redacted in Debug.
        assert!(!format!("{r:?}").contains("a.b.c"));
    }

    #[test]
    fn malformed_values_are_invalid_request() {
        for (k, v) in [
            ("display", "fullscreen"),
            ("claims", "{not json"),
            ("nonce", "a\u{7}b"),
            ("id_token_hint", "a b"),
        ] {
            assert_eq!(refused(&[(k, v)]), RequestFault::InvalidParameter(k));
        }
        assert!(parse(&[("nonce", &"n".repeat(MAX_NONCE_LEN))]).is_ok());
        assert!(parse(&[("nonce", &"n".repeat(MAX_NONCE_LEN + 1))]).is_err());
        assert!(parse(&[("login_hint", &"h".repeat(MAX_LOGIN_HINT_LEN + 1))]).is_err());
        let many = vec!["a"; MAX_ACR_VALUES + 1].join(" ");
        assert!(parse(&[("acr_values", &many)]).is_err());
    }

    #[test]
    fn request_objects_and_registration_are_not_supported() {
        for (param, code) in [
            ("request", ErrorCode::RequestNotSupported),
            ("request_uri", ErrorCode::RequestUriNotSupported),
            ("registration", ErrorCode::RegistrationNotSupported),
        ] {
            assert_eq!(parse(&[(param, "x")]).unwrap_err().code(), code);
        }
    }
}
