//! DPoP (RFC 9449, issue 17) in one criterion run, so that every ratio comes
//! from one run on one machine:
//!
//! - **the token endpoint**: a `client_credentials` request of the
//!   confidential client (Basic, opaque token) with a fresh proof per
//!   request (`token_dpop_{es256,eddsa}`), beside the same request without
//!   one (`token_bearer`);
//! - **the resource**: `authenticate_bearer` of a DPoP-bound opaque token
//!   sent as `Authorization: DPoP` with a fresh proof carrying its `ath`
//!   (`resource_dpop_{es256,eddsa}`), beside a bearer token of the same
//!   server (`resource_bearer`);
//! - **the signature alone**: ring's `verify` of one proof's signature,
//!   key and signature already decoded (`verify_{es256,eddsa}`): what no
//!   verifier can skip;
//! - **the floor**: the whole proof check written plainly with the same
//!   crates (split, base64url, serde_json, the RFC 7638 thumbprint, the
//!   signature, `htm`/`htu`/`iat`, `ath` at the resource, the `jti` into a
//!   std `HashMap` behind a `Mutex`): `floor_proof_{token,resource}_{alg}`;
//! - **oauth-as 1.0's** public `dpop::verify_proof` on the same proofs
//!   (`oauth_as_proof_{es256,eddsa}`): its signature, header and claim
//!   checks and thumbprint; it checks no `ath` and claims no `jti` (both
//!   are its caller's), and verifies with p256 / ed25519-dalek, not ring;
//! - **the replay cache**, one `ReplayCache::first_use` of a fresh `jti` in
//!   `ReplayScope::DpopProof` per request, on every store we ship:
//!   `replay_{memory,sharded,sqlite,postgres}`, beside `replay_floor` (a
//!   std `HashMap` insert behind a `Mutex`). SQLite needs the `sqlite`
//!   feature, PostgreSQL the `postgres` feature and a server
//!   (`tests/common/postgres.rs` starts a throwaway cluster, or
//!   `PORTCULLIS_TEST_POSTGRES_URL`); without them those functions are
//!   skipped with a note.
//!
//! Proofs are built here with ring and base64 (never with portcullis's own
//! code), a fresh one per request (`Op::prepare`, not timed).
//!
//! ```sh
//! cargo bench --features sqlite,postgres --bench dpop -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `main` then prints the medians and ratios, also written to
//! `<criterion dir>/dpop/summary.md`. See `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

mod common;

#[cfg(feature = "postgres")]
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/postgres.rs"]
mod postgres;
#[cfg(feature = "postgres")]
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/server.rs"]
mod server;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use ring::digest::{SHA256, digest};
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde::Deserialize;

use portcullis::http::{Method, Request};
use portcullis::stores::{MemoryStore, ShardedMemoryStore};
use portcullis::{Algorithm, JwkThumbprint, ReplayCache, ReplayScope, ScopeSet, UnixTime};

use common::{
    Op, Packed, Portcullis, SCOPE, criterion_home, fmt_ns, fmt_ratio, json_str, median_ns, os_rng,
    random_token, ratio, run_now,
};

const GROUP: &str = "dpop";
/// The token endpoint's URL (the default `/token` under the issuer).
const TOKEN_URL: &str = "https://auth.example.com/token";
/// The resource's path, and its URL: the issuer's origin and the path,
/// where bearer validation looks by default (`DpopConfig`).
const RESOURCE_PATH: &str = "/api/invoices";
const RESOURCE_URL: &str = "https://auth.example.com/api/invoices";
const CC_BODY: &[u8] = common::CC_BODY;
/// The server's `iat` window (`DpopConfig::iat_window`, default 60 s).
const WINDOW: u64 = 60;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, bytes))
}

// ---------------------------------------------------------------------------
// The client's key and its proofs, with ring and base64 only.

enum KeyPair {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// A client's DPoP key: signs proofs.
struct Prover {
    key: KeyPair,
    rng: ring::rand::SystemRandom,
    /// The encoded JOSE header (`typ`, `alg`, `jwk`), the same in every
    /// proof of this key.
    header: String,
    /// The public key as ring verifies it (SEC1 point or the 32 bytes).
    public: Vec<u8>,
    /// The RFC 7638 thumbprint of the key.
    jkt: String,
}

impl Prover {
    fn new(alg: Algorithm) -> Self {
        let rng = os_rng();
        let (key, jwk, canonical) = match alg {
            Algorithm::Es256 => {
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .unwrap();
                let kp = EcdsaKeyPair::from_pkcs8(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .unwrap();
                let point = kp.public_key().as_ref();
                let (x, y) = (
                    URL_SAFE_NO_PAD.encode(&point[1..33]),
                    URL_SAFE_NO_PAD.encode(&point[33..65]),
                );
                let jwk = format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}"}}"#);
                let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                (KeyPair::Es256(kp), jwk, canonical)
            }
            Algorithm::EdDsa => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
                let x = URL_SAFE_NO_PAD.encode(kp.public_key().as_ref());
                let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#);
                let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
                (KeyPair::EdDsa(kp), jwk, canonical)
            }
            other => panic!("no DPoP bench for {other:?}"),
        };
        let public = match &key {
            KeyPair::Es256(k) => k.public_key().as_ref().to_vec(),
            KeyPair::EdDsa(k) => k.public_key().as_ref().to_vec(),
        };
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{jwk}}}"#,
            alg.as_str()
        );
        Self {
            key,
            rng,
            header: URL_SAFE_NO_PAD.encode(header),
            public,
            jkt: sha256_b64(canonical.as_bytes()),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.key {
            KeyPair::Es256(k) => k.sign(&self.rng, msg).unwrap().as_ref().to_vec(),
            KeyPair::EdDsa(k) => k.sign(msg).as_ref().to_vec(),
        }
    }

    fn verification_alg(&self) -> &'static dyn sig::VerificationAlgorithm {
        match &self.key {
            KeyPair::Es256(_) => &sig::ECDSA_P256_SHA256_FIXED,
            KeyPair::EdDsa(_) => &sig::ED25519,
        }
    }

    /// A fresh proof (random `jti`, `iat` now) for `htm` `htu`, with the
    /// `ath` of `token` when given.
    fn proof(&self, htm: &str, htu: &str, token: Option<&str>) -> String {
        let jti = random_token(&self.rng);
        let iat = now_secs();
        let claims = match token {
            Some(t) => format!(
                r#"{{"jti":"{jti}","htm":"{htm}","htu":"{htu}","iat":{iat},"ath":"{}"}}"#,
                sha256_b64(t.as_bytes())
            ),
            None => format!(r#"{{"jti":"{jti}","htm":"{htm}","htu":"{htu}","iat":{iat}}}"#),
        };
        let mut out = String::with_capacity(600);
        out.push_str(&self.header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut out);
        let signature = self.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        out
    }

    /// `n` fresh proofs, packed.
    fn proofs(&self, out: &mut Packed, n: u64, htm: &str, htu: &str, token: Option<&str>) {
        out.clear();
        for _ in 0..n {
            out.push(&self.proof(htm, htu, token));
        }
    }
}

fn alg_of(name: &str) -> Algorithm {
    if name.ends_with("es256") {
        Algorithm::Es256
    } else {
        Algorithm::EdDsa
    }
}

// ---------------------------------------------------------------------------
// portcullis

/// A `client_credentials` request of the confidential client with a proof.
fn token_with_proof(p: &Portcullis, proof: &str) -> portcullis::http::Response {
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .header("Authorization", p.basic.as_bytes())
        .header("DPoP", proof.as_bytes())
        .body(CC_BODY);
    run_now(&p.rt, p.server.token(black_box(&req)))
}

/// The token endpoint, client_credentials, with a fresh proof per request.
struct TokenDpop {
    p: Portcullis,
    prover: Prover,
    proofs: Packed,
}

impl TokenDpop {
    fn new(alg: Algorithm) -> Self {
        let p = Portcullis::new();
        let prover = Prover::new(alg);
        // The proof is accepted and binds the token.
        let resp = token_with_proof(&p, &prover.proof("POST", TOKEN_URL, None));
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        assert_eq!(json_str(resp.body(), "token_type"), "DPoP");
        Self {
            p,
            prover,
            proofs: Packed::default(),
        }
    }
}

impl Op for TokenDpop {
    fn prepare(&mut self, n: u64) {
        self.prover
            .proofs(&mut self.proofs, n, "POST", TOKEN_URL, None);
    }

    fn run(&mut self) {
        let resp = token_with_proof(&self.p, self.proofs.next_once());
        debug_assert_eq!(resp.status(), 200);
        black_box(resp);
    }
}

/// Bearer validation at the resource `GET /api/invoices`
/// (`authenticate_bearer`): a bearer token, or a DPoP-bound one sent as
/// `Authorization: DPoP` with a fresh proof per request. Either server
/// holds that one token.
struct Resource {
    p: Portcullis,
    /// `Some` for the DPoP-bound token.
    prover: Option<Prover>,
    token: String,
    authorization: String,
    proofs: Packed,
    required: ScopeSet,
}

impl Resource {
    fn new(alg: Option<Algorithm>) -> Self {
        let p = Portcullis::new();
        let prover = alg.map(Prover::new);
        let (token, authorization) = match &prover {
            None => {
                let token = p.issue_token();
                let authorization = format!("Bearer {token}");
                (token, authorization)
            }
            Some(prover) => {
                let resp = token_with_proof(&p, &prover.proof("POST", TOKEN_URL, None));
                assert_eq!(json_str(resp.body(), "token_type"), "DPoP");
                let token = json_str(resp.body(), "access_token").to_owned();
                let authorization = format!("DPoP {token}");
                (token, authorization)
            }
        };
        let mut op = Self {
            p,
            prover,
            token,
            authorization,
            proofs: Packed::default(),
            required: ScopeSet::parse(SCOPE).unwrap(),
        };
        op.prepare(1);
        assert!(op.validate(), "the resource refuses the token");
        op
    }

    fn validate(&mut self) -> bool {
        let mut req = Request::new(Method::Get)
            .with_target("GET", RESOURCE_PATH)
            .header("Authorization", self.authorization.as_bytes());
        if self.prover.is_some() {
            req = req.header("DPoP", self.proofs.next_once().as_bytes());
        }
        let ok = run_now(
            &self.p.rt,
            self.p
                .server
                .authenticate_bearer(black_box(&req), black_box(&self.required)),
        );
        ok.is_ok()
    }
}

impl Op for Resource {
    fn prepare(&mut self, n: u64) {
        if let Some(prover) = &self.prover {
            prover.proofs(&mut self.proofs, n, "GET", RESOURCE_URL, Some(&self.token));
        }
    }

    fn run(&mut self) {
        let ok = self.validate();
        debug_assert!(ok);
        black_box(ok);
    }
}

// ---------------------------------------------------------------------------
// The yardsticks: the signature alone, and the floor.

/// ring's `verify` of one proof's signature, the public key and the
/// signature already decoded.
struct VerifyOnly {
    prover: Prover,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

impl VerifyOnly {
    fn new(alg: Algorithm) -> Self {
        let prover = Prover::new(alg);
        let proof = prover.proof("GET", RESOURCE_URL, Some("a-token"));
        let (input, signature) = proof.rsplit_once('.').unwrap();
        Self {
            signing_input: input.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
            prover,
        }
    }
}

impl Op for VerifyOnly {
    fn run(&mut self) {
        let key = sig::UnparsedPublicKey::new(self.prover.verification_alg(), &self.prover.public);
        assert!(
            key.verify(black_box(&self.signing_input), black_box(&self.signature))
                .is_ok()
        );
    }
}

#[derive(Deserialize)]
struct FloorJwk<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
    #[serde(default)]
    y: Option<&'a str>,
}

#[derive(Deserialize)]
struct FloorHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    #[serde(borrow)]
    jwk: FloorJwk<'a>,
}

#[derive(Deserialize)]
struct FloorClaims<'a> {
    jti: &'a str,
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    #[serde(default)]
    ath: Option<&'a str>,
}

/// One-time ids by (thumbprint, `jti`), with their expiry.
type FloorReplays = Mutex<HashMap<([u8; 43], Box<str>), u64>>;

/// The proof check written plainly with the same crates: split,
/// base64url-decode and parse the header, check `typ` and `alg`, decode the
/// key, its RFC 7638 thumbprint (canonical JSON, SHA-256, base64url),
/// decode and verify the signature, decode and parse the claims, check
/// `htm`, `htu` (bytewise: no RFC 3986 normalisation), `iat` against one
/// clock read, `ath` against the SHA-256 of the presented token at the
/// resource, and record the `jti` once.
struct FloorProof {
    prover: Prover,
    proofs: Packed,
    check: FloorCheck,
}

/// What the floor checks a proof against, and its replay map.
struct FloorCheck {
    htm: &'static str,
    htu: &'static str,
    /// The access token presented with the proof, at the resource.
    token: Option<String>,
    replays: FloorReplays,
}

impl FloorProof {
    fn new(alg: Algorithm, resource: bool) -> Self {
        let (htm, htu) = if resource {
            ("GET", RESOURCE_URL)
        } else {
            ("POST", TOKEN_URL)
        };
        Self {
            prover: Prover::new(alg),
            proofs: Packed::default(),
            check: FloorCheck {
                htm,
                htu,
                token: resource.then(|| random_token(&os_rng())),
                replays: Mutex::default(),
            },
        }
    }
}

impl FloorCheck {
    fn check(&self, proof: &str) -> bool {
        let mut parts = proof.split('.');
        let (h, c, s) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let mut hb = [0u8; 512];
        let hn = URL_SAFE_NO_PAD.decode_slice(h, &mut hb).unwrap();
        let header: FloorHeader = serde_json::from_slice(&hb[..hn]).unwrap();
        assert_eq!(header.typ, "dpop+jwt");
        let (alg, canonical): (&dyn sig::VerificationAlgorithm, String);
        let mut key = [0u8; 65];
        let key_len;
        match header.alg {
            "ES256" => {
                let y = header.jwk.y.unwrap();
                assert!(header.jwk.kty == "EC" && header.jwk.crv == "P-256");
                key[0] = 4;
                URL_SAFE_NO_PAD
                    .decode_slice(header.jwk.x, &mut key[1..33])
                    .unwrap();
                URL_SAFE_NO_PAD.decode_slice(y, &mut key[33..65]).unwrap();
                key_len = 65;
                alg = &sig::ECDSA_P256_SHA256_FIXED;
                canonical = format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{y}"}}"#,
                    header.jwk.x
                );
            }
            "EdDSA" => {
                assert!(header.jwk.kty == "OKP" && header.jwk.crv == "Ed25519");
                key_len = URL_SAFE_NO_PAD
                    .decode_slice(header.jwk.x, &mut key[..32])
                    .unwrap();
                alg = &sig::ED25519;
                canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, header.jwk.x);
            }
            other => panic!("alg {other}"),
        }
        let mut jkt = [0u8; 43];
        URL_SAFE_NO_PAD
            .encode_slice(digest(&SHA256, canonical.as_bytes()), &mut jkt)
            .unwrap();
        let mut sb = [0u8; 96];
        let sn = URL_SAFE_NO_PAD.decode_slice(s, &mut sb).unwrap();
        let input = &proof.as_bytes()[..h.len() + 1 + c.len()];
        if sig::UnparsedPublicKey::new(alg, &key[..key_len])
            .verify(input, &sb[..sn])
            .is_err()
        {
            return false;
        }
        let mut cb = [0u8; 512];
        let cn = URL_SAFE_NO_PAD.decode_slice(c, &mut cb).unwrap();
        let claims: FloorClaims = serde_json::from_slice(&cb[..cn]).unwrap();
        let now = now_secs();
        if claims.htm != self.htm
            || claims.htu != self.htu
            || claims.iat + WINDOW < now
            || claims.iat > now + WINDOW
            || claims.jti.is_empty()
        {
            return false;
        }
        if let Some(token) = &self.token {
            let mut ath = [0u8; 43];
            URL_SAFE_NO_PAD
                .encode_slice(digest(&SHA256, token.as_bytes()), &mut ath)
                .unwrap();
            if claims.ath.map(str::as_bytes) != Some(&ath[..]) {
                return false;
            }
        }
        self.replays
            .lock()
            .unwrap()
            .insert((jkt, claims.jti.into()), claims.iat + WINDOW + 1)
            .is_none()
    }
}

impl Op for FloorProof {
    fn prepare(&mut self, n: u64) {
        let c = &self.check;
        self.prover
            .proofs(&mut self.proofs, n, c.htm, c.htu, c.token.as_deref());
    }

    fn run(&mut self) {
        let proof = self.proofs.next_once();
        let ok = self.check.check(black_box(proof));
        debug_assert!(ok);
        black_box(ok);
    }
}

// ---------------------------------------------------------------------------
// oauth-as 1.0: `dpop::verify_proof` (pure: the caller claims the `jti`).

/// oauth-as's proof verification of the token endpoint's proofs, with its
/// built-in verifiers (ES256 with p256, EdDSA with ed25519-dalek).
struct OauthAsProof {
    prover: Prover,
    proofs: Packed,
    verifiers: oauth_as::JwsVerifiers,
}

impl OauthAsProof {
    fn new(alg: Algorithm) -> Self {
        let mut verifiers = oauth_as::JwsVerifiers::new();
        verifiers.install(Arc::new(oauth_as::P256Verifier));
        verifiers.install(Arc::new(oauth_as::Ed25519Verifier));
        let mut op = Self {
            prover: Prover::new(alg),
            proofs: Packed::default(),
            verifiers,
        };
        op.prepare(1);
        let verified = op.verify().unwrap();
        assert_eq!(verified.jkt, op.prover.jkt, "oauth-as: another thumbprint");
        op
    }

    fn verify(&mut self) -> Result<oauth_as::VerifiedProof, oauth_as::DpopFailure> {
        oauth_as::dpop::verify_proof(
            &self.verifiers,
            black_box(self.proofs.next_once()),
            "POST",
            TOKEN_URL,
            std::time::SystemTime::now(),
        )
    }
}

impl Op for OauthAsProof {
    fn prepare(&mut self, n: u64) {
        self.prover
            .proofs(&mut self.proofs, n, "POST", TOKEN_URL, None);
    }

    fn run(&mut self) {
        let verified = self.verify();
        debug_assert!(verified.is_ok());
        black_box(verified.is_ok());
    }
}

// ---------------------------------------------------------------------------
// The replay cache: one `first_use` of a fresh `jti` per request.

/// `ReplayCache::first_use` of a fresh `jti` in one key's
/// `ReplayScope::DpopProof`, as `dpop::verify` calls it once per proof.
struct Replay {
    rt: tokio::runtime::Runtime,
    /// The SQL stores (sqlx) need the runtime's context even on their
    /// first poll, as inside a handler's task; the memory stores do not.
    sql: bool,
    store: Arc<dyn ReplayCache>,
    scope: ReplayScope,
    jtis: Packed,
    expires_at: UnixTime,
}

impl Replay {
    fn new(rt: tokio::runtime::Runtime, sql: bool, store: Arc<dyn ReplayCache>) -> Self {
        let jkt = Prover::new(Algorithm::EdDsa).jkt;
        let mut op = Self {
            rt,
            sql,
            store,
            scope: ReplayScope::DpopProof(JwkThumbprint::parse(&jkt).unwrap()),
            jtis: Packed::default(),
            expires_at: UnixTime::from_secs(0),
        };
        // Used once, refused the second time.
        op.prepare(1);
        let jti = op.jtis.get(0).to_owned();
        let _context = op.sql.then(|| op.rt.enter());
        for expected in [true, false] {
            let fresh =
                run_now(&op.rt, op.store.first_use(&op.scope, &jti, op.expires_at)).unwrap();
            assert_eq!(fresh, expected);
        }
        op
    }
}

impl Op for Replay {
    fn prepare(&mut self, n: u64) {
        let rng = os_rng();
        self.jtis.clear();
        for _ in 0..n {
            self.jtis.push(&random_token(&rng));
        }
        self.expires_at = UnixTime::from_secs(now_secs() + WINDOW + 1);
    }

    fn run(&mut self) {
        let jti = self.jtis.next_once();
        let _context = self.sql.then(|| self.rt.enter());
        let fresh = run_now(
            &self.rt,
            self.store
                .first_use(black_box(&self.scope), black_box(jti), self.expires_at),
        );
        debug_assert!(matches!(fresh, Ok(true)));
        black_box(fresh.is_ok());
    }
}

/// The replay floor: the (thumbprint, `jti`) into a std `HashMap` behind a
/// `Mutex`, refused if present.
struct FloorReplay {
    jkt: [u8; 43],
    jtis: Packed,
    replays: FloorReplays,
}

impl Op for FloorReplay {
    fn prepare(&mut self, n: u64) {
        let rng = os_rng();
        self.jtis.clear();
        for _ in 0..n {
            self.jtis.push(&random_token(&rng));
        }
    }

    fn run(&mut self) {
        let jti = self.jtis.next_once();
        let fresh = self
            .replays
            .lock()
            .unwrap()
            .insert((self.jkt, black_box(jti).into()), now_secs() + WINDOW + 1)
            .is_none();
        debug_assert!(fresh);
        black_box(fresh);
    }
}

#[cfg(feature = "sqlite")]
fn sqlite_store(rt: &tokio::runtime::Runtime) -> Arc<dyn ReplayCache> {
    // A file (as deployed: WAL, sqlx's default `synchronous = FULL`) under
    // cargo's scratch directory, fresh for each run.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("dpop-bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let store = rt.block_on(async {
        let store =
            portcullis::stores::SqliteStore::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        store
    });
    Arc::new(store)
}

#[cfg(feature = "postgres")]
fn postgres_store(rt: &tokio::runtime::Runtime, url: &str) -> Arc<dyn ReplayCache> {
    let store = rt.block_on(async {
        let store = portcullis::stores::PostgresStore::connect(url)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    Arc::new(store)
}

// ---------------------------------------------------------------------------
// The catalogue

const FUNCTIONS: &[&str] = &[
    "token_bearer",
    "token_dpop_es256",
    "token_dpop_eddsa",
    "resource_bearer",
    "resource_dpop_es256",
    "resource_dpop_eddsa",
    "verify_es256",
    "verify_eddsa",
    "floor_proof_token_es256",
    "floor_proof_token_eddsa",
    "floor_proof_resource_es256",
    "floor_proof_resource_eddsa",
    "oauth_as_proof_es256",
    "oauth_as_proof_eddsa",
    "replay_floor",
    "replay_memory",
    "replay_sharded",
    "replay_sqlite",
    "replay_postgres",
];

/// Why a function cannot run here (a store not compiled in or not
/// reachable), or `None`.
struct Availability {
    sqlite: Option<String>,
    postgres: Result<String, String>,
}

impl Availability {
    fn probe(listing: bool) -> Self {
        let sqlite = if cfg!(feature = "sqlite") {
            None
        } else {
            Some("the `sqlite` feature is off (cargo bench --features sqlite,postgres)".to_owned())
        };
        #[cfg(feature = "postgres")]
        let postgres = if listing {
            Ok(String::new())
        } else {
            postgres::url().ok_or_else(|| "no PostgreSQL here (see the note above)".to_owned())
        };
        #[cfg(not(feature = "postgres"))]
        let postgres = {
            let _ = listing;
            Err("the `postgres` feature is off (cargo bench --features sqlite,postgres)".to_owned())
        };
        Self { sqlite, postgres }
    }

    fn skipped(&self, name: &str) -> Option<&str> {
        match name {
            "replay_sqlite" => self.sqlite.as_deref(),
            "replay_postgres" => self.postgres.as_ref().err().map(String::as_str),
            _ => None,
        }
    }
}

fn build(name: &str, available: &Availability) -> Box<dyn Op> {
    let _ = available;
    match name {
        "token_bearer" => Box::new(common::PcIssue(Portcullis::new())),
        "token_dpop_es256" | "token_dpop_eddsa" => Box::new(TokenDpop::new(alg_of(name))),
        "resource_bearer" => Box::new(Resource::new(None)),
        "resource_dpop_es256" | "resource_dpop_eddsa" => {
            Box::new(Resource::new(Some(alg_of(name))))
        }
        "verify_es256" | "verify_eddsa" => Box::new(VerifyOnly::new(alg_of(name))),
        "floor_proof_token_es256" | "floor_proof_token_eddsa" => {
            Box::new(FloorProof::new(alg_of(name), false))
        }
        "floor_proof_resource_es256" | "floor_proof_resource_eddsa" => {
            Box::new(FloorProof::new(alg_of(name), true))
        }
        "oauth_as_proof_es256" | "oauth_as_proof_eddsa" => {
            Box::new(OauthAsProof::new(alg_of(name)))
        }
        "replay_floor" => {
            let mut jkt = [0u8; 43];
            jkt.copy_from_slice(Prover::new(Algorithm::EdDsa).jkt.as_bytes());
            Box::new(FloorReplay {
                jkt,
                jtis: Packed::default(),
                replays: Mutex::default(),
            })
        }
        "replay_memory" => Box::new(Replay::new(
            common::runtime(),
            false,
            Arc::new(MemoryStore::new()),
        )),
        "replay_sharded" => Box::new(Replay::new(
            common::runtime(),
            false,
            Arc::new(ShardedMemoryStore::new()),
        )),
        #[cfg(feature = "sqlite")]
        "replay_sqlite" => {
            let rt = common::runtime();
            let store = sqlite_store(&rt);
            Box::new(Replay::new(rt, true, store))
        }
        #[cfg(feature = "postgres")]
        "replay_postgres" => {
            let rt = common::runtime();
            let store = postgres_store(&rt, available.postgres.as_ref().unwrap());
            Box::new(Replay::new(rt, true, store))
        }
        other => panic!("unknown or unavailable function {other}; one of {FUNCTIONS:?}"),
    }
}

fn bench(c: &mut Criterion, available: &Availability) {
    let mut g = c.benchmark_group(GROUP);
    for &name in FUNCTIONS {
        if let Some(why) = available.skipped(name) {
            println!("{GROUP}/{name}: skipped: {why}");
            continue;
        }
        // Built on first use, so a filtered run builds only what it measures.
        let mut op: Option<Box<dyn Op>> = None;
        g.bench_function(name, |b| {
            let op = op.get_or_insert_with(|| build(name, available));
            b.iter_custom(|iters| {
                op.prepare(iters);
                let start = Instant::now();
                for _ in 0..iters {
                    op.run();
                }
                start.elapsed()
            });
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Summary: medians from criterion's estimates.json, and the ratios.

fn difference(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn summary(since: std::time::SystemTime, available: &Availability) -> String {
    let dir = criterion_home().join(GROUP);
    let m = |f: &str| median_ns(&dir, f, since);
    let mut out = String::new();
    out.push_str(
        "| where | alg | request with proof ns | same request, bearer ns | DPoP's part ns \
         | floor of the proof check ns | oauth-as `verify_proof` ns | signature alone ns \
         | request / signature | DPoP's part / signature | DPoP's part / floor \
         | floor / signature | oauth-as / signature |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (place, with, without, floor) in [
        (
            "token endpoint",
            "token_dpop",
            "token_bearer",
            "floor_proof_token",
        ),
        (
            "resource",
            "resource_dpop",
            "resource_bearer",
            "floor_proof_resource",
        ),
    ] {
        for alg in ["es256", "eddsa"] {
            let path = m(&format!("{with}_{alg}"));
            let bare = m(without);
            let part = difference(path, bare);
            let floor = m(&format!("{floor}_{alg}"));
            let signature = m(&format!("verify_{alg}"));
            let oauth_as = if place == "token endpoint" {
                m(&format!("oauth_as_proof_{alg}"))
            } else {
                None
            };
            out.push_str(&format!(
                "| {place} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                if alg == "es256" { "ES256" } else { "EdDSA" },
                fmt_ns(path),
                fmt_ns(bare),
                fmt_ns(part),
                fmt_ns(floor),
                if place == "token endpoint" {
                    fmt_ns(oauth_as)
                } else {
                    "n/a".to_owned()
                },
                fmt_ns(signature),
                fmt_ratio(ratio(path, signature)),
                fmt_ratio(ratio(part, signature)),
                fmt_ratio(ratio(part, floor)),
                fmt_ratio(ratio(floor, signature)),
                if place == "token endpoint" {
                    fmt_ratio(ratio(oauth_as, signature))
                } else {
                    "n/a".to_owned()
                },
            ));
        }
    }
    out.push_str(
        "\n| replay cache (`first_use`, fresh `jti`) | ns per request | / floor \
         | share of a DPoP token request (ES256) |\n|---|---:|---:|---:|\n",
    );
    let floor = m("replay_floor");
    let request = m("token_dpop_es256");
    for (label, name) in [
        ("floor: std `HashMap` behind a `Mutex`", "replay_floor"),
        ("`MemoryStore`", "replay_memory"),
        ("`ShardedMemoryStore`", "replay_sharded"),
        ("`SqliteStore` (file, WAL)", "replay_sqlite"),
        ("`PostgresStore`", "replay_postgres"),
    ] {
        let v = m(name);
        let cell = match available.skipped(name) {
            Some(why) => format!("skipped: {why}"),
            None => fmt_ns(v),
        };
        out.push_str(&format!(
            "| {label} | {cell} | {} | {} |\n",
            fmt_ratio(ratio(v, floor)),
            ratio(v, request).map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0)),
        ));
    }
    out
}

fn main() {
    // Only a real `cargo bench` run writes estimates; `--test`, `--list` and
    // `--profile-time` runs get no summary.
    let args: Vec<String> = std::env::args().collect();
    let listing = args.iter().any(|a| a == "--list");
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || listing || a.starts_with("--profile-time"));
    // Estimates older than this were not written by this run.
    let since = std::time::SystemTime::now();
    let available = Availability::probe(listing);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    bench(&mut c, &available);
    c.final_summary();
    if measuring {
        let out = summary(since, &available);
        println!("\n{GROUP} summary (medians, this run):\n\n{out}");
        let file = criterion_home().join(GROUP).join("summary.md");
        match std::fs::write(&file, &out) {
            Ok(()) => println!("written to {}", file.display()),
            Err(e) => println!("could not write {}: {e}", file.display()),
        }
    }
}
