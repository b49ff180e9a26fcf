-- +goose Up
-- What an API key may do beyond its scopes, and when it was last used:
--   label         the environment the key belongs to (prod, test, …); '' for none
--   expires_at    when the key stops working, Unix microseconds UTC; NULL never
--   rate, burst   the key's own rate limit in requests per second and burst;
--                 NULL rate means the server's default (server.key_rate),
--                 0 means unlimited
--   last_used_at  when a request last authenticated with the key, Unix
--                 microseconds UTC, written at most once a minute; NULL never
ALTER TABLE api_keys ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN rate DOUBLE PRECISION;
ALTER TABLE api_keys ADD COLUMN burst INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN burst;
ALTER TABLE api_keys DROP COLUMN rate;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN label;
