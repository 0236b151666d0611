package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
	"github.com/rosterhq/roster/internal/storetest"
	"github.com/rosterhq/roster/internal/testkit"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) roster.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

var now = time.Now().UTC().Truncate(time.Microsecond)

func account(n int) *roster.Account {
	return &roster.Account{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Username: fmt.Sprintf("user%d", n),
		Email: fmt.Sprintf("user%d@example.org", n), State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// zeroUmask makes every mode a file gets the one Roster asked for, so that a mode
// left to the umask shows.
func zeroUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

// The store holds password hashes: what Roster creates for it is private to its owner.
func TestFileModesArePrivate(t *testing.T) {
	testkit.Unprivileged(t)
	zeroUmask(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "roster.db")
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.MustCreate(t, s, account(1))
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, backup, nil); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.OpenNew(ctx, filepath.Join(dir, "new.db")) // PostgreSQL's backups are written so
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for p, want := range map[string]os.FileMode{
		filepath.Join(dir, "a"): 0o700, filepath.Join(dir, "a", "b"): 0o700,
		path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, path + ".migrate-lock": 0o600,
		backup: 0o600, filepath.Join(dir, "new.db"): 0o600,
	} {
		if got := mode(t, p); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
}

// A store other users can read is reported, once, with its path and mode, and left
// as it is.
func TestOpenWarnsWhenOthersCanRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err = sqlite.OpenWith(ctx, path, sqlite.Options{Access: sqlstore.UseExisting, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var warnings []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "path="+path) || !strings.Contains(warnings[0], "mode=0644") {
		t.Fatalf("warnings %q, want one naming %s and mode 0644", warnings, path)
	}
	if got := mode(t, path); got != 0o644 {
		t.Fatalf("the store's mode changed to %04o", got)
	}
}

// Opening without creating leaves a missing store missing, and an existing file that
// is not a Roster store untouched (not even switched to WAL).
func TestOpenExistingCreatesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, access := range []sqlstore.Access{sqlstore.UseExisting, sqlstore.MigrateExisting} {
		path := filepath.Join(dir, "sub", "roster.db")
		_, err := sqlite.OpenWith(ctx, path, sqlite.Options{Access: access})
		var missing *sqlstore.NoStoreError
		if !errors.As(err, &missing) || missing.Where != path {
			t.Fatalf("access %d, missing file: %v", access, err)
		}
		empty := filepath.Join(dir, "empty.db")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.OpenWith(ctx, empty, sqlite.Options{Access: access}); !errors.As(err, &missing) {
			t.Fatalf("access %d, empty file: %v", access, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 || mode(t, empty) != 0o600 {
			t.Fatalf("access %d left %v", access, entries)
		} else if fi, _ := os.Stat(empty); fi.Size() != 0 {
			t.Fatalf("access %d wrote %d bytes into a file that is no store", access, fi.Size())
		}
	}
	path := filepath.Join(dir, "roster.db")
	s, err := sqlite.OpenWith(ctx, path, sqlite.Options{Access: sqlstore.CreateNew})
	if err != nil || !s.Created() || s.Where() != path {
		t.Fatalf("CreateNew: %v", err)
	}
	s.Close()
	if _, err := sqlite.OpenWith(ctx, path, sqlite.Options{Access: sqlstore.CreateNew}); !errors.Is(err, sqlstore.ErrExists) {
		t.Fatalf("CreateNew on a store: %v", err)
	}
	s, err = sqlite.OpenWith(ctx, path, sqlite.Options{Access: sqlstore.CreateOrMigrate})
	if err != nil || s.Created() {
		t.Fatalf("CreateOrMigrate on a store: created %v, %v", s != nil && s.Created(), err)
	}
	s.Close()
}

// A store this process cannot write opens read-only: reads work, and see what another
// process commits; writes are refused as EUNAVAILABLE, and last-used times are
// dropped without an error.
func TestReadOnlyStore(t *testing.T) {
	testkit.Unprivileged(t)
	ctx := context.Background()
	for _, c := range []struct {
		name              string
		fileMode, dirMode os.FileMode
		writer            bool // another process has the store open and writes to it
	}{
		{"FileNotWritable", 0o444, 0o700, true},
		{"DirectoryNotWritable", 0o600, 0o500, true},
		// Nobody has the store open, and nobody can change it: SQLite may not create
		// the -shm file, and reads the store as immutable.
		{"Unchangeable", 0o400, 0o500, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "roster.db")
			w, err := sqlite.Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			storetest.MustCreate(t, w, account(1))
			key := &roster.APIKey{AccountID: 1, Hash: []byte("hash"), Prefix: "rk_1234", CreatedAt: now}
			if err := w.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAPIKey(ctx, key) }); err != nil {
				t.Fatal(err)
			}
			if !c.writer {
				w.Close()
			}
			if err := os.Chmod(path, c.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, c.dirMode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })

			r, err := sqlite.OpenWith(ctx, path, sqlite.Options{Access: sqlstore.UseExisting})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if ro, err := r.ReadOnly(ctx); !ro || err != nil {
				t.Fatalf("ReadOnly: %v %v", ro, err)
			}
			if _, err := r.GetAccount(ctx, roster.RefID(1)); err != nil {
				t.Fatal(err)
			}
			err = r.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccount(ctx, account(2)) })
			if !sqlstore.IsReadOnly(err) || roster.ErrorCode(err) != roster.EUNAVAILABLE {
				t.Fatalf("a write: %v, want the read-only EUNAVAILABLE", err)
			}
			if err := r.TouchAPIKey(ctx, key.ID, now); err != nil {
				t.Fatalf("TouchAPIKey: %v, want it dropped", err)
			}
			if err := r.Backup(ctx, filepath.Join(t.TempDir(), "backup.db"), nil); err != nil {
				t.Fatalf("backup: %v", err)
			}
			if c.writer {
				storetest.MustCreate(t, w, account(3))
				if _, err := r.GetAccount(ctx, roster.ParseAccountRef("user3")); err != nil {
					t.Fatalf("the read-only store does not see another process's commit: %v", err)
				}
			}
		})
	}
}

// A read-only store whose schema is older cannot be migrated, and says so.
func TestReadOnlyStoreNeedsMigrating(t *testing.T) {
	testkit.Unprivileged(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Forget the last migration, as a store made by an older binary would not have it.
	// Versions need not be consecutive: the store is then at the one before the last.
	var previous int64
	if err := s.WriteDB().QueryRowContext(ctx, "SELECT MAX(version_id) FROM goose_db_version WHERE version_id < (SELECT MAX(version_id) FROM goose_db_version)").Scan(&previous); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteDB().ExecContext(ctx, "DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	for _, access := range []sqlstore.Access{sqlstore.CreateOrMigrate, sqlstore.MigrateExisting, sqlstore.UseExisting} {
		_, err = sqlite.OpenWith(ctx, path, sqlite.Options{Access: access})
		var outdated *sqlstore.OutdatedError
		if !errors.As(err, &outdated) || !outdated.ReadOnly || outdated.Current != previous {
			t.Fatalf("access %d: %v, want OutdatedError{ReadOnly}", access, err)
		}
	}
}
