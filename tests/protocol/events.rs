//! The audit event hook (`EventSink`): every event type reaches the sink
//! with the right fields, after the step it reports; none carries a
//! secret (RB-03); and a refused request reports its precise cause on the
//! response (`Response::cause`).

use std::sync::{Arc, Mutex};

use portcullis::http::{Method, Request};
use portcullis::{
    AuthorizeStep, BearerFault, Cause, Event, EventSink, GrantFault, GrantType, KeyId, MemoryKeys,
    ScopeSet, SigningFault, UserId,
};

use crate::support::*;

/// An owned copy of an event: its name and its fields as the sink saw them.
/// `all` keeps every event for the final redaction check.
#[derive(Default)]
struct Recorder(Mutex<Vec<(&'static str, String)>>, Mutex<Vec<String>>);

impl EventSink for Recorder {
    fn event(&self, event: &Event<'_>) {
        let text = format!("{event:?}");
        self.1.lock().unwrap().push(text.clone());
        self.0.lock().unwrap().push((event.name(), text));
    }
}

impl Recorder {
    fn take(&self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn names(&self) -> Vec<&'static str> {
        self.take().into_iter().map(|(n, _)| n).collect()
    }
}

async fn harness() -> (Harness, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    let h = Harness::with(config(), move |b| {
        b.events(sink).key_provider(Arc::new(MemoryKeys::new()))
    })
    .await;
    (h, recorder)
}

#[tokio::test]
async fn token_events_carry_client_user_grant_and_scope() {
    // covers: RB-03
    let capture = LogCapture::default();
    let _guard = capture.install();
    let (h, events) = harness().await;
    let svc = h.svc().await;

    // client_credentials: TokenIssued, no user, no refresh token.
    let resp = h.client_credentials(Auth::Basic(&svc), Some("read")).await;
    assert_eq!(resp.status(), 200);
    let seen = events.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (name, fields) = &seen[0];
    assert_eq!(*name, "token_issued");
    assert!(fields.contains("grant_type: ClientCredentials"), "{fields}");
    assert!(fields.contains("user: None"), "{fields}");
    assert!(fields.contains("refresh_token: false"), "{fields}");
    assert!(fields.contains("\"svc\""), "{fields}");

    // The code flow: TokenIssued for alice with a refresh token...
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    let (access, refresh) = tokens(&h.redeem(Auth::Basic(&svc), &code).await);
    let refresh = refresh.unwrap();
    let seen = events.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "token_issued");
    assert!(seen[0].1.contains("grant_type: AuthorizationCode"));
    assert!(seen[0].1.contains("refresh_token: true"));
    assert!(seen[0].1.contains("alice"), "{}", seen[0].1);

    // ...then a rotation...
    let rotated = h.refresh(Auth::Basic(&svc), &refresh).await;
    assert_eq!(rotated.status(), 200);
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "refresh_rotated");
    assert!(seen[0].1.contains("alice"));

    // ...and a replay of the old refresh token revokes the grant.
    let replay = h.refresh(Auth::Basic(&svc), &refresh).await;
    assert_error(&replay, 400, "invalid_grant");
    assert_eq!(
        replay.cause(),
        Some(Cause::InvalidGrant(GrantFault::RefreshReused))
    );
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "replay_detected");
    assert!(seen[0].1.contains("replayed: RefreshToken"));
    assert!(!h.active(&access).await);

    // A redeemed code presented again: the same, for codes.
    let code = h.issue_code(CodeSpec::new(SVC)).await;
    assert_eq!(h.redeem(Auth::Basic(&svc), &code).await.status(), 200);
    assert_eq!(events.names(), ["token_issued"]);
    let again = h.redeem(Auth::Basic(&svc), &code).await;
    assert_eq!(
        again.cause(),
        Some(Cause::InvalidGrant(GrantFault::CodeReused))
    );
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "replay_detected");
    assert!(seen[0].1.contains("replayed: Code"));

    // Each replay is a warning in the logs, not a debug line.
    let logs = capture.text();
    let warnings = logs
        .lines()
        .filter(|l| l.starts_with("WARN") && l.contains("replay detected: grant revoked"))
        .count();
    assert_eq!(warnings, 2, "{logs}");

    // Every token, code and secret stays out of every event.
    let all = events.1.lock().unwrap().clone();
    assert_eq!(all.len(), 6, "{all:?}");
    for fields in all {
        for secret in [SVC_SECRET, access.as_str(), refresh.as_str(), &code.code] {
            assert!(!fields.contains(secret), "{fields}");
        }
    }
}

#[tokio::test]
async fn failed_client_authentication_is_reported_with_the_presented_id() {
    let (h, events) = harness().await;
    h.svc().await;
    let wrong = Creds {
        id: SVC.into(),
        secret: Some("not-the-secret".into()),
    };
    let resp = h.client_credentials(Auth::Basic(&wrong), None).await;
    assert_error(&resp, 401, "invalid_client");
    assert_eq!(resp.cause(), Some(Cause::ClientAuthentication));
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "client_authentication_failed");
    assert!(seen[0].1.contains("\"svc\""));
    assert!(!seen[0].1.contains("not-the-secret"));
    // An id that does not parse is reported as none.
    let resp = h.client_credentials(Auth::Header("Basic !!!"), None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        events.take(),
        vec![(
            "client_authentication_failed",
            "ClientAuthenticationFailed { client_id: None }".to_owned()
        )]
    );
}

#[tokio::test]
async fn consent_keys_and_clients_are_reported() {
    let (h, events) = harness().await;
    let alice = UserId::parse("alice").unwrap();

    // A client registered and changed through the server.
    let app = portcullis::Client::confidential(id("app"), portcullis::SecretHash::sha256("s"))
        .redirect_uri(redirect(REDIRECT))
        .grant_type(GrantType::AuthorizationCode)
        .scope(scope("read write"))
        .build()
        .unwrap();
    h.server
        .register_client(&h.store, app.clone())
        .await
        .unwrap();
    assert!(h.server.update_client(&h.store, app).await.unwrap());
    assert_eq!(events.names(), ["client_registered", "client_changed"]);

    // Consent granted at approval, revoked through the server.
    let query = authorization_query("app");
    let step = h
        .server
        .authorize(
            &Request::new(Method::Get).query(&query),
            Some(&signed_in(&alice)),
        )
        .await;
    let AuthorizeStep::Consent(pending) = step else {
        panic!("expected consent, got {step:?}");
    };
    assert_eq!(h.server.approve(pending).await.status(), 302);
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "consent_granted");
    assert!(seen[0].1.contains("alice") && seen[0].1.contains("\"app\""));
    assert!(seen[0].1.contains("read"));
    assert!(
        h.server
            .revoke_consent(&h.store, &alice, &id("app"))
            .await
            .unwrap()
    );
    assert!(
        !h.server
            .revoke_consent(&h.store, &alice, &id("app"))
            .await
            .unwrap()
    );
    assert_eq!(events.names(), ["consent_revoked"]);

    // Keys: the first key and a rotation, each with its id.
    let first: KeyId = h.server.ensure_signing_key().await.unwrap();
    let second = h.server.rotate_keys().await.unwrap();
    let seen = events.take();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(n, _)| *n == "key_rotated"));
    assert!(seen[0].1.contains(first.as_str()));
    assert!(seen[1].1.contains(second.as_str()));
    // An existing key is not a rotation.
    h.server.ensure_signing_key().await.unwrap();
    assert!(events.take().is_empty());
}

#[tokio::test]
async fn refusals_carry_their_precise_cause() {
    let h = Harness::new().await;
    let svc = h.svc().await;
    // A JWT client without a key provider: a signing fault, not a store failure.
    let jwt = h
        .confidential("jwt", "jwt-secret", |b| {
            b.access_token_format(portcullis::AccessTokenFormat::Jwt)
        })
        .await;
    let resp = h.client_credentials(Auth::Basic(&jwt), None).await;
    assert_error(&resp, 500, "server_error");
    assert_eq!(
        resp.cause(),
        Some(Cause::Signing(SigningFault::NoSigningKey))
    );
    // Resource requests: no token, a malformed header, an unknown token.
    let required = ScopeSet::default();
    for (headers, fault) in [
        (&[][..], BearerFault::Missing),
        (&["Bearer a", "Bearer b"][..], BearerFault::Malformed),
        (&["Bearer a b"][..], BearerFault::Invalid),
        (&["Bearer unknown-token"][..], BearerFault::Invalid),
    ] {
        let mut req = Request::new(Method::Get);
        for v in headers {
            req = req.header("Authorization", v.as_bytes());
        }
        let err = h
            .server
            .authenticate_bearer(&req, &required)
            .await
            .unwrap_err();
        assert_eq!(err.cause(), Some(Cause::Bearer(fault)), "{headers:?}");
    }
    // A good request carries none.
    let ok = h.client_credentials(Auth::Basic(&svc), None).await;
    assert_eq!(ok.cause(), None);
}
