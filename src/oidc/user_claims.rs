//! Claims about the end-user (OpenID Connect Core 1.0 §5): the host's
//! [`UserClaims`] trait, the standard claims each scope value releases
//! (Core §5.4), and the selection of what a UserInfo response releases
//! (OI-05, OI-09, OI-11).
//!
//! The library stores no profile data: the host answers for a user with
//! the claims it has. The core decides what is released and never trusts
//! the host to filter: it asks only for the claims the grant allows, keeps
//! only those from the answer, and always writes `sub` itself.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::claims_request::{ClaimsRequest, RequestedClaim};
use crate::client::ClientId;
use crate::error::StoreError;
use crate::scope::ScopeSet;
use crate::user::UserId;

/// The claims the `profile` scope value releases (Core §5.4).
pub const PROFILE_CLAIMS: [&str; 14] = [
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

/// The claims the `email` scope value releases (Core §5.4).
pub const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];

/// The claims the `address` scope value releases (Core §5.4).
pub const ADDRESS_CLAIMS: [&str; 1] = ["address"];

/// The claims the `phone` scope value releases (Core §5.4).
pub const PHONE_CLAIMS: [&str; 2] = ["phone_number", "phone_number_verified"];

/// The standard claims a scope value releases (Core §5.4): `profile`,
/// `email`, `address` and `phone`; none for any other scope value.
///
/// ```
/// use portcullis::oidc::scope_claims;
/// assert_eq!(scope_claims("email"), ["email", "email_verified"]);
/// assert!(scope_claims("read").is_empty());
/// ```
pub fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &PROFILE_CLAIMS,
        "email" => &EMAIL_CLAIMS,
        "address" => &ADDRESS_CLAIMS,
        "phone" => &PHONE_CLAIMS,
        _ => &[],
    }
}

/// Every claim this server can release by scope, `sub` first (for the
/// discovery document's `claims_supported`).
pub fn standard_claims() -> impl Iterator<Item = &'static str> {
    std::iter::once("sub")
        .chain(PROFILE_CLAIMS)
        .chain(EMAIL_CLAIMS)
        .chain(ADDRESS_CLAIMS)
        .chain(PHONE_CLAIMS)
}

/// The claims one grant may release at UserInfo: the standard claims of its
/// granted scope values (Core §5.4) and the claims named in the `userinfo`
/// member of its `claims` request (Core §5.5), each with that request's
/// `value`/`values` condition if it has one. `sub` is never among them: the
/// core writes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WantedClaims<'a> {
    /// Claim name → its request in the `claims` parameter, if it has one.
    names: BTreeMap<&'a str, Option<&'a RequestedClaim>>,
}

impl<'a> WantedClaims<'a> {
    /// The claims `scope` and `request` (the grant's `claims` parameter, if
    /// it had one) ask for at UserInfo.
    pub fn for_grant(scope: &ScopeSet, request: Option<&'a ClaimsRequest>) -> Self {
        let mut names = BTreeMap::new();
        for s in scope.iter() {
            for name in scope_claims(s.as_str()) {
                names.insert(*name, None);
            }
        }
        for claim in request.map(ClaimsRequest::userinfo).unwrap_or_default() {
            names.insert(claim.name(), Some(claim));
        }
        names.remove("sub");
        Self { names }
    }

    /// The claims the `id_token` member of a grant's `claims` request asks
    /// to have in its ID Tokens (Core §5.5), each with its `value`/`values`
    /// condition. The scope's claims are not among them: with an access
    /// token issued, they are released at UserInfo (Core §5.4).
    pub fn for_id_token(request: Option<&'a ClaimsRequest>) -> Self {
        let mut names: BTreeMap<&'a str, Option<&'a RequestedClaim>> = request
            .map(ClaimsRequest::id_token)
            .unwrap_or_default()
            .iter()
            .map(|claim| (claim.name(), Some(claim)))
            .collect();
        names.remove("sub");
        Self { names }
    }

    /// The names asked for, in order, each once.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.names.keys().copied()
    }

    /// Whether `name` is asked for.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// How many claims are asked for.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no claim is asked for (then the host is not asked at all).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether `value` may be released as `name`: `name` is asked for, the
    /// value is neither `null` nor an empty string (Core §5.3.2: such claims
    /// are omitted), and it meets the request's `value`/`values` if any
    /// (Core §5.5.1).
    fn releases(&self, name: &str, value: &Value) -> bool {
        let empty = value.is_null() || value.as_str().is_some_and(str::is_empty);
        match self.names.get(name) {
            Some(request) => !empty && request.is_none_or(|r| r.accepts(value)),
            None => false,
        }
    }

    /// The claims released for `subject`: `sub`, then those of `from_host`
    /// that are asked for and meet their conditions, values unchanged
    /// (numbers stay numbers, booleans booleans, `address` an object).
    /// Whatever else the host gave, its own `sub` included, is dropped.
    pub fn select(&self, subject: &str, from_host: Map<String, Value>) -> Map<String, Value> {
        let mut released: Map<String, Value> = from_host
            .into_iter()
            .filter(|(name, value)| self.releases(name, value))
            .collect();
        released.insert("sub".to_owned(), Value::String(subject.to_owned()));
        released
    }
}

/// What the core asks the host's [`UserClaims`] for: one user's claims of
/// these names, for a request of this client.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct ClaimsQuery<'a> {
    user: &'a UserId,
    client_id: &'a ClientId,
    wanted: &'a WantedClaims<'a>,
}

impl<'a> ClaimsQuery<'a> {
    /// A query (the core makes them; a host makes them in its tests).
    pub fn new(user: &'a UserId, client_id: &'a ClientId, wanted: &'a WantedClaims<'a>) -> Self {
        Self {
            user,
            client_id,
            wanted,
        }
    }

    /// The user whose claims are asked for (the id the host's login step
    /// gave, not the `sub` a client sees).
    pub fn user(&self) -> &'a UserId {
        self.user
    }

    /// The client the token was issued to.
    pub fn client_id(&self) -> &'a ClientId {
        self.client_id
    }

    /// The names of the claims wanted: answering more is harmless (the
    /// core drops what was not asked for), answering fewer means the client
    /// does not get them.
    pub fn wanted(&self) -> &'a WantedClaims<'a> {
        self.wanted
    }
}

/// The host's source of claims about its users (OI-11): the library keeps
/// no profile data, and asks this trait at the UserInfo endpoint.
///
/// Return the claims you have among [`ClaimsQuery::wanted`], as JSON
/// values in the form Core §5.1 gives them: strings, `email_verified` a
/// boolean, `updated_at` a number of seconds, `address` an object. Leave
/// out what you do not have. There is no need to filter: the core releases
/// only what the grant allows, and always writes `sub` itself (a `sub` you
/// return is ignored). An `Err` answers `server_error` (500).
///
/// ```
/// use portcullis::oidc::{ClaimsQuery, UserClaims};
/// use portcullis::{StoreError, async_trait};
/// use serde_json::{Map, Value, json};
///
/// struct Directory;
///
/// #[async_trait]
/// impl UserClaims for Directory {
///     async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
///         // Look the user up in your own directory.
///         let all = json!({"name": "Alice Adams", "email": "alice@example.com",
///                          "email_verified": true});
///         Ok(all.as_object().cloned().unwrap_or_default())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait UserClaims: Send + Sync {
    /// The claims of `query.user()` among `query.wanted()`.
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    /// Every standard claim, with values of each JSON kind.
    fn everything() -> Map<String, Value> {
        let mut all: Map<String, Value> = standard_claims()
            .map(|n| (n.to_owned(), Value::String(format!("{n}-value"))))
            .collect();
        all.insert("sub".into(), json!("forged"));
        all.insert("email_verified".into(), json!(true));
        all.insert("phone_number_verified".into(), json!(false));
        all.insert("updated_at".into(), json!(1_767_225_600));
        all.insert(
            "address".into(),
            json!({"street_address": "1 Main Street", "country": "US"}),
        );
        all.insert("groups".into(), json!(["admins"]));
        all
    }

    fn names(m: &Map<String, Value>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn each_scope_releases_exactly_its_claims() {
        // covers: OI-05, OI-11
        // issue 16
        for (s, expected) in [
            ("profile", &PROFILE_CLAIMS[..]),
            ("email", &EMAIL_CLAIMS[..]),
            ("address", &ADDRESS_CLAIMS[..]),
            ("phone", &PHONE_CLAIMS[..]),
        ] {
            let granted = scope(&format!("openid {s} read"));
            let wanted = WantedClaims::for_grant(&granted, None);
            let out = wanted.select("alice", everything());
            let mut want: Vec<&str> = expected.iter().copied().chain(["sub"]).collect();
            want.sort_unstable();
            assert_eq!(names(&out), want, "{s}");
            assert_eq!(out["sub"], "alice");
        }
        // Only openid: `sub` alone, and nothing to ask the host.
        let granted = scope("openid read");
        let wanted = WantedClaims::for_grant(&granted, None);
        assert!(wanted.is_empty());
        assert_eq!(names(&wanted.select("alice", everything())), ["sub"]);
    }

    #[test]
    fn values_are_released_unchanged() {
        // covers: OI-05
        let granted = scope("openid profile email address phone");
        let out = WantedClaims::for_grant(&granted, None).select("alice", everything());
        assert_eq!(out["email_verified"], json!(true));
        assert_eq!(out["phone_number_verified"], json!(false));
        assert_eq!(out["updated_at"], json!(1_767_225_600));
        assert_eq!(out["address"]["country"], "US");
        assert!(out.get("groups").is_none(), "not asked for");
        assert_eq!(out.len(), standard_claims().count());
    }

    #[test]
    fn sub_is_always_the_cores() {
        // covers: OI-11
        let granted = scope("openid profile");
        let request = ClaimsRequest::parse(r#"{"userinfo":{"sub":{"value":"forged"}}}"#).unwrap();
        let wanted = WantedClaims::for_grant(&granted, Some(&request));
        assert!(!wanted.contains("sub"), "the host is never asked for sub");
        let out = wanted.select("alice", everything());
        assert_eq!(out["sub"], "alice");
    }

    #[test]
    fn null_and_empty_values_are_omitted() {
        let granted = scope("openid profile");
        let host = json!({"name": null, "nickname": "", "given_name": "Alice"});
        let out = WantedClaims::for_grant(&granted, None)
            .select("alice", host.as_object().unwrap().clone());
        assert_eq!(names(&out), ["given_name", "sub"]);
    }

    #[test]
    fn the_claims_request_adds_claims_and_its_values_restrict_them() {
        // covers: OI-09
        // issue 16
        let granted = scope("openid");
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{
                "email": {"essential": true},
                "groups": null,
                "locale": {"value": "fr-FR"},
                "address": {"values": [{"country": "FR"}, {"street_address": "1 Main Street", "country": "US"}]},
                "unknown_claim": null
              },
              "id_token": {"name": null}}"#,
        )
        .unwrap();
        let wanted = WantedClaims::for_grant(&granted, Some(&request));
        assert_eq!(
            wanted.iter().collect::<Vec<_>>(),
            ["address", "email", "groups", "locale", "unknown_claim"]
        );
        let mut host = everything();
        host.insert("locale".into(), json!("en-US"));
        let out = wanted.select("alice", host);
        // The `id_token` member releases nothing here; `locale` does not
        // match its value; the host has no `unknown_claim`.
        assert_eq!(names(&out), ["address", "email", "groups", "sub"]);
        assert_eq!(out["groups"], json!(["admins"]));
    }

    #[test]
    fn a_value_condition_applies_to_claims_of_the_scope_too() {
        // covers: OI-09
        let granted = scope("openid email");
        let request =
            ClaimsRequest::parse(r#"{"userinfo":{"email":{"value":"bob@example.com"}}}"#).unwrap();
        let out = WantedClaims::for_grant(&granted, Some(&request)).select("alice", everything());
        assert_eq!(names(&out), ["email_verified", "sub"]);
        let request =
            ClaimsRequest::parse(r#"{"userinfo":{"email":{"value":"email-value"}}}"#).unwrap();
        let out = WantedClaims::for_grant(&granted, Some(&request)).select("alice", everything());
        assert_eq!(names(&out), ["email", "email_verified", "sub"]);
    }

    #[test]
    fn scope_claims_of_other_values_are_empty() {
        assert!(scope_claims("openid").is_empty());
        assert!(scope_claims("offline_access").is_empty());
        assert_eq!(scope_claims("address"), ["address"]);
        assert_eq!(standard_claims().count(), 20);
    }
}
