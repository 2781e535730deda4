-- portcullis schema 13 (SQLite): the full client model (issue 19). The rest
-- of RFC 7591 and OpenID Connect Registration 1.0 §2, the browser origins
-- allowed to call the token endpoints, an owner and a free-form metadata
-- object. `contacts` is a JSON array of strings, `allowed_cors_origins`
-- space-separated (no `Origin` holds whitespace), `metadata` a JSON object;
-- NULL for none. `client_secret_expires_at` in Unix seconds, NULL for never.
ALTER TABLE portcullis_clients ADD COLUMN application_type TEXT NOT NULL DEFAULT 'web';
ALTER TABLE portcullis_clients ADD COLUMN contacts TEXT;
ALTER TABLE portcullis_clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE portcullis_clients ADD COLUMN software_id TEXT;
ALTER TABLE portcullis_clients ADD COLUMN software_version TEXT;
ALTER TABLE portcullis_clients ADD COLUMN client_secret_expires_at BIGINT;
ALTER TABLE portcullis_clients ADD COLUMN token_endpoint_auth_signing_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN request_object_signing_alg TEXT;
ALTER TABLE portcullis_clients ADD COLUMN allowed_cors_origins TEXT;
ALTER TABLE portcullis_clients ADD COLUMN owner TEXT;
ALTER TABLE portcullis_clients ADD COLUMN metadata TEXT;
CREATE INDEX portcullis_clients_owner ON portcullis_clients (owner);
