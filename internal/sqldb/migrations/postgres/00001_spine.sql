-- +goose Up
-- events is the durable intake log: one row per accepted event, the dedupe
-- key (source, source_id), and the shipment timeline once processed.
-- Times are Unix microseconds, UTC.
CREATE TABLE events (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    source_id       TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    occurred_at     BIGINT  NOT NULL,
    occurred_offset INTEGER NOT NULL,
    accepted_at     BIGINT  NOT NULL,
    correlation_id  TEXT    NOT NULL,
    payload_hash    TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    reason          TEXT    NOT NULL DEFAULT '',
    shipment_id     TEXT,
    processed_at    BIGINT,
    UNIQUE (source, source_id)
);
CREATE INDEX events_pending ON events (seq) WHERE state = 'pending';
CREATE INDEX events_shipment ON events (shipment_id, occurred_at, seq);

CREATE TABLE shipments (
    id             TEXT   PRIMARY KEY,
    state          TEXT   NOT NULL,
    blocked_reason TEXT   NOT NULL DEFAULT '',
    doc            TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX shipments_state ON shipments (state, id);

CREATE TABLE orders (
    id         TEXT   PRIMARY KEY,
    doc        TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- xrefs maps (system, kind, external id) to a canonical id.
CREATE TABLE xrefs (
    system       TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    external_id  TEXT   NOT NULL,
    canonical_id TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (system, kind, external_id)
);
CREATE INDEX xrefs_canonical ON xrefs (canonical_id);

CREATE TABLE api_keys (
    id          TEXT   PRIMARY KEY,
    name        TEXT   NOT NULL,
    secret_hash TEXT   NOT NULL,
    scopes      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- dead_letters keeps every job that failed permanently or ran out of
-- attempts, for as long as an operator wants it (River's own rows are
-- deleted after their retention period).
CREATE TABLE dead_letters (
    id              TEXT    PRIMARY KEY,
    job_id          BIGINT  NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    shipment_id     TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    args            TEXT    NOT NULL,
    error           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE dead_letter_replays (
    id             TEXT   PRIMARY KEY,
    dead_letter_id TEXT   NOT NULL REFERENCES dead_letters (id),
    job_id         BIGINT NOT NULL,
    actor          TEXT   NOT NULL,
    replayed_at    BIGINT NOT NULL
);
CREATE INDEX dead_letter_replays_dl ON dead_letter_replays (dead_letter_id);

-- +goose Down
DROP TABLE dead_letter_replays;
DROP TABLE dead_letters;
DROP TABLE api_keys;
DROP TABLE xrefs;
DROP TABLE orders;
DROP TABLE shipments;
DROP TABLE events;
