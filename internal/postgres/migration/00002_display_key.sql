-- +goose Up
-- The display name (full name, else username), folded: the default order of CKAN's
-- user_list and of any list shown to people.
ALTER TABLE accounts ADD COLUMN display_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE accounts SET display_key = CASE WHEN name_key <> '' THEN name_key ELSE username_key END;
CREATE INDEX accounts_display ON accounts (display_key, id);
CREATE INDEX accounts_uuid_order ON accounts (uuid, id);

-- +goose Down
DROP INDEX accounts_uuid_order;
DROP INDEX accounts_display;
ALTER TABLE accounts DROP COLUMN display_key;
