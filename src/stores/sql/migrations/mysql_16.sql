-- portcullis schema 16 (MySQL/MariaDB): the counts of the store-backed
-- throttle (StoreThrottle, RB-04), shared by every instance on this
-- database, so that N instances give an attacker the limits once, not N
-- times. Keys are 16 bytes of SHA-256 over the account, the source or the
-- pair: no id, username or address is stored. Rows whose window has ended
-- (and pairs no longer known) change no answer; purge_throttle deletes
-- them.
CREATE TABLE IF NOT EXISTS portcullis_throttle_counts (
    counter_key VARBINARY(16) PRIMARY KEY,
    attempts    BIGINT NOT NULL,
    in_flight   BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    window_end  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_throttle_counts_window_end ON portcullis_throttle_counts (window_end);
CREATE TABLE IF NOT EXISTS portcullis_throttle_known (
    pair_key    VARBINARY(16) PRIMARY KEY,
    known_until BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_throttle_known_until ON portcullis_throttle_known (known_until);
