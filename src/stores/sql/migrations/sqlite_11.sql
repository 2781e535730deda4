-- portcullis schema 11 (SQLite): device authorizations of the
-- device grant (RFC 8628), by the hash of the device code, found by the
-- hash of the user code (unique). state: 0 pending, 1 approved (subject,
-- openid: the user and their OpenID Connect facts), 2 denied, 3 redeemed.
-- interval_secs grows by 5 on each poll sooner than it after last_poll;
-- last_too_soon says whether the last poll was (read back by the same
-- UPDATE that records the poll, so the check is atomic).
CREATE TABLE portcullis_devices (
    hash          BLOB PRIMARY KEY,
    user_code     BLOB NOT NULL UNIQUE,
    client_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_poll     BIGINT,
    last_too_soon BOOLEAN NOT NULL DEFAULT FALSE,
    state         SMALLINT NOT NULL DEFAULT 0,
    subject       TEXT,
    openid        TEXT
);
CREATE INDEX portcullis_devices_expiry ON portcullis_devices (expires_at);
