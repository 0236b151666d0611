package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/storetest"
)

// What PostgreSQL enforces can still be left broken by hand, by a restore that
// bypassed constraint triggers, or by an index build that failed half-way. Each is done
// here as an owner without superuser rights could, and found by the check.
func TestCheckFindsBrokenConstraints(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Open(t)
	t.Cleanup(func() { s.Close() })
	now := time.Now().UTC().Truncate(time.Microsecond)
	account := func(n string) *roster.Account {
		return &roster.Account{UUID: "00000000-0000-4000-8000-00000000000" + n, Username: "user" + n, Email: "user" + n + "@example.org",
			State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
	}
	admin := account("1")
	admin.Sysadmin = true
	for _, a := range []*roster.Account{admin, account("2")} {
		storetest.MustCreate(t, s, a)
	}
	storetest.WantChecksFailing(t, s, map[string]string{})
	exec := func(q string) {
		t.Helper()
		if _, err := s.WriteDB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// A key whose account does not exist, under a foreign key added back NOT VALID.
	exec("ALTER TABLE api_keys DROP CONSTRAINT api_keys_account_id_fkey")
	exec(`INSERT INTO api_keys (account_id, prefix, hash, created_at, expires_at, last_used_at, revoked_at)
		VALUES (999, 'rk_x', decode(repeat('00', 32), 'hex'), now(), now(), now(), now())`)
	exec("ALTER TABLE api_keys ADD CONSTRAINT api_keys_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID")
	storetest.WantChecksFailing(t, s, map[string]string{
		"postgres constraints":  "api_keys_account_id_fkey on api_keys is NOT VALID",
		"postgres foreign keys": "1 rows of api_keys refer to a row of accounts",
	})

	// Two accounts with one email, under a unique index whose concurrent build failed on
	// them and left it invalid.
	exec("DROP INDEX accounts_email_key")
	exec("UPDATE accounts SET email = 'same@example.org', email_key = 'same@example.org'")
	if _, err := s.WriteDB().ExecContext(ctx, "CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email_key)"); err == nil {
		t.Fatal("a unique index was built over a duplicate")
	}
	exec("DROP INDEX accounts_username_key")
	storetest.WantChecksFailing(t, s, map[string]string{
		"postgres constraints":  "NOT VALID",
		"postgres foreign keys": "api_keys",
		"postgres indexes":      "accounts_username_key is missing",
		"postgres unique keys":  "1 values of email_key (accounts) are held by more than one row",
	})
	rs, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == "postgres indexes" && len(r.Problems) != 2 {
			t.Fatalf("postgres indexes found %q; want the invalid accounts_email_key and the missing accounts_username_key", r.Problems)
		}
	}
}
