-- portcullis schema 14 (MySQL/MariaDB): dynamic client registration (RFC
-- 7591/7592, issue 19 part 2). The hash of a client's registration access
-- token, in the `secret_hash` form (`sha256$…`); NULL for a client not
-- registered over HTTP, which the client configuration endpoint refuses.
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS registration_access_token_hash TEXT;
