//! The demo's [`UserClaims`]: the seed users' `claims` (OpenID Connect Core
//! 5.1), served at the UserInfo endpoint as they are in the seed file. The
//! demo returns everything it has for the user; portcullis releases only
//! what the grant allows (scope and `claims` request) and writes `sub`
//! itself.

use std::collections::HashMap;

use portcullis::oidc::{ClaimsQuery, UserClaims};
use portcullis::{StoreError, async_trait};
use serde_json::{Map, Value};

use super::seed::Seed;

/// Each seeded user's claims, by username.
pub(crate) struct DemoUserClaims {
    by_user: HashMap<String, Map<String, Value>>,
}

impl DemoUserClaims {
    /// The claims of the seed's users; the last entry of a username
    /// defines it, as when the seed is loaded.
    pub(crate) fn from_seed(seed: &Seed) -> Self {
        let by_user = seed
            .users
            .iter()
            .map(|u| (u.username.clone(), u.claims.clone().unwrap_or_default()))
            .collect();
        Self { by_user }
    }
}

#[async_trait]
impl UserClaims for DemoUserClaims {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StoreError> {
        let Some(all) = self.by_user.get(query.user().as_str()) else {
            return Ok(Map::new());
        };
        Ok(query
            .wanted()
            .iter()
            .filter_map(|name| Some((name.to_owned(), all.get(name)?.clone())))
            .collect())
    }
}
