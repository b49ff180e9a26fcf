-- +goose Up
-- tracking_links are the signed links to the public tracking page of a
-- shipment. id is the random link id the token carries; the token itself
-- (id, expiry and signature) is never stored. created_by is the id of the
-- API key that made the link. expires_at and revoked_at bound its life:
-- a link answers while now < expires_at and revoked_at is NULL. Times are
-- Unix microseconds, UTC.
CREATE TABLE tracking_links (
    id          TEXT    PRIMARY KEY,
    shipment_id TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    created_by  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX tracking_links_shipment ON tracking_links (shipment_id, created_at);

-- +goose Down
DROP TABLE tracking_links;
