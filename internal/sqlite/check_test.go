package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/storetest"
)

// SQLite lets a connection turn foreign keys off; a row written meanwhile may lack its
// parent, and only foreign_key_check finds it.
func TestCheckFindsOrphans(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.WantChecksFailing(t, s, map[string]string{})
	conn, err := s.WriteDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"PRAGMA foreign_keys = OFF",
		"INSERT INTO api_keys (account_id, prefix, hash, created_at, expires_at, last_used_at, revoked_at) VALUES (999, 'rk_x', zeroblob(32), 0, 0, 0, 0)",
		"PRAGMA foreign_keys = ON",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	storetest.WantChecksFailing(t, s, map[string]string{"sqlite foreign_key_check": "api_keys row 1 refers to a row of accounts"})
}

// A page of an index overwritten (a torn write, a bad disk) is found by
// integrity_check, while the store still opens and answers.
func TestCheckFindsDamagedPages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin := account(0)
	admin.Sysadmin = true
	as := []*roster.Account{admin}
	for i := 1; i < 2000; i++ {
		as = append(as, account(i))
	}
	if err := s.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccounts(ctx, as) }); err != nil {
		t.Fatal(err)
	}
	storetest.WantChecksFailing(t, s, map[string]string{})
	var root, pageSize int64
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT rootpage FROM sqlite_schema WHERE name = 'accounts_email_key'").Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadDB().QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	// Closing the last connection checkpoints the WAL into the file and removes it, so
	// the page is where the file says.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("the WAL outlived the store's close")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, pageSize)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	if _, err := f.WriteAt(garbage, (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err = sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("the damaged store does not open: %v", err)
	}
	defer s.Close()
	rs, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == "sqlite integrity_check" {
			if r.OK() {
				t.Fatal("integrity_check found nothing in a page of garbage")
			}
			t.Logf("integrity_check found: %q", r.Problems)
			if len(r.Problems) > roster.MaxCheckProblems+1 {
				t.Fatalf("%d problems listed, want at most %d and a count", len(r.Problems), roster.MaxCheckProblems+1)
			}
			return
		}
	}
	t.Fatalf("no integrity_check among %v", rs)
}
