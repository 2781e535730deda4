//! Signed UserInfo responses (OpenID Connect Core 1.0 §5.3.2): for a client
//! that registers `userinfo_signed_response_alg`, the claims UserInfo
//! releases are returned as a JWS (`Content-Type: application/jwt`) signed
//! with the ring's current key of exactly that algorithm, never `none`. The
//! claims gain `iss` (this server) and `aud` (the client), as §5.3.2 says
//! they should, and `iat`; these three are always ours, whatever the
//! selected claims hold.
//!
//! # Never mistaken for an ID Token (issue 16)
//!
//! The same keys sign ID Tokens, and a signed UserInfo response names the
//! same `iss`, `aud` and `sub`: were it to look like an ID Token, a client
//! could hand it back as an `id_token_hint`, or a relying party accept it
//! as a login. Two rules keep the two apart, as RFC 8725 §3.11 and §3.12
//! advise (explicit typing, mutually exclusive validation rules):
//!
//! - **The header carries no `typ`**: `{"alg","kid"}`, where an ID Token
//!   says `"typ":"JWT"`. Core defines no `typ` for either, and no media type
//!   is registered for a UserInfo response; a made-up one
//!   (`userinfo+jwt`) would be refused by relying parties whose JWT
//!   libraries accept only `JWT` or none (the default of Nimbus JOSE+JWT,
//!   widely used in Java), while an absent `typ` is accepted by every JWT
//!   library (RFC 7519 §5.1: optional). Our `id_token_hint` check requires
//!   `typ` `JWT`, so it refuses a signed UserInfo response.
//! - **The claims never carry `exp`** (nor `nonce`, `at_hash`, `nbf`…),
//!   which an ID Token must (Core §2): the core never asks the host for
//!   such names, and drops them here too. An ID Token validator, ours or a
//!   relying party's, refuses a token without `exp`.
//!
//! (panva's oidc-provider signs UserInfo with its ID Token code and an
//! `exp`; we chose not to, for the reasons above.)

use serde_json::{Map, Value};

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::SigningFault;
use crate::keys::{Algorithm, KeyRing};
use crate::tokens::jwt;
use crate::tokens::jwt::JwsType;

/// Claims a signed UserInfo response never carries: those that make a JWT
/// an ID Token, a Logout Token or an access token (see the module
/// documentation).
const NEVER: [&str; 9] = [
    "exp", "nbf", "jti", "nonce", "azp", "at_hash", "c_hash", "s_hash", "events",
];

/// Signs `claims` (the selection UserInfo releases, `sub` included) for
/// `aud` with the ring's current key of `alg` at `now`, header
/// `{"alg","kid"}` without `typ`. No key of `alg` signing now is
/// [`SigningFault::NoKeyForAlgorithm`]: another algorithm is never used
/// instead.
pub(crate) fn sign(
    ring: &KeyRing,
    mut claims: Map<String, Value>,
    iss: &str,
    aud: &ClientId,
    alg: Algorithm,
    now: UnixTime,
) -> Result<String, SigningFault> {
    for name in NEVER {
        claims.remove(name);
    }
    claims.insert("iss".into(), Value::from(iss));
    claims.insert("aud".into(), Value::from(aud.as_str()));
    claims.insert("iat".into(), Value::from(now.as_secs()));
    jwt::sign_current(ring, alg, now, JwsType::Untyped, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyId, KeyRecord};
    use crate::oidc::HintError;
    use crate::oidc::id_token::verify_id_token_hint;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn signs_with_the_registered_algorithm_our_iss_aud_iat_and_no_id_token_marks() {
        // covers: OI-05
        // issue 16
        let now = UnixTime::from_secs(1000);
        let records = vec![
            KeyRecord::generate(Algorithm::Es256, KeyId::parse("ec").unwrap(), now, now).unwrap(),
        ];
        let ring = KeyRing::load(records, now);
        let aud = ClientId::parse("app").unwrap();
        let claims = json!({"sub": "alice", "email": "a@example.com", "iss": "https://evil",
                            "exp": 4_000_000_000_u64, "nonce": "n"})
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
        // issue 16: a signed UserInfo response is never a good
        // `id_token_hint`, though signed by our key for this client.
        assert_eq!(
            verify_id_token_hint(&ring, &t, "https://op.example", now).unwrap_err(),
            HintError::Type
        );
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(
            decode(parts[0]),
            json!({"alg": "ES256", "kid": "ec"}),
            "no typ: not an ID Token's header"
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
