-- portcullis schema 15 (PostgreSQL): an index of the clients' CORS origins
-- (issue 19 part 3, CO-01). A CORS preflight asks whether some enabled
-- client lists an origin in `allowed_cors_origins` (kept space-separated in
-- `portcullis_clients`, which stays the record): one row per origin and
-- client, written with the client, answers it by the primary key instead
-- of scanning every client. Filled from the clients already stored.
CREATE TABLE portcullis_client_cors_origins (
    origin    TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES portcullis_clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_id)
);
CREATE INDEX portcullis_client_cors_origins_client ON portcullis_client_cors_origins (client_id);
INSERT INTO portcullis_client_cors_origins (origin, client_id)
SELECT DISTINCT o.origin, c.client_id
FROM portcullis_clients c, unnest(string_to_array(c.allowed_cors_origins, ' ')) AS o (origin)
WHERE c.allowed_cors_origins IS NOT NULL AND o.origin <> '';
