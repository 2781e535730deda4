//! Things that weaken security and exist only for tests and special cases.
//! Everything here is named so that a reviewer finds it with one grep.

pub use crate::random::DeterministicRandom;
