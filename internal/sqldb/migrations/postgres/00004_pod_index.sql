-- +goose Up
-- The proof-of-delivery feed watch asks, per source and every few seconds,
-- for the last proof and the proofs since a time. A partial index keeps
-- that cheap without slowing the intake of every other event type.
CREATE INDEX events_pods ON events (source, accepted_at) WHERE type = 'shipment.delivered';

-- +goose Down
DROP INDEX events_pods;
