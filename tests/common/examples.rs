//! The example binaries a test spawns, built by the test itself so that
//! every test binary runs on its own (`cargo test --all-features --test cli`
//! builds no examples; `cargo test --all-features` does, and then this is a
//! no-op).
//!
//! Each example is built once per test process, through the cargo that runs
//! the tests (`CARGO`), with the features this test binary was compiled
//! with, in the same profile and target directory, so it is the binary
//! `cargo test` would have built, not a second copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Every feature in `Cargo.toml` (keep in step with its `[features]`), and
/// whether this test binary has it. A feature missing here still builds the
/// example, but with another feature set than the library's, so the library
/// is compiled a second time.
const FEATURES: &[(&str, bool)] = &[
    ("axum", cfg!(feature = "axum")),
    ("actix-web", cfg!(feature = "actix-web")),
    ("hyper", cfg!(feature = "hyper")),
    ("postgres", cfg!(feature = "postgres")),
    ("sqlite", cfg!(feature = "sqlite")),
    ("mysql", cfg!(feature = "mysql")),
    ("conformance", cfg!(feature = "conformance")),
    ("cli", cfg!(feature = "cli")),
    ("rsa-keygen", cfg!(feature = "rsa-keygen")),
];

/// The path of example `name` (`examples/<name>.rs`), built if needed.
/// Panics with cargo's error when it does not build.
pub(crate) fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    // One build at a time: cargo would serialise them on its lock anyway.
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    built
        .entry(name.to_owned())
        .or_insert_with(|| build(name))
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build(name: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let features: Vec<&str> = FEATURES
        .iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| *f)
        .collect();
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--quiet", "--example", name])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .args(["--no-default-features", "--features", &features.join(",")]);
    // This binary lives in <target-dir>/<profile-dir>/deps/.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
        }
        if let Some(target_dir) = profile_dir.parent()
            && target_dir.join("CACHEDIR.TAG").exists()
        {
            cmd.arg("--target-dir").arg(target_dir);
        }
    }
    // cargo sets the package's variables for this test process (its
    // manifest directory, name, version, `OUT_DIR`...); a build script that watches
    // them (ring's does) would see them changed and rebuild, and with it
    // everything above it, once for the examples and again for the tests.
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| {
            v.starts_with("CARGO_PKG_")
                || v.starts_with("CARGO_MANIFEST_")
                || matches!(v, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR")
        }) {
            cmd.env_remove(var);
        }
    }
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {cargo:?} to build example `{name}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo build --example {name}` failed ({}); its errors are above",
            out.status
        ));
    }
    // cargo names the executable it built in its JSON messages.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo built example `{name}` but named no executable"))
}
