package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// seedList stores 57 accounts with varied names, states, roles and login times.
func seedList(t *testing.T, s roster.Store) []*roster.Account {
	ctx := context.Background()
	var as []*roster.Account
	names := []string{"Zoë Adams", "adam Young", "Bea Ng", "", "Carl Xu", "dora Wu"}
	for i := 1; i <= 57; i++ {
		a := newAccount(i)
		a.Name = names[i%len(names)]
		if a.Name != "" {
			a.Name = fmt.Sprintf("%s %02d", a.Name, i%7) // repeated sort keys: ties broken by id
		}
		a.CreatedAt = base.Add(time.Duration((i*37)%57) * time.Hour)
		if i%4 == 0 {
			a.LastLoginAt = base.Add(time.Duration(i%5) * time.Minute)
		}
		switch {
		case i%10 == 0:
			a.State = roster.StateDeleted
		case i%9 == 0:
			a.State = roster.StateDeactivated
		case i%8 == 0:
			a.State = roster.StatePending
		}
		a.Sysadmin = i%11 == 0
		a.Staff = i%6 == 0
		if i%5 == 0 {
			a.Capabilities = []string{"group_admin", "project_admin"}
		} else if i%5 == 1 {
			a.Capabilities = []string{"project_admin_extra"}
		}
		as = append(as, a)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateAccounts(ctx, as) })
	return as
}

func usernames(as []*roster.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Username
	}
	return out
}

func selectAccounts(as []*roster.Account, keep func(*roster.Account) bool) []*roster.Account {
	var out []*roster.Account
	for _, a := range as {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

func list(t *testing.T, s roster.Store, f roster.AccountFilter) []*roster.Account {
	t.Helper()
	f.Limit = 1000
	p, err := s.ListAccounts(context.Background(), f)
	mustNil(t, err)
	return p.Accounts
}

func testListFilters(t *testing.T, s roster.Store) {
	as := seedList(t, s)
	notDeleted := func(a *roster.Account) bool { return a.State != roster.StateDeleted }
	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    roster.AccountFilter
		keep func(*roster.Account) bool
	}{
		{"DefaultHidesDeleted", roster.AccountFilter{}, notDeleted},
		{"AnyState", roster.AccountFilter{AnyState: true}, func(*roster.Account) bool { return true }},
		{"States", roster.AccountFilter{States: []roster.State{roster.StatePending, roster.StateDeleted}}, func(a *roster.Account) bool {
			return a.State == roster.StatePending || a.State == roster.StateDeleted
		}},
		{"Sysadmin", roster.AccountFilter{Sysadmin: &yes}, func(a *roster.Account) bool { return notDeleted(a) && a.Sysadmin }},
		{"NotStaff", roster.AccountFilter{Staff: &no}, func(a *roster.Account) bool { return notDeleted(a) && !a.Staff }},
		{"CapabilityExact", roster.AccountFilter{Capability: "project_admin"}, func(a *roster.Account) bool {
			return notDeleted(a) && a.HasCapability("project_admin")
		}},
		{"EmailCaseInsensitive", roster.AccountFilter{Email: "USER0003@example.ORG"}, func(a *roster.Account) bool { return a.Username == "user0003" }},
		{"Emails", roster.AccountFilter{Emails: []string{"USER0005@example.org", "user0006@EXAMPLE.org", "x@y.z"}}, func(a *roster.Account) bool {
			return a.Username == "user0005" || a.Username == "user0006"
		}},
		{"Usernames", roster.AccountFilter{Usernames: []string{"USER0001", "user0002", "nobody"}}, func(a *roster.Account) bool {
			return a.Username == "user0001" || a.Username == "user0002"
		}},
		{"QueryName", roster.AccountFilter{Query: "ADAM"}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.Contains(strings.ToLower(a.Name), "adam")
		}},
		{"QueryEmail", roster.AccountFilter{Query: "0042@EX"}, func(a *roster.Account) bool { return a.Username == "user0042" }},
		{"QueryNoEmail", roster.AccountFilter{Query: "example.org", QueryNoEmail: true}, func(*roster.Account) bool { return false }},
		{"QueryWildcardsAreLiteral", roster.AccountFilter{Query: "%_"}, func(*roster.Account) bool { return false }},
		{"CreatedRange", roster.AccountFilter{CreatedAfter: base.Add(10 * time.Hour), CreatedBefore: base.Add(20 * time.Hour)}, func(a *roster.Account) bool {
			return notDeleted(a) && a.CreatedAt.After(base.Add(10*time.Hour)) && a.CreatedAt.Before(base.Add(20*time.Hour))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := usernames(list(t, s, tc.f))
			want := usernames(selectAccounts(as, tc.keep))
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	}
}

// sortedBy orders accounts as the store must for a sort key: by the key, then by id.
func sortedBy(as []*roster.Account, key roster.AccountSort, desc bool) []*roster.Account {
	out := slices.Clone(as)
	k := func(a *roster.Account) string {
		switch key {
		case roster.SortUsername:
			return strings.ToLower(a.Username)
		case roster.SortName:
			return strings.ToLower(a.Name)
		case roster.SortEmail:
			return strings.ToLower(a.Email)
		case roster.SortDisplay:
			if a.Name != "" {
				return strings.ToLower(a.Name)
			}
			return strings.ToLower(a.Username)
		case roster.SortUUID:
			return a.UUID
		case roster.SortCreated:
			return a.CreatedAt.Format("20060102150405.000000")
		case roster.SortLastLogin:
			if a.LastLoginAt.IsZero() {
				return "0"
			}
			return "1" + a.LastLoginAt.Format("20060102150405.000000")
		}
		return fmt.Sprintf("%020d", a.ID)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := k(out[i]), k(out[j])
		if ki != kj {
			return (ki < kj) != desc
		}
		return (out[i].ID < out[j].ID) != desc
	})
	return out
}

func testListPaging(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := selectAccounts(seedList(t, s), func(a *roster.Account) bool { return a.State != roster.StateDeleted })
	for _, key := range []roster.AccountSort{roster.SortID, roster.SortUsername, roster.SortName, roster.SortCreated, roster.SortLastLogin, roster.SortEmail, roster.SortDisplay, roster.SortUUID} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%v", key, desc), func(t *testing.T) {
				want := usernames(sortedBy(as, key, desc))
				var got []string
				f := roster.AccountFilter{Sort: key, Desc: desc, Limit: 7}
				for pages := 0; ; pages++ {
					if pages > 20 {
						t.Fatal("paging does not end")
					}
					p, err := s.ListAccounts(ctx, f)
					mustNil(t, err)
					if len(p.Accounts) > 7 {
						t.Fatalf("page of %d, limit 7", len(p.Accounts))
					}
					got = append(got, usernames(p.Accounts)...)
					if p.NextCursor == "" {
						break
					}
					f.Cursor = p.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Fatalf("pages gave %v\nwant %v", got, want)
				}
			})
		}
	}
	t.Run("CursorOfAnotherSort", func(t *testing.T) {
		p, err := s.ListAccounts(ctx, roster.AccountFilter{Sort: roster.SortName, Limit: 3})
		mustNil(t, err)
		_, err = s.ListAccounts(ctx, roster.AccountFilter{Sort: roster.SortEmail, Limit: 3, Cursor: p.NextCursor})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountFilter{Limit: 3, Cursor: "not a cursor"})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountFilter{Sort: "password"})
		wantCode(t, err, roster.EINVALID)
	})
	t.Run("WritesBetweenPages", func(t *testing.T) {
		// Keyset paging neither repeats nor skips rows when others are inserted meanwhile.
		p, err := s.ListAccounts(ctx, roster.AccountFilter{Sort: roster.SortUsername, Limit: 10})
		mustNil(t, err)
		early := newAccount(900)
		early.Username = "aaa-inserted-before"
		MustCreate(t, s, early)
		rest, err := s.ListAccounts(ctx, roster.AccountFilter{Sort: roster.SortUsername, Limit: 1000, Cursor: p.NextCursor})
		mustNil(t, err)
		all := append(usernames(p.Accounts), usernames(rest.Accounts)...)
		if !slices.Equal(all, usernames(sortedBy(as, roster.SortUsername, false))) {
			t.Fatalf("paging across an insert gave %v", all)
		}
	})
}

func testListOffsetAndTotal(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := selectAccounts(seedList(t, s), func(a *roster.Account) bool { return a.State != roster.StateDeleted })
	p, err := s.ListAccounts(ctx, roster.AccountFilter{Sort: roster.SortUsername, Limit: 5, Offset: 10, WantTotal: true})
	mustNil(t, err)
	if want := usernames(as[10:15]); !slices.Equal(usernames(p.Accounts), want) {
		t.Fatalf("offset page = %v, want %v", usernames(p.Accounts), want)
	}
	if p.Total != len(as) {
		t.Fatalf("Total = %d, want %d", p.Total, len(as))
	}
	p, err = s.ListAccounts(ctx, roster.AccountFilter{Limit: 5})
	mustNil(t, err)
	if p.Total != -1 {
		t.Fatalf("Total = %d without WantTotal, want -1", p.Total)
	}
	var streamed []string
	err = s.StreamAccounts(ctx, roster.AccountFilter{Sort: roster.SortUsername, Offset: 40}, func(a *roster.Account) error {
		streamed = append(streamed, a.Username)
		return nil
	})
	mustNil(t, err)
	if want := usernames(as[40:]); !slices.Equal(streamed, want) {
		t.Fatalf("stream with offset = %v, want %v", streamed, want)
	}
}

func testStreamAccounts(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := seedList(t, s)
	var got []string
	mustNil(t, s.StreamAccounts(ctx, roster.AccountFilter{AnyState: true}, func(a *roster.Account) error {
		got = append(got, a.Username)
		return nil
	}))
	if !slices.Equal(got, usernames(as)) {
		t.Fatalf("stream = %v", got)
	}
	stop := errors.New("stop")
	n := 0
	err := s.StreamAccounts(ctx, roster.AccountFilter{}, func(*roster.Account) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("stream stopped with %v after %d rows, want fn's error after 3", err, n)
	}
	// The pool is not left holding the abandoned rows.
	MustCreate(t, s, newAccount(999))
}
