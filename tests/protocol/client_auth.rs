//! Client authentication at the token, revocation and introspection
//! endpoints (CA-01..07).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis::{
    AuthMethod, Client, ClientError, ClientId, GrantType, SecretHash, generate_secret,
};

use crate::support::*;

#[tokio::test]
async fn ca01_basic_credentials_are_form_urlencoded_before_base64() {
    // covers: CA-01
    let h = Harness::new().await;
    let client_id = "my:app +1%x";
    let secret = "s:e+c%r e\u{20ac}t-\u{fc}/=&";
    let creds = h.confidential(client_id, secret, |b| b).await;
    // RFC 6749 §2.3.1: urlenc(id) ":" urlenc(secret), then base64.
    let header = creds.basic();
    let raw = String::from_utf8(
        STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        raw,
        "my%3Aapp+%2B1%25x:s%3Ae%2Bc%25r+e%E2%82%ACt-%C3%BC%2F%3D%26"
    );
    let resp = h.client_credentials(Auth::Header(&header), None).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );

    // The same credentials without the form-encoding are not these
    // credentials: the first `:` would end the id.
    let naive = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    let resp = h.client_credentials(Auth::Header(&naive), None).await;
    assert_error(&resp, 401, "invalid_client");

    // `+` is a space: a secret with a space may be sent as `+` or `%20`.
    let spaced = h.confidential("spaced", "a b", |b| b).await;
    for encoded in ["spaced:a+b", "spaced:a%20b"] {
        let header = format!("Basic {}", STANDARD.encode(encoded));
        let resp = h.client_credentials(Auth::Header(&header), None).await;
        assert_eq!(resp.status(), 200, "{encoded}");
    }
    assert_eq!(
        h.client_credentials(Auth::Basic(&spaced), None)
            .await
            .status(),
        200
    );
    // ... so a literal `+` must be `%2B`.
    let plus = h.confidential("plus", "a+b", |b| b).await;
    let header = format!("Basic {}", STANDARD.encode("plus:a+b"));
    assert_error(
        &h.client_credentials(Auth::Header(&header), None).await,
        401,
        "invalid_client",
    );
    assert_eq!(
        h.client_credentials(Auth::Basic(&plus), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn ca02_client_secret_post_only_for_clients_registered_with_it() {
    // covers: CA-02
    let h = Harness::new().await;
    let poster = h
        .confidential("poster", "poster-secret", |b| {
            b.token_endpoint_auth_method(AuthMethod::ClientSecretPost)
        })
        .await;
    let basic_client = h.svc().await;
    let resp = h.client_credentials(Auth::Post(&poster), None).await;
    assert_eq!(resp.status(), 200);
    // The right secret by the wrong method fails, both ways round.
    assert_error(
        &h.client_credentials(Auth::Basic(&poster), None).await,
        401,
        "invalid_client",
    );
    assert_error(
        &h.client_credentials(Auth::Post(&basic_client), None).await,
        401,
        "invalid_client",
    );
    assert_eq!(
        h.client_credentials(Auth::Basic(&basic_client), None)
            .await
            .status(),
        200
    );
    // client_secret_post works at revocation and introspection too.
    let (token, _) = tokens(&h.client_credentials(Auth::Post(&poster), None).await);
    let resp = h.introspect_as(Auth::Post(&poster), &token).await;
    assert_eq!(json(&resp)["active"], true);
    let resp = h.revoke(Auth::Post(&poster), &[("token", &token)]).await;
    assert_eq!(resp.status(), 200);
    assert!(!h.active(&token).await);
}

#[tokio::test]
async fn ca03_header_and_body_secret_together_is_invalid_request() {
    // covers: CA-03
    let h = Harness::new().await;
    let svc = h.svc().await;
    let header = svc.basic();
    for endpoint in ENDPOINTS {
        let resp = call(
            &h.server,
            endpoint,
            Auth::Header(&header),
            &[
                ("grant_type", "client_credentials"),
                ("token", "x"),
                ("client_id", SVC),
                ("client_secret", SVC_SECRET),
            ],
        )
        .await;
        assert_error(&resp, 400, "invalid_request");
    }
    // A body client_id naming another client than the header is refused too.
    let resp = h
        .token(
            Auth::Header(&header),
            &[("grant_type", "client_credentials"), ("client_id", "other")],
        )
        .await;
    assert_error(&resp, 400, "invalid_request");
    // Repeating the same client_id beside Basic is harmless.
    let resp = h
        .token(
            Auth::Header(&header),
            &[("grant_type", "client_credentials"), ("client_id", SVC)],
        )
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn ca04_public_clients_identify_by_id_only_and_cannot_use_client_credentials() {
    // covers: CA-04
    let h = Harness::new().await;
    let spa = h.public("spa", |b| b).await;
    let code = h.issue_code(CodeSpec::new("spa")).await;
    let (access, refresh) = tokens(&h.redeem(Auth::IdOnly(&spa), &code).await);
    assert_eq!(h.introspect(&access).await["client_id"], "spa");
    let refresh = refresh.expect("refresh token");
    // A public client has no secret: presenting one is a failed authentication.
    let with_secret = Creds {
        id: "spa".into(),
        secret: Some("guess".into()),
    };
    assert_error(
        &h.refresh(Auth::Post(&with_secret), &refresh).await,
        401,
        "invalid_client",
    );
    assert_error(
        &h.refresh(Auth::Basic(&spa), &refresh).await,
        401,
        "invalid_client",
    );
    assert_eq!(h.refresh(Auth::IdOnly(&spa), &refresh).await.status(), 200);

    // It can be neither registered for client_credentials nor use it.
    let err = Client::public(ClientId::parse("spa2").unwrap())
        .grant_type(GrantType::ClientCredentials)
        .build()
        .unwrap_err();
    assert_eq!(err, ClientError::PublicClientCredentials);
    assert_error(
        &h.client_credentials(Auth::IdOnly(&spa), None).await,
        400,
        "unauthorized_client",
    );
    // And a confidential client cannot pass as public by leaving out its secret.
    let svc = h.svc().await;
    assert_error(
        &h.client_credentials(Auth::IdOnly(&svc), None).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn ca05_secrets_are_generated_with_256_bits_and_kept_only_as_hashes() {
    // covers: CA-05
    let h = Harness::new().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..64 {
        let (secret, hash) = generate_secret(h.server.random()).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(secret.expose_secret()).unwrap();
        assert_eq!(raw.len(), 32, "256 bits");
        assert!(hash.verify(secret.expose_secret()));
        assert!(
            seen.insert(secret.expose_secret().clone()),
            "secrets repeat"
        );
        // Shown once: neither the wrapper nor the hash prints it.
        assert!(!format!("{secret:?} {secret}").contains(secret.expose_secret().as_str()));
        assert!(!hash.encode().contains(secret.expose_secret().as_str()));
    }

    let (secret, hash) = generate_secret(h.server.random()).unwrap();
    let client = Client::confidential(ClientId::parse("gen").unwrap(), hash.clone())
        .grant_type(GrantType::ClientCredentials)
        .build()
        .unwrap();
    h.register(client).await;
    let stored = h.client("gen").await;
    assert_eq!(stored.secret_hash(), Some(&hash));
    let debug = format!("{stored:?}");
    assert!(!debug.contains(secret.expose_secret().as_str()), "{debug}");
    assert!(!debug.contains(&hash.encode()), "{debug}");
    let creds = Creds {
        id: "gen".into(),
        secret: Some(secret.expose_secret().clone()),
    };
    assert_eq!(
        h.client_credentials(Auth::Basic(&creds), None)
            .await
            .status(),
        200
    );

    // People-chosen secrets get PBKDF2 and authenticate the same way.
    let slow = SecretHash::pbkdf2(
        "correct horse",
        std::num::NonZeroU32::new(2).unwrap(),
        h.server.random(),
    )
    .unwrap();
    assert!(!format!("{slow:?}").contains(&slow.encode()));
    let client = Client::confidential(ClientId::parse("human").unwrap(), slow)
        .grant_type(GrantType::ClientCredentials)
        .build()
        .unwrap();
    h.register(client).await;
    let human = Creds {
        id: "human".into(),
        secret: Some("correct horse".into()),
    };
    assert_eq!(
        h.client_credentials(Auth::Basic(&human), None)
            .await
            .status(),
        200
    );
    let wrong = Creds {
        id: "human".into(),
        secret: Some("correct horse ".into()),
    };
    assert_error(
        &h.client_credentials(Auth::Basic(&wrong), None).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn ca06_unknown_client_and_wrong_secret_give_the_same_answer() {
    // covers: CA-06
    let h = Harness::new().await;
    h.svc().await;
    let unknown = Creds {
        id: "nobody".into(),
        secret: Some(SVC_SECRET.into()),
    };
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("not-the-secret".into()),
    };
    for endpoint in ENDPOINTS {
        let params = [("grant_type", "client_credentials"), ("token", "t")];
        let a = call(&h.server, endpoint, Auth::Basic(&unknown), &params).await;
        let b = call(&h.server, endpoint, Auth::Basic(&wrong), &params).await;
        assert_error(&a, 401, "invalid_client");
        assert_eq!(a, b, "{endpoint:?}: status, headers and body identical");
        let a = call(&h.server, endpoint, Auth::Post(&unknown), &params).await;
        let b = call(&h.server, endpoint, Auth::Post(&wrong), &params).await;
        assert_error(&a, 401, "invalid_client");
        assert_eq!(a, b, "{endpoint:?}");
        // An unknown id alone looks like a public client that does not exist.
        let a = call(&h.server, endpoint, Auth::IdOnly(&unknown), &params).await;
        let b = call(&h.server, endpoint, Auth::IdOnly(&wrong), &params).await;
        assert_eq!(a, b, "{endpoint:?}");
    }
}

#[tokio::test]
async fn ca07_a_disabled_client_cannot_authenticate_anywhere() {
    // covers: CA-07
    let h = Harness::new().await;
    let svc = h.svc().await;
    let spa = h.public("spa", |b| b).await;
    let (token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    let code = h.issue_code(CodeSpec::new("spa")).await;

    let disabled = h
        .client(SVC)
        .await
        .into_builder()
        .enabled(false)
        .build()
        .unwrap();
    h.update(disabled).await;
    let disabled_spa = h
        .client("spa")
        .await
        .into_builder()
        .enabled(false)
        .build()
        .unwrap();
    h.update(disabled_spa).await;

    let wrong = Creds {
        id: SVC.into(),
        secret: Some("not-the-secret".into()),
    };
    let refused = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_error(&refused, 401, "invalid_client");
    // Indistinguishable from a wrong secret.
    assert_eq!(
        refused,
        h.client_credentials(Auth::Basic(&wrong), None).await
    );
    assert_error(
        &h.revoke(Auth::Basic(&svc), &[("token", &token)]).await,
        401,
        "invalid_client",
    );
    assert_error(
        &h.introspect_as(Auth::Basic(&svc), &token).await,
        401,
        "invalid_client",
    );
    assert_error(
        &h.redeem(Auth::IdOnly(&spa), &code).await,
        401,
        "invalid_client",
    );

    // Enabled again, it works again (the code was not consumed meanwhile).
    let enabled = h
        .client(SVC)
        .await
        .into_builder()
        .enabled(true)
        .build()
        .unwrap();
    h.update(enabled).await;
    assert_eq!(
        h.client_credentials(Auth::Basic(&svc), None).await.status(),
        200
    );
    let enabled_spa = h
        .client("spa")
        .await
        .into_builder()
        .enabled(true)
        .build()
        .unwrap();
    h.update(enabled_spa).await;
    assert_eq!(h.redeem(Auth::IdOnly(&spa), &code).await.status(), 200);
}

#[tokio::test]
async fn ca09_credentials_in_the_query_string_are_invalid_request() {
    // covers: CA-09
    // issue 15 finding 6: credentials in the request URI were ignored; RFC
    // 6749 §2.3.1 says they must never be there, so they are refused, even
    // beside valid credentials in the header or the body.
    let h = Harness::new().await;
    let svc = h.svc().await;
    let (live, _) = tokens(&h.client_credentials(Auth::Basic(&svc), None).await);
    let body = form(&[("grant_type", "client_credentials"), ("token", &live)]);
    let post_body = form(&[
        ("grant_type", "client_credentials"),
        ("token", &live),
        ("client_id", SVC),
        ("client_secret", SVC_SECRET),
    ]);
    let basic = svc.basic();
    let queries = [
        format!("client_secret={SVC_SECRET}"),
        format!("client_id={SVC}"),
        format!("client_id={SVC}&client_secret={SVC_SECRET}"),
        "client_assertion=e30.e30.sig".to_owned(),
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            .to_owned(),
        format!("x=1&client%5Fsecret={SVC_SECRET}"),
    ];
    for endpoint in ENDPOINTS {
        for query in &queries {
            // Valid credentials in the header, or in the body.
            for (body, header) in [(&body, Some(basic.as_bytes())), (&post_body, None)] {
                let req = form_request(body.as_bytes(), header).query(query);
                let resp = send(&h.server, endpoint, &req).await;
                assert_error(&resp, 400, "invalid_request");
                assert_eq!(
                    resp.cause(),
                    Some(portcullis::Cause::InvalidRequest(
                        portcullis::RequestFault::CredentialsInQuery
                    )),
                    "{endpoint:?} {query}"
                );
            }
        }
    }
    // The refused revocations revoked nothing.
    assert!(h.active(&live).await);
    // Other query parameters, or an empty credential, change nothing.
    let body = form(&[("grant_type", "client_credentials"), ("token", "unknown")]);
    for endpoint in ENDPOINTS {
        for query in ["foo=bar", "client_id=", "client_ids=x"] {
            let req = form_request(body.as_bytes(), Some(basic.as_bytes())).query(query);
            let resp = send(&h.server, endpoint, &req).await;
            assert_eq!(resp.status(), 200, "{endpoint:?} {query}");
        }
    }
}
