package emailconfirm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/mail"
	"github.com/rosterhq/roster/internal/mail/mailtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env, clk *testkit.Clock)) {
	clk := &testkit.Clock{}
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = clk.Now }}, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC())
		fn(t, e, clk)
	})
}

// deliver runs a mail worker over the core until the test ends, sending to sink.
func deliver(t *testing.T, e *testkit.Env, sink *mailtest.Sink) {
	cfg, err := mail.ParseURL(sink.URL())
	if err != nil {
		t.Fatal(err)
	}
	w := mail.New(e.Svc, &mail.SMTP{Config: cfg}, e.Log)
	w.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

type user struct {
	name, key string
	id        int64
}

func account(t *testing.T, e *testkit.Env, name string) user {
	rec, key := e.Account(t, map[string]any{"username": name, "email": name + "@example.com", "name": "Name " + name})
	return user{name: name, key: key, id: rec.ID}
}

func patch(t *testing.T, e *testkit.Env, u user, body string) testkit.Reply {
	t.Helper()
	return e.Do(t, "PATCH", "/api/user/v1/accounts/"+u.name, body, "Authorization", "Bearer "+u.key,
		"Content-Type", "application/merge-patch+json")
}

// field reads a key of an Open edX account.
func field(t *testing.T, r testkit.Reply, key string) any {
	t.Helper()
	var m map[string]any
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &m) != nil {
		t.Fatalf("not an account: %d %s", r.Status, r.Body)
	}
	return m[key]
}

func getAccount(t *testing.T, e *testkit.Env, u user) testkit.Reply {
	t.Helper()
	return e.Do(t, "GET", "/api/user/v1/accounts/"+u.name, "", "Authorization", "Bearer "+u.key)
}

var linkRE = regexp.MustCompile(`https?://[^\s/]+/email_confirm/[A-Za-z0-9_-]+`)

// confirmForm opens a confirmation link as a browser would and returns what its form
// posts back: the form cookie and the CSRF token.
func confirmForm(t *testing.T, e *testkit.Env, path string) (cookie, token string) {
	t.Helper()
	r := e.Do(t, "GET", path, "")
	if r.Status != 200 || !strings.Contains(r.Body, `<button type="submit">Confirm</button>`) {
		t.Fatalf("GET %s: %d %.500s", path, r.Status, r.Body)
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the page's headers let its address out: %v", r.Header)
	}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no CSRF token in the page: %s", r.Body)
	}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "roster_form" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("no form cookie: %v", r.Header)
	}
	return cookie, html.UnescapeString(m[1])
}

func post(t *testing.T, e *testkit.Env, path, cookie, token string) testkit.Reply {
	t.Helper()
	return e.Do(t, "POST", path, url.Values{"csrf_token": {token}}.Encode(), "Cookie", cookie,
		"Content-Type", "application/x-www-form-urlencoded")
}

// TestEmailChangeEndToEnd follows an email change through Open edX's accounts API to a
// mail server and back: the PATCH answers with the old address and saves the other
// fields; the new address receives the link; the link asks, and its form confirms; the
// account then shows the new address, both addresses are told, and the link is used up.
func TestEmailChangeEndToEnd(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		sink := mailtest.Start(t)
		deliver(t, e, sink)
		alice := account(t, e, "alice")

		r := patch(t, e, alice, `{"email": "alice.new@example.org", "bio": "Changed with the email"}`)
		if field(t, r, "email") != "alice@example.com" || field(t, r, "bio") != "Changed with the email" {
			t.Fatalf("PATCH: %s", r.Body)
		}
		if got := field(t, getAccount(t, e, alice), "email"); got != "alice@example.com" {
			t.Fatalf("before the link is followed GET shows %v", got)
		}

		ms := sink.Wait(t, 10*time.Second, "the confirmation", func(ms []mailtest.Message) bool { return len(ms) >= 1 })
		m := ms[0]
		if len(m.To) != 1 || m.To[0] != "alice.new@example.org" || m.From != "roster@example.org" ||
			m.Header.Get("Subject") != "Confirm your new email address" || !strings.HasPrefix(m.Header.Get("Message-ID"), "<") {
			t.Fatalf("the confirmation: %+v", m)
		}
		link := linkRE.FindString(m.Body)
		if link == "" || !strings.HasPrefix(link, e.URL+"/email_confirm/") {
			t.Fatalf("no link to %s in the message:\n%s", e.URL, m.Body)
		}
		path := strings.TrimPrefix(link, e.URL)
		key := strings.TrimPrefix(path, "/email_confirm/")

		// Following the link asks first; a POST without the page's token is refused.
		cookie, token := confirmForm(t, e, path)
		if r := post(t, e, path, "", token); r.Status != 403 {
			t.Fatalf("POST without the form cookie: %d", r.Status)
		}
		if got := field(t, getAccount(t, e, alice), "email"); got != "alice@example.com" {
			t.Fatalf("opening the link changed the email to %v", got)
		}
		r = post(t, e, path, cookie, token)
		if r.Status != 200 || !strings.Contains(r.Body, "Email address changed") || !strings.Contains(r.Body, "alice.new@example.org") {
			t.Fatalf("POST: %d %.500s", r.Status, r.Body)
		}
		if got := field(t, getAccount(t, e, alice), "email"); got != "alice.new@example.org" {
			t.Fatalf("after the link GET shows %v", got)
		}
		if got := field(t, getAccount(t, e, alice), "bio"); got != "Changed with the email" {
			t.Fatalf("the bio is %v", got)
		}

		// Both addresses are told.
		sink.Wait(t, 10*time.Second, "the notices", func(ms []mailtest.Message) bool {
			return len(sink.To("alice@example.com")) == 1 && len(sink.To("alice.new@example.org")) == 2
		})
		if old := sink.To("alice@example.com")[0]; !strings.Contains(old.Body, "changed from alice@example.com to alice.new@example.org") ||
			linkRE.MatchString(old.Body) {
			t.Fatalf("the notice to the old address:\n%s", old.Body)
		}

		// The key works once.
		if r := e.Do(t, "GET", path, ""); r.Status != 404 || !strings.Contains(r.Body, "Unknown link") {
			t.Fatalf("the used link: %d %.300s", r.Status, r.Body)
		}
		if r := post(t, e, path, cookie, token); r.Status != 404 {
			t.Fatalf("the used link, posted again: %d", r.Status)
		}

		// The audit log has the request and the confirmation, and nowhere the key; nor
		// has the server's log, nor the outbox once the message was sent.
		es, err := e.Store.ListAudit(context.Background(), roster.AuditFilter{TargetType: "account", TargetID: alice.id})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range es {
			actions = append(actions, en.Action)
			if b, _ := json.Marshal(en); strings.Contains(string(b), key) {
				t.Fatalf("the audit entry %s holds the key", en.Action)
			}
		}
		if got := strings.Join(actions, " "); got != "account.create account.email_change_request account.update account.email_change_confirm" {
			t.Fatalf("audit: %s", got)
		}
		if last := es[len(es)-1]; last.ActorID != alice.id || last.Via != roster.ViaLink || fmt.Sprint(last.Changes[0]) != "{email alice@example.com alice.new@example.org false}" {
			t.Fatalf("the confirmation's entry: %+v", last)
		}
		if strings.Contains(e.Logs.String(), key) {
			t.Fatal("the server's log holds the key")
		}
		if !strings.Contains(e.Logs.String(), `"path":"/email_confirm/…"`) {
			t.Fatalf("the access log does not show the link's path without its key:\n%s", e.Logs.String())
		}
		msgs, err := e.Store.ListMessages(context.Background(), roster.MessageFilter{})
		if err != nil {
			t.Fatal(err)
		}
		sink.Wait(t, 10*time.Second, "", func([]mailtest.Message) bool { return true })
		for _, m := range msgs {
			if m.State == roster.MessageSent && m.Body != "" {
				t.Fatalf("message %d was sent and keeps its body", m.ID)
			}
		}
	})
}

// TestEmailChangeRules: Open edX's answers to an address in use (nothing, and nothing
// said), the same address and an invalid one (its field errors); expired, replaced and
// unknown links; an address taken between the request and the confirmation.
func TestEmailChangeRules(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		ctx := context.Background()
		alice, bob := account(t, e, "alice"), account(t, e, "bob")
		outbox := func() []*roster.Message {
			ms, err := e.Store.ListMessages(ctx, roster.MessageFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}

		// An address another account holds: 200, as if it were taken, but no pending
		// change and no message.
		for _, addr := range []string{"bob@example.com", "BOB@example.com"} {
			r := patch(t, e, alice, `{"email": "`+addr+`", "bio": "kept"}`)
			if field(t, r, "email") != "alice@example.com" || field(t, r, "bio") != "kept" {
				t.Fatalf("%s: %s", addr, r.Body)
			}
		}
		if _, err := e.Store.GetEmailChange(ctx, alice.id); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("a pending change to an address in use: %v", err)
		}
		if ms := outbox(); len(ms) != 0 {
			t.Fatalf("%d messages queued for an address in use", len(ms))
		}

		fieldError := func(body, msg string) {
			t.Helper()
			r := patch(t, e, alice, body)
			want := fmt.Sprintf(`{"field_errors":{"email":{"developer_message":"Error thrown from validate_new_email: '%s'","user_message":"%s"}}}`, msg, msg)
			if r.Status != 400 || r.Body != want {
				t.Fatalf("%s: %d %s\nwant %s", body, r.Status, r.Body, want)
			}
		}
		fieldError(`{"email": "alice@example.com"}`, "Old email is the same as the new email.")
		for _, bad := range []string{`"not_an_email"`, `""`, `null`} {
			fieldError(`{"email": `+bad+`}`, "Valid e-mail address required.")
		}
		// A refused email refuses the whole PATCH, as every refused field does.
		r := patch(t, e, alice, `{"email": "not_an_email", "bio": "not saved"}`)
		if r.Status != 400 || field(t, getAccount(t, e, alice), "bio") != "kept" {
			t.Fatalf("a refused email saved the rest: %d %s", r.Status, r.Body)
		}
		if ms := outbox(); len(ms) != 0 {
			t.Fatalf("%d messages queued by refused changes", len(ms))
		}

		// A second request replaces the first: its link no longer works.
		keyOf := func(n int) string {
			t.Helper()
			ms := outbox()
			if len(ms) != n {
				t.Fatalf("%d messages, want %d", len(ms), n)
			}
			m, err := e.Svc.ReadMessage(testkit.Operator(), ms[n-1].ID)
			if err != nil {
				t.Fatal(err)
			}
			link := linkRE.FindString(m.Body)
			if link == "" {
				t.Fatalf("no link in %q", m.Body)
			}
			return link[strings.Index(link, "/email_confirm/"):]
		}
		patch(t, e, alice, `{"email": "first@example.org"}`)
		first := keyOf(1)
		patch(t, e, alice, `{"email": "second@example.org"}`)
		second := keyOf(2)
		if r := e.Do(t, "GET", first, ""); r.Status != 404 {
			t.Fatalf("the replaced link: %d", r.Status)
		}
		if r := e.Do(t, "GET", "/email_confirm/not-a-key", ""); r.Status != 404 || !strings.Contains(r.Body, "Unknown link") {
			t.Fatalf("an unknown key: %d %.300s", r.Status, r.Body)
		}

		// Taken meanwhile: bob moves to the address first; following alice's link changes
		// nothing and says why.
		cookie, token := confirmForm(t, e, second)
		patch(t, e, bob, `{"email": "second@example.org"}`)
		bobs := keyOf(3)
		bc, bt := confirmForm(t, e, bobs)
		if r := post(t, e, bobs, bc, bt); r.Status != 200 {
			t.Fatalf("bob's confirmation: %d %.300s", r.Status, r.Body)
		}
		if r := post(t, e, second, cookie, token); r.Status != 409 || !strings.Contains(r.Body, "Address in use") {
			t.Fatalf("alice's, for bob's address: %d %.300s", r.Status, r.Body)
		}
		if got := field(t, getAccount(t, e, alice), "email"); got != "alice@example.com" {
			t.Fatalf("alice's email became %v", got)
		}

		// Expiry: a day on, the link is gone (410), and changes nothing.
		patch(t, e, alice, `{"email": "third@example.org"}`)
		third := keyOf(6) // bob's confirmation queued two notices
		cookie, token = confirmForm(t, e, third)
		clk.Advance(24*time.Hour + time.Second)
		if r := e.Do(t, "GET", third, ""); r.Status != 410 || !strings.Contains(r.Body, "Link expired") {
			t.Fatalf("an expired link: %d %.300s", r.Status, r.Body)
		}
		if r := post(t, e, third, cookie, token); r.Status != 410 {
			t.Fatalf("an expired link, posted: %d", r.Status)
		}
		if got := field(t, getAccount(t, e, alice), "email"); got != "alice@example.com" {
			t.Fatalf("an expired link changed the email to %v", got)
		}
		// Its message expires with it: the outbox gives it up and purges its body.
		if _, err := e.Svc.ExpireOutbox(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := e.Store.GetMessage(ctx, outbox()[5].ID)
		if err != nil || m.State != roster.MessageExpired || m.Body != "" {
			t.Fatalf("the expired link's message: %+v %v", m, err)
		}
	})
}
