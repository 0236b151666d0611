package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// rawDB is how this case damages a store the way only a bug, a crash or a hand at a SQL
// prompt could: roster.Tx has no method that breaks an invariant, by design.
type rawDB interface{ WriteDB() *sql.DB }

// checkResults runs Check and returns its results by name, failing the test if a check
// could not run.
func checkResults(t *testing.T, s roster.Store) map[string]roster.CheckResult {
	t.Helper()
	rs, err := s.Check(context.Background())
	mustNil(t, err)
	out := map[string]roster.CheckResult{}
	for _, r := range rs {
		if _, dup := out[r.Name]; dup {
			t.Fatalf("two checks are named %q", r.Name)
		}
		out[r.Name] = r
	}
	return out
}

// WantChecksFailing fails the test unless exactly the named checks found problems, each
// with a problem containing its word.
func WantChecksFailing(t *testing.T, s roster.Store, failing map[string]string) {
	t.Helper()
	for name, r := range checkResults(t, s) {
		word, want := failing[name]
		switch {
		case !want && !r.OK():
			t.Errorf("check %q found %q; want nothing", name, r.Problems)
		case want && r.OK():
			t.Errorf("check %q found nothing (%s); want a problem about %q", name, r.Detail, word)
		case want && !strings.Contains(strings.Join(r.Problems, "\n"), word):
			t.Errorf("check %q found %q; want a problem about %q", name, r.Problems, word)
		}
		delete(failing, name)
	}
	for name := range failing {
		t.Errorf("no check is named %q", name)
	}
}

// testCheck: a sound store passes every check, on an empty store and on one holding
// every kind of row; each invariant broken by hand is found by its check and no other.
func testCheck(t *testing.T, s roster.Store) {
	ctx := context.Background()
	results := checkResults(t, s)
	for _, name := range []string{"bookkeeping rows", "audit sequence", "system administrators", "accounts", "credentials", "project references", "policy", "profile images", "outbox"} {
		if _, ok := results[name]; !ok {
			t.Fatalf("no check named %q among %v", name, results)
		}
	}
	WantChecksFailing(t, s, map[string]string{})

	// Accounts without an administrator: the CLI can make such a store, and nobody
	// could administer it over HTTP.
	user := MustCreate(t, s, newAccount(1))
	WantChecksFailing(t, s, map[string]string{"system administrators": "none of the 1 accounts"})
	admin := newAccount(2)
	admin.Sysadmin = true
	MustCreate(t, s, admin)

	p := newProject(t, s, "Study", "f1")
	var role roster.ProjectRole
	inTx(t, s, func(tx roster.Tx) error {
		dag := roster.DAG{ProjectID: p.ID, Label: "Site A", CreatedAt: base}
		if err := tx.CreateProjectDAG(ctx, &dag); err != nil {
			return err
		}
		role = roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-123ACDEFHJ", Label: "Monitor", CreatedAt: base, UpdatedAt: base}
		if err := tx.CreateProjectRole(ctx, &role); err != nil {
			return err
		}
		m := &roster.ProjectMember{ProjectID: p.ID, Username: user.Username, RoleID: role.ID, DAGID: dag.ID, AddedAt: base, UpdatedAt: base}
		if err := tx.CreateProjectMembers(ctx, []*roster.ProjectMember{m}); err != nil {
			return err
		}
		if err := tx.SetMemberDAGSwitch(ctx, p.ID, m.ID, []int64{0, dag.ID}); err != nil {
			return err
		}
		if err := tx.SetProjectToken(ctx, m.ID, hash("token"), base); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, &roster.APIKey{AccountID: user.ID, Prefix: "rk_abcd", Hash: hash("key"), CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &roster.Session{AccountID: user.ID, Hash: hash("session"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base}); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, user.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
			return err
		}
		if _, err := tx.SetPolicy(ctx, []roster.PolicySetting{{Name: roster.SettingParentalConsentAge, Value: "13", UpdatedAt: base, UpdatedBy: "test"}}); err != nil {
			return err
		}
		seed, err := tx.ProfileImageSeed(ctx)
		if err != nil {
			return err
		}
		user.Profile["profile_image_uploaded_at"] = base.Format(time.RFC3339Nano)
		if err := tx.UpdateAccount(ctx, user); err != nil {
			return err
		}
		if err := tx.SetProfileImages(ctx, user.ID, profileImages(user.ID, roster.ProfileImageName(seed, user.Username), base, "checked")); err != nil {
			return err
		}
		if err := tx.SetEmailChange(ctx, &roster.EmailChange{AccountID: user.ID, NewEmail: "new@example.org", KeyHash: hash("confirm"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			return err
		}
		for i := range 2 {
			if err := tx.QueueMessage(ctx, newMessage(user.ID, i)); err != nil {
				return err
			}
		}
		if ms, err := tx.LeaseMessages(ctx, "w", base, base.Add(time.Minute), 1); err != nil || len(ms) != 1 {
			return fmt.Errorf("leased %d messages: %v", len(ms), err)
		} else if _, err := tx.ReleaseMessage(ctx, ms[0].ID, "w", roster.MessageRelease{State: roster.MessageSent, At: base}); err != nil {
			return err
		}
		// OAuth2: an application, a grant, its tokens and a signing key.
		app := newApp(user, "checked")
		if err := tx.CreateOAuthApp(ctx, app); err != nil {
			return err
		}
		g := &roster.OAuthGrant{AppID: app.ID, AccountID: user.ID, GrantType: roster.GrantPassword, Scopes: []string{roster.ScopeRead}, CreatedAt: base}
		if err := tx.CreateOAuthGrant(ctx, g); err != nil {
			return err
		}
		if err := tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: hash("oauth"), GrantID: g.ID, Kind: roster.TokenRefresh, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, &roster.SigningKey{KID: "k1", Algorithm: "RS512", PrivateDER: []byte("private"), PublicJWK: "{}", CreatedAt: base}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry("account.create", user.ID), entry("account.create", admin.ID), entry("project.create", p.ID))
	})
	results = checkResults(t, s)
	WantChecksFailing(t, s, map[string]string{})
	if d := results["audit sequence"].Detail; d != "3 entries, numbered 1 to 3" {
		t.Errorf("audit sequence: %q", d)
	}
	if d := results["accounts"].Detail; d != "2 rows read" {
		t.Errorf("accounts: %q", d)
	}
	if d := results["profile images"].Detail; d != "4 images of 1 accounts" {
		t.Errorf("profile images: %q", d)
	}

	raw, ok := s.(rawDB)
	if !ok {
		t.Fatalf("%T does not expose its database, so the checks cannot be shown to find anything", s)
	}
	exec := func(query string) {
		t.Helper()
		if _, err := raw.WriteDB().ExecContext(ctx, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	failing := map[string]string{}
	for _, b := range []struct{ query, check, word string }{
		{"DELETE FROM audit_log WHERE seq = 2", "audit sequence", "gaps after 1"},
		{"UPDATE accounts SET username_key = 'someone else' WHERE username = 'user0001'", "accounts", "username_key"},
		{"UPDATE accounts SET uuid = 'not a uuid' WHERE username = 'user0001'", "accounts", "UUID"},
		{"UPDATE project_members SET role_id = 9999", "project references", "role"},
		{"UPDATE api_keys SET hash = substr(hash, 1, 16)", "credentials", "api_keys"},
		{"UPDATE accounts SET state = 'deactivated' WHERE sysadmin", "system administrators", "none of the 2 accounts"},
		{"UPDATE policy SET version = 99", "policy", "newer than the policy's"},
		{"DELETE FROM store_locks", "bookkeeping rows", "sysadmins"},
		{"UPDATE profile_images SET name = 'someone else' WHERE size = 30", "profile images", "not all named"},
		{"DELETE FROM profile_images WHERE size = 50", "profile images", "not one in each"},
		{"DELETE FROM profile_images", "profile images", "has no profile images"},
		{"DELETE FROM profile_image_seed", "profile images", "uploads fail"},
		{"UPDATE outbox SET body = 'the link, kept' WHERE state = 'sent'", "outbox", "still hold their bodies"},
		{"UPDATE outbox SET message_id = 'no brackets' WHERE state = 'pending'", "outbox", "Message-ID"},
	} {
		exec(b.query)
		failing[b.check] = b.word
		want := map[string]string{}
		for k, v := range failing {
			want[k] = v
		}
		WantChecksFailing(t, s, want)
	}
}
