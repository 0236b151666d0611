package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

func TestCreateAccount(t *testing.T) {
	e := newEnv(t)
	t.Run("OK", func(t *testing.T) {
		rec, err := e.svc.CreateAccount(operator(), map[string]any{
			"username": "Alice", "email": "alice@example.org", "name": "Alice Smith", "password": "correct horse",
			"website": "www.alice.org", "year_of_birth": "1990", "language_proficiencies": []any{"fr", "en"},
		})
		mustNil(t, err)
		for k, want := range map[string]any{"username": "Alice", "first_name": "Alice", "last_name": "Smith",
			"website": "http://www.alice.org", "year_of_birth": int64(1990), "state": "active", "privacy": "private"} {
			if got, _ := rec.Get(k); got != want {
				t.Errorf("%s = %#v, want %#v", k, got, want)
			}
		}
		if got, _ := rec.Get("language_proficiencies"); !slices.Equal(got.([]string), []string{"en", "fr"}) {
			t.Errorf("language_proficiencies = %v", got)
		}
		if rec.Visible("password") || rec.Visible("apikey") {
			t.Error("a secret attribute is visible")
		}
		if !roster.IsUUID(rec.UUID) || rec.ID == 0 {
			t.Errorf("id %d uuid %q", rec.ID, rec.UUID)
		}
		es := auditLog(t, e)
		last := es[len(es)-1]
		if last.Action != "account.create" || last.ActorName != "(operator)" || last.Via != roster.ViaCLI || last.TargetName != "Alice" {
			t.Fatalf("audit entry %+v", last)
		}
		fields := map[string]roster.Change{}
		for _, c := range last.Changes {
			fields[c.Field] = c
		}
		if fields["email"].New != "alice@example.org" || !fields["password"].Redacted || fields["password"].New != nil {
			t.Fatalf("audit changes %+v", last.Changes)
		}
	})
	t.Run("ErrEveryProblemAtOnce", func(t *testing.T) {
		before := len(auditLog(t, e))
		_, err := e.svc.CreateAccount(operator(), map[string]any{
			"username": "12345", "email": "not-an-email", "password": "short", "country": "XY", "website": strings.Repeat("w", 201) + ".org",
			"gender": "x", "year_of_birth": "nineteen", "nonsense": 1, "id": 5,
		})
		wantCode(t, err, roster.EINVALID)
		if got := problemFields(err); got != "country:invalid_choice email:invalid_format gender:invalid_choice id:read_only nonsense:unknown_field password:too_short username:invalid_format website:too_long year_of_birth:invalid_type" {
			t.Fatalf("problems = %s", got)
		}
		_, err = e.svc.CreateAccount(operator(), map[string]any{"name": "No Login"})
		wantCode(t, err, roster.EINVALID)
		if got := problemFields(err); got != "email:required username:required" {
			t.Fatalf("missing required: %s", got)
		}
		if n := len(auditLog(t, e)); n != before {
			t.Fatal("a refused create wrote an audit entry")
		}
	})
	t.Run("ErrDuplicateUsernameAndEmail", func(t *testing.T) {
		_, err := e.svc.CreateAccount(operator(), map[string]any{"username": "ALICE", "email": "Alice@Example.org"})
		wantCode(t, err, roster.ECONFLICT)
		if got := problemFields(err); got != "username:taken email:taken" {
			t.Fatalf("problems = %s", got)
		}
	})
	t.Run("ErrNotSysadmin", func(t *testing.T) {
		bob := e.user(t, "bob", nil)
		_, err := e.svc.CreateAccount(as(bob), map[string]any{"username": "carol", "email": "c@example.org"})
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = e.svc.CreateAccount(anonymous(), map[string]any{"username": "carol", "email": "c@example.org"})
		wantCode(t, err, roster.EUNAUTHENTICATED)
		root := e.user(t, "root", map[string]any{"sysadmin": true})
		root.ReadOnly = true
		_, err = e.svc.CreateAccount(as(root), map[string]any{"username": "carol", "email": "c@example.org"})
		wantCode(t, err, roster.EFORBIDDEN)
	})
}

func TestUpdateAccount(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", map[string]any{"name": "Alice Smith"})
	bob := e.user(t, "bob", nil)
	staff := e.user(t, "steve", map[string]any{"staff": true})
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	ctx := context.Background()

	t.Run("SelfProfile", func(t *testing.T) {
		rec, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"bio": "Hi", "country": "DK", "orcid": "0000-0002-2092-4791"})
		mustNil(t, err)
		if v, _ := rec.Get("bio"); v != "Hi" {
			t.Fatalf("bio = %v", v)
		}
		a, _ := e.store.GetAccount(ctx, roster.RefID(alice.AccountID))
		if a.Profile["country"] != "DK" || a.Version != 2 {
			t.Fatalf("stored %+v", a)
		}
	})
	t.Run("NameRule", func(t *testing.T) {
		check := func(patch map[string]any, name, first, last string) {
			t.Helper()
			rec, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), patch)
			mustNil(t, err)
			n, _ := rec.Get("name")
			f, _ := rec.Get("first_name")
			l, _ := rec.Get("last_name")
			if n != name || f != first || l != last {
				t.Fatalf("after %v: name=%q first=%q last=%q; want %q %q %q", patch, n, f, l, name, first, last)
			}
		}
		check(map[string]any{"name": "Mary Ann Jones"}, "Mary Ann Jones", "Mary Ann", "Jones")
		check(map[string]any{"last_name": "Smith"}, "Mary Ann Smith", "Mary Ann", "Smith")
		check(map[string]any{"first_name": "Maria", "last_name": "de la Cruz"}, "Maria de la Cruz", "Maria", "de la Cruz")
		check(map[string]any{"name": "Cher"}, "Cher", "Cher", "")
		check(map[string]any{"name": "M. de la Cruz", "first_name": "M.", "last_name": "de la Cruz"}, "M. de la Cruz", "M.", "de la Cruz")
	})
	t.Run("NoChangeNoAudit", func(t *testing.T) {
		n := len(auditLog(t, e))
		_, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"bio": "Hi"})
		mustNil(t, err)
		if len(auditLog(t, e)) != n {
			t.Fatal("an update that changes nothing wrote an audit entry")
		}
	})
	t.Run("AuditOldAndNew", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"bio": "Hello", "country": nil})
		mustNil(t, err)
		es := auditLog(t, e)
		last := es[len(es)-1]
		if last.Action != "account.update" || last.ActorID != alice.AccountID || len(last.Changes) != 2 ||
			last.Changes[0].Field != "bio" || last.Changes[0].Old != "Hi" || last.Changes[0].New != "Hello" ||
			last.Changes[1].Field != "country" || last.Changes[1].Old != "DK" || last.Changes[1].New != nil {
			t.Fatalf("audit %+v", last)
		}
	})
	t.Run("ErrOtherAccount", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(bob), roster.RefID(alice.AccountID), map[string]any{"bio": "pwned"})
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = e.svc.UpdateAccount(as(staff), roster.RefID(alice.AccountID), map[string]any{"bio": "pwned"})
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = e.svc.UpdateAccount(as(root), roster.RefID(alice.AccountID), map[string]any{"bio": "by root"})
		mustNil(t, err)
	})
	t.Run("ErrSysadminFields", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"sysadmin": true, "username": "queen", "project_admin": true, "bio": "x"})
		wantCode(t, err, roster.EFORBIDDEN)
		if got := problemFields(err); got != "project_admin:forbidden sysadmin:forbidden username:forbidden" {
			t.Fatalf("problems = %s", got)
		}
		a, _ := e.store.GetAccount(ctx, roster.RefID(alice.AccountID))
		if a.Sysadmin || a.Username != "alice" || a.Profile["bio"] == "x" {
			t.Fatal("a refused patch changed something")
		}
	})
	t.Run("ErrReadOnly", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"created": "2020-01-01T00:00:00Z", "is_active": false, "uuid": "x"})
		wantCode(t, err, roster.EINVALID)
		if got := problemFields(err); got != "created:read_only is_active:read_only uuid:read_only" {
			t.Fatalf("problems = %s", got)
		}
	})
	t.Run("ErrEmailTaken", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(alice), roster.RefID(alice.AccountID), map[string]any{"email": "BOB@example.org"})
		wantCode(t, err, roster.ECONFLICT)
		if got := problemFields(err); got != "email:taken" {
			t.Fatalf("problems = %s", got)
		}
	})
	t.Run("SysadminGrantsCapabilities", func(t *testing.T) {
		rec, err := e.svc.UpdateAccount(as(root), roster.AccountRef{Username: "bob"}, map[string]any{"project_admin": true, "staff": true})
		mustNil(t, err)
		if v, _ := rec.Get("project_admin"); v != true {
			t.Fatal("capability not granted")
		}
		a, _ := e.store.GetAccount(ctx, roster.RefID(bob.AccountID))
		if !a.Staff || !a.HasCapability("project_admin") {
			t.Fatalf("stored %+v", a)
		}
	})
	t.Run("LastSysadmin", func(t *testing.T) {
		_, err := e.svc.UpdateAccount(as(root), roster.RefID(root.AccountID), map[string]any{"sysadmin": false})
		wantCode(t, err, roster.ECONFLICT)
		_, err = e.svc.SetState(as(root), roster.RefID(root.AccountID), roster.StateDeactivated, roster.WriteOptions{})
		wantCode(t, err, roster.ECONFLICT)
		other := e.user(t, "root2", map[string]any{"sysadmin": true})
		_, err = e.svc.UpdateAccount(as(root), roster.RefID(root.AccountID), map[string]any{"sysadmin": false})
		mustNil(t, err)
		_, err = e.svc.UpdateAccount(as(other), roster.RefID(other.AccountID), map[string]any{"sysadmin": false})
		wantCode(t, err, roster.ECONFLICT)
	})
}

func TestStateChanges(t *testing.T) {
	e := newEnv(t)
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	alice := e.user(t, "alice", nil)
	key, err := e.svc.CreateAPIKey(as(alice), roster.RefID(alice.AccountID), coreKey("laptop"))
	mustNil(t, err)
	sess, err := e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "password-alice"}, client)
	mustNil(t, err)

	rec, err := e.svc.SetState(as(root), roster.AccountRef{Username: "alice"}, roster.StateDeactivated, roster.WriteOptions{})
	mustNil(t, err)
	if v, _ := rec.Get("state"); v != "deactivated" {
		t.Fatalf("state = %v", v)
	}
	if v, _ := rec.Get("is_active"); v != false {
		t.Fatal("is_active still true")
	}
	_, err = e.svc.AuthenticateKey(context.Background(), key.Secret, client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
	_, err = e.svc.AuthenticateSession(context.Background(), sess.Token, client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
	_, err = e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "password-alice"}, client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
	es := auditLog(t, e)
	if last := es[len(es)-1]; last.Action != "account.deactivate" {
		t.Fatalf("last audit action %q", last.Action)
	}

	_, err = e.svc.SetState(as(alice), roster.RefID(alice.AccountID), roster.StateActive, roster.WriteOptions{})
	wantCode(t, err, roster.EFORBIDDEN)
	_, err = e.svc.SetState(as(root), roster.RefID(alice.AccountID), roster.StateActive, roster.WriteOptions{})
	mustNil(t, err)
	_, err = e.svc.AuthenticateKey(context.Background(), key.Secret, client)
	mustNil(t, err)

	// Deleted accounts are gone for everyone but staff.
	bob := e.user(t, "bob", nil)
	_, err = e.svc.SetState(as(root), roster.RefID(alice.AccountID), roster.StateDeleted, roster.WriteOptions{})
	mustNil(t, err)
	_, err = e.svc.GetAccount(as(bob), roster.AccountRef{Username: "alice"}, roster.ReadOptions{})
	wantCode(t, err, roster.ENOTFOUND)
	rec, err = e.svc.GetAccount(as(root), roster.AccountRef{Username: "alice"}, roster.ReadOptions{})
	mustNil(t, err)
	if v, _ := rec.Get("state"); v != "deleted" {
		t.Fatalf("state = %v", v)
	}
	p, err := e.svc.ListAccounts(as(bob), roster.AccountFilter{}, roster.ReadOptions{})
	mustNil(t, err)
	for _, r := range p.Records {
		if r.Username == "alice" {
			t.Fatal("a deleted account is listed")
		}
	}
	_, err = e.svc.CreateAccount(as(root), map[string]any{"username": "alice", "email": "new@example.org"})
	wantCode(t, err, roster.ECONFLICT) // a deleted account keeps its username
}

func TestMergeAccount(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", map[string]any{"info": map[string]any{"avatar": "a.png", "container": "user_1", "extra": map[string]any{"x": 1, "y": 2}}})
	ref := roster.RefID(alice.AccountID)
	rec, err := e.svc.MergeAccount(as(alice), ref, map[string]any{"info": map[string]any{"avatar": nil, "extra": map[string]any{"y": 3}, "new": "n"}}, roster.WriteOptions{})
	mustNil(t, err)
	info, _ := rec.Get("info")
	got, _ := json.Marshal(info)
	if string(got) != `{"container":"user_1","extra":{"x":1,"y":3},"new":"n"}` {
		t.Fatalf("merged info = %s", got)
	}
	rec, err = e.svc.UpdateAccount(as(alice), ref, map[string]any{"info": map[string]any{"only": true}})
	mustNil(t, err)
	info, _ = rec.Get("info")
	if got, _ := json.Marshal(info); string(got) != `{"only":true}` {
		t.Fatalf("replaced info = %s", got)
	}
}

// TestCountryClearsUSState: a US state stays only with the US; other changes keep it.
// Social links merge by platform and are kept in one form.
func TestCountryClearsUSState(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", map[string]any{"country": "US", "region": "MA", "social_links": map[string]any{"facebook": "alice"}})
	ref := roster.RefID(alice.AccountID)
	rec, err := e.svc.MergeAccount(as(alice), ref, map[string]any{"bio": "b", "social_links": map[string]any{"x": "https://x.com/Alice/", "facebook": nil}}, roster.WriteOptions{})
	mustNil(t, err)
	if v, _ := rec.Get("region"); v != "MA" {
		t.Fatalf("region %v after another change", v)
	}
	if v, _ := rec.Get("social_links"); fmt.Sprint(v) != "map[x:https://www.x.com/Alice]" {
		t.Fatalf("social_links %v", v)
	}
	rec, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"country": "US"}, roster.WriteOptions{})
	mustNil(t, err)
	if v, _ := rec.Get("region"); v != "MA" {
		t.Fatalf("region %v with the country still US", v)
	}
	rec, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"country": "CA", "region": "NY"}, roster.WriteOptions{})
	mustNil(t, err)
	if v, _ := rec.Get("region"); v != nil {
		t.Fatalf("region %v with the country CA", v)
	}
	entries, err := e.svc.ListAudit(operator(), roster.AuditFilter{TargetType: "account", TargetID: alice.AccountID, Limit: 100})
	mustNil(t, err)
	if got := fmt.Sprint(entries[len(entries)-1].Changes); !strings.Contains(got, "region") {
		t.Fatalf("the audit entry does not say the region went: %s", got)
	}
}
