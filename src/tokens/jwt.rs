//! JWT access tokens (RFC 9068) and JWS compact parsing: header `typ`
//! `at+jwt` with `kid`; never `alg: none`; the algorithm is the key's own,
//! never the header's choice (TK-03).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::UnparsedPublicKey;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

use crate::clock::UnixTime;
use crate::error::SigningFault;
use crate::keys::{Algorithm, KeyRing, LoadedKey, jws_header};
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::tokens::actor::Actor;

/// Claims a host's claims hook may not set (RFC 9068 §2.2, RFC 7519 §4.1).
pub(crate) const RESERVED: [&str; 12] = [
    "act",
    "iss",
    "exp",
    "aud",
    "sub",
    "client_id",
    "iat",
    "jti",
    "scope",
    "nbf",
    "auth_time",
    "cnf",
];

/// Signs `claims` (a JSON object) with `key`.
#[cfg(test)]
pub(crate) fn sign(key: &LoadedKey, claims: &Map<String, Value>) -> Option<String> {
    sign_payload(key, &serde_json::to_vec(claims).ok()?)
}

/// Signs a JSON payload with `key` as an access token: the compact JWS,
/// its header (`typ` `at+jwt`) computed once per key.
pub(crate) fn sign_payload(key: &LoadedKey, payload: &[u8]) -> Option<String> {
    sign_with_header(key, &key.jwt_header, payload)
}

/// Signs a JSON payload with `key` under `header`, the base64url protected
/// header (which must name `key`'s algorithm and id): the compact JWS, or
/// `None` only if `ring` reports an internal failure.
pub(crate) fn sign_with_header(key: &LoadedKey, header: &str, payload: &[u8]) -> Option<String> {
    // Header, payload and a signature of up to 512 bytes (RS256 at 4096
    // bits), each base64url: one allocation.
    let mut token = String::with_capacity(header.len() + payload.len().div_ceil(3) * 4 + 2 + 684);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let sig = key.signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut token);
    Some(token)
}

/// The `typ` of an OpenID Connect JWS signed by [`sign_current`].
pub(crate) enum JwsType<'a> {
    /// `JWT`, the ID Token's header, computed once per key.
    IdToken,
    /// This `typ` (`logout+jwt`).
    Typ(&'a str),
    /// No `typ` (a signed UserInfo response).
    Untyped,
}

/// Signs `claims` with `ring`'s current key of `alg` at `now`, under the
/// header `{"alg","kid"}` with the `typ` of `kind`. No key of `alg` signing
/// now is [`SigningFault::NoKeyForAlgorithm`]: another algorithm is never
/// used instead.
pub(crate) fn sign_current(
    ring: &KeyRing,
    alg: Algorithm,
    now: UnixTime,
    kind: JwsType<'_>,
    claims: &impl serde::Serialize,
) -> Result<String, SigningFault> {
    let key = ring
        .signing_key_for(alg, now)
        .ok_or(SigningFault::NoKeyForAlgorithm(alg.as_str()))?;
    let payload = serde_json::to_vec(claims).map_err(|_| SigningFault::ClaimsEncoding)?;
    let header: std::borrow::Cow<'_, str> = match kind {
        JwsType::IdToken => key.id_token_header.as_str().into(),
        JwsType::Typ(typ) => jws_header(alg, &key.record.kid, typ).into(),
        JwsType::Untyped => {
            let json = serde_json::json!({"alg": alg.as_str(), "kid": key.record.kid.as_str()});
            URL_SAFE_NO_PAD.encode(json.to_string()).into()
        }
    };
    sign_with_header(key, &header, &payload).ok_or(SigningFault::SignatureFailed)
}

/// The claims of an access token when the host adds none of its own,
/// written straight into JSON: the bytes `serde_json` gives the same claims
/// as a `Map` (keys sorted, strings escaped by `serde_json`), without building
/// the map.
pub(crate) struct AccessClaims<'a> {
    /// The default audience, when `resources` is empty.
    pub(crate) aud: &'a str,
    /// The token's resources (RFC 8707): its audiences when there are any
    /// (one as a string, several as an array; RI-01).
    pub(crate) resources: &'a [Resource],
    pub(crate) client_id: &'a str,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) iss: &'a str,
    pub(crate) jti: &'a str,
    /// Left out when empty. Scope tokens never need escaping (RFC 6749
    /// §3.3 excludes `"` and `\`).
    pub(crate) scope: &'a ScopeSet,
    pub(crate) sub: &'a str,
    /// The DPoP key thumbprint, written as `cnf.jkt` (RFC 9449 §6.1).
    pub(crate) jkt: Option<&'a str>,
    /// The actor of a delegated token (`act`, RFC 8693 §4.1).
    pub(crate) act: Option<&'a Actor>,
}

impl AccessClaims<'_> {
    pub(crate) fn render(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        if let Some(act) = self.act {
            out.extend_from_slice(br#""act":"#);
            serde_json::to_writer(&mut out, &act.to_json())?;
            out.push(b',');
        }
        out.extend_from_slice(br#""aud":"#);
        match self.resources {
            [] => serde_json::to_writer(&mut out, self.aud)?,
            [one] => serde_json::to_writer(&mut out, one.as_str())?,
            many => serde_json::to_writer(
                &mut out,
                &many.iter().map(Resource::as_str).collect::<Vec<_>>(),
            )?,
        }
        out.extend_from_slice(br#","client_id":"#);
        serde_json::to_writer(&mut out, self.client_id)?;
        if let Some(jkt) = self.jkt {
            out.extend_from_slice(br#","cnf":{"jkt":"#);
            serde_json::to_writer(&mut out, jkt)?;
            out.push(b'}');
        }
        out.extend_from_slice(br#","exp":"#);
        serde_json::to_writer(&mut out, &self.exp)?;
        out.extend_from_slice(br#","iat":"#);
        serde_json::to_writer(&mut out, &self.iat)?;
        out.extend_from_slice(br#","iss":"#);
        serde_json::to_writer(&mut out, self.iss)?;
        out.extend_from_slice(br#","jti":"#);
        serde_json::to_writer(&mut out, self.jti)?;
        if !self.scope.is_empty() {
            out.extend_from_slice(br#","scope":""#);
            self.scope.write_to(&mut out);
            out.push(b'"');
        }
        out.extend_from_slice(br#","sub":"#);
        serde_json::to_writer(&mut out, self.sub)?;
        out.push(b'}');
        Ok(out)
    }
}

/// The `aud` claim of an access token: its resources (one as a string,
/// several as an array), or the default audience without any (RI-01).
pub(crate) fn audience_claim(default: &str, resources: &[Resource]) -> Value {
    match resources {
        [] => Value::from(default),
        [one] => Value::from(one.as_str()),
        many => Value::from(many.iter().map(Resource::as_str).collect::<Vec<_>>()),
    }
}

/// The protected header fields we read.
#[derive(Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) typ: Option<String>,
    pub(crate) kid: Option<String>,
}

/// A JWS in compact form, split and decoded but not yet verified.
pub(crate) struct Jws<'a> {
    pub(crate) header: Header,
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
    pub(crate) claims: Map<String, Value>,
}

/// The longest compact JWS we parse: larger input is refused before any
/// decoding, so the work on any input is bounded.
pub(crate) const MAX_JWS_LEN: usize = 16 * 1024;

/// Splits and decodes a compact JWS. Anything malformed is `None`.
pub(crate) fn parse(token: &str) -> Option<Jws<'_>> {
    if token.len() > MAX_JWS_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
    let signing_input = token.get(..h.len() + 1 + c.len())?.as_bytes();
    Some(Jws {
        header,
        signing_input,
        signature,
        claims,
    })
}

/// Why one of our JWT access tokens is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtFault {
    Malformed,
    /// `alg` is `none`, unknown, or not the key's algorithm.
    Algorithm,
    /// No published key with this `kid`.
    UnknownKey,
    Signature,
    /// `typ` is not `at+jwt`.
    Type,
    Issuer,
    Audience,
    Expired,
}

/// Verifies one of our access tokens: signature with the published key the
/// `kid` names (its algorithm only), `typ`, `iss`, `aud`, `exp` and `iat`
/// with `leeway` of clock skew (TK-03, TK-05).
pub(crate) fn verify_access(
    token: &str,
    ring: &KeyRing,
    now: UnixTime,
    leeway: Duration,
    issuer: &str,
    audience: &str,
) -> Result<Map<String, Value>, JwtFault> {
    let jws = parse(token).ok_or(JwtFault::Malformed)?;
    let alg = Algorithm::parse(&jws.header.alg).ok_or(JwtFault::Algorithm)?;
    let kid = jws.header.kid.as_deref().ok_or(JwtFault::UnknownKey)?;
    let key = ring.find(kid, now).ok_or(JwtFault::UnknownKey)?;
    if key.record.alg != alg {
        return Err(JwtFault::Algorithm);
    }
    UnparsedPublicKey::new(alg.verification(), &key.public)
        .verify(jws.signing_input, &jws.signature)
        .map_err(|_| JwtFault::Signature)?;
    let typ = jws.header.typ.as_deref().unwrap_or_default();
    if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
        return Err(JwtFault::Type);
    }
    check_claims(&jws.claims, now, leeway, issuer, &[audience])?;
    Ok(jws.claims)
}

/// `iss`, `aud` (one of `audiences`), `exp` and `iat` checks.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    now: UnixTime,
    leeway: Duration,
    issuer: &str,
    audiences: &[&str],
) -> Result<(), JwtFault> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(JwtFault::Issuer);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err(JwtFault::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(JwtFault::Malformed)?;
    let leeway = leeway.as_secs();
    if exp.saturating_add(leeway) <= now.as_secs() {
        return Err(JwtFault::Expired);
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_u64().ok_or(JwtFault::Malformed)?;
        if iat > now.as_secs().saturating_add(leeway) {
            return Err(JwtFault::Expired);
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().ok_or(JwtFault::Malformed)?;
        if nbf > now.as_secs().saturating_add(leeway) {
            return Err(JwtFault::Expired);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyId, KeyRecord};
    use serde_json::json;

    const ISS: &str = "https://as.example";

    fn ring(alg: Algorithm) -> KeyRing {
        let now = UnixTime::from_secs(1000);
        let rec = KeyRecord::generate(alg, KeyId::parse("k1").unwrap(), now, now).unwrap();
        KeyRing::load(vec![rec], now)
    }

    fn claims(exp: u64) -> Map<String, Value> {
        json!({"iss": ISS, "aud": ISS, "exp": exp, "iat": 1000, "sub": "u", "client_id": "c", "jti": "j"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn direct_claims_match_serde_json_on_a_map() {
        let r = |s| Resource::parse(s).unwrap();
        let two = [r("https://b.example/\"q\""), r("urn:a")];
        let jkt = Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        for (case, act) in [
            ("b a", "https://as.example", "alice", &[][..], None),
            ("", "api \"v2\"\\", "jo\u{1}é", &[][..], None),
            ("a", "https://as.example", "bob", &[][..], jkt),
            ("b", "https://as.example", "alice", &two[..1], None),
            ("b", "https://as.example", "alice", &two[..], jkt),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let act = (i % 2 == 1).then(|| {
                Actor::parse("svc \"1\"")
                    .unwrap()
                    .acting_after(Actor::parse("gw").unwrap())
                    .unwrap()
            });
            (case, act)
        }) {
            let (scope, aud, sub, resources, jkt) = case;
            let scope = ScopeSet::parse(scope).unwrap();
            let direct = AccessClaims {
                aud,
                resources,
                client_id: "c\"1",
                exp: 1_700_003_600,
                iat: 1_700_000_000,
                iss: ISS,
                jti: "abc-_",
                scope: &scope,
                sub,
                jkt,
                act: act.as_ref(),
            };
            let mut map = Map::new();
            if let Some(act) = &act {
                map.insert("act".into(), act.to_json());
            }
            map.insert("iss".into(), Value::from(ISS));
            map.insert("exp".into(), Value::from(1_700_003_600u64));
            map.insert("aud".into(), audience_claim(aud, resources));
            map.insert("sub".into(), Value::from(sub));
            map.insert("client_id".into(), Value::from("c\"1"));
            map.insert("iat".into(), Value::from(1_700_000_000u64));
            map.insert("jti".into(), Value::from("abc-_"));
            if let Some(jkt) = jkt {
                map.insert("cnf".into(), json!({ "jkt": jkt }));
            }
            if !scope.is_empty() {
                map.insert("scope".into(), Value::from(scope.to_string()));
            }
            assert_eq!(
                String::from_utf8(direct.render().unwrap()).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
        }
    }

    #[test]
    fn sign_then_verify_and_refuse_tampering() {
        // covers: TK-03, TK-05
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let r = ring(alg);
            let key = r.signing_key(UnixTime::from_secs(1000)).unwrap();
            let t = sign(key, &claims(2000)).unwrap();
            let now = UnixTime::from_secs(1500);
            assert!(verify_access(&t, &r, now, Duration::ZERO, ISS, ISS).is_ok());
            assert_eq!(
                verify_access(&t, &r, now, Duration::ZERO, "https://other", ISS),
                Err(JwtFault::Issuer)
            );
            assert_eq!(
                verify_access(&t, &r, now, Duration::ZERO, ISS, "api"),
                Err(JwtFault::Audience)
            );
            assert_eq!(
                verify_access(&t, &r, UnixTime::from_secs(2000), Duration::ZERO, ISS, ISS),
                Err(JwtFault::Expired)
            );
            assert!(
                verify_access(
                    &t,
                    &r,
                    UnixTime::from_secs(2000),
                    Duration::from_secs(5),
                    ISS,
                    ISS
                )
                .is_ok()
            );
            // Tampered claims.
            let mut parts: Vec<&str> = t.split('.').collect();
            let forged = b64(&json!({"iss": ISS, "aud": ISS, "exp": 9999, "sub": "admin"}));
            parts[1] = &forged;
            assert_eq!(
                verify_access(&parts.join("."), &r, now, Duration::ZERO, ISS, ISS),
                Err(JwtFault::Signature)
            );
        }
    }

    #[test]
    fn alg_none_wrong_alg_and_wrong_typ_are_refused() {
        // covers: TK-03
        let r = ring(Algorithm::Es256);
        let body = b64(&Value::Object(claims(2000)));
        let now = UnixTime::from_secs(1500);
        let none = format!(
            "{}.{body}.",
            b64(&json!({"alg": "none", "typ": "at+jwt", "kid": "k1"}))
        );
        assert_eq!(
            verify_access(&none, &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Algorithm)
        );
        let hs = format!(
            "{}.{body}.AAAA",
            b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}))
        );
        assert_eq!(
            verify_access(&hs, &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Algorithm)
        );
        let ed = format!(
            "{}.{body}.AAAA",
            b64(&json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}))
        );
        assert_eq!(
            verify_access(&ed, &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Algorithm)
        );
        // A validly signed JWT of another type is not an access token.
        let key = r.signing_key(now).unwrap();
        let header = b64(&json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
        let input = format!("{header}.{body}");
        let sig = URL_SAFE_NO_PAD.encode(key.signer.sign(input.as_bytes()).unwrap());
        assert_eq!(
            verify_access(&format!("{input}.{sig}"), &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Type)
        );
        assert_eq!(
            verify_access("a.b", &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Malformed)
        );
        assert_eq!(
            verify_access("a.b.c.d", &r, now, Duration::ZERO, ISS, ISS),
            Err(JwtFault::Malformed)
        );
    }
}
