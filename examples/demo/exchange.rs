//! The demo's token exchange policy (RFC 8693, TE-01): a fixed rule, on
//! only when a seed client lists
//! `urn:ietf:params:oauth:grant-type:token-exchange` in its `grant_types`
//! (then, and only then, the metadata's `grant_types_supported` lists it).
//!
//! The rule, [`DemoExchange`]:
//! - Only a **confidential** client registered for the grant exchanges; a
//!   public one (it proves nothing about who it is) is
//!   `unauthorized_client`. A client not registered for the grant never
//!   reaches the policy (`unauthorized_client` from the core).
//! - The **subject token** is one of ours about a user: an access token
//!   (opaque or JWT, `…:access_token` or `…:jwt`) whichever client it was
//!   issued to (the exchanging client holds it, e.g. an API that received
//!   it), or an ID Token the server issued to the exchanging client. A
//!   refresh token is never a subject token here: `invalid_grant`.
//! - **Without an actor token** the new token is the user's
//!   (impersonation); **with one**, an access token of ours (a client's
//!   own from `client_credentials`, of any client, or a user's), the new
//!   token carries `act` naming that actor (delegation). Any other actor
//!   token is `invalid_grant`.
//! - Scope and audience are those the core bounds: within the client's
//!   registered scope and the subject token's, an `audience`/`resource`
//!   among the seed's `resources`.
//! - `may_act` (RFC 8693 §4.4): a seed user's `claims.may_act` (the demo's
//!   own, e.g. `{"sub": "gateway"}`) goes into their JWT access tokens, and
//!   the core then lets only that party act for them (`invalid_grant`).

use portcullis::{
    ExchangeGrant, ExchangeRequest, GrantRefusal, TokenExchangePolicy, TokenType, async_trait,
};

/// The demo's rule of who may exchange what (see the module's doc).
pub(crate) struct DemoExchange;

#[async_trait]
impl TokenExchangePolicy for DemoExchange {
    async fn decide(&self, r: &ExchangeRequest<'_>) -> Result<ExchangeGrant, GrantRefusal> {
        if !r.client().is_confidential() {
            return Err(GrantRefusal::UnauthorizedClient);
        }
        let subject = r.subject();
        let subject_ok = subject.is_ours()
            && subject.subject().is_some()
            && matches!(
                subject.token_type(),
                TokenType::AccessToken | TokenType::Jwt | TokenType::IdToken
            );
        if !subject_ok {
            return Err(GrantRefusal::InvalidGrant);
        }
        if let Some(actor) = r.actor() {
            let actor_ok = actor.is_ours()
                && matches!(actor.token_type(), TokenType::AccessToken | TokenType::Jwt);
            if !actor_ok {
                return Err(GrantRefusal::InvalidGrant);
            }
        }
        Ok(r.allow())
    }
}
