package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestUsersAndKeysCLI(t *testing.T) {
	te := newStore(t)
	id := te.mustCLI(t, "s3cret password\n", "users", "create", "--username", "alice", "--email", "alice@example.org", "--name", "Alice Smith", "--password-stdin")
	if !regexp.MustCompile(`^\d+\n$`).MatchString(id) {
		t.Fatalf("users create printed %q, want the id alone", id)
	}
	te.mustCLI(t, "", "users", "create", "--username", "root", "--email", "root@example.org", "--sysadmin")

	t.Run("ErrDuplicate", func(t *testing.T) {
		code, out, errs := te.cli(t, "", "users", "create", "--username", "ALICE", "--email", "Alice@example.org")
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		if lines := errorLines(errs); len(lines) != 2 || !strings.Contains(errs, "username: That username is already taken.") || !strings.Contains(errs, "email: That email address is already in use.") {
			t.Fatalf("stderr %q", errs)
		}
		if n := strings.Count(te.mustCLI(t, "", "users", "list"), "\n"); n != 3 {
			t.Fatalf("a refused create changed the list (%d lines)", n)
		}
	})
	t.Run("ErrBadUsage", func(t *testing.T) {
		for _, args := range [][]string{
			{"users", "create", "--username", "x"}, {"users", "create", "--email", "x@y.z", "--username", "x", "extra"},
			{"users", "create", "--bogus"}, {"users"}, {"users", "frob"}, {"users", "show"}, {"keys", "create"},
			{"keys", "revoke", "abc"}, {"users", "set-password", "alice"}, {"users", "list", "--state", "sleepy"},
			{"users", "import", "file.txt"}, {"users", "export", "--format", "xml"}, {"users", "show", "--db", "ftp://x", "alice"},
		} {
			code, _, errs := te.cli(t, "", args...)
			if code != 2 || len(errorLines(errs)) != 1 {
				t.Errorf("roster %v: exit %d, stderr %q", args, code, errs)
			}
		}
		code, _, errs := te.cli(t, "", "users", "create", "--username", "bad name", "--email", "nope")
		if code != 1 || len(errorLines(errs)) != 2 {
			t.Errorf("invalid values: exit %d, %q", code, errs)
		}
		code, _, errs = te.cli(t, "", "users", "set-password", "alice", "--password-stdin")
		if code != 2 || !strings.Contains(errs, "no password") {
			t.Errorf("empty stdin: exit %d, %q", code, errs)
		}
		code, _, errs = te.cli(t, "short\n", "users", "set-password", "alice", "--password-stdin")
		if code != 1 || !strings.Contains(errs, "8 characters") {
			t.Errorf("short password: exit %d, %q", code, errs)
		}
	})
	t.Run("ShowAndList", func(t *testing.T) {
		out := te.mustCLI(t, "", "users", "show", strings.TrimSpace(id))
		for _, want := range []string{"username  alice", "email  alice@example.org", "first_name  Alice", "state  active"} {
			if !regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), "  ", `\s+`)).MatchString(out) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "password") {
			t.Fatal("show prints a password field")
		}
		js := te.mustCLI(t, "", "users", "show", "ALICE", "--json")
		if !strings.Contains(js, `"username": "alice"`) {
			t.Fatalf("show --json: %s", js)
		}
		list := te.mustCLI(t, "", "users", "list", "--q", "roo")
		if !strings.Contains(list, "root") || strings.Contains(list, "alice") || !strings.Contains(list, "sysadmin") {
			t.Fatalf("list: %s", list)
		}
	})
	t.Run("Keys", func(t *testing.T) {
		key := te.mustCLI(t, "", "keys", "create", "--username", "alice", "--label", "laptop", "--expires", "720h")
		if !regexp.MustCompile(`^rk_[0-9a-f]{64}\n$`).MatchString(key) {
			t.Fatalf("keys create printed %q, want the key alone", key)
		}
		list := te.mustCLI(t, "", "keys", "list", "alice")
		if !strings.Contains(list, "laptop") || strings.Contains(list, strings.TrimSpace(key)) || !strings.Contains(list, key[:9]) {
			t.Fatalf("keys list: %s", list)
		}
		kid := regexp.MustCompile(`(?m)^(\d+)\s+rk_`).FindStringSubmatch(list)[1]
		te.mustCLI(t, "", "keys", "revoke", kid)
		if !regexp.MustCompile(`\d{4}-\d\d-\d\dT\S+Z\s*$`).MatchString(strings.TrimSpace(te.mustCLI(t, "", "keys", "list", "alice"))) {
			t.Fatal("the revoked key shows no revocation time")
		}
		code, _, errs := te.cli(t, "", "keys", "revoke", "999")
		if code != 1 || len(errorLines(errs)) != 1 {
			t.Fatalf("revoking a missing key: %d %q", code, errs)
		}
	})
	t.Run("Lifecycle", func(t *testing.T) {
		te.mustCLI(t, "", "users", "deactivate", "alice")
		if !strings.Contains(te.mustCLI(t, "", "users", "show", "alice"), "deactivated") {
			t.Fatal("not deactivated")
		}
		te.mustCLI(t, "", "users", "activate", "alice")
		code, _, errs := te.cli(t, "", "users", "delete", "root")
		if code != 1 || !strings.Contains(errs, "last active system administrator") {
			t.Fatalf("deleting the last sysadmin: %d %q", code, errs)
		}
	})
}

func TestImportExportRoundTrip(t *testing.T) {
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			te := newStore(t)
			dir := t.TempDir()
			in := filepath.Join(dir, "in."+format)
			var rows string
			if format == "csv" {
				rows = "username,email,name,country,bio,language_proficiencies,info,sysadmin,year_of_birth\n" +
					"alice,alice@example.org,Alice Smith,DK,\"Hi, \"\"there\"\"\",\"[\"\"en\"\",\"\"da\"\"]\",\"{\"\"avatar\"\":\"\"a.png\"\"}\",true,1980\n" +
					"bob,bob@example.org,=cmd|' /C calc'!A0,,\"multi\nline\",,,false,\n"
			} else {
				rows = `[{"username":"alice","email":"alice@example.org","name":"Alice Smith","country":"DK","bio":"Hi, \"there\"","language_proficiencies":["en","da"],"info":{"avatar":"a.png"},"sysadmin":true,"year_of_birth":1980},` +
					"\n" + `{"username":"bob","email":"bob@example.org","name":"=cmd|' /C calc'!A0","bio":"multi\nline","sysadmin":false}]`
			}
			os.WriteFile(in, []byte(rows), 0o600)
			code, _, errs := te.cli(t, "", "users", "import", in)
			if code != 0 || !strings.Contains(errs, "2 created") {
				t.Fatalf("import: %d %s", code, errs)
			}
			out1 := filepath.Join(dir, "out1."+format)
			te.mustCLI(t, "", "users", "export", "--format", format, "--out", out1)
			b1, _ := os.ReadFile(out1)
			if format == "csv" && !strings.Contains(string(b1), "\t=cmd") {
				t.Fatalf("a formula cell is not guarded:\n%s", b1)
			}
			// Importing the export into the same database changes nothing…
			code, _, errs = te.cli(t, "", "users", "import", out1)
			if code != 0 || !strings.Contains(errs, "0 created, 0 updated, 2 unchanged") {
				t.Fatalf("re-import: %d %s", code, errs)
			}
			// …and into an empty one reproduces every account, down to UUIDs and join dates.
			te2 := newStore(t)
			te2.mustCLI(t, "", "users", "import", out1)
			out2 := filepath.Join(dir, "out2."+format)
			te2.mustCLI(t, "", "users", "export", "--format", format, "--out", out2)
			b2, _ := os.ReadFile(out2)
			if dropUpdated(string(b1)) != dropUpdated(string(b2)) {
				t.Fatalf("export → import → export changed the file:\n%s\n----\n%s", b1, b2)
			}
			show := te2.mustCLI(t, "", "users", "show", "bob", "--json")
			if !strings.Contains(show, `"name": "=cmd|' /C calc'!A0"`) || !strings.Contains(show, `"bio": "multi\nline"`) {
				t.Fatalf("values changed on the way: %s", show)
			}
		})
	}
}

// dropUpdated blanks the updated column/key, which Roster sets itself on import.
func dropUpdated(s string) string {
	s = regexp.MustCompile(`"updated":"[^"]*"`).ReplaceAllString(s, `"updated":""`)
	lines := strings.Split(s, "\n")
	if strings.HasPrefix(lines[0], "id,uuid") {
		cols := strings.Split(lines[0], ",")
		idx := -1
		for i, c := range cols {
			if c == "updated" {
				idx = i
			}
		}
		re := regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+Z`)
		for i := 1; i < len(lines); i++ {
			if idx >= 0 {
				// updated follows created: blank the second timestamp on each row.
				n := 0
				lines[i] = re.ReplaceAllStringFunc(lines[i], func(m string) string {
					n++
					if n == 2 {
						return ""
					}
					return m
				})
			}
		}
	}
	return strings.Join(lines, "\n")
}

func TestImportReportsEveryBadRow(t *testing.T) {
	te := newStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "users.csv")
	os.WriteFile(path, []byte("username,email,country\nok1,ok1@example.org,DK\nbad,not-an-email,XX\nok2,ok1@example.org,\n"), 0o600)
	code, _, errs := te.cli(t, "", "users", "import", "--dry-run", path)
	lines := errorLines(errs)
	want := []string{
		"roster: line 3: country: \"XX\" is not a valid choice.",
		"roster: line 3: email: Enter a valid email address.",
		"roster: line 4: email: The email address appears again (first on line 2).",
		"roster: 3 problems; nothing was imported.",
	}
	if code != 1 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	code, _, errs = te.cli(t, "", "users", "import", path)
	if code != 1 || !strings.Contains(errs, "nothing was imported") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(te.mustCLI(t, "", "users", "list"), "\n"); n != 1 {
		t.Fatal("a failed import left accounts")
	}
	os.WriteFile(path, []byte("username,email\nok1,ok1@example.org\n"), 0o600)
	code, _, errs = te.cli(t, "", "users", "import", "--dry-run", path)
	if code != 0 || !strings.Contains(errs, "dry run, nothing written") || strings.Count(te.mustCLI(t, "", "users", "list"), "\n") != 1 {
		t.Fatalf("dry run: %d %s", code, errs)
	}
	os.WriteFile(path, []byte("username,email\n\"broken,x@y.z\n"), 0o600)
	code, _, errs = te.cli(t, "", "users", "import", path)
	if code != 1 || len(errorLines(errs)) != 1 || !strings.Contains(errs, "line") {
		t.Fatalf("malformed CSV: %d %q", code, errs)
	}
}

func TestCLIWhileServerRuns(t *testing.T) {
	te := newTestEnv(t)
	te.vars["ROSTER_ADMIN_PASSWORD"] = "admin password"
	srv := te.serve(t)
	key := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "admin"))
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // the server writes…
			defer wg.Done()
			for j := 0; j < 10; j++ {
				body := fmt.Sprintf(`{"username":"http%d_%d","email":"http%d_%d@example.org"}`, i, j, i, j)
				if code, b := request(t, "POST", srv.url+"/v1/users", body, "Authorization", "Bearer "+key); code != 201 {
					errs <- fmt.Sprintf("POST: %d %s", code, b)
				}
			}
		}()
	}
	for j := 0; j < 10; j++ { // …while the CLI writes to the same file
		if code, _, e := te.cli(t, "", "users", "create", "--username", "cli"+strconv.Itoa(j), "--email", fmt.Sprintf("cli%d@example.org", j)); code != 0 {
			errs <- "cli: " + e
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	_, body := get(t, srv.url+"/v1/users?total=true&limit=1", "Authorization", "Bearer "+key)
	if !strings.Contains(body, `"total":51`) {
		t.Fatalf("after concurrent writes: %s", body)
	}
	// A backup taken while the server runs is consistent and servable.
	path := filepath.Join(t.TempDir(), "backup.db")
	code, _, e := te.cli(t, "", "backup", path)
	if code != 0 || !strings.Contains(e, "wrote") {
		t.Fatalf("backup: %d %s", code, e)
	}
	copyEnv := &testEnv{db: "sqlite://" + path}
	if n := strings.Count(copyEnv.mustCLI(t, "", "users", "list"), "\n"); n != 52 {
		t.Fatalf("backup lists %d lines, want 52", n)
	}
	if code, _, _ := te.cli(t, "", "backup", path); code != 1 {
		t.Fatal("backup overwrote an existing file")
	}
}

func TestSchemaExtensionEndToEnd(t *testing.T) {
	te := newStore(t)
	dir := t.TempDir()
	ext := filepath.Join(dir, "schema.json")
	os.WriteFile(ext, []byte(`{"attributes": [{"name": "lab_room", "type": "string", "read": "self", "write": "self", "maxLength": 10,
		"description": "Office.", "names": {"brainstem": "lab_room"}}]}`), 0o600)
	te.vars["ROSTER_SCHEMA"] = ext
	if out := te.mustCLI(t, "", "schema"); !strings.Contains(out, `"name": "lab_room"`) {
		t.Fatalf("schema: %s", out)
	}
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("username,email,lab_room\nalice,alice@example.org,B-204\nbob,bob@example.org,far too long a room\n"), 0o600)
	code, _, errs := te.cli(t, "", "users", "import", in)
	if code != 1 || !strings.Contains(errs, "line 3: lab_room: Ensure this field has no more than 10 characters.") {
		t.Fatalf("import: %d %s", code, errs)
	}
	os.WriteFile(in, []byte("username,email,lab_room\nalice,alice@example.org,B-204\n"), 0o600)
	te.mustCLI(t, "", "users", "import", in)
	if out := te.mustCLI(t, "", "users", "show", "alice"); !regexp.MustCompile(`lab_room\s+B-204`).MatchString(out) {
		t.Fatalf("show: %s", out)
	}
	// The store keeps the extension: commands without it still know the attribute.
	delete(te.vars, "ROSTER_SCHEMA")
	os.WriteFile(in, []byte("username,email,lab_room\nalice,alice@example.org,C-1\n"), 0o600)
	te.mustCLI(t, "", "users", "import", in)
	if out := te.mustCLI(t, "", "users", "show", "alice"); !regexp.MustCompile(`lab_room\s+C-1`).MatchString(out) {
		t.Fatalf("show without the flag: %s", out)
	}
	// A different extension given later does not replace the stored one: one warning
	// names both, and the store's stays in force.
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"attributes": [{"name": "desk", "type": "string", "read": "self", "write": "self"}]}`), 0o600)
	te.vars["ROSTER_SCHEMA"] = other
	code, _, errs = te.cli(t, "", "users", "show", "alice")
	if code != 0 || strings.Count(errs, "warning") != 1 || !strings.Contains(errs, "desk") || !strings.Contains(errs, "lab_room") {
		t.Fatalf("a stale extension: %d %q", code, errs)
	}
	delete(te.vars, "ROSTER_SCHEMA")
	if out := te.mustCLI(t, "", "policy", "show", "schema"); !strings.Contains(out, "lab_room") || strings.Contains(out, "desk") {
		t.Fatalf("policy show schema: %s", out)
	}
}

func TestProjectsCLI(t *testing.T) {
	te := newStore(t)
	id := te.mustCLI(t, "", "projects", "create", "--title", "Demo Study", "--forms", "demographics, day_3")
	if id != "1\n" {
		t.Fatalf("projects create printed %q, want the id alone", id)
	}
	te.mustCLI(t, "", "users", "create", "--username", "jane", "--email", "jane@example.org", "--name", "Jane Doe")
	te.mustCLI(t, "", "projects", "add-user", "--project", "1", "--username", "jane", "--rights-json", `{"user_rights":1,"api_export":1,"forms":{"day_3":2}}`)
	te.mustCLI(t, "", "projects", "add-user", "--project", "1", "--username", "visitor")
	tok := te.mustCLI(t, "", "projects", "token", "--project", "1", "--username", "jane")
	if !regexp.MustCompile(`^[0-9A-F]{32}\n$`).MatchString(tok) {
		t.Fatalf("projects token printed %q, want 32 upper-case hex digits alone", tok)
	}
	out := te.mustCLI(t, "", "projects", "members", "--project", "1")
	want := "USERNAME  NAME          EMAIL             ROLE  DAG  EXPIRES  TOKEN\n" +
		"jane      Jane Doe      jane@example.org  -     -    -        yes\n" +
		"visitor   (no account)                    -     -    -        -\n"
	if out != want {
		t.Fatalf("members:\n%s\nwant:\n%s", out, want)
	}
	out = te.mustCLI(t, "", "projects", "members", "--project", "1", "--json")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		!strings.Contains(lines[0], `"forms":{"day_3":2,"demographics":0}`) || !strings.Contains(lines[0], `"has_token":true`) ||
		!strings.Contains(lines[0], `"user_rights":1`) || strings.Contains(out, strings.TrimSpace(tok)) {
		t.Fatalf("members --json:\n%s", out)
	}
	out = te.mustCLI(t, "", "projects", "list")
	if !strings.Contains(out, "1   Demo Study  demographics,day_3") {
		t.Fatalf("projects list:\n%s", out)
	}

	// Bad rights: exit 1, one line per problem, nothing changed.
	code, _, errs := te.cli(t, "", "projects", "add-user", "--project", "1", "--username", "jane", "--rights-json", `{"design":3,"forms":{"nope":1}}`)
	if code != 1 || len(errorLines(errs)) != 2 || !strings.Contains(errs, `The right design of user "jane" must be 0 or 1, not "3".`) {
		t.Fatalf("bad rights: exit %d, %q", code, errs)
	}
	te.mustCLI(t, "", "projects", "revoke-token", "--project", "1", "--username", "jane")
	te.mustCLI(t, "", "projects", "remove-user", "--project", "1", "--username", "visitor")
	if out := te.mustCLI(t, "", "projects", "members", "--project", "1"); strings.Contains(out, "visitor") || !strings.Contains(out, "jane") || strings.Contains(out, "yes") {
		t.Fatalf("after revoke and remove:\n%s", out)
	}
	code, _, errs = te.cli(t, "", "projects", "token", "--project", "1", "--username", "nobody")
	if code != 1 || !strings.Contains(errs, "nobody is not a member of this project") {
		t.Fatalf("token for a non-member: exit %d, %q", code, errs)
	}
	code, _, errs = te.cli(t, "", "projects", "members", "--project", "7")
	if code != 1 || !strings.Contains(errs, "Project not found.") {
		t.Fatalf("unknown project: exit %d, %q", code, errs)
	}
	for _, args := range [][]string{
		{"projects"}, {"projects", "frob"}, {"projects", "create", "--title", "x"}, {"projects", "members"},
		{"projects", "members", "--project", "abc"}, {"projects", "add-user", "--project", "1"},
		{"projects", "add-user", "--project", "1", "--username", "u", "--rights-json", "{"}, {"projects", "token", "--username", "u"},
	} {
		code, _, errs := te.cli(t, "", args...)
		if code != 2 || len(errorLines(errs)) != 1 {
			t.Errorf("roster %v: exit %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs = te.cli(t, "", "projects", "create", "--title", " ", "--forms", "Bad Name,ok,ok")
	if code != 1 || len(errorLines(errs)) != 3 {
		t.Fatalf("invalid project: exit %d, %q", code, errs)
	}
}

// TestStoredSchemaEverywhere: an attribute the operator adds to the stored schema with
// the CLI is known to every command without any flag, and to a running server at once:
// CKAN shows it in user_show, user_list with all_fields and user_metadata.
func TestStoredSchemaEverywhere(t *testing.T) {
	te := newStore(t)
	ext := filepath.Join(t.TempDir(), "ext.json")
	os.WriteFile(ext, []byte(`{"attributes": [{"name": "lab_room", "type": "string", "read": "signed_in", "write": "self",
		"names": {"ckan": "lab_room"}}]}`), 0o600)
	te.mustCLI(t, "", "users", "create", "--username", "root", "--email", "root@example.org", "--sysadmin")
	te.mustCLI(t, "", "users", "create", "--username", "alice", "--email", "alice@example.org")
	key := strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "root"))
	srv := te.serve(t)
	ckanShows := func() bool {
		_, show := get(t, srv.url+"/api/3/action/user_show?id=alice", "X-CKAN-API-Key", key)
		_, list := get(t, srv.url+"/api/3/action/user_list?q=alice&all_fields=true", "X-CKAN-API-Key", key)
		_, meta := request(t, "POST", srv.url+"/api/3/action/user_metadata", `{"ids": ["alice"], "fields": ["lab_room"]}`, "X-CKAN-API-Key", key)
		return strings.Contains(show, `"lab_room": "B-204"`) && strings.Contains(list, `"lab_room": "B-204"`) && strings.Contains(meta, `"lab_room": "B-204"`)
	}
	// The server is running when the CLI changes the policy.
	te.mustCLI(t, "", "policy", "set", "schema", "--file", ext)
	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("username,email,lab_room\nalice,alice@example.org,B-204\n"), 0o600)
	te.mustCLI(t, "", "users", "import", in)
	if out := te.mustCLI(t, "", "users", "show", "alice"); !regexp.MustCompile(`lab_room\s+B-204`).MatchString(out) {
		t.Fatalf("the CLI, without a flag: %s", out)
	}
	if !ckanShows() {
		t.Fatal("the running server does not show the attribute the CLI added")
	}
	if out := te.mustCLI(t, "", "policy", "show"); !strings.Contains(out, "schema") || !strings.Contains(out, "cli:") {
		t.Fatalf("policy show: %s", out)
	}
	// Dropping an attribute accounts hold values of is refused, naming them.
	code, _, errs := te.cli(t, "", "policy", "unset", "schema")
	if code != 1 || !strings.Contains(errs, "account alice holds a value of lab_room") {
		t.Fatalf("unset a schema with data: %d %s", code, errs)
	}
}
