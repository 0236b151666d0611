-- +goose Up
-- Rows a transaction updates first to serialize itself against others that could break
-- the same invariant. "sysadmins": every change that may remove an active system
-- administrator takes it before counting them, so two such changes cannot both see the
-- other's administrator still active.
CREATE TABLE store_locks (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO store_locks (name, n) VALUES ('sysadmins', 0);

-- Browsers that signed in to an account with its password before. A failed sign-in
-- from one of them counts against that device only, so an attacker guessing passwords
-- from elsewhere cannot lock the owner out. The token is kept as its SHA-256 hash.
CREATE TABLE login_devices (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    hash         BLOB NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL
);
CREATE INDEX login_devices_account ON login_devices (account_id);

-- +goose Down
DROP TABLE login_devices;
DROP TABLE store_locks;
