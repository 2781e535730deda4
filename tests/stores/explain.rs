//! Query plans of every statement the SQL stores issue (issue 20 part 4):
//! no statement reads a whole table where a key or an expiry is given.
//!
//! The statements are not listed by hand: the whole conformance suite runs
//! on a store whose connections log each statement they run at TRACE level
//! (sqlx's `sqlx::query` target), which nothing else in this binary uses,
//! and a process-wide `tracing` subscriber collects them. So the hot paths,
//! revocations and purges are checked as the store really issues them, and
//! a statement added later is checked without anyone listing it. Each is
//! then explained on a fresh database: `EXPLAIN QUERY PLAN` on SQLite (no
//! `SCAN` of a table without an index), `EXPLAIN` of its generic plan with
//! `enable_seqscan = off` on PostgreSQL (no `Seq Scan`: the planner falls
//! back to one only where no index serves). Run with `--nocapture` to print
//! every plan (docs/sql-stores.md lists them).

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The statements logged at TRACE since the last [`take`].
static CAPTURED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// One workload at a time: the capture cannot tell two apart.
static RUNNING: Mutex<()> = Mutex::new(());

/// Collects the text of every statement sqlx logs at TRACE level.
struct Capture;

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query" && *metadata.level() == tracing::Level::TRACE
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // sqlx logs a statement of more than four words in full as
        // `db.statement`, a shorter one as its `summary` alone.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        CAPTURED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql.trim().to_owned());
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

/// Installs [`Capture`] (once per process) and waits for the other
/// workload to finish.
fn start() -> MutexGuard<'static, ()> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        tracing::subscriber::set_global_default(Capture)
            .expect("nothing else in this binary sets a global subscriber");
    });
    let guard = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    take();
    guard
}

/// The data statements captured since the last call (not the migrator's,
/// not `BEGIN`/`COMMIT`).
fn take() -> Vec<String> {
    let all = std::mem::take(&mut *CAPTURED.lock().unwrap_or_else(PoisonError::into_inner));
    all.into_iter()
        .filter(|s| {
            let verb = s
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(&verb.as_str())
                && s.contains("portcullis_")
                && !s.contains("portcullis_schema_migrations")
        })
        .collect()
}

/// Whole-table reads that are the statement's purpose: listing every client
/// (`ClientAdmin::clients`) and every signing key (`KeyProvider::keys`).
fn lists_a_whole_table(statement: &str) -> bool {
    statement.ends_with("FROM portcullis_keys")
        || statement.ends_with("FROM portcullis_clients c ORDER BY c.client_id")
}

/// A statement no index serves (`scope` has none): each test checks that
/// its detector flags it, so a detector that flags nothing cannot pass.
const UNINDEXED: &str = "SELECT hash FROM portcullis_tokens WHERE scope = $1";

/// The whole-table reads in the `EXPLAIN QUERY PLAN` rows of `statement`:
/// a `SCAN` of a table without an index (a `SCAN` of a subquery's result,
/// named by a `CO-ROUTINE` or `MATERIALIZE` row, or of an `INSERT`'s
/// `VALUES` rows, reads no table).
fn sqlite_scans(statement: &str, details: &[String]) -> Vec<String> {
    let subqueries: Vec<&str> = details
        .iter()
        .filter_map(|d| {
            d.strip_prefix("CO-ROUTINE ")
                .or_else(|| d.strip_prefix("MATERIALIZE "))
        })
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .collect();
    details
        .iter()
        .filter(|d| {
            d.strip_prefix("SCAN ").is_some_and(|rest| {
                let name = rest.split_whitespace().next().unwrap_or("");
                // `SCAN 2-ROW VALUES CLAUSE`: the rows of a multi-row
                // `INSERT` (the group commit), no table.
                !d.contains("INDEX")
                    && name != "CONSTANT"
                    && !d.ends_with("-ROW VALUES CLAUSE")
                    && !subqueries.contains(&name)
            })
        })
        .filter(|_| !lists_a_whole_table(statement))
        .map(|d| format!("{statement}\n    {d}"))
        .collect()
}

/// The whole-table reads in the `EXPLAIN` lines of `statement`.
fn postgres_scans(statement: &str, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains("Seq Scan on") && !lists_a_whole_table(statement))
        .map(|l| format!("{statement}\n    {}", l.trim()))
        .collect()
}

/// The largest `$n` of `statement`.
fn parameters(statement: &str) -> usize {
    let mut max = 0;
    let mut rest = statement;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        max = max.max(digits.parse().unwrap_or(0));
    }
    max
}

/// Prints the plans as rows of a table and fails on the scans found.
fn report(database: &str, plans: &[(String, Vec<String>)], scans: &[String]) {
    println!("\n{database}: {} statements", plans.len());
    for (statement, plan) in plans {
        println!("| `{statement}` | {} |", plan.join("; "));
    }
    assert!(
        scans.is_empty(),
        "{database}: statements that read a whole table:\n{}",
        scans.join("\n")
    );
    assert!(
        plans.len() >= 40,
        "{database}: only {} statements captured: is the workload running?",
        plans.len()
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::str::FromStr as _;
    use std::time::Duration;

    use portcullis::stores::SqliteStore;
    use sqlx::ConnectOptions as _;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    /// A store on a fresh file; `trace`: its statements are captured.
    async fn open(trace: bool) -> SqliteStore {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-explain");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!(
            "{}-{}.db",
            std::process::id(),
            crate::grants::fresh_hash()
        ));
        let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        if trace {
            options = options
                .log_statements("trace".parse().unwrap())
                .log_slow_statements("trace".parse().unwrap(), Duration::from_secs(3600));
        }
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        let store = SqliteStore::from_pool(pool).with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        store
    }

    pub(super) async fn traced() -> SqliteStore {
        open(true).await
    }

    mod workload {
        use super::traced;

        portcullis::store_conformance!(
            #[ignore = "the workload of the EXPLAIN test, which runs it"]
            traced =>
            ClientStore, ClientAdmin, TokenStore, TokenAdmin, ConsentStore, ConsentAdmin, ReplayCache,
            AuthorizationRequestStore, KeyProvider, DeviceStore, DevicePurge);

        pub(super) fn run() {
            client_store::run_all().unwrap();
            client_admin::run_all().unwrap();
            token_store::run_all().unwrap();
            token_admin::run_all().unwrap();
            consent_store::run_all().unwrap();
            consent_admin::run_all().unwrap();
            replay_cache::run_all().unwrap();
            authorization_request_store::run_all().unwrap();
            key_provider::run_all().unwrap();
            device_store::run_all().unwrap();
            device_purge::run_all().unwrap();
        }
    }

    /// `EXPLAIN QUERY PLAN` of every statement: no `SCAN` of a table
    /// without an index (a `SCAN` of a subquery's result is no table read).
    #[test]
    fn every_statement_reads_through_an_index() {
        let _running = start();
        workload::run();
        let statements = take();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = open(false).await;
            let explain = |statement: String| {
                let pool = store.pool().clone();
                async move {
                    let rows = sqlx::raw_sql(&format!("EXPLAIN QUERY PLAN {statement}"))
                        .fetch_all(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {statement}: {e}"));
                    let details: Vec<String> = rows
                        .iter()
                        .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                        .collect();
                    (statement, details)
                }
            };
            let (bad, details) = explain(UNINDEXED.to_owned()).await;
            assert_eq!(sqlite_scans(&bad, &details).len(), 1, "{details:?}");
            let mut plans = Vec::new();
            let mut scans = Vec::new();
            for statement in statements {
                let (statement, details) = explain(statement).await;
                scans.extend(sqlite_scans(&statement, &details));
                plans.push((statement, details));
            }
            report("SQLite", &plans, &scans);
        });
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::str::FromStr as _;
    use std::time::Duration;

    use portcullis::stores::PostgresStore;
    use sqlx::ConnectOptions as _;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::*;

    /// The workload's database: one empty schema, created once (the
    /// clauses run one after another).
    static URL: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();

    pub(super) async fn traced() -> Option<PostgresStore> {
        let url = URL
            .get_or_init(crate::postgres::fresh_database_url)
            .await
            .clone()?;
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .log_statements("trace".parse().unwrap())
            .log_slow_statements("trace".parse().unwrap(), Duration::from_secs(3600));
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap();
        let store = PostgresStore::from_pool(pool).with_purge_batch(crate::PURGE_BATCH);
        store.migrate().await.unwrap();
        Some(store)
    }

    mod workload {
        use super::traced;

        portcullis::store_conformance!(
            #[ignore = "the workload of the EXPLAIN test, which runs it"]
            optional traced =>
            ClientStore, ClientAdmin, TokenStore, TokenAdmin, ConsentStore, ConsentAdmin, ReplayCache,
            AuthorizationRequestStore, KeyProvider, DeviceStore, DevicePurge);

        pub(super) fn run() {
            client_store::run_all().unwrap();
            client_admin::run_all().unwrap();
            token_store::run_all().unwrap();
            token_admin::run_all().unwrap();
            consent_store::run_all().unwrap();
            consent_admin::run_all().unwrap();
            replay_cache::run_all().unwrap();
            authorization_request_store::run_all().unwrap();
            key_provider::run_all().unwrap();
            device_store::run_all().unwrap();
            device_purge::run_all().unwrap();
        }
    }

    /// `EXPLAIN` of the generic plan of every statement (its parameters
    /// unknown, as a prepared statement's are) with sequential scans
    /// priced out: no `Seq Scan` remains where an index could serve.
    #[test]
    #[cfg_attr(
        portcullis_no_postgres,
        ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
    )]
    fn every_statement_reads_through_an_index() {
        let _running = start();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let Some(url) = runtime.block_on(crate::postgres::fresh_database_url()) else {
            return;
        };
        workload::run();
        let statements = take();
        runtime.block_on(async {
            let store = PostgresStore::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let mut conn = store.pool().acquire().await.unwrap();
            sqlx::raw_sql("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let mut plans = Vec::new();
            let mut scans = Vec::new();
            let mut first = true;
            for statement in std::iter::once(UNINDEXED.to_owned()).chain(statements) {
                sqlx::raw_sql(&format!("PREPARE explained AS {statement}"))
                    .execute(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("PREPARE {statement}: {e}"));
                let nulls = vec!["NULL"; parameters(&statement)].join(", ");
                let execute = if nulls.is_empty() {
                    "EXPLAIN EXECUTE explained".to_owned()
                } else {
                    format!("EXPLAIN EXECUTE explained({nulls})")
                };
                let rows = sqlx::raw_sql(&execute)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("{execute} of {statement}: {e}"));
                sqlx::raw_sql("DEALLOCATE explained")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                let lines: Vec<String> = rows
                    .iter()
                    .map(|r| sqlx::Row::get::<String, _>(r, "QUERY PLAN"))
                    .collect();
                if std::mem::take(&mut first) {
                    assert_eq!(postgres_scans(&statement, &lines).len(), 1, "{lines:?}");
                    continue;
                }
                scans.extend(postgres_scans(&statement, &lines));
                let shown: Vec<String> = lines
                    .iter()
                    .map(|l| l.trim().trim_start_matches("-> ").to_owned())
                    .filter(|l| l.contains("Scan") || l.contains("Conflict Arbiter"))
                    .map(|l| l.split("  (cost").next().unwrap_or(&l).to_owned())
                    .collect();
                plans.push((statement, shown));
            }
            report("PostgreSQL", &plans, &scans);
        });
    }
}
