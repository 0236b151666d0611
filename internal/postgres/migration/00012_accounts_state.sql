-- +goose Up
-- Lists count their matches. Without a filter, a count is of every account not deleted:
-- an index of the state lets it read the index's small entries instead of every row,
-- profile documents and all.
CREATE INDEX accounts_state ON accounts (state);

-- +goose Down
DROP INDEX accounts_state;
