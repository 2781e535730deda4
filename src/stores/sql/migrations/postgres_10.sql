-- portcullis schema 10 (PostgreSQL): the refresh retry window (issue 18). A
-- rotated-out refresh token records what replaced it: the hashes of its
-- successor refresh token and of the access token issued with it, and when
-- it was rotated out (Unix seconds). NULL on access tokens, on refresh
-- tokens never rotated, and on those rotated before this schema (a retry of
-- one of those is a replay, as before).
ALTER TABLE portcullis_tokens ADD COLUMN successor_hash BYTEA;
ALTER TABLE portcullis_tokens ADD COLUMN successor_access_hash BYTEA;
ALTER TABLE portcullis_tokens ADD COLUMN rotated_at BIGINT;
