package server_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// oauthFuzzFixture is the fuzz fixture with OAuth2 applications of well-known client
// ids (worker: confidential, client credentials; mobile: public, password; portal:
// confidential, password, read and email only), all owned by target, and a real JWT and
// a real opaque token of target's. Inputs name the secrets the fuzzer cannot know by
// placeholders, replaced before the request is sent.
type oauthFuzzFixture struct {
	*fuzzFixture
	secret, portalSecret string // the worker's and the portal's client secrets
	jwt, bearer          string // target's tokens
	kid                  string // the key that signs
	grant                int64  // the JWT's grant
	sub                  string // target's UUID
}

func newOAuthFuzzFixture(f *testing.F) *oauthFuzzFixture {
	fx := &oauthFuzzFixture{fuzzFixture: newFuzzFixture(f)}
	e := fx.e
	for _, req := range []oauth.AppRequest{
		{Name: "Worker", ClientID: "worker", Owner: roster.AccountRef{Username: "target"}, Grants: []string{roster.GrantClientCredentials}},
		{Name: "Mobile", ClientID: "mobile", Owner: roster.AccountRef{Username: "target"}, Public: true, Grants: []string{roster.GrantPassword}},
		{Name: "Portal", ClientID: "portal", Owner: roster.AccountRef{Username: "target"}, Grants: []string{roster.GrantPassword},
			Scopes: []string{roster.ScopeRead, roster.ScopeEmail}},
	} {
		app, err := e.OAuth.CreateApp(testkit.Operator(), req)
		if err != nil {
			f.Fatal(err)
		}
		switch req.ClientID {
		case "worker":
			fx.secret = app.Secret
		case "portal":
			fx.portalSecret = app.Secret
		}
	}
	issue := func(tokenType string) string {
		tok, err := e.OAuth.Token(context.Background(), oauth.TokenRequest{GrantType: "password", ClientID: "mobile", Username: "target",
			Password: "target-pass-1", TokenType: tokenType}, roster.Client{IP: "192.0.2.1"})
		if err != nil {
			f.Fatal(err)
		}
		return tok.AccessToken
	}
	fx.jwt, fx.bearer = issue("jwt"), issue("")
	var header struct{ Kid string }
	var claims struct {
		GrantID int64  `json:"grant_id"`
		Sub     string `json:"sub"`
	}
	parts := strings.Split(fx.jwt, ".")
	for i, dst := range []any{&header, &claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, dst); err != nil {
			f.Fatal(err)
		}
	}
	fx.kid, fx.grant, fx.sub = header.Kid, claims.GrantID, claims.Sub
	fx.watch.settle(f)
	return fx
}

// forgive clears the failures inputs counted against the test's address, so that an
// input's answer does not depend on the inputs before it (replayed alone, it gets the
// same), and the fuzzer does not spend its time on the throttle's 429. Throttling has
// its own tests.
func (fx *oauthFuzzFixture) forgive(t *testing.T) {
	t.Helper()
	db := fx.e.Store.(interface{ WriteDB() *sql.DB }).WriteDB()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM throttles").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return // a DELETE of nothing still moves SQLite's data_version
	}
	if _, err := db.ExecContext(context.Background(), "DELETE FROM throttles"); err != nil {
		t.Fatal(err)
	}
	fx.watch.settle(t)
}

// fill replaces the placeholders of the fixture's secrets.
func (fx *oauthFuzzFixture) fill(s string) string {
	return strings.NewReplacer("{secret}", fx.secret, "{portal}", fx.portalSecret, "{jwt}", fx.jwt, "{bearer}", fx.bearer,
		"{kid}", fx.kid, "{grant}", fmt.Sprint(fx.grant), "{sub}", fx.sub).Replace(s)
}

var tokenTypes = []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/json",
	"multipart/form-data; boundary=b", "", "text/plain"}

// FuzzTokenEndpoint sends the token endpoint any form body, HTTP Basic client
// credentials and X-Token-Type, by POST (or another method): grants of each kind, client
// ids and secrets, usernames and passwords, refresh tokens (none real: a used one shown
// again revokes its family, a write on refusal by design, which TestPasswordGrant
// covers), scopes and token types. No input may get a 500, and a refused request writes
// nothing. An answer is OAuth2's JSON, and a token is issued only to a client that
// showed its secret (or a public client its id).
func FuzzTokenEndpoint(f *testing.F) {
	fx := newOAuthFuzzFixture(f)
	for _, s := range []struct {
		method, ct uint8
		body       string
		basic      string
		tokenType  string
	}{
		{0, 0, "grant_type=client_credentials&client_id=worker&client_secret={secret}&token_type=jwt", "", ""},
		{0, 0, "grant_type=client_credentials&client_id=worker&client_secret={secret}&scope=read+email", "", ""},
		{0, 1, "grant_type=client_credentials&scope=read%20write", "worker:{secret}", "jwt"},
		{0, 0, "grant_type=password&client_id=mobile&username=target&password=target-pass-1&token_type=jwt", "", ""},
		{0, 0, "grant_type=password&username=target@example.org&password=target-pass-1&scope=read+email+user_id", "portal:{portal}", ""},
		{0, 0, "grant_type=password&client_id=mobile&username=target&password=wrong", "", ""},
		{0, 0, "grant_type=client_credentials&client_id=worker&client_secret=wrong", "", ""},
		{0, 0, "grant_type=password&username=target&password=target-pass-1", "portal:", ""},
		{0, 0, "grant_type=refresh_token&client_id=mobile&refresh_token=not-a-token", "", "JWT"},
		{0, 0, "grant_type=authorization_code&client_id=worker&code=x&redirect_uri=https%3A%2F%2Fx", "", ""},
		{0, 2, `{"grant_type": "client_credentials"}`, "", ""},
		{0, 0, "grant_type=%zz&client_id=worker", "worker:wrong", ""},
		{1, 0, "", "", ""},
	} {
		f.Add(s.method, s.ct, s.body, s.basic, s.tokenType)
	}
	methods := []string{"POST", "GET", "PUT", "OPTIONS"}
	f.Fuzz(func(t *testing.T, method, contentType uint8, body, basic, tokenType string) {
		fx.forgive(t)
		m := methods[int(method)%len(methods)]
		body = fx.fill(body)
		var h []string
		if ct := tokenTypes[int(contentType)%len(tokenTypes)]; ct != "" {
			h = append(h, "Content-Type", ct)
		}
		if basic != "" {
			basic = fx.fill(basic)
			h = append(h, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basic)))
		}
		if v := strings.Map(headerByte, tokenType); v != "" {
			h = append(h, "X-Token-Type", v)
		}
		if m == "GET" || m == "OPTIONS" {
			body = ""
		}
		r := fx.e.Do(t, m, "/oauth2/access_token", body, h...)
		what := fmt.Sprintf("%s /oauth2/access_token %q %q", m, body, h)
		if fx.watch.check(t, fx.e, what, r.Status, r.Body) && r.Status < 400 {
			fx.restore(t)
		}
		var answer map[string]any
		if err := json.Unmarshal([]byte(r.Body), &answer); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: not JSON: %d %q", what, r.Status, r.Body)
		}
		if r.Status != 200 {
			if _, ok := answer["error"].(string); !ok || len(answer) != 2 {
				t.Fatalf("%s: not OAuth2's error: %d %s", what, r.Status, r.Body)
			}
			return
		}
		// Issued: to whom? The client the server read: the form's, else Basic's.
		form, _ := url.ParseQuery(body)
		id, secret := form.Get("client_id"), form.Get("client_secret")
		if bid, bsec, ok := strings.Cut(basic, ":"); ok && id == "" {
			id, secret = bid, bsec
		}
		switch {
		case id == "worker" && secret == fx.secret, id == "portal" && secret == fx.portalSecret, id == "mobile":
		default:
			t.Fatalf("%s: a token for client %q with secret %q: %s", what, id, secret, r.Body)
		}
		if answer["access_token"] == "" || answer["expires_in"] == nil || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: a token without its fields or headers: %s %v", what, r.Body, r.Header)
		}
	})
}

// FuzzVerifyToken forges bearer credentials for Open edX's /me and /v1's: an
// Authorization header of any scheme, or Open edX's two JWT cookies, holding any string
// or a JWT put together from a header, claims and a signature the fuzzer chooses, where
// {kid}, {grant} and {sub} stand for the real signing key's kid, a real grant and
// target's UUID, and {jwt}, {bearer} and {sig} for target's real tokens and the real
// JWT's signature. No input may get a 500 or write anything but the count of failures,
// and an input authenticates exactly when it carries target's real token as the
// authenticator reads it.
func FuzzVerifyToken(f *testing.F) {
	fx := newOAuthFuzzFixture(f)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []struct {
		where                          uint8
		scheme, raw, header, body, sig string
	}{
		{0, "JWT", "{jwt}", "", "", ""},
		{0, "Bearer", "{bearer}", "", "", ""},
		{1, "", "{jwt}", "", "", ""},
		{2, "Bearer", "{jwt}", "", "", ""},
		{0, "JWT", "{jwt}x", "", "", ""},
		{0, "JWT", "", `{"alg":"RS512","kid":"{kid}","typ":"JWT"}`, `{"iss":"roster","aud":"roster","exp":4102444800,"iat":1,"sub":"{sub}","preferred_username":"root","grant_id":{grant},"scopes":["read","write"]}`, "{sig}"},
		{0, "JWT", "", `{"alg":"none","kid":"{kid}","typ":"JWT"}`, `{"iss":"roster","aud":"roster","exp":4102444800,"grant_id":{grant}}`, ""},
		{0, "Bearer", "", `{"alg":"HS512","kid":"{kid}"}`, `{"iss":"roster","aud":"roster","exp":4102444800,"grant_id":{grant}}`, "\x01\x02"},
		{1, "", "", `{"alg":"RS512","kid":"other"}`, `{"grant_id":1}`, "sig"},
		{0, "JWT", b64(`{"alg":"RS512"}`) + "..", "", "", ""},
		{0, "Token", "{bearer}", "", "", ""},
		{3, "JWT", "rk_{bearer}", "", "", ""},
	} {
		f.Add(s.where, s.scheme, s.raw, s.header, s.body, s.sig)
	}
	realSig := fx.jwt[strings.LastIndexByte(fx.jwt, '.')+1:]
	f.Fuzz(func(t *testing.T, where uint8, scheme, raw, header, claims, sig string) {
		fx.forgive(t)
		tok := fx.fill(raw)
		if raw == "" {
			s := b64(sig)
			if sig == "{sig}" {
				s = realSig
			}
			tok = b64(fx.fill(header)) + "." + b64(fx.fill(claims)) + "." + s
		}
		path := "/api/user/v1/me"
		if where&2 != 0 {
			path = "/v1/me"
		}
		var h []string
		real := false
		if where&1 == 0 {
			v := strings.Map(headerByte, scheme+" "+tok)
			h = append(h, "Authorization", v)
			// As the authenticator reads it: a scheme, a space, the token.
			s, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
			s, rest = strings.ToLower(s), strings.TrimSpace(rest)
			real = (s == "jwt" || s == "bearer") && (rest == fx.jwt || rest == fx.bearer)
		} else {
			i := strings.LastIndexByte(tok, '.')
			hp, sg := strings.Map(cookieByte, tok[:max(i, 0)]), strings.Map(cookieByte, tok[i+1:])
			h = append(h, "Cookie", authn.JWTHeaderPayloadCookie+"="+hp+"; "+authn.JWTSignatureCookie+"="+sg)
			real = hp+"."+sg == fx.jwt && path == "/api/user/v1/me" // /v1 takes no JWT cookies
		}
		r := fx.e.Do(t, "GET", path, "", h...)
		what := fmt.Sprintf("GET %s with %q", path, h)
		if fx.watch.check(t, fx.e, what, r.Status, r.Body) && r.Status < 400 {
			t.Fatalf("%s wrote: %d %s", what, r.Status, r.Body)
		}
		switch {
		case real && r.Status != 200:
			t.Fatalf("%s: target's real token refused: %d %s", what, r.Status, r.Body)
		case !real && r.Status == 200:
			t.Fatalf("%s: a forged credential authenticated: %s", what, r.Body)
		case !real && r.Status != 401 && r.Status != 400:
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	})
}
