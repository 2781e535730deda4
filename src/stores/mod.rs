//! The storage traits the host implements, and the stores we ship.
//!
//! Every method is a protocol step with its atomicity in the contract; see
//! `docs/implementing-a-store.md`.

mod clients;
mod consents;
pub mod memory;
mod tokens;

pub use clients::ClientStore;
pub use consents::{Consent, ConsentStore};
pub use memory::{MemoryStore, MemoryUsers};
pub use tokens::{
    AccessRecord, CodeRecord, Exchange, NewTokens, PurgeCounts, RefreshRecord, Rotation, TokenStore,
};
