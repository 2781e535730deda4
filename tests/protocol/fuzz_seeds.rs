//! Replays the committed fuzz seeds and crash reproducers (`fuzz/seeds/`)
//! and the minimised corpora (`fuzz/seeds/<target>/corpus/`, kept by
//! `fuzz/cmin.sh` from what fuzzing found) through the fuzz harness
//! (`fuzz/src/lib.rs`, included here as-is) on the stable toolchain, so
//! `cargo test` keeps every input the fuzzers were seeded with, found, or
//! once crashed on, answering without a panic and without a 5xx (RB-01).
//! The fuzzing itself is `fuzz/run.sh` (cargo-fuzz, libFuzzer).

use std::path::{Path, PathBuf};

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod harness;

/// The files of one directory (not of its subdirectories), sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn seed_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target)
}

/// The hand-written seeds and regression inputs of `target`.
fn seeds(target: &str) -> Vec<PathBuf> {
    files_in(&seed_dir(target))
}

/// The minimised corpus of `target` (`fuzz/cmin.sh`): inputs the fuzzer
/// found that reach code the seeds do not.
fn corpus(target: &str) -> Vec<PathBuf> {
    files_in(&seed_dir(target).join("corpus"))
}

/// Targets not fuzzed yet, so without a minimised corpus: added where no
/// cargo-fuzz toolchain ran; the first `fuzz/run.sh` and `fuzz/cmin.sh`
/// give them one (then remove them from here). Empty: issue 17's
/// `par_body`, `request_object` and `dpop_proof`, issue 18's
/// `device_authorization` and `token_exchange` and issue 19's
/// `registration_json` have been fuzzed.
const NOT_YET_FUZZED: [&str; 0] = [];

/// The minimised corpus, or nothing for a target not fuzzed yet.
fn corpus_or_none(target: &str) -> Vec<PathBuf> {
    if NOT_YET_FUZZED.contains(&target) && !seed_dir(target).join("corpus").is_dir() {
        return Vec::new();
    }
    corpus(target)
}

#[test]
fn rb01_every_fuzz_seed_replays_without_panic_or_5xx() {
    // covers: RB-01
    let mut replayed = 0;
    for target in harness::TARGETS {
        let files = seeds(target);
        assert!(files.len() >= 3, "{target}: too few seeds");
        let found = corpus_or_none(target);
        assert!(
            !found.is_empty() || NOT_YET_FUZZED.contains(&target),
            "{target}: no minimised corpus"
        );
        for file in files.into_iter().chain(found) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| harness::run(target, &data));
            let outcome = outcome.unwrap_or_else(|_| panic!("{target}: {} fails", file.display()));
            if std::env::var_os("FUZZ_SEEDS_PRINT").is_some() {
                eprintln!(
                    "{target}/{}: {outcome}",
                    file.file_name().unwrap().to_string_lossy()
                );
            }
            replayed += 1;
        }
    }
    assert!(replayed >= harness::TARGETS.len() * 3);
}

/// What some seeds must lead to: the seeds are worth something only if they
/// reach deep, so the ones written to succeed must succeed (and the ones
/// written to probe a check must hit it).
const EXPECTED: [(&str, &str, &str); 94] = [
    ("form_body", "client_credentials", "200"),
    ("form_body", "authorization_code", "200"),
    ("form_body", "authorization_code_public", "200"),
    ("form_body", "refresh_token", "200"),
    ("form_body", "password", "200"),
    ("form_body", "password_jwt", "200"),
    ("form_body", "client_secret_post", "200"),
    ("form_body", "introspect", "200"),
    ("form_body", "wrong_secret", "401"),
    ("basic_header", "b64_escaped", "200"),
    ("basic_header", "raw_unpadded", "200"),
    ("bearer_header", "opaque_read", "200"),
    ("bearer_header", "opaque_admin", "403"),
    ("bearer_header", "repeated", "400"),
    ("authorize_query", "approve", "302 code"),
    ("authorize_query", "deny", "302 error"),
    // POSTed, suspended at login, resumed for alice, approved.
    ("authorize_query", "resume_post", "302 code"),
    // Consent suspended for alice, resumed, approved.
    ("authorize_query", "resume_consent", "302 code"),
    ("authorize_query", "bad_redirect", "400"),
    ("access_token_jwt", "valid_read", "200"),
    ("access_token_jwt", "revocation_check", "401"),
    ("access_token_jwt", "expired", "401"),
    ("client_assertion", "hs256", "200"),
    ("client_assertion", "eddsa", "200"),
    ("client_assertion", "alg_confusion", "401"),
    ("client_metadata", "web", "401 400 302 code 200 401"),
    // Dynamic client registration (issue 19 part 2): registered, read,
    // replaced with the same document, deleted, refused; and the checks.
    ("registration_json", "web", "201 200 200 204 401"),
    ("registration_json", "service", "201 200 200 204 401"),
    ("registration_json", "insecure_redirect", "400"),
    ("registration_json", "bad_software_statement", "400"),
    // The seed file of the e2e tests and the demo's own shape load, and
    // every seeded secret and password works.
    ("seed_json", "e2e_harness", "ok 6 1 200 200 200 200"),
    ("seed_json", "demo", "ok 3 1 200"),
    // Contract v2 (issue 15 finding 8): every client registered, what is
    // not supported yet ignored, the people-chosen secret working.
    ("seed_json", "contract_v2", "ok 7 2 200 200 200"),
    // An authentication method not supported: the client left out, the
    // seed accepted.
    ("seed_json", "bad_auth_method", "ok 0 0"),
    ("seed_json", "escaped_credentials", "ok 1 1 200 200"),
    ("seed_json", "duplicate_entries", "ok 1 1 200 200"),
    ("seed_json", "huge_lifetime", "ok 2 0 200 200"),
    // issue 19: the registration fields of seed contract v2; bad values
    // cost a note each, an expired secret is honoured, a private_key_jwt
    // client may publish its keys at a jwks_uri.
    ("seed_json", "registration_fields", "ok 3 0 200"),
    // issue 16: seeded `sub`s are subjects, unless unusable or another
    // user's; every user still signs in.
    ("seed_json", "subjects", "ok 1 6 200 200 200 200 200 200"),
    ("seed_json", "not_json", "invalid"),
    ("seed_json", "bad_redirect", "refused"),
    ("seed_json", "bad_issuer_slash", "issuer"),
    // issue 16: an ID Token of ours is a hint even expired (OI-08,
    // LO-01); anything else is refused for what it is.
    ("id_token_hint", "valid", "ok"),
    ("id_token_hint", "expired", "ok"),
    ("id_token_hint", "aud_array", "ok"),
    ("id_token_hint", "other_issuer", "Issuer"),
    ("id_token_hint", "access_token", "Type"),
    ("id_token_hint", "unknown_kid", "UnknownKey"),
    ("id_token_hint", "alg_none", "Algorithm"),
    ("id_token_hint", "alg_confusion", "Algorithm"),
    ("id_token_hint", "no_sub", "Claims"),
    ("id_token_hint", "raw", "Malformed"),
    // issue 16: the `claims` parameter (OI-09) through the authorization
    // endpoint: well formed is issued, malformed refused before any page.
    ("claims_parameter", "core_example", "302 code"),
    ("claims_parameter", "sub_value", "302 code"),
    ("claims_parameter", "member_not_object", "302 error"),
    ("claims_parameter", "essential_not_bool", "302 error"),
    ("claims_parameter", "not_json", "302 error"),
    ("claims_parameter", "not_logged_in", "login"),
    ("claims_parameter", "deny", "302 error"),
    // Found by fuzzing: an empty `claims` is an absent one (RFC 6749 §3.1).
    ("claims_parameter", "regression-empty-value", "302 code"),
    // issue 16: RP-Initiated Logout (LO-01). A valid hint of alice's
    // session with a registered URI redirects at once; an altered hint or
    // a client that is not its audience is a page; an unregistered or
    // extended URI, or no hint, redirects nowhere.
    ("end_session", "valid_hint", "redirect"),
    ("end_session", "valid_hint_post_resumed", "redirect"),
    ("end_session", "client_id_only", "redirect"),
    ("end_session", "query_added", "done"),
    ("end_session", "no_params", "confirm"),
    ("end_session", "only_state", "confirm"),
    ("end_session", "other_issuer", "page"),
    ("end_session", "wrong_client", "page"),
    ("end_session", "repeated", "page"),
    // issue 17: pushed authorization requests (PA-01, PA-02) and request
    // objects (JR-01), pushed and used once, or refused as JSON / a page.
    ("par_body", "svc_basic_used", "201 302 code"),
    ("par_body", "spa_id_used", "201 302 code"),
    ("par_body", "wrong_secret", "401"),
    ("par_body", "request_uri_inside", "400"),
    ("par_body", "bad_redirect", "400"),
    ("request_object", "eddsa_authorize", "302 code"),
    ("request_object", "eddsa_pushed", "par 201 302 code"),
    ("request_object", "alg_none", "400"),
    ("request_object", "as_spa", "400"),
    ("request_object", "pushed_unsigned", "par 400"),
    // issue 18: the device authorization form (DV-01), then a poll that is
    // told to wait; the token exchange form (TE-01): impersonation,
    // delegation (`act`), a host-validated subject whose `may_act` names
    // the actor, a JWT asked for, targets, and the refusals.
    ("device_authorization", "public_scope", "200"),
    (
        "device_authorization",
        "public_polled",
        "200 authorization_pending",
    ),
    (
        "device_authorization",
        "conf_basic_polled",
        "200 authorization_pending",
    ),
    ("device_authorization", "wrong_secret", "401"),
    ("device_authorization", "not_registered", "400"),
    ("device_authorization", "bad_scope", "400"),
    ("token_exchange", "impersonate", "200 access_token"),
    (
        "token_exchange",
        "delegate_workload",
        "200 access_token act",
    ),
    (
        "token_exchange",
        "host_subject_may_act",
        "200 access_token act",
    ),
    ("token_exchange", "may_act_refused", "400"),
    ("token_exchange", "requested_jwt", "200 jwt"),
    ("token_exchange", "audience", "200 access_token"),
    ("token_exchange", "unknown_audience", "400"),
    ("token_exchange", "not_registered", "400"),
    ("token_exchange", "wrong_secret", "401"),
];

#[test]
fn fuzz_seeds_reach_what_they_were_written_for() {
    for (target, seed, expected) in EXPECTED {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target)
            .join(seed);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(harness::run(target, &data), expected, "{target}/{seed}");
    }
}
