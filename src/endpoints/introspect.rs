//! The introspection endpoint (RFC 7662): confidential-client
//! authentication; active tokens are described, anything else is only
//! `{"active":false}` (IN-01).

use serde::Serialize;

use crate::client::authenticate::{Credentials, client};
use crate::endpoints::{form_post, refuse};
use crate::error::Error;
use crate::http::{Request, Response};
use crate::server::AuthorizationServer;
use crate::tokens::TokenHash;

const PARAMS: [&str; 6] = [
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    scope: String,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    sub: &'a str,
    exp: u64,
    iat: u64,
    iss: &'a str,
    token_type: &'static str,
}

pub(crate) async fn handle(server: &AuthorizationServer, req: &Request<'_>) -> Response {
    match run(server, req).await {
        Ok(body) => Response::json_no_store(200, body),
        Err(e) => refuse("introspect", &e),
    }
}

async fn run(server: &AuthorizationServer, req: &Request<'_>) -> Result<Vec<u8>, Error> {
    let [
        token,
        hint,
        client_id,
        client_secret,
        assertion_type,
        assertion,
    ] = form_post(server, req, &PARAMS)?;
    let caller = client(
        server,
        Credentials {
            authorization: req.authorization(),
            client_id,
            client_secret,
            assertion_type,
            assertion,
        },
    )
    .await?;
    // RFC 7662 §2.1: the caller must authenticate; a public client's id alone
    // is not authentication.
    if !caller.is_confidential() {
        return Err(Error::ClientAuthentication { via_basic: false });
    }
    let token = token.ok_or(Error::missing("token"))?;
    let hash = TokenHash::of(&token);
    let now = server.clock.now();
    let tokens = &*server.tokens;
    let inactive = || Ok(br#"{"active":false}"#.to_vec());
    let refresh_first = hint.as_deref() == Some("refresh_token");
    let found = if refresh_first {
        match tokens.find_refresh(&hash).await? {
            Some(r) => Some((
                r.client_id,
                r.subject,
                r.scope,
                r.issued_at,
                r.expires_at,
                !r.used,
                "refresh_token",
            )),
            None => tokens.find_access(&hash).await?.map(|a| {
                (
                    a.client_id,
                    a.subject,
                    a.scope,
                    a.issued_at,
                    a.expires_at,
                    true,
                    "Bearer",
                )
            }),
        }
    } else {
        match tokens.find_access(&hash).await? {
            Some(a) => Some((
                a.client_id,
                a.subject,
                a.scope,
                a.issued_at,
                a.expires_at,
                true,
                "Bearer",
            )),
            None => tokens.find_refresh(&hash).await?.map(|r| {
                (
                    r.client_id,
                    r.subject,
                    r.scope,
                    r.issued_at,
                    r.expires_at,
                    !r.used,
                    "refresh_token",
                )
            }),
        }
    };
    let Some((client_id, subject, scope, iat, exp, live, token_type)) = found else {
        return inactive();
    };
    if !live || exp <= now {
        return inactive();
    }
    let body = Active {
        active: true,
        scope: scope.to_string(),
        client_id: client_id.as_str(),
        username: subject.as_ref().map(|s| s.as_str()),
        // RFC 9068 §2.2: without a user, the subject is the client itself.
        sub: subject.as_ref().map_or(client_id.as_str(), |s| s.as_str()),
        exp: exp.as_secs(),
        iat: iat.as_secs(),
        iss: &server.config.issuer,
        token_type,
    };
    serde_json::to_vec(&body).map_err(|_| Error::Store(crate::error::StoreError::msg("json")))
}
