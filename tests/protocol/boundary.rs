//! The HTTP boundary: the core's routing (`AuthorizationServer::handle`),
//! and with feature `tower` the `Endpoints` service and the `BearerLayer`
//! driven as a tower host would drive them.

use portcullis::http::{Method, Request};

use crate::support::*;

#[tokio::test]
async fn handle_routes_by_the_configured_paths() {
    let mut config = config();
    config.paths.token = "/oauth/token".into();
    let h = Harness::with_config(config).await;
    let svc = h.svc().await;
    let auth = svc.basic();
    let body = "grant_type=client_credentials";
    let req = form_request(body.as_bytes(), Some(auth.as_bytes()));
    tokens(&h.server.handle(&req, "/oauth/token").await);
    // The default path is no longer an endpoint: the core's 404, no body.
    let resp = h.server.handle(&req, "/token").await;
    assert_eq!((resp.status(), resp.body()), (404, &b""[..]));
    // The documents answer GET and HEAD, anything else is a 405 with Allow.
    let metadata = "/.well-known/oauth-authorization-server";
    for method in [Method::Get, Method::Head] {
        let resp = h.server.handle(&Request::new(method), metadata).await;
        assert_eq!(resp.status(), 200);
    }
    let resp = h
        .server
        .handle(&Request::new(Method::Post), "/jwks.json")
        .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("Allow"), Some("GET, HEAD"));
    // The form endpoints refuse other methods themselves (TOK-01).
    let resp = h
        .server
        .handle(&Request::new(Method::Get), "/oauth/token")
        .await;
    assert_error(&resp, 405, "invalid_request");
    assert_eq!(resp.header("Allow"), Some("POST"));
}

#[cfg(feature = "tower")]
mod tower {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Full};
    use portcullis::adapters::tower::{BearerLayer, Endpoints};
    use portcullis::{BearerToken, ScopeSet};
    use tower::{ServiceBuilder, ServiceExt};

    use crate::support::*;

    type Body = Full<bytes::Bytes>;

    fn post(path: &str, authorization: &str, body: Vec<u8>) -> http::Request<Body> {
        http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", authorization)
            .body(Body::from(body))
            .unwrap()
    }

    async fn read(resp: http::Response<Body>) -> (u16, http::HeaderMap, Vec<u8>) {
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status.as_u16(), parts.headers, body)
    }

    #[tokio::test]
    async fn the_endpoints_service_answers_as_the_core_does() {
        // covers: TOK-04, TOK-08
        let h = Harness::new().await;
        let auth = h.svc().await.basic();
        let endpoints = Endpoints::new(h.server.clone());
        let cc = b"grant_type=client_credentials".to_vec();
        let resp = endpoints.clone().oneshot(post("/token", &auth, cc)).await;
        let (status, headers, body) = read(resp.unwrap()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["pragma"], "no-cache");

        // A declared length over the limit is refused unread; so is a body
        // that turns out longer than the limit once read.
        let limit = h.server.config().max_body_size;
        let mut big = post("/token", &auth, Vec::new());
        big.headers_mut()
            .insert("content-length", (limit + 1).into());
        let (status, _, body) = read(endpoints.clone().oneshot(big).await.unwrap()).await;
        assert_eq!(status, 413);
        assert!(String::from_utf8_lossy(&body).contains("invalid_request"));
        let over = post("/revoke", &auth, vec![b'x'; limit + 1]);
        let (status, _, _) = read(endpoints.clone().oneshot(over).await.unwrap()).await;
        assert_eq!(status, 413);

        let nowhere = http::Request::get("/nowhere")
            .body(Body::default())
            .unwrap();
        let (status, _, _) = read(endpoints.clone().oneshot(nowhere).await.unwrap()).await;
        assert_eq!(status, 404);
        assert!(endpoints.serves("/introspect") && !endpoints.serves("/nowhere"));
    }

    #[tokio::test]
    async fn the_endpoints_service_serves_userinfo_with_user_claims() {
        // covers: OI-05
        // issue 16
        struct Nobody;
        #[portcullis::async_trait]
        impl portcullis::UserClaims for Nobody {
            async fn claims(
                &self,
                _: &portcullis::ClaimsQuery<'_>,
            ) -> Result<serde_json::Map<String, serde_json::Value>, portcullis::StoreError>
            {
                Ok(serde_json::Map::new())
            }
        }
        let get = |token: Option<&str>| {
            let mut req = http::Request::get("/userinfo")
                .body(Body::default())
                .unwrap();
            if let Some(t) = token {
                req.headers_mut()
                    .insert("authorization", format!("Bearer {t}").parse().unwrap());
            }
            req
        };
        let h = Harness::with(config(), |b| b.user_claims(Arc::new(Nobody))).await;
        let endpoints = Endpoints::new(h.server.clone());
        assert!(endpoints.serves("/userinfo"));
        let (status, headers, _) = read(endpoints.clone().oneshot(get(None)).await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"oauth\"");
        // The token in a POSTed form body: the service reads the body.
        let rp = h
            .confidential("rp", "rp-secret", |b| b.scope(scope("openid read")))
            .await;
        let code = h.issue_code(CodeSpec::new("rp").scope("openid")).await;
        let (token, _) = tokens(&h.redeem(Auth::Basic(&rp), &code).await);
        let (status, headers, body) =
            read(endpoints.clone().oneshot(get(Some(&token))).await.unwrap()).await;
        assert_eq!((status, body.as_slice()), (200, &br#"{"sub":"alice"}"#[..]));
        assert_eq!(headers["cache-control"], "no-store");
        let post = http::Request::post("/userinfo")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("access_token={token}")))
            .unwrap();
        let (status, _, body) = read(endpoints.clone().oneshot(post).await.unwrap()).await;
        assert_eq!((status, body.as_slice()), (200, &br#"{"sub":"alice"}"#[..]));

        // Without a UserClaims the path is not the server's.
        let plain = Endpoints::new(Harness::new().await.server);
        assert!(!plain.serves("/userinfo"));
        let (status, _, _) = read(plain.oneshot(get(None)).await.unwrap()).await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn the_bearer_layer_guards_with_scopes_and_hands_on_the_token() {
        // covers: TK-04, TK-05
        let h = Harness::new().await;
        let svc = h.svc().await;
        let (read_token, _) = tokens(&h.client_credentials(Auth::Basic(&svc), Some("read")).await);
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let required = ScopeSet::parse("write").unwrap();
        let guarded = ServiceBuilder::new()
            .layer(BearerLayer::new(h.server.clone(), required))
            .service_fn(move |req: http::Request<Body>| {
                seen.fetch_add(1, Ordering::SeqCst);
                let token = req.extensions().get::<BearerToken>().cloned();
                let client = token.map(|t| t.client_id().as_str().to_owned());
                async move {
                    let resp = http::Response::new(Body::from(client.unwrap_or_default()));
                    Ok::<_, Infallible>(resp)
                }
            });
        let get = |token: Option<&str>| {
            let mut req = http::Request::get("/api").body(Body::default()).unwrap();
            if let Some(t) = token {
                req.headers_mut()
                    .insert("authorization", format!("Bearer {t}").parse().unwrap());
            }
            req
        };

        // No token: 401, the bare challenge; the route is not called.
        let (status, headers, _) = read(guarded.clone().oneshot(get(None)).await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"oauth\"");
        // An unknown token: 401 invalid_token.
        let resp = guarded.clone().oneshot(get(Some("nope"))).await.unwrap();
        let (status, headers, _) = read(resp).await;
        assert_eq!(status, 401);
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        // A valid token without the scope: 403 naming the scope.
        let resp = guarded
            .clone()
            .oneshot(get(Some(&read_token)))
            .await
            .unwrap();
        let (status, headers, _) = read(resp).await;
        assert_eq!(status, 403);
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"write\""), "{challenge}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        // With the scope: the route runs, with the validated token.
        let resp = h
            .client_credentials(Auth::Basic(&svc), Some("read write"))
            .await;
        let (write_token, _) = tokens(&resp);
        let resp = guarded
            .clone()
            .oneshot(get(Some(&write_token)))
            .await
            .unwrap();
        let (status, _, body) = read(resp).await;
        assert_eq!((status, body.as_slice()), (200, SVC.as_bytes()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
