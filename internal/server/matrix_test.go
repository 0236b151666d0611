package server_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/testkit"
)

// The authorization matrix: every route the server registers, and every operation a
// surface dispatches inside its routes, called by every kind of caller. The expected
// cells are in matrix_table_test.go, written by hand; this file sets up the callers and
// checks each answer: its status, and that its body holds nothing the caller may not
// read and no secret.

// columns are the callers, in the order of every row's cells. Each is one account (but
// the first two) with its credential on each surface: an API key for /v1 and CKAN, a
// project API token for REDCap.
var columns = []string{
	"anon",        // no credential
	"badkey",      // a credential no one was given
	"revoked",     // ray: his key revoked, his project token revoked
	"expired",     // eve: her key expired, her rights in project 1 expired
	"deactivated", // dave: a live key and token, his account deactivated
	"rokey",       // rita: a read-only key; in project 1 User Rights and API export, no API import
	"user",        // alice: a plain account; in project 1 every right, in no DAG
	"other",       // bob: a plain account; every right in project 2 only
	"staff",       // watcher: staff; in project 1 the API rights only
	"sysadmin",    // root: a system administrator; in project 1 the API rights only
	"norights",    // mona: in project 1 the API rights only
	"dag",         // dana: in project 1 every right but Design, confined to DAG north
}

// person is a fixture account: who it is and where it is a member, as the rules below
// need to know. Every person's private values are canaries the bodies are searched for.
type person struct {
	username, password string
	staff, sysadmin    bool
	// memberships by project id.
	memberships map[int64]membership
}

type membership struct {
	userRights bool // User Rights (full or read-only)
	dag        string
	expired    bool
}

// Canaries: values only some callers may read, by class.
//
//	email: the account itself, staff, system administrators, and whoever manages it
//	       in a project (User Rights there, not expired, and in its DAG when confined)
//	self:  the account itself, staff and system administrators (mailing_address)
//	staff: staff and system administrators (suspension_reason)
var canaryClasses = []string{"email", "self", "staff"}

func canary(username, class string) string {
	switch class {
	case "email":
		return "em-" + username + "-7q"
	case "self":
		return "ma-" + username + "-7q"
	}
	return "sr-" + username + "-7q"
}

// mayRead is the visibility rule of docs/accounts.md, written out by hand for the
// fixture: may caller (nil: not authenticated) read class of owner's account? On REDCap
// a project token acts as its member in its project only: staff and system
// administrators hold no more there than their project rights.
func mayRead(caller, owner *person, class string, surface string, tokenProject int64) bool {
	if caller == nil {
		return false
	}
	staff := (caller.staff || caller.sysadmin) && surface != "redcap"
	switch class {
	case "staff":
		return staff
	case "self":
		return caller == owner || staff
	}
	if caller == owner || staff {
		return true
	}
	for pid, m := range caller.memberships {
		if surface == "redcap" && pid != tokenProject {
			continue
		}
		if !m.userRights || m.expired {
			continue
		}
		if o, ok := owner.memberships[pid]; ok && (m.dag == "" || m.dag == o.dag) {
			return true
		}
	}
	return false
}

// fixture is the store every cell runs against.
type fixture struct {
	e      *testkit.Env
	people map[string]*person
	// caller of each column (nil for anon and badkey), its API key and project token.
	caller map[string]*person
	key    map[string]string
	token  map[string]string
	// tokenProject is the project a column's token acts in.
	tokenProject map[string]int64
	// secrets are every secret the fixture made: no body may hold one.
	secrets []string
	n       int
	clk     *testkit.Clock
	// oauth is the OAuth2 applications, made by the first row that needs them.
	oauth *matrixApps
}

func op() context.Context { return testkit.Operator() }

// must returns v, for the fixture's setup, which cannot go on after an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(t *testing.T, e *testkit.Env, clk *testkit.Clock) *fixture {
	f := &fixture{e: e, people: map[string]*person{}, caller: map[string]*person{}, key: map[string]string{},
		token: map[string]string{}, tokenProject: map[string]int64{}, clk: clk}
	type spec struct {
		column, username string
		staff, sysadmin  bool
	}
	specs := []spec{
		{"revoked", "ray", false, false}, {"expired", "eve", false, false}, {"deactivated", "dave", false, false},
		{"rokey", "rita", false, false}, {"user", "alice", false, false}, {"other", "bob", false, false},
		{"staff", "watcher", true, false}, {"sysadmin", "root", false, true}, {"norights", "mona", false, false},
		{"dag", "dana", false, false}, {"", "nick", false, false}, {"", "sam", false, false}, {"", "carol", false, false},
		{"", "pat", false, false},
	}
	for _, s := range specs {
		p := &person{username: s.username, password: "pw-" + s.username + "-7q-secret", staff: s.staff, sysadmin: s.sysadmin,
			memberships: map[int64]membership{}}
		f.people[s.username] = p
		f.secrets = append(f.secrets, p.password)
		must(e.Svc.CreateAccount(op(), map[string]any{"username": s.username, "email": canary(s.username, "email") + "@example.org",
			"password": p.password, "name": strings.ToUpper(s.username[:1]) + s.username[1:] + " Fixture",
			"mailing_address": canary(s.username, "self"), "suspension_reason": canary(s.username, "staff"),
			"staff": s.staff, "sysadmin": s.sysadmin}))
		if s.column == "" {
			continue
		}
		f.caller[s.column] = p
		req := roster.KeyRequest{Label: s.column, ReadOnly: s.column == "rokey"}
		if s.column == "expired" {
			req.ExpiresAt = clk.Now().Add(24 * time.Hour)
		}
		k := must(e.Svc.CreateAPIKey(op(), roster.AccountRef{Username: s.username}, req))
		f.key[s.column] = k.Secret
		f.secrets = append(f.secrets, k.Secret, hex.EncodeToString(secret.HashToken(k.Secret)),
			base64.StdEncoding.EncodeToString(secret.HashToken(k.Secret)))
		if s.column == "revoked" {
			must(e.Svc.RevokeAPIKey(op(), k.Key.ID))
		}
	}
	// A sign-in account without canaries: signing in shows the account to whoever signs in.
	must(e.Svc.CreateAccount(op(), map[string]any{"username": "sid", "email": "sid@example.org", "password": "pw-sid-7q-secret"}))
	f.secrets = append(f.secrets, "pw-sid-7q-secret")

	// Project 1 with DAGs north and south; project 2.
	p1 := must(e.Projects.CreateProject(op(), &roster.Project{Title: "Trial", Forms: []roster.Form{{Name: "intake"}, {Name: "visit"}}}))
	p2 := must(e.Projects.CreateProject(op(), &roster.Project{Title: "Other trial", Forms: []roster.Form{{Name: "intake"}}}))
	if p1.ID != 1 || p2.ID != 2 {
		t.Fatalf("projects %d and %d, want 1 and 2", p1.ID, p2.ID)
	}
	must(e.Projects.ImportProjectDAGs(op(), 1, roster.NewSliceRows([]roster.DAGRow{{Label: "North"}, {Label: "South"}}, dagColumns...)))
	full := map[string]any{"user_rights": 1, "data_access_groups": 1, "design": 1, "api_export": 1, "api_import": 1, "record_delete": 1}
	apiOnly := map[string]any{"api_export": 1, "api_import": 1}
	expires := clk.Now().Add(24 * time.Hour).UTC().Format(time.DateOnly)
	type member struct {
		project  int64
		username string
		rights   map[string]any
		dag      string
		extra    map[string]any
		switches []string
	}
	members := []member{
		{1, "alice", full, "", nil, []string{"", "north"}},
		{1, "ray", full, "", nil, nil},
		{1, "eve", full, "", map[string]any{"expiration": expires}, nil},
		{1, "dave", full, "", nil, nil},
		{1, "rita", map[string]any{"user_rights": 1, "api_export": 1}, "", nil, nil},
		{1, "watcher", apiOnly, "", nil, nil},
		{1, "root", apiOnly, "", nil, nil},
		{1, "mona", apiOnly, "", nil, nil},
		{1, "dana", map[string]any{"user_rights": 1, "data_access_groups": 1, "api_export": 1, "api_import": 1, "record_delete": 1}, "north", nil, []string{"north", "south"}},
		{1, "nick", nil, "north", nil, nil},
		{1, "sam", nil, "south", nil, nil},
		{2, "bob", full, "", nil, nil},
		{2, "pat", nil, "", nil, nil},
	}
	for _, m := range members {
		in := map[string]any{"username": m.username}
		for k, v := range m.rights {
			in[k] = v
		}
		for k, v := range m.extra {
			in[k] = v
		}
		if m.dag != "" {
			in["data_access_group"] = m.dag
		}
		row := roster.MemberRowFromJSON(in)
		if m.switches != nil {
			row.DAGSwitch = m.switches
		}
		if err := e.Projects.PutProjectMember(op(), m.project, row); err != nil {
			t.Fatalf("member %s: %v", m.username, err)
		}
		f.people[m.username].memberships[m.project] = membership{userRights: m.rights["user_rights"] != nil, dag: m.dag}
	}
	for column, p := range f.caller {
		pid := int64(1)
		if column == "other" {
			pid = 2
		}
		tok := must(e.Projects.IssueProjectToken(op(), pid, p.username))
		f.token[column], f.tokenProject[column] = tok.Token, pid
		f.secrets = append(f.secrets, tok.Token, hex.EncodeToString(secret.HashToken(tok.Token)))
	}
	if err := e.Projects.RevokeProjectToken(op(), 1, "ray"); err != nil {
		t.Fatal(err)
	}
	must(e.Svc.SetState(op(), roster.AccountRef{Username: "dave"}, roster.StateDeactivated, roster.WriteOptions{}))

	// Two days on: eve's key and her rights in project 1 have expired.
	clk.Advance(48 * time.Hour)
	m := f.people["eve"].memberships[1]
	m.expired = true
	f.people["eve"].memberships[1] = m
	return f
}

// dagColumns are the columns of a DAG import.
var dagColumns = []string{"data_access_group_name", "unique_group_name"}

// row is one request, sent by every caller.
type row struct {
	// surface is the surface whose route or operation the row covers; "" for the routes
	// of no surface.
	surface string
	// route is the route pattern the request reaches; op, the surface's operation.
	route, op    string
	method, path string
	// body is JSON for /v1 and CKAN; REDCap's form fields are in form (token added per
	// caller). Both may hold placeholders, replaced per cell: {n} a number fresh for the
	// cell, {me} the caller's username, {mypw} its password, and whatever prep sets.
	body string
	form url.Values
	// prep makes what a cell acts on, before it is sent, and returns its placeholders.
	prep func(t *testing.T, f *fixture, c *cell) map[string]string
	// after sees each answer (to pick up a token the caller issued itself).
	after func(f *fixture, c *cell, r testkit.Reply)
	// cred is what the callers present: "" their API keys (project tokens on REDCap),
	// "session" their browser sessions, "jwt" their JWTs (matrix_oauth_test.go).
	cred string
	// cells: one per column, "STATUS" for a refusal, "STATUS/VIEW" for a success, VIEW
	// saying what of the accounts' private values the body may hold:
	//
	//	-      nothing
	//	own    the caller's own values only; own+: and at least one of them
	//	all    any value the caller may read; all+: and at least one of another account
	//	no     nothing, and the body is a refusal worded as a success (REDCap's "ERROR: …")
	cells string
}

// cell is one caller's call of a row.
type cell struct {
	column string
	n      int
	// project is the project the caller's REDCap token acts in (1 but for other).
	project int64
}

func (c *cell) me(f *fixture) *person {
	if p := f.caller[c.column]; p != nil {
		return p
	}
	return f.people["alice"]
}

// authenticated says whether the column's credential is good.
func authenticated(column string) bool {
	switch column {
	case "anon", "badkey", "revoked", "expired", "deactivated":
		return false
	}
	return true
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

func (f *fixture) send(t *testing.T, r row, c *cell, vars map[string]string) testkit.Reply {
	t.Helper()
	me := c.me(f)
	fill := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(p string) string {
			name := p[1 : len(p)-1]
			switch name {
			case "n":
				return fmt.Sprint(c.n)
			case "me":
				return me.username
			case "mypw":
				return me.password
			}
			if v, ok := vars[name]; ok {
				return v
			}
			t.Fatalf("%s %s: no value for %s", r.method, r.path, p)
			return ""
		})
	}
	path := fill(r.path)
	if r.cred != "" {
		return f.sendAs(t, r, c, path, fill(r.body))
	}
	switch r.surface {
	case "redcap":
		form := url.Values{}
		switch c.column {
		case "anon":
		case "badkey":
			form.Set("token", "0123456789ABCDEF0123456789ABCDEF")
		default:
			form.Set("token", f.token[c.column])
		}
		for k, vs := range r.form {
			for _, v := range vs {
				form.Add(fill(k), fill(v))
			}
		}
		return f.e.Do(t, r.method, path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	case "openedx":
		h := []string{"Content-Type", "application/merge-patch+json"}
		if k := f.credential(c.column); k != "" {
			h = append(h, "Authorization", "Bearer "+k)
		}
		return f.e.Do(t, r.method, path, fill(r.body), h...)
	case "openedx-images":
		// The body is binary and holds no placeholders: it is sent as it is.
		var h []string
		if r.body != "" {
			h = append(h, "Content-Type", "multipart/form-data; boundary="+matrixBoundary)
		}
		if k := f.credential(c.column); k != "" {
			h = append(h, "Authorization", "Bearer "+k)
		}
		return f.e.Do(t, r.method, path, r.body, h...)
	case "pybossa":
		// JSON mode; the key raw in Authorization, as PYBOSSA reads it.
		h := []string{"Content-Type", "application/json"}
		if k := f.credential(c.column); k != "" {
			h = append(h, "Authorization", k)
		}
		return f.e.Do(t, r.method, path, fill(r.body), h...)
	case "oauth2":
		h := []string{"Content-Type", "application/x-www-form-urlencoded"}
		if k := f.credential(c.column); k != "" {
			h = append(h, "Authorization", "Bearer "+k)
		}
		return f.e.Do(t, r.method, path, fill(r.body), h...)
	case "ckan":
		h := []string{"Content-Type", "application/json"}
		if k := f.credential(c.column); k != "" {
			h = append(h, "X-CKAN-API-Key", k)
		}
		return f.e.Do(t, r.method, path, fill(r.body), h...)
	}
	h := []string{"Content-Type", "application/json"}
	if k := f.credential(c.column); k != "" {
		h = append(h, "Authorization", "Bearer "+k)
	}
	return f.e.Do(t, r.method, path, fill(r.body), h...)
}

// credential is the column's API key.
func (f *fixture) credential(column string) string {
	switch column {
	case "anon":
		return ""
	case "badkey":
		return "rk_Zm9yZ2VkLWtleS10aGF0LW5vLW9uZS13YXMtZXZlci1naXZlbg"
	}
	return f.key[column]
}

// check returns what is wrong with an answer, or "".
func (f *fixture) check(r row, c *cell, want string, got testkit.Reply) string {
	status, view, _ := strings.Cut(want, "/")
	if fmt.Sprint(got.Status) != status {
		return fmt.Sprintf("status %d, want %s", got.Status, want)
	}
	for _, s := range f.secrets {
		if strings.Contains(got.Body, s) {
			return "the body holds a secret of the fixture"
		}
	}
	if strings.Contains(got.Body, "$argon2") {
		return "the body holds a password hash"
	}
	var caller *person
	if authenticated(c.column) {
		caller = f.caller[c.column]
	}
	var own, others int
	for _, owner := range f.people {
		for _, class := range canaryClasses {
			if !strings.Contains(got.Body, canary(owner.username, class)) {
				continue
			}
			if !mayRead(caller, owner, class, r.surface, c.project) {
				return fmt.Sprintf("the body holds %s's %s value, which the caller may not read", owner.username, class)
			}
			if owner == caller {
				own++
			} else {
				others++
			}
			if view == "" || view == "-" || view == "no" {
				return fmt.Sprintf("the body holds %s's %s value, where it should hold no private value", owner.username, class)
			}
			if strings.HasPrefix(view, "own") && owner != caller {
				return fmt.Sprintf("the body holds %s's %s value, where it should hold the caller's own only", owner.username, class)
			}
		}
	}
	switch view {
	case "own+":
		if own == 0 {
			return "the body holds none of the caller's own private values"
		}
	case "all+":
		if others == 0 {
			return "the body holds no private value of another account"
		}
	case "no":
		if !strings.Contains(got.Body, "ERROR") {
			return "the body is not a refusal"
		}
	}
	return ""
}

// TestAuthorizationMatrix sends every row of the matrix as every caller, through the
// production handler on both engines, and checks each answer against its cell.
func TestAuthorizationMatrix(t *testing.T) {
	if err := validateTable(matrix); err != nil {
		t.Fatal(err)
	}
	clk := &testkit.Clock{}
	setup := testkit.Setup{Core: func(c *core.Config) {
		c.Now = clk.Now
		// Bad credentials are part of every row: they must not get the test's own
		// address blocked. Throttling has its own tests.
		c.KeyFailuresAllowed = 1 << 30
	}}
	testkit.Run(t, setup, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC())
		checkCoverage(t, e)
		f := newFixture(t, e, clk)
		var failures []string
		cells := 0
		for _, r := range matrix {
			want := strings.Fields(r.cells)
			for i, column := range columns {
				f.n++
				c := &cell{column: column, n: f.n, project: 1}
				if column == "other" {
					c.project = 2
				}
				var vars map[string]string
				if r.prep != nil {
					vars = r.prep(t, f, c)
				}
				got := f.send(t, r, c, vars)
				cells++
				if msg := f.check(r, c, want[i], got); msg != "" {
					failures = append(failures, fmt.Sprintf("%s %s %s as %s: %s\n    %.300s", r.method, r.path, r.op, column, msg, strings.TrimSpace(got.Body)))
				}
				if r.after != nil {
					r.after(f, c, got)
				}
			}
		}
		if len(failures) > 0 {
			t.Fatalf("%d of %d cells answered otherwise:\n%s", len(failures), cells, strings.Join(failures, "\n"))
		}
		t.Logf("%d rows × %d callers = %d cells", len(matrix), len(columns), cells)
	})
}

// validateTable checks every row has a cell per column, and every cell its form.
func validateTable(rows []row) error {
	cellForm := regexp.MustCompile(`^[1-5][0-9][0-9](/(-|own\+?|all\+?|no))?$`)
	for _, r := range rows {
		cs := strings.Fields(r.cells)
		if len(cs) != len(columns) {
			return fmt.Errorf("%s %s %s: %d cells for %d callers", r.method, r.path, r.op, len(cs), len(columns))
		}
		for _, c := range cs {
			if !cellForm.MatchString(c) {
				return fmt.Errorf("%s %s %s: cell %q", r.method, r.path, r.op, c)
			}
			success := c[0] == '2'
			if success != strings.Contains(c, "/") {
				return fmt.Errorf("%s %s %s: cell %q: a success names what its body may hold, a refusal does not", r.method, r.path, r.op, c)
			}
		}
	}
	return nil
}

// checkCoverage fails for every route the server registers, and every operation a
// surface dispatches, that no row covers; and for rows whose request does not reach the
// route they name.
func checkCoverage(t *testing.T, e *testkit.Env) {
	t.Helper()
	covered := map[string]bool{}
	mux := http.NewServeMux()
	for _, rt := range e.Handler.Routes() {
		mux.HandleFunc(rt.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	for _, r := range matrix {
		req, err := http.NewRequest(r.method, "http://roster"+placeholder.ReplaceAllString(r.path, "x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, pattern := mux.Handler(req); pattern != r.route {
			t.Errorf("%s %s reaches %q, not the route %q its row names", r.method, r.path, pattern, r.route)
		}
		covered[r.surface+" "+r.route] = true
		if r.op != "" {
			covered[r.surface+" op "+r.op] = true
		}
	}
	var missing []string
	for _, rt := range e.Handler.Routes() {
		name := ""
		if rt.Surface != nil {
			name = rt.Surface.Name
		}
		if !covered[name+" "+rt.Pattern] {
			missing = append(missing, fmt.Sprintf("route %q of surface %q", rt.Pattern, name))
		}
	}
	for _, s := range e.Handler.Surfaces() {
		for _, o := range s.Operations {
			if !covered[s.Name+" op "+o] {
				missing = append(missing, fmt.Sprintf("operation %q of surface %q", o, s.Name))
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Fatalf("the matrix has no row for:\n%s", strings.Join(missing, "\n"))
	}
}

// jsonField reads one string field of a JSON object body.
func jsonField(body, name string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
