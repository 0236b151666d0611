-- +goose Up
-- The device flow of BrainSTEM's client (RFC 8628's shape): a client without a browser
-- asks for a device code and a user code, a signed-in person approves the user code in
-- a browser, and the client's poll with the device code receives a token, once. Only
-- hashes of both codes are stored. Times use the store's zero instant for "never".
CREATE TABLE device_authorizations (
    id               INTEGER PRIMARY KEY,
    device_code_hash BLOB NOT NULL UNIQUE,
    user_code_hash   BLOB NOT NULL UNIQUE,
    client_name      TEXT NOT NULL,
    client_ip        TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    poll_interval    INTEGER NOT NULL,
    polled_at        TIMESTAMP NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'done')),
    -- who approved or denied it; 0 while pending.
    account_id       INTEGER NOT NULL DEFAULT 0,
    decided_at       TIMESTAMP NOT NULL,
    -- the grant its token started; 0 until done.
    grant_id         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at);

-- +goose Down
DROP TABLE device_authorizations;
