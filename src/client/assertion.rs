//! Client authentication with a signed JWT (RFC 7523 §2.2, RFC 7521 §4.2):
//! `private_key_jwt` and `client_secret_jwt` (CA-08). `iss` = `sub` = the
//! client id; `aud` is the issuer identifier as a single string
//! (draft-ietf-oauth-rfc7523bis; the token endpoint URL or an array only
//! where `Config::dangerous_allow_legacy_assertion_audience` opts in); `exp`
//! in the future; `jti` used once; the signature checked with the algorithm of the
//! registered key, never one the assertion picks, so `none` and algorithm
//! confusion fail.

use std::sync::Arc;

use ring::hmac;
use serde_json::Value;

use crate::client::{AuthMethod, Client, ClientId, JwkSet};
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::http::Source;
use crate::keys::Algorithm;
use crate::stores::ReplayScope;
use crate::throttle::{Account, Attempt, Outcome, Reserved, reserve, settle};
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
    source: Option<Source<'_>>,
    reserved: &mut Reserved,
) -> Result<Arc<Client>, Error> {
    let fail = || Error::ClientAuthentication { via_basic: false };
    // Off in the configuration: the metadata does not list the method, and
    // the builder gave no replay cache (it insists on one when this is on).
    let Some(replay) = cx
        .replay
        .as_deref()
        .filter(|_| cx.config.jwt_client_authentication)
    else {
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
    // Before any lookup or signature check, as for secrets (see `Throttle`),
    // but against the source only: anyone can write a victim's id into
    // `iss`, and nothing proves this attempt is about that client until the
    // signature verifies (issue 15 finding 7).
    if !reserve(cx.throttle.as_deref(), &Attempt::new(None, source)).await {
        *reserved = Reserved::Refused;
        return Err(fail());
    }
    *reserved = Reserved::Allowed {
        with_account: false,
    };
    let client = cx.clients.client(&id).await?.ok_or_else(fail)?;
    // A `client_secret_jwt` assertion is a guess of a shared secret, which
    // a person may have chosen: it counts against the client it names too,
    // as a secret sent in a `Basic` header does (RB-04). The source-only
    // reservation is released and the attempt reserved anew with the
    // account. A `private_key_jwt` signature cannot be guessed: it stays
    // counted against its source only.
    if client.token_endpoint_auth_method() == AuthMethod::ClientSecretJwt {
        let throttle = cx.throttle.as_deref();
        settle(throttle, &Attempt::new(None, source), Outcome::Unjudged).await;
        if !reserve(throttle, &Attempt::new(Some(Account::Client(&id)), source)).await {
            *reserved = Reserved::Refused;
            return Err(fail());
        }
        *reserved = Reserved::Allowed { with_account: true };
    }
    if !client.is_enabled() {
        crate::observe::warn_disabled_client(client.client_id());
        return Err(fail());
    }
    // FAPI 2.0 §5.4.1: only PS256, ES256 and EdDSA under that profile.
    let alg_allowed = Algorithm::parse(&jws.header.alg)
        .is_some_and(|alg| cx.config.profile.allows_algorithm(alg));
    let signed = match client.token_endpoint_auth_method() {
        AuthMethod::PrivateKeyJwt => {
            alg_allowed && {
                let keys = client_keys(cx, &client, jws.header.kid.as_deref()).await;
                signed_by_key(&keys, &jws)
            }
        }
        AuthMethod::ClientSecretJwt => signed_by_secret(&client, &jws),
        _ => false,
    };
    if !signed {
        return Err(fail());
    }
    // The full client model (issue 19): a registered
    // `token_endpoint_auth_signing_alg` is the only algorithm accepted
    // (OpenID Connect Registration 1.0 §2), and a `client_secret_jwt`
    // secret past `client_secret_expires_at` no longer authenticates.
    if client
        .token_endpoint_auth_signing_alg()
        .is_some_and(|alg| !alg.is(&jws.header.alg))
        || (client.token_endpoint_auth_method() == AuthMethod::ClientSecretJwt
            && client.secret_expired(cx.clock.now()))
    {
        return Err(fail());
    }
    let config = &cx.config;
    let aud_ok = audience_ok(config, jws.claims.get("aud"));
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

/// The public keys `client` signs with, for a signature naming `kid` (if
/// it names one): the `jwks` it registered, or the set published at its
/// `jwks_uri`, through the server's cache and the host's `JwksFetcher`
/// (issue 19; fetched again when `kid` is not in the cached set, at most
/// once per `Config::jwks_uri.refetch_interval`). No keys, so no signature
/// verifies, when there is no fetcher or the fetch failed: logged here,
/// with the client and the reason.
pub(crate) async fn client_keys(cx: &Context, client: &Client, kid: Option<&str>) -> JwkSet {
    let Some(uri) = client.jwks_uri() else {
        return JwkSet::registered(client.jwks());
    };
    match cx.jwks.keys(uri, kid, cx.clock.now()).await {
        Ok(keys) => keys,
        Err(why) => {
            tracing::warn!(
                client_id = %client.client_id(),
                jwks_uri = %uri,
                reason = %why,
                "the client's keys at its jwks_uri are unavailable: its signature is refused"
            );
            JwkSet::default()
        }
    }
}

/// Whether `jws` is signed by one of `keys` (a client's, from
/// [`client_keys`]): only keys of the algorithm the header names, whose key
/// type decides the algorithm, and of the header's `kid` when it names one;
/// so `none`, an unknown algorithm and algorithm confusion all fail. Used
/// for `private_key_jwt` assertions and for request objects (RFC 9101,
/// JR-01).
pub(crate) fn signed_by_key(keys: &JwkSet, jws: &jwt::Jws<'_>) -> bool {
    let Some(alg) = Algorithm::parse(&jws.header.alg) else {
        return false;
    };
    keys.keys()
        .iter()
        .filter(|k| k.allows(alg))
        .filter(|k| jws.header.kid.is_none() || k.kid == jws.header.kid)
        .any(|k| k.verify_as(alg, jws.signing_input, &jws.signature))
}

/// Whether `jws` is an `HS256` MAC under the shared secret of a
/// `client_secret_jwt` client (RFC 7523 §2.2; request objects too).
pub(crate) fn signed_by_secret(client: &Client, jws: &jwt::Jws<'_>) -> bool {
    let Some(secret) = client.jwt_secret() else {
        return false;
    };
    jws.header.alg == "HS256"
        && hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes()),
            jws.signing_input,
            &jws.signature,
        )
        .is_ok()
}

/// Whether an assertion's `aud` names this server: the issuer identifier
/// as a single string; with the legacy opt-in also the token endpoint URL,
/// or an array holding either (CA-08).
///
/// Why strict by default (draft-ietf-oauth-rfc7523bis, audience
/// injection): a malicious server can publish this server's token endpoint
/// URL as one of its own endpoints, have a client that uses the same key
/// with both sign an assertion for that URL, and replay it here. It cannot
/// publish this server's issuer identifier as its own, since clients check
/// the issuer against the metadata's location (RFC 8414 §3.3). An array
/// would make one assertion good at several servers.
fn audience_ok(config: &Config, aud: Option<&Value>) -> bool {
    if !config.dangerous_allow_legacy_assertion_audience {
        return matches!(aud, Some(Value::String(a)) if *a == config.issuer);
    }
    let token_endpoint = config.url(&config.paths.token);
    let ours = |a: &str| a == config.issuer || a == token_endpoint;
    match aud {
        Some(Value::String(a)) => ours(a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(ours),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_audience_is_the_issuer_as_one_string_unless_legacy_is_allowed() {
        // covers: CA-08
        // issue 15 finding 4
        let mut config = Config::new("https://as.example");
        let cases = [
            (json!("https://as.example"), true, true),
            (json!("https://as.example/token"), false, true),
            (json!(["https://as.example"]), false, true),
            (
                json!(["https://other.example", "https://as.example/token"]),
                false,
                true,
            ),
            (json!(["https://other.example"]), false, false),
            (json!("https://as.example/"), false, false),
            (json!("https://other.example"), false, false),
            (json!(1), false, false),
            (json!(null), false, false),
        ];
        for (aud, strict, legacy) in &cases {
            config.dangerous_allow_legacy_assertion_audience = false;
            assert_eq!(audience_ok(&config, Some(aud)), *strict, "{aud}");
            config.dangerous_allow_legacy_assertion_audience = true;
            assert_eq!(audience_ok(&config, Some(aud)), *legacy, "{aud} (legacy)");
        }
        assert!(!audience_ok(&config, None));
    }
}
