-- +goose Up
-- Several serve replicas on one PostgreSQL database apply events in
-- partitions: a shipment (or order) belongs to the partition its id
-- hashes to, and one replica at a time owns a partition (a lease named
-- partition/NNN). part is the partition an event was routed to, NULL
-- until the router has looked at it.
ALTER TABLE events ADD COLUMN part INTEGER;
CREATE INDEX events_pending_part ON events (part, seq) WHERE state = 'pending';

-- routes remembers the partition of external references whose shipment
-- (or order) the processor has not created or learned yet: the router
-- sends a later event naming the same reference, or a key the earlier
-- event brings (a BOL, a PRO), to the same partition, so a shipment's
-- events are applied in acceptance order by one replica. The
-- cross-references (xrefs) take precedence once they exist.
CREATE TABLE routes (
    kind        TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    part        INTEGER NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (system, kind, external_id)
);

-- trace keeps the traceparent an event's flow continues from (and the
-- submitting span's, after a space), for events applied after they were
-- stored: their trace goes on. Empty with tracing off.
ALTER TABLE events ADD COLUMN trace TEXT;

-- An event's body moves out of line into the TOAST table, so that the
-- updates that route and mark an event write the narrow row again, not
-- its body. Sealed bodies do not compress: they are stored as they are.
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE events SET (toast_tuple_target = 256);

-- +goose Down
ALTER TABLE events RESET (toast_tuple_target);
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTENDED;
ALTER TABLE events DROP COLUMN trace;
DROP TABLE routes;
DROP INDEX events_pending_part;
ALTER TABLE events DROP COLUMN part;
