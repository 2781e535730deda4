//! The authorization server metadata document, RFC 8414 (MD-01): what it
//! advertises, and that the server accepts exactly that.

use std::sync::Arc;

use portcullis::{GrantType, MemoryUsers, ScopeSet};
use serde_json::{Value, json};

use crate::support::*;

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string"))
        .collect()
}

#[tokio::test]
async fn md01_metadata_lists_issuer_endpoints_and_capabilities() {
    // covers: MD-01
    let h = Harness::new().await;
    let resp = h.server.metadata();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    let m = json(&resp);
    assert_eq!(m["issuer"], ISSUER);
    assert_eq!(m["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(m["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(m["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(m["introspection_endpoint"], format!("{ISSUER}/introspect"));
    assert_eq!(
        strings(&m["grant_types_supported"]),
        ["authorization_code", "client_credentials", "refresh_token"]
    );
    assert_eq!(strings(&m["response_types_supported"]), ["code"]);
    assert_eq!(strings(&m["code_challenge_methods_supported"]), ["S256"]);
    assert_eq!(
        strings(&m["token_endpoint_auth_methods_supported"]),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "client_secret_jwt",
            "none"
        ]
    );
    assert_eq!(
        strings(&m["introspection_endpoint_auth_methods_supported"]),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "client_secret_jwt"
        ]
    );
    // RFC 8414 §2: JWT methods need the algorithms listed (CA-08).
    assert_eq!(
        strings(&m["token_endpoint_auth_signing_alg_values_supported"]),
        ["ES256", "EdDSA", "RS256", "PS256", "HS256"]
    );
    assert!(m["revocation_endpoint_auth_methods_supported"].is_array());
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert!(
        m.get("scopes_supported").is_none(),
        "omitted unless configured"
    );
}

#[tokio::test]
async fn md01_metadata_follows_the_configuration() {
    // covers: MD-01
    let mut config = config();
    config.paths.token = "/oauth/token".into();
    config.scopes_supported = ScopeSet::parse("read write");
    config.dangerous_allow_plain_pkce = true;
    config.grant_types.push(GrantType::Password);
    let users = Arc::new(MemoryUsers::new(std::num::NonZeroU32::new(1).unwrap()).unwrap());
    let h = Harness::with(config, move |b| b.password_verifier(users)).await;
    let m = json(&h.server.metadata());
    assert_eq!(m["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(strings(&m["scopes_supported"]), ["read", "write"]);
    assert_eq!(
        strings(&m["code_challenge_methods_supported"]),
        ["S256", "plain"]
    );
    assert_eq!(
        strings(&m["grant_types_supported"]),
        [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token"
        ]
    );
}

#[tokio::test]
async fn md01_grant_types_not_listed_are_refused_by_the_token_endpoint() {
    // covers: MD-01, TOK-07
    let mut config = config();
    config.grant_types = vec![GrantType::ClientCredentials];
    let users = Arc::new(MemoryUsers::new(std::num::NonZeroU32::new(1).unwrap()).unwrap());
    // A verifier is supplied, but the grant is not offered.
    let h = Harness::with(config, move |b| b.password_verifier(users)).await;
    let m = json(&h.server.metadata());
    let listed = strings(&m["grant_types_supported"]);
    assert_eq!(listed, ["client_credentials"]);
    assert!(
        m.get("authorization_endpoint").is_none(),
        "no code flow, no endpoint"
    );

    // A client registered for every grant.
    let svc = h
        .confidential(SVC, SVC_SECRET, |b| b.grant_type(GrantType::Password))
        .await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    for grant in GrantType::ALL {
        let resp = match &grant {
            GrantType::AuthorizationCode => h.redeem(Auth::Basic(&svc), &code).await,
            GrantType::RefreshToken => h.refresh(Auth::Basic(&svc), "anything").await,
            GrantType::Password => {
                h.token(
                    Auth::Basic(&svc),
                    &[
                        ("grant_type", "password"),
                        ("username", "a"),
                        ("password", "b"),
                    ],
                )
                .await
            }
            GrantType::ClientCredentials => h.client_credentials(Auth::Basic(&svc), None).await,
            other => {
                h.token(Auth::Basic(&svc), &[("grant_type", other.as_str())])
                    .await
            }
        };
        if listed.contains(&grant.as_str()) {
            assert_eq!(resp.status(), 200, "{grant}");
        } else {
            assert_error(&resp, 400, "unsupported_grant_type");
        }
    }
}

#[tokio::test]
async fn md01_challenge_methods_listed_are_the_ones_accepted() {
    // covers: MD-01, PK-01
    for allow_plain in [false, true] {
        let mut config = config();
        config.dangerous_allow_plain_pkce = allow_plain;
        let h = Harness::with_config(config).await;
        let listed = json(&h.server.metadata())["code_challenge_methods_supported"].clone();
        let spa = h
            .public("spa", |b| b.dangerous_allow_plain_pkce(true))
            .await;
        let plain = h.issue_code(CodeSpec::new("spa").pkce(Pkce::Plain)).await;
        let s256 = h.issue_code(CodeSpec::new("spa")).await;
        assert_eq!(h.redeem(Auth::IdOnly(&spa), &s256).await.status(), 200);
        let plain_ok = h.redeem(Auth::IdOnly(&spa), &plain).await.status() == 200;
        let expected = if plain_ok {
            json!(["S256", "plain"])
        } else {
            json!(["S256"])
        };
        assert_eq!(listed, expected);
        assert_eq!(plain_ok, allow_plain);
    }
}

#[tokio::test]
async fn md01_auth_methods_listed_are_the_ones_accepted() {
    // covers: MD-01, CA-04
    let h = Harness::new().await;
    let m = json(&h.server.metadata());
    let spa = h.public("spa", |b| b).await;
    let code = h.issue_code(CodeSpec::new("spa")).await;
    // `none` is listed for the token endpoint: a public client redeems.
    assert!(strings(&m["token_endpoint_auth_methods_supported"]).contains(&"none"));
    let (access, _) = tokens(&h.redeem(Auth::IdOnly(&spa), &code).await);
    // `none` is listed for revocation: a public client revokes.
    assert!(strings(&m["revocation_endpoint_auth_methods_supported"]).contains(&"none"));
    // `none` is not listed for introspection: a public client is refused.
    assert!(!strings(&m["introspection_endpoint_auth_methods_supported"]).contains(&"none"));
    assert_error(
        &h.introspect_as(Auth::IdOnly(&spa), &access).await,
        401,
        "invalid_client",
    );
    assert_eq!(
        h.revoke(Auth::IdOnly(&spa), &[("token", &access)])
            .await
            .status(),
        200
    );
    assert!(!h.active(&access).await);
}
