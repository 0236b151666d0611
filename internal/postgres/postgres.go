// Package postgres opens Roster's store on PostgreSQL (pgx through database/sql): one
// pool shared by every replica's reads and writes, its own migrations run under an
// advisory lock so replicas starting together migrate once, and backups taken from one
// repeatable-read snapshot into an SQLite file. The queries are in internal/sqlstore.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

// Options tune the pool.
type Options struct {
	MaxConns int // default 20
}

// Open connects to the database at the postgres:// URL and brings its schema up to date.
func Open(ctx context.Context, url string, opts Options, log *slog.Logger) (*sqlstore.DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, "postgres", database.DialectPostgres, migrations, locker, log); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(ctx, db, db, sqlstore.Engine{
		Kind:         "postgres",
		MapError:     mapError,
		ArrayInserts: true,
		// An unnamed statement, planned for its parameter values on every run.
		PlanEachTime: []any{pgx.QueryExecModeExec},
		Retryable:    retryable,
		Backup:       backup,
	})
}

// constraintColumns names the table and column of each unique constraint.
var constraintColumns = map[string][2]string{
	"accounts_username_key":          {"accounts", "username_key"},
	"accounts_email_key":             {"accounts", "email_key"},
	"accounts_uuid_key":              {"accounts", "uuid"},
	"groups_name_key_key":            {"groups", "name_key"},
	"api_keys_hash_key":              {"api_keys", "hash"},
	"sessions_hash_key":              {"sessions", "hash"},
	"project_members_username":       {"project_members", "username"},
	"project_members_token_hash_key": {"project_members", "token_hash"},
	"project_roles_name":             {"project_roles", "unique_name"},
	"project_forms_pkey":             {"project_forms", "name"},
}

func mapError(err error) *roster.Error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if pgconn.SafeToRetry(err) || errors.Is(err, sql.ErrConnDone) {
			return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The database is unreachable; try again."}
		}
		return nil
	}
	switch pe.Code {
	case "23505": // unique_violation
		tc := constraintColumns[pe.ConstraintName]
		return sqlstore.Conflict(tc[0], tc[1])
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return &roster.Error{Code: roster.ECONFLICT, Message: "A concurrent change got in the way; try again."}
	case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
		// A NUL byte or invalid UTF-8 in text, or a \u0000 in JSONB: the client's input,
		// not the server's fault.
		return &roster.Error{Code: roster.EINVALID, Message: "Text may not contain NUL characters or invalid UTF-8."}
	case "57P01", "57P02", "57P03", "08000", "08003", "08006":
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The database is unreachable; try again."}
	}
	return nil
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// backup copies every table from one repeatable-read snapshot into a new SQLite file,
// which Roster can serve directly (roster serve --db sqlite://FILE) or restore from.
func backup(ctx context.Context, src *sqlstore.DB, path string, progress func(string, int64)) error {
	dst, err := sqlite.OpenNew(ctx, path)
	if err != nil {
		return err
	}
	defer dst.Close()
	return sqlstore.CopyTables(ctx, src, dst, progress)
}
