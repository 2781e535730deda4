//! Token exchange (RFC 8693, TE-01): the subject token (and the actor
//! token, for delegation) validated, `may_act` checked, scope and targets
//! bounded by the client's registration and the subject token, the host's
//! policy asked, then an access token minted through the extension-grant
//! path (`act` for delegation), stored, and answered with
//! `issued_token_type`.
//!
//! An exchanged token joins the grant of its subject token when that is one
//! of our access or refresh tokens, so revoking what the user authorized
//! (the refresh token, a logout, a replay, the operator) takes the tokens
//! derived from it; otherwise (an ID Token, a host-validated token) it
//! starts a grant of its own. It never comes with a refresh token.

use crate::client::{Client, SubjectType};
use crate::context::Context;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::{Error, GrantFault, RequestFault};
use crate::extension_grant::Issuance;
use crate::grants::issue::{Issued, TokenParams, mint_decided, requested_scope, resource_allowed};
use crate::token_exchange::{ExchangeRequest, ExchangedToken, TokenExchangePolicy, TokenType};
use crate::tokens::actor::Actor;
use crate::tokens::{AccessTokenFormat, GrantId, TokenHash};
use crate::user::UserId;

const PARAMS: [&str; 5] = [
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
];

/// Where a validated token came from, for the grant the new token joins.
enum Found {
    Access(GrantId),
    Refresh(GrantId),
    Elsewhere,
}

pub(super) async fn exchange(
    cx: &Context,
    client: &Client,
    params: TokenParams<'_>,
) -> Result<Issued, Error> {
    // Nothing is exchanged without the host's policy.
    let policy = cx
        .exchange_policy
        .as_deref()
        .ok_or(Error::UnsupportedGrantType)?;
    let [
        subject_token,
        subject_type,
        actor_token,
        actor_type,
        requested,
    ] = crate::http::form::parse(params.form, &PARAMS)?;
    let subject_token = subject_token.ok_or(Error::missing("subject_token"))?;
    let subject_type = token_type(subject_type, "subject_token_type")?;
    let actor = match (actor_token, actor_type) {
        (Some(token), Some(t)) => Some((token, token_type(Some(t), "actor_token_type")?)),
        (Some(_), None) => return Err(Error::missing("actor_token_type")),
        // RFC 8693 §2.1: actor_token_type only with an actor token.
        (None, Some(_)) => return Err(Error::invalid_param("actor_token_type")),
        (None, None) => None,
    };
    // We issue access tokens (`jwt` when the client's access tokens are
    // JWTs): anything else is unsupported, `invalid_request` (§2.2.2).
    let requested = match requested.as_deref().map(TokenType::parse) {
        None | Some(Some(TokenType::AccessToken)) => TokenType::AccessToken,
        Some(Some(TokenType::Jwt)) if client.access_token_format() == AccessTokenFormat::Jwt => {
            TokenType::Jwt
        }
        Some(_) => return Err(Error::invalid_param("requested_token_type")),
    };
    // `resource` and `audience` (§2.1) name the targets; an audience must
    // be the absolute URI of a resource, as `resource` is. Each must be one
    // the server knows for this client: else `invalid_target`.
    let audiences = crate::http::form::values_of(params.form, "audience")?;
    let mut targets = params.resources;
    targets.extend(crate::resource::parse_all(
        audiences.iter().map(|a| a.as_ref()),
    )?);
    targets.sort();
    targets.dedup();
    if !targets.iter().all(|r| resource_allowed(cx, client, r)) {
        return Err(Error::InvalidTarget);
    }

    let (subject, found) = validate(
        cx,
        policy,
        client,
        &subject_type,
        &subject_token,
        params.dpop.as_ref(),
    )
    .await?;
    // The new token is about the subject token's end-user.
    let user = subject
        .subject
        .clone()
        .ok_or(Error::InvalidGrant(GrantFault::ExchangeToken))?;
    let actor = match actor {
        Some((token, t)) => Some(
            validate(cx, policy, client, &t, &token, params.dpop.as_ref())
                .await?
                .0,
        ),
        None => None,
    };
    // RFC 8693 §4.4: a subject token naming who may act for it allows
    // that party only: the actor token's subject, else the client itself.
    if let Some(may) = &subject.may_act {
        if !may_act(may, actor.as_ref(), client) {
            return Err(Error::InvalidGrant(GrantFault::MayAct));
        }
    }
    // Delegation: the actor, its own chain, then the prior actors the
    // subject token names. Impersonation keeps the subject's chain.
    let act = match &actor {
        Some(a) => {
            let current = a
                .as_actor()
                .ok_or(Error::InvalidGrant(GrantFault::ExchangeToken))?;
            Some(match &subject.act {
                Some(prior) => current
                    .acting_after(prior.clone())
                    .ok_or(Error::InvalidGrant(GrantFault::ExchangeToken))?,
                None => current,
            })
        }
        None => subject.act.clone(),
    };
    // The ceiling: the client's scope, and the subject token's if it has
    // one; without `scope`, the subject's scope within the client's.
    let ceiling = match &subject.scope {
        Some(s) => s.intersection(client.scope()),
        None => client.scope().clone(),
    };
    let default = match &subject.scope {
        Some(_) => Some(&ceiling),
        None => client.default_scope(),
    };
    let scope = requested_scope(params.scope.as_deref(), &ceiling, default)?;
    let request = ExchangeRequest {
        client,
        subject: &subject,
        actor: actor.as_ref(),
        scope: &scope,
        resources: &targets,
        requested_token_type: &requested,
    };
    let decided = policy.decide(&request).await?;
    if !decided.scope.is_subset_of(&ceiling) {
        return Err(Error::InvalidScope);
    }
    let mut issuance = Issuance::new(decided.scope)
        .subject(user)
        .resources(decided.resources);
    issuance.claims = decided.claims;
    issuance.actor = act;
    let joins = match found {
        Found::Access(g) | Found::Refresh(g) => Some(g),
        Found::Elsewhere => None,
    };
    let (records, mut issued) = mint_decided(cx, client, params.dpop, issuance, joins).await?;
    let access = records.access.hash;
    let stored = cx.tokens.issue(records).await;
    // Joining a grant: its revocation must win, as against a rotation
    // (RB-05), but `issue` is only atomic with respect to revocation in the
    // SQL stores; so the subject token is looked up again once the new
    // token is stored (as for a FAPI refresh, refresh_token.rs).
    if joins.is_some() && !still_there(cx, &subject_token, &found).await? {
        if stored.is_ok() {
            cx.tokens.revoke_access(&access).await?;
        }
        return Err(Error::InvalidGrant(GrantFault::Unknown));
    }
    stored?;
    issued.issued_token_type = Some(requested);
    Ok(issued)
}

/// Parses a `*_token_type` parameter: required, an absolute URI.
fn token_type(
    value: Option<std::borrow::Cow<'_, str>>,
    name: &'static str,
) -> Result<TokenType, Error> {
    let value = value.ok_or(Error::missing(name))?;
    TokenType::parse(&value).ok_or(Error::InvalidRequest(RequestFault::InvalidParameter(name)))
}

/// Whether the subject token is still stored (not revoked meanwhile).
async fn still_there(cx: &Context, token: &str, found: &Found) -> Result<bool, Error> {
    let hash = TokenHash::of(token);
    Ok(match found {
        Found::Access(_) => cx.tokens.find_access(&hash).await?.is_some(),
        Found::Refresh(_) => cx.tokens.find_refresh(&hash).await?.is_some(),
        Found::Elsewhere => true,
    })
}

/// Whether `may` (a subject token's `may_act`) names the party that acts:
/// the actor token's subject, else the client; a `client_id` in it must be
/// the client's.
fn may_act(may: &Actor, actor: Option<&ExchangedToken>, client: &Client) -> bool {
    let acting = actor.and_then(ExchangedToken::as_actor);
    let sub = acting
        .as_ref()
        .map_or(client.client_id().as_str(), Actor::subject);
    may.subject() == sub && may.client_id().is_none_or(|c| c == client.client_id())
}

/// Validates a subject or actor token of type `t`: ours by the core, any
/// other through the policy. Invalid is `invalid_grant`; a type nobody
/// takes is `invalid_request`.
async fn validate(
    cx: &Context,
    policy: &dyn TokenExchangePolicy,
    client: &Client,
    t: &TokenType,
    token: &str,
    dpop: Option<&JwkThumbprint>,
) -> Result<(ExchangedToken, Found), Error> {
    let invalid = Error::InvalidGrant(GrantFault::ExchangeToken);
    let ours = match t {
        TokenType::AccessToken | TokenType::Jwt => access_token(cx, t, token, dpop).await?,
        TokenType::RefreshToken => refresh_token(cx, client, token, dpop).await?,
        TokenType::IdToken => id_token(cx, client, token).await?,
        _ => None,
    };
    if let Some(found) = ours {
        return Ok(found);
    }
    match policy.validate(client, t, token).await? {
        Some(mut v) => {
            v.ours = false;
            v.token_type = t.clone();
            Ok((v, Found::Elsewhere))
        }
        None => match t {
            TokenType::AccessToken
            | TokenType::Jwt
            | TokenType::RefreshToken
            | TokenType::IdToken => Err(invalid),
            _ => Err(Error::InvalidRequest(RequestFault::InvalidParameter(
                "subject_token_type",
            ))),
        },
    }
}

/// One of our access tokens (opaque or JWT): stored, unexpired, of an
/// enabled client, presented with a proof of its DPoP key if bound; a JWT
/// also verifies with our keys. `None` if we do not know it.
async fn access_token(
    cx: &Context,
    t: &TokenType,
    token: &str,
    dpop: Option<&JwkThumbprint>,
) -> Result<Option<(ExchangedToken, Found)>, Error> {
    let invalid = Error::InvalidGrant(GrantFault::ExchangeToken);
    let Some(record) = cx.tokens.find_access(&TokenHash::of(token)).await? else {
        // A JWT naming us as its issuer that we no longer store was revoked
        // or purged (or forged): ours to refuse, never the host's to judge.
        if crate::tokens::jwt::parse(token).is_some_and(|jws| {
            jws.claims.get("iss").and_then(|v| v.as_str()) == Some(cx.config.issuer.as_str())
        }) {
            return Err(invalid);
        }
        return Ok(None);
    };
    let now = cx.clock.now();
    if record.expires_at <= now || !cx.client_enabled(&record.client_id).await? {
        return Err(invalid);
    }
    if record.dpop_jkt.is_some() && record.dpop_jkt.as_ref() != dpop {
        return Err(Error::InvalidGrant(GrantFault::DpopKeyMismatch));
    }
    let mut may_act = None;
    let is_jws = token.split('.').count() == 3;
    if is_jws || *t == TokenType::Jwt {
        let ring = cx.key_ring().await?;
        let default = cx.config.audience();
        let audience = record.resources.first().map_or(default, |r| r.as_str());
        let claims = crate::tokens::jwt::verify_access(
            token,
            &ring,
            now,
            cx.config.leeway,
            &cx.config.issuer,
            audience,
        )
        .map_err(|_| Error::InvalidGrant(GrantFault::ExchangeToken))?;
        may_act = claims.get("may_act").and_then(Actor::from_json);
    }
    let v = ExchangedToken {
        token_type: t.clone(),
        subject: record.subject,
        actor_subject: None,
        client_id: Some(record.client_id),
        scope: Some(record.scope),
        resources: record.resources,
        act: record.act,
        may_act,
        ours: true,
    };
    Ok(Some((v, Found::Access(record.grant))))
}

/// One of our refresh tokens, presented by its own client only (anyone
/// else holding it means it leaked): unused, unexpired, with a proof of
/// its DPoP key if bound.
async fn refresh_token(
    cx: &Context,
    client: &Client,
    token: &str,
    dpop: Option<&JwkThumbprint>,
) -> Result<Option<(ExchangedToken, Found)>, Error> {
    let invalid = Error::InvalidGrant(GrantFault::ExchangeToken);
    let Some(record) = cx.tokens.find_refresh(&TokenHash::of(token)).await? else {
        return Ok(None);
    };
    if record.client_id != *client.client_id() {
        return Err(Error::InvalidGrant(GrantFault::ClientMismatch));
    }
    if record.used || record.expires_at <= cx.clock.now() {
        return Err(invalid);
    }
    if record.dpop_jkt.is_some() && record.dpop_jkt.as_ref() != dpop {
        return Err(Error::InvalidGrant(GrantFault::DpopKeyMismatch));
    }
    let v = ExchangedToken {
        token_type: TokenType::RefreshToken,
        subject: record.subject,
        actor_subject: None,
        client_id: Some(record.client_id),
        scope: Some(record.scope),
        resources: record.resources,
        act: None,
        may_act: None,
        ours: true,
    };
    Ok(Some((v, Found::Refresh(record.grant))))
}

/// An ID Token we signed (OpenID Connect Core §2), unexpired (with the
/// configured leeway), issued to the requesting client, whose `sub` is the
/// user id (a `public` subject type: a pairwise `sub` cannot be mapped
/// back, so such tokens are refused). `None` if it is not one of ours.
async fn id_token(
    cx: &Context,
    client: &Client,
    token: &str,
) -> Result<Option<(ExchangedToken, Found)>, Error> {
    let invalid = Error::InvalidGrant(GrantFault::ExchangeToken);
    let ring = cx.key_ring().await?;
    let now = cx.clock.now();
    let Ok(hint) =
        crate::oidc::id_token::verify_id_token_hint(&ring, token, &cx.config.issuer, now)
    else {
        return Ok(None);
    };
    if hint.expires_at().plus(cx.config.leeway) <= now
        || !hint.is_for(client.client_id())
        || client.subject_type() == SubjectType::Pairwise
    {
        return Err(invalid);
    }
    let user = UserId::parse(hint.subject()).ok_or(invalid)?;
    let v = ExchangedToken {
        token_type: TokenType::IdToken,
        subject: Some(user),
        actor_subject: None,
        client_id: Some(client.client_id().clone()),
        scope: None,
        resources: Vec::new(),
        act: None,
        may_act: None,
        ours: true,
    };
    Ok(Some((v, Found::Elsewhere)))
}
