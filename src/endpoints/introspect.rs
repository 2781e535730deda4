//! The introspection endpoint (RFC 7662): confidential-client
//! authentication; an active token is described only to its own client or,
//! for an access token, to a client registered as a resource server for
//! its audience; anything else is only `{"active":false}` (IN-01).

use crate::client::authenticate::{Credentials, client};
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::endpoints::client_form_post;
use crate::error::Error;
use crate::http::{Request, Response};
use crate::observe::{endpoint_span, in_span, record_outcome, refuse};
use crate::scope::ScopeSet;
use crate::tokens::TokenHash;

const PARAMS: [&str; 6] = [
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

/// An active token's description, written straight into the body (RFC 7662
/// §2.2). Strings go through serde_json for escaping; scope tokens never need
/// any (RFC 6749 §3.3 excludes `"` and `\`).
struct Active<'a> {
    scope: &'a ScopeSet,
    client_id: &'a str,
    username: Option<&'a str>,
    sub: &'a str,
    exp: u64,
    iat: u64,
    iss: &'a str,
    token_type: &'static str,
    /// The DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6.2).
    jkt: Option<&'a str>,
    /// `aud` (RFC 7662 §2.2): a string or an array.
    aud: Option<serde_json::Value>,
    /// `act` (RFC 8693 §4.1, §2.1: introspection shows the actor of a
    /// delegated token; TE-01).
    act: Option<serde_json::Value>,
}

impl Active<'_> {
    fn render(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(br#"{"active":true,"scope":""#);
        self.scope.write_to(&mut out);
        out.extend_from_slice(br#"","client_id":"#);
        serde_json::to_writer(&mut out, self.client_id)?;
        if let Some(jkt) = self.jkt {
            out.extend_from_slice(br#","cnf":{"jkt":"#);
            serde_json::to_writer(&mut out, jkt)?;
            out.push(b'}');
        }
        if let Some(username) = self.username {
            out.extend_from_slice(br#","username":"#);
            serde_json::to_writer(&mut out, username)?;
        }
        out.extend_from_slice(br#","sub":"#);
        serde_json::to_writer(&mut out, self.sub)?;
        out.extend_from_slice(br#","exp":"#);
        serde_json::to_writer(&mut out, &self.exp)?;
        out.extend_from_slice(br#","iat":"#);
        serde_json::to_writer(&mut out, &self.iat)?;
        out.extend_from_slice(br#","iss":"#);
        serde_json::to_writer(&mut out, self.iss)?;
        out.extend_from_slice(br#","token_type":""#);
        out.extend_from_slice(self.token_type.as_bytes());
        out.push(b'"');
        if let Some(aud) = &self.aud {
            out.extend_from_slice(br#","aud":"#);
            serde_json::to_writer(&mut out, aud)?;
        }
        if let Some(act) = &self.act {
            out.extend_from_slice(br#","act":"#);
            serde_json::to_writer(&mut out, act)?;
        }
        out.push(b'}');
        Ok(out)
    }
}

/// The `token_type` of an access token (RFC 7662 §2.2): `DPoP` when bound
/// to a key (RFC 9449 §6.2), else `Bearer`.
fn access_type(jkt: Option<&JwkThumbprint>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

pub(crate) async fn handle(cx: &Context, req: &Request<'_>) -> Response {
    let span = endpoint_span("introspect");
    let response = match in_span!(span, run(cx, req)) {
        Ok(body) => Response::json_no_store(200, body),
        Err(e) => refuse("introspect", &e),
    };
    record_outcome(&span, &response);
    response
}

async fn run(cx: &Context, req: &Request<'_>) -> Result<Vec<u8>, Error> {
    let [
        token,
        hint,
        client_id,
        client_secret,
        assertion_type,
        assertion,
    ] = client_form_post(&cx.config, req, &PARAMS)?;
    let caller = client(
        cx,
        Credentials {
            authorization: req.authorization(),
            client_id,
            client_secret,
            assertion_type,
            assertion,
            source: req.source(),
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
    let now = cx.clock.now();
    let tokens = &*cx.tokens;
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
                r.dpop_jkt,
                r.resources,
                None,
            )),
            None => tokens.find_access(&hash).await?.map(|a| {
                (
                    a.client_id,
                    a.subject,
                    a.scope,
                    a.issued_at,
                    a.expires_at,
                    true,
                    access_type(a.dpop_jkt.as_ref()),
                    a.dpop_jkt,
                    a.resources,
                    a.act,
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
                access_type(a.dpop_jkt.as_ref()),
                a.dpop_jkt,
                a.resources,
                a.act,
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
                    r.dpop_jkt,
                    r.resources,
                    None,
                )
            }),
        }
    };
    let Some((client_id, subject, scope, iat, exp, live, token_type, jkt, resources, act)) = found
    else {
        return inactive();
    };
    if !live || exp <= now {
        return inactive();
    }
    // IN-01, RFC 7662 §4: only the token's own client or, for an access
    // token, a resource server for one of its audiences (its resources, or
    // the default audience without any; RI-01) learns that it is active. A
    // refresh token is only ever its own client's business.
    let own = client_id == *caller.client_id();
    let default = cx.config.audience();
    let resource_server = token_type != "refresh_token"
        && caller
            .resource_server_audiences()
            .iter()
            .any(|a| crate::bearer::for_audience(&resources, default, a.as_str()));
    if !own && !resource_server {
        return inactive();
    }
    // A disabled or deleted client's tokens are inactive (issue 15 finding
    // 7). The caller is the token's client when `own`, and just
    // authenticated, so it is enabled.
    if !own && !cx.client_enabled(&client_id).await? {
        return inactive();
    }
    let body = Active {
        scope: &scope,
        client_id: client_id.as_str(),
        username: subject.as_ref().map(|s| s.as_str()),
        // RFC 9068 §2.2: without a user, the subject is the client itself.
        sub: subject.as_ref().map_or(client_id.as_str(), |s| s.as_str()),
        exp: exp.as_secs(),
        iat: iat.as_secs(),
        iss: &cx.config.issuer,
        token_type,
        jkt: jkt.as_ref().map(JwkThumbprint::as_str),
        // RI-01: an access token's audiences; a refresh token has none.
        aud: (token_type != "refresh_token")
            .then(|| crate::tokens::jwt::audience_claim(default, &resources)),
        act: act.as_ref().map(crate::tokens::actor::Actor::to_json),
    };
    body.render()
        .map_err(|_| Error::Internal(crate::error::InternalFault::Encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body as it was rendered before: serde_json on this struct.
    #[derive(serde::Serialize)]
    struct Reference<'a> {
        active: bool,
        scope: String,
        client_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cnf: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<&'a str>,
        sub: &'a str,
        exp: u64,
        iat: u64,
        iss: &'a str,
        token_type: &'static str,
    }

    #[test]
    fn rendering_matches_serde_json_byte_for_byte() {
        let scopes = [ScopeSet::parse("b a").unwrap(), ScopeSet::empty()];
        let cases = [
            (None, "svc", "https://auth.example.com", "Bearer"),
            (
                Some("jo \"q\" \\ é\u{7f}"),
                "c\"\\d",
                "https://a.example/\u{8}\u{c}\u{1f}\n",
                "refresh_token",
            ),
        ];
        for (scope, jkt) in scopes.iter().flat_map(|s| [(s, None), (s, Some("k-_1"))]) {
            for (username, client_id, iss, token_type) in cases {
                let sub = username.unwrap_or(client_id);
                let active = Active {
                    scope,
                    client_id,
                    username,
                    sub,
                    exp: 1_700_003_600,
                    iat: 1_700_000_000,
                    iss,
                    token_type,
                    jkt,
                    aud: None,
                    act: None,
                };
                let reference = Reference {
                    active: true,
                    scope: scope.to_string(),
                    client_id,
                    cnf: jkt.map(|k| serde_json::json!({ "jkt": k })),
                    username,
                    sub,
                    exp: 1_700_003_600,
                    iat: 1_700_000_000,
                    iss,
                    token_type,
                };
                assert_eq!(
                    String::from_utf8(active.render().unwrap()).unwrap(),
                    serde_json::to_string(&reference).unwrap()
                );
            }
        }
    }
}
