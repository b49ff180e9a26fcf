-- +goose Up
-- starts records the first start of a piece of outside work that must
-- happen at most once, such as invoicing a shipment in Odoo: what has
-- never started before cannot have left an effect behind, so it may skip
-- looking for one. Rows are never changed. started_at is Unix
-- microseconds, UTC.
CREATE TABLE starts (
    scope      TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE starts;
