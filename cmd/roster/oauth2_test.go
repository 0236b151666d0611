package main

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

func TestOAuth2CLI(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			te := newTestEnv(t)
			if engine == "postgres" {
				te.db = pgtest.URL(t)
			}
			te.mustCLI(t, "", "init", "--no-admin")
			testOAuth2CLI(t, te)
		})
	}
}

// openTestStore opens te's store as another process would.
func openTestStore(t *testing.T, te *testEnv) *sqlstore.DB {
	t.Helper()
	var (
		st  *sqlstore.DB
		err error
	)
	if strings.HasPrefix(te.db, "sqlite://") {
		st, err = sqlite.Open(context.Background(), strings.TrimPrefix(te.db, "sqlite://"), nil)
	} else {
		st, err = postgres.Open(context.Background(), te.db, postgres.Options{MaxConns: 1, Access: sqlstore.UseExisting}, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testOAuth2CLI(t *testing.T, te *testEnv) {
	te.mustCLI(t, "", "users", "create", "--username", "svc", "--email", "svc@example.org")

	out := te.mustCLI(t, "", "oauth2", "apps", "create", "--name", "Open edX LMS", "--owner", "svc", "--grant", "client_credentials,password",
		"--redirect-uri", "https://lms.example.org/complete/", "--scope", "read", "--scope", "email")
	m := regexp.MustCompile(`^id\s+1\nclient_id\s+([0-9a-f]{40})\nclient_secret\s+(\S{40,})\nThe client secret is shown this once: it will not be shown again.\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("apps create printed:\n%s", out)
	}
	clientID, secret := m[1], m[2]
	secrets := []string{secret} // every secret shown: no entry of the audit log may hold one

	t.Run("NeverShownAgain", func(t *testing.T) {
		list := te.mustCLI(t, "", "oauth2", "apps", "list")
		if !strings.Contains(list, clientID) || !strings.Contains(list, "Open edX LMS") || !strings.Contains(list, "client_credentials,password") ||
			!strings.Contains(list, secret[:6]+"…") || strings.Contains(list, secret) {
			t.Fatalf("apps list:\n%s", list)
		}
		show := te.mustCLI(t, "", "oauth2", "apps", "show", "1")
		for _, want := range []string{"client_id  " + clientID, "owner  svc", "type  confidential", "grants  client_credentials password",
			"redirect_uris  https://lms.example.org/complete/", "scopes  read email", "revoked  -"} {
			if !regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), "  ", `\s+`)).MatchString(show) {
				t.Errorf("show lacks %q:\n%s", want, show)
			}
		}
		if strings.Contains(show, secret) {
			t.Fatalf("apps show prints the secret:\n%s", show)
		}
	})
	t.Run("PublicClient", func(t *testing.T) {
		out := te.mustCLI(t, "", "oauth2", "apps", "create", "--name", "Mobile", "--owner", "svc", "--grant", "password", "--public", "--client-id", "mobile")
		if out != "id         2\nclient_id  mobile\nA public client has no secret.\n" {
			t.Fatalf("a public client:\n%q", out)
		}
		code, _, errs := te.cli(t, "", "oauth2", "apps", "rotate-secret", "2")
		if code != 1 || !strings.Contains(errs, "A public client has no secret.") {
			t.Fatalf("rotating a public client's secret: %d %q", code, errs)
		}
	})
	t.Run("UpdateAndRotate", func(t *testing.T) {
		out := te.mustCLI(t, "", "oauth2", "apps", "update", "1", "--name", "LMS", "--scope", "read,write", "--redirect-uri", "")
		if !regexp.MustCompile(`name\s+LMS\n`).MatchString(out) || !regexp.MustCompile(`scopes\s+read write\n`).MatchString(out) ||
			!regexp.MustCompile(`redirect_uris\s+-\n`).MatchString(out) || !regexp.MustCompile(`grants\s+client_credentials password\n`).MatchString(out) {
			t.Fatalf("apps update:\n%s", out)
		}
		out = te.mustCLI(t, "", "oauth2", "apps", "rotate-secret", "1")
		m := regexp.MustCompile(`client_secret\s+(\S+)\nThe client secret is shown this once: it will not be shown again.\n$`).FindStringSubmatch(out)
		if m == nil || m[1] == secret || !strings.Contains(out, clientID) {
			t.Fatalf("rotate-secret:\n%s", out)
		}
		secret = m[1]
		secrets = append(secrets, secret)
		if strings.Contains(te.mustCLI(t, "", "oauth2", "apps", "list"), secret) {
			t.Fatal("the new secret is listed")
		}
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		code, out, errs := te.cli(t, "", "oauth2", "apps", "create", "--name", "X", "--owner", "svc", "--grant", "implicit", "--scope", "all", "--redirect-uri", "ftp://x")
		if code != 1 || out != "" || len(errorLines(errs)) != 3 || !strings.Contains(errs, "roster: grants: ") || !strings.Contains(errs, "roster: scopes: ") ||
			!strings.Contains(errs, "roster: redirect_uris: ") {
			t.Fatalf("invalid application: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		code, _, errs = te.cli(t, "", "oauth2", "apps", "create", "--name", "X", "--owner", "nobody", "--grant", "password")
		if code != 1 || !strings.Contains(errs, "owner: No such account.") {
			t.Fatalf("unknown owner: exit %d, %q", code, errs)
		}
		for _, args := range [][]string{
			{"oauth2"}, {"oauth2", "frob"}, {"oauth2", "apps"}, {"oauth2", "apps", "frob"}, {"oauth2", "keys", "frob"},
			{"oauth2", "apps", "create", "--name", "X", "--owner", "svc"}, {"oauth2", "apps", "create", "--name", "X", "--grant", "password"},
			{"oauth2", "apps", "show"}, {"oauth2", "apps", "show", "abc"}, {"oauth2", "apps", "update", "1"}, {"oauth2", "apps", "revoke", "0"},
			{"oauth2", "keys", "retire"}, {"oauth2", "keys", "list", "extra"}, {"oauth2", "keys", "rotate", "extra"},
		} {
			code, _, errs := te.cli(t, "", args...)
			if code != 2 || len(errorLines(errs)) != 1 {
				t.Errorf("roster %v: exit %d, stderr %q", args, code, errs)
			}
		}
		code, _, errs = te.cli(t, "", "oauth2", "apps", "show", "99")
		if code != 1 || !strings.Contains(errs, "Application not found.") {
			t.Fatalf("unknown application: exit %d, %q", code, errs)
		}
	})
	t.Run("Help", func(t *testing.T) {
		for _, args := range [][]string{{"oauth2", "--help"}, {"oauth2", "apps", "--help"}, {"oauth2", "keys", "-h"},
			{"oauth2", "apps", "create", "--help"}, {"oauth2", "apps", "update", "--help"}, {"oauth2", "keys", "retire", "--help"}} {
			code, out, errs := te.cli(t, "", args...)
			if code != 0 || !strings.HasPrefix(out, "Usage:\n  roster oauth2 ") || errs != "" {
				t.Errorf("roster %v: exit %d, stdout %q, stderr %q", args, code, out, errs)
			}
		}
		_, out, _ := te.cli(t, "", "oauth2", "apps", "create", "--help")
		for _, flag := range []string{"-name NAME", "-owner ACCOUNT", "-grant GRANT", "-client-id ID", "-public", "-redirect-uri URI", "-scope SCOPE"} {
			if !strings.Contains(out, flag) {
				t.Errorf("apps create --help lacks %q:\n%s", flag, out)
			}
		}
		if _, out, _ := te.cli(t, "", "help"); !strings.Contains(out, "roster oauth2 keys retire KID") {
			t.Errorf("roster help lacks the oauth2 commands:\n%s", out)
		}
	})
	t.Run("SigningKeys", func(t *testing.T) {
		if out := te.mustCLI(t, "", "oauth2", "keys", "list"); out != "KID  ALGORITHM  STATE  CREATED  RETIRES\n" {
			t.Fatalf("no keys yet:\n%s", out)
		}
		first := strings.TrimSpace(te.mustCLI(t, "", "oauth2", "keys", "rotate"))
		second := strings.TrimSpace(te.mustCLI(t, "", "oauth2", "keys", "rotate"))
		list := te.mustCLI(t, "", "oauth2", "keys", "list")
		if !regexp.MustCompile(regexp.QuoteMeta(first)+`\s+RS512\s+verifying\s+\S+\s+\d{4}-`).MatchString(list) ||
			!regexp.MustCompile(regexp.QuoteMeta(second)+`\s+RS512\s+signing\s+\S+\s+-\n`).MatchString(list) {
			t.Fatalf("keys list after two rotations:\n%s", list)
		}
		te.mustCLI(t, "", "oauth2", "keys", "retire", first)
		if list := te.mustCLI(t, "", "oauth2", "keys", "list"); !regexp.MustCompile(regexp.QuoteMeta(first) + `\s+RS512\s+retired`).MatchString(list) {
			t.Fatalf("keys list after retiring %s:\n%s", first, list)
		}
		if code, _, errs := te.cli(t, "", "oauth2", "keys", "retire", "no-such-kid"); code != 1 || !strings.Contains(errs, "Signing key not found.") {
			t.Fatalf("retiring an unknown key: %d %q", code, errs)
		}
	})
	t.Run("RevokeWhileServing", func(t *testing.T) {
		srv := te.serve(t)
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "token_type": {"jwt"}}
		code, body := request(t, "POST", srv.url+"/oauth2/access_token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			t.Fatalf("token: %d %s", code, body)
		}
		if code, body := get(t, srv.url+"/v1/me", "Authorization", "JWT "+tok.AccessToken); code != 200 || !strings.Contains(body, `"username":"svc"`) {
			t.Fatalf("the token: %d %s", code, body)
		}
		te.mustCLI(t, "", "oauth2", "apps", "revoke", "1")
		te.mustCLI(t, "", "oauth2", "apps", "revoke", "1") // again: nothing changes
		if code, _ := get(t, srv.url+"/v1/me", "Authorization", "JWT "+tok.AccessToken); code != 401 {
			t.Fatalf("a revoked application's token: %d", code)
		}
		if out := te.mustCLI(t, "", "oauth2", "apps", "show", "1"); regexp.MustCompile(`revoked\s+-`).MatchString(out) {
			t.Fatalf("show after revoke:\n%s", out)
		}
		srv.stop()
	})
	t.Run("AuditedAsTheOperator", func(t *testing.T) {
		st := openTestStore(t, te)
		entries, err := st.ListAudit(context.Background(), roster.AuditFilter{TargetType: "oauth2_app"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			if e.ActorName != "cli:tester" || e.Via != roster.ViaCLI {
				t.Errorf("%s by %q via %q", e.Action, e.ActorName, e.Via)
			}
			b, _ := json.Marshal(e)
			for _, sec := range secrets {
				if strings.Contains(string(b), sec) {
					t.Errorf("%s holds a client secret", e.Action)
				}
			}
		}
		want := "oauth2_app.create oauth2_app.create oauth2_app.update oauth2_app.rotate_secret oauth2_app.revoke"
		if strings.Join(actions, " ") != want {
			t.Fatalf("audit: %v, want %s", actions, want)
		}
	})
}
