package server_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// fuzzFixture is the population every /v1 fuzzer works on: a system administrator,
// staff, the owner of the account the inputs aim at (with a read-only key too), and
// another user. Inputs pick their caller by number.
type fuzzFixture struct {
	e       *testkit.Env
	watch   *storeWatch
	keys    []string // by caller: root, owner, owner's read-only key, other, staff, none
	callers []string
	base    map[int64]map[string]any // each account as it was made
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	e, w := fuzzEnv(f)
	fx := &fuzzFixture{e: e, watch: w, base: map[int64]map[string]any{},
		callers: []string{"root", "owner", "owner (read-only key)", "other", "staff", "anonymous"}}
	account := func(in map[string]any) string {
		rec, key := e.Account(f, in)
		fx.base[rec.ID] = in
		return key
	}
	root := account(map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true, "name": "Root Admin"})
	owner := account(map[string]any{"username": "target", "email": "target@example.org", "name": "Tess Target", "privacy": "custom",
		"shared_fields": []string{"name", "bio"}, "bio": "About me", "social_links": map[string]any{"x": "tt", "facebook": "fb"},
		"password": "target-pass-1"})
	other := account(map[string]any{"username": "other", "email": "other@example.org", "name": "Otto Other"})
	staff := account(map[string]any{"username": "staffer", "email": "staff@example.org", "staff": true})
	ro, err := e.Svc.CreateAPIKey(testkit.Operator(), roster.ParseAccountRef("target"), roster.KeyRequest{Label: "ro", ReadOnly: true})
	if err != nil {
		f.Fatal(err)
	}
	fx.keys = []string{root, owner, ro.Secret, other, staff, ""}
	// Each key's first use records its last-used time in the background; with the clock
	// standing still, it is the only one.
	for _, k := range fx.keys {
		e.Do(f, "GET", "/v1/me", "", "Authorization", "Bearer "+k)
	}
	fx.watch.settle(f)
	return fx
}

func (fx *fuzzFixture) caller(who uint8) (string, []string) {
	i := int(who) % len(fx.keys)
	if fx.keys[i] == "" {
		return fx.callers[i], nil
	}
	return fx.callers[i], []string{"Authorization", "Bearer " + fx.keys[i]}
}

// restore puts the fixture's accounts and the policy back as they were made, after an
// input that wrote: an account renamed, deactivated or deleted, or a policy changed,
// would turn every later input into a refusal, and an input that fails should fail
// again when replayed on a fresh fixture.
func (fx *fuzzFixture) restore(t *testing.T) {
	t.Helper()
	op := testkit.Operator()
	for id, in := range fx.base {
		back := map[string]any{"state": "active", "sysadmin": false, "staff": false}
		for _, k := range []string{"username", "email", "sysadmin", "staff", "name"} {
			if v, ok := in[k]; ok {
				back[k] = v
			}
		}
		if _, err := fx.e.Svc.UpdateAccount(op, roster.RefID(id), back); err != nil {
			t.Fatalf("restoring account %d: %v", id, err)
		}
	}
	pv, err := fx.e.Svc.GetPolicy(op)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range pv.Settings {
		if _, err := fx.e.Svc.SetPolicy(op, s.Name, ""); err != nil {
			t.Fatalf("restoring the policy %s: %v", s.Name, err)
		}
	}
	fx.watch.settle(t)
}

// do sends one request and holds it to the properties; it restores the fixture after a
// write.
func (fx *fuzzFixture) do(t *testing.T, who uint8, method, path, body string, header ...string) testkit.Reply {
	t.Helper()
	name, auth := fx.caller(who)
	r := fx.e.Do(t, method, path, body, append(header, auth...)...)
	if fx.watch.check(t, fx.e, name+" "+method+" "+path+" "+strconv.Quote(body), r.Status, r.Body) {
		fx.restore(t)
	}
	return r
}

// queryText makes fuzzed text a query string a client can send: bytes a request line
// cannot carry are escaped; everything else, malformed escapes and ; included, is sent
// as it is, for the server to judge.
func queryText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&0xf, 16)))
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

var patchTypes = []string{"application/merge-patch+json", "application/json", "", "application/json; charset=utf-8", "text/plain"}

// FuzzAPIPatchUser sends merge patches, PATCH /v1/users/{ref} (or /v1/me when ref is
// empty), from each kind of caller, with any If-Match. The core merges the patch into
// the account, checking every key: no input may get a 500, and a refused patch writes
// nothing (not the account, not its audit entry, nothing else).
func FuzzAPIPatchUser(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, who uint8, ref string, contentType uint8, ifMatch string, body []byte) {
		path := "/v1/me"
		if ref != "" {
			path = "/v1/users/" + url.PathEscape(ref)
		}
		h := []string{}
		if ct := patchTypes[int(contentType)%len(patchTypes)]; ct != "" {
			h = append(h, "Content-Type", ct)
		}
		if ifMatch = strings.Map(headerByte, ifMatch); ifMatch != "" {
			h = append(h, "If-Match", ifMatch)
		}
		fx.do(t, who, "PATCH", path, string(body), h...)
	})
}

// headerByte drops what a header value cannot hold.
func headerByte(r rune) rune {
	if r < ' ' && r != '\t' || r == 0x7f || r >= 0x80 {
		return -1
	}
	return r
}

// FuzzAPIListQuery sends any query string to GET /v1/users (filters ATTR.LOOKUP=V and the
// names that stand for filters, q, state, sort, cursor, limit, offset, total, view) and
// GET /v1/audit (after, actor, target, since, until, limit, target_type, action), from
// each kind of caller. A cursor is the store's JSON in base64, which mutations of the
// query would seldom hit; cursor, when given, is that JSON, encoded and added. No input
// may get a 500, and a list writes nothing.
func FuzzAPIListQuery(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, who uint8, audit bool, query string, cursor []byte) {
		path := "/v1/users?"
		if audit {
			path = "/v1/audit?"
		}
		path += queryText(query)
		if len(cursor) > 0 {
			path += "&cursor=" + base64.RawURLEncoding.EncodeToString(cursor)
		}
		name, auth := fx.caller(who)
		r := fx.e.Do(t, "GET", path, "", auth...)
		if fx.watch.check(t, fx.e, name+" GET "+path, r.Status, r.Body) {
			t.Fatalf("GET %s (%d) wrote to the store", path, r.Status)
		}
		if r.Status == 200 && !audit {
			// The next page's link is the server's own: following it must work too.
			if link := r.Header.Get("Link"); link != "" {
				next := strings.TrimSuffix(strings.TrimPrefix(strings.Split(link, ";")[0], "<"), ">")
				r2 := fx.e.Do(t, "GET", next, "", auth...)
				fx.watch.check(t, fx.e, name+" GET "+next, r2.Status, r2.Body)
				if r2.Status != 200 {
					t.Fatalf("the next page %s: %d %s", next, r2.Status, r2.Body)
				}
			}
		}
	})
}

// bodyRoutes are the /v1 routes that read a JSON body, besides the merge patches:
// {ref} in the pattern takes the input's ref.
var bodyRoutes = []struct{ method, pattern string }{
	{"POST", "/v1/users"},
	{"POST", "/v1/session"},
	{"PUT", "/v1/users/{ref}/password"},
	{"POST", "/v1/users/{ref}/keys"},
	{"POST", "/v1/groups"},
	{"PATCH", "/v1/groups/{ref}"},
	{"PUT", "/v1/groups/1/members/{ref}"},
	{"POST", "/v1/projects"},
	{"POST", "/v1/projects/{ref}/forms"},
	{"PUT", "/v1/projects/1/members/{ref}"},
	{"PUT", "/v1/policy/{ref}"},
	{"POST", "/v1/oauth2/applications"},
	{"PATCH", "/v1/oauth2/applications/{ref}"},
}

// FuzzAPIBody sends JSON bodies to every other /v1 route that reads one (accounts
// created, sign-in, passwords, keys, groups and their members, projects, their forms
// and members, policy settings, OAuth2 applications), from each kind of caller: no 500,
// and a refused request writes nothing.
func FuzzAPIBody(f *testing.F) {
	fx := newFuzzFixture(f)
	op := testkit.Operator()
	if _, err := fx.e.Svc.CreateGroup(op, "Lab", "a group"); err != nil {
		f.Fatal(err)
	}
	if _, err := fx.e.Projects.CreateProject(op, &roster.Project{Title: "Study", Forms: []roster.Form{{Name: "form_1"}}}); err != nil {
		f.Fatal(err)
	}
	if _, err := fx.e.OAuth.CreateApp(op, oauth.AppRequest{Name: "Service", Owner: roster.AccountRef{Username: "other"},
		Grants: []string{roster.GrantClientCredentials}}); err != nil {
		f.Fatal(err)
	}
	fx.watch.settle(f)
	f.Fuzz(func(t *testing.T, who uint8, route uint8, ref string, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		path := strings.ReplaceAll(rt.pattern, "{ref}", url.PathEscape(ref))
		fx.do(t, who, rt.method, path, string(body), "Content-Type", "application/json")
	})
}

// credentialPaths are where a forged credential is tried: what /v1 shows only to the
// signed in, a CKAN action that shows the caller's own account, and a /v1 change.
var credentialPaths = []struct{ method, path, body string }{
	{"GET", "/v1/me", ""},
	{"POST", "/api/3/action/user_show", "{}"},
	{"PATCH", "/v1/me", `{"bio": "forged"}`},
}

// FuzzCredentials forges credentials: any Authorization, CKAN and EDX key headers,
// session and device cookies and CSRF token, none of them issued by Roster (the
// fixture's keys are random; the fuzzer cannot know them). The authenticator parses them
// all: no input may get a 500, a forged credential never signs anyone in (/v1 answers
// 401, or 429 once the address has failed too often; CKAN, which takes a bad key for
// none, shows no one's account), and nothing is written but the count of failures.
func FuzzCredentials(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, where uint8, authorization, ckanKey, edxKey, session, csrf string) {
		p := credentialPaths[int(where)%len(credentialPaths)]
		var h []string
		for _, kv := range [][2]string{{"Authorization", authorization}, {"X-CKAN-API-Key", ckanKey}, {"EDX-API-Key", edxKey},
			{"X-CSRF-Token", csrf}} {
			if v := strings.Map(headerByte, kv[1]); v != "" {
				h = append(h, kv[0], v)
			}
		}
		if v := strings.Map(cookieByte, session); v != "" {
			h = append(h, "Cookie", "roster_session="+v+"; roster_device="+v)
		}
		h = append(h, "Content-Type", "application/json")
		r := fx.e.Do(t, p.method, p.path, p.body, h...)
		what := fmt.Sprintf("%s %s with %q", p.method, p.path, h)
		if fx.watch.check(t, fx.e, what, r.Status, r.Body) && r.Status < 400 {
			t.Fatalf("%s: a forged credential wrote: %d %s", what, r.Status, r.Body)
		}
		switch {
		case strings.HasPrefix(p.path, "/v1/") && r.Status != 401 && r.Status != 429 && r.Status != 400:
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		case strings.HasPrefix(p.path, "/api/") && r.Status == 200:
			t.Fatalf("%s: a forged key was shown an account: %s", what, r.Body)
		}
	})
}

// cookieByte drops what a cookie value cannot hold.
func cookieByte(r rune) rune {
	if r <= ' ' || r >= 0x7f || r == ';' || r == ',' || r == '"' || r == '\\' {
		return -1
	}
	return r
}
