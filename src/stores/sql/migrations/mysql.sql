-- portcullis schema 1 (MySQL/MariaDB). Opaque tokens and codes are stored
-- only as SHA-256 hashes (TK-02); every token-path lookup is by primary key.
-- Every table is InnoDB, its text utf8mb4 with the exact, binary, no-pad
-- collation (values that differ only by trailing spaces stay different);
-- hashes are VARBINARY. Text that is part of a key is VARCHAR (a key cannot
-- hold TEXT). IF NOT EXISTS everywhere: MySQL commits each DDL statement on
-- its own, so a migration interrupted half-way is finished by the next run.
CREATE TABLE IF NOT EXISTS portcullis_clients (
    client_id                  VARCHAR(255) PRIMARY KEY,
    client_name                TEXT NOT NULL,
    secret_hash                TEXT,
    token_endpoint_auth_method VARCHAR(64) NOT NULL,
    scope                      TEXT NOT NULL,
    default_scope              TEXT,
    enabled                    BOOLEAN NOT NULL,
    skip_consent               BOOLEAN NOT NULL,
    allow_plain_pkce           BOOLEAN NOT NULL,
    access_token_lifetime      BIGINT,
    refresh_token_lifetime     BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS portcullis_client_redirect_uris (
    client_id    VARCHAR(255) NOT NULL,
    redirect_uri VARCHAR(512) NOT NULL,
    PRIMARY KEY (client_id, redirect_uri),
    FOREIGN KEY (client_id) REFERENCES portcullis_clients (client_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS portcullis_client_grants (
    client_id  VARCHAR(255) NOT NULL,
    grant_type VARCHAR(255) NOT NULL,
    PRIMARY KEY (client_id, grant_type),
    FOREIGN KEY (client_id) REFERENCES portcullis_clients (client_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS portcullis_codes (
    hash             VARBINARY(64) PRIMARY KEY,
    grant_id         VARBINARY(64) NOT NULL,
    client_id        VARCHAR(255) NOT NULL,
    subject          VARCHAR(255) NOT NULL,
    scope            TEXT NOT NULL,
    redirect_uri     TEXT,
    challenge        TEXT,
    challenge_method TEXT,
    issued_at        BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used             BOOLEAN NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_codes_grant ON portcullis_codes (grant_id);
CREATE INDEX IF NOT EXISTS portcullis_codes_expiry ON portcullis_codes (expires_at);
CREATE INDEX IF NOT EXISTS portcullis_codes_client ON portcullis_codes (client_id);
CREATE INDEX IF NOT EXISTS portcullis_codes_subject ON portcullis_codes (subject);
-- kind: 0 = access token, 1 = refresh token.
CREATE TABLE IF NOT EXISTS portcullis_tokens (
    hash       VARBINARY(64) PRIMARY KEY,
    kind       SMALLINT NOT NULL,
    grant_id   VARBINARY(64) NOT NULL,
    client_id  VARCHAR(255) NOT NULL,
    subject    VARCHAR(255),
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_tokens_grant ON portcullis_tokens (grant_id);
CREATE INDEX IF NOT EXISTS portcullis_tokens_expiry ON portcullis_tokens (expires_at);
CREATE INDEX IF NOT EXISTS portcullis_tokens_client ON portcullis_tokens (client_id);
CREATE INDEX IF NOT EXISTS portcullis_tokens_subject ON portcullis_tokens (subject);
CREATE TABLE IF NOT EXISTS portcullis_consents (
    user_id    VARCHAR(255) NOT NULL,
    client_id  VARCHAR(255) NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS portcullis_consent_scopes (
    user_id   VARCHAR(255) NOT NULL,
    client_id VARCHAR(255) NOT NULL,
    scope     VARCHAR(255) NOT NULL,
    PRIMARY KEY (user_id, client_id, scope),
    FOREIGN KEY (user_id, client_id) REFERENCES portcullis_consents (user_id, client_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
