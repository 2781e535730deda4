//! The `claims` request parameter (OpenID Connect Core 1.0 §5.5, OI-09):
//! individual claims a relying party asks for, for UserInfo and for the ID
//! Token, each optionally `essential` or restricted to a `value` or `values`.
//!
//! Parsed once at the authorization endpoint into [`ClaimsRequest`], stored
//! with the grant in the same JSON form, and trusted from then on. Members
//! the specification does not define, and claims nobody knows, are kept or
//! ignored as Core says ("any members used that are not understood MUST be
//! ignored"); what is malformed is refused with a [`ClaimsRequestError`],
//! which the endpoint answers with `invalid_request`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// At most this many claims per member (`userinfo`, `id_token`): the
/// standard claims number about twenty, so this only bounds the work an
/// attacker can ask for.
pub const MAX_CLAIMS_PER_MEMBER: usize = 64;

/// Longest accepted claim name, in bytes.
pub const MAX_CLAIM_NAME_LEN: usize = 128;

/// Why a `claims` parameter was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsRequestError {
    /// Not JSON at all.
    #[error("the claims parameter is not JSON")]
    NotJson,
    /// The top level, or the `userinfo` or `id_token` member, is not a JSON
    /// object.
    #[error("the claims parameter or its {0} member is not a JSON object")]
    NotAnObject(&'static str),
    /// A claim's request is neither `null` nor an object.
    #[error("a requested claim is neither null nor an object")]
    ClaimNotAnObject,
    /// `essential` is not a boolean.
    #[error("essential is not a boolean")]
    EssentialNotBoolean,
    /// `values` is not an array.
    #[error("values is not an array")]
    ValuesNotArray,
    /// A claim name is empty or longer than [`MAX_CLAIM_NAME_LEN`].
    #[error("a claim name is empty or too long")]
    BadClaimName,
    /// More than [`MAX_CLAIMS_PER_MEMBER`] claims in one member.
    #[error("too many claims requested")]
    TooManyClaims,
}

/// One claim asked for (Core §5.5.1).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestedClaim {
    name: String,
    essential: bool,
    value: Option<Value>,
    values: Option<Vec<Value>>,
}

impl RequestedClaim {
    /// The claim's name, e.g. `email` or `acr`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the relying party marked it essential. The OpenID Provider
    /// still answers without it when it cannot release it (Core §5.5.1).
    pub fn is_essential(&self) -> bool {
        self.essential
    }

    /// The one value asked for, if any (`"value"`).
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }

    /// The values asked for in order of preference, if any (`"values"`).
    pub fn values(&self) -> Option<&[Value]> {
        self.values.as_deref()
    }

    /// Whether `candidate` satisfies `value` / `values` (true when neither
    /// was given).
    pub fn accepts(&self, candidate: &Value) -> bool {
        match (&self.value, &self.values) {
            (Some(v), _) => v == candidate,
            (None, Some(vs)) => vs.contains(candidate),
            (None, None) => true,
        }
    }

    fn parse(name: &str, spec: &Value) -> Result<Self, ClaimsRequestError> {
        if name.is_empty() || name.len() > MAX_CLAIM_NAME_LEN {
            return Err(ClaimsRequestError::BadClaimName);
        }
        let mut claim = Self {
            name: name.to_owned(),
            essential: false,
            value: None,
            values: None,
        };
        match spec {
            Value::Null => {}
            Value::Object(o) => {
                match o.get("essential") {
                    None => {}
                    Some(Value::Bool(b)) => claim.essential = *b,
                    Some(_) => return Err(ClaimsRequestError::EssentialNotBoolean),
                }
                claim.value = o.get("value").cloned();
                match o.get("values") {
                    None => {}
                    Some(Value::Array(a)) => claim.values = Some(a.clone()),
                    Some(_) => return Err(ClaimsRequestError::ValuesNotArray),
                }
            }
            _ => return Err(ClaimsRequestError::ClaimNotAnObject),
        }
        Ok(claim)
    }

    fn to_json(&self) -> Value {
        if !self.essential && self.value.is_none() && self.values.is_none() {
            return Value::Null;
        }
        let mut o = Map::new();
        if self.essential {
            o.insert("essential".into(), Value::Bool(true));
        }
        if let Some(v) = &self.value {
            o.insert("value".into(), v.clone());
        }
        if let Some(vs) = &self.values {
            o.insert("values".into(), Value::Array(vs.clone()));
        }
        Value::Object(o)
    }
}

/// A parsed `claims` request parameter: the claims asked for at UserInfo
/// and in the ID Token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClaimsRequest {
    userinfo: Vec<RequestedClaim>,
    id_token: Vec<RequestedClaim>,
}

impl ClaimsRequest {
    /// Parses the parameter's JSON text (Core §5.5).
    pub fn parse(s: &str) -> Result<Self, ClaimsRequestError> {
        let value: Value = serde_json::from_str(s).map_err(|_| ClaimsRequestError::NotJson)?;
        Self::from_value(&value)
    }

    fn from_value(value: &Value) -> Result<Self, ClaimsRequestError> {
        let Value::Object(top) = value else {
            return Err(ClaimsRequestError::NotAnObject("top-level"));
        };
        Ok(Self {
            userinfo: member(top, "userinfo")?,
            id_token: member(top, "id_token")?,
        })
    }

    /// The claims asked for at the UserInfo endpoint.
    pub fn userinfo(&self) -> &[RequestedClaim] {
        &self.userinfo
    }

    /// The claims asked for in the ID Token.
    pub fn id_token(&self) -> &[RequestedClaim] {
        &self.id_token
    }

    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty()
    }

    /// The request in its JSON form, as [`parse`](Self::parse) reads it
    /// back (for storage with the grant).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    fn to_value(&self) -> Value {
        let render = |claims: &[RequestedClaim]| {
            Value::Object(
                claims
                    .iter()
                    .map(|c| (c.name.clone(), c.to_json()))
                    .collect(),
            )
        };
        let mut top = Map::new();
        if !self.userinfo.is_empty() {
            top.insert("userinfo".into(), render(&self.userinfo));
        }
        if !self.id_token.is_empty() {
            top.insert("id_token".into(), render(&self.id_token));
        }
        Value::Object(top)
    }
}

/// One member (`userinfo` or `id_token`); absent or `null` is empty.
fn member(
    top: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<RequestedClaim>, ClaimsRequestError> {
    match top.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(claims)) => {
            if claims.len() > MAX_CLAIMS_PER_MEMBER {
                return Err(ClaimsRequestError::TooManyClaims);
            }
            claims
                .iter()
                .map(|(k, v)| RequestedClaim::parse(k, v))
                .collect()
        }
        Some(_) => Err(ClaimsRequestError::NotAnObject(name)),
    }
}

impl std::str::FromStr for ClaimsRequest {
    type Err = ClaimsRequestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ClaimsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl Serialize for ClaimsRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClaimsRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: OI-09
    #[test]
    fn parses_the_core_example() {
        // Core 1.0 §5.5's example, less the vendor claim's URL.
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"given_name":{"essential":true},"nickname":null,
                "email":{"essential":true},"email_verified":{"essential":true},
                "picture":null},
               "id_token":{"auth_time":{"essential":true},
                "acr":{"values":["urn:mace:incommon:iap:silver"]}}}"#,
        )
        .unwrap();
        let find = |claims: &[RequestedClaim], name: &str| {
            claims.iter().find(|c| c.name() == name).cloned().unwrap()
        };
        let mut names: Vec<_> = r.userinfo().iter().map(RequestedClaim::name).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "email",
                "email_verified",
                "given_name",
                "nickname",
                "picture"
            ]
        );
        assert!(find(r.userinfo(), "given_name").is_essential());
        assert!(!find(r.userinfo(), "nickname").is_essential());
        let acr = find(r.id_token(), "acr");
        assert!(acr.accepts(&Value::from("urn:mace:incommon:iap:silver")));
        assert!(!acr.accepts(&Value::from("urn:other")));
        assert!(find(r.id_token(), "auth_time").accepts(&Value::from(12)));
    }

    // covers: OI-09
    #[test]
    fn unknown_members_and_claims_are_kept_or_ignored_not_refused() {
        let r =
            ClaimsRequest::parse(r#"{"userinfo":{"x-unknown":null},"future":{"a":1}}"#).unwrap();
        assert_eq!(r.userinfo()[0].name(), "x-unknown");
        assert!(r.id_token().is_empty());
        assert!(ClaimsRequest::parse("{}").unwrap().is_empty());
        assert!(
            ClaimsRequest::parse(r#"{"userinfo":null}"#)
                .unwrap()
                .is_empty()
        );
    }

    // covers: OI-09
    #[test]
    fn malformed_requests_are_refused() {
        use ClaimsRequestError as E;
        let cases = [
            ("{", E::NotJson),
            ("", E::NotJson),
            ("[]", E::NotAnObject("top-level")),
            (r#""userinfo""#, E::NotAnObject("top-level")),
            (r#"{"userinfo":[]}"#, E::NotAnObject("userinfo")),
            (r#"{"id_token":"x"}"#, E::NotAnObject("id_token")),
            (r#"{"userinfo":{"email":true}}"#, E::ClaimNotAnObject),
            (
                r#"{"userinfo":{"email":{"essential":"yes"}}}"#,
                E::EssentialNotBoolean,
            ),
            (r#"{"id_token":{"acr":{"values":"x"}}}"#, E::ValuesNotArray),
            (r#"{"userinfo":{"":null}}"#, E::BadClaimName),
        ];
        for (input, want) in cases {
            assert_eq!(ClaimsRequest::parse(input), Err(want), "{input}");
        }
        let many: Vec<String> = (0..=MAX_CLAIMS_PER_MEMBER)
            .map(|i| format!(r#""c{i}":null"#))
            .collect();
        let input = format!(r#"{{"userinfo":{{{}}}}}"#, many.join(","));
        assert_eq!(
            ClaimsRequest::parse(&input),
            Err(ClaimsRequestError::TooManyClaims)
        );
        let long = format!(
            r#"{{"userinfo":{{"{}":null}}}}"#,
            "n".repeat(MAX_CLAIM_NAME_LEN + 1)
        );
        assert_eq!(
            ClaimsRequest::parse(&long),
            Err(ClaimsRequestError::BadClaimName)
        );
    }

    #[test]
    fn round_trips_through_its_json_form_and_serde() {
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true},"name":null},
               "id_token":{"sub":{"value":"248289761001"},"acr":{"values":["a","b"]}}}"#,
        )
        .unwrap();
        assert_eq!(ClaimsRequest::parse(&r.to_json()).unwrap(), r);
        let stored = serde_json::to_string(&r).unwrap();
        let back: ClaimsRequest = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.to_string(), r.to_json());
        assert!(serde_json::from_str::<ClaimsRequest>("[1]").is_err());
    }
}
