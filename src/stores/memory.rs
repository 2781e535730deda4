//! `MemoryStore`: every store trait in process memory, safe under concurrent
//! use; and `MemoryUsers`, an in-memory `PasswordVerifier`.
//!
//! Atomic steps run under one write lock, so they are trivially exclusive.
//! Keys are SHA-256 outputs, already uniform, so the maps hash them by taking
//! eight of their bytes instead of running SipHash. Inserted keys are always
//! hashes of our own random tokens, so an attacker cannot cluster them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::client::{Client, ClientId, SecretHash};
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::grants::PasswordVerifier;
use crate::random::{RandomSource, SystemRandom};
use crate::secret::Secret;
use crate::stores::{
    AccessRecord, ClientStore, CodeRecord, Consent, ConsentStore, Exchange, NewTokens, PurgeCounts,
    RefreshRecord, Rotation, TokenStore,
};
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

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

#[derive(Clone, Copy)]
enum Member {
    Code(TokenHash),
    Access(TokenHash),
    Refresh(TokenHash),
}

/// Codes and tokens, and the grant index.
///
/// Access tokens are keyed by the first 16 bytes of their hash, which is
/// what [`GrantId::derive`] takes: a token that starts its own grant (every
/// `client_credentials` token, a `password` token without a refresh token)
/// sits under its grant's id, so such a grant needs no entry in `grants` and
/// `revoke_grant` still finds its token with one lookup. The record keeps the
/// full hash, which every lookup compares. A token whose 16-byte prefix is
/// already taken by another goes to `overflow`, keyed by its full hash.
///
/// `grants` lists the members of every other grant: those with a code or a
/// refresh token, or whose id is not derived from their access token.
#[derive(Default)]
struct Tokens {
    codes: DigestMap<TokenHash, CodeRecord>,
    access: DigestMap<GrantId, AccessRecord>,
    overflow: DigestMap<TokenHash, AccessRecord>,
    refresh: DigestMap<TokenHash, RefreshRecord>,
    grants: DigestMap<GrantId, Vec<Member>>,
}

impl Tokens {
    /// Stores `tokens`, or changes nothing and reports a duplicate hash.
    fn store(&mut self, tokens: NewTokens) -> Result<(), StoreError> {
        let NewTokens { access, refresh } = tokens;
        let (hash, grant) = (access.hash, access.grant);
        let key = GrantId::derive(&hash);
        if !self.overflow.is_empty() && self.overflow.contains_key(&hash) {
            return Err(duplicate());
        }
        // One probe finds both a duplicate and the slot to fill.
        let slot = match self.access.entry(key) {
            Entry::Occupied(o) if o.get().hash == hash => return Err(duplicate()),
            Entry::Occupied(_) => None,
            Entry::Vacant(v) => Some(v),
        };
        let refresh = match refresh {
            Some(r) => match self.refresh.entry(r.hash) {
                Entry::Occupied(_) => return Err(duplicate()),
                Entry::Vacant(v) => Some((v, r)),
            },
            None => None,
        };
        let alone = refresh.is_none() && grant == key && slot.is_some();
        if !alone {
            let members = self.grants.entry(grant).or_default();
            members.push(Member::Access(hash));
            if let Some((_, r)) = &refresh {
                members.push(Member::Refresh(r.hash));
            }
        }
        match slot {
            Some(v) => {
                v.insert(access);
            }
            None => {
                self.overflow.insert(hash, access);
            }
        }
        if let Some((v, r)) = refresh {
            v.insert(r);
        }
        Ok(())
    }

    fn find_access(&self, hash: &TokenHash) -> Option<&AccessRecord> {
        match self.access.get(&GrantId::derive(hash)) {
            Some(a) if a.hash == *hash => Some(a),
            _ if self.overflow.is_empty() => None,
            _ => self.overflow.get(hash),
        }
    }

    fn remove_access(&mut self, hash: &TokenHash) -> bool {
        let key = GrantId::derive(hash);
        if self.access.get(&key).is_some_and(|a| a.hash == *hash) {
            return self.access.remove(&key).is_some();
        }
        self.overflow.remove(hash).is_some()
    }

    fn access_count(&self) -> usize {
        self.access.len() + self.overflow.len()
    }

    fn revoke_grant(&mut self, grant: &GrantId) -> u64 {
        let mut n = 0;
        for m in self.grants.remove(grant).unwrap_or_default() {
            let removed = match m {
                Member::Code(h) => self.codes.remove(&h).is_some(),
                Member::Access(h) => self.remove_access(&h),
                Member::Refresh(h) => self.refresh.remove(&h).is_some(),
            };
            n += u64::from(removed);
        }
        // The token that started the grant on its own, if any.
        if self.access.get(grant).is_some_and(|a| a.grant == *grant) {
            n += u64::from(self.access.remove(grant).is_some());
        }
        n
    }

    /// Revokes every grant with a code or token that `hit` matches, and
    /// returns how many codes and tokens went.
    fn revoke_where(&mut self, mut hit: impl FnMut(&ClientId, Option<&UserId>) -> bool) -> u64 {
        let mut grants: Vec<GrantId> = Vec::new();
        grants.extend(
            self.codes
                .values()
                .filter(|c| hit(&c.client_id, Some(&c.subject)))
                .map(|c| c.grant),
        );
        grants.extend(
            self.overflow
                .values()
                .filter(|a| hit(&a.client_id, a.subject.as_ref()))
                .map(|a| a.grant),
        );
        grants.extend(
            self.refresh
                .values()
                .filter(|r| hit(&r.client_id, r.subject.as_ref()))
                .map(|r| r.grant),
        );
        // Matching access tokens go in this pass; only a grant with other
        // members (an index entry) needs revoking on top.
        let before = self.access.len();
        let index = &self.grants;
        self.access.retain(|_, a| {
            if !hit(&a.client_id, a.subject.as_ref()) {
                return true;
            }
            if index.contains_key(&a.grant) {
                grants.push(a.grant);
            }
            false
        });
        let direct = (before - self.access.len()) as u64;
        grants.sort_unstable();
        grants.dedup();
        direct + grants.iter().map(|g| self.revoke_grant(g)).sum::<u64>()
    }
}

#[derive(Default)]
struct State {
    clients: BTreeMap<ClientId, Arc<Client>>,
    tokens: Tokens,
    consents: BTreeMap<(UserId, ClientId), Consent>,
    /// Used client-assertion `jti`s and when they may be forgotten.
    assertion_jtis: HashMap<(ClientId, String), UnixTime>,
}

/// Every store trait in memory. Cheap to clone (shared state).
///
/// ```
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// use portcullis::{ClientStore, MemoryStore};
/// let store = MemoryStore::new();
/// assert!(store.list().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<RwLock<State>>);

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

    // A panic while holding the lock cannot leave the maps half-written
    // (every mutation is a single map operation or guarded by a prior
    // check), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of live (stored) access tokens.
    pub fn access_token_count(&self) -> usize {
        self.read().tokens.access_count()
    }
}

fn duplicate() -> StoreError {
    StoreError::msg("duplicate key")
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn find(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.read().clients.get(id).cloned())
    }

    async fn insert(&self, client: Client) -> Result<(), StoreError> {
        let mut s = self.write();
        if s.clients.contains_key(client.client_id()) {
            return Err(duplicate());
        }
        s.clients
            .insert(client.client_id().clone(), Arc::new(client));
        Ok(())
    }

    async fn update(&self, client: Client) -> Result<bool, StoreError> {
        let mut s = self.write();
        match s.clients.get_mut(client.client_id()) {
            Some(slot) => {
                *slot = Arc::new(client);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError> {
        Ok(self.write().clients.remove(id).is_some())
    }

    async fn list(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        Ok(self.read().clients.values().cloned().collect())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        let mut s = self.write();
        if s.tokens.codes.contains_key(&code.hash) {
            return Err(duplicate());
        }
        s.tokens
            .grants
            .entry(code.grant)
            .or_default()
            .push(Member::Code(code.hash));
        s.tokens.codes.insert(code.hash, code);
        Ok(())
    }

    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        Ok(self.read().tokens.codes.get(hash).cloned())
    }

    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        let mut s = self.write();
        let t = &mut s.tokens;
        let Some(code) = t.codes.get(hash) else {
            return Ok(Exchange::Unknown);
        };
        if code.used {
            return Ok(Exchange::AlreadyUsed(code.grant));
        }
        // `store` changes nothing on error, so the code stays unused then.
        t.store(tokens)?;
        if let Some(code) = t.codes.get_mut(hash) {
            code.used = true;
        }
        Ok(Exchange::Issued)
    }

    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        self.write().tokens.store(tokens)
    }

    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        Ok(self.read().tokens.find_access(hash).cloned())
    }

    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.read().tokens.refresh.get(hash).cloned())
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        let mut s = self.write();
        let t = &mut s.tokens;
        let Some(r) = t.refresh.get(old) else {
            return Ok(Rotation::Unknown);
        };
        if r.used {
            return Ok(Rotation::Replayed(r.grant));
        }
        t.store(new)?;
        if let Some(r) = t.refresh.get_mut(old) {
            r.used = true;
        }
        Ok(Rotation::Rotated)
    }

    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.write().tokens.remove_access(hash);
        Ok(())
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.write().tokens.revoke_grant(grant);
        Ok(())
    }

    async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError> {
        Ok(self.write().tokens.revoke_where(|c, _| c == client))
    }

    async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self.write().tokens.revoke_where(|_, u| u == Some(user)))
    }

    async fn use_assertion_jti(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut s = self.write();
        let key = (client.clone(), jti.to_owned());
        if s.assertion_jtis.contains_key(&key) {
            return Ok(false);
        }
        s.assertion_jtis.insert(key, expires_at);
        Ok(true)
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError> {
        let mut s = self.write();
        s.assertion_jtis.retain(|_, expires| *expires > now);
        let t = &mut s.tokens;
        let (c, a, r) = (t.codes.len(), t.access_count(), t.refresh.len());
        t.codes.retain(|_, v| v.expires_at > now);
        t.access.retain(|_, v| v.expires_at > now);
        t.overflow.retain(|_, v| v.expires_at > now);
        t.refresh.retain(|_, v| v.expires_at > now);
        let mut grants = std::mem::take(&mut t.grants);
        grants.retain(|_, members| {
            members.retain(|m| match m {
                Member::Code(h) => t.codes.contains_key(h),
                Member::Access(h) => t.find_access(h).is_some(),
                Member::Refresh(h) => t.refresh.contains_key(h),
            });
            !members.is_empty()
        });
        t.grants = grants;
        let gone = |before: usize, after: usize| (before - after) as u64;
        Ok(PurgeCounts {
            codes: gone(c, t.codes.len()),
            access_tokens: gone(a, t.access_count()),
            refresh_tokens: gone(r, t.refresh.len()),
        })
    }
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn find(&self, user: &UserId, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        Ok(self
            .read()
            .consents
            .get(&(user.clone(), client.clone()))
            .cloned())
    }

    async fn grant(&self, consent: Consent) -> Result<(), StoreError> {
        let mut s = self.write();
        let key = (consent.user.clone(), consent.client_id.clone());
        match s.consents.get_mut(&key) {
            Some(old) => {
                old.scope = old.scope.union(&consent.scope);
                old.granted_at = consent.granted_at;
            }
            None => {
                s.consents.insert(key, consent);
            }
        }
        Ok(())
    }

    async fn list(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        Ok(self
            .read()
            .consents
            .values()
            .filter(|c| &c.user == user)
            .cloned()
            .collect())
    }

    async fn revoke(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        Ok(self
            .write()
            .consents
            .remove(&(user.clone(), client.clone()))
            .is_some())
    }
}

/// Resource owners with PBKDF2-hashed passwords, in memory: a
/// [`PasswordVerifier`] for demos and tests.
pub struct MemoryUsers {
    users: RwLock<HashMap<String, (UserId, SecretHash)>>,
    iterations: NonZeroU32,
    random: Box<dyn RandomSource>,
    dummy: SecretHash,
}

impl std::fmt::Debug for MemoryUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryUsers")
    }
}

impl MemoryUsers {
    /// An empty user list hashing passwords with `iterations` rounds of
    /// PBKDF2 ([`crate::client::PBKDF2_DEFAULT_ITERATIONS`] in production).
    pub fn new(iterations: NonZeroU32) -> Result<Self, StoreError> {
        let random = SystemRandom::new();
        let dummy = SecretHash::pbkdf2("portcullis-no-such-user", iterations, &random)
            .map_err(StoreError::new)?;
        Ok(Self {
            users: RwLock::new(HashMap::new()),
            iterations,
            random: Box::new(random),
            dummy,
        })
    }

    /// Adds or replaces a user; the username is also the user id.
    pub fn insert(&self, username: &str, password: &Secret<String>) -> Result<(), StoreError> {
        let id = UserId::parse(username).ok_or(StoreError::msg("invalid username"))?;
        let hash = SecretHash::pbkdf2(password.expose_secret(), self.iterations, &*self.random)
            .map_err(StoreError::new)?;
        self.users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(username.to_owned(), (id, hash));
        Ok(())
    }
}

#[async_trait]
impl PasswordVerifier for MemoryUsers {
    async fn verify(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserId>, StoreError> {
        let entry = self
            .users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(username)
            .cloned();
        Ok(match entry {
            Some((id, hash)) => hash.verify(password.expose_secret()).then_some(id),
            None => {
                // Same cost as a real check: no user enumeration by timing.
                let _ = self.dummy.verify(password.expose_secret());
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    const NOW: UnixTime = UnixTime::from_secs(1_000);

    /// A hash whose first 16 bytes are `prefix` and last 16 `tail`.
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
            expires_at: NOW.plus(life),
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
            expires_at: NOW.plus(100),
            used: false,
        }
    }

    /// A token that starts its own grant, as client_credentials issues it.
    fn alone(hash: TokenHash, client_id: &str) -> NewTokens {
        NewTokens {
            access: access(hash, GrantId::derive(&hash), client_id, 100),
            refresh: None,
        }
    }

    #[test]
    fn a_token_alone_in_its_grant_has_no_index_entry_and_is_revocable() {
        let mut t = Tokens::default();
        let h = hash(1, 1);
        t.store(alone(h, "c")).unwrap();
        assert!(t.grants.is_empty());
        assert_eq!(t.find_access(&h).map(|a| a.hash), Some(h));
        assert!(t.store(alone(h, "c")).is_err(), "duplicate");
        assert_eq!(t.revoke_grant(&GrantId::derive(&h)), 1);
        assert!(t.find_access(&h).is_none());
        assert_eq!(t.revoke_grant(&GrantId::derive(&h)), 0);
    }

    #[test]
    fn tokens_sharing_a_prefix_are_kept_apart() {
        let mut t = Tokens::default();
        let (first, second, third) = (hash(7, 1), hash(7, 2), hash(7, 3));
        t.store(alone(first, "c")).unwrap();
        // Same 16-byte prefix, different hash: stored in overflow, indexed
        // under its grant (which is `first`'s, derived from the same bytes).
        t.store(alone(second, "c")).unwrap();
        assert_eq!(t.access_count(), 2);
        assert_eq!(t.overflow.len(), 1);
        assert!(
            t.store(alone(second, "c")).is_err(),
            "duplicate in overflow"
        );
        assert!(t.find_access(&third).is_none());
        for h in [first, second] {
            assert_eq!(t.find_access(&h).map(|a| a.hash), Some(h));
        }
        // Removing the first frees its slot; the second stays findable and
        // a repeat of it is still a duplicate.
        assert!(t.remove_access(&first));
        assert!(!t.remove_access(&first));
        assert_eq!(t.find_access(&second).map(|a| a.hash), Some(second));
        assert!(t.store(alone(second, "c")).is_err());
        t.store(alone(third, "c")).unwrap();
        assert_eq!(t.revoke_grant(&GrantId::derive(&first)), 2);
        assert_eq!(t.access_count(), 0);
    }

    #[test]
    fn grants_not_derived_from_their_token_are_indexed() {
        let mut t = Tokens::default();
        let grant = GrantId::derive(&hash(9, 9));
        // Two access tokens of one grant, no refresh token.
        for h in [hash(1, 0), hash(2, 0)] {
            t.store(NewTokens {
                access: access(h, grant, "c", 100),
                refresh: None,
            })
            .unwrap();
        }
        // A token alone in a grant with that id's own derivation joins it
        // without an index entry; revoking the grant still takes it.
        t.store(alone(hash(9, 9), "c")).unwrap();
        // A token with a refresh token.
        let (ah, rh) = (hash(3, 0), hash(4, 0));
        t.store(NewTokens {
            access: access(ah, GrantId::derive(&ah), "c", 100),
            refresh: Some(refresh(rh, GrantId::derive(&ah))),
        })
        .unwrap();
        // A refresh clash changes nothing.
        let clash = hash(5, 0);
        assert!(
            t.store(NewTokens {
                access: access(clash, GrantId::derive(&clash), "c", 100),
                refresh: Some(refresh(rh, GrantId::derive(&clash))),
            })
            .is_err()
        );
        assert!(t.find_access(&clash).is_none());
        assert_eq!(t.revoke_grant(&grant), 3);
        assert_eq!(t.access_count(), 1);
        assert_eq!(t.revoke_grant(&GrantId::derive(&ah)), 2);
        assert_eq!(t.access_count(), 0);
        assert!(t.refresh.is_empty());
    }

    #[test]
    fn revoking_by_client_reaches_every_kind_of_entry() {
        let mut t = Tokens::default();
        t.store(alone(hash(1, 0), "gone")).unwrap();
        t.store(alone(hash(1, 1), "gone")).unwrap(); // overflow
        t.store(alone(hash(2, 0), "kept")).unwrap();
        let (ah, rh) = (hash(3, 0), hash(4, 0));
        t.store(NewTokens {
            access: access(ah, GrantId::derive(&ah), "gone", 100),
            refresh: Some(refresh(rh, GrantId::derive(&ah))),
        })
        .unwrap();
        let n = t.revoke_where(|c, _| c.as_str() == "gone");
        assert_eq!(n, 4);
        assert_eq!(t.access_count(), 1);
        assert!(t.refresh.is_empty());
        assert!(t.find_access(&hash(2, 0)).is_some());
    }

    #[test]
    fn purging_drops_expired_tokens_and_empty_index_entries() {
        let mut t = Tokens::default();
        let short = hash(1, 0);
        t.store(NewTokens {
            access: access(short, GrantId::derive(&short), "c", 10),
            refresh: None,
        })
        .unwrap();
        let collide = hash(1, 1);
        t.store(NewTokens {
            access: access(collide, GrantId::derive(&collide), "c", 10),
            refresh: None,
        })
        .unwrap();
        t.store(alone(hash(2, 0), "c")).unwrap();
        let store = MemoryStore::default();
        *store.write() = State {
            tokens: t,
            ..State::default()
        };
        let counts = run_now(store.purge_expired(NOW.plus(50)));
        let counts = counts.unwrap();
        assert_eq!(counts.access_tokens, 2);
        let s = store.read();
        assert_eq!(s.tokens.access_count(), 1);
        assert!(s.tokens.grants.is_empty());
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
}
