-- +goose Up
-- Times are INTEGER microseconds since the epoch, declared TIMESTAMP so the driver reads
-- them back as time.Time. "Never" is the zero time, never NULL, so indexes compare times
-- without NULL cases.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    name_key      TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('active', 'pending', 'deactivated', 'deleted')),
    sysadmin      BOOLEAN NOT NULL DEFAULT 0,
    staff         BOOLEAN NOT NULL DEFAULT 0,
    capabilities  TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NOT NULL,
    profile       TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX accounts_username_key ON accounts (username_key);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);
CREATE INDEX accounts_name_key ON accounts (name_key, id);
CREATE INDEX accounts_created ON accounts (created_at, id);
CREATE INDEX accounts_last_login ON accounts (last_login_at, id);
CREATE INDEX accounts_sysadmin ON accounts (sysadmin, id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    label        TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    read_only    BOOLEAN NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    hash         BLOB NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    client_ip    TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP NOT NULL
);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE group_members (
    group_id   INTEGER NOT NULL REFERENCES groups (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    added_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account ON group_members (account_id);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    actor_id    INTEGER NOT NULL,
    actor_name  TEXT NOT NULL,
    key_id      INTEGER NOT NULL,
    via         TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   INTEGER NOT NULL,
    target_name TEXT NOT NULL,
    changes     TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- One row holds the last sequence number handed out; see AppendAudit.
CREATE TABLE audit_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO audit_counter (id, last_seq) VALUES (1, 0);

-- +goose Down
DROP TABLE audit_counter;
DROP TABLE audit_log;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE throttles;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE accounts;
