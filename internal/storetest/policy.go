package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// testPolicy: settings are stored and removed as versions, read together with their
// version, and the version is read with every credential, so a request learns of a
// change without another query.
func testPolicy(t *testing.T, s roster.Store) {
	ctx := context.Background()
	p, err := s.GetPolicy(ctx)
	mustNil(t, err)
	if p.Version != 1 || len(p.Settings) != 0 {
		t.Fatalf("a new store's policy = %+v", p)
	}
	set := func(settings ...roster.PolicySetting) int64 {
		t.Helper()
		var v int64
		mustNil(t, s.InTx(ctx, func(tx roster.Tx) error {
			if err := tx.LockPolicy(ctx); err != nil {
				return err
			}
			var err error
			v, err = tx.SetPolicy(ctx, settings)
			return err
		}))
		return v
	}
	at := base.Add(time.Hour)
	v1 := set(roster.PolicySetting{Name: "schema", Value: `{"attributes":[]}`, UpdatedAt: at, UpdatedBy: "root"},
		roster.PolicySetting{Name: "parental_consent_age", Value: "13", UpdatedAt: at, UpdatedBy: "root"})
	v2 := set(roster.PolicySetting{Name: "parental_consent_age", Value: "16", UpdatedAt: at.Add(time.Minute), UpdatedBy: "ops"})
	if v1 != 2 || v2 != 3 {
		t.Fatalf("versions %d, %d; want 2, 3 (version 1 is the built-in policy)", v1, v2)
	}
	p, err = s.GetPolicy(ctx)
	mustNil(t, err)
	want := map[string]roster.PolicySetting{
		"schema":               {Name: "schema", Value: `{"attributes":[]}`, Version: 2, UpdatedAt: at, UpdatedBy: "root"},
		"parental_consent_age": {Name: "parental_consent_age", Value: "16", Version: 3, UpdatedAt: at.Add(time.Minute), UpdatedBy: "ops"},
	}
	if p.Version != 3 || len(p.Settings) != len(want) {
		t.Fatalf("policy = %+v", p)
	}
	for name, w := range want {
		if g := p.Settings[name]; g.Value != w.Value || g.Version != w.Version || !g.UpdatedAt.Equal(w.UpdatedAt) || g.UpdatedBy != w.UpdatedBy {
			t.Errorf("%s = %+v; want %+v", name, g, w)
		}
	}
	// An empty value removes a setting, as a new version.
	if v := set(roster.PolicySetting{Name: "schema"}); v != 4 {
		t.Fatalf("version after removal = %d", v)
	}
	p, err = s.GetPolicy(ctx)
	mustNil(t, err)
	if _, ok := p.Settings["schema"]; ok || p.Version != 4 {
		t.Fatalf("after removal: %+v", p)
	}
	// A rolled-back change leaves no version behind.
	boom := roster.Errorf(roster.EINVALID, "boom")
	err = s.InTx(ctx, func(tx roster.Tx) error {
		if _, err := tx.SetPolicy(ctx, []roster.PolicySetting{{Name: "surfaces", Value: "{}"}}); err != nil {
			return err
		}
		return boom
	})
	wantCode(t, err, roster.EINVALID)
	if v, err := s.PolicyVersion(ctx); err != nil || v != 4 {
		t.Fatalf("PolicyVersion after a rollback = %d, %v", v, err)
	}
	// Credentials carry the version.
	a := MustCreate(t, s, newAccount(1))
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateAPIKey(ctx, &roster.APIKey{AccountID: a.ID, Prefix: "rk_pol", Hash: hash("policy-key"), CreatedAt: base})
	})
	k, _, err := s.GetAPIKeyByHash(ctx, hash("policy-key"))
	mustNil(t, err)
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateSession(ctx, &roster.Session{AccountID: a.ID, Hash: hash("policy-session"), CreatedAt: base, ExpiresAt: base.Add(1000 * time.Hour), LastSeenAt: base})
	})
	ss, _, err := s.GetSessionByHash(ctx, hash("policy-session"))
	mustNil(t, err)
	if k.PolicyVersion != 4 || ss.PolicyVersion != 4 {
		t.Fatalf("credentials read policy versions %d and %d; want 4", k.PolicyVersion, ss.PolicyVersion)
	}
}
