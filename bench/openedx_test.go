package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// BenchmarkOpenEdX times Open edX's account reads and a one-field merge-PATCH through
// the production handler, next to /v1's read of the same accounts by the same caller:
// the dialect's own cost is the difference.
func BenchmarkOpenEdX(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		svc, err := core.New(s, core.Config{})
		if err != nil {
			b.Fatal(err)
		}
		srv := serve(b, svc, nil, s)
		op := roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
		key := func(name string) (string, string) {
			name = fmt.Sprintf("%s-%d", name, rand.Int64())
			rec, err := svc.CreateAccount(op, map[string]any{"username": name, "email": name + "@example.org", "privacy": "all_users"})
			if err != nil {
				b.Fatal(err)
			}
			k, err := svc.CreateAPIKey(op, roster.RefID(rec.ID), roster.KeyRequest{})
			if err != nil {
				b.Fatal(err)
			}
			return name, k.Secret
		}
		_, reader := key("reader")
		owner, ownerKey := key("owner")
		// The owner's JWT and opaque token, from the token endpoint, for an application
		// the owner's account owns.
		app, err := oauth.New(s, svc, oauth.Config{}).CreateApp(op, oauth.AppRequest{Name: "bench", Owner: roster.AccountRef{Username: owner},
			Grants: []string{roster.GrantClientCredentials}})
		if err != nil {
			b.Fatal(err)
		}
		token := func(tokenType string) string {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.App.ClientID}, "client_secret": {app.Secret}, "token_type": {tokenType}}
			resp, err := http.PostForm(srv.URL+"/oauth2/access_token", form)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
				b.Fatalf("token: %d %v", resp.StatusCode, err)
			}
			return tok.TokenType + " " + tok.AccessToken
		}
		ownerJWT, ownerBearer := token("jwt"), token("bearer")
		do := func(b *testing.B, method, path, key, body string) {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if strings.Contains(key, " ") {
				req.Header.Set("Authorization", key)
			} else {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/merge-patch+json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
			}
		}
		r := rand.New(rand.NewPCG(1, 2))
		b.Run("v1-other", func(b *testing.B) {
			for b.Loop() {
				do(b, "GET", fmt.Sprintf("/v1/users/user%06d", randomUser(r)), reader, "")
			}
		})
		b.Run("other", func(b *testing.B) {
			for b.Loop() {
				do(b, "GET", fmt.Sprintf("/api/user/v1/accounts/user%06d", randomUser(r)), reader, "")
			}
		})
		b.Run("own", func(b *testing.B) {
			for b.Loop() {
				do(b, "GET", "/api/user/v1/accounts/"+owner, ownerKey, "")
			}
		})
		// The same read with the owner's JWT (an RS512 signature checked, then the
		// token's family read with the account) and with an opaque OAuth2 token.
		b.Run("own-jwt", func(b *testing.B) {
			for b.Loop() {
				do(b, "GET", "/api/user/v1/accounts/"+owner, ownerJWT, "")
			}
		})
		b.Run("own-oauth-bearer", func(b *testing.B) {
			for b.Loop() {
				do(b, "GET", "/api/user/v1/accounts/"+owner, ownerBearer, "")
			}
		})
		n := 0
		b.Run("patch", func(b *testing.B) {
			for b.Loop() {
				n++
				do(b, "PATCH", "/api/user/v1/accounts/"+owner, ownerKey, fmt.Sprintf(`{"bio": "revision %d"}`, n))
			}
		})
	})
}
