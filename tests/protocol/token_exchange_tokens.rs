//! Token exchange (RFC 8693, TE-01) with subject and actor tokens other
//! than our access tokens: ID Tokens (ours, for the requesting client:
//! accepted; expired, of another issuer, tampered, re-signed, for another
//! client, pairwise or of the wrong `typ`: refused), built and checked with
//! `jsonwebtoken` (the test's RSA key is also a server key, so a token it
//! signs is one of "ours" unless a claim says otherwise); and tokens the
//! host validates itself, whose subject as an actor the host sets
//! (`ExchangedToken::with_actor_subject`).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use portcullis::http::{Method, Request};
use portcullis::{
    AccessTokenFormat, Actor, AuthorizeStep, Client, ClientId, ExchangeGrant, ExchangeRequest,
    ExchangedToken, GrantRefusal, GrantType, KeyId, KeyRecord, MemoryKeys, Resource, Secret,
    SubjectType, TokenExchangePolicy, TokenType, UnixTime, UserId, WebUrl, async_trait,
};
use serde_json::{Value, json};

use crate::support::*;

const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const IT: &str = "urn:ietf:params:oauth:token-type:id_token";
const WORKLOAD: &str = "urn:example:token-type:workload";
const PARTNER: &str = "urn:example:token-type:partner";
const SECRET: &str = "gateway-secret-5e6f";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const BILLING: &str = "https://billing.example/";

/// Clients whose id starts with `gateway` may exchange anything the core
/// validated. `validate` is the host's own check of two token types:
/// workload tokens (no end-user: their subject as an actor is set with
/// `with_actor_subject`) and a partner's user tokens (with `may_act`).
struct Policy;

#[async_trait]
impl TokenExchangePolicy for Policy {
    async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
        if !r.client().client_id().as_str().starts_with("gateway") {
            return Err(GrantRefusal::UnauthorizedClient);
        }
        Ok(r.allow())
    }

    async fn validate(
        &self,
        _client: &Client,
        token_type: &TokenType,
        token: &str,
    ) -> Result<Option<ExchangedToken>, GrantRefusal> {
        let workload =
            |sub: &str| ExchangedToken::new(token_type.clone(), None).with_actor_subject(sub);
        Ok(match (token_type.as_str(), token) {
            (WORKLOAD, "wl-billing") => workload("spiffe://example.org/billing"),
            (WORKLOAD, "wl-partner") => workload("spiffe://example.org/partner")
                .map(|t| t.with_client_id(ClientId::parse("partner-app").unwrap())),
            (PARTNER, "alice-at-partner") => Some(
                ExchangedToken::new(token_type.clone(), UserId::parse("alice"))
                    .with_may_act(Actor::parse("spiffe://example.org/billing").unwrap()),
            ),
            _ => None,
        })
    }
}

/// A server with the test's RSA key (RS256, kid `rsa-1`) and an ES256 key,
/// a pairwise salt, and the clients `gateway` (JWT access tokens, scope
/// `openid read`), `gateway-pairwise` (the same, pairwise subjects) and
/// `app` (an OpenID client not registered for the exchange).
async fn setup() -> Harness {
    let mut config = config();
    config.resources = vec![Resource::parse(BILLING).unwrap()];
    config.pairwise_salt = Some(Secret::new(b"pairwise salt of the test".to_vec()));
    let h = Harness::with(config, |b| {
        b.key_provider(Arc::new(MemoryKeys::new()))
            .token_exchange(Arc::new(Policy))
    })
    .await;
    let now = UnixTime::from_secs(T0);
    let rsa = KeyRecord::from_pkcs8(
        portcullis::Algorithm::Rs256,
        KeyId::parse("rsa-1").unwrap(),
        include_bytes!("../fixtures/rsa2048.pk8").to_vec(),
        now,
        now,
    )
    .unwrap();
    h.server.rotate_in_key(rsa).await.unwrap();
    h.server
        .ensure_signing_keys(&[portcullis::Algorithm::Es256])
        .await
        .unwrap();
    let rp = |b: portcullis::ClientBuilder| {
        b.scope(scope("openid read"))
            .default_scope(scope("openid read"))
            .skip_consent(true)
            .access_token_format(AccessTokenFormat::Jwt)
    };
    h.confidential("gateway", SECRET, |b| {
        rp(b).grant_type(GrantType::TokenExchange)
    })
    .await;
    h.confidential("gateway-pairwise", SECRET, |b| {
        rp(b)
            .grant_type(GrantType::TokenExchange)
            .subject_type(SubjectType::Pairwise)
            .sector_identifier_uri(WebUrl::parse("https://gw.example/sector.json").unwrap())
    })
    .await;
    h.confidential("app", SECRET, rp).await;
    h
}

fn creds(client: &str) -> Creds {
    Creds {
        id: client.to_owned(),
        secret: Some(SECRET.to_owned()),
    }
}

/// A real ID Token for alice and `client`: the authorization step, then
/// the code redeemed.
async fn id_token_of(h: &Harness, client: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid read")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let alice = UserId::parse("alice").unwrap();
    let step = h
        .server
        .authorize(
            &Request::new(Method::Get).query(&q),
            Some(&signed_in(&alice)),
        )
        .await;
    let AuthorizeStep::Redirect(resp) = step else {
        panic!("expected a redirect, got {step:?}");
    };
    let url = url::Url::parse(resp.header("Location").unwrap()).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let resp = h
        .token(
            Auth::Basic(&creds(client)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    json(&resp)["id_token"]
        .as_str()
        .expect("an ID Token")
        .to_owned()
}

/// The test's RSA key (also the server's `rsa-1`) for `jsonwebtoken`.
fn rsa_key() -> EncodingKey {
    let der = include_bytes!("../fixtures/rsa2048.pk8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

/// An ID Token signed by `jsonwebtoken` with `key` (`kid` `rsa-1`, RS256,
/// `typ` JWT unless `typ` says otherwise).
fn sign(claims: &Value, typ: &str, key: &EncodingKey) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn alice_claims() -> Value {
    json!({"iss": ISSUER, "sub": "alice", "aud": "gateway", "iat": T0, "exp": T0 + 600})
}

async fn exchange(
    h: &Harness,
    client: &str,
    params: &[(&str, &str)],
) -> portcullis::http::Response {
    let mut all = vec![("grant_type", TE)];
    all.extend_from_slice(params);
    h.token(Auth::Basic(&creds(client)), &all).await
}

/// The claims of one of our JWT access tokens, verified by `jsonwebtoken`
/// with our JWKS.
async fn verified(h: &Harness, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(h.server.jwks().await.body()).unwrap();
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

fn ok(resp: &portcullis::http::Response) -> Value {
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    json(resp)
}

#[tokio::test]
async fn te01_our_id_token_for_the_client_is_a_subject_token() {
    // covers: TE-01
    let h = setup().await;
    let id_token = id_token_of(&h, "gateway").await;
    let body = ok(&exchange(
        &h,
        "gateway",
        &[
            ("subject_token", &id_token),
            ("subject_token_type", IT),
            ("audience", BILLING),
            ("scope", "read"),
        ],
    )
    .await);
    assert_eq!(body["issued_token_type"], AT);
    let claims = verified(&h, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], BILLING);
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["client_id"], "gateway");
    assert!(claims.get("act").is_none());
    // No `scope`: an ID Token carries none, so the client's default.
    let body = ok(&exchange(
        &h,
        "gateway",
        &[("subject_token", &id_token), ("subject_token_type", IT)],
    )
    .await);
    assert_eq!(body["scope"], "openid read");
    // An ID Token of ours built by `jsonwebtoken` (our RS256 key, every
    // claim right) is taken too: what counts is the signature and claims.
    let built = sign(&alice_claims(), "JWT", &rsa_key());
    ok(&exchange(
        &h,
        "gateway",
        &[("subject_token", &built), ("subject_token_type", IT)],
    )
    .await);
    // And an ID Token is an actor token as well: its user acts.
    let (access, _) = {
        let code = h.issue_code(CodeSpec::new("app")).await;
        tokens(&h.redeem(Auth::Basic(&creds("app")), &code).await)
    };
    let bob = sign(
        &json!({"iss": ISSUER, "sub": "bob", "aud": "gateway", "iat": T0, "exp": T0 + 600}),
        "JWT",
        &rsa_key(),
    );
    let body = ok(&exchange(
        &h,
        "gateway",
        &[
            ("subject_token", &access),
            ("subject_token_type", AT),
            ("actor_token", &bob),
            ("actor_token_type", IT),
        ],
    )
    .await);
    let claims = verified(&h, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["act"], json!({"sub": "bob", "client_id": "gateway"}));
}

#[tokio::test]
async fn te01_id_tokens_expired_foreign_tampered_or_not_for_the_client_are_refused() {
    // covers: TE-01
    let h = setup().await;
    let real = id_token_of(&h, "gateway").await;
    let key = rsa_key();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = alice_claims();
        change(&mut c);
        sign(&c, "JWT", &key)
    };
    // Tampered: the payload of the real one changed, its signature kept.
    let tampered = {
        let parts: Vec<&str> = real.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("mallory");
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    // Re-signed by another key under our key's id (ES256 with a fresh
    // P-256 key of the attacker, `kid` of our ES256 key).
    let forged = {
        let jwks: Value = serde_json::from_slice(h.server.jwks().await.body()).unwrap();
        let kid = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == "ES256")
            .unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        #[allow(clippy::disallowed_methods)] // the attacker's key, not the server's randomness
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(
            &header,
            &alice_claims(),
            &EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
        .unwrap()
    };
    let cases: Vec<(&str, String)> = vec![
        ("expired", with(&|c| c["exp"] = json!(T0 - 120))),
        (
            "another issuer",
            with(&|c| c["iss"] = json!("https://other.example")),
        ),
        ("for another client", with(&|c| c["aud"] = json!("app"))),
        (
            "no subject",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        ("typ at+jwt", sign(&alice_claims(), "at+jwt", &key)),
        ("tampered", tampered),
        ("re-signed", forged),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, token) in &cases {
        let resp = exchange(
            &h,
            "gateway",
            &[("subject_token", token), ("subject_token_type", IT)],
        )
        .await;
        assert_eq!(resp.status(), 400, "{what}");
        assert_eq!(json(&resp)["error"], "invalid_grant", "{what}");
    }
    // The real one of another client, presented by gateway.
    let apps = id_token_of(&h, "app").await;
    let resp = exchange(
        &h,
        "gateway",
        &[("subject_token", &apps), ("subject_token_type", IT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
    // A pairwise client's ID Token: its `sub` cannot be mapped back.
    let pairwise = id_token_of(&h, "gateway-pairwise").await;
    let resp = exchange(
        &h,
        "gateway-pairwise",
        &[("subject_token", &pairwise), ("subject_token_type", IT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
    // Expired by the server's clock (leeway included) once time passes.
    h.clock.advance(std::time::Duration::from_secs(3600 + 600));
    let resp = exchange(
        &h,
        "gateway",
        &[("subject_token", &real), ("subject_token_type", IT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
    // An ID Token presented as an access token is no access token.
    let resp = exchange(
        &h,
        "gateway",
        &[("subject_token", &real), ("subject_token_type", AT)],
    )
    .await;
    assert_error(&resp, 400, "invalid_grant");
}

#[tokio::test]
async fn te01_a_host_validated_actor_names_its_own_subject() {
    // covers: TE-01
    let h = setup().await;
    let code = h.issue_code(CodeSpec::new("app")).await;
    let (alice, _) = tokens(&h.redeem(Auth::Basic(&creds("app")), &code).await);
    // A workload token without an end-user or a client of ours: its
    // subject, set by the host, is the actor.
    let body = ok(&exchange(
        &h,
        "gateway",
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("actor_token", "wl-billing"),
            ("actor_token_type", WORKLOAD),
        ],
    )
    .await);
    let claims = verified(&h, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["act"],
        json!({"sub": "spiffe://example.org/billing"})
    );
    // With the client it acts through.
    let body = ok(&exchange(
        &h,
        "gateway",
        &[
            ("subject_token", &alice),
            ("subject_token_type", AT),
            ("actor_token", "wl-partner"),
            ("actor_token_type", WORKLOAD),
        ],
    )
    .await);
    let claims = verified(&h, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        claims["act"],
        json!({"sub": "spiffe://example.org/partner", "client_id": "partner-app"})
    );
    // A host-validated subject token's `may_act` is checked against that
    // subject: billing may act for alice, partner may not.
    let partner = [
        ("subject_token", "alice-at-partner"),
        ("subject_token_type", PARTNER),
    ];
    let mut delegated = partner.to_vec();
    delegated.extend([
        ("actor_token", "wl-billing"),
        ("actor_token_type", WORKLOAD),
    ]);
    let body = ok(&exchange(&h, "gateway", &delegated).await);
    let claims = verified(&h, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"]["sub"], "spiffe://example.org/billing");
    let mut refused = partner.to_vec();
    refused.extend([
        ("actor_token", "wl-partner"),
        ("actor_token_type", WORKLOAD),
    ]);
    assert_error(
        &exchange(&h, "gateway", &refused).await,
        400,
        "invalid_grant",
    );
    // A token of a type only the host knows that the host does not take:
    // `invalid_request` (no one takes that type, as documented); a
    // workload token is never a subject token (it has no end-user):
    // `invalid_grant`.
    let unknown = [("subject_token", "nope"), ("subject_token_type", PARTNER)];
    assert_error(
        &exchange(&h, "gateway", &unknown).await,
        400,
        "invalid_request",
    );
    let workload = [
        ("subject_token", "wl-billing"),
        ("subject_token_type", WORKLOAD),
    ];
    assert_error(
        &exchange(&h, "gateway", &workload).await,
        400,
        "invalid_grant",
    );
}

#[test]
fn te01_an_actor_subject_is_a_subject_identifier() {
    // covers: TE-01
    let t = || ExchangedToken::new(TokenType::parse(WORKLOAD).unwrap(), None);
    let set = t()
        .with_actor_subject("spiffe://example.org/billing")
        .unwrap();
    assert_eq!(set.actor_subject(), Some("spiffe://example.org/billing"));
    assert_eq!(t().actor_subject(), None);
    for bad in ["", "a\u{7}b", &"x".repeat(256)] {
        assert!(t().with_actor_subject(bad).is_none(), "{bad:?}");
    }
}
