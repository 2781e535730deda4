//! Brute-force protection (RFC 6749 §2.3.1, §4.3.2, §10.10; RB-04): the
//! core puts every guess of a client secret, client assertion or
//! resource-owner password to a host-provided [`Throttle`] *before* checking
//! it, as one [`Attempt`] naming the account guessed and the request's
//! [`Source`](crate::http::Source), and settles the attempt once it is judged.
//!
//! Only the core can key by client and by user, because only it parses
//! credentials; only the host knows who sent a request, which it says with
//! [`Request::with_source`](crate::http::Request::with_source). The throttle
//! sees both. [`MemoryThrottle`] (`memory.rs`) is a ready limiter for one
//! process; [`StoreThrottle`] (`store.rs`) is the same policy over a shared
//! [`ThrottleStore`] (the SQL stores), for several instances on one
//! database; the `Throttle` documentation says how a host writes its own.

mod hook;
mod lru;
mod memory;
mod store;

pub use hook::{Account, Attempt, Outcome, Throttle, Verdict};
pub(crate) use hook::{Reserved, count_failure, reserve, settle};
pub use memory::{MemoryThrottle, ThrottleLimits};
pub use store::{StoreThrottle, ThrottleCount, ThrottleKey, ThrottleStore};
