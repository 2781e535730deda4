//! What the test database helpers `postgres.rs` and `mysql.rs` share: the
//! database from an environment variable, the skip (or failure, when
//! required) where there is none, a name for an isolated schema or database,
//! and on Unix the home of a throwaway server: a directory of its own, the
//! unprivileged user who runs the server when the tests run as root, and the
//! reaper process that stops the server and removes the directory when the
//! test process exits.
//!
//! Every test binary that includes either helper includes this file too, as
//! `server` (the helpers call it as `crate::server`).

use std::io::Write as _;

/// How a helper names its database and the variables that control it.
pub(crate) struct Database {
    /// The database in the skip messages: `PostgreSQL`, `MySQL`.
    pub(crate) name: &'static str,
    /// The server that is installed but unusable: `PostgreSQL`, `MariaDB`.
    pub(crate) server: &'static str,
    /// How to get it, a sentence without its end: `Install … (Debian: …)`.
    pub(crate) install: &'static str,
    /// The variable holding a database's URL: `PORTCULLIS_TEST_POSTGRES_URL`.
    pub(crate) url_var: &'static str,
    /// The variable that makes a missing database a failure:
    /// `PORTCULLIS_REQUIRE_POSTGRES`.
    pub(crate) require_var: &'static str,
}

/// Why there is no database.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// No URL and no server binaries: skip (or fail when required).
    Missing(String),
    /// Binaries found but the server did not start: always a failure.
    Broken(String),
}

impl Database {
    /// The URL in [`Database::url_var`], when it is set and not empty.
    pub(crate) fn env_url(&self) -> Option<String> {
        std::env::var(self.url_var)
            .ok()
            .filter(|url| !url.is_empty())
    }

    /// Whether [`Database::require_var`] is set, not empty and not `0`.
    pub(crate) fn required(&self) -> bool {
        std::env::var(self.require_var).is_ok_and(|v| !v.is_empty() && v != "0")
    }

    /// The URL of the database the helper found, or `None` when the test
    /// must be skipped, after saying so straight to stderr. Panics when the
    /// database is required but missing, or installed but broken.
    pub(crate) fn url_or_skip(&self, database: &Result<String, Unavailable>) -> Option<String> {
        let test = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map_or_else(|| format!("a {} test", self.name), str::to_owned);
        match database {
            Ok(url) => Some(url.clone()),
            Err(Unavailable::Broken(why)) => {
                panic!("{} is installed but unusable: {why}", self.server)
            }
            Err(Unavailable::Missing(why)) => {
                if self.required() {
                    panic!(
                        "{} is set and there is no {}: {why}. {} or set {}.",
                        self.require_var, self.name, self.install, self.url_var
                    );
                }
                let banner = "!".repeat(78);
                // Straight to the process's stderr: the harness captures only
                // `print!`/`eprint!`, so this shows even though the test passes.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "\n{banner}\nSKIPPED {test}: no {} ({why}).\n\
                     {} or set\n\
                     {}; {}=1 makes this a failure.\n\
                     {banner}",
                    self.name,
                    self.install,
                    self.url_var,
                    self.require_var
                );
                None
            }
        }
    }
}

/// A random number, a new one each call: in names that must not meet those
/// of an earlier run with the same process id.
pub(crate) fn random_key() -> u64 {
    std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0)
}

/// A new name for an isolated schema or database:
/// `portcullis_isolated_PID_N_KEY`.
pub(crate) fn isolated_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "portcullis_isolated_{}_{}_{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        random_key()
    )
}

#[cfg(unix)]
pub(crate) use unix::{Scratch, free_port};

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::DirBuilderExt as _;
    use std::os::unix::process::CommandExt as _;
    use std::path::{Path, PathBuf};
    use std::process::{ChildStdin, Command, Stdio};
    use std::sync::Mutex;

    /// The write ends of the reapers' stdin (one per throwaway server).
    /// Never closed by us: the kernel closes them when this process exits,
    /// which is the reapers' signal.
    static REAPERS: Mutex<Vec<ChildStdin>> = Mutex::new(Vec::new());

    /// Waits for its stdin to close (this test process has exited), stops
    /// the server whose pid is on the first line of `$1/$2` (signal `$3`, a
    /// clean shutdown, then SIGKILL after 10 s) and removes the directory
    /// `$1`. In its own process group, so Ctrl-C does not kill it first.
    const REAPER_SCRIPT: &str = r#"
cat >/dev/null
pid=$(head -n 1 "$1/$2" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -"$3" "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;

    /// Who runs the server: ourselves, or an unprivileged user when root.
    #[derive(Clone, Copy)]
    struct Owner {
        uid: u32,
        gid: u32,
    }

    /// A throwaway server's home: its directory and who runs it.
    pub(crate) struct Scratch {
        /// A new directory, mode 0700, owned by whoever runs the server.
        pub(crate) dir: PathBuf,
        owner: Option<Owner>,
    }

    impl Scratch {
        /// A new directory `PREFIX-PID-KEY` in the temporary directory, with
        /// a reaper (`PREFIX-reaper`) that stops the server (signal `stop`
        /// to the pid in `pid_file`, a path in the directory) and removes
        /// the directory when this process exits. As root, the directory
        /// goes to `user`, or `nobody`, who runs the server then.
        pub(crate) fn new(
            prefix: &str,
            user: &str,
            pid_file: &str,
            stop: &str,
        ) -> Result<Self, String> {
            let owner = if is_root()? {
                Some(
                    [user, "nobody"]
                        .iter()
                        .find_map(|name| owner(name))
                        .ok_or_else(|| {
                            format!(
                                "running as root, and neither a `{user}` nor a `nobody` user exists"
                            )
                        })?,
                )
            } else {
                None
            };
            let dir = std::env::temp_dir().join(format!(
                "{prefix}-{}-{}",
                std::process::id(),
                // Randomly keyed: a stale directory of an earlier process
                // with the same id is not reused.
                super::random_key()
            ));
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            // The reaper first, so the directory goes even if we fail below.
            let reaper = Command::new("/bin/sh")
                .args(["-c", REAPER_SCRIPT])
                .arg(format!("{prefix}-reaper"))
                .arg(&dir)
                .args([pid_file, stop])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start the cleanup process: {e}"))?;
            REAPERS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(reaper.stdin);
            let scratch = Self { dir, owner };
            scratch.hand_over(&scratch.dir)?;
            Ok(scratch)
        }

        /// Gives `path` to whoever runs the server (nothing when ourselves).
        pub(crate) fn hand_over(&self, path: &Path) -> Result<(), String> {
            match self.owner {
                Some(o) => std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))
                    .map_err(|e| format!("cannot hand {} to uid {}: {e}", path.display(), o.uid)),
                None => Ok(()),
            }
        }

        /// Makes `cmd` run as whoever runs the server.
        pub(crate) fn as_owner<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
            if let Some(o) = self.owner {
                cmd.uid(o.uid).gid(o.gid);
            }
            cmd
        }

        /// Runs a tool as whoever runs the server, in the directory, with no
        /// stdin; its output on failure.
        pub(crate) fn run(&self, cmd: &mut Command) -> Result<(), String> {
            cmd.current_dir(&self.dir).stdin(Stdio::null());
            self.as_owner(cmd);
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
    }

    /// A 127.0.0.1 port free now (it may be taken before the server binds
    /// it: the callers retry).
    pub(crate) fn free_port() -> Result<u16, String> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port())
    }

    fn is_root() -> Result<bool, String> {
        let out = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run `id -u`: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
    }

    /// A user's uid and gid from /etc/passwd.
    fn owner(name: &str) -> Option<Owner> {
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
