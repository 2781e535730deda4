-- portcullis schema 10 (MySQL/MariaDB): the refresh retry window (issue
-- 18). A rotated-out refresh token records what replaced it: the hashes of
-- its successor refresh token and of the access token issued with it, and
-- when it was rotated out (Unix seconds). NULL on access tokens and on
-- refresh tokens never rotated.
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS successor_hash VARBINARY(64);
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS successor_access_hash VARBINARY(64);
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS rotated_at BIGINT;
