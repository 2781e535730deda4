//! Server-provided DPoP nonces (RFC 9449 §8, §9) that every instance of a
//! server accepts without shared state: a nonce is an HMAC-SHA256 of the
//! current time slot under a secret all instances share
//! (`DpopConfig::nonce_secret`). A nonce of the current or the previous slot
//! is accepted, so each lives between one and two slot lengths.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use crate::clock::UnixTime;
use crate::secret::constant_time_eq;

/// Bytes of the MAC kept in a nonce (128 bits).
const MAC_LEN: usize = 16;

/// Makes and checks nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
    slot: u64,
}

impl Nonces {
    /// Nonces under `secret`, each slot `lifetime` long (at least 1 s).
    pub(crate) fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            slot: lifetime.as_secs().max(1),
        }
    }

    fn for_slot(&self, slot: u64) -> String {
        let mut msg = Vec::with_capacity(18);
        msg.extend_from_slice(b"dpop-nonce");
        msg.extend_from_slice(&slot.to_be_bytes());
        let tag = hmac::sign(&self.key, &msg);
        URL_SAFE_NO_PAD.encode(tag.as_ref().get(..MAC_LEN).unwrap_or_default())
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn current(&self, now: UnixTime) -> String {
        self.for_slot(now.as_secs() / self.slot)
    }

    /// Whether `nonce` is one of the current or the previous slot.
    pub(crate) fn accepts(&self, nonce: &str, now: UnixTime) -> bool {
        let slot = now.as_secs() / self.slot;
        let current = self.for_slot(slot);
        let previous = self.for_slot(slot.saturating_sub(1));
        // Both compared, always: no timing difference between the two.
        let a = constant_time_eq(nonce.as_bytes(), current.as_bytes());
        let b = constant_time_eq(nonce.as_bytes(), previous.as_bytes());
        a | b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_live_one_to_two_slots_and_are_shared_by_instances() {
        // covers: DP-01
        let a = Nonces::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(300),
        );
        let b = Nonces::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(300),
        );
        let other = Nonces::new(
            b"another secret of thirty-two b!!",
            Duration::from_secs(300),
        );
        let t = UnixTime::from_secs(3_000);
        let n = a.current(t);
        assert!(b.accepts(&n, t));
        assert!(b.accepts(&n, UnixTime::from_secs(3_599)));
        assert!(!b.accepts(&n, UnixTime::from_secs(3_600)));
        assert!(!other.accepts(&n, t));
        assert!(!a.accepts("", t));
        assert!(!a.accepts(&format!("{n}x"), t));
    }
}
