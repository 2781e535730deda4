//! Feature `serde`: a [`Client`] as an RFC 7591 §2 client metadata document.
//!
//! The RFC's names (`client_id`, `client_name`, `redirect_uris`,
//! `grant_types`, `token_endpoint_auth_method`, `scope`, `jwks`) and its
//! defaults (`token_endpoint_auth_method` `client_secret_basic`,
//! `grant_types` `["authorization_code"]`), plus our own fields for what the
//! RFC does not cover, and the OpenID Connect Registration 1.0 §2 fields
//! by their registration names (`default_max_age` in seconds). Reading goes through [`ClientBuilder::build`], so a
//! document is accepted exactly when the builder would accept the client.
//!
//! No clear secret is ever written: a secret-based client is written with
//! `client_secret_hash` (the [`SecretHash::encode`] form), and the shared
//! secret of a `client_secret_jwt` client is not written at all; it is read
//! from `client_secret` only for that method.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, OpenIdRegistration,
    RegistrationFields, SecretHash,
};
use crate::audience::Audience;
use crate::grant_type::GrantType;
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::tokens::AccessTokenFormat;

fn default_auth_method() -> AuthMethod {
    AuthMethod::ClientSecretBasic
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode]
}

const fn yes() -> bool {
    true
}

/// The document. Unknown fields are ignored, as RFC 7591 §2 requires of
/// registration requests.
#[derive(Serialize, Deserialize)]
struct ClientMetadata {
    client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_name: Option<String>,
    #[serde(default = "default_auth_method")]
    token_endpoint_auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret_hash: Option<SecretHash>,
    /// Read only, and only for `client_secret_jwt`.
    #[serde(default, skip_serializing)]
    client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks: Option<serde_json::Value>,
    #[serde(default)]
    redirect_uris: Vec<RedirectUri>,
    #[serde(default = "default_grant_types")]
    grant_types: Vec<GrantType>,
    #[serde(default)]
    scope: ScopeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_scope: Option<ScopeSet>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    skip_consent: bool,
    #[serde(default)]
    allow_plain_pkce: bool,
    #[serde(default)]
    access_token_format: AccessTokenFormat,
    /// The audiences this client introspects for as a resource server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_server_audiences: Vec<Audience>,
    #[serde(
        default,
        with = "crate::conversions::duration_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    access_token_lifetime: Option<Duration>,
    #[serde(
        default,
        with = "crate::conversions::duration_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    refresh_token_lifetime: Option<Duration>,
    #[serde(flatten)]
    openid: OpenIdRegistration,
    // Pushed and signed authorization requests (RFC 9126 §6, RFC 9101 §10.5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    require_pushed_authorization_requests: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    require_signed_request_object: bool,
    /// RFC 9449 §5.2.
    #[serde(default)]
    dpop_bound_access_tokens: bool,
    /// The resources (RFC 8707) the client may ask tokens for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource>,
    // The full client model (issue 19).
    #[serde(flatten)]
    registration: RegistrationFields,
    /// Dynamic client registration (RFC 7592): the hash of the
    /// registration access token, in the `client_secret_hash` form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_access_token_hash: Option<SecretHash>,
}

impl From<&Client> for ClientMetadata {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            client_name: Some(c.client_name.clone()),
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            client_secret_hash: c.secret.clone(),
            client_secret: None,
            // Checked to be a JSON document when the client was built.
            jwks: c
                .jwks
                .as_deref()
                .map(|j| serde_json::from_str(j).unwrap_or_else(|_| serde_json::Value::from(j))),
            redirect_uris: c.redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            scope: c.scope.clone(),
            default_scope: c.default_scope.clone(),
            enabled: c.enabled,
            skip_consent: c.skip_consent,
            allow_plain_pkce: c.allow_plain_pkce,
            access_token_format: c.access_token_format,
            resource_server_audiences: c.resource_server_audiences.clone(),
            access_token_lifetime: c.access_token_lifetime,
            refresh_token_lifetime: c.refresh_token_lifetime,
            openid: c.openid_registration().clone(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            resources: c.resources.clone(),
            registration: c.registration().clone(),
            registration_access_token_hash: c.registration_access_token.clone(),
        }
    }
}

impl TryFrom<ClientMetadata> for Client {
    type Error = ClientError;

    fn try_from(m: ClientMetadata) -> Result<Self, ClientError> {
        let method = m.token_endpoint_auth_method;
        if m.client_secret.is_some() && method != AuthMethod::ClientSecretJwt {
            // A clear secret is only ever kept for client_secret_jwt.
            return Err(ClientError::AuthMethodMismatch);
        }
        let mut b = ClientBuilder::new(m.client_id, m.client_secret_hash, method);
        b.0.jwks = m.jwks.map(|j| j.to_string());
        b.0.jwt_secret = m.client_secret.map(Secret::new);
        if let Some(name) = m.client_name {
            b = b.client_name(name);
        }
        for uri in m.redirect_uris {
            b = b.redirect_uri(uri);
        }
        for grant in m.grant_types {
            b = b.grant_type(grant);
        }
        for audience in m.resource_server_audiences {
            b = b.resource_server_for(audience);
        }
        for resource in m.resources {
            b = b.resource(resource);
        }
        b = b
            .scope(m.scope)
            .enabled(m.enabled)
            .skip_consent(m.skip_consent)
            .dangerous_allow_plain_pkce(m.allow_plain_pkce)
            .access_token_format(m.access_token_format);
        b.0.default_scope = m.default_scope;
        b.0.access_token_lifetime = m.access_token_lifetime;
        b.0.refresh_token_lifetime = m.refresh_token_lifetime;
        b = b
            .require_pushed_authorization_requests(m.require_pushed_authorization_requests)
            .require_signed_request_object(m.require_signed_request_object);
        b.openid_registration(m.openid)
            .dpop_bound_access_tokens(m.dpop_bound_access_tokens)
            .registration(m.registration)
            .registration_access_token_hash(m.registration_access_token_hash)
            .build()
    }
}

impl Serialize for Client {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ClientMetadata::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Client {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let m = ClientMetadata::deserialize(deserializer)?;
        Self::try_from(m).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SubjectType;
    use serde_json::json;

    #[test]
    fn rfc_7591_names_and_defaults() {
        let c: Client = serde_json::from_value(json!({
            "client_id": "web",
            "client_secret_hash": SecretHash::sha256("s").encode(),
            "redirect_uris": ["https://app.example/cb"],
            "scope": "b a",
            "some_future_field": 1,
        }))
        .unwrap();
        assert_eq!(
            c.token_endpoint_auth_method(),
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(c.grant_types(), [GrantType::AuthorizationCode]);
        assert_eq!(c.client_name(), "web");
        assert!(c.secret_hash().is_some_and(|h| h.verify("s")));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["scope"], json!("a b"));
        assert_eq!(back["grant_types"], json!(["authorization_code"]));
        assert_eq!(
            back["token_endpoint_auth_method"],
            json!("client_secret_basic")
        );
    }

    #[test]
    fn deserialising_validates_like_build() {
        for (doc, err) in [
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none",
                       "grant_types": ["client_credentials"]}),
                ClientError::PublicClientCredentials,
            ),
            (json!({"client_id": "web"}), ClientError::AuthMethodMismatch),
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none"}),
                ClientError::MissingRedirectUri,
            ),
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none",
                       "redirect_uris": ["http://app.example/cb"]}),
                ClientError::InsecureRedirectUri,
            ),
            (
                json!({"client_id": "svc", "client_secret": "x".repeat(40),
                       "grant_types": ["client_credentials"]}),
                ClientError::AuthMethodMismatch,
            ),
        ] {
            let e = serde_json::from_value::<Client>(doc).unwrap_err();
            assert_eq!(e.to_string(), err.to_string());
        }
        // A malformed value names the type and what is wrong.
        let e = serde_json::from_value::<Client>(json!({
            "client_id": "spa", "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://app.example/cb#frag"]
        }))
        .unwrap_err();
        assert_eq!(e.to_string(), "redirect URI: has a fragment");
    }

    #[test]
    fn resources_round_trip() {
        // covers: RI-01
        let c: Client = serde_json::from_value(json!({
            "client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [],
            "resources": ["urn:example:reports", "https://api.example/v1", "urn:example:reports"],
        }))
        .unwrap();
        assert_eq!(c.resources().len(), 2);
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(
            back["resources"],
            json!(["urn:example:reports", "https://api.example/v1"])
        );
        let plain: Client = serde_json::from_value(json!({
            "client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [],
        }))
        .unwrap();
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("resources")
                .is_none()
        );
        for bad in ["/relative", "https://api.example/#f"] {
            assert!(
                serde_json::from_value::<Client>(json!({
                    "client_id": "spa", "token_endpoint_auth_method": "none",
                    "grant_types": [], "resources": [bad],
                }))
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn resource_server_audiences_round_trip() {
        // covers: IN-01
        // issue 15 finding 5
        let c: Client = serde_json::from_value(json!({
            "client_id": "api",
            "client_secret_hash": SecretHash::sha256("s").encode(),
            "grant_types": [],
            "resource_server_audiences": ["https://api.example", "https://api.example"],
        }))
        .unwrap();
        assert!(c.is_resource_server_for("https://api.example"));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(
            back["resource_server_audiences"],
            json!(["https://api.example"])
        );
        // Not written when empty; a public client cannot be one; an
        // audience with whitespace is refused.
        let plain: Client = serde_json::from_value(json!({
            "client_id": "svc", "client_secret_hash": SecretHash::sha256("s").encode(),
            "grant_types": ["client_credentials"],
        }))
        .unwrap();
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("resource_server_audiences")
                .is_none()
        );
        let e = serde_json::from_value::<Client>(json!({
            "client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [],
            "resource_server_audiences": ["https://api.example"],
        }))
        .unwrap_err();
        assert_eq!(e.to_string(), ClientError::PublicResourceServer.to_string());
        let e = serde_json::from_value::<Client>(json!({
            "client_id": "api", "client_secret_hash": SecretHash::sha256("s").encode(),
            "grant_types": [], "resource_server_audiences": ["a b"],
        }))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "audience: contains whitespace or a control character"
        );
    }

    #[test]
    fn openid_registration_fields_round_trip_by_their_names() {
        // covers: OI-04, LO-01, LO-02
        // issue 16
        let doc = json!({
            "client_id": "rp",
            "client_secret_hash": SecretHash::sha256("s").encode(),
            "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
            "id_token_signed_response_alg": "ES256",
            "userinfo_signed_response_alg": "RS256",
            "subject_type": "pairwise",
            "sector_identifier_uri": "https://sector.example/uris.json",
            "post_logout_redirect_uris": ["https://a.example/bye"],
            "backchannel_logout_uri": "https://a.example/bcl",
            "backchannel_logout_session_required": true,
            "require_auth_time": true,
            "default_max_age": 3600,
            "logo_uri": "https://a.example/logo.png",
            "policy_uri": "https://a.example/privacy",
            "tos_uri": "https://a.example/terms",
            "client_uri": "https://a.example/",
        });
        let c: Client = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(c.subject_type(), SubjectType::Pairwise);
        assert_eq!(c.sector_identifier(), Some("sector.example"));
        assert_eq!(c.default_max_age(), Some(Duration::from_secs(3600)));
        let back = serde_json::to_value(&c).unwrap();
        for (field, value) in doc.as_object().unwrap() {
            if field != "client_secret_hash" && field != "redirect_uris" {
                assert_eq!(&back[field], value, "{field}");
            }
        }
        // Defaults: public, nothing optional written.
        let plain: Client = serde_json::from_value(json!({
            "client_id": "spa", "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://a.example/cb"],
        }))
        .unwrap();
        let back = serde_json::to_value(&plain).unwrap();
        assert_eq!(back["subject_type"], json!("public"));
        assert_eq!(back["require_auth_time"], json!(false));
        for absent in [
            "id_token_signed_response_alg",
            "post_logout_redirect_uris",
            "logo_uri",
            "default_max_age",
        ] {
            assert!(back.get(absent).is_none(), "{absent}");
        }
        // Refused as build() refuses, and bad values named.
        for (doc, err) in [
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none",
                       "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
                       "subject_type": "pairwise"}),
                ClientError::MissingSectorIdentifier.to_string(),
            ),
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [],
                       "id_token_signed_response_alg": "none"}),
                "algorithm: is not ES256, EdDSA, RS256 or PS256 (names are case-sensitive)"
                    .to_owned(),
            ),
            (
                json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [],
                       "logo_uri": "javascript:alert(1)"}),
                "URL: is not an http or https URL".to_owned(),
            ),
        ] {
            let e = serde_json::from_value::<Client>(doc).unwrap_err();
            assert_eq!(e.to_string(), err);
        }
    }

    #[test]
    fn no_clear_secret_is_ever_written() {
        let secret = "a shared secret of more than 32 bytes!";
        let jwt: Client = serde_json::from_value(json!({
            "client_id": "svc",
            "token_endpoint_auth_method": "client_secret_jwt",
            "client_secret": secret,
            "grant_types": ["client_credentials"],
        }))
        .unwrap();
        assert_eq!(
            jwt.jwt_secret().map(|s| s.expose_secret().as_str()),
            Some(secret)
        );
        let written = serde_json::to_string(&jwt).unwrap();
        assert!(!written.contains(secret), "{written}");
        assert!(!written.contains("client_secret\""), "{written}");

        let hashed =
            Client::confidential(ClientId::parse("svc").unwrap(), SecretHash::sha256("clear"))
                .grant_type(GrantType::ClientCredentials)
                .build()
                .unwrap();
        let written = serde_json::to_string(&hashed).unwrap();
        assert!(!written.contains("clear"), "{written}");
        assert!(
            written.contains("\"client_secret_hash\":\"sha256$"),
            "{written}"
        );
    }

    // The full client model (issue 19).
    #[test]
    fn registration_fields_round_trip_by_their_rfc_7591_names() {
        // part of RG-01 (the metadata document; the endpoint is issue 19 part 2)
        let doc = json!({
            "client_id": "native-app",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["com.example.app:/cb"],
            "application_type": "native",
            "contacts": ["ops@example.com"],
            "software_id": "4NRB1-0XZABZI9E6-5SM3R",
            "software_version": "2.1",
            "request_object_signing_alg": "ES256",
            "allowed_cors_origins": ["https://app.example"],
            "owner": "team-mobile",
            "metadata": {"tier": "gold", "n": 3},
        });
        let c: Client = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(c.application_type(), super::super::ApplicationType::Native);
        let back = serde_json::to_value(&c).unwrap();
        for (field, value) in doc.as_object().unwrap() {
            assert_eq!(&back[field], value, "{field}");
        }
        // Secret expiry: 0 is never; jwks_uri read and written.
        let pk: Client = serde_json::from_value(json!({
            "client_id": "pk", "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
            "jwks_uri": "https://rp.example/jwks.json",
            "token_endpoint_auth_signing_alg": "PS256",
            "client_secret_expires_at": 0,
        }))
        .unwrap();
        assert_eq!(pk.client_secret_expires_at(), None);
        let back = serde_json::to_value(&pk).unwrap();
        assert_eq!(back["jwks_uri"], json!("https://rp.example/jwks.json"));
        assert_eq!(back["token_endpoint_auth_signing_alg"], json!("PS256"));
        assert_eq!(back["application_type"], json!("web"));
        for absent in [
            "contacts",
            "metadata",
            "owner",
            "client_secret_expires_at",
            "jwks",
        ] {
            assert!(back.get(absent).is_none(), "{absent}");
        }
        let svc: Client = serde_json::from_value(json!({
            "client_id": "svc", "client_secret_hash": SecretHash::sha256("s").encode(),
            "grant_types": ["client_credentials"], "client_secret_expires_at": 2000000000u64,
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&svc).unwrap()["client_secret_expires_at"],
            json!(2_000_000_000u64)
        );
        // Refused as build() refuses; bad values named.
        for (doc, err) in [
            (
                json!({"client_id": "pk", "token_endpoint_auth_method": "private_key_jwt",
                       "grant_types": [], "jwks_uri": "https://rp.example/jwks.json",
                       "jwks": {"keys": []}}),
                "jwks and jwks_uri must not both be registered",
            ),
            (
                json!({"client_id": "n", "token_endpoint_auth_method": "none",
                       "application_type": "native", "redirect_uris": ["https://a.example/cb"]}),
                "a native client's redirect URIs must use a private scheme or http on loopback",
            ),
            (
                json!({"client_id": "n", "token_endpoint_auth_method": "none", "grant_types": [],
                       "application_type": "desktop"}),
                "application type: is not one of web, native",
            ),
            (
                json!({"client_id": "n", "token_endpoint_auth_method": "none", "grant_types": [],
                       "allowed_cors_origins": ["https://a.example/path"]}),
                "origin: has a path, query or fragment",
            ),
            (
                json!({"client_id": "n", "token_endpoint_auth_method": "none", "grant_types": [],
                       "metadata": ["not", "an", "object"]}),
                "invalid type: sequence, expected a map",
            ),
            (
                json!({"client_id": "n", "token_endpoint_auth_method": "none", "grant_types": [],
                       "request_object_signing_alg": "none"}),
                "client signing algorithm: is not ES256, EdDSA, RS256, PS256 or HS256 (names are case-sensitive)",
            ),
        ] {
            let e = serde_json::from_value::<Client>(doc).unwrap_err();
            assert_eq!(e.to_string(), err);
        }
    }
}
