-- +goose Up
-- console_sessions are the web console's sign-ins: a session is made by
-- signing in with an API key and acts with that key's scopes, checked
-- afresh on every request. Only a hash of the session token is kept.
-- Times are Unix microseconds, UTC.
CREATE TABLE console_sessions (
    token_hash  TEXT   PRIMARY KEY,
    key_id      TEXT   NOT NULL,
    csrf_token  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- The console's flow overview counts shipments by state with the oldest
-- in each, and lists the blocked ones, without reading their documents.
CREATE INDEX shipments_state_updated ON shipments (state, updated_at);
CREATE INDEX shipments_blocked ON shipments (updated_at) WHERE blocked_reason <> '';

-- +goose Down
DROP INDEX shipments_blocked;
DROP INDEX shipments_state_updated;
DROP TABLE console_sessions;
