-- +goose Up
-- billable mirrors the shipment document's billable flag, so that the
-- console counts the delivered shipments whose invoice is due from an
-- index instead of reading their documents.
ALTER TABLE shipments ADD COLUMN billable INTEGER NOT NULL DEFAULT 0;
UPDATE shipments SET billable = 1 WHERE json_extract(doc, '$.billable') = 1;
CREATE INDEX shipments_billable ON shipments (updated_at) WHERE state = 'delivered' AND billable = 1;

-- +goose Down
DROP INDEX shipments_billable;
ALTER TABLE shipments DROP COLUMN billable;
