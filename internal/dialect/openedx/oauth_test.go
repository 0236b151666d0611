package openedx_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// The token service over HTTP, through the production handler, on both engines: Open
// edX's token endpoint, its JWTs and bearer tokens on every surface that takes a bearer
// credential, their refusals, the signing keys' rotation, replicas, and /login_refresh.

// oauthFixture is a test's accounts and applications:
//
//	svc    staff, owns worker (a confidential client-credentials client: edx-rest-api-client)
//	alice  a plain account with a password; root, a system administrator
//	mobile a public password client (the mobile apps; no secret)
//	portal a confidential password client, which also authenticates with HTTP Basic
type oauthFixture struct {
	e     *testkit.Env
	clk   *testkit.Clock
	key   map[string]string // API keys by username
	acct  map[string]*roster.Record
	apps  map[string]*oauth.NewApp
	email map[string]string
}

const alicePassword = "alice password 1"

// oauthEngines runs fn on both engines, with the clock standing still at the start of
// the test unless fn moves it; setup may adjust more.
func oauthEngines(t *testing.T, setup testkit.Setup, fn func(t *testing.T, f *oauthFixture)) {
	clk := &testkit.Clock{}
	adjust := setup.Core
	setup.Core = func(c *core.Config) {
		c.Now = clk.Now
		if adjust != nil {
			adjust(c)
		}
	}
	testkit.Run(t, setup, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC().Truncate(time.Second))
		fn(t, newOAuthFixture(t, e, clk))
	})
}

func newOAuthFixture(t *testing.T, e *testkit.Env, clk *testkit.Clock) *oauthFixture {
	t.Helper()
	f := &oauthFixture{e: e, clk: clk, key: map[string]string{}, acct: map[string]*roster.Record{}, apps: map[string]*oauth.NewApp{}, email: map[string]string{}}
	for _, in := range []map[string]any{
		{"username": "svc", "email": "svc@example.org", "name": "Service Worker", "staff": true},
		{"username": "alice", "email": "alice@example.org", "name": "Alice Liddell", "password": alicePassword},
		{"username": "bob", "email": "bob@example.org", "name": "Bob Builder", "password": "bob password 1"},
		{"username": "root", "email": "root@example.org", "sysadmin": true},
	} {
		rec, key := e.Account(t, in)
		f.acct[rec.Username], f.key[rec.Username], f.email[rec.Username] = rec, key, in["email"].(string)
	}
	for name, req := range map[string]oauth.AppRequest{
		"worker": {Name: "Worker", Owner: roster.AccountRef{Username: "svc"}, Grants: []string{roster.GrantClientCredentials}},
		"mobile": {Name: "Mobile", Owner: roster.AccountRef{Username: "svc"}, Public: true, Grants: []string{roster.GrantPassword}},
		"portal": {Name: "Portal", Owner: roster.AccountRef{Username: "svc"}, Grants: []string{roster.GrantPassword},
			Scopes: []string{roster.ScopeRead, roster.ScopeEmail}},
	} {
		app, err := e.OAuth.CreateApp(testkit.Operator(), req)
		if err != nil {
			t.Fatalf("app %s: %v", name, err)
		}
		f.apps[name] = app
	}
	return f
}

// token posts a form to the token endpoint of e, with header pairs.
func token(t *testing.T, e *testkit.Env, form url.Values, header ...string) testkit.Reply {
	t.Helper()
	return e.Do(t, "POST", "/oauth2/access_token", form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

func (f *oauthFixture) clientCredentials(extra ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.apps["worker"].App.ClientID}, "client_secret": {f.apps["worker"].Secret}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func (f *oauthFixture) password(username, password string, extra ...string) url.Values {
	v := url.Values{"grant_type": {"password"}, "client_id": {f.apps["mobile"].App.ClientID}, "username": {username}, "password": {password}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

// issued is a token endpoint's success, read field by field.
type issued struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

// wantIssued checks an answer is a token, in django-oauth-toolkit's order and with
// exactly its keys, kept out of caches, and returns it.
func wantIssued(t *testing.T, r testkit.Reply, tokenType string, expiresIn int, scope string, refresh bool) issued {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	keys := `"access_token","expires_in","token_type","scope"`
	if refresh {
		keys += `,"refresh_token"`
	}
	if got := jsonKeys(t, r.Body); got != keys {
		t.Fatalf("token's keys %s, want %s: %s", got, keys, r.Body)
	}
	var tok issued
	if err := json.Unmarshal([]byte(r.Body), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != tokenType || tok.ExpiresIn != expiresIn || tok.Scope != scope || (tok.RefreshToken != "") != refresh {
		t.Fatalf("token %s, want %s for %d s, scope %q, refresh token %v", r.Body, tokenType, expiresIn, scope, refresh)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("token's headers: %v", r.Header)
	}
	return tok
}

// jsonKeys lists an object's keys in their order, quoted, comma-separated.
func jsonKeys(t *testing.T, body string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	if tk, err := dec.Token(); err != nil || tk != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, strconv.Quote(k.(string)))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(keys, ",")
}

// wantOAuthError checks an OAuth2 error answer (RFC 6749, section 5.2).
func wantOAuthError(t *testing.T, r testkit.Reply, status int, code, description string) {
	t.Helper()
	var body map[string]string
	if r.Status != status || json.Unmarshal([]byte(r.Body), &body) != nil || len(body) != 2 || body["error"] != code ||
		(description != "" && body["error_description"] != description) || body["error_description"] == "" {
		t.Fatalf("got %d %s\nwant %d {error: %s, error_description: %q}", r.Status, r.Body, status, code, description)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error's headers: %v", r.Header)
	}
}

// segments decodes a JWT's header and claims.
func segments(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("segment %d: %v: %s", i, err, b)
		}
	}
	return header, claims
}

// wantClaims checks claims has exactly the keys of want, with its values (compared as
// JSON), but for the names of check, which it calls.
func wantClaims(t *testing.T, claims map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		got, ok := claims[k]
		if !ok {
			t.Errorf("claim %s missing", k)
			continue
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("claim %s = %s, want %s", k, gb, wb)
		}
	}
	for k, v := range claims {
		if _, ok := want[k]; !ok {
			t.Errorf("claim %s = %v, not expected", k, v)
		}
	}
}

// call sends GET path with an Authorization header of scheme and tok.
func call(t *testing.T, e *testkit.Env, path, scheme, tok string) testkit.Reply {
	t.Helper()
	return e.Do(t, "GET", path, "", "Authorization", scheme+" "+tok)
}

// wantUser checks that a JWT or bearer token authenticates as username on Open edX's
// /me and account, and on /v1/me.
func wantUser(t *testing.T, e *testkit.Env, scheme, tok, username string) {
	t.Helper()
	want(t, call(t, e, "/api/user/v1/me", scheme, tok), 200, `{"username":"`+username+`"}`)
	r := call(t, e, "/api/user/v1/accounts/"+username, scheme, tok)
	if r.Status != 200 || !strings.Contains(r.Body, `"username":"`+username+`"`) || !strings.Contains(r.Body, `"email":"`+username+`@example.org"`) {
		t.Fatalf("account as its owner: %d %s", r.Status, r.Body)
	}
	v1 := call(t, e, "/v1/me", "Bearer", tok)
	if v1.Status != 200 || !strings.Contains(v1.Body, `"username":"`+username+`"`) {
		t.Fatalf("/v1/me with Bearer: %d %s", v1.Status, v1.Body)
	}
}

// wantJWTRefused checks Open edX's refusal of a JWT, in drf-jwt's words, on Open edX's
// API (any of details when several), and /v1's refusal of it as a bearer token.
func wantJWTRefused(t *testing.T, e *testkit.Env, tok string, details ...string) {
	t.Helper()
	r := call(t, e, "/api/user/v1/me", "JWT", tok)
	var body map[string]string
	if r.Status != 401 || json.Unmarshal([]byte(r.Body), &body) != nil || len(body) != 1 || !slices.Contains(details, body["detail"]) {
		t.Fatalf("JWT refused: %d %s, want 401 with detail %q", r.Status, r.Body, details)
	}
	if r.Header.Get("WWW-Authenticate") != `JWT realm="api"` {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	if r := call(t, e, "/v1/me", "Bearer", tok); r.Status != 401 {
		t.Fatalf("/v1/me with a refused JWT: %d %s", r.Status, r.Body)
	}
}

// jwks reads a key set and returns it with its kids, newest first.
func jwks(t *testing.T, e *testkit.Env, path string) (jose.JSONWebKeySet, []string) {
	t.Helper()
	r := e.Do(t, "GET", path, "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET %s: %d %v %s", path, r.Status, r.Header, r.Body)
	}
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal([]byte(r.Body), &raw); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range raw.Keys {
		// Public halves only, as Open edX's JWT_PUBLIC_SIGNING_JWK_SET holds them.
		for name := range k {
			if !slices.Contains([]string{"kty", "kid", "alg", "use", "n", "e"}, name) {
				t.Fatalf("a key of the set holds %q: %s", name, r.Body)
			}
		}
		if k["kty"] != "RSA" || k["alg"] != "RS512" || k["use"] != "sig" {
			t.Fatalf("key %v", k)
		}
		kids = append(kids, k["kid"].(string))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.Body), &set); err != nil {
		t.Fatal(err)
	}
	return set, kids
}

// TestClientCredentialsJWT: edx-rest-api-client's request (client credentials,
// token_type=jwt) gets Open edX's answer and Open edX's JWT, which a service can verify
// with the published key set and which authenticates on Open edX's API (scheme JWT) and
// on /v1 (Bearer) as the application's owner.
func TestClientCredentialsJWT(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		e := f.e
		tok := wantIssued(t, token(t, e, f.clientCredentials("token_type", "jwt")), "JWT", 3600, "read write email profile", false)
		header, claims := segments(t, tok.AccessToken)
		set, kids := jwks(t, e, "/.well-known/jwks.json")
		if len(kids) != 1 {
			t.Fatalf("key set %v, want the one key that signs", kids)
		}
		wantClaims(t, header, map[string]any{"alg": "RS512", "kid": kids[0], "typ": "JWT"})
		if _, again := jwks(t, e, "/oauth2/jwks.json"); !slices.Equal(again, kids) {
			t.Fatalf("/oauth2/jwks.json %v, /.well-known/jwks.json %v", again, kids)
		}

		grantID, _ := claims["grant_id"].(float64)
		g, err := e.Store.GetOAuthGrant(t.Context(), int64(grantID))
		if err != nil || g.AppID != f.apps["worker"].App.ID || g.AccountID != f.acct["svc"].ID || g.GrantType != roster.GrantClientCredentials {
			t.Fatalf("the token's grant %v: %+v, %v", claims["grant_id"], g, err)
		}
		svc, err := e.Store.GetAccount(t.Context(), roster.AccountRef{Username: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		now := f.clk.Now().Unix()
		wantC := map[string]any{"iss": "roster", "aud": "roster", "sub": svc.UUID, "iat": now, "exp": now + 3600,
			"preferred_username": "svc", "grant_type": "client-credentials", "scopes": []string{"read", "write", "email", "profile"},
			"filters": []string{}, "version": "1.2.0", "is_restricted": false, "email_verified": true, "email": "svc@example.org",
			"name": "Service Worker", "administrator": true, "superuser": false, "grant_id": g.ID}
		if svc.FirstName != "" {
			wantC["given_name"] = svc.FirstName
		}
		if svc.LastName != "" {
			wantC["family_name"] = svc.LastName
		}
		wantClaims(t, claims, wantC)

		// A service verifies it with the key set alone, as edx-drf-extensions does.
		parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.RS512})
		if err != nil {
			t.Fatal(err)
		}
		var std jwt.Claims
		if err := parsed.Claims(set.Key(kids[0])[0].Key, &std); err != nil {
			t.Fatalf("the JWKS key does not verify the token: %v", err)
		}

		wantUser(t, e, "JWT", tok.AccessToken, "svc")
		// The token's scopes hold write: it changes its owner's account.
		r := e.Do(t, "PATCH", "/api/user/v1/accounts/svc", `{"bio": "by token"}`, "Authorization", "JWT "+tok.AccessToken,
			"Content-Type", "application/merge-patch+json")
		if r.Status != 200 || !strings.Contains(r.Body, `"bio":"by token"`) {
			t.Fatalf("PATCH with a write token: %d %s", r.Status, r.Body)
		}

		// Narrower scopes: no profile claims, no email; without write, read-only.
		tok = wantIssued(t, token(t, e, f.clientCredentials("token_type", "JWT", "scope", "read read")), "JWT", 3600, "read", false)
		_, claims = segments(t, tok.AccessToken)
		for _, k := range []string{"email", "name", "given_name", "family_name", "administrator", "superuser", "user_id"} {
			if v, ok := claims[k]; ok {
				t.Errorf("a read-scoped token's claim %s = %v", k, v)
			}
		}
		wantClaims(t, map[string]any{"scopes": claims["scopes"]}, map[string]any{"scopes": []string{"read"}})
		want(t, call(t, e, "/api/user/v1/me", "JWT", tok.AccessToken), 200, `{"username":"svc"}`)
		r = e.Do(t, "PATCH", "/api/user/v1/accounts/svc", `{"bio": "read-only"}`, "Authorization", "JWT "+tok.AccessToken,
			"Content-Type", "application/merge-patch+json")
		if r.Status != 403 {
			t.Fatalf("PATCH with a read-only token: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, "PATCH", "/v1/me", `{"bio": "read-only"}`, "Authorization", "Bearer "+tok.AccessToken, "Content-Type", "application/json"); r.Status != 403 {
			t.Fatalf("PATCH /v1/me with a read-only token: %d %s", r.Status, r.Body)
		}
		// The token endpoint reads X-Token-Type too, as Open edX's clients may send it.
		wantIssued(t, token(t, e, f.clientCredentials(), "X-Token-Type", "jwt"), "JWT", 3600, "read write email profile", false)
	})
}

// TestBearerTokens: without token_type, a token is opaque, Open edX's default, and
// lives ten hours; it works as Authorization: Bearer on every surface that takes one.
func TestBearerTokens(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		e := f.e
		tok := wantIssued(t, token(t, e, f.clientCredentials()), "Bearer", 36000, "read write email profile", false)
		if oauth.IsJWT(tok.AccessToken) || strings.HasPrefix(tok.AccessToken, "rk_") {
			t.Fatalf("an opaque token %q", tok.AccessToken)
		}
		wantUser(t, e, "Bearer", tok.AccessToken, "svc")
		// CKAN takes a bearer credential wherever it takes a key.
		r := e.Do(t, "POST", "/api/3/action/user_show", `{"id": "svc"}`, "Authorization", "Bearer "+tok.AccessToken, "Content-Type", "application/json")
		if r.Status != 200 || !strings.Contains(r.Body, `"email": "svc@example.org"`) {
			t.Fatalf("CKAN user_show with a bearer token: %d %s", r.Status, r.Body)
		}

		// A refresh token is no access token.
		pw := wantIssued(t, token(t, e, f.password("alice", alicePassword)), "Bearer", 36000, "read write email profile user_id", true)
		want(t, call(t, e, "/api/user/v1/me", "Bearer", pw.RefreshToken), 401,
			`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)
		wantUser(t, e, "Bearer", pw.AccessToken, "alice")

		// Ten hours on, it has expired: edx-drf-extensions' words.
		f.clk.Advance(10*time.Hour - time.Second)
		want(t, call(t, e, "/api/user/v1/me", "Bearer", tok.AccessToken), 200, `{"username":"svc"}`)
		f.clk.Advance(time.Second)
		want(t, call(t, e, "/api/user/v1/me", "Bearer", tok.AccessToken), 401,
			`{"error_code":"token_expired","developer_message":"The provided access token has expired and is no longer valid."}`)
		if r := call(t, e, "/v1/me", "Bearer", tok.AccessToken); r.Status != 401 {
			t.Fatalf("/v1/me with an expired token: %d %s", r.Status, r.Body)
		}
	})
}

// TestPasswordGrant: the mobile apps' public client signs people in with their
// passwords; refresh tokens rotate, and a used one shown again revokes its family.
func TestPasswordGrant(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		e := f.e
		first := wantIssued(t, token(t, e, f.password("alice", alicePassword, "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true)
		_, claims := segments(t, first.AccessToken)
		if claims["grant_type"] != "password" || claims["user_id"] != float64(f.acct["alice"].ID) || claims["preferred_username"] != "alice" ||
			fmt.Sprint(claims["filters"]) != "[user:me]" || claims["administrator"] != false {
			t.Fatalf("a password grant's claims: %v", claims)
		}
		wantUser(t, e, "JWT", first.AccessToken, "alice")
		// Signing in by email works as at sign-in.
		wantIssued(t, token(t, e, f.password("alice@example.org", alicePassword)), "Bearer", 36000, "read write email profile user_id", true)

		// A refresh: a new access token and a new refresh token, in the same family.
		refresh := func(rt string, extra ...string) testkit.Reply {
			v := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID}, "refresh_token": {rt}}
			for i := 0; i+1 < len(extra); i += 2 {
				v.Set(extra[i], extra[i+1])
			}
			return token(t, e, v)
		}
		f.clk.Advance(time.Minute)
		second := wantIssued(t, refresh(first.RefreshToken, "token_type", "jwt"), "JWT", 3600, "read write email profile user_id", true)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("a refresh gave back the same tokens")
		}
		_, claims2 := segments(t, second.AccessToken)
		if claims2["grant_id"] != claims["grant_id"] {
			t.Fatalf("a refresh changed the family: %v, %v", claims["grant_id"], claims2["grant_id"])
		}
		wantUser(t, e, "JWT", second.AccessToken, "alice")
		// A refresh may narrow the scopes, never widen them past what the grant was given
		// (RFC 6749, section 6: the scopes "originally granted").
		third := wantIssued(t, refresh(second.RefreshToken, "scope", "read"), "Bearer", 36000, "read", true)
		fourth := wantIssued(t, refresh(third.RefreshToken), "Bearer", 36000, "read write email profile user_id", true)
		narrow := wantIssued(t, token(t, e, f.password("alice", alicePassword, "scope", "read")), "Bearer", 36000, "read user_id", true)
		wantOAuthError(t, refresh(narrow.RefreshToken, "scope", "read write"), 400, "invalid_scope", "")
		wantIssued(t, refresh(narrow.RefreshToken, "scope", "user_id"), "Bearer", 36000, "user_id", true)
		wantUser(t, e, "Bearer", fourth.AccessToken, "alice")
		// Another application cannot use it.
		wantOAuthError(t, token(t, e, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["portal"].App.ClientID},
			"client_secret": {f.apps["portal"].Secret}, "refresh_token": {fourth.RefreshToken}}), 400, "invalid_grant", "")

		// The first refresh token, used already, comes back: it was copied. The whole
		// family is revoked: the newest tokens stop working too.
		wantOAuthError(t, refresh(first.RefreshToken), 400, "invalid_grant", "The refresh token is invalid, expired or revoked.")
		want(t, call(t, e, "/api/user/v1/me", "Bearer", fourth.AccessToken), 401,
			`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)
		wantJWTRefused(t, e, second.AccessToken, "Invalid token.")
		wantOAuthError(t, refresh(fourth.RefreshToken), 400, "invalid_grant", "")
		g, err := e.Store.GetOAuthGrant(t.Context(), int64(claims["grant_id"].(float64)))
		if err != nil || g.RevokedAt.IsZero() {
			t.Fatalf("the family after reuse: %+v, %v", g, err)
		}
		if !strings.Contains(e.Logs.String(), "refresh token reused") {
			t.Fatal("the reuse was not logged")
		}

		// Refusals, in django-oauth-toolkit's words and statuses.
		wantOAuthError(t, token(t, e, f.password("alice", "wrong password")), 400, "invalid_grant", "Invalid credentials given.")
		wantOAuthError(t, token(t, e, f.password("nobody", "wrong password")), 400, "invalid_grant", "Invalid credentials given.")
		wantOAuthError(t, token(t, e, f.password("alice", "")), 400, "invalid_request", "")
		wantOAuthError(t, token(t, e, f.password("alice", alicePassword, "client_id", "no-such-client")), 401, "invalid_client", "Client authentication failed.")
		wantOAuthError(t, token(t, e, f.password("alice", alicePassword, "client_id", "")), 401, "invalid_client", "")
		// The worker may use client credentials only; the mobile app, passwords only.
		wantOAuthError(t, token(t, e, url.Values{"grant_type": {"password"}, "client_id": {f.apps["worker"].App.ClientID},
			"client_secret": {f.apps["worker"].Secret}, "username": {"alice"}, "password": {alicePassword}}), 400, "unauthorized_client", "")
		wantOAuthError(t, token(t, e, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.apps["mobile"].App.ClientID}}), 400, "unauthorized_client", "")
		wantOAuthError(t, token(t, e, f.password("alice", alicePassword, "grant_type", "authorization_code")), 400, "unsupported_grant_type", "")
		wantOAuthError(t, token(t, e, f.password("alice", alicePassword, "grant_type", "")), 400, "invalid_request", "Request is missing grant_type.")
		wantOAuthError(t, token(t, e, f.clientCredentials("scope", "read user_id")), 400, "invalid_scope", "")
		wantOAuthError(t, token(t, e, f.clientCredentials("scope", "admin")), 400, "invalid_scope", "")
		wantOAuthError(t, token(t, e, f.password("alice", alicePassword, "client_id", f.apps["portal"].App.ClientID, "scope", "write")), 401, "invalid_client", "")
		r := e.Do(t, "GET", "/oauth2/access_token?"+f.clientCredentials().Encode(), "")
		wantOAuthError(t, r, 405, "invalid_request", "")
		if r.Header.Get("Allow") != "POST" {
			t.Fatalf("Allow %q", r.Header.Get("Allow"))
		}
		body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": f.apps["worker"].App.ClientID, "client_secret": f.apps["worker"].Secret})
		wantOAuthError(t, e.Do(t, "POST", "/oauth2/access_token", string(body), "Content-Type", "application/json"), 400, "invalid_request", "")
		wantOAuthError(t, e.Do(t, "POST", "/oauth2/access_token", "grant_type=%zz", "Content-Type", "application/x-www-form-urlencoded"), 400, "invalid_request", "")
		// A field too long is refused before anything is looked up.
		wantOAuthError(t, token(t, e, f.password("alice", strings.Repeat("p", 1001))), 400, "invalid_request", "")

		// A confidential client: its secret in the form, or in HTTP Basic.
		portal := f.apps["portal"]
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(portal.App.ClientID+":"+portal.Secret))
		pw := url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob password 1"}}
		wantIssued(t, token(t, e, pw, "Authorization", basic), "Bearer", 36000, "read email user_id", true)
		r = token(t, e, pw, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(portal.App.ClientID+":wrong")))
		wantOAuthError(t, r, 401, "invalid_client", "")
		if r.Header.Get("WWW-Authenticate") != `Basic realm="oauth2"` {
			t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
		pw.Set("client_id", portal.App.ClientID)
		wantOAuthError(t, token(t, e, pw), 401, "invalid_client", "")
		pw.Set("client_secret", portal.Secret)
		wantIssued(t, token(t, e, pw, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("other:wrong"))), "Bearer", 36000, "read email user_id", true)
		// The trailing slash Open edX's clients send reaches the same endpoint.
		r = e.Do(t, "POST", "/oauth2/access_token/", pw.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		wantIssued(t, r, "Bearer", 36000, "read email user_id", true)
	})
}

// TestConcurrentRefreshes: a refresh token sent by several requests at once (a copy
// racing its owner, or two replicas) is used once: one request gets new tokens, every
// other is refused as a reuse, and the family is revoked, whatever the interleaving.
func TestConcurrentRefreshes(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		replicas := []*testkit.Env{f.e, f.e.Replica(t)}
		first := wantIssued(t, token(t, f.e, f.password("alice", alicePassword)), "Bearer", 36000, "read write email profile user_id", true)
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID}, "refresh_token": {first.RefreshToken}}
		replies := make(chan testkit.Reply, 8)
		for i := range cap(replies) {
			go func() {
				e := replicas[i%2]
				req, _ := http.NewRequest("POST", e.URL+"/oauth2/access_token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := e.Client().Do(req)
				if err != nil {
					replies <- testkit.Reply{Body: err.Error()}
					return
				}
				defer resp.Body.Close()
				var b strings.Builder
				_, _ = io.Copy(&b, resp.Body)
				replies <- testkit.Reply{Status: resp.StatusCode, Header: resp.Header, Body: b.String()}
			}()
		}
		var won []issued
		for range cap(replies) {
			r := <-replies
			if r.Status == 200 {
				won = append(won, wantIssued(t, r, "Bearer", 36000, "read write email profile user_id", true))
				continue
			}
			wantOAuthError(t, r, 400, "invalid_grant", "")
		}
		if len(won) != 1 {
			t.Fatalf("%d of 8 refreshes with one token succeeded", len(won))
		}
		// The others' reuse revoked the family, the winner's new tokens with it.
		want(t, call(t, f.e, "/api/user/v1/me", "Bearer", won[0].AccessToken), 401,
			`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)
		wantOAuthError(t, token(t, f.e, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID},
			"refresh_token": {won[0].RefreshToken}}), 400, "invalid_grant", "")
	})
}

// TestTokenEndpointThrottles: wrong client secrets count as bad keys, wrong passwords as
// failed sign-ins, and past the allowance the endpoint answers 429 with Retry-After.
func TestTokenEndpointThrottles(t *testing.T) {
	setup := testkit.Setup{Core: func(c *core.Config) { c.LoginFailuresAllowed, c.KeyFailuresAllowed = 2, 2 }}
	oauthEngines(t, setup, func(t *testing.T, f *oauthFixture) {
		e := f.e
		wantThrottled := func(r testkit.Reply) {
			t.Helper()
			wantOAuthError(t, r, 429, "slow_down", "")
			if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		}
		for range 2 {
			wantOAuthError(t, token(t, e, f.password("alice", "wrong password")), 400, "invalid_grant", "Invalid credentials given.")
		}
		wantThrottled(token(t, e, f.password("alice", "wrong password")))
		// Blocked: the right password too, until the block ends.
		wantThrottled(token(t, e, f.password("alice", alicePassword)))
		// Sign-in shares the count.
		if r := e.Do(t, "POST", "/v1/session", `{"username": "alice", "password": "`+alicePassword+`"}`, "Content-Type", "application/json"); r.Status != 429 {
			t.Fatalf("sign-in after the token endpoint's failures: %d %s", r.Status, r.Body)
		}
		f.clk.Advance(time.Hour)
		wantIssued(t, token(t, e, f.password("alice", alicePassword)), "Bearer", 36000, "read write email profile user_id", true)

		// Wrong client secrets, and unknown clients.
		bad := f.clientCredentials("client_secret", "wrong")
		wantOAuthError(t, token(t, e, bad), 401, "invalid_client", "")
		wantOAuthError(t, token(t, e, f.clientCredentials("client_id", "unknown")), 401, "invalid_client", "")
		wantThrottled(token(t, e, bad))
		wantThrottled(token(t, e, f.clientCredentials("client_id", "unknown")))
		// The right secret is not slowed, as a valid API key is not: it cannot be guessed.
		wantIssued(t, token(t, e, f.clientCredentials()), "Bearer", 36000, "read write email profile", false)
		// Bad tokens share the keys' count.
		if r := call(t, e, "/api/user/v1/me", "Bearer", "not-a-token"); r.Status != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a bad token from a blocked address: %d %s", r.Status, r.Body)
		}
		f.clk.Advance(time.Hour)
		wantOAuthError(t, token(t, e, bad), 401, "invalid_client", "")
	})
}

// forge signs claims with key under kid and algorithm alg.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestJWTRefusals: what the issue requires refused is refused, on Open edX's API and on
// /v1: an expired token, a tampered one, one signed by a key Roster does not hold
// (under Roster's kid or another), alg none, HS512 keyed with the public key, and one
// signed by Roster's own key for another issuer or audience.
func TestJWTRefusals(t *testing.T) {
	// Every forgery counts against the address as a bad key: this test sends more than
	// the default allows. Throttling has its own test.
	setup := testkit.Setup{Core: func(c *core.Config) { c.KeyFailuresAllowed = 1000 }}
	oauthEngines(t, setup, func(t *testing.T, f *oauthFixture) {
		e := f.e
		tok := wantIssued(t, token(t, e, f.clientCredentials("token_type", "jwt")), "JWT", 3600, "read write email profile", false).AccessToken
		header, claims := segments(t, tok)
		kid := header["kid"].(string)
		parts := strings.Split(tok, ".")
		decoding := []string{"Error decoding token.", "Invalid token."}

		// Tampered: the payload changed, the signature kept.
		tampered := maps(claims, "preferred_username", "root", "administrator", true, "superuser", true)
		wantJWTRefused(t, e, parts[0]+"."+b64(tampered)+"."+parts[2], decoding...)
		wantJWTRefused(t, e, parts[0]+"."+b64(maps(claims, "exp", claims["exp"].(float64)+86400))+"."+parts[2], decoding...)
		// The signature of another token.
		other := strings.Split(wantIssued(t, token(t, e, f.password("alice", alicePassword, "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true).AccessToken, ".")
		wantJWTRefused(t, e, parts[0]+"."+parts[1]+"."+other[2], decoding...)
		wantJWTRefused(t, e, parts[0]+"."+parts[1]+".", decoding...)

		// Signed by a key Roster does not hold, under its kid and another.
		mine, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		wantJWTRefused(t, e, forge(t, jose.RS512, mine, kid, claims), decoding...)
		wantJWTRefused(t, e, forge(t, jose.RS512, mine, "attacker", claims), decoding...)
		wantJWTRefused(t, e, forge(t, jose.RS256, mine, kid, claims), decoding...)

		// alg none, with and without a kid.
		wantJWTRefused(t, e, b64(map[string]any{"alg": "none", "typ": "JWT", "kid": kid})+"."+parts[1]+".", decoding...)
		wantJWTRefused(t, e, b64(map[string]any{"alg": "none", "typ": "JWT"})+"."+parts[1]+".", decoding...)
		wantJWTRefused(t, e, b64(map[string]any{"alg": "None", "typ": "JWT", "kid": kid})+"."+parts[1]+"."+parts[2], decoding...)

		// HS512 keyed with the public key, as a verifier that trusted the header's alg
		// would check it: the key set's JWK, its PEM, its DER.
		set, _ := jwks(t, e, "/.well-known/jwks.json")
		pub := set.Key(kid)[0].Key.(*rsa.PublicKey)
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		jwk, _ := set.Key(kid)[0].MarshalJSON()
		for _, secret := range [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), der, jwk, x509.MarshalPKCS1PublicKey(pub)} {
			wantJWTRefused(t, e, forge(t, jose.HS512, secret, kid, claims), decoding...)
		}

		// Signed by Roster's own key, with an algorithm Roster does not sign with: only
		// RS512 verifies.
		stored, err := e.Store.GetSigningKey(t.Context(), kid)
		if err != nil {
			t.Fatal(err)
		}
		own, err := x509.ParsePKCS8PrivateKey(stored.PrivateDER)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.PS512} {
			wantJWTRefused(t, e, forge(t, alg, own, kid, claims), decoding...)
		}
		// The control: the same claims signed so with RS512 verify, so the refusals above
		// are the algorithm's.
		want(t, call(t, e, "/api/user/v1/me", "JWT", forge(t, jose.RS512, own, kid, claims)), 200, `{"username":"svc"}`)

		// Signed by Roster's key, but for another issuer or audience (another
		// deployment sharing the store's keys would issue these).
		for _, cfg := range []oauth.Config{{Issuer: "https://lms.example.org/oauth2"}, {Audience: "another"}} {
			cfg.Now = f.clk.Now
			foreign, err := oauth.New(e.Store, e.Svc, cfg).Token(testkit.Operator(), oauth.TokenRequest{GrantType: "client_credentials",
				ClientID: f.apps["worker"].App.ClientID, ClientSecret: f.apps["worker"].Secret, TokenType: "jwt"}, roster.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := segments(t, foreign.AccessToken); h["kid"] != kid {
				t.Fatalf("signed by %v, not Roster's key %s", h["kid"], kid)
			}
			wantJWTRefused(t, e, foreign.AccessToken, decoding...)
		}

		// The token itself still works: nothing above harmed it.
		wantUser(t, e, "JWT", tok, "svc")
		// Expired: drf-jwt's words. Clocks a few seconds apart are forgiven.
		f.clk.Advance(time.Hour + 5*time.Second)
		want(t, call(t, e, "/api/user/v1/me", "JWT", tok), 200, `{"username":"svc"}`)
		f.clk.Advance(time.Second)
		want(t, call(t, e, "/api/user/v1/me", "JWT", tok), 401, `{"detail":"Token has expired."}`)
		want(t, call(t, e, "/api/user/v1/me", "Bearer", tok), 401,
			`{"error_code":"token_expired","developer_message":"The provided access token has expired and is no longer valid."}`)
		if r := call(t, e, "/v1/me", "Bearer", tok); r.Status != 401 {
			t.Fatalf("/v1/me with an expired JWT: %d %s", r.Status, r.Body)
		}
	})
}

// maps returns a copy of m with the pairs kv set.
func maps(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestKeyRotation: after a rotation the new key signs, and the old one verifies the
// tokens it signed for the overlap, then nothing; the key set follows. A key retired at
// once verifies nothing from then on.
func TestKeyRotation(t *testing.T) {
	// Tokens live an hour; the old key verifies for half of that after a rotation.
	setup := testkit.Setup{OAuth: func(c *oauth.Config) { c.KeyOverlap = 30 * time.Minute }}
	oauthEngines(t, setup, func(t *testing.T, f *oauthFixture) {
		e := f.e
		jwtOf := func() (string, string) {
			t.Helper()
			tok := wantIssued(t, token(t, e, f.clientCredentials("token_type", "jwt")), "JWT", 3600, "read write email profile", false).AccessToken
			h, _ := segments(t, tok)
			return tok, h["kid"].(string)
		}
		old, k1 := jwtOf()
		f.clk.Advance(time.Minute)
		k2key, err := e.OAuth.RotateKeys(testkit.Operator())
		if err != nil {
			t.Fatal(err)
		}
		k2 := k2key.KID
		if _, err := e.OAuth.RotateKeys(roster.NewContextWithActor(t.Context(), roster.Actor{AccountID: f.acct["alice"].ID, Username: "alice"})); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("a plain account rotated the keys: %v", err)
		}
		if _, kids := jwks(t, e, "/.well-known/jwks.json"); !slices.Equal(kids, []string{k2, k1}) {
			t.Fatalf("key set during the overlap %v, want %v", kids, []string{k2, k1})
		}
		wantUser(t, e, "JWT", old, "svc")
		f.clk.Advance(time.Minute)
		fresh, kid := jwtOf()
		if kid != k2 {
			t.Fatalf("signed by %s after the rotation, want %s", kid, k2)
		}
		f.clk.Advance(29*time.Minute - time.Second)
		want(t, call(t, e, "/api/user/v1/me", "JWT", old), 200, `{"username":"svc"}`)

		// The overlap is over; the old token has half an hour left, but its key verifies
		// nothing now.
		f.clk.Advance(time.Second)
		wantJWTRefused(t, e, old, "Invalid token.")
		wantUser(t, e, "JWT", fresh, "svc")
		if _, kids := jwks(t, e, "/oauth2/jwks.json"); !slices.Equal(kids, []string{k2}) {
			t.Fatalf("key set after the overlap %v, want %v", kids, []string{k2})
		}

		// A key retired at once (it leaked): its tokens are refused from the next request
		// on, and a new key signs.
		if _, err := e.OAuth.RetireKey(testkit.Operator(), k2); err != nil {
			t.Fatal(err)
		}
		wantJWTRefused(t, e, fresh, "Invalid token.")
		newest, k3 := jwtOf()
		if k3 == k2 || k3 == k1 {
			t.Fatalf("signed by %s after retiring %s", k3, k2)
		}
		wantUser(t, e, "JWT", newest, "svc")
		if _, kids := jwks(t, e, "/.well-known/jwks.json"); !slices.Equal(kids, []string{k3}) {
			t.Fatalf("key set after retiring %s: %v, want %v", k2, kids, []string{k3})
		}
		if _, err := e.OAuth.RetireKey(testkit.Operator(), "no-such-kid"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("retiring no key: %v", err)
		}
	})
}

// TestReplicasHonourRevocations: a token issued by one replica works on another, and a
// deactivation, an application's revocation or a grant's revocation made through one is
// honoured by the other on its very next request. Each replica is its own production
// handler over its own handle of the same database.
func TestReplicasHonourRevocations(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		a, b := f.e, f.e.Replica(t)
		// A key made by A, after B started, verifies on B.
		jwtA := wantIssued(t, token(t, a, f.password("alice", alicePassword, "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true)
		bearerA := wantIssued(t, token(t, a, f.password("alice", alicePassword)), "Bearer", 36000, "read write email profile user_id", true)
		wantUser(t, b, "JWT", jwtA.AccessToken, "alice")
		wantUser(t, b, "Bearer", bearerA.AccessToken, "alice")
		// A refresh token of A's is refreshed by B.
		refreshed := wantIssued(t, token(t, b, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID},
			"refresh_token": {jwtA.RefreshToken}, "token_type": {"jwt"}}), "JWT", 3600, "read write email profile user_id", true)
		wantUser(t, a, "JWT", refreshed.AccessToken, "alice")

		// Alice deactivated through A's /v1: B refuses her tokens on the next request.
		if r := a.Do(t, "POST", "/v1/users/alice/deactivate", "", "Authorization", "Bearer "+f.key["root"]); r.Status != 200 {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		want(t, call(t, b, "/api/user/v1/me", "JWT", jwtA.AccessToken), 401, `{"detail":"User account is disabled."}`)
		want(t, call(t, b, "/api/user/v1/me", "Bearer", bearerA.AccessToken), 401,
			`{"error_code":"user_is_disabled","developer_message":"The user linked to the provided access token is disabled."}`)
		if r := call(t, b, "/v1/me", "Bearer", refreshed.AccessToken); r.Status != 401 {
			t.Fatalf("B's /v1/me with a deactivated account's JWT: %d %s", r.Status, r.Body)
		}
		wantOAuthError(t, token(t, b, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID},
			"refresh_token": {refreshed.RefreshToken}}), 400, "invalid_grant", "")

		// The worker revoked through A: B refuses its tokens, JWT and opaque.
		workerJWT := wantIssued(t, token(t, b, f.clientCredentials("token_type", "jwt")), "JWT", 3600, "read write email profile", false)
		workerBearer := wantIssued(t, token(t, b, f.clientCredentials()), "Bearer", 36000, "read write email profile", false)
		wantUser(t, a, "JWT", workerJWT.AccessToken, "svc")
		wantUser(t, b, "Bearer", workerBearer.AccessToken, "svc")
		if _, err := a.OAuth.RevokeApp(testkit.Operator(), f.apps["worker"].App.ID); err != nil {
			t.Fatal(err)
		}
		want(t, call(t, b, "/api/user/v1/me", "JWT", workerJWT.AccessToken), 401, `{"detail":"Invalid token."}`)
		want(t, call(t, b, "/api/user/v1/me", "Bearer", workerBearer.AccessToken), 401,
			`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)
		wantOAuthError(t, token(t, b, f.clientCredentials()), 401, "invalid_client", "")

		// Bob's grant revoked through A, by its owner: B refuses its tokens; his other
		// grant still works.
		bobs := wantIssued(t, token(t, b, f.password("bob", "bob password 1", "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true)
		other := wantIssued(t, token(t, b, f.password("bob", "bob password 1", "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true)
		wantUser(t, b, "JWT", bobs.AccessToken, "bob")
		_, claims := segments(t, bobs.AccessToken)
		grant := int64(claims["grant_id"].(float64))
		bob := roster.NewContextWithActor(t.Context(), roster.Actor{AccountID: f.acct["bob"].ID, Username: "bob"})
		if _, err := a.OAuth.RevokeGrant(roster.NewContextWithActor(t.Context(), roster.Actor{AccountID: f.acct["alice"].ID, Username: "alice"}), grant); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("another account revoked bob's grant: %v", err)
		}
		if _, err := a.OAuth.RevokeGrant(bob, grant); err != nil {
			t.Fatal(err)
		}
		wantJWTRefused(t, b, bobs.AccessToken, "Invalid token.")
		wantOAuthError(t, token(t, b, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.apps["mobile"].App.ClientID},
			"refresh_token": {bobs.RefreshToken}}), 400, "invalid_grant", "")
		wantUser(t, b, "JWT", other.AccessToken, "bob")
		live, err := b.OAuth.ListGrants(bob, roster.AccountRef{Username: "bob"})
		if err != nil || len(live) != 1 || live[0].ID == grant {
			t.Fatalf("bob's live grants after revoking %d: %+v, %v", grant, live, err)
		}

		// A rotation on A: B verifies the new key's tokens and keeps the old key's for
		// the overlap.
		if _, err := a.OAuth.RotateKeys(testkit.Operator()); err != nil {
			t.Fatal(err)
		}
		rotated := wantIssued(t, token(t, a, f.password("bob", "bob password 1", "token_type", "jwt")), "JWT", 3600, "read write email profile user_id", true)
		wantUser(t, b, "JWT", rotated.AccessToken, "bob")
		wantUser(t, b, "JWT", other.AccessToken, "bob")
	})
}

// signIn signs username in through /v1 and returns its session cookie and CSRF token.
func signIn(t *testing.T, e *testkit.Env, username, password string) (cookie, csrf string) {
	t.Helper()
	r := e.Do(t, "POST", "/v1/session", `{"username": "`+username+`", "password": "`+password+`"}`, "Content-Type", "application/json")
	for _, c := range r.Header["Set-Cookie"] {
		if strings.HasPrefix(c, "roster_session=") {
			cookie = strings.SplitN(c, ";", 2)[0]
		}
	}
	var body struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || cookie == "" || body.CSRFToken == "" {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	return cookie, body.CSRFToken
}

// TestLoginRefresh: a signed-in browser gets its JWT in Open edX's two cookies, which
// authenticate on Open edX's API as edx-drf-extensions reassembles them; a change made
// so carries its CSRF token, or falls through to the session; signing out ends the
// cookies' token.
func TestLoginRefresh(t *testing.T) {
	oauthEngines(t, testkit.Setup{}, func(t *testing.T, f *oauthFixture) {
		e := f.e
		session, csrf := signIn(t, e, "alice", alicePassword)
		r := e.Do(t, "POST", "/login_refresh", "", "Cookie", session)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("login_refresh: %d %v %s", r.Status, r.Header, r.Body)
		}
		if got := jsonKeys(t, r.Body); got != `"success","user_id","response_epoch_seconds","response_http_date","expires","expires_epoch_seconds"` {
			t.Fatalf("login_refresh's keys: %s", got)
		}
		if !strings.HasPrefix(r.Body, "{\n  \"success\": true,\n  \"user_id\": "+strconv.FormatInt(f.acct["alice"].ID, 10)+",\n") {
			t.Fatalf("login_refresh's body is not the LMS's indented JSON: %s", r.Body)
		}
		var body struct {
			ResponseEpochSeconds float64 `json:"response_epoch_seconds"`
			ResponseHTTPDate     string  `json:"response_http_date"`
			Expires              string  `json:"expires"`
			ExpiresEpochSeconds  int64   `json:"expires_epoch_seconds"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		exp := f.clk.Now().Add(time.Hour)
		if body.ExpiresEpochSeconds != exp.Unix() || body.Expires != exp.Format(http.TimeFormat) || body.ResponseEpochSeconds <= 0 {
			t.Fatalf("login_refresh's times: %s (expiry %v)", r.Body, exp)
		}
		if _, err := time.Parse(http.TimeFormat, body.ResponseHTTPDate); err != nil {
			t.Fatalf("response_http_date %q: %v", body.ResponseHTTPDate, err)
		}
		resp := http.Response{Header: r.Header}
		cookies := map[string]*http.Cookie{}
		for _, c := range resp.Cookies() {
			cookies[c.Name] = c
		}
		hp, sig := cookies[authn.JWTHeaderPayloadCookie], cookies[authn.JWTSignatureCookie]
		if len(cookies) != 2 || hp == nil || sig == nil {
			t.Fatalf("login_refresh's cookies: %q", r.Header["Set-Cookie"])
		}
		for _, c := range []*http.Cookie{hp, sig} {
			if c.Path != "/" || c.MaxAge != 3600 || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Domain != "" {
				t.Fatalf("cookie %s: %q", c.Name, r.Header["Set-Cookie"])
			}
		}
		// Scripts read who is signed in from the first; the signature is theirs to send only.
		if hp.HttpOnly || !sig.HttpOnly {
			t.Fatalf("HttpOnly: header-payload %v, signature %v", hp.HttpOnly, sig.HttpOnly)
		}
		jwtTok := hp.Value + "." + sig.Value
		header, claims := segments(t, jwtTok)
		if header["alg"] != "RS512" || claims["preferred_username"] != "alice" || claims["user_id"] != float64(f.acct["alice"].ID) ||
			claims["exp"] != float64(exp.Unix()) || claims["email"] != "alice@example.org" {
			t.Fatalf("the cookies' token: %v %v", header, claims)
		}
		jwtCookies := authn.JWTHeaderPayloadCookie + "=" + hp.Value + "; " + authn.JWTSignatureCookie + "=" + sig.Value

		// The cookies alone authenticate on Open edX's API: alice's own view.
		r = e.Do(t, "GET", "/api/user/v1/accounts/alice", "", "Cookie", jwtCookies)
		if r.Status != 200 || !strings.Contains(r.Body, `"email":"alice@example.org"`) {
			t.Fatalf("GET with the JWT cookies: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(t, "GET", "/api/user/v1/me", "", "Cookie", jwtCookies), 200, `{"username":"alice"}`)
		// The token is the JWT of Authorization too.
		want(t, call(t, e, "/api/user/v1/me", "JWT", jwtTok), 200, `{"username":"alice"}`)
		// One cookie is no token.
		want(t, e.Do(t, "GET", "/api/user/v1/me", "", "Cookie", authn.JWTHeaderPayloadCookie+"="+hp.Value), 401,
			`{"detail":"Authentication credentials were not provided."}`)

		// A change through the cookies without its CSRF token falls through to the
		// session, as edx-drf-extensions lets it: the session's CSRF check refuses it;
		// without a session, nobody is signed in.
		patch := func(cookie string, header ...string) testkit.Reply {
			return e.Do(t, "PATCH", "/api/user/v1/accounts/alice", `{"bio": "from the cookies"}`,
				append([]string{"Cookie", cookie, "Content-Type", "application/merge-patch+json"}, header...)...)
		}
		want(t, patch(jwtCookies+"; "+session), 403, `{"detail":"CSRF Failed: CSRF token missing or incorrect."}`)
		want(t, patch(jwtCookies), 401, `{"detail":"Authentication credentials were not provided."}`)
		// With the token the micro-frontends fetch, it is made.
		r = e.Do(t, "GET", "/csrf/api/v1/token", "", "Cookie", jwtCookies+"; "+session)
		var tok struct{ CSRFToken string }
		if err := json.Unmarshal([]byte(r.Body), &tok); err != nil || r.Status != 200 || tok.CSRFToken == "" {
			t.Fatalf("csrf token: %d %s", r.Status, r.Body)
		}
		cookie := jwtCookies + "; " + session
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			cookie += "; " + c.Name + "=" + c.Value // the form cookie, when the token is its
		}
		r = patch(cookie, "X-CSRFToken", tok.CSRFToken)
		if r.Status != 200 || !strings.Contains(r.Body, `"bio":"from the cookies"`) {
			t.Fatalf("PATCH with the cookies and the CSRF token: %d %s", r.Status, r.Body)
		}
		// The session's own token works as well.
		if r := patch(jwtCookies+"; "+session, "X-CSRFToken", csrf); r.Status != 200 {
			t.Fatalf("PATCH with the session's CSRF token: %d %s", r.Status, r.Body)
		}

		// Refusals: no session, a key instead, GET.
		want401 := func(r testkit.Reply) {
			t.Helper()
			if r.Status != 401 || r.Body != `"Unauthorized"` || r.Header.Get("Set-Cookie") != "" {
				t.Fatalf("login_refresh without a session: %d %q %v", r.Status, r.Body, r.Header)
			}
		}
		want401(e.Do(t, "POST", "/login_refresh", ""))
		want401(e.Do(t, "POST", "/login_refresh", "", "Authorization", "Bearer "+f.key["alice"]))
		want401(e.Do(t, "POST", "/login_refresh", "", "Cookie", jwtCookies))
		want401(e.Do(t, "POST", "/login_refresh", "", "Cookie", "roster_session=forged"))
		if r := e.Do(t, "GET", "/login_refresh", "", "Cookie", session); r.Status != 405 || r.Header.Get("Allow") != "POST" || r.Header.Get("Set-Cookie") != "" {
			t.Fatalf("GET /login_refresh: %d %v %s", r.Status, r.Header, r.Body)
		}

		// Signing out ends the cookies' token, on the next request.
		if r := e.Do(t, "DELETE", "/v1/session", "", "Cookie", session, "X-CSRF-Token", csrf); r.Status != 204 {
			t.Fatalf("sign out: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(t, "GET", "/api/user/v1/me", "", "Cookie", jwtCookies), 401, `{"detail":"Authentication credentials were not provided."}`)
		want(t, e.Do(t, "GET", "/api/user/v1/accounts/alice", "", "Cookie", jwtCookies), 401, `{"detail":"Authentication credentials were not provided."}`)
		want(t, call(t, e, "/api/user/v1/me", "JWT", jwtTok), 401, `{"detail":"Invalid token."}`)
		want401(e.Do(t, "POST", "/login_refresh", "", "Cookie", session))
	})
}
