-- +goose Up
-- Events the workflow refused or could not apply are listed per source
-- (GET /v1/events?source=…&state=rejected) so that a sender sees what became
-- of what it sent. Partial indexes keep that cheap without a write for the
-- events that are applied, which are nearly all of them.
CREATE INDEX events_rejected ON events (source, seq) WHERE state = 'rejected';
CREATE INDEX events_failed ON events (source, seq) WHERE state = 'failed';
-- +goose Down
DROP INDEX events_failed;
DROP INDEX events_rejected;
