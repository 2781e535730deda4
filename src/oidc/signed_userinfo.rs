//! Signed UserInfo responses (OpenID Connect Core 1.0 §5.3.2): for a client
//! that registers `userinfo_signed_response_alg`, the claims UserInfo
//! releases are returned as a JWS (`Content-Type: application/jwt`) signed
//! with the ring's current key of exactly that algorithm, header
//! `{"alg","kid","typ":"JWT"}`, never `none`. The claims gain `iss` (this
//! server) and `aud` (the client), as §5.3.2 says they should, and `iat`;
//! these three are always ours, whatever the selected claims hold.

use serde_json::{Map, Value};

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::SigningFault;
use crate::keys::{Algorithm, KeyRing};
use crate::tokens::jwt;

/// Signs `claims` (the selection UserInfo releases, `sub` included) for
/// `aud` with the ring's current key of `alg` at `now`. No key of `alg`
/// signing now is [`SigningFault::NoKeyForAlgorithm`]: another algorithm is
/// never used instead.
pub(crate) fn sign(
    ring: &KeyRing,
    mut claims: Map<String, Value>,
    iss: &str,
    aud: &ClientId,
    alg: Algorithm,
    now: UnixTime,
) -> Result<String, SigningFault> {
    let key = ring
        .signing_key_for(alg, now)
        .ok_or(SigningFault::NoKeyForAlgorithm(alg.as_str()))?;
    claims.insert("iss".into(), Value::from(iss));
    claims.insert("aud".into(), Value::from(aud.as_str()));
    claims.insert("iat".into(), Value::from(now.as_secs()));
    let payload = serde_json::to_vec(&claims).map_err(|_| SigningFault::ClaimsEncoding)?;
    jwt::sign_with_header(key, &key.id_token_header, &payload).ok_or(SigningFault::SignatureFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyId, KeyRecord};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn signs_with_the_registered_algorithm_and_our_iss_aud_iat() {
        // covers: OI-05
        // issue 16
        let now = UnixTime::from_secs(1000);
        let records = vec![
            KeyRecord::generate(Algorithm::Es256, KeyId::parse("ec").unwrap(), now, now).unwrap(),
        ];
        let ring = KeyRing::load(records, now);
        let aud = ClientId::parse("app").unwrap();
        let claims = json!({"sub": "alice", "email": "a@example.com", "iss": "https://evil"})
            .as_object()
            .unwrap()
            .clone();
        let t = sign(
            &ring,
            claims.clone(),
            "https://op.example",
            &aud,
            Algorithm::Es256,
            now,
        )
        .unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(
            decode(parts[0]),
            json!({"alg": "ES256", "kid": "ec", "typ": "JWT"})
        );
        assert_eq!(
            decode(parts[1]),
            json!({"sub": "alice", "email": "a@example.com", "iss": "https://op.example",
                   "aud": "app", "iat": 1000})
        );
        assert_eq!(
            sign(
                &ring,
                claims,
                "https://op.example",
                &aud,
                Algorithm::EdDsa,
                now
            ),
            Err(SigningFault::NoKeyForAlgorithm("EdDSA")),
            "never another algorithm"
        );
    }
}
