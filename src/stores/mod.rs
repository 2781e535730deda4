//! The storage traits the host implements, and the stores we ship.
//!
//! Every method is a protocol step with its atomicity in the contract; see
//! `docs/implementing-a-store.md`.

mod clients;
#[cfg(feature = "conformance")]
pub mod conformance;
mod consents;
mod faulty;
pub mod memory;
mod memory_keys;
pub(crate) mod passwords;
mod requests;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
mod tokens;

#[cfg(feature = "postgres")]
pub use sql::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sql::SqliteStore;

pub use clients::ClientStore;
pub use consents::{Consent, ConsentStore};
pub use faulty::{Fault, FaultyStore, StoreOp};
pub use memory::{MemoryStore, MemoryUsers};
pub use memory_keys::MemoryKeys;
pub use passwords::PasswordVerifier;
pub use requests::{AuthorizationRequestStore, SuspendedRequest};
pub use tokens::{
    AccessRecord, CodeRecord, Exchange, NewTokens, PurgeCounts, RefreshRecord, Rotation, TokenStore,
};
