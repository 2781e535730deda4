//! `TokenStore`: codes and tokens, stored only as hashes (TK-02), with the
//! atomic steps the protocol needs (AC-04, RT-04, RB-02).

use async_trait::async_trait;

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::dpop::thumbprint::JwkThumbprint;
use crate::error::StoreError;
use crate::oidc::{OpenIdGrant, SessionId};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::tokens::actor::Actor;
use crate::tokens::{GrantId, TokenHash};
use crate::user::UserId;

/// An authorization code, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// Hash of the code.
    pub hash: TokenHash,
    /// The grant this code starts.
    pub grant: GrantId,
    /// The client it was issued to (AC-03).
    pub client_id: ClientId,
    /// The resource owner who approved it.
    pub subject: UserId,
    /// The scope granted.
    pub scope: ScopeSet,
    /// The `redirect_uri` of the authorization request, if it carried one;
    /// the token request must repeat it exactly (AC-03).
    pub redirect_uri: Option<RedirectUri>,
    /// The PKCE challenge, if any.
    pub challenge: Option<CodeChallenge>,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry (AC-01).
    pub expires_at: UnixTime,
    /// Whether it was already exchanged (kept until expiry so a replay is
    /// detected, AC-02).
    pub used: bool,
    /// The OpenID Connect facts of the grant, with the request's `nonce`:
    /// `Some` exactly when the scope holds `openid`.
    pub openid: Option<OpenIdGrant>,
    /// The resources (RFC 8707) the authorization request asked for and
    /// was granted, sorted; empty when it named none (RI-01).
    pub resources: Vec<Resource>,
    /// The DPoP key the code is bound to (RFC 9449 §10: the authorization
    /// request's `dpop_jkt`, or the key of the pushed request's proof): the
    /// token request must prove possession of it (DP-01).
    pub dpop_jkt: Option<JwkThumbprint>,
}

/// An access token, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord {
    /// Hash of the token.
    pub hash: TokenHash,
    /// The grant it belongs to.
    pub grant: GrantId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The resource owner; `None` for `client_credentials`.
    pub subject: Option<UserId>,
    /// The scope of the token.
    pub scope: ScopeSet,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// The OpenID Connect facts of the grant, without `nonce`: `Some`
    /// exactly when the grant's scope holds `openid`.
    pub openid: Option<OpenIdGrant>,
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to
    /// (RFC 9449 §6; DP-01); `None` for a bearer token.
    pub dpop_jkt: Option<JwkThumbprint>,
    /// The resources (RFC 8707) the token is for, sorted: its audiences
    /// (`aud`); empty for a token of the default audience,
    /// `Config::audience()` (RI-01).
    pub resources: Vec<Resource>,
    /// Who acts on behalf of the subject, for a token issued by delegation
    /// (the `act` claim, RFC 8693 §4.1; token exchange, TE-01); `None` for
    /// every other token.
    pub act: Option<Actor>,
}

/// A refresh token, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Hash of the token.
    pub hash: TokenHash,
    /// The grant it belongs to.
    pub grant: GrantId,
    /// The client it was issued to (RT-01).
    pub client_id: ClientId,
    /// The resource owner; `None` if the grant has none.
    pub subject: Option<UserId>,
    /// The scope of the grant (RT-03: refreshes may narrow, never widen).
    pub scope: ScopeSet,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry (RT-05).
    pub expires_at: UnixTime,
    /// Whether it was rotated out (kept until expiry so a replay is
    /// detected, RT-02).
    pub used: bool,
    /// The OpenID Connect facts of the grant, without `nonce`, unchanged by
    /// rotation (Core 1.0 §12.2: the original `auth_time`): `Some` exactly
    /// when the grant's scope holds `openid`.
    pub openid: Option<OpenIdGrant>,
    /// The thumbprint of the DPoP key a public client's refresh token is
    /// bound to (RFC 9449 §5; DP-02): refreshing needs a proof of that key.
    pub dpop_jkt: Option<JwkThumbprint>,
    /// The resources (RFC 8707) of the grant, sorted, unchanged by
    /// rotation: a refresh may ask for a subset of them (RI-01); empty when
    /// the grant named none.
    pub resources: Vec<Resource>,
    // Refresh retry window (issue 18).
    /// What replaced this token when it was rotated out: recorded by
    /// [`TokenStore::rotate_refresh`], replaced by
    /// [`TokenStore::replace_successor`]. `None` for a token never rotated,
    /// and for one whose successor was itself replaced by a retry (it is
    /// `used` then, and presenting it is a replay). Issue with `None`.
    pub successor: Option<Successor>,
}

/// The tokens that replaced a rotated-out refresh token, and when: what
/// the refresh retry window (`Config::refresh_retry_window`) needs to
/// recognise a retry and to kill the pair it replaces. Hashes only, like
/// every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Successor {
    /// The hash of the refresh token issued in its place.
    pub refresh: TokenHash,
    /// The hash of the access token issued with that refresh token.
    pub access: TokenHash,
    /// When the token was rotated out: the `issued_at` of the first
    /// successor's access token. A retry's replacement keeps it, so the
    /// window never slides.
    pub rotated_at: UnixTime,
}

impl Successor {
    /// The successor a rotation that stores `new` records on the old token
    /// ([`TokenStore::rotate_refresh`]): `new`'s hashes, rotated at its
    /// access token's `issued_at`. `None` when `new` has no refresh token.
    pub fn of(new: &NewTokens) -> Option<Self> {
        new.refresh.as_ref().map(|r| Self {
            refresh: r.hash,
            access: new.access.hash,
            rotated_at: new.access.issued_at,
        })
    }

    /// This successor replaced by `new` ([`TokenStore::replace_successor`]):
    /// `new`'s hashes, the same `rotated_at`. `None` when `new` has no
    /// refresh token.
    pub fn replaced_by(&self, new: &NewTokens) -> Option<Self> {
        Self::of(new).map(|s| Self {
            rotated_at: self.rotated_at,
            ..s
        })
    }
}

/// The tokens one successful token request issues, stored together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTokens {
    /// The access token.
    pub access: AccessRecord,
    /// The refresh token, if issued.
    pub refresh: Option<RefreshRecord>,
}

/// The outcome of [`TokenStore::exchange_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exchange {
    /// This caller consumed the code and the tokens are stored.
    Issued,
    /// The code was already consumed; the caller revokes this grant (AC-02).
    AlreadyUsed(GrantId),
    /// No such code: never issued, purged, or revoked with its grant
    /// (including by a revocation that won the race against this call).
    Unknown,
}

/// The outcome of [`TokenStore::rotate_refresh`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// This caller rotated the token and the new tokens are stored.
    Rotated,
    /// The token was already rotated out; the caller revokes this grant (RT-02).
    Replayed(GrantId),
    /// No such token: never issued, purged, or revoked with its grant
    /// (including by a revocation that won the race against this call).
    Unknown,
}

/// The outcome of [`TokenStore::replace_successor`] (the refresh retry
/// window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// This caller replaced the successor: the old successor refresh token
    /// is marked used, its access token revoked, and the new tokens stored.
    Replaced,
    /// The successor was already rotated out itself (or is gone while the
    /// old token is not): a replay; the caller revokes this grant (RT-02).
    Replayed(GrantId),
    /// The old token's successor is no longer the one expected: a
    /// concurrent retry replaced it first. Nothing changed.
    Superseded,
    /// No such token: never issued, purged, or revoked with its grant
    /// (including by a revocation that won the race against this call).
    Unknown,
}

/// What [`TokenAdmin::purge_expired`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Authorization codes removed.
    pub codes: u64,
    /// Access tokens removed.
    pub access_tokens: u64,
    /// Refresh tokens removed.
    pub refresh_tokens: u64,
}

/// Codes and tokens, keyed by [`TokenHash`]: the protocol steps every host
/// implements. Implementations never see a token in clear.
///
/// The atomic steps are the contract: `exchange_code` and `rotate_refresh`
/// (and `replace_successor`) must let exactly one of any number of
/// concurrent callers win, and must either store everything or change
/// nothing. Validation (expiry, PKCE,
/// client binding) stays in the core, between `find_*` and the step.
///
/// **Revocation wins** (RB-05): `revoke_grant`, and [`TokenAdmin`]'s
/// `revoke_client` and `revoke_user` for every grant they cover, must be
/// atomic with respect to `exchange_code`, `rotate_refresh`,
/// `replace_successor` and `issue` in the same grant: each takes effect wholly before the revocation (which
/// then removes what it stored) or wholly after it, where an exchange or a
/// rotation finds its code or refresh token gone and stores nothing. Once
/// the revocation has returned, nothing of the grant is found and no
/// exchange or rotation in it succeeds.
/// Deleting the rows that a snapshot shows is not enough: a step that
/// commits while the revocation runs must be waited for, or must see the
/// revocation and store nothing. One lock per store does it; a database
/// needs a lock both sides take, such as a row per grant that the steps
/// lock and check and the revocation marks before it deletes
/// (`docs/implementing-a-store.md`).
///
/// Operator work (revoking by client or user, purging) is [`TokenAdmin`],
/// which the server never calls.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new authorization code. A duplicate hash is an error.
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError>;

    /// The code with this hash, used or not, or `Ok(None)`.
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError>;

    /// Atomically: if the code exists and is unused, mark it used and store
    /// `tokens` (all or nothing), returning [`Exchange::Issued`]. At most one
    /// caller ever gets `Issued` for a code (AC-04). `tokens` belong to the
    /// code's grant; a revocation of that grant wins (RB-05).
    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError>;

    /// Stores freshly issued tokens (all or nothing). The server issues only
    /// tokens that start a grant (its id is [`GrantId::derive`] of the
    /// access token's hash, so nobody can have revoked it yet). Tokens that
    /// join an existing grant must lose to its revocation as a rotation does;
    /// a store may refuse them with an error once the grant is revoked.
    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError>;

    /// The access token with this hash, or `Ok(None)` (also once revoked).
    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError>;

    /// The refresh token with this hash, used or not, or `Ok(None)` (also
    /// once revoked).
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError>;

    /// Atomically: if the refresh token exists and is unused, mark it used,
    /// record [`Successor::of`]`(&new)` as its
    /// [`successor`](RefreshRecord::successor), and store `new` (all or
    /// nothing), returning [`Rotation::Rotated`]. At most one caller ever
    /// rotates a token (RT-04). `new` belongs to the old token's grant; a
    /// revocation of that grant wins (RB-05).
    async fn rotate_refresh(&self, old: &TokenHash, new: NewTokens)
    -> Result<Rotation, StoreError>;

    /// The refresh retry window's step (`Config::refresh_retry_window`):
    /// a rotated-out token `old` is presented again, and the server gives
    /// it a fresh pair in place of the pair its rotation issued, so that
    /// the grant keeps one live chain. Atomically, all or nothing:
    ///
    /// - `old` missing: [`Replacement::Unknown`].
    /// - `old`'s successor is not `successor` (another retry replaced it
    ///   first, or it has none): [`Replacement::Superseded`], nothing
    ///   changes. Of concurrent callers with the same `successor`, exactly
    ///   one gets past this.
    /// - the successor refresh token is used (it was rotated itself: the
    ///   chain moved on) or gone: [`Replacement::Replayed`] with `old`'s
    ///   grant, nothing changes; the caller revokes the grant.
    /// - otherwise: mark the successor refresh token used (it stays stored
    ///   until it expires, so presenting it later is a replay), revoke the
    ///   access token issued with it ([`Successor::access`]), set `old`'s
    ///   successor to [`Successor::replaced_by`]`(&new)` (the same
    ///   `rotated_at`), store `new`, and return [`Replacement::Replaced`].
    ///
    /// The window itself (time) is the core's to check, before this call.
    /// `new` belongs to `old`'s grant; a revocation of that grant wins as
    /// against a rotation (RB-05).
    async fn replace_successor(
        &self,
        old: &TokenHash,
        successor: &TokenHash,
        new: NewTokens,
    ) -> Result<Replacement, StoreError>;

    /// Revokes one access token. Revoking an unknown token is not an error.
    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError>;

    /// Revokes a whole grant: its code and every access and refresh token
    /// descending from it (AC-02, RT-02, RV-02), including those a step in
    /// flight stores: when it returns, nothing of the grant is found and no
    /// exchange or rotation in it succeeds any more (RB-05).
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError>;

    /// Revokes what the host's login session `session` leaves behind when
    /// it is logged out (Back-Channel Logout 1.0 §2.7, LO-02): the codes
    /// and tokens whose [`OpenIdGrant::session_id`] is `session`, as
    /// follows, and returns how many codes and tokens went.
    ///
    /// - Every access token of the session goes.
    /// - A grant goes whole, as [`TokenStore::revoke_grant`] takes it
    ///   (revocation wins, RB-05), when one of its codes or refresh tokens
    ///   of the session does not [outlive the
    ///   session](RefreshRecord::outlives_session): its scope lacks
    ///   [`OFFLINE_ACCESS`], or (a code) it is not yet exchanged.
    /// - So a grant whose scope holds `offline_access` and whose code was
    ///   exchanged keeps its refresh tokens (and its used code, which still
    ///   catches a replay): offline access is what the user granted, and it
    ///   outlives the login session (§2.7: "normally SHOULD NOT be
    ///   revoked"). Its next refresh issues a new access token.
    ///
    /// Codes and tokens without OpenID Connect facts, or of another
    /// session, are untouched. The scope that decides is the record's own
    /// (a code's and a refresh token's scope is the grant's; an access
    /// token's may be narrower, so access tokens never decide).
    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError>;

    /// The clients that took part in the host's login session `session`
    /// (Back-Channel Logout 1.0 §2.7, LO-02): the distinct client ids of
    /// the codes, access tokens and refresh tokens still stored whose
    /// [`OpenIdGrant::session_id`] is `session`, each once, in no
    /// particular order. They are the clients a logout of the session
    /// sends Logout Tokens to, so the host need not track them.
    ///
    /// Every record the store still holds counts, whatever its state: a
    /// code already exchanged (or never), a token expired or rotated out,
    /// an `offline_access` grant that outlived an earlier logout. A client
    /// that got tokens has a session of its own to end even when they
    /// expired. What is no longer stored is not found: a grant revoked
    /// whole (by [`TokenStore::revoke_grant`], a code replay, the
    /// operator, or [`TokenStore::revoke_session`] itself, which is why a
    /// logout asks this first), and records that
    /// [`TokenAdmin::purge_expired`] removed, which it keeps until they
    /// expire. A read: it changes nothing.
    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError>;
}

/// The scope value (OpenID Connect Core 1.0 §11) whose refresh tokens a
/// logout leaves alone ([`TokenStore::revoke_session`]).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The clients of the codes and tokens among these that were issued in
/// `session`, with repeats (for the in-memory stores'
/// [`TokenStore::session_clients`]).
pub(crate) fn clients_in_session<'a>(
    session: &'a SessionId,
    codes: impl Iterator<Item = &'a CodeRecord> + 'a,
    access: impl Iterator<Item = &'a AccessRecord> + 'a,
    refresh: impl Iterator<Item = &'a RefreshRecord> + 'a,
) -> impl Iterator<Item = &'a ClientId> + 'a {
    let mine = move |s: Option<&SessionId>| s == Some(session);
    codes
        .filter(move |c| mine(c.session_id()))
        .map(|c| &c.client_id)
        .chain(
            access
                .filter(move |a| mine(a.session_id()))
                .map(|a| &a.client_id),
        )
        .chain(
            refresh
                .filter(move |r| mine(r.session_id()))
                .map(|r| &r.client_id),
        )
}

impl CodeRecord {
    /// The host's login session this code was issued in, if any (from
    /// [`CodeRecord::openid`]).
    pub fn session_id(&self) -> Option<&SessionId> {
        self.openid.as_ref().and_then(OpenIdGrant::session_id)
    }

    /// Whether this code's grant outlives the logout of its session
    /// ([`TokenStore::revoke_session`]): it was exchanged, and its scope
    /// holds [`OFFLINE_ACCESS`]. Otherwise the logout revokes the grant.
    pub fn outlives_session(&self) -> bool {
        self.used && self.scope.contains(OFFLINE_ACCESS)
    }
}

impl AccessRecord {
    /// The host's login session this token was issued in, if any (from
    /// [`AccessRecord::openid`]). A logout of that session revokes it.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.openid.as_ref().and_then(OpenIdGrant::session_id)
    }
}

impl RefreshRecord {
    /// The host's login session this token's grant started in, if any
    /// (from [`RefreshRecord::openid`]).
    pub fn session_id(&self) -> Option<&SessionId> {
        self.openid.as_ref().and_then(OpenIdGrant::session_id)
    }

    /// Whether this token's grant outlives the logout of its session
    /// ([`TokenStore::revoke_session`]): its scope holds
    /// [`OFFLINE_ACCESS`]. Otherwise the logout revokes the grant.
    pub fn outlives_session(&self) -> bool {
        self.scope.contains(OFFLINE_ACCESS)
    }
}

/// Operator work on codes and tokens: what the `portcullis` command, an
/// admin page or a host's cron job uses. The server never calls it, so a
/// host implements it only if it needs these operations.
#[async_trait]
pub trait TokenAdmin: Send + Sync + 'static {
    /// Revokes every code and token issued to `client`; returns how many.
    /// Wins against the steps in flight in those grants, as
    /// [`TokenStore::revoke_grant`] does (RB-05).
    async fn revoke_client(&self, client: &ClientId) -> Result<u64, StoreError>;

    /// Revokes every code and token issued for `user`; returns how many.
    /// Wins against the steps in flight in those grants, as
    /// [`TokenStore::revoke_grant`] does (RB-05).
    async fn revoke_user(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Removes codes and tokens expired at `now` (`expires_at <= now`).
    /// Used refresh tokens and codes are kept until they expire, so replays
    /// are still caught; nothing live is removed.
    async fn purge_expired(&self, now: UnixTime) -> Result<PurgeCounts, StoreError>;
}
