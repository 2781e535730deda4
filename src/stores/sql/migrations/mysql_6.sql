-- portcullis schema 6 (MySQL/MariaDB): a client's OpenID Connect
-- registration (OpenID Connect Registration 1.0 §2, RP-Initiated Logout 1.0
-- §3.1, Back-Channel Logout 1.0 §2.2). Algorithms by their JOSE names, NULL
-- for the server's default; post_logout_redirect_uris newline-separated (no
-- RedirectUri holds whitespace), NULL for none; default_max_age in seconds.
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS id_token_signed_response_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS userinfo_signed_response_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS subject_type VARCHAR(64) NOT NULL DEFAULT 'public';
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS sector_identifier_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS post_logout_redirect_uris TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS backchannel_logout_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS require_auth_time BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS default_max_age BIGINT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS logo_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS policy_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS tos_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS client_uri TEXT;
