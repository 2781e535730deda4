//! Purge in bounded batches (issue 20 part 4), on the SQL stores: whatever
//! the batch size, `purge_expired` and `purge_replays` remove every expired
//! row (and every grant row with nothing left), count exactly what they
//! removed, and keep everything live; on PostgreSQL no `DELETE` removes
//! more than a batch, and a purge never waits for a row a step holds. Each
//! test has a database of its own, so the counts are exact.

use std::num::NonZeroU32;

use portcullis::{GrantId, ReplayScope, SuspendedRequest, UnixTime};

use crate::grants::{NOW, code, fresh_hash, tokens};

/// Expired rows of each kind: more than several batches of the sizes below.
const EXPIRED: u64 = 10;

/// When the purges run: after every expired row's `expires_at`, before
/// every live one's.
const PURGE_AT: u64 = NOW + 100;

fn batch(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// Fills `$store` with [`EXPIRED`] expired codes, access and refresh tokens
/// (each pair a grant of its own), [`EXPIRED`] member-less revoked grant
/// rows, 7 expired replay ids and 4 expired suspended requests, beside one
/// live row of each (a live code exchanged into a live grant, with a row).
macro_rules! fill {
    ($s:expr) => {{
        use portcullis::{AuthorizationRequestStore as _, ReplayCache as _, TokenStore as _};
        let s = $s;
        let client = portcullis::ClientId::parse("purge-client").unwrap();
        let user = portcullis::UserId::parse("purge-user").unwrap();
        for _ in 0..EXPIRED {
            s.insert_code(code(&client, &user)).await.unwrap();
            let mut t = tokens(None, &client, true);
            t.access.expires_at = UnixTime::from_secs(NOW + 50);
            if let Some(r) = t.refresh.as_mut() {
                r.expires_at = UnixTime::from_secs(NOW + 50);
            }
            s.issue(t).await.unwrap();
            s.revoke_grant(&GrantId::derive(&fresh_hash()))
                .await
                .unwrap();
        }
        let mut live = code(&client, &user);
        live.expires_at = UnixTime::from_secs(NOW + 3600);
        s.insert_code(live.clone()).await.unwrap();
        s.exchange_code(&live.hash, tokens(Some(live.grant), &client, true))
            .await
            .unwrap();
        let scope = ReplayScope::ClientAssertion(client.clone());
        for i in 0..7 {
            s.first_use(&scope, &format!("old-{i}"), UnixTime::from_secs(NOW + 50))
                .await
                .unwrap();
        }
        s.first_use(&scope, "live", UnixTime::from_secs(NOW + 3600))
            .await
            .unwrap();
        for expires in [50, 50, 50, 50, 3600] {
            s.insert_request(SuspendedRequest {
                hash: fresh_hash(),
                payload: "{}".to_owned(),
                expires_at: UnixTime::from_secs(NOW + expires),
            })
            .await
            .unwrap();
        }
    }};
}

/// Rows of `$table` in `$store`'s database.
macro_rules! count {
    ($s:expr, $table:literal) => {{
        let n: (i64,) = sqlx::query_as(concat!("SELECT COUNT(*) FROM ", $table))
            .fetch_one($s.pool())
            .await
            .unwrap();
        n.0
    }};
}

/// Purges `$store` (filled by [`fill!`]) and checks the exact counts and
/// what is left.
macro_rules! purge_and_check {
    ($s:expr, $batch:expr) => {{
        use portcullis::{PurgeCounts, ReplayCache as _, TokenAdmin as _};
        let s = $s;
        let when = UnixTime::from_secs(PURGE_AT);
        let counts = s.purge_expired(when).await.unwrap();
        assert_eq!(
            counts,
            PurgeCounts {
                codes: EXPIRED,
                access_tokens: EXPIRED,
                refresh_tokens: EXPIRED
            },
            "batch of {}",
            $batch
        );
        assert_eq!(
            s.purge_replays(when).await.unwrap(),
            7,
            "batch of {}",
            $batch
        );
        // One live row of each is left; of the grant rows, the live grant's.
        assert_eq!(count!(s, "portcullis_codes"), 1);
        assert_eq!(count!(s, "portcullis_tokens"), 2);
        assert_eq!(count!(s, "portcullis_grants"), 1);
        assert_eq!(count!(s, "portcullis_grants WHERE revoked = FALSE"), 1);
        assert_eq!(count!(s, "portcullis_assertion_jtis"), 1);
        assert_eq!(count!(s, "portcullis_authorization_requests"), 1);
        // Nothing left to purge.
        assert_eq!(s.purge_expired(when).await.unwrap(), PurgeCounts::default());
        assert_eq!(s.purge_replays(when).await.unwrap(), 0);
    }};
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use portcullis::stores::SqliteStore;

    async fn store(rows: u32) -> SqliteStore {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-purge-batches");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}-{}.db", std::process::id(), fresh_hash()));
        let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap()
            .with_purge_batch(batch(rows));
        store.migrate().await.unwrap();
        store
    }

    /// Batches of one row, of a size that divides the rows (a last, empty
    /// batch), of one that does not, and the default (one batch).
    #[tokio::test]
    async fn every_batch_size_removes_every_expired_row_and_counts_it() {
        for rows in [1, 3, 5, 1000] {
            let s = store(rows).await;
            assert_eq!(s.purge_batch().get(), rows);
            fill!(&s);
            purge_and_check!(&s, rows);
            s.pool().close().await;
        }
    }

    #[tokio::test]
    async fn the_default_batch_is_a_thousand_rows() {
        let s = store(1).await;
        let s = SqliteStore::from_pool(s.pool().clone());
        assert_eq!(s.purge_batch(), portcullis::stores::DEFAULT_PURGE_BATCH);
        assert_eq!(s.purge_batch().get(), 1000);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::time::Duration;

    use super::*;
    use portcullis::stores::PostgresStore;

    /// A store on a database of its own, or `None` (no PostgreSQL here).
    async fn store(rows: u32) -> Option<PostgresStore> {
        let url = crate::postgres::fresh_database_url().await?;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap()
            .with_purge_batch(batch(rows));
        store.migrate().await.unwrap();
        Some(store)
    }

    #[tokio::test]
    #[cfg_attr(
        portcullis_no_postgres,
        ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
    )]
    async fn every_batch_size_removes_every_expired_row_and_counts_it() {
        for rows in [1, 3, 5, 1000] {
            let Some(s) = store(rows).await else { return };
            fill!(&s);
            purge_and_check!(&s, rows);
            s.pool().close().await;
        }
    }

    /// No `DELETE` of a purge removes more than a batch: a statement-level
    /// trigger logs how many rows each `DELETE` removed.
    #[tokio::test]
    #[cfg_attr(
        portcullis_no_postgres,
        ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
    )]
    async fn no_statement_removes_more_than_a_batch() {
        let Some(s) = store(3).await else { return };
        fill!(&s);
        sqlx::raw_sql(
            "CREATE TABLE purge_log (id BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, n BIGINT NOT NULL);
             CREATE FUNCTION purge_log_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO purge_log (tbl, n) SELECT TG_TABLE_NAME, COUNT(*) FROM old_rows; RETURN NULL; END $$;
             CREATE TRIGGER log_codes AFTER DELETE ON portcullis_codes REFERENCING OLD TABLE AS old_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION purge_log_deletes();
             CREATE TRIGGER log_tokens AFTER DELETE ON portcullis_tokens REFERENCING OLD TABLE AS old_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION purge_log_deletes();
             CREATE TRIGGER log_grants AFTER DELETE ON portcullis_grants REFERENCING OLD TABLE AS old_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION purge_log_deletes();
             CREATE TRIGGER log_jtis AFTER DELETE ON portcullis_assertion_jtis REFERENCING OLD TABLE AS old_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION purge_log_deletes();",
        )
        .execute(s.pool())
        .await
        .unwrap();
        purge_and_check!(&s, 3);
        let log: Vec<(String, i64)> =
            sqlx::query_as("SELECT tbl, n FROM purge_log WHERE n > 0 ORDER BY id")
                .fetch_all(s.pool())
                .await
                .unwrap();
        let of = |table: &str| -> Vec<i64> {
            log.iter()
                .filter(|(t, _)| t == table)
                .map(|(_, n)| *n)
                .collect()
        };
        assert_eq!(of("portcullis_codes"), [3, 3, 3, 1]);
        // Access tokens, then refresh tokens.
        assert_eq!(of("portcullis_tokens"), [3, 3, 3, 1, 3, 3, 3, 1]);
        assert_eq!(of("portcullis_assertion_jtis"), [3, 3, 1]);
        // Windows of three grant rows in `grant_id` order: the live row
        // keeps one window from removing a whole batch.
        let grants = of("portcullis_grants");
        assert!(grants.iter().all(|n| *n <= 3), "{grants:?}");
        assert_eq!(grants.iter().sum::<i64>(), 10, "{grants:?}");
    }

    /// A purge skips a row a step holds (`FOR UPDATE SKIP LOCKED`) instead
    /// of waiting for it, and removes it in a later purge.
    #[tokio::test]
    #[cfg_attr(
        portcullis_no_postgres,
        ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
    )]
    async fn a_purge_skips_a_locked_row_instead_of_waiting() {
        use portcullis::{TokenAdmin as _, TokenStore as _};
        let Some(s) = store(3).await else { return };
        let client = portcullis::ClientId::parse("purge-client").unwrap();
        let mut held = None;
        for _ in 0..5 {
            let mut t = tokens(None, &client, false);
            t.access.expires_at = UnixTime::from_secs(NOW + 50);
            held = Some(t.access.hash);
            s.issue(t).await.unwrap();
        }
        let held = held.unwrap();
        let mut step = s.pool().begin().await.unwrap();
        sqlx::query("SELECT 1 FROM portcullis_tokens WHERE hash = $1 FOR UPDATE")
            .bind(held.as_bytes().as_slice())
            .fetch_one(&mut *step)
            .await
            .unwrap();
        let when = UnixTime::from_secs(PURGE_AT);
        let counts = tokio::time::timeout(Duration::from_secs(30), s.purge_expired(when))
            .await
            .expect("the purge waited for a locked row")
            .unwrap();
        assert_eq!(counts.access_tokens, 4, "every unlocked expired row goes");
        step.rollback().await.unwrap();
        assert!(s.find_access(&held).await.unwrap().is_some());
        assert_eq!(s.purge_expired(when).await.unwrap().access_tokens, 1);
        assert!(s.find_access(&held).await.unwrap().is_none());
    }
}
