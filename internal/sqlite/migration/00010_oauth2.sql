-- +goose Up
-- OAuth2 (Open edX's /oauth2/access_token): registered applications, the grants (token
-- families) they hand out, the opaque tokens of those grants, and the keys that sign
-- JWTs. Everything a replica needs to issue or verify a token is here, so every replica
-- issues and verifies the same tokens and honours a revocation on the next request.
-- Secrets and tokens are stored as hashes; signing keys' private halves never leave the
-- server. Times use the store's zero instant for "never", as elsewhere.
CREATE TABLE oauth_apps (
    id            INTEGER PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    owner_id      INTEGER NOT NULL REFERENCES accounts (id),
    confidential  BOOLEAN NOT NULL,
    secret_hash   BLOB,
    secret_prefix TEXT NOT NULL DEFAULT '',
    grants        TEXT NOT NULL,
    redirect_uris TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP NOT NULL
);

CREATE TABLE oauth_grants (
    id         INTEGER PRIMARY KEY,
    -- NULL for a browser session's tokens, which no application obtained.
    app_id     INTEGER REFERENCES oauth_apps (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    -- Sessions are deleted when they end; a grant whose session is gone is over.
    session_id INTEGER NOT NULL DEFAULT 0,
    grant_type TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_grants_account ON oauth_grants (account_id);
CREATE INDEX oauth_grants_app ON oauth_grants (app_id);

CREATE TABLE oauth_tokens (
    hash       BLOB PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oauth_grants (id),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP NOT NULL
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_der BLOB NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retire_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE oauth_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_apps;
