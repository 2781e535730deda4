//! The token endpoint's HTTP contract (TOK-01..08).

use std::time::Duration;

use portcullis::http::{Method, Request, Response};
use portcullis::{Config, GrantType};

use crate::support::*;

fn cc_body() -> String {
    form(&[("grant_type", "client_credentials"), ("scope", "read")])
}

#[tokio::test]
async fn tok01_only_post_is_accepted_and_others_get_405_with_allow() {
    // covers: TOK-01
    let h = Harness::new().await;
    let svc = h.svc().await;
    let body = cc_body();
    let auth = svc.basic();
    for endpoint in ENDPOINTS {
        for method in [Method::Get, Method::Head, Method::Other] {
            let req = Request::new(method)
                .header("Content-Type", b"application/x-www-form-urlencoded")
                .header("Authorization", auth.as_bytes())
                .body(body.as_bytes());
            let resp = send(&h.server, endpoint, &req).await;
            assert_error(&resp, 405, "invalid_request");
            assert_eq!(
                resp.header("Allow"),
                Some("POST"),
                "{endpoint:?} {method:?}"
            );
        }
    }
    // The same request as a POST succeeds.
    let req = form_request(body.as_bytes(), Some(auth.as_bytes()));
    assert_eq!(h.server.token(&req).await.status(), 200);
}

#[tokio::test]
async fn tok02_body_must_be_form_urlencoded_charset_tolerated() {
    // covers: TOK-02
    let h = Harness::new().await;
    let svc = h.svc().await;
    let auth = svc.basic();
    let body = cc_body();
    let with_type = |ct: &'static [u8]| {
        Request::new(Method::Post)
            .header("Content-Type", ct)
            .header("Authorization", auth.as_bytes())
            .body(body.as_bytes())
    };
    for ok in [
        &b"application/x-www-form-urlencoded"[..],
        b"application/x-www-form-urlencoded; charset=UTF-8",
        b"Application/X-WWW-Form-Urlencoded;charset=utf-8",
    ] {
        let resp = h.server.token(&with_type(ok)).await;
        assert_eq!(resp.status(), 200, "{}", String::from_utf8_lossy(ok));
    }
    for bad in [
        &b"application/json"[..],
        b"text/plain",
        b"multipart/form-data; boundary=x",
        b"application/x-www-form-urlencodedx",
        b"",
    ] {
        let resp = h.server.token(&with_type(bad)).await;
        assert_error(&resp, 400, "invalid_request");
    }
    // A JSON body is refused even though it names the same parameters.
    let json_body = br#"{"grant_type":"client_credentials"}"#;
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/json")
        .header("Authorization", auth.as_bytes())
        .body(json_body);
    assert_error(&h.server.token(&req).await, 400, "invalid_request");
    // No content type at all.
    let req = Request::new(Method::Post)
        .header("Authorization", auth.as_bytes())
        .body(body.as_bytes());
    assert_error(&h.server.token(&req).await, 400, "invalid_request");
    // Two content types.
    let req = with_type(b"application/x-www-form-urlencoded")
        .header("content-type", b"application/x-www-form-urlencoded");
    assert_error(&h.server.token(&req).await, 400, "invalid_request");
}

#[tokio::test]
async fn tok03_a_parameter_sent_twice_is_invalid_request() {
    // covers: TOK-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    for params in [
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ][..],
        &[
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("scope", "read"),
        ],
        // A repeat with an empty value still counts as sent twice.
        &[
            ("grant_type", "client_credentials"),
            ("scope", ""),
            ("scope", "read"),
        ],
    ] {
        let resp = h.token(Auth::Basic(&svc), params).await;
        assert_error(&resp, 400, "invalid_request");
    }
    // Repeated credentials in the body.
    let post = h
        .confidential("poster", "poster-secret", |b| {
            b.token_endpoint_auth_method(portcullis::AuthMethod::ClientSecretPost)
        })
        .await;
    let resp = h
        .token(
            Auth::Post(&post),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", "poster-secret"),
            ],
        )
        .await;
    assert_error(&resp, 400, "invalid_request");
}

#[tokio::test]
async fn tok03_empty_value_is_absent_and_unknown_parameters_are_ignored() {
    // covers: TOK-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    // `scope=` is absent, so the client's default scope (`read`) applies.
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[("grant_type", "client_credentials"), ("scope", "")],
        )
        .await;
    assert_eq!(json(&resp)["scope"], "read");
    // `grant_type=` is absent: a missing required parameter.
    let resp = h.token(Auth::Basic(&svc), &[("grant_type", "")]).await;
    assert_error(&resp, 400, "invalid_request");
    // Unknown parameters, even repeated, are ignored.
    let resp = h
        .token(
            Auth::Basic(&svc),
            &[
                ("grant_type", "client_credentials"),
                ("audience", "https://api.example"),
                ("foo", "1"),
                ("foo", "2"),
                ("resource", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tok04_success_is_json_bearer_with_expiry_scope_and_no_store() {
    // covers: TOK-04
    let h = Harness::new().await;
    let svc = h.svc().await;
    let resp = h
        .client_credentials(Auth::Basic(&svc), Some("write read"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    assert_eq!(resp.header("Pragma"), Some("no-cache"));
    assert_eq!(resp.error(), None);
    let v = json(&resp);
    assert!(v["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "read write");
    assert!(v.get("refresh_token").is_none());

    // A code exchange also returns the refresh token.
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let resp = h.redeem(Auth::Basic(&svc), &code).await;
    let v = json(&resp);
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    assert_eq!(resp.header("Pragma"), Some("no-cache"));
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_ne!(v["refresh_token"], v["access_token"]);
}

#[tokio::test]
async fn tok04_expires_in_follows_configured_and_per_client_lifetimes() {
    // covers: TOK-04
    let mut config = config();
    config.access_token_lifetime = Duration::from_secs(900);
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let short = h
        .confidential("short", "short-secret", |b| {
            b.access_token_lifetime(Duration::from_secs(120))
        })
        .await;
    let v = json(&h.client_credentials(Auth::Basic(&svc), None).await);
    assert_eq!(v["expires_in"], 900);
    let resp = h.client_credentials(Auth::Basic(&short), None).await;
    assert_eq!(json(&resp)["expires_in"], 120);
    let (token, _) = tokens(&resp);
    // The lifetime announced is the one enforced.
    assert_eq!(h.introspect(&token).await["exp"], T0 + 120);
}

#[tokio::test]
async fn tok05_every_error_code_is_json_with_its_status_and_no_store() {
    // covers: TOK-05
    let h = Harness::new().await;
    let svc = h.svc().await;
    let no_cc = h
        .confidential("no-cc", "no-cc-secret", |b| {
            b.remove_grant_type(GrantType::ClientCredentials)
        })
        .await;
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("wrong".into()),
    };
    let cases: Vec<(Response, u16, &str)> = vec![
        (
            h.token(Auth::Basic(&svc), &[]).await,
            400,
            "invalid_request",
        ),
        (
            h.client_credentials(Auth::Basic(&wrong), None).await,
            401,
            "invalid_client",
        ),
        (
            h.token(
                Auth::Basic(&svc),
                &[("grant_type", "authorization_code"), ("code", "nope")],
            )
            .await,
            400,
            "invalid_grant",
        ),
        (
            h.client_credentials(Auth::Basic(&no_cc), None).await,
            400,
            "unauthorized_client",
        ),
        (
            h.token(Auth::Basic(&svc), &[("grant_type", "implicit")])
                .await,
            400,
            "unsupported_grant_type",
        ),
        (
            h.client_credentials(Auth::Basic(&svc), Some("admin")).await,
            400,
            "invalid_scope",
        ),
    ];
    for (resp, status, code) in &cases {
        assert_error(resp, *status, code);
        let v = json(resp);
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert!(
            keys.iter()
                .all(|k| *k == "error" || *k == "error_description"),
            "only error members: {v}"
        );
    }
}

#[tokio::test]
async fn tok06_invalid_client_after_basic_carries_www_authenticate() {
    // covers: TOK-06
    let h = Harness::new().await;
    h.svc().await;
    let wrong = basic(SVC, "wrong-secret");
    let unknown = basic("nobody", "whatever");
    for header in [
        wrong.as_str(),
        unknown.as_str(),
        "Basic !!!not-base64",
        "Basic",
        "basic Zm9v",
    ] {
        let resp = h
            .token(
                Auth::Header(header),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_error(&resp, 401, "invalid_client");
        let challenge = resp.header("WWW-Authenticate").expect("WWW-Authenticate");
        assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    }
    // Without a Basic attempt there is no Basic challenge.
    let post = Creds {
        id: SVC.into(),
        secret: Some("wrong-secret".into()),
    };
    let resp = h.client_credentials(Auth::Post(&post), None).await;
    assert_error(&resp, 401, "invalid_client");
    assert_eq!(resp.header("WWW-Authenticate"), None);
}

#[tokio::test]
async fn tok07_unknown_grant_is_unsupported_and_unregistered_grant_is_unauthorized() {
    // covers: TOK-07
    let h = Harness::new().await;
    let svc = h.svc().await;
    for grant in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "CLIENT_CREDENTIALS",
        // Known to the library but not offered by this server.
        "password",
    ] {
        let resp = h.token(Auth::Basic(&svc), &[("grant_type", grant)]).await;
        assert_error(&resp, 400, "unsupported_grant_type");
    }
    // Offered by the server, but this client is not registered for it.
    let code_only = h
        .confidential("code-only", "code-only-secret", |b| {
            b.remove_grant_type(GrantType::ClientCredentials)
                .remove_grant_type(GrantType::RefreshToken)
        })
        .await;
    let resp = h.client_credentials(Auth::Basic(&code_only), None).await;
    assert_error(&resp, 400, "unauthorized_client");
    let resp = h.refresh(Auth::Basic(&code_only), "some-token").await;
    assert_error(&resp, 400, "unauthorized_client");
    let cc_only = h
        .confidential("cc-only", "cc-only-secret", |b| {
            b.remove_grant_type(GrantType::AuthorizationCode)
        })
        .await;
    let code = h.issue_code(CodeSpec::new("cc-only")).await;
    let resp = h.redeem(Auth::Basic(&cc_only), &code).await;
    assert_error(&resp, 400, "unauthorized_client");
}

#[tokio::test]
async fn tok08_bodies_over_the_limit_are_refused_with_413() {
    // covers: TOK-08
    let h = Harness::new().await;
    let svc = h.svc().await;
    let auth = svc.basic();
    let limit = 64 * 1024;
    assert_eq!(config().max_body_size, limit);
    let base = cc_body();
    // Pad with an ignored parameter up to exactly the limit: accepted.
    let pad = |len: usize| {
        let mut body = format!("{base}&pad=");
        body.push_str(&"a".repeat(len - body.len()));
        body
    };
    let at_limit = pad(limit);
    assert_eq!(at_limit.len(), limit);
    let resp = h
        .server
        .token(&form_request(at_limit.as_bytes(), Some(auth.as_bytes())))
        .await;
    assert_eq!(resp.status(), 200);
    // One byte more: 413, whatever the body holds.
    let over = pad(limit + 1);
    for endpoint in ENDPOINTS {
        let resp = send(
            &h.server,
            endpoint,
            &form_request(over.as_bytes(), Some(auth.as_bytes())),
        )
        .await;
        assert_error(&resp, 413, "invalid_request");
    }
    let garbage = vec![0xffu8; limit + 1];
    let req = Request::new(Method::Post)
        .header("Content-Type", b"text/plain")
        .body(&garbage);
    assert_error(&h.server.token(&req).await, 413, "invalid_request");
    // What adapters answer when they stop reading at the limit.
    assert_error(&Response::payload_too_large(), 413, "invalid_request");
}

#[tokio::test]
async fn tok08_a_query_string_is_held_to_the_body_limit() {
    // covers: TOK-08
    // issue 15 finding 9: "bounded work per request" held for bodies only;
    // a query string was bounded only by the HTTP server in front.
    let mut config: Config = config();
    config.max_body_size = 256;
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let auth = svc.basic();
    let body = format!("{}&token=unknown", cc_body());
    for (len, refused) in [(256, false), (257, true)] {
        let query = format!("pad={}", "a".repeat(len - 4));
        for endpoint in ENDPOINTS {
            let req = form_request(body.as_bytes(), Some(auth.as_bytes())).query(&query);
            let resp = send(&h.server, endpoint, &req).await;
            if refused {
                assert_error(&resp, 400, "invalid_request");
                assert_eq!(
                    resp.cause(),
                    Some(portcullis::Cause::InvalidRequest(
                        portcullis::RequestFault::QueryTooLong
                    ))
                );
            } else {
                assert!(resp.status() < 300, "{endpoint:?} {}", resp.status());
            }
        }
        let req = Request::new(Method::Get).query(&query);
        match h.server.authorize(&req, None).await {
            portcullis::AuthorizeStep::Invalid(r) if refused => assert_eq!(
                r.cause(),
                Some(portcullis::Cause::InvalidRequest(
                    portcullis::RequestFault::QueryTooLong
                ))
            ),
            portcullis::AuthorizeStep::Invalid(r) => assert_ne!(
                r.cause(),
                Some(portcullis::Cause::InvalidRequest(
                    portcullis::RequestFault::QueryTooLong
                ))
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn tok08_the_body_limit_is_configurable() {
    // covers: TOK-08
    let mut config: Config = config();
    config.max_body_size = 256;
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let auth = svc.basic();
    let body = format!("{}&pad={}", cc_body(), "a".repeat(300));
    let resp = h
        .server
        .token(&form_request(body.as_bytes(), Some(auth.as_bytes())))
        .await;
    assert_error(&resp, 413, "invalid_request");
    let resp = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_eq!(resp.status(), 200);
}
