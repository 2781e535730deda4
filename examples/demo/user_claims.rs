//! The demo's [`UserClaims`]: the seed users' `claims` (OpenID Connect Core
//! 5.1), served at the UserInfo endpoint as they are in the seed file. The
//! demo returns everything it has for the user; portcullis releases only
//! what the grant allows (scope and `claims` request) and writes `sub`
//! itself (the user's subject: their seed `claims.sub`, or username).

use std::collections::HashMap;

use portcullis::oidc::{ClaimsQuery, UserClaims, claim_scope};
use portcullis::{StoreError, UserId, async_trait};
use serde_json::{Map, Value};

use super::seed::Person;

/// Each seeded user's claims, by subject (the user id the core asks with).
pub(crate) struct DemoUserClaims {
    by_user: HashMap<UserId, Map<String, Value>>,
}

impl DemoUserClaims {
    /// The claims of the seed's users, as loaded (each username once).
    pub(crate) fn new(people: &[Person]) -> Self {
        let by_user = people
            .iter()
            .map(|p| (p.subject.clone(), p.claims.clone()))
            .collect();
        Self { by_user }
    }
}

#[async_trait]
impl UserClaims for DemoUserClaims {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
        let Some(all) = self.by_user.get(query.user()) else {
            return Ok(Map::new());
        };
        // Only standard claims (the seed contract's "OpenID Connect standard
        // claims"): the core decides their release by consent, but hands any
        // other name a `claims` request asks for to the host, and this demo
        // has no rule for them, so it releases none (`groups` in a seed
        // stays in the seed).
        Ok(query
            .wanted()
            .iter()
            .filter(|name| claim_scope(name).is_some())
            .filter_map(|name| Some((name.to_owned(), all.get(name)?.clone())))
            .collect())
    }
}
