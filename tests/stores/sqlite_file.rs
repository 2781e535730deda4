//! The SQLite database file holds signing keys, secret hashes and token
//! hashes: `SqliteStore::connect` creates it readable and writable by its
//! owner only, whatever the umask, and SQLite gives its `-wal` and `-shm`
//! companions the same mode.

use std::os::unix::fs::PermissionsExt as _;

use portcullis::stores::SqliteStore;
use portcullis::{Client, ClientAdmin, ClientId, SecretHash};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_new_database_file_and_its_wal_and_shm_are_owner_only() {
    // covers: CA-05, TK-02
    // issue 15 finding 7
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-file-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("auth.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // A write, so that the WAL and the shared-memory index exist.
    let client = Client::confidential(ClientId::parse("c").unwrap(), SecretHash::sha256("s"))
        .build()
        .unwrap();
    store.insert_client(client).await.unwrap();
    assert_eq!(mode(&file), 0o600, "database file");
    for companion in ["auth.db-wal", "auth.db-shm"] {
        assert_eq!(mode(&dir.join(companion)), 0o600, "{companion}");
    }
    store.pool().close().await;

    // An existing file is opened as it is: its mode is the operator's.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let again = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    again.migrate().await.unwrap();
    assert_eq!(mode(&file), 0o640);
    again.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_in_memory_database_creates_no_file() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    // sqlx names it `file:sqlx-in-memory-N`: nothing of that name on disk.
    let cwd = std::fs::read_dir(".").unwrap();
    assert!(
        cwd.flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("file:sqlx")),
        "an in-memory database left a file behind"
    );
}

#[tokio::test]
async fn a_connection_given_back_inside_a_transaction_does_not_keep_the_write_lock() {
    // covers: RB-02
    // issue 20: a request dropped just after its `BEGIN IMMEDIATE` left the
    // connection in the pool holding SQLite's write lock, and every other
    // writer waited out its busy timeout ("database is locked").
    use std::time::Duration;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-leaked-tx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("auth.db").display());
    let options =
        portcullis::stores::SqlPoolOptions::default().busy_timeout(Duration::from_millis(300));
    let store = SqliteStore::connect_with(&url, &options).await.unwrap();
    store.migrate().await.unwrap();
    {
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .unwrap();
        // Back to the pool with the transaction open.
    }
    // The pool takes it back in a task of its own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..3 {
        let client = Client::confidential(
            ClientId::parse(&format!("c{n}")).unwrap(),
            SecretHash::sha256("s"),
        )
        .build()
        .unwrap();
        store
            .insert_client(client)
            .await
            .expect("a write after the leaked transaction");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
