//! Authorization server metadata (RFC 8414), rendered once from the
//! `Config`, so it cannot advertise what the server refuses (MD-01).

use serde::Serialize;

use crate::config::Config;
use crate::grant_type::GrantType;
use crate::profile::Profile;

/// The RFC 8414 members; the OpenID Provider document
/// (`endpoints::discovery`) flattens them into its own.
#[derive(Serialize)]
pub(crate) struct Metadata<'a> {
    issuer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_endpoint: Option<String>,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scopes_supported: Option<Vec<&'a str>>,
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    grant_types_supported: Vec<&'a str>,
    token_endpoint_auth_methods_supported: &'static [&'static str],
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint_auth_signing_alg_values_supported: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint_auth_signing_alg_values_supported: Option<&'static [&'static str]>,
    code_challenge_methods_supported: &'static [&'static str],
    authorization_response_iss_parameter_supported: bool,
    // Pushed authorization requests (RFC 9126 §5) and request objects
    // (RFC 9101 §9, §10.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pushed_authorization_request_endpoint: Option<String>,
    require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_object_signing_alg_values_supported: Option<&'static [&'static str]>,
    /// RFC 9449 §5.1: the proof algorithms accepted, while DPoP is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_signing_alg_values_supported: Option<Vec<&'static str>>,
    /// RFC 8628 §4: while the device grant is offered (DV-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    device_authorization_endpoint: Option<String>,
    /// RFC 8414 §2: only while dynamic client registration is on (RG-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) registration_endpoint: Option<String>,
}

/// RFC 8414 §2: required when a JWT client authentication method is listed.
const ASSERTION_ALGS: &[&str] = &["ES256", "EdDSA", "RS256", "PS256", "HS256"];
const SECRET_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "client_secret_jwt",
];
const ALL_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "client_secret_jwt",
    "none",
];
/// Without JWT client authentication (`Config::jwt_client_authentication`).
const SECRET_METHODS_NO_JWT: &[&str] = &["client_secret_basic", "client_secret_post"];
const ALL_METHODS_NO_JWT: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// Under the FAPI 2.0 Security Profile: `private_key_jwt` only, signed with
/// its algorithms (§5.3.2.1-6, §5.4.1).
const FAPI2_METHODS: &[&str] = &["private_key_jwt"];
const FAPI2_ALGS: &[&str] = &["PS256", "ES256", "EdDSA"];

/// The grant types the server offers, each once: the built-in ones in
/// [`GrantType::ALL`]'s order, then the extension grants by URI.
fn grant_types_supported(config: &Config) -> Vec<&str> {
    let mut offered: Vec<&GrantType> = config.grant_types.iter().collect();
    // `Ord` follows the declaration order, which is `ALL`'s.
    offered.sort();
    offered.dedup();
    offered.into_iter().map(GrantType::as_str).collect()
}

/// `pushed`: the server serves the pushed authorization request endpoint.
// Registration (issue 19 part 2): the server renders through
// `render_with_registration`; this stays for callers without registration.
#[allow(dead_code)]
pub(crate) fn render(config: &Config, has_keys: bool, pushed: bool) -> Vec<u8> {
    render_with_registration(config, has_keys, pushed, None)
}

/// The members of the RFC 8414 document of this configuration.
pub(crate) fn members(config: &Config, has_keys: bool, pushed: bool) -> Metadata<'_> {
    let code_flow = config.offers(GrantType::AuthorizationCode);
    let jwt = config.jwt_client_authentication;
    let fapi2 = config.profile == Profile::Fapi2Security;
    let (all_methods, secret_methods, assertion_algs) = if fapi2 {
        (FAPI2_METHODS, FAPI2_METHODS, Some(FAPI2_ALGS))
    } else if jwt {
        (ALL_METHODS, SECRET_METHODS, Some(ASSERTION_ALGS))
    } else {
        (ALL_METHODS_NO_JWT, SECRET_METHODS_NO_JWT, None)
    };
    Metadata {
        issuer: &config.issuer,
        authorization_endpoint: code_flow.then(|| config.url(&config.paths.authorization)),
        token_endpoint: config.url(&config.paths.token),
        revocation_endpoint: config.url(&config.paths.revocation),
        introspection_endpoint: config.url(&config.paths.introspection),
        jwks_uri: has_keys.then(|| config.url(&config.paths.jwks)),
        scopes_supported: config
            .scopes_supported
            .as_ref()
            .map(|s| s.iter().map(|s| s.as_str()).collect()),
        // RFC 8414 requires the member; only `code` is offered (AZ-01).
        response_types_supported: &["code"],
        response_modes_supported: &["query"],
        grant_types_supported: grant_types_supported(config),
        token_endpoint_auth_methods_supported: all_methods,
        revocation_endpoint_auth_methods_supported: all_methods,
        introspection_endpoint_auth_methods_supported: secret_methods,
        token_endpoint_auth_signing_alg_values_supported: assertion_algs,
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs,
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs,
        code_challenge_methods_supported: if config.dangerous_allow_plain_pkce {
            &["S256", "plain"]
        } else {
            &["S256"]
        },
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: (code_flow && pushed)
            .then(|| config.url(&config.paths.pushed_authorization_request)),
        require_pushed_authorization_requests: config.require_pushed_authorization_requests,
        request_object_signing_alg_values_supported: code_flow.then_some(if fapi2 {
            FAPI2_ALGS
        } else {
            crate::request_object::SIGNING_ALGS
        }),
        dpop_signing_alg_values_supported: config.dpop.enabled.then(|| {
            config
                .dpop
                .signing_algs
                .iter()
                .map(|a| a.as_str())
                .collect()
        }),
        device_authorization_endpoint: config
            .offers(GrantType::DeviceCode)
            .then(|| config.url(&config.paths.device_authorization)),
        registration_endpoint: None,
    }
}

/// [`render`], naming `registration_endpoint` (the URL of the client
/// registration endpoint, RFC 7591) when registration is on.
pub(crate) fn render_with_registration(
    config: &Config,
    has_keys: bool,
    pushed: bool,
    registration_endpoint: Option<&str>,
) -> Vec<u8> {
    let mut members = members(config, has_keys, pushed);
    members.registration_endpoint = registration_endpoint.map(str::to_owned);
    serde_json::to_vec(&members).unwrap_or_default()
}
