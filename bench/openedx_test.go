package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
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
		do := func(b *testing.B, method, path, key, body string) {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
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
		n := 0
		b.Run("patch", func(b *testing.B) {
			for b.Loop() {
				n++
				do(b, "PATCH", "/api/user/v1/accounts/"+owner, ownerKey, fmt.Sprintf(`{"bio": "revision %d"}`, n))
			}
		})
	})
}
