-- +goose Up
-- review_items lists the decisions people have to take (proofs of delivery
-- that failed validation, exceptions), across shipments. The shipment
-- document holds each review; the processor mirrors it here in the same
-- transaction, so the queue can be listed and paged by status.
CREATE TABLE review_items (
    id          TEXT   PRIMARY KEY,
    shipment_id TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    owner_role  TEXT   NOT NULL,
    opened_at   BIGINT NOT NULL,
    decided_at  BIGINT,
    doc         TEXT   NOT NULL
);
CREATE INDEX review_items_status ON review_items (status, opened_at, id);
CREATE INDEX review_items_shipment ON review_items (shipment_id);

-- +goose Down
DROP TABLE review_items;
