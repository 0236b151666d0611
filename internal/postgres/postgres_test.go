package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
	"github.com/rosterhq/roster/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) roster.Store { return pgtest.Open(t) })
}

// PostgreSQL refuses NUL characters and invalid UTF-8 in text and JSONB. The core refuses
// them earlier; the store's mapping is the backstop that keeps such input a client
// error, never a 500.
func TestBadTextIsInvalid(t *testing.T) {
	s := pgtest.Open(t)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	const msg = "Text may not contain NUL characters or invalid UTF-8."
	check := func(what string, err error) {
		t.Helper()
		if roster.ErrorCode(err) != roster.EINVALID || roster.ErrorMessage(err) != msg {
			t.Errorf("%s: got %v, want %s %q", what, err, roster.EINVALID, msg)
		}
	}
	sch, err := roster.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ListAccounts(ctx, roster.AccountSelection{Limit: 5, Where: roster.Match{Attr: sch.Attr("city"), Lookup: roster.Exact, Value: "nul\x00name"}})
	check("ListAccounts comparing with a NUL", err)

	now := time.Now().UTC().Truncate(time.Microsecond)
	account := func(username string, profile map[string]any) *roster.Account {
		return &roster.Account{UUID: "00000000-0000-4000-8000-00000000000" + username[len(username)-1:], Username: username,
			Email: username + "@example.org", State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: profile}
	}
	create := func(a *roster.Account) error {
		return s.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccount(ctx, a) })
	}
	check("CreateAccount with a NUL in a profile string", create(account("user1", map[string]any{"bio": "a\x00b"})))
	check("CreateAccount with a NUL in the name", create(&roster.Account{UUID: "00000000-0000-4000-8000-000000000002",
		Username: "user2", Email: "user2@example.org", Name: "A\x00B", State: roster.StateActive, CreatedAt: now, UpdatedAt: now}))
	check("CreateAccount with invalid UTF-8 in the name", create(&roster.Account{UUID: "00000000-0000-4000-8000-000000000004",
		Username: "user4", Email: "user4@example.org", Name: "bad \xff", State: roster.StateActive, CreatedAt: now, UpdatedAt: now}))
	// The store is still usable after the refusals.
	if err := create(account("user3", map[string]any{"bio": "fine"})); err != nil {
		t.Fatal(err)
	}
}

// readOnlyURL is u with every session's transactions read-only by default, as on a
// hot standby; other tests sharing the server are not affected.
func readOnlyURL(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("options", "-c default_transaction_read_only=on")
	// pgx reads the query without turning + into a space.
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return p.String()
}

func open(t *testing.T, u string, access sqlstore.Access) (*sqlstore.DB, error) {
	s, err := postgres.Open(context.Background(), u, postgres.Options{MaxConns: 4, Access: access}, nil)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// A read-only database opens read-only: reads work and see what others commit, writes
// are refused as EUNAVAILABLE, and last-used times are dropped without an error.
func TestReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	w, err := open(t, u, sqlstore.CreateOrMigrate)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	account := func(n string) *roster.Account {
		return &roster.Account{UUID: "00000000-0000-4000-8000-00000000000" + n, Username: "user" + n, Email: "user" + n + "@example.org",
			State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
	}
	storetest.MustCreate(t, w, account("1"))
	key := &roster.APIKey{AccountID: 1, Hash: []byte("hash"), Prefix: "rk_1234", CreatedAt: now}
	if err := w.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAPIKey(ctx, key) }); err != nil {
		t.Fatal(err)
	}
	r, err := open(t, readOnlyURL(t, u), sqlstore.UseExisting)
	if err != nil {
		t.Fatal(err)
	}
	if ro, err := r.ReadOnly(ctx); !ro || err != nil {
		t.Fatalf("ReadOnly: %v %v", ro, err)
	}
	if ro, err := w.ReadOnly(ctx); ro || err != nil {
		t.Fatalf("ReadOnly of the writable store: %v %v", ro, err)
	}
	if _, err := r.GetAccount(ctx, roster.ParseAccountRef("user1")); err != nil {
		t.Fatal(err)
	}
	err = r.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccount(ctx, account("2")) })
	if !sqlstore.IsReadOnly(err) || roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Fatalf("a write: %v, want the read-only EUNAVAILABLE", err)
	}
	if err := r.TouchAPIKey(ctx, key.ID, now); err != nil {
		t.Fatalf("TouchAPIKey: %v, want it dropped", err)
	}
	storetest.MustCreate(t, w, account("3"))
	if _, err := r.GetAccount(ctx, roster.ParseAccountRef("user3")); err != nil {
		t.Fatalf("the read-only store does not see a commit: %v", err)
	}
}

// Only CreateOrMigrate and CreateNew make a store in an empty schema; nothing is made
// in a read-only database, and a read-only store's older schema is not migrated.
func TestOpenAccess(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	schema := func() string { p, _ := url.Parse(u); return p.Query().Get("search_path") }()
	tables := func() int {
		t.Helper()
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM pg_tables WHERE schemaname = $1", schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, access := range []sqlstore.Access{sqlstore.UseExisting, sqlstore.MigrateExisting} {
		_, err := open(t, u, access)
		var missing *sqlstore.NoStoreError
		if !errors.As(err, &missing) || missing.Where != `schema "`+schema+`"` {
			t.Fatalf("access %d on an empty schema: %v", access, err)
		}
	}
	if _, err := open(t, readOnlyURL(t, u), sqlstore.CreateOrMigrate); !errors.Is(err, sqlstore.ErrReadOnlyCreate) {
		t.Fatalf("creating in a read-only database: %v", err)
	}
	if n := tables(); n != 0 {
		t.Fatalf("%d tables made", n)
	}
	s, err := open(t, u, sqlstore.CreateNew)
	if err != nil || !s.Created() {
		t.Fatalf("CreateNew: %v", err)
	}
	if _, err := open(t, u, sqlstore.CreateNew); !errors.Is(err, sqlstore.ErrExists) {
		t.Fatalf("CreateNew on a store: %v", err)
	}
	if s, err := open(t, u, sqlstore.CreateOrMigrate); err != nil || s.Created() {
		t.Fatalf("CreateOrMigrate on a store: %v", err)
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
	for _, access := range []sqlstore.Access{sqlstore.CreateOrMigrate, sqlstore.MigrateExisting, sqlstore.UseExisting} {
		_, err = open(t, readOnlyURL(t, u), access)
		var outdated *sqlstore.OutdatedError
		if !errors.As(err, &outdated) || !outdated.ReadOnly || outdated.Current != previous {
			t.Fatalf("access %d on a read-only older store: %v", access, err)
		}
	}
	_, err = open(t, u, sqlstore.UseExisting)
	var outdated *sqlstore.OutdatedError
	if !errors.As(err, &outdated) || outdated.ReadOnly {
		t.Fatalf("UseExisting on an older store: %v", err)
	}
}
