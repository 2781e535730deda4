//! Signing keys: algorithms, stored key records, the `KeyProvider` trait the
//! host implements (or takes ours), and the loaded key ring the server signs
//! and verifies with. All crypto is `ring`.
//!
//! A key's life is four instants on one clock: created; `not_before`, when it
//! starts signing; `not_after`, when it stops; `drop_after`, when it leaves
//! the JWKS. A rotated-in key is published before it signs, and a rotated-out
//! key stays published until the last token it signed has expired (JW-01).

pub(crate) mod jwk;
pub(crate) mod rotation;
#[cfg(feature = "rsa-keygen")]
mod rsa_keygen;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use crate::clock::UnixTime;
use crate::conversions::{ParseError, serde_as_str, try_from_str};
use crate::error::StoreError;
use crate::secret::Secret;

/// A JWS signing algorithm (RFC 7518 §3.1, RFC 8037).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `ES256`: ECDSA P-256 with SHA-256. The default.
    Es256,
    /// `EdDSA` with Ed25519.
    EdDsa,
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256 (2048 to 8192 bits). Import a
    /// key with [`KeyRecord::from_pkcs8`], or generate a 2048-bit one with
    /// feature `rsa-keygen` (`ring` signs with RSA keys but cannot make them).
    Rs256,
    /// `PS256`: RSASSA-PSS with SHA-256 and MGF1 with SHA-256 (RFC 7518
    /// §3.5; 2048 to 8192 bits), which the FAPI 2.0 Security Profile
    /// allows. Keys are imported or generated as for RS256; a key is of
    /// one of the two algorithms, never both.
    Ps256,
}

impl Algorithm {
    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    /// Parses the JOSE name (case-sensitive, as JOSE is); `None` if it is
    /// not one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    pub(crate) fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Self::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::EdDsa => &signature::ED25519,
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            "RS256" => Ok(Self::Rs256),
            "PS256" => Ok(Self::Ps256),
            _ => Err(ParseError::new(
                "algorithm",
                "is not ES256, EdDSA, RS256 or PS256 (names are case-sensitive)",
            )),
        }
    }
}

/// A key id (`kid`): 1 to 64 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(Box<str>);

impl KeyId {
    /// Parses a key id; `None` if it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = |reason| Err(ParseError::new("key id", reason));
        if s.is_empty() {
            return err("is empty");
        }
        if s.len() > 64 {
            return err("is longer than 64 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return err("contains a character other than A-Z, a-z, 0-9, '-' and '_'");
        }
        Ok(Self(s.into()))
    }
}

try_from_str!(Algorithm, KeyId);
serde_as_str!(Algorithm, KeyId);

/// Why a key could not be made or loaded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The PKCS#8 document is not a key of this algorithm.
    #[error("the PKCS#8 document is not a valid {0} private key")]
    Rejected(Algorithm),
    /// Keys of this algorithm cannot be generated in this build (RS256 or
    /// PS256 without feature `rsa-keygen`): import one.
    #[error(
        "cannot generate {0} keys (RSA keys need the `rsa-keygen` feature); import a PKCS#8 key instead"
    )]
    CannotGenerate(Algorithm),
    /// The OS random source failed.
    #[error("random source failed")]
    Random,
}

/// A signing key as a [`KeyProvider`] stores it. The private key is PKCS#8
/// DER inside a redacting [`Secret`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// `kid`.
    pub kid: KeyId,
    /// `alg`.
    pub alg: Algorithm,
    /// The private key, PKCS#8 DER.
    pub private_pkcs8: Secret<Vec<u8>>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it starts signing (it is published from creation).
    pub not_before: UnixTime,
    /// When it stops signing; `None` while current.
    pub not_after: Option<UnixTime>,
    /// When it leaves the JWKS; `None` while current.
    pub drop_after: Option<UnixTime>,
}

impl KeyRecord {
    /// Generates a fresh key that signs from `not_before`: ES256 or EdDSA
    /// with `ring`; RS256 or PS256 (2048 bits) with feature `rsa-keygen`, otherwise
    /// [`KeyError::CannotGenerate`]. RSA generation takes a CPU-bound
    /// moment (tens of milliseconds to a second): call it off the executor
    /// where that matters.
    pub fn generate(
        alg: Algorithm,
        kid: KeyId,
        now: UnixTime,
        not_before: UnixTime,
    ) -> Result<Self, KeyError> {
        let rng = crate::random::ring_rng();
        let pkcs8 = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, rng)
                    .map_err(|_| KeyError::Random)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(rng)
                .map_err(|_| KeyError::Random)?
                .as_ref()
                .to_vec(),
            #[cfg(feature = "rsa-keygen")]
            Algorithm::Rs256 | Algorithm::Ps256 => {
                let pkcs8 =
                    rsa_keygen::generate_pkcs8(rsa_keygen::RSA_BITS).ok_or(KeyError::Random)?;
                // What ring cannot load is not a key we hand out.
                Signer::load(alg, &pkcs8)?;
                pkcs8
            }
            #[cfg(not(feature = "rsa-keygen"))]
            Algorithm::Rs256 | Algorithm::Ps256 => return Err(KeyError::CannotGenerate(alg)),
        };
        Ok(Self::current(alg, kid, pkcs8, now, not_before))
    }

    /// A record with no end yet.
    fn current(
        alg: Algorithm,
        kid: KeyId,
        pkcs8: Vec<u8>,
        now: UnixTime,
        not_before: UnixTime,
    ) -> Self {
        Self {
            kid,
            alg,
            private_pkcs8: Secret::new(pkcs8),
            created_at: now,
            not_before,
            not_after: None,
            drop_after: None,
        }
    }

    /// Imports a PKCS#8 private key, checking that it is one of `alg`.
    pub fn from_pkcs8(
        alg: Algorithm,
        kid: KeyId,
        pkcs8: Vec<u8>,
        now: UnixTime,
        not_before: UnixTime,
    ) -> Result<Self, KeyError> {
        Signer::load(alg, &pkcs8)?;
        Ok(Self::current(alg, kid, pkcs8, now, not_before))
    }

    /// Whether the key signs at `now`.
    pub fn signs_at(&self, now: UnixTime) -> bool {
        self.not_before <= now && self.not_after.is_none_or(|t| now < t)
    }

    /// Whether the key is published (in the JWKS) at `now`.
    pub fn published_at(&self, now: UnixTime) -> bool {
        self.drop_after.is_none_or(|t| now < t)
    }
}

/// Where signing keys live. Several server instances sharing one
/// `KeyProvider` (e.g. the SQL stores) sign with and publish the same keys.
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// Every stored key, in any order.
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError>;

    /// Stores a new key. A duplicate `kid` is an error.
    async fn insert_key(&self, key: KeyRecord) -> Result<(), StoreError>;

    /// Sets when a key stops signing and leaves the JWKS; `Ok(false)` if
    /// there is no such key.
    async fn retire_key(
        &self,
        kid: &KeyId,
        not_after: UnixTime,
        drop_after: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Removes a key; `Ok(false)` if there was none.
    async fn delete_key(&self, kid: &KeyId) -> Result<bool, StoreError>;
}

/// A private key parsed for signing.
pub(crate) enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
    Ps256(RsaKeyPair),
}

impl Signer {
    pub(crate) fn load(alg: Algorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let rejected = |_| KeyError::Rejected(alg);
        Ok(match alg {
            Algorithm::Es256 => Self::Es256(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    crate::random::ring_rng(),
                )
                .map_err(rejected)?,
            ),
            Algorithm::EdDsa => {
                Self::EdDsa(Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(rejected)?)
            }
            Algorithm::Rs256 => Self::Rs256(RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?),
            Algorithm::Ps256 => Self::Ps256(RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?),
        })
    }

    /// Signs `message`; `None` only if `ring` reports an internal failure.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Es256(k) => k
                .sign(crate::random::ring_rng(), message)
                .ok()
                .map(|s| s.as_ref().to_vec()),
            Self::EdDsa(k) => Some(k.sign(message).as_ref().to_vec()),
            Self::Rs256(k) => rsa_sign(k, &signature::RSA_PKCS1_SHA256, message),
            Self::Ps256(k) => rsa_sign(k, &signature::RSA_PSS_SHA256, message),
        }
    }

    /// The public key in the form `ring` verifies with (SEC1 point, raw
    /// Ed25519 key, or DER RSAPublicKey).
    pub(crate) fn public_key(&self) -> Vec<u8> {
        match self {
            Self::Es256(k) => k.public_key().as_ref().to_vec(),
            Self::EdDsa(k) => k.public_key().as_ref().to_vec(),
            Self::Rs256(k) | Self::Ps256(k) => k.public().as_ref().to_vec(),
        }
    }
}

/// An RSA signature with `padding` (PKCS#1 v1.5 or PSS); `None` only if
/// `ring` reports an internal failure.
fn rsa_sign(
    k: &RsaKeyPair,
    padding: &'static dyn signature::RsaEncoding,
    message: &[u8],
) -> Option<Vec<u8>> {
    let mut sig = vec![0u8; k.public().modulus_len()];
    k.sign(padding, crate::random::ring_rng(), message, &mut sig)
        .ok()
        .map(|()| sig)
}

/// One key, parsed and ready: what the server signs and verifies with.
pub(crate) struct LoadedKey {
    pub(crate) record: KeyRecord,
    pub(crate) signer: Signer,
    pub(crate) public: Vec<u8>,
    /// `base64url({"alg":…,"kid":…,"typ":"at+jwt"})`, computed once.
    pub(crate) jwt_header: String,
    /// `base64url({"alg":…,"kid":…,"typ":"JWT"})`: the ID Token header
    /// (OpenID Connect Core 2), computed once.
    pub(crate) id_token_header: String,
}

/// The keys of one moment, parsed once and shared.
#[derive(Default)]
pub(crate) struct KeyRing {
    pub(crate) keys: Vec<Arc<LoadedKey>>,
    pub(crate) loaded_at: UnixTime,
}

impl KeyRing {
    /// Parses the records; a record that does not load is skipped and
    /// logged, so one bad row cannot stop signing with the others.
    pub(crate) fn load(records: Vec<KeyRecord>, now: UnixTime) -> Self {
        let mut keys = Vec::with_capacity(records.len());
        for record in records {
            match Signer::load(record.alg, record.private_pkcs8.expose_secret()) {
                Ok(signer) => {
                    let public = signer.public_key();
                    let jwt_header = jws_header(record.alg, &record.kid, "at+jwt");
                    let id_token_header = jws_header(record.alg, &record.kid, "JWT");
                    keys.push(Arc::new(LoadedKey {
                        record,
                        signer,
                        public,
                        jwt_header,
                        id_token_header,
                    }));
                }
                Err(e) => {
                    tracing::error!(kid = %record.kid, error = %e, "signing key does not load")
                }
            }
        }
        Self {
            keys,
            loaded_at: now,
        }
    }

    /// The newest key of any algorithm whose window holds `now`.
    pub(crate) fn signing_key(&self, now: UnixTime) -> Option<&Arc<LoadedKey>> {
        newest(self.keys.iter().filter(|k| k.record.signs_at(now)))
    }

    /// The key of `alg` that signs at `now`: the newest of that algorithm
    /// whose window holds `now`. The ring holds a current key per
    /// algorithm (rotation retires only keys of the same algorithm), so an
    /// ID Token signed with a client's algorithm and an access token signed
    /// with another never take each other's key.
    pub(crate) fn signing_key_for(&self, alg: Algorithm, now: UnixTime) -> Option<&Arc<LoadedKey>> {
        newest(
            self.keys
                .iter()
                .filter(|k| k.record.alg == alg && k.record.signs_at(now)),
        )
    }

    /// The key that signs access tokens at `now`: the newest key of
    /// `alg` when one is configured (`Config::access_token_signing_alg`),
    /// else the newest key of any algorithm (the rule from before keys of
    /// several algorithms could sign side by side).
    pub(crate) fn access_token_key(
        &self,
        alg: Option<Algorithm>,
        now: UnixTime,
    ) -> Option<&Arc<LoadedKey>> {
        match alg {
            Some(alg) => self.signing_key_for(alg, now),
            None => self.signing_key(now),
        }
    }

    /// The published key with this id.
    pub(crate) fn find(&self, kid: &str, now: UnixTime) -> Option<&Arc<LoadedKey>> {
        self.keys
            .iter()
            .find(|k| k.record.kid.as_str() == kid && k.record.published_at(now))
    }
}

/// The newest of `keys`: the latest `not_before`, then the latest creation.
fn newest<'a>(keys: impl Iterator<Item = &'a Arc<LoadedKey>>) -> Option<&'a Arc<LoadedKey>> {
    keys.max_by_key(|k| (k.record.not_before, k.record.created_at))
}

/// `base64url` of a protected header `{"alg","kid","typ"}` of ours.
pub(crate) fn jws_header(alg: Algorithm, kid: &KeyId, typ: &str) -> String {
    let json = serde_json::json!({"alg": alg.as_str(), "typ": typ, "kid": kid.as_str()});
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kid(s: &str) -> KeyId {
        KeyId::parse(s).unwrap()
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let now = UnixTime::from_secs(100);
            let rec = KeyRecord::generate(alg, kid("k1"), now, now).unwrap();
            let signer = Signer::load(alg, rec.private_pkcs8.expose_secret()).unwrap();
            let sig = signer.sign(b"msg").unwrap();
            let public = signature::UnparsedPublicKey::new(alg.verification(), signer.public_key());
            assert!(public.verify(b"msg", &sig).is_ok());
            assert!(public.verify(b"other", &sig).is_err());
        }
    }

    #[cfg(not(feature = "rsa-keygen"))]
    #[test]
    fn rs256_cannot_be_generated_without_the_feature() {
        let now = UnixTime::default();
        assert_eq!(
            KeyRecord::generate(Algorithm::Rs256, kid("r"), now, now).unwrap_err(),
            KeyError::CannotGenerate(Algorithm::Rs256)
        );
    }

    // issue 16 item 1: RS256 keys are generated without OpenSSL and sign in ring.
    #[cfg(feature = "rsa-keygen")]
    #[test]
    fn generated_rs256_key_signs_verifies_and_is_published() {
        let now = UnixTime::from_secs(100);
        let rec = KeyRecord::generate(Algorithm::Rs256, kid("rsa1"), now, now).unwrap();
        // ring loads the PKCS#8 document as it would an imported key.
        let rsa = RsaKeyPair::from_pkcs8(rec.private_pkcs8.expose_secret()).unwrap();
        assert_eq!(rsa.public().modulus_len(), 256, "2048-bit modulus");
        let signer = Signer::load(Algorithm::Rs256, rec.private_pkcs8.expose_secret()).unwrap();
        let sig = signer.sign(b"msg").unwrap();
        let public =
            signature::UnparsedPublicKey::new(Algorithm::Rs256.verification(), signer.public_key());
        assert!(public.verify(b"msg", &sig).is_ok());
        assert!(public.verify(b"other", &sig).is_err());

        let ring = KeyRing::load(vec![rec], now);
        let jwks: serde_json::Value = serde_json::from_slice(&jwk::jwks(&ring, now)).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        let k = &keys[0];
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["kid"], "rsa1");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["e"], "AQAB");
        let n = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            k["n"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(n.len(), 256);
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private part"
        );
    }

    // issue 17: PS256 keys sign with RSASSA-PSS, which PKCS#1 v1.5
    // verification refuses, and are published as RSA keys with `alg` PS256.
    #[test]
    fn imported_ps256_key_signs_pss() {
        let now = UnixTime::from_secs(100);
        let pkcs8 = include_bytes!("../../tests/fixtures/rsa2048.pk8").to_vec();
        let rec = KeyRecord::from_pkcs8(Algorithm::Ps256, kid("ps1"), pkcs8, now, now).unwrap();
        assert_eq!("PS256".parse::<Algorithm>().unwrap(), Algorithm::Ps256);
        let signer = Signer::load(Algorithm::Ps256, rec.private_pkcs8.expose_secret()).unwrap();
        let sig = signer.sign(b"msg").unwrap();
        let pss =
            signature::UnparsedPublicKey::new(Algorithm::Ps256.verification(), signer.public_key());
        assert!(pss.verify(b"msg", &sig).is_ok());
        assert!(pss.verify(b"other", &sig).is_err());
        let pkcs1 =
            signature::UnparsedPublicKey::new(Algorithm::Rs256.verification(), signer.public_key());
        assert!(pkcs1.verify(b"msg", &sig).is_err());
        let ring = KeyRing::load(vec![rec], now);
        let jwks: serde_json::Value = serde_json::from_slice(&jwk::jwks(&ring, now)).unwrap();
        let k = &jwks["keys"][0];
        assert_eq!(
            (k["kty"].as_str(), k["alg"].as_str()),
            (Some("RSA"), Some("PS256"))
        );
        // Our published JWK reads back as a PS256-only key.
        let parsed = jwk::parse_jwks(&jwks);
        assert_eq!(parsed.len(), 1);
        let key = parsed.first().unwrap();
        assert!(key.verify_as(Algorithm::Ps256, b"msg", &sig));
        assert!(!key.allows(Algorithm::Rs256));
    }

    // issue 16 item 1: a current key per algorithm.
    #[test]
    fn a_signing_key_per_algorithm() {
        // covers: JW-01
        let at = UnixTime::from_secs;
        let gen_key = |alg, id: &str, nb| KeyRecord::generate(alg, kid(id), at(0), at(nb)).unwrap();
        let ring = KeyRing::load(
            vec![
                gen_key(Algorithm::Es256, "es-old", 0),
                gen_key(Algorithm::EdDsa, "ed", 5),
                gen_key(Algorithm::Es256, "es-new", 10),
            ],
            at(0),
        );
        let kid_of = |k: Option<&Arc<LoadedKey>>| k.map(|k| k.record.kid.to_string());
        let es = |now| kid_of(ring.signing_key_for(Algorithm::Es256, at(now)));
        assert_eq!(es(9).as_deref(), Some("es-old"));
        assert_eq!(es(10).as_deref(), Some("es-new"));
        assert_eq!(
            kid_of(ring.signing_key_for(Algorithm::EdDsa, at(20))).as_deref(),
            Some("ed")
        );
        assert!(ring.signing_key_for(Algorithm::Rs256, at(20)).is_none());
        // Access tokens: the configured algorithm's key, or the newest of any.
        let access = |alg, now| kid_of(ring.access_token_key(alg, at(now)));
        assert_eq!(access(None, 7).as_deref(), Some("ed"));
        assert_eq!(access(Some(Algorithm::Es256), 7).as_deref(), Some("es-old"));
        assert_eq!(access(None, 10).as_deref(), Some("es-new"));
        assert_eq!(access(Some(Algorithm::EdDsa), 10).as_deref(), Some("ed"));
        assert_eq!(access(Some(Algorithm::Rs256), 10), None);
        // Each key's ID Token header names its own algorithm and id.
        for k in &ring.keys {
            let h: serde_json::Value = serde_json::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    &k.id_token_header,
                )
                .unwrap(),
            )
            .unwrap();
            assert_eq!(
                h,
                serde_json::json!({"alg": k.record.alg.as_str(), "kid": k.record.kid.as_str(), "typ": "JWT"})
            );
        }
    }

    #[test]
    fn private_key_never_in_debug() {
        let rec = KeyRecord::generate(
            Algorithm::Es256,
            kid("k"),
            UnixTime::default(),
            UnixTime::default(),
        )
        .unwrap();
        let dbg = format!("{rec:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains(&format!("{:?}", rec.private_pkcs8.expose_secret())));
    }

    #[test]
    fn windows() {
        let mut rec = KeyRecord::generate(
            Algorithm::EdDsa,
            kid("k"),
            UnixTime::from_secs(0),
            UnixTime::from_secs(10),
        )
        .unwrap();
        assert!(!rec.signs_at(UnixTime::from_secs(9)));
        assert!(rec.published_at(UnixTime::from_secs(9)));
        assert!(rec.signs_at(UnixTime::from_secs(10)));
        rec.not_after = Some(UnixTime::from_secs(20));
        rec.drop_after = Some(UnixTime::from_secs(30));
        assert!(!rec.signs_at(UnixTime::from_secs(20)));
        assert!(rec.published_at(UnixTime::from_secs(29)));
        assert!(!rec.published_at(UnixTime::from_secs(30)));
        assert!(KeyId::parse("bad kid").is_none());
    }
}
