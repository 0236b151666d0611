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
	"io/fs"
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
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
		"cache_size(-32000)",
		"mmap_size(1073741824)",
	},
	"_time_integer_format": {"unix_micro"},
	"_inttotime":           {"1"},
}

// Options say how to open a store.
type Options struct {
	Access sqlstore.Access
	Log    *slog.Logger
}

// Open opens the store at path, creating it if needed, and brings its schema up to
// date: OpenWith with sqlstore.CreateOrMigrate.
func Open(ctx context.Context, path string, log *slog.Logger) (*sqlstore.DB, error) {
	return OpenWith(ctx, path, Options{Access: sqlstore.CreateOrMigrate, Log: log})
}

// OpenWith opens the store at path as opts.Access allows. A new store's directories
// are made 0700 and its file 0600 (SQLite gives the -wal and -shm files the main
// file's mode), since it holds password hashes. A store this process cannot write to
// is opened read-only.
func OpenWith(ctx context.Context, path string, opts Options) (*sqlstore.DB, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if strings.ContainsAny(abs, "?#") {
		return nil, fmt.Errorf("sqlite: the database path %q may not contain ? or #", abs)
	}
	created := false
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !opts.Access.Creates():
		return nil, &sqlstore.NoStoreError{Where: abs}
	case errors.Is(err, fs.ErrNotExist):
		if err := createFile(abs); err != nil {
			return nil, fmt.Errorf("sqlite: creating the store: %w", err)
		}
		created = true
	case err != nil:
		return nil, fmt.Errorf("sqlite: %w", err)
	case fi.IsDir():
		return nil, fmt.Errorf("sqlite: %s is a directory", abs)
	case fi.Mode().Perm()&0o066 != 0:
		log.Warn("the store's file is open to other users, and it holds password hashes; make it private with chmod 600",
			"path", abs, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	st, err := open(ctx, abs, opts.Access, log)
	if err != nil && created {
		// Nothing else can have used a file this call made and failed to set up.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(abs + suffix)
		}
	}
	return st, err
}

func open(ctx context.Context, abs string, access sqlstore.Access, log *slog.Logger) (*sqlstore.DB, error) {
	readOnly, why := notWritable(abs)
	mode := "rw"
	if readOnly {
		mode = "ro"
		log.Info("opening the store read-only", "path", abs, "reason", why)
	}
	write, read, err := openPools(ctx, abs, mode)
	if err != nil && readOnly && isReadOnly(err) && unchangeable(abs) {
		// SQLite cannot read a WAL store read-only when it may not create the -shm
		// file beside it. Where nobody can write the store either (no write bits, a
		// read-only mount), nothing can change under the reader, and SQLite may read it
		// as immutable.
		log.Info("reading the store as immutable: SQLite may not create its -shm file, and nobody can change the store", "path", abs)
		write, read, err = openPools(ctx, abs, "ro&immutable=1")
	}
	if err != nil {
		if readOnly && isReadOnly(err) {
			return nil, fmt.Errorf("sqlite: %s is read-only to this user and its directory is not writable, so SQLite cannot share it with its writer (it needs %s-shm); make the directory writable, or work on a copy", abs, abs)
		}
		return nil, err
	}
	created, err := sqlstore.Prepare(ctx, write, sqlstore.Migrations{
		Kind: "sqlite", Dialect: database.DialectSQLite3, FS: migrations,
		Locker:       &fileLocker{path: abs + ".migrate-lock"},
		VersionTable: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version')",
		Where:        abs,
	}, access, readOnly, log)
	if err == nil && !readOnly {
		// WAL, so that readers and the one writer do not block each other. The file
		// keeps the setting, and it is a write: made only once the file is known to
		// be a Roster store.
		_, err = write.ExecContext(ctx, "PRAGMA journal_mode=WAL")
	}
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
		PrepareShapes:         true, // see sqlstore.Engine
		JSON:                  jsonSyntax,
		MapError:              mapError,
		Retryable:             retryable,
		Backup:                backup,
		Check:                 check,
		Created:               created,
		Where:                 abs,
		ReadOnly:              func(context.Context) (bool, error) { return readOnly, nil },
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

// openPools opens the writer and the readers, and reads from the file once, so that
// a store SQLite cannot open fails here.
func openPools(ctx context.Context, abs, mode string) (write, read *sql.DB, err error) {
	// SQLite decodes %HH in a URI's path.
	dsn := "file:" + strings.ReplaceAll(abs, "%", "%25") + "?mode=" + mode + "&" + params.Encode()
	// One writer: SQLite allows one at a time, and BEGIN IMMEDIATE takes the write lock
	// up front, so a transaction never fails halfway when it first writes.
	write, err = sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err = sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	read.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	var n int
	if err := write.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		write.Close()
		read.Close()
		return nil, nil, fmt.Errorf("sqlite: opening %s: %w", abs, err)
	}
	return write, read, nil
}

// createFile makes a new store's file, private to its owner, and any directories it
// needs, private too.
func createFile(abs string) error {
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// wOK is access(2)'s W_OK.
const wOK = 2

// notWritable says whether this process cannot write the store, and why: SQLite needs
// to write the file, and in WAL mode its -wal and -shm files, which it creates in the
// file's directory.
func notWritable(abs string) (bool, string) {
	for _, p := range []string{abs, filepath.Dir(abs), abs + "-wal", abs + "-shm"} {
		err := syscall.Access(p, wOK)
		if err == nil || errors.Is(err, fs.ErrNotExist) && p != abs {
			continue
		}
		return true, p + " is not writable: " + err.Error()
	}
	return false, ""
}

// unchangeable reports whether nobody but root can change the store: a file or a
// directory without write bits, or a file system mounted read-only.
func unchangeable(abs string) bool {
	fi, err := os.Stat(abs)
	if err != nil {
		return false
	}
	di, err := os.Stat(filepath.Dir(abs))
	if err != nil {
		return false
	}
	var sfs syscall.Statfs_t
	roMount := syscall.Statfs(abs, &sfs) == nil && sfs.Flags&stRdonly != 0
	return fi.Mode().Perm()&0o222 == 0 || di.Mode().Perm()&0o222 == 0 || roMount
}

// stRdonly is statfs(2)'s ST_RDONLY.
const stRdonly = 1

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
	if isReadOnly(se) {
		return sqlstore.ReadOnlyError()
	}
	return nil
}

// isReadOnly reports SQLITE_READONLY and its extended codes (a read-only file, WAL
// files that cannot be created, …).
func isReadOnly(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_READONLY
}

func retryable(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY)
}

// backup copies the database with VACUUM INTO: one consistent snapshot, taken on a
// reader connection while writers carry on. VACUUM INTO fills an existing empty file,
// so the file is made first, private to its owner (it holds password hashes) and
// never over an existing one.
func backup(ctx context.Context, db *sqlstore.DB, path string, progress func(string, int64)) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return roster.Errorf(roster.ECONFLICT, "%s already exists; choose a new file name", path)
	} else if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	progress("database", 0)
	if _, err := db.ReadDB().ExecContext(ctx, "VACUUM INTO $1", abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	var n int64
	if err := db.ReadDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n); err == nil {
		progress("accounts", n)
	}
	return nil
}

// check runs SQLite's own checks of the file: integrity_check reads every page, index
// and constraint (NOT NULL, CHECK) and reports what does not hold, such as an index
// entry without its row after a torn write; foreign_key_check finds rows whose parent
// is missing, which SQLite allows whenever foreign_keys was off for a connection.
func check(ctx context.Context, tx *sql.Tx) ([]roster.CheckResult, error) {
	integrity := roster.CheckResult{Name: "sqlite integrity_check", Detail: "every page, index and constraint"}
	var f sqlstore.Findings
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("PRAGMA integrity_check(%d)", roster.MaxCheckProblems+1))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			rows.Close()
			return nil, err
		}
		// One row per problem, or one of lines under a "*** in database main ***" head.
		for _, line := range strings.Split(msg, "\n") {
			if line != "ok" && line != "" && !strings.HasPrefix(line, "*** ") {
				f.Add("%s", line)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	integrity.Problems = f.Problems()

	fk := roster.CheckResult{Name: "sqlite foreign_key_check", Detail: "every row's parent exists"}
	f = sqlstore.Findings{}
	rows, err = tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, err
		}
		f.Add("%s row %d refers to a row of %s that does not exist", table, rowid.Int64, parent)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	fk.Problems = f.Problems()
	return []roster.CheckResult{integrity, fk}, nil
}

// OpenNew creates a store at path, which must not exist yet.
func OpenNew(ctx context.Context, path string) (*sqlstore.DB, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, roster.Errorf(roster.ECONFLICT, "%s already exists; choose a new file name", path)
	}
	return OpenWith(ctx, path, Options{Access: sqlstore.CreateNew})
}
