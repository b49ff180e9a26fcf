-- +goose Up
-- audit_log is the append-only audit trail of business-critical decisions
-- and changes: a hash chain (each entry holds the hash of the one before)
-- whose hashes are signed with the server's Ed25519 key. Times are Unix
-- microseconds, UTC. details is JSON kept as text, byte for byte as hashed.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    subject   TEXT   NOT NULL DEFAULT '',
    details   TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL,
    key_id    TEXT   NOT NULL,
    signature TEXT   NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- audit_head is the chain's head: the last sequence number and hash. An
-- append updates it first, which serialises appends on both engines (the
-- row lock on PostgreSQL, the single writer on SQLite), and verification
-- compares the last entry with it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_log;
