// Package sqlstore implements roster.Store over database/sql for both of Roster's
// databases. SQLite (modernc.org/sqlite) and PostgreSQL (pgx) accept the same SQL for
// everything Roster asks of them, with $1…$n placeholders (modernc binds $N by ordinal),
// so the queries are written once here. What differs lives in the engine packages
// internal/sqlite and internal/postgres: connection setup, each engine's own migrations
// (column types, indexes), how driver errors map to roster errors, and backups.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Engine is what an engine package tells sqlstore about its database.
type Engine struct {
	Kind string // "sqlite" or "postgres"
	// Positional: statements built at run time use ? placeholders rather than $n.
	Positional bool
	// UncancelledPointReads: the single-row reads on every request's path run without
	// the request's cancellation. For SQLite they take microseconds on a local file,
	// while honouring a cancellable context costs a goroutine per query; PostgreSQL
	// keeps cancellation, since its reads cross a network that can hang.
	UncancelledPointReads bool
	// ArrayInserts: bulk inserts send one array per column and unnest them, rather than
	// a VALUES list with a parameter per cell. PostgreSQL parses and binds thousands of
	// parameters slowly; thirteen arrays cost it little. SQLite has no arrays.
	ArrayInserts bool
	// PlanEachTime are leading arguments that make the driver plan a statement for the
	// values it is given, each time it runs. Bulk lookups inside an import need it on
	// PostgreSQL: after five runs a cached statement may switch to a generic plan made
	// from statistics that do not yet count the rows the import's own transaction has
	// written, and a plan that scans the table made each later lookup a hundred times
	// slower.
	PlanEachTime []any
	// PrepareShapes: list and count statements, built at run time, are prepared once
	// per shape (shapeCache). SQLite parses a statement each time it is run from text;
	// PostgreSQL's driver keeps the statements it has seen on each connection already,
	// and preparing them again there only adds a round trip.
	PrepareShapes bool
	// RowLocks: the engine locks rows a transaction reads with SELECT … FOR UPDATE.
	// SQLite has no row locks and needs none: its one writer holds the database's write
	// lock from BEGIN IMMEDIATE to COMMIT.
	RowLocks bool
	// HoldAccountWrites is a statement that holds off writes to accounts until the
	// transaction ends, while a policy change checks the stored values. SQLite needs
	// none: its one writer excludes every other.
	HoldAccountWrites string
	// JSON reads keys of the profile document.
	JSON JSONSyntax
	// MapError translates a driver error into a *roster.Error (ECONFLICT for unique
	// violations, with a Problem naming the field), or returns nil if it does not know it.
	MapError func(err error) *roster.Error
	// Retryable reports whether a transaction failed only because of concurrency and can
	// run again (serialization failure, deadlock).
	Retryable func(err error) bool
	// Backup writes a consistent copy of the database into an SQLite file at path.
	Backup func(ctx context.Context, db *DB, path string, progress func(string, int64)) error
	// Check runs the engine's own consistency checks in the snapshot tx (Store.Check):
	// of the file for SQLite, of the catalogue and constraints for PostgreSQL.
	Check func(ctx context.Context, tx *sql.Tx) ([]roster.CheckResult, error)
	// Close releases what the engine opened besides the pools.
	Close func() error
	// Created: opening the store created it.
	Created bool
	// Where names the store: an SQLite file's absolute path, a PostgreSQL schema.
	Where string
	// ReadOnly reports whether the database refuses writes now: an SQLite file opened
	// read-only, a PostgreSQL hot standby or default_transaction_read_only. Nil: never.
	ReadOnly func(ctx context.Context) (bool, error)
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is a roster.Store. It holds its queries behind the read and upkeep interfaces
// rather than embedding *q, which would promote every write: embedded interfaces promote
// only their own methods, so not even code holding a *DB can write outside InTx. The
// fields are unexported, so no one outside can reach the *q behind them either.
type DB struct {
	reader
	upkeep
	base    *q // the queries outside a transaction, behind reader and upkeep
	readDB  *sql.DB
	writeDB *sql.DB
	engine  Engine
}

type (
	reader interface{ roster.Reader }
	upkeep interface{ roster.Upkeep }
)

var (
	_ roster.Store = (*DB)(nil)
	_ roster.Tx    = (*q)(nil) // what InTx hands to its function
)

// q runs the queries. Outside a transaction, reads go to the read pool and writes, which
// DB lets through for Upkeep only, to the write pool (SQLite has a single writer
// connection; PostgreSQL uses one pool for both); inside one, both go to the transaction.
type q struct {
	r, w  execer
	e     *Engine
	stmts *stmts // prepared hot-path reads; nil inside transactions
	// tx and batchStmts: inside a transaction, the statements of full batches (their
	// text repeats batch after batch) are prepared once and reused.
	tx         *sql.Tx
	batchStmts map[string]*sql.Stmt
}

// New builds a store on pools the engine has opened and migrated.
func New(ctx context.Context, read, write *sql.DB, e Engine) (*DB, error) {
	db := &DB{readDB: read, writeDB: write, engine: e}
	db.base = &q{r: read, w: write, e: &db.engine}
	db.reader, db.upkeep = db.base, db.base
	st, err := prepareStmts(ctx, read)
	if err != nil {
		return nil, err
	}
	if e.PrepareShapes {
		st.shapes = &shapeCache{db: read, m: map[string]*sql.Stmt{}}
	}
	db.base.stmts = st
	return db, nil
}

// Kind is the engine's name.
func (db *DB) Kind() string { return db.engine.Kind }

// ReadDB is the read pool, for pool metrics and benchmarks.
func (db *DB) ReadDB() *sql.DB { return db.readDB }

// WriteDB is the write pool.
func (db *DB) WriteDB() *sql.DB { return db.writeDB }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.readDB.PingContext(ctx); err != nil {
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The database is unreachable.", Op: "store.Ping", Err: err}
	}
	var one int
	if err := db.readDB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The database is unreachable.", Op: "store.Ping", Err: err}
	}
	return nil
}

// Where names the store: an SQLite file's absolute path, a PostgreSQL schema.
func (db *DB) Where() string { return db.engine.Where }

// Created reports whether opening the store created it.
func (db *DB) Created() bool { return db.engine.Created }

// ReadOnly reports whether the database refuses writes now.
func (db *DB) ReadOnly(ctx context.Context) (bool, error) {
	if db.engine.ReadOnly == nil {
		return false, nil
	}
	ro, err := db.engine.ReadOnly(ctx)
	return ro, db.base.wrap("store.ReadOnly", err)
}

// reasonReadOnly marks ReadOnlyError's errors.
const reasonReadOnly = "read_only"

// ReadOnlyError is a write the database refused because it is read-only. It is
// EUNAVAILABLE, a 503: the same request succeeds once the store is writable again.
func ReadOnlyError() *roster.Error {
	return &roster.Error{Code: roster.EUNAVAILABLE, Reason: reasonReadOnly,
		Message: "The store is read-only: changes cannot be saved at the moment."}
}

// IsReadOnly reports whether err is a ReadOnlyError.
func IsReadOnly(err error) bool {
	var re *roster.Error
	return errors.As(err, &re) && re.Code == roster.EUNAVAILABLE && re.Reason == reasonReadOnly
}

// Backup writes a consistent copy of the database to path.
func (db *DB) Backup(ctx context.Context, path string, progress func(string, int64)) error {
	if progress == nil {
		progress = func(string, int64) {}
	}
	return db.engine.Backup(ctx, db, path, progress)
}

// Close closes the pools.
func (db *DB) Close() error {
	db.base.stmts.close()
	err := db.readDB.Close()
	if db.writeDB != db.readDB {
		err = errors.Join(err, db.writeDB.Close())
	}
	if db.engine.Close != nil {
		err = errors.Join(err, db.engine.Close())
	}
	return err
}

const maxTxAttempts = 5

// InTx runs fn in a transaction, retrying it when the engine reports a serialization
// failure or deadlock.
func (db *DB) InTx(ctx context.Context, fn func(roster.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !db.engine.Retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(roster.Tx) error) (err error) {
	tx, err := db.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return db.base.wrap("store.InTx", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	txq := &q{r: tx, w: tx, e: &db.engine, tx: tx}
	defer txq.closeBatchStmts()
	if err = fn(txq); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return db.base.wrap("store.Commit", err)
	}
	return nil
}

// pointCtx is the context of a single-row read on the request path.
func (q *q) pointCtx(ctx context.Context) context.Context {
	if q.e.UncancelledPointReads {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// wrap turns a driver error into a roster error: a known one by the engine's mapping,
// anything else as EINTERNAL with the operation named for the log.
func (q *q) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *roster.Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The request was cancelled or timed out.", Op: op, Err: err}
	}
	if m := q.e.MapError(err); m != nil {
		m.Op, m.Err = op, err
		return m
	}
	return roster.Internal(op, err)
}

func notFound(what string) error {
	return &roster.Error{Code: roster.ENOTFOUND, Message: what + " not found."}
}

// args builds the argument list of a statement put together at run time, handing out
// a placeholder per value, in order. Placeholders are used once each, left to right.
type args struct {
	vals []any
	// positional: plain ? placeholders. SQLite finds each named $n parameter by a
	// linear search when it prepares a statement, which makes a 500-row insert with
	// thousands of them quadratic; ? costs nothing. PostgreSQL only knows $n.
	positional bool
}

func (q *q) args() args { return args{positional: q.e.Positional} }

// planned returns the arguments of a bulk lookup, with the engine's PlanEachTime first.
func (q *q) planned(a args) []any { return slices.Concat(q.e.PlanEachTime, a.vals) }

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	if a.positional {
		return "?"
	}
	return fmt.Sprintf("$%d", len(a.vals))
}

// uniqueFields names the field behind each unique column, so a conflict names what the
// client sent rather than an index.
var uniqueFields = map[string]string{
	"accounts.username_key":                  "username",
	"device_authorizations.user_code_hash":   "user_code",
	"device_authorizations.device_code_hash": "device_code",
	"accounts.email_key":                     "email",
	"accounts.uuid":                          "uuid",
	"groups.name_key":                        "name",
	"api_keys.hash":                          "key",
	"sessions.hash":                          "session",
	"project_members.username":               "username",
	"project_members.project_id":             "username", // SQLite names the first column of (project_id, username)
	"project_members.token_hash":             "token",
	"project_roles.unique_name":              "unique_role_name",
	"project_roles.project_id":               "unique_role_name",
	"project_forms.name":                     "form",
	"project_forms.project_id":               "form",
	"email_changes.key_hash":                 "key",
	"outbox.message_id":                      "message_id",
}

// Conflict is the error for a unique violation on table.column.
func Conflict(table, column string) *roster.Error {
	field := uniqueFields[table+"."+column]
	if field == "" {
		field = column
	}
	msg := "That value is already in use."
	switch field {
	case "username":
		msg = "That username is already taken."
	case "email":
		msg = "That email address is already in use."
	case "name":
		msg = "That name is already taken."
	}
	return &roster.Error{Code: roster.ECONFLICT, Message: msg,
		Problems: []roster.Problem{{Field: field, Code: roster.PTaken, Message: msg}}}
}

// batchExec runs a multi-row statement. Full batches inside a transaction reuse one
// prepared statement: parsing thousands of placeholders again for every batch was a
// tenth of an import's time.
func (q *q) batchExec(ctx context.Context, query string, full bool, a args) (sql.Result, error) {
	if st := q.batchStmt(ctx, query, full); st != nil {
		return st.ExecContext(ctx, a.vals...)
	}
	return q.w.ExecContext(ctx, query, a.vals...)
}

// batchQuery is batchExec for statements that return rows.
func (q *q) batchQuery(ctx context.Context, query string, full bool, a args) (*sql.Rows, error) {
	if st := q.batchStmt(ctx, query, full); st != nil {
		return st.QueryContext(ctx, a.vals...)
	}
	return q.w.QueryContext(ctx, query, a.vals...)
}

func (q *q) batchStmt(ctx context.Context, query string, full bool) *sql.Stmt {
	if !full || q.tx == nil {
		return nil
	}
	if st := q.batchStmts[query]; st != nil {
		return st
	}
	st, err := q.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared path reports the error
	}
	if q.batchStmts == nil {
		q.batchStmts = map[string]*sql.Stmt{}
	}
	q.batchStmts[query] = st
	return st
}

func (q *q) closeBatchStmts() {
	for _, st := range q.batchStmts {
		st.Close()
	}
}

// valuesList is the VALUES list of a multi-row insert of rows × cols placeholders. Its
// text depends only on the shape, so it is built once per shape.
func (q *q) valuesList(rows, cols int) string {
	key := valuesKey{rows: rows, cols: cols, positional: q.e.Positional}
	if s, ok := valuesLists.Load(key); ok {
		return s.(string)
	}
	var b strings.Builder
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			if q.e.Positional {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
		}
		b.WriteByte(')')
	}
	s, _ := valuesLists.LoadOrStore(key, b.String())
	return s.(string)
}

type valuesKey struct {
	rows, cols int
	positional bool
}

var valuesLists sync.Map // valuesKey → string
