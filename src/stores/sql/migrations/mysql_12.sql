-- portcullis schema 12 (MySQL/MariaDB): token exchange (RFC 8693, issue
-- 18). An access token issued by delegation keeps its `act` claim (RFC 8693
-- §4.1), the JSON object of the actor and its prior actors, so
-- introspection shows it for opaque tokens too; NULL for every other token.
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS act MEDIUMTEXT;
