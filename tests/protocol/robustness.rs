//! Robustness: arbitrary and malformed input (RB-01), store failures
//! (RB-02), and secrets kept out of responses, `Debug` and logs (RB-03).

use std::num::NonZeroU32;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis::http::{Method, Request, Response};
use portcullis::{
    ClientAdmin, GrantType, MemoryUsers, PasswordVerifier, Secret, SecretHash, StoreError,
    TokenHash, TokenStore,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

use crate::support::*;

/// The error codes RFC 6749 §5.2 and RFC 7009 allow at these endpoints.
const RFC_CODES: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
];

/// Checks what every answer to any input must be: 200, or a 4xx carrying
/// an RFC error code.
fn check_answer(endpoint: Endpoint, resp: &Response) -> Result<(), String> {
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    let status = resp.status();
    if status == 200 {
        if endpoint != Endpoint::Revoke {
            let v: serde_json::Value =
                serde_json::from_slice(resp.body()).map_err(|e| format!("{e}: {body}"))?;
            let ok = match endpoint {
                Endpoint::Token => v["access_token"].is_string(),
                _ => v["active"].is_boolean(),
            };
            if !ok {
                return Err(format!("odd success body: {body}"));
            }
        }
        return Ok(());
    }
    if !(400..500).contains(&status) {
        return Err(format!("status {status}: {body}"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(resp.body()).map_err(|e| format!("{e}: {body}"))?;
    let code = v["error"].as_str().unwrap_or_default();
    if !RFC_CODES.contains(&code) {
        return Err(format!("not an RFC error code: {body}"));
    }
    if (status == 401) != (code == "invalid_client") {
        return Err(format!("invalid_client must be 401: {status} {body}"));
    }
    if status == 405 && resp.header("Allow") != Some("POST") {
        return Err("405 without Allow".into());
    }
    if resp.header("Cache-Control") != Some("no-store") {
        return Err(format!("error without no-store: {body}"));
    }
    Ok(())
}

#[derive(Clone, Debug)]
struct Input {
    endpoint: Endpoint,
    method: Method,
    content_type: Option<Vec<u8>>,
    authorization: Vec<Vec<u8>>,
    body: Vec<u8>,
}

/// Live codes and tokens the generated requests may present.
#[derive(Clone, Debug)]
struct Pool {
    /// Codes of `svc` with their verifiers.
    codes: Vec<(String, String)>,
    refresh: Vec<String>,
    access: Vec<String>,
    /// Other values worth trying anywhere.
    words: Vec<String>,
    /// `Authorization` values that authenticate (or nearly).
    auth: Vec<String>,
}

const NAMES: [&str; 13] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "username",
    "password",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
    "unknown",
];

fn encode(v: &[u8]) -> Vec<u8> {
    form_urlencoded::byte_serialize(v)
        .flat_map(str::bytes)
        .collect()
}

fn pairs(template: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    template
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn input_strategy(pool: Pool) -> impl Strategy<Value = Input> {
    let any_endpoint = prop_oneof![
        2 => Just(Endpoint::Token),
        1 => Just(Endpoint::Revoke),
        1 => Just(Endpoint::Introspect),
    ];
    let method = prop_oneof![
        12 => Just(Method::Post),
        1 => Just(Method::Get),
        1 => Just(Method::Head),
        1 => Just(Method::Other),
    ];
    let content_type = prop_oneof![
        10 => Just(Some(b"application/x-www-form-urlencoded".to_vec())),
        2 => Just(Some(b"application/x-www-form-urlencoded; charset=utf-8".to_vec())),
        1 => Just(None),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
    ];
    let one_auth = prop_oneof![
        6 => prop::sample::select(pool.auth.clone()).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..60)
            .prop_map(|b| format!("Basic {}", STANDARD.encode(b)).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..80),
    ];
    let authorization = prop_oneof![
        2 => Just(Vec::new()),
        8 => one_auth.clone().prop_map(|a| vec![a]),
        1 => prop::collection::vec(one_auth, 2..3),
    ];
    let text = prop::collection::vec(any::<char>(), 0..24)
        .prop_map(|c| c.into_iter().collect::<String>().into_bytes());
    let word = prop_oneof![
        4 => prop::sample::select(pool.words.clone()).prop_map(String::into_bytes),
        1 => text,
    ];
    let bytes = prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..48),
        1 => prop::sample::select(vec!["%", "%zz", "%ff", "%C3", "+", "", "=", "&", "%00"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ];

    // A request shaped like a real one for some grant or endpoint ...
    let template = prop_oneof![
        prop::sample::select(pool.codes).prop_map(|(code, verifier)| (
            Endpoint::Token,
            pairs(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ])
        )),
        prop::sample::select(pool.refresh.clone()).prop_map(|r| (
            Endpoint::Token,
            pairs(&[("grant_type", "refresh_token"), ("refresh_token", &r)])
        )),
        Just((
            Endpoint::Token,
            pairs(&[("grant_type", "client_credentials"), ("scope", "read")])
        )),
        Just((
            Endpoint::Token,
            pairs(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wonderland"),
            ])
        )),
        (
            prop::sample::select([pool.refresh, pool.access].concat()),
            prop::sample::select(vec![Endpoint::Revoke, Endpoint::Introspect]),
        )
            .prop_map(|(t, e)| (
                e,
                pairs(&[("token", &t), ("token_type_hint", "refresh_token")])
            )),
    ];
    // ... with extra parameters and one value possibly replaced.
    let extra =
        (prop::sample::select(NAMES.to_vec()), word.clone()).prop_map(|(n, v)| (n.to_owned(), v));
    let plausible = (
        template,
        prop::option::weighted(0.1, any_endpoint.clone()),
        prop::collection::vec(extra, 0..2),
        prop::option::weighted(0.4, (any::<prop::sample::Index>(), word)),
    )
        .prop_map(
            |((endpoint, mut template), other_endpoint, extra, replace)| {
                if let Some((i, v)) = replace {
                    let i = i.index(template.len());
                    template[i].1 = v;
                }
                template.extend(extra);
                let body = template
                    .iter()
                    .map(|(n, v)| [n.as_bytes(), b"=", &encode(v)].concat())
                    .collect::<Vec<_>>()
                    .join(&b'&');
                (other_endpoint.unwrap_or(endpoint), body)
            },
        );
    // Messy: any names, repeats, raw or encoded values.
    let name = prop_oneof![
        4 => prop::sample::select(NAMES.to_vec()).prop_map(|n| n.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ];
    let value =
        prop_oneof![3 => prop::sample::select(pool.words).prop_map(String::into_bytes), 2 => bytes];
    let pair = (name, value, any::<bool>()).prop_map(|(n, v, encoded)| {
        let v = if encoded { encode(&v) } else { v };
        [n, b"=".to_vec(), v].concat()
    });
    let messy = prop::collection::vec(pair, 0..8).prop_map(|pairs| pairs.join(&b'&'));
    let raw = prop::collection::vec(any::<u8>(), 0..512);
    let target_and_body = prop_oneof![
        6 => plausible,
        2 => (any_endpoint.clone(), messy),
        1 => (any_endpoint, raw),
    ];
    (target_and_body, method, content_type, authorization).prop_map(
        |((endpoint, body), method, content_type, authorization)| Input {
            endpoint,
            method,
            content_type,
            authorization,
            body,
        },
    )
}

#[test]
fn rb01_arbitrary_requests_never_panic_and_get_200_or_4xx() {
    // covers: RB-01
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (h, pool) = rt.block_on(async {
        let mut config = config();
        config.grant_types.push(GrantType::Password);
        let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
        users.insert("alice", &Secret::from("wonderland")).unwrap();
        let h = Harness::with(config, move |b| b.password_verifier(Arc::new(users))).await;
        let svc = h
            .confidential(SVC, SVC_SECRET, |b| b.grant_type(GrantType::Password))
            .await;
        let spa = h.public("spa", |b| b).await;
        let mut pool = Pool {
            codes: Vec::new(),
            refresh: Vec::new(),
            access: Vec::new(),
            words: [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "implicit",
                SVC,
                SVC_SECRET,
                "spa",
                RS,
                REDIRECT,
                "read",
                "read write",
                "admin",
                "alice",
                "access_token",
            ]
            .map(str::to_owned)
            .to_vec(),
            auth: vec![
                svc.basic(),
                svc.basic(),
                svc.basic(),
                h.rs.basic(),
                spa.basic(),
                basic(SVC, "wrong"),
            ],
        };
        for _ in 0..40 {
            let code = h.issue_code(CodeSpec::new(SVC)).await;
            pool.codes
                .push((code.code.clone(), code.verifier.clone().unwrap()));
            pool.words.push(code.code.clone());
        }
        for _ in 0..20 {
            let code = h.issue_code(CodeSpec::new(SVC)).await;
            let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
            pool.words.push(access.clone());
            pool.access.push(access);
            pool.refresh.extend(refresh);
        }
        (h, pool)
    });
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&input_strategy(pool), |input| {
        let mut req = Request::new(input.method).body(&input.body);
        if let Some(ct) = &input.content_type {
            req = req.header("Content-Type", ct);
        }
        for a in &input.authorization {
            req = req.header("Authorization", a);
        }
        let resp = rt.block_on(send(&h.server, input.endpoint, &req));
        check_answer(input.endpoint, &resp).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A malformed request, what the token endpoint must answer, and whether
/// the same answer holds at revocation and introspection.
struct Case {
    what: &'static str,
    content_type: Option<&'static [u8]>,
    authorization: Vec<Vec<u8>>,
    body: Vec<u8>,
    token_status: u16,
    token_error: &'static str,
}

fn cases() -> Vec<Case> {
    let form_ct: Option<&'static [u8]> = Some(b"application/x-www-form-urlencoded");
    let good = basic(SVC, SVC_SECRET).into_bytes();
    let cc = b"grant_type=client_credentials&token=t".to_vec();
    let case = |what, content_type, authorization: Vec<Vec<u8>>, body: &[u8], status, error| Case {
        what,
        content_type,
        authorization,
        body: body.to_vec(),
        token_status: status,
        token_error: error,
    };
    let basic_of = |raw: &[u8]| format!("Basic {}", STANDARD.encode(raw)).into_bytes();
    vec![
        case(
            "duplicate parameter",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=a&token=b&grant_type=client_credentials",
            400,
            "invalid_request",
        ),
        case(
            "duplicate parameter, one empty",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=a&grant_type=&token=",
            400,
            "invalid_request",
        ),
        case(
            "JSON content type",
            Some(b"application/json"),
            vec![good.clone()],
            &cc,
            400,
            "invalid_request",
        ),
        case(
            "no content type",
            None,
            vec![good.clone()],
            &cc,
            400,
            "invalid_request",
        ),
        case(
            "binary content type",
            Some(b"\xff\xfe\x00"),
            vec![good.clone()],
            &cc,
            400,
            "invalid_request",
        ),
        case(
            "invalid UTF-8 value",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=\xff\xfe&scope=\xc3",
            400,
            "invalid_request",
        ),
        case(
            "invalid UTF-8 name",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=t&\xff=1",
            400,
            "invalid_request",
        ),
        case(
            "percent-encoded invalid UTF-8",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=%ff%fe",
            400,
            "invalid_request",
        ),
        case(
            "truncated percent escape",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials&token=abc%4",
            400,
            "invalid_request",
        ),
        case(
            "oversized body",
            form_ct,
            vec![good.clone()],
            &[cc.clone(), b"&pad=".to_vec(), vec![b'a'; 64 * 1024]].concat(),
            413,
            "invalid_request",
        ),
        case(
            "Basic without credentials",
            form_ct,
            vec![b"Basic".to_vec()],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Basic, not base64",
            form_ct,
            vec![b"Basic %%%".to_vec()],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Basic without colon",
            form_ct,
            vec![basic_of(b"svc")],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Basic with empty id",
            form_ct,
            vec![basic_of(b":secret")],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Basic of binary",
            form_ct,
            vec![basic_of(b"\xff\x00:\xfe")],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Basic with bad escapes",
            form_ct,
            vec![basic_of(b"%zz:%")],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "binary Authorization",
            form_ct,
            vec![b"\xff\xfe\x00\x01".to_vec()],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "Bearer Authorization",
            form_ct,
            vec![b"Bearer abc".to_vec()],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "empty Authorization",
            form_ct,
            vec![Vec::new()],
            &cc,
            401,
            "invalid_client",
        ),
        case(
            "repeated Authorization",
            form_ct,
            vec![good.clone(), good.clone()],
            &cc,
            400,
            "invalid_request",
        ),
        case(
            "empty values",
            form_ct,
            Vec::new(),
            b"grant_type=&client_id=&client_secret=&token=",
            400,
            "invalid_request",
        ),
        case(
            "empty body",
            form_ct,
            vec![good.clone()],
            b"",
            400,
            "invalid_request",
        ),
        case(
            "only separators",
            form_ct,
            vec![good.clone()],
            b"&&=&==&",
            400,
            "invalid_request",
        ),
        case(
            "NUL bytes",
            form_ct,
            vec![good.clone()],
            b"grant_type=client_credentials\0&token=\0",
            400,
            "unsupported_grant_type",
        ),
        case(
            "huge parameter name",
            form_ct,
            vec![good],
            &[vec![b'n'; 60_000], b"=1".to_vec()].concat(),
            400,
            "invalid_request",
        ),
    ]
}

#[tokio::test]
async fn rb01_malformed_requests_get_the_right_4xx_everywhere() {
    // covers: RB-01, TOK-02, TOK-03, TOK-08
    let h = Harness::new().await;
    h.svc().await;
    for case in cases() {
        let mut req = Request::new(Method::Post).body(&case.body);
        if let Some(ct) = case.content_type {
            req = req.header("Content-Type", ct);
        }
        for a in &case.authorization {
            req = req.header("Authorization", a);
        }
        for endpoint in ENDPOINTS {
            let resp = send(&h.server, endpoint, &req).await;
            if let Err(e) = check_answer(endpoint, &resp) {
                panic!("{}: {endpoint:?}: {e}", case.what);
            }
            if endpoint == Endpoint::Token {
                assert_eq!(resp.status(), case.token_status, "{}", case.what);
                assert_eq!(json(&resp)["error"], case.token_error, "{}", case.what);
            }
        }
    }
}

#[tokio::test]
async fn rb02_a_failed_code_exchange_is_a_500_and_leaves_the_code_redeemable() {
    // covers: RB-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    flaky.fail(Op::ExchangeCode);
    let resp = h.redeem(Auth::Basic(&svc), &code).await;
    assert_error(&resp, 500, "server_error");
    // Nothing half done: the code is unused and no token was stored.
    let record = h
        .store
        .find_code(&TokenHash::of(&code.code))
        .await
        .unwrap()
        .unwrap();
    assert!(!record.used);
    assert_eq!(h.store.access_token_count(), 0);
    flaky.heal();
    let (access, _) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    assert!(h.active(&access).await);
    assert_eq!(h.store.access_token_count(), 1);
}

#[tokio::test]
async fn rb02_a_failed_rotation_is_a_500_and_the_old_refresh_token_still_rotates() {
    // covers: RB-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    flaky.fail(Op::RotateRefresh);
    for _ in 0..2 {
        assert_error(
            &h.refresh(Auth::Basic(&svc), &refresh).await,
            500,
            "server_error",
        );
    }
    let record = h
        .store
        .find_refresh(&TokenHash::of(&refresh))
        .await
        .unwrap()
        .unwrap();
    assert!(!record.used, "no rotation without its new token");
    assert_eq!(h.store.access_token_count(), 1);
    flaky.heal();
    assert!(h.active(&access).await);
    let (_, next) = tokens(&h.refresh(Auth::Basic(&svc), &refresh).await);
    assert_eq!(h.store.access_token_count(), 2);
    // And it rotated normally: the old one is now spent, the new one works.
    assert!(!h.active(&refresh).await);
    assert_eq!(
        h.refresh(Auth::Basic(&svc), &next.unwrap()).await.status(),
        200
    );
}

#[tokio::test]
async fn rb02_a_failed_issue_is_a_500_and_stores_nothing() {
    // covers: RB-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    flaky.fail(Op::Issue);
    assert_error(
        &h.client_credentials(Auth::Basic(&svc), None).await,
        500,
        "server_error",
    );
    assert_eq!(h.store.access_token_count(), 0);
    flaky.heal();
    tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert_eq!(h.store.access_token_count(), 1);
}

#[tokio::test]
async fn rb02_a_failed_password_issue_is_a_500_and_stores_nothing() {
    // covers: RB-02, PW-01
    let store = portcullis::MemoryStore::new();
    let flaky = Arc::new(FlakyStore::new(store.clone()));
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let server = portcullis::AuthorizationServer::builder(config)
        .store(Arc::new(store.clone()))
        .token_store(flaky.clone())
        .password_verifier(Arc::new(users))
        .build()
        .unwrap();
    let client = portcullis::Client::confidential(id("app"), SecretHash::sha256("app-secret"))
        .grant_type(GrantType::Password)
        .build()
        .unwrap();
    store.insert_client(client).await.unwrap();
    let app = Creds {
        id: "app".into(),
        secret: Some("app-secret".into()),
    };
    let params = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wonderland"),
    ];
    flaky.fail(Op::Issue);
    let resp = call(&server, Endpoint::Token, Auth::Basic(&app), &params).await;
    assert_error(&resp, 500, "server_error");
    assert_eq!(store.access_token_count(), 0);
    flaky.heal();
    tokens(&call(&server, Endpoint::Token, Auth::Basic(&app), &params).await);
    assert_eq!(store.access_token_count(), 1);
}

#[tokio::test]
async fn rb02_failed_reads_are_500_and_change_nothing() {
    // covers: RB-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    let fresh = h.issue_code(CodeSpec::new(SVC)).await;

    flaky.fail(Op::FindClient);
    assert_error(
        &h.client_credentials(Auth::Basic(&svc), None).await,
        500,
        "server_error",
    );
    assert_error(
        &h.revoke(Auth::Basic(&svc), &[("token", &access)]).await,
        500,
        "server_error",
    );
    assert_error(
        &h.introspect_as(Auth::Basic(&h.rs), &access).await,
        500,
        "server_error",
    );
    flaky.heal();

    flaky.fail(Op::FindCode);
    assert_error(
        &h.redeem(Auth::Basic(&svc), &fresh).await,
        500,
        "server_error",
    );
    flaky.heal();
    flaky.fail(Op::FindRefresh);
    assert_error(
        &h.refresh(Auth::Basic(&svc), &refresh).await,
        500,
        "server_error",
    );
    assert_error(
        &h.introspect_as(Auth::Basic(&h.rs), &refresh).await,
        500,
        "server_error",
    );
    flaky.heal();
    flaky.fail(Op::FindAccess);
    assert_error(
        &h.introspect_as(Auth::Basic(&h.rs), &access).await,
        500,
        "server_error",
    );
    assert_error(
        &h.revoke(Auth::Basic(&svc), &[("token", &access)]).await,
        500,
        "server_error",
    );
    flaky.heal();
    flaky.fail(Op::RevokeAccess);
    assert_error(
        &h.revoke(Auth::Basic(&svc), &[("token", &access)]).await,
        500,
        "server_error",
    );
    flaky.heal();

    assert!(h.active(&access).await);
    assert!(h.active(&refresh).await);
    assert_eq!(h.redeem(Auth::Basic(&svc), &fresh).await.status(), 200);
    assert_eq!(h.refresh(Auth::Basic(&svc), &refresh).await.status(), 200);
}

#[tokio::test]
async fn rb02_a_failed_grant_revocation_on_replay_is_a_500_and_the_replay_is_caught_later() {
    // covers: RB-02, AC-02
    let (h, flaky) = Harness::flaky(config()).await;
    let svc = h.svc().await;
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, _) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    flaky.fail(Op::RevokeGrant);
    assert_error(
        &h.redeem(Auth::Basic(&svc), &code).await,
        500,
        "server_error",
    );
    flaky.heal();
    assert_error(
        &h.redeem(Auth::Basic(&svc), &code).await,
        400,
        "invalid_grant",
    );
    assert!(!h.active(&access).await);
}

/// Values that must never come back out: a client secret, a password, a
/// code, a verifier, tokens.
const SENTINELS: [&str; 6] = [
    "Client-Secret-Sentinel-7Q2",
    "Password-Sentinel-9Z4",
    "Code-Sentinel-3K8",
    "Verifier-Sentinel-5M1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Refresh-Sentinel-2J6",
    "Access-Sentinel-8H3",
];

fn assert_no_sentinel(what: &str, text: &str) {
    for s in SENTINELS {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

fn response_text(resp: &Response) -> String {
    let headers: Vec<String> = resp.headers().map(|(n, v)| format!("{n}: {v}")).collect();
    format!(
        "{}\n{}\n{}\n{:?}\n{:?}",
        resp.status(),
        headers.join("\n"),
        String::from_utf8_lossy(resp.body()),
        resp,
        resp.error()
    )
}

/// Failing requests carrying every sentinel; returns the responses.
async fn leaky_requests(h: &Harness) -> Vec<Response> {
    let [secret, password, code, verifier, refresh, access] = SENTINELS;
    let wrong_secret = Creds {
        id: "app".into(),
        secret: Some(secret.into()),
    };
    let app = Creds {
        id: "app".into(),
        secret: Some("app-secret".into()),
    };
    let mut out = vec![
        h.client_credentials(Auth::Basic(&wrong_secret), None).await,
        h.client_credentials(Auth::Post(&wrong_secret), None).await,
        h.token(
            Auth::Basic(&app),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", password),
            ],
        )
        .await,
        h.token(
            Auth::Basic(&app),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await,
        h.refresh(Auth::Basic(&app), refresh).await,
        h.revoke(Auth::Basic(&wrong_secret), &[("token", access)])
            .await,
        h.introspect_as(Auth::Basic(&wrong_secret), access).await,
        h.token(
            Auth::Basic(&app),
            &[
                ("grant_type", "password"),
                ("password", password),
                ("password", password),
            ],
        )
        .await,
    ];
    // A real code with a wrong (sentinel) verifier.
    let real = h.issue_code(CodeSpec::new("app")).await;
    let mut wrong = real.clone();
    wrong.verifier = Some(SENTINELS[3].into());
    out.push(h.redeem(Auth::Basic(&app), &wrong).await);
    out
}

async fn sentinel_server() -> Harness {
    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from("wonderland")).unwrap();
    let mut config = config();
    config.grant_types.push(GrantType::Password);
    let h = Harness::with(config, move |b| b.password_verifier(Arc::new(users))).await;
    h.confidential("app", "app-secret", |b| b.grant_type(GrantType::Password))
        .await;
    h
}

#[tokio::test]
async fn rb03_error_responses_never_echo_secrets_codes_or_tokens() {
    // covers: RB-03
    let h = sentinel_server().await;
    for resp in leaky_requests(&h).await {
        assert!(resp.status() >= 400);
        assert_no_sentinel("response", &response_text(&resp));
    }
}

#[tokio::test]
async fn rb03_debug_output_of_secrets_errors_and_records_is_redacted() {
    // covers: RB-03, CA-05
    let [secret, password, _, verifier, _, access] = SENTINELS;
    assert_no_sentinel(
        "Secret",
        &format!("{:?} {}", Secret::from(password), Secret::from(password)),
    );
    assert_no_sentinel("SecretHash", &format!("{:?}", SecretHash::sha256(secret)));
    let verifier_debug = format!("{:?}", portcullis::CodeVerifier::parse(verifier).unwrap());
    assert_no_sentinel("CodeVerifier", &verifier_debug);
    assert_no_sentinel("TokenHash", &format!("{:?}", TokenHash::of(access)));
    let store_error = StoreError::msg("connection refused");
    assert_no_sentinel("StoreError", &format!("{store_error:?} {store_error}"));

    let users = MemoryUsers::new(NonZeroU32::new(1).unwrap()).unwrap();
    users.insert("alice", &Secret::from(password)).unwrap();
    assert_no_sentinel("MemoryUsers", &format!("{users:?}"));
    assert!(
        users
            .verify("alice", &Secret::from(password))
            .await
            .unwrap()
            .is_some()
    );

    // Records as a store holds them, from a real exchange.
    let h = sentinel_server().await;
    let app = Creds {
        id: "app".into(),
        secret: Some("app-secret".into()),
    };
    let issued = h.issue_code(CodeSpec::new("app").verifier(verifier)).await;
    let resp = h.redeem(Auth::Basic(&app), &issued).await;
    let (real_access, real_refresh) = tokens(&resp);
    let real_refresh = real_refresh.unwrap();
    let records = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        h.store
            .find_code(&TokenHash::of(&issued.code))
            .await
            .unwrap(),
        h.store
            .find_access(&TokenHash::of(&real_access))
            .await
            .unwrap(),
        h.store
            .find_refresh(&TokenHash::of(&real_refresh))
            .await
            .unwrap(),
        h.client("app").await,
        h.server,
    );
    for s in [
        &real_access,
        &real_refresh,
        &issued.code,
        &verifier.to_owned(),
        &"app-secret".to_owned(),
    ] {
        assert!(!records.contains(s.as_str()), "Debug leaks {s}: {records}");
    }
}

#[tokio::test]
async fn rb03_logs_never_contain_secrets_codes_or_tokens() {
    // covers: RB-03
    let capture = LogCapture::default();
    let _guard = capture.install();
    // Other tests, on other threads without a subscriber, may register the
    // library's log call sites first (`LogCapture::install` keeps them from
    // caching "not interested"). Hit every call site once anyway, then have
    // tracing re-ask every subscriber.
    {
        let (warm, flaky) = Harness::flaky(config()).await;
        warm.client_credentials(Auth::Nothing, None).await;
        flaky.fail(Op::FindClient);
        warm.client_credentials(Auth::IdOnly(&warm.rs), None).await;
        tracing::callsite::rebuild_interest_cache();
    }
    let warm_up = capture.text();
    let h = sentinel_server().await;
    leaky_requests(&h).await;
    // Successful requests: their tokens must not be logged either.
    let app = Creds {
        id: "app".into(),
        secret: Some("app-secret".into()),
    };
    let code = h.issue_code(CodeSpec::new("app")).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&app), &code).await);
    let refresh = refresh.unwrap();
    let (access2, refresh2) = tokens(&h.refresh(Auth::Basic(&app), &refresh).await);
    h.introspect(&access2).await;
    h.revoke(Auth::Basic(&app), &[("token", &access2)]).await;
    // And a store failure, whose cause is logged.
    let (hf, flaky) = Harness::flaky(config()).await;
    let svc = hf.svc().await;
    flaky.fail(Op::Issue);
    assert_error(
        &hf.client_credentials(Auth::Basic(&svc), None).await,
        500,
        "server_error",
    );

    let logs = capture.text().split_off(warm_up.len());
    assert!(
        logs.contains("request refused"),
        "refusals are logged: {logs}"
    );
    assert!(
        logs.contains("injected store failure"),
        "store causes are logged: {logs}"
    );
    assert_no_sentinel("logs", &logs);
    for s in [
        &access,
        &refresh,
        &access2,
        &refresh2.unwrap(),
        &code.code,
        &code.verifier.unwrap(),
    ] {
        assert!(!logs.contains(s.as_str()), "logs leak {s}");
    }
    for s in ["app-secret", SVC_SECRET, RS_SECRET, "wonderland"] {
        assert!(!logs.contains(s), "logs leak {s}");
    }
}

/// How `Debug` prints a byte slice, without the brackets: what a log line
/// would hold if a type printed these bytes.
fn debug_bytes(s: &str) -> String {
    let d = format!("{:?}", s.as_bytes());
    d.trim_start_matches('[').trim_end_matches(']').to_owned()
}

#[tokio::test]
async fn rb03_debug_of_requests_and_responses_hides_credentials_and_tokens() {
    // covers: RB-03
    let h = sentinel_server().await;
    let [secret, password, ..] = SENTINELS;
    let authorization = basic("app", secret);
    let body = form(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", password),
    ]);
    let query = form(&[("client_secret", secret)]);
    let req = form_request(body.as_bytes(), Some(authorization.as_bytes())).query(&query);
    let debug = format!("{req:?}");
    for s in [secret, password, authorization.as_str(), body.as_str()] {
        assert!(!debug.contains(s), "Request Debug leaks {s}: {debug}");
        assert!(
            !debug.contains(&debug_bytes(s)),
            "Request Debug leaks the bytes of {s}: {debug}"
        );
    }

    // A token response: the adapter may log it, the tokens must not follow.
    let app = Creds {
        id: "app".into(),
        secret: Some("app-secret".into()),
    };
    let resp = h.client_credentials(Auth::Basic(&app), None).await;
    let (access, _) = tokens(&resp);
    let code = h.issue_code(CodeSpec::new("app")).await;
    let resp2 = h.redeem(Auth::Basic(&app), &code).await;
    let (access2, refresh2) = tokens(&resp2);
    let debug = format!("{resp:?} {resp2:?}");
    for s in [access, access2, refresh2.unwrap()] {
        assert!(!debug.contains(&s), "Response Debug leaks {s}: {debug}");
        assert!(
            !debug.contains(&debug_bytes(&s)),
            "Response Debug leaks the bytes of {s}"
        );
    }
    // Still useful: status and error code show.
    let refused = h
        .client_credentials(
            Auth::Basic(&Creds {
                id: "app".into(),
                secret: Some(secret.into()),
            }),
            None,
        )
        .await;
    let debug = format!("{refused:?}");
    assert!(
        debug.contains("401") && debug.contains("InvalidClient"),
        "{debug}"
    );
}
