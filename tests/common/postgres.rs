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

/// The database URL for this test, or `None` when the test must be skipped
/// (it has already said so on stderr). Panics when PostgreSQL is required
/// but unavailable, or installed but fails to start.
///
/// ```ignore
/// let Some(url) = postgres::url() else { return };
/// ```
pub(crate) fn url() -> Option<String> {
    static DATABASE: OnceLock<Result<String, Unavailable>> = OnceLock::new();
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("a PostgreSQL test")
        .to_owned();
    match DATABASE.get_or_init(database) {
        Ok(url) => Some(url.clone()),
        Err(Unavailable::Broken(why)) => panic!("PostgreSQL is installed but unusable: {why}"),
        Err(Unavailable::Missing(why)) => {
            if required() {
                panic!(
                    "PORTCULLIS_REQUIRE_POSTGRES is set and there is no PostgreSQL: {why}. \
                     Install PostgreSQL's server binaries (Debian: apt-get install postgresql) \
                     or set PORTCULLIS_TEST_POSTGRES_URL."
                );
            }
            let banner = "!".repeat(78);
            // Straight to the process's stderr: the harness captures only
            // `print!`/`eprint!`, so this shows even though the test passes.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n{banner}\nSKIPPED {test}: no PostgreSQL ({why}).\n\
                 Install PostgreSQL's server binaries (Debian: apt-get install postgresql) or set\n\
                 PORTCULLIS_TEST_POSTGRES_URL; PORTCULLIS_REQUIRE_POSTGRES=1 makes this a failure.\n\
                 {banner}"
            );
            None
        }
    }
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
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = url()?;
    let schema = format!(
        "portcullis_isolated_{}_{}_{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        // Randomly keyed: no schema of an earlier run with the same process
        // id is reused.
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0)
    );
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

fn required() -> bool {
    std::env::var("PORTCULLIS_REQUIRE_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[derive(Debug)]
enum Unavailable {
    /// No URL and no server binaries: skip (or fail when required).
    Missing(String),
    /// Binaries found but the cluster did not start: always a failure.
    Broken(String),
}

fn database() -> Result<String, Unavailable> {
    if let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
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
    if required() {
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
    use std::os::unix::fs::DirBuilderExt as _;
    use std::os::unix::process::CommandExt as _;
    use std::path::Path;
    use std::process::{ChildStdin, Command, Stdio};
    use std::sync::Mutex;

    /// The write ends of the reapers' stdin (one per cluster). Never closed
    /// by us: the kernel closes them when this process exits, which is the
    /// reapers' signal.
    static REAPER: Mutex<Vec<ChildStdin>> = Mutex::new(Vec::new());

    /// What stops and starts a cluster: its tools, data and owner.
    pub(crate) struct Control {
        bin: std::path::PathBuf,
        dir: std::path::PathBuf,
        owner: Option<Owner>,
    }

    impl Control {
        /// Runs `pg_ctl ARGS -D data -l log`; panics with its output on failure.
        pub(crate) fn pg_ctl(&self, args: &[&str]) {
            let data = self.dir.join("data");
            let log = self.dir.join("server.log");
            run(
                self.owner,
                &self.dir,
                Command::new(self.bin.join("pg_ctl"))
                    .args(args)
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(&log),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Waits for its stdin to close (this test process has exited), stops
    /// the cluster (fast shutdown, then SIGKILL after 10 s) and removes its
    /// directory. In its own process group, so Ctrl-C does not kill it first.
    const REAPER_SCRIPT: &str = r#"
cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -INT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;

    /// Who runs the cluster: ourselves, or an unprivileged user when root.
    #[derive(Clone, Copy)]
    struct Owner {
        uid: u32,
        gid: u32,
    }

    pub(super) fn start(bin: &Path) -> Result<super::Cluster, String> {
        let owner = if is_root()? {
            Some(
                ["postgres", "nobody"]
                    .iter()
                    .find_map(|name| user(name))
                    .ok_or(
                        "running as root, and neither a `postgres` nor a `nobody` user exists",
                    )?,
            )
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "portcullis-pg-{}-{}",
            std::process::id(),
            // Randomly keyed: a stale directory of an earlier process with
            // the same id is not reused.
            std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // The reaper first, so the directory goes even if we fail below.
        let reaper = Command::new("/bin/sh")
            .args(["-c", REAPER_SCRIPT, "portcullis-pg-reaper"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the cleanup process: {e}"))?;
        REAPER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(reaper.stdin);
        if let Some(o) = owner {
            std::os::unix::fs::chown(&dir, Some(o.uid), Some(o.gid))
                .map_err(|e| format!("cannot hand {} to uid {}: {e}", dir.display(), o.uid))?;
        }
        let data = dir.join("data");
        run(
            owner,
            &dir,
            Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "-U",
                "portcullis",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "-N",
            ]),
        )?;
        let mut last = String::new();
        // A port found free may be taken before the server binds it: retry.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
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
            let started = run(
                owner,
                &dir,
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
                            dir,
                            owner,
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

    /// Runs a PostgreSQL tool as the cluster's owner; its output on failure.
    fn run(owner: Option<Owner>, dir: &Path, cmd: &mut Command) -> Result<(), String> {
        cmd.current_dir(dir).stdin(Stdio::null());
        if let Some(o) = owner {
            cmd.uid(o.uid).gid(o.gid);
        }
        let shown = format!("{cmd:?}");
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{shown} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn is_root() -> Result<bool, String> {
        let out = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run `id -u`: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
    }

    /// A user's uid and gid from /etc/passwd.
    fn user(name: &str) -> Option<Owner> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let mut f = line.split(':');
            (f.next()? == name).then_some(())?;
            let _password = f.next()?;
            Some(Owner {
                uid: f.next()?.parse().ok()?,
                gid: f.next()?.parse().ok()?,
            })
        })
    }
}
