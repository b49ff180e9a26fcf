-- +goose Up
-- freight_audits keeps one audit per carrier freight invoice: the carrier
-- (its SCAC, else its ref) and the carrier's invoice number identify it.
-- It holds what the carrier billed and what the cost rules expected, per
-- charge type, the outcome (approved, review, disputed), the decision,
-- and the vendor bill made in the ERP. doc holds the comparison, the
-- charges and the bill as JSON. Times are Unix microseconds, UTC.
CREATE TABLE freight_audits (
    id             TEXT    PRIMARY KEY,
    carrier        TEXT    NOT NULL,
    invoice_number TEXT    NOT NULL,
    shipment_id    TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    decided_by     TEXT    NOT NULL DEFAULT '',
    decided_at     BIGINT,
    reason         TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    UNIQUE (carrier, invoice_number)
);
CREATE INDEX freight_audits_shipment ON freight_audits (shipment_id);
CREATE INDEX freight_audits_created ON freight_audits (created_at, id);

-- +goose Down
DROP TABLE freight_audits;
