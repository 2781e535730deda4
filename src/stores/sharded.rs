//! `ShardedMemoryStore`: [`MemoryStore`] with its codes and tokens spread
//! over sixteen locks, for many cores issuing and validating tokens at once
//! (the benchmarks use it). Same contract, same conformance suite; read
//! `MemoryStore` to learn the contract, this file to see how far one
//! process can take it. Clients, consent, the replay cache and suspended
//! authorization requests are a `MemoryStore`'s.
//!
//! Codes and tokens live in sixteen shards, each behind its own lock, so
//! that issuing and validating tokens on several cores do not queue on one
//! lock. A code or token lives in the shard its hash selects; a grant's
//! index entry lives in the shard its id selects. A token that starts its own
//! grant (every `client_credentials` token) has its grant id derived from its
//! hash, so it and its grant share a shard: issuing, finding and revoking it
//! take one lock. A step that touches several shards (exchanging a code,
//! rotating a refresh token) takes their locks in ascending order; revoking a
//! grant, a client or a user, and purging, take them all. Every atomic step
//! therefore still runs with everything it reads or writes locked.
//!
//! Revocation wins (RB-05) for the same reason. A rotation or exchange holds
//! the shard of its old token or code and the shard of its grant's index
//! entry from its check to its last write; a revocation holds all sixteen
//! at once before it reads the index. So no step is half done while it
//! runs: a step that finished first has indexed what it stored, which the
//! revocation removes, and a step that starts after finds its token or
//! code gone. (Locks are taken in ascending order by both, so neither
//! waits for the other crosswise.) The hot paths take no extra lock.
//!
//! Keys are SHA-256 outputs, already uniform, so the maps hash them by taking
//! eight of their bytes instead of running SipHash, and the shard is chosen
//! by another of their bytes. Inserted keys are always hashes of our own
//! random tokens, so an attacker cannot cluster them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::oidc::SessionId;
use crate::scope::ScopeSet;
use crate::stores::tokens::clients_in_session;
use crate::stores::{
    AccessRecord, AuthorizationRequestStore, ClientAdmin, ClientStore, CodeRecord, Consent,
    ConsentAdmin, ConsentStore, Exchange, MemoryStore, NewTokens, PurgeCounts, RefreshRecord,
    Replacement, ReplayCache, ReplayScope, Rotation, Successor, SuspendedRequest, TokenAdmin,
    TokenStore,
};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

/// Number of token shards (a power of two).
const SHARDS: usize = 16;

/// A set of shards, one bit each.
type ShardSet = u32;

/// Hashes keys that are already uniformly random digests.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

type DigestMap<K, V> = HashMap<K, V, BuildHasherDefault<DigestHasher>>;

/// The shard of a 16-byte key (a grant id, or a hash's first half). Byte
/// 15: the maps hash by bytes 0..8, so shard and bucket are independent.
fn shard_of(key: &[u8; 16]) -> usize {
    let [.., last] = *key;
    usize::from(last) % SHARDS
}

fn grant_shard(grant: &GrantId) -> usize {
    shard_of(grant.as_bytes())
}

fn hash_shard(hash: &TokenHash) -> usize {
    grant_shard(&GrantId::derive(hash))
}

fn bit(shard: usize) -> ShardSet {
    1 << shard
}

/// A hash's second half (the first is the map key).
fn tail_of(hash: &TokenHash) -> [u8; 16] {
    let mut tail = [0u8; 16];
    tail.copy_from_slice(hash.as_bytes().get(16..).unwrap_or(&[0u8; 16]));
    tail
}

fn join(key: &GrantId, tail: &[u8; 16]) -> TokenHash {
    let mut bytes = [0u8; 32];
    let (head, rest) = bytes.split_at_mut(16);
    head.copy_from_slice(key.as_bytes());
    rest.copy_from_slice(tail);
    TokenHash::from_bytes(bytes)
}

/// An access token as most are kept: under the first half of its hash (the
/// map key), with the second half, and its times as 32-bit seconds (until
/// 2106): 72 bytes beside its key, against 160 for an `AccessRecord`. A
/// token that starts its own grant keeps no grant id (it is the key); one
/// that joins another grant keeps it beside ([`Joined`]). A token whose
/// times do not fit, whose key is taken, or which keeps OpenID Connect
/// facts, a DPoP binding or resources, is kept whole in `overflow`.
struct Compact {
    tail: [u8; 16],
    client_id: ClientId,
    subject: Option<UserId>,
    scope: ScopeSet,
    issued_at: u32,
    expires_at: u32,
}

/// A compact token of a grant that is not its own.
struct Joined {
    token: Compact,
    grant: GrantId,
}

impl Compact {
    /// The compact form and the grant, or the record back if its times do
    /// not fit or it keeps OpenID Connect facts (kept whole, in `overflow`:
    /// the compact form stays small for the many tokens without them).
    // The record comes back whole, to be kept in `overflow`: a move of a
    // value the caller owns anyway, on the rare path (issue 17 made the
    // record pass the lint's 128 bytes).
    #[allow(clippy::result_large_err)]
    fn new(r: AccessRecord) -> Result<(Self, GrantId), AccessRecord> {
        // DPoP bindings and resource indicators (RFC 8707) are rare too:
        // such a token is kept whole.
        if r.openid.is_some() || r.dpop_jkt.is_some() || !r.resources.is_empty() || r.act.is_some()
        {
            return Err(r);
        }
        match (
            u32::try_from(r.issued_at.as_secs()),
            u32::try_from(r.expires_at.as_secs()),
        ) {
            (Ok(issued_at), Ok(expires_at)) => Ok((
                Self {
                    tail: tail_of(&r.hash),
                    client_id: r.client_id,
                    subject: r.subject,
                    scope: r.scope,
                    issued_at,
                    expires_at,
                },
                r.grant,
            )),
            _ => Err(r),
        }
    }

    fn record(&self, key: &GrantId, grant: GrantId) -> AccessRecord {
        AccessRecord {
            hash: join(key, &self.tail),
            grant,
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            scope: self.scope.clone(),
            issued_at: UnixTime::from_secs(u64::from(self.issued_at)),
            expires_at: self.expires_at(),
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        }
    }

    fn expires_at(&self) -> UnixTime {
        UnixTime::from_secs(u64::from(self.expires_at))
    }
}

#[derive(Clone, Copy)]
enum Member {
    Code(TokenHash),
    Access(TokenHash),
    Refresh(TokenHash),
}

/// One shard's codes and tokens, and its part of the grant index.
///
/// Access tokens are keyed by the first 16 bytes of their hash, which is
/// what [`GrantId::derive`] takes: a token that starts its own grant (every
/// `client_credentials` token, a `password` token without a refresh token)
/// sits in `own` under its grant's id, so such a grant needs no entry in
/// `grants` and `revoke_grant` still finds its token with one lookup. Other
/// tokens sit in `joined`, with their grant. Entries keep the second half of
/// the hash, which every lookup compares. A token whose 16-byte prefix is
/// already taken by another, or whose times do not fit the compact form,
/// goes to `overflow`, keyed by its full hash, and is indexed.
///
/// `grants` lists the members of every other grant whose id selects this
/// shard: those with a code or a refresh token, or whose id is not derived
/// from their access token. Members may live in other shards.
#[derive(Default)]
struct Tokens {
    codes: DigestMap<TokenHash, CodeRecord>,
    own: DigestMap<GrantId, Compact>,
    joined: DigestMap<GrantId, Joined>,
    overflow: DigestMap<TokenHash, AccessRecord>,
    refresh: DigestMap<TokenHash, RefreshRecord>,
    grants: DigestMap<GrantId, Vec<Member>>,
}

impl Tokens {
    /// The compact token with this key and tail, and its grant. The larger
    /// of the two maps is probed first, so that most lookups take one probe.
    fn compact(&self, key: &GrantId, tail: &[u8; 16]) -> Option<(&Compact, GrantId)> {
        let own = || {
            self.own
                .get(key)
                .filter(|c| c.tail == *tail)
                .map(|c| (c, *key))
        };
        let joined = || {
            self.joined
                .get(key)
                .filter(|j| j.token.tail == *tail)
                .map(|j| (&j.token, j.grant))
        };
        if self.joined.len() > self.own.len() {
            joined().or_else(own)
        } else {
            own().or_else(joined)
        }
    }

    fn find_access(&self, hash: &TokenHash) -> Option<AccessRecord> {
        let key = GrantId::derive(hash);
        match self.compact(&key, &tail_of(hash)) {
            Some((c, grant)) => Some(c.record(&key, grant)),
            None if self.overflow.is_empty() => None,
            None => self.overflow.get(hash).cloned(),
        }
    }

    fn has_access(&self, hash: &TokenHash) -> bool {
        self.compact(&GrantId::derive(hash), &tail_of(hash))
            .is_some()
            || (!self.overflow.is_empty() && self.overflow.contains_key(hash))
    }

    fn remove_access(&mut self, hash: &TokenHash) -> bool {
        let (key, tail) = (GrantId::derive(hash), tail_of(hash));
        if self.own.get(&key).is_some_and(|c| c.tail == tail) {
            return self.own.remove(&key).is_some();
        }
        if self.joined.get(&key).is_some_and(|j| j.token.tail == tail) {
            return self.joined.remove(&key).is_some();
        }
        self.overflow.remove(hash).is_some()
    }

    /// Whether a compact token holds this key (whatever its tail).
    fn key_taken(&self, key: &GrantId) -> bool {
        self.own.contains_key(key) || self.joined.contains_key(key)
    }

    fn access_count(&self) -> usize {
        self.own.len() + self.joined.len() + self.overflow.len()
    }

    fn index(&mut self, grant: GrantId, members: impl IntoIterator<Item = Member>) {
        self.grants.entry(grant).or_default().extend(members);
    }

    /// Stores a token that starts its own grant and has no refresh token:
    /// one shard, one probe in the usual case. Changes nothing on a
    /// duplicate.
    fn store_alone(&mut self, access: AccessRecord) -> Result<(), StoreError> {
        let hash = access.hash;
        let key = GrantId::derive(&hash);
        if !self.overflow.is_empty() && self.overflow.contains_key(&hash) {
            return Err(duplicate());
        }
        let tail = tail_of(&hash);
        if !self.joined.is_empty() && self.joined.contains_key(&key) {
            if self.joined.get(&key).is_some_and(|j| j.token.tail == tail) {
                return Err(duplicate());
            }
        } else {
            match self.own.entry(key) {
                Entry::Occupied(o) if o.get().tail == tail => return Err(duplicate()),
                Entry::Occupied(_) => {}
                Entry::Vacant(v) => match Compact::new(access) {
                    Ok((compact, _)) => {
                        v.insert(compact);
                        return Ok(());
                    }
                    Err(access) => {
                        self.overflow_insert(key, access);
                        return Ok(());
                    }
                },
            }
        }
        self.overflow_insert(key, access);
        Ok(())
    }

    /// Keeps a token whole; `revoke_grant` finds it through the index.
    fn overflow_insert(&mut self, grant: GrantId, access: AccessRecord) {
        self.index(grant, [Member::Access(access.hash)]);
        self.overflow.insert(access.hash, access);
    }
}

/// One shard, on its own cache lines so that two cores working on two
/// shards do not share a line.
#[repr(align(128))]
#[derive(Default)]
struct Shard(RwLock<Tokens>);

// A panic while holding a lock cannot leave the maps half-written (every
// mutation is a single map operation or guarded by a prior check), so a
// poisoned lock is safe to keep using.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The write locks of some shards, taken in ascending order.
struct Locked<'a>([Option<RwLockWriteGuard<'a, Tokens>>; SHARDS]);

impl Locked<'_> {
    fn tokens(&mut self, shard: usize) -> Result<&mut Tokens, StoreError> {
        self.0
            .get_mut(shard)
            .and_then(Option::as_deref_mut)
            .ok_or(StoreError::msg("memory store: shard not locked"))
    }

    fn all(&mut self) -> impl Iterator<Item = &mut Tokens> {
        self.0.iter_mut().filter_map(Option::as_deref_mut)
    }

    fn has_access(&mut self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.tokens(hash_shard(hash))?.has_access(hash))
    }

    fn remove_access(&mut self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.tokens(hash_shard(hash))?.remove_access(hash))
    }

    /// Stores `tokens`, or changes nothing and reports a duplicate hash. The
    /// shards of [`shards_of`] must be locked.
    fn store(&mut self, tokens: NewTokens) -> Result<(), StoreError> {
        let NewTokens { access, refresh } = tokens;
        let (hash, grant) = (access.hash, access.grant);
        let key = GrantId::derive(&hash);
        if refresh.is_none() && grant == key {
            return self.tokens(hash_shard(&hash))?.store_alone(access);
        }
        // Every check first: a failure changes nothing.
        if self.has_access(&hash)? {
            return Err(duplicate());
        }
        if let Some(r) = &refresh {
            if self
                .tokens(hash_shard(&r.hash))?
                .refresh
                .contains_key(&r.hash)
            {
                return Err(duplicate());
            }
        }
        let mut members = vec![Member::Access(hash)];
        if let Some(r) = &refresh {
            members.push(Member::Refresh(r.hash));
        }
        self.tokens(grant_shard(&grant))?.index(grant, members);
        let t = self.tokens(hash_shard(&hash))?;
        if t.key_taken(&key) {
            t.overflow.insert(hash, access);
        } else {
            match Compact::new(access) {
                Ok((token, grant)) => {
                    t.joined.insert(key, Joined { token, grant });
                }
                Err(access) => {
                    t.overflow.insert(hash, access);
                }
            }
        }
        if let Some(r) = refresh {
            self.tokens(hash_shard(&r.hash))?.refresh.insert(r.hash, r);
        }
        Ok(())
    }

    /// Revokes a grant: every member in the index, and the token that
    /// started the grant on its own, if any. Every shard must be locked.
    fn revoke_grant(&mut self, grant: &GrantId) -> Result<u64, StoreError> {
        let home = grant_shard(grant);
        let mut n = 0;
        let members = self.tokens(home)?.grants.remove(grant).unwrap_or_default();
        for m in members {
            let removed = match m {
                Member::Code(h) => self.tokens(hash_shard(&h))?.codes.remove(&h).is_some(),
                Member::Access(h) => self.remove_access(&h)?,
                Member::Refresh(h) => self.tokens(hash_shard(&h))?.refresh.remove(&h).is_some(),
            };
            n += u64::from(removed);
        }
        n += u64::from(self.tokens(home)?.own.remove(grant).is_some());
        Ok(n)
    }

    /// Revokes every grant with a code or token that `hit` matches, and
    /// returns how many codes and tokens went. Every shard must be locked.
    fn revoke_where(
        &mut self,
        hit: impl Fn(&ClientId, Option<&UserId>) -> bool,
    ) -> Result<u64, StoreError> {
        let mut grants: Vec<GrantId> = Vec::new();
        for t in self.all() {
            grants.extend(
                t.codes
                    .values()
                    .filter(|c| hit(&c.client_id, Some(&c.subject)))
                    .map(|c| c.grant),
            );
            grants.extend(
                t.overflow
                    .values()
                    .filter(|a| hit(&a.client_id, a.subject.as_ref()))
                    .map(|a| a.grant),
            );
            grants.extend(
                t.refresh
                    .values()
                    .filter(|r| hit(&r.client_id, r.subject.as_ref()))
                    .map(|r| r.grant),
            );
        }
        // Matching compact access tokens go in this pass; a grant with other
        // members (an index entry, perhaps in another shard) is revoked on
        // top.
        let mut member_of = Vec::new();
        let mut direct = 0;
        for t in self.all() {
            let before = t.own.len() + t.joined.len();
            t.own.retain(|key, c| {
                if !hit(&c.client_id, c.subject.as_ref()) {
                    return true;
                }
                member_of.push(*key);
                false
            });
            t.joined.retain(|_, j| {
                if !hit(&j.token.client_id, j.token.subject.as_ref()) {
                    return true;
                }
                member_of.push(j.grant);
                false
            });
            direct += (before - t.own.len() - t.joined.len()) as u64;
        }
        for g in member_of {
            if self.tokens(grant_shard(&g))?.grants.contains_key(&g) {
                grants.push(g);
            }
        }
        grants.sort_unstable();
        grants.dedup();
        let mut n = direct;
        for g in &grants {
            n += self.revoke_grant(g)?;
        }
        Ok(n)
    }
}

impl Locked<'_> {
    /// [`TokenStore::revoke_session`]: the grants that end with the session
    /// whole, then the session's other access tokens. Every shard must be
    /// locked. Access tokens with OpenID Connect facts are never compact,
    /// so they all sit in `overflow`.
    fn revoke_session(&mut self, session: &SessionId) -> Result<u64, StoreError> {
        let mut grants: Vec<GrantId> = Vec::new();
        for t in self.all() {
            grants.extend(
                t.codes
                    .values()
                    .filter(|c| c.session_id() == Some(session) && !c.outlives_session())
                    .map(|c| c.grant),
            );
            grants.extend(
                t.refresh
                    .values()
                    .filter(|r| r.session_id() == Some(session) && !r.outlives_session())
                    .map(|r| r.grant),
            );
        }
        grants.sort_unstable();
        grants.dedup();
        let mut n = 0;
        for g in &grants {
            n += self.revoke_grant(g)?;
        }
        // Their index entries stay until `purge_expired` prunes them, as
        // after `revoke_access`.
        for t in self.all() {
            let before = t.overflow.len();
            t.overflow.retain(|_, a| a.session_id() != Some(session));
            n += (before - t.overflow.len()) as u64;
        }
        Ok(n)
    }
}

/// The shards a `store` of `tokens` writes to.
fn shards_of(tokens: &NewTokens) -> ShardSet {
    let mut set = bit(hash_shard(&tokens.access.hash)) | bit(grant_shard(&tokens.access.grant));
    if let Some(r) = &tokens.refresh {
        set |= bit(hash_shard(&r.hash));
    }
    set
}

struct Inner {
    shards: [Shard; SHARDS],
    /// Clients, consent, the replay cache and suspended requests.
    rest: MemoryStore,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Shard::default()),
            rest: MemoryStore::new(),
        }
    }
}

/// [`MemoryStore`] with codes and tokens in sixteen shards: the same
/// traits and contract, for many cores at once. Cheap to clone (shared
/// state).
///
/// ```
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// use portcullis::ClientAdmin;
/// use portcullis::stores::ShardedMemoryStore;
/// let store = ShardedMemoryStore::new();
/// assert!(store.clients().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ShardedMemoryStore(Arc<Inner>);

impl std::fmt::Debug for ShardedMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShardedMemoryStore")
    }
}

impl ShardedMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (stored) access tokens.
    pub fn access_token_count(&self) -> usize {
        self.0
            .shards
            .iter()
            .map(|s| read(&s.0).access_count())
            .sum()
    }

    fn shard(&self, index: usize) -> Result<&RwLock<Tokens>, StoreError> {
        self.0
            .shards
            .get(index)
            .map(|s| &s.0)
            .ok_or(StoreError::msg("memory store: no such shard"))
    }

    /// The shard that holds `hash`, for reading.
    fn reading(&self, hash: &TokenHash) -> Result<RwLockReadGuard<'_, Tokens>, StoreError> {
        Ok(read(self.shard(hash_shard(hash))?))
    }

    /// Write locks on the shards of `set`, in ascending order (so that two
    /// callers never wait for each other crosswise).
    fn lock(&self, set: ShardSet) -> Locked<'_> {
        let mut shards = self.0.shards.iter().enumerate();
        Locked(std::array::from_fn(|_| {
            shards
                .next()
                .and_then(|(i, s)| (set & bit(i) != 0).then(|| write(&s.0)))
        }))
    }

    fn lock_all(&self) -> Locked<'_> {
        self.lock(ShardSet::MAX)
    }
}

fn duplicate() -> StoreError {
    StoreError::msg("duplicate key")
}

#[async_trait]
impl ClientStore for ShardedMemoryStore {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.0.rest.client_now(id))
    }

    async fn cors_origin_registered(
        &self,
        origin: &crate::origin::Origin,
    ) -> Result<bool, StoreError> {
        Ok(self.0.rest.cors_origin_now(origin))
    }
}

#[async_trait]
impl ClientAdmin for ShardedMemoryStore {
    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        self.0.rest.insert_client(client).await
    }

    async fn update_client(&self, client: Client) -> Result<bool, StoreError> {
        self.0.rest.update_client(client).await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        self.0.rest.delete_client(id).await
    }

    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        self.0.rest.clients().await
    }
}

#[async_trait]
impl TokenStore for ShardedMemoryStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        let (home, index) = (hash_shard(&code.hash), grant_shard(&code.grant));
        let mut locked = self.lock(bit(home) | bit(index));
        if locked.tokens(home)?.codes.contains_key(&code.hash) {
            return Err(duplicate());
        }
        locked
            .tokens(index)?
            .index(code.grant, [Member::Code(code.hash)]);
        locked.tokens(home)?.codes.insert(code.hash, code);
        Ok(())
    }

    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        Ok(self.reading(hash)?.codes.get(hash).cloned())
    }

    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        let home = hash_shard(hash);
        let mut locked = self.lock(bit(home) | shards_of(&tokens));
        let Some(code) = locked.tokens(home)?.codes.get(hash) else {
            return Ok(Exchange::Unknown);
        };
        if code.used {
            return Ok(Exchange::AlreadyUsed(code.grant));
        }
        // `store` changes nothing on error, so the code stays unused then.
        locked.store(tokens)?;
        if let Some(code) = locked.tokens(home)?.codes.get_mut(hash) {
            code.used = true;
        }
        Ok(Exchange::Issued)
    }

    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        let (hash, grant) = (tokens.access.hash, tokens.access.grant);
        if tokens.refresh.is_none() && grant == GrantId::derive(&hash) {
            // The common case: one shard, one lock.
            return write(self.shard(hash_shard(&hash))?).store_alone(tokens.access);
        }
        self.lock(shards_of(&tokens)).store(tokens)
    }

    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        Ok(self.reading(hash)?.find_access(hash))
    }

    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.reading(hash)?.refresh.get(hash).cloned())
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        let home = hash_shard(old);
        let mut locked = self.lock(bit(home) | shards_of(&new));
        let Some(r) = locked.tokens(home)?.refresh.get(old) else {
            return Ok(Rotation::Unknown);
        };
        if r.used {
            return Ok(Rotation::Replayed(r.grant));
        }
        let successor = Successor::of(&new);
        locked.store(new)?;
        if let Some(r) = locked.tokens(home)?.refresh.get_mut(old) {
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
        // Rare (a retry within the window): every shard, as a revocation
        // takes them, so the shards of the successor's access token need
        // not be known before the lock.
        let mut locked = self.lock_all();
        let (home, next) = (hash_shard(old), hash_shard(successor));
        let (grant, current) = match locked.tokens(home)?.refresh.get(old) {
            None => return Ok(Replacement::Unknown),
            Some(r) => match r.successor {
                Some(s) if s.refresh == *successor => (r.grant, s),
                _ => return Ok(Replacement::Superseded),
            },
        };
        match locked.tokens(next)?.refresh.get(successor) {
            Some(s) if !s.used => {}
            _ => return Ok(Replacement::Replayed(grant)),
        }
        let Some(replaced) = current.replaced_by(&new) else {
            return Err(StoreError::msg("a retry must issue a refresh token"));
        };
        locked.store(new)?;
        // Its index entry stays until `purge_expired` prunes it, as after
        // `revoke_access`.
        locked.remove_access(&current.access)?;
        if let Some(s) = locked.tokens(next)?.refresh.get_mut(successor) {
            s.used = true;
        }
        if let Some(r) = locked.tokens(home)?.refresh.get_mut(old) {
            r.successor = Some(replaced);
        }
        Ok(Replacement::Replaced)
    }

    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        write(self.shard(hash_shard(hash))?).remove_access(hash);
        Ok(())
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.lock_all().revoke_grant(grant)?;
        Ok(())
    }

    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
        self.lock_all().revoke_session(session)
    }

    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
        // One shard at a time: a read needs no snapshot across shards (no
        // record moves between them). Access tokens with OpenID Connect
        // facts are never compact, so they all sit in `overflow`.
        let mut clients: BTreeSet<ClientId> = BTreeSet::new();
        for shard in &self.0.shards {
            let t = read(&shard.0);
            let of_session = clients_in_session(
                session,
                t.codes.values(),
                t.overflow.values(),
                t.refresh.values(),
            );
            clients.extend(of_session.cloned());
        }
        Ok(clients.into_iter().collect())
    }
}

#[async_trait]
impl TokenAdmin for ShardedMemoryStore {
    async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
        self.lock_all().revoke_where(|c, _| c == client)
    }

    async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
        self.lock_all().revoke_where(|_, u| u == Some(user))
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
        self.0.rest.purge_requests(now);
        let mut locked = self.lock_all();
        let mut counts = PurgeCounts::default();
        for t in locked.all() {
            let (c, a, r) = (t.codes.len(), t.access_count(), t.refresh.len());
            t.codes.retain(|_, v| v.expires_at > now);
            t.own.retain(|_, v| v.expires_at() > now);
            t.joined.retain(|_, v| v.token.expires_at() > now);
            t.overflow.retain(|_, v| v.expires_at > now);
            t.refresh.retain(|_, v| v.expires_at > now);
            let gone = |before: usize, after: usize| (before - after) as u64;
            counts.codes += gone(c, t.codes.len());
            counts.access_tokens += gone(a, t.access_count());
            counts.refresh_tokens += gone(r, t.refresh.len());
        }
        // Index entries: members may live in any shard, so take the index
        // out of every shard, prune it against all of them, and put it back.
        let mut index: Vec<DigestMap<GrantId, Vec<Member>>> = locked
            .all()
            .map(|t| std::mem::take(&mut t.grants))
            .collect();
        for grants in &mut index {
            let mut keep = Vec::with_capacity(grants.len());
            for (grant, mut members) in grants.drain() {
                let mut live = Vec::with_capacity(members.len());
                for m in members.drain(..) {
                    let alive = match m {
                        Member::Code(h) => locked.tokens(hash_shard(&h))?.codes.contains_key(&h),
                        Member::Access(h) => locked.has_access(&h)?,
                        Member::Refresh(h) => {
                            locked.tokens(hash_shard(&h))?.refresh.contains_key(&h)
                        }
                    };
                    if alive {
                        live.push(m);
                    }
                }
                if !live.is_empty() {
                    keep.push((grant, live));
                }
            }
            grants.extend(keep);
        }
        for (t, grants) in locked.all().zip(index) {
            t.grants = grants;
        }
        Ok(counts)
    }
}

#[async_trait]
impl ConsentStore for ShardedMemoryStore {
    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        self.0.rest.consent(user, client).await
    }

    async fn grant_consent(&self, consent: Consent) -> Result<(), StoreError> {
        self.0.rest.grant_consent(consent).await
    }
}

#[async_trait]
impl ConsentAdmin for ShardedMemoryStore {
    async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        self.0.rest.consents(user).await
    }

    async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        self.0.rest.revoke_consent(user, client).await
    }
}

#[async_trait]
impl ReplayCache for ShardedMemoryStore {
    async fn first_use(
        &self,
        scope: &ReplayScope,
        id: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.0.rest.first_use(scope, id, expires_at).await
    }

    async fn purge_replays(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.0.rest.purge_replays(now).await
    }
}

/// Device authorizations are few and short-lived: they stay with the
/// clients and consent, under one lock; a redemption also holds the
/// shards of the tokens it stores.
#[async_trait]
impl crate::stores::DeviceStore for ShardedMemoryStore {
    async fn insert_device(&self, record: crate::stores::DeviceRecord) -> Result<bool, StoreError> {
        self.0.rest.insert_device(record).await
    }

    async fn find_device(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<crate::stores::DeviceRecord>, StoreError> {
        self.0.rest.find_device(hash).await
    }

    async fn find_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<crate::stores::DeviceRecord>, StoreError> {
        self.0.rest.find_user_code(user_code).await
    }

    async fn decide_device(
        &self,
        user_code: &TokenHash,
        decision: crate::stores::DeviceDecision,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.0.rest.decide_device(user_code, decision, now).await
    }

    async fn poll_device(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<crate::stores::DevicePoll, StoreError> {
        self.0.rest.poll_device(hash, now).await
    }

    async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError> {
        // The tokens' shards first, then the record's lock (the order every
        // step takes them in; nothing holds `rest` while it waits for a
        // shard): the check, the token writes and the state change happen
        // with both held, so no other redemption, poll or revocation comes
        // in between.
        let mut locked = self.lock(shards_of(&tokens));
        self.0
            .rest
            .redeem_device_with(hash, || locked.store(tokens))
    }
}

#[async_trait]
impl AuthorizationRequestStore for ShardedMemoryStore {
    async fn insert_request(&self, request: SuspendedRequest) -> Result<(), StoreError> {
        self.0.rest.insert_request(request).await
    }

    async fn take_request(&self, hash: &TokenHash) -> Result<Option<SuspendedRequest>, StoreError> {
        self.0.rest.take_request(hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOW: UnixTime = UnixTime::from_secs(1_000);

    /// A hash whose first 16 bytes are `prefix` (so its shard is
    /// `prefix % SHARDS`) and last 16 `tail`.
    fn hash(prefix: u8, tail: u8) -> TokenHash {
        let mut b = [tail; 32];
        b[..16].fill(prefix);
        TokenHash::from_bytes(b)
    }

    fn client(name: &str) -> ClientId {
        ClientId::parse(name).unwrap()
    }

    fn access(hash: TokenHash, grant: GrantId, client_id: &str, life: u64) -> AccessRecord {
        AccessRecord {
            hash,
            grant,
            client_id: client(client_id),
            subject: UserId::parse("u"),
            scope: ScopeSet::parse("a").unwrap(),
            issued_at: NOW,
            expires_at: NOW.plus(Duration::from_secs(life)),
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        }
    }

    fn refresh(hash: TokenHash, grant: GrantId) -> RefreshRecord {
        RefreshRecord {
            hash,
            grant,
            client_id: client("c"),
            subject: UserId::parse("u"),
            scope: ScopeSet::parse("a").unwrap(),
            issued_at: NOW,
            expires_at: NOW.plus(Duration::from_secs(100)),
            used: false,
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            successor: None,
        }
    }

    /// A token that starts its own grant, as client_credentials issues it.
    fn alone(hash: TokenHash, client_id: &str) -> NewTokens {
        NewTokens {
            access: access(hash, GrantId::derive(&hash), client_id, 100),
            refresh: None,
        }
    }

    /// Runs a future that never waits (the memory store's never do).
    fn run_now<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the memory store never waits"),
        }
    }

    fn index_len(store: &ShardedMemoryStore) -> usize {
        store.lock_all().all().map(|t| t.grants.len()).sum()
    }

    fn overflow_len(store: &ShardedMemoryStore) -> usize {
        store.lock_all().all().map(|t| t.overflow.len()).sum()
    }

    fn found(store: &ShardedMemoryStore, h: TokenHash) -> Option<TokenHash> {
        run_now(store.find_access(&h)).unwrap().map(|a| a.hash)
    }

    #[test]
    fn a_token_alone_in_its_grant_has_no_index_entry_and_is_revocable() {
        let store = ShardedMemoryStore::new();
        let h = hash(1, 1);
        let tokens = alone(h, "c");
        run_now(store.issue(tokens.clone())).unwrap();
        assert_eq!(index_len(&store), 0);
        assert_eq!(overflow_len(&store), 0);
        assert_eq!(run_now(store.find_access(&h)).unwrap(), Some(tokens.access));
        assert!(run_now(store.issue(alone(h, "c"))).is_err(), "duplicate");
        assert_eq!(
            store.lock_all().revoke_grant(&GrantId::derive(&h)).unwrap(),
            1
        );
        assert!(found(&store, h).is_none());
        assert_eq!(
            store.lock_all().revoke_grant(&GrantId::derive(&h)).unwrap(),
            0
        );
    }

    #[test]
    fn tokens_sharing_a_prefix_are_kept_apart() {
        let store = ShardedMemoryStore::new();
        let (first, second, third) = (hash(7, 1), hash(7, 2), hash(7, 3));
        run_now(store.issue(alone(first, "c"))).unwrap();
        // Same 16-byte prefix, different hash: stored whole in overflow,
        // indexed under its grant (which is `first`'s, derived from the same
        // bytes).
        run_now(store.issue(alone(second, "c"))).unwrap();
        assert_eq!(store.access_token_count(), 2);
        assert_eq!(overflow_len(&store), 1);
        assert!(
            run_now(store.issue(alone(second, "c"))).is_err(),
            "duplicate in overflow"
        );
        assert!(found(&store, third).is_none());
        for h in [first, second] {
            assert_eq!(found(&store, h), Some(h));
        }
        // Removing the first frees its slot; the second stays findable and
        // a repeat of it is still a duplicate.
        run_now(store.revoke_access(&first)).unwrap();
        assert!(found(&store, first).is_none());
        assert_eq!(found(&store, second), Some(second));
        assert!(run_now(store.issue(alone(second, "c"))).is_err());
        run_now(store.issue(alone(third, "c"))).unwrap();
        assert_eq!(
            store
                .lock_all()
                .revoke_grant(&GrantId::derive(&first))
                .unwrap(),
            2
        );
        assert_eq!(store.access_token_count(), 0);
    }

    #[test]
    fn times_past_2106_are_kept_whole() {
        let store = ShardedMemoryStore::new();
        let h = hash(3, 3);
        let mut tokens = alone(h, "c");
        tokens.access.expires_at = UnixTime::from_secs(u64::MAX);
        run_now(store.issue(tokens.clone())).unwrap();
        assert_eq!(overflow_len(&store), 1);
        assert_eq!(run_now(store.find_access(&h)).unwrap(), Some(tokens.access));
        run_now(store.revoke_grant(&GrantId::derive(&h))).unwrap();
        assert!(found(&store, h).is_none());
    }

    #[test]
    fn grants_spanning_shards_are_indexed_and_revoked_whole() {
        let store = ShardedMemoryStore::new();
        let grant = GrantId::derive(&hash(9, 9));
        // Two access tokens of one grant in two other shards, no refresh.
        for h in [hash(1, 0), hash(2, 0)] {
            run_now(store.issue(NewTokens {
                access: access(h, grant, "c", 100),
                refresh: None,
            }))
            .unwrap();
        }
        // A token alone in a grant with that id's own derivation joins it
        // without an index entry; revoking the grant still takes it.
        run_now(store.issue(alone(hash(9, 9), "c"))).unwrap();
        // A token with a refresh token in a third shard.
        let (ah, rh) = (hash(3, 0), hash(4, 0));
        run_now(store.issue(NewTokens {
            access: access(ah, GrantId::derive(&ah), "c", 100),
            refresh: Some(refresh(rh, GrantId::derive(&ah))),
        }))
        .unwrap();
        // A refresh clash changes nothing.
        let clash = hash(5, 0);
        assert!(
            run_now(store.issue(NewTokens {
                access: access(clash, GrantId::derive(&clash), "c", 100),
                refresh: Some(refresh(rh, GrantId::derive(&clash))),
            }))
            .is_err()
        );
        assert!(found(&store, clash).is_none());
        assert_eq!(store.lock_all().revoke_grant(&grant).unwrap(), 3);
        assert_eq!(store.access_token_count(), 1);
        assert_eq!(
            store
                .lock_all()
                .revoke_grant(&GrantId::derive(&ah))
                .unwrap(),
            2
        );
        assert_eq!(store.access_token_count(), 0);
        assert!(run_now(store.find_refresh(&rh)).unwrap().is_none());
    }

    #[test]
    fn exchange_and_rotation_across_shards() {
        let store = ShardedMemoryStore::new();
        let code_hash = hash(10, 1);
        let grant = GrantId::derive(&code_hash);
        run_now(store.insert_code(CodeRecord {
            hash: code_hash,
            grant,
            client_id: client("c"),
            subject: UserId::parse("u").unwrap(),
            scope: ScopeSet::parse("a").unwrap(),
            redirect_uri: None,
            challenge: None,
            issued_at: NOW,
            expires_at: NOW.plus(Duration::from_secs(60)),
            used: false,
            openid: None,
            resources: Vec::new(),
            dpop_jkt: None,
        }))
        .unwrap();
        let (ah, rh) = (hash(11, 1), hash(12, 1));
        let first = NewTokens {
            access: access(ah, grant, "c", 100),
            refresh: Some(refresh(rh, grant)),
        };
        assert_eq!(
            run_now(store.exchange_code(&code_hash, first.clone())).unwrap(),
            Exchange::Issued
        );
        assert_eq!(
            run_now(store.exchange_code(&code_hash, first)).unwrap(),
            Exchange::AlreadyUsed(grant)
        );
        let (ah2, rh2) = (hash(13, 1), hash(14, 1));
        let next = NewTokens {
            access: access(ah2, grant, "c", 100),
            refresh: Some(refresh(rh2, grant)),
        };
        assert_eq!(
            run_now(store.rotate_refresh(&rh, next.clone())).unwrap(),
            Rotation::Rotated
        );
        assert_eq!(
            run_now(store.rotate_refresh(&rh, next)).unwrap(),
            Rotation::Replayed(grant)
        );
        // The code, both access tokens and both refresh tokens.
        assert_eq!(store.lock_all().revoke_grant(&grant).unwrap(), 5);
        assert_eq!(store.access_token_count(), 0);
    }

    #[test]
    fn revoking_by_client_reaches_every_kind_of_entry() {
        let store = ShardedMemoryStore::new();
        run_now(store.issue(alone(hash(1, 0), "gone"))).unwrap();
        run_now(store.issue(alone(hash(1, 1), "gone"))).unwrap(); // overflow
        run_now(store.issue(alone(hash(2, 0), "kept"))).unwrap();
        let (ah, rh) = (hash(3, 0), hash(4, 0));
        run_now(store.issue(NewTokens {
            access: access(ah, GrantId::derive(&ah), "gone", 100),
            refresh: Some(refresh(rh, GrantId::derive(&ah))),
        }))
        .unwrap();
        let n = run_now(store.revoke_client(&client("gone"))).unwrap();
        assert_eq!(n, 4);
        assert_eq!(store.access_token_count(), 1);
        assert!(run_now(store.find_refresh(&rh)).unwrap().is_none());
        assert!(found(&store, hash(2, 0)).is_some());
    }

    #[test]
    fn purging_drops_expired_tokens_and_empty_index_entries() {
        let store = ShardedMemoryStore::new();
        for (h, life) in [(hash(1, 0), 10), (hash(1, 1), 10), (hash(2, 0), 100)] {
            run_now(store.issue(NewTokens {
                access: access(h, GrantId::derive(&h), "c", life),
                refresh: None,
            }))
            .unwrap();
        }
        // A grant whose index lives in another shard than its tokens.
        let grant = GrantId::derive(&hash(5, 5));
        run_now(store.issue(NewTokens {
            access: access(hash(6, 0), grant, "c", 10),
            refresh: None,
        }))
        .unwrap();
        assert_eq!(index_len(&store), 2);
        let counts = run_now(store.purge_expired(NOW.plus(Duration::from_secs(50)))).unwrap();
        assert_eq!(counts.access_tokens, 3);
        assert_eq!(store.access_token_count(), 1);
        assert_eq!(index_len(&store), 0);
    }

    #[test]
    fn compact_entries_are_smaller_than_the_record() {
        // 120 bytes before issue 17's DPoP binding (a 16-byte
        // `Option<Box<str>>`) and resources (a 24-byte `Vec`); issue 18's
        // actor (`act`) is one pointer.
        assert_eq!(std::mem::size_of::<AccessRecord>(), 168);
        assert!(std::mem::size_of::<(GrantId, Compact)>() <= 88);
        assert!(std::mem::size_of::<(GrantId, Joined)>() <= 104);
    }
}
