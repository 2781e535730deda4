-- portcullis schema 7 (MySQL/MariaDB): the OpenID Connect facts of a grant
-- whose scope holds `openid` (auth_time, acr, amr, sid, the claims request,
-- whether max_age was sent; the nonce on codes only), as the JSON of
-- `OpenIdGrant::to_json`; NULL for plain OAuth grants.
ALTER TABLE portcullis_codes ADD COLUMN IF NOT EXISTS openid MEDIUMTEXT;
ALTER TABLE portcullis_tokens ADD COLUMN IF NOT EXISTS openid MEDIUMTEXT;
