//! The demo never prints a database password: a database URL it refuses or
//! cannot open is reported with the password masked.

use std::process::{Command, Stdio};

#[test]
fn the_demo_shows_a_database_url_without_its_password() {
    // covers: RB-03
    // issue 15 finding 7
    let server = crate::examples::example("server");
    // URLs refused at once (an unreachable server is retried for 30 s), on
    // each path that reports a URL: not supported, and not opened.
    for url in [
        "mssql://portcullis:hunter2@127.0.0.1:1/nothing",
        "mysql://portcullis:hunter2@127.0.0.1:1/nothing?ssl-mode=bogus",
        "postgres://portcullis:hunter2@127.0.0.1:1/nothing?sslmode=bogus",
        "postgres://portcullis@127.0.0.1:1/nothing?password=hunter2&sslmode=bogus",
    ] {
        let out = Command::new(&server)
            .args(["--addr", "127.0.0.1:0", "--database", url])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("127.0.0.1:1"),
            "names the database: {stderr}"
        );
        assert!(stderr.contains("***"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
    }
}
