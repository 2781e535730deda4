-- portcullis schema 13 (MySQL/MariaDB): the full client model (issue 19).
-- The rest of RFC 7591 and OpenID Connect Registration 1.0 §2, the browser
-- origins allowed to call the token endpoints, an owner and a free-form
-- metadata object. `contacts` is a JSON array of strings,
-- `allowed_cors_origins` space-separated (no `Origin` holds whitespace),
-- `metadata` a JSON object; NULL for none. `client_secret_expires_at` in
-- Unix seconds, NULL for never.
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS application_type VARCHAR(64) NOT NULL DEFAULT 'web';
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS contacts MEDIUMTEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS jwks_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS software_id TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS software_version TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS client_secret_expires_at BIGINT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS token_endpoint_auth_signing_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS request_object_signing_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS allowed_cors_origins MEDIUMTEXT;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS owner VARCHAR(255);
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS metadata MEDIUMTEXT;
CREATE INDEX IF NOT EXISTS portcullis_clients_owner ON portcullis_clients (owner);
