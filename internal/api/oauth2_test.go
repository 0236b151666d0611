package api_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tokenFor asks the token endpoint for a token and returns it; want is the status.
func (s *server) tokenFor(t *testing.T, form url.Values, want int) string {
	t.Helper()
	r := s.Do(t, "POST", "/oauth2/access_token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != want {
		t.Fatalf("token endpoint: %d, want %d: %s", r.Status, want, r.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(r.Body), &body)
	return body.AccessToken
}

// clientCredentials is a client-credentials request of the application.
func clientCredentials(clientID, secret, tokenType string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "token_type": {tokenType}}
}

// str reads a string field of a JSON object.
func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// strs reads a list of strings as one comma-separated string.
func strs(m map[string]any, k string) string {
	l, ok := m[k].([]any)
	if !ok {
		return "not a list"
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i], _ = v.(string)
	}
	return strings.Join(out, ",")
}

// isTime reports whether v is an RFC 3339 time.
func isTime(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func TestOAuth2Applications(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		watcher := s.account(t, map[string]any{"username": "watcher", "email": "watcher@example.org", "staff": true})
		svc, _ := s.Account(t, map[string]any{"username": "svc", "email": "svc@example.org"})
		var secrets []string // every client secret shown: no other answer, entry or log line may hold one

		create := map[string]any{"name": "Open edX LMS", "owner": "svc", "grants": []string{"client_credentials"},
			"redirect_uris": []string{"https://lms.example.org/auth/complete/edx-oauth2/"}, "scopes": []string{"read", "email"}}
		r := s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root), body: create}).want(t, 201)
		app := r.json
		secret := str(app, "client_secret")
		secrets = append(secrets, secret)
		id := app["id"].(json.Number).String()
		t.Run("CreateShowsTheSecretOnce", func(t *testing.T) {
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(str(app, "client_id")) {
				t.Errorf("client_id %q: want 40 hex digits", app["client_id"])
			}
			if str(app, "name") != "Open edX LMS" {
				t.Errorf("name %v", app["name"])
			}
			if app["owner_id"].(json.Number).String() != jsonID(svc.ID) || str(app, "owner") != "svc" {
				t.Errorf("owner %v %v", app["owner_id"], app["owner"])
			}
			if app["public"] != false {
				t.Errorf("public %v", app["public"])
			}
			if len(secret) < 40 || str(app, "secret_prefix") != secret[:6] {
				t.Errorf("client_secret %q, secret_prefix %q", secret, app["secret_prefix"])
			}
			if strs(app, "grants") != "client_credentials" || strs(app, "redirect_uris") != "https://lms.example.org/auth/complete/edx-oauth2/" ||
				strs(app, "scopes") != "read,email" {
				t.Errorf("grants %v, redirect_uris %v, scopes %v", app["grants"], app["redirect_uris"], app["scopes"])
			}
			if !isTime(app["created_at"]) || !isTime(app["updated_at"]) || app["revoked_at"] != nil {
				t.Errorf("created_at %v, updated_at %v, revoked_at %v", app["created_at"], app["updated_at"], app["revoked_at"])
			}
			if r.header.Get("Location") != "/v1/oauth2/applications/"+id || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", r.header)
			}
			if len(app) != 14 {
				t.Errorf("%d fields: %s", len(app), r.raw)
			}
			// Never again: not in the list, not read alone.
			list := s.do(t, call{method: "GET", path: "/v1/oauth2/applications", header: bearer(root)}).want(t, 200)
			apps := list.json["applications"].([]any)
			if len(apps) != 1 || strings.Contains(string(list.raw), secret) || strings.Contains(string(list.raw), "client_secret") {
				t.Fatalf("list: %s", list.raw)
			}
			got := s.do(t, call{method: "GET", path: "/v1/oauth2/applications/" + id, header: bearer(root)}).want(t, 200)
			if strings.Contains(string(got.raw), secret) || got.json["client_secret"] != nil || str(got.json, "client_id") != str(app, "client_id") ||
				str(got.json, "secret_prefix") != secret[:6] || len(got.json) != 13 {
				t.Fatalf("get: %s", got.raw)
			}
			s.do(t, call{method: "GET", path: "/v1/oauth2/applications/999", header: bearer(root)}).want(t, 404)
			s.do(t, call{method: "GET", path: "/v1/oauth2/applications/nope", header: bearer(root)}).want(t, 404)
		})
		t.Run("PublicClientHasNoSecret", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
				body: map[string]any{"name": "Mobile", "client_id": "mobile-app", "owner": svc.ID, "public": true, "grants": []string{"password"}}}).want(t, 201)
			if r.json["public"] != true || str(r.json, "client_id") != "mobile-app" || r.json["client_secret"] != nil || str(r.json, "secret_prefix") != "" ||
				strs(r.json, "scopes") != "read,write,email,profile" || strs(r.json, "redirect_uris") != "" || str(r.json, "owner") != "svc" {
				t.Fatalf("public client: %s", r.raw)
			}
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications/" + r.json["id"].(json.Number).String() + "/secret", header: bearer(root)}).want(t, 409)
			if r.errorCode() != "conflict" {
				t.Fatalf("rotating a public client's secret: %s", r.raw)
			}
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
				body: map[string]any{"name": "Again", "client_id": "mobile-app", "owner": "svc", "grants": []string{"password"}}}).want(t, 409)
			if r.fields()["client_id"] == nil {
				t.Fatalf("a taken client id: %s", r.raw)
			}
		})
		t.Run("ErrValidationNamesTheField", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root), body: map[string]any{}}).want(t, 400)
			if f := r.fields(); r.errorCode() != "invalid" || len(f) != 3 || f["name"] == nil || f["owner"] == nil || f["grants"] == nil {
				t.Fatalf("empty: %s", r.raw)
			}
			for _, body := range []string{"[]", "null", `"app"`, "{"} {
				if r := s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root), body: body}).want(t, 400); r.errorCode() != "invalid" {
					t.Errorf("body %s: %s", body, r.raw)
				}
			}
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
				body: `{"name": 3, "owner": true, "public": "yes", "grants": "password", "redirect_uris": [1], "scopes": {}, "client_secret": "mine"}`}).want(t, 400)
			f := r.fields()
			for _, k := range []string{"name", "owner", "public", "grants", "redirect_uris", "scopes", "client_secret"} {
				if f[k] == nil {
					t.Errorf("wrong types: %s is not named: %s", k, r.raw)
				}
			}
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
				body: map[string]any{"name": "X", "owner": "svc", "grants": []string{"implicit"}, "redirect_uris": []string{"ftp://x"},
					"scopes": []string{"everything"}, "client_id": "has space"}}).want(t, 400)
			f = r.fields()
			for _, k := range []string{"grants", "redirect_uris", "scopes", "client_id"} {
				if f[k] == nil {
					t.Errorf("bad values: %s is not named: %s", k, r.raw)
				}
			}
			if len(f) != 4 {
				t.Errorf("bad values: %s", r.raw)
			}
			// The owner is looked up once the rest is valid.
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
				body: map[string]any{"name": "X", "owner": "nobody", "grants": []string{"password"}}}).want(t, 400)
			if f := r.fields(); len(f) != 1 || f["owner"] == nil {
				t.Errorf("unknown owner: %s", r.raw)
			}
			r = s.do(t, call{method: "PATCH", path: "/v1/oauth2/applications/" + id, header: bearer(root),
				body: map[string]any{"client_id": "other", "owner": "alice", "name": "LMS"}}).want(t, 400)
			if f := r.fields(); len(f) != 2 || f["client_id"] == nil || f["owner"] == nil || !strings.Contains(string(r.raw), `"code":"read_only"`) {
				t.Fatalf("patching fixed fields: %s", r.raw)
			}
			r = s.do(t, call{method: "PATCH", path: "/v1/oauth2/applications/" + id, header: bearer(root),
				body: map[string]any{"grants": []string{}, "name": " "}}).want(t, 400)
			if f := r.fields(); len(f) != 2 || f["grants"] == nil || f["name"] == nil {
				t.Fatalf("patching to no grants and no name: %s", r.raw)
			}
			if got := s.do(t, call{method: "GET", path: "/v1/oauth2/applications/" + id, header: bearer(root)}).want(t, 200); str(got.json, "name") != "Open edX LMS" {
				t.Fatalf("a refused patch changed the application: %s", got.raw)
			}
			if n := len(s.do(t, call{method: "GET", path: "/v1/oauth2/applications", header: bearer(root)}).want(t, 200).json["applications"].([]any)); n != 2 {
				t.Fatalf("%d applications after refusals, want 2", n)
			}
		})
		t.Run("ErrOnlySystemAdministrators", func(t *testing.T) {
			for _, c := range []call{
				{method: "GET", path: "/v1/oauth2/applications"},
				{method: "POST", path: "/v1/oauth2/applications", body: create},
				{method: "GET", path: "/v1/oauth2/applications/" + id},
				{method: "PATCH", path: "/v1/oauth2/applications/" + id, body: map[string]any{"name": "Mine"}},
				{method: "POST", path: "/v1/oauth2/applications/" + id + "/secret"},
				{method: "DELETE", path: "/v1/oauth2/applications/" + id},
				{method: "GET", path: "/v1/oauth2/applications/999"},
			} {
				for _, key := range []string{alice, watcher} {
					c.header = bearer(key)
					if r := s.do(t, c).want(t, 403); r.errorCode() != "forbidden" {
						t.Errorf("%s %s: %s", c.method, c.path, r.raw)
					}
				}
				c.header = nil
				s.do(t, c).want(t, 401)
			}
		})
		t.Run("PatchAndRotate", func(t *testing.T) {
			r := s.do(t, call{method: "PATCH", path: "/v1/oauth2/applications/" + id, header: bearer(root),
				body: map[string]any{"name": "LMS", "scopes": []string{"read", "write", "email", "profile"}, "redirect_uris": []string{}}}).want(t, 200)
			if str(r.json, "name") != "LMS" || strs(r.json, "scopes") != "read,write,email,profile" || strs(r.json, "redirect_uris") != "" ||
				strs(r.json, "grants") != "client_credentials" || r.json["client_secret"] != nil || strings.Contains(string(r.raw), secret) {
				t.Fatalf("patch: %s", r.raw)
			}
			// The secret works until it is rotated; then only the new one does.
			s.tokenFor(t, clientCredentials(str(app, "client_id"), secret, "jwt"), 200)
			r = s.do(t, call{method: "POST", path: "/v1/oauth2/applications/" + id + "/secret", header: bearer(root)}).want(t, 200)
			fresh := str(r.json, "client_secret")
			secrets = append(secrets, fresh)
			if fresh == "" || fresh == secret || str(r.json, "secret_prefix") != fresh[:6] || str(r.json, "client_id") != str(app, "client_id") ||
				r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("rotate: %s", r.raw)
			}
			s.tokenFor(t, clientCredentials(str(app, "client_id"), secret, "jwt"), 401)
			s.tokenFor(t, clientCredentials(str(app, "client_id"), fresh, "jwt"), 200)
			if got := s.do(t, call{method: "GET", path: "/v1/oauth2/applications/" + id, header: bearer(root)}).want(t, 200); strings.Contains(string(got.raw), fresh) {
				t.Fatalf("the new secret is shown again: %s", got.raw)
			}
			secret = fresh
		})
		t.Run("RevokeEndsEveryToken", func(t *testing.T) {
			clientID := str(app, "client_id")
			jwt := s.tokenFor(t, clientCredentials(clientID, secret, "jwt"), 200)
			opaque := s.tokenFor(t, clientCredentials(clientID, secret, ""), 200)
			for _, h := range []map[string]string{{"Authorization": "JWT " + jwt}, {"Authorization": "Bearer " + jwt}, bearer(opaque)} {
				if r := s.do(t, call{method: "GET", path: "/v1/me", header: h}).want(t, 200); str(r.json, "username") != "svc" {
					t.Fatalf("the application's token acts as %s", r.raw)
				}
			}
			r := s.do(t, call{method: "DELETE", path: "/v1/oauth2/applications/" + id, header: bearer(root)}).want(t, 200)
			revokedAt := r.json["revoked_at"]
			if !isTime(revokedAt) || str(r.json, "client_id") != clientID || r.json["client_secret"] != nil {
				t.Fatalf("revoke: %s", r.raw)
			}
			for _, h := range []map[string]string{{"Authorization": "JWT " + jwt}, bearer(opaque)} {
				if r := s.do(t, call{method: "GET", path: "/v1/me", header: h}).want(t, 401); r.errorCode() != "unauthenticated" {
					t.Fatalf("a revoked application's token: %s", r.raw)
				}
			}
			s.tokenFor(t, clientCredentials(clientID, secret, "jwt"), 401)
			// Idempotent: the same answer, and no second entry.
			again := s.do(t, call{method: "DELETE", path: "/v1/oauth2/applications/" + id, header: bearer(root)}).want(t, 200)
			if again.json["revoked_at"] != revokedAt {
				t.Fatalf("revoked again: %s", again.raw)
			}
			s.do(t, call{method: "PATCH", path: "/v1/oauth2/applications/" + id, header: bearer(root), body: map[string]any{"name": "Back"}}).want(t, 409)
			s.do(t, call{method: "POST", path: "/v1/oauth2/applications/" + id + "/secret", header: bearer(root)}).want(t, 409)
			s.do(t, call{method: "DELETE", path: "/v1/oauth2/applications/999", header: bearer(root)}).want(t, 404)
		})
		t.Run("AuditedWithoutSecrets", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: "/v1/audit?target_type=oauth2_app&limit=1000", header: bearer(root)}).want(t, 200)
			count := map[string]int{}
			for _, e := range r.json["entries"].([]any) {
				e := e.(map[string]any)
				if str(e, "target_name") == str(app, "client_id") {
					count[str(e, "action")]++
					if str(e, "actor") != "root" || str(e, "via") != "v1" {
						t.Errorf("entry %v", e)
					}
				}
			}
			for action, n := range map[string]int{"oauth2_app.create": 1, "oauth2_app.update": 1, "oauth2_app.rotate_secret": 1, "oauth2_app.revoke": 1} {
				if count[action] != n {
					t.Errorf("%d %s entries, want %d: %s", count[action], action, n, r.raw)
				}
			}
			all := s.do(t, call{method: "GET", path: "/v1/audit?limit=1000", header: bearer(root)}).want(t, 200)
			for _, sec := range secrets {
				if strings.Contains(string(all.raw), sec) || strings.Contains(s.Logs.String(), sec) {
					t.Fatalf("a client secret is in the audit log or the server's log")
				}
			}
		})
	})
}

func TestOAuth2SigningKeys(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		r := s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
			body: map[string]any{"name": "Service", "owner": "alice", "grants": []string{"client_credentials"}}}).want(t, 201)
		clientID, secret := str(r.json, "client_id"), str(r.json, "client_secret")

		if r := s.do(t, call{method: "GET", path: "/v1/oauth2/signing-keys", header: bearer(root)}).want(t, 200); strings.TrimSpace(string(r.raw)) != `{"keys":[]}` {
			t.Fatalf("a new store's keys: %s", r.raw)
		}
		jwt := s.tokenFor(t, clientCredentials(clientID, secret, "jwt"), 200) // its first key signs it
		first := s.do(t, call{method: "GET", path: "/v1/oauth2/signing-keys", header: bearer(root)}).want(t, 200).json["keys"].([]any)
		if len(first) != 1 {
			t.Fatalf("%d keys after the first token", len(first))
		}
		firstKID := str(first[0].(map[string]any), "kid")

		r = s.do(t, call{method: "POST", path: "/v1/oauth2/signing-keys", header: bearer(root)}).want(t, 201)
		k := r.json
		jwk, _ := k["public_jwk"].(map[string]any)
		if str(k, "kid") == "" || str(k, "kid") == firstKID || str(k, "algorithm") != "RS512" || !isTime(k["created_at"]) || k["retire_at"] != nil || len(k) != 5 {
			t.Fatalf("rotate: %s", r.raw)
		}
		if str(jwk, "kty") != "RSA" || str(jwk, "kid") != str(k, "kid") || str(jwk, "n") == "" || str(jwk, "e") == "" {
			t.Fatalf("public_jwk: %v", jwk)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, has := jwk[private]; has {
				t.Fatalf("public_jwk holds the private %q: %s", private, r.raw)
			}
		}
		list := s.do(t, call{method: "GET", path: "/v1/oauth2/signing-keys", header: bearer(root)}).want(t, 200)
		keys := list.json["keys"].([]any)
		old := keys[0].(map[string]any)
		if len(keys) != 2 || str(old, "kid") != firstKID || !isTime(old["retire_at"]) || keys[1].(map[string]any)["retire_at"] != nil {
			t.Fatalf("after a rotation: %s", list.raw)
		}
		for _, private := range []string{`"d"`, `"p"`, `"q"`, "PRIVATE"} {
			if strings.Contains(string(list.raw), private) {
				t.Fatalf("the list holds %s: %s", private, list.raw)
			}
		}
		// The old key verifies through the overlap; retired now, its tokens stop working.
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + jwt}}).want(t, 200)
		r = s.do(t, call{method: "DELETE", path: "/v1/oauth2/signing-keys/" + firstKID, header: bearer(root)}).want(t, 200)
		if str(r.json, "kid") != firstKID || !isTime(r.json["retire_at"]) {
			t.Fatalf("retire: %s", r.raw)
		}
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + jwt}}).want(t, 401)
		fresh := s.tokenFor(t, clientCredentials(clientID, secret, "jwt"), 200)
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + fresh}}).want(t, 200)
		if again := s.do(t, call{method: "DELETE", path: "/v1/oauth2/signing-keys/" + firstKID, header: bearer(root)}).want(t, 200); again.json["retire_at"] != r.json["retire_at"] {
			t.Fatalf("retired again: %s", again.raw)
		}
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/signing-keys/no-such-kid", header: bearer(root)}).want(t, 404)
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/signing-keys/%00", header: bearer(root)}).want(t, 404)

		for _, c := range []call{{method: "GET", path: "/v1/oauth2/signing-keys"}, {method: "POST", path: "/v1/oauth2/signing-keys"},
			{method: "DELETE", path: "/v1/oauth2/signing-keys/" + str(k, "kid")}} {
			c.header = bearer(alice)
			s.do(t, c).want(t, 403)
		}
		audit := s.do(t, call{method: "GET", path: "/v1/audit?target_type=signing_key", header: bearer(root)}).want(t, 200)
		var actions []string
		for _, e := range audit.json["entries"].([]any) {
			actions = append(actions, str(e.(map[string]any), "action"))
		}
		if strings.Join(actions, ",") != "signing_key.create,signing_key.rotate,signing_key.retire" {
			t.Fatalf("audit: %v", actions)
		}
	})
}

func TestOAuth2Grants(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password 1"})
		bob := s.account(t, map[string]any{"username": "bob", "email": "bob@example.org"})
		watcher := s.account(t, map[string]any{"username": "watcher", "email": "watcher@example.org", "staff": true})
		s.do(t, call{method: "POST", path: "/v1/oauth2/applications", header: bearer(root),
			body: map[string]any{"name": "Mobile", "client_id": "mobile", "owner": "root", "public": true, "grants": []string{"password"}}}).want(t, 201)
		signIn := url.Values{"grant_type": {"password"}, "client_id": {"mobile"}, "username": {"alice"}, "password": {"alice password 1"}, "token_type": {"jwt"}}
		jwt := s.tokenFor(t, signIn, 200)
		second := s.tokenFor(t, signIn, 200)

		r := s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: bearer(alice)}).want(t, 200)
		grants := r.json["grants"].([]any)
		if len(grants) != 2 {
			t.Fatalf("grants: %s", r.raw)
		}
		g := grants[0].(map[string]any)
		if str(g, "client_id") != "mobile" || str(g, "app_name") != "Mobile" || str(g, "grant_type") != "password" ||
			strs(g, "scopes") != "read,write,email,profile,user_id" || !isTime(g["created_at"]) || g["revoked_at"] != nil || len(g) != 7 {
			t.Fatalf("grant: %s", r.raw)
		}
		if strings.Contains(string(r.raw), jwt) || strings.Contains(string(r.raw), second) {
			t.Fatal("a listing shows a token")
		}
		grantID := g["id"].(json.Number).String()
		s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: bearer(watcher)}).want(t, 200)
		s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: bearer(root)}).want(t, 200)
		s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: bearer(bob)}).want(t, 403)
		s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants"}).want(t, 401)
		s.do(t, call{method: "GET", path: "/v1/users/nobody/oauth2-grants", header: bearer(root)}).want(t, 404)
		// The token lists its own account's grants too, like a key.
		s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: map[string]string{"Authorization": "JWT " + jwt}}).want(t, 200)

		// Others find no grant of alice's to revoke; staff included.
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/grants/" + grantID, header: bearer(bob)}).want(t, 404)
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/grants/" + grantID, header: bearer(watcher)}).want(t, 404)
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/grants/nope", header: bearer(alice)}).want(t, 404)
		r = s.do(t, call{method: "DELETE", path: "/v1/oauth2/grants/" + grantID, header: bearer(alice)}).want(t, 200)
		if r.json["id"].(json.Number).String() != grantID || !isTime(r.json["revoked_at"]) || str(r.json, "client_id") != "mobile" {
			t.Fatalf("revoke: %s", r.raw)
		}
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + jwt}}).want(t, 401)
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + second}}).want(t, 200)
		left := s.do(t, call{method: "GET", path: "/v1/users/alice/oauth2-grants", header: bearer(alice)}).want(t, 200).json["grants"].([]any)
		if len(left) != 1 || left[0].(map[string]any)["id"].(json.Number).String() == grantID {
			t.Fatalf("after revoking one: %v", left)
		}
		// System administrators revoke anyone's.
		other := left[0].(map[string]any)["id"].(json.Number).String()
		s.do(t, call{method: "DELETE", path: "/v1/oauth2/grants/" + other, header: bearer(root)}).want(t, 200)
		s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "JWT " + second}}).want(t, 401)

		audit := s.do(t, call{method: "GET", path: "/v1/audit?target_type=oauth2_grant", header: bearer(root)}).want(t, 200)
		entries := audit.json["entries"].([]any)
		if len(entries) != 2 || str(entries[0].(map[string]any), "actor") != "alice" || str(entries[1].(map[string]any), "actor") != "root" ||
			str(entries[0].(map[string]any), "target_name") != "alice" {
			t.Fatalf("audit: %s", audit.raw)
		}
	})
}

func jsonID(id int64) string { return strconv.FormatInt(id, 10) }
