package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
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
		// Profile values of every type, some absent (read as the default, if any).
		switch i % 4 {
		case 1:
			a.Profile["privacy"] = "all_users"
		case 2:
			a.Profile["privacy"] = "custom"
			if i%3 != 0 {
				a.Profile["shared_fields"] = []any{"bio", "name"}
			} else {
				a.Profile["shared_fields"] = []any{"bio"}
			}
		case 3:
			a.Profile["privacy"] = "private"
		}
		if i%3 != 0 {
			a.Profile["year_of_birth"] = json.Number(fmt.Sprint(1950 + i))
		}
		if i%2 == 0 {
			a.Profile["city"] = []string{"Oslo", "oslo", "Bergen", "Osaka", "ÅLESUND"}[i%5]
		}
		if i%7 != 0 {
			a.Profile["doe_affiliation"] = i%2 == 0
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

func list(t *testing.T, s roster.Store, f roster.AccountSelection) []*roster.Account {
	t.Helper()
	f.Limit = 1000
	p, err := s.ListAccounts(context.Background(), f)
	mustNil(t, err)
	return p.Accounts
}

// schemaAttr returns an attribute of the default schema.
func schemaAttr(name string) *roster.Attribute {
	s, err := roster.LoadSchema()
	if err != nil {
		panic(err)
	}
	a := s.Attr(name)
	if a == nil {
		panic("no attribute " + name)
	}
	return a
}

func match(name string, l roster.Lookup, v any) roster.Match {
	return roster.Match{Attr: schemaAttr(name), Lookup: l, Value: v}
}

// testListFilters: every kind of condition, on columns and on profile values, selects
// what the same rule selects when applied to the accounts in Go.
func testListFilters(t *testing.T, s roster.Store) {
	as := seedList(t, s)
	notDeleted := func(a *roster.Account) bool { return a.State != roster.StateDeleted }
	value := func(a *roster.Account, name string) any { return a.Value(schemaAttr(name)) }
	str := func(a *roster.Account, name string) string { v, _ := value(a, name).(string); return v }
	yob := func(a *roster.Account) (int64, bool) { return roster.AsInt64(value(a, "year_of_birth")) }
	shares := func(a *roster.Account, f string) bool {
		l, _ := value(a, "shared_fields").([]string)
		return slices.Contains(l, f)
	}
	for _, tc := range []struct {
		name string
		f    roster.AccountSelection
		keep func(*roster.Account) bool
	}{
		{"DefaultHidesDeleted", roster.AccountSelection{}, notDeleted},
		{"AnyState", roster.AccountSelection{AnyState: true}, func(*roster.Account) bool { return true }},
		{"States", roster.AccountSelection{States: []roster.State{roster.StatePending, roster.StateDeleted}}, func(a *roster.Account) bool {
			return a.State == roster.StatePending || a.State == roster.StateDeleted
		}},
		{"Never", roster.AccountSelection{Where: roster.Never{}}, func(*roster.Account) bool { return false }},
		{"Sysadmin", roster.AccountSelection{Where: match("sysadmin", roster.Exact, true)}, func(a *roster.Account) bool { return notDeleted(a) && a.Sysadmin }},
		{"NotStaff", roster.AccountSelection{Where: match("staff", roster.Exact, false)}, func(a *roster.Account) bool { return notDeleted(a) && !a.Staff }},
		{"CapabilityExact", roster.AccountSelection{Where: match("project_admin", roster.Exact, true)}, func(a *roster.Account) bool {
			return notDeleted(a) && a.HasCapability("project_admin")
		}},
		{"CapabilityNot", roster.AccountSelection{Where: match("project_admin", roster.Exact, false)}, func(a *roster.Account) bool {
			return notDeleted(a) && !a.HasCapability("project_admin")
		}},
		{"EmailIExact", roster.AccountSelection{Where: match("email", roster.IExact, "USER0003@example.ORG")}, func(a *roster.Account) bool { return a.Username == "user0003" }},
		{"EmailsIIn", roster.AccountSelection{Where: match("email", roster.IIn, []any{"USER0005@example.org", "user0006@EXAMPLE.org", "x@y.z"})}, func(a *roster.Account) bool {
			return a.Username == "user0005" || a.Username == "user0006"
		}},
		{"UsernamesIIn", roster.AccountSelection{Where: match("username", roster.IIn, []any{"USER0001", "user0002", "nobody"})}, func(a *roster.Account) bool {
			return a.Username == "user0001" || a.Username == "user0002"
		}},
		// A prefix of a folded key column is a range of its index: case-blind, with the
		// LIKE wildcards literal, and the last character's successor not included.
		{"EmailIStartsWith", roster.AccountSelection{Where: match("email", roster.IStartsWith, "USER000")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasPrefix(strings.ToLower(a.Email), "user000")
		}},
		{"UsernameIStartsWithWildcard", roster.AccountSelection{Where: match("username", roster.IStartsWith, "user_")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasPrefix(strings.ToLower(a.Username), "user_")
		}},
		{"NameIStartsWith", roster.AccountSelection{Where: match("name", roster.IStartsWith, "a")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasPrefix(strings.ToLower(a.Name), "a")
		}},
		{"InEmpty", roster.AccountSelection{Where: match("username", roster.In, []any{})}, func(*roster.Account) bool { return false }},
		{"NameIContains", roster.AccountSelection{Where: match("name", roster.IContains, "ADAM")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.Contains(strings.ToLower(a.Name), "adam")
		}},
		{"WildcardsAreLiteral", roster.AccountSelection{Where: match("name", roster.IContains, "%_")}, func(*roster.Account) bool { return false }},
		{"NameIsNull", roster.AccountSelection{Where: match("name", roster.IsNull, true)}, func(a *roster.Account) bool { return notDeleted(a) && a.Name == "" }},
		{"LastLoginIsNull", roster.AccountSelection{Where: match("last_login", roster.IsNull, true)}, func(a *roster.Account) bool { return notDeleted(a) && a.LastLoginAt.IsZero() }},
		{"CreatedRange", roster.AccountSelection{Where: roster.And(match("created", roster.GT, base.Add(10*time.Hour)), match("created", roster.LT, base.Add(20*time.Hour)))}, func(a *roster.Account) bool {
			return notDeleted(a) && a.CreatedAt.After(base.Add(10*time.Hour)) && a.CreatedAt.Before(base.Add(20*time.Hour))
		}},
		{"IsAccountOr", roster.AccountSelection{Where: roster.Or(roster.IsAccount{ID: as[2].ID}, roster.IsAccount{ID: as[4].ID})}, func(a *roster.Account) bool {
			return a.ID == as[2].ID || a.ID == as[4].ID
		}},
		{"ProfileDefault", roster.AccountSelection{Where: match("privacy", roster.Exact, "private")}, func(a *roster.Account) bool {
			return notDeleted(a) && str(a, "privacy") == "private" // absent reads as the default, private
		}},
		{"ProfileHolds", roster.AccountSelection{Where: roster.Holds{Attr: schemaAttr("shared_fields"), Value: "name"}}, func(a *roster.Account) bool {
			return notDeleted(a) && shares(a, "name")
		}},
		{"ProfileNumberIsNull", roster.AccountSelection{Where: match("year_of_birth", roster.IsNull, true)}, func(a *roster.Account) bool {
			_, ok := yob(a)
			return notDeleted(a) && !ok
		}},
		{"ProfileNumberGTE", roster.AccountSelection{Where: match("year_of_birth", roster.GTE, int64(1980))}, func(a *roster.Account) bool {
			y, ok := yob(a)
			return notDeleted(a) && ok && y >= 1980
		}},
		{"ProfileTextExact", roster.AccountSelection{Where: match("city", roster.Exact, "Oslo")}, func(a *roster.Account) bool { return notDeleted(a) && str(a, "city") == "Oslo" }},
		{"ProfileTextIExact", roster.AccountSelection{Where: match("city", roster.IExact, "OSLO")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.EqualFold(str(a, "city"), "oslo")
		}},
		{"ProfileTextStartsWith", roster.AccountSelection{Where: match("city", roster.StartsWith, "Os")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasPrefix(str(a, "city"), "Os")
		}},
		{"ProfileTextEndsWith", roster.AccountSelection{Where: match("city", roster.EndsWith, "ka")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasSuffix(str(a, "city"), "ka")
		}},
		{"ProfileTextIStartsWith", roster.AccountSelection{Where: match("city", roster.IStartsWith, "OS")}, func(a *roster.Account) bool {
			return notDeleted(a) && strings.HasPrefix(strings.ToLower(str(a, "city")), "os")
		}},
		{"ProfileBool", roster.AccountSelection{Where: match("doe_affiliation", roster.Exact, true)}, func(a *roster.Account) bool {
			return notDeleted(a) && value(a, "doe_affiliation") == true
		}},
		{"ProfileBoolIsNull", roster.AccountSelection{Where: match("doe_affiliation", roster.IsNull, true)}, func(a *roster.Account) bool {
			return notDeleted(a) && value(a, "doe_affiliation") == nil
		}},
		{"NotAndOr", roster.AccountSelection{Where: roster.And(roster.Negate(match("privacy", roster.Exact, "private")),
			roster.Or(match("privacy", roster.Exact, "all_users"), roster.Holds{Attr: schemaAttr("shared_fields"), Value: "name"}))}, func(a *roster.Account) bool {
			p := str(a, "privacy")
			return notDeleted(a) && p != "private" && (p == "all_users" || shares(a, "name"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := usernames(list(t, s, tc.f))
			want := usernames(selectAccounts(as, tc.keep))
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			n, err := s.CountAccounts(context.Background(), tc.f)
			mustNil(t, err)
			if n != len(want) {
				t.Fatalf("CountAccounts = %d, want %d", n, len(want))
			}
		})
	}
}

// keyOf is an account's sort key as the store compares it, as text that sorts alike.
func keyOf(key roster.AccountSort) func(*roster.Account) string {
	return func(a *roster.Account) string {
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
}

// orderKey is one key of an order as the test computes it.
type orderKey struct {
	key  func(*roster.Account) string
	desc bool
}

// sortedByKeys orders accounts as the store must for several keys: by each in turn,
// then by id.
func sortedByKeys(as []*roster.Account, idDesc bool, keys ...orderKey) []*roster.Account {
	out := slices.Clone(as)
	sort.SliceStable(out, func(i, j int) bool {
		for _, k := range keys {
			if ki, kj := k.key(out[i]), k.key(out[j]); ki != kj {
				return (ki < kj) != k.desc
			}
		}
		return (out[i].ID < out[j].ID) != idDesc
	})
	return out
}

// sortedBy orders accounts as the store must for a sort key: by the key, then by id.
func sortedBy(as []*roster.Account, key roster.AccountSort, desc bool) []*roster.Account {
	return sortedByKeys(as, desc, orderKey{keyOf(key), desc})
}

func notDeleted(a *roster.Account) bool { return a.State != roster.StateDeleted }

// nameVisible is where a plain caller may read the name of seedList's accounts (their
// privacy), and nameSeen the same rule in Go.
func nameVisible() roster.Cond {
	return roster.Or(match("privacy", roster.Exact, "all_users"),
		roster.And(match("privacy", roster.Exact, "custom"), roster.Holds{Attr: schemaAttr("shared_fields"), Value: "name"}))
}

func nameSeen(a *roster.Account) bool {
	p, _ := a.Value(schemaAttr("privacy")).(string)
	l, _ := a.Value(schemaAttr("shared_fields")).([]string)
	return p == "all_users" || p == "custom" && slices.Contains(l, "name")
}

func testListPaging(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := selectAccounts(seedList(t, s), notDeleted)
	for _, key := range []roster.AccountSort{roster.SortID, roster.SortUsername, roster.SortName, roster.SortCreated, roster.SortLastLogin, roster.SortEmail, roster.SortDisplay, roster.SortUUID} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%v", key, desc), func(t *testing.T) {
				want := usernames(sortedBy(as, key, desc))
				var got []string
				f := roster.AccountSelection{Sort: key, Desc: desc, Limit: 7}
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
	// Where the caller may not read the sort key, a row sorts as if the key were empty:
	// the order, and the cursors, reveal nothing of it.
	visible := nameVisible()
	for _, key := range []roster.AccountSort{roster.SortName, roster.SortDisplay, roster.SortCreated} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("hidden/%s/desc=%v", key, desc), func(t *testing.T) {
				shown := make([]*roster.Account, len(as))
				for i, a := range as {
					c := *a
					if !nameSeen(a) {
						c.Name, c.CreatedAt = "", time.Time{}
					}
					shown[i] = &c
				}
				want := usernames(sortedBy(shown, key, desc))
				var got []string
				f := roster.AccountSelection{Sort: key, Desc: desc, Limit: 6, SortVisible: visible}
				for pages := 0; ; pages++ {
					if pages > 20 {
						t.Fatal("paging does not end")
					}
					p, err := s.ListAccounts(ctx, f)
					mustNil(t, err)
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
		p, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Limit: 3})
		mustNil(t, err)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortEmail, Limit: 3, Cursor: p.NextCursor})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Limit: 3, Cursor: "not a cursor"})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Sort: "password", Limit: 5})
		wantCode(t, err, roster.EINVALID)
	})
	t.Run("WritesBetweenPages", func(t *testing.T) {
		// Keyset paging neither repeats nor skips rows when others are inserted meanwhile.
		p, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortUsername, Limit: 10})
		mustNil(t, err)
		early := newAccount(900)
		early.Username = "aaa-inserted-before"
		MustCreate(t, s, early)
		rest, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortUsername, Limit: 1000, Cursor: p.NextCursor})
		mustNil(t, err)
		all := append(usernames(p.Accounts), usernames(rest.Accounts)...)
		if !slices.Equal(all, usernames(sortedBy(as, roster.SortUsername, false))) {
			t.Fatalf("paging across an insert gave %v", all)
		}
	})
}

// testListSortKeys: later keys, each in its own direction, order what the keys before
// them leave tied; id breaks the ties left; a later key the caller may not read of some
// rows sorts them as if it were empty; such lists page by offset, and refuse a cursor.
func testListSortKeys(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := selectAccounts(seedList(t, s), notDeleted)
	by := func(k roster.AccountSort, desc bool) orderKey { return orderKey{keyOf(k), desc} }
	yob, doe := schemaAttr("year_of_birth"), schemaAttr("doe_affiliation")
	yobKey := func(a *roster.Account) string { // missing sorts least
		if n, ok := a.Profile["year_of_birth"].(json.Number); ok {
			return "1" + n.String()
		}
		return "0"
	}
	doeKey := func(a *roster.Account) string { // missing sorts as false
		b, _ := a.Profile["doe_affiliation"].(bool)
		return strconv.FormatBool(b)
	}
	// Where a plain caller may not read a name, it sorts as if empty.
	shown := make([]*roster.Account, len(as))
	for i, a := range as {
		c := *a
		if !nameSeen(a) {
			c.Name = ""
		}
		shown[i] = &c
	}
	cases := []struct {
		name   string
		f      roster.AccountSelection
		as     []*roster.Account // as the caller sees them
		idDesc bool
		keys   []orderKey
	}{
		{"-name,email", roster.AccountSelection{Sort: roster.SortName, Desc: true, Then: []roster.SortKey{{Sort: roster.SortEmail}}},
			as, true, []orderKey{by(roster.SortName, true), by(roster.SortEmail, false)}},
		{"-year_of_birth,last_login,-name", roster.AccountSelection{SortAttr: yob, Desc: true,
			Then: []roster.SortKey{{Sort: roster.SortLastLogin}, {Sort: roster.SortName, Desc: true}}},
			as, true, []orderKey{{yobKey, true}, by(roster.SortLastLogin, false), by(roster.SortName, true)}},
		{"doe_affiliation,-name,year_of_birth", roster.AccountSelection{SortAttr: doe,
			Then: []roster.SortKey{{Sort: roster.SortName, Desc: true}, {Attr: yob}}},
			as, false, []orderKey{{doeKey, false}, by(roster.SortName, true), {yobKey, false}}},
		{"name,-id,email", roster.AccountSelection{Sort: roster.SortName,
			Then: []roster.SortKey{{Sort: roster.SortID, Desc: true}, {Sort: roster.SortEmail}}},
			as, true, []orderKey{by(roster.SortName, false)}},
		{"last_login,-name(hidden)", roster.AccountSelection{Sort: roster.SortLastLogin,
			Then: []roster.SortKey{{Sort: roster.SortName, Desc: true, Visible: nameVisible()}}},
			shown, false, []orderKey{by(roster.SortLastLogin, false), by(roster.SortName, true)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := usernames(sortedByKeys(c.as, c.idDesc, c.keys...))
			if slices.Equal(want, usernames(sortedByKeys(c.as, c.f.Desc, c.keys[0]))) {
				t.Fatal("the later keys decide nothing here: a weak case")
			}
			var got []string
			f := c.f
			f.Limit = 7
			for ; f.Offset < len(as)+7; f.Offset += 7 {
				p, err := s.ListAccounts(ctx, f)
				mustNil(t, err)
				if p.NextCursor != "" {
					t.Fatal("a list ordered by several keys issued a cursor")
				}
				got = append(got, usernames(p.Accounts)...)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages gave %v\nwant %v", got, want)
			}
			got = got[:0]
			mustNil(t, s.StreamAccounts(ctx, c.f, func(a *roster.Account) error {
				got = append(got, a.Username)
				return nil
			}))
			if !slices.Equal(got, want) {
				t.Fatalf("stream gave %v\nwant %v", got, want)
			}
		})
	}
	// Unmasked, the hidden case orders otherwise: the mask is what the order follows.
	if slices.Equal(usernames(sortedByKeys(as, false, by(roster.SortLastLogin, false), by(roster.SortName, true))),
		usernames(sortedByKeys(shown, false, by(roster.SortLastLogin, false), by(roster.SortName, true)))) {
		t.Fatal("hiding names changes nothing here: a weak case")
	}
	t.Run("Refusals", func(t *testing.T) {
		p, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Limit: 3})
		mustNil(t, err)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Then: []roster.SortKey{{Sort: roster.SortEmail}}, Limit: 3, Cursor: p.NextCursor})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Then: []roster.SortKey{{Sort: roster.SortID, Desc: true}}, Limit: 3, Cursor: p.NextCursor})
		wantCode(t, err, roster.EINVALID)
		_, err = s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortName, Then: []roster.SortKey{{Sort: "password"}}, Limit: 3})
		wantCode(t, err, roster.EINVALID)
	})
}

func testListOffsetAndTotal(t *testing.T, s roster.Store) {
	ctx := context.Background()
	as := selectAccounts(seedList(t, s), notDeleted)
	p, err := s.ListAccounts(ctx, roster.AccountSelection{Sort: roster.SortUsername, Limit: 5, Offset: 10, WantTotal: true})
	mustNil(t, err)
	if want := usernames(as[10:15]); !slices.Equal(usernames(p.Accounts), want) {
		t.Fatalf("offset page = %v, want %v", usernames(p.Accounts), want)
	}
	if p.Total != len(as) {
		t.Fatalf("Total = %d, want %d", p.Total, len(as))
	}
	p, err = s.ListAccounts(ctx, roster.AccountSelection{Limit: 5})
	mustNil(t, err)
	if p.Total != -1 {
		t.Fatalf("Total = %d without WantTotal, want -1", p.Total)
	}
	var streamed []string
	err = s.StreamAccounts(ctx, roster.AccountSelection{Sort: roster.SortUsername, Offset: 40}, func(a *roster.Account) error {
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
	mustNil(t, s.StreamAccounts(ctx, roster.AccountSelection{AnyState: true}, func(a *roster.Account) error {
		got = append(got, a.Username)
		return nil
	}))
	if !slices.Equal(got, usernames(as)) {
		t.Fatalf("stream = %v", got)
	}
	stop := errors.New("stop")
	n := 0
	err := s.StreamAccounts(ctx, roster.AccountSelection{}, func(*roster.Account) error {
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
