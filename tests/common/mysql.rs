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

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::server::{self, Unavailable};

/// MySQL's names and variables, for the shared messages.
const MYSQL: server::Database = server::Database {
    name: "MySQL",
    server: "MariaDB",
    install: "Install MariaDB's server (Debian: apt-get install mariadb-server)",
    url_var: "PORTCULLIS_TEST_MYSQL_URL",
    require_var: "PORTCULLIS_REQUIRE_MYSQL",
};

/// The database URL for this test, or `None` when the test must be skipped
/// (it has already said so on stderr). Panics when MySQL is required but
/// unavailable, or installed but fails to start.
///
/// ```ignore
/// let Some(url) = mysql::url() else { return };
/// ```
pub(crate) fn url() -> Option<String> {
    static DATABASE: OnceLock<Result<String, Unavailable>> = OnceLock::new();
    MYSQL.url_or_skip(DATABASE.get_or_init(database))
}

/// A URL of a new, empty database of its own on the test server, for a
/// test that asserts on what a purge removes (a purge removes whatever has
/// expired in the whole database, other tests' rows included). `None` as
/// for [`url`]. The database is left behind; the throwaway server goes with
/// it (on a `PORTCULLIS_TEST_MYSQL_URL` server it stays).
#[allow(dead_code)]
pub(crate) async fn fresh_database_url() -> Option<String> {
    let url = url()?;
    let name = server::isolated_name();
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

fn database() -> Result<String, Unavailable> {
    if let Some(url) = MYSQL.env_url() {
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
    use std::os::unix::process::CommandExt as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::Binaries;
    use crate::server::{Scratch, free_port};

    /// Run at the server's start: the tests' user and database.
    const INIT: &str = "CREATE USER IF NOT EXISTS 'portcullis'@'127.0.0.1';\n\
        GRANT ALL PRIVILEGES ON *.* TO 'portcullis'@'127.0.0.1';\n\
        CREATE DATABASE IF NOT EXISTS portcullis;\n";

    /// A new server in a directory of its own, running as the `mysql` user
    /// (or `nobody`) when root; the reaper stops it with SIGTERM (a clean
    /// shutdown).
    pub(super) fn start(bin: &Binaries) -> Result<String, String> {
        let scratch = Scratch::new("portcullis-mysql", "mysql", "mysqld.pid", "TERM")?;
        let dir = &scratch.dir;
        let init = dir.join("init.sql");
        std::fs::write(&init, INIT).map_err(|e| format!("cannot write the init file: {e}"))?;
        scratch.hand_over(&init)?;
        let data = dir.join("data");
        scratch.run(
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
            let port = free_port()?;
            let log = dir.join("server.log");
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new(&bin.server);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--init-file={}", init.display()))
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
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group: the reaper stops it, not Ctrl-C.
                .process_group(0);
            let mut child = scratch
                .as_owner(&mut cmd)
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
}
