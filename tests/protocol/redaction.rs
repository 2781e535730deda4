//! Redaction (RB-03), end to end: secrets, passwords, codes, verifiers,
//! tokens and assertions are pushed through every error path — token,
//! revocation, introspection, authorization, bearer validation, JWT client
//! assertions, throttle refusals and store failures — with every `tracing`
//! event captured at TRACE level, and none of them may come back out in a
//! log line, a response (status line, headers, body) or a `Debug` rendering.
//! A second test fails every store write of the token path (code exchange,
//! rotation, revocation, `jti`, issue, code insertion) each of the three
//! `FaultyStore` ways and checks the logged failure, its cause and the
//! response the same way, against every value the server minted too.

use std::num::NonZeroU32;
use std::sync::Arc;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::http::{Method, Request, Response};
use portcullis::stores::Fault;
use portcullis::{
    AccessTokenFormat, Account, Attempt, AuthorizeStep, Client, ClientId, GrantType, MemoryKeys,
    MemoryUsers, Outcome, RandomError, RandomSource, ScopeSet, Secret, SystemRandom, Throttle,
    UserId, Verdict,
};

use crate::support::*;

const SECRET: &str = "Secret-Sentinel-Q7a1";
const PASSWORD: &str = "Password-Sentinel-Z9b2";
const CODE: &str = "Code-Sentinel-K3c3";
const VERIFIER: &str = "Verifier-Sentinel-M5d4-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REFRESH: &str = "Refresh-Sentinel-J6e5";
const ACCESS: &str = "Access-Sentinel-H8f6";
const HMAC: &str = "HmacSecret-Sentinel-P2g7-0123456789abcdef";
const JTI: &str = "Jti-Sentinel-W4h8";
/// The password of the user the throttle locks out.
const LOCKED_PASSWORD: &str = "Locked-Sentinel-R1i9";

const SENTINELS: [&str; 9] = [
    SECRET,
    PASSWORD,
    CODE,
    VERIFIER,
    REFRESH,
    ACCESS,
    HMAC,
    JTI,
    LOCKED_PASSWORD,
];

/// The three ways a store call fails.
const FAULTS: [Fault; 3] = [
    Fault::Error,
    Fault::Timeout(Duration::from_millis(5)),
    Fault::AfterWrite,
];

/// Refuses user `locked` and client `locked-client`.
struct Locks;

#[portcullis::async_trait]
impl Throttle for Locks {
    async fn attempt(&self, attempt: &Attempt<'_>) -> Verdict {
        match attempt.account() {
            Some(Account::Client(id)) if id.as_str() == "locked-client" => Verdict::Refuse,
            Some(Account::User("locked")) => Verdict::Refuse,
            _ => Verdict::Allow,
        }
    }
    async fn settle(&self, _: &Attempt<'_>, _: Outcome) {}
}

/// How `Debug` prints a byte slice, without the brackets.
fn debug_bytes(s: &str) -> String {
    let d = format!("{:?}", s.as_bytes());
    d.trim_start_matches('[').trim_end_matches(']').to_owned()
}

fn assert_clean(what: &str, text: &str, extra: &[String]) {
    for s in SENTINELS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
        assert!(
            !text.contains(&debug_bytes(s)),
            "{what} leaks the bytes of {s}"
        );
    }
}

fn rendered(resp: &Response) -> String {
    let headers: Vec<String> = resp.headers().map(|(n, v)| format!("{n}: {v}")).collect();
    format!(
        "{}\n{}\n{}\n{resp:?}",
        resp.status(),
        headers.join("\n"),
        String::from_utf8_lossy(resp.body())
    )
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form(pairs)
}

#[tokio::test]
async fn rb03_no_secret_reaches_logs_responses_or_debug_on_any_error_path() {
    // covers: RB-03, CA-05
    let capture = LogCapture::default();
    let _guard = capture.install();

    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    users
        .insert("locked", &Secret::from(LOCKED_PASSWORD))
        .unwrap();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let events = Arc::new(EventLog::default());
    let sink = events.clone();
    let (h, flaky) = Harness::flaky_with(config, move |b| {
        b.password_verifier(Arc::new(users))
            .throttle(Arc::new(Locks))
            .key_provider(Arc::new(MemoryKeys::new()))
            .events(sink)
    })
    .await;
    h.server.ensure_signing_key().await.unwrap();
    let app = h
        .confidential("app", "app-secret", |b| {
            b.grant_type(GrantType::Password)
                .access_token_format(AccessTokenFormat::Jwt)
        })
        .await;
    let svc = h.svc().await;
    let spa = h.public("spa", |b| b).await;
    let locked = h.confidential("locked-client", SECRET, |b| b).await;
    let jwt_client = Client::client_secret_jwt(ClientId::parse("hs").unwrap(), Secret::from(HMAC))
        .grant_type(GrantType::ClientCredentials)
        .scope(scope("read"))
        .build()
        .unwrap();
    let jwt_client_debug = format!("{jwt_client:?}");
    h.register(jwt_client).await;
    let wrong = |id: &str| Creds {
        id: id.into(),
        secret: Some(SECRET.into()),
    };

    // Real values minted along the way must stay out of the logs too.
    let mut minted: Vec<String> = Vec::new();
    let mut responses: Vec<Response> = Vec::new();

    // --- token, revocation, introspection: wrong secrets, every method ---
    for endpoint in ENDPOINTS {
        let params: &[(&str, &str)] = match endpoint {
            Endpoint::Token => &[("grant_type", "client_credentials")],
            _ => &[("token", ACCESS)],
        };
        for auth in [
            Auth::Basic(&wrong(SVC)),
            Auth::Post(&wrong(SVC)),
            Auth::Basic(&wrong("nobody")),
            Auth::Basic(&locked),
            Auth::Header(&format!("Basic {SECRET}")),
            Auth::Header(&format!("Bearer {ACCESS}")),
        ] {
            responses.push(call(&h.server, endpoint, auth, params).await);
        }
        // Two methods at once, a secret in both places.
        let body = form_body(&[
            ("client_id", SVC),
            ("client_secret", SECRET),
            ("token", ACCESS),
        ]);
        let header = basic(SVC, SECRET);
        let req = form_request(body.as_bytes(), Some(header.as_bytes()));
        responses.push(send(&h.server, endpoint, &req).await);
        // Unknown and foreign tokens, with the right credentials.
        for token in [ACCESS, REFRESH, CODE] {
            responses.push(call(&h.server, endpoint, Auth::Basic(&svc), &[("token", token)]).await);
        }
    }

    // --- grants: wrong password, throttled password, unknown code and
    // refresh token, wrong verifier, replays ---
    for (user, password) in [("alice", PASSWORD), ("locked", LOCKED_PASSWORD)] {
        responses.push(
            h.token(
                Auth::Basic(&app),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", password),
                ],
            )
            .await,
        );
    }
    responses.push(
        h.token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "password"),
                ("password", PASSWORD),
                ("password", PASSWORD),
            ],
        )
        .await,
    );
    responses.push(
        h.token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "authorization_code"),
                ("code", CODE),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await,
    );
    responses.push(h.refresh(Auth::Basic(&svc), REFRESH).await);
    let real = h.issue_code(CodeSpec::new(SVC)).await;
    let mut wrong_verifier = real.clone();
    wrong_verifier.verifier = Some(VERIFIER.into());
    responses.push(h.redeem(Auth::Basic(&svc), &wrong_verifier).await);
    let resp = h.redeem(Auth::Basic(&svc), &real).await;
    let (access, refresh) = tokens(&resp);
    let refresh = refresh.unwrap();
    minted.extend([
        real.code.clone(),
        real.verifier.clone().unwrap(),
        access.clone(),
        refresh.clone(),
    ]);
    responses.push(resp);
    responses.push(h.redeem(Auth::Basic(&svc), &real).await); // replay
    let resp = h.refresh(Auth::Basic(&svc), &refresh).await;
    assert_eq!(resp.status(), 400, "the code replay revoked the grant");
    responses.push(resp);

    // --- a password grant whose store write fails (the right password) ---
    flaky.fail_with(Op::Issue, Fault::AfterWrite);
    let resp = h
        .token(
            Auth::Basic(&app),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    assert_error(&resp, 500, "server_error");
    responses.push(resp);
    flaky.heal();

    // --- client assertions: wrong key, replay, garbage ---
    let forged = hs256_assertion("hs", "Not-The-Secret-0123456789abcdef-0123", JTI);
    responses.push(assertion_request(&h, &forged).await);
    let good = hs256_assertion("hs", HMAC, JTI);
    let first = assertion_request(&h, &good).await;
    minted.push(tokens(&first).0);
    responses.push(first);
    responses.push(assertion_request(&h, &good).await); // replay
    for garbage in [format!("{SECRET}.{ACCESS}.{CODE}"), SECRET.to_owned()] {
        responses.push(assertion_request(&h, &garbage).await);
    }
    let body = form_body(&[
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:example:other"),
        ("client_assertion", &good),
    ]);
    responses.push(
        send(
            &h.server,
            Endpoint::Token,
            &form_request(body.as_bytes(), None),
        )
        .await,
    );
    minted.push(good);

    // --- bearer validation: unknown, garbage, JWT-shaped, wrong scope ---
    let (jwt, _) = tokens(
        &h.token(
            Auth::Basic(&app),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await,
    );
    minted.push(jwt.clone());
    let admin = scope("admin");
    for header in [
        format!("Bearer {ACCESS}"),
        format!("Bearer {ACCESS}.{SECRET}.{CODE}"),
        format!("Bearer {jwt}x"),
        format!("Bearer {jwt}"),
        format!("Basic {SECRET}"),
        format!("Bearer {REFRESH} {SECRET}"),
    ] {
        let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
        match h.server.authenticate_bearer(&req, &admin).await {
            Ok(token) => panic!("accepted {token:?}"),
            Err(resp) => responses.push(resp),
        }
    }
    let header = format!("Bearer {jwt}");
    let req = Request::new(Method::Get).header("Authorization", header.as_bytes());
    let ok = h
        .server
        .authenticate_bearer(&req, &ScopeSet::default())
        .await;
    let bearer_debug = format!("{:?}", ok.unwrap());

    // --- authorization endpoint: secrets in the query of failing requests ---
    let alice = UserId::parse("alice").unwrap();
    let leaky = [
        ("client_secret", SECRET),
        ("password", PASSWORD),
        ("code", CODE),
        ("refresh_token", REFRESH),
    ];
    let mut steps: Vec<String> = Vec::new();
    for (client, redirect) in [
        ("nobody", REDIRECT),
        ("spa", "https://evil.example/cb"),
        ("spa", REDIRECT),
    ] {
        let mut pairs = vec![
            ("client_id", client),
            ("redirect_uri", redirect),
            ("response_type", "token"),
        ];
        pairs.extend(leaky);
        let q = form_body(&pairs);
        let alice = signed_in(&alice);
        for user in [None, Some(&alice)] {
            let step = h
                .server
                .authorize(&Request::new(Method::Get).query(&q), user)
                .await;
            steps.push(format!("{step:?}"));
            if let AuthorizeStep::Invalid(r) | AuthorizeStep::Redirect(r) = step {
                responses.push(r);
            }
        }
    }
    // A consent step whose code cannot be stored, and one that succeeds.
    let q = authorization_query(&spa.id);
    let step = h
        .server
        .authorize(
            &Request::new(Method::Get).query(&q),
            Some(&signed_in(&alice)),
        )
        .await;
    steps.push(format!("{step:?}"));
    let AuthorizeStep::Consent(pending) = step else {
        panic!("consent expected");
    };
    flaky.fail_with(Op::InsertCode, Fault::Error);
    responses.push(h.server.approve(pending).await);
    flaky.heal();
    let AuthorizeStep::Redirect(approved) = h
        .server
        .authorize(
            &Request::new(Method::Get).query(&q),
            Some(&signed_in(&alice)),
        )
        .await
    else {
        panic!("remembered consent redirects with a code");
    };
    let code = location_params(&approved)
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .unwrap();
    minted.push(code);
    steps.push(format!("{approved:?}"));

    // Every response: status, headers, body and Debug.
    for resp in &responses {
        assert!(resp.status() >= 300 || resp.status() == 200, "{resp:?}");
        if resp.status() != 200 {
            assert_clean("response", &rendered(resp), &minted);
        }
    }
    // Debug of everything a host might print.
    let debug = format!(
        "{steps:?} {bearer_debug} {jwt_client_debug} {:?} {:?} {:?} {:?}",
        h.server,
        flaky.faulty(),
        h.client("locked-client").await,
        h.client("hs").await,
    );
    assert_clean("Debug", &debug, &minted);
    assert!(!debug.contains("app-secret") && !debug.contains("wonderland"));

    // And the logs, at TRACE.
    let logs = capture.text();
    for expected in [
        "request refused",
        "store failure",
        "refused by the throttle",
        "bearer JWT refused",
    ] {
        assert!(
            logs.contains(expected),
            "missing {expected:?} in logs:\n{logs}"
        );
    }
    assert_clean("logs", &logs, &minted);
    for s in ["app-secret", SVC_SECRET, RS_SECRET, "wonderland"] {
        assert!(!logs.contains(s), "logs leak {s}");
    }
    // The endpoint spans carry their fields, and nothing secret.
    for expected in [
        "span portcullis.endpoint endpoint=token",
        "outcome=refused",
        "outcome=failed",
        "error=invalid_client",
    ] {
        assert!(logs.contains(expected), "missing {expected:?} in logs");
    }
    // The audit events saw every path, and nothing secret.
    let events = events.0.lock().unwrap().join("\n");
    assert!(events.contains("TokenIssued") && events.contains("ClientAuthenticationFailed"));
    assert_clean("events", &events, &minted);
    for s in [
        "app-secret",
        SVC_SECRET,
        RS_SECRET,
        "wonderland",
        LOCKED_PASSWORD,
    ] {
        assert!(!events.contains(s), "events leak {s}");
    }
}

/// Every audit event the server reports, as its `Debug` text.
#[derive(Default)]
struct EventLog(std::sync::Mutex<Vec<String>>);

impl portcullis::EventSink for EventLog {
    fn event(&self, event: &portcullis::Event<'_>) {
        self.0.lock().unwrap().push(format!("{event:?}"));
    }
}

/// The OS random source, remembering every value it gave out in the shape
/// the server mints (base64url of each 32 bytes): every code and token the
/// server made, delivered or not.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<String>>);

impl Recording {
    fn minted(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl RandomSource for Recording {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        SystemRandom::new().fill(dest)?;
        let mut seen = self.0.lock().unwrap();
        for chunk in dest.chunks(32) {
            seen.push(URL_SAFE_NO_PAD.encode(chunk));
        }
        Ok(())
    }
}

/// The token-path writes, each failed by every fault.
const TOKEN_PATH_WRITES: [Op; 7] = [
    Op::ExchangeCode,
    Op::RotateRefresh,
    Op::RevokeAccess,
    Op::RevokeGrant,
    Op::FirstUse,
    Op::Issue,
    Op::InsertCode,
];

#[tokio::test]
async fn rb03_store_failures_of_every_token_path_write_leak_nothing() {
    // covers: RB-03, RB-02
    // Every store write the core makes on a request, failed each of the
    // three ways, with the client's secret, the password, the verifier, the
    // code, the tokens and the assertion in the request: the logged failure
    // (with its cause chain: a timeout's cause is logged) and the response
    // name none of them, nor any code or token the server minted, delivered
    // or not.
    let alice = UserId::parse("alice").unwrap();
    for (op, fault) in TOKEN_PATH_WRITES
        .into_iter()
        .flat_map(|op| FAULTS.map(|f| (op, f)))
    {
        let capture = LogCapture::default();
        let _guard = capture.install();

        let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
        users.insert("alice", &Secret::from(PASSWORD)).unwrap();
        let random = Arc::new(Recording::default());
        let mut config = config();
        config.grant_types.push(GrantType::Password);
        let source = random.clone();
        let (h, flaky) = Harness::flaky_with(config, move |b| {
            b.password_verifier(Arc::new(users)).random(source)
        })
        .await;
        let app = h
            .confidential("app", SECRET, |b| b.grant_type(GrantType::Password))
            .await;
        let spa = h.public("spa", |b| b).await;
        register_jwt_client(&h, "hs").await;
        let mut extra: Vec<String> = Vec::new();

        // A healthy code redemption first, for the ops that need tokens.
        let code = h.issue_code(CodeSpec::new("app").verifier(VERIFIER)).await;
        extra.push(code.code.clone());
        let needs_tokens = matches!(op, Op::RotateRefresh | Op::RevokeAccess | Op::RevokeGrant);
        let (access, refresh) = if needs_tokens {
            let (a, r) = tokens(&h.redeem(Auth::Basic(&app), &code).await);
            (a, r.unwrap())
        } else {
            (String::new(), String::new())
        };
        let assertion = hs256_assertion("hs", HMAC_SECRET, JTI);
        extra.extend([assertion.clone(), HMAC_SECRET.to_owned()]);

        flaky.fail_with(op, fault);
        let resp = match op {
            Op::ExchangeCode => h.redeem(Auth::Basic(&app), &code).await,
            Op::RotateRefresh => h.refresh(Auth::Basic(&app), &refresh).await,
            Op::RevokeAccess => h.revoke(Auth::Basic(&app), &[("token", &access)]).await,
            Op::RevokeGrant => h.revoke(Auth::Basic(&app), &[("token", &refresh)]).await,
            Op::FirstUse => assertion_request(&h, &assertion).await,
            Op::Issue => {
                h.token(
                    Auth::Basic(&app),
                    &[
                        ("grant_type", "password"),
                        ("username", "alice"),
                        ("password", PASSWORD),
                    ],
                )
                .await
            }
            _ => {
                let q = authorization_query(&spa.id);
                let step = h
                    .server
                    .authorize(
                        &Request::new(Method::Get).query(&q),
                        Some(&signed_in(&alice)),
                    )
                    .await;
                let AuthorizeStep::Consent(pending) = step else {
                    panic!("consent expected");
                };
                h.server.approve(pending).await
            }
        };
        flaky.heal();
        assert_eq!(flaky.faulty().failures(op), 1, "{op:?} {fault:?}");
        if op == Op::InsertCode {
            let params = location_params(&resp);
            assert!(
                params
                    .iter()
                    .any(|(k, v)| k == "error" && v == "server_error")
            );
            assert!(!params.iter().any(|(k, _)| k == "code"), "{op:?} {fault:?}");
        } else {
            assert_error(&resp, 500, "server_error");
        }

        let logs = capture.text();
        let cause = match fault {
            Fault::Error => "injected store failure",
            Fault::AfterWrite => "injected store failure after the write",
            _ => "injected store timeout",
        };
        assert!(logs.contains("store failure"), "{op:?} {fault:?}:\n{logs}");
        assert!(
            logs.contains(cause),
            "{op:?} {fault:?}: no cause in\n{logs}"
        );
        // Only a refused assertion fails before anything is minted.
        let minted = random.minted();
        assert!(
            op == Op::FirstUse || !minted.is_empty(),
            "{op:?} {fault:?}: nothing minted"
        );
        extra.extend(minted);
        let what = format!("{op:?} {fault:?}");
        assert_clean(&format!("{what} response"), &rendered(&resp), &extra);
        assert_clean(&format!("{what} logs"), &logs, &extra);
        assert_clean(
            &format!("{what} Debug"),
            &format!("{:?} {:?}", h.server, flaky.faulty()),
            &extra,
        );
    }
}
