//! `FaultyStore`: a store wrapper that fails chosen calls, for testing how
//! a server (or a host's own code) behaves when its database fails (RB-02).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::keys::{KeyId, KeyProvider, KeyRecord};
use crate::oidc::SessionId;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientAdmin, ClientStore, CodeRecord, Consent,
    ConsentAdmin, ConsentStore, Exchange, NewTokens, PurgeCounts, RefreshRecord, Replacement,
    ReplayCache, ReplayScope, Rotation, SuspendedRequest, TokenAdmin, TokenStore,
};
use crate::stores::{DeviceDecision, DevicePoll, DeviceRecord, DeviceStore};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

/// One method of the store traits, as [`FaultyStore`] names it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreOp {
    /// [`ClientStore::client`].
    FindClient,
    /// [`ClientAdmin::insert_client`] (writes).
    InsertClient,
    /// [`ClientAdmin::update_client`] (writes).
    UpdateClient,
    /// [`ClientAdmin::delete_client`] (writes).
    DeleteClient,
    /// [`ClientAdmin::clients`].
    ListClients,
    /// [`TokenStore::insert_code`] (writes).
    InsertCode,
    /// [`TokenStore::find_code`].
    FindCode,
    /// [`TokenStore::exchange_code`] (writes).
    ExchangeCode,
    /// [`TokenStore::issue`] (writes).
    Issue,
    /// [`TokenStore::find_access`].
    FindAccess,
    /// [`TokenStore::find_refresh`].
    FindRefresh,
    /// [`TokenStore::rotate_refresh`] (writes).
    RotateRefresh,
    /// [`TokenStore::revoke_access`] (writes).
    RevokeAccess,
    /// [`TokenStore::revoke_grant`] (writes).
    RevokeGrant,
    /// [`TokenStore::revoke_session`] (writes).
    RevokeSession,
    /// [`TokenStore::session_clients`].
    SessionClients,
    /// [`TokenAdmin::revoke_client`] (writes).
    RevokeClient,
    /// [`TokenAdmin::revoke_user`] (writes).
    RevokeUser,
    /// [`TokenAdmin::purge_expired`] (writes).
    PurgeExpired,
    /// [`ReplayCache::first_use`] (writes).
    FirstUse,
    /// [`ReplayCache::purge_replays`] (writes).
    PurgeReplays,
    /// [`ConsentStore::consent`].
    FindConsent,
    /// [`ConsentStore::grant_consent`] (writes).
    GrantConsent,
    /// [`ConsentAdmin::consents`].
    ListConsents,
    /// [`ConsentAdmin::revoke_consent`] (writes).
    RevokeConsent,
    /// [`AuthorizationRequestStore::insert_request`] (writes).
    InsertRequest,
    /// [`AuthorizationRequestStore::take_request`] (writes).
    TakeRequest,
    /// [`KeyProvider::keys`].
    Keys,
    /// [`KeyProvider::insert_key`] (writes).
    InsertKey,
    /// [`KeyProvider::retire_key`] (writes).
    RetireKey,
    /// [`KeyProvider::delete_key`] (writes).
    DeleteKey,
    /// [`TokenStore::replace_successor`] (writes; the refresh retry window).
    ReplaceSuccessor,
    /// [`DeviceStore::insert_device`] (writes).
    InsertDevice,
    /// [`DeviceStore::find_device`].
    FindDevice,
    /// [`DeviceStore::find_user_code`].
    FindUserCode,
    /// [`DeviceStore::decide_device`] (writes).
    DecideDevice,
    /// [`DeviceStore::poll_device`] (writes).
    PollDevice,
    /// [`DeviceStore::redeem_device`] (writes: the redemption and its
    /// tokens, one step).
    RedeemDevice,
    /// [`ClientStore::cors_origin_registered`] (CORS, CO-01).
    FindCorsOrigin,
}

impl StoreOp {
    /// Every operation.
    pub const ALL: [Self; 39] = [
        Self::FindClient,
        Self::InsertClient,
        Self::UpdateClient,
        Self::DeleteClient,
        Self::ListClients,
        Self::InsertCode,
        Self::FindCode,
        Self::ExchangeCode,
        Self::Issue,
        Self::FindAccess,
        Self::FindRefresh,
        Self::RotateRefresh,
        Self::RevokeAccess,
        Self::RevokeGrant,
        Self::RevokeSession,
        Self::SessionClients,
        Self::RevokeClient,
        Self::RevokeUser,
        Self::PurgeExpired,
        Self::FirstUse,
        Self::PurgeReplays,
        Self::FindConsent,
        Self::GrantConsent,
        Self::ListConsents,
        Self::RevokeConsent,
        Self::InsertRequest,
        Self::TakeRequest,
        Self::Keys,
        Self::InsertKey,
        Self::RetireKey,
        Self::DeleteKey,
        Self::ReplaceSuccessor,
        Self::InsertDevice,
        Self::FindDevice,
        Self::FindUserCode,
        Self::DecideDevice,
        Self::PollDevice,
        Self::RedeemDevice,
        Self::FindCorsOrigin,
    ];

    /// Whether the operation changes the store (only these can meaningfully
    /// fail [`Fault::AfterWrite`]; for a read it is the same as a lost answer).
    pub const fn writes(self) -> bool {
        !matches!(
            self,
            Self::FindClient
                | Self::ListClients
                | Self::FindCode
                | Self::FindAccess
                | Self::FindRefresh
                | Self::SessionClients
                | Self::FindConsent
                | Self::ListConsents
                | Self::Keys
                | Self::FindDevice
                | Self::FindUserCode
                | Self::FindCorsOrigin
        )
    }
}

/// How a failing call fails.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail at once; the inner store is not called.
    Error,
    /// Wait this long, then fail with a timed-out cause; the inner store is
    /// not called.
    Timeout(Duration),
    /// Call the inner store (which commits), then return an error anyway.
    AfterWrite,
}

#[derive(Clone, Copy, Debug)]
struct Rule {
    op: StoreOp,
    fault: Fault,
    /// Calls to let through before failing.
    skip: u64,
    /// How many calls to fail; `None` for every one.
    times: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    /// Calls seen per operation, failed or not.
    calls: Vec<(StoreOp, u64)>,
    /// Calls failed per operation.
    failed: Vec<(StoreOp, u64)>,
}

fn bump(counts: &mut Vec<(StoreOp, u64)>, op: StoreOp) {
    match counts.iter_mut().find(|(o, _)| *o == op) {
        Some((_, n)) => *n = n.saturating_add(1),
        None => counts.push((op, 1)),
    }
}

fn count(counts: &[(StoreOp, u64)], op: StoreOp) -> u64 {
    counts.iter().find(|(o, _)| *o == op).map_or(0, |(_, n)| *n)
}

/// A store wrapper that fails chosen calls (RB-02).
///
/// It wraps any store and implements whichever of the store traits
/// ([`ClientStore`], [`ClientAdmin`], [`TokenStore`], [`TokenAdmin`],
/// [`ConsentStore`], [`ConsentAdmin`], [`ReplayCache`],
/// [`AuthorizationRequestStore`], [`KeyProvider`]) the inner store does.
/// Each method is a [`StoreOp`]; [`FaultyStore::fail`] makes an operation
/// fail with a [`Fault`]:
///
/// - [`Fault::Error`]: the call fails at once and the inner store is not
///   touched (a refused connection, a constraint violation, a rollback).
/// - [`Fault::Timeout`]: the call waits, then fails without touching the
///   inner store, with an [`std::io::ErrorKind::TimedOut`] cause (a pool or
///   statement timeout). The wait runs on a helper thread, so it works on
///   any executor without blocking it.
/// - [`Fault::AfterWrite`]: the inner call runs and commits, then the
///   caller gets an error anyway (the commit succeeded but its
///   acknowledgement was lost). This is the ambiguous failure a networked
///   database can always produce.
///
/// What the core guarantees under each fault is written down in
/// `docs/security.md` ("Store failures") and proved by
/// `tests/protocol/faults.rs`. This wrapper is a testing tool; it adds a
/// lock per call and does nothing useful in production.
///
/// ```
/// use std::sync::Arc;
/// use portcullis::stores::{Fault, FaultyStore, StoreOp};
/// use portcullis::{AuthorizationServer, Config, MemoryStore};
///
/// let memory = MemoryStore::new();
/// let store = Arc::new(FaultyStore::new(memory.clone())); // clones share state
/// let server = AuthorizationServer::builder(Config::new("https://auth.example.com"))
///     .store(store.clone())
///     .build()
///     .unwrap();
/// store.fail(StoreOp::Issue, Fault::AfterWrite);
/// // ... a token request now stores its tokens and answers 500 ...
/// store.heal();
/// # let _ = server;
/// ```
///
/// Rules are checked in the order they were added; the first that applies
/// decides.
pub struct FaultyStore<S> {
    inner: S,
    state: Mutex<State>,
}

impl<S> std::fmt::Debug for FaultyStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("FaultyStore")
            .field("rules", &state.rules)
            .finish_non_exhaustive()
    }
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`; nothing fails until told to.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: Mutex::new(State::default()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn add(&self, rule: Rule) {
        self.state().rules.push(rule);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on every call of `op` fails with `fault`.
    pub fn fail(&self, op: StoreOp, fault: Fault) {
        self.add(Rule {
            op,
            fault,
            skip: 0,
            times: None,
        });
    }

    /// The next call of `op` fails with `fault`; later ones succeed.
    pub fn fail_once(&self, op: StoreOp, fault: Fault) {
        self.fail_nth(op, 0, fault);
    }

    /// Lets `skip` more calls of `op` through, then fails the one after
    /// with `fault` (e.g. the second `revoke_grant` of a request).
    pub fn fail_nth(&self, op: StoreOp, skip: u64, fault: Fault) {
        self.add(Rule {
            op,
            fault,
            skip,
            times: Some(1),
        });
    }

    /// Removes every rule for `op`.
    pub fn heal_op(&self, op: StoreOp) {
        self.state().rules.retain(|r| r.op != op);
    }

    /// Removes every rule: nothing fails any more.
    pub fn heal(&self) {
        self.state().rules.clear();
    }

    /// How many times `op` was called (failed calls included).
    pub fn calls(&self, op: StoreOp) -> u64 {
        count(&self.state().calls, op)
    }

    /// How many calls of `op` were failed.
    pub fn failures(&self, op: StoreOp) -> u64 {
        count(&self.state().failed, op)
    }

    /// Counts the call and decides whether it fails.
    fn decide(&self, op: StoreOp) -> Option<Fault> {
        let mut state = self.state();
        bump(&mut state.calls, op);
        let mut chosen = None;
        for rule in state.rules.iter_mut().filter(|r| r.op == op) {
            if rule.times == Some(0) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            if let Some(t) = &mut rule.times {
                *t -= 1;
            }
            chosen = Some(rule.fault);
            break;
        }
        state.rules.retain(|r| r.times != Some(0));
        if chosen.is_some() {
            bump(&mut state.failed, op);
        }
        chosen
    }

    /// Runs `call` on the inner store unless `op` is told to fail.
    async fn run<T, F>(&self, op: StoreOp, call: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        match self.decide(op) {
            None => call.await,
            Some(Fault::Error) => Err(StoreError::msg("injected store failure")),
            Some(Fault::Timeout(wait)) => {
                Sleep::new(wait).await;
                Err(StoreError::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "injected store timeout",
                )))
            }
            Some(Fault::AfterWrite) => {
                let _committed = call.await;
                Err(StoreError::msg("injected store failure after the write"))
            }
        }
    }
}

/// Whether the wait is over, and the task to wake when it is.
type Alarm = Arc<Mutex<(bool, Option<Waker>)>>;

/// A runtime-independent sleep: a helper thread wakes the task.
struct Sleep {
    wait: Duration,
    shared: Option<Alarm>,
}

impl Sleep {
    fn new(wait: Duration) -> Self {
        Self { wait, shared: None }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.wait.is_zero() {
            return Poll::Ready(());
        }
        if let Some(shared) = &self.shared {
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if s.0 {
                return Poll::Ready(());
            }
            s.1 = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let shared: Alarm = Arc::new(Mutex::new((false, Some(cx.waker().clone()))));
        let theirs = shared.clone();
        let wait = self.wait;
        let spawned = std::thread::Builder::new()
            .name("faulty-store-timeout".into())
            .spawn(move || {
                std::thread::sleep(wait);
                let mut s = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                s.0 = true;
                if let Some(w) = s.1.take() {
                    w.wake();
                }
            });
        if spawned.is_err() {
            // No thread to wait on: fail without the delay.
            return Poll::Ready(());
        }
        self.shared = Some(shared);
        Poll::Pending
    }
}

#[async_trait]
impl<S: ClientStore> ClientStore for FaultyStore<S> {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        self.run(StoreOp::FindClient, self.inner.client(id)).await
    }

    async fn cors_origin_registered(
        &self,
        origin: &crate::origin::Origin,
    ) -> Result<bool, StoreError> {
        self.run(
            StoreOp::FindCorsOrigin,
            self.inner.cors_origin_registered(origin),
        )
        .await
    }
}

#[async_trait]
impl<S: ClientAdmin> ClientAdmin for FaultyStore<S> {
    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        self.run(StoreOp::InsertClient, self.inner.insert_client(client))
            .await
    }
    async fn update_client(&self, client: Client) -> Result<bool, StoreError> {
        self.run(StoreOp::UpdateClient, self.inner.update_client(client))
            .await
    }
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        self.run(StoreOp::DeleteClient, self.inner.delete_client(id))
            .await
    }
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        self.run(StoreOp::ListClients, self.inner.clients()).await
    }
}

#[async_trait]
impl<S: TokenStore> TokenStore for FaultyStore<S> {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        self.run(StoreOp::InsertCode, self.inner.insert_code(code))
            .await
    }
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        self.run(StoreOp::FindCode, self.inner.find_code(hash))
            .await
    }
    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        self.run(
            StoreOp::ExchangeCode,
            self.inner.exchange_code(hash, tokens),
        )
        .await
    }
    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        self.run(StoreOp::Issue, self.inner.issue(tokens)).await
    }
    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        self.run(StoreOp::FindAccess, self.inner.find_access(hash))
            .await
    }
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        self.run(StoreOp::FindRefresh, self.inner.find_refresh(hash))
            .await
    }
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        self.run(StoreOp::RotateRefresh, self.inner.rotate_refresh(old, new))
            .await
    }
    async fn replace_successor(
        &self,
        old: &TokenHash,
        successor: &TokenHash,
        new: NewTokens,
    ) -> Result<Replacement, StoreError> {
        self.run(
            StoreOp::ReplaceSuccessor,
            self.inner.replace_successor(old, successor, new),
        )
        .await
    }
    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.run(StoreOp::RevokeAccess, self.inner.revoke_access(hash))
            .await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.run(StoreOp::RevokeGrant, self.inner.revoke_grant(grant))
            .await
    }
    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
        self.run(StoreOp::RevokeSession, self.inner.revoke_session(session))
            .await
    }
    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
        self.run(StoreOp::SessionClients, self.inner.session_clients(session))
            .await
    }
}

#[async_trait]
impl<S: TokenAdmin> TokenAdmin for FaultyStore<S> {
    async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
        self.run(StoreOp::RevokeClient, self.inner.revoke_client(client))
            .await
    }
    async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
        self.run(StoreOp::RevokeUser, self.inner.revoke_user(user))
            .await
    }
    async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
        self.run(StoreOp::PurgeExpired, self.inner.purge_expired(now))
            .await
    }
}

#[async_trait]
impl<S: ReplayCache> ReplayCache for FaultyStore<S> {
    async fn first_use(
        &self,
        scope: &ReplayScope,
        id: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.run(
            StoreOp::FirstUse,
            self.inner.first_use(scope, id, expires_at),
        )
        .await
    }
    async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(StoreOp::PurgeReplays, self.inner.purge_replays(now))
            .await
    }
}

#[async_trait]
impl<S: ConsentStore> ConsentStore for FaultyStore<S> {
    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        self.run(StoreOp::FindConsent, self.inner.consent(user, client))
            .await
    }
    async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
        self.run(StoreOp::GrantConsent, self.inner.grant_consent(consent))
            .await
    }
}

#[async_trait]
impl<S: ConsentAdmin> ConsentAdmin for FaultyStore<S> {
    async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        self.run(StoreOp::ListConsents, self.inner.consents(user))
            .await
    }
    async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        self.run(
            StoreOp::RevokeConsent,
            self.inner.revoke_consent(user, client),
        )
        .await
    }
}

#[async_trait]
impl<S: AuthorizationRequestStore> AuthorizationRequestStore for FaultyStore<S> {
    async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
        self.run(StoreOp::InsertRequest, self.inner.insert_request(request))
            .await
    }
    async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
        self.run(StoreOp::TakeRequest, self.inner.take_request(hash))
            .await
    }
}

#[async_trait]
impl<S: DeviceStore> DeviceStore for FaultyStore<S> {
    async fn insert_device(&self, record: DeviceRecord) -> Result<bool, StoreError> {
        self.run(StoreOp::InsertDevice, self.inner.insert_device(record))
            .await
    }
    async fn find_device(&self, hash: &TokenHash) -> Result<Option<DeviceRecord>, StoreError> {
        self.run(StoreOp::FindDevice, self.inner.find_device(hash))
            .await
    }
    async fn find_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        self.run(StoreOp::FindUserCode, self.inner.find_user_code(user_code))
            .await
    }
    async fn decide_device(
        &self,
        user_code: &TokenHash,
        decision: DeviceDecision,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.run(
            StoreOp::DecideDevice,
            self.inner.decide_device(user_code, decision, now),
        )
        .await
    }
    async fn poll_device(&self, hash: &TokenHash, now: UnixTime) -> Result<DevicePoll, StoreError> {
        self.run(StoreOp::PollDevice, self.inner.poll_device(hash, now))
            .await
    }
    async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError> {
        self.run(
            StoreOp::RedeemDevice,
            self.inner.redeem_device(hash, tokens),
        )
        .await
    }
}

#[async_trait]
impl<S: KeyProvider> KeyProvider for FaultyStore<S> {
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.run(StoreOp::Keys, self.inner.keys()).await
    }
    async fn insert_key(&self, key: KeyRecord) -> Result<(), StoreError> {
        self.run(StoreOp::InsertKey, self.inner.insert_key(key))
            .await
    }
    async fn retire_key(
        &self,
        kid: &KeyId,
        not_after: UnixTime,
        drop_after: UnixTime,
    ) -> Result<bool, StoreError> {
        self.run(
            StoreOp::RetireKey,
            self.inner.retire_key(kid, not_after, drop_after),
        )
        .await
    }
    async fn delete_key(&self, kid: &KeyId) -> Result<bool, StoreError> {
        self.run(StoreOp::DeleteKey, self.inner.delete_key(kid))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_and_count() {
        let s = FaultyStore::new(());
        s.fail_nth(StoreOp::Issue, 1, Fault::Error);
        assert_eq!(s.decide(StoreOp::Issue), None);
        assert_eq!(s.decide(StoreOp::Issue), Some(Fault::Error));
        assert_eq!(s.decide(StoreOp::Issue), None);
        s.fail(StoreOp::FindCode, Fault::AfterWrite);
        assert_eq!(s.decide(StoreOp::FindCode), Some(Fault::AfterWrite));
        assert_eq!(s.decide(StoreOp::FindCode), Some(Fault::AfterWrite));
        s.heal_op(StoreOp::FindCode);
        assert_eq!(s.decide(StoreOp::FindCode), None);
        assert_eq!(
            (s.calls(StoreOp::Issue), s.failures(StoreOp::Issue)),
            (3, 1)
        );
        assert_eq!(s.calls(StoreOp::Keys), 0);
        assert!(StoreOp::Issue.writes() && !StoreOp::FindCode.writes());
    }
}
