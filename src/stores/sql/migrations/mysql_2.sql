-- portcullis schema 2 (MySQL/MariaDB): JWT access tokens, signing keys
-- shared by every instance, and JWT client authentication (RFC 7523).
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS access_token_format VARCHAR(64) NOT NULL DEFAULT 'opaque';
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS jwks MEDIUMTEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS jwt_secret TEXT;
CREATE TABLE IF NOT EXISTS portcullis_keys (
    kid           VARCHAR(255) PRIMARY KEY,
    alg           VARCHAR(64) NOT NULL,
    private_pkcs8 BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    not_before    BIGINT NOT NULL,
    not_after     BIGINT,
    drop_after    BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS portcullis_assertion_jtis (
    client_id  VARCHAR(255) NOT NULL,
    jti        VARCHAR(255) NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_assertion_jtis_expiry ON portcullis_assertion_jtis (expires_at);
