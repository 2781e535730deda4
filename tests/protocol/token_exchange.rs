//! Token exchange (RFC 8693, TE-01) through the public API: a policy of the
//! test's own, delegation with the `act` claim verified by `jsonwebtoken`
//! through our JWKS, the errors, `may_act`, revocation and introspection.

use std::sync::Arc;

use portcullis::{
    AccessTokenFormat, ClaimsHook, Client, ExchangeGrant, ExchangeRequest, GrantRefusal, GrantType,
    MemoryKeys, Resource, ScopeSet, TokenExchangePolicy, UserId, async_trait,
};
use serde_json::{Value, json};

use crate::support::*;

const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const RT: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const BILLING: &str = "https://billing.example/";

/// Only `gateway` may exchange, never for scope `write` with delegation
/// absent (impersonation is read-only).
struct Policy;

#[async_trait]
impl TokenExchangePolicy for Policy {
    async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
        if r.client().client_id().as_str() != "gateway" {
            return Err(GrantRefusal::UnauthorizedClient);
        }
        if r.actor().is_none() && r.scope().contains("write") {
            return Err(GrantRefusal::InvalidScope);
        }
        Ok(r.allow().claim("exchanged", true))
    }
}

/// Puts `may_act` into the JWT access tokens of alice: only `gateway` may
/// act for her.
struct MayAct;

impl ClaimsHook for MayAct {
    fn claims(
        &self,
        _: &Client,
        user: Option<&UserId>,
        _: &ScopeSet,
    ) -> serde_json::Map<String, Value> {
        match user.map(UserId::as_str) {
            Some("carol") => json!({"may_act": {"sub": "gateway"}}),
            Some("dave") => json!({"may_act": {"sub": "someone-else"}}),
            _ => json!({}),
        }
        .as_object()
        .unwrap()
        .clone()
    }
}

struct Setup {
    h: Harness,
    app: Creds,
    gateway: Creds,
}

async fn setup(policy: bool) -> Setup {
    setup_with(policy.then(|| Arc::new(Policy) as Arc<dyn TokenExchangePolicy>)).await
}

/// [`setup`] with `policy` as the exchange policy (none: not offered).
async fn setup_with(policy: Option<Arc<dyn TokenExchangePolicy>>) -> Setup {
    let mut config = config();
    config.resources = vec![Resource::parse(BILLING).unwrap()];
    let h = Harness::with(config, |b| {
        let b = b
            .key_provider(Arc::new(MemoryKeys::new()))
            .claims_hook(Arc::new(MayAct));
        match policy {
            Some(policy) => b.token_exchange(policy),
            None => b,
        }
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    let app = h
        .confidential("app", "app-secret-61c0", |b| {
            b.access_token_format(AccessTokenFormat::Jwt)
        })
        .await;
    let gateway = h
        .confidential("gateway", "gateway-secret-3d7e", |b| {
            b.grant_type(GrantType::TokenExchange)
                .access_token_format(AccessTokenFormat::Jwt)
        })
        .await;
    Setup { h, app, gateway }
}

/// Alice's (or `user`'s) tokens for `app` through the code flow.
async fn user_tokens(s: &Setup, user: &str) -> (String, String) {
    let mut spec = CodeSpec::new("app");
    spec.subject = user;
    let code = s.h.issue_code(spec).await;
    let resp = s.h.redeem(Auth::Basic(&s.app), &code).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let (access, refresh) = tokens(&resp);
    (access, refresh.unwrap())
}

async fn own_token(s: &Setup, creds: &Creds) -> String {
    let resp =
        s.h.client_credentials(Auth::Basic(creds), Some("read"))
            .await;
    assert_eq!(resp.status(), 200);
    tokens(&resp).0
}

async fn exchange(s: &Setup, who: &Creds, params: &[(&str, &str)]) -> portcullis::http::Response {
    let mut all = vec![("grant_type", TE)];
    all.extend_from_slice(params);
    s.h.token(Auth::Basic(who), &all).await
}

/// The claims of one of our JWTs, verified by `jsonwebtoken` with our JWKS.
async fn verified(s: &Setup, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(s.h.server.jwks().await.body()).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_issuer(&[ISSUER]);
    v.validate_aud = false;
    // The test clock is in the past.
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn te01_delegation_yields_an_act_claim_in_the_jwt_and_at_introspection() {
    // covers: TE-01
    let s = setup(true).await;
    let (alice, _) = user_tokens(&s, "alice").await;
    let gateway_token = own_token(&s, &s.gateway).await;
    let resp = exchange(
        &s,
        &s.gateway,
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("actor_token", &gateway_token),
            ("actor_token_type", AT),
            ("audience", BILLING),
            ("scope", "read"),
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
    assert_eq!(body["issued_token_type"], AT);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let claims = verified(&s, token).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "gateway");
    assert_eq!(claims["aud"], BILLING);
    assert_eq!(
        claims["act"],
        json!({"sub": "gateway", "client_id": "gateway"})
    );
    assert_eq!(claims["exchanged"], true);
    // Stored: introspection shows the actor too.
    let seen = s.h.introspect_as(Auth::Basic(&s.gateway), token).await;
    let seen = json(&seen);
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "alice");
    assert_eq!(
        seen["act"],
        json!({"sub": "gateway", "client_id": "gateway"})
    );

    // A second hop: the delegated token is the subject now, another actor
    // acts: the chain nests (outermost = current actor).
    let svc =
        s.h.confidential("svc2", "svc2-secret-8b1f", |b| {
            b.access_token_format(AccessTokenFormat::Jwt)
        })
        .await;
    let svc_token = own_token(&s, &svc).await;
    let resp = exchange(
        &s,
        &s.gateway,
        &[
            ("subject_token", token),
            ("subject_token_type", AT),
            ("actor_token", &svc_token),
            ("actor_token_type", AT),
            ("resource", BILLING),
        ],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let claims = verified(&s, json(&resp)["access_token"].as_str().unwrap()).await;
    assert_eq!(
        claims["act"],
        json!({"sub": "svc2", "client_id": "svc2",
               "act": {"sub": "gateway", "client_id": "gateway"}})
    );
    assert_eq!(claims["sub"], "alice");

    // The actor token itself delegated: its own chain nests below it.
    let resp = exchange(
        &s,
        &s.gateway,
        &[
            ("subject_token", &user_tokens(&s, "bob").await.0),
            ("subject_token_type", AT),
            ("actor_token", token),
            ("actor_token_type", AT),
        ],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let claims = verified(&s, json(&resp)["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(
        claims["act"],
        json!({"sub": "alice", "client_id": "gateway",
               "act": {"sub": "gateway", "client_id": "gateway"}})
    );
}

#[tokio::test]
async fn te01_without_a_policy_nothing_is_exchanged() {
    // covers: TE-01
    let s = setup(false).await;
    let listed = json(&s.h.server.metadata())["grant_types_supported"].clone();
    assert!(!listed.as_array().unwrap().contains(&json!(TE)));
    let (alice, _) = user_tokens(&s, "alice").await;
    let resp = exchange(
        &s,
        &s.gateway,
        &[("subject_token", &alice), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "unsupported_grant_type");
    // A configuration listing it without a policy does not build.
    let mut config = config();
    config.grant_types.push(GrantType::TokenExchange);
    let built = portcullis::AuthorizationServer::builder(config)
        .store(Arc::new(portcullis::MemoryStore::new()))
        .build();
    assert!(matches!(
        built,
        Err(portcullis::ConfigError::MissingStore {
            store: "TokenExchangePolicy",
            ..
        })
    ));
    // With one, the metadata lists it.
    let s = setup(true).await;
    let listed = json(&s.h.server.metadata())["grant_types_supported"].clone();
    assert!(listed.as_array().unwrap().contains(&json!(TE)));
}

#[tokio::test]
async fn te01_errors_invalid_grant_invalid_target_invalid_request_and_the_policy() {
    // covers: TE-01
    let s = setup(true).await;
    let (alice, refresh) = user_tokens(&s, "alice").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // An unknown, forged or wrong-typed subject token: invalid_grant.
        (
            vec![("subject_token", "nope"), ("subject_token_type", AT)],
            "invalid_grant",
        ),
        (
            vec![("subject_token", &alice), ("subject_token_type", RT)],
            "invalid_grant",
        ),
        // Someone else's refresh token is never a subject token.
        (
            vec![("subject_token", &refresh), ("subject_token_type", RT)],
            "invalid_grant",
        ),
        // An unknown target: invalid_target.
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("audience", "https://unknown.example/"),
            ],
            "invalid_target",
        ),
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("resource", "https://unknown.example/"),
            ],
            "invalid_target",
        ),
        // An unsupported requested type: invalid_request.
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("requested_token_type", RT),
            ],
            "invalid_request",
        ),
        // Missing or malformed parameters.
        (vec![("subject_token", &alice)], "invalid_request"),
        (vec![("subject_token_type", AT)], "invalid_request"),
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", "urn:example:saml3"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("actor_token", &alice),
            ],
            "invalid_request",
        ),
        // Wider than the subject token: invalid_scope.
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("scope", "read admin"),
            ],
            "invalid_scope",
        ),
        // The policy: impersonation is read-only.
        (
            vec![
                ("subject_token", &alice),
                ("subject_token_type", AT),
                ("scope", "write"),
            ],
            "invalid_scope",
        ),
    ];
    for (params, code) in cases {
        let resp = exchange(&s, &s.gateway, &params).await;
        assert_error(&resp, 400, code);
    }
    // The policy refuses any other client (registered for the grant).
    let other =
        s.h.confidential("other", "other-secret-0c0c", |b| {
            b.grant_type(GrantType::TokenExchange)
        })
        .await;
    let resp = exchange(
        &s,
        &other,
        &[("subject_token", &alice), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "unauthorized_client");
    // A client not registered for the grant never reaches the policy.
    let resp = exchange(
        &s,
        &s.app,
        &[("subject_token", &alice), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "unauthorized_client");
    // Impersonation read-only is allowed, and keeps the subject's scope.
    let resp = exchange(
        &s,
        &s.gateway,
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let claims = verified(&s, json(&resp)["access_token"].as_str().unwrap()).await;
    assert!(claims.get("act").is_none(), "impersonation: no act");
}

#[tokio::test]
async fn te01_may_act_names_who_may_act() {
    // covers: TE-01
    let s = setup(true).await;
    let gateway_token = own_token(&s, &s.gateway).await;
    // carol's token says only `gateway` may act for her.
    let (carol, _) = user_tokens(&s, "carol").await;
    let delegated = [
        ("subject_token", carol.as_str()),
        ("subject_token_type", AT),
        ("actor_token", gateway_token.as_str()),
        ("actor_token_type", AT),
    ];
    assert_eq!(exchange(&s, &s.gateway, &delegated).await.status(), 200);
    // dave's names someone else: refused, with or without an actor token.
    let (dave, _) = user_tokens(&s, "dave").await;
    for params in [
        vec![
            ("subject_token", dave.as_str()),
            ("subject_token_type", AT),
            ("actor_token", gateway_token.as_str()),
            ("actor_token_type", AT),
        ],
        vec![("subject_token", dave.as_str()), ("subject_token_type", AT)],
    ] {
        assert_error(
            &exchange(&s, &s.gateway, &params).await,
            400,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn te01_exchanged_tokens_are_revocable_and_go_with_the_subjects_grant() {
    // covers: TE-01
    let s = setup(true).await;
    let (alice, refresh) = user_tokens(&s, "alice").await;
    let ex = |subject: String| {
        let s = &s;
        async move {
            let resp = exchange(
                s,
                &s.gateway,
                &[
                    ("subject_token", subject.as_str()),
                    ("subject_token_type", AT),
                    ("scope", "read"),
                ],
            )
            .await;
            assert_eq!(resp.status(), 200);
            json(&resp)["access_token"].as_str().unwrap().to_owned()
        }
    };
    // Revoked alone, by its own client.
    let one = ex(alice.clone()).await;
    assert!(s.h.active(&one).await);
    let r =
        s.h.revoke(Auth::Basic(&s.gateway), &[("token", &one)])
            .await;
    assert_eq!(r.status(), 200);
    assert!(!s.h.active(&one).await);
    assert!(s.h.active(&alice).await, "the subject token stays");
    // Revoking the user's grant (her refresh token, RFC 7009 §2.1) takes
    // the tokens exchanged from it.
    let two = ex(alice.clone()).await;
    let r =
        s.h.revoke(
            Auth::Basic(&s.app),
            &[("token", &refresh), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!s.h.active(&two).await);
    // And a revoked subject token exchanges no more.
    let resp = exchange(
        &s,
        &s.gateway,
        &[("subject_token", &alice), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
}

/// Takes every token the core hands it, as a careless host might, and
/// counts how often it was asked.
#[derive(Default)]
struct Gullible(std::sync::atomic::AtomicUsize);

#[async_trait]
impl TokenExchangePolicy for Gullible {
    async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
        Ok(r.allow())
    }

    async fn validate(
        &self,
        _: &Client,
        token_type: &portcullis::TokenType,
        _: &str,
    ) -> Result<Option<portcullis::ExchangedToken>, GrantRefusal> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(portcullis::ExchangedToken::new(
            token_type.clone(),
            UserId::parse("mallory"),
        )))
    }
}

#[tokio::test]
async fn te01_a_revoked_jwt_of_ours_never_reaches_the_hosts_validator() {
    // covers: TE-01
    let gullible = Arc::new(Gullible::default());
    let s = setup_with(Some(gullible.clone())).await;
    let (alice, _) = user_tokens(&s, "alice").await;
    let r = s.h.revoke(Auth::Basic(&s.app), &[("token", &alice)]).await;
    assert_eq!(r.status(), 200);
    let resp = exchange(
        &s,
        &s.gateway,
        &[("subject_token", &alice), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
    assert_eq!(
        gullible.0.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a token naming us as its issuer is ours to judge"
    );
}
