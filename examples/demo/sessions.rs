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

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use portcullis::{Authentication, ClientId, Clock, SystemClock};

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
    /// The clients that got a code in this login session: the ones told
    /// by Back-Channel Logout when it ends.
    pub(crate) clients: Vec<ClientId>,
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
    /// seconds unused; cookies marked `Secure` when `secure`.
    pub(crate) fn new(max: usize, idle: u64, secure: bool) -> Self {
        Self {
            map: Mutex::default(),
            max: max.max(1),
            idle,
            secure,
        }
    }

    fn map(&self) -> MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, e: &Entry, now: u64) -> bool {
        now.saturating_sub(e.last_seen) >= self.idle
    }

    /// The session the `Cookie` header names, if it is still there: its id
    /// and contents. Using a session keeps it alive; an expired one is
    /// removed.
    pub(crate) fn find(&self, cookie: Option<&[u8]>) -> Option<(String, Session)> {
        let sid = cookie_sid(cookie)?;
        let now = now();
        let mut map = self.map();
        let used = map.tick();
        let entry = map.entries.get_mut(sid)?;
        if self.expired(entry, now) {
            map.entries.remove(sid);
            return None;
        }
        entry.last_seen = now;
        entry.used = used;
        Some((sid.to_owned(), entry.session.clone()))
    }

    /// Stores `session` under `sid`, after removing `old` (a login starts a
    /// fresh session: no fixation), making room if the map is full.
    pub(crate) fn insert(&self, old: Option<&str>, sid: String, session: Session) {
        let now = now();
        let mut map = self.map();
        let used = map.tick();
        let entries = &mut map.entries;
        if let Some(old) = old {
            entries.remove(old);
        }
        if entries.len() >= self.max {
            entries.retain(|_, e| !self.expired(e, now));
        }
        while entries.len() >= self.max {
            // Anonymous sessions first, then the least recently used.
            let victim = entries
                .iter()
                .min_by_key(|(_, e)| (e.session.user.is_some(), e.used))
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => entries.remove(&k),
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

    /// Notes that `client` got a code in session `sid` (once).
    pub(crate) fn add_client(&self, sid: &str, client: ClientId) {
        if let Some(e) = self.map().entries.get_mut(sid) {
            if !e.session.clients.contains(&client) {
                e.session.clients.push(client);
            }
        }
    }

    /// Ends session `sid`: it is gone, whatever the browser sends.
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
