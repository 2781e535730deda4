-- portcullis schema 1 (PostgreSQL). Opaque tokens and codes are stored only
-- as SHA-256 hashes (TK-02); every token-path lookup is by primary key.
CREATE TABLE portcullis_clients (
    client_id                  TEXT PRIMARY KEY,
    client_name                TEXT NOT NULL,
    secret_hash                TEXT,
    token_endpoint_auth_method TEXT NOT NULL,
    scope                      TEXT NOT NULL,
    default_scope              TEXT,
    enabled                    BOOLEAN NOT NULL,
    skip_consent               BOOLEAN NOT NULL,
    allow_plain_pkce           BOOLEAN NOT NULL,
    access_token_lifetime      BIGINT,
    refresh_token_lifetime     BIGINT
);
CREATE TABLE portcullis_client_redirect_uris (
    client_id    TEXT NOT NULL REFERENCES portcullis_clients (client_id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    PRIMARY KEY (client_id, redirect_uri)
);
CREATE TABLE portcullis_client_grants (
    client_id  TEXT NOT NULL REFERENCES portcullis_clients (client_id) ON DELETE CASCADE,
    grant_type TEXT NOT NULL,
    PRIMARY KEY (client_id, grant_type)
);
CREATE TABLE portcullis_codes (
    hash             BYTEA PRIMARY KEY,
    grant_id         BYTEA NOT NULL,
    client_id        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    redirect_uri     TEXT,
    challenge        TEXT,
    challenge_method TEXT,
    issued_at        BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used             BOOLEAN NOT NULL
);
CREATE INDEX portcullis_codes_grant ON portcullis_codes (grant_id);
CREATE INDEX portcullis_codes_expiry ON portcullis_codes (expires_at);
CREATE INDEX portcullis_codes_client ON portcullis_codes (client_id);
CREATE INDEX portcullis_codes_subject ON portcullis_codes (subject);
-- kind: 0 = access token, 1 = refresh token.
CREATE TABLE portcullis_tokens (
    hash       BYTEA PRIMARY KEY,
    kind       SMALLINT NOT NULL,
    grant_id   BYTEA NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL
);
CREATE INDEX portcullis_tokens_grant ON portcullis_tokens (grant_id);
CREATE INDEX portcullis_tokens_expiry ON portcullis_tokens (expires_at);
CREATE INDEX portcullis_tokens_client ON portcullis_tokens (client_id);
CREATE INDEX portcullis_tokens_subject ON portcullis_tokens (subject);
CREATE TABLE portcullis_consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE TABLE portcullis_consent_scopes (
    user_id   TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope     TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id, scope),
    FOREIGN KEY (user_id, client_id) REFERENCES portcullis_consents (user_id, client_id) ON DELETE CASCADE
);
