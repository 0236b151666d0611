package core_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

// engines runs fn against a service over SQLite, and over PostgreSQL when
// ROSTER_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, e *env)) { enginesWith(t, core.Config{}, fn) }

// enginesWith is engines with a service configured by cfg.
func enginesWith(t *testing.T, cfg core.Config, fn func(t *testing.T, e *env)) {
	open := map[string]func(t *testing.T) roster.Store{
		"sqlite": func(t *testing.T) roster.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
			mustNil(t, err)
			return st
		},
		"postgres": func(t *testing.T) roster.Store { return pgtest.Open(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := open[name](t)
			t.Cleanup(func() { st.Close() })
			c := newClock()
			cfg.PasswordParams, cfg.Now = secret.TestParams, c.now
			svc, err := core.New(st, cfg)
			mustNil(t, err)
			t.Cleanup(svc.Quiesce)
			fn(t, &env{svc: svc, store: st, clock: c})
		})
	}
}

func login(e *env, name, password, ip, device string) (*roster.SessionInfo, error) {
	return e.svc.Login(anonymous(), roster.Credentials{Login: name, Password: password, DeviceToken: device}, roster.Client{IP: ip})
}

// TestLoginThrottle: guessing is slowed per account and address, per address and per
// account, while the owner's own browser keeps its own budget; an account's two names
// share one budget.
func TestLoginThrottle(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.user(t, "alice", nil)
		const attacker = "203.0.113.66"
		for i := 0; i < 5; i++ {
			_, err := login(e, "alice", "wrong", attacker, "")
			if re := wantCode(t, err, roster.EUNAUTHENTICATED); re.Message != "Invalid username or password." {
				t.Fatalf("message %q", re.Message)
			}
		}
		_, err := login(e, "alice", "wrong", attacker, "")
		wantCode(t, err, roster.ETOOMANY)
		_, err = login(e, "alice", "password-alice", attacker, "")
		wantCode(t, err, roster.ETOOMANY)

		// Six failures from one address do not keep the owner out elsewhere.
		s, err := login(e, "alice", "password-alice", "198.51.100.7", "")
		mustNil(t, err)
		if s.DeviceToken == "" {
			t.Fatal("a first sign-in from a browser got no device token")
		}
		device := s.DeviceToken

		// A spread-out attack exhausts the account's budget for unknown clients…
		for i := 0; i < 50; i++ {
			_, err := login(e, "alice", "wrong", fmt.Sprintf("192.0.2.%d", i), "")
			if code := roster.ErrorCode(err); code != roster.EUNAUTHENTICATED && code != roster.ETOOMANY {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		_, err = login(e, "alice", "password-alice", "198.51.100.200", "")
		wantCode(t, err, roster.ETOOMANY)
		// …but the owner's browser still signs in, from any address, the attacker's too.
		again, err := login(e, "alice", "password-alice", attacker, device)
		mustNil(t, err)
		if again.DeviceToken != "" {
			t.Fatal("a known browser was given a new device token")
		}
		// A device token is worth nothing for another account.
		e.user(t, "mallory", nil)
		_, err = login(e, "alice", "password-alice", "198.51.100.201", "not-a-device")
		wantCode(t, err, roster.ETOOMANY)

		// A known browser has five tries of its own.
		for i := 0; i < 5; i++ {
			_, err := login(e, "alice", "wrong", "198.51.100.7", device)
			wantCode(t, err, roster.EUNAUTHENTICATED)
		}
		_, err = login(e, "alice", "wrong", "198.51.100.7", device)
		wantCode(t, err, roster.ETOOMANY)
		_, err = login(e, "alice", "password-alice", "198.51.100.7", device)
		wantCode(t, err, roster.ETOOMANY)

		// The username and the email address share one budget.
		e.user(t, "bob", nil)
		const shared = "203.0.113.9"
		for i, name := range []string{"bob", "BOB@example.org", "bob", "bob@example.org", "Bob"} {
			_, err := login(e, name, "wrong", shared, "")
			if code := roster.ErrorCode(err); code != roster.EUNAUTHENTICATED {
				t.Fatalf("attempt %d as %q: %v", i, name, err)
			}
		}
		_, err = login(e, "bob", "wrong", shared, "")
		wantCode(t, err, roster.ETOOMANY)
		_, err = login(e, "bob@example.org", "password-bob", shared, "")
		wantCode(t, err, roster.ETOOMANY)

		// One address trying many names is slowed down too; unknown names count alike.
		const sprayer = "203.0.113.77"
		for i := 0; i < 20; i++ {
			_, err := login(e, fmt.Sprintf("nobody%d", i), "x", sprayer, "")
			if re := wantCode(t, err, roster.EUNAUTHENTICATED); re.Message != "Invalid username or password." {
				t.Fatalf("message %q", re.Message)
			}
		}
		_, err = login(e, "nobody-else", "x", sprayer, "")
		wantCode(t, err, roster.ETOOMANY)
		_, err = login(e, "mallory", "password-mallory", sprayer, "")
		wantCode(t, err, roster.ETOOMANY)

		// Blocks end.
		e.clock.advance(16 * time.Minute)
		_, err = login(e, "alice", "password-alice", "198.51.100.200", "")
		mustNil(t, err)
		_, err = login(e, "mallory", "password-mallory", sprayer, "")
		mustNil(t, err)
	})
}

// TestPasswordChangeEndsSessions: a new password ends the sessions the old one opened
// (but the one that changed it) and forgets the account's known browsers.
func TestPasswordChangeEndsSessions(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		alice := e.user(t, "alice", nil)
		root := e.user(t, "root", map[string]any{"sysadmin": true})
		signIn := func(password string) *roster.SessionInfo {
			t.Helper()
			s, err := login(e, "alice", password, "198.51.100.7", "")
			mustNil(t, err)
			return s
		}
		live := func(s *roster.SessionInfo) bool {
			_, err := e.svc.AuthenticateSession(anonymous(), s.Token, client)
			return err == nil
		}
		here, there := signIn("password-alice"), signIn("password-alice")
		self, err := e.svc.AuthenticateSession(anonymous(), here.Token, client)
		mustNil(t, err)
		mustNil(t, e.svc.SetPassword(as(self), roster.RefID(alice.AccountID), "a new password", "password-alice"))
		if !live(here) || live(there) {
			t.Fatalf("after the owner's change: this session live=%v, the other live=%v; want true, false", live(here), live(there))
		}
		// The known browser is forgotten: it no longer escapes the account's budgets.
		e2, err := e.store.GetLoginDevice(context.Background(), secret.HashToken(here.DeviceToken))
		if roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("device after the password change: %+v, %v", e2, err)
		}

		// A reset by an administrator ends every session.
		s1 := signIn("a new password")
		mustNil(t, e.svc.SetPassword(as(root), roster.RefID(alice.AccountID), "reset by root", ""))
		if live(s1) || live(here) {
			t.Fatal("a session survived a reset")
		}
		// So does a password set through a patch, and through an import.
		s2 := signIn("reset by root")
		_, err = e.svc.UpdateAccount(as(root), roster.RefID(alice.AccountID), map[string]any{"password": "patched password"})
		mustNil(t, err)
		if live(s2) {
			t.Fatal("a session survived a password patch")
		}
		s3 := signIn("patched password")
		rows := func(yield func(roster.ImportRow, error) bool) {
			yield(roster.ImportRow{Line: 2, Values: map[string]any{"username": "alice", "password": "imported password"}}, nil)
		}
		_, err = e.svc.ImportAccounts(operator(), rows, roster.ImportOptions{})
		mustNil(t, err)
		if live(s3) {
			t.Fatal("a session survived an imported password")
		}
		signIn("imported password")
	})
}

// TestLastSysadminRace: two system administrators who remove each other at the same
// moment leave one. The hook holds each change after its check until both have checked
// (or a moment has passed, when the guard makes the second wait for the first), so
// without the guard both would see the other still active.
func TestLastSysadminRace(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		changes := []struct {
			name  string
			patch func(other roster.Actor) map[string]any
		}{
			{"demote", func(roster.Actor) map[string]any { return map[string]any{"sysadmin": false} }},
			{"deactivate", func(roster.Actor) map[string]any { return map[string]any{"state": "deactivated"} }},
			{"delete", func(roster.Actor) map[string]any { return map[string]any{"state": "deleted"} }},
		}
		for round, c := range changes {
			a := e.user(t, fmt.Sprintf("admin%da", round), map[string]any{"sysadmin": true})
			b := e.user(t, fmt.Sprintf("admin%db", round), map[string]any{"sysadmin": true})
			// Only a and b are active administrators: retire the others first.
			admins := roster.AccountFilter{Fields: []roster.FieldFilter{roster.Filter("sysadmin", roster.Exact, "true")}, States: []roster.State{roster.StateActive}}
			p, err := e.svc.ListAccounts(operator(), admins, roster.ReadOptions{})
			mustNil(t, err)
			for _, o := range p.Records {
				if o.ID != a.AccountID && o.ID != b.AccountID {
					_, err := e.svc.UpdateAccount(operator(), roster.RefID(o.ID), map[string]any{"sysadmin": false})
					mustNil(t, err)
				}
			}

			var arrived atomic.Int32
			release := make(chan struct{})
			var once sync.Once
			core.SetHookAfterSysadminGuard(e.svc, func() {
				if arrived.Add(1) == 2 {
					once.Do(func() { close(release) })
				}
				select {
				case <-release:
				case <-time.After(300 * time.Millisecond):
				}
			})
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range [][2]roster.Actor{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.svc.UpdateAccount(as(pair[0]), roster.RefID(pair[1].AccountID), c.patch(pair[1]))
				}()
			}
			wg.Wait()
			core.SetHookAfterSysadminGuard(e.svc, nil)

			p, err = e.svc.ListAccounts(operator(), admins, roster.ReadOptions{})
			mustNil(t, err)
			if len(p.Records) != 1 {
				t.Fatalf("%s: %d active administrators remain (errors: %v, %v); want exactly 1", c.name, len(p.Records), errs[0], errs[1])
			}
			failed := 0
			for _, err := range errs {
				if err != nil {
					wantCode(t, err, roster.ECONFLICT)
					failed++
				}
			}
			if failed != 1 {
				t.Fatalf("%s: %d of the two changes failed (%v, %v); want 1", c.name, failed, errs[0], errs[1])
			}
		}
	})
}

// TestConcurrentPatchers: fifty clients merge-patching different keys of one account at
// once all succeed at the first try, and every key lands.
func TestConcurrentPatchers(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		alice := e.user(t, "alice", nil)
		const clients, each = 50, 8
		var wg sync.WaitGroup
		var failures atomic.Int32
		var firstErr atomic.Value
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					patch := map[string]any{"info": map[string]any{fmt.Sprintf("k%02d_%d", c, i): "v"}}
					if _, err := e.svc.MergeAccount(as(alice), roster.RefID(alice.AccountID), patch, roster.WriteOptions{}); err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d patches failed, e.g. %v", n, clients*each, firstErr.Load())
		}
		rec, err := e.svc.GetAccount(as(alice), roster.RefID(alice.AccountID), roster.ReadOptions{})
		mustNil(t, err)
		info, _ := rec.Get("info")
		if m, _ := info.(map[string]any); len(m) != clients*each {
			t.Fatalf("info holds %d keys, want %d", len(m), clients*each)
		}
		if rec.Version != int64(1+clients*each) {
			t.Fatalf("version %d, want %d", rec.Version, 1+clients*each)
		}
	})
}

// TestIfVersion: a change made against a version the account has moved on from is
// refused, and changes nothing.
func TestIfVersion(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		alice := e.user(t, "alice", nil)
		ref := roster.RefID(alice.AccountID)
		rec, err := e.svc.GetAccount(as(alice), ref, roster.ReadOptions{})
		mustNil(t, err)
		v := rec.Version
		next, err := e.svc.MergeAccount(as(alice), ref, map[string]any{"city": "Oslo"}, roster.WriteOptions{IfVersion: v})
		mustNil(t, err)
		if next.Version != v+1 {
			t.Fatalf("version %d after a change of %d", next.Version, v)
		}
		_, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"city": "Bergen"}, roster.WriteOptions{IfVersion: v})
		wantCode(t, err, roster.EPRECONDITION)
		_, err = e.svc.SetState(operator(), ref, roster.StateDeactivated, roster.WriteOptions{IfVersion: v})
		wantCode(t, err, roster.EPRECONDITION)
		now, err := e.svc.GetAccount(as(alice), ref, roster.ReadOptions{})
		mustNil(t, err)
		if city, _ := now.Get("city"); city != "Oslo" || now.Version != v+1 {
			t.Fatalf("after refused changes: city %v, version %d", city, now.Version)
		}
	})
}

// TestTextRule: NUL characters and invalid UTF-8 are refused where they enter, with a
// problem naming the field, the same on both engines, and nothing is written.
func TestTextRule(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		alice := e.user(t, "alice", nil)
		ref := roster.RefID(alice.AccountID)
		for _, bad := range []string{"a\x00b", "caf\xe9"} {
			_, err := e.svc.GetAccount(as(alice), roster.ParseAccountRef(bad), roster.ReadOptions{})
			wantProblem(t, err, "id")
			_, err = e.svc.GetAccounts(operator(), []roster.AccountRef{ref, roster.ParseAccountRef(bad)}, roster.ReadOptions{})
			wantProblem(t, err, "ids")
			_, err = e.svc.ListAccounts(as(alice), roster.AccountFilter{Query: bad}, roster.ReadOptions{})
			wantProblem(t, err, "q")
			_, err = e.svc.ListAccounts(operator(), roster.AccountFilter{Fields: []roster.FieldFilter{roster.Filter("username", roster.In, bad)}}, roster.ReadOptions{})
			wantProblem(t, err, "username")
			_, err = e.svc.Login(anonymous(), roster.Credentials{Login: bad, Password: "x"}, client)
			wantProblem(t, err, "login")
			for _, patch := range []map[string]any{
				{"city": bad},
				{"bio": bad},
				{"language_proficiencies": []any{"en", bad}},
				{"info": map[string]any{"k": bad}},
				{"info": map[string]any{bad: "v"}},
				{"info": map[string]any{"k": []any{map[string]any{"deep": bad}}}},
			} {
				_, err = e.svc.MergeAccount(as(alice), ref, patch, roster.WriteOptions{})
				for k := range patch {
					wantProblem(t, err, k)
				}
			}
			_, err = e.svc.CreateAccount(operator(), map[string]any{"username": "zed", "email": "zed@example.org", "name": bad})
			wantProblem(t, err, "name")
			_, err = e.svc.CreateAPIKey(as(alice), ref, roster.KeyRequest{Label: bad})
			wantProblem(t, err, "label")
			_, err = e.svc.CreateGroup(operator(), bad, "")
			wantProblem(t, err, "name")
		}
		rec, err := e.svc.GetAccount(as(alice), ref, roster.ReadOptions{})
		mustNil(t, err)
		if rec.Version != 1 {
			t.Fatalf("version %d: a refused change was written", rec.Version)
		}
		// What a browser sends and Roster only records is cleaned, not refused.
		_, err = e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "password-alice"}, roster.Client{IP: "198.51.100.7", UserAgent: "Agent\x00/\xff1"})
		mustNil(t, err)
	})
}

// TestStoredJSONLimits: objects nested too deeply or too large are refused; limits and
// types are strict.
func TestStoredJSONLimits(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		alice := e.user(t, "alice", nil)
		ref := roster.RefID(alice.AccountID)
		deep := func(n int) map[string]any {
			var v any = "leaf"
			for i := 0; i < n; i++ {
				v = map[string]any{"d": v}
			}
			return v.(map[string]any)
		}
		_, err := e.svc.MergeAccount(as(alice), ref, map[string]any{"info": deep(roster.MaxJSONDepth - 1)}, roster.WriteOptions{})
		mustNil(t, err)
		_, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"info": deep(5000)}, roster.WriteOptions{})
		wantProblem(t, err, "info")
		_, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"info": map[string]any{"big": strings.Repeat("x", roster.MaxJSONBytes)}}, roster.WriteOptions{})
		wantProblem(t, err, "info")
		for _, patch := range []map[string]any{
			{"name": int64(123)},
			{"city": true},
			{"year_of_birth": -5},
			{"year_of_birth": 1899},
			{"year_of_birth": time.Now().Year() + 1},
		} {
			_, err = e.svc.MergeAccount(as(alice), ref, patch, roster.WriteOptions{})
			for k := range patch {
				wantProblem(t, err, k)
			}
		}
		_, err = e.svc.MergeAccount(as(alice), ref, map[string]any{"year_of_birth": 1990}, roster.WriteOptions{})
		mustNil(t, err)
	})
}

// wantProblem checks that err is EINVALID with a problem for field.
func wantProblem(t *testing.T, err error, field string) {
	t.Helper()
	re := wantCode(t, err, roster.EINVALID)
	for _, p := range re.Problems {
		if p.Field == field {
			return
		}
	}
	t.Fatalf("problems %s name no %q", problemFields(err), field)
}

// TestReadableWhereAgreesWithRecords: the condition the core gives the store for "the
// caller may read this attribute" holds for exactly the accounts whose record shows the
// attribute to that caller, for every attribute the store can compare, for callers of
// every kind, with and without the parental-consent rule.
func TestReadableWhereAgreesWithRecords(t *testing.T) {
	for _, age := range []int{0, 13} {
		t.Run(fmt.Sprintf("consent-age=%d", age), func(t *testing.T) {
			engines(t, func(t *testing.T, e *env) {
				_, err := e.svc.SetPolicy(operator(), roster.SettingParentalConsentAge, fmt.Sprint(age))
				mustNil(t, err)
				sch, err := e.svc.Schema(operator())
				mustNil(t, err)
				year := e.clock.now().Year()
				var actors []roster.Actor
				for i, p := range []map[string]any{
					{},
					{"privacy": "all_users", "year_of_birth": year - 40},
					{"privacy": "all_users", "year_of_birth": year - 10},
					{"privacy": "all_users"},
					{"privacy": "custom", "shared_fields": []any{"name", "bio"}, "year_of_birth": year - 30},
					{"privacy": "custom", "shared_fields": []any{"country"}, "year_of_birth": year - 30},
					{"privacy": "private", "year_of_birth": year - 50},
				} {
					p["name"] = fmt.Sprintf("Person %d", i)
					actors = append(actors, e.user(t, fmt.Sprintf("person%d", i), p))
				}
				staff := e.user(t, "watcher", map[string]any{"staff": true})
				callers := map[string]roster.Actor{"anonymous": {}, "staff": staff, "other": actors[1], "self": actors[4]}
				// Open edX's surface raises id's read level to self: the condition follows.
				for who, caller := range callers {
					for _, via := range []string{roster.ViaAPI, roster.ViaOpenEdX} {
						caller.Via = via
						who := who + " on " + via
						ctx := as(caller)
						for _, attr := range sch.Attrs() {
							if !comparable(attr) {
								continue
							}
							var want []string
							for _, a := range actors {
								rec, err := e.svc.GetAccount(ctx, roster.RefID(a.AccountID), roster.ReadOptions{})
								mustNil(t, err)
								if rec.Visible(attr.Name) {
									want = append(want, a.Username)
								}
							}
							var got []string
							cond := core.ReadableWhere(ctx, e.svc, caller, attr)
							p, err := e.store.ListAccounts(context.Background(), roster.AccountSelection{Limit: 100, Where: roster.And(cond, roster.Match{Attr: sch.Attr("username"), Lookup: roster.IStartsWith, Value: "person"})})
							mustNil(t, err)
							for _, a := range p.Accounts {
								got = append(got, a.Username)
							}
							if strings.Join(got, ",") != strings.Join(want, ",") {
								t.Errorf("%s reading %s: the condition holds for %v, records show it for %v", who, attr.Name, got, want)
							}
							if attr.Name == "id" && via == roster.ViaOpenEdX && len(want) > 1 && !caller.IsStaff() {
								t.Errorf("%s reads id of %v", who, want)
							}
						}
					}
				}
			})
		})
	}
}

// comparable reports whether the store can compare the attribute's values.
func comparable(a *roster.Attribute) bool {
	switch a.Storage {
	case roster.StoreColumn, roster.StoreCapability:
		return true
	case roster.StoreProfile:
		return a.Type != roster.TypeList && a.Type != roster.TypeObject
	}
	return false
}

// TestStartupSettingsRace: replicas started together with different values store one of
// them; every other replica is told the store's value is in force, and one change is
// audited.
func TestStartupSettingsRace(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		const replicas = 8
		var wg sync.WaitGroup
		var warned atomic.Int32
		start := make(chan struct{})
		for i := 1; i <= replicas; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				w, err := e.svc.ApplyStartup(context.Background(), map[string]string{roster.SettingParentalConsentAge: fmt.Sprint(i)})
				if err != nil {
					t.Error(err)
				}
				warned.Add(int32(len(w)))
			}()
		}
		close(start)
		wg.Wait()
		pv, err := e.svc.GetPolicy(operator())
		mustNil(t, err)
		if len(pv.Settings) != 1 || pv.Version != 2 {
			t.Fatalf("after %d racing starts the policy is %+v", replicas, pv)
		}
		if warned.Load() != replicas-1 {
			t.Errorf("%d warnings; want %d (every replica whose value lost)", warned.Load(), replicas-1)
		}
		var updates int
		for _, a := range auditLog(t, e) {
			if a.Action == "policy.update" {
				updates++
			}
		}
		if updates != 1 {
			t.Errorf("%d policy.update entries; want 1", updates)
		}
	})
}

// TestSchemaChangeRacesWrites: a schema change checks the stored values while writers
// keep changing them; no value the new schema refuses lands after the check, on either
// engine.
func TestSchemaChangeRacesWrites(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		schema := func(max int) string {
			return fmt.Sprintf(`{"attributes":[{"name":"lab_room","type":"string","read":"self","write":"self","maxLength":%d}]}`, max)
		}
		_, err := e.svc.SetPolicy(operator(), roster.SettingSchema, schema(20))
		mustNil(t, err)
		const writers = 4
		var users []roster.Actor
		for i := range writers {
			users = append(users, e.user(t, fmt.Sprintf("w%d", i), map[string]any{"lab_room": "a"}))
		}
		accepted, last := 0, int64(0)
		for trial := 0; trial < 15; trial++ {
			_, err := e.svc.SetPolicy(operator(), roster.SettingSchema, schema(20))
			mustNil(t, err)
			var wg sync.WaitGroup
			done := make(chan struct{})
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 10; i++ {
						for _, v := range []string{"0123456789", "abc"} {
							_, err := e.svc.MergeAccount(as(u), roster.RefID(u.AccountID), map[string]any{"lab_room": v}, roster.WriteOptions{})
							if err != nil && roster.ErrorCode(err) != roster.EINVALID {
								t.Error(err)
							}
						}
					}
				}()
			}
			go func() { wg.Wait(); close(done) }()
			changed := false
			for !changed {
				select {
				case <-done:
					changed = true // the writers finished first: try once more, below
				default:
				}
				if _, err := e.svc.SetPolicy(operator(), roster.SettingSchema, schema(5)); err == nil {
					accepted++
					changed = true
				} else if roster.ErrorCode(err) != roster.EINVALID {
					t.Fatal(err)
				}
			}
			<-done
			// The audit log is in commit order. Replayed, it must hold no value longer
			// than 5 characters when the change to 5 commits, and gain none after it.
			es, err := e.store.ListAudit(context.Background(), roster.AuditFilter{After: last, Limit: 100000})
			mustNil(t, err)
			held := map[int64]string{} // account id → lab_room, as of the entry replayed
			changedAt := int64(0)
			for _, a := range es {
				last = a.Seq
				for _, c := range a.Changes {
					switch {
					case a.Action == "policy.update" && strings.Contains(fmt.Sprint(c.New), "maxLength:5"):
						changedAt = a.Seq
						for id, v := range held {
							if len(v) > 5 {
								t.Fatalf("trial %d: the schema change (audit %d) accepted account %d holding %q", trial, a.Seq, id, v)
							}
						}
					case c.Field == "lab_room":
						held[a.TargetID] = fmt.Sprint(c.New)
						if changedAt != 0 && len(held[a.TargetID]) > 5 {
							t.Fatalf("trial %d: %q was written (audit %d) after the schema allowed 5 characters (audit %d)", trial, c.New, a.Seq, changedAt)
						}
					}
				}
			}
		}
		t.Logf("the change was accepted during writes in %d of 15 trials", accepted)
	})
}
