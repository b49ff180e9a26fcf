-- +goose Up
-- reconciliations keeps one record per business day and warehouse ('' for
-- every warehouse): what Waybill and Odoo disagree on that day, the
-- healing it caused, and finance's decision. doc holds the differences and
-- the totals per customer as JSON. Times are Unix microseconds, UTC.
CREATE TABLE reconciliations (
    id          TEXT    PRIMARY KEY,
    day         TEXT    NOT NULL,
    warehouse   TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    shipments   INTEGER NOT NULL,
    differences INTEGER NOT NULL,
    doc         TEXT    NOT NULL,
    decided_by  TEXT    NOT NULL DEFAULT '',
    decided_at  BIGINT,
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (day, warehouse)
);
CREATE INDEX reconciliations_created ON reconciliations (created_at, id);
-- A day's reconciliation reads the shipments changed that day.
CREATE INDEX shipments_updated ON shipments (updated_at);

-- +goose Down
DROP INDEX shipments_updated;
DROP TABLE reconciliations;
