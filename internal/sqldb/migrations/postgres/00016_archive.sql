-- +goose Up
-- archived_events keeps the dedupe key of every event moved out to the
-- history archive (package archive), with what a repeat is compared with
-- and answered: an event sent again after its row was archived is still a
-- repeat (or a conflict), never accepted twice. Rows are written in the
-- transaction that deletes the events, and never removed.
CREATE TABLE archived_events (
    source         TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    payload_hash   TEXT NOT NULL,
    PRIMARY KEY (source, source_id)
);

-- audit_anchor is the last audit entry moved to the archive: the hot
-- chain in audit_log goes on from it (its seq + 1, prev_hash = its hash).
-- Absent until the first audit entries are archived.
CREATE TABLE audit_anchor (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);

-- +goose Down
DROP TABLE audit_anchor;
DROP TABLE archived_events;
