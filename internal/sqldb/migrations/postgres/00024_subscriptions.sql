-- +goose Up
-- A key may belong to a customer (its customer ref): it then manages only
-- that customer's subscriptions, which only ever receive that customer's
-- shipments. Empty for the operator's keys.
ALTER TABLE api_keys ADD COLUMN customer TEXT NOT NULL DEFAULT '';

-- subscriptions are the endpoints events are delivered to, signed as
-- Standard Webhooks. doc is the subscription as JSON (event types,
-- filter, redaction, rate limit); secrets are its signing secrets, sealed
-- when encryption is on, the newest first, older ones with the time they
-- stop being used.
CREATE TABLE subscriptions (
    id             TEXT    PRIMARY KEY,
    owner          TEXT    NOT NULL,
    url            TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    secrets        TEXT    NOT NULL,
    enabled        BOOLEAN NOT NULL,
    disabled_reason TEXT   NOT NULL DEFAULT '',
    failing_since  BIGINT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX subscriptions_owner ON subscriptions (owner);

-- webhook_messages is the outbox of deliveries: written in the
-- transaction that applies the event, delivered in order per subscription
-- and shipment. state is pending, delivered or failed (given up).
CREATE TABLE webhook_messages (
    seq             BIGINT  NOT NULL,
    id              TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL,
    shipment_id     TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT,
    PRIMARY KEY (subscription_id, seq)
);
CREATE INDEX webhook_messages_chain ON webhook_messages (subscription_id, shipment_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_created ON webhook_messages (subscription_id, created_at);

-- webhook_attempts is the delivery log: each attempt's status, latency and
-- the start of the response, the latest kept per subscription.
CREATE TABLE webhook_attempts (
    subscription_id TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    at              BIGINT  NOT NULL,
    status          INTEGER NOT NULL,
    latency_us      BIGINT  NOT NULL,
    response        TEXT    NOT NULL,
    error           TEXT    NOT NULL
);
CREATE INDEX webhook_attempts_sub ON webhook_attempts (subscription_id, at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE subscriptions;
ALTER TABLE api_keys DROP COLUMN customer;
