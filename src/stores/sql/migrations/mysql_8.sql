-- portcullis schema 8 (MySQL/MariaDB): the host's login session (sid) of
-- the codes and tokens of an OpenID Connect grant, so that a logout finds
-- them (TokenStore::revoke_session, Back-Channel Logout 1.0 §2.7). Written
-- on insert from the OpenIdGrant; NULL without one, or without a session
-- id. MySQL has no partial index: these index the NULLs too.
ALTER TABLE portcullis_codes ADD COLUMN IF NOT EXISTS session_id VARCHAR(255);
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS session_id VARCHAR(255);
CREATE INDEX IF NOT EXISTS portcullis_codes_session ON portcullis_codes (session_id);
CREATE INDEX IF NOT EXISTS portcullis_tokens_session ON portcullis_tokens (session_id);
