-- portcullis schema 4 (MySQL/MariaDB): the lock that lets a revocation win
-- against the steps in flight in its grant (RB-05). A step that adds tokens
-- to an existing grant (exchange, rotation) first writes the grant's row,
-- creating it if missing, and refuses a revoked one; a revocation first
-- marks the row revoked, so it waits for the steps holding it, and the
-- steps after it see the mark. Rows are created on first use and purged
-- once nothing of the grant is stored.
CREATE TABLE IF NOT EXISTS portcullis_grants (
    grant_id VARBINARY(64) PRIMARY KEY,
    revoked  BOOLEAN NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
