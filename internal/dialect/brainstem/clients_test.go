package brainstem_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/testkit"
)

// The requests brainstem_python_api_tools sends, byte for byte as docs/clients.md's runs
// recorded them (v0.2 at bc595e3, v2.0 at 6235a38): v0.2 obtains a token with
// POST api/token/ and builds its query strings by hand, braces and brackets
// percent-encoded, "@" raw; v2.0 logs in with the device flow and urlencodes its
// queries (include[]=groups.%2A, limit and offset), paging with load_all until it holds
// "count" records. Both send Authorization: Bearer and python-requests' User-Agent.

const clientUA = "python-requests/2.28.1"

// clientsEnv is a Roster with ada, a system administrator who signs in, and four users
// whose last names tie, so that the second sort key decides.
func clientsEnv(t *testing.T, fn func(t *testing.T, e *testkit.Env, ids map[string]int64)) {
	clk := &testkit.Clock{}
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = clk.Now }}, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC().Truncate(time.Second))
		ids := map[string]int64{}
		for _, in := range []map[string]any{
			{"username": "ada", "email": "ada@example.org", "first_name": "Ada", "last_name": "Admin", "password": password, "sysadmin": true},
			{"username": "dan", "email": "dan@example.org", "first_name": "Dan", "last_name": "Tester"},
			{"username": "bob", "email": "bob@example.org", "first_name": "Bob", "last_name": "Tester"},
			{"username": "carol", "email": "carol@example.org", "first_name": "Carol", "last_name": "Tester"},
			{"username": "eve", "email": "eve@example.net", "first_name": "Eve", "last_name": "Zed"},
		} {
			rec, _ := e.Account(t, in)
			ids[rec.Username] = rec.ID
		}
		fn(t, e, ids)
	})
}

// send is one request as python-requests sends it.
func send(t *testing.T, e *testkit.Env, method, path, token, body string) testkit.Reply {
	t.Helper()
	h := []string{"User-Agent", clientUA, "Accept", "*/*"}
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	if body != "" {
		h = append(h, "Content-Type", "application/json")
	}
	return e.Do(t, method, path, body, h...)
}

type usersPage struct {
	Users []struct {
		ID       int64  `json:"id"`
		Email    string `json:"email"`
		LastName string `json:"last_name"`
	} `json:"users"`
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
}

func page(t *testing.T, r testkit.Reply) usersPage {
	t.Helper()
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, `{"users":`) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var p usersPage
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func emails(p usersPage) string {
	var out []string
	for _, u := range p.Users {
		out = append(out, u.Email)
	}
	return strings.Join(out, " ")
}

func TestClientV02Requests(t *testing.T) {
	clientsEnv(t, func(t *testing.T, e *testkit.Env, ids map[string]int64) {
		// The login: JSON, with the client's accept and Content-Type; 200 or LoginError.
		r := e.Do(t, "POST", "/api/token/", `{"username": "ada", "password": "wrong"}`, "accept", "application/json", "Content-Type", "application/json", "User-Agent", clientUA)
		if r.Status == http.StatusOK {
			t.Fatalf("a wrong password: %d %s", r.Status, r.Body)
		}
		r = e.Do(t, "POST", "/api/token/", `{"username": "ada", "password": "`+password+`"}`, "accept", "application/json", "Content-Type", "application/json", "User-Agent", clientUA)
		var tok struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.Body), &tok); r.Status != http.StatusOK || err != nil || tok.Token == "" {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		// load_model('user', portal='super', filters={'email.icontains': '@'}, sort=['-last_name', 'email'])
		p := page(t, send(t, e, "GET", "/api/super/users/user/?filter%7Bemail.icontains%7D=@&sort%5B%5D=-last_name&sort%5B%5D=email", tok.Token, ""))
		if got, want := emails(p), "eve@example.net bob@example.org carol@example.org dan@example.org ada@example.org"; got != want || p.Count != 5 {
			t.Errorf("list: %s (count %d), want %s", got, p.Count, want)
		}
		// The same with the raw braces a hand-built URL may carry.
		if got := emails(page(t, send(t, e, "GET", "/api/super/users/user/?filter{email.icontains}=example.net&sort[]=-last_name", tok.Token, ""))); got != "eve@example.net" {
			t.Errorf("raw braces: %s", got)
		}
		bob := fmt.Sprint(ids["bob"])
		r = send(t, e, "GET", "/api/super/users/user/"+bob+"/", tok.Token, "")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, `{"user":{"id":`+bob+`,`) {
			t.Fatalf("load: %d %s", r.Status, r.Body)
		}
		r = send(t, e, "PATCH", "/api/super/users/user/"+bob+"/", tok.Token, `{"website": "www.someweb.com"}`)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"website":"http://www.someweb.com"`) {
			t.Fatalf("save: %d %s", r.Status, r.Body)
		}
		r = send(t, e, "DELETE", "/api/super/users/user/"+bob+"/", tok.Token, "")
		if r.Status != http.StatusNoContent || r.Body != "" {
			t.Fatalf("delete: %d %q", r.Status, r.Body)
		}
		if r = send(t, e, "GET", "/api/super/users/user/"+bob+"/", tok.Token, ""); r.Status != http.StatusNotFound || r.Body != `{"detail":"Not found."}` {
			t.Fatalf("load after delete: %d %s", r.Status, r.Body)
		}
	})
}

func TestClientV20Requests(t *testing.T) {
	clientsEnv(t, func(t *testing.T, e *testkit.Env, ids map[string]int64) {
		// The device flow: start, a pending poll, ada approves in her browser, the
		// token once.
		r := e.Do(t, "POST", "/api/auth/device/", `{"client_name": "brainstem-python"}`, "Content-Type", "application/json", "User-Agent", clientUA)
		d := decode(t, r)
		if r.Status != http.StatusOK {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		if s, p := poll(t, e, d); s != http.StatusOK || p["status"] != "authorization_pending" {
			t.Fatalf("pending poll: %d %v", s, p)
		}
		if r := decide(t, e, signIn(t, e), d, "approve"); r.Status != http.StatusOK && r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		s, p := poll(t, e, d)
		token, _ := p["token"].(string)
		if s != http.StatusOK || p["status"] != "success" || token == "" {
			t.Fatalf("approved poll: %d %v", s, p)
		}
		// load('user', portal='super', filters={'email.icontains': '@'}, sort=['-last_name', 'email'], include=['groups'], limit=2, offset=1)
		q := "filter%7Bemail.icontains%7D=%40&sort%5B%5D=-last_name&sort%5B%5D=email&include%5B%5D=groups.%2A"
		p1 := page(t, send(t, e, "GET", "/api/super/users/user/?"+q+"&limit=2&offset=1", token, ""))
		if got := emails(p1); got != "bob@example.org carol@example.org" || p1.Count != 5 || p1.Next == nil || p1.Previous == nil {
			t.Errorf("limit=2&offset=1: %s count %d next %v previous %v", got, p1.Count, p1.Next, p1.Previous)
		}
		// load_all=True, page size 2: offsets 0, 2, 4 until it holds count records.
		var all []string
		for offset := 0; ; offset += 2 {
			p := page(t, send(t, e, "GET", fmt.Sprintf("/api/super/users/user/?%s&limit=2&offset=%d", q, offset), token, ""))
			for _, u := range p.Users {
				all = append(all, u.Email)
			}
			if len(all) >= p.Count || len(p.Users) == 0 {
				break
			}
		}
		if got := strings.Join(all, " "); got != "eve@example.net bob@example.org carol@example.org dan@example.org ada@example.org" {
			t.Errorf("load_all: %s", got)
		}
		carol := fmt.Sprint(ids["carol"])
		if r := send(t, e, "PATCH", "/api/super/users/user/"+carol+"/", token, `{"website": "www.someweb.com"}`); r.Status != http.StatusOK ||
			!strings.Contains(r.Body, `"website":"http://www.someweb.com"`) {
			t.Fatalf("save: %d %s", r.Status, r.Body)
		}
		// save() without an id POSTs: no registration through the API.
		if r := send(t, e, "POST", "/api/super/users/user/", token, `{"email": "x@example.org"}`); r.Status != http.StatusMethodNotAllowed {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if r := send(t, e, "DELETE", "/api/super/users/user/"+carol+"/", token, ""); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := send(t, e, "GET", "/api/super/users/user/"+carol+"/", token, ""); r.Status != http.StatusNotFound {
			t.Fatalf("load after delete: %d %s", r.Status, r.Body)
		}
		// A token the server does not know: 401, which the client raises as
		// AuthenticationError.
		if r := send(t, e, "GET", "/api/super/users/user/?limit=100&offset=0", "not-a-token", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad token: %d %s", r.Status, r.Body)
		}
	})
}
