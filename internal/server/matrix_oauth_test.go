package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/testkit"
)

// The matrix's OAuth2 callers. Rows with cred "session" or "jwt" present, instead of
// each caller's API key, its browser session or its JWT; the callers whose credential
// does not hold present one of that kind that does not hold:
//
//	column       session                           JWT
//	anon         none                              none
//	badkey       a cookie no session has           one signed by a key Roster does not hold
//	revoked      ray's, signed out                 ray's, its grant revoked
//	expired      eve's, past its expiry            eve's, past its expiry
//	deactivated  dave's (deactivated)              dave's (deactivated)
//	rokey        rita's                            rita's, without the write scope
//	the others   their own                         their own (password grant, every scope)
//
// Each cell gets a fresh session or token, so that no cell depends on another.

// matrixApps are the fixture's OAuth2 applications, owned by sid: a confidential
// client-credentials client and a public password client.
type matrixApps struct {
	worker, secret, public string
	// attacker signs the badkey column's JWTs; kid is Roster's signing key's.
	attacker *rsa.PrivateKey
}

// apps makes the applications once, and returns their placeholders: {client},
// {secret} and {public}.
func (f *fixture) apps(t *testing.T) map[string]string {
	if f.oauth == nil {
		worker := must(f.e.OAuth.CreateApp(op(), oauth.AppRequest{Name: "Matrix worker", Owner: roster.AccountRef{Username: "sid"},
			Grants: []string{roster.GrantClientCredentials}}))
		public := must(f.e.OAuth.CreateApp(op(), oauth.AppRequest{Name: "Matrix mobile", Owner: roster.AccountRef{Username: "sid"}, Public: true,
			Grants: []string{roster.GrantPassword}, Scopes: roster.Scopes}))
		f.secrets = append(f.secrets, worker.Secret)
		f.oauth = &matrixApps{worker: worker.App.ClientID, secret: worker.Secret, public: public.App.ClientID,
			attacker: must(rsa.GenerateKey(rand.Reader, 2048))}
	}
	return map[string]string{"client": f.oauth.worker, "secret": f.oauth.secret, "public": f.oauth.public}
}

// signingKeys keeps the private halves of Roster's signing keys among the secrets no
// body may hold (the key set shows their public halves), and returns no placeholder.
func signingKeys(t *testing.T, f *fixture, c *cell) map[string]string {
	if _, err := f.e.OAuth.JWKS(context.Background()); err != nil { // the first key, if none yet
		t.Fatal(err)
	}
	for _, k := range must(f.e.Store.ListSigningKeys(context.Background())) {
		priv := must(x509.ParsePKCS8PrivateKey(k.PrivateDER)).(*rsa.PrivateKey)
		f.secrets = append(f.secrets, base64.RawURLEncoding.EncodeToString(priv.D.Bytes()),
			base64.RawURLEncoding.EncodeToString(priv.Primes[0].Bytes()), base64.StdEncoding.EncodeToString(k.PrivateDER[:64]))
	}
	return nil
}

// oauthApps is a row's preparation: the applications' placeholders.
func oauthApps(t *testing.T, f *fixture, c *cell) map[string]string { return f.apps(t) }

// client is the address the fixture's own sessions and tokens are made from.
var client = roster.Client{IP: "192.0.2.7", UserAgent: "matrix"}

// storeSession stores a session of username directly, as one made before its account
// was deactivated or its expiry passed, and returns its cookie token.
func (f *fixture) storeSession(t *testing.T, username string, expires time.Time) (string, int64) {
	a := must(f.e.Store.GetAccount(context.Background(), roster.AccountRef{Username: username}))
	tok := must(secret.NewToken())
	now := f.clk.Now()
	s := &roster.Session{AccountID: a.ID, Hash: secret.HashToken(tok), CreatedAt: now.Add(-time.Hour), ExpiresAt: expires, LastSeenAt: now.Add(-time.Hour)}
	if err := f.e.Store.InTx(context.Background(), func(tx roster.Tx) error { return tx.CreateSession(context.Background(), s) }); err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, tok)
	return tok, s.ID
}

// sessionOf is the column's session cookie token for one cell ("" for none).
func (f *fixture) sessionOf(t *testing.T, column string) string {
	now := f.clk.Now()
	switch column {
	case "anon":
		return ""
	case "badkey":
		return "Zm9yZ2VkLXNlc3Npb24tdGhhdC1uby1vbmUtd2FzLWV2ZXItZ2l2ZW4"
	case "expired":
		tok, _ := f.storeSession(t, "eve", now.Add(-time.Minute))
		return tok
	case "deactivated":
		tok, _ := f.storeSession(t, "dave", now.Add(time.Hour))
		return tok
	}
	p := f.caller[column]
	s := must(f.e.Svc.Login(context.Background(), roster.Credentials{Login: p.username, Password: p.password}, client))
	f.secrets = append(f.secrets, s.Token)
	if column == "revoked" {
		if err := f.e.Svc.Logout(context.Background(), s.Token); err != nil {
			t.Fatal(err)
		}
	}
	return s.Token
}

// jwtOf is the column's JWT for one cell ("" for none).
func (f *fixture) jwtOf(t *testing.T, column string) string {
	f.apps(t)
	password := func(svc *oauth.Service, p *person, scope string) string {
		tok := must(svc.Token(context.Background(), oauth.TokenRequest{GrantType: "password", ClientID: f.oauth.public,
			Username: p.username, Password: p.password, Scope: scope, TokenType: "jwt"}, client))
		f.secrets = append(f.secrets, tok.AccessToken, tok.RefreshToken)
		return tok.AccessToken
	}
	switch column {
	case "anon":
		return ""
	case "badkey":
		// Roster's claims and kid, signed by the attacker's key.
		real := password(f.e.OAuth, f.people["alice"], "")
		parsed := must(jwt.ParseSigned(real, []jose.SignatureAlgorithm{oauth.Algorithm}))
		var claims map[string]any
		if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
			t.Fatal(err)
		}
		signer := must(jose.NewSigner(jose.SigningKey{Algorithm: oauth.Algorithm, Key: jose.JSONWebKey{Key: f.oauth.attacker, KeyID: parsed.Headers[0].KeyID}},
			(&jose.SignerOptions{}).WithType("JWT")))
		return must(jwt.Signed(signer).Claims(claims).Serialize())
	case "revoked":
		tok := password(f.e.OAuth, f.caller[column], "")
		gs := must(f.e.Store.ListOAuthGrants(context.Background(), must(f.e.Store.GetAccount(context.Background(), roster.AccountRef{Username: "ray"})).ID))
		must(f.e.OAuth.RevokeGrant(op(), gs[len(gs)-1].ID))
		return tok
	case "expired":
		// Issued two hours ago, by a replica whose tokens live an hour.
		earlier := oauth.New(f.e.Store, f.e.Svc, oauth.Config{Now: func() time.Time { return f.clk.Now().Add(-2 * time.Hour) }})
		return password(earlier, f.caller[column], "")
	case "deactivated":
		// The JWT cookies of a browser that signed in before the account was deactivated.
		_, sid := f.storeSession(t, "dave", f.clk.Now().Add(time.Hour))
		a := must(f.e.Store.GetAccount(context.Background(), roster.AccountRef{Username: "dave"}))
		tok := must(f.e.OAuth.SessionToken(roster.NewContextWithActor(context.Background(), roster.Actor{AccountID: a.ID, Username: a.Username, SessionID: sid})))
		f.secrets = append(f.secrets, tok.AccessToken)
		return tok.AccessToken
	case "rokey":
		return password(f.e.OAuth, f.caller[column], strings.Join([]string{roster.ScopeRead, roster.ScopeEmail, roster.ScopeProfile}, " "))
	}
	return password(f.e.OAuth, f.caller[column], "")
}

// sendAs sends a row whose callers present sessions or JWTs.
func (f *fixture) sendAs(t *testing.T, r row, c *cell, path, body string) testkit.Reply {
	var h []string
	switch r.surface {
	case "openedx":
		h = append(h, "Content-Type", "application/merge-patch+json")
	case "oauth2":
		h = append(h, "Content-Type", "application/x-www-form-urlencoded")
	default:
		h = append(h, "Content-Type", "application/json")
	}
	switch r.cred {
	case "session":
		if tok := f.sessionOf(t, c.column); tok != "" {
			h = append(h, "Cookie", "roster_session="+tok)
		}
	case "jwt":
		if tok := f.jwtOf(t, c.column); tok != "" {
			scheme := "Bearer"
			if r.surface == "openedx" {
				scheme = "JWT" // Open edX's scheme; its surface takes Bearer too
			}
			h = append(h, "Authorization", scheme+" "+tok)
		}
	default:
		t.Fatalf("%s %s: no callers present %q", r.method, r.path, r.cred)
	}
	return f.e.Do(t, r.method, path, body, h...)
}

// oauth2 is a row of the token endpoint or the key set. They read no credential of the
// caller's (the token endpoint authenticates the client named in its form): every
// caller sends its key, and every cell is alike.
func oauth2(method, route, path, body, cells string) row {
	return row{surface: "oauth2", route: route, method: method, path: path, body: body, cells: cells}
}

// as makes a row's callers present sessions or JWTs (cred "session" or "jwt").
func as(cred string, r row) row {
	r.cred = cred
	return r
}

// every is a row's cells when each caller gets cell.
func every(cell string) string { return strings.TrimSpace(strings.Repeat(cell+" ", len(columns))) }
