//! What every grant shares: the token request parameters, the scope rule,
//! and minting an access token (opaque or JWT) with its optional refresh
//! token and the records a store keeps of them.

use std::borrow::Cow;

use crate::client::Client;
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::{Error, SigningFault};
use crate::events::{Event, Replayed};
use crate::http::Source;
use crate::oidc::OpenIdGrant;
use crate::resource::{self, Resource};
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::stores::{AccessRecord, NewTokens, RefreshRecord};
use crate::tokens::GrantId;
use crate::tokens::actor::Actor;
use crate::tokens::opaque::{Minted, mint, mint_pair, random_value};
use crate::tokens::{AccessTokenFormat, TokenHash};
use crate::user::UserId;

/// The token request parameters a grant may read.
#[derive(Default)]
pub(crate) struct TokenParams<'a> {
    pub(crate) code: Option<Cow<'a, str>>,
    pub(crate) redirect_uri: Option<Cow<'a, str>>,
    pub(crate) code_verifier: Option<Cow<'a, str>>,
    pub(crate) refresh_token: Option<Cow<'a, str>>,
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) username: Option<Cow<'a, str>>,
    pub(crate) password: Option<Cow<'a, str>>,
    /// Who sent the request, for the throttle (password grant).
    pub(crate) source: Option<Source<'a>>,
    /// The thumbprint of the key of the request's verified DPoP proof
    /// (DP-01): the access token is bound to it.
    pub(crate) dpop: Option<JwkThumbprint>,
    /// The `resource` parameters (RFC 8707), parsed; empty when none.
    pub(crate) resources: Vec<Resource>,
    /// The `device_code` of the device grant (RFC 8628 §3.4).
    pub(crate) device_code: Option<Cow<'a, str>>,
    /// The whole form body, for the parameters of an extension grant or a
    /// token exchange (issue 18).
    pub(crate) form: &'a [u8],
}

/// What a successful grant hands back to the endpoint for rendering.
pub(crate) struct Issued {
    pub(crate) access_token: Secret<String>,
    pub(crate) expires_in: u64,
    pub(crate) refresh_token: Option<Secret<String>>,
    pub(crate) scope: ScopeSet,
    /// The grant the tokens belong to, and its resource owner (for the
    /// audit event).
    pub(crate) grant: GrantId,
    pub(crate) subject: Option<UserId>,
    /// The ID Token issued with the access token when its scope holds
    /// `openid` and the grant has OpenID Connect facts and an end-user
    /// (OI-02, OI-10); never otherwise (OI-03).
    pub(crate) id_token: Option<Secret<String>>,
    /// Whether the access token is DPoP-bound (`token_type` `DPoP`).
    pub(crate) dpop: bool,
    /// A token exchange's `issued_token_type` (RFC 8693 §2.2.1); `None`
    /// for every other grant.
    pub(crate) issued_token_type: Option<crate::token_exchange::TokenType>,
}

/// The scope a request asks for: the client's default when absent (RFC
/// 6749 §3.3); `invalid_scope` when malformed or outside `allowed`. A
/// request naming exactly `allowed` or `default` gets that set itself (a
/// reference-count increment, no allocation).
pub(crate) fn requested_scope(
    requested: Option<&str>,
    allowed: &ScopeSet,
    default: Option<&ScopeSet>,
) -> Result<ScopeSet, Error> {
    match requested {
        None => Ok(default.cloned().unwrap_or_default()),
        Some(s) => ScopeSet::parse_within(s, allowed, default).ok_or(Error::InvalidScope),
    }
}

/// What to mint for one token response.
pub(crate) struct Mint<'a> {
    pub(crate) client: &'a Client,
    pub(crate) subject: Option<UserId>,
    /// The scope of the access token.
    pub(crate) scope: ScopeSet,
    /// The grant the tokens join; a new one is derived when `None`.
    pub(crate) grant: Option<GrantId>,
    /// The scope of the refresh token to issue with it, if any.
    pub(crate) refresh_scope: Option<ScopeSet>,
    /// The OpenID Connect facts of the grant, if it has them. Kept (without
    /// `nonce`) on each token whose scope holds `openid`.
    pub(crate) openid: Option<OpenIdGrant>,
    /// The DPoP key the access token is bound to (DP-01).
    pub(crate) dpop_jkt: Option<JwkThumbprint>,
    /// The DPoP key the refresh token is bound to (DP-02): see
    /// [`refresh_binding`].
    pub(crate) refresh_dpop_jkt: Option<JwkThumbprint>,
    /// The access token's resources (RFC 8707): its audiences; empty for
    /// the default audience (RI-01).
    pub(crate) resources: Vec<Resource>,
    /// The grant's resources, which the refresh token keeps.
    pub(crate) refresh_resources: Vec<Resource>,
}

/// The key a new grant's refresh token is bound to (RFC 9449 §5; DP-02):
/// a public client's, to the key of its proof; a confidential client's
/// refresh token is bound by its authentication instead, and each access
/// token to the key presented at refresh.
pub(crate) fn refresh_binding(
    client: &Client,
    dpop: Option<&JwkThumbprint>,
) -> Option<JwkThumbprint> {
    dpop.filter(|_| !client.is_confidential()).cloned()
}

/// Whether `client` may ask tokens for `resource`: one of its own
/// resources or one of the server's (RI-01).
pub(crate) fn resource_allowed(cx: &Context, client: &Client, resource: &Resource) -> bool {
    client.resources().contains(resource) || cx.config.resources.contains(resource)
}

/// The resources a token request is granted (RFC 8707 §2.2, RI-01). A grant
/// that has resources (`grant`, e.g. the code's) bounds the request: it may
/// narrow them, never widen them, and without `resource` the token gets
/// them all. A grant without resources (none were asked for at the
/// authorization endpoint, or a grant that starts here) lets the request
/// name any resource the client is allowed. Either way only resources the
/// client is still allowed count; anything else is `invalid_target`.
pub(crate) fn granted_resources(
    cx: &Context,
    client: &Client,
    requested: Vec<Resource>,
    grant: &[Resource],
) -> Result<Vec<Resource>, Error> {
    let allowed = |r: &Resource| resource_allowed(cx, client, r);
    if grant.is_empty() {
        return resource::within(requested, allowed, &[]);
    }
    let still: Vec<Resource> = grant.iter().filter(|r| allowed(r)).cloned().collect();
    if still.is_empty() {
        // Every resource of the grant was withdrawn: as for a scope
        // withdrawn from the client, nothing is left to grant.
        return Err(Error::InvalidTarget);
    }
    resource::within(requested, |r| still.contains(r), &still)
}

/// The facts a token with `scope` keeps: `None` unless the scope holds
/// `openid` (OI-03), and never the `nonce`.
fn openid_for(openid: Option<&OpenIdGrant>, scope: &ScopeSet) -> Option<OpenIdGrant> {
    openid
        .filter(|_| scope.contains("openid"))
        .map(OpenIdGrant::without_nonce)
}

/// What only extension grants and token exchange add to a token (issue
/// 18): the host's claims in a JWT access token, and the actor of a
/// delegated one (kept with the access token's record too).
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) claims: serde_json::Map<String, serde_json::Value>,
    pub(crate) actor: Option<Actor>,
}

/// Signs an RFC 9068 access token with the current key of the access-token
/// algorithm (TK-03).
async fn jwt_access_token(
    cx: &Context,
    m: &Mint<'_>,
    extras: &Extras,
    now: crate::clock::UnixTime,
    life: std::time::Duration,
) -> Result<String, Error> {
    use serde_json::Value;
    let ring = cx.key_ring().await?;
    let key = ring
        .access_token_key(cx.config.access_token_signing_alg, now)
        .ok_or(Error::Signing(match cx.config.access_token_signing_alg {
            Some(alg) => SigningFault::NoKeyForAlgorithm(alg.as_str()),
            None => SigningFault::NoSigningKey,
        }))?;
    let jti = random_value(&*cx.random)?;
    let config = &cx.config;
    let client_id = m.client.client_id().as_str();
    // RFC 9068 §2.2: without a resource owner the subject is the client.
    let sub = m.subject.as_ref().map_or(client_id, UserId::as_str);
    let exp = now.plus(life).as_secs();
    let payload = match &cx.claims_hook {
        // The usual case: the registered claims, written straight into JSON.
        None if extras.claims.is_empty() => crate::tokens::jwt::AccessClaims {
            aud: config.audience(),
            resources: &m.resources,
            client_id,
            exp,
            iat: now.as_secs(),
            iss: &config.issuer,
            jti: jti.as_str(),
            scope: &m.scope,
            sub,
            jkt: m.dpop_jkt.as_ref().map(JwkThumbprint::as_str),
            act: extras.actor.as_ref(),
        }
        .render(),
        hook => {
            let mut claims = serde_json::Map::new();
            let hooked = hook
                .as_ref()
                .map(|h| h.claims(m.client, m.subject.as_ref(), &m.scope));
            // The handler's claims override the hook's (issue 18).
            for (k, v) in hooked.into_iter().flatten().chain(extras.claims.clone()) {
                if !crate::tokens::jwt::RESERVED.contains(&k.as_str()) {
                    claims.insert(k, v);
                }
            }
            if let Some(act) = &extras.actor {
                claims.insert("act".into(), act.to_json());
            }
            claims.insert("iss".into(), Value::from(config.issuer.as_str()));
            claims.insert("exp".into(), Value::from(exp));
            claims.insert(
                "aud".into(),
                crate::tokens::jwt::audience_claim(config.audience(), &m.resources),
            );
            claims.insert("sub".into(), Value::from(sub));
            claims.insert("client_id".into(), Value::from(client_id));
            claims.insert("iat".into(), Value::from(now.as_secs()));
            claims.insert("jti".into(), Value::from(jti.as_str()));
            if !m.scope.is_empty() {
                claims.insert("scope".into(), Value::from(m.scope.to_string()));
            }
            if let Some(jkt) = &m.dpop_jkt {
                claims.insert("cnf".into(), serde_json::json!({ "jkt": jkt.as_str() }));
            }
            serde_json::to_vec(&claims)
        }
    }
    .map_err(|_| Error::Signing(SigningFault::ClaimsEncoding))?;
    crate::tokens::jwt::sign_payload(key, &payload)
        .ok_or(Error::Signing(SigningFault::SignatureFailed))
}

/// Mints an access token (and optionally a refresh token) and the records a
/// store keeps of them.
pub(crate) async fn mint_tokens(cx: &Context, m: Mint<'_>) -> Result<(NewTokens, Issued), Error> {
    mint_tokens_with(cx, m, Extras::default()).await
}

/// [`mint_tokens`] with the claims and actor of an extension grant or a
/// token exchange.
pub(crate) async fn mint_tokens_with(
    cx: &Context,
    m: Mint<'_>,
    extras: Extras,
) -> Result<(NewTokens, Issued), Error> {
    let now = cx.clock.now();
    let config = &cx.config;
    let mut access_life = m
        .client
        .access_token_lifetime()
        .unwrap_or(config.access_token_lifetime);
    let random = &*cx.random;
    let (access, refresh) = match (m.client.access_token_format(), m.refresh_scope.is_some()) {
        // Both opaque tokens from one call to the random source.
        (AccessTokenFormat::Opaque, true) => {
            let (access, refresh) = mint_pair(random)?;
            (access, Some(refresh))
        }
        (AccessTokenFormat::Opaque, false) => (mint(random)?, None),
        (AccessTokenFormat::Jwt, with_refresh) => {
            // A rotated-out key stays published `jwt_max_lifetime` after it
            // stops signing, so no JWT may live longer (JW-01).
            access_life = access_life.min(config.jwt_max_lifetime);
            let jwt = jwt_access_token(cx, &m, &extras, now, access_life).await?;
            let access = Minted {
                hash: TokenHash::of(&jwt),
                value: Secret::new(jwt),
            };
            let refresh = if with_refresh {
                Some(mint(random)?)
            } else {
                None
            };
            (access, refresh)
        }
    };
    let grant = m.grant.unwrap_or_else(|| GrantId::derive(&access.hash));
    let refresh_life = m
        .client
        .refresh_token_lifetime()
        .unwrap_or(config.refresh_token_lifetime);
    let refresh = refresh
        .zip(m.refresh_scope)
        .map(|(minted, scope)| (minted, scope, refresh_life));
    let records = NewTokens {
        access: AccessRecord {
            hash: access.hash,
            grant,
            client_id: m.client.client_id().clone(),
            subject: m.subject.clone(),
            scope: m.scope.clone(),
            issued_at: now,
            expires_at: now.plus(access_life),
            openid: openid_for(m.openid.as_ref(), &m.scope),
            dpop_jkt: m.dpop_jkt.clone(),
            resources: m.resources.clone(),
            act: extras.actor,
        },
        refresh: refresh.as_ref().map(|(minted, scope, life)| RefreshRecord {
            hash: minted.hash,
            grant,
            client_id: m.client.client_id().clone(),
            subject: m.subject.clone(),
            scope: scope.clone(),
            issued_at: now,
            expires_at: now.plus(*life),
            used: false,
            openid: openid_for(m.openid.as_ref(), scope),
            dpop_jkt: m.refresh_dpop_jkt.clone(),
            resources: m.refresh_resources.clone(),
            successor: None,
        }),
    };
    // OI-02, OI-10: an ID Token beside an access token whose scope holds
    // `openid`, for a grant with OpenID Connect facts and an end-user.
    let id_token = match (
        m.openid.as_ref().filter(|_| m.scope.contains("openid")),
        m.subject.as_ref(),
    ) {
        (Some(openid), Some(user)) => Some(
            crate::grants::id_token::issue(
                cx,
                m.client,
                user,
                openid,
                crate::grants::id_token::Beside {
                    value: access.value.expose_secret(),
                    scope: &m.scope,
                },
                now,
            )
            .await?,
        ),
        _ => None,
    };
    let issued = Issued {
        access_token: access.value,
        // Whole seconds on the wire (RFC 6749 §5.1).
        expires_in: access_life.as_secs(),
        refresh_token: refresh.map(|(minted, _, _)| minted.value),
        id_token,
        scope: m.scope,
        grant,
        subject: m.subject,
        dpop: m.dpop_jkt.is_some(),
        issued_token_type: None,
    };
    Ok((records, issued))
}

/// Mints what a host decided (an extension grant's handler or a token
/// exchange, issue 18) once it is checked against the client's
/// registration: the scope within the client's (`invalid_scope`), each
/// resource one the client may ask for (`invalid_target`). The access token
/// is bound to the request's DPoP key, as for every grant. A refresh token
/// comes only when asked for, the client and server allow the grant, the
/// token has no actor and starts its own grant (`joins` is `None`). The
/// caller stores the records.
pub(crate) async fn mint_decided(
    cx: &Context,
    client: &Client,
    dpop: Option<JwkThumbprint>,
    issuance: crate::extension_grant::Issuance,
    joins: Option<GrantId>,
) -> Result<(NewTokens, Issued), Error> {
    let crate::extension_grant::Issuance {
        subject,
        scope,
        resources,
        claims,
        actor,
        refresh_token,
    } = issuance;
    if !scope.is_subset_of(client.scope()) {
        return Err(Error::InvalidScope);
    }
    if !resources.iter().all(|r| resource_allowed(cx, client, r)) {
        return Err(Error::InvalidTarget);
    }
    let refresh = refresh_token
        && actor.is_none()
        && joins.is_none()
        && client.allows_grant(crate::grant_type::GrantType::RefreshToken)
        && cx.config.offers(crate::grant_type::GrantType::RefreshToken);
    let refresh_dpop_jkt = if refresh {
        refresh_binding(client, dpop.as_ref())
    } else {
        None
    };
    mint_tokens_with(
        cx,
        Mint {
            client,
            subject,
            refresh_scope: refresh.then(|| scope.clone()),
            scope,
            grant: joins,
            openid: None,
            dpop_jkt: dpop,
            refresh_dpop_jkt,
            refresh_resources: if refresh {
                resources.clone()
            } else {
                Vec::new()
            },
            resources,
        },
        Extras { claims, actor },
    )
    .await
}

/// A used code or rotated-out refresh token came back (AC-02, RT-02): the
/// grant is revoked, the replay logged at `warn` and reported to the host.
pub(crate) async fn revoke_replayed(
    cx: &Context,
    client: &Client,
    grant: &GrantId,
    replayed: Replayed,
) -> Result<(), Error> {
    cx.tokens.revoke_grant(grant).await?;
    tracing::warn!(
        client_id = %client.client_id(),
        ?grant,
        ?replayed,
        "replay detected: grant revoked"
    );
    cx.emit(|| Event::ReplayDetected {
        client_id: client.client_id(),
        grant: *grant,
        replayed,
    });
    Ok(())
}
