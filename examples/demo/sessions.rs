//! The demo's browser sessions: a `sid` cookie naming a server-side record
//! of the logged-in user (if any) and the CSRF token of its forms.
//!
//! The map is bounded: at most `max` sessions (`--max-sessions`, default
//! [`DEFAULT_MAX_SESSIONS`]), each forgotten after `idle` seconds unused
//! (`--session-idle`, default [`DEFAULT_IDLE_SECS`]). A request without a
//! session gets one only when a page with a form must be shown (the login
//! and consent pages need a CSRF token), so cookieless requests that end in
//! a redirect or an error store nothing. When the map is full, expired
//! sessions are swept first, then the least recently used session without
//! a user makes room (a flood of cookieless requests cannot log people
//! out), and only if there is none the least recently used of all.
//!
//! The cookie is `HttpOnly; SameSite=Lax`, and `Secure` when the issuer is
//! https (the demo then sits behind a TLS-terminating proxy).
//!
//! A login session can end without a logout: it is forgotten idle (found
//! expired, or swept: [`Sessions::sweep`] runs every
//! [`Sessions::sweep_every`]), pushed out of a full map, or replaced when
//! another user signs in in the same browser. Each such end is treated as
//! a logout: the clients of the login session (Back-Channel Logout 1.0
//! §2.3, which the library finds in the token store by the session's id)
//! are sent Logout Tokens (§2.5), since a client that still believes in a
//! session the OP has forgotten would outlive it. So each such end is sent
//! as an [`Ended`] to the receiver [`Sessions::new`] returns, where the
//! demo signs and delivers the tokens in the background. A new login of
//! the same user in the same browser continues the login session instead
//! (its `sid` stays, and with it its clients), and the logout pages end
//! sessions themselves ([`Sessions::remove`] announces nothing).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use portcullis::{Authentication, Clock, SystemClock};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// `--max-sessions` when not given.
pub(crate) const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// `--session-idle` (seconds) when not given.
pub(crate) const DEFAULT_IDLE_SECS: u64 = 30 * 60;

/// What the server keeps for one browser.
#[derive(Clone)]
pub(crate) struct Session {
    /// The logged-in user and when they logged in (the `auth_time` that
    /// `prompt=login` and `max_age` are judged by).
    pub(crate) user: Option<Authentication>,
    pub(crate) csrf: String,
}

/// Why a login session ended without a logout, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Unused for longer than `--session-idle`.
    Idle,
    /// Pushed out of a full map (`--max-sessions`).
    Evicted,
    /// Another user signed in in the same browser.
    Replaced,
}

impl EndReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Evicted => "evicted",
            Self::Replaced => "replaced by another user's login",
        }
    }
}

/// A login session that ended without a logout: the clients that took
/// part in it are sent Logout Tokens.
pub(crate) struct Ended {
    pub(crate) user: Authentication,
    pub(crate) reason: EndReason,
}

struct Entry {
    session: Session,
    /// When it was last used, in seconds, for the idle timeout.
    last_seen: u64,
    /// The order of last use, for eviction (many uses share a second).
    used: u64,
}

#[derive(Default)]
struct Map {
    entries: HashMap<String, Entry>,
    /// Counts uses.
    ticks: u64,
}

impl Map {
    fn tick(&mut self) -> u64 {
        self.ticks += 1;
        self.ticks
    }
}

/// The session map, bounded in size and idle time.
pub(crate) struct Sessions {
    map: Mutex<Map>,
    max: usize,
    idle: u64,
    secure: bool,
    /// Where the login sessions that end without a logout are sent.
    ended: UnboundedSender<Ended>,
}

/// The `sid` value of a `Cookie` header.
fn cookie_sid(cookie: Option<&[u8]>) -> Option<&str> {
    let cookies = std::str::from_utf8(cookie?).ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "sid")
        .map(|(_, v)| v)
}

/// Whether a submitted CSRF token is the session's, in time that depends
/// only on the lengths (the demo's tokens all have the same length).
pub(crate) fn csrf_matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

fn now() -> u64 {
    SystemClock.now().as_secs()
}

impl Sessions {
    /// At most `max` sessions (at least one), each forgotten after `idle`
    /// seconds unused; cookies marked `Secure` when `secure`. The receiver
    /// gets every login session that ends without a logout.
    pub(crate) fn new(max: usize, idle: u64, secure: bool) -> (Self, UnboundedReceiver<Ended>) {
        let (ended, rx) = unbounded_channel();
        let sessions = Self {
            map: Mutex::default(),
            max: max.max(1),
            idle,
            secure,
            ended,
        };
        (sessions, rx)
    }

    fn map(&self) -> MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, e: &Entry, now: u64) -> bool {
        now.saturating_sub(e.last_seen) >= self.idle
    }

    /// Announces that `session` ended for `reason`, if it was a login
    /// session (an anonymous one has nobody to tell; a login session's
    /// clients, if any, are found by its id). Called with the map unlocked:
    /// sending never waits, but the lock is held no longer than the map
    /// needs it.
    fn end(&self, session: Session, reason: EndReason) {
        if let Some(user) = session.user {
            // The receiver lives as long as the demo; if it is gone, so is
            // everyone to tell.
            let _ = self.ended.send(Ended { user, reason });
        }
    }

    /// How often [`Sessions::sweep`] should run: the idle timeout, between
    /// one second and a minute, so an idle session is announced at most
    /// that long after it expires.
    pub(crate) fn sweep_every(&self) -> Duration {
        Duration::from_secs(self.idle.clamp(1, 60))
    }

    /// Forgets every expired session, announcing the login sessions among
    /// them ([`EndReason::Idle`]): a browser that never comes back still
    /// ends its session at the clients.
    pub(crate) fn sweep(&self) {
        let now = now();
        let expired: Vec<Session> = {
            let mut map = self.map();
            let ids: Vec<String> = map
                .entries
                .iter()
                .filter(|(_, e)| self.expired(e, now))
                .map(|(k, _)| k.clone())
                .collect();
            ids.iter()
                .filter_map(|k| map.entries.remove(k))
                .map(|e| e.session)
                .collect()
        };
        for session in expired {
            self.end(session, EndReason::Idle);
        }
    }

    /// The session the `Cookie` header names, only if the form's anti-CSRF
    /// value `presented` is that session's: what every form handler checks
    /// before it acts.
    pub(crate) fn with_csrf(
        &self,
        cookie: Option<&[u8]>,
        presented: &str,
    ) -> Option<(String, Session)> {
        self.find(cookie)
            .filter(|(_, session)| csrf_matches(&session.csrf, presented))
    }

    /// The session the `Cookie` header names, if it is still there: its id
    /// and contents. Using a session keeps it alive; an expired one is
    /// removed (and announced).
    pub(crate) fn find(&self, cookie: Option<&[u8]>) -> Option<(String, Session)> {
        let sid = cookie_sid(cookie)?;
        let now = now();
        let mut map = self.map();
        let used = map.tick();
        let entry = map.entries.get_mut(sid)?;
        if self.expired(entry, now) {
            let gone = map.entries.remove(sid);
            drop(map);
            if let Some(e) = gone {
                self.end(e.session, EndReason::Idle);
            }
            return None;
        }
        entry.last_seen = now;
        entry.used = used;
        Some((sid.to_owned(), entry.session.clone()))
    }

    /// Stores `session` under `sid`, after removing `old` (a login starts a
    /// fresh session: no fixation), making room if the map is full. When
    /// `session` continues `old`'s login session (the same login session
    /// id: the same user signed in again), nothing ends; otherwise `old`'s
    /// login session ends ([`EndReason::Replaced`]). Sessions pushed out
    /// are announced too.
    pub(crate) fn insert(&self, old: Option<&str>, sid: String, session: Session) {
        let now = now();
        let mut gone: Vec<(Session, EndReason)> = Vec::new();
        {
            let mut map = self.map();
            let used = map.tick();
            let entries = &mut map.entries;
            if let Some(prev) = old.and_then(|old| entries.remove(old)) {
                let login_id = |s: &Session| s.user.as_ref().and_then(|u| u.session_id().cloned());
                let continues = login_id(&prev.session).is_some()
                    && login_id(&prev.session) == login_id(&session);
                if !continues {
                    gone.push((prev.session, EndReason::Replaced));
                }
            }
            if entries.len() >= self.max {
                let expired: Vec<String> = entries
                    .iter()
                    .filter(|(_, e)| self.expired(e, now))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in expired {
                    if let Some(e) = entries.remove(&k) {
                        gone.push((e.session, EndReason::Idle));
                    }
                }
            }
            while entries.len() >= self.max {
                // Anonymous sessions first, then the least recently used.
                let victim = entries
                    .iter()
                    .min_by_key(|(_, e)| (e.session.user.is_some(), e.used))
                    .map(|(k, _)| k.clone());
                match victim.and_then(|k| entries.remove(&k)) {
                    Some(e) => gone.push((e.session, EndReason::Evicted)),
                    None => break,
                };
            }
            entries.insert(
                sid,
                Entry {
                    session,
                    last_seen: now,
                    used,
                },
            );
        }
        for (session, reason) in gone {
            self.end(session, reason);
        }
    }

    /// Ends session `sid`: it is gone, whatever the browser sends. Nothing
    /// is announced: the caller (a logout) tells the clients itself.
    pub(crate) fn remove(&self, sid: &str) {
        self.map().entries.remove(sid);
    }

    /// The `Set-Cookie` value that makes the browser forget its session.
    pub(crate) fn clear_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
    }

    /// The `Set-Cookie` value for session `sid`.
    pub(crate) fn cookie(&self, sid: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("sid={sid}; Path=/; HttpOnly; SameSite=Lax{secure}")
    }
}
