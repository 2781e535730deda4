//! Client authentication with a signed JWT (RFC 7523 §2.2, RFC 7521 §4.2):
//! `private_key_jwt` and `client_secret_jwt` (CA-08). `iss` = `sub` = the
//! client id; `aud` names the issuer or the token endpoint; `exp` in the
//! future; `jti` used once; the signature checked with the algorithm of the
//! registered key, never one the assertion picks, so `none` and algorithm
//! confusion fail.

use std::sync::Arc;

use ring::hmac;
use serde_json::Value;

use crate::client::{AuthMethod, Client, ClientId};
use crate::context::Context;
use crate::error::Error;
use crate::keys::Algorithm;
use crate::keys::jwk::parse_jwks;
use crate::stores::ReplayScope;
use crate::tokens::jwt;

/// `client_assertion_type` for JWT assertions.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Assertions may live at most this long, which bounds the replay cache.
const MAX_ASSERTION_LIFETIME: u64 = 3600;

pub(crate) async fn authenticate(
    cx: &Context,
    client_id: Option<&str>,
    assertion: &str,
    presented_id: &mut Option<ClientId>,
) -> Result<Arc<Client>, Error> {
    let fail = || Error::ClientAuthentication { via_basic: false };
    // Off in the configuration: the metadata does not list the method, and
    // the builder gave no replay cache (it insists on one when this is on).
    let Some(replay) = cx.replay.as_deref() else {
        return Err(fail());
    };
    let jws = jwt::parse(assertion).ok_or_else(fail)?;
    let claim = |name: &str| jws.claims.get(name).and_then(Value::as_str);
    let iss = claim("iss").ok_or_else(fail)?;
    if claim("sub") != Some(iss) || client_id.is_some_and(|id| id != iss) {
        return Err(fail());
    }
    let id = ClientId::parse(iss).ok_or_else(fail)?;
    *presented_id = Some(id.clone());
    // Before any lookup or signature check, as for secrets (see `Throttle`).
    if !crate::throttle::throttle_allows(cx.throttle.as_deref(), &id).await {
        return Err(fail());
    }
    let client = cx.clients.client(&id).await?.ok_or_else(fail)?;
    if !client.is_enabled() {
        crate::observe::warn_disabled_client(client.client_id());
        return Err(fail());
    }
    let signed = match client.token_endpoint_auth_method() {
        AuthMethod::PrivateKeyJwt => {
            let alg = Algorithm::parse(&jws.header.alg).ok_or_else(fail)?;
            let doc: Value = client
                .jwks()
                .and_then(|j| serde_json::from_str(j).ok())
                .ok_or_else(fail)?;
            parse_jwks(&doc)
                .iter()
                .filter(|k| k.alg == alg)
                .filter(|k| jws.header.kid.is_none() || k.kid == jws.header.kid)
                .any(|k| k.verify(jws.signing_input, &jws.signature))
        }
        AuthMethod::ClientSecretJwt => {
            let secret = client.jwt_secret().ok_or_else(fail)?;
            jws.header.alg == "HS256"
                && hmac::verify(
                    &hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes()),
                    jws.signing_input,
                    &jws.signature,
                )
                .is_ok()
        }
        _ => false,
    };
    if !signed {
        return Err(fail());
    }
    let config = &cx.config;
    let token_endpoint = config.url(&config.paths.token);
    let audiences = [config.issuer.as_str(), token_endpoint.as_str()];
    let aud_ok = match jws.claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.contains(&a)),
        _ => false,
    };
    let now = cx.clock.now();
    let exp = jws
        .claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(fail)?;
    let live = exp.saturating_add(config.leeway.as_secs()) > now.as_secs()
        && exp <= now.as_secs().saturating_add(MAX_ASSERTION_LIFETIME)
        && ["iat", "nbf"].iter().all(|c| {
            jws.claims.get(*c).is_none_or(|v| {
                v.as_u64()
                    .is_some_and(|t| t <= now.as_secs().saturating_add(config.leeway.as_secs()))
            })
        });
    if !aud_ok || !live {
        return Err(fail());
    }
    // RFC 7523 §3: a `jti` is accepted once; the replay cache remembers it
    // until the assertion expires.
    let jti = claim("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(fail)?;
    let expires = crate::clock::UnixTime::from_secs(exp.saturating_add(config.leeway.as_secs()));
    if !replay
        .first_use(&ReplayScope::ClientAssertion(id), jti, expires)
        .await?
    {
        return Err(fail());
    }
    Ok(client)
}
