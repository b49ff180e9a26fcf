-- +goose Up
-- source_payloads keeps every payload a source profile received and that
-- passed authentication, byte for byte, with what became of it: for audit,
-- inspection of what failed, and replay. Times are Unix microseconds, UTC.
CREATE TABLE source_payloads (
    id             TEXT    PRIMARY KEY,
    source         TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    name           TEXT    NOT NULL DEFAULT '',
    content_type   TEXT    NOT NULL DEFAULT '',
    sha256         TEXT    NOT NULL,
    body           BLOB   NOT NULL,
    received_at    BIGINT  NOT NULL,
    correlation_id TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    error          TEXT    NOT NULL DEFAULT '',
    events         INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX source_payloads_source ON source_payloads (source, received_at);

-- source_payload_events links a payload to the events made from it, new or
-- repeated: one event may come from several payloads (a full-history push).
CREATE TABLE source_payload_events (
    payload_id   TEXT NOT NULL,
    event_source TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    PRIMARY KEY (payload_id, event_source, event_id)
);
CREATE INDEX source_payload_events_event ON source_payload_events (event_source, event_id);

-- webhook_ids remembers the ids of signed webhooks (Standard Webhooks) for
-- replay protection across restarts and processes, until their timestamp
-- is out of tolerance anyway.
CREATE TABLE webhook_ids (
    source     TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (source, id)
);

-- control_numbers hands out the interchange and group control numbers of
-- the EDI Waybill sends (997 acknowledgements, 204 tenders), per partner.
CREATE TABLE control_numbers (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE control_numbers;
DROP TABLE webhook_ids;
DROP TABLE source_payload_events;
DROP TABLE source_payloads;
