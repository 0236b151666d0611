-- +goose Up
-- A pending change of an account's email (Open edX's email change): the new address
-- waits until the link mailed to it is followed. One per account; a new request
-- replaces it. Only the SHA-256 hash of the link's key is kept.
CREATE TABLE email_changes (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    new_email  TEXT NOT NULL,
    key_hash   BLOB NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- The outbox: every message is written here in the transaction of the change it tells
-- of, and delivered afterwards by workers. A worker leases a message (lease_owner,
-- lease_until) with one UPDATE whose condition is that no lease holds, so two workers
-- never both take it; a lease that expires frees the message of a worker that died.
-- The body is purged ('') once the message is sent, refused or expired; the row stays
-- as a record. message_id is the Message-ID header, fixed at queueing so that a resend
-- carries the same one.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT ''
);
-- What workers look for: pending messages, the first due first.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);

-- +goose Down
DROP TABLE outbox;
DROP TABLE email_changes;
