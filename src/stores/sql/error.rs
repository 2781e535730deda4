//! sqlx's failures as the crate's [`StoreError`]: the one place the core's
//! error type meets the SQL driver, so `?` works on sqlx calls in the SQL
//! stores (and the operator CLI) without `crate::error` knowing sqlx.

use crate::error::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::new(e)
    }
}
