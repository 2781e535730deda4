-- portcullis schema 2 (PostgreSQL): JWT access tokens, signing keys shared
-- by every instance, and JWT client authentication (RFC 7523).
ALTER TABLE portcullis_clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque';
ALTER TABLE portcullis_clients ADD COLUMN jwks TEXT;
ALTER TABLE portcullis_clients ADD COLUMN jwt_secret TEXT;
CREATE TABLE portcullis_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_pkcs8 BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    not_before    BIGINT NOT NULL,
    not_after     BIGINT,
    drop_after    BIGINT
);
CREATE TABLE portcullis_assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX portcullis_assertion_jtis_expiry ON portcullis_assertion_jtis (expires_at);
