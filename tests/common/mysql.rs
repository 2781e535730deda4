//! MySQL/MariaDB for the tests that need it, on any machine:
//!
//! 1. `PORTCULLIS_TEST_MYSQL_URL` set: that database (shared; tests use
//!    fresh random ids).
//! 2. Otherwise, where MariaDB's server binaries (`mariadb-install-db` and
//!    `mariadbd`, or MySQL-era names `mysql_install_db` and `mysqld`) are
//!    found: a throwaway server, one per test process, in a temporary
//!    directory, on a free 127.0.0.1 port, with a password-less user
//!    `portcullis` and a database `portcullis`. As root (CI) it runs as the
//!    `mysql` user, or `nobody`. A reaper process stops it and removes the
//!    directory when the test process exits, however it exits (the test
//!    harness runs no static destructors).
//! 3. Otherwise the test is ignored: `build.rs` finds no binaries either and
//!    sets the cfg `portcullis_no_mysql`, under which the MySQL tests carry
//!    `#[ignore = "no MySQL here: …"]`. Should this helper still be reached
//!    without MariaDB, it skips loudly: a `SKIPPED` line goes straight to
//!    stderr (not captured by the harness). With `PORTCULLIS_REQUIRE_MYSQL=1`
//!    (`.ci/run` sets it) the test fails instead.
//!
//! The binaries are looked for in `PORTCULLIS_MYSQL_BIN` when it is set
//! (only there: `PORTCULLIS_MYSQL_BIN=/nonexistent` simulates a machine
//! without MariaDB), else on `PATH`, then in `/usr/sbin` and `/usr/bin`
//! (Debian puts `mariadbd` in `/usr/sbin`, often not on a user's `PATH`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The database URL for this test, or `None` when the test must be skipped
/// (it has already said so on stderr). Panics when MySQL is required but
/// unavailable, or installed but fails to start.
///
/// ```ignore
/// let Some(url) = mysql::url() else { return };
/// ```
pub(crate) fn url() -> Option<String> {
    static DATABASE: OnceLock<Result<String, Unavailable>> = OnceLock::new();
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("a MySQL test")
        .to_owned();
    match DATABASE.get_or_init(database) {
        Ok(url) => Some(url.clone()),
        Err(Unavailable::Broken(why)) => panic!("MariaDB is installed but unusable: {why}"),
        Err(Unavailable::Missing(why)) => {
            if required() {
                panic!(
                    "PORTCULLIS_REQUIRE_MYSQL is set and there is no MySQL: {why}. \
                     Install MariaDB's server (Debian: apt-get install mariadb-server) \
                     or set PORTCULLIS_TEST_MYSQL_URL."
                );
            }
            let banner = "!".repeat(78);
            // Straight to the process's stderr: the harness captures only
            // `print!`/`eprint!`, so this shows even though the test passes.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n{banner}\nSKIPPED {test}: no MySQL ({why}).\n\
                 Install MariaDB's server (Debian: apt-get install mariadb-server) or set\n\
                 PORTCULLIS_TEST_MYSQL_URL; PORTCULLIS_REQUIRE_MYSQL=1 makes this a failure.\n\
                 {banner}"
            );
            None
        }
    }
}

/// A URL of a new, empty database of its own on the test server, for a
/// test that asserts on what a purge removes (a purge removes whatever has
/// expired in the whole database, other tests' rows included). `None` as
/// for [`url`]. The database is left behind; the throwaway server goes with
/// it (on a `PORTCULLIS_TEST_MYSQL_URL` server it stays).
#[allow(dead_code)]
pub(crate) async fn fresh_database_url() -> Option<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = url()?;
    let name = format!(
        "portcullis_isolated_{}_{}_{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0)
    );
    let admin = sqlx::MySqlPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    admin.close().await;
    let mut parsed = url::Url::parse(&url).unwrap_or_else(|e| panic!("bad test URL: {e}"));
    parsed.set_path(&name);
    Some(parsed.to_string())
}

fn required() -> bool {
    std::env::var("PORTCULLIS_REQUIRE_MYSQL").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[derive(Debug)]
enum Unavailable {
    /// No URL and no server binaries: skip (or fail when required).
    Missing(String),
    /// Binaries found but the server did not start: always a failure.
    Broken(String),
}

fn database() -> Result<String, Unavailable> {
    if let Ok(url) = std::env::var("PORTCULLIS_TEST_MYSQL_URL")
        && !url.is_empty()
    {
        return Ok(url);
    }
    let bin = binaries().ok_or_else(|| {
        Unavailable::Missing(match std::env::var_os("PORTCULLIS_MYSQL_BIN") {
            Some(dir) => format!(
                "PORTCULLIS_TEST_MYSQL_URL is unset and PORTCULLIS_MYSQL_BIN={} holds no \
                 mariadb-install-db and mariadbd",
                Path::new(&dir).display()
            ),
            None => "PORTCULLIS_TEST_MYSQL_URL is unset and no mariadb-install-db and mariadbd \
                     were found on PATH, in /usr/sbin or /usr/bin"
                .to_owned(),
        })
    })?;
    throwaway::start(&bin).map_err(Unavailable::Broken)
}

/// The install script and the server, by either generation's names.
pub(crate) struct Binaries {
    install_db: PathBuf,
    server: PathBuf,
}

/// Where the binaries are: in `PORTCULLIS_MYSQL_BIN` alone when set, else
/// the first of `PATH`, `/usr/sbin`, `/usr/bin` holding each.
fn binaries() -> Option<Binaries> {
    let dirs: Vec<PathBuf> = match std::env::var_os("PORTCULLIS_MYSQL_BIN") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .collect(),
    };
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            dirs.iter()
                .map(|d| d.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
                .find(|p| p.is_file())
        })
    };
    Some(Binaries {
        install_db: find(&["mariadb-install-db", "mysql_install_db"])?,
        server: find(&["mariadbd", "mysqld"])?,
    })
}

#[cfg(not(unix))]
mod throwaway {
    pub(super) fn start(_bin: &super::Binaries) -> Result<String, String> {
        Err("a throwaway server is only started on Unix; set PORTCULLIS_TEST_MYSQL_URL".into())
    }
}

#[cfg(unix)]
mod throwaway {
    use std::os::unix::fs::DirBuilderExt as _;
    use std::os::unix::process::CommandExt as _;
    use std::path::Path;
    use std::process::{ChildStdin, Command, Stdio};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::Binaries;

    /// The write end of the reaper's stdin. Never closed by us: the kernel
    /// closes it when this process exits, which is the reaper's signal.
    static REAPER: Mutex<Option<ChildStdin>> = Mutex::new(None);

    /// Waits for its stdin to close (this test process has exited), stops
    /// the server (SIGTERM, a clean shutdown, then SIGKILL after 10 s) and
    /// removes its directory. In its own process group, so Ctrl-C does not
    /// kill it first.
    const REAPER_SCRIPT: &str = r#"
cat >/dev/null
pid=$(head -n 1 "$1/mysqld.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;

    /// Run at the server's start: the tests' user and database.
    const INIT: &str = "CREATE USER IF NOT EXISTS 'portcullis'@'127.0.0.1';\n\
        GRANT ALL PRIVILEGES ON *.* TO 'portcullis'@'127.0.0.1';\n\
        CREATE DATABASE IF NOT EXISTS portcullis;\n";

    /// Who runs the server: ourselves, or an unprivileged user when root.
    #[derive(Clone, Copy)]
    struct Owner {
        uid: u32,
        gid: u32,
    }

    pub(super) fn start(bin: &Binaries) -> Result<String, String> {
        let owner = if is_root()? {
            Some(
                ["mysql", "nobody"]
                    .iter()
                    .find_map(|name| user(name))
                    .ok_or("running as root, and neither a `mysql` nor a `nobody` user exists")?,
            )
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "portcullis-mysql-{}-{}",
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
            .args(["-c", REAPER_SCRIPT, "portcullis-mysql-reaper"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the cleanup process: {e}"))?;
        *REAPER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = reaper.stdin;
        std::fs::write(dir.join("init.sql"), INIT)
            .map_err(|e| format!("cannot write the init file: {e}"))?;
        if let Some(o) = owner {
            for path in [dir.clone(), dir.join("init.sql")] {
                std::os::unix::fs::chown(&path, Some(o.uid), Some(o.gid))
                    .map_err(|e| format!("cannot hand {} to uid {}: {e}", path.display(), o.uid))?;
            }
        }
        let data = dir.join("data");
        run(
            owner,
            &dir,
            Command::new(&bin.install_db)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ]),
        )?;
        let mut last = String::new();
        // A port found free may be taken before the server binds it: retry.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            let log = dir.join("server.log");
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new(&bin.server);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--init-file={}", dir.join("init.sql").display()))
                .arg(format!("--port={port}"))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    // Durability is not under test: no fsync per commit.
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-doublewrite=0",
                    "--innodb-buffer-pool-size=64M",
                    "--innodb-log-file-size=16M",
                    "--max-connections=300",
                ])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group: the reaper stops it, not Ctrl-C.
                .process_group(0);
            if let Some(o) = owner {
                cmd.uid(o.uid).gid(o.gid);
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", bin.server.display()))?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let ready = std::fs::read_to_string(&log)
                    .is_ok_and(|l| l.contains("ready for connections"));
                if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(format!("mysql://portcullis@127.0.0.1:{port}/portcullis"));
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!(
                        "{} exited ({status}); server log:\n{}",
                        bin.server.display(),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err(format!(
                        "{} did not start within 60 s; server log:\n{}",
                        bin.server.display(),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Err(last)
    }

    /// Runs a tool as the server's owner; its output on failure.
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
