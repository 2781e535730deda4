//! Tells this package's PostgreSQL tests whether they can run here, so that
//! on a machine without PostgreSQL they are reported as *ignored* by the test
//! harness (with the reason), not as passed.
//!
//! Only with the `postgres` feature, and only a few file checks: it sets the
//! cfg `portcullis_no_postgres` when no database URL is given
//! (`PORTCULLIS_TEST_POSTGRES_URL`) and none of PostgreSQL's server binaries
//! (`initdb`, `pg_ctl`, `postgres`) are found where `tests/common/postgres.rs`
//! looks for them. `PORTCULLIS_REQUIRE_POSTGRES=1` (set by `.ci/run`) never
//! sets it: there a missing PostgreSQL must fail the tests. The library itself
//! never reads the cfg.
//!
//! The same for MySQL with the `mysql` feature: `portcullis_no_mysql` when
//! `PORTCULLIS_TEST_MYSQL_URL` is unset, `PORTCULLIS_REQUIRE_MYSQL` is not
//! `1`, and MariaDB's `mariadb-install-db` and `mariadbd` (or `mysql_install_db`
//! and `mysqld`) are not where `tests/common/mysql.rs` looks for them.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(portcullis_no_postgres)");
    println!("cargo::rustc-check-cfg=cfg(portcullis_no_mysql)");
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "PORTCULLIS_TEST_POSTGRES_URL",
        "PORTCULLIS_PG_BIN",
        "PORTCULLIS_REQUIRE_POSTGRES",
        "PORTCULLIS_TEST_MYSQL_URL",
        "PORTCULLIS_MYSQL_BIN",
        "PORTCULLIS_REQUIRE_MYSQL",
        "PATH",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if std::env::var_os("CARGO_FEATURE_MYSQL").is_some() {
        let url = std::env::var("PORTCULLIS_TEST_MYSQL_URL").unwrap_or_default();
        let required = std::env::var("PORTCULLIS_REQUIRE_MYSQL").is_ok_and(|v| v == "1");
        if url.is_empty() && !required && !mysql_binaries_found() {
            println!("cargo::rustc-cfg=portcullis_no_mysql");
        }
    }
    if std::env::var_os("CARGO_FEATURE_POSTGRES").is_none() {
        return;
    }
    let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL").unwrap_or_default();
    let required = std::env::var("PORTCULLIS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if url.is_empty() && !required && !server_binaries_found() {
        println!("cargo::rustc-cfg=portcullis_no_postgres");
    }
}

/// The same places `tests/common/postgres.rs` searches: `PORTCULLIS_PG_BIN`
/// alone when set, else `PATH`, `/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin`.
fn server_binaries_found() -> bool {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"].iter().all(|b| {
            dir.join(format!("{b}{}", std::env::consts::EXE_SUFFIX))
                .is_file()
        })
    };
    if let Some(dir) = std::env::var_os("PORTCULLIS_PG_BIN") {
        return has_all(Path::new(&dir));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for (parent, prefix) in [("/usr/lib/postgresql", ""), ("/usr", "pgsql-")] {
        for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(prefix) {
                dirs.push(entry.path().join("bin"));
            }
        }
    }
    dirs.iter().any(|d| has_all(d))
}

/// The same places `tests/common/mysql.rs` searches: `PORTCULLIS_MYSQL_BIN`
/// alone when set, else `PATH`, `/usr/sbin`, `/usr/bin`; either generation's
/// names.
fn mysql_binaries_found() -> bool {
    let dirs: Vec<PathBuf> = match std::env::var_os("PORTCULLIS_MYSQL_BIN") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .collect(),
    };
    let found = |names: &[&str]| {
        names.iter().any(|name| {
            dirs.iter().any(|d| {
                d.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
                    .is_file()
            })
        })
    };
    found(&["mariadb-install-db", "mysql_install_db"]) && found(&["mariadbd", "mysqld"])
}
