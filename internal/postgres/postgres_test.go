package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
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
	_, err := s.GetAccount(ctx, roster.ParseAccountRef("nul\x00name"))
	check("GetAccount with a NUL in the username", err)

	now := time.Now().UTC().Truncate(time.Microsecond)
	account := func(username string, profile map[string]any) *roster.Account {
		return &roster.Account{UUID: "00000000-0000-4000-8000-00000000000" + username[len(username)-1:], Username: username,
			Email: username + "@example.org", State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: profile}
	}
	check("CreateAccount with a NUL in a profile string", s.CreateAccount(ctx, account("user1", map[string]any{"bio": "a\x00b"})))
	check("CreateAccount with a NUL in the name", s.CreateAccount(ctx, &roster.Account{UUID: "00000000-0000-4000-8000-000000000002",
		Username: "user2", Email: "user2@example.org", Name: "A\x00B", State: roster.StateActive, CreatedAt: now, UpdatedAt: now}))
	check("CreateAccount with invalid UTF-8 in the name", s.CreateAccount(ctx, &roster.Account{UUID: "00000000-0000-4000-8000-000000000004",
		Username: "user4", Email: "user4@example.org", Name: "bad \xff", State: roster.StateActive, CreatedAt: now, UpdatedAt: now}))
	// The store is still usable after the refusals.
	if err := s.CreateAccount(ctx, account("user3", map[string]any{"bio": "fine"})); err != nil {
		t.Fatal(err)
	}
}
