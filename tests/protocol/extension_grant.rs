//! The extension-grant seam (RFC 6749 §4.5, issue 18 part 3): a grant of
//! the test's own, registered through the public API only. Client
//! authentication, minting, storage and the response stay the core's.

use std::sync::Arc;

use portcullis::{
    ExtensionGrant, ExtensionGrantType, ExtensionRequest, GrantRefusal, GrantType, Issuance,
    Resource, StoreError, UserId, async_trait,
};
use serde_json::Value;

use crate::support::*;

const BADGE: &str = "urn:example:grant-type:badge";

/// `urn:example:grant-type:badge`: a badge number stands for a user. Badge
/// `4711` is alice's; `900` asks for a refresh token too; `503` is a
/// failing database; anything else is refused.
struct Badge;

#[async_trait]
impl ExtensionGrant for Badge {
    async fn grant(&self, request: &ExtensionRequest<'_>) -> Result<Issuance, GrantRefusal> {
        assert_eq!(request.grant_type().as_str(), BADGE);
        let badge = request.require("badge")?;
        let floor = request.param("floor")?;
        let alice = UserId::parse("alice").ok_or(GrantRefusal::InvalidGrant)?;
        let issuance = Issuance::new(request.scope().clone())
            .subject(alice)
            .resources(request.resources().to_vec())
            .claim("badge", badge.as_ref())
            // The core drops what it owns.
            .claim("sub", "mallory")
            .claim("act", "forged");
        match badge.as_ref() {
            "4711" => Ok(match floor.as_deref() {
                Some("roof") => issuance.claim("floor", "roof"),
                Some(_) => return Err(GrantRefusal::malformed("floor")),
                None => issuance,
            }),
            "900" => Ok(issuance.with_refresh_token()),
            "wide" => Ok(Issuance::new(scope("read write admin"))),
            "elsewhere" => Ok(Issuance::new(scope("read"))
                .resources(vec![Resource::parse("https://unknown.example/").unwrap()])),
            "503" => Err(StoreError::msg("badge database down").into()),
            _ => Err(GrantRefusal::InvalidGrant),
        }
    }
}

fn badge_uri() -> ExtensionGrantType {
    BADGE.parse().unwrap()
}

async fn harness() -> Harness {
    let mut config = config();
    config.resources = vec![Resource::parse("https://api.example/").unwrap()];
    Harness::with(config, |b| b.extension_grant(badge_uri(), Arc::new(Badge))).await
}

async fn badge_client(h: &Harness) -> Creds {
    h.confidential("kiosk", "kiosk-secret-7e1f", |b| {
        b.grant_type(GrantType::Extension(badge_uri()))
    })
    .await
}

async fn badge(h: &Harness, auth: Auth<'_>, extra: &[(&str, &str)]) -> portcullis::http::Response {
    let mut params = vec![("grant_type", BADGE)];
    params.extend_from_slice(extra);
    h.token(auth, &params).await
}

#[tokio::test]
async fn a_registered_grant_issues_through_the_core() {
    let h = harness().await;
    let kiosk = badge_client(&h).await;
    // The metadata offers it.
    let m = json(&h.server.metadata());
    let offered: Vec<&str> = m["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(offered.contains(&BADGE), "{offered:?}");
    assert_eq!(offered.last(), Some(&BADGE), "extensions come last");
    assert!(h.server.config().offers(GrantType::Extension(badge_uri())));

    let resp = badge(
        &h,
        Auth::Basic(&kiosk),
        &[
            ("badge", "4711"),
            ("scope", "read"),
            ("resource", "https://api.example/"),
        ],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    let body = json(&resp);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none(), "not asked for");
    // Stored: introspection knows the user, the scope and the audience.
    let token = body["access_token"].as_str().unwrap();
    let seen = h.introspect_as(Auth::Basic(&kiosk), token).await;
    let seen = json(&seen);
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "alice");
    assert_eq!(seen["client_id"], "kiosk");
    assert_eq!(seen["aud"], "https://api.example/");
    assert!(seen.get("act").is_none());
    // Revocable as any access token.
    let r = h.revoke(Auth::Basic(&kiosk), &[("token", token)]).await;
    assert_eq!(r.status(), 200);
    assert!(!h.active(token).await);
}

#[tokio::test]
async fn a_refresh_token_when_asked_and_allowed_and_it_refreshes() {
    let h = harness().await;
    let kiosk = badge_client(&h).await;
    let resp = badge(&h, Auth::Basic(&kiosk), &[("badge", "900")]).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let (_, refresh) = tokens(&resp);
    let refresh = refresh.expect("a refresh token: the client may refresh");
    // The default scope, since the request named none.
    assert_eq!(json(&resp)["scope"], "read");
    let next = h.refresh(Auth::Basic(&kiosk), &refresh).await;
    assert_eq!(next.status(), 200);
    let token = json(&next)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(h.introspect(&token).await["sub"], "alice");

    // A client not registered for refresh_token gets none.
    let door = h
        .confidential("door", "door-secret-2a9c", |b| {
            b.remove_grant_type(GrantType::RefreshToken)
                .grant_type(GrantType::Extension(badge_uri()))
        })
        .await;
    let resp = badge(&h, Auth::Basic(&door), &[("badge", "900")]).await;
    assert_eq!(resp.status(), 200);
    assert!(tokens(&resp).1.is_none());
}

#[tokio::test]
async fn the_handler_refusals_and_the_core_checks() {
    let h = harness().await;
    let kiosk = badge_client(&h).await;
    for (params, status, code) in [
        (vec![("badge", "1")], 400, "invalid_grant"),
        (vec![], 400, "invalid_request"),
        (
            vec![("badge", "4711"), ("floor", "7")],
            400,
            "invalid_request",
        ),
        // The core checks what it parses before the handler runs...
        (
            vec![("badge", "4711"), ("scope", "admin")],
            400,
            "invalid_scope",
        ),
        (
            vec![("badge", "4711"), ("resource", "https://unknown.example/")],
            400,
            "invalid_target",
        ),
        // ...and what the handler returns.
        (vec![("badge", "wide")], 400, "invalid_scope"),
        (vec![("badge", "elsewhere")], 400, "invalid_target"),
        (vec![("badge", "503")], 500, "server_error"),
    ] {
        let resp = badge(&h, Auth::Basic(&kiosk), &params).await;
        assert_error(&resp, status, code);
    }
    // A handler's repeated parameter is invalid_request (TOK-03).
    let body = format!("grant_type={}&badge=4711&badge=4711", urlencode(BADGE));
    let auth = kiosk.basic();
    let req = form_request(body.as_bytes(), Some(auth.as_bytes()));
    assert_error(&h.server.token(&req).await, 400, "invalid_request");
}

#[tokio::test]
async fn client_authentication_and_registration_stay_the_cores() {
    let h = harness().await;
    let kiosk = badge_client(&h).await;
    // A wrong secret never reaches the handler.
    let wrong = Creds {
        id: kiosk.id.clone(),
        secret: Some("wrong".into()),
    };
    assert_error(
        &badge(&h, Auth::Basic(&wrong), &[("badge", "4711")]).await,
        401,
        "invalid_client",
    );
    // A client not registered for the grant is unauthorized_client.
    let svc = h.svc().await;
    assert_error(
        &badge(&h, Auth::Basic(&svc), &[("badge", "4711")]).await,
        400,
        "unauthorized_client",
    );
    // Another extension URI, not registered on the server, is not offered,
    // even for a client registered for it.
    let other: ExtensionGrantType = "urn:example:grant-type:other".parse().unwrap();
    let c = h
        .confidential("other", "other-secret-55aa", |b| {
            b.grant_type(GrantType::Extension(other.clone()))
        })
        .await;
    let resp = h
        .token(Auth::Basic(&c), &[("grant_type", other.as_str())])
        .await;
    assert_error(&resp, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn jwt_access_tokens_carry_the_handlers_claims_but_not_the_reserved_ones() {
    let h = Harness::with(config(), |b| {
        b.extension_grant(badge_uri(), Arc::new(Badge))
            .key_provider(Arc::new(portcullis::MemoryKeys::new()))
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    let kiosk = h
        .confidential("kiosk", "kiosk-secret-7e1f", |b| {
            b.grant_type(GrantType::Extension(badge_uri()))
                .access_token_format(portcullis::AccessTokenFormat::Jwt)
        })
        .await;
    let resp = badge(
        &h,
        Auth::Basic(&kiosk),
        &[("badge", "4711"), ("floor", "roof")],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let token = json(&resp)["access_token"].as_str().unwrap().to_owned();
    // Verified with an independent library through our JWKS.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(h.server.jwks().await.body()).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[ISSUER]);
    validation.set_issuer(&[ISSUER]);
    // The test clock is in the past.
    validation.validate_exp = false;
    let claims: Value = jsonwebtoken::decode(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["badge"], "4711");
    assert_eq!(claims["floor"], "roof");
    assert!(claims.get("act").is_none(), "{claims}");
}

#[tokio::test]
async fn a_configured_extension_without_a_handler_does_not_build() {
    let mut config = config();
    config.grant_types.push(GrantType::Extension(badge_uri()));
    let built = portcullis::AuthorizationServer::builder(config)
        .store(Arc::new(portcullis::MemoryStore::new()))
        .build();
    assert!(matches!(
        built,
        Err(portcullis::ConfigError::MissingStore {
            store: "ExtensionGrant",
            ..
        })
    ));
}
