-- +goose Up
-- leases names the work that one serve at a time does when several share a
-- PostgreSQL database: applying events, polling Odoo, watching folders and
-- feeds. The holder renews expires_at; once it passes, another serve takes
-- the lease and epoch grows, so a holder that lost it can tell (its
-- writes check owner and epoch in their transaction). Times are Unix
-- microseconds of the database's clock.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
