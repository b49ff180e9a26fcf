-- +goose Up
-- environment names the environment (prod, test, …) the database belongs
-- to: one row, written by the first start-up with server.environment set.
-- A configuration of another environment refuses to use the database.
CREATE TABLE environment (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE environment;
