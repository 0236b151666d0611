package storetest

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
)

// newApp returns an unsaved confidential application of owner, its fields derived from
// clientID.
func newApp(owner *roster.Account, clientID string) *roster.OAuthApp {
	return &roster.OAuthApp{ClientID: clientID, Name: "App " + clientID, OwnerID: owner.ID, Confidential: true,
		SecretHash: hash("secret " + clientID), SecretPrefix: "s3cr3t", Grants: []string{roster.GrantClientCredentials, roster.GrantPassword},
		RedirectURIs: []string{"https://" + clientID + ".example.org/cb"}, Scopes: []string{roster.ScopeRead, roster.ScopeEmail},
		CreatedAt: base, UpdatedAt: base}
}

// wantConflict fails the test unless err is ECONFLICT with one problem, naming field.
func wantConflict(tb testing.TB, err error, field string) {
	tb.Helper()
	wantCode(tb, err, roster.ECONFLICT)
	if p := roster.AsError(err).Problems; len(p) != 1 || p[0].Field != field {
		tb.Fatalf("conflict problems = %+v, want one for %s", p, field)
	}
}

// testOAuthApps: applications round-trip with their owner's username, by id and by
// client id, which is unique; an update changes the name, grants, redirect URIs and
// scopes and nothing else; a new secret and a revocation touch only theirs.
func testOAuthApps(t *testing.T, s roster.Store) {
	ctx := context.Background()
	owner := MustCreate(t, s, newAccount(1))
	other := MustCreate(t, s, newAccount(2))
	_, err := s.GetOAuthApp(ctx, 1)
	wantCode(t, err, roster.ENOTFOUND)
	_, err = s.GetOAuthAppByClientID(ctx, "nobody")
	wantCode(t, err, roster.ENOTFOUND)
	if apps, err := s.ListOAuthApps(ctx); err != nil || len(apps) != 0 {
		t.Fatalf("ListOAuthApps of an empty store = %v, %v", apps, err)
	}

	a := newApp(owner, "edx-worker")
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthApp(ctx, a) })
	if a.ID == 0 {
		t.Fatal("CreateOAuthApp set no id")
	}
	// A public client: no secret, no redirect URIs.
	pub := &roster.OAuthApp{ClientID: "login-service-client-id", Name: "Login", OwnerID: other.ID, Grants: []string{roster.GrantPassword},
		Scopes: []string{roster.ScopeRead, roster.ScopeWrite, roster.ScopeUserID}, CreatedAt: base.Add(time.Minute), UpdatedAt: base.Add(time.Minute)}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthApp(ctx, pub) })
	wantConflict(t, write(s, func(tx roster.Tx) error { return tx.CreateOAuthApp(ctx, newApp(other, "edx-worker")) }), "client_id")

	same := func(what string, got, want *roster.OAuthApp, owner string) {
		t.Helper()
		if got.ID != want.ID || got.ClientID != want.ClientID || got.Name != want.Name || got.OwnerID != want.OwnerID || got.Owner != owner ||
			got.Confidential != want.Confidential || string(got.SecretHash) != string(want.SecretHash) || got.SecretPrefix != want.SecretPrefix ||
			!slices.Equal(got.Grants, want.Grants) || !slices.Equal(got.RedirectURIs, want.RedirectURIs) || !slices.Equal(got.Scopes, want.Scopes) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !got.RevokedAt.Equal(want.RevokedAt) ||
			got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
			t.Fatalf("%s = %+v\nwant %+v (owner %s)", what, got, want, owner)
		}
	}
	got, err := s.GetOAuthApp(ctx, a.ID)
	mustNil(t, err)
	same("GetOAuthApp", got, a, owner.Username)
	if !got.Live() || !got.Allows(roster.GrantPassword) || got.Allows(roster.GrantRefreshToken) {
		t.Fatalf("Live %v, Allows(password) %v, Allows(refresh_token) %v", got.Live(), got.Allows(roster.GrantPassword), got.Allows(roster.GrantRefreshToken))
	}
	got, err = s.GetOAuthAppByClientID(ctx, "login-service-client-id")
	mustNil(t, err)
	same("GetOAuthAppByClientID", got, pub, other.Username)
	if len(got.SecretHash) != 0 || len(got.RedirectURIs) != 0 {
		t.Fatalf("a public client read back with secret %x and redirect URIs %q", got.SecretHash, got.RedirectURIs)
	}
	// Client ids are compared exactly.
	_, err = s.GetOAuthAppByClientID(ctx, "EDX-WORKER")
	wantCode(t, err, roster.ENOTFOUND)

	// An update changes what it names, and never the secret, the owner or the times of
	// creation and revocation.
	up := *a
	up.Name, up.Grants, up.RedirectURIs, up.Scopes, up.UpdatedAt = "Renamed", []string{roster.GrantPassword}, nil,
		[]string{roster.ScopeRead, roster.ScopeWrite, roster.ScopeProfile}, base.Add(time.Hour)
	up.SecretHash, up.OwnerID, up.CreatedAt = hash("ignored"), other.ID, base.Add(time.Hour)
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateOAuthApp(ctx, &up) })
	want := *a
	want.Name, want.Grants, want.RedirectURIs, want.Scopes, want.UpdatedAt = up.Name, up.Grants, nil, up.Scopes, up.UpdatedAt
	got, err = s.GetOAuthApp(ctx, a.ID)
	mustNil(t, err)
	same("after UpdateOAuthApp", got, &want, owner.Username)
	missing := *a
	missing.ID = 999
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.UpdateOAuthApp(ctx, &missing) }), roster.ENOTFOUND)

	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetOAuthAppSecret(ctx, a.ID, hash("new secret"), "n3wsec", base.Add(2*time.Hour))
	})
	want.SecretHash, want.SecretPrefix, want.UpdatedAt = hash("new secret"), "n3wsec", base.Add(2*time.Hour)
	got, err = s.GetOAuthApp(ctx, a.ID)
	mustNil(t, err)
	same("after SetOAuthAppSecret", got, &want, owner.Username)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.SetOAuthAppSecret(ctx, 999, hash("x"), "x", base) }), roster.ENOTFOUND)

	inTx(t, s, func(tx roster.Tx) error { return tx.RevokeOAuthApp(ctx, a.ID, base.Add(3*time.Hour)) })
	want.RevokedAt, want.UpdatedAt = base.Add(3*time.Hour), base.Add(3*time.Hour)
	got, err = s.GetOAuthApp(ctx, a.ID)
	mustNil(t, err)
	same("after RevokeOAuthApp", got, &want, owner.Username)
	if got.Live() {
		t.Fatal("a revoked application is live")
	}
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.RevokeOAuthApp(ctx, 999, base) }), roster.ENOTFOUND)

	// A list holds every application, revoked ones too, by id.
	apps, err := s.ListOAuthApps(ctx)
	mustNil(t, err)
	if len(apps) != 2 {
		t.Fatalf("ListOAuthApps = %d applications, want 2", len(apps))
	}
	same("ListOAuthApps[0]", apps[0], &want, owner.Username)
	same("ListOAuthApps[1]", apps[1], pub, other.Username)

	// A failed transaction leaves no application behind.
	wantCode(t, write(s, func(tx roster.Tx) error {
		if err := tx.CreateOAuthApp(ctx, newApp(owner, "rolled-back")); err != nil {
			return err
		}
		return roster.Errorf(roster.EINVALID, "no")
	}), roster.EINVALID)
	_, err = s.GetOAuthAppByClientID(ctx, "rolled-back")
	wantCode(t, err, roster.ENOTFOUND)
}

// testOAuthGrants: grants round-trip with their application's client id and name (none
// for a browser session's grant); an account lists its own grants, revoked ones too;
// GetOAuthGrantForAuth reads in one row the grant, its account, the policy version, its
// application's revocation, whether its session is live at now, and the signing key
// named.
func testOAuthGrants(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	b := MustCreate(t, s, newAccount(2))
	app := newApp(a, "portal")
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthApp(ctx, app) })
	_, err := s.GetOAuthGrant(ctx, 1)
	wantCode(t, err, roster.ENOTFOUND)
	_, _, err = s.GetOAuthGrantForAuth(ctx, 1, "", base)
	wantCode(t, err, roster.ENOTFOUND)

	sess := &roster.Session{AccountID: a.ID, Hash: hash("browser"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSession(ctx, sess) })
	g1 := &roster.OAuthGrant{AppID: app.ID, AccountID: a.ID, GrantType: roster.GrantPassword, Scopes: []string{roster.ScopeRead, roster.ScopeUserID}, CreatedAt: base}
	g2 := &roster.OAuthGrant{AccountID: a.ID, SessionID: sess.ID, GrantType: roster.GrantSession, Scopes: []string{roster.ScopeRead, roster.ScopeWrite}, CreatedAt: base.Add(time.Minute)}
	g3 := &roster.OAuthGrant{AppID: app.ID, AccountID: b.ID, GrantType: roster.GrantClientCredentials, Scopes: []string{roster.ScopeEmail}, CreatedAt: base.Add(2 * time.Minute)}
	for _, g := range []*roster.OAuthGrant{g1, g2, g3} {
		inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
		if g.ID == 0 {
			t.Fatal("CreateOAuthGrant set no id")
		}
	}
	if g1.ID == g2.ID || g2.ID == g3.ID {
		t.Fatalf("grant ids %d, %d, %d", g1.ID, g2.ID, g3.ID)
	}

	same := func(what string, got, want *roster.OAuthGrant, clientID, appName string) {
		t.Helper()
		if got.ID != want.ID || got.AppID != want.AppID || got.AccountID != want.AccountID || got.SessionID != want.SessionID ||
			got.GrantType != want.GrantType || !slices.Equal(got.Scopes, want.Scopes) || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.RevokedAt.Equal(want.RevokedAt) || got.ClientID != clientID || got.AppName != appName || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("%s = %+v\nwant %+v (%s, %s)", what, got, want, clientID, appName)
		}
	}
	got, err := s.GetOAuthGrant(ctx, g1.ID)
	mustNil(t, err)
	same("GetOAuthGrant", got, g1, "portal", app.Name)
	if !got.HasScope(roster.ScopeUserID) || got.HasScope(roster.ScopeWrite) {
		t.Fatalf("HasScope on %q", got.Scopes)
	}
	got, err = s.GetOAuthGrant(ctx, g2.ID)
	mustNil(t, err)
	same("GetOAuthGrant of a session's grant", got, g2, "", "")

	list, err := s.ListOAuthGrants(ctx, a.ID)
	mustNil(t, err)
	if len(list) != 2 {
		t.Fatalf("ListOAuthGrants(a) = %d grants, want 2", len(list))
	}
	same("ListOAuthGrants[0]", list[0], g1, "portal", app.Name)
	same("ListOAuthGrants[1]", list[1], g2, "", "")
	if list, err := s.ListOAuthGrants(ctx, 999); err != nil || len(list) != 0 {
		t.Fatalf("ListOAuthGrants of no account = %v, %v", list, err)
	}

	// The signing keys the lookups name.
	live := &roster.SigningKey{KID: "live", Algorithm: "RS512", PrivateDER: []byte("private live"), PublicJWK: `{"kid":"live"}`, CreatedAt: base}
	retiring := &roster.SigningKey{KID: "retiring", Algorithm: "RS512", PrivateDER: []byte("private retiring"), PublicJWK: `{"kid":"retiring"}`,
		CreatedAt: base, RetireAt: base.Add(30 * time.Minute)}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSigningKey(ctx, live) })
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateSigningKey(ctx, retiring) })

	forAuth := func(id int64, kid string, now time.Time) (*roster.OAuthGrant, *roster.Account) {
		t.Helper()
		g, acct, err := s.GetOAuthGrantForAuth(ctx, id, kid, now)
		mustNil(t, err)
		return g, acct
	}
	pv, err := s.PolicyVersion(ctx)
	mustNil(t, err)
	g, acct := forAuth(g1.ID, "live", base)
	same("GetOAuthGrantForAuth", g, g1, "portal", app.Name)
	if acct.ID != a.ID || acct.Username != a.Username || acct.UUID != a.UUID || acct.State != roster.StateActive || g.PolicyVersion != pv {
		t.Fatalf("GetOAuthGrantForAuth's account %+v, policy version %d (want %d)", acct, g.PolicyVersion, pv)
	}
	if !g.KeyKnown || !g.KeyRetireAt.IsZero() || !g.AppRevokedAt.IsZero() || g.SessionLive {
		t.Fatalf("an application's grant with a live key: key known %v, retire at %v, app revoked at %v, session live %v",
			g.KeyKnown, g.KeyRetireAt, g.AppRevokedAt, g.SessionLive)
	}
	// A key about to retire is known, with its retirement; an unknown key, or none (an
	// opaque token), is not known.
	if g, _ := forAuth(g1.ID, "retiring", base); !g.KeyKnown || !g.KeyRetireAt.Equal(retiring.RetireAt) || g.KeyRetireAt.Location() != time.UTC {
		t.Fatalf("a retiring key: known %v, retire at %v", g.KeyKnown, g.KeyRetireAt)
	}
	for _, kid := range []string{"", "unknown", "LIVE", "live "} {
		if g, _ := forAuth(g1.ID, kid, base); g.KeyKnown || !g.KeyRetireAt.IsZero() {
			t.Fatalf("kid %q: known %v, retire at %v", kid, g.KeyKnown, g.KeyRetireAt)
		}
	}
	// A session's grant is live while its session is unexpired at now, and not once the
	// session is deleted (signing out).
	g, _ = forAuth(g2.ID, "live", base)
	same("GetOAuthGrantForAuth of a session's grant", g, g2, "", "")
	if !g.SessionLive || !g.AppRevokedAt.IsZero() {
		t.Fatalf("a live session's grant: session live %v, app revoked at %v", g.SessionLive, g.AppRevokedAt)
	}
	if g, _ := forAuth(g2.ID, "live", base.Add(time.Hour)); g.SessionLive {
		t.Fatal("a session is live at its expiry")
	}
	if g, _ := forAuth(g2.ID, "live", base.Add(time.Hour-time.Microsecond)); !g.SessionLive {
		t.Fatal("a session is not live just before its expiry")
	}
	mustNil(t, s.DeleteSession(ctx, sess.ID))
	if g, _ := forAuth(g2.ID, "live", base); g.SessionLive {
		t.Fatal("a deleted session is live")
	}

	// Revoking the application shows on its grants; revoking a grant, on that grant
	// only; deactivating the account, on its account.
	inTx(t, s, func(tx roster.Tx) error { return tx.RevokeOAuthApp(ctx, app.ID, base.Add(time.Hour)) })
	if g, _ := forAuth(g3.ID, "", base); !g.AppRevokedAt.Equal(base.Add(time.Hour)) || !g.RevokedAt.IsZero() {
		t.Fatalf("after the application's revocation: app revoked at %v, revoked at %v", g.AppRevokedAt, g.RevokedAt)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.RevokeOAuthGrant(ctx, g1.ID, base.Add(2*time.Hour)) })
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.RevokeOAuthGrant(ctx, 999, base) }), roster.ENOTFOUND)
	g, _ = forAuth(g1.ID, "", base)
	if !g.RevokedAt.Equal(base.Add(2 * time.Hour)) {
		t.Fatalf("revoked grant: revoked at %v", g.RevokedAt)
	}
	if got, _ := s.GetOAuthGrant(ctx, g1.ID); !got.RevokedAt.Equal(base.Add(2 * time.Hour)) {
		t.Fatalf("GetOAuthGrant of a revoked grant: revoked at %v", got.RevokedAt)
	}
	if g, _ := forAuth(g3.ID, "", base); !g.RevokedAt.IsZero() {
		t.Fatal("revoking one grant revoked another")
	}
	b.State = roster.StateDeactivated
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, b) })
	if _, acct := forAuth(g3.ID, "", base); acct.State != roster.StateDeactivated {
		t.Fatalf("the account of a grant read as %s after its deactivation", acct.State)
	}
	// A grant of an account stays readable: a token of it is refused by its state, not
	// by a missing row.
	if list, err := s.ListOAuthGrants(ctx, b.ID); err != nil || len(list) != 1 || list[0].ID != g3.ID {
		t.Fatalf("ListOAuthGrants(b) = %v, %v", list, err)
	}
}

// testSigningKeys: keys list oldest first; a rotation retires every other key that is
// not retiring sooner, never postponing a retirement; a key is retired at once by kid.
func testSigningKeys(t *testing.T, s roster.Store) {
	ctx := context.Background()
	if keys, err := s.ListSigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("ListSigningKeys of an empty store = %v, %v", keys, err)
	}
	_, err := s.GetSigningKey(ctx, "k1")
	wantCode(t, err, roster.ENOTFOUND)
	key := func(kid string, created time.Time) *roster.SigningKey {
		return &roster.SigningKey{KID: kid, Algorithm: "RS512", PrivateDER: []byte("\x30\x82private " + kid), PublicJWK: `{"kty":"RSA","kid":"` + kid + `"}`, CreatedAt: created}
	}
	// Made out of order: the list is by creation.
	k2, k1, k3 := key("k2", base.Add(time.Hour)), key("k1", base), key("k3", base.Add(2*time.Hour))
	for _, k := range []*roster.SigningKey{k2, k1, k3} {
		inTx(t, s, func(tx roster.Tx) error { return tx.CreateSigningKey(ctx, k) })
	}
	wantConflict(t, write(s, func(tx roster.Tx) error { return tx.CreateSigningKey(ctx, key("k1", base)) }), "kid")

	same := func(what string, got, want *roster.SigningKey, retireAt time.Time) {
		t.Helper()
		if got.KID != want.KID || got.Algorithm != want.Algorithm || string(got.PrivateDER) != string(want.PrivateDER) || got.PublicJWK != want.PublicJWK ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.RetireAt.Equal(retireAt) || got.CreatedAt.Location() != time.UTC || got.RetireAt.Location() != time.UTC {
			t.Fatalf("%s = %+v\nwant %+v retiring at %v", what, got, want, retireAt)
		}
	}
	got, err := s.GetSigningKey(ctx, "k2")
	mustNil(t, err)
	same("GetSigningKey", got, k2, time.Time{})
	if got.Retired(base.Add(1000 * time.Hour)) {
		t.Fatal("a key without a retirement is retired")
	}
	list := func() []*roster.SigningKey {
		t.Helper()
		keys, err := s.ListSigningKeys(ctx)
		mustNil(t, err)
		if len(keys) != 3 || keys[0].KID != "k1" || keys[1].KID != "k2" || keys[2].KID != "k3" {
			t.Fatalf("ListSigningKeys = %v, want k1 k2 k3", keys)
		}
		return keys
	}
	list()

	// A rotation to k3: k1 and k2 retire at t1, k3 not.
	t1 := base.Add(3 * time.Hour)
	inTx(t, s, func(tx roster.Tx) error { return tx.RetireSigningKeys(ctx, "k3", t1) })
	keys := list()
	same("k1 after a rotation", keys[0], k1, t1)
	same("k2 after a rotation", keys[1], k2, t1)
	same("k3 after a rotation", keys[2], k3, time.Time{})
	if keys[0].Retired(t1.Add(-time.Microsecond)) || !keys[0].Retired(t1) {
		t.Fatal("Retired: a key verifies until its retirement, and not from it on")
	}
	// Another rotation with a later time postpones no retirement; one with an earlier
	// time brings them forward. The key kept is never touched.
	inTx(t, s, func(tx roster.Tx) error { return tx.RetireSigningKeys(ctx, "k3", t1.Add(time.Hour)) })
	keys = list()
	same("k1 after a later rotation", keys[0], k1, t1)
	same("k3 after a later rotation", keys[2], k3, time.Time{})
	t0 := base.Add(150 * time.Minute)
	inTx(t, s, func(tx roster.Tx) error { return tx.RetireSigningKeys(ctx, "k3", t0) })
	keys = list()
	same("k1 after an earlier rotation", keys[0], k1, t0)
	same("k2 after an earlier rotation", keys[1], k2, t0)
	same("k3 after an earlier rotation", keys[2], k3, time.Time{})
	// A rotation keeping k1 retires k3, whatever k1's own retirement.
	inTx(t, s, func(tx roster.Tx) error { return tx.RetireSigningKeys(ctx, "k1", t1) })
	keys = list()
	same("k1 kept", keys[0], k1, t0)
	same("k3 after a rotation keeping k1", keys[2], k3, t1)

	// One key retired at once, whatever its retirement was.
	now := base.Add(2*time.Hour + 30*time.Minute + time.Second)
	inTx(t, s, func(tx roster.Tx) error { return tx.RetireSigningKey(ctx, "k3", now) })
	got, err = s.GetSigningKey(ctx, "k3")
	mustNil(t, err)
	same("k3 retired", got, k3, now)
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.RetireSigningKey(ctx, "k9", now) }), roster.ENOTFOUND)
}

// testOAuthTokens: opaque tokens are found by their hash, which is unique; a refresh
// token is used once, even by two requests at once; expired tokens are deleted, and
// only they.
func testOAuthTokens(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	app := newApp(a, "portal")
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthApp(ctx, app) })
	g := &roster.OAuthGrant{AppID: app.ID, AccountID: a.ID, GrantType: roster.GrantPassword, Scopes: []string{roster.ScopeRead}, CreatedAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
	_, err := s.GetOAuthToken(ctx, hash("access"))
	wantCode(t, err, roster.ENOTFOUND)

	access := &roster.OAuthToken{Hash: hash("access"), GrantID: g.ID, Kind: roster.TokenAccess, CreatedAt: base, ExpiresAt: base.Add(10 * time.Hour)}
	refresh := &roster.OAuthToken{Hash: hash("refresh"), GrantID: g.ID, Kind: roster.TokenRefresh, CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour)}
	short := &roster.OAuthToken{Hash: hash("short"), GrantID: g.ID, Kind: roster.TokenAccess, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	for _, tok := range []*roster.OAuthToken{access, refresh, short} {
		inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthToken(ctx, tok) })
	}
	wantConflict(t, write(s, func(tx roster.Tx) error {
		return tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: hash("access"), GrantID: g.ID, Kind: roster.TokenRefresh, CreatedAt: base, ExpiresAt: base})
	}), "hash")
	// A token belongs to a grant that exists.
	if err := write(s, func(tx roster.Tx) error {
		return tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: hash("orphan"), GrantID: 999, Kind: roster.TokenAccess, CreatedAt: base, ExpiresAt: base})
	}); err == nil {
		t.Fatal("a token of no grant was stored")
	}

	same := func(what string, got, want *roster.OAuthToken, usedAt time.Time) {
		t.Helper()
		if string(got.Hash) != string(want.Hash) || got.GrantID != want.GrantID || got.Kind != want.Kind || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.UsedAt.Equal(usedAt) || got.ExpiresAt.Location() != time.UTC || got.UsedAt.Location() != time.UTC {
			t.Fatalf("%s = %+v\nwant %+v used at %v", what, got, want, usedAt)
		}
	}
	got, err := s.GetOAuthToken(ctx, hash("access"))
	mustNil(t, err)
	same("GetOAuthToken(access)", got, access, time.Time{})
	got, err = s.GetOAuthToken(ctx, hash("refresh"))
	mustNil(t, err)
	same("GetOAuthToken(refresh)", got, refresh, time.Time{})

	// Used once: the second use is a conflict, and keeps the first use's time.
	inTx(t, s, func(tx roster.Tx) error { return tx.UseOAuthToken(ctx, hash("refresh"), base.Add(time.Minute)) })
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.UseOAuthToken(ctx, hash("refresh"), base.Add(2*time.Minute)) }), roster.ECONFLICT)
	got, err = s.GetOAuthToken(ctx, hash("refresh"))
	mustNil(t, err)
	same("a used refresh token", got, refresh, base.Add(time.Minute))
	if err := write(s, func(tx roster.Tx) error { return tx.UseOAuthToken(ctx, hash("nothing"), base) }); err == nil {
		t.Fatal("UseOAuthToken of no token succeeded")
	}
	// A use rolled back with its transaction leaves the token unused.
	wantCode(t, write(s, func(tx roster.Tx) error {
		if err := tx.UseOAuthToken(ctx, hash("short"), base); err != nil {
			return err
		}
		return roster.Errorf(roster.EINVALID, "no")
	}), roster.EINVALID)
	if got, _ := s.GetOAuthToken(ctx, hash("short")); !got.UsedAt.IsZero() {
		t.Fatal("a use rolled back marked the token used")
	}

	// Two uses at once, as from two replicas: exactly one succeeds.
	twin := &roster.OAuthToken{Hash: hash("twin"), GrantID: g.ID, Kind: roster.TokenRefresh, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateOAuthToken(ctx, twin) })
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := write(s, func(tx roster.Tx) error {
				return tx.UseOAuthToken(ctx, hash("twin"), base.Add(time.Duration(i)*time.Second))
			})
			mu.Lock()
			errs = append(errs, roster.ErrorCode(err))
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(errs)
	if want := []string{"", roster.ECONFLICT, roster.ECONFLICT, roster.ECONFLICT, roster.ECONFLICT, roster.ECONFLICT, roster.ECONFLICT, roster.ECONFLICT}; !slices.Equal(errs, want) {
		t.Fatalf("8 uses at once: %q, want one success and 7 conflicts", errs)
	}

	// Deleting the expired: those whose expiry is before now.
	n, err := s.DeleteExpiredOAuthTokens(ctx, base.Add(time.Hour))
	mustNil(t, err)
	if n != 0 {
		t.Fatalf("DeleteExpiredOAuthTokens at the short tokens' expiry removed %d", n)
	}
	n, err = s.DeleteExpiredOAuthTokens(ctx, base.Add(time.Hour+time.Microsecond))
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("DeleteExpiredOAuthTokens removed %d, want the short access token and the twin", n)
	}
	for _, h := range []string{"short", "twin"} {
		_, err = s.GetOAuthToken(ctx, hash(h))
		wantCode(t, err, roster.ENOTFOUND)
	}
	for _, h := range []string{"access", "refresh"} {
		if _, err := s.GetOAuthToken(ctx, hash(h)); err != nil {
			t.Fatalf("%s token deleted before its expiry: %v", h, err)
		}
	}
}

// testOAuthBackup: a backup holds the applications, grants, tokens and signing keys, so
// that tokens issued before it still verify on the restored store, and the restored
// store goes on making applications and grants.
func testOAuthBackup(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	app := newApp(a, "portal")
	g := &roster.OAuthGrant{AppID: app.ID, AccountID: a.ID, GrantType: roster.GrantPassword, Scopes: []string{roster.ScopeRead}, CreatedAt: base}
	k := &roster.SigningKey{KID: "k1", Algorithm: "RS512", PrivateDER: []byte("private"), PublicJWK: `{"kid":"k1"}`, CreatedAt: base, RetireAt: base.Add(time.Hour)}
	inTx(t, s, func(tx roster.Tx) error {
		if err := tx.CreateOAuthApp(ctx, app); err != nil {
			return err
		}
		g.AppID = app.ID
		if err := tx.CreateOAuthGrant(ctx, g); err != nil {
			return err
		}
		if err := tx.CreateOAuthToken(ctx, &roster.OAuthToken{Hash: hash("refresh"), GrantID: g.ID, Kind: roster.TokenRefresh, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.UseOAuthToken(ctx, hash("refresh"), base.Add(time.Minute)); err != nil {
			return err
		}
		return tx.CreateSigningKey(ctx, k)
	})
	path := filepath.Join(t.TempDir(), "backup.db")
	mustNil(t, s.Backup(ctx, path, func(string, int64) {}))
	b, err := sqlite.Open(ctx, path, nil)
	mustNil(t, err)
	defer b.Close()
	if got, err := b.GetOAuthAppByClientID(ctx, "portal"); err != nil || got.ID != app.ID || string(got.SecretHash) != string(app.SecretHash) || got.Owner != a.Username {
		t.Fatalf("backup's application: %+v, %v", got, err)
	}
	if got, acct, err := b.GetOAuthGrantForAuth(ctx, g.ID, "k1", base); err != nil || got.AppID != app.ID || acct.ID != a.ID ||
		!got.KeyKnown || !got.KeyRetireAt.Equal(k.RetireAt) {
		t.Fatalf("backup's grant: %+v, %+v, %v", got, acct, err)
	}
	if got, err := b.GetOAuthToken(ctx, hash("refresh")); err != nil || got.GrantID != g.ID || !got.UsedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("backup's token: %+v, %v", got, err)
	}
	if got, err := b.GetSigningKey(ctx, "k1"); err != nil || string(got.PrivateDER) != "private" {
		t.Fatalf("backup's signing key: %+v, %v", got, err)
	}
	// New rows after the copy take new ids.
	app2 := newApp(a, "after")
	g2 := &roster.OAuthGrant{AccountID: a.ID, GrantType: roster.GrantSession, CreatedAt: base}
	mustNil(t, b.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateOAuthApp(ctx, app2); err != nil {
			return err
		}
		return tx.CreateOAuthGrant(ctx, g2)
	}))
	if app2.ID == app.ID || g2.ID == g.ID {
		t.Fatalf("ids after the copy: application %d (was %d), grant %d (was %d)", app2.ID, app.ID, g2.ID, g.ID)
	}
}
