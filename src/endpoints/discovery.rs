//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, OI-01): the
//! RFC 8414 document of `endpoints::metadata` plus the members an OpenID
//! relying party reads, rendered once from the configuration and from what
//! the server was built with, so that it never names an endpoint or an
//! algorithm the server lacks.

use serde::Serialize;

use crate::config::Config;
use crate::endpoints::metadata::{self, Metadata};
use crate::keys::Algorithm;
use crate::oidc::id_token::ID_TOKEN_CLAIMS;

/// What the server was built with, beyond its `Config`: the parts of the
/// document that depend on the host's hooks.
pub(crate) struct OpenIdFeatures<'a> {
    /// The UserInfo endpoint is served (a `UserClaims` hook is installed).
    pub(crate) userinfo: bool,
    /// The end-session endpoint is served (RP-Initiated Logout).
    pub(crate) end_session: bool,
    /// Back-channel logout tokens are made for the host to deliver.
    pub(crate) backchannel_logout: bool,
    /// The algorithms ID Tokens can be signed with.
    pub(crate) id_token_algs: &'a [Algorithm],
    /// The algorithms UserInfo responses can be signed with (empty: only
    /// plain JSON).
    pub(crate) userinfo_algs: &'a [Algorithm],
    /// Pairwise subjects can be computed (a pairwise salt is configured).
    pub(crate) pairwise: bool,
    /// The pushed authorization request endpoint is served (RFC 9126).
    pub(crate) pushed: bool,
    /// The client registration endpoint's URL, while registration is on
    /// (OpenID Connect Discovery 1.0 §3, RFC 7591).
    pub(crate) registration_endpoint: Option<&'a str>,
}

/// `openid` and the scopes of Core §5.4, listed when the configuration
/// names no scopes (any client scope is accepted then).
const OPENID_SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone"];

#[derive(Serialize)]
struct Discovery<'a> {
    #[serde(flatten)]
    oauth: Metadata<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    userinfo_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_session_endpoint: Option<String>,
    subject_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    userinfo_signing_alg_values_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    claim_types_supported: &'static [&'static str],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    // Discovery §3: defaults to true when absent, so it is always written.
    request_uri_parameter_supported: bool,
    prompt_values_supported: &'static [&'static str],
    display_values_supported: &'static [&'static str],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    backchannel_logout_supported: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    backchannel_logout_session_supported: bool,
}

/// `/.well-known/openid-configuration` of this configuration.
pub(crate) fn render(config: &Config, has_keys: bool, features: &OpenIdFeatures<'_>) -> Vec<u8> {
    let mut oauth = metadata::members(config, has_keys, features.pushed);
    oauth.registration_endpoint = features.registration_endpoint.map(str::to_owned);
    // OI-01: `scopes_supported` names `openid`.
    let mut scopes = oauth
        .scopes_supported
        .take()
        .unwrap_or_else(|| OPENID_SCOPES.to_vec());
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    oauth.scopes_supported = Some(scopes);
    let algs = |algs: &[Algorithm]| algs.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    let doc = Discovery {
        oauth,
        userinfo_endpoint: features
            .userinfo
            .then(|| config.url(&config.paths.userinfo)),
        end_session_endpoint: features
            .end_session
            .then(|| config.url(&config.paths.end_session)),
        subject_types_supported: if features.pairwise {
            &["public", "pairwise"]
        } else {
            &["public"]
        },
        id_token_signing_alg_values_supported: algs(features.id_token_algs),
        // Only where there is a UserInfo endpoint to sign responses of.
        userinfo_signing_alg_values_supported: if features.userinfo {
            algs(features.userinfo_algs)
        } else {
            Vec::new()
        },
        claims_supported: crate::oidc::standard_claims()
            .chain(ID_TOKEN_CLAIMS)
            .collect(),
        claim_types_supported: &["normal"],
        claims_parameter_supported: true,
        // JR-01: request objects by value; by reference only our own
        // pushed requests' URNs, which is not what this member means.
        request_parameter_supported: true,
        request_uri_parameter_supported: false,
        prompt_values_supported: &["none", "login", "consent", "select_account"],
        display_values_supported: &["page", "popup", "touch", "wap"],
        backchannel_logout_supported: features.backchannel_logout,
        backchannel_logout_session_supported: features.backchannel_logout,
    };
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc(config: &Config, features: &OpenIdFeatures<'_>) -> Value {
        serde_json::from_slice(&render(config, true, features)).unwrap()
    }

    fn all() -> OpenIdFeatures<'static> {
        OpenIdFeatures {
            userinfo: true,
            end_session: true,
            backchannel_logout: true,
            id_token_algs: &[Algorithm::Rs256, Algorithm::Es256],
            userinfo_algs: &[Algorithm::Rs256, Algorithm::Es256],
            pairwise: true,
            pushed: true,
            registration_endpoint: None,
        }
    }

    // covers: OI-01
    // issue 16
    #[test]
    fn lists_what_the_server_has() {
        let config = Config::new("https://op.example");
        let d = doc(&config, &all());
        assert_eq!(d["issuer"], "https://op.example");
        assert_eq!(d["userinfo_endpoint"], "https://op.example/userinfo");
        assert_eq!(d["end_session_endpoint"], "https://op.example/end_session");
        assert_eq!(d["jwks_uri"], "https://op.example/jwks.json");
        assert_eq!(
            d["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256"])
        );
        assert_eq!(
            d["subject_types_supported"],
            serde_json::json!(["public", "pairwise"])
        );
        assert_eq!(d["claims_parameter_supported"], true);
        assert_eq!(d["request_uri_parameter_supported"], false);
        assert_eq!(d["backchannel_logout_supported"], true);
        assert!(
            d["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from("openid"))
        );
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from("email"))
        );
        // The RFC 8414 members are all there too.
        assert_eq!(d["token_endpoint"], "https://op.example/token");
        assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            d["userinfo_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256"])
        );
        // JR-01
        assert_eq!(d["request_parameter_supported"], true);
        // PA-02
        assert_eq!(
            d["pushed_authorization_request_endpoint"],
            "https://op.example/par"
        );
        assert_eq!(d["require_pushed_authorization_requests"], false);
        let claims = d["claims_supported"].as_array().unwrap();
        for c in ["sub", "auth_time", "nonce", "acr", "amr", "sid", "address"] {
            assert!(claims.contains(&Value::from(c)), "{c}");
        }
        assert_eq!(
            claims.iter().filter(|c| *c == "sub").count(),
            1,
            "each claim once"
        );
    }

    // covers: OI-01
    #[test]
    fn never_names_what_the_server_lacks() {
        let mut config = Config::new("https://op.example");
        config.scopes_supported = crate::scope::ScopeSet::parse("read write");
        let features = OpenIdFeatures {
            userinfo: false,
            end_session: false,
            backchannel_logout: false,
            pairwise: false,
            pushed: false,
            ..all()
        };
        let d = doc(&config, &features);
        for absent in [
            "userinfo_endpoint",
            "end_session_endpoint",
            "backchannel_logout_supported",
            "backchannel_logout_session_supported",
            "registration_endpoint",
            "userinfo_signing_alg_values_supported",
            "pushed_authorization_request_endpoint",
        ] {
            assert!(d.get(absent).is_none(), "{absent}");
        }
        assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
        let scopes = d["scopes_supported"].as_array().unwrap();
        assert!(scopes.contains(&Value::from("openid")));
        assert!(scopes.contains(&Value::from("read")));
    }
}
