-- +goose Up
-- The policy Roster decides by, held in the store so that every replica and every
-- command sees the same: the operator's schema extension, the default privacy, the
-- parental-consent age and the restrictions of each surface. Values are JSON.
-- policy_counter.version grows with every change; a replica compares it with the
-- version it holds (read together with each request's credential) and reloads when
-- they differ.
CREATE TABLE policy (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE policy_counter (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
-- Version 1 is Roster's built-in policy, so that 0 can stand for a version not read.
INSERT INTO policy_counter (id, version) VALUES (1, 1);

-- +goose Down
DROP TABLE policy_counter;
DROP TABLE policy;
