-- +goose Up
-- The business KPIs (internal/kpi) ask, on every scrape, for the shipments
-- invoiced in the last day (POD-to-invoice latency, invoices per day). The
-- state index alone would read every invoiced shipment ever; this partial
-- index holds only invoiced and closed shipments, by when they last
-- changed, so other shipments' writes never touch it.
CREATE INDEX shipments_invoiced ON shipments (updated_at) WHERE state IN ('invoiced', 'closed');

-- +goose Down
DROP INDEX shipments_invoiced;
