//! Issue 19 part 4: the full client model through the operator command, on
//! SQLite and PostgreSQL: every registration field set by `client create`
//! (with Ory Hydra's flag names where they differ), changed by `client
//! update`, printed by `client show` in JSON, YAML and a table;
//! `client create --from-json` (RFC 7591 documents, RFC 7591 error codes);
//! `client rotate-secret` (the old secret refused by the library's own
//! client authentication); `client list` filters and paging.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use portcullis::http::{Method, Request};
use portcullis::stores::{PostgresStore, SqliteStore};
use portcullis::{AuthorizationServer, ClientId, Config, GrantType};
use serde_json::{Value, json};

use super::{BIN, CLIENT_FIELDS, Db, Run, assert_fails, keys_of, names, unique, with};

/// A run with `stdin` written to the process.
fn run_stdin(db: &Db, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_ISSUER")
        .env("PORTCULLIS_DATABASE_URL", &db.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Every field of the full model, set on create and changed on update.
async fn every_field_on_create_update_and_show(db: &Db) {
    let id = unique("full");
    let owner = unique("team");
    let created = db.json(&[
        "client",
        "create",
        "--id",
        &id,
        "--name",
        "Full client",
        "--redirect-uri",
        "https://app.example/cb",
        "--grant-type",
        "authorization_code,refresh_token",
        "--scope",
        "openid read",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "https://app.example/jwks.json",
        "--token-endpoint-auth-signing-alg",
        "ES256",
        "--request-object-signing-alg",
        "PS256",
        "--application-type",
        "web",
        "--contact",
        "ops@example.com",
        "--contact",
        "sec@example.com",
        "--software-id",
        "4NRB1-0XZABZI9E6-5SM3R",
        "--software-version",
        "2.1",
        "--allowed-cors-origin",
        "https://app.example",
        "--owner",
        &owner,
        "--metadata",
        r#"{"tier": "gold", "limits": {"rps": 10}}"#,
        "--audience",
        "https://api.example/",
        "--access-token-strategy",
        "jwt",
        "--post-logout-callback",
        "https://app.example/bye",
        "--backchannel-logout-callback",
        "https://app.example/bcl",
        "--skip-consent",
        "--subject-type",
        "public",
        "--logo-uri",
        "https://app.example/logo.png",
        "--policy-uri",
        "https://app.example/privacy",
        "--tos-uri",
        "https://app.example/terms",
        "--client-uri",
        "https://app.example/",
        "--default-max-age",
        "3600",
        "--require-auth-time",
        "--id-token-signed-response-alg",
        "ES256",
        "--userinfo-signed-response-alg",
        "RS256",
    ]);
    assert_eq!(keys_of(&created), with(&CLIENT_FIELDS, &["client_secret"]));
    for (field, value) in [
        ("client_id", json!(id)),
        ("client_secret", Value::Null),
        ("token_endpoint_auth_method", json!("private_key_jwt")),
        ("jwks_uri", json!("https://app.example/jwks.json")),
        ("jwks", Value::Null),
        ("token_endpoint_auth_signing_alg", json!("ES256")),
        ("request_object_signing_alg", json!("PS256")),
        ("application_type", json!("web")),
        ("contacts", json!(["ops@example.com", "sec@example.com"])),
        ("software_id", json!("4NRB1-0XZABZI9E6-5SM3R")),
        ("software_version", json!("2.1")),
        ("client_secret_expires_at", json!(0)),
        ("allowed_cors_origins", json!(["https://app.example"])),
        ("owner", json!(owner)),
        ("metadata", json!({"tier": "gold", "limits": {"rps": 10}})),
        ("resources", json!(["https://api.example/"])),
        ("access_token_format", json!("jwt")),
        (
            "post_logout_redirect_uris",
            json!(["https://app.example/bye"]),
        ),
        ("backchannel_logout_uri", json!("https://app.example/bcl")),
        ("skip_consent", json!(true)),
        ("default_max_age", json!(3600)),
        ("require_auth_time", json!(true)),
        ("id_token_signed_response_alg", json!("ES256")),
        ("userinfo_signed_response_alg", json!("RS256")),
        ("logo_uri", json!("https://app.example/logo.png")),
        ("client_uri", json!("https://app.example/")),
    ] {
        assert_eq!(created[field], value, "{field} in {created}");
    }
    // What was stored is what was printed, and what `show` prints.
    let stored = db
        .clients
        .client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.owner(), Some(owner.as_str()));
    assert_eq!(
        stored.jwks_uri().map(|u| u.as_str()),
        Some("https://app.example/jwks.json")
    );
    assert_eq!(stored.metadata()["limits"], json!({"rps": 10}));
    assert!(stored.allows_cors_origin("https://app.example"));
    let shown = db.json(&["client", "show", &id]);
    let mut without_secret = created.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    assert_eq!(shown, without_secret);

    // YAML: the same document, in the same order; the table has every field.
    let r = db.run(&["--format", "yaml", "client", "show", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with(&format!("client_id: {id}\nclient_name: Full client\n"))
    );
    for line in [
        "contacts:\n  - ops@example.com\n  - sec@example.com\n",
        "metadata:\n  limits:\n    rps: 10\n  tier: gold\n",
        "client_secret_expires_at: 0\n",
        "jwks: null\n",
        "software_version: \"2.1\"\n",
        "scope: openid read\n",
    ] {
        assert!(r.stdout.contains(line), "{line:?} in\n{}", r.stdout);
    }
    let table = db.run(&["client", "show", &id]);
    assert_eq!(table.code, 0);
    let names_in_table: Vec<&str> = table
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names(&names_in_table),
        names(&CLIENT_FIELDS),
        "{}",
        table.stdout
    );
    let line = |name: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l[name.len()..].trim().to_owned())
            .unwrap()
    };
    assert_eq!(line("client_secret_expires_at"), "never");
    assert_eq!(line("owner"), owner);
    assert_eq!(line("contacts"), "ops@example.com sec@example.com");

    // Update: every registration field changes, and is stored.
    let updated = db.json(&[
        "client",
        "update",
        &id,
        "--add-contact",
        "new@example.com",
        "--remove-contact",
        "ops@example.com",
        "--software-id",
        "none",
        "--software-version",
        "3.0",
        "--token-endpoint-auth-signing-alg",
        "any",
        "--request-object-signing-alg",
        "ES256",
        "--add-allowed-cors-origin",
        "http://127.0.0.1:3000",
        "--remove-allowed-cors-origin",
        "https://app.example",
        "--owner",
        "none",
        "--metadata",
        "{}",
        "--client-secret-expires-at",
        "2000000000",
        "--add-audience",
        "urn:example:calendar",
        "--remove-audience",
        "https://api.example/",
        "--access-token-strategy",
        "opaque",
    ]);
    for (field, value) in [
        ("contacts", json!(["sec@example.com", "new@example.com"])),
        ("software_id", Value::Null),
        ("software_version", json!("3.0")),
        ("token_endpoint_auth_signing_alg", Value::Null),
        ("request_object_signing_alg", json!("ES256")),
        ("allowed_cors_origins", json!(["http://127.0.0.1:3000"])),
        ("owner", Value::Null),
        ("metadata", json!({})),
        ("client_secret_expires_at", json!(2_000_000_000u64)),
        ("resources", json!(["urn:example:calendar"])),
        ("access_token_format", json!("opaque")),
        ("client_secret", Value::Null),
    ] {
        assert_eq!(updated[field], value, "{field} in {updated}");
    }
    assert_eq!(db.json(&["client", "show", &id])["owner"], Value::Null);
    // Keys: from jwks_uri to an inline JWKS and back needs both changes.
    let jwks_file = std::env::temp_dir().join(format!("{}.json", unique("jwks")));
    std::fs::write(&jwks_file, JWKS).unwrap();
    let jwks_path = jwks_file.to_str().unwrap();
    let r = db.run(&["client", "update", &id, "--jwks", jwks_path]);
    assert!(assert_fails(&r, 2).contains("jwks and jwks_uri must not both be registered"));
    let keyed = db.json(&[
        "client",
        "update",
        &id,
        "--jwks",
        jwks_path,
        "--jwks-uri",
        "none",
    ]);
    assert_eq!(keyed["jwks_uri"], Value::Null);
    assert_eq!(keyed["jwks"]["keys"][0]["kid"], json!("k1"));
    let back = db.json(&[
        "client",
        "update",
        &id,
        "--remove-jwks",
        "--jwks-uri",
        "https://app.example/jwks2.json",
    ]);
    assert_eq!(back["jwks"], Value::Null);
    assert_eq!(back["jwks_uri"], json!("https://app.example/jwks2.json"));
    let _ = std::fs::remove_file(&jwks_file);

    // Refusals name the field; nothing is written.
    for (args, text) in [
        (
            vec!["--application-type", "native"],
            "a native client's redirect URIs must use a private scheme or http on loopback",
        ),
        (
            vec!["--token-endpoint-auth-signing-alg", "HS256"],
            "token_endpoint_auth_signing_alg does not fit token_endpoint_auth_method",
        ),
        (
            vec!["--add-allowed-cors-origin", "https://app.example/path"],
            "--add-allowed-cors-origin",
        ),
        (vec!["--metadata", "[1]"], "metadata: must be a JSON object"),
        (
            vec!["--jwks-uri", "http://app.example/k"],
            "jwks_uri must use https",
        ),
        (
            vec!["--remove-contact", "nobody@example.com"],
            "has no contact",
        ),
        (
            vec!["--add-contact", "a\u{7}b"],
            "contacts must be non-empty text",
        ),
        (vec!["--application-type", "desktop"], "application type"),
    ] {
        let mut all = vec!["client", "update", id.as_str()];
        all.extend(args.iter().copied());
        let line = assert_fails(&db.run(&all), 2);
        assert!(line.contains(text), "{args:?}: {line}");
    }
    assert_eq!(db.json(&["client", "show", &id]), {
        let mut v = back;
        v.as_object_mut().unwrap().remove("client_secret");
        v
    });
}

const JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
  "x": "nuoIw7A5S0vP2OoDSk_OvajZFh23hEAkW9VODxP4MZ4",
  "y": "YSQP7HWB1cKxABdFV2_P_FutEO0w2iTCS5hCkHc6p6Q"}]}"#;

/// `client create --from-json`: from a file and from stdin; errors with
/// RFC 7591 codes; what `show` prints is a document `--from-json` reads.
async fn create_from_rfc_7591_documents(db: &Db) {
    // part of RG-01 (the registration document and its errors, read by the CLI)
    let id = unique("doc");
    let doc = json!({
        "client_id": id,
        "client_name": "From a document",
        "redirect_uris": ["https://rp.example/cb", "com.example.app:/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile",
        "token_endpoint_auth_method": "client_secret_post",
        "contacts": ["rp@example.com"],
        "logo_uri": "https://rp.example/logo.png",
        "allowed_cors_origins": ["https://rp.example"],
        "metadata": {"department": "billing"},
        "owner": "billing",
        "client_secret_expires_at": 0,
        "software_statement": "eyJhbGciOiJub25lIn0.e30.",
        "x_vendor": 1,
    });
    let file = std::env::temp_dir().join(format!("{}.json", unique("registration")));
    std::fs::write(&file, doc.to_string()).unwrap();
    let r = db.run(&[
        "--format",
        "json",
        "client",
        "create",
        "--from-json",
        file.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("note: ignored (not supported): software_statement, x_vendor"),
        "{}",
        r.stderr
    );
    let created: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(keys_of(&created), with(&CLIENT_FIELDS, &["client_secret"]));
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256 bits: {secret}");
    for field in [
        "client_id",
        "client_name",
        "grant_types",
        "scope",
        "token_endpoint_auth_method",
        "contacts",
        "logo_uri",
        "allowed_cors_origins",
        "metadata",
        "owner",
    ] {
        assert_eq!(created[field], doc[field], "{field}");
    }
    let stored = db
        .clients
        .client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    // covers: CA-05
    let hash = stored.secret_hash().unwrap();
    assert!(hash.verify(&secret));
    assert!(!hash.encode().contains(&secret));

    // `show`'s JSON, piped back in under a new id, is the same client.
    let shown = db.run(&["--format", "json", "client", "show", &id]);
    let copy = unique("copy");
    let r = run_stdin(
        db,
        &[
            "--format",
            "json",
            "client",
            "create",
            "--from-json",
            "-",
            "--client-id",
            &copy,
        ],
        &shown.stdout,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let copied: Value = serde_json::from_str(&r.stdout).unwrap();
    let original: Value = serde_json::from_str(&shown.stdout).unwrap();
    for field in CLIENT_FIELDS {
        if field != "client_id" {
            assert_eq!(copied[field], original[field], "{field}");
        }
    }
    assert_eq!(copied["client_id"], json!(copy));
    assert!(copied["client_secret"].is_string());
    // A native public client, with a random id.
    let r = run_stdin(
        db,
        &["--format", "json", "client", "create", "--from-json", "-"],
        r#"{"application_type": "native", "token_endpoint_auth_method": "none",
            "redirect_uris": ["http://127.0.0.1:7000/cb"]}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let native: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(native["client_secret"], Value::Null);
    assert_eq!(native["client_type"], json!("public"));
    assert_eq!(native["client_id"].as_str().unwrap().len(), 32);

    // Errors: the RFC 7591 code and the field, exit 2, nothing stored.
    for (doc, code, text) in [
        (
            json!({"redirect_uris": ["https://rp.example/cb#frag"]}),
            "invalid_redirect_uri",
            "redirect_uris: redirect URI: has a fragment",
        ),
        (
            json!({"redirect_uris": ["http://rp.example/cb"]}),
            "invalid_redirect_uri",
            "redirect URIs must use https",
        ),
        (
            json!({"application_type": "native", "token_endpoint_auth_method": "none",
                   "redirect_uris": ["https://rp.example/cb"]}),
            "invalid_redirect_uri",
            "native client",
        ),
        (
            json!({"grant_types": ["client_credentials"], "jwks_uri": "https://rp.example/j",
                   "jwks": {"keys": []}, "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "jwks and jwks_uri must not both be registered",
        ),
        (
            json!({"grant_types": [], "tos_uri": "ftp://rp.example/tos"}),
            "invalid_client_metadata",
            "tos_uri: ",
        ),
        (
            json!({"grant_types": [], "client_secret": "my own"}),
            "invalid_client_metadata",
            "client_secret: secrets are generated by the server",
        ),
        (
            json!({"grant_types": ["implicit"]}),
            "invalid_client_metadata",
            "grant_types: ",
        ),
        (json!("a string"), "invalid_client_metadata", "JSON object"),
    ] {
        let ghost = unique("ghost");
        let mut doc = doc;
        if let Some(o) = doc.as_object_mut() {
            o.insert("client_id".into(), json!(ghost));
        }
        let r = run_stdin(
            db,
            &["client", "create", "--from-json", "-"],
            &doc.to_string(),
        );
        let line = assert_fails(&r, 2);
        assert!(
            line.starts_with(&format!("error: {code}: ")) && line.contains(text),
            "{doc}: {line}"
        );
        assert!(
            db.clients
                .client(&ClientId::parse(&ghost).unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
    let r = run_stdin(db, &["client", "create", "--from-json", "-"], "{not json");
    assert!(
        assert_fails(&r, 2)
            .contains("invalid_client_metadata: the registration document is not JSON")
    );
    // The document replaces the field flags.
    let r = db.run(&["client", "create", "--from-json", "-", "--owner", "x"]);
    assert!(assert_fails(&r, 2).contains("cannot be used with"));
}

/// A `client_credentials` request to a server built by the library on the
/// same database: the library's own client authentication.
async fn token_status(db: &Db, id: &str, secret: &str) -> u16 {
    let issuer = "https://issuer.example";
    let mut config = Config::new(issuer);
    config.grant_types = vec![GrantType::ClientCredentials];
    let builder = AuthorizationServer::builder(config);
    let builder = if db.url.starts_with("sqlite:") {
        builder.store(Arc::new(SqliteStore::connect(&db.url).await.unwrap()))
    } else {
        builder.store(Arc::new(PostgresStore::connect(&db.url).await.unwrap()))
    };
    let server = builder.build().unwrap();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        enc(id),
        enc(secret)
    );
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    server.token(&req).await.status()
}

/// `client rotate-secret`: the new secret is shown once, only its hash is
/// stored, and the old one stops working.
async fn rotate_secret(db: &Db) {
    // covers: CA-05
    let id = unique("rot");
    let created = db.json(&[
        "client",
        "create",
        "--client-id",
        &id,
        "--grant-type",
        "client_credentials",
        "--token-endpoint-auth-method",
        "client_secret_post",
        "--client-secret-expires-at",
        "1",
    ]);
    let old = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["client_secret_expires_at"], json!(1));
    // Expired at 1970-01-01T00:00:01Z: refused.
    assert_eq!(token_status(db, &id, &old).await, 401);
    let r = db.run(&["--format", "json", "client", "rotate-secret", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("shown only once"), "{}", r.stderr);
    let rotated: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(keys_of(&rotated), with(&CLIENT_FIELDS, &["client_secret"]));
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    // A rotation starts a secret that never expires unless told.
    assert_eq!(rotated["client_secret_expires_at"], json!(0));
    let stored = db
        .clients
        .client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = stored.secret_hash().unwrap();
    assert!(hash.verify(&new) && !hash.verify(&old));
    assert!(!hash.encode().contains(&new));
    assert_eq!(token_status(db, &id, &new).await, 200);
    assert_eq!(token_status(db, &id, &old).await, 401);
    // Never shown again.
    let shown = db.run(&["--format", "json", "client", "show", &id]);
    assert!(!shown.stdout.contains(&new));
    let yaml = db.run(&["--format", "yaml", "client", "show", &id]);
    assert!(!yaml.stdout.contains(&new) && !yaml.stdout.contains("client_secret:"));
    // With an expiry, in YAML.
    let r = db.run(&[
        "--format",
        "yaml",
        "client",
        "rotate-secret",
        &id,
        "--client-secret-expires-at",
        "4102444800",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("client_secret_expires_at: 4102444800\n"));
    let newer = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_eq!(token_status(db, &id, &newer).await, 200);
    assert_eq!(token_status(db, &id, &new).await, 401);
    // Clients without a secret, and unknown clients.
    let public = unique("pub");
    db.json(&[
        "client",
        "create",
        "--client-id",
        &public,
        "--public",
        "--grant-type",
        "refresh_token",
    ]);
    let line = assert_fails(&db.run(&["client", "rotate-secret", &public]), 2);
    assert!(
        line.contains("uses none and has no secret to rotate"),
        "{line}"
    );
    let line = assert_fails(&db.run(&["client", "rotate-secret", &unique("ghost")]), 3);
    assert!(line.contains("unknown client"), "{line}");
}

/// `client list` filters and pages in the CLI.
async fn list_filters_and_pages(db: &Db) {
    let owner = unique("owner");
    let tag = unique("Tag");
    let mut ids = Vec::new();
    for (n, grant) in [
        "client_credentials",
        "authorization_code",
        "client_credentials",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("{}-{n}", unique("list"));
        let name = format!("App {n} {tag}");
        let mut args = vec![
            "client",
            "create",
            "--client-id",
            &id,
            "--name",
            &name,
            "--grant-type",
            grant,
            "--owner",
            &owner,
        ];
        if *grant == "authorization_code" {
            args.extend(["--redirect-uri", "https://app.example/cb"]);
        }
        db.json(&args);
        ids.push(id);
    }
    ids.sort();
    let listed = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["client", "list"];
        all.extend_from_slice(args);
        db.json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&["--owner", &owner]), ids);
    let cc: Vec<String> = ids.iter().filter(|i| !i.ends_with("-1")).cloned().collect();
    assert_eq!(
        listed(&["--owner", &owner, "--grant-type", "client_credentials"]),
        cc
    );
    assert_eq!(
        listed(&["--name-contains", &tag.to_uppercase()]),
        ids,
        "ignoring case"
    );
    assert_eq!(
        listed(&["--name-contains", &format!("1 {tag}")]),
        ids.iter()
            .filter(|i| i.ends_with("-1"))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert!(listed(&["--owner", &unique("nobody")]).is_empty());
    // Paging: the note says where the next page starts.
    let r = db.run(&[
        "--format", "json", "client", "list", "--owner", &owner, "--limit", "2",
    ]);
    assert_eq!(r.code, 0);
    let page: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert!(
        r.stderr.contains("1 more client(s) match: --offset 2"),
        "{}",
        r.stderr
    );
    assert_eq!(
        listed(&["--owner", &owner, "--limit", "2", "--offset", "2"]),
        ids[2..].to_vec()
    );
    // Every format; the table filters the same.
    let r = db.run(&[
        "--format", "yaml", "client", "list", "--owner", &owner, "--limit", "1",
    ]);
    assert!(
        r.stdout
            .starts_with(&format!("- client_id: {}\n  client_name: ", ids[0])),
        "{}",
        r.stdout
    );
    let r = db.run(&["client", "list", "--owner", &owner]);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    assert!(r.stdout.starts_with("CLIENT_ID"));
    let r = db.run(&["client", "list", "--owner", &unique("nobody")]);
    assert_eq!(r.stdout, "no clients\n");
    let r = db.run(&[
        "--format",
        "yaml",
        "client",
        "list",
        "--owner",
        &unique("nobody"),
    ]);
    assert_eq!(r.stdout, "[]\n");
}

/// Every command prints YAML too (keys, tokens, consent, migrate).
async fn other_commands_in_yaml(db: &Db) {
    let r = db.run(&["--format", "yaml", "migrate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("backend: "), "{}", r.stdout);
    assert!(r.stdout.contains("migrated: true\n"));
    let r = db.run(&["--format", "yaml", "tokens", "purge", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("dry_run: true\ncodes: "),
        "{}",
        r.stdout
    );
    let r = db.run(&[
        "--format",
        "yaml",
        "consent",
        "list",
        "--user",
        &unique("u"),
    ]);
    assert_eq!(r.stdout, "[]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_field_create_update_show() {
    every_field_on_create_update_and_show(&Db::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_create_from_json() {
    create_from_rfc_7591_documents(&Db::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rotate_secret() {
    rotate_secret(&Db::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_list_filters_and_yaml() {
    let db = Db::sqlite().await;
    list_filters_and_pages(&db).await;
    other_commands_in_yaml(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    portcullis_no_postgres,
    ignore = "no PostgreSQL here: install its server binaries or set PORTCULLIS_TEST_POSTGRES_URL"
)]
async fn postgres_full_client_model_from_json_rotate_and_list() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    every_field_on_create_update_and_show(&db).await;
    create_from_rfc_7591_documents(&db).await;
    rotate_secret(&db).await;
    list_filters_and_pages(&db).await;
    other_commands_in_yaml(&db).await;
}
