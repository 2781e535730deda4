//! Claims about the end-user (OpenID Connect Core 1.0 §5): the host's
//! [`UserClaims`] trait, the standard claims each scope value releases
//! (Core §5.4), and the selection of what a UserInfo response and an ID
//! Token release (OI-05, OI-09, OI-11).
//!
//! The library stores no profile data: the host answers for a user with
//! the claims it has. The core decides what is released and never trusts
//! the host to filter: it asks only for the claims the grant allows, keeps
//! only those from the answer, and always writes `sub` itself.
//!
//! # Consent covers every standard claim (issue 16)
//!
//! The user consents to scope values, and a standard claim (the Core §5.4
//! lists below) is released only with the user's consent to its scope
//! value ([`claim_scope`]): because the token's granted scope holds it, or
//! because the grant's `claims` request named the claim and the user
//! consented to its scope value for this grant
//! ([`OpenIdGrant::claims_consent`](crate::oidc::OpenIdGrant::claims_consent)).
//! Naming `email_verified` in a `claims` request therefore asks the user
//! for `email`, as `scope=email` would ([`implied_scope`]); the
//! authorization endpoint shows the consent page for it (or answers
//! `consent_required` to `prompt=none`) unless remembered consent covers
//! it. A refresh that narrows the scope narrows what the scope releases;
//! claims the `claims` request named and the user consented to stay
//! released for the grant's life.
//!
//! Claims outside the standard lists (`groups`, say) cannot be judged by
//! the library: named in a `claims` request they are passed to the host,
//! which decides (see [`UserClaims`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::claims_request::{ClaimsRequest, RequestedClaim};
use crate::client::ClientId;
use crate::error::StoreError;
use crate::scope::{Scope, ScopeSet};
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

/// The scope value whose consent releases a standard claim (Core §5.4):
/// `email` for `email_verified`, `profile` for `locale`…; `None` for `sub`
/// (always released) and for any claim outside the standard lists.
///
/// ```
/// use portcullis::oidc::claim_scope;
/// assert_eq!(claim_scope("email_verified"), Some("email"));
/// assert_eq!(claim_scope("groups"), None);
/// ```
pub fn claim_scope(claim: &str) -> Option<&'static str> {
    ["profile", "email", "address", "phone"]
        .into_iter()
        .find(|scope| scope_claims(scope).contains(&claim))
}

/// The scope values a `claims` request asks the user to consent to: that
/// of each standard claim it names, in either member (`email` for a
/// request naming `email_verified`). Claims outside the standard lists
/// imply none.
///
/// ```
/// use portcullis::ClaimsRequest;
/// use portcullis::oidc::implied_scope;
/// let r = ClaimsRequest::parse(
///     r#"{"userinfo":{"email_verified":null,"groups":null},"id_token":{"locale":null}}"#,
/// ).unwrap();
/// assert_eq!(implied_scope(&r).to_string(), "email profile");
/// ```
pub fn implied_scope(request: &ClaimsRequest) -> ScopeSet {
    ScopeSet::from_scopes(
        request
            .userinfo()
            .iter()
            .chain(request.id_token())
            .filter_map(|c| claim_scope(c.name()))
            .filter_map(Scope::parse),
    )
}

/// Names that are never a claim about the user: JWT and ID Token members
/// the core writes or that have a meaning of their own. Asked for in a
/// `claims` request they are ignored, so no host answer can put an `exp`,
/// a `nonce` or an `aud` into a UserInfo response (which would then look
/// more like an ID Token, see `signed_userinfo.rs`).
const NOT_USER_CLAIMS: [&str; 13] = [
    "sub", "iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "azp", "at_hash", "c_hash", "s_hash",
    "events",
];

/// Every claim this server can release by scope, `sub` first (for the
/// discovery document's `claims_supported`).
pub fn standard_claims() -> impl Iterator<Item = &'static str> {
    std::iter::once("sub")
        .chain(PROFILE_CLAIMS)
        .chain(EMAIL_CLAIMS)
        .chain(ADDRESS_CLAIMS)
        .chain(PHONE_CLAIMS)
}

/// The claims one grant may release, at UserInfo
/// ([`for_grant`](Self::for_grant)) or in an ID Token
/// ([`for_id_token`](Self::for_id_token)), each with its `claims` request
/// (`essential`, `value`/`values`) if it has one. `sub` is never among
/// them: the core writes it.
///
/// Naming a claim is not consent (issue 16): a standard claim is wanted
/// only with the user's consent to its scope value ([`claim_scope`]), the
/// token's scope holding it or the user having consented to it for the
/// grant's `claims` request
/// ([`OpenIdGrant::claims_consent`](crate::oidc::OpenIdGrant::claims_consent),
/// which also says what a refresh that narrows the scope keeps). A claim
/// outside the standard lists is wanted only when the `claims` request
/// names it, for the host to decide ([`UserClaims`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WantedClaims<'a> {
    /// Claim name → its request in the `claims` parameter, if it has one.
    names: BTreeMap<&'a str, Option<&'a RequestedClaim>>,
}

impl<'a> WantedClaims<'a> {
    /// The claims a token releases at UserInfo: the standard claims of its
    /// `scope` (Core §5.4), and the claims the `userinfo` member of its
    /// grant's `claims` request names, a standard one only when its scope
    /// value is in `scope` or in `consented` (the scope values the user
    /// consented to for the claims request,
    /// [`OpenIdGrant::claims_consent`](crate::oidc::OpenIdGrant::claims_consent)).
    pub fn for_grant(
        scope: &ScopeSet,
        request: Option<&'a ClaimsRequest>,
        consented: &ScopeSet,
    ) -> Self {
        let mut names = BTreeMap::new();
        for s in scope.iter() {
            for name in scope_claims(s.as_str()) {
                names.insert(*name, None);
            }
        }
        let named = request.map(ClaimsRequest::userinfo).unwrap_or_default();
        Self::named(names, named, scope, consented)
    }

    /// The claims the `id_token` member of a grant's `claims` request asks
    /// to have in its ID Tokens (Core §5.5), each with its `value`/`values`
    /// condition, a standard one only when its scope value is in `scope`
    /// (the scope of the access token issued beside the ID Token) or in
    /// `consented`. The scope's claims are not otherwise among them: with
    /// an access token issued, they are released at UserInfo (Core §5.4).
    pub fn for_id_token(
        scope: &ScopeSet,
        request: Option<&'a ClaimsRequest>,
        consented: &ScopeSet,
    ) -> Self {
        let named = request.map(ClaimsRequest::id_token).unwrap_or_default();
        Self::named(BTreeMap::new(), named, scope, consented)
    }

    /// `names` and the claims of `named` the consent allows.
    fn named(
        mut names: BTreeMap<&'a str, Option<&'a RequestedClaim>>,
        named: &'a [RequestedClaim],
        scope: &ScopeSet,
        consented: &ScopeSet,
    ) -> Self {
        for claim in named {
            let allowed = match claim_scope(claim.name()) {
                Some(s) => scope.contains(s) || consented.contains(s),
                None => true,
            };
            if allowed {
                names.insert(claim.name(), Some(claim));
            }
        }
        for name in NOT_USER_CLAIMS {
            names.remove(name);
        }
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

    /// The `claims` request's entry for `name`, when the request named it
    /// (`essential`, `value`/`values`); `None` for a claim wanted only
    /// because of the granted scope, or not wanted at all.
    pub fn request(&self, name: &str) -> Option<&'a RequestedClaim> {
        self.names.get(name).copied().flatten()
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
/// out what you do not have. An `Err` answers `server_error` (500).
///
/// The standard claims (Core §5.4: [`PROFILE_CLAIMS`], [`EMAIL_CLAIMS`],
/// [`ADDRESS_CLAIMS`], [`PHONE_CLAIMS`]) need no filtering: the core asks
/// for one only when the user consented to its scope value, releases only
/// what it asked for, and always writes `sub` itself (a `sub` you return
/// is ignored).
///
/// **Other claims are yours to judge.** A claim outside those lists
/// (`groups`, `employee_id`…) is wanted only when the client named it in
/// its `claims` request ([`WantedClaims::request`] gives its entry); the
/// core cannot know what it reveals, so the user's consent to scope values
/// does not cover it and the core releases whatever you return for it.
/// Return such a claim only to a client that may see it (decide by
/// [`ClaimsQuery::client_id`]), and leave it out otherwise.
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

    /// No consent beyond the scope.
    fn none() -> ScopeSet {
        ScopeSet::empty()
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
            let wanted = WantedClaims::for_grant(&granted, None, &none());
            let out = wanted.select("alice", everything());
            let mut want: Vec<&str> = expected.iter().copied().chain(["sub"]).collect();
            want.sort_unstable();
            assert_eq!(names(&out), want, "{s}");
            assert_eq!(out["sub"], "alice");
        }
        // Only openid: `sub` alone, and nothing to ask the host.
        let granted = scope("openid read");
        let wanted = WantedClaims::for_grant(&granted, None, &none());
        assert!(wanted.is_empty());
        assert_eq!(names(&wanted.select("alice", everything())), ["sub"]);
    }

    #[test]
    fn values_are_released_unchanged() {
        // covers: OI-05
        let granted = scope("openid profile email address phone");
        let out = WantedClaims::for_grant(&granted, None, &none()).select("alice", everything());
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
        let wanted = WantedClaims::for_grant(&granted, Some(&request), &none());
        assert!(!wanted.contains("sub"), "the host is never asked for sub");
        let out = wanted.select("alice", everything());
        assert_eq!(out["sub"], "alice");
    }

    #[test]
    fn null_and_empty_values_are_omitted() {
        let granted = scope("openid profile");
        let host = json!({"name": null, "nickname": "", "given_name": "Alice"});
        let out = WantedClaims::for_grant(&granted, None, &none())
            .select("alice", host.as_object().unwrap().clone());
        assert_eq!(names(&out), ["given_name", "sub"]);
    }

    #[test]
    fn the_claims_request_adds_consented_claims_and_its_values_restrict_them() {
        // covers: OI-09
        // issue 16
        let granted = scope("openid");
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{
                "email": {"essential": true},
                "groups": null,
                "locale": {"value": "fr-FR"},
                "address": {"values": [{"country": "FR"}, {"street_address": "1 Main Street", "country": "US"}]},
                "phone_number": null,
                "unknown_claim": null,
                "exp": null,
                "nonce": null
              },
              "id_token": {"name": null}}"#,
        )
        .unwrap();
        // The user consented to email, profile and address for this
        // grant (not phone): the claims request releases those.
        let consented = scope("email profile address");
        let wanted = WantedClaims::for_grant(&granted, Some(&request), &consented);
        assert_eq!(
            wanted.iter().collect::<Vec<_>>(),
            ["address", "email", "groups", "locale", "unknown_claim"]
        );
        assert!(wanted.request("email").unwrap().is_essential());
        let mut host = everything();
        host.insert("locale".into(), json!("en-US"));
        host.insert("exp".into(), json!(4_000_000_000_u64));
        let out = wanted.select("alice", host);
        // The `id_token` member releases nothing here; `locale` does not
        // match its value; the host has no `unknown_claim`; `exp` and
        // `nonce` are never claims about the user.
        assert_eq!(names(&out), ["address", "email", "groups", "sub"]);
        assert_eq!(out["groups"], json!(["admins"]));
    }

    #[test]
    fn a_named_standard_claim_without_consent_is_never_wanted() {
        // covers: OI-09, OI-05
        // issue 16: the privacy finding. Naming a claim is not consent.
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{"email_verified":{"essential":true},"groups":null},
                "id_token":{"phone_number":null,"birthdate":null}}"#,
        )
        .unwrap();
        let granted = scope("openid profile");
        let wanted = WantedClaims::for_grant(&granted, Some(&request), &none());
        assert!(!wanted.contains("email_verified"));
        assert!(wanted.contains("groups"), "the host decides");
        assert!(wanted.request("name").is_none(), "by scope, not named");
        let out = wanted.select("alice", everything());
        assert!(out.get("email_verified").is_none());
        // In the ID Token: `birthdate` by the scope's consent, `phone_number`
        // not at all.
        let id = WantedClaims::for_id_token(&granted, Some(&request), &none());
        assert_eq!(id.iter().collect::<Vec<_>>(), ["birthdate"]);
        let id = WantedClaims::for_id_token(&granted, Some(&request), &scope("phone"));
        assert_eq!(id.iter().collect::<Vec<_>>(), ["birthdate", "phone_number"]);
    }

    #[test]
    fn each_standard_claim_has_its_scope_value() {
        // covers: OI-09
        // issue 16
        for s in ["profile", "email", "address", "phone"] {
            for claim in scope_claims(s) {
                assert_eq!(claim_scope(claim), Some(s), "{claim}");
            }
        }
        assert_eq!(claim_scope("sub"), None);
        assert_eq!(claim_scope("groups"), None);
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"email_verified":null,"x":null},"id_token":{"address":null}}"#,
        )
        .unwrap();
        assert_eq!(implied_scope(&r), scope("address email"));
        assert!(implied_scope(&ClaimsRequest::default()).is_empty());
    }

    #[test]
    fn a_value_condition_applies_to_claims_of_the_scope_too() {
        // covers: OI-09
        let granted = scope("openid email");
        let request =
            ClaimsRequest::parse(r#"{"userinfo":{"email":{"value":"bob@example.com"}}}"#).unwrap();
        let out = WantedClaims::for_grant(&granted, Some(&request), &none())
            .select("alice", everything());
        assert_eq!(names(&out), ["email_verified", "sub"]);
        let request =
            ClaimsRequest::parse(r#"{"userinfo":{"email":{"value":"email-value"}}}"#).unwrap();
        let out = WantedClaims::for_grant(&granted, Some(&request), &none())
            .select("alice", everything());
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
