//! `client create --from-json`: a client from an RFC 7591 §2 registration
//! document, read by the library's own `Deserialize for Client` (so it is
//! accepted exactly when `ClientBuilder::build` accepts it), after a check
//! of each member that names the field of a malformed value. Errors carry
//! the RFC 7591 §3.2.2 codes: `invalid_redirect_uri` for the redirect URIs,
//! `invalid_client_metadata` for everything else.

use portcullis::{
    AccessTokenFormat, Algorithm, ApplicationType, Audience, AuthMethod, Client, ClientError,
    ClientId, ClientSigningAlg, GrantType, Origin, RedirectUri, Resource, ScopeSet, Secret,
    SecretHash, SubjectType, WebUrl,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// An RFC 7591 §3.2.2 error: its code and a description naming the field.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RegistrationError {
    /// `invalid_redirect_uri` or `invalid_client_metadata`.
    pub(crate) code: &'static str,
    pub(crate) description: String,
}

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> Self {
        Self {
            code: "invalid_client_metadata",
            description: description.into(),
        }
    }

    fn redirect_uri(description: impl Into<String>) -> Self {
        Self {
            code: "invalid_redirect_uri",
            description: description.into(),
        }
    }
}

impl std::fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

/// A document read: the client, the names of the members it ignored, and
/// whether the secret must still be generated (how: by its method).
pub(crate) struct Registered {
    pub(crate) client: Client,
    /// Members of no meaning here (unknown fields, `software_statement`),
    /// ignored as RFC 7591 §2 says; reported as a note.
    pub(crate) ignored: Vec<String>,
}

/// Members of the client-information response (RFC 7591 §3.2.1, RFC 7592)
/// and of this command's own output that a document may carry back in:
/// ignored without a note.
const RESPONSE_ONLY: [&str; 6] = [
    "client_id_issued_at",
    "registration_access_token",
    "registration_client_uri",
    "client_type",
    "sector_identifier",
    "client_secret",
];

/// Checks that `value` reads as a `T`, naming `field` when it does not.
fn check<T: DeserializeOwned>(field: &str, value: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(value.clone())
        .map(drop)
        .map_err(|e| format!("{field}: {e}"))
}

/// Checks one member by the type the client model reads it as; `None` for
/// a member the model does not know.
fn check_member(field: &str, v: &Value) -> Option<Result<(), String>> {
    let lifetime = |v: &Value| match v.as_u64() {
        Some(n) if n > 0 => Ok(()),
        _ => Err(format!("{field}: must be a positive number of seconds")),
    };
    Some(match field {
        "client_id" => check::<ClientId>(field, v),
        "client_name" | "software_id" | "software_version" | "owner" => check::<String>(field, v),
        "token_endpoint_auth_method" => check::<AuthMethod>(field, v),
        "redirect_uris" | "post_logout_redirect_uris" => check::<Vec<RedirectUri>>(field, v),
        "grant_types" => check::<Vec<GrantType>>(field, v),
        "response_types" => match serde_json::from_value::<Vec<String>>(v.clone()) {
            Ok(types) if types.iter().all(|t| t == "code") => Ok(()),
            Ok(_) => Err(format!("{field}: only code is supported")),
            Err(e) => Err(format!("{field}: {e}")),
        },
        "scope" | "default_scope" => check::<ScopeSet>(field, v),
        "enabled"
        | "skip_consent"
        | "allow_plain_pkce"
        | "require_pushed_authorization_requests"
        | "require_signed_request_object"
        | "dpop_bound_access_tokens"
        | "backchannel_logout_session_required"
        | "require_auth_time" => check::<bool>(field, v),
        "access_token_format" => check::<AccessTokenFormat>(field, v),
        "resource_server_audiences" => check::<Vec<Audience>>(field, v),
        "resources" => check::<Vec<Resource>>(field, v),
        "access_token_lifetime" | "refresh_token_lifetime" => lifetime(v),
        "default_max_age" | "client_secret_expires_at" => check::<u64>(field, v),
        "id_token_signed_response_alg" | "userinfo_signed_response_alg" => {
            check::<Algorithm>(field, v)
        }
        "token_endpoint_auth_signing_alg" | "request_object_signing_alg" => {
            check::<ClientSigningAlg>(field, v)
        }
        "subject_type" => check::<SubjectType>(field, v),
        "application_type" => check::<ApplicationType>(field, v),
        "sector_identifier_uri"
        | "backchannel_logout_uri"
        | "logo_uri"
        | "policy_uri"
        | "tos_uri"
        | "client_uri"
        | "jwks_uri" => check::<WebUrl>(field, v),
        "contacts" => check::<Vec<String>>(field, v),
        "allowed_cors_origins" => check::<Vec<Origin>>(field, v),
        "metadata" => check::<Map<String, Value>>(field, v),
        "jwks" => match v.get("keys") {
            Some(Value::Array(_)) => Ok(()),
            _ => Err(format!("{field}: must be a JWK Set ({{\"keys\": [...]}})")),
        },
        _ => return None,
    })
}

/// The RFC 7591 code of a cross-field refusal of the client model.
fn code_of(message: &str) -> &'static str {
    let redirect = [
        ClientError::MissingRedirectUri,
        ClientError::InsecureRedirectUri,
        ClientError::NativeRedirectUri,
    ];
    if redirect.iter().any(|e| e.to_string() == message) {
        "invalid_redirect_uri"
    } else {
        "invalid_client_metadata"
    }
}

/// Reads the registration document `doc` as a client. `id` (from
/// `--client-id`) replaces the document's `client_id`; `random_id` makes
/// one when neither gives it. The secret a secret-based method needs is
/// `secret`'s: `client_secret_basic` and `client_secret_post` clients keep
/// its hash, `client_secret_jwt` clients the secret itself.
pub(crate) fn client_of_document(
    doc: Value,
    id: Option<ClientId>,
    random_id: impl FnOnce() -> Option<ClientId>,
    secret: impl FnOnce() -> Option<(Secret<String>, SecretHash)>,
) -> Result<(Registered, Option<Secret<String>>), RegistrationError> {
    let Value::Object(mut members) = doc else {
        return Err(RegistrationError::metadata(
            "the registration document must be a JSON object",
        ));
    };
    // `null` is no value: the member is absent (RFC 7591 has no nulls).
    members.retain(|_, v| !v.is_null());
    for secret_field in ["client_secret", "client_secret_hash"] {
        if members.contains_key(secret_field) {
            return Err(RegistrationError::metadata(format!(
                "{secret_field}: secrets are generated by the server and shown once, never read"
            )));
        }
    }
    let mut ignored = Vec::new();
    for (field, value) in &members {
        match check_member(field, value) {
            Some(Ok(())) => {}
            Some(Err(why)) if field == "redirect_uris" => {
                return Err(RegistrationError::redirect_uri(why));
            }
            Some(Err(why)) => return Err(RegistrationError::metadata(why)),
            None if RESPONSE_ONLY.contains(&field.as_str()) => {}
            None => ignored.push(field.clone()),
        }
    }
    members.retain(|k, _| !ignored.contains(k) && !RESPONSE_ONLY.contains(&k.as_str()));
    let id = match id {
        Some(id) => id,
        None => match members.get("client_id").and_then(Value::as_str) {
            Some(given) => ClientId::parse(given)
                .ok_or_else(|| RegistrationError::metadata("client_id: not a client id"))?,
            None => random_id()
                .ok_or_else(|| RegistrationError::metadata("cannot generate a client id"))?,
        },
    };
    members.insert("client_id".into(), Value::from(id.as_str()));
    let method = members
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .and_then(AuthMethod::parse)
        .unwrap_or(AuthMethod::ClientSecretBasic);
    let mut shown = None;
    match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            let (s, hash) = secret()
                .ok_or_else(|| RegistrationError::metadata("cannot generate a client secret"))?;
            members.insert("client_secret_hash".into(), Value::from(hash.encode()));
            shown = Some(s);
        }
        AuthMethod::ClientSecretJwt => {
            let (s, _) = secret()
                .ok_or_else(|| RegistrationError::metadata("cannot generate a client secret"))?;
            members.insert(
                "client_secret".into(),
                Value::from(s.expose_secret().as_str()),
            );
            shown = Some(s);
        }
        AuthMethod::PrivateKeyJwt
            if !members.contains_key("jwks") && !members.contains_key("jwks_uri") =>
        {
            return Err(RegistrationError::metadata(
                "token_endpoint_auth_method: private_key_jwt needs jwks or jwks_uri",
            ));
        }
        _ => {}
    }
    let client = serde_json::from_value::<Client>(Value::Object(members)).map_err(|e| {
        let message = e.to_string();
        RegistrationError {
            code: code_of(&message),
            description: message,
        }
    })?;
    Ok((Registered { client, ignored }, shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: Value) -> Result<(Registered, Option<Secret<String>>), RegistrationError> {
        client_of_document(
            doc,
            None,
            || ClientId::parse("random"),
            || {
                Some((
                    Secret::new("s3cret".to_owned()),
                    SecretHash::sha256("s3cret"),
                ))
            },
        )
    }

    #[test]
    fn a_document_becomes_a_client_with_a_generated_secret() {
        let (r, secret) = read(json!({
            "client_name": "Web", "redirect_uris": ["https://app.example/cb"],
            "contacts": ["ops@example.com"], "metadata": {"tier": 1},
            "jwks": null, "client_secret": null, "software_statement": "eyJ...",
            "client_type": "confidential", "frobnicate": true,
        }))
        .unwrap();
        assert_eq!(r.client.client_id().as_str(), "random");
        assert_eq!(
            r.client.token_endpoint_auth_method(),
            AuthMethod::ClientSecretBasic
        );
        assert!(r.client.secret_hash().is_some_and(|h| h.verify("s3cret")));
        assert_eq!(secret.unwrap().expose_secret(), "s3cret");
        assert_eq!(r.client.contacts(), ["ops@example.com"]);
        assert_eq!(r.ignored, ["frobnicate", "software_statement"]);
    }

    #[test]
    fn errors_carry_rfc_7591_codes_and_name_the_field() {
        for (doc, code, text) in [
            (json!([]), "invalid_client_metadata", "JSON object"),
            (
                json!({"redirect_uris": ["https://a.example/cb#f"]}),
                "invalid_redirect_uri",
                "redirect_uris: redirect URI: has a fragment",
            ),
            (
                json!({"grant_types": ["authorization_code"]}),
                "invalid_redirect_uri",
                "authorization_code requires a redirect URI",
            ),
            (
                json!({"logo_uri": "javascript:alert(1)", "grant_types": []}),
                "invalid_client_metadata",
                "logo_uri: URL: is not an http or https URL",
            ),
            (
                json!({"client_secret": "chosen"}),
                "invalid_client_metadata",
                "client_secret: secrets are generated",
            ),
            (
                json!({"metadata": [1], "grant_types": []}),
                "invalid_client_metadata",
                "metadata: ",
            ),
            (
                json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": []}),
                "invalid_client_metadata",
                "private_key_jwt needs jwks or jwks_uri",
            ),
            (
                json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
                "public clients may not use client_credentials",
            ),
            (
                json!({"response_types": ["token"], "grant_types": []}),
                "invalid_client_metadata",
                "response_types: only code is supported",
            ),
            (
                json!({"access_token_lifetime": 0, "grant_types": []}),
                "invalid_client_metadata",
                "access_token_lifetime: must be a positive number",
            ),
        ] {
            let e = read(doc.clone()).err().unwrap_or_else(|| panic!("{doc}"));
            assert_eq!(e.code, code, "{doc}: {e}");
            assert!(e.description.contains(text), "{doc}: {e}");
        }
    }
}
