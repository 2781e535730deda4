-- portcullis schema 4 (SQLite): one row per grant, the lock that lets a
-- revocation win against the steps in flight in its grant (RB-05). Every
-- step that adds tokens to a grant (exchange, rotation, issue) writes its
-- row first and refuses a revoked one; a revocation marks it revoked first,
-- so it waits for those steps and the ones after it see the mark (on SQLite
-- the database's write lock already serialises them; the row keeps one
-- logic for both stores, and the mark outlives the transaction). Rows are
-- created on first use, so grants older than this version need none here.
CREATE TABLE portcullis_grants (
    grant_id BLOB PRIMARY KEY,
    revoked  BOOLEAN NOT NULL
);
