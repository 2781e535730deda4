-- portcullis schema 11 (MySQL/MariaDB): device authorizations of the device
-- grant (RFC 8628), by the hash of the device code, found by the hash of
-- the user code (unique). state: 0 pending, 1 approved (subject, openid:
-- the user and their OpenID Connect facts), 2 denied, 3 redeemed.
-- interval_secs grows by 5 on each poll sooner than it after last_poll;
-- last_too_soon says whether the last poll was (written by the UPDATE that
-- records the poll and read back in its transaction, so the check is
-- atomic).
CREATE TABLE IF NOT EXISTS portcullis_devices (
    hash          VARBINARY(64) PRIMARY KEY,
    user_code     VARBINARY(64) NOT NULL UNIQUE,
    client_id     VARCHAR(255) NOT NULL,
    scope         TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_poll     BIGINT,
    last_too_soon BOOLEAN NOT NULL DEFAULT FALSE,
    state         SMALLINT NOT NULL DEFAULT 0,
    subject       VARCHAR(255),
    openid        MEDIUMTEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_devices_expiry ON portcullis_devices (expires_at);
