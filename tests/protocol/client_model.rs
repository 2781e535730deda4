//! The full client model (issue 19 part 1): registered fields the server
//! honours at the token endpoint.

use std::time::Duration;

use portcullis::UnixTime;

use crate::support::*;

#[tokio::test]
async fn a_secret_past_client_secret_expires_at_no_longer_authenticates() {
    // RFC 7591 §3.2.1 client_secret_expires_at.
    let h = Harness::new().await;
    let c = h
        .confidential("expiring", "expiring-secret-1", |b| {
            b.grant_type(portcullis::GrantType::ClientCredentials)
                .client_secret_expires_at(UnixTime::from_secs(T0 + 60))
        })
        .await;
    let ok = h.client_credentials(Auth::Basic(&c), None).await;
    assert_eq!(ok.status(), 200);
    h.clock.advance(Duration::from_secs(60));
    assert_error(
        &h.client_credentials(Auth::Basic(&c), None).await,
        401,
        "invalid_client",
    );
    // A client without the field is not affected.
    let svc = h.svc().await;
    assert_eq!(
        h.client_credentials(Auth::Basic(&svc), None).await.status(),
        200
    );
}
