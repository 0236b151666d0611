package api_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/testkit"
)

// everySurface runs a test with /v1, CKAN and REDCap on one server.
func everySurface(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Engines(t, fn)
}

// world is accounts and a project on every surface: a sysadmin, alice (a member), and
// mia, who manages the project's users and holds its API token.
type world struct {
	root, alice, mia string // API keys
	token            string // mia's REDCap token
}

func newWorld(t *testing.T, e *testkit.Env) world {
	var w world
	_, w.root = e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
	_, w.alice = e.Account(t, map[string]any{"username": "alice", "email": "alice@example.org", "first_name": "Alice", "last_name": "Liddell",
		"privacy": "all_users", "bio": "Hello"})
	_, w.mia = e.Account(t, map[string]any{"username": "mia", "email": "mia@example.org"})
	p, err := e.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "Study", Forms: []roster.Form{{Name: "f1"}}})
	mustNil(t, err)
	for _, m := range []map[string]any{{"username": "alice"}, {"username": "mia", "user_rights": "1", "api_export": "1"}} {
		_, err := e.Projects.ImportProjectUsers(testkit.Operator(), p.ID, roster.NewSliceRows([]roster.MemberRow{roster.MemberRowFromJSON(m)}))
		mustNil(t, err)
	}
	tok, err := e.Projects.IssueProjectToken(testkit.Operator(), p.ID, "mia")
	mustNil(t, err)
	w.token = tok.Token
	return w
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, e *testkit.Env, path, key string) string {
	t.Helper()
	var h []string
	if key != "" {
		h = []string{"Authorization", "Bearer " + key}
	}
	r := e.Do(t, "GET", path, "", h...)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	return r.Body
}

// redcapUsers is mia's REDCap user export, as JSON.
func redcapUsers(t *testing.T, e *testkit.Env, token string) []map[string]any {
	t.Helper()
	form := url.Values{"token": {token}, "content": {"user"}, "format": {"json"}}
	r := e.Do(t, "POST", "/api/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != 200 {
		t.Fatalf("REDCap user export: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func exportedEmail(t *testing.T, e *testkit.Env, token, username string) any {
	for _, u := range redcapUsers(t, e, token) {
		if u["username"] == username {
			return u["email"]
		}
	}
	t.Fatalf("%s is not in the export", username)
	return nil
}

// TestOneRuleEverySurface: one rule of the stored schema (email's read level) decides
// what every surface shows, the moment it changes, on every replica.
func TestOneRuleEverySurface(t *testing.T) {
	everySurface(t, func(t *testing.T, e *testkit.Env) {
		w := newWorld(t, e)
		// A second replica: another service over the same store.
		replica, err := core.New(e.Store, core.Config{PasswordParams: secret.TestParams})
		mustNil(t, err)
		replicaEmail := func() bool {
			// As a request would: the credential is read with the policy's version.
			rootActor, err := replica.AuthenticateKey(testkit.Operator(), w.root, roster.Client{})
			mustNil(t, err)
			if rootActor.PolicyVersion == 0 && policyVersion(t, e) != 0 {
				t.Fatal("the credential was read without the policy's version")
			}
			rec, err := replica.GetAccount(roster.NewContextWithActor(t.Context(), rootActor), roster.ParseAccountRef("alice"), roster.ReadOptions{})
			mustNil(t, err)
			return rec.Visible("email")
		}
		shows := func() map[string]bool {
			metadata := e.Do(t, "POST", "/api/3/action/user_metadata", `{"ids": ["alice"], "fields": ["email"]}`,
				"Content-Type", "application/json", "X-CKAN-API-Key", w.root).Body
			return map[string]bool{
				"/v1 as root":              strings.Contains(get(t, e, "/v1/users/alice", w.root), "alice@example.org"),
				"/v1 as owner":             strings.Contains(get(t, e, "/v1/me", w.alice), "alice@example.org"),
				"/v1 list as root":         strings.Contains(get(t, e, "/v1/users?username=alice", w.root), "alice@example.org"),
				"CKAN user_show as root":   strings.Contains(get(t, e, "/api/3/action/user_show?id=alice", w.root), "alice@example.org"),
				"CKAN user_list as root":   strings.Contains(get(t, e, "/api/3/action/user_list?q=alice", w.root), "alice@example.org"),
				"CKAN user_metadata":       strings.Contains(metadata, "alice@example.org"),
				"REDCap export as manager": exportedEmail(t, e, w.token, "alice") == "alice@example.org",
				"another replica":          replicaEmail(),
			}
		}
		for where, shown := range shows() {
			if !shown {
				t.Errorf("before the change, %s does not show the email", where)
			}
		}
		_, err = e.Svc.SetPolicy(testkit.Operator(), roster.SettingSchema, `{"attributes": [{"name": "email", "read": "none"}]}`)
		mustNil(t, err)
		for where, shown := range shows() {
			if shown {
				t.Errorf("with email's read level none, %s still shows it", where)
			}
		}
		_, err = e.Svc.SetPolicy(testkit.Operator(), roster.SettingSchema, "")
		mustNil(t, err)
		for where, shown := range shows() {
			if !shown {
				t.Errorf("after the rule was undone, %s does not show the email", where)
			}
		}
	})
}

func policyVersion(t *testing.T, e *testkit.Env) int64 {
	v, err := e.Store.PolicyVersion(t.Context())
	mustNil(t, err)
	return v
}

// TestManagersAudience: REDCap shows a project's managers their members' names and
// email, whatever the members' privacy, through the schema's project_managers audience;
// an operator who removes the audience from email takes it out of the export.
func TestManagersAudience(t *testing.T) {
	everySurface(t, func(t *testing.T, e *testkit.Env) {
		w := newWorld(t, e)
		users := redcapUsers(t, e, w.token)
		var alice map[string]any
		for _, u := range users {
			if u["username"] == "alice" {
				alice = u
			}
		}
		if alice["email"] != "alice@example.org" || alice["firstname"] != "Alice" || alice["lastname"] != "Liddell" {
			t.Fatalf("the manager's export shows %v", alice)
		}
		// Through /v1 too, the manager reads a member's email: the same rule.
		if !strings.Contains(get(t, e, "/v1/users/alice", w.mia), "alice@example.org") {
			t.Fatal("the manager does not read the member's email through /v1")
		}
		// A user who manages nothing does not.
		_, other := e.Account(t, map[string]any{"username": "otto", "email": "otto@example.org"})
		if strings.Contains(get(t, e, "/v1/users/alice", other), "alice@example.org") {
			t.Fatal("a user outside the project reads the member's email")
		}
		_, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingSchema, `{"attributes": [{"name": "email", "audiences": []}]}`)
		mustNil(t, err)
		if email := exportedEmail(t, e, w.token, "alice"); email != "" {
			t.Fatalf("without the audience, the manager's export shows the email %v", email)
		}
		for _, u := range redcapUsers(t, e, w.token) {
			if u["username"] == "alice" && u["firstname"] != "Alice" {
				t.Fatalf("the names went too: %v", u)
			}
		}
		if strings.Contains(get(t, e, "/v1/users/alice", w.mia), "alice@example.org") {
			t.Fatal("without the audience, the manager reads the email through /v1")
		}
	})
}

// TestOperatorAttributeOnCKAN: an attribute the operator adds to the stored schema with
// a CKAN name appears in user_show, in user_list with all_fields and in user_metadata.
func TestOperatorAttributeOnCKAN(t *testing.T) {
	everySurface(t, func(t *testing.T, e *testkit.Env) {
		w := newWorld(t, e)
		_, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingSchema,
			`{"attributes": [{"name": "lab_room", "type": "string", "read": "signed_in", "write": "self", "maxLength": 20, "names": {"ckan": "lab_room"}}]}`)
		mustNil(t, err)
		r := e.Do(t, "PATCH", "/v1/me", `{"lab_room": "B-204"}`, "Authorization", "Bearer "+w.alice, "Content-Type", "application/json")
		if r.Status != 200 {
			t.Fatalf("PATCH lab_room: %d %s", r.Status, r.Body)
		}
		for name, body := range map[string]string{
			"user_show": get(t, e, "/api/3/action/user_show?id=alice", w.mia),
			"user_list": get(t, e, "/api/3/action/user_list?q=alice&all_fields=true", w.mia),
			"user_metadata": e.Do(t, "POST", "/api/3/action/user_metadata", `{"ids": ["alice"], "fields": ["name", "lab_room"]}`,
				"Content-Type", "application/json", "X-CKAN-API-Key", w.root).Body,
		} {
			if !strings.Contains(body, `"lab_room": "B-204"`) {
				t.Errorf("%s does not show the operator's attribute: %s", name, body)
			}
		}
		// A user_patch through CKAN sets it by its CKAN name, checked by the schema.
		r = e.Do(t, "POST", "/api/3/action/user_patch", `{"id": "alice", "lab_room": "far too long a room name"}`,
			"Content-Type", "application/json", "X-CKAN-API-Key", w.alice)
		if r.Status != 409 || !strings.Contains(r.Body, `"lab_room": ["Ensure this field has no more than 20 characters."]`) {
			t.Fatalf("user_patch with a bad lab_room: %d %s", r.Status, r.Body)
		}
	})
}

// TestAccessExplained: GET /v1/users/{ref}/access names, for each kind of caller, the
// rule behind each field's answer.
func TestAccessExplained(t *testing.T) {
	everySurface(t, func(t *testing.T, e *testkit.Env) {
		w := newWorld(t, e)
		_, staff := e.Account(t, map[string]any{"username": "sam", "email": "sam@example.org", "staff": true})
		_, other := e.Account(t, map[string]any{"username": "otto", "email": "otto@example.org"})
		type want struct{ read, write string }
		for _, c := range []struct {
			who, key, as string
			edit         string
			fields       map[string]want
		}{
			{"anonymous", w.root, "anonymous", "anonymous", map[string]want{
				"username": {"public", "anonymous"}, "bio": {"anonymous", "anonymous"}, "email": {"self_only", "anonymous"},
				"password": {"secret", "anonymous"}, "id": {"public", "maintained"}}},
			{"self", w.alice, "", "self", map[string]want{
				"email": {"self", "self"}, "bio": {"self", "self"}, "sysadmin": {"staff_only", "sysadmin_only"},
				"username": {"public", "sysadmin_only"}, "created": {"self", "maintained"}}},
			{"another user", other, "", "not_owner", map[string]want{
				"bio": {"privacy_all_users", "not_owner"}, "name": {"privacy", "not_owner"}, "email": {"self_only", "not_owner"},
				"year_of_birth": {"self_only", "not_owner"}}},
			{"staff", staff, "", "not_owner", map[string]want{
				"email": {"staff", "not_owner"}, "sysadmin": {"staff", "not_owner"}}},
			{"sysadmin", w.root, "", "sysadmin", map[string]want{
				"email": {"sysadmin", "sysadmin"}, "sysadmin": {"sysadmin", "sysadmin"}, "id": {"sysadmin", "maintained"}}},
			{"project manager", w.mia, "", "not_owner", map[string]want{
				"email": {"audience", "not_owner"}, "first_name": {"audience", "not_owner"}, "bio": {"privacy_all_users", "not_owner"},
				"year_of_birth": {"self_only", "not_owner"}}},
			{"project manager, asked by a sysadmin", w.root, "mia", "not_owner", map[string]want{
				"email": {"audience", "not_owner"}}},
		} {
			path := "/v1/users/alice/access"
			if c.as != "" {
				path += "?as=" + c.as
			}
			var acc roster.AccountAccess
			if err := json.Unmarshal([]byte(get(t, e, path, c.key)), &acc); err != nil {
				t.Fatal(err)
			}
			if string(acc.Edit.Rule) != c.edit {
				t.Errorf("%s: edit rule %s (%s), want %s", c.who, acc.Edit.Rule, acc.Edit.Detail, c.edit)
			}
			for field, wt := range c.fields {
				f := acc.Field(field)
				if f == nil {
					t.Fatalf("%s: no decision for %s", c.who, field)
				}
				if string(f.Read.Rule) != wt.read || string(f.Write.Rule) != wt.write || f.Read.Detail == "" {
					t.Errorf("%s, %s: read %s (%s), write %s; want read %s, write %s", c.who, field, f.Read.Rule, f.Read.Detail, f.Write.Rule, wt.read, wt.write)
				}
			}
			// The decisions are the records: what the caller reads is what the access says.
			if c.as == "" {
				var rec map[string]any
				json.Unmarshal([]byte(get(t, e, "/v1/users/alice", c.key)), &rec)
				for _, f := range acc.Fields {
					if _, shown := rec[f.Field]; shown != f.Read.Allowed {
						t.Errorf("%s: %s is shown=%v but the access says read=%v (%s)", c.who, f.Field, shown, f.Read.Allowed, f.Read.Rule)
					}
				}
			}
		}
		// Only a system administrator may ask on another's behalf.
		r := e.Do(t, "GET", "/v1/users/alice/access?as=root", "", "Authorization", "Bearer "+other)
		if r.Status != 403 {
			t.Fatalf("a user asked as another: %d %s", r.Status, r.Body)
		}
		// For a surface: Open edX lets no one change another's account.
		var acc roster.AccountAccess
		json.Unmarshal([]byte(get(t, e, "/v1/users/alice/access?surface=openedx", w.root)), &acc)
		if acc.Edit.Allowed || acc.Edit.Rule != roster.RuleSurface {
			t.Fatalf("through openedx a sysadmin may edit another: %+v", acc.Edit)
		}
		// A project's access, right by right.
		var pa roster.ProjectAccess
		json.Unmarshal([]byte(get(t, e, "/v1/projects/1/access", w.mia)), &pa)
		if !pa.Member || len(pa.Rights) != int(roster.NumRights) || pa.Rights[roster.RightUserRights].Value != 1 ||
			pa.Rights[roster.RightUserRights].Decision.Rule != roster.RuleProjectRight || pa.Rights[roster.RightDesign].Decision.Rule != roster.RuleNoProjectRight {
			t.Fatalf("project access: %+v", pa)
		}
		// A system administrator asks as mia, as Alice (a member without rights) and as
		// anonymous (no member: every right refused, not a 404); a user may not ask as another.
		var asMia roster.ProjectAccess
		json.Unmarshal([]byte(get(t, e, "/v1/projects/1/access?as=mia", w.root)), &asMia)
		if asMia.Caller != "mia" || !reflect.DeepEqual(asMia.Rights, pa.Rights) {
			t.Fatalf("as mia: %+v, want %+v", asMia, pa)
		}
		json.Unmarshal([]byte(get(t, e, "/v1/projects/1/access?as=alice", w.root)), &pa)
		if !pa.Member || pa.Rights[roster.RightUserRights].Decision.Allowed {
			t.Fatalf("as alice: %+v", pa)
		}
		json.Unmarshal([]byte(get(t, e, "/v1/projects/1/access?as=anonymous", w.root)), &pa)
		if pa.Member || pa.Caller != "anonymous" || len(pa.Rights) != int(roster.NumRights) {
			t.Fatalf("as anonymous: %+v", pa)
		}
		for _, ra := range pa.Rights {
			if ra.Decision.Allowed || ra.Decision.Rule != roster.RuleNoProjectRight {
				t.Fatalf("as anonymous: %s allowed (%s)", ra.Right, ra.Decision.Rule)
			}
		}
		if r := e.Do(t, "GET", "/v1/projects/1/access?as=alice", "", "Authorization", "Bearer "+w.mia); r.Status != 403 {
			t.Fatalf("a manager asked as another: %d %s", r.Status, r.Body)
		}
	})
}

// TestPolicyAPI: the policy is read by staff, changed by system administrators only,
// versioned and audited, and checked against the stored accounts before it changes.
func TestPolicyAPI(t *testing.T) {
	everySurface(t, func(t *testing.T, e *testkit.Env) {
		w := newWorld(t, e)
		put := func(key, name, body string) testkit.Reply {
			return e.Do(t, "PUT", "/v1/policy/"+name, body, "Authorization", "Bearer "+key, "Content-Type", "application/json")
		}
		if r := put(w.alice, "parental_consent_age", "13"); r.Status != 403 {
			t.Fatalf("a user set the policy: %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, "GET", "/v1/policy", "", "Authorization", "Bearer "+w.alice); r.Status != 403 {
			t.Fatalf("a user read the policy: %d", r.Status)
		}
		r := put(w.root, "parental_consent_age", "13")
		if r.Status != 200 || !strings.Contains(r.Body, `"name":"parental_consent_age","value":13`) {
			t.Fatalf("set: %d %s", r.Status, r.Body)
		}
		var before struct{ Version int64 }
		json.Unmarshal([]byte(r.Body), &before)
		// A value of the wrong shape, an unknown setting, a widened surface: refused.
		for name, body := range map[string]string{"parental_consent_age": `"thirteen"`, "colour": `"red"`, "default_privacy": `"everyone"`,
			"surfaces": `{"ckan": {"require": {"user_metadata": "signed_in"}}}`} {
			if r := put(w.root, name, body); r.Status != 400 {
				t.Errorf("%s=%s: %d %s", name, body, r.Status, r.Body)
			}
		}
		// A schema under which a stored value would be invalid: refused, naming it.
		r = put(w.root, "schema", `{"attributes": [{"name": "bio", "maxLength": 3}]}`)
		if r.Status != 400 || !strings.Contains(r.Body, "account alice: bio Hello") {
			t.Fatalf("a schema that does not fit the data: %d %s", r.Status, r.Body)
		}
		// Narrowing a surface is allowed, and takes effect.
		if r := put(w.root, "surfaces", `{"ckan": {"require": {"user_list": "signed_in"}}}`); r.Status != 200 {
			t.Fatalf("narrowing: %d %s", r.Status, r.Body)
		}
		var after struct{ Version int64 }
		json.Unmarshal([]byte(get(t, e, "/v1/policy", w.root)), &after)
		if after.Version != before.Version+1 {
			t.Fatalf("versions %d then %d: refused changes must not count", before.Version, after.Version)
		}
		audit := get(t, e, "/v1/audit?action=policy.update", w.root)
		if strings.Count(audit, `"action":"policy.update"`) != 2 || !strings.Contains(audit, `"target_name":"surfaces"`) {
			t.Fatalf("audit: %s", audit)
		}
		// Unset: the default applies again.
		if r := e.Do(t, "DELETE", "/v1/policy/parental_consent_age", "", "Authorization", "Bearer "+w.root); r.Status != 200 || strings.Contains(r.Body, "parental") {
			t.Fatalf("unset: %d %s", r.Status, r.Body)
		}
	})
}
