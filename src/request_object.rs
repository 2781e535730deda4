//! Signed request objects passed by value (RFC 9101, JR-01): the `request`
//! parameter at the authorization and pushed authorization request
//! endpoints.
//!
//! A request object is a JWS signed by the client: with one of the public
//! keys it registered (`jwks`; ES256, EdDSA, RS256, the key's type deciding
//! the algorithm) or, for a `client_secret_jwt` client, HS256 with its
//! shared secret; never `alg: none`. `iss` is the client id, `aud` this
//! server's issuer identifier (RFC 9101 §4), `exp` is required and at most
//! [`MAX_LIFETIME`] ahead, `nbf` if present is not ahead and at most
//! [`MAX_LIFETIME`] back (the FAPI 2.0 message-signing rule), `typ` if
//! present is `oauth-authz-req+jwt` or `JWT` (RFC 9101 §10.8). A
//! `client_id` claim must be the client. The object's other claims are the
//! authorization request's parameters, and the only ones used (RFC 9101
//! §6.3); a `request` or `request_uri` inside is refused. Anything wrong is
//! `invalid_request_object`.

use serde_json::Value;

use crate::client::assertion::{signed_by_key, signed_by_secret};
use crate::client::{Client, JwkSet};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::error::RequestObjectFault;
use crate::keys::Algorithm;
use crate::tokens::jwt;

/// The longest a request object may be valid, in seconds: `exp` at most
/// this far ahead, `nbf` at most this far back.
pub(crate) const MAX_LIFETIME: u64 = 3600;

/// The algorithms a request object may be signed with, as the metadata's
/// `request_object_signing_alg_values_supported` lists them.
pub(crate) const SIGNING_ALGS: &[&str] = &["ES256", "EdDSA", "RS256", "PS256", "HS256"];

/// The claims of the JWT itself, not authorization parameters.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// Verifies `object` as a request object of `client`, whose public keys
/// are `keys` (`client::assertion::client_keys`: its `jwks`, or those at
/// its `jwks_uri`), and returns the
/// authorization parameters it carries, as (name, value) pairs: strings as
/// they are, numbers in decimal, the `claims` object as JSON text.
pub(crate) fn verify(
    config: &Config,
    client: &Client,
    keys: &JwkSet,
    object: &str,
    now: UnixTime,
) -> Result<Vec<(String, String)>, RequestObjectFault> {
    let jws = jwt::parse(object).ok_or(RequestObjectFault::Malformed)?;
    let symmetric = jws.header.alg == "HS256";
    if !symmetric && Algorithm::parse(&jws.header.alg).is_none() {
        return Err(RequestObjectFault::Unsigned);
    }
    // FAPI 2.0 §5.4.1: only PS256, ES256 and EdDSA under that profile.
    let fapi_alg =
        Algorithm::parse(&jws.header.alg).is_some_and(|alg| config.profile.allows_algorithm(alg));
    if config.profile != crate::profile::Profile::Default && !fapi_alg {
        return Err(RequestObjectFault::Unsigned);
    }
    // The full client model (issue 19): a registered
    // `request_object_signing_alg` is the only algorithm accepted (OpenID
    // Connect Registration 1.0 §2); another is one this server does not
    // verify for this client.
    if client
        .request_object_signing_alg()
        .is_some_and(|alg| !alg.is(&jws.header.alg))
    {
        return Err(RequestObjectFault::Unsigned);
    }
    if let Some(typ) = &jws.header.typ {
        let typ = typ.to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if typ != "oauth-authz-req+jwt" && typ != "jwt" {
            return Err(RequestObjectFault::WrongType);
        }
    }
    let signed = if symmetric {
        signed_by_secret(client, &jws)
    } else {
        signed_by_key(keys, &jws)
    };
    if !signed {
        return Err(RequestObjectFault::BadSignature);
    }
    let claims = &jws.claims;
    let id = client.client_id().as_str();
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if str_claim("iss") != Some(id) {
        return Err(RequestObjectFault::WrongClient);
    }
    if claims
        .get("client_id")
        .is_some_and(|c| c.as_str() != Some(id))
    {
        return Err(RequestObjectFault::WrongClient);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == config.issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&config.issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err(RequestObjectFault::WrongAudience);
    }
    let (now, leeway) = (now.as_secs(), config.leeway.as_secs());
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(RequestObjectFault::Expired)?;
    if exp.saturating_add(leeway) <= now || exp > now.saturating_add(MAX_LIFETIME + leeway) {
        return Err(RequestObjectFault::Expired);
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().ok_or(RequestObjectFault::Expired)?;
        if nbf > now.saturating_add(leeway) || nbf.saturating_add(MAX_LIFETIME + leeway) < now {
            return Err(RequestObjectFault::Expired);
        }
    }
    if claims.get("iat").is_some_and(|iat| !iat.is_u64()) {
        return Err(RequestObjectFault::Expired);
    }
    let mut params = Vec::with_capacity(claims.len());
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        // RFC 9101 §4: no request object by value or reference inside one.
        if name == "request" || name == "request_uri" {
            return Err(RequestObjectFault::InvalidClaim);
        }
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            // The `claims` parameter is a JSON object (Core §5.5).
            Value::Object(_) if name == "claims" => value.to_string(),
            _ => return Err(RequestObjectFault::InvalidClaim),
        };
        params.push((name.clone(), value));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::hmac;
    use serde_json::json;

    use super::*;
    use crate::client::ClientId;
    use crate::secret::Secret;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_000_000;

    fn client() -> Client {
        Client::client_secret_jwt(ClientId::parse("c").unwrap(), Secret::new(SECRET.into()))
            .build()
            .unwrap()
    }

    /// An HS256 object (ring's HMAC, not our signing code).
    fn object(header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
        let sig = hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn verified(claims: Value) -> Result<Vec<(String, String)>, RequestObjectFault> {
        let config = Config::new("https://as.example");
        let o = object(&json!({"alg": "HS256"}), &claims);
        verify(
            &config,
            &client(),
            &JwkSet::default(),
            &o,
            UnixTime::from_secs(NOW),
        )
    }

    fn base() -> Value {
        json!({"iss": "c", "aud": "https://as.example", "exp": NOW + 60})
    }

    #[test]
    fn values_become_parameters_and_jwt_claims_do_not() {
        // covers: JR-01
        let mut c = base();
        c["max_age"] = json!(600);
        c["claims"] = json!({"id_token": {"acr": null}});
        c["state"] = json!("s");
        c["nonce"] = Value::Null;
        c["jti"] = json!("j");
        let mut params = verified(c).unwrap();
        params.sort();
        assert_eq!(
            params,
            [
                ("claims".into(), r#"{"id_token":{"acr":null}}"#.into()),
                ("max_age".into(), "600".into()),
                ("state".into(), "s".into()),
            ]
        );
    }

    #[test]
    fn values_no_parameter_can_hold_are_refused() {
        // covers: JR-01
        for (name, value) in [
            ("state", json!(true)),
            ("scope", json!(["read"])),
            ("prompt", json!({"x": 1})),
            ("request", json!("a.b.c")),
            ("request_uri", json!("urn:x")),
        ] {
            let mut c = base();
            c[name] = value;
            assert_eq!(verified(c), Err(RequestObjectFault::InvalidClaim), "{name}");
        }
        let mut c = base();
        c["aud"] = json!(["https://other.example", "https://as.example"]);
        assert!(verified(c).is_ok(), "an array naming the issuer");
        let mut c = base();
        c["iat"] = json!("yesterday");
        assert_eq!(verified(c), Err(RequestObjectFault::Expired));
    }
}
