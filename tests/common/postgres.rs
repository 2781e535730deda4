//! PostgreSQL for the tests that need it, on any machine:
//!
//! 1. `PORTCULLIS_TEST_POSTGRES_URL` set: that database (shared; tests use
//!    fresh random ids).
//! 2. Otherwise, where PostgreSQL's server binaries (`initdb`, `pg_ctl`,
//!    `postgres`) are found: a throwaway cluster, one per test process, in a
//!    temporary directory, on a free 127.0.0.1 port with `trust`
//!    authentication. As root (CI) it runs as the `postgres` user, or
//!    `nobody`, since `initdb` refuses root. A reaper process stops it and
//!    removes the directory when the test process exits, however it exits
//!    (the test harness runs no static destructors).
//! 3. Otherwise the test is ignored: `build.rs` finds no binaries either and
//!    sets the cfg `portcullis_no_postgres`, under which the PostgreSQL tests
//!    carry `#[ignore = "no PostgreSQL here: …"]`. Should this helper still be
//!    reached without PostgreSQL, it skips loudly: a `SKIPPED` line goes
//!    straight to stderr (not captured by the harness). With
//!    `PORTCULLIS_REQUIRE_POSTGRES=1` (`.ci/run` sets it) the test fails
//!    instead.
//!
//! The binaries are looked for in `PORTCULLIS_PG_BIN` when it is set (only
//! there: `PORTCULLIS_PG_BIN=/nonexistent` simulates a machine without
//! PostgreSQL), else on `PATH`, then in `/usr/lib/postgresql/<version>/bin`
//! (Debian, Ubuntu; newest first) and `/usr/pgsql-<version>/bin` (RHEL).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::server::{self, Unavailable};

/// PostgreSQL's names and variables, for the shared messages.
const POSTGRES: server::Database = server::Database {
    name: "PostgreSQL",
    server: "PostgreSQL",
    install: "Install PostgreSQL's server binaries (Debian: apt-get install postgresql)",
    url_var: "PORTCULLIS_TEST_POSTGRES_URL",
    require_var: "PORTCULLIS_REQUIRE_POSTGRES",
};

/// The database URL for this test, or `None` when the test must be skipped
/// (it has already said so on stderr). Panics when PostgreSQL is required
/// but unavailable, or installed but fails to start.
///
/// ```ignore
/// let Some(url) = postgres::url() else { return };
/// ```
pub(crate) fn url() -> Option<String> {
    static DATABASE: OnceLock<Result<String, Unavailable>> = OnceLock::new();
    POSTGRES.url_or_skip(DATABASE.get_or_init(database))
}

/// A URL of the test database whose connections see only a new, empty
/// schema of their own (through `search_path`), or `None` as [`url`] gives
/// it: an isolated database for a test that asserts on effects no other
/// test may disturb, above all `purge_expired`, which removes what it finds
/// expired or member-less in the whole database (the tests share one and
/// run in parallel). A schema, not `CREATE DATABASE`, so a
/// `PORTCULLIS_TEST_POSTGRES_URL` role needs no CREATEDB; on such a
/// database the `portcullis_isolated_*` schemas stay after the run (a
/// throwaway cluster goes whole).
///
/// ```ignore
/// let Some(url) = postgres::fresh_database_url().await else { return };
/// let store = PostgresStore::connect(&url).await.unwrap();
/// ```
#[allow(dead_code)] // Not every test binary that includes this file uses it.
pub(crate) async fn fresh_database_url() -> Option<String> {
    let url = url()?;
    // Randomly keyed: no schema of an earlier run with the same process id
    // is reused.
    let schema = server::isolated_name();
    let admin = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    // `options[search_path]=…`, percent-encoded.
    Some(format!("{url}{separator}options%5Bsearch_path%5D={schema}"))
}

fn database() -> Result<String, Unavailable> {
    if let Some(url) = POSTGRES.env_url() {
        return Ok(url);
    }
    let bin = binaries().ok_or_else(|| {
        Unavailable::Missing(match std::env::var_os("PORTCULLIS_PG_BIN") {
            Some(dir) => format!(
                "PORTCULLIS_TEST_POSTGRES_URL is unset and PORTCULLIS_PG_BIN={} holds no \
                 initdb, pg_ctl and postgres",
                Path::new(&dir).display()
            ),
            None => "PORTCULLIS_TEST_POSTGRES_URL is unset and no initdb, pg_ctl and postgres \
                     were found on PATH, in /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin"
                .to_owned(),
        })
    })?;
    throwaway::start(&bin)
        .map(|c| c.url)
        .map_err(Unavailable::Broken)
}

/// A throwaway cluster of the calling test's own, for a test that needs
/// exclusive control of the server (`Cluster::stop`, `Cluster::start`: a
/// database restart), or `None` when the test must be skipped (said on
/// stderr, as [`url`] does). Needs PostgreSQL's server binaries even when
/// `PORTCULLIS_TEST_POSTGRES_URL` is set. Removed when the test process
/// exits.
#[allow(dead_code)]
pub(crate) fn own_cluster() -> Option<Cluster> {
    let why = match binaries() {
        Some(bin) => match throwaway::start(&bin) {
            Ok(cluster) => return Some(cluster),
            Err(e) => panic!("PostgreSQL is installed but unusable: {e}"),
        },
        None => "no initdb, pg_ctl and postgres to start a cluster of its own",
    };
    // The same skip (or failure, when required) as `url`'s.
    if POSTGRES.required() {
        panic!("PORTCULLIS_REQUIRE_POSTGRES is set and there is no PostgreSQL: {why}");
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED a PostgreSQL test: {why}.\n"
    );
    None
}

/// A throwaway cluster: its URL, and how to stop and start it again.
#[allow(dead_code)]
pub(crate) struct Cluster {
    /// `postgres://portcullis@127.0.0.1:PORT/postgres`.
    pub(crate) url: String,
    #[cfg(unix)]
    control: throwaway::Control,
}

#[allow(dead_code)]
impl Cluster {
    /// Stops the server (fast shutdown: open connections are closed).
    pub(crate) fn stop(&self) {
        #[cfg(unix)]
        self.control
            .pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"]);
    }

    /// Starts it again, on the same port, and waits until it accepts.
    pub(crate) fn start(&self) {
        #[cfg(unix)]
        self.control.pg_ctl(&["start", "-w", "-t", "60"]);
    }
}

/// The first directory holding all three server binaries.
fn binaries() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"].iter().all(|b| {
            dir.join(format!("{b}{}", std::env::consts::EXE_SUFFIX))
                .is_file()
        })
    };
    if let Some(dir) = std::env::var_os("PORTCULLIS_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_all(&dir).then_some(dir);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for (parent, prefix, suffix) in [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
    ] {
        let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let version = name.strip_prefix(prefix)?;
                let key = version
                    .split('.')
                    .map(str::parse)
                    .collect::<Result<Vec<u32>, _>>()
                    .ok()?;
                Some((key, e.path().join(suffix)))
            })
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, dir)| dir));
    }
    candidates.into_iter().find(|dir| has_all(dir))
}

#[cfg(not(unix))]
mod throwaway {
    pub(super) fn start(_bin: &std::path::Path) -> Result<super::Cluster, String> {
        Err("a throwaway cluster is only started on Unix; set PORTCULLIS_TEST_POSTGRES_URL".into())
    }
}

#[cfg(unix)]
mod throwaway {
    use std::io::Write as _;
    use std::path::Path;
    use std::process::Command;

    use crate::server::{Scratch, free_port};

    /// What stops and starts a cluster: its tools, and its directory and
    /// owner.
    pub(crate) struct Control {
        bin: std::path::PathBuf,
        scratch: Scratch,
    }

    impl Control {
        /// Runs `pg_ctl ARGS -D data -l log`; panics with its output on failure.
        pub(crate) fn pg_ctl(&self, args: &[&str]) {
            let dir = &self.scratch.dir;
            self.scratch
                .run(
                    Command::new(self.bin.join("pg_ctl"))
                        .args(args)
                        .arg("-D")
                        .arg(dir.join("data"))
                        .arg("-l")
                        .arg(dir.join("server.log")),
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// A new cluster in a directory of its own, running as the `postgres`
    /// user (or `nobody`) when root; the reaper stops it with SIGINT (fast
    /// shutdown).
    pub(super) fn start(bin: &Path) -> Result<super::Cluster, String> {
        let scratch = Scratch::new("portcullis-pg", "postgres", "data/postmaster.pid", "INT")?;
        let dir = &scratch.dir;
        let data = dir.join("data");
        scratch.run(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
            "-U",
            "portcullis",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        ]))?;
        let mut last = String::new();
        // A port found free may be taken before the server binds it: retry.
        for _ in 0..3 {
            let port = free_port()?;
            let settings = format!(
                "\n# portcullis tests\nport = {port}\nlisten_addresses = '127.0.0.1'\n\
                 unix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n\
                 full_page_writes = off\nmax_connections = 200\n",
                dir.display().to_string().replace('\'', "''")
            );
            std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .and_then(|mut f| f.write_all(settings.as_bytes()))
                .map_err(|e| format!("cannot configure the cluster: {e}"))?;
            let started = scratch.run(
                Command::new(bin.join("pg_ctl"))
                    .args(["start", "-w", "-t", "60", "-D"])
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.join("server.log")),
            );
            match started {
                Ok(()) => {
                    return Ok(super::Cluster {
                        url: format!("postgres://portcullis@127.0.0.1:{port}/postgres"),
                        control: Control {
                            bin: bin.to_path_buf(),
                            scratch,
                        },
                    });
                }
                Err(e) => {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    last = format!("{e}\nserver log:\n{log}");
                }
            }
        }
        Err(last)
    }
}
