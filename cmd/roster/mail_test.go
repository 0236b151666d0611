package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/mail/mailtest"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
)

// TestOutboxAndMail: a server without a mail server keeps an email change's
// confirmation in the outbox, where 'roster outbox list' and 'show' find it (each read
// audited); a server started with --smtp-url delivers it at once; the links point at
// --public-url; nothing the server logs holds the link's key.
func TestOutboxAndMail(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			te := newTestEnv(t)
			if engine == "postgres" {
				te.db = pgtest.URL(t)
			}
			te.vars["ROSTER_ADMIN_PASSWORD"] = "admin password 1"
			te.mustCLI(t, "", "init")
			te.mustCLI(t, "", "users", "create", "--username", "alice", "--email", "alice@example.org")
			key := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "alice"))

			srv := te.serve(t, "--public-url", "https://roster.example.org")
			code, body := request(t, "PATCH", srv.url+"/api/user/v1/accounts/alice", `{"email": "alice@new.example.org"}`,
				"Authorization", "Bearer "+key, "Content-Type", "application/merge-patch+json")
			if code != 200 || !strings.Contains(body, `"email":"alice@example.org"`) {
				t.Fatalf("PATCH: %d %s", code, body)
			}
			if !strings.Contains(srv.stderr.String(), "no mail server configured") {
				t.Errorf("serve without --smtp-url does not say where messages go:\n%s", srv.stderr.String())
			}
			if code := srv.stop(); code != 0 {
				t.Fatalf("serve exited %d", code)
			}

			out := te.mustCLI(t, "", "outbox", "list")
			if !regexp.MustCompile(`(?m)^1 +pending +email_confirm +alice@new\.example\.org +1?0 `).MatchString(out) {
				t.Fatalf("outbox list:\n%s", out)
			}
			out = te.mustCLI(t, "", "outbox", "show", "1")
			link := regexp.MustCompile(`https://roster\.example\.org/email_confirm/[A-Za-z0-9_-]+`).FindString(out)
			if link == "" || !strings.Contains(out, "Subject: Confirm your new email address") {
				t.Fatalf("outbox show:\n%s", out)
			}
			var listed []map[string]any
			if err := json.Unmarshal([]byte(te.mustCLI(t, "", "outbox", "list", "--state", "pending", "--json")), &listed); err != nil ||
				len(listed) != 1 || listed[0]["body"] != nil {
				t.Fatalf("outbox list --json: %v %v", listed, err)
			}
			for _, bad := range [][]string{{"outbox"}, {"outbox", "frob"}, {"outbox", "show"}, {"outbox", "show", "x"}, {"outbox", "list", "--state", "lost"}} {
				if code, _, errs := te.cli(t, "", bad...); code != 2 || len(errorLines(errs)) != 1 {
					t.Errorf("roster %v: exit %d, %q", bad, code, errs)
				}
			}
			if code, _, errs := te.cli(t, "", "outbox", "show", "99"); code != 1 || !strings.Contains(errs, "not found") {
				t.Errorf("outbox show 99: exit %d, %q", code, errs)
			}

			// Each read is in the audit log, by the operator, naming the message.
			admin := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "admin"))
			srv = te.serve(t)
			_, body = get(t, srv.url+"/v1/audit?target_type=outbox", "Authorization", "Bearer "+admin)
			var audit struct {
				Entries []struct {
					Action, Actor string
					TargetID      int64 `json:"target_id"`
				}
			}
			if err := json.Unmarshal([]byte(body), &audit); err != nil || len(audit.Entries) != 3 ||
				audit.Entries[0].Action != "outbox.list" || audit.Entries[1].Action != "outbox.read" || audit.Entries[1].TargetID != 1 ||
				audit.Entries[1].Actor != "cli:tester" {
				t.Fatalf("audit of the outbox's reads: %s", body)
			}
			srv.stop()

			// With a mail server, the waiting message goes out at once.
			sink := mailtest.Start(t)
			srv = te.serve(t, "--smtp-url", sink.URL())
			ms := sink.Wait(t, 20*time.Second, "the confirmation", func(ms []mailtest.Message) bool { return len(ms) == 1 })
			if ms[0].To[0] != "alice@new.example.org" || !strings.Contains(ms[0].Body, link) {
				t.Fatalf("delivered: %+v", ms[0])
			}
			srv.stop()
			if !strings.Contains(srv.stderr.String(), `"msg":"delivering mail"`) {
				t.Errorf("serve does not say it delivers mail:\n%s", srv.stderr.String())
			}
			key = link[strings.LastIndex(link, "/")+1:]
			if strings.Contains(srv.stderr.String(), key) {
				t.Fatal("the server's log holds the link's key")
			}
			out = te.mustCLI(t, "", "outbox", "show", "1")
			if !strings.Contains(out, "State: sent") || strings.Contains(out, key) {
				t.Fatalf("after delivery:\n%s", out)
			}
			if code, _, errs := te.cli(t, "", "serve", "--smtp-url", "smtp://nowhere"); code != 2 || !strings.Contains(errs, "from=ADDRESS") {
				t.Errorf("serve with a bad --smtp-url: exit %d, %q", code, errs)
			}
		})
	}
}
