-- +goose Up
-- Partitions matter only to several serve replicas on one PostgreSQL
-- database; on SQLite one process applies every event, and these stay
-- empty. They exist so that both engines have the same tables.
ALTER TABLE events ADD COLUMN part INTEGER;

CREATE TABLE routes (
    kind        TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    part        INTEGER NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (system, kind, external_id)
);

-- trace keeps the traceparent an event's flow continues from (and the
-- submitting span's, after a space), for events applied after they were
-- stored: their trace goes on. Empty with tracing off.
ALTER TABLE events ADD COLUMN trace TEXT;

-- +goose Down
ALTER TABLE events DROP COLUMN trace;
DROP TABLE routes;
ALTER TABLE events DROP COLUMN part;
