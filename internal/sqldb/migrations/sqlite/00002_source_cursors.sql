-- +goose Up
-- source_cursors keeps where each poller of an outside system got to, such
-- as the write_date watermark of the Odoo picking poller, so a restart
-- resumes instead of reading everything again.
CREATE TABLE source_cursors (
    name       TEXT   PRIMARY KEY,
    cursor     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE source_cursors;
