//! Several instances, one truth (issue 20 part 3): two or three demo server
//! processes (`examples/server.rs`) on ONE PostgreSQL database, started with
//! one seed and one issuer (the first instance's address, as a load
//! balancer's would be), driven over HTTP by this test, each request sent
//! to the instance the test picks. Every test but the database restart's
//! (g) runs again on one MariaDB database (`…_on_mysql`, feature `mysql`):
//!
//! - a code redeemed through three instances at once is redeemed once, and
//!   the redemptions that lost revoke what the winner got (AC-04, AC-02);
//! - a refresh token rotated through three instances at once is rotated at
//!   most once; a replay through another instance revokes the grant on
//!   every instance (RT-04, RT-02, RB-05);
//! - failures spread over the instances lock the guesser out at the limit,
//!   not three times it, and a client assertion or DPoP proof used on one
//!   instance is a replay on another (RB-04, CA-08, DP-01): the demo keeps
//!   its throttle (`StoreThrottle`) and the replay cache in the database;
//! - a client disabled or a consent revoked through the operator CLI takes
//!   effect on every instance at once (AZ-08, RB-05);
//! - a key rotated through the CLI is published in every instance's JWKS
//!   and signs on every instance (JW-01);
//! - an instance killed with SIGKILL during a load run loses no token it
//!   answered, and the survivors keep serving;
//! - a database restart during a load run gives 5xx (never a wrong answer,
//!   never a crash) while it is down, and full service after, without
//!   restarting the instances (on a cluster of the test's own);
//! - every instance gives a user the same pairwise subject (OI-04): the
//!   demo derives its pairwise salt from the seed file.
//!
//! Each test seeds clients with fresh ids, so the tests share the test
//! process's database (`tests/common/postgres.rs`); without PostgreSQL they
//! are ignored (`portcullis_no_postgres`) or skipped loudly, and fail under
//! `PORTCULLIS_REQUIRE_POSTGRES=1`, as the other PostgreSQL tests.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oauth2::PkceCodeChallenge;
use portcullis::RandomSource as _;
use serde_json::{Value, json};

use crate::dpop::DpopKey;
use crate::harness::{
    ALICE_PASSWORD, CALLBACK, Framework, SVC_SECRET, Server, Session, WEB_SECRET,
};
use crate::seed_v2::{JWT_BEARER, PKJWT_KEY, now};

/// Fresh client ids for one deployment.
struct Ids {
    web: String,
    svc: String,
    jwt: String,
    pk: String,
    rp: String,
}

impl Ids {
    fn fresh() -> Self {
        let mut b = [0u8; 8];
        portcullis::SystemRandom::new().fill(&mut b).unwrap();
        let s = format!("{:016x}", u64::from_le_bytes(b));
        Self {
            web: format!("web-{s}"),
            svc: format!("svc-{s}"),
            jwt: format!("jwt-{s}"),
            pk: format!("pk-{s}"),
            rp: format!("rp-{s}"),
        }
    }
}

/// One seed for every instance: the issuer is the first instance's base.
fn seed(issuer: &str, ids: &Ids) -> Value {
    json!({
        "issuer": issuer,
        "clients": [
            {"client_id": ids.web, "client_secret": WEB_SECRET, "client_name": "Web",
             "redirect_uris": [CALLBACK], "grant_types": ["authorization_code", "refresh_token"],
             "response_types": ["code"], "scope": "read write",
             "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": ids.svc, "client_secret": SVC_SECRET, "redirect_uris": [],
             "grant_types": ["client_credentials"], "response_types": [], "scope": "read",
             "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": ids.jwt, "client_secret": SVC_SECRET, "redirect_uris": [],
             "grant_types": ["client_credentials"], "scope": "read",
             "access_token_format": "jwt", "token_endpoint_auth_method": "client_secret_basic"},
            // The key of `tests/fixtures/seed_v2.json`'s pkjwt-client.
            {"client_id": ids.pk, "redirect_uris": [], "grant_types": ["client_credentials"],
             "response_types": [], "scope": "read", "token_endpoint_auth_method": "private_key_jwt",
             "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "kid": "pkjwt-key-1",
                                "x": "nuoIw7A5S0vP2OoDSk_OvajZFh23hEAkW9VODxP4MZ4",
                                "y": "YSQP7HWB1cKxABdFV2_P_FutEO0w2iTCS5hCkHc6p6Q",
                                "alg": "ES256", "use": "sig"}]}},
            {"client_id": ids.rp, "client_secret": WEB_SECRET, "client_name": "Pairwise RP",
             "redirect_uris": [CALLBACK], "grant_types": ["authorization_code"],
             "response_types": ["code"], "scope": "openid",
             "token_endpoint_auth_method": "client_secret_basic", "subject_type": "pairwise"}
        ],
        "users": [{"username": "alice", "password": ALICE_PASSWORD}]
    })
}

/// Instances of one deployment on one database.
struct Deployment {
    issuer: String,
    ids: Ids,
    instances: Vec<Server>,
}

impl Deployment {
    /// Starts `n` instances on the database at `url`, one after the other
    /// (each migrates and stores the seed's clients, as a rolling start
    /// would), with these further arguments.
    async fn start(url: &str, n: usize, args: &[&str]) -> Self {
        let ids = Ids::fresh();
        // Reserve every port at once, so no two are the same.
        let listeners: Vec<_> = (0..n)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(listeners);
        let issuer = format!("http://127.0.0.1:{}", ports[0]);
        let seed = seed(&issuer, &ids);
        let mut all = vec!["--database", url];
        all.extend_from_slice(args);
        let mut instances = Vec::new();
        for port in ports {
            instances.push(Server::start_instance(Framework::Axum, port, &seed, &all).await);
        }
        let d = Self {
            issuer,
            ids,
            instances,
        };
        // The test's address proves `web`'s secret once: from then on it
        // is a source known for the client, whose requests in flight are
        // not guesses (RB-04), so the concurrent requests below are served.
        assert!(!active(&d.base(0), (&d.ids.web, WEB_SECRET), "no-such-token").await);
        d
    }

    fn base(&self, i: usize) -> String {
        self.instances[i % self.instances.len()].base.clone()
    }

    /// The browser part of the code flow, through the first instance (whose
    /// base is the issuer): a code for `web` and its PKCE verifier.
    async fn code(&self, session: &Session) -> (String, String) {
        self.code_for(session, &self.ids.web, "read").await
    }

    /// [`Deployment::code`] for `client` and `scope`.
    async fn code_for(&self, session: &Session, client: &str, scope: &str) -> (String, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let url = format!(
            "{}/authorize?response_type=code&client_id={client}&redirect_uri={}&scope={scope}\
             &state=st&code_challenge={}&code_challenge_method=S256",
            self.issuer,
            enc(CALLBACK),
            challenge.as_str()
        );
        let page = session.get(&url).await;
        let callback = if page.status == 200 && page.body.contains("name=\"password\"") {
            let page = session.login_on(&page).await;
            if page.status == 302 {
                url::Url::parse(&page.location.unwrap()).unwrap()
            } else {
                session.decide(&page, "allow").await
            }
        } else if page.status == 302 {
            url::Url::parse(&page.location.unwrap()).unwrap()
        } else {
            session.decide(&page, "allow").await
        };
        let code = callback
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {callback}"));
        (code, verifier.secret().clone())
    }

    /// Stops every instance with SIGTERM; panics if one logged a panic.
    fn stop(self) {
        for server in self.instances {
            let (_, log) = server.terminate();
            assert!(!log.contains("panicked"), "{log}");
        }
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An HTTP client whose connections come from `local` (127.0.0.0/8).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs `form` to `base` + `path`, with Basic credentials and a DPoP proof
/// when given: the status and the body (JSON, or the text as a string).
async fn post(
    http: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
    dpop: Option<&str>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = http.post(url).form(form);
    if let Some((id, secret)) = auth {
        req = req.header("authorization", basic(id, secret));
    }
    if let Some(proof) = dpop {
        req = req.header("DPoP", proof);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn token(base: &str, auth: (&str, &str), form: &[(&str, &str)]) -> (u16, Value) {
    post(&http(), &format!("{base}/token"), Some(auth), form, None)
        .await
        .unwrap()
}

/// Whether `token` introspects active at `base` (asked by `auth`).
async fn active(base: &str, auth: (&str, &str), token: &str) -> bool {
    let (status, body) = post(
        &http(),
        &format!("{base}/introspect"),
        Some(auth),
        &[("token", token)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "introspection at {base}: {body}");
    body["active"] == json!(true)
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

/// A test on PostgreSQL, and its twin on MariaDB (feature `mysql`), both
/// running `$body` with the database's URL; each ignored like the other
/// tests of its database where that database is missing.
macro_rules! on_every_database {
    ($postgres:ident, $mysql:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[cfg_attr(
            portcullis_no_postgres,
            ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
        )]
        async fn $postgres() {
            if let Some(url) = crate::postgres::url() {
                $body(&url).await;
            }
        }

        #[cfg(feature = "mysql")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[cfg_attr(
            portcullis_no_mysql,
            ignore = "no MySQL here: install MariaDB's server or set PORTCULLIS_TEST_MYSQL_URL"
        )]
        async fn $mysql() {
            if let Some(url) = crate::mysql::url() {
                $body(&url).await;
            }
        }
    };
}

on_every_database!(
    a_code_redeemed_through_three_instances_at_once_is_redeemed_once,
    a_code_redeemed_through_three_instances_at_once_is_redeemed_once_on_mysql,
    a_code_redeemed_through_three_instances_at_once_is_redeemed_once_on
);

async fn a_code_redeemed_through_three_instances_at_once_is_redeemed_once_on(url: &str) {
    // covers: AC-04, AC-02
    let url = url.to_owned();
    let d = Deployment::start(&url, 3, &[]).await;
    let web = (d.ids.web.as_str(), WEB_SECRET);
    let session = Session::new(&d.instances[0]);
    for round in 0..2 {
        let (code, verifier) = d.code(&session).await;
        // Six redemptions, two through each instance, released together.
        let barrier = Arc::new(tokio::sync::Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let (base, code, verifier, id) =
                    (d.base(i), code.clone(), verifier.clone(), d.ids.web.clone());
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let form = [
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", CALLBACK),
                        ("code_verifier", verifier.as_str()),
                    ];
                    barrier.wait().await;
                    token(&base, (&id, WEB_SECRET), &form).await
                })
            })
            .collect();
        let mut won = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                200 => won.push(body["access_token"].as_str().unwrap().to_owned()),
                400 => assert_eq!(error_of(&body), "invalid_grant", "round {round}: {body}"),
                _ => panic!("round {round}: {status} {body}"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: exactly one redemption wins");
        // The others were replays of a used code: what the winner got is
        // revoked, as every instance says (AC-02, RB-05).
        for i in 0..3 {
            assert!(
                !active(&d.base(i), web, &won[0]).await,
                "round {round}: the winner's token is still active at instance {i}"
            );
        }
    }
    d.stop();
}

on_every_database!(
    b_a_refresh_token_is_rotated_once_and_a_replay_elsewhere_revokes_everywhere,
    b_a_refresh_token_is_rotated_once_and_a_replay_elsewhere_revokes_everywhere_on_mysql,
    b_a_refresh_token_is_rotated_once_and_a_replay_elsewhere_revokes_everywhere_on
);

async fn b_a_refresh_token_is_rotated_once_and_a_replay_elsewhere_revokes_everywhere_on(url: &str) {
    // covers: RT-04, RT-02, RB-05
    let url = url.to_owned();
    let d = Deployment::start(&url, 3, &[]).await;
    let web = (d.ids.web.as_str(), WEB_SECRET);
    let session = Session::new(&d.instances[0]);
    let redeem = |base: String, code: String, verifier: String| {
        let id = d.ids.web.clone();
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier.as_str()),
            ];
            let (status, body) = token(&base, (&id, WEB_SECRET), &form).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let refresh = |base: String, rt: String| {
        let id = d.ids.web.clone();
        async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            token(&base, (&id, WEB_SECRET), &form).await
        }
    };

    // A rotation through one instance, then a replay of the old token
    // through another: the grant is revoked on every instance.
    let (code, verifier) = d.code(&session).await;
    let first = redeem(d.base(0), code, verifier).await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh(d.base(0), r0.clone()).await;
    assert_eq!(status, 200, "{rotated}");
    let (a1, r1) = (
        rotated["access_token"].as_str().unwrap().to_owned(),
        rotated["refresh_token"].as_str().unwrap().to_owned(),
    );
    for i in 0..3 {
        assert!(active(&d.base(i), web, &a1).await, "instance {i}");
    }
    let (status, body) = refresh(d.base(1), r0).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"), "{body}");
    for i in 0..3 {
        assert!(
            !active(&d.base(i), web, &a1).await,
            "the replay through instance 1 must revoke the grant at instance {i}"
        );
    }
    let (status, body) = refresh(d.base(2), r1).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"), "{body}");

    // Six rotations of one refresh token, two through each instance, at
    // once: at most one succeeds (RT-04), the others are refused.
    for round in 0..2 {
        let (code, verifier) = d.code(&session).await;
        let got = redeem(d.base(round), code, verifier).await;
        let rt = got["refresh_token"].as_str().unwrap().to_owned();
        let barrier = Arc::new(tokio::sync::Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let (call, barrier) = (refresh(d.base(i), rt.clone()), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    call.await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                200 => won += 1,
                400 => assert_eq!(error_of(&body), "invalid_grant", "{body}"),
                _ => panic!("round {round}: {status} {body}"),
            }
        }
        assert!(
            won <= 1,
            "round {round}: {won} rotations of one refresh token"
        );
    }
    d.stop();
}

on_every_database!(
    c_failures_spread_over_instances_lock_the_guesser_out_at_the_limit,
    c_failures_spread_over_instances_lock_the_guesser_out_at_the_limit_on_mysql,
    c_failures_spread_over_instances_lock_the_guesser_out_at_the_limit_on
);

async fn c_failures_spread_over_instances_lock_the_guesser_out_at_the_limit_on(url: &str) {
    // covers: RB-04
    let url = url.to_owned();
    // Three failures per client and address in a minute, on each instance
    // and over all of them together.
    let d = Deployment::start(&url, 3, &["--max-failures", "3"]).await;
    let (attacker, holder) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let cc = [("grant_type", "client_credentials")];
    let svc = d.ids.svc.as_str();
    // One wrong secret through each instance: three in all.
    for i in 0..3 {
        let url = format!("{}/token", d.base(i));
        let (status, body) = post(&attacker, &url, Some((svc, "wrong")), &cc, None)
            .await
            .unwrap();
        assert_eq!((status, error_of(&body)), (401, "invalid_client"), "{body}");
    }
    // Each instance has seen one failure only, and yet every instance
    // refuses the guesser's address now, even with the right secret (one
    // throttle per process would serve it here)...
    for i in 0..3 {
        let url = format!("{}/token", d.base(i));
        let (status, body) = post(&attacker, &url, Some((svc, SVC_SECRET)), &cc, None)
            .await
            .unwrap();
        assert_eq!(
            (status, error_of(&body)),
            (401, "invalid_client"),
            "instance {i} let the guesser past the limit: {body}"
        );
    }
    // ...while the holder, from its own address, is served by all.
    for i in 0..3 {
        let url = format!("{}/token", d.base(i));
        let (status, body) = post(&holder, &url, Some((svc, SVC_SECRET)), &cc, None)
            .await
            .unwrap();
        assert_eq!(status, 200, "instance {i}: {body}");
    }
    d.stop();
}

/// An RFC 7523 client assertion of `client`, signed with the fixture key.
fn assertion(client: &str, audience: &str, jti: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("pkjwt-key-1".into());
    let claims = json!({"iss": client, "sub": client, "aud": audience,
                        "iat": now(), "exp": now() + 60, "jti": jti});
    let key = jsonwebtoken::EncodingKey::from_ec_der(PKJWT_KEY);
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

on_every_database!(
    c_an_assertion_or_dpop_proof_used_on_one_instance_is_a_replay_on_another,
    c_an_assertion_or_dpop_proof_used_on_one_instance_is_a_replay_on_another_on_mysql,
    c_an_assertion_or_dpop_proof_used_on_one_instance_is_a_replay_on_another_on
);

async fn c_an_assertion_or_dpop_proof_used_on_one_instance_is_a_replay_on_another_on(url: &str) {
    // covers: CA-08, DP-01
    let url = url.to_owned();
    let d = Deployment::start(&url, 2, &[]).await;
    let signed = assertion(&d.ids.pk, &d.issuer, &format!("jti-{}", Ids::fresh().web));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", signed.as_str()),
    ];
    let at = |i: usize| format!("{}/token", d.base(i));
    let (status, body) = post(&http(), &at(0), None, &form, None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&http(), &at(1), None, &form, None).await.unwrap();
    assert_eq!(
        (status, error_of(&body)),
        (401, "invalid_client"),
        "an assertion used on instance 0 must be a replay on instance 1: {body}"
    );

    // A DPoP proof is for the issuer's token endpoint, wherever it lands.
    let key = DpopKey::es256();
    let proof = key.proof("POST", &format!("{}/token", d.issuer), None);
    let svc = (d.ids.svc.as_str(), SVC_SECRET);
    let cc = [("grant_type", "client_credentials")];
    let (status, body) = post(&http(), &at(1), Some(svc), &cc, Some(&proof))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], json!("DPoP"), "{body}");
    let (status, body) = post(&http(), &at(0), Some(svc), &cc, Some(&proof))
        .await
        .unwrap();
    assert_eq!(
        (status, error_of(&body)),
        (400, "invalid_dpop_proof"),
        "a proof used on instance 1 must be a replay on instance 0: {body}"
    );
    // A fresh proof is served by either.
    let fresh = key.proof("POST", &format!("{}/token", d.issuer), None);
    let (status, body) = post(&http(), &at(0), Some(svc), &cc, Some(&fresh))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    d.stop();
}

/// Runs the operator CLI on the database at `url` with `--format json`;
/// its parsed output.
#[cfg(feature = "cli")]
fn cli(url: &str, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["--format", "json"])
        .args(args)
        .env("PORTCULLIS_DATABASE_URL", url)
        .env_remove("PORTCULLIS_ISSUER")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

#[cfg(feature = "cli")]
on_every_database!(
    d_a_client_disabled_or_a_consent_revoked_through_the_cli_takes_effect_everywhere,
    d_a_client_disabled_or_a_consent_revoked_through_the_cli_takes_effect_everywhere_on_mysql,
    d_a_client_disabled_or_a_consent_revoked_through_the_cli_takes_effect_everywhere_on
);

#[cfg(feature = "cli")]
async fn d_a_client_disabled_or_a_consent_revoked_through_the_cli_takes_effect_everywhere_on(
    url: &str,
) {
    // covers: AZ-08, RB-05
    let url = url.to_owned();
    let d = Deployment::start(&url, 3, &[]).await;
    let svc = (d.ids.svc.as_str(), SVC_SECRET);
    let web = (d.ids.web.as_str(), WEB_SECRET);
    let cc = [("grant_type", "client_credentials")];
    // Every instance serves the client (and has its secret cached).
    for i in 0..3 {
        let (status, body) = token(&d.base(i), svc, &cc).await;
        assert_eq!(status, 200, "{body}");
    }
    cli(&url, &["client", "update", &d.ids.svc, "--disable"]);
    for i in 0..3 {
        let (status, body) = token(&d.base(i), svc, &cc).await;
        assert_eq!(
            (status, error_of(&body)),
            (401, "invalid_client"),
            "instance {i} still serves a client disabled through the CLI: {body}"
        );
    }

    // Alice consents through instance 0; the code is redeemed through 1.
    let session = Session::new(&d.instances[0]);
    let (code, verifier) = d.code(&session).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = token(&d.base(1), web, &form).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    for i in 0..3 {
        assert!(active(&d.base(i), web, &access).await, "instance {i}");
    }
    let revoked = cli(
        &url,
        &[
            "consent", "revoke", "--user", "alice", "--client", &d.ids.web,
        ],
    );
    assert_eq!(revoked["consent_revoked"], json!(true), "{revoked}");
    // Her tokens are gone on every instance, and the next authorization
    // asks her again (she is still signed in at instance 0).
    for i in 0..3 {
        assert!(
            !active(&d.base(i), web, &access).await,
            "instance {i} still accepts a token of a consent revoked through the CLI"
        );
    }
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let again = session
        .get(&format!(
            "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=read&state=s2\
             &code_challenge={}&code_challenge_method=S256",
            d.issuer,
            d.ids.web,
            enc(CALLBACK),
            challenge.as_str()
        ))
        .await;
    assert_eq!(
        again.status, 200,
        "the consent page again: {:?}",
        again.location
    );
    assert!(again.body.contains("Allow"), "{}", again.body);
    d.stop();
}

/// The `kid` and `alg` of a JWT's header.
fn header_of(jwt: &str) -> (String, String) {
    let head = jwt.split('.').next().unwrap();
    let head: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    (
        head["kid"].as_str().unwrap().to_owned(),
        head["alg"].as_str().unwrap().to_owned(),
    )
}

/// The `kid`s of the JWKS an instance publishes.
async fn published(base: &str) -> Vec<String> {
    let meta: Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    // The issuer's URL; this instance's path.
    let path = url::Url::parse(meta["jwks_uri"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    let jwks: Value = http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(feature = "cli")]
on_every_database!(
    e_a_key_rotated_through_the_cli_is_published_and_used_by_every_instance,
    e_a_key_rotated_through_the_cli_is_published_and_used_by_every_instance_on_mysql,
    e_a_key_rotated_through_the_cli_is_published_and_used_by_every_instance_on
);

async fn e_a_key_rotated_through_the_cli_is_published_and_used_by_every_instance_on(url: &str) {
    // covers: JW-01
    let url = url.to_owned();
    // Keys cached for a second (default 60): how soon an instance sees them.
    let d = Deployment::start(&url, 2, &["--key-cache-ttl", "1"]).await;
    let jwt = (d.ids.jwt.as_str(), SVC_SECRET);
    let cc = [("grant_type", "client_credentials")];
    let signed_at = |i: usize| {
        let base = d.base(i);
        async move {
            let (status, body) = token(&base, jwt, &cc).await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let (_, alg) = header_of(&signed_at(0).await);
    let rotated = cli(
        &url,
        &[
            "keys",
            "rotate",
            "--algorithm",
            &alg,
            "--publish-lead",
            "3",
            "--issuer",
            &d.issuer,
        ],
    );
    let kid = rotated["kid"].as_str().unwrap().to_owned();
    // Published by every instance before it signs...
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0..2 {
        while !published(&d.base(i)).await.contains(&kid) {
            assert!(
                Instant::now() < deadline,
                "instance {i} never published {kid}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // ...then used by every instance, its tokens valid on the others (other
    // tests of this process may rotate too: a newer key is as good).
    for i in 0..2 {
        loop {
            let token = signed_at(i).await;
            let (used, _) = header_of(&token);
            if used == kid {
                assert!(active(&d.base(i + 1), jwt, &token).await, "instance {i}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "instance {i} never signed with {kid}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    d.stop();
}

/// One load request's result: the instance, and the token answered or the
/// status (0: no HTTP answer).
type Answer = (usize, Result<String, (u16, String)>);

/// `n` client_credentials requests for `svc`, `concurrency` at a time, in
/// turn over `bases`; stops early when `stop` is set; counts the requests
/// answered (or failed) in `done`.
async fn load(
    bases: Vec<String>,
    svc: String,
    n: usize,
    concurrency: usize,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
) -> Vec<Answer> {
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for k in 0..n {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let permit = limit.clone().acquire_owned().await.unwrap();
        let i = k % bases.len();
        let (url, http, svc) = (format!("{}/token", bases[i]), http.clone(), svc.clone());
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let cc = [("grant_type", "client_credentials")];
            let r = post(&http, &url, Some((&svc, SVC_SECRET)), &cc, None).await;
            drop(permit);
            done.fetch_add(1, Ordering::Relaxed);
            let answer = match r {
                Ok((200, body)) => match body["access_token"].as_str() {
                    Some(t) => Ok(t.to_owned()),
                    None => Err((200, body.to_string())),
                },
                Ok((status, body)) => Err((status, body.to_string())),
                Err(e) => Err((0, e.to_string())),
            };
            (i, answer)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

on_every_database!(
    f_an_instance_killed_during_load_loses_no_answered_token,
    f_an_instance_killed_during_load_loses_no_answered_token_on_mysql,
    f_an_instance_killed_during_load_loses_no_answered_token_on
);

async fn f_an_instance_killed_during_load_loses_no_answered_token_on(url: &str) {
    // covers: CC-01
    let url = url.to_owned();
    let mut d = Deployment::start(&url, 3, &[]).await;
    let svc = (d.ids.svc.as_str(), SVC_SECRET);
    let cc = [("grant_type", "client_credentials")];
    for i in 0..3 {
        let (status, body) = token(&d.base(i), svc, &cc).await;
        assert_eq!(status, 200, "{body}");
    }
    let bases: Vec<String> = (0..3).map(|i| d.base(i)).collect();
    let done = Arc::new(AtomicUsize::new(0));
    let run = tokio::spawn(load(
        bases,
        d.ids.svc.clone(),
        300,
        12,
        Arc::new(AtomicBool::new(false)),
        done.clone(),
    ));
    // SIGKILL in the middle of the run: a hundred answered, the rest not.
    while done.load(Ordering::Relaxed) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    d.instances[2].kill();
    let answers = run.await.unwrap();
    let mut answered = Vec::new();
    for (i, answer) in &answers {
        match answer {
            Ok(token) => answered.push(token.clone()),
            // The killed instance: no answer, or none after the kill.
            Err((0, _)) if *i == 2 => {}
            Err((status, body)) => panic!("instance {i} answered {status}: {body}"),
        }
    }
    let lost = answers.len() - answered.len();
    assert!(lost > 0, "the kill must land during the run");
    assert!(
        answered.len() >= 200,
        "the survivors served their share: {} answered, {lost} not",
        answered.len()
    );
    // Every token answered, by any instance, the dead one included, is
    // active on the survivors.
    for (n, token) in answered.iter().enumerate() {
        assert!(
            active(&d.base(n % 2), svc, token).await,
            "an answered token was lost"
        );
    }
    // The survivors keep serving.
    for i in 0..2 {
        let (status, body) = token(&d.base(i), svc, &cc).await;
        assert_eq!(status, 200, "{body}");
    }
    d.instances.truncate(2);
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    portcullis_no_postgres,
    ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
)]
async fn g_a_database_restart_gives_5xx_while_down_and_full_service_after() {
    // covers: CC-01
    // A cluster of its own: this test stops and starts it.
    let Some(cluster) = crate::postgres::own_cluster() else {
        return;
    };
    let d = Deployment::start(&cluster.url, 2, &[]).await;
    let svc = (d.ids.svc.as_str(), SVC_SECRET);
    let cc = [("grant_type", "client_credentials")];
    for i in 0..2 {
        let (status, body) = token(&d.base(i), svc, &cc).await;
        assert_eq!(status, 200, "{body}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let bases: Vec<String> = (0..2).map(|i| d.base(i)).collect();
    let run = tokio::spawn(load(
        bases,
        d.ids.svc.clone(),
        100_000,
        4,
        stop.clone(),
        Arc::new(AtomicUsize::new(0)),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    // While it is down: server errors, soon (the demo waits 2 s for a
    // connection), never an answer.
    let probes: Vec<_> = (0..6)
        .map(|k| {
            let base = d.base(k);
            let id = d.ids.svc.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = token(&base, (&id, SVC_SECRET), &cc).await;
                (k, r, t.elapsed())
            })
        })
        .collect();
    let mut down = Vec::new();
    for p in probes {
        down.push(p.await.unwrap());
    }
    cluster.start();
    // Full service again, without restarting the instances.
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..2 {
        loop {
            let (status, body) = token(&d.base(i), svc, &cc).await;
            if status == 200 {
                break;
            }
            assert!(status >= 500, "instance {i}: {status} {body}");
            assert!(Instant::now() < deadline, "instance {i} never recovered");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let answers = run.await.unwrap();
    let mut errors = 0;
    for (k, (status, body), took) in down {
        errors += 1;
        assert!(
            status >= 500,
            "instance {} with the database down: {status} {body} (a wrong answer)",
            k % 2
        );
        assert!(took < Duration::from_secs(10), "answered after {took:?}");
    }
    let mut served = Vec::new();
    for (i, answer) in &answers {
        match answer {
            Ok(token) => served.push((*i, token.clone())),
            Err((status, body)) => {
                errors += 1;
                assert!(
                    *status >= 500,
                    "instance {i} answered {status} around the restart: {body}"
                );
            }
        }
    }
    eprintln!(
        "database restart: {} answered, {errors} server errors",
        served.len()
    );
    assert!(errors > 0, "the restart gave no server error at all");
    assert!(served.len() > 10, "the load was served before and after");
    // A sample of the tokens answered (at most 100): none was lost.
    let step = served.len().div_ceil(100);
    for (i, token) in served.iter().step_by(step) {
        assert!(
            active(&d.base(*i), svc, token).await,
            "a token answered was lost"
        );
    }
    d.stop();
}

on_every_database!(
    h_every_instance_gives_a_user_the_same_pairwise_subject,
    h_every_instance_gives_a_user_the_same_pairwise_subject_on_mysql,
    h_every_instance_gives_a_user_the_same_pairwise_subject_on
);

async fn h_every_instance_gives_a_user_the_same_pairwise_subject_on(url: &str) {
    // covers: OI-04
    let url = url.to_owned();
    let d = Deployment::start(&url, 2, &[]).await;
    let session = Session::new(&d.instances[0]);
    let mut subjects = Vec::new();
    for i in 0..2 {
        let (code, verifier) = d.code_for(&session, &d.ids.rp, "openid").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier.as_str()),
        ];
        let (status, body) = token(&d.base(i), (&d.ids.rp, WEB_SECRET), &form).await;
        assert_eq!(status, 200, "{body}");
        let id_token = body["id_token"].as_str().unwrap();
        let payload = id_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        subjects.push(claims["sub"].as_str().unwrap().to_owned());
    }
    assert_ne!(subjects[0], "alice", "pairwise, not the public subject");
    assert_eq!(
        subjects[0], subjects[1],
        "the ID Tokens of instances 0 and 1 name alice differently"
    );
    d.stop();
}
