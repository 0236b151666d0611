package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

var client = roster.Client{IP: "192.0.2.7", UserAgent: "test"}

func coreKey(label string) roster.KeyRequest { return roster.KeyRequest{Label: label} }

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", nil)
	bob := e.user(t, "bob", nil)
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	ctx := context.Background()

	k, err := e.svc.CreateAPIKey(as(alice), roster.RefID(alice.AccountID), roster.KeyRequest{Label: "laptop"})
	mustNil(t, err)
	if !strings.HasPrefix(k.Secret, "rk_") || len(k.Secret) != 67 || !strings.HasPrefix(k.Secret, k.Key.Prefix) {
		t.Fatalf("key %q prefix %q", k.Secret, k.Key.Prefix)
	}
	actor, err := e.svc.AuthenticateKey(ctx, k.Secret, client)
	mustNil(t, err)
	if actor.AccountID != alice.AccountID || actor.KeyID != k.Key.ID || actor.ReadOnly {
		t.Fatalf("actor %+v", actor)
	}
	// The key's query read the policy's version, even of a store whose policy never
	// changed, so that the request asks the store nothing more for it.
	if actor.PolicyVersion == 0 {
		t.Fatal("the key's actor carries no policy version: every request would ask for it again")
	}
	// Last use is recorded in the background, at most once a minute.
	e.svc.Quiesce()
	ks, err := e.svc.ListAPIKeys(as(alice), roster.RefID(alice.AccountID))
	mustNil(t, err)
	if len(ks) != 1 || !ks[0].LastUsedAt.Equal(e.clock.t) || ks[0].Hash == nil {
		t.Fatalf("keys %+v", ks)
	}

	ro, err := e.svc.CreateAPIKey(as(alice), roster.RefID(alice.AccountID), roster.KeyRequest{Label: "ci", ReadOnly: true, ExpiresAt: e.clock.t.Add(time.Hour)})
	mustNil(t, err)
	roActor, err := e.svc.AuthenticateKey(ctx, ro.Secret, client)
	mustNil(t, err)
	if !roActor.ReadOnly {
		t.Fatal("read-only key authenticates read-write")
	}
	_, err = e.svc.UpdateAccount(as(roActor), roster.RefID(alice.AccountID), map[string]any{"bio": "x"})
	wantCode(t, err, roster.EFORBIDDEN)
	_, err = e.svc.GetAccount(as(roActor), roster.RefID(alice.AccountID), roster.ReadOptions{})
	mustNil(t, err)
	e.clock.advance(2 * time.Hour)
	_, err = e.svc.AuthenticateKey(ctx, ro.Secret, client)
	wantCode(t, err, roster.EUNAUTHENTICATED) // expired

	_, err = e.svc.CreateAPIKey(as(bob), roster.RefID(alice.AccountID), roster.KeyRequest{})
	wantCode(t, err, roster.EFORBIDDEN)
	_, err = e.svc.ListAPIKeys(as(bob), roster.RefID(alice.AccountID))
	wantCode(t, err, roster.EFORBIDDEN)
	_, err = e.svc.RevokeAPIKey(as(bob), k.Key.ID)
	wantCode(t, err, roster.ENOTFOUND) // does not reveal other people's keys
	_, err = e.svc.CreateAPIKey(as(alice), roster.RefID(alice.AccountID), roster.KeyRequest{ExpiresAt: e.clock.t.Add(-time.Second)})
	wantCode(t, err, roster.EINVALID)

	_, err = e.svc.RevokeAPIKey(as(root), k.Key.ID)
	mustNil(t, err)
	_, err = e.svc.AuthenticateKey(ctx, k.Secret, client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
	for _, es := range auditLog(t, e) {
		for _, c := range es.Changes {
			if s, _ := c.New.(string); strings.Contains(s, k.Secret[3:]) {
				t.Fatal("an audit entry holds a key")
			}
		}
	}
}

func TestBadKeysAreSlowedDown(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", nil)
	k, err := e.svc.CreateAPIKey(as(alice), roster.RefID(alice.AccountID), roster.KeyRequest{})
	mustNil(t, err)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		_, err := e.svc.AuthenticateKey(ctx, "rk_guess", client)
		wantCode(t, err, roster.EUNAUTHENTICATED)
	}
	_, err = e.svc.AuthenticateKey(ctx, "rk_guess", client)
	re := wantCode(t, err, roster.ETOOMANY)
	if re.RetryAfter < 1 {
		t.Fatalf("RetryAfter = %d", re.RetryAfter)
	}
	_, err = e.svc.AuthenticateKey(ctx, "rk_guess", client)
	wantCode(t, err, roster.ETOOMANY)
	// Another client is not affected, and valid keys still work.
	_, err = e.svc.AuthenticateKey(ctx, "rk_guess", roster.Client{IP: "198.51.100.1"})
	wantCode(t, err, roster.EUNAUTHENTICATED)
	_, err = e.svc.AuthenticateKey(ctx, k.Secret, client)
	mustNil(t, err)
	e.clock.advance(20 * time.Minute)
	_, err = e.svc.AuthenticateKey(ctx, "rk_guess", client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice", nil)
	ctx := context.Background()
	s, err := e.svc.Login(anonymous(), roster.Credentials{Login: "ALICE", Password: "password-alice"}, client)
	mustNil(t, err)
	if s.Token == "" || s.CSRFToken == "" || !e.svc.CheckCSRF(s.Token, s.CSRFToken) || e.svc.CheckCSRF(s.Token, "x") {
		t.Fatalf("session %+v", s)
	}
	if v, _ := s.Account.Get("last_login"); v == nil {
		t.Fatal("last_login not set")
	}
	actor, err := e.svc.AuthenticateSession(ctx, s.Token, client)
	mustNil(t, err)
	if actor.Username != "alice" || actor.SessionID == 0 {
		t.Fatalf("actor %+v", actor)
	}
	_, err = e.svc.Login(anonymous(), roster.Credentials{Login: "alice@example.org", Password: "password-alice"}, client)
	mustNil(t, err) // by email too

	e.clock.advance(13 * time.Hour)
	_, err = e.svc.AuthenticateSession(ctx, s.Token, client)
	wantCode(t, err, roster.EUNAUTHENTICATED) // expired

	s2, err := e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "password-alice"}, client)
	mustNil(t, err)
	mustNil(t, e.svc.Logout(ctx, s2.Token))
	_, err = e.svc.AuthenticateSession(ctx, s2.Token, client)
	wantCode(t, err, roster.EUNAUTHENTICATED)
}

func TestSetPassword(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", nil)
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	err := e.svc.SetPassword(as(alice), roster.RefID(alice.AccountID), "new password", "wrong")
	wantCode(t, err, roster.EINVALID)
	mustNil(t, e.svc.SetPassword(as(alice), roster.RefID(alice.AccountID), "new password", "password-alice"))
	mustNil(t, e.svc.SetPassword(as(root), roster.RefID(alice.AccountID), "root set this", ""))
	wantCode(t, e.svc.SetPassword(as(root), roster.RefID(alice.AccountID), "short", ""), roster.EINVALID)
	_, err = e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "root set this"}, client)
	mustNil(t, err)
	// A password set through a patch works the same.
	_, err = e.svc.UpdateAccount(as(root), roster.RefID(alice.AccountID), map[string]any{"password": "patched password"})
	mustNil(t, err)
	_, err = e.svc.Login(anonymous(), roster.Credentials{Login: "alice", Password: "patched password"}, client)
	mustNil(t, err)
}
