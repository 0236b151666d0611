package core_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

// FuzzImportFile runs roster users import on any file: the CSV or JSON reader feeds the
// core's import, as the operator, on one real SQLite store for the whole target, where
// a system administrator and two users already exist. No input may panic; an import
// is all or nothing: refused, or a dry run, it commits nothing (SQLite's data_version,
// read on a connection of its own, is unchanged); accepted, every row it read is
// counted as created, updated or unchanged.
func FuzzImportFile(f *testing.F) {
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "roster.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	conn, err := st.ReadDB().Conn(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		conn.Close()
		svc.Quiesce()
		st.Close()
	})
	for _, in := range []map[string]any{
		{"username": "root", "email": "root@example.org", "sysadmin": true},
		{"username": "existing", "email": "existing@example.org", "name": "Old Name", "bio": "old bio"},
		{"username": "other", "email": "other@example.org"},
	} {
		if _, err := svc.CreateAccount(operator(), in); err != nil {
			f.Fatal(err)
		}
	}
	version := func(tb testing.TB) int64 {
		var v int64
		if err := conn.QueryRowContext(context.Background(), "PRAGMA data_version").Scan(&v); err != nil {
			tb.Fatal(err)
		}
		return v
	}
	f.Fuzz(func(t *testing.T, asJSON, dryRun bool, data []byte) {
		format := accountfile.CSV
		if asJSON {
			format = accountfile.JSON
		}
		before := version(t)
		res, err := svc.ImportAccounts(operator(), accountfile.Read(format, bytes.NewReader(data)), roster.ImportOptions{DryRun: dryRun})
		wrote := version(t) != before
		switch {
		case err != nil && wrote:
			t.Fatalf("a refused import committed: %v", err)
		case err != nil:
			// A file that does not parse is the reader's plain error, which the command
			// prints; the core's own refusals are never internal errors.
			var re *roster.Error
			if errors.As(err, &re) && re.Code == roster.EINTERNAL {
				t.Fatalf("internal error: %v", err)
			}
		case dryRun && wrote:
			t.Fatalf("a dry run committed: %+v", res)
		case res.Created+res.Updated+res.Unchanged != res.Rows:
			t.Fatalf("%d rows read, %d created, %d updated, %d unchanged", res.Rows, res.Created, res.Updated, res.Unchanged)
		}
	})
}
