// Package storetest is the roster.Store contract as a test suite. Each engine's tests
// hand it a constructor of empty, migrated stores; passing it on both engines is what
// makes them interchangeable.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// NewStore returns an empty, migrated store; the suite closes it.
type NewStore func(t *testing.T) roster.Store

// RunTests runs the contract.
func RunTests(t *testing.T, newStore NewStore) {
	for _, tt := range []struct {
		name string
		run  func(*testing.T, roster.Store)
	}{
		{"AccountCRUD", testAccountCRUD},
		{"AccountRefForms", testAccountRefForms},
		{"AccountDuplicates", testAccountDuplicates},
		{"AccountLostUpdate", testAccountLostUpdate},
		{"ProfileRoundTrip", testProfileRoundTrip},
		{"CreateAccountsBatch", testCreateAccountsBatch},
		{"GetAccounts", testGetAccounts},
		{"LookupsByBadText", testLookupsByBadText},
		{"RowLocks", testRowLocks},
		{"LoginDevices", testLoginDevices},
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"ListSortKeys", testListSortKeys},
		{"ListOffsetAndTotal", testListOffsetAndTotal},
		{"StreamAccounts", testStreamAccounts},
		{"TimesAreUTC", testTimesAreUTC},
		{"Passwords", testPasswords},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"Throttle", testThrottle},
		{"Groups", testGroups},
		{"Projects", testProjects},
		{"ProjectMembers", testProjectMembers},
		{"ProjectRolesAndDAGs", testProjectRolesAndDAGs},
		{"DAGSwitch", testDAGSwitch},
		{"AuditAppendOrdered", testAuditAppend},
		{"AuditFilters", testAuditFilters},
		{"Policy", testPolicy},
		{"ProfileImages", testProfileImages},
		{"EmailChanges", testEmailChanges},
		{"Outbox", testOutbox},
		{"OutboxLease", testOutboxLease},
		{"OutboxConcurrentLease", testOutboxConcurrentLease},
		{"OAuthApps", testOAuthApps},
		{"OAuthGrants", testOAuthGrants},
		{"SigningKeys", testSigningKeys},
		{"OAuthTokens", testOAuthTokens},
		{"OAuthBackup", testOAuthBackup},
		{"DeviceAuthorizations", testDeviceAuthorizations},
		{"InTxRollback", testInTxRollback},
		{"WritesOnlyInTx", testWritesOnlyInTx},
		{"Backup", testBackup},
		{"Check", testCheck},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.run(t, s)
		})
	}
}

var base = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// newAccount returns an unsaved active account with distinct fields derived from n.
func newAccount(n int) *roster.Account {
	return &roster.Account{
		UUID:      fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		Username:  fmt.Sprintf("user%04d", n),
		Email:     fmt.Sprintf("user%04d@example.org", n),
		Name:      fmt.Sprintf("User %04d", n),
		FirstName: "User",
		LastName:  fmt.Sprintf("%04d", n),
		State:     roster.StateActive,
		CreatedAt: base.Add(time.Duration(n) * time.Minute),
		UpdatedAt: base.Add(time.Duration(n) * time.Minute),
		Profile:   map[string]any{},
	}
}

// MustCreate stores an account and fails the test on error.
func MustCreate(tb testing.TB, s roster.Store, a *roster.Account) *roster.Account {
	tb.Helper()
	if err := write(s, func(tx roster.Tx) error { return tx.CreateAccount(context.Background(), a) }); err != nil {
		tb.Fatalf("CreateAccount(%s): %v", a.Username, err)
	}
	return a
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := roster.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mustNil(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// inTx runs fn in a transaction and fails the test on error.
func inTx(tb testing.TB, s roster.Store, fn func(roster.Tx) error) {
	tb.Helper()
	mustNil(tb, write(s, fn))
}

// write runs fn in a transaction and returns its error, for the writes a test expects to
// fail: a store writes only through the Tx its InTx hands out.
func write(s roster.Store, fn func(roster.Tx) error) error {
	return s.InTx(context.Background(), fn)
}

// testWritesOnlyInTx: the store an engine hands out has none of roster.Writer's methods,
// not even on its concrete type, so that a write outside InTx, which would commit without
// its audit entry, fails to compile rather than at run time.
func testWritesOnlyInTx(t *testing.T, s roster.Store) {
	if _, ok := s.(roster.AuditWriter); ok {
		t.Fatalf("%T appends to the audit log outside a transaction", s)
	}
	concrete := reflect.TypeOf(s)
	w := reflect.TypeFor[roster.Writer]()
	for i := range w.NumMethod() {
		if name := w.Method(i).Name; hasMethod(concrete, name) {
			t.Errorf("%T has %s outside a transaction", s, name)
		}
	}
	for _, name := range []string{"GetAccount", "TouchSession", "InTx"} { // the check can see methods
		if !hasMethod(concrete, name) {
			t.Fatalf("%T has no %s", s, name)
		}
	}
}

func hasMethod(t reflect.Type, name string) bool {
	_, ok := t.MethodByName(name)
	return ok
}
