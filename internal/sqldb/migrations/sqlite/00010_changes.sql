-- +goose Up
-- config_changes holds every version of the files that change billing and
-- intake (the rating rules, the source profiles, JSON mappings) that
-- Waybill has seen, with what became of it: the hub uses the newest
-- approved version of each; a changed file waits, pending, for a second
-- person's approval. Times are Unix microseconds, UTC.
CREATE TABLE config_changes (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    content     BLOB   NOT NULL,
    status      TEXT    NOT NULL,
    proposer    TEXT    NOT NULL,
    proposed_at BIGINT  NOT NULL,
    base_id     TEXT    NOT NULL DEFAULT '',
    problem     TEXT    NOT NULL DEFAULT '',
    what_if     TEXT    NOT NULL DEFAULT '',
    decided_by  TEXT    NOT NULL DEFAULT '',
    decided_at  BIGINT  NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX config_changes_name ON config_changes (name, status, proposed_at);

-- +goose Down
DROP TABLE config_changes;
