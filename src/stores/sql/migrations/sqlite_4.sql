-- portcullis schema 4 (SQLite): the lock that lets a revocation win
-- against the steps in flight in its grant (RB-05). A step that adds tokens
-- to an existing grant (exchange, rotation) first writes the grant's row,
-- creating it if missing, and refuses a revoked one; a revocation first
-- marks the row revoked, so it waits for the steps holding it, and the
-- steps after it see the mark. (SQLite's write lock already runs writers
-- one at a time; the row keeps one logic for both stores.) Rows are created
-- on first use (grants older than this version need none here) and purged
-- once nothing of the grant is stored.
CREATE TABLE portcullis_grants (
    grant_id BLOB PRIMARY KEY,
    revoked  BOOLEAN NOT NULL
);
