package core_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

func visibleNames(r *roster.Record) []string {
	var out []string
	for _, a := range r.Attrs() {
		out = append(out, a.Name)
	}
	return out
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	owner := e.user(t, "owner", map[string]any{"name": "Olive Owner", "bio": "about me", "country": "DK",
		"gender": "f", "sysadmin": false, "user_reviewed": true, "website": "owner.org"})
	other := e.user(t, "other", nil)
	staff := e.user(t, "staff", map[string]any{"staff": true})
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	ref := roster.RefID(owner.AccountID)
	get := func(ctx context.Context, opt roster.ReadOptions) *roster.Record {
		t.Helper()
		r, err := e.svc.GetAccount(ctx, ref, opt)
		mustNil(t, err)
		return r
	}
	setPrivacy := func(p string, shared ...string) {
		t.Helper()
		patch := map[string]any{"privacy": p, "shared_fields": shared}
		if shared == nil {
			patch["shared_fields"] = nil
		}
		_, err := e.svc.UpdateAccount(as(owner), ref, patch)
		mustNil(t, err)
	}
	public := []string{"id", "uuid", "username", "privacy", "profile_image_uploaded_at", "profile_image_name"}

	t.Run("PrivateShowsOthersOnlyPublic", func(t *testing.T) {
		setPrivacy("private")
		for _, ctx := range []context.Context{as(other), anonymous()} {
			if got := visibleNames(get(ctx, roster.ReadOptions{})); !slices.Equal(got, public) {
				t.Fatalf("others see %v, want %v", got, public)
			}
		}
	})
	t.Run("AllUsersSharesTheSharedLevel", func(t *testing.T) {
		setPrivacy("all_users")
		r := get(as(other), roster.ReadOptions{})
		for _, name := range []string{"bio", "country", "created", "website", "language_proficiencies"} {
			if !r.Visible(name) {
				t.Errorf("%s hidden under all_users", name)
			}
		}
		for _, name := range []string{"name", "email", "gender", "state", "sysadmin", "user_reviewed", "last_login"} {
			if r.Visible(name) {
				t.Errorf("%s shown to another user under all_users", name)
			}
		}
	})
	t.Run("CustomSharesOneByOne", func(t *testing.T) {
		setPrivacy("custom", "name", "bio")
		r := get(as(other), roster.ReadOptions{})
		if !r.Visible("name") || !r.Visible("bio") || r.Visible("country") || r.Visible("email") {
			t.Fatalf("custom shows %v", visibleNames(r))
		}
		_, err := e.svc.UpdateAccount(as(owner), ref, map[string]any{"shared_fields": []any{"email"}})
		wantCode(t, err, roster.EINVALID) // self-level attributes cannot be shared
	})
	t.Run("SelfSeesSelfLevel", func(t *testing.T) {
		r := get(as(owner), roster.ReadOptions{})
		for _, name := range []string{"email", "gender", "state", "is_active", "name", "country"} {
			if !r.Visible(name) {
				t.Errorf("owner cannot see own %s", name)
			}
		}
		for _, name := range []string{"sysadmin", "user_reviewed", "project_admin", "password", "apikey"} {
			if r.Visible(name) {
				t.Errorf("owner sees staff-only or secret %s", name)
			}
		}
	})
	t.Run("StaffSeesEverythingButSecrets", func(t *testing.T) {
		for _, ctx := range []context.Context{as(staff), as(root)} {
			r := get(ctx, roster.ReadOptions{})
			if v, _ := r.Get("user_reviewed"); v != true {
				t.Errorf("staff: user_reviewed = %v", v)
			}
			if !r.Visible("sysadmin") || !r.Visible("email") || r.Visible("password") || r.Visible("apikey") {
				t.Errorf("staff sees %v", visibleNames(r))
			}
		}
	})
	t.Run("AsOthers", func(t *testing.T) {
		setPrivacy("private")
		for _, ctx := range []context.Context{as(owner), as(staff)} {
			if got := visibleNames(get(ctx, roster.ReadOptions{AsOthers: true})); !slices.Equal(got, public) {
				t.Fatalf("view as others = %v", got)
			}
		}
	})
	t.Run("DefaultsShowWhenUnset", func(t *testing.T) {
		r := get(as(owner), roster.ReadOptions{})
		if v, _ := r.Get("subscribed"); v != true {
			t.Errorf("subscribed default = %v", v)
		}
		if v, _ := r.Get("atlas_preference"); v != "AIA" {
			t.Errorf("atlas_preference default = %v", v)
		}
		if v, ok := r.Get("goals"); !ok || v != nil {
			t.Errorf("unset goals = %v, %v; want visible and nil", v, ok)
		}
	})
	t.Run("ListFiltersOnHiddenFields", func(t *testing.T) {
		// Filters on what the reader can read of no account are refused…
		for _, f := range []roster.AccountFilter{{Fields: []roster.FieldFilter{roster.Filter("sysadmin", roster.Exact, "true")}}, {AnyState: true}, {Sort: "updated"}} {
			_, err := e.svc.ListAccounts(as(other), f, roster.ReadOptions{})
			wantCode(t, err, roster.EFORBIDDEN)
			_, err = e.svc.ListAccounts(as(staff), f, roster.ReadOptions{})
			mustNil(t, err)
		}
		// …those on what it can read of some accounts match only those.
		byEmail := roster.AccountFilter{Fields: []roster.FieldFilter{roster.Filter("email", roster.In, "owner@example.org")}}
		p, err := e.svc.ListAccounts(as(other), byEmail, roster.ReadOptions{})
		mustNil(t, err)
		if len(p.Records) != 0 {
			t.Fatalf("another's email found %d accounts", len(p.Records))
		}
		p, err = e.svc.ListAccounts(as(staff), byEmail, roster.ReadOptions{})
		mustNil(t, err)
		if len(p.Records) != 1 {
			t.Fatalf("staff's email filter found %d accounts", len(p.Records))
		}
		// A substring of an email finds, for a non-staff reader, only the reader: the one
		// account whose email it may read.
		p, err = e.svc.ListAccounts(as(other), roster.AccountFilter{Query: "@example.org"}, roster.ReadOptions{})
		mustNil(t, err)
		if len(p.Records) != 1 || p.Records[0].ID != other.AccountID {
			t.Fatalf("email search by a non-staff reader found %d accounts", len(p.Records))
		}
		p, err = e.svc.ListAccounts(as(staff), roster.AccountFilter{Query: "OWNER@"}, roster.ReadOptions{})
		mustNil(t, err)
		if len(p.Records) != 1 {
			t.Fatalf("email search by staff found %d", len(p.Records))
		}
	})
}

func TestParentalConsent(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"), nil)
	mustNil(t, err)
	defer st.Close()
	c := newClock()
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Now: c.now})
	mustNil(t, err)
	_, err = svc.SetPolicy(operator(), roster.SettingParentalConsentAge, "13")
	mustNil(t, err)
	kid, err := svc.CreateAccount(operator(), map[string]any{"username": "kid", "email": "k@example.org", "privacy": "all_users", "year_of_birth": 2020, "bio": "hi"})
	mustNil(t, err)
	adult, err := svc.CreateAccount(operator(), map[string]any{"username": "adult", "email": "a@example.org", "privacy": "all_users", "year_of_birth": 1980, "bio": "hi"})
	mustNil(t, err)
	viewer := roster.Actor{AccountID: 999, Username: "viewer"}
	r, _ := svc.GetAccount(as(viewer), roster.RefID(kid.ID), roster.ReadOptions{})
	if v, _ := r.Get("privacy"); v != "private" || r.Visible("bio") {
		t.Fatalf("a minor is shown as %v with %v", v, visibleNames(r))
	}
	r, _ = svc.GetAccount(as(viewer), roster.RefID(adult.ID), roster.ReadOptions{})
	if v, _ := r.Get("privacy"); v != "all_users" || !r.Visible("bio") {
		t.Fatalf("an adult is shown as %v", v)
	}
	r, _ = svc.GetAccount(operator(), roster.RefID(kid.ID), roster.ReadOptions{})
	if v, _ := r.Get("requires_parental_consent"); v != true {
		t.Fatalf("requires_parental_consent = %v", v)
	}
}

// Later sort keys are resolved as the first is: each orders by a value only where the
// caller may read it, so a plain user's order reveals nothing of a hidden one.
func TestListSortKeys(t *testing.T) {
	e := newEnv(t)
	shared := map[string]any{"privacy": "custom", "shared_fields": []string{"last_name"}}
	with := func(m map[string]any, last string) map[string]any {
		out := map[string]any{"last_name": last}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	e.user(t, "ann", with(shared, "Zed"))
	e.user(t, "ben", with(map[string]any{"privacy": "custom", "shared_fields": []string{"bio"}}, "Young"))
	e.user(t, "cat", with(shared, "Xu"))
	e.user(t, "dan", with(map[string]any{"privacy": "private"}, "Zzz"))
	vic := e.user(t, "vic", nil)
	// Nobody has a country: the first key ties them all, and last_name decides.
	f := roster.AccountFilter{Sort: "country", Then: []roster.SortBy{{Sort: "last_name", Desc: true}}}
	order := func(ctx context.Context, f roster.AccountFilter) string {
		t.Helper()
		p, err := e.svc.ListAccounts(ctx, f, roster.ReadOptions{})
		mustNil(t, err)
		var names []string
		for _, r := range p.Records {
			names = append(names, r.Username)
		}
		return strings.Join(names, " ")
	}
	if got := order(operator(), f); got != "dan ann ben cat vic" {
		t.Errorf("operator's order = %q", got)
	}
	// vic reads ann's and cat's last names only: ben and dan sort as if they had none,
	// after them, by id.
	if got := order(as(vic), f); got != "ann cat ben dan vic" {
		t.Errorf("a plain user's order = %q", got)
	}
	// Each later key is checked as the first is.
	_, err := e.svc.ListAccounts(as(vic), roster.AccountFilter{Sort: "country", Then: []roster.SortBy{{Sort: "password"}}}, roster.ReadOptions{})
	if wantCode(t, err, roster.EINVALID); problemFields(err) != "sort:invalid_choice" {
		t.Errorf("unknown later key: %s", problemFields(err))
	}
	_, err = e.svc.ListAccounts(as(vic), roster.AccountFilter{Then: []roster.SortBy{{Sort: "updated"}}}, roster.ReadOptions{})
	if wantCode(t, err, roster.EFORBIDDEN); problemFields(err) != "sort:forbidden" {
		t.Errorf("later key vic can read of no account: %s", problemFields(err))
	}
	_, err = e.svc.ListAccounts(operator(), roster.AccountFilter{Then: []roster.SortBy{{Sort: "updated"}}}, roster.ReadOptions{})
	mustNil(t, err)
}
