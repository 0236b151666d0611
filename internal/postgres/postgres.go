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

// Options say how to open the store.
type Options struct {
	MaxConns int // default 20
	// Access is what opening may do to the store; the zero value creates and migrates.
	Access sqlstore.Access
}

// Open connects to the database at the postgres:// URL and checks or brings its schema
// up to date as opts.Access allows. The store lives in the first schema of the
// search_path (current_schema()).
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
	st, err := open(ctx, db, opts, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

func open(ctx context.Context, db *sql.DB, opts Options, log *slog.Logger) (*sqlstore.DB, error) {
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !schema.Valid {
		return nil, fmt.Errorf("postgres: no schema of the search_path exists")
	}
	ro, err := readOnly(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if ro {
		log.Info("the database is read-only: writes will be refused until it is not", "schema", schema.String)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	created, err := sqlstore.Prepare(ctx, db, sqlstore.Migrations{
		Kind: "postgres", Dialect: database.DialectPostgres, FS: migrations, Locker: locker,
		// Where goose creates its table: the first existing schema of the search_path.
		VersionTable: "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'goose_db_version')",
		Where:        fmt.Sprintf("schema %q", schema.String),
	}, opts.Access, ro, log)
	if err != nil {
		return nil, err
	}
	return sqlstore.New(ctx, db, db, sqlstore.Engine{
		Kind:         "postgres",
		MapError:     mapError,
		ArrayInserts: true,
		RowLocks:     true,
		// EXCLUSIVE conflicts with the ROW SHARE of SELECT … FOR UPDATE and the ROW
		// EXCLUSIVE of writes, and lets plain reads through.
		HoldAccountWrites: "LOCK TABLE accounts IN EXCLUSIVE MODE",
		JSON:              jsonSyntax,
		// An unnamed statement, planned for its parameter values on every run.
		PlanEachTime: []any{pgx.QueryExecModeExec},
		Retryable:    retryable,
		Backup:       backup,
		Created:      created,
		Where:        fmt.Sprintf("schema %q", schema.String),
		// A standby can be promoted and a primary demoted while Roster runs: asked
		// each time.
		ReadOnly: func(ctx context.Context) (bool, error) { return readOnly(ctx, db) },
	})
}

// jsonSyntax reads the profile document (JSONB) with PostgreSQL's operators, casting only
// values of the expected JSON type so that no stored value can make a query fail.
var jsonSyntax = sqlstore.JSONSyntax{
	Text: func(key string) string {
		return "(CASE WHEN jsonb_typeof(a.profile -> '" + key + "') = 'string' THEN a.profile ->> '" + key + "' END)"
	},
	Number: func(key string) string {
		return "(CASE WHEN jsonb_typeof(a.profile -> '" + key + "') = 'number' THEN (a.profile ->> '" + key + "')::numeric END)"
	},
	Bool: func(key string) string {
		return "(CASE WHEN jsonb_typeof(a.profile -> '" + key + "') = 'boolean' THEN (a.profile ->> '" + key + "')::boolean END)"
	},
	Time: func(key string) string {
		return "(CASE WHEN jsonb_typeof(a.profile -> '" + key + "') = 'string' THEN (a.profile ->> '" + key + "')::timestamptz END)"
	},
	Holds: func(key, ph string) string {
		return "(a.profile -> '" + key + "') @> jsonb_build_array(" + ph + "::text)"
	},
}

// readOnly reports whether a new transaction refuses writes: a hot standby, or
// default_transaction_read_only (set for the role, the database, or the connection).
func readOnly(ctx context.Context, db *sql.DB) (bool, error) {
	var v string
	if err := db.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&v); err != nil {
		return false, err
	}
	return v == "on", nil
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
	case "25006": // read_only_sql_transaction
		return sqlstore.ReadOnlyError()
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
