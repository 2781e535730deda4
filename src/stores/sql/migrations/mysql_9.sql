-- portcullis schema 9 (MySQL/MariaDB): sender-constrained tokens and
-- protected requests. Clients: DPoP required (RFC 9449 §5.2), pushed
-- authorization requests required (RFC 9126 §6), signed request objects
-- required (RFC 9101 §10.5), and the resources (RFC 8707 audiences) they may
-- ask tokens for, a JSON array of absolute URIs, NULL for none. Codes and
-- tokens: the RFC 7638 thumbprint of the DPoP key they are bound to (NULL:
-- not bound), and the granted resources (JSON array; NULL: none asked for).
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS resources MEDIUMTEXT;
ALTER TABLE portcullis_codes ADD COLUMN IF NOT EXISTS dpop_jkt TEXT;
ALTER TABLE portcullis_codes ADD COLUMN IF NOT EXISTS resources MEDIUMTEXT;
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS dpop_jkt TEXT;
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS resources MEDIUMTEXT;
