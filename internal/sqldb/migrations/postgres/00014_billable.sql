-- +goose Up
-- billable mirrors the shipment document's billable flag, so that the
-- console counts the delivered shipments whose invoice is due from an
-- index instead of reading their documents.
ALTER TABLE shipments ADD COLUMN billable BOOLEAN NOT NULL DEFAULT false;
UPDATE shipments SET billable = true WHERE (doc::jsonb ->> 'billable') = 'true';
CREATE INDEX shipments_billable ON shipments (updated_at) WHERE state = 'delivered' AND billable;

-- +goose Down
DROP INDEX shipments_billable;
ALTER TABLE shipments DROP COLUMN billable;
