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
	"slices"
	"strings"
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
		Check:        check,
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
	"accounts_username_key":                      {"accounts", "username_key"},
	"accounts_email_key":                         {"accounts", "email_key"},
	"accounts_uuid_key":                          {"accounts", "uuid"},
	"groups_name_key_key":                        {"groups", "name_key"},
	"api_keys_hash_key":                          {"api_keys", "hash"},
	"sessions_hash_key":                          {"sessions", "hash"},
	"project_members_username":                   {"project_members", "username"},
	"project_members_token_hash_key":             {"project_members", "token_hash"},
	"project_roles_name":                         {"project_roles", "unique_name"},
	"project_forms_pkey":                         {"project_forms", "name"},
	"email_changes_key_hash_key":                 {"email_changes", "key_hash"},
	"outbox_message_id_key":                      {"outbox", "message_id"},
	"oauth_apps_client_id_key":                   {"oauth_apps", "client_id"},
	"oauth_tokens_pkey":                          {"oauth_tokens", "hash"},
	"signing_keys_pkey":                          {"signing_keys", "kid"},
	"device_authorizations_device_code_hash_key": {"device_authorizations", "device_code_hash"},
	"device_authorizations_user_code_hash_key":   {"device_authorizations", "user_code_hash"},
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

// check runs what PostgreSQL lets a non-superuser check of the store's schema: the
// indexes Roster relies on exist and are usable, every constraint was validated, no row
// lacks the parent its foreign key names, and no unique key is held twice when read
// from the table itself. Rows can break the last two only where constraint triggers were
// bypassed (a restore with --disable-triggers, session_replication_role = replica) or
// an index build failed half-way (CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid
// index behind); the amcheck extension's bt_index_check, where a superuser installed
// it, verifies the indexes' own structure beyond this (docs/operations.md).
func check(ctx context.Context, tx *sql.Tx) ([]roster.CheckResult, error) {
	var out []roster.CheckResult
	for _, c := range []func(context.Context, *sql.Tx) (roster.CheckResult, error){checkIndexes, checkConstraints, checkForeignKeys, checkUniqueKeys} {
		r, err := c(ctx, tx)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// checkIndexes: every unique index and primary key the store relies on exists, and no
// index of the schema is invalid, unready or being dropped.
func checkIndexes(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "postgres indexes"}
	rows, err := tx.QueryContext(ctx, `SELECT c.relname, i.indisvalid AND i.indisready AND i.indislive
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema()`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var f sqlstore.Findings
	have := map[string]bool{}
	for rows.Next() {
		var name string
		var usable bool
		if err := rows.Scan(&name, &usable); err != nil {
			return r, err
		}
		have[name] = true
		if !usable {
			f.Add("the index %s is not valid (a failed or unfinished CREATE INDEX CONCURRENTLY?): queries do not use it and, if unique, it may not hold", name)
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	var want []string
	for name := range constraintColumns {
		want = append(want, name)
	}
	for _, t := range append([]string{"throttles", "store_locks"}, sqlstore.Tables...) {
		want = append(want, t+"_pkey") // every table has a primary key
	}
	slices.Sort(want)
	for _, name := range slices.Compact(want) {
		if !have[name] {
			f.Add("the index %s is missing: what it keeps unique is no longer enforced", name)
		}
	}
	r.Detail = fmt.Sprintf("%d indexes", len(have))
	r.Problems = f.Problems()
	return r, nil
}

// checkConstraints: a constraint added NOT VALID holds only for rows written since.
func checkConstraints(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "postgres constraints"}
	rows, err := tx.QueryContext(ctx, `SELECT c.conname, t.relname, c.convalidated FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() ORDER BY t.relname, c.conname`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var f sqlstore.Findings
	n := 0
	for rows.Next() {
		var name, table string
		var valid bool
		if err := rows.Scan(&name, &table, &valid); err != nil {
			return r, err
		}
		n++
		if !valid {
			f.Add("the constraint %s on %s is NOT VALID: rows written before it was added were never checked", name, table)
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d constraints", n)
	r.Problems = f.Problems()
	return r, nil
}

// checkForeignKeys reads each foreign key's rows and looks for their parents.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "postgres foreign keys"}
	type fk struct{ name, table, col, parent, pcol string }
	rows, err := tx.QueryContext(ctx, `SELECT c.conname, t.relname, a.attname, p.relname, pa.attname FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_class p ON p.oid = c.confrelid
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
		WHERE c.contype = 'f' AND n.nspname = current_schema() AND cardinality(c.conkey) = 1
		ORDER BY t.relname, c.conname`)
	if err != nil {
		return r, err
	}
	var fks []fk
	for rows.Next() {
		var k fk
		if err := rows.Scan(&k.name, &k.table, &k.col, &k.parent, &k.pcol); err != nil {
			rows.Close()
			return r, err
		}
		fks = append(fks, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	var f sqlstore.Findings
	for _, k := range fks {
		id := func(s string) string { return pgx.Identifier{s}.Sanitize() }
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+id(k.table)+" c WHERE c."+id(k.col)+" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "+
			id(k.parent)+" p WHERE p."+id(k.pcol)+" = c."+id(k.col)+")").Scan(&n)
		if err != nil {
			return r, err
		}
		if n > 0 {
			f.Add("%d rows of %s refer to a row of %s that does not exist (%s)", n, k.table, k.parent, k.name)
		}
	}
	r.Detail = fmt.Sprintf("%d foreign keys", len(fks))
	r.Problems = f.Problems()
	return r, nil
}

// checkUniqueKeys reads each unique index's columns from the table, not the index, and
// looks for a value held twice: what an invalid or damaged unique index lets through.
func checkUniqueKeys(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "postgres unique keys"}
	rows, err := tx.QueryContext(ctx, `SELECT c.relname, t.relname,
			string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord),
			string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ' ORDER BY k.ord)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
		WHERE n.nspname = current_schema() AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
		GROUP BY c.relname, t.relname ORDER BY t.relname, c.relname`)
	if err != nil {
		return r, err
	}
	type key struct{ index, table, cols, notNull string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.index, &k.table, &k.cols, &k.notNull); err != nil {
			rows.Close()
			return r, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	// Read the tables, not the indexes under test. SET LOCAL lasts until the snapshot's
	// end, so the planner's defaults come back for the checks that follow.
	scans := []string{"enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"}
	for _, s := range scans {
		if _, err := tx.ExecContext(ctx, "SET LOCAL "+s+" = off"); err != nil {
			return r, err
		}
	}
	var f sqlstore.Findings
	for _, k := range keys {
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM "+pgx.Identifier{k.table}.Sanitize()+" WHERE "+k.notNull+
			" GROUP BY "+k.cols+" HAVING COUNT(*) > 1) d").Scan(&n)
		if err != nil {
			return r, err
		}
		if n > 0 {
			f.Add("%d values of %s (%s) are held by more than one row of %s, against its unique index %s", n, strings.ReplaceAll(k.cols, `"`, ""), k.table, k.table, k.index)
		}
	}
	for _, s := range scans {
		if _, err := tx.ExecContext(ctx, "SET LOCAL "+s+" = on"); err != nil {
			return r, err
		}
	}
	r.Detail = fmt.Sprintf("%d unique indexes, read from their tables", len(keys))
	r.Problems = f.Problems()
	return r, nil
}
