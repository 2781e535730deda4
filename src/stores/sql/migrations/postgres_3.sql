-- portcullis schema 3 (PostgreSQL): authorization requests suspended while
-- the host shows its login or consent page, by the hash of their handle.
CREATE TABLE portcullis_authorization_requests (
    hash       BYTEA PRIMARY KEY,
    payload    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portcullis_authorization_requests_expiry ON portcullis_authorization_requests (expires_at);
