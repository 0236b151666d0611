package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/testkit"
)

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Everything Roster writes that holds password hashes or emails is private to its
// owner, whatever the umask.
func TestFileModesArePrivateCLI(t *testing.T) {
	testkit.Unprivileged(t)
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	te := newTestEnv(t)
	te.vars["ROSTER_ADMIN_PASSWORD"] = "admin password"
	path := filepath.Join(dir, "data", "store", "roster.db")
	te.db = "sqlite://" + path
	srv := te.serve(t)
	backup, export := filepath.Join(dir, "backup.db"), filepath.Join(dir, "export.csv")
	te.mustCLI(t, "", "backup", backup)
	te.mustCLI(t, "", "users", "export", "--out", export)
	want := map[string]os.FileMode{
		filepath.Join(dir, "data"): 0o700, filepath.Join(dir, "data", "store"): 0o700,
		path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, path + ".migrate-lock": 0o600,
		backup: 0o600, export: 0o600,
	}
	for p, w := range want { // the -wal and -shm files exist while the store is open
		if got := fileMode(t, p); got != w {
			t.Errorf("%s: mode %04o, want %04o", p, got, w)
		}
	}
	srv.stop()
	want = map[string]os.FileMode{}
	inited := filepath.Join(dir, "init", "roster.db")
	te.db = "sqlite://" + inited
	te.mustCLI(t, "", "init")
	want[filepath.Join(dir, "init")], want[inited] = 0o700, 0o600
	if os.Getenv(pgtest.EnvVar) != "" {
		te.db = pgtest.URL(t)
		te.mustCLI(t, "", "init")
		pgBackup := filepath.Join(dir, "pg-backup.db")
		te.mustCLI(t, "", "backup", pgBackup)
		want[pgBackup] = 0o600
	}
	for p, w := range want {
		if got := fileMode(t, p); got != w {
			t.Errorf("%s: mode %04o, want %04o", p, got, w)
		}
	}
}

// A store other users can read is reported on every open, and left as it is.
func TestStoreOthersCanReadIsReported(t *testing.T) {
	te := newStore(t)
	path := strings.TrimPrefix(te.db, "sqlite://")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := te.cli(t, "", "users", "list")
	want := "roster: warning: the store's file is open to other users, and it holds password hashes; make it private with chmod 600 (path=" + path + " mode=0644)"
	if code != 0 || strings.TrimSpace(errs) != want {
		t.Fatalf("users list: exit %d, stderr %q; want %q", code, errs, want)
	}
	srv := te.serve(t)
	if !regexp.MustCompile(`"level":"WARN","msg":"the store's file is open to other users[^"]*","path":"` + regexp.QuoteMeta(path) + `","mode":"0644"`).MatchString(srv.stderr.String()) {
		t.Fatalf("serve did not log the warning:\n%s", srv.stderr.String())
	}
	if fileMode(t, path) != 0o644 {
		t.Fatal("the store's mode was changed")
	}
}

// fixture is a store with an admin, its API key, and a REDCap project token of the
// admin's, made while the store is writable.
type fixture struct{ key, token string }

func makeFixture(t *testing.T, te *testEnv) fixture {
	te.vars["ROSTER_ADMIN_PASSWORD"] = "admin password"
	te.mustCLI(t, "", "init")
	te.mustCLI(t, "", "users", "create", "--username", "alice", "--email", "alice@example.org")
	te.mustCLI(t, "", "projects", "create", "--title", "Study", "--forms", "f1")
	te.mustCLI(t, "", "projects", "add-user", "--project", "1", "--username", "admin", "--rights-json", `{"user_rights":1,"api_export":1,"api_import":1}`)
	return fixture{
		key:   strings.TrimSpace(te.mustCLI(t, "", "keys", "create", "--username", "admin")),
		token: strings.TrimSpace(te.mustCLI(t, "", "projects", "token", "--project", "1", "--username", "admin")),
	}
}

// checkReadOnlyCLI checks that reading commands work on a read-only store, and that
// commands that would change it fail with one line naming it.
func checkReadOnlyCLI(t *testing.T, te *testEnv, where string) {
	t.Helper()
	for _, args := range [][]string{
		{"users", "list"}, {"users", "show", "alice"}, {"users", "export"}, {"keys", "list", "admin"}, {"projects", "list"},
		{"projects", "members", "--project", "1"}, {"schema"}, {"backup", filepath.Join(t.TempDir(), "backup.db")}, {"migrate"}, {"check"},
		{"oauth2", "apps", "list"}, {"oauth2", "keys", "list"},
	} {
		if code, _, errs := te.cli(t, "", args...); code != 0 {
			t.Errorf("roster %s on a read-only store: exit %d, %q", strings.Join(args, " "), code, errs)
		}
	}
	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("username,email\nbob,bob@example.org\n"), 0o600)
	for _, args := range [][]string{
		{"users", "create", "--username", "bob", "--email", "bob@example.org"}, {"users", "set-password", "alice", "--password-stdin"},
		{"users", "deactivate", "alice"}, {"users", "import", in}, {"keys", "create", "--username", "alice"}, {"keys", "revoke", "1"},
		{"projects", "create", "--title", "T", "--forms", "f"}, {"projects", "add-user", "--project", "1", "--username", "alice"},
		{"projects", "token", "--project", "1", "--username", "admin"},
		{"oauth2", "apps", "create", "--name", "A", "--owner", "alice", "--grant", "password"}, {"oauth2", "keys", "rotate"},
	} {
		code, out, errs := te.cli(t, "a new password\n", args...)
		want := "roster: the store at " + where + " is read-only: this command would change it"
		if code != 1 || out != "" || strings.TrimSpace(errs) != want {
			t.Errorf("roster %s on a read-only store: exit %d, stdout %q, stderr %q; want %q", strings.Join(args, " "), code, out, errs, want)
		}
	}
}

// checkReadOnlyServer checks a server on a read-only store: it answers reads, refuses
// writes with 503 in each surface's own format, and is not ready.
func checkReadOnlyServer(t *testing.T, srv *running, f fixture) {
	t.Helper()
	if !strings.Contains(srv.stdout.String(), "is read-only: Roster answers reads, and refuses changes with 503.") {
		t.Errorf("serve did not say the store is read-only:\n%s", srv.stdout.String())
	}
	code, body := get(t, srv.url+"/readyz")
	var ready map[string]string
	if json.Unmarshal([]byte(body), &ready); code != 503 || ready["status"] != "unavailable" || !strings.Contains(ready["reason"], "read-only") {
		t.Errorf("readyz: %d %s", code, body)
	}
	if code, body := get(t, srv.url+"/healthz"); code != 200 {
		t.Errorf("healthz: %d %s", code, body)
	}
	auth := []string{"Authorization", "Bearer " + f.key}
	for range 2 { // a key's first use would record its last-used time
		if code, body := get(t, srv.url+"/v1/users/alice", auth...); code != 200 {
			t.Errorf("GET /v1/users/alice: %d %s", code, body)
		}
	}
	code, body = request(t, "POST", srv.url+"/v1/users", `{"username":"bob","email":"bob@example.org"}`, auth...)
	if code != 503 || !strings.Contains(body, `"code":"unavailable"`) || !strings.Contains(body, "read-only") {
		t.Errorf("POST /v1/users: %d %s", code, body)
	}
	code, body = request(t, "POST", srv.url+"/api/3/action/user_create", `{"name":"carol","email":"carol@example.org","password":"carol-pass-1"}`,
		"Authorization", f.key)
	if code != 503 || !strings.Contains(body, `"success": false`) || !strings.Contains(body, "read-only") {
		t.Errorf("CKAN user_create: %d %s", code, body)
	}
	form := url.Values{"token": {f.token}, "content": {"user"}, "format": {"json"}, "returnFormat": {"json"}, "data": {`[{"username":"dora"}]`}}
	code, body = request(t, "POST", srv.url+"/api/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if code != 503 || !strings.HasPrefix(body, `{"error":`) || !strings.Contains(body, "read-only") {
		t.Errorf("REDCap user import: %d %s", code, body)
	}
	form.Del("data")
	if code, body := request(t, "POST", srv.url+"/api/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); code != 200 {
		t.Errorf("REDCap user export: %d %s", code, body)
	}
	// Refused last-used times are not worth a log line, let alone one per request.
	srv.stop() // and waits for the background writes of last-used times
	for _, l := range strings.Split(srv.stderr.String(), "\n") {
		if strings.Contains(l, "last use") || strings.Contains(l, "Touch") {
			t.Errorf("logged: %s", l)
		}
	}
}

// A store this user cannot write is opened read-only: reads work, writes are refused
// clearly, and serve starts but is not ready.
func TestReadOnlyStoreSQLite(t *testing.T) {
	testkit.Unprivileged(t)
	for _, c := range []struct {
		name              string
		fileMode, dirMode os.FileMode
	}{
		{"FileNotWritable", 0o400, 0o700},
		{"DirectoryNotWritable", 0o600, 0o500},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newTestEnv(t)
			path := strings.TrimPrefix(te.db, "sqlite://")
			f := makeFixture(t, te)
			os.Chmod(path, c.fileMode)
			os.Chmod(filepath.Dir(path), c.dirMode)
			t.Cleanup(func() { os.Chmod(filepath.Dir(path), 0o700) })
			checkReadOnlyCLI(t, te, path)
			checkReadOnlyServer(t, te.serve(t), f)
		})
	}
}

// readOnlyURL is u with every session's transactions read-only by default, as on a
// hot standby; other tests sharing the server are not affected.
func readOnlyURL(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("options", "-c default_transaction_read_only=on")
	// pgx reads the query without turning + into a space.
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return p.String()
}

func TestReadOnlyStorePostgres(t *testing.T) {
	te := &testEnv{db: pgtest.URL(t), vars: map[string]string{"USER": "tester"}}
	f := makeFixture(t, te)
	te.db = readOnlyURL(t, te.db)
	checkReadOnlyCLI(t, te, (dbTarget{kind: "postgres", url: te.db}).String())
	checkReadOnlyServer(t, te.serve(t), f)
}
