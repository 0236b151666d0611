package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
	"github.com/rosterhq/roster/internal/web"
)

// The matrix's expected cells, written by hand from the rules in docs/accounts.md,
// docs/api.md, docs/ckan.md and docs/redcap.md. A change of a rule that is not also
// made here fails TestAuthorizationMatrix; so does a route or operation without a row.
//
// Columns (matrix_test.go): the five callers whose credential does not hold (anon,
// badkey, revoked, expired, deactivated), then rokey (rita), user (alice), other (bob),
// staff (watcher), sysadmin (root), norights (mona), dag (dana).
//
// Project 1 "Trial": alice every right; rita User Rights and API export; watcher, root
// and mona the API rights only; dana every right but Design, in DAG north, with nick;
// sam in DAG south; ray, eve and dave every right (their credentials do not hold).
// Project 2: bob every right, and pat.

// Cells repeated by many rows.
const (
	// the five callers whose credential does not hold, on /v1: 401.
	refused = "401 401 401 401 401"
	// on CKAN a credential that does not hold makes the caller anonymous.
	// on REDCap every one is "You do not have permissions to use the API": 403. REDCap
	// refuses a member without the project right a call needs with 400, one whose token
	// lacks the API right with 403.
	rcRefused = "403 403 403 403 403"
)

func v1(method, pattern, path, body, cells string) row {
	return row{surface: "v1", route: method + " " + pattern, method: method, path: path, body: body, cells: cells}
}

func ckan(method, action, body, cells string) row {
	r := row{surface: "ckan", route: method + " /api/3/action/{name}", op: action, method: method, path: "/api/3/action/" + action, body: body, cells: cells}
	if method == "GET" && body != "" {
		r.path += "?" + body
		r.body = ""
	}
	return r
}

func redcap(content, action string, fields map[string]string, cells string) row {
	form := url.Values{"content": {content}, "format": {"json"}, "returnFormat": {"json"}}
	if action != "" {
		form.Set("action", action)
	}
	for k, v := range fields {
		form.Set(k, v)
	}
	op := content + "/" + action
	if action == "" {
		op = content + "/export"
		if _, ok := fields["data"]; ok {
			op = content + "/import"
		}
	}
	return row{surface: "redcap", route: "/api/{$}", op: op, method: "POST", path: "/api/", form: form, cells: cells}
}

// openedx is a row of the Open edX dialect; route is the pattern the path reaches.
func openedx(method, route, path, body, cells string) row {
	return row{surface: "openedx", route: route, method: method, path: path, body: body, cells: cells}
}

// openedxImages is a row of Open edX's profile image routes; route is the pattern the
// path reaches. A POST's body is matrixUpload, sent as multipart.
func openedxImages(method, route, path, body, cells string) row {
	return row{surface: "openedx-images", route: route, method: method, path: path, body: body, cells: cells}
}

// matrixBoundary is the boundary of matrixUpload.
const matrixBoundary = "matrix-boundary-7q"

// matrixUpload is a multipart body holding a PNG in the field file.
var matrixUpload = func() string {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*13) | 0x0f
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		panic(err)
	}
	return "--" + matrixBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"me.png\"\r\nContent-Type: image/png\r\n\r\n" +
		pic.String() + "\r\n--" + matrixBoundary + "--\r\n"
}()

// samsImage gives sam a profile image, once, and names its files.
func samsImage(t *testing.T, f *fixture, c *cell) map[string]string {
	sam := roster.AccountRef{Username: "sam"}
	rec := must(f.e.Svc.GetAccount(op(), sam, roster.ReadOptions{}))
	if name, _ := rec.Get("profile_image_name"); name != nil {
		return map[string]string{"image": name.(string)}
	}
	body := matrixUpload[strings.Index(matrixUpload, "\r\n\r\n")+4 : strings.LastIndex(matrixUpload, "\r\n--")]
	up := profileimage.Upload{Filename: "me.png", MediaType: "image/png", Size: int64(len(body)), Data: []byte(body)}
	if err := f.e.Svc.SetProfileImage(op(), sam, up); err != nil {
		t.Fatal(err)
	}
	return samsImage(t, f, c)
}

// pybossa is a row of the PYBOSSA dialect; route is the pattern the path reaches,
// which names no method for add and del (another method gets PYBOSSA's 405).
func pybossa(method, route, path, body, cells string) row {
	return row{surface: "pybossa", route: route, method: method, path: path, body: body, cells: cells}
}

func with(r row, prep func(t *testing.T, f *fixture, c *cell) map[string]string) row {
	r.prep = prep
	return r
}

// Preparations: what a cell acts on, fresh for each cell, so that cells do not depend
// on one another's changes.

func freshAccount(t *testing.T, f *fixture, c *cell) map[string]string {
	name := fmt.Sprintf("fresh%d", c.n)
	must(f.e.Svc.CreateAccount(op(), map[string]any{"username": name, "email": name + "@example.org"}))
	return map[string]string{"fresh": name}
}

func freshAccountID(t *testing.T, f *fixture, c *cell) map[string]string {
	name := fmt.Sprintf("fresh%d", c.n)
	rec := must(f.e.Svc.CreateAccount(op(), map[string]any{"username": name, "email": name + "@example.org"}))
	return map[string]string{"fresh": name, "freshid": fmt.Sprint(rec.ID)}
}

// freshLink is a fresh account's pending change of email, made through Open edX's
// surface: the key of its confirmation link, and its message's id.
func freshLink(t *testing.T, f *fixture, c *cell) map[string]string {
	vars := freshMessage(t, f, c)
	f.secrets = append(f.secrets, vars["key"]) // no answer shows the key: the link is in the message only
	return vars
}

// freshMessage is freshLink for the one answer that shows the key: a system
// administrator reading the message, which is how an operator without a mail server
// passes the link on.
func freshMessage(t *testing.T, f *fixture, c *cell) map[string]string {
	name := fmt.Sprintf("fresh%d", c.n)
	rec := must(f.e.Svc.CreateAccount(op(), map[string]any{"username": name, "email": name + "@example.org"}))
	ctx := roster.NewContextWithActor(context.Background(), roster.Actor{AccountID: rec.ID, Username: name, Via: roster.ViaOpenEdX})
	must(f.e.Svc.MergeAccount(ctx, roster.RefID(rec.ID), map[string]any{"email": name + "@new.example.org"}, roster.WriteOptions{Origin: "http://roster.test"}))
	ms := must(f.e.Store.ListMessages(context.Background(), roster.MessageFilter{}))
	m := must(f.e.Svc.ReadMessage(op(), ms[len(ms)-1].ID))
	_, key, ok := strings.Cut(m.Body, "/email_confirm/")
	if !ok {
		t.Fatalf("no link in %q", m.Body)
	}
	key = strings.Fields(key)[0]
	return map[string]string{"key": key, "message": fmt.Sprint(m.ID)}
}

func freshKey(t *testing.T, f *fixture, c *cell) map[string]string {
	k := must(f.e.Svc.CreateAPIKey(op(), roster.AccountRef{Username: "alice"}, roster.KeyRequest{Label: fmt.Sprintf("spare%d", c.n)}))
	f.secrets = append(f.secrets, k.Secret)
	return map[string]string{"keyid": fmt.Sprint(k.Key.ID)}
}

func freshGroup(t *testing.T, f *fixture, c *cell) map[string]string {
	g := must(f.e.Svc.CreateGroup(op(), fmt.Sprintf("Group %d", c.n), ""))
	if err := f.e.Svc.SetGroupMember(op(), g.ID, roster.AccountRef{Username: "sam"}, roster.GroupMember); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"group": fmt.Sprint(g.ID)}
}

// freshMember is an account that is a member, with no rights, of both projects.
func freshMember(t *testing.T, f *fixture, c *cell) map[string]string {
	name := freshAccount(t, f, c)["fresh"]
	for _, p := range []int64{1, 2} {
		if err := f.e.Projects.PutProjectMember(op(), p, roster.MemberRowFromJSON(map[string]any{"username": name})); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"member": name}
}

func freshMemberWithToken(t *testing.T, f *fixture, c *cell) map[string]string {
	vars := freshMember(t, f, c)
	tok := must(f.e.Projects.IssueProjectToken(op(), 1, vars["member"]))
	f.secrets = append(f.secrets, tok.Token)
	return vars
}

// freshRole is a role in the caller's project, by its unique name.
func freshRole(t *testing.T, f *fixture, c *cell) map[string]string {
	label := fmt.Sprintf("Role %d", c.n)
	row := roster.MemberRowFromJSON(map[string]any{"unique_role_name": "", "role_label": label})
	must(f.e.Projects.ImportProjectRoles(op(), c.project, roster.NewSliceRows([]roster.RoleRow{row}, "unique_role_name", "role_label")))
	v := must(f.e.Projects.ExportProjectRoles(op(), c.project))
	for _, r := range v.Roles {
		if r.Label == label {
			return map[string]string{"role": r.UniqueName}
		}
	}
	t.Fatalf("role %q not made", label)
	return nil
}

// freshDAG is a DAG in the caller's project, by its unique name.
func freshDAG(t *testing.T, f *fixture, c *cell) map[string]string {
	label := fmt.Sprintf("Gone %d", c.n)
	must(f.e.Projects.ImportProjectDAGs(op(), c.project, roster.NewSliceRows([]roster.DAGRow{{Label: label}}, dagColumns...)))
	return map[string]string{"dag": strings.ReplaceAll(strings.ToLower(label), " ", "_")}
}

// staying is the DAG the caller may switch to without moving: alice's is none, dana's
// north; the others may switch nowhere.
func staying(t *testing.T, f *fixture, c *cell) map[string]string {
	if c.column == "user" {
		return map[string]string{"mydag": ""}
	}
	return map[string]string{"mydag": "north"}
}

// ownToken keeps the token a caller issued itself, which replaced its old one.
func ownToken(f *fixture, c *cell, r testkit.Reply) {
	if r.Status == 201 || r.Status == 200 {
		if tok := jsonField(r.Body, "token"); tok != "" {
			f.token[c.column] = tok
			f.secrets = append(f.secrets, tok)
		}
	}
}

var matrix = []row{
	// OAuth2 endpoints (issue 14)
	// The token endpoint authenticates the client its form names, and reads no caller's
	// credential: every caller gets the same answer. The key set is public; its body
	// holds no private half of a signing key (signingKeys).
	with(oauth2("POST", "/oauth2/access_token", "/oauth2/access_token", "grant_type=client_credentials&client_id={client}&client_secret={secret}&token_type=jwt",
		every("200/-")), oauthApps),
	with(oauth2("POST", "/oauth2/access_token/", "/oauth2/access_token/", "grant_type=password&client_id={public}&username=sid&password=pw-sid-7q-secret",
		every("200/-")), oauthApps),
	with(oauth2("POST", "/oauth2/access_token", "/oauth2/access_token", "grant_type=client_credentials&client_id={client}&client_secret=not-{secret}",
		every("401")), oauthApps),
	oauth2("POST", "/oauth2/access_token", "/oauth2/access_token", "client_id=x", every("400")),
	oauth2("GET", "/oauth2/access_token", "/oauth2/access_token", "", every("405")),
	with(oauth2("GET", "/.well-known/jwks.json", "/.well-known/jwks.json", "", every("200/-")), signingKeys),
	with(oauth2("GET", "/oauth2/jwks.json", "/oauth2/jwks.json", "", every("200/-")), signingKeys),
	oauth2("POST", "/oauth2/jwks.json", "/oauth2/jwks.json", "", every("405")),
	// /login_refresh gives a signed-in browser its JWT cookies: a session alone signs in
	// there, so a key is refused, and the callers' sessions get theirs.
	openedx("POST", "/login_refresh", "/login_refresh", "", every("401")),
	as("session", openedx("POST", "/login_refresh", "/login_refresh", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-")),
	openedx("GET", "/login_refresh", "/login_refresh", "", every("405")),
	// The callers' JWTs wherever a bearer credential goes, with the rights their keys
	// have: rita's token, without the write scope, is read-only as her key is.
	as("jwt", v1("GET", "/v1/me", "/v1/me", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+")),
	as("jwt", v1("PATCH", "/v1/me", "/v1/me", `{"city": "Oslo"}`, refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+")),
	as("jwt", v1("GET", "/v1/users/{ref}", "/v1/users/sam", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-")),
	as("jwt", openedx("GET", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/sam", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-")),
	as("jwt", openedx("PATCH", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/{me}", `{"bio": "cell {n}"}`, refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+")),
	as("jwt", openedx("PATCH", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/sam", `{"bio": "cell {n}"}`, refused+" 404 404 404 403 403 404 404")),

	// The routes of no surface: probes and metrics answer everyone, and hold nothing.
	{route: "GET /healthz", method: "GET", path: "/healthz", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	{route: "GET /readyz", method: "GET", path: "/readyz", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	{route: "GET /metrics", method: "GET", path: "/metrics", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	{route: "GET /{$}", method: "GET", path: "/", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},

	{route: "GET /static/{file}", method: "GET", path: web.New(nil).CSSPath, cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	{route: "GET /static/{file}", method: "GET", path: "/static/other.css", cells: "404 404 404 404 404 404 404 404 404 404 404 404"},
	// A confirmation link is its own credential: whoever holds it sees what it
	// confirms; the form's POST needs the page's form token, which no caller here has.
	with(row{route: "GET /email_confirm/{key}", method: "GET", path: "/email_confirm/{key}", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"}, freshLink),
	{route: "GET /email_confirm/{key}", method: "GET", path: "/email_confirm/no-such-key", cells: "404 404 404 404 404 404 404 404 404 404 404 404"},
	with(row{route: "POST /email_confirm/{key}", method: "POST", path: "/email_confirm/{key}", cells: "403 403 403 403 403 403 403 403 403 403 403 403"}, freshLink),

	// /v1. A credential that does not hold is refused even where none is needed.
	v1("GET", "/v1/openapi.json", "/v1/openapi.json", "", "200/- 401 401 401 401 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	// Unknown paths and methods are answered before any credential is looked at.
	{surface: "v1", route: "/v1/", method: "GET", path: "/v1/nothing", cells: "404 404 404 404 404 404 404 404 404 404 404 404"},
	{surface: "v1", route: "/v1/", method: "PUT", path: "/v1/me", cells: "405 405 405 405 405 405 405 405 405 405 405 405"},
	v1("GET", "/v1/schema", "/v1/schema", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	// Signing in looks at no credential the request carries.
	v1("POST", "/v1/session", "/v1/session", `{"username": "sid", "password": "pw-sid-7q-secret"}`,
		"201/- 201/- 201/- 201/- 201/- 201/- 201/- 201/- 201/- 201/- 201/- 201/-"),
	v1("GET", "/v1/session", "/v1/session", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	v1("DELETE", "/v1/session", "/v1/session", "", "204/- 401 401 401 401 204/- 204/- 204/- 204/- 204/- 204/- 204/-"),

	v1("GET", "/v1/me", "/v1/me", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	v1("PATCH", "/v1/me", "/v1/me", `{"city": "Oslo"}`, refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),

	// Lists show each caller what it may read: managers the emails of their members
	// (dana those of DAG north), staff and system administrators everything.
	v1("GET", "/v1/users", "/v1/users?limit=1000", "", refused+" 200/all+ 200/all+ 200/all+ 200/all+ 200/all+ 200/own+ 200/all+"),
	v1("GET", "/v1/users", "/v1/users?state=any", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	v1("GET", "/v1/users", "/v1/users?sysadmin=true", "", refused+" 403 403 403 200/all+ 200/own+ 403 403"),
	// A filter applies only where the caller may read the value: sam's email matches
	// for his managers (not dana: sam is in DAG south), staff and administrators.
	v1("GET", "/v1/users", "/v1/users?email=em-sam-7q@example.org", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	// Sorting follows the same rule: by what the caller reads of its own account only
	// (last_login is read by the account itself), allowed and confined to the values it
	// may read; by what it reads of no account (updated, for staff), refused.
	v1("GET", "/v1/users", "/v1/users?sort=last_login", "", refused+" 200/all+ 200/all+ 200/all+ 200/all+ 200/all+ 200/own+ 200/all+"),
	v1("GET", "/v1/users", "/v1/users?sort=updated", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	v1("GET", "/v1/users/{ref}", "/v1/users/sam", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	v1("GET", "/v1/users/{ref}", "/v1/users/nick", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/all+"),
	v1("PATCH", "/v1/users/{ref}", "/v1/users/{me}", `{"city": "Bergen"}`, refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	// Managing a member's project rights is not managing the account.
	v1("PATCH", "/v1/users/{ref}", "/v1/users/sam", `{"city": "Bergen"}`, refused+" 403 403 403 403 200/all+ 403 403"),
	// Only system administrators grant roles; staff read them.
	with(v1("PATCH", "/v1/users/{ref}", "/v1/users/{fresh}", `{"staff": true}`, refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	// There is always an active system administrator: root is the only one (no row
	// makes another).
	v1("PATCH", "/v1/users/{ref}", "/v1/users/root", `{"sysadmin": false}`, refused+" 403 403 403 403 409 403 403"),
	with(v1("POST", "/v1/users", "/v1/users", `{"username": "new{n}", "email": "new{n}@example.org"}`, refused+" 403 403 403 403 201/- 403 403"), nil),
	with(v1("DELETE", "/v1/users/{ref}", "/v1/users/{fresh}", "", refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	with(v1("POST", "/v1/users/{ref}/deactivate", "/v1/users/{fresh}/deactivate", "", refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	with(v1("POST", "/v1/users/{ref}/activate", "/v1/users/{fresh}/activate", "", refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	v1("PUT", "/v1/users/{ref}/password", "/v1/users/{me}/password", `{"password": "{mypw}", "current_password": "{mypw}"}`,
		refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	with(v1("PUT", "/v1/users/{ref}/password", "/v1/users/{fresh}/password", `{"password": "a new password {n}"}`,
		refused+" 403 403 403 403 204/- 403 403"), freshAccount),
	v1("GET", "/v1/users/{ref}/access", "/v1/users/sam/access", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	v1("GET", "/v1/users/{ref}/access", "/v1/users/sam/access?as=alice", "", refused+" 403 403 403 403 200/- 403 403"),

	v1("GET", "/v1/users/{ref}/keys", "/v1/users/{me}/keys", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	v1("GET", "/v1/users/{ref}/keys", "/v1/users/alice/keys", "", refused+" 403 200/- 403 200/- 200/- 403 403"),
	v1("POST", "/v1/users/{ref}/keys", "/v1/users/{me}/keys", `{"label": "k{n}"}`, refused+" 403 201/- 201/- 201/- 201/- 201/- 201/-"),
	v1("POST", "/v1/users/{ref}/keys", "/v1/users/alice/keys", `{"label": "k{n}"}`, refused+" 403 201/- 403 403 201/- 403 403"),
	with(v1("DELETE", "/v1/keys/{id}", "/v1/keys/{keyid}", "", refused+" 403 200/- 404 404 200/- 404 404"), freshKey),

	v1("GET", "/v1/roles", "/v1/roles", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	v1("GET", "/v1/groups", "/v1/groups", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	v1("POST", "/v1/groups", "/v1/groups", `{"name": "G{n}"}`, refused+" 403 403 403 403 201/- 403 403"),
	with(v1("GET", "/v1/groups/{id}", "/v1/groups/{group}", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"), freshGroup),
	with(v1("PATCH", "/v1/groups/{id}", "/v1/groups/{group}", `{"description": "d"}`, refused+" 403 403 403 403 200/- 403 403"), freshGroup),
	with(v1("DELETE", "/v1/groups/{id}", "/v1/groups/{group}", "", refused+" 403 403 403 403 204/- 403 403"), freshGroup),
	with(v1("PUT", "/v1/groups/{id}/members/{ref}", "/v1/groups/{group}/members/nick", `{"role": "member"}`, refused+" 403 403 403 403 204/- 403 403"), freshGroup),
	with(v1("DELETE", "/v1/groups/{id}/members/{ref}", "/v1/groups/{group}/members/sam", "", refused+" 403 403 403 403 204/- 403 403"), freshGroup),

	v1("GET", "/v1/projects", "/v1/projects", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	v1("POST", "/v1/projects", "/v1/projects", `{"title": "Q{n}", "forms": ["f1"]}`, refused+" 403 403 403 403 201/- 403 403"),
	v1("GET", "/v1/projects/{id}", "/v1/projects/1", "", refused+" 200/- 200/- 404 200/- 200/- 200/- 200/-"),
	v1("POST", "/v1/projects/{id}/forms", "/v1/projects/1/forms", `{"forms": ["form_{n}"]}`, refused+" 403 200/- 404 403 200/- 403 403"),
	v1("GET", "/v1/projects/{id}/members", "/v1/projects/1/members", "", refused+" 200/all+ 200/all+ 404 403 200/all+ 403 200/all+"),
	// A member confined to a DAG finds no member outside it.
	v1("GET", "/v1/projects/{id}/members/{username}", "/v1/projects/1/members/sam", "", refused+" 200/all+ 200/all+ 404 403 200/all+ 403 404"),
	v1("GET", "/v1/projects/{id}/members/{username}", "/v1/projects/1/members/nick", "", refused+" 200/all+ 200/all+ 404 403 200/all+ 403 200/all+"),
	with(v1("PUT", "/v1/projects/{id}/members/{username}", "/v1/projects/1/members/{fresh}", `{"calendar": 1}`,
		refused+" 403 200/- 404 403 200/- 403 200/-"), freshAccount),
	with(v1("DELETE", "/v1/projects/{id}/members/{username}", "/v1/projects/1/members/{member}", "",
		refused+" 403 204/- 404 403 204/- 403 404"), freshMember),
	// Members with an API right manage their own token; administrators anyone's.
	{surface: "v1", route: "POST /v1/projects/{id}/members/{username}/token", method: "POST", path: "/v1/projects/1/members/{me}/token",
		after: ownToken, cells: refused + " 403 201/- 404 201/- 201/- 201/- 201/-"},
	with(v1("POST", "/v1/projects/{id}/members/{username}/token", "/v1/projects/1/members/{member}/token", "",
		refused+" 403 403 404 403 201/- 403 403"), freshMember),
	with(v1("DELETE", "/v1/projects/{id}/members/{username}/token", "/v1/projects/1/members/{member}/token", "",
		refused+" 403 403 404 403 204/- 403 403"), freshMemberWithToken),
	v1("GET", "/v1/projects/{id}/roles", "/v1/projects/1/roles", "", refused+" 200/- 200/- 404 403 200/- 403 200/-"),
	v1("GET", "/v1/projects/{id}/dags", "/v1/projects/1/dags", "", refused+" 403 200/- 404 403 200/- 403 403"),
	v1("GET", "/v1/projects/{id}/access", "/v1/projects/1/access", "", refused+" 200/- 200/- 404 200/- 200/- 200/- 200/-"),

	v1("GET", "/v1/policy", "/v1/policy", "", refused+" 403 403 403 200/- 200/- 403 403"),
	v1("PUT", "/v1/policy/{name}", "/v1/policy/parental_consent_age", `0`, refused+" 403 403 403 403 200/- 403 403"),
	v1("DELETE", "/v1/policy/{name}", "/v1/policy/parental_consent_age", "", refused+" 403 403 403 403 200/- 403 403"),
	v1("GET", "/v1/audit", "/v1/audit?limit=1000", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	// The outbox is for system administrators.
	with(v1("GET", "/v1/outbox", "/v1/outbox?limit=1000", "", refused+" 403 403 403 403 200/- 403 403"), freshLink),
	with(v1("GET", "/v1/outbox/{id}", "/v1/outbox/{message}", "", refused+" 403 403 403 403 200/- 403 403"), freshMessage),

	// CKAN: a credential that does not hold makes the caller anonymous. Anyone may
	// list and show users; a user dict shows what the caller may read.
	{surface: "ckan", route: "GET /api", method: "GET", path: "/api", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	{surface: "ckan", route: "GET /api/3", method: "GET", path: "/api/3", cells: "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"},
	ckan("POST", "user_show", `{"id": "sam"}`, "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	ckan("POST", "user_show", `{"id": "{me}"}`, "200/- 200/- 200/- 200/- 200/- 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	ckan("GET", "user_show", "id=sam", "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	{surface: "ckan", route: "GET /api/action/{name}", op: "user_show", method: "GET", path: "/api/action/user_show?id=nick",
		cells: "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/all+"},
	{surface: "ckan", route: "POST /api/action/{name}", op: "user_show", method: "POST", path: "/api/action/user_show", body: `{"id": "nick"}`,
		cells: "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/all+"},
	ckan("POST", "user_list", `{"limit": 1000}`, "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/all+ 200/all+ 200/all+ 200/own+ 200/all+"),
	ckan("GET", "user_list", "q=fixture", "200/- 200/- 200/- 200/- 200/- 200/all+ 200/all+ 200/all+ 200/all+ 200/all+ 200/own+ 200/all+"),
	// CKAN's user_create is for system administrators.
	ckan("POST", "user_create", `{"name": "ck{n}", "email": "ck{n}@example.org", "password": "a password {n}"}`,
		"403 403 403 403 403 403 403 403 403 200/- 403 403"),
	// Side effects need POST.
	ckan("GET", "user_create", "name=x", "400 400 400 400 400 400 400 400 400 400 400 400"),
	with(ckan("POST", "user_update", `{"id": "{fresh}", "email": "{fresh}@example.org", "fullname": "F"}`,
		"403 403 403 403 403 403 403 403 403 200/- 403 403"), freshAccount),
	ckan("POST", "user_patch", `{"id": "{me}", "about": "cell {n}"}`, "403 403 403 403 403 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	with(ckan("POST", "user_patch", `{"id": "{fresh}", "about": "cell {n}"}`, "403 403 403 403 403 403 403 403 403 200/- 403 403"), freshAccount),
	with(ckan("POST", "user_delete", `{"id": "{fresh}"}`, "403 403 403 403 403 403 403 403 403 200/- 403 403"), freshAccount),
	ckan("POST", "user_metadata", `{"ids": ["sam", "nick"], "fields": ["name", "email"]}`, "403 403 403 403 403 403 403 403 403 200/all+ 403 403"),
	ckan("GET", "user_metadata", "ids=sam&fields=email", "403 403 403 403 403 403 403 403 403 200/all+ 403 403"),

	// PYBOSSA's admin pages, in JSON mode: for admins (system administrators) only. A
	// credential that does not hold is no credential, and anonymous callers are sent to
	// sign in.
	// root is the only admin, and the list leaves out the caller.
	pybossa("GET", "GET /admin/users", "/admin/users", "", "302 302 302 302 302 403 403 403 403 200/- 403 403"),
	pybossa("POST", "POST /admin/users", "/admin/users", `{"user": "fixture"}`, "302 302 302 302 302 403 403 403 403 200/all+ 403 403"),
	with(pybossa("GET", "/admin/users/add/{id}", "/admin/users/add/{freshid}", "", "302 302 302 302 302 403 403 403 403 200/- 403 403"), freshAccountID),
	with(pybossa("GET", "/admin/users/del/{id}", "/admin/users/del/{freshid}", "", "302 302 302 302 302 403 403 403 403 200/- 403 403"), freshAccountID),
	pybossa("GET", "/admin/", "/admin/nothing", "", "404 404 404 404 404 404 404 404 404 404 404 404"),
	// Signing in is for anyone; a caller with a key is sent on. The form's token is the
	// form cookie's, which no caller here has.
	pybossa("GET", "GET /account/signin", "/account/signin", "", "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	pybossa("POST", "POST /account/signin", "/account/signin", `{"email": "alice", "password": "pw-alice-7q-secret"}`, "400 400 400 400 400 400 400 400 400 400 400 400"),
	pybossa("GET", "GET /account/signout", "/account/signout", "", "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	pybossa("POST", "POST /account/signout", "/account/signout", "", "200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),

	// Open edX's accounts API: for signed-in callers; each account as the core shows it to
	// the caller (the fixture's accounts are private: others see the username), and no
	// one changes another's account, system administrators included.
	openedx("GET", "/api/user/v1/me", "/api/user/v1/me", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	openedx("GET", "/api/user/v1/accounts", "/api/user/v1/accounts", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	openedx("GET", "/api/user/v1/accounts/{$}", "/api/user/v1/accounts/?username=sam,nick", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/all+"),
	openedx("GET", "/api/user/v1/accounts", "/api/user/v1/accounts?email=em-sam-7q@example.org", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	openedx("GET", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/sam", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	openedx("GET", "/api/user/v1/accounts/{username}/{$}", "/api/user/v1/accounts/{me}/", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	openedx("PATCH", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/{me}", `{"bio": "cell {n}"}`, refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	openedx("PATCH", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/sam", `{"bio": "cell {n}"}`, refused+" 404 404 404 403 403 404 404"),
	openedx("PUT", "/api/user/v1/accounts/{username}", "/api/user/v1/accounts/sam", `{}`, "405 405 405 405 405 405 405 405 405 405 405 405"),
	openedx("GET", "/api/user/v1/", "/api/user/v1/nothing", "", "404 404 404 404 404 404 404 404 404 404 404 404"),
	// Preferences (the account's visibility): the owner's; staff read them.
	openedx("GET", "/api/user/v1/preferences/{username}", "/api/user/v1/preferences/{me}", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	openedx("GET", "/api/user/v1/preferences/{username}", "/api/user/v1/preferences/sam", "", refused+" 403 403 403 200/- 200/- 403 403"),
	openedx("PATCH", "/api/user/v1/preferences/{username}", "/api/user/v1/preferences/{me}", `{"account_privacy": "private"}`, refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	openedx("PATCH", "/api/user/v1/preferences/{username}", "/api/user/v1/preferences/sam", `{"account_privacy": "all_users"}`, refused+" 403 403 403 403 403 403 403"),
	openedx("GET", "/api/user/v1/preferences/{username}/{key}", "/api/user/v1/preferences/{me}/account_privacy", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	openedx("PUT", "/api/user/v1/preferences/{username}/{key}", "/api/user/v1/preferences/{me}/account_privacy", `"private"`, refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	openedx("DELETE", "/api/user/v1/preferences/{username}/{key}", "/api/user/v1/preferences/{me}/account_privacy", "", refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	openedx("DELETE", "/api/user/v1/preferences/{username}/{key}", "/api/user/v1/preferences/sam/account_privacy", "", refused+" 403 403 403 403 403 403 403"),
	// The micro-frontends' CSRF token: for anyone; a credential that does not hold is refused.
	openedx("GET", "/csrf/api/v1/token", "/csrf/api/v1/token", "", "200/- 401 401 401 401 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),

	// Open edX's profile images: each caller changes its own, a read-only key none, and
	// no one another's, system administrators included; a method the view lacks is 405
	// only to whom may use it. The files and the defaults are public.
	openedxImages("POST", "/api/user/v1/accounts/{username}/image", "/api/user/v1/accounts/{me}/image", matrixUpload,
		refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	openedxImages("POST", "/api/user/v1/accounts/{username}/image", "/api/user/v1/accounts/sam/image", matrixUpload,
		refused+" 403 403 403 403 403 403 403"),
	openedxImages("DELETE", "/api/user/v1/accounts/{username}/image", "/api/user/v1/accounts/{me}/image", "",
		refused+" 403 204/- 204/- 204/- 204/- 204/- 204/-"),
	openedxImages("DELETE", "/api/user/v1/accounts/{username}/image", "/api/user/v1/accounts/sam/image", "",
		refused+" 403 403 403 403 403 403 403"),
	openedxImages("GET", "/api/user/v1/accounts/{username}/image", "/api/user/v1/accounts/{me}/image", "",
		refused+" 403 405 405 405 405 405 405"),
	with(openedxImages("GET", "GET /media/profile-images/{file}", "/media/profile-images/{image}_500.jpg", "",
		"200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"), samsImage),
	openedxImages("GET", "GET /media/profile-images/{file}", "/media/profile-images/0123456789abcdef0123456789abcdef_500.jpg", "",
		"404 404 404 404 404 404 404 404 404 404 404 404"),
	openedxImages("GET", "GET /static/images/profiles/{file}", "/static/images/profiles/default_500.png", "",
		"200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),

	// REDCap: a token acts as its member in its project, with its project rights;
	// Roster's staff and system administrators hold nothing more there.
	redcap("version", "", nil, rcRefused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	redcap("project", "", nil, rcRefused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	redcap("metadata", "", nil, rcRefused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	redcap("formEventMapping", "", nil, rcRefused+" 400 400 400 400 400 400 400"),
	redcap("formEventMapping", "", map[string]string{"data": "[]"}, rcRefused+" 400 400 400 400 400 400 400"),
	// Exports of members need User Rights; dana sees DAG north only.
	redcap("user", "export", nil, rcRefused+" 200/all+ 200/all+ 200/all+ 400 400 400 200/all+"),
	with(redcap("user", "import", map[string]string{"data": `[{"username": "{member}", "calendar": "1"}]`},
		rcRefused+" 403 200/- 200/- 400 400 400 400"), freshMember),
	with(redcap("user", "delete", map[string]string{"users[0]": "{member}"}, rcRefused+" 403 200/- 200/- 400 400 400 400"), freshMember),
	redcap("userRole", "export", nil, rcRefused+" 200/- 200/- 200/- 400 400 400 200/-"),
	redcap("userRole", "import", map[string]string{"data": `[{"unique_role_name": "", "role_label": "Role {n}"}]`},
		rcRefused+" 403 200/- 200/- 400 400 400 200/-"),
	with(redcap("userRole", "delete", map[string]string{"roles[0]": "{role}"}, rcRefused+" 403 200/- 200/- 403 403 403 200/-"), freshRole),
	redcap("userRoleMapping", "export", nil, rcRefused+" 200/- 200/- 200/- 400 400 400 200/-"),
	with(redcap("userRoleMapping", "import", map[string]string{"data": `[{"username": "{member}", "unique_role_name": ""}]`},
		rcRefused+" 403 200/- 200/- 400 400 400 400"), freshMember),
	redcap("dag", "export", nil, rcRefused+" 400 200/- 200/- 400 400 400 403"),
	redcap("dag", "import", map[string]string{"data": `[{"data_access_group_name": "Made {n}", "unique_group_name": ""}]`},
		rcRefused+" 403 200/- 200/- 400 400 400 403"),
	with(redcap("dag", "delete", map[string]string{"dags[0]": "{dag}"}, rcRefused+" 403 200/- 200/- 400 400 400 403"), freshDAG),
	// Switching needs the DAG Switcher: only alice and dana are given it.
	with(redcap("dag", "switch", map[string]string{"dag": "{mydag}"}, rcRefused+" 200/no 200/- 200/no 200/no 200/no 200/no 200/-"), staying),
	redcap("userDagMapping", "export", nil, rcRefused+" 400 200/- 200/- 400 400 400 200/-"),
	with(redcap("userDagMapping", "import", map[string]string{"data": `[{"username": "{member}", "redcap_data_access_group": ""}]`},
		rcRefused+" 403 200/- 200/- 400 400 400 403"), freshMember),

	// OAuth2 management (/v1). Applications and signing keys are for system
	// administrators; an account's token families (grants) are listed like its keys
	// (owners, staff, system administrators) and revoked by their owner or a system
	// administrator; anyone else finds none.
	v1("GET", "/v1/oauth2/applications", "/v1/oauth2/applications", "", refused+" 403 403 403 403 200/- 403 403"),
	v1("POST", "/v1/oauth2/applications", "/v1/oauth2/applications", `{"name": "App {n}", "owner": "sam", "grants": ["client_credentials"]}`,
		refused+" 403 403 403 403 201/- 403 403"),
	with(v1("GET", "/v1/oauth2/applications/{id}", "/v1/oauth2/applications/{app}", "", refused+" 403 403 403 403 200/- 403 403"), freshApp),
	with(v1("PATCH", "/v1/oauth2/applications/{id}", "/v1/oauth2/applications/{app}", `{"name": "Renamed {n}"}`,
		refused+" 403 403 403 403 200/- 403 403"), freshApp),
	with(v1("DELETE", "/v1/oauth2/applications/{id}", "/v1/oauth2/applications/{app}", "", refused+" 403 403 403 403 200/- 403 403"), freshApp),
	with(v1("POST", "/v1/oauth2/applications/{id}/secret", "/v1/oauth2/applications/{app}/secret", "",
		refused+" 403 403 403 403 200/- 403 403"), freshApp),
	v1("GET", "/v1/oauth2/signing-keys", "/v1/oauth2/signing-keys", "", refused+" 403 403 403 403 200/- 403 403"),
	v1("POST", "/v1/oauth2/signing-keys", "/v1/oauth2/signing-keys", "", refused+" 403 403 403 403 201/- 403 403"),
	with(v1("DELETE", "/v1/oauth2/signing-keys/{kid}", "/v1/oauth2/signing-keys/{kid}", "", refused+" 403 403 403 403 200/- 403 403"), freshSigningKey),
	with(v1("GET", "/v1/users/{ref}/oauth2-grants", "/v1/users/{me}/oauth2-grants", "", refused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"), ownGrant),
	with(v1("GET", "/v1/users/{ref}/oauth2-grants", "/v1/users/alice/oauth2-grants", "", refused+" 403 200/- 403 200/- 200/- 403 403"), alicesGrant),
	with(v1("DELETE", "/v1/oauth2/grants/{id}", "/v1/oauth2/grants/{grant}", "", refused+" 403 200/- 200/- 200/- 200/- 200/- 200/-"), ownGrant),
	with(v1("DELETE", "/v1/oauth2/grants/{id}", "/v1/oauth2/grants/{grant}", "", refused+" 403 200/- 404 404 200/- 404 404"), alicesGrant),

	// BrainSTEM tokens (issue 15): the token endpoints read no credential of the
	// caller's, so every cell is alike; the approval page takes sessions alone (keys
	// are refused: the sign-in page would send their callers straight back). Helpers: matrix_brainstem_tokens_test.go.
	brainstemTokens("POST", "/api/token/{$}", "/api/token/", `{"username": "sid", "password": "pw-sid-7q-secret"}`, every("200/-")),
	brainstemTokens("POST", "/api/token/{$}", "/api/token/", `{"username": "sid"}`, every("400")),
	brainstemTokens("GET", "/api/token/{$}", "/api/token/", "", every("405")),
	brainstemTokens("POST", "/api/auth/device/{$}", "/api/auth/device/", `{"client_name": "brainstem-python"}`, every("200/-")),
	brainstemTokens("GET", "/api/auth/device/{$}", "/api/auth/device/", "", every("405")),
	brainstemTokens("POST", "/api/auth/device/token/{$}", "/api/auth/device/token/", `{"device_code": "no-such-code"}`, every("400")),
	with(brainstemTokens("POST", "/api/auth/device/token/{$}", "/api/auth/device/token/", `{"device_code": "{device}"}`, every("200/-")), pendingDevice),
	with(brainstemTokens("POST", "/api/auth/device/token/{$}", "/api/auth/device/token/", `{"device_code": "{device}"}`, every("200/-")), approvedDevice),
	devicePage("GET", "/device", "302 403 403 403 403 403 403 403 403 403 403 403"),
	as("session", devicePage("GET", "/device", "302 302 302 302 302 200/- 200/- 200/- 200/- 200/- 200/- 200/-")),
	with(as("session", devicePage("GET", "/device?user_code={usercode}", "302 302 302 302 302 200/- 200/- 200/- 200/- 200/- 200/- 200/-")), pendingDevice),
	// A session's POST without its CSRF token is refused; keys are no session.
	with(as("session", devicePage("POST", "/device", "302 302 302 302 302 403 403 403 403 403 403 403")), pendingDevice),
	devicePage("POST", "/device", "302 403 403 403 403 403 403 403 403 403 403 403"),

	// BrainSTEM users (issue 15). public: the anonymous view to anyone (a credential that
	// does not hold is refused); private: a token, the caller's view (project managers
	// read their members' emails, as everywhere); super: staff and system
	// administrators. Changes: one's own account, or any as a system administrator;
	// deleting: system administrators; never on public. POST: no registration here.
	brainstem("GET", "/api/{portal}/users/user", "/api/public/users/user", "", "200/- "+bsPublicRefused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	brainstem("GET", "/api/{portal}/users/user/{$}", "/api/private/users/user/", "", refused+" 200/all+ 200/all+ 200/all+ 200/all+ 200/all+ 200/own+ 200/all+"),
	brainstem("GET", "/api/{portal}/users/user/{$}", "/api/super/users/user/", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	brainstem("GET", "/api/{portal}/users/user/{$}", "/api/unknown/users/user/", "", every("404")),
	brainstem("POST", "/api/{portal}/users/user/{$}", "/api/private/users/user/", `{"email": "new{n}@example.org"}`, refused+" 405 405 405 405 405 405 405"),
	brainstem("POST", "/api/{portal}/users/user", "/api/public/users/user", `{"email": "new{n}@example.org"}`, "405 "+bsPublicRefused+" 405 405 405 405 405 405 405"),
	brainstem("GET", "/api/{portal}/users/user/{id}/{$}", "/api/private/users/user/{me}/", "", refused+" 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	brainstem("GET", "/api/{portal}/users/user/{id}/{$}", "/api/private/users/user/sam/", "", refused+" 200/all+ 200/all+ 200/- 200/all+ 200/all+ 200/- 200/-"),
	brainstem("GET", "/api/{portal}/users/user/{id}", "/api/public/users/user/sam", "", "200/- "+bsPublicRefused+" 200/- 200/- 200/- 200/- 200/- 200/- 200/-"),
	brainstem("GET", "/api/{portal}/users/user/{id}/{$}", "/api/super/users/user/sam/", "", refused+" 403 403 403 200/all+ 200/all+ 403 403"),
	brainstem("PATCH", "/api/{portal}/users/user/{id}/{$}", "/api/private/users/user/{me}/", `{"website": "www.example.org"}`,
		refused+" 403 200/own+ 200/own+ 200/own+ 200/own+ 200/own+ 200/own+"),
	with(brainstem("PATCH", "/api/{portal}/users/user/{id}/{$}", "/api/super/users/user/{fresh}/", `{"website": "www.example.org"}`,
		refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	with(brainstem("PATCH", "/api/{portal}/users/user/{id}", "/api/private/users/user/{fresh}", `{"website": "www.example.org"}`,
		refused+" 403 403 403 403 200/- 403 403"), freshAccount),
	brainstem("PATCH", "/api/{portal}/users/user/{id}", "/api/public/users/user/{me}", `{"website": "www.example.org"}`,
		"405 "+bsPublicRefused+" 405 405 405 405 405 405 405"),
	with(brainstem("DELETE", "/api/{portal}/users/user/{id}/{$}", "/api/super/users/user/{fresh}/", "", refused+" 403 403 403 403 204/- 403 403"), freshAccount),
	with(brainstem("DELETE", "/api/{portal}/users/user/{id}", "/api/private/users/user/{fresh}", "", refused+" 403 403 403 403 204/- 403 403"), freshAccount),
	with(brainstem("DELETE", "/api/{portal}/users/user/{id}", "/api/public/users/user/{fresh}", "", "405 "+bsPublicRefused+" 405 405 405 405 405 405 405"), freshAccount),
}
