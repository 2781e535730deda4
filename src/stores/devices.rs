//! `DeviceStore`: device authorizations of the device grant (RFC 8628),
//! kept under the hash of the device code and found by the hash of the
//! user code, with the atomic steps the grant needs: decide once, record a
//! poll (and grow the interval), redeem once and store the tokens in the
//! same step (DV-01..03).

use std::time::Duration;

use async_trait::async_trait;

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::oidc::OpenIdGrant;
use crate::scope::ScopeSet;
use crate::stores::NewTokens;
use crate::tokens::TokenHash;
use crate::user::UserId;

/// How much longer the interval of a device code grows each time it is
/// polled too fast (RFC 8628 §3.5 `slow_down`).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Where a device authorization stands.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for the user (`authorization_pending`).
    Pending,
    /// The user approved: tokens are issued to the next poll, once.
    Approved {
        /// The user who approved.
        subject: UserId,
        /// Their OpenID Connect facts (login time, session, `acr`, `amr`):
        /// `Some` exactly when the scope holds `openid`.
        openid: Option<OpenIdGrant>,
    },
    /// The user denied (`access_denied`).
    Denied,
    /// Tokens were issued: the device code is used up.
    Redeemed,
}

impl DeviceState {
    /// A small number for a database column: 0 pending, 1 approved,
    /// 2 denied, 3 redeemed.
    pub fn code(&self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Approved { .. } => 1,
            Self::Denied => 2,
            Self::Redeemed => 3,
        }
    }
}

/// A device authorization (RFC 8628 §3.1, §3.2), as stored. The device
/// code and the user code are kept only as hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Hash of the device code (256 random bits): the key.
    pub hash: TokenHash,
    /// Hash of the user code, unique among stored records.
    pub user_code: TokenHash,
    /// The client that asked; only it may poll (DV-02).
    pub client_id: ClientId,
    /// The scope asked for, checked against the client's.
    pub scope: ScopeSet,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry of both codes (`expires_in`).
    pub expires_at: UnixTime,
    /// The least time between two polls, whole seconds; grows by
    /// [`SLOW_DOWN_STEP`] on each poll that comes sooner.
    pub interval: Duration,
    /// When the device last polled, if it has.
    pub last_poll: Option<UnixTime>,
    /// Pending, approved, denied or redeemed.
    pub state: DeviceState,
}

impl DeviceRecord {
    /// Whether a poll at `now` comes sooner than the interval after the
    /// last one (always `false` for the first poll).
    pub fn too_soon(&self, now: UnixTime) -> bool {
        self.last_poll
            .is_some_and(|last| now.as_secs() < last.plus(self.interval).as_secs())
    }

    /// The record as [`DeviceStore::poll_device`] leaves it after a poll
    /// at `now`: `last_poll` is `now`, and the interval grew by
    /// [`SLOW_DOWN_STEP`] if the poll came too soon. For stores that
    /// compute the poll in Rust (the shipped memory stores).
    pub fn polled(mut self, now: UnixTime) -> Self {
        if self.too_soon(now) {
            self.interval += SLOW_DOWN_STEP;
        }
        self.last_poll = Some(now);
        self
    }
}

/// What the user decided ([`DeviceStore::decide_device`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceDecision {
    /// Approved, by this user with these OpenID Connect facts.
    Approve {
        /// The user.
        subject: UserId,
        /// Their OpenID Connect facts, when the scope holds `openid`.
        openid: Option<OpenIdGrant>,
    },
    /// Denied.
    Deny,
}

/// The outcome of [`DeviceStore::poll_device`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code.
    Unknown,
    /// The poll is recorded.
    Polled {
        /// The record after the poll.
        record: DeviceRecord,
        /// Whether the poll came before the interval had passed since the
        /// previous one (the interval grew: `slow_down`).
        too_soon: bool,
    },
}

/// Device authorizations (RFC 8628): set it with
/// `ServerBuilder::device_store` (needed while the server offers
/// [`GrantType::DeviceCode`](crate::GrantType::DeviceCode)). The shipped
/// stores implement it; a store of your own must make each step below
/// atomic across every instance sharing it.
///
/// - [`decide_device`](Self::decide_device): of any number of concurrent
///   decisions on one code, at most one changes a pending record.
/// - [`poll_device`](Self::poll_device): reading `last_poll` and
///   `interval`, growing the interval and writing `last_poll` are one
///   step, so concurrent polls cannot all pass the interval check.
/// - [`redeem_device`](Self::redeem_device): of any number of concurrent
///   callers, exactly one turns an approved record into a redeemed one,
///   and it stores its tokens in the same step: the record is redeemed if
///   and only if its tokens are stored, so no approval is spent without its
///   tokens and no tokens are stored without spending it (DV-03).
///
/// The tokens `redeem_device` stores are found by the server through its
/// [`TokenStore`](crate::TokenStore) (introspection, refresh, revocation):
/// a `DeviceStore` must keep them where that `TokenStore` reads, so in
/// practice it is the same store (the shipped stores are both; pass the
/// same one to `ServerBuilder::store` and `ServerBuilder::device_store`).
///
/// Records nobody redeems stay until deleted: a store of your own must
/// delete records past `expires_at` periodically (the shipped stores do it
/// in `TokenAdmin::purge_expired`).
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Stores a new device authorization; `Ok(false)`, storing nothing, if
    /// a stored record already has its device code hash or its user code
    /// hash (the core then draws new codes).
    async fn insert_device(&self, record: DeviceRecord) -> Result<bool, StoreError>;

    /// The record of this device code hash, in any state, or `Ok(None)`.
    async fn find_device(&self, hash: &TokenHash) -> Result<Option<DeviceRecord>, StoreError>;

    /// The record of this user code hash, in any state, or `Ok(None)`.
    async fn find_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceRecord>, StoreError>;

    /// Atomically: if the record of this user code hash is
    /// [`DeviceState::Pending`] and `now` is before its `expires_at`, set
    /// its state from `decision` and return `true`; otherwise change
    /// nothing and return `false`.
    async fn decide_device(
        &self,
        user_code: &TokenHash,
        decision: DeviceDecision,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Atomically records a poll of this device code at `now`: computes
    /// whether it comes too soon ([`DeviceRecord::too_soon`]), grows the
    /// interval by [`SLOW_DOWN_STEP`] if so, sets `last_poll` to `now`
    /// (exactly [`DeviceRecord::polled`]), and returns the record after
    /// the change.
    async fn poll_device(&self, hash: &TokenHash, now: UnixTime) -> Result<DevicePoll, StoreError>;

    /// Atomically: if the record is [`DeviceState::Approved`], store
    /// `tokens` (exactly as [`TokenStore::issue`](crate::TokenStore::issue)
    /// would) and set the record to [`DeviceState::Redeemed`], and return
    /// `true`; otherwise store nothing, change nothing and return `false`.
    /// At most one caller ever gets `true` for a device code.
    ///
    /// All or nothing: if the tokens cannot be stored (a duplicate hash, a
    /// failed write), return the error with the record still approved and
    /// nothing stored, so a later poll can still redeem it. One lock or one
    /// transaction around the check, the token writes and the state change
    /// does it (as [`TokenStore::exchange_code`](crate::TokenStore::exchange_code)
    /// does for a code).
    async fn redeem_device(&self, hash: &TokenHash, tokens: NewTokens) -> Result<bool, StoreError>;
}
