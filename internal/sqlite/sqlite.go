// Package sqlite opens Roster's store on an SQLite file (modernc.org/sqlite, no cgo):
// WAL journal, one writer connection and a pool of readers, its own migrations, and
// backups with VACUUM INTO. The queries themselves are in internal/sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"github.com/pressly/goose/v3/database"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

// params are the connection settings of every connection. busy_timeout lets the CLI and
// a running server share the file; timestamps are stored as integer microseconds and
// read back as time.Time (columns declared TIMESTAMP).
var params = url.Values{
	"_pragma": {
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
		"cache_size(-32000)",
		"mmap_size(1073741824)",
	},
	"_time_integer_format": {"unix_micro"},
	"_inttotime":           {"1"},
}

// Open opens (creating if needed) the database file at path and brings its schema up to
// date.
func Open(ctx context.Context, path string, log *slog.Logger) (*sqlstore.DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: the database path %q may not contain ? or #", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	dsn := "file:" + path + "?" + params.Encode()
	// One writer: SQLite allows one at a time, and BEGIN IMMEDIATE takes the write lock
	// up front, so a transaction never fails halfway when it first writes.
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	read.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	err = sqlstore.Migrate(ctx, write, "sqlite", database.DialectSQLite3, migrations, &fileLocker{path: path + ".migrate-lock"}, log)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	return sqlstore.New(ctx, read, write, sqlstore.Engine{
		Kind:       "sqlite",
		Positional: true,
		// Point reads take microseconds on a local file; see sqlstore.Engine.
		UncancelledPointReads: true,
		JSON:                  jsonSyntax,
		MapError:              mapError,
		Retryable:             retryable,
		Backup:                backup,
	})
}

// jsonSyntax reads the profile document with SQLite's JSON functions. json_extract
// gives JSON's true and false as 1 and 0, which is how SQLite binds Go's booleans too;
// times are stored as RFC 3339 text and compared as integer microseconds, the form the
// driver binds time parameters in.
var jsonSyntax = sqlstore.JSONSyntax{
	Text: func(key string) string {
		return "(CASE WHEN json_type(a.profile, '$." + key + "') = 'text' THEN json_extract(a.profile, '$." + key + "') END)"
	},
	Number: func(key string) string {
		return "(CASE WHEN json_type(a.profile, '$." + key + "') IN ('integer', 'real') THEN json_extract(a.profile, '$." + key + "') END)"
	},
	Bool: func(key string) string {
		return "(CASE WHEN json_type(a.profile, '$." + key + "') IN ('true', 'false') THEN json_extract(a.profile, '$." + key + "') END)"
	},
	Time: func(key string) string {
		return "CAST(unixepoch((CASE WHEN json_type(a.profile, '$." + key + "') = 'text' THEN json_extract(a.profile, '$." + key + "') END), 'subsec') * 1000000 AS INTEGER)"
	},
	Holds: func(key, ph string) string {
		return "EXISTS (SELECT 1 FROM json_each(a.profile, '$." + key + "') WHERE json_each.value = " + ph + ")"
	},
}

// fileLocker keeps two processes (a server and a CLI command, say) from migrating the
// same file at once. SQLite has no advisory locks; an flock on a side file does it.
type fileLocker struct {
	path string
	f    *os.File
}

func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	l.f = f
	return nil
}

func (l *fileLocker) SessionUnlock(ctx context.Context, _ *sql.Conn) error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	return errors.Join(syscall.Flock(int(f.Fd()), syscall.LOCK_UN), f.Close())
}

// "UNIQUE constraint failed: accounts.username_key" names the column; the code says
// what happened, the column which field it concerns.
var uniqueColumn = regexp.MustCompile(`constraint failed: ([a-z_]+)\.([a-z_]+)`)

func mapError(err error) *roster.Error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		table, column := "", ""
		if m := uniqueColumn.FindStringSubmatch(se.Error()); m != nil {
			table, column = m[1], m[2]
		}
		return sqlstore.Conflict(table, column)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: "The database is busy; try again."}
	}
	return nil
}

func retryable(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY)
}

// backup copies the database with VACUUM INTO: one consistent snapshot, taken on a
// reader connection while writers carry on.
func backup(ctx context.Context, db *sqlstore.DB, path string, progress func(string, int64)) error {
	if _, err := os.Stat(path); err == nil {
		return roster.Errorf(roster.ECONFLICT, "%s already exists; choose a new file name", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	progress("database", 0)
	if _, err := db.ReadDB().ExecContext(ctx, "VACUUM INTO $1", abs); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	var n int64
	if err := db.ReadDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n); err == nil {
		progress("accounts", n)
	}
	return nil
}

// OpenNew creates a database file at path, which must not exist yet.
func OpenNew(ctx context.Context, path string) (*sqlstore.DB, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, roster.Errorf(roster.ECONFLICT, "%s already exists; choose a new file name", path)
	}
	return Open(ctx, path, nil)
}
