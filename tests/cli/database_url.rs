//! The database URL carries a password: the CLI takes it from
//! `PORTCULLIS_DATABASE_URL` silently, warns when it is given in argv
//! (where other local users and shell history see it), and never prints it.

use crate::{assert_fails, run_raw, temp_dir};

const WITH_PASSWORD: &str = "postgres://portcullis:hunter2@127.0.0.1:1/nothing";

const WARNING: &str = "warning: the database password in --database is visible";

#[test]
fn a_password_in_argv_is_warned_about_and_never_printed() {
    // covers: RB-03
    // issue 15 finding 7
    for args in [
        vec!["--database", WITH_PASSWORD, "client", "list"],
        // A global option after the subcommand is the same.
        vec!["client", "list", "--database", WITH_PASSWORD],
        // A password given as a parameter.
        vec![
            "--database",
            "postgres://portcullis@127.0.0.1:1/nothing?password=hunter2",
            "client",
            "list",
        ],
    ] {
        let r = run_raw(&args, &[]);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "a warning, then the error: {:?}", r.stderr);
        assert!(lines[0].starts_with(WARNING), "{:?}", r.stderr);
        assert!(lines[0].contains("PORTCULLIS_DATABASE_URL"));
        assert!(
            lines[1].starts_with("error: cannot open database"),
            "{:?}",
            r.stderr
        );
        assert!(!r.stderr.contains("hunter2"), "{:?}", r.stderr);
    }
}

#[test]
fn no_warning_from_the_environment_or_without_a_password() {
    // issue 15 finding 7
    let r = run_raw(
        &["client", "list"],
        &[("PORTCULLIS_DATABASE_URL", WITH_PASSWORD)],
    );
    assert!(assert_fails(&r, 1).contains("postgres://portcullis:***@127.0.0.1:1/nothing"));
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("auth.db").display());
    let r = run_raw(&["--database", &url, "migrate"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{:?}", r.stderr);
    // The file `migrate` created holds keys and hashes: owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("auth.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
