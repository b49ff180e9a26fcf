-- +goose Up
-- facets holds the names and references the console's flow overview
-- filters by (customer, carrier, origin warehouse), each as
-- <key>=<value> between unit separators (character 31), so that a filter
-- reads one short column instead of parsing every document. The workflow
-- writes it with the document; this fills it for the shipments already
-- stored, in the same form (workflow.facets).
ALTER TABLE shipments ADD COLUMN facets TEXT NOT NULL DEFAULT '';
UPDATE shipments SET facets = char(31)
    || coalesce('c=' || nullif(json_extract(doc, '$.customer.name'), '') || char(31), '')
    || coalesce('c=' || nullif(json_extract(doc, '$.customer.ref'), '') || char(31), '')
    || coalesce('k=' || nullif(json_extract(doc, '$.carrier.name'), '') || char(31), '')
    || coalesce('k=' || nullif(json_extract(doc, '$.carrier.scac'), '') || char(31), '')
    || coalesce('k=' || nullif(json_extract(doc, '$.carrier.ref'), '') || char(31), '')
    || coalesce('w=' || nullif(json_extract(doc, '$.origin.name'), '') || char(31), '')
    || coalesce('w=' || nullif(json_extract(doc, '$.origin.ref'), '') || char(31), '');
-- The overview's counts by state, filtered or not, read this index only.
DROP INDEX shipments_state_updated;
CREATE INDEX shipments_overview ON shipments (state, updated_at, created_at, facets);

-- +goose Down
DROP INDEX shipments_overview;
CREATE INDEX shipments_state_updated ON shipments (state, updated_at);
ALTER TABLE shipments DROP COLUMN facets;
