-- portcullis schema 8 (SQLite): the host's login session (sid) of the codes
-- and tokens of an OpenID Connect grant, so that a logout finds them
-- (TokenStore::revoke_session, Back-Channel Logout 1.0 §2.7). Written on
-- insert from the OpenIdGrant; NULL without one, or without a session id.
-- Schemas 7 and 8 ship in the same release, so no row written before
-- holds an OpenID Connect grant: none needs filling in.
ALTER TABLE portcullis_codes ADD COLUMN session_id TEXT;
ALTER TABLE portcullis_tokens ADD COLUMN session_id TEXT;
CREATE INDEX portcullis_codes_session ON portcullis_codes (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX portcullis_tokens_session ON portcullis_tokens (session_id) WHERE session_id IS NOT NULL;
