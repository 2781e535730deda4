-- portcullis schema 5 (MySQL/MariaDB): the audiences a client introspects
-- for as a resource server (IN-01), space-separated; NULL for none.
ALTER TABLE portcullis_clients ADD COLUMN IF NOT EXISTS resource_server_audiences TEXT;
