-- +goose Up
-- inventory_checks keeps one record per run of the inventory
-- reconciliation (every run is kept): what Odoo's open pickings,
-- reservations, done moves, returns and scraps disagree with in Waybill,
-- the healing it caused and the operations reviews it opened. warehouse is
-- '' for every warehouse; doc holds the differences and counts as JSON.
-- Times are Unix microseconds, UTC.
CREATE TABLE inventory_checks (
    id          TEXT    PRIMARY KEY,
    warehouse   TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    shipments   INTEGER NOT NULL,
    differences INTEGER NOT NULL,
    doc         TEXT    NOT NULL,
    decided_by  TEXT    NOT NULL DEFAULT '',
    decided_at  BIGINT,
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX inventory_checks_created ON inventory_checks (created_at, id);

-- +goose Down
DROP TABLE inventory_checks;
