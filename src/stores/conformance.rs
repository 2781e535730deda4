//! The store conformance suite: the contract of every store trait, one
//! clause at a time, checked against a real store. We run it against every
//! store we ship (`tests/stores`); run it against yours.
//!
//! In a test file of your crate (with `portcullis` as a dev-dependency with
//! the `conformance` feature), one macro call gives one `#[test]` per
//! clause, grouped in a module per trait, so a failure names its trait and
//! clause and the other clauses still run:
//!
//! ```
//! // tests/store.rs
//! async fn my_store() -> portcullis::MemoryStore {
//!     portcullis::MemoryStore::new() // connect, migrate, …
//! }
//!
//! portcullis::store_conformance!(my_store => ClientStore, TokenStore, ReplayCache);
//! // → client_store::unknown_client_is_none, token_store::exchange_is_won_once, …
//! # fn main() -> Result<(), portcullis::stores::conformance::Failure> {
//! #     token_store::run_all()
//! # }
//! ```
//!
//! List the traits your store implements: `ClientStore`, `ClientAdmin`,
//! `TokenStore`, `TokenAdmin`, `ConsentStore`, `ConsentAdmin`,
//! `ReplayCache`, `ThrottleStore`, `AuthorizationRequestStore`, `KeyProvider`,
//! `DeviceStore` (which needs `TokenStore` too: a redemption stores its
//! tokens, read back through it), and `DevicePurge` (a `DeviceStore` whose
//! `TokenAdmin::purge_expired` removes expired device authorizations, as
//! the shipped stores do) (an `*Admin` section needs its protocol
//! trait too: it checks through both). The factory is an `async fn` (or a
//! closure returning a future) that makes the store; each clause calls it
//! once, on its own multi-threaded tokio runtime. The factory's path is
//! resolved inside the generated modules (which `use super::*`): name a
//! function in scope where you call the macro, or give a `crate::` path. Clauses use fresh random
//! ids, so they may share one database and run in parallel; a factory that
//! hands each clause a fresh store works as well. Each module also has
//! `run_all()`, which runs its clauses in order and stops at the first
//! failure.
//!
//! The clauses are public `async fn`s in the modules below ([`token_store`]
//! and so on), taking an `Arc` of the store, for a harness of your own.
//!
//! A store that is not available on every machine (a database server) can
//! have a factory returning `Option<Store>`:
//! `store_conformance!(optional my_store => …)` passes a clause whose
//! factory returns `None` without checking anything, so the factory should
//! say why (ours print a banner, and fail instead when CI requires the
//! database).

use std::fmt;
use std::future::Future;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use crate::audience::Audience;
use crate::client::{AuthMethod, Client, ClientId, SecretHash, SubjectType};
use crate::clock::UnixTime;
use crate::grant_type::GrantType;
use crate::keys::Algorithm;
use crate::oidc::{ClaimsRequest, Nonce, OpenIdGrant, SessionId};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::random::{RandomSource, SystemRandom};
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::stores::{AccessRecord, CodeRecord, NewTokens, RefreshRecord};
use crate::tokens::AccessTokenFormat;
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;
use crate::web_url::WebUrl;

/// A contract clause the store broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which check.
    pub check: &'static str,
    /// What was wrong.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

impl std::error::Error for Failure {}

/// What a clause returns.
pub type Outcome = Result<(), Failure>;

macro_rules! ensure {
    ($check:expr, $cond:expr, $($detail:tt)+) => {
        if !$cond {
            return Err($crate::stores::conformance::Failure { check: $check, detail: format!($($detail)+) });
        }
    };
}

fn store_ok<T>(check: &'static str, r: Result<T, crate::error::StoreError>) -> Result<T, Failure> {
    r.map_err(|e| Failure {
        check,
        detail: format!(
            "store error: {e} ({:?})",
            std::error::Error::source(&e).map(ToString::to_string)
        ),
    })
}

fn fail(check: &'static str, detail: impl fmt::Display) -> Failure {
    Failure {
        check,
        detail: detail.to_string(),
    }
}

/// Runs one clause: builds a multi-threaded tokio runtime (the concurrency
/// clauses spawn tasks), makes the store with `factory` on it, and checks
/// `clause`. What the macro's tests call.
pub fn run_clause<S, F, Fut, C, CFut>(factory: F, clause: C) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = S>,
    C: FnOnce(Arc<S>) -> CFut,
    CFut: Future<Output = Outcome>,
{
    run_clause_if(|| async { Some(factory().await) }, clause)
}

/// [`run_clause`] for a factory that may have no store to give (a database
/// not available on this machine): `None` passes the clause without
/// checking anything, so the factory should say why, loudly. What
/// `store_conformance!(optional factory => …)` calls.
pub fn run_clause_if<S, F, Fut, C, CFut>(factory: F, clause: C) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<S>>,
    C: FnOnce(Arc<S>) -> CFut,
    CFut: Future<Output = Outcome>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| fail("runtime", e))?;
    runtime.block_on(async move {
        match factory().await {
            Some(store) => clause(Arc::new(store)).await,
            None => Ok(()),
        }
    })
}

/// One `#[test]` per clause of each listed store trait, in a module per
/// trait (`client_store`, `client_admin`, `token_store`, `token_admin`,
/// `consent_store`, `consent_admin`, `replay_cache`,
/// `authorization_request_store`, `key_provider`), for
/// the store `factory` makes. See the [module docs](crate::stores::conformance).
/// Attributes written before the factory go on every generated test, e.g.
/// `store_conformance!(#[ignore = "needs the staging database"] store => TokenStore)`.
///
/// ```
/// async fn store() -> portcullis::MemoryStore {
///     portcullis::MemoryStore::new()
/// }
/// portcullis::store_conformance!(store => ConsentStore, ConsentAdmin);
/// # fn main() -> Result<(), portcullis::stores::conformance::Failure> {
/// #     consent_store::run_all()?;
/// #     consent_admin::run_all()
/// # }
/// ```
#[macro_export]
macro_rules! store_conformance {
    ($(#[$m:meta])* optional $factory:path => $($section:ident),+ $(,)?) => {
        $crate::__conformance_sections!([$(#[$m])*] $factory, run_clause_if, $($section),+);
    };
    ($(#[$m:meta])* $factory:path => $($section:ident),+ $(,)?) => {
        $crate::__conformance_sections!([$(#[$m])*] $factory, run_clause, $($section),+);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_sections {
    ($attrs:tt $factory:path, $run:ident, $($section:ident),+) => {
        $( $crate::__conformance_section!($section, $factory, $run, $attrs); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_section {
    (ClientStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(client_store, $f, $run, [unknown_client_is_none], $attrs);
    };
    (ClientAdmin, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            client_admin,
            $f,
            $run,
            [
                inserted_client_round_trips,
                duplicate_insert_fails,
                update_replaces_the_client,
                update_of_a_missing_client_is_false,
                list_includes_the_client,
                jwt_clients_keep_their_keys,
                delete_removes_the_client,
                extension_grant_types_round_trip,
                // The full client model (issue 19).
                registration_fields_round_trip,
                jwks_uri_clients_round_trip,
                // Dynamic client registration (issue 19 part 2).
                registration_access_token_round_trips,
                // CORS (issue 19 part 3, CO-01).
                cors_origins_are_found_by_origin,
                cors_origins_follow_updates_and_deletes
            ],
            $attrs
        );
    };
    (TokenStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            token_store,
            $f,
            $run,
            [
                unknown_hashes_are_none,
                code_round_trips_and_duplicates_fail,
                exchange_is_won_once,
                exchange_of_an_unknown_code,
                tokens_round_trip_by_kind,
                duplicate_issue_fails,
                rotation_is_won_once,
                openid_facts_round_trip,
                dpop_bindings_round_trip,
                code_dpop_binding_round_trips,
                resources_round_trip,
                revoke_access_of_one_token,
                revoke_grant_takes_the_family,
                failed_exchange_changes_nothing,
                concurrent_exchange_has_one_winner,
                concurrent_rotation_has_one_winner,
                revocation_wins_against_rotation,
                revocation_wins_against_exchange,
                revoke_session_takes_what_the_logout_ends,
                session_revocation_wins_against_exchange,
                session_clients_names_each_client_once,
                // Refresh retry window (issue 18).
                retry_replaces_the_successor,
                retry_after_the_successor_was_used_is_a_replay,
                concurrent_retries_have_one_winner,
                retry_and_rotation_of_the_successor_have_one_winner,
                revocation_wins_against_retries,
                actor_round_trips
            ],
            $attrs
        );
    };
    (TokenAdmin, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            token_admin,
            $f,
            $run,
            [
                revoke_user_takes_only_that_user,
                revoke_client_takes_only_that_client,
                purge_removes_only_the_expired,
                operator_revocation_wins_against_rotation,
                // Purge in bounded batches (issue 20 part 4).
                purge_in_batches_removes_every_expired_row
            ],
            $attrs
        );
    };
    (ConsentStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            consent_store,
            $f,
            $run,
            [no_consent_is_none, grants_accumulate],
            $attrs
        );
    };
    (ConsentAdmin, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            consent_admin,
            $f,
            $run,
            [list_by_user, revoke_withdraws_one_client],
            $attrs
        );
    };
    (ReplayCache, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            replay_cache,
            $f,
            $run,
            [
                second_use_is_a_replay,
                ids_are_per_scope,
                dpop_proof_ids_are_per_key,
                concurrent_first_use_has_one_winner,
                purge_forgets_only_the_expired,
                // Purge in bounded batches (issue 20 part 4).
                purge_in_batches_forgets_every_expired_id
            ],
            $attrs
        );
    };
    (ThrottleStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            throttle_store,
            $f,
            $run,
            [
                reserve_counts_and_release_settles,
                counts_read_what_is_counted_in_the_window,
                an_ended_window_starts_afresh,
                keys_count_apart,
                concurrent_reserves_each_see_their_own_count,
                known_pairs_until_their_time,
                purge_forgets_only_what_ended
            ],
            $attrs
        );
    };
    (AuthorizationRequestStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            authorization_request_store,
            $f,
            $run,
            [
                request_round_trips_and_is_taken_once,
                duplicate_insert_fails,
                expired_request_is_still_taken,
                concurrent_take_has_one_winner
            ],
            $attrs
        );
    };
    (DeviceStore, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            device_store,
            $f,
            $run,
            [
                device_round_trips_and_duplicates_are_refused,
                decided_once,
                polls_are_recorded_and_slow_down,
                redeemed_once_after_approval,
                concurrent_decisions_have_one_winner,
                approval_under_concurrent_polls_issues_once,
                // Atomic redemption (#18): the tokens with it.
                a_failed_redemption_stores_nothing_and_keeps_the_approval
            ],
            $attrs
        );
    };
    (DevicePurge, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            device_purge,
            $f,
            $run,
            [purge_removes_expired_devices],
            $attrs
        );
    };
    (KeyProvider, $f:path, $run:ident, $attrs:tt) => {
        $crate::__conformance_tests!(
            key_provider,
            $f,
            $run,
            [key_round_trips_and_duplicates_fail, retire_and_delete],
            $attrs
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ([$(#[$m:meta])*], $module:ident, $f:path, $run:ident, $clause:ident) => {
        #[test]
        $(#[$m])*
        fn $clause() -> ::core::result::Result<(), $crate::stores::conformance::Failure> {
            $crate::stores::conformance::$run($f, $crate::stores::conformance::$module::$clause)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $f:path, $run:ident, [$($clause:ident),+ $(,)?], $attrs:tt) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $( $crate::__conformance_test!($attrs, $module, $f, $run, $clause); )+

            /// Runs every clause of this section in order; stops at the
            /// first failure.
            #[allow(dead_code)]
            pub fn run_all() -> ::core::result::Result<(), $crate::stores::conformance::Failure> {
                $(
                    $crate::stores::conformance::$run(
                        $f,
                        $crate::stores::conformance::$module::$clause,
                    )?;
                )+
                Ok(())
            }
        }
    };
}

/// [`ClientStore`](crate::ClientStore) clauses.
pub mod client_store {
    use std::sync::Arc;

    use super::{Fixture, Outcome, store_ok};
    use crate::stores::ClientStore;

    /// An unknown client is `Ok(None)`, not an error.
    pub async fn unknown_client_is_none<S: ClientStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ClientStore: unknown client";
        let f = Fixture::new();
        ensure!(
            C,
            store_ok(C, store.client(&f.client_id()?).await)?.is_none(),
            "unknown client must be Ok(None)"
        );
        Ok(())
    }
}

/// [`ClientAdmin`](crate::ClientAdmin) clauses, read back through
/// [`ClientStore`](crate::ClientStore).
pub mod client_admin {
    use std::sync::Arc;

    // The full client model (issue 19).
    pub use super::client_model::{jwks_uri_clients_round_trip, registration_fields_round_trip};
    // Dynamic client registration (issue 19 part 2).
    pub use super::client_registration::registration_access_token_round_trips;
    // CORS (issue 19 part 3, CO-01).
    pub use super::client_cors::{
        cors_origins_are_found_by_origin, cors_origins_follow_updates_and_deletes,
    };

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::client::{Client, ClientId, SubjectType};
    use crate::grant_type::GrantType;
    use crate::keys::Algorithm;
    use crate::stores::{ClientAdmin, ClientStore};

    async fn inserted<S: ClientStore + ClientAdmin>(
        c: &'static str,
        store: &S,
        f: &Fixture,
    ) -> Result<(ClientId, Arc<Client>), super::Failure> {
        let client = f.full_client(c)?;
        let id = client.client_id().clone();
        store_ok(c, store.insert_client(client).await)?;
        let found = store_ok(c, store.client(&id).await)?
            .ok_or_else(|| fail(c, "inserted client not found"))?;
        Ok((id, found))
    }

    /// Every field of an inserted client comes back as stored; the secret
    /// only as its hash (CA-05).
    pub async fn inserted_client_round_trips<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: insert round-trips";
        let f = Fixture::new();
        let (_, found) = inserted(C, &*store, &f).await?;
        f.check_full_client(C, &found)
    }

    /// Inserting an id twice fails.
    pub async fn duplicate_insert_fails<S: ClientStore + ClientAdmin>(store: Arc<S>) -> Outcome {
        const C: &str = "ClientAdmin: duplicate insert";
        let f = Fixture::new();
        let (_, found) = inserted(C, &*store, &f).await?;
        ensure!(
            C,
            store.insert_client((*found).clone()).await.is_err(),
            "duplicate insert must fail"
        );
        Ok(())
    }

    /// `update_client` replaces the whole client, child rows included.
    pub async fn update_replaces_the_client<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: update";
        let f = Fixture::new();
        let (id, found) = inserted(C, &*store, &f).await?;
        let changed = (*found)
            .clone()
            .into_builder()
            .enabled(false)
            .remove_redirect_uri(&f.uri(C, "http://127.0.0.1/cb")?)
            .remove_grant_type(GrantType::RefreshToken)
            .remove_post_logout_redirect_uri(&f.uri(C, "http://127.0.0.1/bye")?)
            .subject_type(SubjectType::Public)
            .sector_identifier_uri(None)
            .id_token_signed_response_alg(None)
            .backchannel_logout_uri(None)
            .require_auth_time(false)
            .default_max_age(None)
            .logo_uri(None)
            .require_pushed_authorization_requests(false)
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(changed).await)?,
            "update of an existing client must return true"
        );
        let found = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "updated client vanished"))?;
        ensure!(
            C,
            !found.is_enabled()
                && found.redirect_uris().len() == 1
                && !found.allows_grant(GrantType::RefreshToken),
            "update not applied"
        );
        ensure!(
            C,
            found.post_logout_redirect_uris().len() == 1
                && found.subject_type() == SubjectType::Public
                && found.sector_identifier_uri().is_none()
                && found.sector_identifier() == Some("a.example")
                && found.id_token_signed_response_alg().is_none()
                && found.userinfo_signed_response_alg() == Some(Algorithm::Rs256)
                && found.backchannel_logout_uri().is_none()
                && !found.require_auth_time()
                && found.default_max_age().is_none()
                && found.logo_uri().is_none()
                && found.policy_uri().is_some()
                && !found.requires_pushed_authorization_requests()
                && found.requires_signed_request_object(),
            "update of the OpenID Connect registration not applied"
        );
        Ok(())
    }

    /// Updating an unknown client is `Ok(false)` and stores nothing.
    pub async fn update_of_a_missing_client_is_false<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: update of a missing client";
        let f = Fixture::new();
        let ghost = Client::public(f.client_id()?)
            .build()
            .map_err(|e| fail(C, e))?;
        let id = ghost.client_id().clone();
        ensure!(
            C,
            !store_ok(C, store.update_client(ghost).await)?,
            "update of a missing client must return false"
        );
        ensure!(
            C,
            store_ok(C, store.client(&id).await)?.is_none(),
            "update of a missing client inserted it"
        );
        Ok(())
    }

    /// `clients()` lists an inserted client, ordered by id.
    pub async fn list_includes_the_client<S: ClientStore + ClientAdmin>(store: Arc<S>) -> Outcome {
        const C: &str = "ClientAdmin: list";
        let f = Fixture::new();
        let (id, _) = inserted(C, &*store, &f).await?;
        let (other, _) = inserted(C, &*store, &f).await?;
        let listed = store_ok(C, store.clients().await)?;
        let ids: Vec<&ClientId> = listed.iter().map(|c| c.client_id()).collect();
        ensure!(
            C,
            ids.contains(&&id) && ids.contains(&&other),
            "list must include both clients"
        );
        ensure!(C, ids.is_sorted(), "list must be ordered by id");
        Ok(())
    }

    /// A `private_key_jwt` client keeps its JWKS, a `client_secret_jwt`
    /// one its key (CA-08).
    pub async fn jwt_clients_keep_their_keys<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: JWT clients";
        let f = Fixture::new();
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let pk = Client::private_key_jwt(f.client_id()?, jwks)
            .grant_type(GrantType::ClientCredentials)
            .build()
            .map_err(|e| fail(C, e))?;
        let sj =
            Client::client_secret_jwt(f.client_id()?, crate::secret::Secret::new("k".repeat(32)))
                .build()
                .map_err(|e| fail(C, e))?;
        // Any client may register keys for its request objects (JR-01): a
        // public one, and one with a shared secret.
        let public = Client::public(f.client_id()?)
            .jwks(jwks.to_owned())
            .build()
            .map_err(|e| fail(C, e))?;
        let sj_keys =
            Client::client_secret_jwt(f.client_id()?, crate::secret::Secret::new("k".repeat(32)))
                .jwks(jwks.to_owned())
                .build()
                .map_err(|e| fail(C, e))?;
        for c in [pk, sj, public, sj_keys] {
            store_ok(C, store.insert_client(c.clone()).await)?;
            let back = store_ok(C, store.client(c.client_id()).await)?
                .ok_or_else(|| fail(C, "JWT client not found"))?;
            ensure!(
                C,
                back.token_endpoint_auth_method() == c.token_endpoint_auth_method(),
                "auth method of a JWT client"
            );
            ensure!(
                C,
                back.jwks() == c.jwks() && back.jwt_secret() == c.jwt_secret(),
                "JWKS / JWT secret must round-trip"
            );
        }
        Ok(())
    }

    /// `delete_client` removes the client once: `true`, then `false`.
    pub async fn delete_removes_the_client<S: ClientStore + ClientAdmin>(store: Arc<S>) -> Outcome {
        const C: &str = "ClientAdmin: delete";
        let f = Fixture::new();
        let (id, _) = inserted(C, &*store, &f).await?;
        ensure!(
            C,
            store_ok(C, store.delete_client(&id).await)?,
            "delete must return true"
        );
        ensure!(
            C,
            store_ok(C, store.client(&id).await)?.is_none(),
            "deleted client still found"
        );
        ensure!(
            C,
            !store_ok(C, store.delete_client(&id).await)?,
            "second delete must return false"
        );
        Ok(())
    }

    // --- issue 18: extension grants (exchange) ---

    /// A client registered for extension grants (RFC 6749 §4.5) and token
    /// exchange gets them back, beside its built-in grant types, through
    /// insert and update.
    pub async fn extension_grant_types_round_trip<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: extension grant types round-trip";
        let f = Fixture::new();
        let ext = |s: &str| GrantType::parse(s).ok_or_else(|| fail(C, "extension grant type"));
        let badge = ext("urn:example:grant-type:badge")?;
        let other = ext("https://grants.example.com/other?v=1")?;
        let client = f
            .full_client(C)?
            .into_builder()
            .grant_type(badge.clone())
            .grant_type(GrantType::TokenExchange)
            .build()
            .map_err(|e| fail(C, e))?;
        let id = client.client_id().clone();
        store_ok(C, store.insert_client(client.clone()).await)?;
        let found = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "inserted client not found"))?;
        ensure!(
            C,
            found.allows_grant(&badge)
                && found.allows_grant(GrantType::TokenExchange)
                && found.allows_grant(GrantType::RefreshToken)
                && !found.allows_grant(&other),
            "grant types after insert: {:?}",
            found.grant_types()
        );
        let changed = client
            .into_builder()
            .remove_grant_type(&badge)
            .grant_type(other.clone())
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(changed).await)?,
            "update must return true"
        );
        let found = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "updated client not found"))?;
        ensure!(
            C,
            found.allows_grant(&other) && !found.allows_grant(&badge),
            "grant types after update: {:?}",
            found.grant_types()
        );
        Ok(())
    }
}

/// [`TokenStore`](crate::TokenStore) clauses: the protocol steps (AC-01,
/// AC-02, AC-04, RT-02, RT-04, RB-02, RV-02, TK-02).
pub mod token_store {
    use std::sync::Arc;

    // Refresh retry window (issue 18).
    pub use super::refresh_retry::{
        concurrent_retries_have_one_winner, retry_after_the_successor_was_used_is_a_replay,
        retry_and_rotation_of_the_successor_have_one_winner, retry_replaces_the_successor,
        revocation_wins_against_retries,
    };

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::oidc::OpenIdGrant;
    use crate::resource::Resource;
    use crate::stores::{AccessRecord, Exchange, NewTokens, Rotation, TokenStore};
    use crate::tokens::GrantId;

    /// Unknown hashes are `Ok(None)` for codes, access and refresh tokens.
    pub async fn unknown_hashes_are_none<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: unknown hashes (TK-02)";
        let f = Fixture::new();
        ensure!(
            C,
            store_ok(C, store.find_code(&f.hash()).await)?.is_none(),
            "unknown code must be Ok(None)"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&f.hash()).await)?.is_none(),
            "unknown access token must be Ok(None)"
        );
        ensure!(
            C,
            store_ok(C, store.find_refresh(&f.hash()).await)?.is_none(),
            "unknown refresh token must be Ok(None)"
        );
        Ok(())
    }

    /// A code comes back as inserted; a second insert of its hash fails.
    pub async fn code_round_trips_and_duplicates_fail<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: codes (AC-01, TK-02)";
        let f = Fixture::new();
        let code = f.code(&f.client_id()?, &f.user()?, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        ensure!(
            C,
            store.insert_code(code.clone()).await.is_err(),
            "duplicate code must fail"
        );
        let found = store_ok(C, store.find_code(&code.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&code),
            "code must round-trip: {found:?}"
        );
        Ok(())
    }

    /// The first exchange issues and stores the tokens; the code then
    /// reads as used and a second exchange is `AlreadyUsed(grant)` (AC-02).
    pub async fn exchange_is_won_once<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: exchange (AC-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let tokens = f.tokens(code.grant, &client, Some(&user), 3600);
        let outcome = store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        ensure!(
            C,
            outcome == Exchange::Issued,
            "first exchange: {outcome:?}"
        );
        ensure!(
            C,
            store_ok(C, store.find_code(&code.hash).await)?.is_some_and(|c| c.used),
            "exchanged code must read as used"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&tokens.access.hash).await)?.as_ref()
                == Some(&tokens.access),
            "exchange must store the access token"
        );
        let again = f.tokens(code.grant, &client, Some(&user), 3600);
        let outcome = store_ok(C, store.exchange_code(&code.hash, again.clone()).await)?;
        ensure!(
            C,
            outcome == Exchange::AlreadyUsed(code.grant),
            "second exchange: {outcome:?}"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&again.access.hash).await)?.is_none(),
            "a lost exchange stored its tokens"
        );
        Ok(())
    }

    /// Exchanging an unknown code is `Unknown` and stores nothing.
    pub async fn exchange_of_an_unknown_code<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: exchange of an unknown code";
        let f = Fixture::new();
        let client = f.client_id()?;
        let tokens = f.tokens(GrantId::derive(&f.hash()), &client, None, 60);
        let outcome = store_ok(C, store.exchange_code(&f.hash(), tokens.clone()).await)?;
        ensure!(
            C,
            outcome == Exchange::Unknown,
            "unknown code exchange: {outcome:?}"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&tokens.access.hash).await)?.is_none(),
            "an unknown code's exchange stored tokens"
        );
        Ok(())
    }

    /// Issued tokens come back as stored, each under its own kind: a
    /// refresh token's hash is no access token.
    pub async fn tokens_round_trip_by_kind<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: tokens (TK-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let tokens = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(tokens.clone()).await)?;
        let refresh = f.refresh_of(C, &tokens)?;
        ensure!(
            C,
            store_ok(C, store.find_access(&tokens.access.hash).await)?.as_ref()
                == Some(&tokens.access),
            "access token must round-trip"
        );
        ensure!(
            C,
            store_ok(C, store.find_refresh(&refresh.hash).await)?.as_ref() == Some(&refresh),
            "refresh token must round-trip"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&refresh.hash).await)?.is_none(),
            "a refresh token is not an access token"
        );
        ensure!(
            C,
            store_ok(C, store.find_refresh(&tokens.access.hash).await)?.is_none(),
            "an access token is not a refresh token"
        );
        Ok(())
    }

    /// Issuing a hash that is already stored fails and stores nothing of
    /// the request (all or nothing).
    pub async fn duplicate_issue_fails<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: duplicate issue (RB-02)";
        let f = Fixture::new();
        let client = f.client_id()?;
        let first = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
        store_ok(C, store.issue(first.clone()).await)?;
        let mut clash = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
        clash.refresh = first.refresh.clone();
        ensure!(
            C,
            store.issue(clash.clone()).await.is_err(),
            "a duplicate refresh hash must fail"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&clash.access.hash).await)?.is_none(),
            "a failed issue stored its access token"
        );
        Ok(())
    }

    /// Rotation stores the successor unused and marks the old token used;
    /// rotating it again is `Replayed(grant)` (RT-02), an unknown one
    /// `Unknown`.
    pub async fn rotation_is_won_once<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: rotation (RT-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(first.clone()).await)?;
        let refresh = f.refresh_of(C, &first)?;
        let next = f.tokens(refresh.grant, &client, Some(&user), 3600);
        let r = store_ok(C, store.rotate_refresh(&refresh.hash, next.clone()).await)?;
        ensure!(C, r == Rotation::Rotated, "first rotation: {r:?}");
        ensure!(
            C,
            store_ok(C, store.find_refresh(&refresh.hash).await)?.is_some_and(|r| r.used),
            "rotated token must read as used"
        );
        let successor = f.refresh_of(C, &next)?;
        ensure!(
            C,
            store_ok(C, store.find_refresh(&successor.hash).await)?.is_some_and(|r| !r.used),
            "successor must be stored unused"
        );
        let again = f.tokens(refresh.grant, &client, Some(&user), 60);
        let r = store_ok(C, store.rotate_refresh(&refresh.hash, again).await)?;
        ensure!(
            C,
            r == Rotation::Replayed(refresh.grant),
            "replayed rotation: {r:?}"
        );
        let unknown = f.tokens(refresh.grant, &client, None, 60);
        let r = store_ok(C, store.rotate_refresh(&f.hash(), unknown).await)?;
        ensure!(C, r == Rotation::Unknown, "unknown rotation: {r:?}");
        Ok(())
    }

    /// The OpenID Connect facts of a grant ([`OpenIdGrant`]) come back as
    /// stored on a code (with its nonce), on the access and refresh tokens
    /// an exchange stores, and on those a rotation stores; a revocation of
    /// the grant takes such tokens too (OI-02, OI-10).
    ///
    /// [`OpenIdGrant`]: crate::oidc::OpenIdGrant
    pub async fn openid_facts_round_trip<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: OpenID Connect facts (OI-02, OI-10)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let facts = f.openid(C)?;
        let mut code = f.code(&client, &user, 60);
        code.openid = Some(facts.clone());
        store_ok(C, store.insert_code(code.clone()).await)?;
        let found = store_ok(C, store.find_code(&code.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&code),
            "a code's facts must round-trip: {found:?}"
        );
        let with_facts = |mut t: NewTokens| {
            t.access.openid = Some(facts.without_nonce());
            if let Some(r) = &mut t.refresh {
                r.openid = Some(facts.without_nonce());
            }
            t
        };
        let tokens = with_facts(f.tokens(code.grant, &client, Some(&user), 3600));
        let outcome = store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        ensure!(C, outcome == Exchange::Issued, "exchange: {outcome:?}");
        let access = store_ok(C, store.find_access(&tokens.access.hash).await)?;
        ensure!(
            C,
            access.as_ref() == Some(&tokens.access),
            "an access token's facts must round-trip: {access:?}"
        );
        let refresh = f.refresh_of(C, &tokens)?;
        let found = store_ok(C, store.find_refresh(&refresh.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&refresh),
            "a refresh token's facts must round-trip: {found:?}"
        );
        let next = with_facts(f.tokens(code.grant, &client, Some(&user), 3600));
        let r = store_ok(C, store.rotate_refresh(&refresh.hash, next.clone()).await)?;
        ensure!(C, r == Rotation::Rotated, "rotation: {r:?}");
        let successor = f.refresh_of(C, &next)?;
        let found = store_ok(C, store.find_refresh(&successor.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&successor),
            "a rotated-in refresh token's facts must round-trip: {found:?}"
        );
        let found = store_ok(C, store.find_access(&next.access.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&next.access),
            "a rotated-in access token's facts must round-trip: {found:?}"
        );
        store_ok(C, store.revoke_grant(&code.grant).await)?;
        for hash in [tokens.access.hash, next.access.hash] {
            ensure!(
                C,
                store_ok(C, store.find_access(&hash).await)?.is_none(),
                "a revoked grant's access token with facts is still found"
            );
        }
        Ok(())
    }

    /// The resources (RFC 8707) of a code, of the tokens an exchange
    /// stores (the access token narrowed to one, the refresh token keeping
    /// the grant's), and of those a rotation stores, round-trip sorted as
    /// written; none stays none (RI-01).
    pub async fn resources_round_trip<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: resources (RI-01)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let r = |s: &str| Resource::parse(s).ok_or_else(|| fail(C, "resource"));
        let both = vec![r("https://api.example/v1")?, r("urn:example:reports")?];
        let one = vec![r("urn:example:reports")?];
        let mut code = f.code(&client, &user, 60);
        code.resources = both.clone();
        store_ok(C, store.insert_code(code.clone()).await)?;
        let found = store_ok(C, store.find_code(&code.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&code),
            "a code's resources must round-trip: {found:?}"
        );
        let with = |mut t: NewTokens| {
            t.access.resources = one.clone();
            if let Some(r) = &mut t.refresh {
                r.resources = both.clone();
            }
            t
        };
        let tokens = with(f.tokens(code.grant, &client, Some(&user), 3600));
        let outcome = store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        ensure!(C, outcome == Exchange::Issued, "exchange: {outcome:?}");
        let access = store_ok(C, store.find_access(&tokens.access.hash).await)?;
        ensure!(
            C,
            access.as_ref() == Some(&tokens.access),
            "an access token's resources must round-trip: {access:?}"
        );
        let refresh = f.refresh_of(C, &tokens)?;
        let found = store_ok(C, store.find_refresh(&refresh.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&refresh),
            "a refresh token's resources must round-trip: {found:?}"
        );
        let next = with(f.tokens(code.grant, &client, Some(&user), 3600));
        let rotated = store_ok(C, store.rotate_refresh(&refresh.hash, next.clone()).await)?;
        ensure!(C, rotated == Rotation::Rotated, "rotation: {rotated:?}");
        let successor = f.refresh_of(C, &next)?;
        let found = store_ok(C, store.find_refresh(&successor.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&successor),
            "a rotated-in refresh token's resources must round-trip: {found:?}"
        );
        // Tokens issued without resources have none.
        let plain = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
        let plain = NewTokens {
            access: AccessRecord {
                grant: GrantId::derive(&plain.access.hash),
                ..plain.access
            },
            refresh: None,
        };
        store_ok(C, store.issue(plain.clone()).await)?;
        let found = store_ok(C, store.find_access(&plain.access.hash).await)?;
        ensure!(
            C,
            found.as_ref().is_some_and(|a| a.resources.is_empty()),
            "a token without resources must have none: {found:?}"
        );
        Ok(())
    }

    /// The DPoP key a code is bound to (`dpop_jkt`, RFC 9449 §10)
    /// round-trips; a code without one has none (DP-01).
    pub async fn code_dpop_binding_round_trips<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: code DPoP binding (DP-01)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let jkt = crate::dpop::thumbprint::JwkThumbprint::parse(&format!("{:_<43}", "code"))
            .ok_or_else(|| fail(C, "thumbprint"))?;
        let mut bound = f.code(&client, &user, 60);
        bound.dpop_jkt = Some(jkt);
        let plain = f.code(&client, &user, 60);
        for code in [bound, plain] {
            store_ok(C, store.insert_code(code.clone()).await)?;
            let found = store_ok(C, store.find_code(&code.hash).await)?;
            ensure!(
                C,
                found.as_ref() == Some(&code),
                "a code's DPoP binding must round-trip: {found:?}"
            );
        }
        Ok(())
    }

    /// The DPoP key thumbprints tokens are bound to (`dpop_jkt`) round-trip
    /// through issue, exchange and rotation (DP-01, DP-02).
    pub async fn dpop_bindings_round_trip<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: DPoP bindings (DP-01, DP-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let jkt = |s: &str| {
            crate::dpop::thumbprint::JwkThumbprint::parse(&format!("{s:_<43}"))
                .ok_or_else(|| fail(C, "thumbprint"))
        };
        let (a, b) = (jkt("key-a")?, jkt("key-b")?);
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let mut tokens = f.tokens(code.grant, &client, Some(&user), 3600);
        tokens.access.dpop_jkt = Some(a.clone());
        if let Some(r) = &mut tokens.refresh {
            r.dpop_jkt = Some(a.clone());
        }
        let outcome = store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        ensure!(C, outcome == Exchange::Issued, "exchange: {outcome:?}");
        let access = store_ok(C, store.find_access(&tokens.access.hash).await)?;
        ensure!(
            C,
            access.as_ref() == Some(&tokens.access),
            "an access token's DPoP key must round-trip: {access:?}"
        );
        let refresh = f.refresh_of(C, &tokens)?;
        let found = store_ok(C, store.find_refresh(&refresh.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&refresh),
            "a refresh token's DPoP key must round-trip: {found:?}"
        );
        // A rotation binds the new access token to another key, the
        // refresh token stays bound to the first.
        let mut next = f.tokens(code.grant, &client, Some(&user), 3600);
        next.access.dpop_jkt = Some(b);
        if let Some(r) = &mut next.refresh {
            r.dpop_jkt = Some(a);
        }
        let r = store_ok(C, store.rotate_refresh(&refresh.hash, next.clone()).await)?;
        ensure!(C, r == Rotation::Rotated, "rotation: {r:?}");
        let found = store_ok(C, store.find_access(&next.access.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&next.access),
            "a rotated-in access token's DPoP key must round-trip: {found:?}"
        );
        let successor = f.refresh_of(C, &next)?;
        let found = store_ok(C, store.find_refresh(&successor.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&successor),
            "a rotated-in refresh token's DPoP key must round-trip: {found:?}"
        );
        // A token without a binding stays unbound.
        let plain = f.tokens(code.grant, &client, Some(&user), 3600);
        store_ok(C, store.issue(plain.clone()).await)?;
        let found = store_ok(C, store.find_access(&plain.access.hash).await)?;
        ensure!(
            C,
            found.is_some_and(|t| t.dpop_jkt.is_none()),
            "an unbound token must come back unbound"
        );
        Ok(())
    }

    /// `revoke_access` removes one access token and nothing else; an
    /// unknown hash is not an error.
    pub async fn revoke_access_of_one_token<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revoke_access (RV-02)";
        let f = Fixture::new();
        let client = f.client_id()?;
        let grant = GrantId::derive(&f.hash());
        let (lone, sibling) = (
            f.tokens(grant, &client, None, 3600),
            f.tokens(grant, &client, None, 3600),
        );
        store_ok(C, store.issue(lone.clone()).await)?;
        store_ok(C, store.issue(sibling.clone()).await)?;
        store_ok(C, store.revoke_access(&lone.access.hash).await)?;
        ensure!(
            C,
            store_ok(C, store.find_access(&lone.access.hash).await)?.is_none(),
            "revoked access token still found"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&sibling.access.hash).await)?.is_some(),
            "another token of the grant was revoked"
        );
        store_ok(C, store.revoke_access(&f.hash()).await)?;
        Ok(())
    }

    /// `revoke_grant` takes the code and every token of the grant,
    /// rotations included, and nothing of another grant (AC-02, RT-02).
    pub async fn revoke_grant_takes_the_family<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revoke_grant (AC-02, RT-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let family = f.tokens(code.grant, &client, Some(&user), 3600);
        store_ok(C, store.exchange_code(&code.hash, family.clone()).await)?;
        let first_refresh = f.refresh_of(C, &family)?;
        let rotated = f.tokens(code.grant, &client, Some(&user), 3600);
        store_ok(
            C,
            store
                .rotate_refresh(&first_refresh.hash, rotated.clone())
                .await,
        )?;
        let bystander = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(bystander.clone()).await)?;
        store_ok(C, store.revoke_grant(&code.grant).await)?;
        for t in [&family, &rotated] {
            ensure!(
                C,
                store_ok(C, store.find_access(&t.access.hash).await)?.is_none(),
                "grant's access token survived"
            );
            let r = f.refresh_of(C, t)?;
            ensure!(
                C,
                store_ok(C, store.find_refresh(&r.hash).await)?.is_none_or(|r| r.used),
                "grant's refresh token survived unused"
            );
        }
        ensure!(
            C,
            store_ok(C, store.find_code(&code.hash).await)?.is_none_or(|c| c.used),
            "grant's code survived unused"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&bystander.access.hash).await)?.is_some(),
            "another grant was revoked"
        );
        Ok(())
    }

    /// `revoke_session` takes what a logout of the session ends and nothing
    /// else (LO-02, Back-Channel Logout 1.0 §2.7): a grant without
    /// `offline_access` whole (code, access and refresh tokens, rotations
    /// included), a code not yet exchanged, and the access tokens of an
    /// `offline_access` grant, whose refresh token still rotates; another
    /// session's grant and a grant without OpenID Connect facts stay. It
    /// counts what went.
    // issue 16
    pub async fn revoke_session_takes_what_the_logout_ends<S: TokenStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenStore: revoke_session (LO-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let session = f.openid(C)?.without_nonce();
        let other = f.openid(C)?.without_nonce();
        let sid = session
            .session_id()
            .cloned()
            .ok_or_else(|| fail(C, "sid"))?;
        let stamp = |mut t: NewTokens, facts: &OpenIdGrant, scope: &str| {
            t.access.openid = Some(facts.clone());
            if let Some(r) = &mut t.refresh {
                r.openid = Some(facts.clone());
                r.scope = super::scope(scope);
            }
            t
        };
        // Exchanges a code of `facts` with `scope` into stamped tokens.
        let exchanged = |facts: &OpenIdGrant, scope: &str| {
            let mut code = f.code(&client, &user, 60);
            code.scope = super::scope(scope);
            code.openid = Some(facts.clone());
            let tokens = stamp(
                f.tokens(code.grant, &client, Some(&user), 3600),
                facts,
                scope,
            );
            (code, tokens)
        };
        // An online grant of the session, rotated once.
        let (online_code, online) = exchanged(&session, "openid read");
        store_ok(C, store.insert_code(online_code.clone()).await)?;
        store_ok(
            C,
            store.exchange_code(&online_code.hash, online.clone()).await,
        )?;
        let rotated = stamp(
            f.tokens(online_code.grant, &client, Some(&user), 3600),
            &session,
            "openid read",
        );
        let first = f.refresh_of(C, &online)?;
        store_ok(C, store.rotate_refresh(&first.hash, rotated.clone()).await)?;
        // An offline grant of the session, exchanged.
        let (offline_code, offline) = exchanged(&session, "openid offline_access");
        store_ok(C, store.insert_code(offline_code.clone()).await)?;
        store_ok(
            C,
            store
                .exchange_code(&offline_code.hash, offline.clone())
                .await,
        )?;
        // An offline code of the session, not yet exchanged.
        let (pending, _) = exchanged(&session, "openid offline_access");
        store_ok(C, store.insert_code(pending.clone()).await)?;
        // Another session's grant, and a plain OAuth grant.
        let (other_code, elsewhere) = exchanged(&other, "openid read");
        store_ok(C, store.insert_code(other_code.clone()).await)?;
        store_ok(
            C,
            store
                .exchange_code(&other_code.hash, elsewhere.clone())
                .await,
        )?;
        let plain = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(plain.clone()).await)?;

        let n = store_ok(C, store.revoke_session(&sid).await)?;

        for t in [&online, &rotated, &offline] {
            ensure!(
                C,
                store_ok(C, store.find_access(&t.access.hash).await)?.is_none(),
                "an access token of the session survived its logout"
            );
        }
        for t in [&online, &rotated] {
            let r = f.refresh_of(C, t)?;
            ensure!(
                C,
                store_ok(C, store.find_refresh(&r.hash).await)?.is_none_or(|r| r.used),
                "a refresh token without offline_access survived its session's logout unused"
            );
        }
        for code in [&online_code, &pending] {
            ensure!(
                C,
                store_ok(C, store.find_code(&code.hash).await)?.is_none_or(|c| c.used),
                "a code of the session survived its logout unused"
            );
        }
        let kept = f.refresh_of(C, &offline)?;
        ensure!(
            C,
            store_ok(C, store.find_refresh(&kept.hash).await)?.is_some_and(|r| !r.used),
            "an offline_access refresh token must outlive the session"
        );
        ensure!(
            C,
            store_ok(C, store.find_code(&offline_code.hash).await)?.is_some_and(|c| c.used),
            "the used code of an offline_access grant must stay, to catch a replay"
        );
        for t in [&elsewhere, &plain] {
            ensure!(
                C,
                store_ok(C, store.find_access(&t.access.hash).await)?.is_some(),
                "another session's or a plain grant's access token was revoked"
            );
            let r = f.refresh_of(C, t)?;
            ensure!(
                C,
                store_ok(C, store.find_refresh(&r.hash).await)?.is_some(),
                "another session's or a plain grant's refresh token was revoked"
            );
        }
        ensure!(
            C,
            n == 7,
            "revoke_session must count the codes and tokens it removed: 2 codes, \
             3 access and 2 refresh tokens, not {n}"
        );
        let next = stamp(
            f.tokens(offline_code.grant, &client, Some(&user), 3600),
            &session,
            "openid offline_access",
        );
        let r = store_ok(C, store.rotate_refresh(&kept.hash, next).await)?;
        ensure!(
            C,
            r == Rotation::Rotated,
            "the offline_access refresh token must still rotate: {r:?}"
        );
        let again = store_ok(C, store.revoke_session(&sid).await)?;
        ensure!(
            C,
            again == 1,
            "a second logout takes only the access token the rotation issued, not {again}"
        );
        Ok(())
    }

    /// An exchange whose tokens cannot be stored fails and leaves the code
    /// unused and no token stored (RB-02).
    pub async fn failed_exchange_changes_nothing<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: all or nothing (RB-02)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let existing = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
        store_ok(C, store.issue(existing.clone()).await)?;
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        // The new refresh token collides with a stored one: the exchange fails.
        let mut clash = f.tokens(code.grant, &client, Some(&user), 3600);
        clash.refresh = existing.refresh.clone();
        ensure!(
            C,
            store
                .exchange_code(&code.hash, clash.clone())
                .await
                .is_err(),
            "a failing exchange must report an error"
        );
        ensure!(
            C,
            store_ok(C, store.find_code(&code.hash).await)?.is_some_and(|c| !c.used),
            "failed exchange consumed the code"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&clash.access.hash).await)?.is_none(),
            "failed exchange stored a token"
        );
        Ok(())
    }

    /// Of 20 concurrent exchanges of one code, exactly one wins (AC-04).
    pub async fn concurrent_exchange_has_one_winner<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: concurrent exchange (AC-04)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (store, tokens, hash) = (
                store.clone(),
                f.tokens(code.grant, &client, Some(&user), 3600),
                code.hash,
            );
            tasks.push(tokio::spawn(async move {
                store.exchange_code(&hash, tokens).await
            }));
        }
        let mut issued = 0;
        for t in tasks {
            if store_ok(C, t.await.map_err(|e| fail(C, e))?)? == Exchange::Issued {
                issued += 1;
            }
        }
        ensure!(C, issued == 1, "{issued} of 20 concurrent exchanges won");
        Ok(())
    }

    /// Of 20 concurrent rotations of one refresh token, exactly one wins
    /// (RT-04).
    pub async fn concurrent_rotation_has_one_winner<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: concurrent rotation (RT-04)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(first.clone()).await)?;
        let old = f.refresh_of(C, &first)?.hash;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (store, next) = (
                store.clone(),
                f.tokens(first.access.grant, &client, Some(&user), 3600),
            );
            tasks.push(tokio::spawn(async move {
                store.rotate_refresh(&old, next).await
            }));
        }
        let mut rotated = 0;
        for t in tasks {
            if store_ok(C, t.await.map_err(|e| fail(C, e))?)? == Rotation::Rotated {
                rotated += 1;
            }
        }
        ensure!(C, rotated == 1, "{rotated} of 20 concurrent rotations won");
        Ok(())
    }

    /// `revoke_grant` wins against rotations of the grant in flight: while
    /// one task rotates the grant's refresh token in a loop (each step
    /// rotating the token the last one issued), another revokes the grant;
    /// once `revoke_grant` has returned, no access or refresh token of the
    /// grant is found and no rotation of any of them succeeds, including the
    /// ones minted by a rotation that was in flight (RB-05, RT-02, RV-02).
    // issue 15 finding 1
    pub async fn revocation_wins_against_rotation<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revocation wins against rotation (RB-05)";
        super::race::run(
            C,
            &store,
            super::race::Start::Refresh,
            |s, ids| async move { s.revoke_grant(&ids.grant).await },
        )
        .await
    }

    /// `revoke_grant` wins against the exchange of the grant's code (and the
    /// rotations after it) in flight: once it has returned, the code does not
    /// exchange and no token of the grant is found or rotates (RB-05, AC-02).
    // issue 15 finding 1
    pub async fn revocation_wins_against_exchange<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revocation wins against exchange (RB-05)";
        super::race::run(C, &store, super::race::Start::Code, |s, ids| async move {
            s.revoke_grant(&ids.grant).await
        })
        .await
    }

    /// `revoke_session` wins against the exchange of a code of the session
    /// and the rotations after it, as `revoke_grant` does (RB-05, LO-02):
    /// once it has returned, nothing of the grant is found or steps.
    // issue 16
    pub async fn session_revocation_wins_against_exchange<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revoke_session wins against exchange (RB-05, LO-02)";
        super::race::run(
            C,
            &store,
            super::race::Start::SessionCode,
            |s, ids| async move { s.revoke_session(&ids.session).await.map(drop) },
        )
        .await
    }

    /// `session_clients` names every client with a code or token of the
    /// session still stored, each once, whatever the record's state: a
    /// code never exchanged (and expired), a code exchanged and its tokens
    /// rotated, tokens issued without a code, an access token alone, a
    /// refresh token whose access token was revoked. A client of another
    /// session only, or of a grant without OpenID Connect facts, is not
    /// named; an unknown session has none (LO-02).
    // issue 16
    pub async fn session_clients_names_each_client_once<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: session_clients (LO-02)";
        let f = Fixture::new();
        let user = f.user()?;
        let session = f.openid(C)?;
        let other = f.openid(C)?;
        let sid = session
            .session_id()
            .cloned()
            .ok_or_else(|| fail(C, "sid"))?;
        let stamp = |mut t: NewTokens, facts: &OpenIdGrant| {
            let facts = facts.without_nonce();
            t.access.openid = Some(facts.clone());
            if let Some(r) = &mut t.refresh {
                r.openid = Some(facts);
            }
            t
        };
        let (pending, exchanged, issued) = (f.client_id()?, f.client_id()?, f.client_id()?);
        let (access_only, elsewhere, plain) = (f.client_id()?, f.client_id()?, f.client_id()?);
        // A code of the session, never exchanged, already expired.
        let mut code = f.code(&pending, &user, 0);
        code.openid = Some(session.clone());
        store_ok(C, store.insert_code(code).await)?;
        // A code exchanged, and its refresh token rotated: four records.
        let mut code = f.code(&exchanged, &user, 60);
        code.openid = Some(session.clone());
        store_ok(C, store.insert_code(code.clone()).await)?;
        let tokens = stamp(
            f.tokens(code.grant, &exchanged, Some(&user), 3600),
            &session,
        );
        store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        let next = stamp(
            f.tokens(code.grant, &exchanged, Some(&user), 3600),
            &session,
        );
        let first = f.refresh_of(C, &tokens)?;
        store_ok(C, store.rotate_refresh(&first.hash, next).await)?;
        // Tokens without a code, whose access token was then revoked.
        let tokens = stamp(
            f.tokens(GrantId::derive(&f.hash()), &issued, Some(&user), 3600),
            &session,
        );
        store_ok(C, store.issue(tokens.clone()).await)?;
        store_ok(C, store.revoke_access(&tokens.access.hash).await)?;
        // An access token alone.
        let mut alone = stamp(
            f.tokens(GrantId::derive(&f.hash()), &access_only, Some(&user), 3600),
            &session,
        );
        alone.refresh = None;
        alone.access.grant = GrantId::derive(&alone.access.hash);
        store_ok(C, store.issue(alone).await)?;
        // Another session's code and tokens, and a plain OAuth grant.
        let mut code = f.code(&elsewhere, &user, 60);
        code.openid = Some(other.clone());
        store_ok(C, store.insert_code(code.clone()).await)?;
        let tokens = stamp(f.tokens(code.grant, &elsewhere, Some(&user), 3600), &other);
        store_ok(C, store.exchange_code(&code.hash, tokens).await)?;
        let tokens = f.tokens(GrantId::derive(&f.hash()), &plain, Some(&user), 3600);
        store_ok(C, store.issue(tokens).await)?;

        let mut found = store_ok(C, store.session_clients(&sid).await)?;
        found.sort();
        let mut expected = vec![pending, exchanged, issued, access_only];
        expected.sort();
        ensure!(
            C,
            found == expected,
            "session_clients must name each client of the session once, and no \
             other: {found:?}, not {expected:?}"
        );
        let unknown =
            crate::oidc::SessionId::parse(&f.unique("sid")).ok_or_else(|| fail(C, "sid"))?;
        let none = store_ok(C, store.session_clients(&unknown).await)?;
        ensure!(
            C,
            none.is_empty(),
            "an unknown session has no clients, not {none:?}"
        );
        Ok(())
    }

    // --- issue 18: token exchange (exchange) ---

    /// An exchanged access token's actor chain (the `act` claim, RFC 8693
    /// §4.1; TE-01) round-trips, nested, whether it starts a grant or joins
    /// one; a token without one stays without; revoking the grant takes
    /// it (TE-01: exchanged tokens are revocable).
    pub async fn actor_round_trips<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: act claim (TE-01)";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let actor = |s: &str| crate::tokens::actor::Actor::parse(s).ok_or_else(|| fail(C, "actor"));
        let chain = actor("service16")?
            .with_client_id(client.clone())
            .acting_after(actor("service77")?)
            .ok_or_else(|| fail(C, "chain"))?;
        // Its own grant, as `issue` stores a token that starts one.
        let mut first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        first.refresh = None;
        first.access.act = Some(chain.clone());
        store_ok(C, store.issue(first.clone()).await)?;
        let found = store_ok(C, store.find_access(&first.access.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&first.access),
            "an access token's act claim must round-trip: {found:?}"
        );
        // Joining the grant of a subject token (a code's grant here).
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let tokens = f.tokens(code.grant, &client, Some(&user), 3600);
        store_ok(C, store.exchange_code(&code.hash, tokens.clone()).await)?;
        let mut joined = f.tokens(code.grant, &client, Some(&user), 3600);
        joined.refresh = None;
        joined.access.act = Some(actor("gateway")?);
        store_ok(C, store.issue(joined.clone()).await)?;
        let found = store_ok(C, store.find_access(&joined.access.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&joined.access),
            "a joined access token's act claim must round-trip: {found:?}"
        );
        let plain = store_ok(C, store.find_access(&tokens.access.hash).await)?;
        ensure!(
            C,
            plain.is_some_and(|a| a.act.is_none()),
            "a token without an actor must stay without"
        );
        store_ok(C, store.revoke_grant(&code.grant).await)?;
        ensure!(
            C,
            store_ok(C, store.find_access(&joined.access.hash).await)?.is_none(),
            "an exchanged token joining a revoked grant is still found"
        );
        Ok(())
    }
}

/// [`TokenAdmin`](crate::TokenAdmin) clauses, read back through
/// [`TokenStore`](crate::TokenStore).
pub mod token_admin {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fixture, Outcome, store_ok};
    use crate::stores::{TokenAdmin, TokenStore};
    use crate::tokens::GrantId;

    /// `revoke_user` removes the user's code and tokens, counts them, and
    /// leaves another user's.
    pub async fn revoke_user_takes_only_that_user<S: TokenStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenAdmin: revoke_user";
        let f = Fixture::new();
        let (client, user, other) = (f.client_id()?, f.user()?, f.user()?);
        let code = f.code(&client, &user, 60);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let mine = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        let theirs = f.tokens(GrantId::derive(&f.hash()), &client, Some(&other), 3600);
        store_ok(C, store.issue(mine.clone()).await)?;
        store_ok(C, store.issue(theirs.clone()).await)?;
        let n = store_ok(C, store.revoke_user(&user).await)?;
        ensure!(C, n == 3, "revoke_user counted {n}, not 3");
        ensure!(
            C,
            store_ok(C, store.find_access(&mine.access.hash).await)?.is_none()
                && store_ok(C, store.find_code(&code.hash).await)?.is_none(),
            "the user's code or token survived"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&theirs.access.hash).await)?.is_some(),
            "another user's token was revoked"
        );
        Ok(())
    }

    /// `revoke_client` removes the client's tokens, client-only tokens
    /// (`client_credentials`) included, counts them, and leaves another
    /// client's.
    pub async fn revoke_client_takes_only_that_client<S: TokenStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenAdmin: revoke_client";
        let f = Fixture::new();
        let (client, other, user) = (f.client_id()?, f.client_id()?, f.user()?);
        let mine = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        let service = f.tokens(GrantId::derive(&f.hash()), &client, None, 3600);
        let theirs = f.tokens(GrantId::derive(&f.hash()), &other, Some(&user), 3600);
        for t in [&mine, &service, &theirs] {
            store_ok(C, store.issue(t.clone()).await)?;
        }
        let n = store_ok(C, store.revoke_client(&client).await)?;
        ensure!(C, n == 4, "revoke_client counted {n}, not 4");
        ensure!(
            C,
            store_ok(C, store.find_access(&mine.access.hash).await)?.is_none()
                && store_ok(C, store.find_access(&service.access.hash).await)?.is_none(),
            "the client's token survived"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&theirs.access.hash).await)?.is_some(),
            "another client's token was revoked"
        );
        Ok(())
    }

    /// `purge_expired(now)` removes what expired at `now` and nothing live;
    /// a used refresh token is kept until it expires (replay detection).
    pub async fn purge_removes_only_the_expired<S: TokenStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenAdmin: purge_expired";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        // Expired at `now + 100`: a code, an access token.
        let code = f.code(&client, &user, 50);
        store_ok(C, store.insert_code(code.clone()).await)?;
        let short = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 60);
        store_ok(C, store.issue(short.clone()).await)?;
        let long = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(long.clone()).await)?;
        let long_refresh = f.refresh_of(C, &long)?.hash;
        let next = f.tokens(long.access.grant, &client, Some(&user), 3600);
        store_ok(C, store.rotate_refresh(&long_refresh, next).await)?;
        let counts = store_ok(
            C,
            store
                .purge_expired(f.now.plus(Duration::from_secs(100)))
                .await,
        )?;
        ensure!(
            C,
            counts.codes >= 1 && counts.access_tokens >= 1,
            "counts: {counts:?}"
        );
        ensure!(
            C,
            store_ok(C, store.find_code(&code.hash).await)?.is_none(),
            "expired code kept"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&short.access.hash).await)?.is_none(),
            "expired access token kept"
        );
        let short_refresh = f.refresh_of(C, &short)?.hash;
        ensure!(
            C,
            store_ok(C, store.find_refresh(&short_refresh).await)?.is_some(),
            "live refresh token (600 s) removed"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&long.access.hash).await)?.is_some(),
            "live access token removed"
        );
        ensure!(
            C,
            store_ok(C, store.find_refresh(&long_refresh).await)?.is_some_and(|r| r.used),
            "used, unexpired refresh token removed"
        );
        Ok(())
    }

    /// A purge removes every expired row however many there are: with
    /// [`PURGE_ROWS`](super::PURGE_ROWS) expired codes, access tokens and
    /// refresh tokens (more than one batch of a store that purges in
    /// batches below that size, as `tests/stores` configures the SQL
    /// stores), none is left, each is counted, and every live row stays.
    pub async fn purge_in_batches_removes_every_expired_row<S: TokenStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenAdmin: purge_expired in batches";
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let mut expired_codes = Vec::new();
        let mut expired_tokens = Vec::new();
        for _ in 0..super::PURGE_ROWS {
            let code = f.code(&client, &user, 30);
            store_ok(C, store.insert_code(code.clone()).await)?;
            expired_codes.push(code.hash);
            // The access token expires at `now + 5`, its refresh token at
            // `now + 50`.
            let t = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 5);
            store_ok(C, store.issue(t.clone()).await)?;
            expired_tokens.push((t.access.hash, f.refresh_of(C, &t)?.hash));
        }
        let live_code = f.code(&client, &user, 3600);
        store_ok(C, store.insert_code(live_code.clone()).await)?;
        let live = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(C, store.issue(live.clone()).await)?;
        let counts = store_ok(
            C,
            store
                .purge_expired(f.now.plus(Duration::from_secs(100)))
                .await,
        )?;
        // At least: a store shared with other tests may hold more.
        let n = super::PURGE_ROWS as u64;
        ensure!(
            C,
            counts.codes >= n && counts.access_tokens >= n && counts.refresh_tokens >= n,
            "counts {counts:?}, expected at least {n} of each"
        );
        for code in &expired_codes {
            ensure!(
                C,
                store_ok(C, store.find_code(code).await)?.is_none(),
                "an expired code was kept"
            );
        }
        for (access, refresh) in &expired_tokens {
            ensure!(
                C,
                store_ok(C, store.find_access(access).await)?.is_none(),
                "an expired access token was kept"
            );
            ensure!(
                C,
                store_ok(C, store.find_refresh(refresh).await)?.is_none(),
                "an expired refresh token was kept"
            );
        }
        ensure!(
            C,
            store_ok(C, store.find_code(&live_code.hash).await)?.is_some(),
            "a live code was removed"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&live.access.hash).await)?.is_some()
                && store_ok(C, store.find_refresh(&f.refresh_of(C, &live)?.hash).await)?.is_some(),
            "a live token was removed"
        );
        Ok(())
    }

    /// `revoke_client` and `revoke_user` win against rotations in flight of
    /// the grants they cover, as `revoke_grant` does: once they have
    /// returned, no token of the grant is found or rotates (RB-05).
    // issue 15 finding 1
    pub async fn operator_revocation_wins_against_rotation<S: TokenStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenAdmin: revoke_client/revoke_user win against rotation (RB-05)";
        super::race::run(
            C,
            &store,
            super::race::Start::Refresh,
            |s, ids| async move {
                // Alternately by client and by user.
                if ids.trial % 2 == 0 {
                    s.revoke_client(&ids.client).await.map(drop)
                } else {
                    s.revoke_user(&ids.user).await.map(drop)
                }
            },
        )
        .await
    }
}

/// [`ConsentStore`](crate::ConsentStore) clauses (AZ-08).
pub mod consent_store {
    use std::sync::Arc;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::clock::UnixTime;
    use crate::stores::ConsentStore;

    /// No consent is `Ok(None)`.
    pub async fn no_consent_is_none<S: ConsentStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ConsentStore: no consent (AZ-08)";
        let f = Fixture::new();
        ensure!(
            C,
            store_ok(C, store.consent(&f.user()?, &f.client_id()?).await)?.is_none(),
            "no consent must be Ok(None)"
        );
        Ok(())
    }

    /// Grants accumulate: the scope is the union, `granted_at` the latest;
    /// another client's consent is separate.
    pub async fn grants_accumulate<S: ConsentStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ConsentStore: grants accumulate (AZ-08)";
        let f = Fixture::new();
        let (user, a, b) = (f.user()?, f.client_id()?, f.client_id()?);
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &a, "read", 10)).await,
        )?;
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &a, "write", 20)).await,
        )?;
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &b, "admin", 30)).await,
        )?;
        let found = store_ok(C, store.consent(&user, &a).await)?
            .ok_or_else(|| fail(C, "granted consent not found"))?;
        ensure!(
            C,
            found.scope.to_string() == "read write",
            "scopes must accumulate: {}",
            found.scope
        );
        ensure!(
            C,
            found.granted_at == UnixTime::from_secs(20),
            "granted_at must be the latest"
        );
        let other = store_ok(C, store.consent(&user, &b).await)?
            .ok_or_else(|| fail(C, "second client's consent not found"))?;
        ensure!(
            C,
            other.scope.to_string() == "admin",
            "consent leaked between clients: {}",
            other.scope
        );
        Ok(())
    }
}

/// [`ConsentAdmin`](crate::ConsentAdmin) clauses, read back through
/// [`ConsentStore`](crate::ConsentStore).
pub mod consent_admin {
    use std::sync::Arc;

    use super::{Fixture, Outcome, store_ok};
    use crate::stores::{ConsentAdmin, ConsentStore};

    /// `consents(user)` lists that user's consents, ordered by client id.
    pub async fn list_by_user<S: ConsentStore + ConsentAdmin>(store: Arc<S>) -> Outcome {
        const C: &str = "ConsentAdmin: list";
        let f = Fixture::new();
        let (user, other, a, b) = (f.user()?, f.user()?, f.client_id()?, f.client_id()?);
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &a, "read", 10)).await,
        )?;
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &b, "read", 10)).await,
        )?;
        store_ok(
            C,
            store.grant_consent(f.consent(&other, &a, "read", 10)).await,
        )?;
        let listed = store_ok(C, store.consents(&user).await)?;
        let clients: Vec<_> = listed.iter().map(|c| c.client_id.clone()).collect();
        let mut expected = vec![a, b];
        expected.sort();
        ensure!(
            C,
            clients == expected && listed.iter().all(|c| c.user == user),
            "list: {listed:?}"
        );
        Ok(())
    }

    /// `revoke_consent` withdraws one client's consent once (`true`, then
    /// `false`) and leaves the others.
    pub async fn revoke_withdraws_one_client<S: ConsentStore + ConsentAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ConsentAdmin: revoke";
        let f = Fixture::new();
        let (user, a, b) = (f.user()?, f.client_id()?, f.client_id()?);
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &a, "read", 10)).await,
        )?;
        store_ok(
            C,
            store.grant_consent(f.consent(&user, &b, "read", 10)).await,
        )?;
        ensure!(
            C,
            store_ok(C, store.revoke_consent(&user, &a).await)?,
            "revoke must return true"
        );
        ensure!(
            C,
            store_ok(C, store.consent(&user, &a).await)?.is_none(),
            "revoked consent still found"
        );
        ensure!(
            C,
            !store_ok(C, store.revoke_consent(&user, &a).await)?,
            "second revoke must return false"
        );
        ensure!(
            C,
            store_ok(C, store.consent(&user, &b).await)?.is_some(),
            "another client's consent was revoked"
        );
        Ok(())
    }
}

/// [`ReplayCache`](crate::ReplayCache) clauses (CA-08).
pub mod replay_cache {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::stores::{ReplayCache, ReplayScope};

    /// The first use of an id is accepted, the second is a replay.
    pub async fn second_use_is_a_replay<S: ReplayCache>(store: Arc<S>) -> Outcome {
        const C: &str = "ReplayCache: replay (CA-08)";
        let f = Fixture::new();
        let scope = ReplayScope::ClientAssertion(f.client_id()?);
        let id = f.unique("jti");
        ensure!(
            C,
            store_ok(
                C,
                store
                    .first_use(&scope, &id, f.now.plus(Duration::from_secs(60)))
                    .await
            )?,
            "first use must be accepted"
        );
        ensure!(
            C,
            !store_ok(
                C,
                store
                    .first_use(&scope, &id, f.now.plus(Duration::from_secs(60)))
                    .await
            )?,
            "replayed id accepted"
        );
        Ok(())
    }

    /// One id in two scopes (two clients) is two first uses.
    pub async fn ids_are_per_scope<S: ReplayCache>(store: Arc<S>) -> Outcome {
        const C: &str = "ReplayCache: per scope (CA-08)";
        let f = Fixture::new();
        let (a, b) = (
            ReplayScope::ClientAssertion(f.client_id()?),
            ReplayScope::ClientAssertion(f.client_id()?),
        );
        let id = f.unique("jti");
        ensure!(
            C,
            store_ok(
                C,
                store
                    .first_use(&a, &id, f.now.plus(Duration::from_secs(60)))
                    .await
            )? && store_ok(
                C,
                store
                    .first_use(&b, &id, f.now.plus(Duration::from_secs(60)))
                    .await
            )?,
            "an id is unique per scope, not globally"
        );
        Ok(())
    }

    /// A DPoP proof's `jti` is unique per key (RFC 9449 §11.1), and never
    /// collides with a client assertion's (DP-01).
    pub async fn dpop_proof_ids_are_per_key<S: ReplayCache>(store: Arc<S>) -> Outcome {
        const C: &str = "ReplayCache: DPoP proofs (DP-01)";
        let f = Fixture::new();
        let client = f.client_id()?;
        let jkt =
            crate::dpop::thumbprint::JwkThumbprint::parse(&format!("{:_<43}", client.as_str()))
                .ok_or_else(|| fail(C, "thumbprint"))?;
        let other = crate::dpop::thumbprint::JwkThumbprint::parse(&format!("{:-<43}", "k"))
            .ok_or_else(|| fail(C, "thumbprint"))?;
        let id = f.unique("jti");
        let until = f.now.plus(Duration::from_secs(60));
        let dpop = ReplayScope::DpopProof(jkt);
        ensure!(
            C,
            store_ok(C, store.first_use(&dpop, &id, until).await)?,
            "the first use of a proof's jti must be accepted"
        );
        ensure!(
            C,
            !store_ok(C, store.first_use(&dpop, &id, until).await)?,
            "the second use of a proof's jti must be a replay"
        );
        ensure!(
            C,
            store_ok(
                C,
                store
                    .first_use(&ReplayScope::DpopProof(other), &id, until)
                    .await
            )? && store_ok(
                C,
                store
                    .first_use(&ReplayScope::ClientAssertion(client), &id, until)
                    .await
            )?,
            "a jti is unique per key, apart from client assertions"
        );
        Ok(())
    }

    /// Of 20 concurrent first uses of one id, exactly one is accepted.
    pub async fn concurrent_first_use_has_one_winner<S: ReplayCache>(store: Arc<S>) -> Outcome {
        const C: &str = "ReplayCache: concurrent first use (CA-08)";
        let f = Fixture::new();
        let (scope, id) = (
            ReplayScope::ClientAssertion(f.client_id()?),
            f.unique("jti"),
        );
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (store, scope, id, exp) = (
                store.clone(),
                scope.clone(),
                id.clone(),
                f.now.plus(Duration::from_secs(60)),
            );
            tasks.push(tokio::spawn(async move {
                store.first_use(&scope, &id, exp).await
            }));
        }
        let mut accepted = 0;
        for t in tasks {
            if store_ok(C, t.await.map_err(|e| fail(C, e))?)? {
                accepted += 1;
            }
        }
        ensure!(
            C,
            accepted == 1,
            "{accepted} of 20 concurrent uses of one id accepted"
        );
        Ok(())
    }

    /// `purge_replays(now)` forgets what expired at `now`, and keeps (so
    /// still refuses) what has not.
    pub async fn purge_forgets_only_the_expired<S: ReplayCache>(store: Arc<S>) -> Outcome {
        const C: &str = "ReplayCache: purge";
        let f = Fixture::new();
        let scope = ReplayScope::ClientAssertion(f.client_id()?);
        let (old, live) = (f.unique("jti"), f.unique("jti"));
        store_ok(
            C,
            store
                .first_use(&scope, &old, f.now.plus(Duration::from_secs(10)))
                .await,
        )?;
        store_ok(
            C,
            store
                .first_use(&scope, &live, f.now.plus(Duration::from_secs(600)))
                .await,
        )?;
        let n = store_ok(
            C,
            store
                .purge_replays(f.now.plus(Duration::from_secs(10)))
                .await,
        )?;
        ensure!(C, n >= 1, "purge_replays removed {n}");
        ensure!(
            C,
            !store_ok(
                C,
                store
                    .first_use(&scope, &live, f.now.plus(Duration::from_secs(600)))
                    .await
            )?,
            "purge forgot an unexpired id"
        );
        ensure!(
            C,
            store_ok(
                C,
                store
                    .first_use(&scope, &old, f.now.plus(Duration::from_secs(700)))
                    .await
            )?,
            "purge kept an expired id"
        );
        Ok(())
    }

    /// A purge forgets every expired id however many there are: with
    /// [`PURGE_ROWS`](super::PURGE_ROWS) of them (more than one batch of a
    /// store that purges in batches below that size), every one is usable
    /// again, each is counted, and a live id still refuses.
    pub async fn purge_in_batches_forgets_every_expired_id<S: ReplayCache>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ReplayCache: purge in batches";
        let f = Fixture::new();
        let scope = ReplayScope::ClientAssertion(f.client_id()?);
        let soon = f.now.plus(Duration::from_secs(10));
        let mut expired = Vec::new();
        for _ in 0..super::PURGE_ROWS {
            let id = f.unique("jti");
            store_ok(C, store.first_use(&scope, &id, soon).await)?;
            expired.push(id);
        }
        let live = f.unique("jti");
        let later = f.now.plus(Duration::from_secs(600));
        store_ok(C, store.first_use(&scope, &live, later).await)?;
        let n = store_ok(C, store.purge_replays(soon).await)?;
        ensure!(
            C,
            n >= super::PURGE_ROWS as u64,
            "purge_replays counted {n}, expected at least {}",
            super::PURGE_ROWS
        );
        for id in &expired {
            ensure!(
                C,
                store_ok(C, store.first_use(&scope, id, later).await)?,
                "purge kept an expired id"
            );
        }
        ensure!(
            C,
            !store_ok(C, store.first_use(&scope, &live, later).await)?,
            "purge forgot an unexpired id"
        );
        Ok(())
    }
}

/// [`ThrottleStore`](crate::ThrottleStore) clauses: the shared counts of a
/// [`StoreThrottle`](crate::StoreThrottle) (RB-04).
pub mod throttle_store {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Failure, Fixture, Outcome, fail, store_ok};
    use crate::random::RandomSource as _;
    use crate::throttle::{ThrottleCount, ThrottleKey, ThrottleStore};

    fn key(f: &Fixture) -> ThrottleKey {
        let mut b = [0u8; 16];
        let _ = f.random.fill(&mut b);
        ThrottleKey::from_bytes(b)
    }

    fn count_of(
        c: &'static str,
        counts: &[(ThrottleKey, ThrottleCount)],
        key: ThrottleKey,
    ) -> Result<ThrottleCount, Failure> {
        counts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| *n)
            .ok_or_else(|| fail(c, format!("no count returned for {key:?}: {counts:?}")))
    }

    const fn n(attempts: u32, in_flight: u32) -> ThrottleCount {
        ThrottleCount {
            attempts,
            in_flight,
        }
    }

    /// A reserve adds one attempt in flight; a failed settle keeps the
    /// attempt, any other releases it too.
    pub async fn reserve_counts_and_release_settles<S: ThrottleStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ThrottleStore: reserve and release (RB-04)";
        let f = Fixture::new();
        let k = key(&f);
        let end = f.now.plus(Duration::from_secs(600));
        let reserve = || async { store_ok(C, store.throttle_reserve(&[k], f.now, end).await) };
        let got = count_of(C, &reserve().await?, k)?;
        ensure!(C, got == n(1, 1), "first reserve: {got:?}");
        let got = count_of(C, &reserve().await?, k)?;
        ensure!(C, got == n(2, 2), "second reserve: {got:?}");
        store_ok(C, store.throttle_release(&[k], true).await)?;
        let got = count_of(C, &reserve().await?, k)?;
        ensure!(C, got == n(3, 2), "a failure stays counted: {got:?}");
        store_ok(C, store.throttle_release(&[k], false).await)?;
        store_ok(C, store.throttle_release(&[k], false).await)?;
        let got = count_of(C, &reserve().await?, k)?;
        ensure!(
            C,
            got == n(2, 1),
            "a success or unjudged attempt is released: {got:?}"
        );
        // Never below zero.
        for _ in 0..5 {
            store_ok(C, store.throttle_release(&[k], false).await)?;
        }
        let got = count_of(C, &reserve().await?, k)?;
        ensure!(C, got == n(1, 1), "released below zero: {got:?}");
        // Releasing a key never counted changes nothing and does not fail.
        store_ok(C, store.throttle_release(&[key(&f)], true).await)?;
        Ok(())
    }

    /// `throttle_counts` reads what was counted, changes nothing, and
    /// leaves out keys never counted and counters whose window has ended.
    pub async fn counts_read_what_is_counted_in_the_window<S: ThrottleStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ThrottleStore: counts (RB-04)";
        let f = Fixture::new();
        let (a, b, never) = (key(&f), key(&f), key(&f));
        let end = f.now.plus(Duration::from_secs(60));
        store_ok(C, store.throttle_reserve(&[a], f.now, end).await)?;
        store_ok(C, store.throttle_reserve(&[a], f.now, end).await)?;
        store_ok(C, store.throttle_release(&[a], true).await)?;
        store_ok(C, store.throttle_reserve(&[b], f.now, end).await)?;
        let mut keys = [a, b, never];
        keys.sort_unstable();
        for _ in 0..2 {
            let counts = store_ok(C, store.throttle_counts(&keys, f.now).await)?;
            ensure!(
                C,
                counts.len() == 2,
                "a key never counted is left out: {counts:?}"
            );
            let got = (count_of(C, &counts, a)?, count_of(C, &counts, b)?);
            ensure!(
                C,
                got == (n(2, 1), n(1, 1)),
                "counts as reserved and released: {got:?}"
            );
        }
        let counts = store_ok(C, store.throttle_counts(&[a], end).await)?;
        ensure!(
            C,
            counts.is_empty(),
            "a counter whose window ended is left out: {counts:?}"
        );
        Ok(())
    }

    /// A counter whose window has ended counts from zero in a new window.
    pub async fn an_ended_window_starts_afresh<S: ThrottleStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ThrottleStore: windows (RB-04)";
        let f = Fixture::new();
        let k = key(&f);
        let w = Duration::from_secs(60);
        let at = |now: crate::clock::UnixTime, end: crate::clock::UnixTime| {
            let store = store.clone();
            async move {
                let counts = store_ok(C, store.throttle_reserve(&[k], now, end).await)?;
                count_of(C, &counts, k)
            }
        };
        for _ in 0..3 {
            at(f.now, f.now.plus(w)).await?;
        }
        let later = f.now.plus(Duration::from_secs(59));
        let got = at(later, later.plus(w)).await?;
        ensure!(
            C,
            got == n(4, 4),
            "the window has not ended yet, nor moved: {got:?}"
        );
        let end = f.now.plus(w);
        let got = at(end, end.plus(w)).await?;
        ensure!(C, got == n(1, 1), "the window ended at its end: {got:?}");
        let got = at(end.plus(Duration::from_secs(59)), end).await?;
        ensure!(
            C,
            got == n(2, 2),
            "the new window lasts its length: {got:?}"
        );
        Ok(())
    }

    /// One reserve of several keys counts each on its own.
    pub async fn keys_count_apart<S: ThrottleStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ThrottleStore: keys (RB-04)";
        let f = Fixture::new();
        let (a, b, c) = (key(&f), key(&f), key(&f));
        let end = f.now.plus(Duration::from_secs(600));
        let mut ab = [a, b];
        ab.sort_unstable();
        store_ok(C, store.throttle_reserve(&[a], f.now, end).await)?;
        store_ok(C, store.throttle_reserve(&ab, f.now, end).await)?;
        let mut keys = [a, b, c];
        keys.sort_unstable();
        let counts = store_ok(C, store.throttle_reserve(&keys, f.now, end).await)?;
        ensure!(C, counts.len() == 3, "one count per key: {counts:?}");
        let got = (
            count_of(C, &counts, a)?,
            count_of(C, &counts, b)?,
            count_of(C, &counts, c)?,
        );
        ensure!(
            C,
            got == (n(3, 3), n(2, 2), n(1, 1)),
            "counts per key: {got:?}"
        );
        let mut ac = [a, c];
        ac.sort_unstable();
        store_ok(C, store.throttle_release(&ac, true).await)?;
        let counts = store_ok(C, store.throttle_reserve(&keys, f.now, end).await)?;
        let got = (
            count_of(C, &counts, a)?,
            count_of(C, &counts, b)?,
            count_of(C, &counts, c)?,
        );
        ensure!(
            C,
            got == (n(4, 3), n(3, 3), n(2, 1)),
            "released per key: {got:?}"
        );
        Ok(())
    }

    /// Of 20 concurrent reserves of one key, each sees a different count:
    /// the step is atomic (a check that counts, in any number of processes).
    pub async fn concurrent_reserves_each_see_their_own_count<S: ThrottleStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ThrottleStore: concurrent reserves (RB-04)";
        let f = Fixture::new();
        let (k, other) = (key(&f), key(&f));
        let end = f.now.plus(Duration::from_secs(600));
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (store, barrier, now) = (store.clone(), barrier.clone(), f.now);
                tokio::spawn(async move {
                    // Half of them with a second key, in sorted order.
                    let mut keys = if i % 2 == 0 { vec![k] } else { vec![k, other] };
                    keys.sort_unstable();
                    barrier.wait().await;
                    store.throttle_reserve(&keys, now, end).await
                })
            })
            .collect();
        let mut seen = BTreeSet::new();
        for task in tasks {
            let counts = store_ok(C, task.await.map_err(|e| fail(C, e))?)?;
            seen.insert(count_of(C, &counts, k)?.attempts);
        }
        ensure!(
            C,
            seen == (1..=20).collect(),
            "20 concurrent reserves must see the counts 1 to 20 once each: {seen:?}"
        );
        Ok(())
    }

    /// A remembered pair is known until its time, not at it; remembering
    /// again replaces the time.
    pub async fn known_pairs_until_their_time<S: ThrottleStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ThrottleStore: known pairs (RB-04)";
        let f = Fixture::new();
        let (p, q) = (key(&f), key(&f));
        let until = f.now.plus(Duration::from_secs(1_000));
        let until_of = |pair, at| {
            let store = store.clone();
            async move { store_ok(C, store.throttle_known(&pair, at).await) }
        };
        let known = |pair, at| {
            let until = until_of(pair, at);
            async move { Ok::<bool, Failure>(until.await?.is_some()) }
        };
        ensure!(C, !known(p, f.now).await?, "never remembered");
        store_ok(C, store.throttle_remember(&p, until).await)?;
        let before = f.now.plus(Duration::from_secs(999));
        ensure!(C, known(p, before).await?, "not known before its time");
        let got = until_of(p, before).await?;
        ensure!(C, got == Some(until), "known until {got:?}, not {until:?}");
        ensure!(C, !known(p, until).await?, "known at its time");
        ensure!(C, !known(q, f.now).await?, "another pair is known");
        let longer = until.plus(Duration::from_secs(1_000));
        store_ok(C, store.throttle_remember(&p, longer).await)?;
        ensure!(
            C,
            known(p, until).await?,
            "remembering again does not extend"
        );
        Ok(())
    }

    /// Purge forgets counters whose window ended and pairs no longer known,
    /// and nothing else.
    pub async fn purge_forgets_only_what_ended<S: ThrottleStore>(store: Arc<S>) -> Outcome {
        const C: &str = "ThrottleStore: purge (RB-04)";
        let f = Fixture::new();
        let (ended, live, old, known) = (key(&f), key(&f), key(&f), key(&f));
        let at = f.now.plus(Duration::from_secs(10));
        let far = f.now.plus(Duration::from_secs(100_000));
        store_ok(C, store.throttle_reserve(&[ended], f.now, at).await)?;
        store_ok(C, store.throttle_reserve(&[live], f.now, far).await)?;
        store_ok(C, store.throttle_remember(&old, at).await)?;
        store_ok(C, store.throttle_remember(&known, far).await)?;
        let purged = store_ok(C, store.purge_throttle(at).await)?;
        ensure!(
            C,
            purged >= 2,
            "purged {purged}, expected at least the two ended here"
        );
        // A purged counter starts again at one even within its old window.
        let counts = store_ok(C, store.throttle_reserve(&[ended], f.now, at).await)?;
        let got = count_of(C, &counts, ended)?;
        ensure!(C, got == n(1, 1), "an ended counter survived: {got:?}");
        let counts = store_ok(C, store.throttle_reserve(&[live], f.now, far).await)?;
        let got = count_of(C, &counts, live)?;
        ensure!(C, got == n(2, 2), "a live counter was purged: {got:?}");
        ensure!(
            C,
            store_ok(C, store.throttle_known(&known, at).await)?.is_some(),
            "a known pair was purged"
        );
        ensure!(
            C,
            store_ok(C, store.throttle_known(&old, f.now).await)?.is_none(),
            "an ended pair survived the purge"
        );
        Ok(())
    }
}

/// [`AuthorizationRequestStore`](crate::AuthorizationRequestStore) clauses:
/// suspended authorization requests are taken back exactly once.
pub mod authorization_request_store {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::clock::UnixTime;
    use crate::stores::{AuthorizationRequestStore, SuspendedRequest};

    fn request(f: &Fixture, expires_at: UnixTime) -> SuspendedRequest {
        SuspendedRequest {
            hash: f.hash(),
            payload: format!("{{\"state\":\"{}\"}}", f.unique("state")),
            expires_at,
        }
    }

    /// A request comes back as stored, once; an unknown hash is `None`.
    pub async fn request_round_trips_and_is_taken_once<S: AuthorizationRequestStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "AuthorizationRequestStore: take once";
        let f = Fixture::new();
        let r = request(&f, f.now.plus(Duration::from_secs(600)));
        store_ok(C, store.insert_request(r.clone()).await)?;
        ensure!(
            C,
            store_ok(C, store.take_request(&f.hash()).await)?.is_none(),
            "an unknown hash must give None"
        );
        let taken = store_ok(C, store.take_request(&r.hash).await)?;
        ensure!(
            C,
            taken.as_ref() == Some(&r),
            "the request must round-trip: {taken:?}"
        );
        ensure!(
            C,
            store_ok(C, store.take_request(&r.hash).await)?.is_none(),
            "a request must be taken only once"
        );
        Ok(())
    }

    /// Inserting a hash twice fails.
    pub async fn duplicate_insert_fails<S: AuthorizationRequestStore>(store: Arc<S>) -> Outcome {
        const C: &str = "AuthorizationRequestStore: duplicate insert";
        let f = Fixture::new();
        let r = request(&f, f.now.plus(Duration::from_secs(600)));
        store_ok(C, store.insert_request(r.clone()).await)?;
        ensure!(
            C,
            store.insert_request(r).await.is_err(),
            "a duplicate hash must fail"
        );
        Ok(())
    }

    /// An expired request is still taken: the core decides about expiry.
    pub async fn expired_request_is_still_taken<S: AuthorizationRequestStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "AuthorizationRequestStore: expired request";
        let f = Fixture::new();
        let r = request(&f, UnixTime::from_secs(1));
        store_ok(C, store.insert_request(r.clone()).await)?;
        let taken = store_ok(C, store.take_request(&r.hash).await)?;
        ensure!(
            C,
            taken.as_ref() == Some(&r),
            "an expired request must still be taken (the core checks expiry): {taken:?}"
        );
        Ok(())
    }

    /// Of 20 concurrent takes of one request, exactly one gets it.
    pub async fn concurrent_take_has_one_winner<S: AuthorizationRequestStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "AuthorizationRequestStore: concurrent take";
        let f = Fixture::new();
        let r = request(&f, f.now.plus(Duration::from_secs(600)));
        let hash = r.hash;
        store_ok(C, store.insert_request(r).await)?;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.take_request(&hash).await }));
        }
        let mut taken = 0;
        for t in tasks {
            if store_ok(C, t.await.map_err(|e| fail(C, e))?)?.is_some() {
                taken += 1;
            }
        }
        ensure!(
            C,
            taken == 1,
            "{taken} of 20 concurrent takes got the request"
        );
        Ok(())
    }
}

/// [`KeyProvider`](crate::KeyProvider) clauses (JW-01).
pub mod key_provider {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::keys::{Algorithm, KeyId, KeyProvider, KeyRecord};

    fn key(c: &'static str, f: &Fixture) -> Result<KeyRecord, super::Failure> {
        let kid = KeyId::parse(&f.unique("kid")).ok_or_else(|| fail(c, "key id"))?;
        KeyRecord::generate(
            Algorithm::Es256,
            kid,
            f.now,
            f.now.plus(Duration::from_secs(10)),
        )
        .map_err(|e| fail(c, e))
    }

    /// A key comes back with its private key; a duplicate kid fails.
    pub async fn key_round_trips_and_duplicates_fail<S: KeyProvider>(store: Arc<S>) -> Outcome {
        const C: &str = "KeyProvider: keys (JW-01)";
        let f = Fixture::new();
        let key = key(C, &f)?;
        store_ok(C, store.insert_key(key.clone()).await)?;
        ensure!(
            C,
            store.insert_key(key.clone()).await.is_err(),
            "duplicate kid must fail"
        );
        let found = store_ok(C, store.keys().await)?
            .into_iter()
            .find(|k| k.kid == key.kid);
        ensure!(
            C,
            found.as_ref() == Some(&key),
            "key must round-trip: {found:?}"
        );
        Ok(())
    }

    /// Retirement is stored; retiring or deleting a missing key is `false`;
    /// a deleted key is gone.
    pub async fn retire_and_delete<S: KeyProvider>(store: Arc<S>) -> Outcome {
        const C: &str = "KeyProvider: retire and delete (JW-01)";
        let f = Fixture::new();
        let key = key(C, &f)?;
        let kid = key.kid.clone();
        store_ok(C, store.insert_key(key).await)?;
        ensure!(
            C,
            store_ok(
                C,
                store
                    .retire_key(
                        &kid,
                        f.now.plus(Duration::from_secs(20)),
                        f.now.plus(Duration::from_secs(30))
                    )
                    .await
            )?,
            "retire must return true"
        );
        let found = store_ok(C, store.keys().await)?
            .into_iter()
            .find(|k| k.kid == kid);
        ensure!(
            C,
            found.is_some_and(|k| k.not_after == Some(f.now.plus(Duration::from_secs(20)))
                && k.drop_after == Some(f.now.plus(Duration::from_secs(30)))),
            "retirement not stored"
        );
        let ghost = KeyId::parse(&f.unique("kid")).ok_or_else(|| fail(C, "key id"))?;
        ensure!(
            C,
            !store_ok(C, store.retire_key(&ghost, f.now, f.now).await)?,
            "retiring a missing key must return false"
        );
        ensure!(
            C,
            store_ok(C, store.delete_key(&kid).await)?,
            "delete must return true"
        );
        ensure!(
            C,
            !store_ok(C, store.keys().await)?
                .iter()
                .any(|k| k.kid == kid),
            "deleted key still listed"
        );
        ensure!(
            C,
            !store_ok(C, store.delete_key(&kid).await)?,
            "second delete must return false"
        );
        Ok(())
    }
}

/// The revocation race of RB-05 (issue 15 finding 1): a grant's tokens
/// rotated in a loop on one task while another task revokes the grant.
mod race {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::{Failure, Fixture, Outcome, fail, store_ok};
    use crate::client::ClientId;
    use crate::error::StoreError;
    use crate::oidc::{OpenIdGrant, SessionId};
    use crate::stores::{Exchange, NewTokens, Rotation, TokenStore};
    use crate::tokens::{GrantId, TokenHash};
    use crate::user::UserId;

    /// Races run per clause. On PostgreSQL at READ COMMITTED a bare
    /// `DELETE … WHERE grant_id = $1` that waits for a rotation in flight
    /// misses the rows it inserts: against that store, about half of the
    /// races were lost, so 30 leave no doubt.
    const TRIALS: usize = 30;

    /// Rotations after the revocation returned at which a trial stops: one
    /// is already a failure, a few show the grant is really alive.
    const AFTER: usize = 3;

    /// Token sets at which a trial stops if the revocation has not landed
    /// (SQLite's busy handler may leave the revoking writer waiting).
    const CAP: usize = 50;

    /// How the racing task enters the grant.
    #[derive(Clone, Copy)]
    pub(super) enum Start {
        /// Tokens issued beforehand; the task rotates their refresh token.
        Refresh,
        /// A code; the task exchanges it, then rotates what it got.
        Code,
        /// As `Code`, with every code and token of the grant issued in a
        /// login session ([`Ids::session`]), with neither `offline_access`
        /// nor any other reason to outlive it.
        SessionCode,
    }

    impl Start {
        fn code_first(self) -> bool {
            matches!(self, Self::Code | Self::SessionCode)
        }
    }

    /// What the revoking task may use.
    #[derive(Clone)]
    pub(super) struct Ids {
        pub(super) grant: GrantId,
        pub(super) client: ClientId,
        pub(super) user: UserId,
        pub(super) trial: usize,
        /// The login session of the grant's codes and tokens
        /// ([`Start::SessionCode`]; otherwise they have none).
        pub(super) session: SessionId,
    }

    /// `tokens` stamped with `facts`, if any.
    fn stamped(mut tokens: NewTokens, facts: Option<&OpenIdGrant>) -> NewTokens {
        tokens.access.openid = facts.cloned();
        if let Some(r) = &mut tokens.refresh {
            r.openid = facts.cloned();
        }
        tokens
    }

    /// What one trial found wrong.
    #[derive(Default)]
    struct Breach {
        /// Tokens of the grant still found after both tasks ended.
        live: usize,
        /// Tokens the racing task minted.
        minted: usize,
        /// Rotations that succeeded after the revocation had returned.
        after: usize,
        /// Whether the code still exchanged, or a last rotation succeeded.
        step_won: bool,
    }

    impl Breach {
        fn any(&self) -> bool {
            self.live > 0 || self.after > 0 || self.step_won
        }
    }

    /// Runs [`TRIALS`] races; fails with how many of them the revocation
    /// lost, and what survived.
    pub(super) async fn run<S, R, Fut>(
        c: &'static str,
        store: &Arc<S>,
        start: Start,
        revoke: R,
    ) -> Outcome
    where
        S: TokenStore,
        R: Fn(Arc<S>, Ids) -> Fut + Send + Sync + Copy + 'static,
        Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let mut lost = Vec::new();
        let (mut live, mut after) = (0, 0);
        for trial in 0..TRIALS {
            let breach = once(c, store, start, revoke, trial).await?;
            if breach.any() {
                live += breach.live;
                after += breach.after;
                lost.push(format!(
                    "trial {trial}: {} of {} minted tokens live, {} rotations after the revocation{}",
                    breach.live,
                    breach.minted,
                    breach.after,
                    if breach.step_won { ", a last step still won" } else { "" }
                ));
            }
        }
        ensure!(
            c,
            lost.is_empty(),
            "the revocation lost {} of {TRIALS} races: {live} tokens of revoked grants still \
             found, {after} rotations succeeded after the revocation had returned (first: {})",
            lost.len(),
            lost.first().map_or("", String::as_str)
        );
        Ok(())
    }

    async fn once<S, R, Fut>(
        c: &'static str,
        store: &Arc<S>,
        start: Start,
        revoke: R,
        trial: usize,
    ) -> Result<Breach, Failure>
    where
        S: TokenStore,
        R: Fn(Arc<S>, Ids) -> Fut + Send + Sync + Copy + 'static,
        Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let f = Fixture::new();
        let (client, user) = (f.client_id()?, f.user()?);
        let session = SessionId::parse(&f.unique("sid")).ok_or_else(|| fail(c, "sid"))?;
        let facts = matches!(start, Start::SessionCode)
            .then(|| OpenIdGrant::new(f.now).with_session_id(session.clone()));
        let mut code = f.code(&client, &user, 60);
        code.openid = facts.clone();
        let grant = code.grant;
        let first = stamped(f.tokens(grant, &client, Some(&user), 3600), facts.as_ref());
        if start.code_first() {
            store_ok(c, store.insert_code(code.clone()).await)?;
        } else {
            store_ok(c, store.issue(first.clone()).await)?;
        }
        let steps = Arc::new(AtomicUsize::new(0));
        let revoked = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let racer = {
            let (store, steps, revoked, finished) = (
                store.clone(),
                steps.clone(),
                revoked.clone(),
                finished.clone(),
            );
            let (client, user, first, code_hash, facts) = (
                client.clone(),
                user.clone(),
                first.clone(),
                code.hash,
                facts.clone(),
            );
            tokio::spawn(async move {
                let result = racer(
                    &*store,
                    start,
                    code_hash,
                    first,
                    (&client, &user, facts.as_ref()),
                    &steps,
                    &revoked,
                )
                .await;
                finished.store(true, Ordering::SeqCst);
                result
            })
        };
        // Revoke after 0, 1 or 2 steps, to land at varying points of the loop.
        let wait = trial % 3;
        while steps.load(Ordering::SeqCst) < wait && !finished.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let ids = Ids {
            grant,
            client: client.clone(),
            user: user.clone(),
            trial,
            session,
        };
        store_ok(c, revoke(store.clone(), ids).await)?;
        revoked.store(true, Ordering::SeqCst);
        let (minted, after) = store_ok(c, racer.await.map_err(|e| fail(c, e))?)?;

        let mut breach = Breach {
            minted: minted.len() * 2,
            after,
            ..Breach::default()
        };
        let mut last = None;
        for t in &minted {
            if store_ok(c, store.find_access(&t.access.hash).await)?.is_some() {
                breach.live += 1;
            }
            if let Some(r) = &t.refresh {
                if store_ok(c, store.find_refresh(&r.hash).await)?.is_some() {
                    breach.live += 1;
                }
                last = Some(r.hash);
            }
        }
        // Nothing of the grant may step any more.
        if let Some(hash) = last {
            let next = stamped(f.tokens(grant, &client, Some(&user), 3600), facts.as_ref());
            let r = store_ok(c, store.rotate_refresh(&hash, next).await)?;
            breach.step_won |= r == Rotation::Rotated;
        }
        if start.code_first() {
            let again = stamped(f.tokens(grant, &client, Some(&user), 3600), facts.as_ref());
            let e = store_ok(c, store.exchange_code(&code.hash, again).await)?;
            breach.step_won |= e == Exchange::Issued;
        }
        Ok(breach)
    }

    /// The racing task: enters the grant, then rotates the newest refresh
    /// token until a rotation fails, [`AFTER`] rotations succeeded after the
    /// revocation returned, or [`CAP`] rotations. Returns every token set it
    /// minted (the issued one first) and how many rotations succeeded after
    /// the revocation had returned.
    async fn racer<S: TokenStore>(
        store: &S,
        start: Start,
        code: TokenHash,
        first: NewTokens,
        (client, user, facts): (&ClientId, &UserId, Option<&OpenIdGrant>),
        steps: &AtomicUsize,
        revoked: &AtomicBool,
    ) -> Result<(Vec<NewTokens>, usize), StoreError> {
        let f = Fixture::new();
        let grant = first.access.grant;
        let mut minted = Vec::new();
        let mut after = 0;
        if start.code_first() {
            if store.exchange_code(&code, first.clone()).await? != Exchange::Issued {
                return Ok((minted, after));
            }
            steps.fetch_add(1, Ordering::SeqCst);
        }
        minted.push(first);
        while minted.len() < CAP && after < AFTER {
            let Some(current) = minted
                .last()
                .and_then(|t| t.refresh.as_ref())
                .map(|r| r.hash)
            else {
                break;
            };
            let was_revoked = revoked.load(Ordering::SeqCst);
            let next = stamped(f.tokens(grant, client, Some(user), 3600), facts);
            if store.rotate_refresh(&current, next.clone()).await? != Rotation::Rotated {
                break;
            }
            minted.push(next);
            steps.fetch_add(1, Ordering::SeqCst);
            if was_revoked {
                after += 1;
            }
        }
        Ok((minted, after))
    }
}

/// How many expired rows of each kind the batch-purge clauses store: more
/// than one batch of a store configured to purge in batches below it (the
/// SQL stores: `with_purge_batch`; `tests/stores` uses 16), so the clauses
/// see a purge continue past its first batch.
pub const PURGE_ROWS: usize = 40;

/// Fresh random ids and records for one clause.
struct Fixture {
    random: SystemRandom,
    now: UnixTime,
}

impl Fixture {
    fn new() -> Self {
        Self {
            random: SystemRandom::new(),
            now: UnixTime::from_secs(2_000_000_000),
        }
    }

    fn unique(&self, prefix: &str) -> String {
        let mut b = [0u8; 8];
        let _ = self.random.fill(&mut b);
        format!("{prefix}-{:016x}", u64::from_le_bytes(b))
    }

    fn hash(&self) -> TokenHash {
        TokenHash::of(&self.unique("token"))
    }

    fn client_id(&self) -> Result<ClientId, Failure> {
        ClientId::parse(&self.unique("client")).ok_or_else(|| fail("fixture", "client id"))
    }

    fn user(&self) -> Result<UserId, Failure> {
        UserId::parse(&self.unique("user")).ok_or_else(|| fail("fixture", "user id"))
    }

    fn uri(&self, c: &'static str, s: &str) -> Result<RedirectUri, Failure> {
        RedirectUri::parse(s).ok_or_else(|| fail(c, "uri"))
    }

    fn code(&self, client: &ClientId, user: &UserId, expires_in: u64) -> CodeRecord {
        let hash = self.hash();
        CodeRecord {
            hash,
            grant: GrantId::derive(&hash),
            client_id: client.clone(),
            subject: user.clone(),
            scope: scope("read write"),
            redirect_uri: RedirectUri::parse("https://app.example/cb"),
            challenge: CodeChallenge::parse(
                ChallengeMethod::S256,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            issued_at: self.now,
            expires_at: self.now.plus(Duration::from_secs(expires_in)),
            used: false,
            openid: None,
            resources: Vec::new(),
            dpop_jkt: None,
        }
    }

    /// An access token living `life` seconds and a refresh token ten times
    /// as long.
    fn tokens(
        &self,
        grant: GrantId,
        client: &ClientId,
        user: Option<&UserId>,
        life: u64,
    ) -> NewTokens {
        NewTokens {
            access: AccessRecord {
                hash: self.hash(),
                grant,
                client_id: client.clone(),
                subject: user.cloned(),
                scope: scope("read"),
                issued_at: self.now,
                expires_at: self.now.plus(Duration::from_secs(life)),
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                act: None,
            },
            refresh: Some(RefreshRecord {
                hash: self.hash(),
                grant,
                client_id: client.clone(),
                subject: user.cloned(),
                scope: scope("read write"),
                issued_at: self.now,
                expires_at: self.now.plus(Duration::from_secs(life * 10)),
                used: false,
                openid: None,
                dpop_jkt: None,
                resources: Vec::new(),
                successor: None,
            }),
        }
    }

    /// Every fact an OpenID grant can keep, the nonce included.
    fn openid(&self, c: &'static str) -> Result<OpenIdGrant, Failure> {
        let sid = SessionId::parse(&self.unique("sid")).ok_or_else(|| fail(c, "sid"))?;
        let nonce = Nonce::from_str("n-0S6_WzA2Mj").map_err(|e| fail(c, e))?;
        let claims = ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true}},"id_token":{"acr":{"values":["urn:a"]}}}"#,
        )
        .map_err(|e| fail(c, e))?;
        Ok(OpenIdGrant::new(self.now)
            .with_acr("urn:example:loa:2")
            .with_amr(["pwd", "otp"])
            .with_session_id(sid)
            .with_nonce(Some(nonce))
            .with_claims(Some(claims))
            .with_max_age_sent(true))
    }

    fn refresh_of(&self, c: &'static str, tokens: &NewTokens) -> Result<RefreshRecord, Failure> {
        tokens.refresh.clone().ok_or_else(|| fail(c, "fixture"))
    }

    fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
        s: &str,
        at: u64,
    ) -> crate::stores::Consent {
        crate::stores::Consent {
            user: user.clone(),
            client_id: client.clone(),
            scope: scope(s),
            granted_at: UnixTime::from_secs(at),
        }
    }

    /// A confidential client with every field set.
    fn full_client(&self, c: &'static str) -> Result<Client, Failure> {
        Client::confidential(self.client_id()?, SecretHash::sha256("s3cret"))
            .client_name("Conformance <client>")
            .redirect_uri(self.uri(c, "https://a.example/cb")?)
            .redirect_uri(self.uri(c, "http://127.0.0.1/cb")?)
            .grant_type(GrantType::AuthorizationCode)
            .grant_type(GrantType::RefreshToken)
            .scope(scope("read write"))
            .default_scope(scope("read"))
            .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
            .skip_consent(true)
            .access_token_lifetime(Duration::from_secs(120))
            .access_token_format(AccessTokenFormat::Jwt)
            .resource_server_for(self.audience(c, "https://api.example")?)
            .resource_server_for(self.audience(c, "urn:example:reports")?)
            .id_token_signed_response_alg(Algorithm::Es256)
            .userinfo_signed_response_alg(Algorithm::Rs256)
            .subject_type(SubjectType::Pairwise)
            .sector_identifier_uri(self.web_url(c, "https://sector.example/uris.json")?)
            .post_logout_redirect_uri(self.uri(c, "https://a.example/bye")?)
            .post_logout_redirect_uri(self.uri(c, "http://127.0.0.1/bye")?)
            .backchannel_logout_uri(self.web_url(c, "http://127.0.0.1:8766/bcl?x=1")?)
            .backchannel_logout_session_required(true)
            .require_auth_time(true)
            .default_max_age(Duration::from_secs(300))
            .logo_uri(self.web_url(c, "https://a.example/logo.png")?)
            .policy_uri(self.web_url(c, "https://a.example/privacy")?)
            .tos_uri(self.web_url(c, "https://a.example/terms")?)
            .client_uri(self.web_url(c, "https://a.example/")?)
            .require_pushed_authorization_requests(true)
            .require_signed_request_object(true)
            .dpop_bound_access_tokens(true)
            .resource(Resource::parse("https://api.example/v1").ok_or_else(|| fail(c, "resource"))?)
            .resource(Resource::parse("urn:example:reports").ok_or_else(|| fail(c, "resource"))?)
            .build()
            .map_err(|e| fail(c, e))
    }

    fn web_url(&self, c: &'static str, s: &str) -> Result<WebUrl, Failure> {
        WebUrl::parse(s).ok_or_else(|| fail(c, "URL"))
    }

    fn audience(&self, c: &'static str, s: &str) -> Result<Audience, Failure> {
        Audience::parse(s).ok_or_else(|| fail(c, "audience"))
    }

    /// Whether `found` is what [`Fixture::full_client`] built.
    fn check_full_client(&self, c: &'static str, found: &Client) -> Outcome {
        ensure!(
            c,
            found.dpop_bound_access_tokens(),
            "dpop_bound_access_tokens must round-trip (DP-02)"
        );
        ensure!(
            c,
            found.client_name() == "Conformance <client>",
            "client_name"
        );
        ensure!(
            c,
            found
                .secret_hash()
                .is_some_and(|h| h.verify("s3cret") && !h.verify("other")),
            "secret hash must round-trip"
        );
        ensure!(
            c,
            found.redirect_uris().len() == 2,
            "redirect URIs: {:?}",
            found.redirect_uris()
        );
        ensure!(
            c,
            found.allows_grant(GrantType::RefreshToken) && !found.allows_grant(GrantType::Password),
            "grant types"
        );
        ensure!(c, found.scope().to_string() == "read write", "scope");
        ensure!(
            c,
            found.default_scope().map(ToString::to_string).as_deref() == Some("read"),
            "default scope"
        );
        ensure!(
            c,
            found.token_endpoint_auth_method() == AuthMethod::ClientSecretPost,
            "auth method"
        );
        ensure!(
            c,
            found.skips_consent() && found.is_enabled() && !found.allows_plain_pkce(),
            "flags"
        );
        ensure!(
            c,
            found.access_token_lifetime() == Some(Duration::from_secs(120))
                && found.refresh_token_lifetime().is_none(),
            "lifetimes"
        );
        ensure!(
            c,
            found.access_token_format() == AccessTokenFormat::Jwt,
            "access token format"
        );
        ensure!(
            c,
            found.resource_server_audiences().len() == 2
                && found.is_resource_server_for("https://api.example")
                && found.is_resource_server_for("urn:example:reports"),
            "resource-server audiences (IN-01): {:?}",
            found.resource_server_audiences()
        );
        // Resource indicators (issue 17).
        let mut resources: Vec<&str> = found.resources().iter().map(Resource::as_str).collect();
        resources.sort_unstable();
        ensure!(
            c,
            resources == ["https://api.example/v1", "urn:example:reports"],
            "resources (RI-01): {resources:?}"
        );
        // The OpenID Connect registration (issue 16).
        ensure!(
            c,
            found.id_token_signed_response_alg() == Some(Algorithm::Es256)
                && found.userinfo_signed_response_alg() == Some(Algorithm::Rs256),
            "signing algorithms"
        );
        ensure!(
            c,
            found.subject_type() == SubjectType::Pairwise
                && found.sector_identifier_uri().map(WebUrl::as_str)
                    == Some("https://sector.example/uris.json")
                && found.sector_identifier() == Some("sector.example"),
            "subject type and sector identifier (OI-04)"
        );
        let mut post_logout: Vec<&str> = found
            .post_logout_redirect_uris()
            .iter()
            .map(RedirectUri::as_str)
            .collect();
        post_logout.sort_unstable();
        ensure!(
            c,
            post_logout == ["http://127.0.0.1/bye", "https://a.example/bye"],
            "post-logout redirect URIs (LO-01): {post_logout:?}"
        );
        ensure!(
            c,
            found.backchannel_logout_uri().map(WebUrl::as_str)
                == Some("http://127.0.0.1:8766/bcl?x=1")
                && found.backchannel_logout_session_required(),
            "back-channel logout (LO-02)"
        );
        ensure!(
            c,
            found.require_auth_time() && found.default_max_age() == Some(Duration::from_secs(300)),
            "require_auth_time and default_max_age"
        );
        let links = [
            found.logo_uri(),
            found.policy_uri(),
            found.tos_uri(),
            found.client_uri(),
        ]
        .map(|u| u.map(WebUrl::as_str));
        ensure!(
            c,
            links
                == [
                    Some("https://a.example/logo.png"),
                    Some("https://a.example/privacy"),
                    Some("https://a.example/terms"),
                    Some("https://a.example/"),
                ],
            "logo, policy, terms and client URIs: {links:?}"
        );
        ensure!(
            c,
            found.requires_pushed_authorization_requests()
                && found.requires_signed_request_object(),
            "require_pushed_authorization_requests and require_signed_request_object (PA-02, JR-01)"
        );
        Ok(())
    }
}

fn scope(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap_or_default()
}

// Refresh retry window (issue 18): the clauses of
// `TokenStore::replace_successor`, listed in the `TokenStore` section.
/// [`TokenStore::replace_successor`](crate::TokenStore::replace_successor)
/// clauses (the refresh retry window, issue 18), run in the `TokenStore`
/// section (re-exported by [`token_store`]).
pub mod refresh_retry {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::{Failure, Fixture, Outcome, fail, store_ok};
    use crate::client::ClientId;
    use crate::error::StoreError;
    use crate::stores::{NewTokens, Replacement, Rotation, Successor, TokenStore};
    use crate::tokens::{GrantId, TokenHash};
    use crate::user::UserId;

    /// A grant with tokens issued and rotated once: the client, the user,
    /// the issued tokens (the old refresh token's) and the rotation's.
    async fn rotated<S: TokenStore>(
        c: &'static str,
        store: &S,
        f: &Fixture,
    ) -> Result<(ClientId, UserId, NewTokens, NewTokens), Failure> {
        let (client, user) = (f.client_id()?, f.user()?);
        let first = f.tokens(GrantId::derive(&f.hash()), &client, Some(&user), 3600);
        store_ok(c, store.issue(first.clone()).await)?;
        let old = f.refresh_of(c, &first)?.hash;
        let next = f.tokens(first.access.grant, &client, Some(&user), 3600);
        let r = store_ok(c, store.rotate_refresh(&old, next.clone()).await)?;
        ensure!(c, r == Rotation::Rotated, "rotation: {r:?}");
        Ok((client, user, first, next))
    }

    /// Whether the access and refresh token of `tokens` are found, and the
    /// refresh token's `used`.
    async fn found<S: TokenStore>(
        c: &'static str,
        store: &S,
        tokens: &NewTokens,
    ) -> Result<(bool, Option<bool>), Failure> {
        let access = store_ok(c, store.find_access(&tokens.access.hash).await)?.is_some();
        let refresh = match &tokens.refresh {
            Some(r) => store_ok(c, store.find_refresh(&r.hash).await)?.map(|r| r.used),
            None => None,
        };
        Ok((access, refresh))
    }

    /// A rotation records its successor on the old token (hashes and the
    /// rotation's time). A retry within the window replaces it: the
    /// successor refresh token reads used (kept, so presenting it is a
    /// replay), the access token issued with it is gone, the new pair is
    /// stored unused, and the old token's successor is the new pair with
    /// the first rotation's time. Retrying with the replaced successor is
    /// `Superseded` and changes nothing; with the new one it replaces again;
    /// an unknown old token is `Unknown` (RT-02).
    pub async fn retry_replaces_the_successor<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: a retry replaces the successor (RT-02, issue 18)";
        let f = Fixture::new();
        let (client, user, first, next) = rotated(C, &*store, &f).await?;
        let old = f.refresh_of(C, &first)?.hash;
        let recorded = store_ok(C, store.find_refresh(&old).await)?.and_then(|r| r.successor);
        ensure!(
            C,
            recorded == Successor::of(&next) && recorded.is_some(),
            "rotation recorded {recorded:?}, not {:?}",
            Successor::of(&next)
        );
        let successor = f.refresh_of(C, &next)?.hash;
        let mut retry = f.tokens(first.access.grant, &client, Some(&user), 3600);
        // Issued later than the first rotation: the window must not slide.
        retry.access.issued_at = f.now.plus(std::time::Duration::from_secs(7));
        let r = store_ok(
            C,
            store
                .replace_successor(&old, &successor, retry.clone())
                .await,
        )?;
        ensure!(C, r == Replacement::Replaced, "retry: {r:?}");
        let (access, refresh) = found(C, &*store, &next).await?;
        ensure!(
            C,
            !access && refresh == Some(true),
            "the replaced pair: access token found {access}, refresh token used {refresh:?} \
             (want gone, and kept used)"
        );
        let (access, refresh) = found(C, &*store, &retry).await?;
        ensure!(
            C,
            access && refresh == Some(false),
            "the retry's pair: access token found {access}, refresh token used {refresh:?}"
        );
        let now = store_ok(C, store.find_refresh(&old).await)?;
        let want = recorded.and_then(|s| s.replaced_by(&retry));
        ensure!(
            C,
            now.as_ref().is_some_and(|r| r.used && r.successor == want),
            "old token after the retry: {now:?}, successor wanted {want:?}"
        );
        // The replaced successor is not expected any more.
        let stale = f.tokens(first.access.grant, &client, Some(&user), 3600);
        let r = store_ok(
            C,
            store
                .replace_successor(&old, &successor, stale.clone())
                .await,
        )?;
        ensure!(C, r == Replacement::Superseded, "stale retry: {r:?}");
        ensure!(
            C,
            found(C, &*store, &stale).await? == (false, None),
            "a superseded retry stored its tokens"
        );
        // A second retry replaces the first retry's pair.
        let again = f.tokens(first.access.grant, &client, Some(&user), 3600);
        let newest = f.refresh_of(C, &retry)?.hash;
        let r = store_ok(
            C,
            store.replace_successor(&old, &newest, again.clone()).await,
        )?;
        ensure!(C, r == Replacement::Replaced, "second retry: {r:?}");
        ensure!(
            C,
            found(C, &*store, &retry).await? == (false, Some(true)),
            "the first retry's pair survived the second"
        );
        let unknown = f.tokens(first.access.grant, &client, None, 60);
        let r = store_ok(
            C,
            store.replace_successor(&f.hash(), &newest, unknown).await,
        )?;
        ensure!(C, r == Replacement::Unknown, "unknown old token: {r:?}");
        Ok(())
    }

    /// Once the successor was rotated itself (the chain moved on), a retry
    /// of the old token is `Replayed(grant)` and changes nothing (RT-02):
    /// the caller revokes the grant.
    pub async fn retry_after_the_successor_was_used_is_a_replay<S: TokenStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenStore: a retry after the successor was used is a replay (RT-02)";
        let f = Fixture::new();
        let (client, user, first, next) = rotated(C, &*store, &f).await?;
        let (old, successor) = (f.refresh_of(C, &first)?.hash, f.refresh_of(C, &next)?.hash);
        let later = f.tokens(first.access.grant, &client, Some(&user), 3600);
        let r = store_ok(C, store.rotate_refresh(&successor, later.clone()).await)?;
        ensure!(C, r == Rotation::Rotated, "rotating the successor: {r:?}");
        let retry = f.tokens(first.access.grant, &client, Some(&user), 3600);
        let r = store_ok(
            C,
            store
                .replace_successor(&old, &successor, retry.clone())
                .await,
        )?;
        ensure!(
            C,
            r == Replacement::Replayed(first.access.grant),
            "retry after the chain moved on: {r:?}"
        );
        ensure!(
            C,
            found(C, &*store, &retry).await? == (false, None),
            "a replayed retry stored its tokens"
        );
        ensure!(
            C,
            found(C, &*store, &later).await? == (true, Some(false)),
            "a replayed retry touched the live pair"
        );
        Ok(())
    }

    /// Of 20 concurrent retries of one rotated-out token, exactly one
    /// replaces the successor; the others are `Superseded` and store
    /// nothing (RT-04).
    pub async fn concurrent_retries_have_one_winner<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: concurrent retries (RT-04, issue 18)";
        let f = Fixture::new();
        let (client, user, first, next) = rotated(C, &*store, &f).await?;
        let (old, successor) = (f.refresh_of(C, &first)?.hash, f.refresh_of(C, &next)?.hash);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (store, retry) = (
                store.clone(),
                f.tokens(first.access.grant, &client, Some(&user), 3600),
            );
            tasks.push(tokio::spawn(async move {
                let r = store
                    .replace_successor(&old, &successor, retry.clone())
                    .await;
                r.map(|r| (r, retry))
            }));
        }
        let (mut won, mut stored) = (0, 0);
        for t in tasks {
            let (r, retry) = store_ok(C, t.await.map_err(|e| fail(C, e))?)?;
            match r {
                Replacement::Replaced => won += 1,
                Replacement::Superseded => {}
                other => return Err(fail(C, format!("a concurrent retry got {other:?}"))),
            }
            if found(C, &*store, &retry).await?.0 {
                stored += 1;
            }
        }
        ensure!(C, won == 1, "{won} of 20 concurrent retries won");
        ensure!(C, stored == 1, "{stored} retries' tokens stored");
        Ok(())
    }

    /// A retry racing the rotation of the successor it replaces: exactly
    /// one of the two wins (RT-04). Either the successor rotates and the
    /// retry is `Replayed`, or the retry replaces it and the rotation is
    /// `Replayed` (the successor reads used).
    pub async fn retry_and_rotation_of_the_successor_have_one_winner<S: TokenStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "TokenStore: a retry against the successor's rotation (RT-04)";
        for _ in 0..10 {
            let f = Fixture::new();
            let (client, user, first, next) = rotated(C, &*store, &f).await?;
            let (old, successor) = (f.refresh_of(C, &first)?.hash, f.refresh_of(C, &next)?.hash);
            let grant = first.access.grant;
            let retry = {
                let (store, tokens) = (store.clone(), f.tokens(grant, &client, Some(&user), 3600));
                tokio::spawn(async move { store.replace_successor(&old, &successor, tokens).await })
            };
            let rotation = {
                let (store, tokens) = (store.clone(), f.tokens(grant, &client, Some(&user), 3600));
                tokio::spawn(async move { store.rotate_refresh(&successor, tokens).await })
            };
            let retry = store_ok(C, retry.await.map_err(|e| fail(C, e))?)?;
            let rotation = store_ok(C, rotation.await.map_err(|e| fail(C, e))?)?;
            let one = matches!(
                (retry, rotation),
                (Replacement::Replaced, Rotation::Replayed(g)) | (Replacement::Replayed(g), Rotation::Rotated)
                    if g == grant
            );
            ensure!(
                C,
                one,
                "retry {retry:?} and rotation {rotation:?}: not one winner"
            );
        }
        Ok(())
    }

    /// Trials of [`revocation_wins_against_retries`].
    const TRIALS: usize = 30;

    /// `revoke_grant` wins against retries in flight (RB-05): while one task
    /// retries a rotated-out token in a loop (each retry replacing the last
    /// one's pair), another revokes the grant; once `revoke_grant` has
    /// returned, no token any retry minted is found, no retry succeeds, and
    /// the newest successor does not rotate.
    pub async fn revocation_wins_against_retries<S: TokenStore>(store: Arc<S>) -> Outcome {
        const C: &str = "TokenStore: revocation wins against retries (RB-05, issue 18)";
        let mut lost = Vec::new();
        for trial in 0..TRIALS {
            if let Some(breach) = once(C, &store, trial).await? {
                lost.push(format!("trial {trial}: {breach}"));
            }
        }
        ensure!(
            C,
            lost.is_empty(),
            "the revocation lost {} of {TRIALS} races (first: {})",
            lost.len(),
            lost.first().map_or("", String::as_str)
        );
        Ok(())
    }

    async fn once<S: TokenStore>(
        c: &'static str,
        store: &Arc<S>,
        trial: usize,
    ) -> Result<Option<String>, Failure> {
        let f = Fixture::new();
        let (client, user, first, next) = rotated(c, &**store, &f).await?;
        let old = f.refresh_of(c, &first)?.hash;
        let grant = first.access.grant;
        let steps = Arc::new(AtomicUsize::new(0));
        let revoked = Arc::new(AtomicBool::new(false));
        let racer = {
            let (store, steps, revoked) = (store.clone(), steps.clone(), revoked.clone());
            let (client, user) = (client.clone(), user.clone());
            tokio::spawn(async move {
                retry_loop(&*store, old, next, (&client, &user), &steps, &revoked).await
            })
        };
        let wait = trial % 3;
        while steps.load(Ordering::SeqCst) < wait && !racer.is_finished() {
            tokio::task::yield_now().await;
        }
        store_ok(c, store.revoke_grant(&grant).await)?;
        revoked.store(true, Ordering::SeqCst);
        let (minted, after) = store_ok(c, racer.await.map_err(|e| fail(c, e))?)?;
        let mut live = 0;
        for t in &minted {
            let (access, refresh) = found(c, &**store, t).await?;
            live += usize::from(access) + usize::from(refresh.is_some());
        }
        let mut step_won = false;
        if let Some(last) = minted.last().and_then(|t| t.refresh.as_ref()) {
            let tokens = f.tokens(grant, &client, Some(&user), 3600);
            step_won |=
                store_ok(c, store.rotate_refresh(&last.hash, tokens).await)? == Rotation::Rotated;
            let tokens = f.tokens(grant, &client, Some(&user), 3600);
            step_won |= store_ok(c, store.replace_successor(&old, &last.hash, tokens).await)?
                == Replacement::Replaced;
        }
        Ok((live > 0 || after > 0 || step_won).then(|| {
            format!(
                "{live} tokens of {} sets live, {after} retries after the revocation{}",
                minted.len(),
                if step_won {
                    ", a last step still won"
                } else {
                    ""
                }
            )
        }))
    }

    /// Retries `old` until a retry fails, three succeeded after the
    /// revocation returned, or 50 retries. Returns every pair a successful
    /// retry stored (the rotation's first) and how many succeeded after the
    /// revocation had returned.
    async fn retry_loop<S: TokenStore>(
        store: &S,
        old: TokenHash,
        next: NewTokens,
        (client, user): (&ClientId, &UserId),
        steps: &AtomicUsize,
        revoked: &AtomicBool,
    ) -> Result<(Vec<NewTokens>, usize), StoreError> {
        let f = Fixture::new();
        let grant = next.access.grant;
        let mut minted = vec![next];
        let mut after = 0;
        while minted.len() < 50 && after < 3 {
            let Some(current) = minted
                .last()
                .and_then(|t| t.refresh.as_ref())
                .map(|r| r.hash)
            else {
                break;
            };
            let was_revoked = revoked.load(Ordering::SeqCst);
            let tokens = f.tokens(grant, client, Some(user), 3600);
            if store
                .replace_successor(&old, &current, tokens.clone())
                .await?
                != Replacement::Replaced
            {
                break;
            }
            minted.push(tokens);
            steps.fetch_add(1, Ordering::SeqCst);
            if was_revoked {
                after += 1;
            }
        }
        Ok((minted, after))
    }
}

/// [`DeviceStore`](crate::DeviceStore) clauses (RFC 8628; DV-01..03):
/// records by both hashes, one decision, polls that grow the interval,
/// one redemption storing its tokens with it, whatever the concurrency or
/// the failure. The store must be a [`TokenStore`](crate::TokenStore) too:
/// the redeemed tokens are read back through it.
pub mod device_store {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fixture, Outcome, fail, scope, store_ok};
    use crate::clock::UnixTime;
    use crate::oidc::OpenIdGrant;
    use crate::stores::{
        DeviceDecision, DevicePoll, DeviceRecord, DeviceState, DeviceStore, NewTokens,
        SLOW_DOWN_STEP, TokenStore,
    };
    use crate::tokens::GrantId;

    /// A pending record of a fresh client, expiring `expires_in` seconds
    /// after the fixture's now, with a 5 s interval.
    pub(super) fn device(
        c: &'static str,
        f: &Fixture,
        expires_in: u64,
    ) -> Result<DeviceRecord, super::Failure> {
        Ok(DeviceRecord {
            hash: f.hash(),
            user_code: f.hash(),
            client_id: f.client_id().map_err(|_| fail(c, "client id"))?,
            scope: scope("openid read"),
            issued_at: f.now,
            expires_at: f.now.plus(Duration::from_secs(expires_in)),
            interval: Duration::from_secs(5),
            last_poll: None,
            state: DeviceState::Pending,
        })
    }

    fn approve(f: &Fixture) -> Result<DeviceDecision, super::Failure> {
        Ok(DeviceDecision::Approve {
            subject: f.user()?,
            openid: Some(
                OpenIdGrant::new(UnixTime::from_secs(1_999_999_000))
                    .with_acr("urn:example:mfa")
                    .with_amr(["pwd", "otp"]),
            ),
        })
    }

    async fn polled<S: DeviceStore>(
        c: &'static str,
        store: &S,
        record: &DeviceRecord,
        at: UnixTime,
    ) -> Result<(DeviceRecord, bool), super::Failure> {
        match store_ok(c, store.poll_device(&record.hash, at).await)? {
            DevicePoll::Polled { record, too_soon } => Ok((record, too_soon)),
            DevicePoll::Unknown => Err(fail(c, "a stored device code polled as unknown")),
        }
    }

    /// A record comes back by its device code hash and by its user code
    /// hash; a second record with either hash is refused (`false`) and
    /// stores nothing; unknown hashes are `None`.
    pub async fn device_round_trips_and_duplicates_are_refused<S: DeviceStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "DeviceStore: round trip";
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        ensure!(
            C,
            store_ok(C, store.insert_device(d.clone()).await)?,
            "a new record must be stored"
        );
        let by_code = store_ok(C, store.find_device(&d.hash).await)?;
        ensure!(
            C,
            by_code.as_ref() == Some(&d),
            "by device code: {by_code:?}"
        );
        let by_user = store_ok(C, store.find_user_code(&d.user_code).await)?;
        ensure!(C, by_user.as_ref() == Some(&d), "by user code: {by_user:?}");
        let mut same_user_code = device(C, &f, 600)?;
        same_user_code.user_code = d.user_code;
        ensure!(
            C,
            !store_ok(C, store.insert_device(same_user_code.clone()).await)?,
            "a taken user code must be refused"
        );
        ensure!(
            C,
            store_ok(C, store.find_device(&same_user_code.hash).await)?.is_none(),
            "a refused record must not be stored"
        );
        let mut same_device_code = device(C, &f, 600)?;
        same_device_code.hash = d.hash;
        ensure!(
            C,
            !store_ok(C, store.insert_device(same_device_code).await)?,
            "a taken device code must be refused"
        );
        ensure!(
            C,
            store_ok(C, store.find_device(&f.hash()).await)?.is_none()
                && store_ok(C, store.find_user_code(&f.hash()).await)?.is_none(),
            "unknown hashes must be None"
        );
        Ok(())
    }

    /// A pending record is decided once (the approval keeps the user and
    /// their OpenID Connect facts); an expired one not at all.
    pub async fn decided_once<S: DeviceStore>(store: Arc<S>) -> Outcome {
        const C: &str = "DeviceStore: decided once";
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        let decision = approve(&f)?;
        ensure!(
            C,
            store_ok(
                C,
                store
                    .decide_device(&d.user_code, decision.clone(), f.now)
                    .await
            )?,
            "a pending record must be decided"
        );
        ensure!(
            C,
            !store_ok(
                C,
                store
                    .decide_device(&d.user_code, DeviceDecision::Deny, f.now)
                    .await
            )?,
            "a decided record must not be decided again"
        );
        let found =
            store_ok(C, store.find_device(&d.hash).await)?.ok_or_else(|| fail(C, "record gone"))?;
        let DeviceDecision::Approve { subject, openid } = decision else {
            return Err(fail(C, "fixture"));
        };
        ensure!(
            C,
            found.state == DeviceState::Approved { subject, openid },
            "the approval must round-trip with its user and facts: {:?}",
            found.state
        );
        let expired = device(C, &f, 60)?;
        store_ok(C, store.insert_device(expired.clone()).await)?;
        let later = f.now.plus(Duration::from_secs(60));
        ensure!(
            C,
            !store_ok(
                C,
                store
                    .decide_device(&expired.user_code, DeviceDecision::Deny, later)
                    .await
            )?,
            "an expired record must not be decided"
        );
        let denied = device(C, &f, 600)?;
        store_ok(C, store.insert_device(denied.clone()).await)?;
        store_ok(
            C,
            store
                .decide_device(&denied.user_code, DeviceDecision::Deny, f.now)
                .await,
        )?;
        let state = store_ok(C, store.find_device(&denied.hash).await)?.map(|d| d.state);
        ensure!(C, state == Some(DeviceState::Denied), "denied: {state:?}");
        ensure!(
            C,
            !store_ok(
                C,
                store
                    .decide_device(&f.hash(), DeviceDecision::Deny, f.now)
                    .await
            )?,
            "an unknown user code must not be decided"
        );
        Ok(())
    }

    /// Each poll records its time; one sooner than the interval after the
    /// previous one is `too_soon` and grows the interval by 5 s, kept.
    pub async fn polls_are_recorded_and_slow_down<S: DeviceStore>(store: Arc<S>) -> Outcome {
        const C: &str = "DeviceStore: polls";
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        let (after, too_soon) = polled(C, &*store, &d, f.now).await?;
        ensure!(
            C,
            !too_soon && after.last_poll == Some(f.now) && after.interval == d.interval,
            "the first poll is never too soon: {after:?}"
        );
        let at = f.now.plus(Duration::from_secs(4));
        let (after, too_soon) = polled(C, &*store, &d, at).await?;
        ensure!(
            C,
            too_soon
                && after.interval == d.interval + SLOW_DOWN_STEP
                && after.last_poll == Some(at),
            "a poll 4 s after the last with a 5 s interval is too soon, and the interval grows by 5 s: {after:?}"
        );
        let stored =
            store_ok(C, store.find_device(&d.hash).await)?.ok_or_else(|| fail(C, "record gone"))?;
        ensure!(
            C,
            stored == after,
            "the grown interval must be stored: {stored:?}"
        );
        let at = at.plus(Duration::from_secs(10));
        let (after, too_soon) = polled(C, &*store, &d, at).await?;
        ensure!(
            C,
            !too_soon && after.interval == Duration::from_secs(10),
            "a poll a whole interval later is on time: {after:?}"
        );
        ensure!(
            C,
            store_ok(C, store.poll_device(&f.hash(), f.now).await)? == DevicePoll::Unknown,
            "an unknown device code polls as Unknown"
        );
        Ok(())
    }

    /// Tokens for a redemption of `d`: a new grant (its id derived from
    /// the access token, as the device grant makes them) of `d`'s client.
    pub(super) fn device_tokens(
        f: &Fixture,
        d: &DeviceRecord,
    ) -> Result<NewTokens, super::Failure> {
        let mut tokens = f.tokens(
            GrantId::derive(&f.hash()),
            &d.client_id,
            Some(&f.user()?),
            3600,
        );
        let grant = GrantId::derive(&tokens.access.hash);
        tokens.access.grant = grant;
        if let Some(r) = tokens.refresh.as_mut() {
            r.grant = grant;
        }
        Ok(tokens)
    }

    /// Whether the access and the refresh token of `tokens` are stored.
    async fn stored<S: TokenStore>(
        c: &'static str,
        store: &S,
        tokens: &NewTokens,
    ) -> Result<(bool, bool), super::Failure> {
        let access = store_ok(c, store.find_access(&tokens.access.hash).await)?.is_some();
        let refresh = match &tokens.refresh {
            Some(r) => store_ok(c, store.find_refresh(&r.hash).await)?.is_some(),
            None => false,
        };
        Ok((access, refresh))
    }

    /// Only an approved record is redeemed, once, and the redemption that
    /// wins stores its tokens (found through `TokenStore`, as issued);
    /// one that loses stores none.
    pub async fn redeemed_once_after_approval<S: DeviceStore + TokenStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "DeviceStore: redeemed once";
        // covers: DV-03
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        let early = device_tokens(&f, &d)?;
        ensure!(
            C,
            !store_ok(C, store.redeem_device(&d.hash, early.clone()).await)?,
            "a pending record must not be redeemed"
        );
        ensure!(
            C,
            stored(C, &*store, &early).await? == (false, false),
            "a refused redemption must store no token"
        );
        store_ok(
            C,
            store.decide_device(&d.user_code, approve(&f)?, f.now).await,
        )?;
        let won = device_tokens(&f, &d)?;
        ensure!(
            C,
            store_ok(C, store.redeem_device(&d.hash, won.clone()).await)?,
            "an approved record must be redeemed"
        );
        ensure!(
            C,
            stored(C, &*store, &won).await? == (true, true),
            "the redemption must store its access and refresh token"
        );
        let found = store_ok(C, store.find_access(&won.access.hash).await)?;
        ensure!(
            C,
            found.as_ref() == Some(&won.access),
            "the stored access token must round-trip: {found:?}"
        );
        let late = device_tokens(&f, &d)?;
        ensure!(
            C,
            !store_ok(C, store.redeem_device(&d.hash, late.clone()).await)?,
            "a redeemed record must not be redeemed again"
        );
        ensure!(
            C,
            stored(C, &*store, &late).await? == (false, false),
            "a second redemption must store no token"
        );
        let state = store_ok(C, store.find_device(&d.hash).await)?.map(|d| d.state);
        ensure!(C, state == Some(DeviceState::Redeemed), "state: {state:?}");
        let unknown = device_tokens(&f, &d)?;
        ensure!(
            C,
            !store_ok(C, store.redeem_device(&f.hash(), unknown.clone()).await)?,
            "an unknown device code must not be redeemed"
        );
        ensure!(
            C,
            stored(C, &*store, &unknown).await? == (false, false),
            "redeeming an unknown device code must store no token"
        );
        Ok(())
    }

    /// Of 20 concurrent decisions on one code, exactly one wins.
    pub async fn concurrent_decisions_have_one_winner<S: DeviceStore>(store: Arc<S>) -> Outcome {
        const C: &str = "DeviceStore: concurrent decisions";
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            let decision = if i % 2 == 0 {
                approve(&f)?
            } else {
                DeviceDecision::Deny
            };
            let (code, now) = (d.user_code, f.now);
            tasks.push(tokio::spawn(async move {
                store.decide_device(&code, decision, now).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            if store_ok(C, t.await.map_err(|e| fail(C, e))?)? {
                won += 1;
            }
        }
        ensure!(C, won == 1, "{won} of 20 concurrent decisions won");
        Ok(())
    }

    /// After approval, 20 concurrent polls (each recording its poll, then
    /// redeeming with tokens of its own when on time and approved, as the
    /// token endpoint does) redeem exactly once, and exactly one token set
    /// is stored: the winner's (DV-03).
    pub async fn approval_under_concurrent_polls_issues_once<S: DeviceStore + TokenStore>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "DeviceStore: approval under concurrent polls";
        // covers: DV-03
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        store_ok(
            C,
            store.decide_device(&d.user_code, approve(&f)?, f.now).await,
        )?;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            let (hash, now) = (d.hash, f.now);
            let tokens = device_tokens(&f, &d)?;
            tasks.push(tokio::spawn(async move {
                let on_time = match store.poll_device(&hash, now).await? {
                    DevicePoll::Polled { record, too_soon } => {
                        !too_soon && matches!(record.state, DeviceState::Approved { .. })
                    }
                    DevicePoll::Unknown => false,
                };
                let redeemed = on_time && store.redeem_device(&hash, tokens.clone()).await?;
                Ok::<_, crate::error::StoreError>((on_time, redeemed, tokens))
            }));
        }
        let (mut on_time, mut redeemed) = (0, 0);
        let mut sets = Vec::new();
        for t in tasks {
            let (o, r, tokens) = store_ok(C, t.await.map_err(|e| fail(C, e))?)?;
            on_time += usize::from(o);
            redeemed += usize::from(r);
            sets.push((r, tokens));
        }
        ensure!(
            C,
            on_time == 1,
            "{on_time} of 20 concurrent polls at one instant were on time"
        );
        ensure!(
            C,
            redeemed == 1,
            "{redeemed} of 20 concurrent polls redeemed"
        );
        for (won, tokens) in &sets {
            let found = stored(C, &*store, tokens).await?;
            ensure!(
                C,
                found == (*won, *won),
                "the winner's tokens, and only those, must be stored (won {won}, stored {found:?})"
            );
        }
        // And when every poll is on time (a second apart each, interval 0
        // cannot be stored, so redeem directly): one winner of 20, one
        // token set stored.
        let d2 = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d2.clone()).await)?;
        store_ok(
            C,
            store
                .decide_device(&d2.user_code, approve(&f)?, f.now)
                .await,
        )?;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            let hash = d2.hash;
            let tokens = device_tokens(&f, &d2)?;
            tasks.push(tokio::spawn(async move {
                let won = store.redeem_device(&hash, tokens.clone()).await?;
                Ok::<_, crate::error::StoreError>((won, tokens))
            }));
        }
        let mut won = 0;
        let mut stored_sets = 0;
        for t in tasks {
            let (w, tokens) = store_ok(C, t.await.map_err(|e| fail(C, e))?)?;
            won += usize::from(w);
            let found = stored(C, &*store, &tokens).await?;
            ensure!(
                C,
                found == (w, w),
                "a redemption's tokens must be stored exactly when it won (won {w}, stored {found:?})"
            );
            stored_sets += usize::from(found.0);
        }
        ensure!(C, won == 1, "{won} of 20 concurrent redemptions won");
        ensure!(
            C,
            stored_sets == 1,
            "{stored_sets} token sets stored for one approval"
        );
        Ok(())
    }

    /// A redemption whose tokens cannot be stored (here: its refresh token
    /// has the hash of a stored one) fails whole: the error is returned,
    /// none of its tokens is stored (not even the access token written
    /// before the failing refresh token), and the record stays approved, so
    /// the next redemption with good tokens wins and stores them (#18).
    pub async fn a_failed_redemption_stores_nothing_and_keeps_the_approval<
        S: DeviceStore + TokenStore,
    >(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "DeviceStore: failed redemption";
        // covers: DV-03, RB-02
        let f = Fixture::new();
        let d = device(C, &f, 600)?;
        store_ok(C, store.insert_device(d.clone()).await)?;
        let decision = approve(&f)?;
        store_ok(
            C,
            store
                .decide_device(&d.user_code, decision.clone(), f.now)
                .await,
        )?;
        let taken = device_tokens(&f, &d)?;
        store_ok(C, store.issue(taken.clone()).await)?;
        let mut clash = device_tokens(&f, &d)?;
        if let (Some(r), Some(t)) = (clash.refresh.as_mut(), taken.refresh.as_ref()) {
            r.hash = t.hash;
        }
        let outcome = store.redeem_device(&d.hash, clash.clone()).await;
        ensure!(
            C,
            outcome.is_err(),
            "a redemption whose refresh token hash is taken must fail, not {outcome:?}"
        );
        ensure!(
            C,
            store_ok(C, store.find_access(&clash.access.hash).await)?.is_none(),
            "a failed redemption must store none of its tokens"
        );
        let state = store_ok(C, store.find_device(&d.hash).await)?.map(|d| d.state);
        let DeviceDecision::Approve { subject, openid } = decision else {
            return Err(fail(C, "fixture"));
        };
        ensure!(
            C,
            state == Some(DeviceState::Approved { subject, openid }),
            "a failed redemption must leave the record approved: {state:?}"
        );
        let good = device_tokens(&f, &d)?;
        ensure!(
            C,
            store_ok(C, store.redeem_device(&d.hash, good.clone()).await)?,
            "after a failed redemption the approval must still be redeemable"
        );
        ensure!(
            C,
            stored(C, &*store, &good).await? == (true, true),
            "the retried redemption must store its tokens"
        );
        Ok(())
    }
}

/// `DevicePurge`: a [`DeviceStore`](crate::DeviceStore) whose
/// [`TokenAdmin::purge_expired`](crate::TokenAdmin::purge_expired) removes
/// expired device authorizations (the shipped stores).
pub mod device_purge {
    use std::sync::Arc;
    use std::time::Duration;

    use super::device_store::device;
    use super::{Fixture, Outcome, store_ok};
    use crate::stores::{DeviceStore, TokenAdmin};

    /// Expired records go, live ones stay, and a purged user code is free.
    pub async fn purge_removes_expired_devices<S: DeviceStore + TokenAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "DeviceStore: purge";
        let f = Fixture::new();
        let old = device(C, &f, 60)?;
        let live = device(C, &f, 600)?;
        store_ok(C, store.insert_device(old.clone()).await)?;
        store_ok(C, store.insert_device(live.clone()).await)?;
        store_ok(
            C,
            store
                .purge_expired(f.now.plus(Duration::from_secs(60)))
                .await,
        )?;
        ensure!(
            C,
            store_ok(C, store.find_device(&old.hash).await)?.is_none()
                && store_ok(C, store.find_user_code(&old.user_code).await)?.is_none(),
            "an expired record must be purged"
        );
        ensure!(
            C,
            store_ok(C, store.find_device(&live.hash).await)?.is_some(),
            "a live record must stay"
        );
        let mut reuse = device(C, &f, 600)?;
        reuse.user_code = old.user_code;
        ensure!(
            C,
            store_ok(C, store.insert_device(reuse).await)?,
            "a purged user code must be free again"
        );
        Ok(())
    }
}

// The full client model (issue 19): the clauses of the registration fields,
// listed in the `ClientAdmin` section.
/// [`ClientAdmin`](crate::ClientAdmin) clauses for the registration fields
/// of issue 19 (RFC 7591 and OpenID Connect Registration), run in the
/// `ClientAdmin` section (re-exported by [`client_admin`]).
pub mod client_model {
    use std::sync::Arc;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::client::{
        ApplicationType, Client, ClientMetadataObject, ClientSigningAlg, RegistrationFields,
        SecretHash,
    };
    use crate::clock::UnixTime;
    use crate::grant_type::GrantType;
    use crate::keys::Algorithm;
    use crate::origin::Origin;
    use crate::redirect_uri::RedirectUri;
    use crate::stores::{ClientAdmin, ClientStore};
    use crate::web_url::WebUrl;

    fn every_field() -> Option<RegistrationFields> {
        let mut metadata = ClientMetadataObject::new();
        metadata.insert("tier".into(), serde_json::json!("gold"));
        metadata.insert(
            "limits".into(),
            serde_json::json!({"rps": 10, "burst": [1, 2.5, null]}),
        );
        Some(RegistrationFields {
            application_type: ApplicationType::Native,
            contacts: vec![
                "ops@example.com".into(),
                "Dev Team <dev@example.com>".into(),
            ],
            software_id: Some("4NRB1-0XZABZI9E6-5SM3R".into()),
            software_version: Some("2.1.0-rc.1".into()),
            client_secret_expires_at: Some(UnixTime::from_secs(2_000_003_600)),
            request_object_signing_alg: Some(ClientSigningAlg::Key(Algorithm::Es256)),
            allowed_cors_origins: vec![
                Origin::parse("https://app.example")?,
                Origin::parse("http://localhost:3000")?,
            ],
            owner: Some("team-billing".into()),
            metadata,
            token_endpoint_auth_signing_alg: None,
            jwks_uri: None,
        })
    }

    /// Every registration field of issue 19 comes back as stored, through
    /// insert and update; an update that clears them clears them.
    pub async fn registration_fields_round_trip<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: registration fields round-trip";
        let f = Fixture::new();
        let fields = every_field().ok_or_else(|| fail(C, "fixture"))?;
        let client = Client::confidential(f.client_id()?, SecretHash::sha256("s"))
            .redirect_uri(RedirectUri::parse("com.example.app:/cb").ok_or_else(|| fail(C, "uri"))?)
            .grant_type(GrantType::AuthorizationCode)
            .registration(fields.clone())
            .build()
            .map_err(|e| fail(C, e))?;
        let id = client.client_id().clone();
        store_ok(C, store.insert_client(client.clone()).await)?;
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "inserted client not found"))?;
        ensure!(
            C,
            back.registration() == &fields,
            "inserted: {:?} came back as {:?}",
            fields,
            back.registration()
        );
        // Changed, then cleared, by update.
        let mut changed = fields.clone();
        changed.contacts.reverse();
        changed.allowed_cors_origins.truncate(1);
        changed.owner = Some("team-payments".into());
        changed.client_secret_expires_at = None;
        changed.metadata.remove("tier");
        let updated = (*back)
            .clone()
            .into_builder()
            .registration(changed.clone())
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(updated).await)?,
            "update found no client"
        );
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "updated client not found"))?;
        ensure!(
            C,
            back.registration() == &changed,
            "updated: {:?} came back as {:?}",
            changed,
            back.registration()
        );
        let cleared = (*back)
            .clone()
            .into_builder()
            .registration(RegistrationFields::default())
            .redirect_uri(
                RedirectUri::parse("https://app.example/cb").ok_or_else(|| fail(C, "uri"))?,
            )
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(cleared).await)?,
            "update found no client"
        );
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "cleared client not found"))?;
        ensure!(
            C,
            back.registration() == &RegistrationFields::default(),
            "cleared fields came back as {:?}",
            back.registration()
        );
        Ok(())
    }

    /// A `private_key_jwt` client registered by `jwks_uri` (no `jwks`)
    /// comes back with its URI, its method and its signing algorithm; one
    /// with a shared secret keeps `HS256`.
    pub async fn jwks_uri_clients_round_trip<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: jwks_uri clients round-trip";
        let f = Fixture::new();
        let uri = WebUrl::parse("https://rp.example/jwks.json").ok_or_else(|| fail(C, "url"))?;
        let pk = Client::private_key_jwt_uri(f.client_id()?, uri.clone())
            .grant_type(GrantType::ClientCredentials)
            .token_endpoint_auth_signing_alg(ClientSigningAlg::Key(Algorithm::Ps256))
            .build()
            .map_err(|e| fail(C, e))?;
        let sj =
            Client::client_secret_jwt(f.client_id()?, crate::secret::Secret::new("k".repeat(32)))
                .grant_type(GrantType::ClientCredentials)
                .token_endpoint_auth_signing_alg(ClientSigningAlg::Hs256)
                .request_object_signing_alg(ClientSigningAlg::Hs256)
                .build()
                .map_err(|e| fail(C, e))?;
        for c in [pk, sj] {
            store_ok(C, store.insert_client(c.clone()).await)?;
            let back = store_ok(C, store.client(c.client_id()).await)?
                .ok_or_else(|| fail(C, "client not found"))?;
            ensure!(
                C,
                back.token_endpoint_auth_method() == c.token_endpoint_auth_method()
                    && back.jwks() == c.jwks()
                    && back.jwks_uri() == c.jwks_uri()
                    && back.registration() == c.registration(),
                "{} came back as {:?}",
                c.client_id(),
                back.registration()
            );
        }
        Ok(())
    }
}

// Dynamic client registration (RFC 7591/7592, issue 19 part 2): the clause
// of the registration access token, listed in the `ClientAdmin` section.
/// [`ClientAdmin`](crate::ClientAdmin) clauses for dynamic client
/// registration (RFC 7592), run in the `ClientAdmin` section (re-exported
/// by [`client_admin`]).
pub mod client_registration {
    use std::sync::Arc;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::client::{Client, SecretHash};
    use crate::grant_type::GrantType;
    use crate::stores::{ClientAdmin, ClientStore};

    /// A client's registration access token hash (RFC 7592) comes back as
    /// stored, only as a hash; an update keeps, replaces or removes it as
    /// the new client says.
    pub async fn registration_access_token_round_trips<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientAdmin: registration access token hash round-trips";
        let f = Fixture::new();
        let first = SecretHash::sha256("registration-access-token-1");
        let client = Client::confidential(f.client_id()?, SecretHash::sha256("s"))
            .grant_type(GrantType::ClientCredentials)
            .registration_access_token_hash(first.clone())
            .build()
            .map_err(|e| fail(C, e))?;
        let id = client.client_id().clone();
        store_ok(C, store.insert_client(client).await)?;
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "inserted client not found"))?;
        ensure!(
            C,
            back.registration_access_token_hash() == Some(&first),
            "the inserted hash did not come back"
        );
        ensure!(
            C,
            back.registration_access_token_hash()
                .is_some_and(|h| h.verify("registration-access-token-1") && !h.verify("other")),
            "the stored hash does not verify its token"
        );
        let second = SecretHash::sha256("registration-access-token-2");
        let rotated = (*back)
            .clone()
            .into_builder()
            .registration_access_token_hash(second.clone())
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(rotated).await)?,
            "update found no client"
        );
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "updated client not found"))?;
        ensure!(
            C,
            back.registration_access_token_hash() == Some(&second),
            "the replaced hash did not come back"
        );
        let removed = (*back)
            .clone()
            .into_builder()
            .registration_access_token_hash(None)
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(removed).await)?,
            "update found no client"
        );
        let back = store_ok(C, store.client(&id).await)?
            .ok_or_else(|| fail(C, "updated client not found"))?;
        ensure!(
            C,
            back.registration_access_token_hash().is_none(),
            "a removed hash came back"
        );
        Ok(())
    }
}

// CORS (issue 19 part 3, CO-01): the clauses of
// `ClientStore::cors_origin_registered`, listed in the `ClientAdmin` section.
/// [`ClientStore::cors_origin_registered`](crate::ClientStore::cors_origin_registered)
/// clauses (CO-01), run in the `ClientAdmin` section (re-exported by
/// [`client_admin`]): clients are written through
/// [`ClientAdmin`](crate::ClientAdmin).
pub mod client_cors {
    use std::sync::Arc;

    use super::{Fixture, Outcome, fail, store_ok};
    use crate::client::{Client, ClientId};
    use crate::grant_type::GrantType;
    use crate::origin::Origin;
    use crate::redirect_uri::RedirectUri;
    use crate::stores::{ClientAdmin, ClientStore};

    /// A fresh origin no other clause registers.
    fn origin(c: &'static str, f: &Fixture) -> Result<Origin, super::Failure> {
        Origin::parse(&format!("https://{}.example", f.unique("spa")))
            .ok_or_else(|| fail(c, "origin"))
    }

    fn spa(c: &'static str, id: ClientId, origins: &[&Origin]) -> Result<Client, super::Failure> {
        origins
            .iter()
            .fold(
                Client::public(id)
                    .redirect_uri(
                        RedirectUri::parse("https://spa.example/cb")
                            .ok_or_else(|| fail(c, "uri"))?,
                    )
                    .grant_type(GrantType::AuthorizationCode),
                |b, o| b.allowed_cors_origin((*o).clone()),
            )
            .build()
            .map_err(|e| fail(c, e))
    }

    async fn registered<S: ClientStore>(
        c: &'static str,
        store: &S,
        origin: &Origin,
    ) -> Result<bool, super::Failure> {
        store_ok(c, store.cors_origin_registered(origin).await)
    }

    /// An origin is registered once an enabled client lists it, whichever
    /// of its origins it is; an origin no client lists is not, nor one only
    /// a disabled client lists; the comparison is exact (another port or
    /// scheme is another origin).
    pub async fn cors_origins_are_found_by_origin<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientStore: CORS origins found by origin";
        let f = Fixture::new();
        let (a, b, none) = (origin(C, &f)?, origin(C, &f)?, origin(C, &f)?);
        ensure!(
            C,
            !registered(C, &*store, &a).await?,
            "{a} before any client"
        );
        store_ok(
            C,
            store
                .insert_client(spa(C, f.client_id()?, &[&a, &b])?)
                .await,
        )?;
        for o in [&a, &b] {
            ensure!(
                C,
                registered(C, &*store, o).await?,
                "{o} must be registered"
            );
        }
        ensure!(
            C,
            !registered(C, &*store, &none).await?,
            "{none} is nobody's"
        );
        let other_port = Origin::parse(&format!("{a}:8443")).ok_or_else(|| fail(C, "origin"))?;
        ensure!(
            C,
            !registered(C, &*store, &other_port).await?,
            "{other_port} is another origin than {a}"
        );
        // Only a disabled client lists it: not registered.
        let hidden = origin(C, &f)?;
        let disabled = spa(C, f.client_id()?, &[&hidden])?
            .into_builder()
            .enabled(false)
            .build()
            .map_err(|e| fail(C, e))?;
        store_ok(C, store.insert_client(disabled).await)?;
        ensure!(
            C,
            !registered(C, &*store, &hidden).await?,
            "{hidden} is listed by a disabled client only"
        );
        Ok(())
    }

    /// An update that drops an origin unregisters it (unless another
    /// client lists it too), one that adds an origin registers it,
    /// disabling the client unregisters its origins, and deleting the
    /// client unregisters them all.
    pub async fn cors_origins_follow_updates_and_deletes<S: ClientStore + ClientAdmin>(
        store: Arc<S>,
    ) -> Outcome {
        const C: &str = "ClientStore: CORS origins follow updates and deletes";
        let f = Fixture::new();
        let (a, b, shared, added) = (
            origin(C, &f)?,
            origin(C, &f)?,
            origin(C, &f)?,
            origin(C, &f)?,
        );
        let id = f.client_id()?;
        store_ok(
            C,
            store
                .insert_client(spa(C, id.clone(), &[&a, &b, &shared])?)
                .await,
        )?;
        store_ok(
            C,
            store
                .insert_client(spa(C, f.client_id()?, &[&shared])?)
                .await,
        )?;
        ensure!(
            C,
            store_ok(
                C,
                store
                    .update_client(spa(C, id.clone(), &[&b, &added])?)
                    .await
            )?,
            "update found no client"
        );
        ensure!(C, !registered(C, &*store, &a).await?, "{a} was dropped");
        for o in [&b, &added, &shared] {
            ensure!(
                C,
                registered(C, &*store, o).await?,
                "{o} must stay registered"
            );
        }
        let off = spa(C, id.clone(), &[&b, &added])?
            .into_builder()
            .enabled(false)
            .build()
            .map_err(|e| fail(C, e))?;
        ensure!(
            C,
            store_ok(C, store.update_client(off).await)?,
            "update found no client"
        );
        ensure!(
            C,
            !registered(C, &*store, &b).await?,
            "{b}: its client is disabled"
        );
        ensure!(
            C,
            store_ok(
                C,
                store
                    .update_client(spa(C, id.clone(), &[&b, &added])?)
                    .await
            )?,
            "update found no client"
        );
        ensure!(
            C,
            registered(C, &*store, &b).await?,
            "{b}: its client is enabled again"
        );
        ensure!(
            C,
            store_ok(C, store.delete_client(&id).await)?,
            "delete found no client"
        );
        for o in [&b, &added] {
            ensure!(
                C,
                !registered(C, &*store, o).await?,
                "{o}: its client is deleted"
            );
        }
        ensure!(
            C,
            registered(C, &*store, &shared).await?,
            "{shared} is still another client's"
        );
        Ok(())
    }
}
