-- +goose Up
-- data_keys holds the data keys that seal values at rest (package seal),
-- each wrapped by the key-encryption key named by kek_id; the key with the
-- highest seq is current. Times are Unix microseconds, UTC.
CREATE TABLE data_keys (
    id         TEXT   PRIMARY KEY,
    seq        BIGINT NOT NULL UNIQUE,
    kek_id     TEXT   NOT NULL,
    wrapped    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- The data key a stored payload body and a dead letter's arguments are
-- sealed under; '' for plaintext. Event bodies carry theirs in the value's
-- own header.
ALTER TABLE source_payloads ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE dead_letters DROP COLUMN key_id;
ALTER TABLE source_payloads DROP COLUMN key_id;
DROP TABLE data_keys;
