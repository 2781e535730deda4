//! `MemoryStore`: every store trait in process memory — the reference
//! implementation to read (and copy from) when you write your own store.
//!
//! It is for tests, demos and single-process apps: nothing survives a
//! restart and nothing is shared between processes. All state sits in
//! plain maps behind one lock, so each method is one critical section and
//! each atomic step of the contract is atomic simply because it holds the
//! lock from its first check to its last write. Every check that can fail
//! runs before the first write, which makes each step all or nothing. A
//! revocation holds the same lock, so it falls wholly between two steps: it
//! removes everything a step before it stored, and a step after it finds its
//! code or refresh token gone (revocation wins, RB-05).
//!
//! A database store gets the same guarantees from one transaction per
//! step; see `docs/implementing-a-store.md`. For many cores issuing tokens
//! at once, [`ShardedMemoryStore`](crate::stores::ShardedMemoryStore)
//! spreads codes and tokens over sixteen locks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::oidc::SessionId;
use crate::origin::Origin;
use crate::stores::tokens::clients_in_session;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientAdmin, ClientStore, CodeRecord, Consent,
    ConsentAdmin, ConsentStore, Exchange, NewTokens, PurgeCounts, RefreshRecord, Replacement,
    ReplayCache, ReplayScope, Rotation, Successor, SuspendedRequest, TokenAdmin, TokenStore,
};
use crate::stores::{DeviceDecision, DevicePoll, DeviceRecord, DeviceState, DeviceStore};
use crate::throttle::{ThrottleCount, ThrottleKey, ThrottleStore};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

/// The tables, as a database would have them.
#[derive(Default)]
struct Tables {
    /// Ordered by id, so `clients()` needs no sort.
    clients: BTreeMap<ClientId, Arc<Client>>,
    codes: HashMap<TokenHash, CodeRecord>,
    access: HashMap<TokenHash, AccessRecord>,
    refresh: HashMap<TokenHash, RefreshRecord>,
    /// Ordered by (user, client), so one user's consents come out by client.
    consents: BTreeMap<(UserId, ClientId), Consent>,
    /// Used one-time ids and when they may be forgotten.
    replays: HashMap<(ReplayScope, String), UnixTime>,
    /// Suspended authorization requests, by handle hash.
    requests: HashMap<TokenHash, SuspendedRequest>,
    /// Device authorizations by device code hash, and the device code hash
    /// of each user code hash (RFC 8628).
    devices: HashMap<TokenHash, DeviceRecord>,
    user_codes: HashMap<TokenHash, TokenHash>,
    /// Throttle counters (`ThrottleStore`): the end of each one's window
    /// and its count.
    throttle: HashMap<ThrottleKey, (UnixTime, ThrottleCount)>,
    /// Known (account, source) pairs of the throttle, and until when.
    throttle_known: HashMap<ThrottleKey, UnixTime>,
}

impl Tables {
    /// Whether storing `tokens` would overwrite a stored token.
    fn collides(&self, tokens: &NewTokens) -> bool {
        self.access.contains_key(&tokens.access.hash)
            || tokens
                .refresh
                .as_ref()
                .is_some_and(|r| self.refresh.contains_key(&r.hash))
    }

    /// Stores `tokens`, or changes nothing and reports a duplicate hash.
    fn store(&mut self, tokens: NewTokens) -> Result<(), StoreError> {
        if self.collides(&tokens) {
            return Err(duplicate());
        }
        if let Some(refresh) = tokens.refresh {
            self.refresh.insert(refresh.hash, refresh);
        }
        self.access.insert(tokens.access.hash, tokens.access);
        Ok(())
    }

    /// Removes every code and token for which `hit(client, subject)` holds;
    /// returns how many. Every member of a grant shares its client and
    /// subject, so this removes whole grants.
    fn remove_where(&mut self, hit: impl Fn(&ClientId, Option<&UserId>) -> bool) -> u64 {
        let before = self.token_count();
        self.codes
            .retain(|_, c| !hit(&c.client_id, Some(&c.subject)));
        self.access
            .retain(|_, a| !hit(&a.client_id, a.subject.as_ref()));
        self.refresh
            .retain(|_, r| !hit(&r.client_id, r.subject.as_ref()));
        gone(before, self.token_count())
    }

    fn token_count(&self) -> usize {
        self.codes.len() + self.access.len() + self.refresh.len()
    }

    /// Forgets device authorizations expired at `now`.
    fn purge_devices(&mut self, now: UnixTime) {
        self.devices.retain(|_, d| d.expires_at > now);
        let devices = &self.devices;
        self.user_codes.retain(|_, hash| devices.contains_key(hash));
    }
}

fn gone(before: usize, after: usize) -> u64 {
    u64::try_from(before.saturating_sub(after)).unwrap_or(u64::MAX)
}

fn duplicate() -> StoreError {
    StoreError::msg("duplicate key")
}

/// Every store trait in process memory, for tests, demos and
/// single-process apps. Cheap to clone: clones share their state.
///
/// ```
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// use portcullis::{ClientAdmin, MemoryStore};
/// let store = MemoryStore::new();
/// assert!(store.clients().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<RwLock<Tables>>);

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (stored) access tokens.
    pub fn access_token_count(&self) -> usize {
        self.read().access.len()
    }

    /// The client with this id: [`ClientStore::client`] without the boxed
    /// future of `#[async_trait]`, for [`ShardedMemoryStore`]'s hot path.
    ///
    /// [`ShardedMemoryStore`]: crate::stores::ShardedMemoryStore
    pub(super) fn client_now(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.read().clients.get(id).cloned()
    }

    /// Whether an enabled client lists `origin` in `allowed_cors_origins`
    /// ([`ClientStore::cors_origin_registered`]): a scan of the clients,
    /// which a store of a few thousand clients answers in microseconds.
    pub(super) fn cors_origin_now(&self, origin: &Origin) -> bool {
        self.read()
            .clients
            .values()
            .any(|c| c.is_enabled() && c.allowed_cors_origins().contains(origin))
    }

    /// Forgets suspended authorization requests and device authorizations
    /// expired at `now` (part of [`TokenAdmin::purge_expired`]).
    pub(super) fn purge_requests(&self, now: UnixTime) {
        let mut t = self.write();
        t.requests.retain(|_, r| r.expires_at > now);
        t.purge_devices(now);
    }

    /// Redeems the approved device authorization `hash` if `store_tokens`
    /// succeeds, all under this store's lock: [`DeviceStore::redeem_device`]
    /// for [`ShardedMemoryStore`], whose tokens live elsewhere (it holds
    /// their shard locks around this call, and `store_tokens` changes
    /// nothing when it fails).
    ///
    /// [`ShardedMemoryStore`]: crate::stores::ShardedMemoryStore
    pub(super) fn redeem_device_with(
        &self,
        hash: &TokenHash,
        store_tokens: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let Some(d) = t.devices.get_mut(hash) else {
            return Ok(false);
        };
        if !matches!(d.state, DeviceState::Approved { .. }) {
            return Ok(false);
        }
        store_tokens()?;
        d.state = DeviceState::Redeemed;
        Ok(true)
    }

    // Every write below checks before it changes anything, so a panic
    // cannot leave the tables half-written: a poisoned lock is safe to use.
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.client_now(id))
    }

    async fn cors_origin_registered(&self, origin: &Origin) -> Result<bool, StoreError> {
        Ok(self.cors_origin_now(origin))
    }
}

#[async_trait]
impl ClientAdmin for MemoryStore {
    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        let mut t = self.write();
        if t.clients.contains_key(client.client_id()) {
            return Err(duplicate());
        }
        t.clients
            .insert(client.client_id().clone(), Arc::new(client));
        Ok(())
    }

    async fn update_client(&self, client: Client) -> Result<bool, StoreError> {
        Ok(match self.write().clients.get_mut(client.client_id()) {
            Some(slot) => {
                *slot = Arc::new(client);
                true
            }
            None => false,
        })
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        Ok(self.write().clients.remove(id).is_some())
    }

    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        Ok(self.read().clients.values().cloned().collect())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        let mut t = self.write();
        if t.codes.contains_key(&code.hash) {
            return Err(duplicate());
        }
        t.codes.insert(code.hash, code);
        Ok(())
    }

    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        Ok(self.read().codes.get(hash).cloned())
    }

    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        let mut t = self.write();
        match t.codes.get(hash) {
            None => return Ok(Exchange::Unknown),
            Some(code) if code.used => return Ok(Exchange::AlreadyUsed(code.grant)),
            Some(_) => {}
        }
        // `store` changes nothing when it fails, so the code stays unused.
        t.store(tokens)?;
        if let Some(code) = t.codes.get_mut(hash) {
            // Kept until it expires, so a replay is recognised (AC-02).
            code.used = true;
        }
        Ok(Exchange::Issued)
    }

    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        self.write().store(tokens)
    }

    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        Ok(self.read().access.get(hash).cloned())
    }

    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.read().refresh.get(hash).cloned())
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        let mut t = self.write();
        match t.refresh.get(old) {
            None => return Ok(Rotation::Unknown),
            Some(r) if r.used => return Ok(Rotation::Replayed(r.grant)),
            Some(_) => {}
        }
        let successor = Successor::of(&new);
        t.store(new)?;
        if let Some(r) = t.refresh.get_mut(old) {
            // Kept until it expires, so a replay revokes the grant (RT-02).
            r.used = true;
            r.successor = successor;
        }
        Ok(Rotation::Rotated)
    }

    async fn replace_successor(
        &self,
        old: &TokenHash,
        successor: &TokenHash,
        new: NewTokens,
    ) -> Result<Replacement, StoreError> {
        let mut t = self.write();
        // Every check first, under the one lock.
        let (grant, current) = match t.refresh.get(old) {
            None => return Ok(Replacement::Unknown),
            Some(r) => match r.successor {
                Some(s) if s.refresh == *successor => (r.grant, s),
                _ => return Ok(Replacement::Superseded),
            },
        };
        match t.refresh.get(successor) {
            Some(s) if !s.used => {}
            _ => return Ok(Replacement::Replayed(grant)),
        }
        let Some(replaced) = current.replaced_by(&new) else {
            return Err(StoreError::msg("a retry must issue a refresh token"));
        };
        t.store(new)?;
        t.access.remove(&current.access);
        if let Some(s) = t.refresh.get_mut(successor) {
            // Kept until it expires: presenting it is a replay (RT-02).
            s.used = true;
        }
        if let Some(r) = t.refresh.get_mut(old) {
            r.successor = Some(replaced);
        }
        Ok(Replacement::Replaced)
    }

    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.write().access.remove(hash);
        Ok(())
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        // Full scans keep this short; a database indexes the grant column.
        let mut t = self.write();
        t.codes.retain(|_, c| c.grant != *grant);
        t.access.retain(|_, a| a.grant != *grant);
        t.refresh.retain(|_, r| r.grant != *grant);
        Ok(())
    }

    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
        // One lock, as for `revoke_grant`: no step is half done meanwhile.
        let mut t = self.write();
        let before = t.token_count();
        let mut grants: Vec<GrantId> = t
            .codes
            .values()
            .filter(|c| c.session_id() == Some(session) && !c.outlives_session())
            .map(|c| c.grant)
            .collect();
        grants.extend(
            t.refresh
                .values()
                .filter(|r| r.session_id() == Some(session) && !r.outlives_session())
                .map(|r| r.grant),
        );
        t.codes.retain(|_, c| !grants.contains(&c.grant));
        t.refresh.retain(|_, r| !grants.contains(&r.grant));
        t.access
            .retain(|_, a| !grants.contains(&a.grant) && a.session_id() != Some(session));
        Ok(gone(before, t.token_count()))
    }

    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
        let t = self.read();
        let of_session = clients_in_session(
            session,
            t.codes.values(),
            t.access.values(),
            t.refresh.values(),
        );
        // A set: each client once, however many codes and tokens it got.
        let clients: BTreeSet<&ClientId> = of_session.collect();
        Ok(clients.into_iter().cloned().collect())
    }
}

#[async_trait]
impl TokenAdmin for MemoryStore {
    async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
        Ok(self.write().remove_where(|c, _| c == client))
    }

    async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self.write().remove_where(|_, u| u == Some(user)))
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
        let mut t = self.write();
        let before = (t.codes.len(), t.access.len(), t.refresh.len());
        // Only what has expired. Used codes and rotated-out refresh tokens
        // stay until then, so replays are still detected.
        t.codes.retain(|_, c| c.expires_at > now);
        t.access.retain(|_, a| a.expires_at > now);
        t.refresh.retain(|_, r| r.expires_at > now);
        // Suspended authorization requests nobody resumed.
        t.requests.retain(|_, r| r.expires_at > now);
        // Device authorizations, redeemed or not.
        t.purge_devices(now);
        Ok(PurgeCounts {
            codes: gone(before.0, t.codes.len()),
            access_tokens: gone(before.1, t.access.len()),
            refresh_tokens: gone(before.2, t.refresh.len()),
        })
    }
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        Ok(self
            .read()
            .consents
            .get(&(user.clone(), client.clone()))
            .cloned())
    }

    async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
        let mut t = self.write();
        let key = (consent.user.clone(), consent.client_id.clone());
        match t.consents.get_mut(&key) {
            Some(old) => {
                old.scope = old.scope.union(&consent.scope);
                old.granted_at = consent.granted_at;
            }
            None => {
                t.consents.insert(key, consent);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ConsentAdmin for MemoryStore {
    async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        Ok(self
            .read()
            .consents
            .values()
            .filter(|c| &c.user == user)
            .cloned()
            .collect())
    }

    async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        Ok(self
            .write()
            .consents
            .remove(&(user.clone(), client.clone()))
            .is_some())
    }
}

#[async_trait]
impl ReplayCache for MemoryStore {
    async fn first_use(
        &self,
        scope: &ReplayScope,
        id: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        // Check and insert under one lock: of concurrent callers, one wins.
        let mut t = self.write();
        let key = (scope.clone(), id.to_owned());
        if t.replays.contains_key(&key) {
            return Ok(false);
        }
        t.replays.insert(key, expires_at);
        Ok(true)
    }

    async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let before = t.replays.len();
        t.replays.retain(|_, expires| *expires > now);
        Ok(gone(before, t.replays.len()))
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn throttle_reserve(
        &self,
        keys: &[ThrottleKey],
        now: UnixTime,
        window_end: UnixTime,
    ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
        // Every key under one lock: one atomic step.
        let mut t = self.write();
        let fresh = ThrottleCount {
            attempts: 0,
            in_flight: 0,
        };
        Ok(keys
            .iter()
            .map(|key| {
                let entry = t.throttle.entry(*key).or_insert((window_end, fresh));
                if entry.0 <= now {
                    *entry = (window_end, fresh);
                }
                entry.1.attempts = entry.1.attempts.saturating_add(1);
                entry.1.in_flight = entry.1.in_flight.saturating_add(1);
                (*key, entry.1)
            })
            .collect())
    }

    async fn throttle_counts(
        &self,
        keys: &[ThrottleKey],
        now: UnixTime,
    ) -> Result<Vec<(ThrottleKey, ThrottleCount)>, StoreError> {
        let t = self.read();
        Ok(keys
            .iter()
            .filter_map(|key| {
                t.throttle
                    .get(key)
                    .filter(|(end, _)| now < *end)
                    .map(|(_, count)| (*key, *count))
            })
            .collect())
    }

    async fn throttle_release(&self, keys: &[ThrottleKey], failed: bool) -> Result<(), StoreError> {
        let mut t = self.write();
        for key in keys {
            if let Some((_, count)) = t.throttle.get_mut(key) {
                count.in_flight = count.in_flight.saturating_sub(1);
                if !failed {
                    count.attempts = count.attempts.saturating_sub(1);
                }
            }
        }
        Ok(())
    }

    async fn throttle_known(
        &self,
        pair: &ThrottleKey,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError> {
        Ok(self
            .read()
            .throttle_known
            .get(pair)
            .copied()
            .filter(|until| now < *until))
    }

    async fn throttle_remember(
        &self,
        pair: &ThrottleKey,
        until: UnixTime,
    ) -> Result<(), StoreError> {
        self.write().throttle_known.insert(*pair, until);
        Ok(())
    }

    async fn purge_throttle(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let before = t.throttle.len() + t.throttle_known.len();
        t.throttle.retain(|_, (end, _)| *end > now);
        t.throttle_known.retain(|_, until| *until > now);
        Ok(gone(before, t.throttle.len() + t.throttle_known.len()))
    }
}

#[async_trait]
impl AuthorizationRequestStore for MemoryStore {
    async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
        let mut t = self.write();
        if t.requests.contains_key(&request.hash) {
            return Err(duplicate());
        }
        t.requests.insert(request.hash, request);
        Ok(())
    }

    async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
        // Removing is taking: of concurrent takers, one gets it.
        Ok(self.write().requests.remove(hash))
    }
}

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn insert_device(&self, record: DeviceRecord) -> Result<bool, StoreError> {
        let mut t = self.write();
        if t.devices.contains_key(&record.hash) || t.user_codes.contains_key(&record.user_code) {
            return Ok(false);
        }
        t.user_codes.insert(record.user_code, record.hash);
        t.devices.insert(record.hash, record);
        Ok(true)
    }

    async fn find_device(&self, hash: &TokenHash) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.read().devices.get(hash).cloned())
    }

    async fn find_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let t = self.read();
        Ok(t.user_codes
            .get(user_code)
            .and_then(|hash| t.devices.get(hash))
            .cloned())
    }

    async fn decide_device(
        &self,
        user_code: &TokenHash,
        decision: DeviceDecision,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // Check and change under one lock: of concurrent deciders, one wins.
        let mut t = self.write();
        let Some(hash) = t.user_codes.get(user_code).copied() else {
            return Ok(false);
        };
        let Some(d) = t.devices.get_mut(&hash) else {
            return Ok(false);
        };
        if d.state != DeviceState::Pending || d.expires_at <= now {
            return Ok(false);
        }
        d.state = match decision {
            DeviceDecision::Approve { subject, openid } => {
                DeviceState::Approved { subject, openid }
            }
            DeviceDecision::Deny => DeviceState::Denied,
        };
        Ok(true)
    }

    async fn poll_device(&self, hash: &TokenHash, now: UnixTime) -> Result<DevicePoll, StoreError> {
        let mut t = self.write();
        let Some(d) = t.devices.get_mut(hash) else {
            return Ok(DevicePoll::Unknown);
        };
        let too_soon = d.too_soon(now);
        *d = d.clone().polled(now);
        Ok(DevicePoll::Polled {
            record: d.clone(),
            too_soon,
        })
    }

    async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError> {
        // Check, store and change under one lock; `store` changes nothing
        // when it fails, so the record stays approved then.
        let mut t = self.write();
        if !t
            .devices
            .get(hash)
            .is_some_and(|d| matches!(d.state, DeviceState::Approved { .. }))
        {
            return Ok(false);
        }
        t.store(tokens)?;
        if let Some(d) = t.devices.get_mut(hash) {
            d.state = DeviceState::Redeemed;
        }
        Ok(true)
    }
}
