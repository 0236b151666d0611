-- +goose Up
-- A project's members in the order they were added (REDCap's user export): walked in
-- index order, the export streams without sorting the project first.
CREATE INDEX project_members_order ON project_members (project_id, id);

-- +goose Down
DROP INDEX project_members_order;
