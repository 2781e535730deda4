-- portcullis schema 15 (MySQL/MariaDB): an index of the clients' CORS
-- origins (issue 19 part 3, CO-01). A CORS preflight asks whether some
-- enabled client lists an origin in `allowed_cors_origins` (kept
-- space-separated in `portcullis_clients`, which stays the record): one row
-- per origin and client, written with the client, answers it by the primary
-- key instead of scanning every client. Filled from the clients already
-- stored (an origin holds no quote or backslash, so the list becomes a JSON
-- array by replacing its spaces).
CREATE TABLE IF NOT EXISTS portcullis_client_cors_origins (
    origin    VARCHAR(300) NOT NULL,
    client_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (origin, client_id),
    FOREIGN KEY (client_id) REFERENCES portcullis_clients (client_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX IF NOT EXISTS portcullis_client_cors_origins_client ON portcullis_client_cors_origins (client_id);
INSERT IGNORE INTO portcullis_client_cors_origins (origin, client_id)
SELECT DISTINCT o.origin, c.client_id
FROM portcullis_clients c,
     JSON_TABLE(CONCAT('["', REPLACE(c.allowed_cors_origins, ' ', '","'), '"]'), '$[*]' COLUMNS (origin VARCHAR(300) PATH '$')) AS o
WHERE c.allowed_cors_origins IS NOT NULL AND o.origin <> '';
