-- portcullis schema 3 (MySQL/MariaDB): authorization requests suspended
-- while the host shows its login or consent page, by the hash of their
-- handle.
CREATE TABLE IF NOT EXISTS portcullis_authorization_requests (
    hash       VARBINARY(64) PRIMARY KEY,
    payload    MEDIUMTEXT NOT NULL,
    expires_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_authorization_requests_expiry ON portcullis_authorization_requests (expires_at);
