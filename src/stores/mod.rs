//! The storage traits the host implements, and the stores we ship.
//!
//! The server needs [`ClientStore`] and [`TokenStore`], the protocol steps,
//! each with its atomicity in the contract. The rest is needed only for
//! what uses it: [`ConsentStore`] to remember consent, [`ReplayCache`] for
//! JWT client authentication (`Config::jwt_client_authentication`),
//! [`PasswordVerifier`] for the password grant. The `*Admin` traits
//! ([`ClientAdmin`], [`TokenAdmin`], [`ConsentAdmin`]) are operator work
//! that the server never calls: the `portcullis` command and a host's own
//! admin pages and jobs use them. No two traits share a method name, so one
//! type can implement them all. See `docs/implementing-a-store.md`.

mod clients;
#[cfg(feature = "conformance")]
pub mod conformance;
mod consents;
mod devices;
mod faulty;
pub mod memory;
mod memory_keys;
mod memory_users;
pub(crate) mod passwords;
mod replay;
mod requests;
mod sharded;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod sql;
mod tokens;

#[cfg(feature = "postgres")]
pub use sql::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sql::SqliteStore;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub use sql::{DEFAULT_PURGE_BATCH, SqlOptionsError, SqlPoolOptions};
#[cfg(feature = "mysql")]
pub use sql::{MYSQL_SESSION_SETTINGS, MySqlStore};

pub use clients::{ClientAdmin, ClientStore};
pub use consents::{Consent, ConsentAdmin, ConsentStore};
pub use devices::{
    DeviceDecision, DevicePoll, DeviceRecord, DeviceState, DeviceStore, SLOW_DOWN_STEP,
};
pub use faulty::{Fault, FaultyStore, StoreOp};
pub use memory::MemoryStore;
pub use memory_keys::MemoryKeys;
pub use memory_users::MemoryUsers;
pub use passwords::PasswordVerifier;
pub use replay::{ReplayCache, ReplayScope};
pub use requests::{AuthorizationRequestStore, SuspendedRequest};
pub use sharded::ShardedMemoryStore;
pub use tokens::{
    AccessRecord, CodeRecord, Exchange, NewTokens, OFFLINE_ACCESS, PurgeCounts, RefreshRecord,
    Rotation, TokenAdmin, TokenStore,
};
// Refresh retry window (issue 18).
pub use tokens::{Replacement, Successor};
