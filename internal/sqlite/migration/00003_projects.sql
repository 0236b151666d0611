-- +goose Up
-- Projects in REDCap's manner. "None" is 0 for dag_id and role_id, never NULL, and the
-- store keeps them pointing at rows that exist (deleting a role or DAG moves its members
-- off it in the same transaction).
CREATE TABLE projects (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    purpose       INTEGER NOT NULL DEFAULT 0,
    purpose_other TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    lock_version  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE project_forms (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    label      TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- rights: one digit per right in the order of roster.ProjectRights; forms and
-- forms_export: "form:right,…" as REDCap writes them in CSV.
CREATE TABLE project_roles (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects (id),
    unique_name  TEXT NOT NULL,
    label        TEXT NOT NULL,
    rights       TEXT NOT NULL,
    forms        TEXT NOT NULL DEFAULT '',
    forms_export TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX project_roles_name ON project_roles (project_id, unique_name);

CREATE TABLE project_dags (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    label      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX project_dags_project ON project_dags (project_id);

CREATE TABLE project_members (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects (id),
    username     TEXT NOT NULL,
    expiration   TEXT NOT NULL DEFAULT '',
    dag_id       INTEGER NOT NULL DEFAULT 0,
    role_id      INTEGER NOT NULL DEFAULT 0,
    rights       TEXT NOT NULL,
    forms        TEXT NOT NULL DEFAULT '',
    forms_export TEXT NOT NULL DEFAULT '',
    token_hash   BLOB UNIQUE,
    token_at     TIMESTAMP NOT NULL,
    added_at     TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX project_members_username ON project_members (project_id, username);
CREATE INDEX project_members_dag ON project_members (project_id, dag_id, id);
CREATE INDEX project_members_role ON project_members (role_id);
CREATE INDEX project_members_user ON project_members (username);

-- +goose Down
DROP TABLE project_members;
DROP TABLE project_dags;
DROP TABLE project_roles;
DROP TABLE project_forms;
DROP TABLE projects;
