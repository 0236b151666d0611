package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func testAccountCRUD(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := newAccount(1)
	a.Sysadmin = true
	a.Capabilities = []string{"group_admin", "project_admin"}
	MustCreate(t, s, a)
	if a.ID == 0 || a.Version != 1 {
		t.Fatalf("after create: ID=%d Version=%d, want an id and version 1", a.ID, a.Version)
	}
	got, err := s.GetAccount(ctx, roster.RefID(a.ID))
	mustNil(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("GetAccount = %+v\nwant %+v", got, a)
	}

	got.Email = "changed@example.org"
	got.Name = "Changed Name"
	got.State = roster.StateDeactivated
	got.Sysadmin = false
	got.Capabilities = nil
	got.UpdatedAt = base.Add(time.Hour)
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, got) })
	if got.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", got.Version)
	}
	again, err := s.GetAccount(ctx, roster.RefID(a.ID))
	mustNil(t, err)
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("after update = %+v\nwant %+v", again, got)
	}

	_, err = s.GetAccount(ctx, roster.RefID(9999))
	wantCode(t, err, roster.ENOTFOUND)
	_, err = s.GetAccount(ctx, roster.AccountRef{Username: "nobody"})
	wantCode(t, err, roster.ENOTFOUND)
	_, err = s.GetAccount(ctx, roster.AccountRef{})
	wantCode(t, err, roster.ENOTFOUND)
	ghost := newAccount(2)
	ghost.ID = 9999
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, ghost) }), roster.ENOTFOUND)
}

func testAccountRefForms(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(7))
	a.Username = "MixedCase"
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, a) })
	for _, ref := range []roster.AccountRef{
		roster.RefID(a.ID),
		{UUID: a.UUID},
		{UUID: "00000000-0000-4000-8000-000000000007"},
		{Username: "mixedcase"},
		{Username: "MIXEDCASE"},
		roster.ParseAccountRef(fmt.Sprint(a.ID)),
		roster.ParseAccountRef("00000000-0000-4000-8000-000000000007"),
		roster.ParseAccountRef("mixedCASE"),
	} {
		got, err := s.GetAccount(ctx, ref)
		if err != nil || got.ID != a.ID {
			t.Errorf("GetAccount(%+v) = %v, %v; want account %d", ref, got, err, a.ID)
		}
	}
}

func testAccountDuplicates(t *testing.T, s roster.Store) {
	ctx := context.Background()
	MustCreate(t, s, newAccount(1))

	dupName := newAccount(2)
	dupName.Username = "USER0001"
	err := write(s, func(tx roster.Tx) error { return tx.CreateAccount(ctx, dupName) })
	wantCode(t, err, roster.ECONFLICT)
	if p := roster.AsError(err).Problems; len(p) != 1 || p[0].Field != "username" {
		t.Fatalf("duplicate username problems = %+v, want one for username", p)
	}

	dupEmail := newAccount(3)
	dupEmail.Email = "User0001@Example.ORG"
	err = write(s, func(tx roster.Tx) error { return tx.CreateAccount(ctx, dupEmail) })
	wantCode(t, err, roster.ECONFLICT)
	if p := roster.AsError(err).Problems; len(p) != 1 || p[0].Field != "email" {
		t.Fatalf("duplicate email problems = %+v, want one for email", p)
	}

	// An update onto another account's email is refused the same way.
	b := MustCreate(t, s, newAccount(4))
	b.Email = "USER0001@example.org"
	err = write(s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, b) })
	wantCode(t, err, roster.ECONFLICT)
	if p := roster.AsError(err).Problems; len(p) != 1 || p[0].Field != "email" {
		t.Fatalf("update duplicate email problems = %+v", p)
	}
	n, err := s.CountAccounts(ctx, roster.AccountSelection{AnyState: true})
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("%d accounts stored, want 2: a refused insert left a row", n)
	}
}

func testAccountLostUpdate(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	first, _ := s.GetAccount(ctx, roster.RefID(a.ID))
	second, _ := s.GetAccount(ctx, roster.RefID(a.ID))
	first.Name = "First Writer"
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, first) })
	second.Name = "Second Writer"
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, second) }), roster.ECONFLICT)
	got, _ := s.GetAccount(ctx, roster.RefID(a.ID))
	if got.Name != "First Writer" {
		t.Fatalf("name = %q: the stale update overwrote the first", got.Name)
	}
}

func testProfileRoundTrip(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := newAccount(1)
	a.Profile = map[string]any{
		"bio":           "Ünïcødé «quotes» \"and\" \\ back\nslash ✓",
		"year_of_birth": json.Number("1987"),
		"big":           json.Number("9007199254740993"), // beyond float64's exact range
		"subscribed":    true,
		"languages":     []any{"en", "fr"},
		"info":          map[string]any{"avatar": "a.png", "nested": map[string]any{"n": json.Number("1.5")}},
		"empty":         "",
	}
	MustCreate(t, s, a)
	got, err := s.GetAccount(ctx, roster.RefID(a.ID))
	mustNil(t, err)
	if !reflect.DeepEqual(got.Profile, a.Profile) {
		t.Fatalf("profile = %#v\nwant %#v", got.Profile, a.Profile)
	}
}

func testCreateAccountsBatch(t *testing.T, s roster.Store) {
	ctx := context.Background()
	const n = 1234 // crosses batch boundaries
	as := make([]*roster.Account, n)
	for i := range as {
		as[i] = newAccount(i + 1)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateAccounts(ctx, as) })
	ids := map[int64]bool{}
	for _, a := range as {
		if a.ID == 0 || ids[a.ID] {
			t.Fatalf("account %s got id %d (zero or repeated)", a.Username, a.ID)
		}
		ids[a.ID] = true
	}
	// Every id belongs to the account it was assigned to.
	for _, i := range []int{0, 499, 500, 1233} {
		got, err := s.GetAccount(ctx, roster.RefID(as[i].ID))
		mustNil(t, err)
		if got.Username != as[i].Username {
			t.Fatalf("id %d holds %s, want %s", as[i].ID, got.Username, as[i].Username)
		}
	}
	// A batch with one duplicate inserts nothing, inside a transaction.
	bad := []*roster.Account{newAccount(5000), newAccount(5001), newAccount(1)}
	err := s.InTx(ctx, func(tx roster.Tx) error { return tx.CreateAccounts(ctx, bad) })
	wantCode(t, err, roster.ECONFLICT)
	if _, err := s.GetAccount(ctx, roster.AccountRef{Username: "user5000"}); roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Fatalf("a failed batch left user5000 behind: %v", err)
	}
}

func testGetAccounts(t *testing.T, s roster.Store) {
	ctx := context.Background()
	var as []*roster.Account
	for i := 1; i <= 600; i++ {
		as = append(as, newAccount(i))
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateAccounts(ctx, as) })
	var refs []roster.AccountRef
	for i, a := range as {
		switch i % 3 {
		case 0:
			refs = append(refs, roster.RefID(a.ID))
		case 1:
			refs = append(refs, roster.AccountRef{UUID: a.UUID})
		default:
			refs = append(refs, roster.AccountRef{Username: a.Username})
		}
	}
	refs = append(refs, roster.AccountRef{Username: "missing"}, roster.RefID(999999), roster.RefID(as[0].ID))
	got, err := s.GetAccounts(ctx, refs)
	mustNil(t, err)
	if len(got) != 600 {
		t.Fatalf("GetAccounts returned %d accounts, want 600 (each once, missing skipped)", len(got))
	}
}

func testTimesAreUTC(t *testing.T, s roster.Store) {
	ctx := context.Background()
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	a := newAccount(1)
	a.CreatedAt = time.Date(2024, 2, 29, 23, 59, 59, 999999000, loc)
	a.UpdatedAt = a.CreatedAt.Add(time.Nanosecond * 999) // below microseconds: dropped
	a.LastLoginAt = time.Time{}
	MustCreate(t, s, a)
	got, err := s.GetAccount(ctx, roster.RefID(a.ID))
	mustNil(t, err)
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("CreatedAt = %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), a.CreatedAt)
	}
	if !got.UpdatedAt.Equal(a.CreatedAt) {
		t.Fatalf("UpdatedAt = %v, want microsecond precision %v", got.UpdatedAt, a.CreatedAt)
	}
	if !got.LastLoginAt.IsZero() {
		t.Fatalf("LastLoginAt = %v, want the zero time for never", got.LastLoginAt)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, loc)
	inTx(t, s, func(tx roster.Tx) error { return tx.SetLastLogin(ctx, a.ID, at) })
	got, _ = s.GetAccount(ctx, roster.RefID(a.ID))
	if !got.LastLoginAt.Equal(at) || got.LastLoginAt.Location() != time.UTC {
		t.Fatalf("LastLoginAt = %v, want %v in UTC", got.LastLoginAt, at)
	}
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.SetLastLogin(ctx, 424242, at) }), roster.ENOTFOUND)
}

func testPasswords(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	h, err := s.GetPasswordHash(ctx, a.ID)
	mustNil(t, err)
	if h != "" {
		t.Fatalf("new account has password hash %q", h)
	}
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetPasswordHash(ctx, a.ID, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA")
	})
	h, _ = s.GetPasswordHash(ctx, a.ID)
	if h != "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA" {
		t.Fatalf("hash = %q", h)
	}
	// Updating the account does not touch the password.
	a.Name = "Renamed"
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, a) })
	if h2, _ := s.GetPasswordHash(ctx, a.ID); h2 != h {
		t.Fatal("UpdateAccount cleared the password hash")
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.SetPasswordHash(ctx, a.ID, "") })
	if h, _ = s.GetPasswordHash(ctx, a.ID); h != "" {
		t.Fatalf("cleared hash = %q", h)
	}
	_, err = s.GetPasswordHash(ctx, 9999)
	wantCode(t, err, roster.ENOTFOUND)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.SetPasswordHash(ctx, 9999, "x") }), roster.ENOTFOUND)
}

func testInTxRollback(t *testing.T, s roster.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx roster.Tx) error {
		a := newAccount(1)
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, a.ID, "h"); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &roster.AuditEntry{At: base, Via: "test", Action: "account.create", TargetType: "account"}); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.GetAccount(ctx, roster.RefID(a.ID)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	n, _ := s.CountAccounts(ctx, roster.AccountSelection{AnyState: true})
	entries, _ := s.ListAudit(ctx, roster.AuditFilter{})
	if n != 0 || len(entries) != 0 {
		t.Fatalf("after rollback: %d accounts, %d audit entries; want none", n, len(entries))
	}
	// A panic inside fn also rolls back, and the panic propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in fn did not propagate")
			}
		}()
		_ = s.InTx(ctx, func(tx roster.Tx) error {
			_ = tx.CreateAccount(ctx, newAccount(2))
			panic("boom")
		})
	}()
	if n, _ := s.CountAccounts(ctx, roster.AccountSelection{AnyState: true}); n != 0 {
		t.Fatal("a panicking transaction committed")
	}
	// The store still works after both.
	MustCreate(t, s, newAccount(3))
}
