package brainstem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

const password = "brainstem-pass-1"

// env is a Roster on a test clock, with ada (who signs in) and her API key.
func env(t *testing.T, fn func(t *testing.T, e *testkit.Env, clk *testkit.Clock, key string)) {
	clk := &testkit.Clock{}
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = clk.Now }}, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC().Truncate(time.Second))
		_, key := e.Account(t, map[string]any{"username": "ada", "email": "ada@example.org", "password": password})
		fn(t, e, clk, key)
	})
}

func decode(t *testing.T, r testkit.Reply) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.Status, r.Body)
	}
	return m
}

func post(t *testing.T, e *testkit.Env, path, body string) testkit.Reply {
	t.Helper()
	return e.Do(t, "POST", path, body, "Content-Type", "application/json", "Accept", "application/json")
}

// me asks Open edX's /api/user/v1/me with the token, as BrainSTEM's clients send it.
func me(t *testing.T, e *testkit.Env, token string) testkit.Reply {
	t.Helper()
	return e.Do(t, "GET", "/api/user/v1/me", "", "Authorization", "Bearer "+token)
}

// TestPasswordToken: brainstem_python_api_tools v0.2's login. The token answers
// "Authorization: Bearer" on other surfaces; wrong and missing credentials get DRF's
// bodies; failed passwords are throttled like sign-ins.
func TestPasswordToken(t *testing.T) {
	env(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock, key string) {
		r := post(t, e, "/api/token/", `{"username": "ada", "password": "`+password+`"}`)
		tok, _ := decode(t, r)["token"].(string)
		if r.Status != 200 || tok == "" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		if r := me(t, e, tok); r.Status != 200 || !strings.Contains(r.Body, `"username":"ada"`) {
			t.Fatalf("/api/user/v1/me with the token: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, "GET", "/v1/me", "", "Authorization", "Bearer "+tok); r.Status != 200 {
			t.Fatalf("/v1/me with the token: %d %s", r.Status, r.Body)
		}
		// A form works too, as DRF's parsers take one.
		f := e.Do(t, "POST", "/api/token/", url.Values{"username": {"ada@example.org"}, "password": {password}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		if f.Status != 200 || decode(t, f)["token"] == tok {
			t.Fatalf("form login: %d %s", f.Status, f.Body)
		}
		// A token lives a year.
		clk.Advance(364 * 24 * time.Hour)
		if r := me(t, e, tok); r.Status != 200 {
			t.Fatalf("after 364 days: %d %s", r.Status, r.Body)
		}
		clk.Advance(2 * 24 * time.Hour)
		if r := me(t, e, tok); r.Status != 401 {
			t.Fatalf("after 366 days: %d %s", r.Status, r.Body)
		}

		for body, want := range map[string]string{
			`{"username": "ada"}`: `{"password":["This field is required."]}`,
			`{}`:                  `{"password":["This field is required."],"username":["This field is required."]}`,
			`{"password": "x"}`:   `{"username":["This field is required."]}`,
			`{"username": "ada", "password": "wrong"}`: `{"non_field_errors":["Unable to log in with provided credentials."]}`,
			`{"username": "nobody", "password": "x"}`:  `{"non_field_errors":["Unable to log in with provided credentials."]}`,
		} {
			if r := post(t, e, "/api/token/", body); r.Status != 400 || r.Body != want {
				t.Errorf("%s: %d %s, want 400 %s", body, r.Status, r.Body, want)
			}
		}
		if r := e.Do(t, "GET", "/api/token/", ""); r.Status != 405 || r.Body != `{"detail":"Method \"GET\" not allowed."}` {
			t.Errorf("GET: %d %s", r.Status, r.Body)
		}
		// ada's wrong passwords are counted: soon even the right one waits.
		var last testkit.Reply
		for range 10 {
			if last = post(t, e, "/api/token/", `{"username": "ada", "password": "wrong"}`); last.Status == 429 {
				break
			}
		}
		if last.Status != 429 || last.Header.Get("Retry-After") == "" || !strings.HasPrefix(decode(t, last)["detail"].(string), "Request was throttled.") {
			t.Fatalf("throttled: %d %v %s", last.Status, last.Header, last.Body)
		}
		if r := post(t, e, "/api/token/", `{"username": "ada", "password": "`+password+`"}`); r.Status != 429 {
			t.Fatalf("the right password while throttled: %d %s", r.Status, r.Body)
		}
	})
}

// device starts a device flow as brainstem_python_api_tools v2.0 does.
func device(t *testing.T, e *testkit.Env) map[string]any {
	t.Helper()
	r := post(t, e, "/api/auth/device/", `{"client_name": "brainstem-python"}`)
	d := decode(t, r)
	if r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	for _, k := range []string{"device_code", "user_code", "verification_uri", "verification_uri_complete"} {
		if s, _ := d[k].(string); s == "" {
			t.Fatalf("start: no %s in %s", k, r.Body)
		}
	}
	if d["interval"] != 5.0 || d["expires_in"] != 600.0 || !regexp.MustCompile(`^[B-Z]{4}-[B-Z]{4}$`).MatchString(d["user_code"].(string)) ||
		d["verification_uri_complete"] != d["verification_uri"].(string)+"?user_code="+d["user_code"].(string) ||
		!strings.HasSuffix(d["verification_uri"].(string), "/device") {
		t.Fatalf("start: %s", r.Body)
	}
	return d
}

func poll(t *testing.T, e *testkit.Env, d map[string]any) (int, map[string]any) {
	t.Helper()
	r := post(t, e, "/api/auth/device/token/", fmt.Sprintf(`{"device_code": %q}`, d["device_code"]))
	return r.Status, decode(t, r)
}

// signIn signs ada in, and returns her browser's session cookie.
func signIn(t *testing.T, e *testkit.Env) string {
	t.Helper()
	s, err := e.Svc.Login(context.Background(), roster.Credentials{Login: "ada", Password: password}, roster.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	return "roster_session=" + s.Token
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// decide opens the verification URI in ada's browser and presses decision.
func decide(t *testing.T, e *testkit.Env, cookie string, d map[string]any, decision string) testkit.Reply {
	t.Helper()
	u, _ := url.Parse(d["verification_uri_complete"].(string))
	page := e.Do(t, "GET", u.RequestURI(), "", "Cookie", cookie)
	m := csrfField.FindStringSubmatch(page.Body)
	if page.Status != 200 || m == nil || !strings.Contains(page.Body, d["user_code"].(string)) || !strings.Contains(page.Body, "brainstem-python") ||
		page.Header.Get("Content-Security-Policy") == "" || strings.Contains(page.Body, "<script") {
		t.Fatalf("the page: %d %.800s", page.Status, page.Body)
	}
	if strings.Contains(page.Body, d["device_code"].(string)) {
		t.Fatal("the page shows the device code")
	}
	form := url.Values{"csrf_token": {m[1]}, "user_code": {d["user_code"].(string)}, "decision": {decision}}
	return e.Do(t, "POST", "/device", form.Encode(), "Cookie", cookie, "Content-Type", "application/x-www-form-urlencoded")
}

// TestDeviceFlow: the v2.0 client's login end to end. Polls are pending until ada
// approves in her signed-in browser; the next poll gets the token, once; the token is
// listed with her grants and stops working when revoked there.
func TestDeviceFlow(t *testing.T) {
	env(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock, key string) {
		d := device(t, e)
		if s, p := poll(t, e, d); s != 200 || p["status"] != "authorization_pending" || p["interval"] != 5.0 || p["token"] != nil {
			t.Fatalf("first poll: %d %v", s, p)
		}
		// Not signed in: the page sends the browser to sign in, and back.
		u, _ := url.Parse(d["verification_uri_complete"].(string))
		if r := e.Do(t, "GET", u.RequestURI(), ""); r.Status != 302 ||
			r.Header.Get("Location") != "/account/signin?next="+url.QueryEscape("/device?user_code="+d["user_code"].(string)) {
			t.Fatalf("anonymous page: %d %s", r.Status, r.Header.Get("Location"))
		}
		cookie := signIn(t, e)
		// A POST without the form's token is refused.
		if r := e.Do(t, "POST", "/device", url.Values{"user_code": {d["user_code"].(string)}, "decision": {"approve"}}.Encode(),
			"Cookie", cookie, "Content-Type", "application/x-www-form-urlencoded"); r.Status != 403 {
			t.Fatalf("POST without CSRF: %d", r.Status)
		}
		clk.Advance(5 * time.Second)
		if s, p := poll(t, e, d); s != 200 || p["status"] != "authorization_pending" {
			t.Fatalf("poll before approval: %d %v", s, p)
		}
		if r := decide(t, e, cookie, d, "approve"); r.Status != 200 || !strings.Contains(r.Body, "is connected to your account") {
			t.Fatalf("approve: %d %.500s", r.Status, r.Body)
		}
		clk.Advance(5 * time.Second)
		s, p := poll(t, e, d)
		tok, _ := p["token"].(string)
		if s != 200 || p["status"] != "success" || tok == "" {
			t.Fatalf("poll after approval: %d %v", s, p)
		}
		if r := me(t, e, tok); r.Status != 200 || !strings.Contains(r.Body, `"username":"ada"`) {
			t.Fatalf("the device's token: %d %s", r.Status, r.Body)
		}
		// Once: the next poll is refused, and approving again is too.
		clk.Advance(5 * time.Second)
		if s, p := poll(t, e, d); s != 400 || p["status"] != "invalid_grant" || p["token"] != nil {
			t.Fatalf("poll after success: %d %v", s, p)
		}
		// Listed with her grants, and revoked there.
		r := e.Do(t, "GET", "/v1/users/ada/oauth2-grants", "", "Authorization", "Bearer "+key)
		if r.Status != 200 || !strings.Contains(r.Body, `"brainstem_device"`) {
			t.Fatalf("grants: %d %s", r.Status, r.Body)
		}
		var grants struct {
			Grants []struct {
				ID        int64  `json:"id"`
				GrantType string `json:"grant_type"`
			} `json:"grants"`
		}
		if err := json.Unmarshal([]byte(r.Body), &grants); err != nil {
			t.Fatalf("grants: %v %s", err, r.Body)
		}
		var id int64
		for _, g := range grants.Grants {
			if g.GrantType == roster.GrantBrainSTEMDevice {
				id = g.ID
			}
		}
		if id == 0 {
			t.Fatalf("no device grant in %s", r.Body)
		}
		if r := e.Do(t, "DELETE", fmt.Sprintf("/v1/oauth2/grants/%d", id), "", "Authorization", "Bearer "+key); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if r := me(t, e, tok); r.Status != 401 {
			t.Fatalf("the revoked token: %d %s", r.Status, r.Body)
		}
		// The audit log holds the flow, and no code or token.
		entries, err := e.Store.ListAudit(context.Background(), roster.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(entries)
		for _, want := range []string{"device_authorization.start", "device_authorization.approve", "oauth2.token", "oauth2_grant.revoke"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("the audit log has no %s", want)
			}
		}
		for _, secret := range []string{d["device_code"].(string), tok} {
			if strings.Contains(string(b), secret) || strings.Contains(e.Logs.String(), secret) {
				t.Error("a secret is in the audit log or the logs")
			}
		}
	})
}

// TestDeviceFlowEnds: a denied flow and an expired one tell the client so, with the
// statuses that stop it; polling too fast is answered with a longer interval, never
// an error status.
func TestDeviceFlowEnds(t *testing.T) {
	env(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock, key string) {
		cookie := signIn(t, e)
		denied := device(t, e)
		if r := decide(t, e, cookie, denied, "deny"); r.Status != 200 || !strings.Contains(r.Body, "was denied") {
			t.Fatalf("deny: %d %.500s", r.Status, r.Body)
		}
		if s, p := poll(t, e, denied); s != 200 || p["status"] != "access_denied" || p["error"] == "" || p["token"] != nil {
			t.Fatalf("denied: %d %v", s, p)
		}
		// Approving after a denial is refused.
		u, _ := url.Parse(denied["verification_uri_complete"].(string))
		if r := e.Do(t, "GET", u.RequestURI(), "", "Cookie", cookie); r.Status != 409 {
			t.Fatalf("page of a decided code: %d", r.Status)
		}

		fast := device(t, e)
		poll(t, e, fast)
		clk.Advance(time.Second)
		if s, p := poll(t, e, fast); s != 200 || p["status"] != "authorization_pending" || p["error"] != "slow_down" || p["interval"] != 10.0 {
			t.Fatalf("too fast: %d %v", s, p)
		}
		clk.Advance(5 * time.Second) // within the new interval: slower still
		if s, p := poll(t, e, fast); s != 200 || p["error"] != "slow_down" || p["interval"] != 15.0 {
			t.Fatalf("too fast again: %d %v", s, p)
		}
		clk.Advance(15 * time.Second)
		if s, p := poll(t, e, fast); s != 200 || p["error"] != nil || p["interval"] != 15.0 {
			t.Fatalf("at the interval: %d %v", s, p)
		}

		// Ten minutes on, the code has expired: the page says so, the poll too.
		clk.Advance(10 * time.Minute)
		u, _ = url.Parse(fast["verification_uri_complete"].(string))
		if r := e.Do(t, "GET", u.RequestURI(), "", "Cookie", cookie); r.Status != 410 || !strings.Contains(r.Body, "expired") {
			t.Fatalf("page of an expired code: %d %.300s", r.Status, r.Body)
		}
		if s, p := poll(t, e, fast); s != 200 || p["status"] != "expired_token" || p["token"] != nil {
			t.Fatalf("expired: %d %v", s, p)
		}
		// A code no flow has.
		if s, p := poll(t, e, map[string]any{"device_code": "no-such-code"}); s != 400 || p["status"] != "invalid_grant" {
			t.Fatalf("unknown: %d %v", s, p)
		}
		if r := post(t, e, "/api/auth/device/token/", `{}`); r.Status != 400 || r.Body != `{"device_code":["This field is required."]}` {
			t.Fatalf("no device_code: %d %s", r.Status, r.Body)
		}
	})
}
