package server_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/testkit"
)

// Small limits, so that a body just over them fits in the socket's buffers and the
// client always reads the early answer.
const (
	bodyLimit   = 64 << 10
	importLimit = 256 << 10
)

// probe is one hostile or careless request to a surface, and what its answer must be.
type probe struct {
	method, path, body string
	header             []string // name, value pairs
	status             int
	// format checks the body is in the surface's own format, and says what it holds.
	format func(t *testing.T, r testkit.Reply)
}

// Every surface must answer these four in its own format and status. A surface that
// registers routes without its rows here fails TestEverySurfaceAnswersInItsFormat: a
// new dialect brings its own rows.
var cases = []string{"body over the limit", "headers over the limit", "malformed body", "bad credential"}

func rows(key, token string) map[string]map[string]probe {
	big := func(n int) string { return strings.Repeat("x", n+1) }
	huge := []string{"X-Padding", strings.Repeat("p", 70<<10)}
	form := func(v url.Values) string { return v.Encode() }
	return map[string]map[string]probe{
		"v1": {
			"body over the limit": {method: "POST", path: "/v1/users", body: big(bodyLimit),
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}, status: 413, format: v1Error("too_large")},
			"headers over the limit": {method: "GET", path: "/v1/users", header: append([]string{"Authorization", "Bearer " + key}, huge...),
				status: 431, format: v1Error("too_large")},
			"malformed body": {method: "POST", path: "/v1/users", body: `{"username": "x",`,
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}, status: 400, format: v1Error("invalid")},
			"bad credential": {method: "GET", path: "/v1/me", header: []string{"Authorization", "Bearer rk_not-a-key"},
				status: 401, format: v1Error("unauthenticated")},
		},
		"ckan": {
			"body over the limit": {method: "POST", path: "/api/3/action/user_create", body: big(bodyLimit),
				header: []string{"X-CKAN-API-Key", key, "Content-Type", "application/json"}, status: 413,
				format: ckanBare("Bad request - the request body is too large")},
			"headers over the limit": {method: "GET", path: "/api/3/action/user_list", header: huge, status: 431,
				format: ckanBare("Bad request - the request URL and headers are too large")},
			"malformed body": {method: "POST", path: "/api/3/action/user_show", body: `{"id": `,
				header: []string{"X-CKAN-API-Key", key, "Content-Type", "application/json"}, status: 400, format: ckanBare("Bad request - JSON Error: ")},
			// CKAN takes a bad key for no key: the action is then refused to an anonymous caller.
			"bad credential": {method: "POST", path: "/api/3/action/user_create", body: `{"name": "x"}`,
				header: []string{"X-CKAN-API-Key", "rk_not-a-key", "Content-Type", "application/json"}, status: 403,
				format: ckanEnvelope("user_create", "Authorization Error")},
		},
		"pybossa": {
			"body over the limit": {method: "POST", path: "/admin/users?api_key=" + key, body: big(bodyLimit),
				header: []string{"Content-Type", "application/json"}, status: 413, format: pybossaJSON(413, "The data value transmitted exceeds the capacity limit.")},
			"headers over the limit": {method: "GET", path: "/admin/users?response_format=json", header: append([]string{"Authorization", key}, huge...),
				status: 431, format: pybossaJSON(431, "One or more header fields exceeds the maximum size.")},
			// The HTML form of the same error: PYBOSSA's page, in Roster's layout.
			"malformed body": {method: "POST", path: "/admin/users", body: "user=%zz",
				header: []string{"Authorization", key, "Content-Type", "application/x-www-form-urlencoded"}, status: 400, format: htmlPage("Bad request")},
			// PYBOSSA takes an unknown key for no key, and sends the caller to sign in.
			"bad credential": {method: "GET", path: "/admin/users?response_format=json&api_key=rk_not-a-key", status: 302,
				format: redirectTo("/account/signin?next=%2Fadmin%2Fusers%3Fresponse_format%3Djson")},
		},
		"openedx": {
			"body over the limit": {method: "PATCH", path: "/api/user/v1/accounts/root", body: big(bodyLimit),
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/merge-patch+json"}, status: 413,
				format: drfDetail(fmt.Sprintf("The request body is larger than %d bytes.", bodyLimit))},
			"headers over the limit": {method: "GET", path: "/api/user/v1/me", header: append([]string{"Authorization", "Bearer " + key}, huge...),
				status: 431, format: drfDetail("The request's URL and headers are larger than 65536 bytes.")},
			"malformed body": {method: "PATCH", path: "/api/user/v1/accounts/root", body: `{"bio": `,
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/merge-patch+json"}, status: 400,
				format: drfDetail("JSON parse error - The request body is not valid JSON: unexpected EOF.")},
			"bad credential": {method: "GET", path: "/api/user/v1/me", header: []string{"Authorization", "Bearer rk_not-a-key"}, status: 401,
				format: exactJSON(`{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}`)},
		},
		// BrainSTEM's users endpoint and its token flows: Django REST framework's bodies.
		"brainstem": {
			"body over the limit": {method: "PATCH", path: "/api/private/users/user/1/", body: big(bodyLimit),
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}, status: 413,
				format: drfDetail(fmt.Sprintf("The request body is larger than %d bytes.", bodyLimit))},
			"headers over the limit": {method: "GET", path: "/api/private/users/user/", header: append([]string{"Authorization", "Bearer " + key}, huge...),
				status: 431, format: drfDetail("The request's URL and headers are larger than 65536 bytes.")},
			"malformed body": {method: "PATCH", path: "/api/private/users/user/1/", body: `{"website": `,
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}, status: 400,
				format: drfDetail("JSON parse error - The request body is not valid JSON: unexpected EOF.")},
			"bad credential": {method: "GET", path: "/api/private/users/user/", header: []string{"Authorization", "Bearer rk_forged"},
				status: 401, format: drfDetail("Invalid token.")},
		},
		// Open edX's profile image view words every error as {"developer_message": …}.
		"openedx-images": {
			"body over the limit": {method: "POST", path: "/api/user/v1/accounts/root/image", body: big(bodyLimit),
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "multipart/form-data; boundary=x"}, status: 413,
				format: exactJSON(fmt.Sprintf(`{"developer_message":"The request body is larger than %d bytes."}`, bodyLimit))},
			"headers over the limit": {method: "GET", path: "/media/profile-images/0123456789abcdef0123456789abcdef_500.jpg", header: huge,
				status: 431, format: exactJSON(`{"developer_message":"The request's URL and headers are larger than 65536 bytes."}`)},
			"malformed body": {method: "POST", path: "/api/user/v1/accounts/root/image", body: "--x\r\n",
				header: []string{"Authorization", "Bearer " + key, "Content-Type", "multipart/form-data"}, status: 400,
				format: exactJSON(`{"developer_message":"Multipart form parse error - Invalid boundary in multipart: None"}`)},
			"bad credential": {method: "POST", path: "/api/user/v1/accounts/root/image", header: []string{"Authorization", "Bearer rk_not-a-key"}, status: 401,
				format: exactJSON(`{"developer_message":{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}}`)},
		},
		// OAuth2's token endpoint and key set, as django-oauth-toolkit answers (RFC 6749,
		// section 5.2). The token endpoint reads no caller's credential: a bad one is a
		// client's.
		"oauth2": {
			"body over the limit": {method: "POST", path: "/oauth2/access_token", body: "grant_type=" + big(bodyLimit),
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 413, format: oauthError("invalid_request")},
			"headers over the limit": {method: "GET", path: "/.well-known/jwks.json", header: huge, status: 431, format: oauthError("invalid_request")},
			"malformed body": {method: "POST", path: "/oauth2/access_token", body: "grant_type=%zz",
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 400, format: oauthError("invalid_request")},
			"bad credential": {method: "POST", path: "/oauth2/access_token", body: "grant_type=client_credentials&client_id=root&client_secret=" + key,
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 401, format: oauthError("invalid_client")},
		},
		"redcap": {
			"body over the limit": {method: "POST", path: "/api/?returnFormat=json", body: "token=" + token + "&content=user&format=json&data=" + big(importLimit),
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 413, format: redcapJSON("The request body is larger than 262144 bytes.")},
			"headers over the limit": {method: "POST", path: "/api/?format=xml", body: "content=version", header: append([]string{"Content-Type", "application/x-www-form-urlencoded"}, huge...),
				status: 431, format: redcapXML("The request's URL and headers are larger than 65536 bytes.")},
			"malformed body": {method: "POST", path: "/api/", body: form(url.Values{"token": {token}, "content": {"user"}, "action": {"import"}, "format": {"json"}, "data": {`[{"username": `}}),
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 400, format: redcapJSON("")},
			"bad credential": {method: "POST", path: "/api/", body: form(url.Values{"token": {"0123456789ABCDEF0123456789ABCDEF"}, "content": {"user"}, "format": {"csv"}}),
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 403,
				format: redcapCSV("You do not have permissions to use the API")},
		},
	}
}

// TestEverySurfaceAnswersInItsFormat sends each registered surface a body over the
// limit, headers over the limit, a malformed body and a bad credential, through the
// production handler, and checks each answer's status and format.
func TestEverySurfaceAnswersInItsFormat(t *testing.T) {
	testkit.EnginesWith(t, func(c *server.Config) { c.BodyLimit, c.ImportLimit = bodyLimit, importLimit }, func(t *testing.T, e *testkit.Env) {
		_, key := e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		token := e.ProjectToken(t, "root")
		table := rows(key, token)
		surfaces := e.Handler.Surfaces()
		if len(surfaces) < 3 {
			t.Fatalf("only %d surfaces registered", len(surfaces))
		}
		for _, s := range surfaces {
			probes, ok := table[s.Name]
			if !ok {
				t.Errorf("surface %q has no rows: add how it answers %s", s.Name, strings.Join(cases, ", "))
				continue
			}
			for _, c := range cases {
				p, ok := probes[c]
				if !ok {
					t.Errorf("surface %q has no row for %q", s.Name, c)
					continue
				}
				t.Run(s.Name+"/"+c, func(t *testing.T) {
					r := e.Do(t, p.method, p.path, p.body, p.header...)
					if r.Status != p.status {
						t.Fatalf("status %d, want %d: %.300s", r.Status, p.status, r.Body)
					}
					p.format(t, r)
				})
			}
		}
	})
}

func v1Error(code string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var body struct {
			Error struct{ Code, Message string }
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Error.Code != code || body.Error.Message == "" {
			t.Fatalf("not Roster's error with code %s: %s (%v)", code, r.Body, err)
		}
	}
}

// ckanBare is CKAN's refusal of a request it cannot read: a JSON string.
func ckanBare(prefix string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var s string
		if ct := r.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil || !strings.HasPrefix(s, prefix) {
			t.Fatalf("not CKAN's bare string %q…: %s (%v)", prefix, r.Body, err)
		}
	}
}

// ckanEnvelope is CKAN's {"help", "success": false, "error": {"__type", "message"}}.
func ckanEnvelope(action, typ string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var body struct {
			Help    string
			Success *bool
			Error   map[string]any
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Success == nil || *body.Success ||
			!strings.HasSuffix(body.Help, "/api/3/action/help_show?name="+action) || body.Error["__type"] != typ {
			t.Fatalf("not CKAN's %s envelope: %s (%v)", typ, r.Body, err)
		}
	}
}

// redcapJSON is REDCap's {"error": "…"}; "" accepts any message.
func redcapJSON(msg string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var body map[string]string
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body) != 1 || body["error"] == "" || msg != "" && body["error"] != msg {
			t.Fatalf("not REDCap's JSON error %q: %s (%v)", msg, r.Body, err)
		}
	}
}

func redcapXML(msg string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var body struct {
			XMLName xml.Name `xml:"hash"`
			Error   string   `xml:"error"`
		}
		if err := xml.Unmarshal([]byte(r.Body), &body); err != nil || body.Error != msg || !strings.HasPrefix(r.Body, `<?xml`) {
			t.Fatalf("not REDCap's XML error %q: %s (%v)", msg, r.Body, err)
		}
	}
}

func redcapCSV(msg string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		if want := fmt.Sprintf("ERROR: %s", msg); r.Body != want {
			t.Fatalf("not REDCap's CSV error %q: %q", want, r.Body)
		}
	}
}

// pybossaJSON is PYBOSSA's JSON-mode error: {"code", "description", "template"}.
func pybossaJSON(code int, description string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		want := fmt.Sprintf(`{"code":%d,"description":%q,"template":"%d.html"}`+"\n", code, description, code)
		if r.Body != want || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("not PYBOSSA's JSON error:\n%s\nwant\n%s", r.Body, want)
		}
	}
}

// htmlPage is an HTML page whose title begins with title, sent with the pages' CSP.
func htmlPage(title string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("Content-Type %q, CSP %q", ct, r.Header.Get("Content-Security-Policy"))
		}
		if !strings.Contains(r.Body, "<title>"+title+" · Roster</title>") {
			t.Fatalf("not the %q page: %.500s", title, r.Body)
		}
	}
}

func redirectTo(location string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		if got := r.Header.Get("Location"); got != location {
			t.Fatalf("Location %q, want %q", got, location)
		}
	}
}

// drfDetail is Django REST framework's {"detail": "…"}.
func drfDetail(detail string) func(*testing.T, testkit.Reply) {
	b, _ := json.Marshal(map[string]string{"detail": detail})
	return exactJSON(string(b))
}

func exactJSON(body string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		if r.Body != body || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("not the JSON %s: %s (%s)", body, r.Body, r.Header.Get("Content-Type"))
		}
	}
}

// oauthError is OAuth2's {"error", "error_description"}, kept out of caches.
func oauthError(code string) func(*testing.T, testkit.Reply) {
	return func(t *testing.T, r testkit.Reply) {
		var body map[string]string
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body) != 2 || body["error"] != code || body["error_description"] == "" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("not OAuth2's error %s: %s (%v) %v", code, r.Body, err, r.Header)
		}
	}
}
